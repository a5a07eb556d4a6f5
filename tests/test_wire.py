"""The report's JSON (report/wire.py): a round trip gives the report back, field for
field; results of format 1 (before the record) still read."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from mirrorctl.core.grades import Grade, Reason
from mirrorctl.core.needs import NEED_KINDS, next_command
from mirrorctl.grade.builds import BuildSummary
from mirrorctl.queue.engine import OUTCOMES
from mirrorctl.report.campaign import ORDER, Campaign, RoadRow
from mirrorctl.report.history import TrendPoint
from mirrorctl.report.report import Action, Change, PackageReport, PatchRow, Report
from mirrorctl.report.wire import FORMAT, packages_from_json, report_from_json, report_to_json

names = st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True)
versions = st.from_regex(r"[0-9]\.[0-9]{1,2}\.[0-9]", fullmatch=True)
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
grades = st.builds(lambda level, codes: Grade(level=level, reasons=tuple(
    Reason(c, f"because {c}") for c in codes)), st.sampled_from(["easy", "medium", "hard"]),
    st.lists(names, min_size=1, max_size=3))
rows = st.builds(lambda name, status, outcome: PatchRow(name=f"0001-{name}.patch",
                                                         status=status, outcome=outcome),
                 names, st.sampled_from(["Pending", "Submitted", "Backport"]),
                 st.none() | st.sampled_from(OUTCOMES))


@st.composite
def packages(draw: st.DrawFn) -> PackageReport:
    name = draw(names)
    need_kinds = draw(st.lists(st.sampled_from(NEED_KINDS), max_size=2, unique=True))
    grade = draw(st.none() | grades)
    return PackageReport(
        name=name, current=draw(st.none() | versions), latest=draw(st.none() | versions),
        grade=grade, patches=tuple(draw(st.lists(rows, max_size=3))),
        problems=() if grade is not None else (draw(text) or "unknown",),
        **draw(st.sampled_from([{}, {"builds": (BuildSummary("3.12", True, True, 10, 1, 0),),
                                     "builds_source": "https://ci.example/run/1"}])),
        sync=draw(st.sampled_from(["", "ok", "never", "failed: no route"])),
        links=(("queue", f"patchsets/{name}"),),
        mirrored=draw(st.sampled_from(["", "1.0.0", "no mirror", "unknown", "none"])),
        **draw(st.sampled_from([{}, {"settled": "its builds passed"}])
               | st.builds(lambda up, note: {"upgrade": up, "upgrade_note": note},
                           st.tuples(versions, versions), text)),
        needs=tuple(Action(name, k, draw(text), next_command(k, name)) for k in need_kinds),
        unreadable=tuple(draw(st.lists(names.map(lambda n: f"{n}.patch"), max_size=1))),
        waiting=draw(st.sampled_from(["", "/tmp/numpy-rebase"])))


roads = st.builds(lambda name, state, unknown, request: RoadRow(
    package=name, state=state, next=f"mirrorctl upstream wheels {name}", request=request,
    since="20261201T020000.000000Z", unknown=unknown), names, st.sampled_from(ORDER),
    st.none() | text, st.none() | st.just("https://github.com/o/p/pull/1"))
campaigns = st.none() | st.builds(lambda rows: Campaign(rows=tuple(rows)),
                                  st.lists(roads, max_size=3, unique_by=lambda r: r.package))


@st.composite
def reports(draw: st.DrawFn) -> Report:
    found = draw(st.lists(packages(), max_size=4, unique_by=lambda p: p.name))
    return Report(packages=tuple(found), since=draw(st.none() | st.just("20261130T020000.0Z")),
                  accepted=tuple(draw(st.lists(st.builds(Change, names, names, text),
                                               max_size=2))),
                  dropped=(),
                  trend=(TrendPoint("20261201T020000.000000Z", 1, 2, 3),),
                  run_actions=tuple(Action("", "history-not-written", draw(text),
                                           next_command("history-not-written", ""))
                                    for _ in range(draw(st.integers(0, 1)))),
                  campaign=draw(campaigns))


@settings(max_examples=60, deadline=None)
@given(reports())
def test_a_report_comes_back_field_for_field(report: Report) -> None:
    data = report_to_json(report)
    assert data["format"] == FORMAT
    text = json.dumps(data)
    again = report_from_json(text, "report.json")
    assert again.packages == report.packages
    assert (again.since, again.accepted, again.trend) == (report.since, report.accepted,
                                                          report.trend)
    assert again.actions == report.actions
    assert again.campaign == (None if report.campaign is None else
                              Campaign(rows=report.campaign.ordered))
    assert report_to_json(again) == data


def test_a_result_of_format_1_still_reads() -> None:
    old = {"packages": [{"name": "numpy", "current": "2.2.4", "latest": "2.3.0",
                         "level": "hard", "pinned": False,
                         "reasons": [{"code": "patch-conflict", "detail": "0001.patch"}],
                         "patches": [{"patch": "0001.patch", "status": "Pending",
                                      "argument": None, "outcome": "conflict"}],
                         "problems": [], "sync": "ok"}],
           "actions": [{"package": "numpy", "kind": "sync-failed", "detail": "timed out",
                        "command": "mirrorctl -v sync numpy"}]}
    report = report_from_json(json.dumps({"report": old}), "nightly.json")
    [numpy] = report.packages
    assert (numpy.mirrored, numpy.upgrade, numpy.needs) == ("", None, ())
    assert [a.kind for a in report.actions] == ["sync-failed", "conflict"]
    newer = json.dumps({**old, "format": FORMAT + 1})
    try:
        packages_from_json(newer, "future.json")
    except Exception as exc:  # a newer format says so, it is not misread
        assert "newer than this mirrorctl reads" in str(exc)
    else:
        raise AssertionError("a format from the future was read")
