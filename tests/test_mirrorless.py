"""A package without a mirror, as the builders work today: upstream is read into
mirrorctl's cache alone, nothing is pushed, and every later job works from the cache."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from tests.conftest import Site
from tests.gitrepos import Repo, write_config
from tests.test_patches import STATUS, make_queue


@pytest.fixture
def bare_site(site: Site) -> Site:
    """The `site` package with no mirror (and a mirror_url default it opts out of)."""
    write_config(site.config, {"demo": {"upstream": str(site.upstream.path), "mirror": False,
                                        "version": "1.0.0"}},
                 mirror_url=str(site.root / "mirrors" / "{name}.git"))
    make_queue(site.upstream, site.root / "patchsets" / "demo" / "1.0.0",
               [(f"BLD: riscv64\n\n{STATUS}", {"riscv.txt": "rv64\n"})])
    site.upstream.git("checkout", "--quiet", "main")
    return site


def test_a_package_without_a_mirror_goes_through_the_whole_night(
        run_cli, bare_site: Site, caplog: pytest.LogCaptureFixture) -> None:
    site = bare_site
    result = run_cli(*site.args("validate"))
    assert result.code == 0 and "without one, read from upstream into the cache alone: demo" \
        in result.out
    data = json.loads(run_cli(*site.args("validate", "--format", "json")).out)
    assert data["modes"] == {"demo": "upstream-only"}

    synced = json.loads(run_cli(*site.args("sync", "--format", "json")).out)
    [p] = synced["packages"]
    assert (p["status"], p["fetched"], p["refs"]) == ("updated", True, [])
    assert not (site.root / "mirrors").exists()  # nothing pushed anywhere
    cache = Repo(site.workdir / "cache" / "demo.git", bare=True)
    assert cache.rev("refs/tags/v1.1.0") == site.upstream.rev("refs/tags/v1.1.0")

    with caplog.at_level(logging.DEBUG, logger="mirrorctl.core.git"):
        again = json.loads(run_cli(*site.args("sync", "--format", "json")).out)
    assert again["packages"][0]["status"] == "unchanged"
    gits = [r.getMessage() for r in caplog.records if r.getMessage().startswith("run: git")]
    assert [g for g in gits if "ls-remote" in g] and not [g for g in gits if " fetch" in g]
    assert len([g for g in gits if "ls-remote" in g]) == 1  # one round trip, upstream alone

    code_and = run_cli(*site.args("classify", "--format", "json"))
    [c] = json.loads(code_and.out)["packages"]
    assert code_and.code == 0 and (c["from"], c["to"]) == ("1.0.0", "1.1.0")
    night = run_cli(*site.args("nightly", "--push", "--format", "json"))
    data = json.loads(night.out)
    assert night.code == 0, data["needs_human"]
    [rebased] = data["rebases"]
    assert (rebased["status"], rebased["written"], rebased["push"]) == ("clean", "written", None)
    assert (site.root / "patchsets" / "demo" / "1.1.0").is_dir()
    assert data["report"]["packages"][0]["current"] == "1.1.0"

    # What needs a mirror says so, in one line.
    for args in (["patches", "apply", "demo", "--push"],
                 ["patches", "export", "demo", "--base", "v1.1.0", "--from-branch", "x"]):
        refused = run_cli(*site.args(*args))
        assert refused.code == 2 and "demo has no mirror" in refused.err, refused.err


def test_no_mirror_url_and_no_mirror_is_a_package_without_a_mirror(run_cli, site: Site,
                                                                   tmp_path: Path) -> None:
    config = write_config(tmp_path / "plain.yaml", {"demo": {
        "upstream": str(site.upstream.path)}})
    assert run_cli("--config", str(config), "-q", "sync").code == 0


def test_wheel_versions_map_to_upstream_tags() -> None:
    from packaging.version import InvalidVersion

    from mirrorctl.core.tagformat import TagFormat

    torch = TagFormat("v{version}", local="cpu")
    assert torch.tag_for("2.13.0+cpu") == "v2.13.0"
    assert torch.version_of("v2.13.0") == "2.13.0+cpu"
    assert torch.version_of("v2.13.0+cu128") is None  # another build's tag is not ours
    with pytest.raises(InvalidVersion):
        torch.tag_for("2.13.0")
    protobuf = TagFormat("v{version}", wheel_major=7)
    assert protobuf.tag_for("7.35.1") == "v35.1"
    assert protobuf.version_of("v35.1") == "7.35.1"
    with pytest.raises(InvalidVersion):
        protobuf.tag_for("6.30.2")  # the wheel's major moved on: say so in mirrors.yaml
    polars = TagFormat("py-{version}")
    assert (polars.tag_for("1.31.0"), polars.version_of("py-1.31.0")) == ("py-1.31.0", "1.31.0")
    psutil = TagFormat("release-{version}")
    assert psutil.version_of("release-7.0.0") == "7.0.0" and psutil.version_of("v7.0.0") is None


@pytest.mark.parametrize(("settings", "old", "tags", "new"), [
    ({"local_version": "cpu"}, "2.13.0+cpu", ["v2.13.0", "v2.14.0"], "2.14.0+cpu"),
    ({"wheel_major": 7}, "7.35.1", ["v35.1", "v35.2"], "7.35.2"),
])
def test_a_queue_named_by_its_wheel_version_is_carried_to_the_next(
        run_cli, tmp_path: Path, settings: dict, old: str, tags: list[str],  # type: ignore[type-arg]
        new: str) -> None:
    up = Repo(tmp_path / "upstream")
    up.commit("first", {"setup.py": "flags = []\n"})
    up.tag(tags[0], annotated=True)
    make_queue(up, tmp_path / "patches" / "pkg" / old,
               [("BLD: riscv64\n\nUpstream-Status: To upstream", {"riscv.txt": "rv64\n"})])
    up.git("checkout", "--quiet", "main")
    up.commit("next", {"README": "next\n"})
    up.tag(tags[1], annotated=True)
    config = write_config(tmp_path / "mirrors.yaml", {"pkg": {
        "upstream": str(up.path), "version": old, **settings}}, patchsets="patches")
    args = ["--config", str(config), "-q"]
    assert run_cli(*args, "validate").code == 0
    assert run_cli(*args, "sync").code == 0
    found = json.loads(run_cli(*args, "releases", "--format", "json").out)["packages"][0]
    assert (found["current"], found["new"], found["tags"]) == (old, [new], {new: tags[1]})
    rebased = json.loads(run_cli(*args, "rebase", "pkg", "--format", "json").out)
    assert (rebased["to"], rebased["onto"], rebased["status"]) == (new, tags[1], "clean")
    assert (tmp_path / "patches" / "pkg" / new / "0001-BLD-riscv64.patch").is_file()
    wrong = write_config(tmp_path / "wrong.yaml", {"pkg": {
        "upstream": str(up.path), "version": "1.0.0", **settings}}, patchsets="patches")
    result = run_cli("--config", str(wrong), "validate")
    assert result.code == 2 and "is no wheel version of this package" in result.out


def test_sync_records_upstreams_default_branch_in_the_same_round_trip(
        run_cli, bare_site: Site) -> None:
    """`upstream wheels` reads upstream's default branch from the record: sync writes it
    from the ls-remote it makes anyway, and a change of it (main renamed) is a change."""
    from mirrorctl.core.record import read_record
    from mirrorctl.sync.state import UPSTREAM

    site = bare_site
    assert run_cli(*site.args("sync")).code == 0
    fact = read_record(site.workdir, "demo").get(UPSTREAM)
    assert fact is not None and fact.value is not None and fact.value.head == "main"
    site.upstream.git("branch", "-m", "main", "trunk")
    assert run_cli(*site.args("sync", "--format", "json")).code == 0
    fact = read_record(site.workdir, "demo").get(UPSTREAM)
    assert fact is not None and fact.value is not None and fact.value.head == "trunk"
