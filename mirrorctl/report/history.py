"""The nightly's history: one JSON record a run under <workdir>/history/.

A record keeps what the next report compares against (each package's patches with
their Upstream-Status, and which of them upstream had taken) and one point of the
trend the HTML report draws: how many patches were pending, submitted and accepted.

Records are never rewritten or deleted; one that cannot be read is skipped with a
warning, so a damaged file costs a point of the trend, never the report.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mirrorctl.core.keptfile import KeptFile, KeptFileError, want
from mirrorctl.grade.builds import BuildSummary

__all__ = [
    "HISTORY_FILE",
    "Record",
    "RecordedPackage",
    "TrendPoint",
    "read_history",
    "save_record",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrendPoint:
    stamp: str
    pending: int  # Pending and To upstream
    submitted: int  # Submitted, and reported as an Issue
    accepted: int  # Backport, and patches a rebase found upstream already has


@dataclass(frozen=True, kw_only=True)
class RecordedPackage:
    current: str | None
    patches: Mapping[str, str]  # patch file name -> Upstream-Status header
    accepted: frozenset[str]  # names of the patches upstream had taken
    # What the night said besides, for people and tools reading the history (never
    # compared; the records of older mirrorctls may lack it).
    latest: str | None = None
    level: str | None = None
    builds: tuple[BuildSummary, ...] | None = None
    conflicts: frozenset[str] = frozenset()  # the patches waiting for a person


@dataclass(frozen=True, kw_only=True)
class Record:
    stamp: str
    packages: Mapping[str, RecordedPackage]
    trend: TrendPoint
    summary: str = ""  # the report's summary line
    by_status: Mapping[str, int] = field(default_factory=dict)  # patches by Upstream-Status
    needs_human: int = 0  # how many things needed a person that night


def history_dir(workdir: Path) -> Path:
    return workdir / "history"


def save_record(workdir: Path, record: Record) -> Path:
    """Write one run's record (whole, never half) and return its path."""
    path = history_dir(workdir) / f"{record.stamp}.json"
    HISTORY_FILE.write(path, record)
    return path


def read_history(workdir: Path) -> tuple[Record, ...]:
    """Every readable record, oldest first (stamps sort as times)."""
    records = []
    for path in sorted(history_dir(workdir).glob("*.json")):
        try:
            record = HISTORY_FILE.read(path)
        except KeptFileError as exc:  # a point of the trend lost, never the report
            log.warning("skipping history record %s, which cannot be read: %s", path, exc.why)
            continue
        if record is not None:  # None: gone since it was listed
            records.append(record)
    return tuple(sorted(records, key=lambda r: r.stamp))


def _encode(record: Record) -> dict[str, Any]:
    point = record.trend
    return {"stamp": record.stamp, "summary": record.summary,
            "by_status": dict(record.by_status), "needs_human": record.needs_human,
            "trend": {"pending": point.pending, "submitted": point.submitted,
                      "accepted": point.accepted},
            "packages": {name: _encode_package(package)
                         for name, package in record.packages.items()}}


def _encode_package(package: RecordedPackage) -> dict[str, Any]:
    return {"current": package.current, "latest": package.latest, "level": package.level,
            "builds": [asdict(b) for b in package.builds] if package.builds is not None
            else None,
            "patches": dict(package.patches), "accepted": sorted(package.accepted),
            "conflicts": sorted(package.conflicts)}


def _decode(data: dict[str, Any]) -> Record:
    stamp = want(data, "stamp", str)
    by_status = {str(k): int(v) for k, v in data.get("by_status", {}).items()}
    trend = data.get("trend")
    if trend is None:  # records from before the trend was kept: count the statuses
        trend = {"pending": by_status.get("Pending", 0) + by_status.get("To upstream", 0),
                 "submitted": by_status.get("Submitted", 0) + by_status.get("Issue", 0),
                 "accepted": by_status.get("Backport", 0)}
    return Record(stamp=stamp, packages={str(name): _decode_package(package)
                                         for name, package in data["packages"].items()},
                  trend=TrendPoint(stamp, int(trend["pending"]), int(trend["submitted"]),
                                   int(trend["accepted"])),
                  summary=str(data.get("summary") or ""), by_status=by_status,
                  needs_human=int(data.get("needs_human") or 0))


def _decode_package(package: Mapping[str, Any]) -> RecordedPackage:
    latest, level = package.get("latest"), package.get("level")
    return RecordedPackage(
        current=package.get("current"),
        patches={str(k): str(v) for k, v in package.get("patches", {}).items()},
        accepted=frozenset(str(n) for n in package.get("accepted", ())),
        latest=latest if isinstance(latest, str) else None,
        level=level if isinstance(level, str) else None,
        builds=_builds(package.get("builds")),
        conflicts=frozenset(str(n) for n in package.get("conflicts") or ()))


def _builds(value: Any) -> tuple[BuildSummary, ...] | None:
    """The builds as recorded; None where they were not, or not as this mirrorctl
    records them (never compared: what does not read of them costs nothing else)."""
    try:
        return tuple(BuildSummary(python=str(b["python"]), built=bool(b["built"]),
                                  tested=bool(b.get("tested")), passed=int(b.get("passed", 0)),
                                  failed=int(b.get("failed", 0)),
                                  skipped=int(b.get("skipped", 0))) for b in value)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


# Records written before it said its format are of format 1, as are those that do.
HISTORY_FILE = KeptFile[Record](what="a history record", format=1, unformatted=1,
                                encode=_encode, decode=_decode, sort_keys=True)
