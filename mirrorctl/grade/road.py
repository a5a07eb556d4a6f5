"""Each upgrade's road, from the release found to the wheels published, as the package's
record keeps it (the `road` fact; core.record):

    found -> requested -> building -> merged -> publishing -> published

found: carried, not delivered (a night without --push); requested: its pull request is
open; building: mirrorctl started its builds on the request's branch; merged: the request
was merged, its publishing builds not started yet; publishing: the build workflow was
dispatched from the default branch with each version (once), and its runs and the
registry are followed; published: the registry holds a wheel of each version for every
Python the workflow builds. Off the road: `stalled` (a publishing run failed or never
came, or wheels are missing after a green run: a person looks, with the run's link) and
`closed` (the request was closed unmerged).

The night writes it (night.upgrade, night.publish); the report reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

from mirrorctl.core.record import FactKind, PackageRecord

__all__ = ["ROAD", "ROAD_STATES", "Road", "RoadRun", "RoadState", "recorded_road",
           "road_from_json", "road_to_json"]

RoadState = Literal["found", "requested", "building", "merged", "publishing", "published",
                    "stalled", "closed"]
ROAD_STATES: tuple[RoadState, ...] = get_args(RoadState)


@dataclass(frozen=True, kw_only=True)
class RoadRun:
    """The publishing run of one version: the newest run of the build workflow on the
    default branch since the dispatch (a person's later one counts)."""

    version: str
    url: str = ""
    conclusion: str | None = None  # success, failure, ... (None: not finished, or none)


@dataclass(frozen=True, kw_only=True)
class Road:
    version: str  # the upgrade's release
    versions: tuple[str, ...]  # the releases its request builds (and so publishes)
    state: RoadState
    request: str | None = None  # the pull request's URL
    dispatched_at: str | None = None  # the publishing dispatch (ISO 8601, UTC)
    dispatched: tuple[str, ...] = ()  # the versions dispatched (one that failed is not)
    workflow: str | None = None  # the build workflow dispatched (build-<stem>.yml)
    runs: tuple[RoadRun, ...] = ()
    missing: tuple[str, ...] = ()  # "2.5.2 cp313": wheels the registry lacks
    detail: str = ""


def road_to_json(road: Road) -> dict[str, Any]:
    return {"version": road.version, "versions": list(road.versions), "state": road.state,
            "request": road.request, "dispatched_at": road.dispatched_at,
            "dispatched": list(road.dispatched),
            "workflow": road.workflow,
            "runs": [{"version": r.version, "url": r.url, "conclusion": r.conclusion}
                     for r in road.runs],
            "missing": list(road.missing), "detail": road.detail}


def road_from_json(data: Mapping[str, Any]) -> Road:
    state = data["state"]
    if state not in ROAD_STATES:
        raise ValueError(f"unknown road state {state!r}")
    return Road(version=str(data["version"]), versions=tuple(map(str, data["versions"])),
                state=cast(RoadState, state), request=data.get("request"),
                dispatched_at=data.get("dispatched_at"),
                dispatched=tuple(map(str, data.get("dispatched") or ())),
                workflow=data.get("workflow"),
                runs=tuple(RoadRun(version=str(r["version"]), url=str(r.get("url", "")),
                                   conclusion=r.get("conclusion"))
                           for r in data.get("runs") or ()),
                missing=tuple(map(str, data.get("missing") or ())),
                detail=str(data.get("detail") or ""))


ROAD = FactKind[Road]("road", road_to_json, road_from_json)


def recorded_road(record: PackageRecord) -> Road | None:
    """The package's road as recorded (None: none, or one the record cannot give back)."""
    fact = record.get(ROAD)
    return fact.value if fact is not None and fact.is_known else None
