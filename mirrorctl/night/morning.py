"""The morning's report, built one way whoever builds it: the nightly (from its own
carries, with the stacks it resolved) and `mirrorctl report` (from the caches and the
records, with the stacks the last night kept). The packages' rows and the history
(report.build), the road of each to upstream riscv64 wheels (night.campaign), and the
stacks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from mirrorctl.core.config import Config, Package
from mirrorctl.core.git import GitRunner
from mirrorctl.core.progress import SILENT, Progress
from mirrorctl.night.campaign import recorded_campaign
from mirrorctl.report.build import build_report
from mirrorctl.report.report import Report

if TYPE_CHECKING:
    from mirrorctl.core.run import Currents
    from mirrorctl.grade.classify import BuildReasons
    from mirrorctl.queue.carry import RebaseReport
    from mirrorctl.report.stacks import Stacks

__all__ = ["morning_report"]


def morning_report(config: Config, packages: Sequence[Package], *, workdir: Path,
                   runner: GitRunner, stamp: str, jobs: int, stacks: Stacks | None,
                   rebased: Mapping[str, RebaseReport] | None = None,
                   builds: BuildReasons | None = None,
                   progress: Progress = SILENT, currents: Currents | None = None) -> Report:
    """The report of these packages now: `rebased`, the carries a night just made (their
    outcomes grade their packages); `stacks`, the stacks to show (None: none);
    `currents`, the run's current versions."""
    report = build_report(config, packages, workdir=workdir, runner=runner, stamp=stamp,
                          jobs=jobs, rebased=rebased, progress=progress, builds=builds,
                          currents=currents)
    return replace(report, campaign=recorded_campaign(workdir, packages), stacks=stacks)
