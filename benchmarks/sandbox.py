"""Shared set-up for the benchmarks: N local packages (upstream + mirror) in a sealed
git environment, and a timer that interleaves the contenders so that noise on a
shared machine hits both alike."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def sealed_env(home: Path) -> dict[str, str]:
    # PYTHONDONTWRITEBYTECODE (set on some development machines) would make every run
    # compile mirrorctl from source; an installed mirrorctl, as a nightly job runs it,
    # has its bytecode. It is compiled once, here, and used.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GIT_", "MIRRORCTL_")) and k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "mirrorctl")],
                   env=env, check=False, stdout=subprocess.DEVNULL)
    env.update(HOME=str(home), GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=str(home / ".gitconfig"),
               GIT_AUTHOR_NAME="Bench", GIT_AUTHOR_EMAIL="bench@example.invalid",
               GIT_COMMITTER_NAME="Bench", GIT_COMMITTER_EMAIL="bench@example.invalid")
    return env


def git(env: dict[str, str], *args: str, input: str | None = None) -> str:
    return subprocess.run(["git", *args], env=env, input=input, capture_output=True, text=True,
                          check=True).stdout


def fast_import_stream(commits: int, tags: int, branches: int, start: int = 0) -> str:
    parts = []
    for n in range(start + 1, start + commits + 1):
        body = f"int v{n} = {n};\n"
        parts += [f"commit refs/heads/main\nmark :{n}\n",
                  f"committer Bench <bench@example.invalid> {1700000000 + n} +0000\n",
                  f"data {len(f'change {n}')}\nchange {n}\n",
                  *([f"from :{n - 1}\n"] if n > start + 1 else
                    (["from refs/heads/main^0\n"] if start else [])),
                  f"M 644 inline src/f{n % 40}.c\ndata {len(body)}\n{body}\n"]
    for t in range(tags):
        mark = start + 1 + t * (commits - 1) // max(1, tags - 1)
        parts.append(f"reset refs/tags/v{start}.{t}\nfrom :{mark}\n")
    for b in range(branches):
        parts.append(f"reset refs/heads/maintenance/{b}.x\nfrom :{start + 1 + b}\n")
    return "".join(parts)


def make_site(packages: int, *, commits: int = 200, tags: int = 60,
              branches: int = 3) -> tuple[Path, dict[str, str], Path, Path]:
    """(root, env, mirrors.yaml, workdir) for `packages` fresh packages."""
    root = Path(tempfile.mkdtemp(prefix="mirrorctl-bench-"))
    (root / "home").mkdir()
    env = sealed_env(root / "home")
    config = {"defaults": {"allowed_protocols": ["file"], "branches": ["main", "maintenance/*"],
                           "retries": 0, "jobs": 4}, "packages": {}}
    for i in range(packages):
        name = f"pkg{i:02d}"
        upstream, mirror = root / "up" / name, root / "mirrors" / f"{name}.git"
        git(env, "init", "--quiet", "--bare", str(upstream))
        git(env, "--git-dir", str(upstream), "fast-import", "--quiet",
            input=fast_import_stream(commits, tags, branches))
        git(env, "init", "--quiet", "--bare", str(mirror))
        git(env, "--git-dir", str(upstream), "push", "--quiet", str(mirror),
            "refs/heads/main~5:refs/heads/riscv64/1.0")
        config["packages"][name] = {"upstream": str(upstream), "mirror": str(mirror)}
    path = root / "mirrors.yaml"
    path.write_text(yaml.safe_dump(config))
    return root, env, path, root / "work"


def mirrorctl(env: dict[str, str], config: Path, workdir: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "mirrorctl", "--config", str(config), "--workdir",
                    str(workdir), "-q", "sync", *args], env=env, check=True,
                   stdout=subprocess.DEVNULL)


def without_mirrors(config: Path, target: Path, **settings: object) -> Path:
    """A copy of `config` whose packages have no mirror (and these settings each)."""
    data = yaml.safe_load(config.read_text())
    for package in data["packages"].values():
        package.update(mirror=False, **settings)
    target.write_text(yaml.safe_dump(data))
    return target


def interleaved(contenders: dict[str, Callable[[], None]], repeats: int,
                before_each_round: Callable[[int], None] | None = None) -> dict[str, float]:
    """Median wall time of each contender, run in turn `repeats` times."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for round_ in range(repeats):
        if before_each_round is not None:
            before_each_round(round_)
        for name, run in contenders.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def ls_remote(env: dict[str, str], urls: list[str]) -> None:
    """The baseline of a no-op sync: one plain `git ls-remote` a repository, in turn."""
    for url in urls:
        subprocess.run(["git", "ls-remote", "--heads", "--tags", "--refs", url],
                       env=env, check=True, stdout=subprocess.DEVNULL)


def print_no_op(title: str, medians: dict[str, float], measured: str, goal: str,
                what: str = "no-op sync / 30 ls-remote") -> float:
    """Print the medians of a no-op sync against the first one (the baseline), and return
    the ratio of `measured` to it (`what` names the ratio)."""
    baseline = next(iter(medians.values()))
    print(f"{title}, median of the interleaved runs")
    for name, seconds in medians.items():
        print(f"  {name:<46} {seconds:7.3f} s  {seconds / baseline:5.2f}x")
    ratio = medians[measured] / baseline
    print(f"  ratio {what}: {ratio:.2f}x (goal {goal})\n")
    return ratio


def with_latency(env: dict[str, str], root: Path, seconds: float) -> dict[str, str]:
    """An environment whose ssh:// URLs reach local repositories after `seconds` of delay,
    like a network round trip (GIT_SSH_COMMAND runs git-upload-pack/receive-pack locally)."""
    script = root / "slow-ssh"
    script.write_text(f'#!/bin/sh\nsleep {seconds}\nfor last; do :; done\nexec sh -c "$last"\n')
    script.chmod(0o755)
    return {**env, "GIT_SSH_COMMAND": str(script), "GIT_SSH_VARIANT": "simple"}


def ssh_config(config: Path, target: Path) -> Path:
    """A copy of `config` whose URLs go through ssh://bench (see with_latency)."""
    data = yaml.safe_load(config.read_text())
    data["defaults"]["allowed_protocols"] = ["ssh"]
    for package in data["packages"].values():
        for key in ("upstream", "mirror"):
            package[key] = f"ssh://bench{package[key]}"
    target.write_text(yaml.safe_dump(data))
    return target
