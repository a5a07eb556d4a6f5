"""`mirrorctl report`: versions, grades and where every patch stands."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from mirrorctl.queue.engine import Outcome
from mirrorctl.report.history import Record, RecordedPackage, TrendPoint, read_history
from mirrorctl.report.report import Change, PackageReport, PatchRow, assemble, summary_line
from tests.conftest import Site
from tests.test_rebase import numpy_site  # noqa: F401 - the fixture


def test_summary_line_in_the_manner_of_yocto() -> None:
    counts = Counter({"Submitted": 12, "Pending": 9, "Inappropriate": 10, "Backport": 6})
    assert summary_line(counts) == ("37 patches: 12 submitted, 9 pending, 10 inappropriate, "
                                    "6 backports")
    assert summary_line(Counter({"Issue": 1})) == "1 patch: 1 reported as issues"
    assert summary_line(Counter()) == "0 patches"


def test_report_over_all_packages(run_cli, numpy_site: Site, tmp_path: Path) -> None:  # noqa: F811
    assert run_cli(*numpy_site.args("sync")).code == 0
    result = run_cli(*numpy_site.args("report", "--format", "json"))
    assert result.code == 1, result.err  # a patch conflicts: a person is needed
    data = json.loads(result.out)
    assert data["summary"] == {"patches": 6, "by_status": {"Pending": 5, "Submitted": 1},
                               "line": "6 patches: 1 submitted, 5 pending"}
    [numpy] = data["packages"]
    assert (numpy["current"], numpy["latest"], numpy["level"]) == ("1.0.0", "1.1.0", "hard")
    assert numpy["reasons"][0]["code"] == "patch-conflict"
    queue = "patchsets/numpy/1.0.0"  # beside mirrors.yaml: no repository page is known
    assert {"patch": "0001-TST-skip-nan.patch", "status": "Submitted", "outcome": "upstreamed",
            "argument": "https://github.com/numpy/numpy/pull/25280", "left": False,
            "url": f"{queue}/0001-TST-skip-nan.patch"} in numpy["patches"]
    assert numpy["links"]["queue"] == queue
    assert data["conflicts"] == [{"package": "numpy", "patch": "0002-ENH-constants.patch",
                                  "detail": "conflicts on 1.1.0"}]
    # No nightly has run: nothing to compare with, and the trend is this report alone.
    assert (data["since"], data["accepted"], data["dropped"]) == (None, [], [])
    [now] = data["trend"]
    assert (now["pending"], now["submitted"], now["accepted"]) == (4, 0, 2)
    markdown = run_cli(*numpy_site.args("report", "-o", str(tmp_path / "r.md")))
    assert markdown.code == 1 and markdown.out.strip() == f"wrote {tmp_path / 'r.md'}"
    text = (tmp_path / "r.md").read_text()
    assert text.startswith("# riscv64 upstreaming report\n\nNo nightly has run yet: this "
                           "report is computed from the caches.\n\n6 patches: 1 submitted, "
                           "5 pending")
    assert ("| numpy | 1.0.0 | none | 1.1.0 | hard | patch-conflict: 0002-ENH-constants.patch |"
            in text)  # the mirror holds no riscv64 branch yet
    assert (f"- [`0001-TST-skip-nan.patch`]({queue}/0001-TST-skip-nan.patch): Submitted "
            "[https://github.com/numpy/numpy/pull/25280]"
            "(https://github.com/numpy/numpy/pull/25280) (upstreamed on 1.1.0)") in text
    assert ("## Conflicts waiting for a person\n\n"
            "- numpy: `0002-ENH-constants.patch` conflicts on 1.1.0\n") in text


def test_a_package_without_a_cache_is_reported_not_fatal(run_cli, numpy_site: Site) -> None:  # noqa: F811
    result = run_cli(*numpy_site.args("report"))
    assert result.code == 1  # unknown: the report is written, and a person should look
    assert "run `mirrorctl sync numpy` first" in result.out


def a_night_then_changes(run_cli, site: Site) -> Path:  # type: ignore[no-untyped-def]
    """A nightly (its history record returned); then upstream takes the flags patch
    (refresh --write made it a Backport) and a maintainer drops the notes patch."""
    night = run_cli(*site.args("nightly", "--format", "json"))
    assert night.code == 1  # the conflict
    queue = site.root / "patchsets" / "numpy" / "1.0.0"
    flags = queue / "0001-BLD-riscv64-flags.patch"
    flags.write_text(flags.read_text().replace(
        "Upstream-Status: Pending",
        "Upstream-Status: Backport [https://github.com/numpy/numpy/pull/26000]"))
    (queue / "0003-DOC-notes.patch").unlink()
    return Path(json.loads(night.out)["history"])


def test_accepted_and_dropped_since_the_last_nightly(run_cli, numpy_site: Site) -> None:  # noqa: F811
    record = a_night_then_changes(run_cli, numpy_site)
    result = run_cli(*numpy_site.args("report", "--format", "json"))
    assert result.code == 1, result.err  # the conflict still waits for a person
    data = json.loads(result.out)
    assert data["since"] == record.stem
    # The readme and NaN patches were already upstreamed at the nightly: not news again.
    assert data["accepted"] == [{
        "package": "numpy", "patch": "0001-BLD-riscv64-flags.patch",
        "detail": "now Backport [https://github.com/numpy/numpy/pull/26000]"}]
    assert data["dropped"] == [{"package": "numpy", "patch": "0003-DOC-notes.patch",
                                "detail": "was Pending"}]
    before, now = data["trend"]
    assert before["stamp"] == record.stem
    assert [(p["pending"], p["submitted"], p["accepted"]) for p in (before, now)] == [
        (4, 0, 2), (2, 0, 3)]


def _patch(name: str, status: str = "Pending", outcome: Outcome | None = None) -> PatchRow:
    return PatchRow(name=name, status=status, outcome=outcome)


def test_a_renumbered_queue_is_not_a_dropped_one() -> None:
    """A rebase renumbers the patches after one upstream took; matched by their names."""
    history = (Record(stamp="20261101T000000.000000Z", trend=TrendPoint("x", 2, 1, 0), packages={
        "numpy": RecordedPackage(current="1.0.0", accepted=frozenset({"0001-TST-nan.patch"}),
                                 patches={"0001-TST-nan.patch": "Submitted [https://x/1]",
                                          "0002-BLD-flags.patch": "Pending",
                                          "0003-DOC-notes.patch": "Pending"})}),)
    now = PackageReport(name="numpy", current="1.1.0", latest="1.1.0", grade=None, patches=(
        _patch("0001-BLD-flags.patch"), _patch("0002-DOC-notes.patch", outcome="upstreamed")))
    report = assemble([now], history, stamp="20261102T000000.000000Z")
    assert report.dropped == ()
    assert report.accepted == (Change("numpy", "0002-DOC-notes.patch",
                                      "upstream 1.1.0 has it"),)
    assert [(t.pending, t.submitted, t.accepted) for t in report.trend] == [(2, 1, 0), (1, 0, 1)]


def test_an_unreadable_history_record_is_skipped_not_fatal(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    history = tmp_path / "history"
    history.mkdir()
    (history / "20261101T000000.000000Z.json").write_text('{"stamp": "20261101T000000.000000Z",'
                                                          ' "packages": {}}\n')
    (history / "20261102T000000.000000Z.json").write_text('{"stamp": 3')
    (history / "20261103T000000.000000Z.json").write_bytes(b"\xff\xfe")
    records = read_history(tmp_path)
    assert [r.stamp for r in records] == ["20261101T000000.000000Z"]
    assert [r.trend for r in records] == [TrendPoint("20261101T000000.000000Z", 0, 0, 0)]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 2 and all("cannot be read" in w for w in warnings)


def test_every_row_links_to_what_it_names(tmp_path: Path) -> None:
    from mirrorctl.core.config import config_from_text
    from mirrorctl.report.build import package_links

    text = """defaults:
  patchsets: patches
  pull_requests: {repository: https://github.com/rise/python-wheels}
packages:
  numpy:
    upstream: https://github.com/numpy/numpy.git
    mirror: git@gitlab.example.org:riscv/numpy.git
    version: 2.3.0
  torch:
    upstream: https://example.org/torch.git
    mirror: false
    version: 2.9.0
"""
    (tmp_path / "patches" / "numpy" / "2.3.0").mkdir(parents=True)
    config = config_from_text(text, tmp_path / "mirrors.yaml")
    numpy = dict(package_links(config, config.packages["numpy"], "2.3.0", "2.4.0",
                               mirrored="2.3.0"))
    assert numpy == {
        "queue": "https://github.com/rise/python-wheels/tree/main/patches/numpy/2.3.0",
        "upgrade": "https://github.com/rise/python-wheels/pulls?q=is%3Apr%20head%3A"
                   "mirrorctl/upgrade-numpy-2.4.0",
        "mirror": "https://gitlab.example.org/riscv/numpy/-/tree/riscv64/2.3.0",
        "upstream": "https://github.com/numpy/numpy/tree/v2.4.0"}
    # The nightly that delivered the request knows it; an up-to-date package has none;
    # an upstream on an unknown forge gets no link rather than a guessed one.
    delivered = dict(package_links(config, config.packages["numpy"], "2.3.0", "2.4.0",
                                   pull_request="https://github.com/rise/python-wheels/pull/9"))
    assert delivered["upgrade"] == "https://github.com/rise/python-wheels/pull/9"
    torch = dict(package_links(config, config.packages["torch"], "2.9.0", "2.9.0"))
    assert torch == {"queue": "https://github.com/rise/python-wheels/tree/main/patches/torch/"
                              "2.9.0"}
