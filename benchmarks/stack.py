"""`mirrorctl stack` over a synthetic stack of 300 packages, 8 levels deep, from a
loopback index (testbed/fakeindex.py: PyPI's JSON API, ETags, a max-age):

- cold (nothing kept): index requests a package of the closure (goal at most 1.2),
  and the sdists read for the build requirements of the packages to build;
- warm (the kept answers, within the index's max-age): the whole command's wall time
  (goal under 0.5 s), against `mirrorctl --version`, the start-up alone, interleaved.

Beside it, pip's own resolver (`pip install --dry-run --report`, the installer's
answer) on the same shape where every package has a wheel (pip, told `--platform
manylinux_2_39_riscv64 --only-binary=:all:`, cannot resolve through an sdist it may not
build): both read the index's Simple API with PEP 658 metadata files, both cold; the
closures they choose are compared package by package (the run fails if they differ).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import itertools

from benchmarks.sandbox import interleaved

LEVELS = 8
PER_LEVEL = 37  # 8 x 37 + the root: about 300 packages
REPEATS = 5
RISCV = "manylinux_2_39_riscv64"


def _stack(index: object, *, wheels_only: bool = False) -> int:
    """The synthetic stack, into `index`; the number of its packages. With
    `wheels_only`, each package that would be an sdist alone has a riscv64 wheel."""
    from testbed.fakeindex import FakeIndex

    assert isinstance(index, FakeIndex)
    chance = random.Random(20261207)
    levels = [[f"lib-{level}-{n}" for n in range(PER_LEVEL)] for level in range(LEVELS)]
    requires: dict[str, list[str]] = {name: [] for level in levels for name in level}
    for upper, lower in itertools.pairwise(levels):
        for n, name in enumerate(lower):  # each package required by one above, or more
            requires[upper[n % len(upper)]].append(name)
        for name in upper:
            requires[name] += chance.sample(lower, 2)
    for level in levels:
        for n, name in enumerate(level):
            kind = n % 2 if wheels_only else n % 4
            files = ((f"{name.replace('-', '_')}-1.0-py3-none-any.whl",) if kind == 0 else
                     (f"{name.replace('-', '_')}-1.0-cp312-cp312-{RISCV}.whl",) if kind == 1
                     else (f"{name.replace('-', '_')}-1.0.tar.gz",))
            deps = [*sorted(set(requires[name])), f"winonly-{n}; sys_platform == 'win32'"]
            index.add(name, "1.0", *deps, files=files)
            index.add(name, "0.9", files=files)
    index.add("app", "1.0", *levels[0], files=("app-1.0-py3-none-any.whl",))
    for tool in ("setuptools", "wheel"):  # what a setup.py alone builds with
        index.add(tool, "75.0", files=(f"{tool}-75.0-py3-none-any.whl",))
    return 1 + LEVELS * PER_LEVEL


def _mirrorctl(config: Path, workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mirrorctl", "--config", str(config),
                           "--workdir", str(workdir), "-q", *args], capture_output=True,
                          text=True, check=False)


def main() -> dict[str, float]:
    from testbed.fakeindex import fake_index

    root = Path(tempfile.mkdtemp(prefix="mirrorctl-bench-stack-"))
    try:
        with fake_index() as index:
            packages = _stack(index)
            config = root / "mirrors.yaml"
            config.write_text(yaml.safe_dump({"defaults": {
                "pypi_url": index.url, "retries": 0, "python_versions": ["3.12"]},
                "packages": {"lib-0-2": {"upstream": "https://example.org/lib.git",
                                         "version": "1.0"}}}))
            workdir = root / "work"
            done = _mirrorctl(config, workdir, "stack", "app", "--format", "json")
            assert done.stdout.startswith("{"), done.stderr
            found = json.loads(done.stdout)["stacks"][0]
            resolved = len(found["packages"])
            sdists = sum(1 for r in index.requests if r.startswith("/files/"))
            cold = (len(index.requests) - sdists) / resolved

            def warm() -> None:
                _mirrorctl(config, workdir, "stack", "app", "--format", "json")

            def start_up() -> None:
                _mirrorctl(config, workdir, "--version")

            before = len(index.requests)
            medians = interleaved({"mirrorctl --version": start_up,
                                   "mirrorctl stack, warm": warm}, REPEATS)
            warm_requests = len(index.requests) - before
    finally:
        shutil.rmtree(root, ignore_errors=True)
    base, seconds = medians["mirrorctl --version"], medians["mirrorctl stack, warm"]
    print(f"stack of {packages} packages, {LEVELS} levels, loopback index "
          f"({resolved} resolved, {len(found['blocked_by'])} blocking)")
    print(f"  cold: {cold:.2f} index requests a package (goal <= 1.2), and {sdists} sdists "
          "read for the build requirements of the packages to build")
    print(f"  warm, median of {REPEATS} interleaved runs ({warm_requests} requests in all):")
    print(f"  mirrorctl --version                  {base:7.3f} s   1.00x")
    print(f"  mirrorctl stack, warm                {seconds:7.3f} s  {seconds / base:5.2f}x"
          "  (goal < 0.5 s)\n")
    pip = _against_pip()
    return {"stack_cold_requests": cold, "stack_warm_s": seconds, **pip}


def _pip(url: str, report: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INPUT": "1"}
    return subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--quiet",
                           "--ignore-installed", "--no-cache-dir",
                           "--target", str(report.parent / "target"),
                           "--disable-pip-version-check", "--report", str(report),
                           "--platform", RISCV, "--python-version", "3.12",
                           "--implementation", "cp", "--abi", "cp312",
                           "--only-binary=:all:", "--index-url", url, "app"],
                          capture_output=True, text=True, check=False, env=env)


def _against_pip() -> dict[str, float]:
    """Both resolvers, cold, on the stack whose packages all have wheels; the same
    closure, or the run fails."""
    from testbed.fakeindex import fake_index

    if subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True,
                      check=False).returncode != 0:
        print("  pip is not on this machine: not compared\n")
        return {}
    root = Path(tempfile.mkdtemp(prefix="mirrorctl-bench-pip-"))
    try:
        with fake_index() as index:
            _stack(index, wheels_only=True)
            simple = f"{index.url}/simple"
            config = root / "mirrors.yaml"
            config.write_text(yaml.safe_dump({"defaults": {
                "pypi_url": simple, "retries": 0, "python_versions": ["3.12"]},
                "packages": {"lib-0-2": {"upstream": "https://example.org/lib.git",
                                         "version": "1.0"}}}))
            rounds = itertools.count()
            found: dict[str, dict[str, str]] = {}

            def ours() -> None:
                workdir = root / f"work-{next(rounds)}"  # cold: nothing kept
                done = _mirrorctl(config, workdir, "stack", "app", "--format", "json")
                assert done.stdout.startswith("{"), done.stderr
                found["mirrorctl"] = {p["name"]: p["version"] for p in
                                      json.loads(done.stdout)["stacks"][0]["packages"]}

            def theirs() -> None:
                report = root / "pip-report.json"
                done = _pip(simple + "/", report)
                assert done.returncode == 0, done.stderr[-2000:]
                found["pip"] = {p["metadata"]["name"]: p["metadata"]["version"]
                                for p in json.loads(report.read_text())["install"]}

            medians = interleaved({"pip install --dry-run --report": theirs,
                                   "mirrorctl stack (Simple API)": ours}, 3)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if found["pip"] != found["mirrorctl"]:
        raise SystemExit(f"the closures differ: pip {sorted(found['pip'].items())} "
                         f"mirrorctl {sorted(found['mirrorctl'].items())}")
    base, ours_s = medians["pip install --dry-run --report"], \
        medians["mirrorctl stack (Simple API)"]
    print(f"  against pip's resolver, cold, the stack with a wheel for every package "
          f"({len(found['pip'])} packages, the same closure and versions), median of 3:")
    print(f"  pip install --dry-run --report       {base:7.3f} s   1.00x")
    print(f"  mirrorctl stack (Simple API)         {ours_s:7.3f} s  {ours_s / base:5.2f}x\n")
    return {"stack_vs_pip": ours_s / base}


if __name__ == "__main__":
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    main()
