"""The stamps that say when a run happened: 20261123T225021.123456Z (UTC, to the
microsecond, so that two runs never share one), as records keep them and people
read them."""

from __future__ import annotations

from datetime import datetime

__all__ = ["stamp_text", "stamp_time"]

STAMP_FORMAT = "%Y%m%dT%H%M%S.%fZ"


def stamp_time(stamp: str) -> datetime | None:
    """When a stamp (20261123T225021.123456Z) says it ran; None if it says not."""
    try:
        return datetime.strptime(stamp, STAMP_FORMAT)
    except ValueError:
        return None


def stamp_text(stamp: str) -> str:
    """A stamp (20261123T225021.123456Z) as people read it: 2026-11-23 22:50 UTC."""
    when = stamp_time(stamp)
    return when.strftime("%Y-%m-%d %H:%M UTC") if when is not None else stamp
