"""Patch debt over time: how long patches live in the queues, how many go upstream, and
how fast; from the queue folders the builders keep and from the history's records."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from mirrorctl.queue.kept import KeptStatuses
from mirrorctl.queue.patches import PatchProblem
from mirrorctl.report.debt import patch_debt
from tests.conftest import Site
from tests.test_patches import make_queue

QUEUES = {
    "numpy": {
        "1.0.0": {"0001-BLD-riscv64.patch": "Pending", "0002-TST-nan.patch": "Pending"},
        "1.1.0": {"0001-BLD-riscv64.patch": "Pending", "0002-TST-nan.patch": "Submitted"},
        "1.10.0": {"0001-BLD-riscv64.patch": "Pending", "0002-TST-nan.patch": "Submitted",
                   "0003-MAINT-new.patch": "To upstream"},
        "1.2.0": {"0001-BLD-riscv64.patch": "Pending", "0002-TST-nan.patch": "Submitted"},
    },
    "scipy": {"2.0": {"0001-BLD.patch": "Inappropriate"}},
}


def record(stamp: str, headers: dict[str, str], accepted: frozenset[str] = frozenset()):  # type: ignore[no-untyped-def]
    return stamp, {"numpy": (headers, accepted)}


def test_ages_and_status_runs_follow_version_order_not_names() -> None:
    history = [
        record("20261101T020000.000000Z", {"0002-TST-nan.patch": "Pending"}),
        record("20261103T020000.000000Z", {"0002-TST-nan.patch": "Submitted [https://x/1]"}),
        record("20261113T020000.000000Z", {"0002-TST-nan.patch": "Submitted [https://x/1]"},
               frozenset({"0002-TST-nan.patch"})),
        record("20261120T020000.000000Z", {"0005-other.patch": "Submitted [https://x/2]"}),
    ]
    debt = patch_debt(QUEUES, history, {"numpy": "1.10.0", "scipy": "2.0"})
    ages = {(a.package, a.patch): a for a in debt.patches}
    bld = ages[("numpy", "0001-BLD-riscv64.patch")]
    # 1.10.0 is newer than 1.2.0 (PEP 440), so the BLD patch rode four releases.
    assert (bld.entered, bld.releases, bld.status_since) == ("1.0.0", 4, "1.0.0")
    nan = ages[("numpy", "0002-TST-nan.patch")]
    assert (nan.status, nan.status_since, nan.releases) == ("Submitted", "1.1.0", 4)
    new = ages[("numpy", "0003-MAINT-new.patch")]
    assert (new.entered, new.releases) == ("1.10.0", 1)
    assert [a.patch for a in debt.oldest_pending] == ["0001-BLD-riscv64.patch",
                                                      "0003-MAINT-new.patch"]
    assert debt.most_carried[0].releases == 4
    # Submitted on the 3rd, taken on the 13th: 10 days; the other was never taken.
    assert debt.upstreamed_days == (("numpy", "TST-nan.patch", 10.0),)
    assert debt.median_days_to_upstream == 10.0


def test_no_history_no_time_to_upstream() -> None:
    debt = patch_debt(QUEUES, [], {"numpy": "1.2.0", "scipy": None})
    assert debt.median_days_to_upstream is None
    assert {a.package for a in debt.patches} == {"numpy"}  # scipy has no current queue


def test_the_report_shows_the_debt(run_cli, site: Site) -> None:
    for version in ("1.0.0", "1.1.0"):
        make_queue(site.upstream, site.root / "patchsets" / "demo" / version, [
            ("BLD: riscv64\n\nUpstream-Status: Pending", {"riscv.txt": "rv64\n"})])
        site.upstream.git("checkout", "--quiet", "main")
    history = site.workdir / "history"
    history.mkdir(parents=True)
    for stamp, header, accepted in (("20261101T020000.000000Z", "Submitted [https://x/1]", []),
                                    ("20261105T020000.000000Z", "Submitted [https://x/1]",
                                     ["0001-gone.patch"])):
        (history / f"{stamp}.json").write_text(json.dumps({
            "format": 1, "stamp": stamp, "summary": "", "by_status": {}, "needs_human": 0,
            "trend": {"pending": 1, "submitted": 1, "accepted": 0},
            "packages": {"demo": {"current": "1.1.0", "level": "easy",
                                  "patches": {"0001-gone.patch": header},
                                  "accepted": accepted, "conflicts": []}}}))
    assert run_cli(*site.args("sync")).code == 0
    data = json.loads(run_cli(*site.args("report", "--format", "json")).out)
    debt = data["debt"]
    [age] = debt["patches"]
    assert (age["patch"], age["entered"], age["releases"]) == (
        "0001-BLD-riscv64.patch", "1.0.0", 2)
    assert debt["median_days_to_upstream"] == 4.0
    markdown = run_cli(*site.args("report")).out
    assert "## Patch debt" in markdown and "median time to upstream: 4 days" in markdown
    page = Path(site.root / "r.html")
    assert run_cli(*site.args("report", "-o", str(page))).code in (0, 1)
    assert 'id="debt"' in page.read_text()



def test_statuses_kept_between_reports_are_read_again_when_a_file_changes(
        tmp_path: Path) -> None:
    """The debt reads every kept folder each morning; a status is kept by the file's
    signature, so an edited patch is read anew (its old time put back too), and a file
    written in the last seconds is not kept at all (its time may not show an edit)."""
    patch = tmp_path / "0001-BLD.patch"
    body = ("From 0 Mon Sep 17 00:00:00 2001\nFrom: A <a@b>\nSubject: [PATCH] BLD\n\n"
            "Upstream-Status: {}\n---\ndiff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n"
            "-a\n+b\n")
    old = time.time() - 60

    def write(status: str, *, aged: bool = True) -> None:
        fresh = tmp_path / "fresh"
        fresh.write_text(body.format(status))
        if aged:
            os.utime(fresh, (old, old))
        os.replace(fresh, patch)  # as editors save

    kept_file = tmp_path / "kept" / "statuses.json"
    for aged in (False, True):  # written just now, or its time put back just now
        write("Pending", aged=aged)
        kept = KeptStatuses(kept_file)
        assert kept.kind(patch) == "Pending"
        kept.save()
        assert not kept_file.exists()  # racily clean: never kept

    class Settled(KeptStatuses):
        _RACY_SECONDS = -3600.0  # every file counts as settled: what is kept is tested

    write("Pending")
    kept = Settled(kept_file)
    assert kept.kind(patch) == "Pending"
    kept.save()
    assert json.loads(kept_file.read_text())["files"][str(patch)][-1] == "Pending"
    write("Backport [https://x/commit/abc1234]")
    assert Settled(kept_file).kind(patch) == "Backport"
    kept_file.write_text(json.dumps({"format": 2, "files": {str(patch): 7}}))
    assert Settled(kept_file).kind(patch) == "Backport"  # an odd entry: read the file
    write("Nonsense")
    with pytest.raises(PatchProblem):
        Settled(kept_file).kind(patch)  # read, and refused: never the kept kind
    kept_file.write_text("{not json")  # a kept file that does not read: all read again
    write("Submitted [https://x/pull/1]")
    assert Settled(kept_file).kind(patch) == "Submitted"


def test_the_debt_keeps_statuses_only_in_a_work_directory_that_exists(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A report merged from CI's artifacts, in a checkout with no work directory, must not
    make one (it would show as untracked in the builders' repository)."""
    monkeypatch.setattr(KeptStatuses, "_RACY_SECONDS", -3600.0)  # written now, kept anyway
    from mirrorctl.core.config import load_config
    from mirrorctl.report.build import queue_debt
    from tests.gitrepos import write_config

    queue = tmp_path / "patchsets" / "demo" / "1.0.0"
    queue.mkdir(parents=True)
    (queue / "0001-BLD.patch").write_text(
        "From 0 Mon Sep 17 00:00:00 2001\nFrom: A <a@b>\nSubject: [PATCH] BLD\n\n"
        "Upstream-Status: Pending\n---\ndiff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n"
        "-a\n+b\n")
    config = load_config(write_config(tmp_path / "mirrors.yaml", {"demo": {
        "upstream": str(tmp_path / "up"), "mirror": False, "version": "1.0.0"}}))
    absent, present = tmp_path / "absent", tmp_path / "present"
    present.mkdir()
    for workdir in (absent, present):
        debt = queue_debt(config, list(config.packages.values()), [], workdir)
        assert debt == queue_debt(config, list(config.packages.values()), [])
    assert not absent.exists()
    assert (present / "kept" / "statuses.json").is_file()
