"""The HTML report: one self-contained page, escaped, drawn by a real headless Chromium."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mirrorctl.core.grades import Grade, Reason
from mirrorctl.report.history import TrendPoint
from mirrorctl.report.page import SEARCH_SCRIPT, render_html, trend_chart
from mirrorctl.report.report import PackageReport, PatchRow, Report
from tests.conftest import Site
from tests.test_rebase import numpy_site  # noqa: F401 - the fixture
from tests.test_report import a_night_then_changes

# The chart's series colours (htmlreport._SERIES) and the "hard" badge.
PENDING, SUBMITTED, ACCEPTED, HARD = (0xC7, 0x7C, 0x02), (0x1F, 0x6F, 0xB4), (0x2A, 0x9D, 0x3C), \
    (0xC0, 0x39, 0x2B)


def two_nights_report(run_cli, site: Site, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """A report with a trend of two points: a nightly, then a Backport and a dropped patch."""
    a_night_then_changes(run_cli, site)
    page = tmp_path / "report.html"
    result = run_cli(*site.args("report", "--format", "html", "-o", str(page)))
    assert result.code == 1, result.err  # written whole; the conflict needs a person
    return page


def test_the_page_is_self_contained(run_cli, numpy_site: Site, tmp_path: Path) -> None:  # noqa: F811
    text = two_nights_report(run_cli, numpy_site, tmp_path).read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert "default-src 'none'" in text  # the browser itself refuses to load anything
    for loads in ("<link", "src=", "url(", "@import", "@font-face"):
        assert loads not in text
    # One script, inline (the search); the CSP lets it alone run, by its hash.
    assert text.count("<script") == 1 and "<script>" + SEARCH_SCRIPT + "</script>" in text
    digest = base64.b64encode(hashlib.sha256(SEARCH_SCRIPT.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'\">" in text
    assert '<p class="summary" id="summary">5 patches: 1 submitted, 3 pending, 1 backports</p>' \
        in text
    assert len(re.findall(r"<polyline class=\"series-", text)) == 3
    assert ('<a href="https://github.com/numpy/numpy/pull/26000">'
            'https://github.com/numpy/numpy/pull/26000</a>') in text
    assert re.search(r'<ul class="changes" id="dropped"><li>numpy: <code>0003-DOC-notes.patch'
                     r"</code>: was Pending</li></ul>", text)
    assert re.search(r'<ul class="changes" id="conflicts"><li>numpy: <code>'
                     r"0002-ENH-constants.patch</code> conflicts on 1.1.0</li></ul>", text)


def test_links_a_merged_result_brings_lead_nowhere_else() -> None:
    def row(name: str, queue: str) -> PackageReport:
        return PackageReport(name=name, current="1.0", latest="1.0", grade=None,
                             patches=(PatchRow(name="0001-x.patch", status="Pending"),),
                             links=(("queue", queue),))

    text = render_html(Report(packages=(
        row("a", "javascript:alert(1)"), row("b", "//evil.example/x"),
        row("c", "\\\\evil.example\\x"), row("d", "/etc/passwd"),
        row("e", "patches/e/1.0"), row("f", "https://github.com/o/r/tree/main/patches/f/1.0"))))
    hrefs = re.findall(r'href="([^"#][^"]*)"', text)
    assert hrefs == ["patches/e/1.0", "https://github.com/o/r/tree/main/patches/f/1.0",
                     "patches/e/1.0/0001-x.patch",
                     "https://github.com/o/r/tree/main/patches/f/1.0/0001-x.patch"]


def test_what_patches_and_forges_say_is_escaped_and_only_http_links() -> None:
    report = Report(packages=(PackageReport(
        name="evil", current="1.0", latest="1.1",
        grade=Grade(level="hard", reasons=(Reason("x", "<b>bold</b>"),)),
        patches=(PatchRow(name="<img src=x onerror=alert(1)>.patch", status="Submitted",
                          argument="javascript:alert(1)"),
                 PatchRow(name="ok.patch", status="Submitted",
                          argument='https://e.invalid/"><script>alert(1)</script>'))),),
        trend=(TrendPoint("20261123T000000.000000Z", 0, 2, 0),))
    text = render_html(report)
    assert "<img" not in text and "<b>" not in text
    assert text.count("<script") == 1 and "<script>alert" not in text  # the search's own
    assert 'href="javascript:' not in text and "[javascript:alert(1)]" in text
    assert ('<a href="https://e.invalid/&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;">'
            in text)


def test_the_chart_scales_to_the_largest_count() -> None:
    points = [TrendPoint(f"2026110{i}T000000.000000Z", 10 - i, i, 2 * i) for i in range(1, 8)]
    chart = trend_chart(points)
    assert [value for _, value in chart.y_ticks] == [0, 5, 10, 15]
    pending = chart.series[0]
    first, last = pending.dots[0], pending.dots[-1]
    assert (first[0], last[0]) == (chart.left, chart.right)  # runs span the whole width
    assert first[1] < last[1]  # pending went down: its line falls (SVG y grows downwards)
    assert [text for _, _, text in chart.x_labels] == ["2026-11-01", "2026-11-07"]


def test_the_trend_is_drawn_against_time() -> None:
    # Nights on the 1st, 2nd and 21st: the third point is far to the right, not evenly.
    points = [TrendPoint(f"202611{day}T020000.000000Z", 5, 1, 1) for day in ("01", "02", "21")]
    dots = trend_chart(points).series[0].dots
    gaps = [dots[1][0] - dots[0][0], dots[2][0] - dots[1][0]]
    assert dots[0][0] == trend_chart(points).left and dots[2][0] == trend_chart(points).right
    assert round(gaps[1] / gaps[0]) == 19  # 19 days against 1
    # A stamp that is no time: evenly spaced, as before.
    odd = [TrendPoint("a", 1, 0, 0), TrendPoint("b", 2, 0, 0), TrendPoint("c", 3, 0, 0)]
    xs = [x for x, _, _ in trend_chart(odd).series[0].dots]
    assert xs[1] - xs[0] == xs[2] - xs[1]


def _chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and os.environ.get("TESTS_REQUIRE_BROWSER"):
        pytest.fail("chromium is not installed (.ci/run installs it with apt-get)")
    return found


@pytest.mark.e2e
def test_chromium_draws_the_page(run_cli, numpy_site: Site, tmp_path: Path) -> None:  # noqa: F811
    chromium = _chromium()
    if chromium is None:
        pytest.skip("no chromium here; .ci/run installs Debian's")
    from PIL import Image

    page = two_nights_report(run_cli, numpy_site, tmp_path)
    shot = tmp_path / "report.png"
    flags = [chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
             "--disable-dev-shm-usage", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run",
             "--host-resolver-rules=MAP * ~NOTFOUND",  # loopback only, whatever happens
             f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1000,1300"]
    env = {**os.environ, "HOME": str(tmp_path)}
    dom = subprocess.run([*flags, "--dump-dom", page.as_uri()], env=env, capture_output=True,
                         text=True, timeout=120, check=True).stdout
    # The browser parsed the chart and the tables as written.
    assert len(re.findall(r"<polyline ", dom)) == 3 and 'id="trend"' in dom
    assert "5 patches: 1 submitted, 3 pending, 1 backports" in dom
    subprocess.run([*flags, f"--screenshot={shot}", page.as_uri()], env=env,
                   capture_output=True, timeout=120, check=True)
    image = Image.open(shot).convert("RGB")
    assert image.size == (1000, 1300)
    colours = {colour: count for count, colour in image.getcolors(maxcolors=1 << 20) or []}
    # Each trend line is drawn (3 px wide over a few hundred px), and the grade badge.
    for colour in (PENDING, SUBMITTED, ACCEPTED, HARD):
        assert colours.get(colour, 0) > 300, (colour, colours.get(colour, 0))
    kept = Path(os.environ.get("TESTS_SCREENSHOT_DIR", tmp_path))
    if kept != tmp_path:  # for a person to look at
        kept.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, kept / "report.png")


def thousand_packages_report() -> Report:
    """1,000 packages as a night of the builders' scale would report them: a few need
    a person (conflicts, an unknown one), most are up to date or easy."""
    packages = []
    for n in range(1000):
        conflict = n % 250 == 7
        level = "hard" if conflict else ("medium" if n % 10 == 0 else "easy")
        code = "patch-conflict" if conflict else ("patch-merged" if level == "medium"
                                                  else "up-to-date")
        packages.append(PackageReport(
            name=f"pkg{n:04d}", current="1.0.0", latest="1.1.0",
            grade=Grade(level=level, reasons=(Reason(code, "detail"),)),  # type: ignore[arg-type]
            patches=(PatchRow(name="0001-BLD-riscv64.patch", status="Pending", argument=None,
                              outcome="conflict" if conflict else "applied"),)))
    packages.append(PackageReport(name="lost", current="1.0", latest=None, grade=None,
                                  patches=(), problems=("no cache; run mirrorctl sync",)))
    return Report(packages=tuple(packages), trend=(TrendPoint("20261126T020000.000000Z",
                                                              1001, 0, 0),))


@pytest.mark.e2e
def test_a_thousand_packages_page_leads_with_the_actions(tmp_path: Path) -> None:
    chromium = _chromium()
    if chromium is None:
        pytest.skip("no chromium here; .ci/run installs Debian's")
    from PIL import Image

    report = thousand_packages_report()
    assert [a.package for a in report.actions] == [
        "pkg0007", "pkg0257", "pkg0507", "pkg0757", "lost"]
    page = tmp_path / "report.html"
    page.write_text(render_html(report))
    assert page.stat().st_size < 1_500_000  # stays a page one can open
    shot = tmp_path / "top.png"
    subprocess.run([chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-dev-shm-usage", "--no-first-run",
                    "--host-resolver-rules=MAP * ~NOTFOUND",
                    f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1000,900",
                    f"--screenshot={shot}", page.as_uri()],
                   env={**os.environ, "HOME": str(tmp_path)}, capture_output=True,
                   timeout=120, check=True)
    colours = {colour: count for count, colour in
               Image.open(shot).convert("RGB").getcolors(maxcolors=1 << 20) or []}
    # The five actions' pink boxes are on the first screen, above the fold.
    assert colours.get((0xfd, 0xec, 0xea), 0) > 5 * 2000, colours.get((0xfd, 0xec, 0xea))


@pytest.mark.e2e
def test_the_search_filters_a_thousand_packages_in_the_browser(tmp_path: Path) -> None:
    chromium = _chromium()
    if chromium is None:
        pytest.skip("no chromium here; .ci/run installs Debian's")
    page = tmp_path / "report.html"
    page.write_text(render_html(thousand_packages_report()))

    def shown(query: str) -> tuple[list[str], str]:
        dom = subprocess.run([chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
                              "--disable-dev-shm-usage", "--no-first-run",
                              "--host-resolver-rules=MAP * ~NOTFOUND",
                              f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
                              page.as_uri() + query],
                             env={**os.environ, "HOME": str(tmp_path)}, capture_output=True,
                             text=True, timeout=120, check=True).stdout
        rows = re.findall(r'<tr class="state-[^"]*" data-state="[^"]*" data-search="([^ "]+)'
                          r'[^"]*"(?: id="[^"]*")?>', dom)
        count = re.search(r'<span id="shown" class="muted">([^<]*)</span>', dom)
        assert count is not None and '<form id="filter">' in dom  # the script ran
        return rows, count.group(1)

    rows, count = shown("")
    assert len(rows) == 1001 and count == "1001 of 1001 packages"
    rows, count = shown("?q=conflict&state=hard")
    assert rows == ["pkg0007", "pkg0257", "pkg0507", "pkg0757"] and count == "4 of 1001 packages"
    rows, count = shown("?q=pkg0010")
    assert rows == ["pkg0010"] and count == "1 of 1001 packages"
