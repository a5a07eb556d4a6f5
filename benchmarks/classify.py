"""Classifying 30 packages from warm caches: the time a package.

Each package: a release that switches build backend and pins a new Cython at the
next release, and a 3-patch queue, as the builders' packages look.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.sandbox import git, interleaved, make_site

PACKAGES = 30
REPEATS = 5


def _release_stream() -> str:
    """Tags v1.0 and v1.1 with build files, and branch `queue`: 3 patches on v1.0."""
    parts = []
    for mark, (tag, backend, cython) in enumerate(
            (("v1.0", "setuptools.build_meta", "Cython<3"),
             ("v1.1", "mesonpy", "Cython>=3.0")), start=1):
        pyproject = (f'[build-system]\nbuild-backend = "{backend}"\n'
                     f'requires = ["{cython}"]\n')
        parent = f"from :{mark - 1}\n" if mark > 1 else "from refs/heads/main^0\n"
        parts.append(f"commit refs/heads/release\nmark :{mark}\n"
                     f"committer B <b@x> {1700100000 + mark} +0000\ndata 4\n{tag}\n{parent}"
                     f"M 644 inline pyproject.toml\ndata {len(pyproject)}\n{pyproject}\n"
                     f"reset refs/tags/{tag}\nfrom :{mark}\n\n")
    for p in range(3):
        text = f"patched {p}\n"
        message = f"BLD: riscv64 {p}\n\nUpstream-Status: Pending\n"
        parent = f"from :{9 + p}\n" if p else "from :1\n"
        parts.append(f"commit refs/heads/queue\nmark :{10 + p}\n"
                     f"committer B <b@x> {1700200000 + p} +0000\n"
                     f"data {len(message)}\n{message}{parent}"
                     f"M 644 inline riscv64/{p}.txt\ndata {len(text)}\n{text}\n")
    return "".join(parts)


def _add_releases(root: Path, env: dict[str, str], config: Path) -> None:
    data = yaml.safe_load(config.read_text())
    for name, package in data["packages"].items():
        upstream = package["upstream"]
        git(env, "--git-dir", upstream, "fast-import", "--quiet", input=_release_stream())
        git(env, "--git-dir", upstream, "format-patch", "--quiet", "--zero-commit",
            "--no-signature", "--no-stat", "-o", str(root / "patchsets" / name / "1.0"),
            "v1.0..queue")
        package.update(tag_format="v{version}", version="1.0")
    config.write_text(yaml.safe_dump(data))


def main() -> dict[str, float]:
    root, env, config, workdir = make_site(PACKAGES, commits=100, tags=10)
    try:
        _add_releases(root, env, config)
        subprocess.run([sys.executable, "-m", "mirrorctl", "--config", str(config),
                        "--workdir", str(workdir), "-q", "sync"], env=env, check=True,
                       stdout=subprocess.DEVNULL)

        def classify(*args: str) -> None:
            out = subprocess.run([sys.executable, "-m", "mirrorctl", "--config", str(config),
                                  "--workdir", str(workdir), "-q", "classify", "--format",
                                  "text", *args], env=env, check=True, capture_output=True,
                                 text=True).stdout
            assert out.count(": hard (build-backend-changed") == PACKAGES, out

        medians = interleaved({"jobs 4": classify, "jobs 1": lambda: classify("-j1")},
                              REPEATS)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"classify {PACKAGES} packages from warm caches, median of {REPEATS} runs")
    for name, seconds in medians.items():
        print(f"  mirrorctl classify ({name}){'':<24} {seconds:7.3f} s  "
              f"{seconds / PACKAGES * 1000:6.1f} ms a package")
    print()
    return {"classify_ms_per_package": medians["jobs 4"] / PACKAGES * 1000}


if __name__ == "__main__":
    main()
