"""A site laid out as the builders' repository is today: no mirrors, queues in
patches/<wheel>/<wheel version>/, torch's local version label and protobuf's extra
major, and two wheels (polars-runtime-32 and -64) built from one upstream that share one
cache. It lives through sync, releases, rebase, classify, report and the nightly."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import pytest

from testbed.httpserver import Recorded, http_server
from tests.conftest import Site
from tests.gitrepos import Repo, write_config
from tests.test_rebase import patch_series

SUBMITTED = "Upstream-Status: Submitted [https://github.com/pola-rs/polars/pull/1]"
INAPPROPRIATE = "Upstream-Status: Inappropriate [riscv64 build only]"
BUILD = "".join(f"flag{n} = {n}\n" for n in range(1, 11))

# wheel -> (upstream, old wheel version, its tag, new wheel version, its tag)
WHEELS = {
    "polars-runtime-32": ("polars", "1.0.0", "py-1.0.0", "1.1.0", "py-1.1.0"),
    "polars-runtime-64": ("polars", "1.0.0", "py-1.0.0", "1.1.0", "py-1.1.0"),
    "torch": ("pytorch", "2.0.0+cpu", "v2.0.0", "2.1.0+cpu", "v2.1.0"),
    "protobuf": ("protobuf", "6.30.0", "v30.0", "6.31.0", "v31.0"),
}


@dataclass
class BuildersSite:
    root: Path
    config: Path
    workdir: Path
    upstreams: dict[str, Repo]

    def args(self, *args: str) -> list[str]:
        return ["--config", str(self.config), "--workdir", str(self.workdir), "-q", *args]

    def queue(self, wheel: str, version: str) -> Path:
        return self.root / "patches" / wheel / version


def builders_site(root: Path, *, conflicting: bool = False) -> BuildersSite:
    """Each upstream with its old and new release; each wheel's queue on the old one. With
    `conflicting`, polars' new release rewrites the line both polars queues change."""
    upstreams: dict[str, Repo] = {}
    for wheel, (name, old, old_tag, _, _) in WHEELS.items():
        up = upstreams.get(name)
        if up is None:
            up = upstreams[name] = Repo(root / name)
            up.commit("release", {"build.cfg": BUILD, "README": f"{name}\n"})
            up.tag(old_tag, annotated=True)
        bits = "32" if wheel.endswith("32") else "64"
        patch_series(up, old_tag, root / "patches" / wheel / old, [
            ("0001-BLD-riscv64.patch", f"BLD: riscv64 {wheel}\n\n{SUBMITTED}",
             {"build.cfg": BUILD.replace("flag5 = 5", f"flag5 = rv{bits}")}),
            ("0002-TST-skip.patch", f"TST: skip on riscv64\n\n{INAPPROPRIATE}",
             {f"tests/skip_{wheel}.txt": "skip\n"}),
        ])
    for name, up in upstreams.items():
        up.git("checkout", "--quiet", "main")
        change = BUILD.replace("flag5 = 5", "flag5 = five") if conflicting and name == "polars" \
            else BUILD.replace("flag9 = 9", "flag9 = nine")
        up.commit("work between the releases", {"build.cfg": change})
        up.tag({t for n, _, _, _, t in WHEELS.values() if n == name}.pop(), annotated=True)
    packages = {
        "polars-runtime-32": {"upstream": str(upstreams["polars"].path),
                              "tag_format": "py-{version}", "version": "1.0.0"},
        "polars-runtime-64": {"upstream": str(upstreams["polars"].path) + "/",
                              "tag_format": "py-{version}", "version": "1.0.0"},
        "torch": {"upstream": str(upstreams["pytorch"].path), "local_version": "cpu",
                  "version": "2.0.0+cpu"},
        "protobuf": {"upstream": str(upstreams["protobuf"].path), "wheel_major": 6,
                     "version": "6.30.0"},
    }
    config = write_config(root / "mirrors.yaml", packages, patchsets="patches")
    return BuildersSite(root, config, root / "work", upstreams)


def registry_and_pypi(request: Recorded, index: int):  # type: ignore[no-untyped-def]
    """The builders' registry has each wheel's old version built; PyPI has both releases
    (torch's without the local label: PyPI knows 2.1.0, the builders' wheel is 2.1.0+cpu)."""
    wheel = request.path.strip("/").split("/")[1]
    _, old, _, new, _ = WHEELS[wheel]
    if request.path.startswith("/simple/"):
        name = wheel.replace("-", "_")
        return 200, {"Content-Type": "application/vnd.pypi.simple.v1+json"}, json.dumps({
            "meta": {"api-version": "1.1"}, "name": wheel, "files": [
                {"filename": f"{name}-{old}-cp312-cp312-manylinux_2_39_riscv64.whl",
                 "url": "/f", "hashes": {}}]}).encode()
    return 200, {"Content-Type": "application/json"}, json.dumps({
        "info": {"name": wheel}, "releases": {
            v: [{"filename": f"{wheel}-{v}.tar.gz", "yanked": False}]
            for v in (old.split("+")[0], new.split("+")[0])}
    }).encode()


def test_a_site_like_the_builders_repository_lives_through_a_release(
        run_cli, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    site = builders_site(tmp_path)
    checked = run_cli(*site.args("validate", "--format", "json"))
    assert checked.code == 0, checked.out
    data = json.loads(checked.out)
    assert data["vocabulary"] == "builders"
    assert set(data["modes"].values()) == {"upstream-only"}

    # One upstream read and fetched once for the two polars wheels, into one cache.
    with caplog.at_level(logging.DEBUG, logger="mirrorctl.core.git"):
        synced = json.loads(run_cli(*site.args("sync", "--format", "json")).out)
    assert {p["name"]: p["status"] for p in synced["packages"]} == dict.fromkeys(
        WHEELS, "updated")
    gits = [r.getMessage() for r in caplog.records if r.getMessage().startswith("run: git")]
    polars = str(site.upstreams["polars"].path)
    assert len([g for g in gits if "ls-remote" in g and polars in g]) == 1
    assert len([g for g in gits if " fetch" in g and polars in g]) == 1
    caches = sorted(p.name for p in (site.workdir / "cache").iterdir())
    assert caches == ["polars-runtime-32.git", "protobuf.git", "torch.git"]

    with http_server(registry_and_pypi) as server:
        site.config.write_text(site.config.read_text().replace("defaults:\n", (
            f"defaults:\n  registry_url: {server.url}/simple/\n  pypi_url: {server.url}\n")))
        listed = run_cli(*site.args("releases", "--format", "json"))
        assert listed.code == 0, listed.err
        releases = {p["name"]: p for p in json.loads(listed.out)["packages"]}
        for wheel, (_, old, _, new, _) in WHEELS.items():
            assert (releases[wheel]["built"], releases[wheel]["due"]) == (old, [new]), wheel

        graded = run_cli(*site.args("classify", "--format", "json"))
        assert graded.code == 0, graded.err
        grades = {p["name"]: (p["from"], p["to"]) for p in json.loads(graded.out)["packages"]}
        assert grades == {w: (old, new) for w, (_, old, _, new, _) in WHEELS.items()}

        night = run_cli(*site.args("nightly", "--push", "--format", "json"))
    data = json.loads(night.out)
    assert night.code == 0, data["needs_human"]
    assert {r["package"]: (r["from"], r["to"], r["status"]) for r in data["rebases"]} == {
        w: (old, new, "clean") for w, (_, old, _, new, _) in WHEELS.items()}
    for wheel, (_, old, _, new, _) in WHEELS.items():
        names = sorted(p.name for p in site.queue(wheel, new).iterdir())
        assert names == ["0001-BLD-riscv64.patch", "0002-TST-skip.patch"], wheel
        assert site.queue(wheel, old).is_dir()  # old folders are kept, as theirs are
    assert "+flag5 = rv64" in (site.queue("polars-runtime-64", "1.1.0")
                               / "0001-BLD-riscv64.patch").read_text()
    report = {p["name"]: p["current"] for p in data["report"]["packages"]}
    assert report == {w: new for w, (_, _, _, new, _) in WHEELS.items()}

    # Each new queue applies with their build step's own command on the new tag.
    for wheel, (name, _, _, new, new_tag) in WHEELS.items():
        tree = tmp_path / "checkout" / wheel
        site.upstreams[name].git("worktree", "add", "--quiet", "--detach", str(tree), new_tag)
        patches = sorted(str(p) for p in site.queue(wheel, new).glob("00*.patch"))
        Repo(tree).git("apply", *patches)
        assert (tree / f"tests/skip_{wheel}.txt").is_file()
    assert run_cli(*site.args("validate")).code == 0


def test_two_wheels_of_one_upstream_wait_for_a_person_each(run_cli, tmp_path: Path) -> None:
    site = builders_site(tmp_path, conflicting=True)
    assert run_cli(*site.args("sync", "polars-runtime-32", "polars-runtime-64")).code == 0
    worktrees = {w: tmp_path / f"resolve-{w}" for w in ("polars-runtime-32",
                                                         "polars-runtime-64")}
    for wheel, worktree in worktrees.items():
        waiting = run_cli(*site.args("rebase", wheel, "--worktree", str(worktree),
                                     "--format", "json"))
        assert waiting.code == 1 and json.loads(waiting.out)["waiting_patch"] == \
            "0001-BLD-riscv64.patch", waiting.err
        assert "<<<<<<<" in (worktree / "build.cfg").read_text()

    # Ending the 32-bit wheel's rebase leaves the 64-bit wheel's worktree alone.
    ended = run_cli(*site.args("rebase", "polars-runtime-32", "--abort"))
    assert ended.code == 0, ended.err
    assert not worktrees["polars-runtime-32"].exists()
    assert (worktrees["polars-runtime-64"] / "build.cfg").is_file()

    # The 64-bit wheel's person resolves and continues from inside the worktree.
    here = worktrees["polars-runtime-64"]
    (here / "build.cfg").write_text(BUILD.replace("flag5 = 5", "flag5 = five-rv64"))
    Repo(here).git("add", "build.cfg")
    import os
    cwd = os.getcwd()
    os.chdir(here)
    try:
        done = run_cli("-q", "rebase", "polars-runtime-64", "--continue", "--format", "json")
    finally:
        os.chdir(cwd)
    assert done.code == 0, done.err
    assert "+flag5 = five-rv64" in (site.queue("polars-runtime-64", "1.1.0")
                                    / "0001-BLD-riscv64.patch").read_text()
    # Its resolution is remembered beside its own queues, not the other wheel's.
    # The 32-bit wheel's conflict, recorded in the shared cache, is not saved with them.
    store = site.root / "patches" / "polars-runtime-64" / ".rr-cache"
    assert [p.parent.name for p in store.glob("*/postimage")] == \
        [p.name for p in store.iterdir() if p.is_dir()]
    assert len(list(store.glob("*/postimage"))) == 1
    assert not (site.root / "patches" / "polars-runtime-32" / ".rr-cache").exists()


def test_wheels_sharing_an_upstream_must_take_the_same_refs(run_cli, tmp_path: Path) -> None:
    up = Repo(tmp_path / "polars")
    up.commit("release", {"README": "polars\n"})
    config = write_config(tmp_path / "mirrors.yaml", {
        "polars-runtime-32": {"upstream": str(up.path)},
        "polars-runtime-64": {"upstream": str(up.path) + ".git", "tags": ["py-*"]}})
    refused = run_cli("--config", str(config), "validate")
    assert refused.code == 2
    assert "mirrors.yaml:" in refused.out and "packages.polars-runtime-64.upstream" in refused.out
    assert "is also polars-runtime-32's upstream" in refused.out


def test_same_repository_ignores_case_of_host_slash_and_dot_git() -> None:
    from mirrorctl.core.urls import same_repository

    assert same_repository("https://GitHub.com/pola-rs/polars.git") == \
        same_repository("https://github.com/pola-rs/polars/")
    assert same_repository("https://github.com/pola-rs/polars") != \
        same_repository("https://github.com/pola-rs/Polars-extra")
    assert same_repository("/srv/git/polars.git") == same_repository("/srv/git/polars")


def test_a_package_alone_on_its_upstream_keeps_a_cache_of_its_name(site: Site) -> None:
    from mirrorctl.core.config import load_config

    [package] = load_config(site.config).packages.values()
    assert package.cache == package.name
