"""The progress protocol: how long work tells, per package and stage, how it goes.

Domain code reports through Progress and never knows who listens: the command line
passes its terminal board or its log lines (cli/board.py), library callers and -q get
SILENT.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

__all__ = ["SILENT", "Progress"]


class Progress(Protocol):
    def stage(self, name: str, packages: Sequence[str]) -> None:
        """A stage begins over these packages (each then starts and finishes in it)."""

    def start(self, package: str) -> None: ...

    def finish(self, package: str, state: str, detail: str = "") -> None: ...

    def close(self) -> None: ...


class _Silent:
    """No progress: what -q and library callers get."""

    def stage(self, name: str, packages: Sequence[str]) -> None:
        pass

    def start(self, package: str) -> None:
        pass

    def finish(self, package: str, state: str, detail: str = "") -> None:
        pass

    def close(self) -> None:
        pass


SILENT: Progress = _Silent()
