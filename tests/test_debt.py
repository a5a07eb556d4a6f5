"""Patch debt over time: how long patches live in the queues, how many go upstream, and
how fast; from the queue folders the builders keep and from the history's records."""

from __future__ import annotations

import json
from pathlib import Path

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
