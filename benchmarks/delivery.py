"""The builders' nights (issue 22): the no-op nightly of their 42 mirror-less packages
against 42 plain `git ls-remote` calls, local and behind a 30 ms round trip per
connection; and the delivery of 30 upgrades to a local GitHub (the tests' loopback
forge, speaking GitHub's REST API): the requests made per upgrade, when mirrorctl opens
its own requests, when it completes their bot's, and on the night after.

Goals: the no-op nightly at 30 ms at most 0.6x the ls-remote calls; at most 3 requests
to the forge per upgrade delivered (the builds' results it reads counted apart).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.sandbox import (
    git,
    interleaved,
    ls_remote,
    make_site,
    print_no_op,
    ssh_config,
    with_latency,
    without_mirrors,
)

PACKAGES = 42  # theirs, mirror-less
UPGRADES = 30
REPEATS = 7
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"
PROJECT = "rise/python-wheels"
WORKFLOW = """\
on:
  workflow_dispatch:
    inputs:
      version:
        description: '{name} version to build (e.g. 1.0.0)'
        default: '1.0.0'
env:
  VERSION: ${{{{ inputs.version || '1.0.0' }}}}
jobs:
  build:
    runs-on: ubuntu-24.04-riscv
    steps:
      - uses: actions/checkout@v7
        with:
          repository: up/{name}
      - uses: actions/checkout@v7
        with:
          path: python-wheels
      - run: |
          git apply python-wheels/patches/{name}/${{{{ env.VERSION }}}}/00*.patch
"""
DOCS = "package-name: {name}\nversions:\n  - version: 1.0.0\n    patched:\n"


def _nightly(env: dict[str, str], config: Path, workdir: Path, *args: str) -> str:
    return subprocess.run([sys.executable, "-m", "mirrorctl", "--config", str(config),
                           "--workdir", str(workdir), "-q", "nightly", "--format", "json",
                           *args], env=env, check=False, capture_output=True,
                          text=True).stdout


def _no_op(label: str, env: dict[str, str], config: Path, workdir: Path,
           upstreams: list[str]) -> float:
    _nightly(env, config, workdir)  # the first night fills the caches: then no-ops
    medians = interleaved({
        f"{PACKAGES} x git ls-remote (sequential)": lambda: ls_remote(env, upstreams),
        "mirrorctl nightly, no mirrors, no-op (jobs 4)": lambda: _nightly(env, config, workdir),
    }, REPEATS)
    return print_no_op(f"no-op nightly of {PACKAGES} mirror-less packages, {label}", medians,
                       "mirrorctl nightly, no mirrors, no-op (jobs 4)", "<= 0.6x at 30 ms",
                       what=f"no-op nightly / {PACKAGES} ls-remote")


def _their_site(root: Path, env: dict[str, str], forge_url: str) -> tuple[Path, Path]:
    """(mirrors.yaml in a checkout of their repository, its remote) for UPGRADES
    packages, each with a one-patch queue on 1.0.0 and a release 1.1.0 to carry it to."""
    site = root / "python-wheels"
    packages = {}
    for n in range(UPGRADES):
        name = f"pkg{n:02d}"
        up = root / "up" / name
        git(env, "init", "--quiet", "--initial-branch", "main", str(up))
        (up / "core.c").write_text("int x = 1;\n")
        (up / "README").write_text(f"{name}\n")
        git(env, "-C", str(up), "add", "-A")
        git(env, "-C", str(up), "commit", "--quiet", "-m", "release 1.0.0")
        git(env, "-C", str(up), "tag", "-a", "-m", "v1.0.0", "v1.0.0")
        (up / "core.c").write_text("int x = 64;  /* riscv64 */\n")
        git(env, "-C", str(up), "commit", "--quiet", "-am",
            "BLD: riscv64\n\nUpstream-Status: Inappropriate [riscv64 only]")
        git(env, "-C", str(up), "format-patch", "--quiet", "--zero-commit", "--no-signature",
            "-o", str(site / "patches" / name / "1.0.0"), "HEAD^..HEAD")
        git(env, "-C", str(up), "reset", "--quiet", "--hard", "HEAD^")
        (up / "README").write_text(f"{name}, better\n")
        git(env, "-C", str(up), "commit", "--quiet", "-am", "release 1.1.0")
        git(env, "-C", str(up), "tag", "-a", "-m", "v1.1.0", "v1.1.0")
        workflows = site / ".github" / "workflows"
        workflows.mkdir(parents=True, exist_ok=True)
        (workflows / f"build-{name}.yml").write_text(WORKFLOW.format(name=name))
        (site / "docs" / "packages").mkdir(parents=True, exist_ok=True)
        (site / "docs" / "packages" / f"{name}.yaml").write_text(DOCS.format(name=name))
        packages[name] = {"upstream": str(up), "version": "1.0.0", "mirror": False}
    remote = root / "remote.git"
    config = site / "mirrors.yaml"
    config.write_text(yaml.safe_dump({
        "defaults": {"allowed_protocols": ["file"], "retries": 0, "jobs": 4,
                     "patchsets": "patches", "forge_apis": {"github.com": forge_url},
                     "pull_requests": {"repository": f"https://github.com/{PROJECT}",
                                       "remote": str(remote)}},
        "packages": packages}, sort_keys=False))
    git(env, "init", "--quiet", "--initial-branch", "main", str(site))
    git(env, "-C", str(site), "add", "-A")
    git(env, "-C", str(site), "commit", "--quiet", "-m", "their repository")
    git(env, "init", "--quiet", "--bare", str(remote))
    git(env, "-C", str(site), "push", "--quiet", str(remote), "HEAD:refs/heads/main")
    return config, remote


def _bot_requests(env: dict[str, str], root: Path, remote: Path, forge: object) -> None:
    """Their bot's request for every upgrade: its branch, one commit by the bot."""
    work = root / "bot"
    git(env, "clone", "--quiet", str(remote), str(work))
    for n in range(UPGRADES):
        name = f"pkg{n:02d}"
        branch = f"github-actions/upgrade-{name}-1.1.0"
        git(env, "-C", str(work), "checkout", "--quiet", "-B", branch, "origin/main")
        path = work / ".github" / "workflows" / f"build-{name}.yml"
        path.write_text(path.read_text().replace("'1.0.0'", "'1.1.0'"))
        bot = {**env, "GIT_AUTHOR_NAME": "github-actions[bot]", "GIT_AUTHOR_EMAIL": BOT_EMAIL,
               "GIT_COMMITTER_NAME": "github-actions[bot]", "GIT_COMMITTER_EMAIL": BOT_EMAIL}
        git(bot, "-C", str(work), "commit", "--quiet", "-am", f"{name}: upgrade to v1.1.0")
        git(env, "-C", str(work), "push", "--quiet", "origin", f"HEAD:refs/heads/{branch}")
        number = len(forge.pulls) + 1  # type: ignore[attr-defined]
        forge.pulls.append({  # type: ignore[attr-defined]
            "number": number, "state": "open", "title": f"Upgrade {name} to v1.1.0",
            "body": f"Trigger: {name}:1.1.0\n", "draft": True, "labels": [],
            "html_url": f"https://github.com/{PROJECT}/pull/{number}",
            "head": {"ref": branch, "repo": {"full_name": PROJECT}}, "base": {"ref": "main"}})


def _requests(forge: object, since: int) -> tuple[int, int]:
    """(requests about the requests themselves, requests reading builds) since `since`."""
    made = forge.requests[since:]  # type: ignore[attr-defined]
    builds = sum(1 for r in made if "/actions/" in r or "/download/" in r)
    return len(made) - builds, builds


def _deliveries(label: str, env: dict[str, str], root: Path, *, bots: bool) -> dict[str, float]:
    from tests.fakepulls import GITHUB_TOKEN, pull_forge

    env = {**env, "MIRRORCTL_GITHUB_TOKEN": GITHUB_TOKEN}
    with pull_forge() as forge:
        config, remote = _their_site(root, env, forge.url)
        if bots:
            _bot_requests(env, root, remote, forge)
        workdir = root / "work"
        start = len(forge.requests)
        night = json.loads(_nightly(env, config, workdir, "--push"))
        actions = Counter(r["pull_request"]["action"] for r in night["rebases"])
        first, first_builds = _requests(forge, start)
        # The next night, from a fresh checkout of main: every request found, nothing new.
        git(env, "-C", str(config.parent), "clean", "-fdq", "patches")
        start = len(forge.requests)
        again = json.loads(_nightly(env, config, workdir, "--push"))
        second, second_builds = _requests(forge, start)
        opened = len(forge.pulls) - (UPGRADES if bots else 0)
        kinds = Counter(r.split(" ", 1)[0] + " " + r.split("/")[-1] for r in forge.requests)
    print(f"delivery of {UPGRADES} upgrades to a local GitHub, {label}")
    print(f"  first night: {dict(actions)}, {opened} requests opened")
    print(f"  forge requests per upgrade: {first / UPGRADES:.2f} (goal <= 3), and "
          f"{first_builds / UPGRADES:.2f} reading builds")
    again_actions = Counter(r["pull_request"]["action"] for r in again["rebases"])
    print(f"  the next night from a fresh checkout ({dict(again_actions)}): "
          f"{second / UPGRADES:.2f} per upgrade, and {second_builds / UPGRADES:.2f} reading "
          "builds")
    print("  by kind: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) + "\n")
    key = "bot" if bots else "own"
    return {f"delivery_{key}_per_upgrade": first / UPGRADES,
            f"delivery_{key}_again_per_upgrade": second / UPGRADES}


def main() -> dict[str, float]:
    results: dict[str, float] = {}
    root, env, config, _ = make_site(PACKAGES, commits=20, tags=5, branches=1)
    try:
        bare = without_mirrors(config, root / "bare.yaml")
        upstreams = [str(p) for p in sorted((root / "up").iterdir())]
        results["nightly_42_local"] = _no_op("local repositories", env, bare,
                                             root / "work-local", upstreams)
        slow_env = with_latency(env, root, 0.03)
        results["nightly_42_30ms"] = _no_op(
            "30 ms per connection", slow_env,
            without_mirrors(ssh_config(config, root / "ssh.yaml"), root / "ssh-bare.yaml"),
            root / "work-ssh", [f"ssh://bench{u}" for u in upstreams])
        for bots in (False, True):
            where = root / ("bots" if bots else "own")
            where.mkdir()
            results.update(_deliveries("their bot's requests open" if bots else
                                       "no request open", env, where, bots=bots))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return results


if __name__ == "__main__":
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    main()
