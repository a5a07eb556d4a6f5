"""One run of a command, resolved once: what mirrors.yaml, the environment and the
command line say, worked out in cli/ (cli.base.resolve_run) and passed down frozen.
Nothing below cli/ reads `defaults.jobs` or the clock again: a pool sizes itself by
`Run.jobs`, a record is stamped with `Run.stamp`, and each package's current version
is worked out once, by `Run.currents`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mirrorctl.core.config import Package

__all__ = ["Currents", "Run"]


class Currents:
    """Each package's current version, worked out once a run and asked by every reader
    of the run (releases, grades, carries, the report): the queue folders, the build
    site and mirrors.yaml's floor are read once a package, not three or four times a
    carry. What writes a queue folder (a carry, an export) says so with `forget`: the
    next reader works the version out again, so a report made after a night's carry
    shows the queue the carry wrote.

    `resolve` is the working out (queue.folders.current_version bound to the run's
    mirrors.yaml); what it raises is raised to each asker, never kept."""

    def __init__(self, resolve: Callable[[Package], str | None]) -> None:
        self._resolve = resolve
        self._known: dict[str, str | None] = {}
        self._lock = threading.Lock()  # pools ask for different packages at once

    def of(self, package: Package) -> str | None:
        with self._lock:
            if package.name in self._known:
                return self._known[package.name]
        found = self._resolve(package)  # outside the lock: it reads files
        with self._lock:
            self._known[package.name] = found
        return found

    def forget(self, name: str) -> None:
        """A queue folder of `name` was written: its current version is read again."""
        with self._lock:
            self._known.pop(name, None)


@dataclass(frozen=True, kw_only=True)
class Run:
    workdir: Path
    jobs: int  # --jobs, else defaults.jobs: every pool of the run, whatever it runs
    stamp: str  # when the run started (core.stamps), for what it records
    currents: Currents  # each package's current version, once a run

    def __post_init__(self) -> None:
        if self.jobs < 1:
            raise ValueError(f"jobs must be at least 1, not {self.jobs}")
