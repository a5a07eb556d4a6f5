"""`mirrorctl stack` over a synthetic stack of 300 packages, 8 levels deep, from a
loopback index (tests/fakeindex.py: PyPI's JSON API, ETags, a max-age):

- cold (nothing kept): index requests a package of the closure (goal at most 1.2),
  and the sdists read for the build requirements of the packages to build;
- warm (the kept answers, within the index's max-age): the whole command's wall time
  (goal under 0.5 s), against `mirrorctl --version`, the start-up alone, interleaved.

pip's own `install --dry-run --report` needs a Simple API with files to read
metadata from, which this index does not serve: not compared here.
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


def _stack(index: object) -> int:
    """The synthetic stack, into `index`; the number of its packages."""
    from tests.fakeindex import FakeIndex

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
            kind = n % 4
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
    from tests.fakeindex import fake_index

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
    return {"stack_cold_requests": cold, "stack_warm_s": seconds}


if __name__ == "__main__":
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    main()
