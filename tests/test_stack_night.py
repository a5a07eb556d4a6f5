"""The stacks in the night and the morning: `defaults.stacks` and the top of a download
ranking resolved by the nightly, kept, shown first by the report (coverage for each
Python, blockers marked), a blocker the inventory lacks proposed as an entry; from a
loopback index, with a real package site."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from testbed.fakeindex import FakeIndex, fake_index
from tests.conftest import Site

X86 = "manylinux_2_17_x86_64"


@pytest.fixture
def index() -> Iterator[FakeIndex]:
    """app needs fastlib (an sdist alone, not in the inventory), demo (the site's own
    package, an sdist alone) and purelib (pure Python)."""
    with fake_index() as found:
        found.add("app", "1.0", "fastlib>=1", "demo", "purelib",
                  files=("app-1.0-py3-none-any.whl",))
        found.add("fastlib", "1.2", files=("fastlib-1.2.tar.gz",), build_requires=[])
        found.add("demo", "1.1.0", files=("demo-1.1.0.tar.gz",), build_requires=[])
        found.add("purelib", "3.0", files=("purelib-3.0-py3-none-any.whl",))
        # What building demo needs: its tag in the cache has a setup.py alone.
        found.add("setuptools", "75.0", files=("setuptools-75.0-py3-none-any.whl",))
        found.add("wheel", "0.45.0", files=("wheel-0.45.0-py3-none-any.whl",))
        found.add("binlib", "2.0", "purelib", files=(f"binlib-2.0-cp312-cp312-{X86}.whl",
                                                     "binlib-2.0.tar.gz"), build_requires=[])
        found.project_urls["fastlib"] = {"Homepage": "https://fastlib.example.org",
                                         "Source Code": "https://github.com/org/fastlib/"}
        found.documents["/top.json"] = {"last_update": "2026-12-01", "rows": [
            {"project": "purelib", "download_count": 9},
            {"project": "fastlib", "download_count": 8},
            {"project": "binlib", "download_count": 7},
            {"project": "app", "download_count": 6}]}
        yield found


def configure(site: Site, index: FakeIndex, **defaults: Any) -> None:
    data = yaml.safe_load(site.config.read_text())
    data.setdefault("defaults", {}).update({"pypi_url": index.url, "retries": 0,
                                            "python_versions": ["3.12", "3.13"], **defaults})
    site.config.write_text(yaml.safe_dump(data))


def test_the_nightly_resolves_the_stacks_and_the_report_opens_with_them(
        run_cli, site: Site, index: FakeIndex) -> None:
    configure(site, index, stacks=["app"])
    result = run_cli(*site.args("nightly", "--format", "json"))
    assert result.code == 1, result.err  # a blocker the inventory lacks needs a person
    data = json.loads(result.out)
    stacks = data["report"]["stacks"]
    assert [(r["root"], r["python"], r["coverage"], r["blocked_by"])
            for r in stacks["stacks"]] == [("app", "3.12", "2/4", ["demo", "fastlib"]),
                                           ("app", "3.13", "2/4", ["demo", "fastlib"])]
    blockers = {b["name"]: b for b in stacks["blockers"]}
    assert blockers["demo"]["in_inventory"] and blockers["demo"]["proposed"] is None
    fastlib = blockers["fastlib"]
    assert not fastlib["in_inventory"] and fastlib["pythons"] == ["3.12", "3.13"]
    # Its upstream from its metadata (the source, not the home page), the release the
    # stack needs; no tag format without --probe, and said so.
    assert fastlib["proposed"]["upstream"] == "https://github.com/org/fastlib"
    assert fastlib["proposed"]["version"] == "1.2" and fastlib["proposed"]["tag_format"] is None
    assert "fastlib: fastlib blocks app on riscv64 (Python 3.12, 3.13) and is not in the " \
           "inventory; its source: https://github.com/org/fastlib" in data["needs_human"]
    assert not any("demo blocks" in n for n in data["needs_human"])  # it is being built
    kept = json.loads((site.workdir / "stacks.json").read_text())
    assert kept["stacks"][0]["coverage"] == "2/4"

    # The morning's report reads what the night kept, and asks nothing.
    asked = len(index.requests)
    report = run_cli(*site.args("report", "--format", "md"))
    assert len(index.requests) == asked
    text = report.out
    assert text.index("## Stacks") < text.index("## Needs a person")
    assert "| stack | 3.12 | 3.13 | blocked by |" in text
    assert "| app | 2/4 | 2/4 | demo, fastlib |" in text
    assert "- **fastlib**: 1 root (app), 1 package needs it; not in the inventory, " \
           "proposed with upstream https://github.com/org/fastlib" in text
    assert "`mirrorctl stack --propose --probe`" in text and report.code == 1
    page = site.root / "report.html"
    assert run_cli(*site.args("report", "-o", str(page))).code == 1
    html = page.read_text()
    assert 'id="stack-coverage"' in html
    assert '<span class="blocker unlisted">fastlib</span>' in html
    assert '<span class="blocker">demo</span>' in html and 'style="width: 50%"' in html
    last = json.loads(run_cli(*site.args("report", "--last", "--format", "json")).out)
    assert last["stacks"] == stacks  # the night's own, whole


def test_a_stacks_record_that_does_not_read_is_unknown_never_good_news(
        run_cli, site: Site, index: FakeIndex) -> None:
    configure(site, index, stacks=["purelib"])
    assert run_cli(*site.args("nightly")).code == 0  # a pure stack: nothing blocks it
    assert "| purelib | 1/1 | 1/1 | nothing |" in run_cli(*site.args("report")).out
    (site.workdir / "stacks.json").write_text('{"format": 1, "stacks": [')
    report = run_cli(*site.args("report", "--format", "json"))
    data = json.loads(report.out)
    assert report.code == 1 and data["stacks"]["stacks"] == []
    [action] = [a for a in data["actions"] if a["kind"] == "stack-unknown"]
    assert "stacks.json does not read" in action["detail"]
    assert action["command"] == "mirrorctl stack"


def test_an_index_that_does_not_answer_leaves_the_stack_unknown(
        run_cli, site: Site, index: FakeIndex) -> None:
    index.broken.add("purelib")
    configure(site, index, stacks=["app"])
    result = run_cli(*site.args("nightly", "--format", "json"))
    data = json.loads(result.out)
    assert result.code == 1
    rows = data["report"]["stacks"]["stacks"]
    assert rows[0]["coverage"] == "1/4?" and rows[0]["not_known"] == 1
    assert any(n.startswith("app on Python 3.12: purelib: the index ") and "answered 500" in n
               for n in data["needs_human"])


def test_the_top_of_the_ranking_joins_the_stacks(run_cli, site: Site, index: FakeIndex) -> None:
    """As the builders' monthly check: the most downloaded projects that ship a platform
    wheel (purelib is pure, fastlib ships none), the named stacks first."""
    configure(site, index, stacks=["app"],
              top_packages={"count": 1, "url": f"{index.url}/top.json"})
    result = run_cli(*site.args("stack", "--format", "json"))
    data = json.loads(result.out)
    assert [s["root"] for s in data["stacks"]] == ["app", "app", "binlib", "binlib"]
    assert data["unknown"] == []
    configure(site, index, stacks=[], top_packages={"count": 2, "binary": False,
                                                    "url": f"{index.url}/top.json"})
    data = json.loads(run_cli(*site.args("stack", "--format", "json")).out)
    assert [s["root"] for s in data["stacks"]][::2] == ["purelib", "fastlib"]
    # A ranking that does not read leaves its roots out, and says so: exit 1.
    index.documents["/top.json"] = None
    configure(site, index, stacks=["purelib"], top_packages={
        "count": 2, "url": f"{index.url}/top.json"})
    for kept in (site.workdir / "index").glob("*.json"):
        kept.unlink()  # the ranking read before is kept: it is read again, and fails
    failed = run_cli(*site.args("stack", "--format", "json"))
    data = json.loads(failed.out)
    assert failed.code == 1 and [s["root"] for s in data["stacks"]] == ["purelib", "purelib"]
    assert "the top-packages ranking" in data["unknown"][0] and "answered 500" in data["unknown"][0]
    bad = yaml.safe_load(site.config.read_text())
    bad["defaults"]["top_packages"] = {"count": 0}
    site.config.write_text(yaml.safe_dump(bad))
    invalid = run_cli(*site.args("validate"))
    assert invalid.code == 2 and "top_packages" in invalid.err + invalid.out


def test_propose_gives_each_missing_blocker_its_entry(run_cli, site: Site,
                                                      index: FakeIndex) -> None:
    configure(site, index)
    bad = run_cli(*site.args("stack", "app", "--probe"))
    assert bad.code == 2 and "give --propose" in bad.err
    result = run_cli(*site.args("stack", "app", "--python", "3.12", "--propose"))
    assert result.code == 1
    yaml_text = result.out[result.out.index("packages:"):]
    entry = yaml.safe_load(yaml_text)["packages"]["fastlib"]
    assert entry["upstream"] == "https://github.com/org/fastlib" and entry["version"] == "1.2"
    assert "tag_format" not in entry and "--probe reads it" in entry["note"]
    data = json.loads(run_cli(*site.args("stack", "app", "--python", "3.12", "--propose",
                                         "--format", "json")).out)
    assert [p["name"] for p in data["proposed"]] == ["fastlib"]  # demo is in the inventory


def test_a_probe_reads_the_tag_format_off_upstreams_tags(index: FakeIndex,
                                                         tmp_path: Path) -> None:
    from mirrorctl.core.errors import MirrorctlError
    from mirrorctl.grade.index import PackageIndex
    from mirrorctl.grade.stackentries import entries_yaml, propose

    client = PackageIndex(index.url, retries=0)
    tags = ["refs/tags/release-1.1", "refs/tags/release-1.2", "refs/tags/release-1.2^{}"]
    [found] = propose([("fastlib", "1.2")], client, probe=lambda url: tags)
    assert (found.upstream, found.tag_format) == ("https://github.com/org/fastlib",
                                                  "release-{version}")
    assert "release-1.2" in found.evidence
    [none] = propose([("fastlib", "1.3")], client, probe=lambda url: tags)
    assert none.tag_format is None and "as version 1.3" in none.evidence

    def unreachable(url: str) -> list[str]:
        raise MirrorctlError("git ls-remote failed")

    [failed] = propose([("fastlib", "1.2")], client, probe=unreachable)
    assert failed.tag_format is None and "could not be read" in failed.evidence
    [nowhere] = propose([("purelib", "3.0")], client)
    assert nowhere.upstream is None and "names no source repository" in nowhere.evidence
    text = entries_yaml([found, nowhere])
    assert yaml.safe_load(text)["packages"]["fastlib"]["tag_format"] == "release-{version}"
    assert "upstream" not in yaml.safe_load(text)["packages"]["purelib"]


def test_a_mirrored_blockers_build_requirements_come_from_its_upstream_cache(
        run_cli, site: Site, index: FakeIndex) -> None:
    """demo is in the inventory: what building 1.2.0 needs is read from the tag in its
    cache (the tree the builders build), not from an sdist downloaded for it."""
    site.upstream.commit("build with meson", {"pyproject.toml": (
        '[build-system]\nrequires = ["meson-python>=0.16", "cython>=3"]\n'
        'build-backend = "mesonpy"\n')})
    site.upstream.tag("v1.2.0", annotated=True)
    index.add("demo", "1.2.0", files=("demo-1.2.0.tar.gz",), build_requires=["setuptools"])
    index.add("meson-python", "0.17.0", files=("meson_python-0.17.0-py3-none-any.whl",))
    index.add("cython", "3.0.11", files=("cython-3.0.11.tar.gz",), build_requires=[])
    configure(site, index)
    assert run_cli(*site.args("sync")).code == 0
    result = run_cli(*site.args("stack", "demo", "--python", "3.12", "--format", "json"))
    [stack] = json.loads(result.out)["stacks"]
    [demo] = stack["packages"]
    assert demo["build_requires"] == ["meson-python>=0.16", "cython>=3"]
    assert "/files/demo-1.2.0.tar.gz" not in index.requests
    assert stack["build_only"] == ["cython"] and stack["order"] == ["cython", "demo"]
    # A release whose tag the cache lacks is read from its sdist, as before.
    index.add("demo", "1.3.0", files=("demo-1.3.0.tar.gz",), build_requires=["setuptools"])
    for kept in (site.workdir / "index").glob("*.json"):
        kept.unlink()  # the project's list is kept for its max-age: read it again
    [stack] = json.loads(run_cli(*site.args("stack", "demo", "--python", "3.12",
                                            "--format", "json")).out)["stacks"]
    assert stack["packages"][0]["build_requires"] == ["setuptools"]
    assert "/files/demo-1.3.0.tar.gz" in index.requests


def test_a_blockers_notice_closes_only_once_the_stacks_are_known_whole() -> None:
    """What the stacks say of a package the inventory lacks is established by a night
    that resolved every stack whole; never by one with something unknown, nor by a
    night of some packages."""
    from mirrorctl.night.notices import ALL, notice_scope
    from mirrorctl.report.report import Report
    from mirrorctl.report.stacks import BlockerRow, StackRow, Stacks

    row = StackRow(root="app", python="3.12", packages=4, wheels=2, not_known=0,
                   blocked_by=("fastlib",))
    stacks = Stacks(stamp="20261207T000000Z", rows=(row,), blockers=(BlockerRow(
        name="fastlib", roots=("app",), pythons=("3.12",), packages=1, in_inventory=False),))
    whole = notice_scope(Report(packages=(), stacks=stacks), every_package=True)
    assert whole("fastlib", "stack-blocker-unlisted") and whole(ALL, "stack-unknown")
    assert whole("gone", "stack-blocker-unlisted")  # no longer a blocker: its need is gone
    assert not whole("fastlib", "conflict")  # nothing else is known of it
    unknown = Stacks(stamp=stacks.stamp, rows=(StackRow(
        root="app", python="3.12", packages=4, wheels=2, not_known=1),), blockers=())
    partial = notice_scope(Report(packages=(), stacks=unknown), every_package=True)
    assert not partial("fastlib", "stack-blocker-unlisted")
    some = notice_scope(Report(packages=(), stacks=stacks), every_package=False)
    assert not some("fastlib", "stack-blocker-unlisted")
    assert not notice_scope(Report(packages=()), every_package=True)(
        "fastlib", "stack-blocker-unlisted")
