"""The builders' registry says what is built: a Simple Repository API index served in
both forms (PEP 691 JSON, PEP 503 HTML) on loopback, read with pypi-simple."""

from __future__ import annotations

import html
import json
import re

import pytest
from packaging.tags import Tag

from mirrorctl.grade.registry import built_for, newest_built
from testbed.httpserver import Recorded, http_server
from tests.conftest import Site

PLATFORMS = ("manylinux_2_34_riscv64", "manylinux_2_35_riscv64", "manylinux_2_39_riscv64")
PYTHONS = ("3.12", "3.13", "3.14", "3.14t")

FILES = [  # (file name, yanked)
    ("demo-1.0.0-cp312-cp312-manylinux_2_39_riscv64.whl", False),
    ("demo-1.1.0-cp314-cp314t-manylinux_2_39_riscv64.whl", False),  # free-threaded only
    ("demo-1.2.0-cp312-cp312-manylinux_2_39_x86_64.whl", False),  # not riscv64
    ("demo-1.3.0-cp312-cp312-manylinux_2_39_riscv64.whl", True),  # yanked
    ("demo-1.4.0-cp311-cp311-manylinux_2_39_riscv64.whl", False),  # not a Python of theirs
    ("demo-1.5.0-cp312-cp312-manylinux_2_31_riscv64.whl", False),  # not a platform of theirs
    ("demo-1.6.0.tar.gz", False),
]


def test_which_wheel_counts_as_built() -> None:
    assert built_for(Tag("cp312", "cp312", "manylinux_2_39_riscv64"), PLATFORMS, PYTHONS)
    assert built_for(Tag("cp314", "cp314t", "manylinux_2_35_riscv64"), PLATFORMS, PYTHONS)
    assert not built_for(Tag("cp314", "cp314t", "manylinux_2_35_riscv64"), PLATFORMS, ["3.14"])
    assert built_for(Tag("cp311", "abi3", "manylinux_2_34_riscv64"), PLATFORMS, ["3.12"])
    assert not built_for(Tag("cp311", "abi3", "manylinux_2_34_riscv64"), PLATFORMS, ["3.14t"])
    names = [name for name, yanked in FILES if not yanked]
    assert newest_built(names, PLATFORMS, PYTHONS) == "1.1.0"
    assert newest_built(names, PLATFORMS, ["3.12"]) == "1.0.0"


def simple_json() -> bytes:
    return json.dumps({"meta": {"api-version": "1.1"}, "name": "demo", "versions": [],
                       "files": [{"filename": name, "url": f"/files/{name}", "hashes": {},
                                  "yanked": yanked} for name, yanked in FILES]}).encode()


def simple_html() -> bytes:
    links = "".join(f'<a href="/files/{html.escape(name)}"'
                    + (' data-yanked=""' if yanked else "") + f">{html.escape(name)}</a><br>"
                    for name, yanked in FILES)
    return ('<!DOCTYPE html><html><head><meta name="pypi:repository-version" content="1.0">'
            f"</head><body>{links}</body></html>").encode()


@pytest.mark.parametrize("form", ["json", "html"])
def test_releases_says_what_the_registry_has_built(run_cli, site: Site, form: str) -> None:
    def respond(request: Recorded, index: int):  # type: ignore[no-untyped-def]
        if index == 0:
            return 503, {"Retry-After": "0"}  # the registry overloaded once: retried
        if request.path == "/simple/demo/":
            if form == "json":
                return 200, {"Content-Type": "application/vnd.pypi.simple.v1+json"}, \
                    simple_json()
            return 200, {"Content-Type": "text/html"}, simple_html()
        return 404, {}

    for tag in ("v1.2.0", "v1.3.0rc1", "v1.3.0"):
        site.upstream.commit(f"work for {tag}")
        site.upstream.tag(tag, annotated=True)
    with http_server(respond) as server:
        site.config.write_text(site.config.read_text().replace(
            "defaults:\n", f"defaults:\n  registry_url: {server.url}/simple/\n"
                           "  python_versions: ['3.12', '3.13', '3.14', '3.14t']\n").replace(
            "retries: 0", "retries: 1"))
        assert run_cli(*site.args("sync")).code == 0
        result = run_cli(*site.args("releases", "--format", "json"))
        table = run_cli(*site.args("releases"))
    assert result.code == 0, result.err
    [demo] = json.loads(result.out)["packages"]
    assert demo["built"] == "1.1.0" and demo["registry_error"] is None
    assert demo["due"] == ["1.2.0", "1.3.0"]  # stable releases after the built one
    assert table.out.splitlines()[0].split()[:2] == ["PACKAGE", "BUILT"]
    assert table.out.splitlines()[1].split()[:2] == ["demo", "1.1.0"]
    assert any("application/vnd.pypi.simple.v1+json" in (r.headers.get("Accept") or "")
               for r in server.requests)


def test_an_unreadable_registry_is_unknown_and_exits_1(run_cli, site: Site) -> None:
    with http_server(lambda request, index: (500, {})) as server:
        site.config.write_text(site.config.read_text().replace(
            "defaults:\n", f"defaults:\n  registry_url: {server.url}/simple/\n"))
        assert run_cli(*site.args("sync")).code == 0
        result = run_cli(*site.args("releases", "--format", "json"))
        table = run_cli(*site.args("releases"))
    [demo] = json.loads(result.out)["packages"]
    assert result.code == 1 and demo["built"] is None
    assert "registry" in demo["registry_error"] and "could not be read" in demo["registry_error"]
    assert table.out.splitlines()[1].split()[:2] == ["demo", "unknown"]


def test_a_project_the_registry_does_not_have_is_built_nowhere(run_cli, site: Site) -> None:
    with http_server(lambda request, index: (404, {})) as server:
        site.config.write_text(site.config.read_text().replace(
            "defaults:\n", f"defaults:\n  registry_url: {server.url}/simple/\n"))
        assert run_cli(*site.args("sync")).code == 0
        result = run_cli(*site.args("releases", "--format", "json"))
    [demo] = json.loads(result.out)["packages"]
    assert result.code == 0 and demo["built"] is None and demo["registry_error"] is None


def with_registry(site: Site, url: str) -> None:
    text = re.sub(r"  registry_url: .*\n", "", site.config.read_text())
    site.config.write_text(text.replace("defaults:\n", f"defaults:\n  registry_url: {url}\n"))


def registry_holding(version: str) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/vnd.pypi.simple.v1+json"}, json.dumps({
        "meta": {"api-version": "1.1"}, "name": "demo", "files": [
            {"filename": f"demo-{version}-cp312-cp312-manylinux_2_39_riscv64.whl",
             "url": "/f", "hashes": {}}]}).encode()


def test_the_nightly_carries_the_queue_onto_what_is_due(run_cli, site: Site) -> None:
    from tests.test_patches import STATUS, make_queue

    make_queue(site.upstream, site.root / "patchsets" / "demo" / "1.1.0",
               [(f"BLD: riscv64\n\n{STATUS}", {"riscv.txt": "rv64\n"})])
    site.upstream.git("checkout", "--quiet", "main")
    for tag in ("v1.2.0", "v1.3.0"):
        site.upstream.commit(f"work for {tag}")
        site.upstream.tag(tag, annotated=True)
    pypi = json.dumps({"info": {"name": "demo"}, "releases": {
        v: [{"filename": f"demo-{v}.tar.gz", "yanked": False}] for v in ("1.2.0", "1.3.0")}})

    def serving(built: str):  # type: ignore[no-untyped-def]
        def respond(request: Recorded, index: int):  # type: ignore[no-untyped-def]
            if request.path.startswith("/simple/"):
                return registry_holding(built)
            return 200, {"Content-Type": "application/json"}, pypi.encode()
        return respond

    def night(server_url: str) -> dict:  # type: ignore[type-arg]
        with_registry(site, f"{server_url}/simple/")
        text = re.sub(r"  pypi_url: .*\n", "", site.config.read_text())
        site.config.write_text(text.replace("defaults:\n",
                                            f"defaults:\n  pypi_url: {server_url}\n"))
        return json.loads(run_cli(*site.args("nightly", "--format", "json")).out)

    # The registry has built 1.3.0 already (a person carried it by hand): nothing is due.
    with http_server(serving("1.3.0")) as server:
        data = night(server.url)
    assert data["releases"]["packages"][0]["due"] == [] and data["rebases"] == []
    # Built only up to 1.1.0: 1.2.0 and 1.3.0 are due, the queue goes to the newest.
    with http_server(serving("1.1.0")) as server:
        data = night(server.url)
    assert data["releases"]["packages"][0]["due"] == ["1.2.0", "1.3.0"]
    [rebased] = data["rebases"]
    assert (rebased["to"], rebased["status"]) == ("1.3.0", "clean")


def test_what_is_due_is_on_pypi_and_not_yanked(run_cli, site: Site) -> None:
    for tag in ("v1.2.0", "v1.3.0", "v1.4.0"):
        site.upstream.commit(f"work for {tag}")
        site.upstream.tag(tag, annotated=True)
    pypi = json.dumps({"info": {"name": "demo"}, "releases": {
        "1.2.0": [{"filename": "demo-1.2.0.tar.gz", "yanked": True}],  # yanked
        "1.3.0": [{"filename": "demo-1.3.0.tar.gz", "yanked": False}]}}).encode()
    # (1.4.0 is tagged upstream but not released on PyPI)

    def respond(request: Recorded, index: int):  # type: ignore[no-untyped-def]
        if request.path.startswith("/simple/"):
            return registry_holding("1.1.0")
        return 200, {"Content-Type": "application/json"}, pypi

    with http_server(respond) as server:
        with_registry(site, f"{server.url}/simple/")
        site.config.write_text(site.config.read_text().replace(
            "defaults:\n", f"defaults:\n  pypi_url: {server.url}\n"))
        assert run_cli(*site.args("sync")).code == 0
        plain = json.loads(run_cli(*site.args("releases", "--format", "json")).out)
        checked = json.loads(run_cli(*site.args("releases", "--pypi", "--format", "json")).out)
    assert plain["packages"][0]["due"] == ["1.2.0", "1.3.0", "1.4.0"]
    assert checked["packages"][0]["due"] == ["1.3.0"]
