"""A no-op nightly of 300 mirror-less packages against 300 plain `git ls-remote` calls,
and the time `ci generate` takes for 1,000 packages.

Goal (issue 14): the no-op nightly at most 1.3x the ls-remote calls. The nightly does
more than the sync (releases from each cache, the report of every package, a history
record); with nothing new upstream it must still cost about what asking upstream does.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.sandbox import interleaved, ls_remote, make_site, without_mirrors

PACKAGES = 300
REPEATS = 5
GENERATED = 1000


def _nightly(env: dict[str, str], config: Path, workdir: Path) -> None:
    subprocess.run([sys.executable, "-m", "mirrorctl", "--config", str(config), "--workdir",
                    str(workdir), "-q", "nightly", "--format", "json"], env=env, check=False,
                   stdout=subprocess.DEVNULL)


def _generate(env: dict[str, str], config: Path, forge: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mirrorctl", "--config", str(config), "ci",
                    "generate", "--forge", forge, "--install", "pip install x",
                    "-o", str(config.parent / f"{forge}.yml")], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> dict[str, float]:
    root, env, config, _ = make_site(PACKAGES, commits=20, tags=5, branches=1)
    try:
        bare = without_mirrors(config, root / "bare.yaml")
        workdir = root / "work"
        _nightly(env, bare, workdir)  # the first night fills the caches
        upstreams = [str(p) for p in sorted((root / "up").iterdir())]
        medians = interleaved({
            f"{PACKAGES} x git ls-remote (sequential)": lambda: ls_remote(env, upstreams),
            f"mirrorctl nightly, {PACKAGES} mirror-less packages, no-op":
                lambda: _nightly(env, bare, workdir),
        }, REPEATS)
        baseline, nightly = medians.values()
        print(f"no-op nightly of {PACKAGES} mirror-less packages, median of the interleaved "
              "runs")
        for name, seconds in medians.items():
            print(f"  {name:<52} {seconds:7.3f} s  {seconds / baseline:5.2f}x")
        ratio = nightly / baseline
        print(f"  ratio: {ratio:.2f}x (goal <= 1.3x)\n")

        thousand = root / "thousand"
        thousand.mkdir()
        (thousand / "patches").mkdir()
        (thousand / "mirrors.yaml").write_text(yaml.safe_dump({
            "defaults": {"patchsets": "patches"},
            "packages": {f"pkg{n:04d}": {"upstream": f"https://github.com/up/pkg{n:04d}.git"}
                         for n in range(GENERATED)}}))
        seconds = {forge: min(_generate(env, thousand / "mirrors.yaml", forge)
                              for _ in range(3)) for forge in ("gitlab", "github")}
        print(f"ci generate for {GENERATED} packages (best of 3, with Python's start-up): "
              f"GitLab {seconds['gitlab']:.2f} s, GitHub {seconds['github']:.2f} s\n")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {"nightly_300": ratio, "generate_gitlab_s": seconds["gitlab"],
            "generate_github_s": seconds["github"]}


if __name__ == "__main__":
    main()
