"""`mirrorctl nightly`: sync, releases, rebases and the report, and what needs a person."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from tests.conftest import Site
from tests.gitrepos import Repo
from tests.test_rebase import numpy_site  # noqa: F401 - the fixture


def nightly(run_cli, site: Site, *args: str):  # type: ignore[no-untyped-def]
    result = run_cli(*site.args("nightly", "--format", "json", *args))
    return result, (json.loads(result.out) if result.out.startswith("{") else None)


def test_a_conflict_needs_a_person(run_cli, numpy_site: Site) -> None:  # noqa: F811
    result, data = nightly(run_cli, numpy_site)
    assert result.code == 1
    assert data["sync"]["packages"][0]["status"] == "updated"
    assert data["releases"]["packages"][0]["new"] == ["1.1.0"]
    [rebased] = data["rebases"]
    assert (rebased["to"], rebased["status"]) == ("1.1.0", "conflict")
    assert data["needs_human"] == ["numpy: 0002-ENH-constants.patch conflicts on v1.1.0"]
    assert data["report"]["summary"]["line"] == "6 patches: 1 submitted, 5 pending"
    history = json.loads(Path(data["history"]).read_text())
    assert history["summary"] == "6 patches: 1 submitted, 5 pending"
    assert history["packages"]["numpy"]["level"] == "hard"


def test_a_clean_night_writes_the_new_queue_and_needs_nobody(run_cli, numpy_site: Site) -> None:  # noqa: F811
    (numpy_site.root / "patchsets" / "numpy" / "1.0.0" / "0002-ENH-constants.patch").unlink()
    result = run_cli(*numpy_site.args("nightly"))
    assert result.code == 0, result.out + result.err
    assert "nothing needs a person" in result.out
    assert (numpy_site.root / "patchsets" / "numpy" / "1.1.0").is_dir()
    # The next night carries from 1.1.0, the queue just written: nothing is due.
    again, data = nightly(run_cli, numpy_site)
    assert again.code == 0 and data["sync"]["packages"][0]["status"] == "unchanged"
    assert data["rebases"] == [] and data["releases"]["packages"][0]["current"] == "1.1.0"
    [numpy] = data["report"]["packages"]
    assert (numpy["current"], numpy["latest"]) == ("1.1.0", "1.1.0")
    # The upgrade the first night carried still stands: its grade, until it is settled.
    assert numpy["upgrade"]["from"] == "1.0.0" and numpy["upgrade"]["to"] == "1.1.0"
    assert (numpy["level"], numpy["reasons"][0]["code"]) == ("hard", "nan-tests-patched")
    assert run_cli(*numpy_site.args("settle", "numpy")).code == 0
    [numpy] = nightly(run_cli, numpy_site)[1]["report"]["packages"]
    assert numpy["reasons"][0]["code"] == "up-to-date" and numpy["upgrade"] is None


def test_the_report_grades_from_the_nightly_rebase_not_a_second_one(
        run_cli, numpy_site: Site, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811

    with caplog.at_level(logging.DEBUG, logger="mirrorctl.core.git"):
        result, data = nightly(run_cli, numpy_site)
    assert result.code == 1 and data["report"]["packages"][0]["level"] == "hard"
    picks = [r for r in caplog.records if r.getMessage().startswith("run: git merge-tree")]
    # Each of the six patches is picked once (one whose header names a request too: the
    # release's tree, and a revert, decide); a second dry run for the report would
    # double this.
    assert len(picks) == 6


def test_each_stage_reports_each_package_in_the_log(run_cli, numpy_site: Site) -> None:  # noqa: F811
    result = run_cli("--config", str(numpy_site.config), "--workdir", str(numpy_site.workdir),
                     "nightly")
    assert result.code == 1
    stages = [line.split("] ", 1)[1] for line in result.err.splitlines() if "] " in line]
    assert stages == ["sync numpy: updated", "rebase numpy: conflict", "grade numpy: hard"]


def test_the_nightly_writes_the_report_it_computed(run_cli, numpy_site: Site,  # noqa: F811
                                                   tmp_path: Path) -> None:
    page, data = tmp_path / "out" / "report.html", tmp_path / "out" / "report.json"
    result = run_cli(*numpy_site.args("nightly", "--format", "json", "-o", str(page),
                                      "-o", str(data)))
    night = json.loads(result.out)  # stdout stays the nightly's own JSON, whole
    written = json.loads(data.read_text())
    assert written["packages"] == night["report"]["packages"]
    assert [t["stamp"] for t in written["trend"]] == [t["stamp"] for t in
                                                      night["report"]["trend"]]
    assert page.read_text().startswith("<!DOCTYPE html>") and "numpy" in page.read_text()


def test_report_last_shows_the_nightlys_own_report_whole(run_cli, numpy_site: Site,  # noqa: F811
                                                         tmp_path: Path) -> None:
    missing = run_cli(*numpy_site.args("report", "--last"))
    assert missing.code == 2 and "no nightly has kept its report" in missing.err
    for _ in range(2):  # two nights: a trend, a since, the patch debt
        result, night = nightly(run_cli, numpy_site)
        assert result.code == 1
    # Upstream moves on after the night: a report computed now would differ, --last not.
    numpy_site.upstream.commit("after the night", {"late.txt": "x\n"})
    numpy_site.upstream.tag("v1.2.0", annotated=True)
    assert run_cli(*numpy_site.args("sync")).code == 0
    last = run_cli(*numpy_site.args("report", "--last", "--format", "json"))
    assert last.code == 1, last.err  # the night's conflict needs a person
    assert json.loads(last.out) == night["report"]  # every field, as the night wrote it
    assert "cannot be read" not in last.err + result.err  # and the history is untouched
    now = json.loads(run_cli(*numpy_site.args("report", "--format", "json")).out)
    assert now["packages"][0]["latest"] == "1.2.0" != night["report"]["packages"][0]["latest"]
    page = tmp_path / "last.html"
    assert run_cli(*numpy_site.args("report", "--last", "-o", str(page))).code == 1
    assert "0002-ENH-constants.patch conflicts on 1.1.0" in page.read_text()
    refused = run_cli(*numpy_site.args("report", "--last", "--record"))
    assert refused.code == 2 and "--last" in refused.err


def test_the_report_leads_with_what_needs_a_person(run_cli, numpy_site: Site,  # noqa: F811
                                                   tmp_path: Path) -> None:
    from tests.gitrepos import write_config

    calm = Repo(tmp_path / "calm")
    calm.commit("release")
    calm.tag("v1.0.0", annotated=True)
    write_config(numpy_site.config, {
        "aardvark": {"upstream": str(tmp_path / "gone"), "mirror": False},  # sync fails
        "calm": {"upstream": str(calm.path), "mirror": False, "version": "1.0.0"},
        "numpy": {"upstream": str(numpy_site.upstream.path),
                  "mirror": str(numpy_site.mirror.path), "version": "1.0.0"}})
    page, data, md = (tmp_path / f"report.{x}" for x in ("html", "json", "md"))
    result = run_cli(*numpy_site.args("nightly", "-o", str(page), "-o", str(data),
                                      "-o", str(md)))
    assert result.code == 1
    actions = {(a["package"], a["kind"]): a["command"]
               for a in json.loads(data.read_text())["actions"]}
    assert actions[("aardvark", "sync-failed")] == "mirrorctl -v sync aardvark"
    assert ("aardvark", "unknown") not in actions  # the sync's failure says why, once
    assert actions[("numpy", "conflict")] == "mirrorctl rebase numpy --worktree ../numpy-rebase"
    states = json.loads(data.read_text())["states"]
    assert (states["hard"], states["unknown"], states["up-to-date"]) == (1, 1, 1)
    text = md.read_text()
    # What needs a person comes before the table, and the table is worst first.
    assert text.index("## Needs a person (") < text.index("| package |")
    assert "`mirrorctl -v sync aardvark`" in text
    assert "hard 1 · unknown 1 · medium 0 · easy 0 · up to date 1" in text
    rows = [line.split("|")[1].strip() for line in text.splitlines()
            if line.startswith("| ") and not line.startswith("| package")]
    assert rows == ["numpy", "aardvark", "calm"]
    # Sync health is a column: the night's failed sync shows where the package is.
    sync = {p["name"]: p["sync"] for p in json.loads(data.read_text())["packages"]}
    assert (sync["numpy"], sync["calm"]) == ("ok", "ok")
    assert sync["aardvark"].startswith("failed: reading upstream refs"), sync["aardvark"]
    [row] = [line for line in text.splitlines() if line.startswith("| aardvark |")]
    assert row.endswith(f"| {sync['aardvark'].split(':')[0]} | - |")  # sync, then road
    html = page.read_text()
    assert html.index('id="needs"') < html.index('id="trend"') < html.index('id="packages"')
    # The counts lead to their rows: each state's first row is an anchor.
    assert '<a href="#state-hard">' in html and '<a href="#state-unknown">' in html
    assert html.index('id="state-hard"') < html.index('id="state-unknown"') < \
        html.index('id="state-up-to-date"')
    assert '<a href="#state-medium">' not in html  # no package is medium: no link
    assert "mirrorctl rebase numpy --worktree ../numpy-rebase" in html


def test_a_dry_run_says_what_the_night_would_do_and_writes_nothing_of_its_own(
        run_cli, numpy_site: Site) -> None:  # noqa: F811
    (numpy_site.root / "patchsets" / "numpy" / "1.0.0" / "0002-ENH-constants.patch").unlink()
    queues = sorted(p.relative_to(numpy_site.root) for p in
                    (numpy_site.root / "patchsets").rglob("*"))
    mirror = numpy_site.mirror.git("for-each-ref")
    result, data = nightly(run_cli, numpy_site, "--dry-run")
    assert result.code == 0, result.err
    assert data["dry_run"] is True and data["history"] is None
    [rebased] = data["rebases"]
    assert (rebased["to"], rebased["status"]) == ("1.1.0", "clean")
    assert sorted(p.relative_to(numpy_site.root) for p in
                  (numpy_site.root / "patchsets").rglob("*")) == queues
    assert numpy_site.mirror.git("for-each-ref") == mirror
    # Only the caches, with what sync records of them (as sync --dry-run does), the
    # statuses read (kept/) and the locks: no carry, no history, no night, no report.
    kept = {p.relative_to(numpy_site.workdir).parts[0] for p in numpy_site.workdir.iterdir()}
    assert kept <= {"cache", "state", "kept", "lock", "readers.lock", ".gitignore"}, kept
    [state] = (numpy_site.workdir / "state").glob("*.json")
    assert set(json.loads(state.read_text())["facts"]) == {"mirror", "upstream"}
    assert run_cli(*numpy_site.args("report", "--last")).code == 2  # no night kept
    refused = run_cli(*numpy_site.args("nightly", "--dry-run", "--push"))
    assert refused.code == 2 and "--dry-run writes nothing" in refused.err
    # The real night after it carries as if the dry run had never been.
    result, data = nightly(run_cli, numpy_site)
    assert result.code == 0 and data["rebases"][0]["status"] == "clean"
    assert (numpy_site.root / "patchsets" / "numpy" / "1.1.0").is_dir()
