"""The nightly's history: one JSON record a run under <workdir>/history/.

A record keeps what the next report compares against (each package's patches with
their Upstream-Status, and which of them upstream had taken) and one point of the
trend the HTML report draws: how many patches were pending, submitted and accepted.

Records are never rewritten or deleted; one that cannot be read is skipped with a
warning, so a damaged file costs a point of the trend, never the report.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mirrorctl.core.files import atomic_write_text

__all__ = [
    "Record",
    "RecordedPackage",
    "TrendPoint",
    "read_history",
    "save_record",
]

_FORMAT = 1
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


@dataclass(frozen=True, kw_only=True)
class Record:
    stamp: str
    packages: Mapping[str, RecordedPackage]
    trend: TrendPoint


def history_dir(workdir: Path) -> Path:
    return workdir / "history"


def save_record(workdir: Path, stamp: str, data: Mapping[str, Any]) -> Path:
    """Write one run's record (whole, never half) and return its path. What it holds is
    made by report.write_record and read back by _record below."""
    path = history_dir(workdir) / f"{stamp}.json"
    record = {"format": _FORMAT, "stamp": stamp, **data}
    atomic_write_text(path, json.dumps(record, indent=1, sort_keys=True) + "\n")
    return path


def read_history(workdir: Path) -> tuple[Record, ...]:
    """Every readable record, oldest first (stamps sort as times)."""
    records = []
    for path in sorted(history_dir(workdir).glob("*.json")):
        try:
            records.append(_record(json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError,
                AttributeError) as exc:
            log.warning("skipping history record %s, which cannot be read: %s", path, exc)
    return tuple(sorted(records, key=lambda r: r.stamp))


def _record(data: Mapping[str, Any]) -> Record:
    found = data.get("format", _FORMAT)
    if not isinstance(found, int) or found > _FORMAT:  # skipped with a warning: never misread
        raise ValueError(f"its format {found!r} is newer than this mirrorctl reads "
                         f"({_FORMAT}): upgrade mirrorctl")
    stamp = data["stamp"]
    if not isinstance(stamp, str):
        raise TypeError("stamp is not a string")
    packages = {str(name): RecordedPackage(
        current=package.get("current"),
        patches={str(k): str(v) for k, v in package.get("patches", {}).items()},
        accepted=frozenset(str(n) for n in package.get("accepted", ())))
        for name, package in data["packages"].items()}
    trend = data.get("trend")
    if trend is None:  # records from before the trend was kept: count the statuses
        by_status = data.get("by_status", {})
        trend = {"pending": by_status.get("Pending", 0) + by_status.get("To upstream", 0),
                 "submitted": by_status.get("Submitted", 0) + by_status.get("Issue", 0),
                 "accepted": by_status.get("Backport", 0)}
    return Record(stamp=stamp, packages=packages, trend=TrendPoint(
        stamp, int(trend["pending"]), int(trend["submitted"]), int(trend["accepted"])))
