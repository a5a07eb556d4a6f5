"""`mirrorctl nightly`: what the team runs every night and reads every morning.

The night's stages (night.stages: sync, releases, carry, deliver, stacks, report,
history, notices) run in order over what the night has found so far; each one's
outcome and time are recorded (NightlyResult.stages), and where the night has got to is
kept for a report after a kill (report.nights). One package failing never stops the
others; the result says what needs a person. Each run leaves a JSON record under
<workdir>/history/.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from mirrorctl.core.config import Config, Package
from mirrorctl.core.git import GitRunner
from mirrorctl.core.progress import SILENT, Progress
from mirrorctl.night.needs import Need
from mirrorctl.night.stages import STAGES, Night, NightlyOptions
from mirrorctl.report.nights import begin_night, end_night, reach_stage

if TYPE_CHECKING:
    from mirrorctl.grade.releases import ReleaseList
    from mirrorctl.night.deliver.retire_request import RetireRequest
    from mirrorctl.night.notices import NoticesResult
    from mirrorctl.queue.carry import RebaseReport
    from mirrorctl.report.report import Report
    from mirrorctl.sync.run import SyncReport
    from mirrorctl.upstream.wheels.road import Road

__all__ = ["Need", "NightlyOptions", "NightlyResult", "StageOutcome", "run_nightly"]


@dataclass(frozen=True)
class StageOutcome:
    """What one stage of the night did, in a few words, and how long it took."""

    name: str
    outcome: str
    seconds: float


@dataclass(frozen=True, kw_only=True)
class NightlyResult:
    sync: SyncReport
    releases: tuple[ReleaseList, ...]
    rebases: tuple[RebaseReport, ...]
    rebase_errors: tuple[tuple[str, str], ...]  # (package, error)
    report: Report
    needs: tuple[Need, ...]
    history: Path | None  # None when the record could not be written (a need says why)
    notices: NoticesResult | None = None  # None: not asked for
    wheels: tuple[Road, ...] = ()  # the roads to upstream riscv64 wheels (with wheels)
    # The retirement requests of packages whose upstream ships riscv64 wheels (with push).
    retirements: tuple[RetireRequest, ...] = ()
    dry_run: bool = False  # what the night would do: nothing of its own written
    stages: tuple[StageOutcome, ...] = ()  # each stage run, in order

    @property
    def needs_human(self) -> tuple[str, ...]:
        return tuple(str(need) for need in self.needs)


def run_nightly(config: Config, packages: Sequence[Package], options: NightlyOptions,
                runner: GitRunner, *, sleep: Callable[[float], None],
                clock: Callable[[], float] | None = None,
                progress: Progress = SILENT) -> NightlyResult:
    if options.dry_run and (options.push or options.notify):
        raise ValueError("a dry run pushes, delivers and files nothing")
    night = Night.of(config, packages, options, runner, sleep=sleep, clock=clock,
                     progress=progress)
    kept = _Stages(options)
    kept.begin()  # a night killed from here on is said so
    done = []
    for name, stage in STAGES:
        kept.reach(name)
        started = time.perf_counter()
        outcome = stage(night)
        done.append(StageOutcome(name, outcome, round(time.perf_counter() - started, 3)))
    ended = _stamp_of(clock) if clock is not None else options.stamp
    kept.end(ended)
    assert night.synced is not None
    return NightlyResult(sync=night.synced, releases=(*night.found, *night.watched),
                         rebases=tuple(night.rebases), rebase_errors=tuple(night.errors),
                         report=replace(night.the_report, night_ended=ended),
                         needs=tuple(night.needs), history=night.history,
                         notices=night.noticed, wheels=tuple(night.roads),
                         retirements=tuple(night.retirements), dry_run=options.dry_run,
                         stages=tuple(done))


class _Stages:
    """Where the night has got to, kept for a report after a kill (report.nights); a
    dry run keeps nothing."""

    def __init__(self, options: NightlyOptions) -> None:
        self.workdir, self.stamp = options.workdir, options.stamp
        self.keep = not options.dry_run

    def begin(self) -> None:
        if self.keep:
            begin_night(self.workdir, self.stamp)

    def reach(self, name: str) -> None:
        if self.keep:
            reach_stage(self.workdir, self.stamp, name)

    def end(self, ended: str) -> None:
        if self.keep:
            end_night(self.workdir, self.stamp, ended)


def _stamp_of(clock: Callable[[], float]) -> str:
    from datetime import datetime, timezone

    from mirrorctl.core.stamps import STAMP_FORMAT

    return datetime.fromtimestamp(clock(), timezone.utc).strftime(STAMP_FORMAT)
