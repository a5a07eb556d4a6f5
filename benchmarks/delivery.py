"""The builders' nights (issue 22): the no-op nightly of their 42 mirror-less packages
against 42 plain `git ls-remote` calls, local and behind a 30 ms round trip per
connection; and the delivery of 30 upgrades to a local GitHub (the tests' loopback
forge, speaking GitHub's REST API): the requests made per upgrade, when mirrorctl opens
its own requests, when it completes their bot's, and on the night after.

Goals: the no-op nightly at 30 ms at most 0.6x the ls-remote calls; at most 3 requests
to the forge per upgrade delivered (the builds' results it reads counted apart).

Issue 30 adds the builders' everyday night: 30 due upgrades, 15 of packages that carry
no patch and 15 of packages that do, with a registry and PyPI on loopback: forge
requests an upgrade the night the requests open (goal at most 3) and on an unchanged
night (goal at most 1); then, all 30 merged, the publish step (the merge noticed, the
build workflow dispatched from main, its run and the registry followed to the published
wheels), over the two nights it takes (goal at most 3 an upgrade).
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


def _their_site(root: Path, env: dict[str, str], forge_url: str,
                count: int = UPGRADES) -> tuple[Path, Path]:
    """(mirrors.yaml in a checkout of their repository, its remote) for `count`
    packages, each with a one-patch queue on 1.0.0 and a release 1.1.0 to carry it to."""
    site = root / "python-wheels"
    packages = {}
    for n in range(count):
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
    """(requests about the requests themselves, requests reading builds) since `since`.
    The publish step's reads of a workflow's runs are the first kind."""
    made = forge.requests[since:]  # type: ignore[attr-defined]
    builds = sum(1 for r in made if ("/actions/" in r and "/actions/workflows/" not in r)
                 or "/download/" in r)
    return len(made) - builds, builds


def _deliveries(label: str, env: dict[str, str], root: Path, *, bots: bool) -> dict[str, float]:
    from testbed.fakepulls import GITHUB_TOKEN, pull_forge

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


NO_PATCH_WORKFLOW = """\
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
    name: Build {name} ${{{{ inputs.version || '1.0.0' }}}} cp312
    runs-on: ubuntu-24.04-riscv
    strategy:
      matrix:
        python: ["cp312"]
    steps:
      - uses: actions/checkout@v7
        with:
          repository: up/{name}
          ref: v${{{{ env.VERSION }}}}
"""


class _Indexes:
    """PyPI's JSON API and the builders' Simple registry on loopback: every package has
    1.0.0 and 1.1.0 on PyPI; the registry has 1.0.0 built, and 1.1.0 once `publish`."""

    def __init__(self, names: list[str]) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.names, self.published = names, False
        indexes = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = indexes.answer(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "application/vnd.pypi.simple.v1+json"
                                 if self.path.startswith("/simple/") else "application/json")
                self.end_headers()
                self.wfile.write(body or b"{}")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, path: str) -> bytes | None:
        parts = path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "pypi" and parts[1] in self.names:
            return json.dumps({"info": {"name": parts[1], "version": "1.1.0"}, "releases": {
                v: [{"filename": f"{parts[1]}-{v}.tar.gz", "yanked": False}]
                for v in ("1.0.0", "1.1.0")}}).encode()
        if len(parts) == 2 and parts[0] == "simple" and parts[1] in self.names:
            built = ("1.0.0", "1.1.0") if self.published else ("1.0.0",)
            files = [f"{parts[1]}-{v}-cp312-cp312-manylinux_2_39_riscv64.whl" for v in built]
            return json.dumps({"meta": {"api-version": "1.1"}, "name": parts[1],
                               "versions": [], "files": [{"filename": f, "url": f"/f/{f}",
                                                          "hashes": {}} for f in files]}
                              ).encode()
        return None

    def close(self) -> None:
        self.server.shutdown()


def _mixed_site(root: Path, env: dict[str, str], forge_url: str) -> tuple[Path, Path]:
    """Their repository with UPGRADES packages due 1.0.0 -> 1.1.0: half carry a patch
    (as _their_site makes them), half carry none (their commonest upgrade)."""
    config, remote = _their_site(root, env, forge_url, count=UPGRADES // 2)
    site = config.parent
    data = yaml.safe_load(config.read_text())
    for n in range(UPGRADES - UPGRADES // 2):
        name = f"bar{n:02d}"
        up = root / "up" / name
        git(env, "init", "--quiet", "--initial-branch", "main", str(up))
        (up / "README").write_text(f"{name}\n")
        git(env, "-C", str(up), "add", "-A")
        git(env, "-C", str(up), "commit", "--quiet", "-m", "release 1.0.0")
        git(env, "-C", str(up), "tag", "-a", "-m", "v1.0.0", "v1.0.0")
        (up / "README").write_text(f"{name}, better\n")
        git(env, "-C", str(up), "commit", "--quiet", "-am", "release 1.1.0")
        git(env, "-C", str(up), "tag", "-a", "-m", "v1.1.0", "v1.1.0")
        (site / ".github" / "workflows" / f"build-{name}.yml").write_text(
            NO_PATCH_WORKFLOW.format(name=name))
        data["packages"][name] = {"upstream": str(up), "version": "1.0.0", "mirror": False}
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    git(env, "-C", str(site), "add", "-A")
    git(env, "-C", str(site), "commit", "--quiet", "-m", "their unpatched packages")
    git(env, "-C", str(site), "push", "--quiet", str(remote), "HEAD:refs/heads/main")
    return config, remote


def _merge_all(env: dict[str, str], site: Path, remote: Path, forge: object) -> None:
    """They squash-merge every open request; the next night checks out main."""
    for pull in forge.pulls:  # type: ignore[attr-defined]
        if pull["state"] != "open":
            continue
        git(env, "-C", str(site), "fetch", "--quiet", str(remote), "main")
        git(env, "-C", str(site), "reset", "--quiet", "--hard", "FETCH_HEAD")
        git(env, "-C", str(site), "clean", "-fdq")
        git(env, "-C", str(site), "fetch", "--quiet", str(remote), pull["head"]["ref"])
        git(env, "-C", str(site), "merge", "--squash", "--quiet", "FETCH_HEAD")
        git(env, "-C", str(site), "commit", "--quiet", "-m", pull["title"])
        git(env, "-C", str(site), "push", "--quiet", str(remote), "HEAD:refs/heads/main")
        pull.update(state="closed", merged=True, merged_at="2026-12-01T09:00:00Z")


def _everyday(env: dict[str, str], root: Path) -> dict[str, float]:
    """The builders' everyday night, then the publish step of its 30 merged upgrades."""
    from datetime import datetime, timezone

    from testbed.fakepulls import GITHUB_TOKEN, pull_forge

    env = {**env, "MIRRORCTL_GITHUB_TOKEN": GITHUB_TOKEN}
    with pull_forge() as forge:
        config, remote = _mixed_site(root, env, forge.url)
        names = list(yaml.safe_load(config.read_text())["packages"])
        index = _Indexes(names)
        data = yaml.safe_load(config.read_text())
        data["defaults"].update(registry_url=f"{index.url}/simple/", pypi_url=index.url,
                                python_versions=["3.12"])
        config.write_text(yaml.safe_dump(data, sort_keys=False))
        git(env, "-C", str(config.parent), "commit", "--quiet", "-am", "the registry")
        git(env, "-C", str(config.parent), "push", "--quiet", str(remote), "HEAD:refs/heads/main")

        def started(dispatch: dict[str, object]) -> None:  # GitHub runs it, and it passes
            number = 1000 + len(forge.runs)
            forge.runs.append({
                "id": number, "workflow": dispatch["workflow"], "event": "workflow_dispatch",
                "head_branch": dispatch["ref"], "status": "completed", "conclusion": "success",
                "created_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "html_url": f"https://github.com/{PROJECT}/actions/runs/{number}",
                "jobs": [], "artifacts": {}})

        forge.on_dispatch = started
        workdir = root / "work"
        try:
            start = len(forge.requests)
            night = json.loads(_nightly(env, config, workdir, "--push"))
            opened, opened_builds = _requests(forge, start)
            actions = Counter(r["pull_request"]["action"] for r in night["rebases"])
            git(env, "-C", str(config.parent), "clean", "-fdq", "patches")
            start = len(forge.requests)
            _nightly(env, config, workdir, "--push")
            unchanged, _ = _requests(forge, start)
            _merge_all(env, config.parent, remote, forge)
            start = len(forge.requests)
            merged = json.loads(_nightly(env, config, workdir, "--push"))
            index.published = True
            after = json.loads(_nightly(env, config, workdir, "--push"))
            published, _ = _requests(forge, start)
            roads = Counter(p["road"]["state"] for p in after["report"]["packages"]
                            if p.get("road"))
        finally:
            index.close()
    print(f"the builders' everyday night: {UPGRADES} due upgrades ({UPGRADES // 2} carry no "
          f"patch, {UPGRADES - UPGRADES // 2} do), a local GitHub, registry and PyPI")
    print(f"  the night they open: {dict(actions)}; {opened / UPGRADES:.2f} forge requests an "
          f"upgrade (goal <= 3; before issue 30: 3.0, and the unpatched ones not delivered), "
          f"and {opened_builds / UPGRADES:.2f} reading builds")
    print(f"  an unchanged night: {unchanged / UPGRADES:.2f} an upgrade (goal <= 1; before: "
          "1.0)")
    print(f"  all {UPGRADES} merged, the publish step over its two nights: "
          f"{published / UPGRADES:.2f} an upgrade (goal <= 3; before: not done, a person "
          f"dispatched each by hand); roads after it: {dict(roads)}; "
          f"{len(forge.dispatches)} dispatches, {_publishing(merged)} publishing after the "
          "first\n")
    return {"everyday_opened_per_upgrade": opened / UPGRADES,
            "everyday_unchanged_per_upgrade": unchanged / UPGRADES,
            "publish_per_upgrade": published / UPGRADES}


def _publishing(night: dict[str, object]) -> int:
    packages = night["report"]["packages"]  # type: ignore[index]
    return sum(1 for p in packages if (p.get("road") or {}).get("state") == "publishing")


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
        (root / "everyday").mkdir()
        results.update(_everyday(env, root / "everyday"))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return results


if __name__ == "__main__":
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    main()
