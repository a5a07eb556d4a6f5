"""The report's JSON, both ways, beside its types: what `report --format json` and the
nightly print, what `report --last` shows again and `report --merge` reads back from
the pipelines' package jobs.

`format` says which: 2 since the record (each package's `mirrored`, `upgrade`, `needs`
and `unreadable`); results without it are format 1 and still read. Fields are added
over time, never renamed or removed. A round trip gives the report back, field for
field (tests/test_wire.py).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, get_args

from mirrorctl.core.config import Package
from mirrorctl.core.errors import UsageError
from mirrorctl.core.grades import grade_from_json, reason_to_json
from mirrorctl.grade.builds import BuildSummary
from mirrorctl.grade.road import road_from_json, road_to_json
from mirrorctl.queue.engine import Outcome
from mirrorctl.report.campaign import campaign_from_json, campaign_to_json
from mirrorctl.report.debt import DebtReport, PatchAge
from mirrorctl.report.history import TrendPoint
from mirrorctl.report.report import (
    Action,
    Change,
    PackageReport,
    PatchRow,
    Report,
    package_actions,
)
from mirrorctl.report.stacks import stacks_from_json, stacks_to_json

__all__ = ["FORMAT", "LAST_REPORT", "merged_packages", "merged_run_actions",
           "packages_from_json", "report_from_json", "report_to_json"]

FORMAT = 2
LAST_REPORT = "last-report.json"  # in <workdir>: the newest nightly's own report, whole
log = logging.getLogger(__name__)


def report_to_json(report: Report) -> dict[str, Any]:
    counts = report.counts
    return {
        "format": FORMAT,
        "summary": {"patches": sum(counts.values()), "by_status": dict(sorted(counts.items())),
                    "line": report.summary},
        "packages": [_package_to_json(p) for p in report.packages],
        "actions": [_action_to_json(a) for a in report.actions],
        "states": dict(report.states),
        "debt": _debt_to_json(report.debt),
        "campaign": campaign_to_json(report.campaign),
        "stacks": stacks_to_json(report.stacks),
        "since": report.since,
        "night": {"started": report.night_started, "ended": report.night_ended},
        "accepted": _changes(report.accepted),
        "dropped": _changes(report.dropped),
        "conflicts": _changes(report.conflicts),
        "trend": [{"stamp": t.stamp, "pending": t.pending, "submitted": t.submitted,
                   "accepted": t.accepted} for t in report.trend]}


def _package_to_json(p: PackageReport) -> dict[str, Any]:
    return {
        "name": p.name, "current": p.current, "latest": p.latest,
        "level": p.grade.level if p.grade else None,
        "pinned": p.grade.pinned if p.grade else False,
        "reasons": [reason_to_json(r) for r in p.grade.reasons]
        if p.grade else [],
        "patches": [{"patch": patch.name, "status": patch.status, "argument": patch.argument,
                     "outcome": patch.outcome, "left": patch.left,
                     "url": f"{p.queue_url}/{patch.name}" if p.queue_url else None}
                    for patch in p.patches],
        "links": dict(p.links),
        "problems": list(p.problems),
        "sync": p.sync or None,
        "mirrored": p.mirrored or None,
        "upgrade": {"from": p.upgrade[0], "to": p.upgrade[1], "note": p.upgrade_note}
        if p.upgrade else None,
        "settled": p.settled or None,
        "needs": [_action_to_json(a) for a in p.needs],
        "unreadable": list(p.unreadable),
        "waiting": p.waiting or None,
        "road": road_to_json(p.road) if p.road is not None else None,
        "builds": {"version": p.latest, "source": p.builds_source,
                   "pythons": [asdict(b) for b in p.builds]}
        if p.builds is not None else None,
        "state": "graded" if p.grade else "unknown" if p.problems else "none"}


def _action_to_json(a: Action) -> dict[str, str]:
    return {"package": a.package, "kind": a.kind, "detail": a.detail, "command": a.command}


def _changes(changes: Sequence[Change]) -> list[dict[str, str]]:
    return [{"package": c.package, "patch": c.patch, "detail": c.detail} for c in changes]


def _debt_to_json(debt: DebtReport | None) -> dict[str, Any] | None:
    if debt is None:
        return None

    def age(a: PatchAge) -> dict[str, Any]:
        return {"package": a.package, "patch": a.patch, "status": a.status,
                "entered": a.entered, "releases": a.releases, "status_since": a.status_since}
    return {"patches": [age(a) for a in debt.patches],
            "oldest_pending": [age(a) for a in debt.oldest_pending],
            "most_carried": [age(a) for a in debt.most_carried],
            "median_days_to_upstream": debt.median_days_to_upstream,
            "upstreamed": [{"package": p, "patch": n, "days": d}
                           for p, n, d in debt.upstreamed_days]}


def report_from_json(text: str, source: str) -> Report:
    """The report a `--format json` output holds, whole (`report --last` shows the
    nightly's own report again, as it found it, rather than computing another)."""
    packages = packages_from_json(text, source)
    try:
        data = _report_data(json.loads(text))
        debt = data.get("debt")
        return Report(
            packages=packages, since=data.get("since"),
            accepted=_changes_from_json(data.get("accepted", ())),
            dropped=_changes_from_json(data.get("dropped", ())),
            trend=tuple(TrendPoint(str(t["stamp"]), int(t["pending"]), int(t["submitted"]),
                                   int(t["accepted"])) for t in data.get("trend", ())),
            run_actions=_run_actions(data, packages),
            night_started=(data.get("night") or {}).get("started"),
            night_ended=(data.get("night") or {}).get("ended"),
            debt=None if not isinstance(debt, dict) else _debt_from_json(debt),
            campaign=campaign_from_json(data.get("campaign")),
            stacks=stacks_from_json(data.get("stacks")))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise UsageError(f"{source}: not the JSON output of `mirrorctl report` or "
                         f"`mirrorctl nightly` ({type(exc).__name__}: {exc})") from None


def _report_data(data: Any) -> Any:
    if isinstance(data, dict) and "report" in data:  # the nightly's output
        data = data["report"]
    if not isinstance(data, dict):
        raise TypeError("not a report")
    if data.get("format", 1) not in (1, FORMAT):
        raise ValueError(f"format {data['format']!r}, newer than this mirrorctl reads "
                         "(upgrade mirrorctl)")
    return data


def _run_actions(data: Mapping[str, Any], packages: Sequence[PackageReport],
                 ) -> tuple[Action, ...]:
    """The actions the run found beyond what its packages' own reports say (a failed
    sync, a refused push ...): what the packages say is said again by them."""
    own = {a for p in packages for a in package_actions(p)}
    return tuple(dict.fromkeys(a for a in map(_action_from_json, data.get("actions", ()))
                               if a not in own))


def _action_from_json(a: Mapping[str, Any]) -> Action:
    return Action(str(a["package"]), str(a["kind"]), str(a["detail"]), str(a["command"]))


def _changes_from_json(items: Sequence[Mapping[str, Any]]) -> tuple[Change, ...]:
    return tuple(Change(str(c["package"]), str(c["patch"]), str(c["detail"])) for c in items)


def _debt_from_json(data: Mapping[str, Any]) -> DebtReport:
    def ages(key: str) -> tuple[PatchAge, ...]:
        return tuple(PatchAge(str(a["package"]), str(a["patch"]), str(a["status"]),
                              str(a["entered"]), int(a["releases"]), str(a["status_since"]))
                     for a in data.get(key, ()))

    return DebtReport(patches=ages("patches"), oldest_pending=ages("oldest_pending"),
                      most_carried=ages("most_carried"),
                      upstreamed_days=tuple((str(u["package"]), str(u["patch"]),
                                             float(u["days"]))
                                            for u in data.get("upstreamed", ())))


def packages_from_json(text: str, source: str) -> tuple[PackageReport, ...]:
    """The packages of a report or nightly JSON output (`--format json`), for merging
    the results of one CI job a package into one report."""
    try:
        return tuple(_package_from_json(p) for p in _report_data(json.loads(text))["packages"])
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise UsageError(f"{source}: not the JSON output of `mirrorctl report` or "
                         f"`mirrorctl nightly` ({type(exc).__name__}: {exc})") from None


def _package_from_json(data: Mapping[str, Any]) -> PackageReport:
    try:
        grade = None if data["level"] is None else grade_from_json(data)
    except ValueError as exc:
        raise ValueError(f"{exc} for {data['name']}") from None
    patches = []
    for p in data["patches"]:
        outcome = p.get("outcome")
        if outcome not in (None, *get_args(Outcome)):
            raise ValueError(f"unknown outcome {outcome!r} for {p['patch']}")
        patches.append(PatchRow(name=str(p["patch"]), status=str(p["status"]),
                                argument=p.get("argument"), outcome=outcome,
                                left=bool(p.get("left", False))))
    builds = data.get("builds")  # older results have none
    summaries = None if not isinstance(builds, dict) else tuple(
        BuildSummary(str(b["python"]), bool(b["built"]), bool(b["tested"]),
                     int(b.get("passed", 0)), int(b.get("failed", 0)), int(b.get("skipped", 0)))
        for b in builds["pythons"])
    upgrade = data.get("upgrade")
    return PackageReport(name=str(data["name"]), current=data["current"],
                         latest=data["latest"], grade=grade, patches=tuple(patches),
                         problems=tuple(str(x) for x in data.get("problems", ())),
                         builds=summaries, builds_source=str((builds or {}).get("source") or ""),
                         sync=str(data.get("sync") or ""),
                         links=tuple((str(k), str(v)) for k, v in
                                     (data.get("links") or {}).items()),
                         mirrored=str(data.get("mirrored") or ""),
                         upgrade=(str(upgrade["from"]), str(upgrade["to"]))
                         if isinstance(upgrade, dict) else None,
                         upgrade_note=str(upgrade.get("note") or "")
                         if isinstance(upgrade, dict) else "",
                         settled=str(data.get("settled") or ""),
                         needs=tuple(map(_action_from_json, data.get("needs", ()))),
                         unreadable=tuple(str(n) for n in data.get("unreadable", ())),
                         waiting=str(data.get("waiting") or ""),
                         road=road_from_json(data["road"])
                         if isinstance(data.get("road"), dict) else None)


def merged_packages(directory: Path, expected: Sequence[Package] = (),
                    ) -> tuple[PackageReport, ...]:
    """The packages of every JSON result in `directory` (one file a CI job), by name; an
    `expected` package without a result is reported as such, and so is one whose result
    cannot be read (truncated, not JSON): named after its file, the others go on."""
    files = sorted(directory.glob("*.json"))
    if not files:
        raise UsageError(f"{directory}: no *.json results to merge; the package jobs write "
                         "them with `mirrorctl nightly PACKAGE --format json > DIR/PACKAGE.json`")
    found: dict[str, PackageReport] = {}
    source: dict[str, Path] = {}
    for path in files:
        try:
            read = packages_from_json(path.read_text(encoding="utf-8"), str(path))
        except (OSError, UnicodeDecodeError, UsageError) as exc:
            log.warning("%s: this result cannot be read, its package is unknown: %s", path, exc)
            read = (PackageReport(name=path.stem, current=None, latest=None, grade=None,
                                  patches=(), problems=(f"its result {path} cannot be read: "
                                                        f"{exc}",)),)
        for package in read:
            if package.name in found:
                raise UsageError(f"{path}: {package.name} is reported in "
                                 f"{source[package.name]} too; merge one result a package")
            found[package.name], source[package.name] = package, path
    for p in expected:
        found.setdefault(p.name, PackageReport(
            name=p.name, current=p.version, latest=None, grade=None, patches=(),
            problems=(f"no result in {directory}: its CI job failed before writing one; "
                      "see that job's log",)))
    return tuple(found[name] for name in sorted(found))


def merged_run_actions(directory: Path) -> tuple[Action, ...]:
    """What the runs whose JSON results are in `directory` found needs a person beyond
    their packages' reports (a failed sync, a refused push, ...): merged reports keep
    them, for their action list and notices. A result that cannot be read gives none
    (merged_packages names it)."""
    found: list[Action] = []
    for path in sorted(directory.glob("*.json")):
        try:
            text = path.read_text(encoding="utf-8")
            found += _run_actions(_report_data(json.loads(text)),
                                  packages_from_json(text, str(path)))
        except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError,
                AttributeError, UsageError):
            continue
    return tuple(dict.fromkeys(found))
