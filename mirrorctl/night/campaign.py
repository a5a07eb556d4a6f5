"""The campaign for upstream riscv64 wheels in the night and the morning report: each
package's road as its record keeps it (upstream/wheels/road.py writes it), read into the
report's own rows, and what a change of state asks of a person.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from mirrorctl.core.config import Package
from mirrorctl.core.record import read_record
from mirrorctl.core.sections import Notices
from mirrorctl.core.stamps import stamp_text
from mirrorctl.report.campaign import Campaign, RoadRow
from mirrorctl.upstream.wheels.state import DRAFTED, WHEELS, WheelsRecord

if TYPE_CHECKING:
    from mirrorctl.upstream.forges.forge import ForgeSettings
    from mirrorctl.upstream.forges.tracker import Pace
    from mirrorctl.upstream.wheels.road import Road

__all__ = ["recorded_campaign", "support_comment", "support_title", "tell_support_issues"]

_NEXT = {"unknown": "mirrorctl upstream wheels {name}",
         "shipped": "mirrorctl releases --pypi {name}",
         "pure-python": "mirrorctl releases --pypi {name}",
         "released": "mirrorctl releases --pypi {name}",
         "merged": "mirrorctl releases {name}",
         "requested": "mirrorctl upstream wheels {name}"}


def recorded_campaign(workdir: Path, packages: Sequence[Package]) -> Campaign | None:
    """The road of each package whose record has one; None when none has (the campaign
    was never followed here: the report says nothing of it)."""
    rows = []
    for package in packages:
        fact = read_record(workdir, package.name).get(WHEELS)
        if fact is None:
            continue
        if not fact.is_known or fact.value is None:
            rows.append(RoadRow(package=package.name, state="unknown", unknown=fact.unknown,
                                next=f"mirrorctl upstream wheels {package.name}"))
            continue
        rows.append(_row(package.name, fact.value))
    return Campaign(rows=tuple(rows)) if rows else None


def _row(name: str, road: WheelsRecord) -> RoadRow:
    next_step = (f"mirrorctl upstream wheels {name} --draft" if road.state in DRAFTED
                 else _NEXT.get(road.state, "mirrorctl upstream wheels {name}").format(
                     name=name))
    pulls = [a for a in road.requests if a.kind == "pr"]
    request = next((a.url for a in pulls if a.state == "open"), None) or \
        (pulls[0].url if pulls else None) or \
        next((a.url for a in road.requests if a.state == "open"), None)
    return RoadRow(package=name, state=road.state, next=next_step, request=request,
                   since=road.since, unknown=road.unknown)


def support_title(name: str) -> str:
    """The builders' own tracking issue of a package's upstream support."""
    return f"{name} riscv64 support"


def support_comment(road: Road) -> str:
    """What the tracking issue's one comment of mirrorctl's says of the road."""
    lines = [f"**Upstream riscv64 wheels: {road.state}**"
             + (f" (since {stamp_text(road.since)})" if road.since else ""), ""]
    lines += [f"- {reason}" for reason in road.reasons]
    lines += [f"- {ask.kind} {ask.state}: {ask.url}" for ask in road.requests
              if ask.url not in " ".join(road.reasons)]
    lines += ["", f"Next: `{road.next}`", "",
              "_Kept current by mirrorctl's nightly; this comment is edited in place._"]
    return "\n".join(lines)


def tell_support_issues(roads: Sequence[Road], notices: Notices, forges: ForgeSettings,
                        pace: Pace, workdir: Path, stamp: str) -> list[str]:
    """Keep each package's "<pkg> riscv64 support" issue (where the builders have one)
    current: one comment of mirrorctl's, edited in place, touched only when what it says
    changed (an issue opened later is found at the road's next change). The problems, a
    line each (the rest of the night goes on)."""
    from mirrorctl.core.record import Fact, write_facts
    from mirrorctl.night.notices import notice_tracker
    from mirrorctl.upstream.forges.forge import ForgeError

    tracker = notice_tracker(notices, forges, pace)
    if isinstance(tracker, str):
        return [tracker]
    problems = []
    for road in roads:
        fact = read_record(workdir, road.name).get(WHEELS)
        recorded = fact.value if fact is not None and fact.is_known else None
        if road.state == "unknown" or recorded is None or recorded.unknown:
            continue  # nothing established to tell
        text = support_comment(road)
        digest = hashlib.sha256(text.encode()).hexdigest()
        if recorded.told == digest:
            continue
        try:
            issue = tracker.find(support_title(road.name))
            # Where the builders track it nowhere there is nothing to keep current; it
            # is looked for again when the road has something new to say.
            if issue is not None:
                tracker.upsert_comment(issue, marker=f"mirrorctl-wheels {road.name}",
                                       text=text)
        except ForgeError as exc:
            problems.append(f"{road.name}: its tracking issue was not kept current: {exc}")
            continue
        write_facts(workdir, road.name, [(WHEELS, Fact.known(
            replace(recorded, told=digest), by="nightly", at=stamp))])
    return problems
