"""The campaign for upstream riscv64 wheels in the night and the morning report: each
package's road as its record keeps it (upstream/wheelroad.py writes it), read into the
report's own rows, and what a change of state asks of a person.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mirrorctl.core.config import Package
from mirrorctl.core.record import read_record
from mirrorctl.report.campaign import Campaign, RoadRow
from mirrorctl.upstream.wheelstate import DRAFTED, WHEELS, WheelsRecord

__all__ = ["recorded_campaign"]

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
