"""`upstream wheels` over 50 packages from warm caches: the time a package, and the forge
requests a package (GitHub's search API allows 30 a minute).

The packages are in the shapes of the tests (an emulated arch matrix, include entries,
native runners, pyproject's archs, maturin) and at every step of the road: no request
(draft), an open request, one declined, riscv64 merged but not released, released but
not on PyPI, shipped. PyPI and GitHub are local servers (tests/httpserver.py,
tests/fakeforge.py): the time is mirrorctl's own, without the forge's latency.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.sandbox import git, interleaved, sealed_env

PACKAGES = 50
REPEATS = 5
SHAPES = ("EMULATED_MATRIX", "INCLUDE_ENTRIES", "NATIVE_RUNNERS", "PYPROJECT_ARCHS",
          "MATURIN")
ROADS = ("draft", "requested", "declined", "merged", "released", "shipped", "draft",
         "draft", "requested", "merged")


def _upstream(env: dict[str, str], path: Path, files: dict[str, str], road: str) -> None:
    from tests import wheelshapes

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
    from tests import wheelshapes

    packages = {}
    for n in range(PACKAGES):
        name = f"pkg{n:02d}"
        shape = getattr(wheelshapes, SHAPES[n % len(SHAPES)])
        road = ROADS[n % len(ROADS)]
        if road in ("merged", "released", "shipped"):
            shape = wheelshapes.EMULATED_MATRIX
        _upstream(env, root / "up" / name, shape, road)
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
        "forge_apis": {"github.com": forge.url}},  # type: ignore[attr-defined]
        "packages": packages}, sort_keys=False))
    return config


def _mirrorctl(env: dict[str, str], config: Path, workdir: Path, *args: str) -> str:
    return subprocess.run([sys.executable, "-m", "mirrorctl", "--config", str(config),
                           "--workdir", str(workdir), "-q", *args], env=env,
                          capture_output=True, text=True, check=False).stdout


def main() -> dict[str, float]:
    from tests.fakeforge import fake_forge
    from tests.httpserver import http_server

    root = Path(tempfile.mkdtemp(prefix="mirrorctl-bench-wheels-"))
    (root / "home").mkdir()
    env = sealed_env(root / "home")
    pypi: dict[str, bytes] = {}

    def respond(request, index):  # type: ignore[no-untyped-def]
        answer = pypi.get(request.path.partition("?")[0])
        return (200, {"Content-Type": "application/json"}, answer) if answer else (404, {})

    try:
        with fake_forge() as forge, http_server(respond) as server:
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

            start = len(forge.requests)
            wheels()
            per_package = (len(forge.requests) - start) / PACKAGES
            medians = interleaved({f"{PACKAGES} x git for-each-ref": for_each_ref,
                                   "mirrorctl upstream wheels": wheels}, REPEATS)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    base, seconds = medians[f"{PACKAGES} x git for-each-ref"], medians["mirrorctl upstream wheels"]
    print(f"upstream wheels over {PACKAGES} packages from warm caches, median of "
          f"{REPEATS} interleaved runs (states: {states})")
    print(f"  {PACKAGES} x git for-each-ref                  {base:7.3f} s   1.00x")
    print(f"  mirrorctl upstream wheels                {seconds:7.3f} s  {seconds / base:5.2f}x")
    print(f"  {seconds / PACKAGES * 1000:.1f} ms a package (goal < 100 ms), "
          f"{per_package:.2f} forge requests a package (goal <= 2)\n")
    return {"wheels_ms": seconds / PACKAGES * 1000, "wheels_requests": per_package}


if __name__ == "__main__":
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    main()
