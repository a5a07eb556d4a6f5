"""`upstream wheels` over 1,000 packages against a loopback GitHub that enforces its
search rate (scaled down so that a run takes seconds: 30 searches in 0.6 s, mirrorctl
told 3,000 a minute) and answers conditional requests:

- the wall time of a first pass (cold: no search kept) against the rate's lower bound
  (its searches spaced as the rate allows, nothing else);
- forge requests a package on an unchanged night (goal at most 0.2, each conditional);
- mirrorctl's own time a package from warm caches (goal under 50 ms), against one
  `git for-each-ref` a package, interleaved.

The packages are in the shapes of the tests (an emulated arch matrix, include entries,
native runners, pyproject's archs, maturin) and at every step of the road: no request
(draft), an open request, one declined, riscv64 merged but not released, released but
not on PyPI, shipped. PyPI and GitHub are local servers (testbed/httpserver.py,
testbed/fakeforge.py): the time is mirrorctl's own, without the forge's latency.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.sandbox import git, interleaved, sealed_env

PACKAGES = 1000
REPEATS = 3
RATE = (30, 0.6)  # the loopback's: 30 searches in 0.6 s, 3,000 a minute
SHAPES = ("EMULATED_MATRIX", "INCLUDE_ENTRIES", "NATIVE_RUNNERS", "PYPROJECT_ARCHS",
          "MATURIN")
ROADS = ("draft", "requested", "declined", "merged", "released", "shipped", "draft",
         "draft", "requested", "merged")


def _upstream(env: dict[str, str], path: Path, files: dict[str, str], road: str) -> None:
    from testbed import wheelshapes

    git(env, "init", "--quiet", "--initial-branch", "main", str(path))
    for name, text in {"README.md": f"{path.name}\n", **files}.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    for n in range(30):  # a history to walk
        (path / "src.c").write_text(f"int x = {n};\n")
        git(env, "-C", str(path), "add", "-A")
        git(env, "-C", str(path), "commit", "--quiet", "-m", f"work {n}")
        if n % 10 == 9:
            git(env, "-C", str(path), "tag", "-a", "-m", "r", f"v1.{n // 10}.0")
    if road in ("merged", "released", "shipped") and \
            ".github/workflows/wheels.yml" in files:
        for name, text in wheelshapes.with_riscv64(files).items():
            (path / name).write_text(text)
        git(env, "-C", str(path), "commit", "--quiet", "-am", "ci: add riscv64 wheels")
        if road != "merged":
            git(env, "-C", str(path), "tag", "-a", "-m", "r", "v2.0.0")


def _site(root: Path, env: dict[str, str], forge: object, pypi: dict[str, bytes],
          pypi_url: str) -> Path:
    from testbed import wheelshapes

    packages = {}
    for n in range(PACKAGES):
        name = f"pkg{n:04d}"
        shape = getattr(wheelshapes, SHAPES[n % len(SHAPES)])
        road = ROADS[n % len(ROADS)]
        if road in ("merged", "released", "shipped"):
            shape = wheelshapes.EMULATED_MATRIX
        template = root / "templates" / f"{SHAPES[n % len(SHAPES)]}-{road}"
        if not template.exists():
            _upstream(env, template, shape, road)
        shutil.copytree(template, root / "up" / name, symlinks=True)
        wheel = (f"{name}-2.0.0-cp312-cp312-manylinux_2_28_riscv64.whl" if road == "shipped"
                 else f"{name}-1.0.0-cp312-cp312-manylinux_2_28_x86_64.whl")
        version = "2.0.0" if road in ("released", "shipped") else "1.2.0"
        pypi[f"/pypi/{name}/json"] = json.dumps({"releases": {version: [
            {"filename": wheel, "yanked": False}]}}).encode()
        project = f"org/{name}"
        item = {"number": 10 + n, "title": "ci: add riscv64 wheels", "body": "",
                "html_url": f"https://github.com/{project}/pull/{10 + n}",
                "state": "open" if road == "requested" else "closed",
                "pull_request": {"merged_at": None}}
        if road in ("requested", "declined"):
            target = forge.open_items if road == "requested" else forge.closed_items  # type: ignore[attr-defined]
            target.setdefault(project, []).append(item)
            forge.comments[(project, 10 + n)] = [{"body": "Too slow under QEMU."}]  # type: ignore[attr-defined]
        packages[name] = {"upstream": str(root / "up" / name), "mirror": False,
                          "upstream_web": f"https://github.com/{project}",
                          "tag_format": "v{version}", "version": "1.0.0"}
    config = root / "mirrors.yaml"
    config.write_text(yaml.safe_dump({"defaults": {
        "allowed_protocols": ["file"], "retries": 0, "jobs": 4, "pypi_url": pypi_url,
        "search_rate": RATE[0] * 60 / RATE[1],
        "forge_apis": {"github.com": forge.url}},  # type: ignore[attr-defined]
        "packages": packages}, sort_keys=False))
    return config


def _mirrorctl(env: dict[str, str], config: Path, workdir: Path, *args: str) -> str:
    return subprocess.run([sys.executable, "-m", "mirrorctl", "--config", str(config),
                           "--workdir", str(workdir), "-q", *args], env=env,
                          capture_output=True, text=True, check=False).stdout


def main() -> dict[str, float]:
    from testbed.fakeforge import fake_forge
    from testbed.httpserver import http_server

    root = Path(tempfile.mkdtemp(prefix="mirrorctl-bench-wheels-"))
    (root / "home").mkdir()
    env = sealed_env(root / "home")
    pypi: dict[str, bytes] = {}

    def respond(request, index):  # type: ignore[no-untyped-def]
        answer = pypi.get(request.path.partition("?")[0])
        return (200, {"Content-Type": "application/json"}, answer) if answer else (404, {})

    try:
        with fake_forge() as forge, http_server(respond) as server:
            forge.search_rate = RATE
            env["MIRRORCTL_GITHUB_TOKEN"] = forge.github_token
            config = _site(root, env, forge, pypi, server.url)
            workdir = root / "work"
            _mirrorctl(env, config, workdir, "sync")
            caches = sorted((workdir / "cache").iterdir())
            states: dict[str, int] = {}

            def wheels() -> None:
                out = json.loads(_mirrorctl(env, config, workdir, "upstream", "wheels",
                                            "--format", "json"))
                states.clear()
                states.update(out["counts"])

            def for_each_ref() -> None:
                for cache in caches:
                    git(env, "--git-dir", str(cache), "for-each-ref", "--count=1")

            start = time.perf_counter()
            wheels()
            first = time.perf_counter() - start
            searches = len(forge.searches)
            bound = (searches - 1) * RATE[1] / RATE[0]
            start, conditional = len(forge.requests), forge.conditional
            wheels()
            night = len(forge.requests) - start
            conditional = forge.conditional - conditional
            medians = interleaved({f"{PACKAGES} x git for-each-ref": for_each_ref,
                                   "mirrorctl upstream wheels": wheels}, REPEATS)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    base, seconds = medians[f"{PACKAGES} x git for-each-ref"], medians["mirrorctl upstream wheels"]
    print(f"upstream wheels over {PACKAGES} packages, loopback GitHub at "
          f"{RATE[0]} searches in {RATE[1]} s (states: {states})")
    print(f"  first pass: {first:.2f} s, {searches} searches; the rate's lower bound for "
          f"them {bound:.2f} s ({first / bound if bound else 0:.2f}x)")
    print(f"  unchanged night: {night / PACKAGES:.3f} forge requests a package (goal <= "
          f"0.2), {conditional} of {night} conditional")
    print(f"  warm, median of {REPEATS} interleaved runs:")
    print(f"  {PACKAGES} x git for-each-ref                {base:7.3f} s   1.00x")
    print(f"  mirrorctl upstream wheels              {seconds:7.3f} s  {seconds / base:5.2f}x")
    print(f"  {seconds / PACKAGES * 1000:.1f} ms a package (goal < 50 ms)\n")
    return {"wheels_ms": seconds / PACKAGES * 1000, "wheels_requests": night / PACKAGES,
            "wheels_first": first, "wheels_bound": bound}


if __name__ == "__main__":
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    main()
