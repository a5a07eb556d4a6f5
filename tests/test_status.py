"""`mirrorctl status`: what mirrorctl knows of a package, fact by fact, with who
established each and when; "none" for a fact never recorded, unknown with why, and the
report's own state and needs (the faults are in test_fault_matrix.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cliwords import check_told
from tests.conftest import Site
from tests.test_patches import make_queue

pytestmark = pytest.mark.e2e


def status(run_cli, site: Site, *args: str) -> tuple[int, dict[str, Any]]:  # type: ignore[no-untyped-def]
    result = run_cli(*site.args("status", "demo", *args, "--format", "json"))
    [package] = json.loads(result.out)["packages"]
    return result.code, package


def facts(package: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in package["facts"]}


def test_before_any_sync_nothing_is_known_and_that_is_said(run_cli, site: Site) -> None:
    code, package = status(run_cli, site)
    assert code == 1 and package["state"] == "unknown", package
    found = facts(package)
    assert found["record"]["state"] == "none" and "mirrorctl sync" in found["record"]["text"]
    assert found["upstream"]["state"] == "unknown" and "no cache" in found["upstream"]["text"]
    assert all(found[name]["state"] == "none" for name in ("carry", "upgrade", "road",
                                                           "wheels")), found
    assert [n["command"] for n in package["needs"]] == ["mirrorctl sync demo"]


def test_each_fact_after_a_sync_says_who_established_it_and_when(run_cli, site: Site) -> None:
    assert run_cli(*site.args("sync")).code == 0
    code, package = status(run_cli, site)
    assert code == 0 and package["standing"] == "up-to-date" and package["needs"] == [], package
    found = facts(package)
    upstream = found["upstream"]
    assert (upstream["state"], upstream["by"]) == ("known", "sync") and upstream["at"]
    assert upstream["value"]["tags"] == 2 and "2 tags" in upstream["text"]
    assert found["mirror"]["value"]["riscv64"].keys() == {"riscv64/1.1.0"}
    assert found["queue"]["text"] == "1.1.0: no queue folder, no patch carried"
    assert package["record"].endswith("state/demo.json") and package["written_by"]
    table = run_cli(*site.args("status", "demo"))
    assert table.code == 0
    assert table.out.startswith("demo: up-to-date") and "nothing needs a person" in table.out
    assert "  upstream  the cache holds upstream" in table.out and "[sync, " in table.out


def test_a_carry_its_grade_and_the_note_that_settles_it(run_cli, site: Site) -> None:
    make_queue(site.upstream, site.root / "patchsets" / "demo" / "1.1.0", [
        ("BLD: riscv64\n\nUpstream-Status: Pending", {"src/rv.c": "int rv;\n"})])
    site.upstream.git("checkout", "--quiet", "main")
    site.upstream.commit("release 1.2.0", {"README.md": "1.2.0\n"})
    site.upstream.tag("v1.2.0", annotated=True)
    assert run_cli(*site.args("sync")).code == 0
    assert run_cli(*site.args("rebase", "demo")).code == 0
    code, package = status(run_cli, site)
    found = facts(package)
    assert code == 0 and package["standing"] == "easy", package  # graded; nothing to do
    assert (found["carry"]["by"], found["carry"]["value"]["status"]) == ("rebase", "clean")
    assert found["carry"]["text"].startswith("1.1.0 -> 1.2.0 onto v1.2.0: clean")
    assert found["upgrade"]["text"].endswith("stands until settled")
    assert found["queue"]["text"] == "1.2.0: 1 patch" and package["settled"] is None
    record = (site.workdir / "state" / "demo.json").read_bytes()
    dry = run_cli(*site.args("settle", "demo", "--note", "by hand", "--dry-run"))
    assert dry.code == 0 and dry.out.startswith("demo: settled the upgrade 1.1.0 -> 1.2.0")
    assert "(a dry run: nothing written)" in dry.out
    assert (site.workdir / "state" / "demo.json").read_bytes() == record
    settled = run_cli(*site.args("settle", "demo", "--note", "built by hand on a VF2"))
    assert settled.code == 0, settled.out
    code, package = status(run_cli, site)
    assert code == 0 and package["standing"] == "up-to-date", package
    assert "a person said so: built by hand on a VF2 (by settle, " in package["settled"]
    assert "settled: a person said so: built by hand" in facts(package)["upgrade"]["text"]
    table = run_cli(*site.args("status", "demo")).out
    assert "  settled: a person said so: built by hand on a VF2" in table


def test_status_and_report_agree_on_the_state_and_the_needs(run_cli, site: Site) -> None:
    queue = make_queue(site.upstream, site.root / "patchsets" / "demo" / "1.1.0", [
        ("BLD: riscv64\n\nUpstream-Status: Pending", {"README.md": "riscv64\n"})])
    site.upstream.git("checkout", "--quiet", "main")
    site.upstream.commit("release 1.2.0", {"README.md": "reworked\n"})
    site.upstream.tag("v1.2.0", annotated=True)
    assert run_cli(*site.args("sync")).code == 0 and queue.is_dir()
    report = json.loads(run_cli(*site.args("report", "--format", "json")).out)
    code, package = status(run_cli, site)
    [row] = report["packages"]
    assert code == 1 and (package["state"], package["level"]) == (row["state"], row["level"]) \
        == ("graded", "hard") and package["standing"] == "hard"
    assert [(n["kind"], n["command"]) for n in package["needs"]] == [
        (a["kind"], a["command"]) for a in report["actions"]] == [
        ("conflict", "mirrorctl rebase demo --worktree ../demo-rebase")]
    check_told(run_cli(*site.args("status", "demo")).out, "status")


def test_a_package_not_in_the_inventory_is_bad_usage(run_cli, site: Site) -> None:
    result = run_cli(*site.args("status", "nosuch"))
    assert result.code == 2 and "nosuch" in result.err, result.err


def test_a_record_kept_aside_is_named(run_cli, site: Site) -> None:
    assert run_cli(*site.args("sync")).code == 0
    record: Path = site.workdir / "state" / "demo.json"
    record.write_text("{")
    assert run_cli(*site.args("sync")).code == 0  # keeps the bytes beside, starts afresh
    code, package = status(run_cli, site)
    [kept] = package["kept_aside"]
    assert code == 1 and Path(kept).read_text() == "{"
    assert facts(package)["record"]["state"] == "unknown" and kept in facts(package)[
        "record"]["text"]
    assert [n["kind"] for n in package["needs"]] == ["record-lost"]
