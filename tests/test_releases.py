"""`mirrorctl releases`: new release tags, and what PyPI says about them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mirrorctl.core.tagformat import TagFormat
from mirrorctl.grade.pypi import PypiProject
from mirrorctl.grade.releases import cross_check
from mirrorctl.sync.cache import new_releases
from testbed.httpserver import Recorded, http_server
from tests.conftest import Site
from tests.gitrepos import Repo, make_mirror, write_config

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]


def test_new_releases_map_tags_through_the_format() -> None:
    tags = ["v2.2.4", "v2.2.5", "v2.2.6", "v2.3.0rc1", "v2.3.0", "v2.3.1", "release-2.4.0",
            "2.5.0", "vnext", "v2.3.2.dev0"]
    new, mapping, skipped = new_releases(tags, TagFormat("v{version}"), "2.2.4")
    assert (new, skipped) == (["2.2.6", "2.3.0", "2.3.1"], 1)  # at most 3: the newest
    assert mapping == {"2.2.6": "v2.2.6", "2.3.0": "v2.3.0", "2.3.1": "v2.3.1"}
    with_pre, _, _ = new_releases(tags, TagFormat("v{version}"), "2.2.6", pre=True, limit=9)
    assert with_pre == ["2.3.0rc1", "2.3.0", "2.3.1", "2.3.2.dev0"]
    # psutil's release-X.Y.Z next to vX.Y.Z tags: only the package's own format counts.
    psutil, _, _ = new_releases(tags, TagFormat("release-{version}"), "2.0")
    assert psutil == ["2.4.0"]
    sqlalchemy, tags_of, _ = new_releases(["rel_2_0_39", "rel_2_0_40", "rel_2_1_0b1"],
                                          TagFormat("rel_{major}_{minor}_{micro}"), "2.0.39")
    assert (sqlalchemy, tags_of) == (["2.0.40"], {"2.0.40": "rel_2_0_40"})


def test_cross_check_flags_tags_and_releases_that_do_not_meet() -> None:
    project = PypiProject(name="numpy", releases={
        "2.2.4": ("numpy-2.2.4.tar.gz",), "2.2.5": ("numpy-2.2.5.tar.gz",),
        "2.3.0": ("numpy-2.3.0.tar.gz",), "2.3.1": (), "2.4.0rc1": ("x.tar.gz",)})
    assert cross_check(["2.2.5", "2.3.0", "2.3.1"], project, "2.2.4") == [
        "tag-without-release: 2.3.1"]  # 2.3.1's only file was yanked
    assert cross_check(["2.2.5"], project, "2.2.4") == ["release-without-tag: 2.3.0"]


def pypi_json(version_files: dict[str, list[str]]) -> bytes:
    return json.dumps({"info": {"name": "demo"}, "releases": {
        v: [{"filename": f, "yanked": f.startswith("yanked")} for f in files]
        for v, files in version_files.items()}}).encode()


@pytest.fixture
def releases_site(run_cli, site: Site) -> Site:
    for tag in ("v1.2.0", "v1.3.0rc1", "v1.3.0", "release-9.0.0"):
        site.upstream.commit(f"work for {tag}")
        site.upstream.tag(tag, annotated=True)
    return site


def releases(run_cli, site: Site, *args: str):  # type: ignore[no-untyped-def]
    assert run_cli(*site.args("sync")).code == 0
    result = run_cli(*site.args("releases", "--format", "json", *args))
    return result, (json.loads(result.out)["packages"] if result.out.startswith("{") else None)


def test_releases_from_the_cache(run_cli, releases_site: Site) -> None:
    result, packages = releases(run_cli, releases_site)
    assert result.code == 0, result.err
    [demo] = packages
    assert (demo["current"], demo["latest"], demo["new"]) == ("1.1.0", "1.3.0",
                                                               ["1.2.0", "1.3.0"])
    assert demo["tags"] == {"1.2.0": "v1.2.0", "1.3.0": "v1.3.0"}
    assert demo["can_retire"] is False
    table = run_cli(*releases_site.args("releases"))
    assert table.out.splitlines()[1].split() == ["demo", "1.1.0", "1.3.0", "1.2.0", "1.3.0"]


def test_pypi_cross_check_and_can_retire(run_cli, releases_site: Site) -> None:
    wheels = [f"demo-1.3.0-cp3{m}-cp3{m}-manylinux_2_39_riscv64.whl" for m in (10, 11, 12, 13)]
    answers = {"/pypi/demo/json": (200, {"Content-Type": "application/json"}, pypi_json({
        "1.1.0": ["demo-1.1.0.tar.gz"], "1.3.0": ["demo-1.3.0.tar.gz", *wheels],
        "1.4.0": ["demo-1.4.0.tar.gz"]}))}
    calls = []

    def respond(request: Recorded, index: int):  # type: ignore[no-untyped-def]
        calls.append(request.path)
        if index == 0:
            return 503, {"Retry-After": "0"}  # PyPI overloaded once: retried
        return answers.get(request.path, (404, {}))

    with http_server(respond) as server:
        text = releases_site.config.read_text().replace(
            "defaults:\n", f"defaults:\n  pypi_url: {server.url}\n").replace(
            "retries: 0", "retries: 1")
        releases_site.config.write_text(text)
        result, packages = releases(run_cli, releases_site, "--pypi")
    assert result.code == 0, result.err
    [demo] = packages
    assert demo["flags"] == ["tag-without-release: 1.2.0", "release-without-tag: 1.4.0"]
    assert demo["pypi_latest"] == "1.4.0"
    assert demo["can_retire"] is False  # 1.4.0, the latest, has no riscv64 wheels
    assert len(calls) == 2


def test_a_pypi_failure_marks_its_package_and_exits_1(run_cli, releases_site: Site) -> None:
    text = releases_site.config.read_text().replace(
        "defaults:\n", "defaults:\n  pypi_url: http://127.0.0.1:9\n")
    releases_site.config.write_text(text)
    result, packages = releases(run_cli, releases_site, "--pypi")
    assert result.code == 1
    assert packages[0]["pypi_error"].startswith("PyPI unreachable at http://127.0.0.1:9")
    assert packages[0]["new"] == ["1.2.0", "1.3.0"]  # what the cache knows is still there


def test_can_retire_when_the_latest_release_ships_riscv64_wheels(
        run_cli, releases_site: Site) -> None:
    wheels = [f"demo-1.4.0-{python}-{abi}-manylinux_2_39_riscv64.whl" for python, abi in (
        ("cp312", "cp312"), ("cp313", "cp313"), ("cp314", "cp314"), ("cp314", "cp314t"))]
    body = pypi_json({"1.3.0": ["demo-1.3.0.tar.gz"], "1.4.0": wheels})
    with http_server(lambda request, index: (200, {}, body)) as server:
        text = releases_site.config.read_text().replace(
            "defaults:\n", f"defaults:\n  pypi_url: {server.url}\n")
        releases_site.config.write_text(text)
        result, packages = releases(run_cli, releases_site, "--pypi")
    assert result.code == 0
    assert packages[0]["can_retire"] is True
    assert packages[0]["retire_detail"] == ("upstream publishes riscv64 wheels for Python "
                                            "3.12, 3.13, 3.14, 3.14t")


def test_a_package_without_a_cache(run_cli, site: Site, tmp_path: Path) -> None:
    other = Repo(tmp_path / "other")
    other.commit("x")
    write_config(site.config, {
        "demo": {"upstream": str(site.upstream.path), "mirror": str(site.mirror.path),
                 "version": "1.0.0"},
        "other": {"upstream": str(other.path), "mirror": str(make_mirror(tmp_path / "o.git").path)},
    })
    assert run_cli(*site.args("sync", "demo")).code == 0
    result = run_cli(*site.args("releases", "--format", "json"))
    assert result.code == 1
    packages = json.loads(result.out)["packages"]
    assert packages[0]["new"] == ["1.1.0"]
    assert "run `mirrorctl sync other` first" in packages[1]["problems"][0]


def test_retirement_as_the_builders_judge_it() -> None:
    from mirrorctl.grade.pypi import riscv64_coverage

    pythons = ["3.12", "3.13"]
    one = ["demo-2.0-cp312-cp312-manylinux_2_39_riscv64.whl", "demo-2.0.tar.gz"]
    assert riscv64_coverage(one, pythons) == (
        True, "upstream publishes riscv64 wheels (not for Python 3.13)")
    pure = ["demo-2.0-py3-none-any.whl", "demo-2.0.tar.gz"]
    assert riscv64_coverage(pure, pythons)[0] is True
    assert "only pure-Python wheels" in riscv64_coverage(pure, pythons)[1]
    x86 = ["demo-2.0-py3-none-any.whl", "demo-2.0-cp312-cp312-manylinux_2_17_x86_64.whl"]
    assert riscv64_coverage(x86, pythons) == (False, "no riscv64 wheels on PyPI")
    assert riscv64_coverage(["demo-2.0.tar.gz"], pythons)[0] is False
    free = ["demo-2.0-cp314-cp314t-manylinux_2_39_riscv64.whl"]
    assert riscv64_coverage(free, ["3.14t"]) == (
        True, "upstream publishes riscv64 wheels for Python 3.14t")
    assert riscv64_coverage(free, ["3.14"])[1] == (
        "upstream publishes riscv64 wheels (not for Python 3.14)")


def test_a_retired_package_is_watched_and_calls_a_person_when_wheels_stop(
        run_cli, site: Site) -> None:
    write_config(site.config, {
        "demo": {"upstream": str(site.upstream.path), "mirror": str(site.mirror.path),
                 "version": "1.1.0"},
        "gone": {"upstream": str(site.upstream.path), "mirror": False, "retired": True}})
    riscv = ["gone-3.0-cp312-cp312-manylinux_2_39_riscv64.whl"]
    answers = {"/pypi/gone/json": pypi_json({"3.0": riscv}),
               "/pypi/demo/json": pypi_json({"1.1.0": ["demo-1.1.0.tar.gz"]})}
    with http_server(lambda request, index: (200, {}, answers[request.path])) as server:
        site.config.write_text(site.config.read_text().replace(
            "defaults:\n", f"defaults:\n  pypi_url: {server.url}\n"))
        night = json.loads(run_cli(*site.args("nightly", "--format", "json")).out)
        assert [p["name"] for p in night["sync"]["packages"]] == ["demo"]  # no work for it
        watched = {r["name"]: r for r in night["releases"]["packages"]}["gone"]
        assert watched["retired"] is True and watched["retire_alarm"] is None
        assert [p["name"] for p in night["report"]["packages"]] == ["demo"]
        assert run_cli(*site.args("report")).code == 0  # a retired package is no unknown
        # The next release stops shipping riscv64 wheels: a person must bring it back.
        answers["/pypi/gone/json"] = pypi_json({"3.0": riscv, "3.1": ["gone-3.1.tar.gz"]})
        result = run_cli(*site.args("releases", "--pypi", "--format", "json"))
        night = json.loads(run_cli(*site.args("nightly", "--format", "json")).out)
    gone = {r["name"]: r for r in json.loads(result.out)["packages"]}["gone"]
    assert result.code == 1 and "ships no riscv64 wheel" in gone["retire_alarm"]
    assert [n["kind"] for n in night["needs"]] == ["retired-needs-building"]
