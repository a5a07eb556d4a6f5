"""One run of a command, resolved once: what mirrors.yaml, the environment and the
command line say, worked out in cli/ (cli.base.resolve_run) and passed down frozen.
Nothing below cli/ reads `defaults.jobs` or the clock again: a pool sizes itself by
`Run.jobs`, a record is stamped with `Run.stamp`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["Run"]


@dataclass(frozen=True, kw_only=True)
class Run:
    workdir: Path
    jobs: int  # --jobs, else defaults.jobs: every pool of the run, whatever it runs
    stamp: str  # when the run started (core.stamps), for what it records

    def __post_init__(self) -> None:
        if self.jobs < 1:
            raise ValueError(f"jobs must be at least 1, not {self.jobs}")
