"""When the newest night ran and how far it got: <workdir>/night.json, written as the
nightly goes (when it started, each stage it reached, when it ended).

Every report says when its night started and ended; a night that started and never
ended (killed, the machine gone) is said so by the reports after it, with how far it
got: its history record and its report were never written, so the morning must not
read the night before as if it were that one. While a nightly runs (it holds the work
directory) its mark says it runs, not that it stopped.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mirrorctl.core.errors import FileSystemError
from mirrorctl.core.keptfile import KeptFile, KeptFileError, want

__all__ = [
    "NIGHT_FILE",
    "STAGES",
    "Night",
    "begin_night",
    "end_night",
    "reach_stage",
    "read_night",
    "unfinished_night",
]

# What a night does, in order: the last one it reached is how far it got.
STAGES = ("sync", "releases", "carry", "deliver", "stacks", "report", "history", "notices")


@dataclass(frozen=True)
class Night:
    started: str  # its stamp (20261207T020000.000000Z), the name of its history record
    stage: str  # the last stage it reached
    ended: str | None = None  # when it ended; None: it runs, or it stopped unfinished


def _decode(data: dict[str, Any]) -> Night:
    ended = data.get("ended")
    return Night(started=want(data, "started", str), stage=str(data.get("stage") or STAGES[0]),
                 ended=ended if isinstance(ended, str) else None)


NIGHT_FILE = KeptFile[Night](
    what="the night's mark", format=1, decode=_decode,
    encode=lambda night: {"started": night.started, "stage": night.stage,
                          "ended": night.ended})


def _path(workdir: Path) -> Path:
    return workdir / "night.json"


def _write(workdir: Path, night: Night) -> None:
    # A work directory that takes no write: the night's own history record says why.
    with contextlib.suppress(FileSystemError):
        NIGHT_FILE.write(_path(workdir), night)


def begin_night(workdir: Path, stamp: str) -> None:
    _write(workdir, Night(started=stamp, stage=STAGES[0]))


def reach_stage(workdir: Path, stamp: str, stage: str) -> None:
    _write(workdir, Night(started=stamp, stage=stage))


def end_night(workdir: Path, stamp: str, ended: str) -> None:
    _write(workdir, Night(started=stamp, stage=STAGES[-1], ended=ended))


def read_night(workdir: Path) -> Night | None:
    """The newest night's mark, or None (no nightly yet, or one that does not read)."""
    try:
        return NIGHT_FILE.read(_path(workdir))
    except KeptFileError:
        # Said as no mark: a mark only adds to what a report knows (that a night did not
        # finish); the night's history record and report stand without it.
        return None


def unfinished_night(workdir: Path) -> Night | None:
    """The newest night, when it started and never ended, and no nightly runs now."""
    from mirrorctl.core.lock import writer

    night = read_night(workdir)
    if night is None or night.ended is not None:
        return None
    holder = writer(workdir)
    if holder is not None and "nightly" in holder:
        return None  # it runs: the reader reads beside it
    return night
