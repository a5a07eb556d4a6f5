"""The upstreaming report: per package, the mirrored version against upstream's latest,
the grade of the upgrade, and where every patch stands; over all, one summary line in
the manner of Yocto's patch metrics ("37 patches: 12 submitted, 9 pending, ...").

Data only; output.py renders it as markdown or JSON.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mirrorctl.classify import Grade
from mirrorctl.config import Config, Package
from mirrorctl.errors import MirrorctlError
from mirrorctl.git import GitRunner
from mirrorctl.patches import PatchFile, read_queue
from mirrorctl.queues import open_cache
from mirrorctl.sync import package_runner
from mirrorctl.upgrades import ClassifyOptions, classify_package, grade_upgrade

if TYPE_CHECKING:
    from mirrorctl.rebasing import RebaseReport

__all__ = ["PackageReport", "Report", "build_report", "summary_line"]

# How each Upstream-Status is counted in the summary line, in its order.
_SUMMARY = (("Submitted", "submitted"), ("Issue", "reported as issues"),
            ("Pending", "pending"), ("To upstream", "to upstream"),
            ("Inappropriate", "inappropriate"), ("Backport", "backports"),
            ("Denied", "denied"), ("Inactive-Upstream", "inactive upstream"))


@dataclass(frozen=True, kw_only=True)
class PackageReport:
    name: str
    current: str | None
    latest: str | None
    grade: Grade | None
    patches: tuple[PatchFile, ...]
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Report:
    packages: tuple[PackageReport, ...]

    @property
    def counts(self) -> Counter[str]:
        return Counter(p.status.kind for package in self.packages for p in package.patches)


def summary_line(counts: Counter[str]) -> str:
    total = sum(counts.values())
    parts = [f"{counts[kind]} {label}" for kind, label in _SUMMARY if counts[kind]]
    noun = "patch" if total == 1 else "patches"
    return f"{total} {noun}: " + ", ".join(parts) if parts else "0 patches"


def build_report(config: Config, packages: Sequence[Package], *, workdir: Path,
                 runner: GitRunner,
                 rebased: Mapping[str, RebaseReport] | None = None) -> Report:
    """`rebased`: rebases just made (by the nightly), whose outcomes grade their packages
    instead of a second rebase dry run."""
    return Report(packages=tuple(_package(config, p, workdir, runner, (rebased or {}).get(
        p.name)) for p in packages))


def _package(config: Config, package: Package, workdir: Path, runner: GitRunner,
             rebased: RebaseReport | None) -> PackageReport:
    problems: list[str] = []
    patches: tuple[PatchFile, ...] = ()
    if package.version is not None:
        queue, found = read_queue(config.patchsets, package.name, package.version)
        patches = queue.patches if queue.directory.is_dir() else ()
        problems += [str(p) for p in found] if queue.directory.is_dir() else []
    grade, latest = None, package.version
    try:
        if rebased is not None:
            cache = open_cache(workdir, package, package_runner(runner, package))
            old_tag = package.tag_format.tag_for(rebased.from_version)
            grade = grade_upgrade(config, package, cache, old_tag, rebased.onto,
                                  rebased.result.outcomes)
            latest = rebased.to_version
        else:
            graded = classify_package(config, package, ClassifyOptions(workdir=workdir),
                                      runner)
            grade, latest = graded.grade, graded.to_version
    except MirrorctlError as exc:  # no cache, no version: the report says so and goes on
        problems.append(str(exc))
    return PackageReport(name=package.name, current=package.version, latest=latest,
                         grade=grade, patches=patches, problems=tuple(problems))
