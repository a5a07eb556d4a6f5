"""The upstreaming report as one self-contained HTML page.

The page carries its style inline and draws the trend of pending, submitted and
accepted patches as an inline SVG chart; it loads nothing (its Content-Security-Policy
forbids it), runs no script, and opens from a file or a CI artifact as it is. Every
value from a patch or a forge is escaped by the template engine, and only http(s)
arguments become links.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from jinja2 import Environment, PackageLoader, Template, select_autoescape

from mirrorctl.core.stamps import stamp_text, stamp_time
from mirrorctl.report.history import TrendPoint
from mirrorctl.report.report import Report

__all__ = ["Chart", "render_html", "trend_chart"]

# The chart's size and margins, in SVG user units.
_WIDTH, _HEIGHT = 720, 260
_LEFT, _RIGHT, _TOP, _BOTTOM = 48, 16, 16, 36
_SERIES = (("pending", "#c77c02"), ("submitted", "#1f6fb4"), ("accepted", "#2a9d3c"))
_DOTS_UP_TO = 60  # points drawn as dots too; beyond that the lines alone read better


@dataclass(frozen=True)
class Series:
    label: str
    color: str
    points: str  # an SVG polyline's points, "x,y x,y ..."
    dots: tuple[tuple[float, float, int], ...]  # (x, y, value)
    last: int


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: int  # x of the plot's right edge
    top: int
    bottom: int  # y of the plot's bottom edge
    series: tuple[Series, ...]
    y_ticks: tuple[tuple[float, int], ...]  # (y, value)
    x_labels: tuple[tuple[float, str, str], ...]  # (x, anchor, text)


def trend_chart(points: Sequence[TrendPoint]) -> Chart:
    """The trend's geometry: runs placed left to right by when they ran (evenly, if a
    stamp cannot be read), counts from zero up."""
    right, bottom = _WIDTH - _RIGHT, _HEIGHT - _BOTTOM
    top_value = max([1] + [int(getattr(p, name)) for p in points for name, _ in _SERIES])
    step = _nice_step(top_value)
    top_value = -(-top_value // step) * step
    times = [stamp_time(p.stamp) for p in points]
    known = [t for t in times if t is not None]
    by_time = len(known) == len(points) > 1 and known[-1] > known[0]

    def x(i: int) -> float:
        span = right - _LEFT
        if len(points) < 2:
            return round(_LEFT + span / 2, 1)
        if by_time:
            elapsed = (times[i] - known[0]).total_seconds()  # type: ignore[operator]
            return round(_LEFT + span * elapsed / (known[-1] - known[0]).total_seconds(), 1)
        return round(_LEFT + span * i / (len(points) - 1), 1)

    def y(value: int) -> float:
        return round(bottom - (bottom - _TOP) * value / top_value, 1)

    series = []
    for name, color in _SERIES:
        values = [int(getattr(p, name)) for p in points]
        coords = [(x(i), y(v), v) for i, v in enumerate(values)]
        series.append(Series(label=name, color=color,
                             points=" ".join(f"{cx},{cy}" for cx, cy, _ in coords),
                             dots=tuple(coords) if len(coords) <= _DOTS_UP_TO else (),
                             last=values[-1] if values else 0))
    # The first and the last run: their days, or their times when both share a day.
    when = [stamp_text(p.stamp) for p in (*points[:1], *points[-1:])]
    if len({w.split(" ")[0] for w in when}) > 1:
        when = [w.split(" ")[0] for w in when]
    labels = [(x(0), "start" if len(points) > 1 else "middle", when[0])] if points else []
    if len(points) > 1:
        labels.append((x(len(points) - 1), "end", when[-1]))
    return Chart(width=_WIDTH, height=_HEIGHT, left=_LEFT, right=right, top=_TOP,
                 bottom=bottom, series=tuple(series),
                 y_ticks=tuple((y(v), v) for v in range(0, top_value + 1, step)),
                 x_labels=tuple(labels))



def _nice_step(top: int) -> int:
    """A tick step of 1, 2 or 5 times a power of ten giving at most five intervals."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if top <= step * factor * 5:
                return step * factor
        step *= 10


# The page's one script: the search and the state filter over the packages' table (at a
# thousand rows, find-in-page finds one name but cannot show "every hard package with a
# NaN failure"). It adds nothing the page needs: without it, the form stays hidden and
# the state anchors still lead to each state's rows. `?q=...&state=...` in the page's
# address fills it, so a filtered view can be linked. The CSP lets this script alone run,
# by its hash; nothing is loaded.
SEARCH_SCRIPT = """(function () {
  var form = document.getElementById("filter"), box = document.getElementById("search"),
      state = document.getElementById("state"), shown = document.getElementById("shown");
  var rows = document.getElementById("packages").tBodies[0].rows;
  function apply() {
    var words = box.value.toLowerCase().split(/\\s+/).filter(Boolean), count = 0;
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i], text = row.getAttribute("data-search") || "";
      var show = (!state.value || row.getAttribute("data-state") === state.value) &&
        words.every(function (w) { return text.indexOf(w) >= 0; });
      row.hidden = !show;
      if (show) { count++; }
    }
    shown.textContent = count + " of " + rows.length + " packages";
  }
  var asked = new URLSearchParams(location.search);  // report.html?q=nan&state=hard
  box.value = asked.get("q") || "";
  state.value = asked.get("state") || "";
  form.hidden = false;
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  box.addEventListener("input", apply);
  state.addEventListener("change", apply);
  apply();
})();"""


def render_html(report: Report) -> str:
    from mirrorctl.report.report import WORST_FIRST

    states = [s for s in WORST_FIRST if s != "none" or report.states[s]]
    digest = base64.b64encode(hashlib.sha256(SEARCH_SCRIPT.encode()).digest()).decode()
    return _template().render(report=report, chart=trend_chart(report.trend),
                              worst_first_states=states, script=SEARCH_SCRIPT,
                              script_hash=f"sha256-{digest}",
                              stamp=stamp_text(report.trend[-1].stamp) if report.trend else "",
                              since=stamp_text(report.since) if report.since else None)


@cache
def _template() -> Template:
    env = Environment(loader=PackageLoader("mirrorctl.report", "templates"),
                      autoescape=select_autoescape(default=True), trim_blocks=True,
                      lstrip_blocks=True, keep_trailing_newline=True)
    env.tests["linkable"] = lambda url: isinstance(url, str) and url.startswith(
        ("https://", "http://"))
    # A web page, or a path below the page's folder (a queue folder): never another
    # scheme, never //host (another site), never a backslash browsers read as a slash.
    env.tests["href"] = lambda url: isinstance(url, str) and bool(url) and (
        url.startswith(("https://", "http://")) or (
            ":" not in url.split("/", 1)[0] and not url.startswith("/") and "\\" not in url))
    return env.get_template("report.html.j2")
