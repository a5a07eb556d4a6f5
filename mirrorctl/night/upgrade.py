"""One path for one job: a package's queue carried onto a release, graded, delivered
where asked (the riscv64 branch and the mirror's merge request, the upgrade's pull
request) and recorded, whether the nightly or `mirrorctl rebase` does it.

The record (core.record) says, before the rebase touches anything, that a carry
started; once done, what it carried (queue.carried) and how it grades (grade.upgrade).
A rebase that fails before it changed anything leaves the record as it was; one that
fails after its queue was written, or is killed, leaves the upgrade unknown, saying
why, never "up to date".
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from packaging.version import Version

from mirrorctl.core.config import Config, Package
from mirrorctl.core.errors import MirrorctlError
from mirrorctl.core.git import GitRunner
from mirrorctl.core.record import Fact, FactKind, read_record, write_facts
from mirrorctl.core.run import Currents
from mirrorctl.core.stamps import stamp_text
from mirrorctl.grade.classify import BuildReasons, grade_rebase
from mirrorctl.grade.upgrade import UPGRADE, Upgrade
from mirrorctl.queue.carried import CARRY, Carry, carry_of
from mirrorctl.queue.carry import RebaseOptions, RebaseReport, continue_rebase, rebase_queue
from mirrorctl.queue.folders import currents_of
from mirrorctl.sync.cache import newest_release, open_cache, package_runner

if TYPE_CHECKING:
    from pathlib import Path

    from mirrorctl.night.deliver.requests import OpenRequests
    from mirrorctl.upstream.forges.forge import ForgeSettings

__all__ = ["UpgradeOptions", "carry_upgrade", "record_carry", "settle_merged",
           "undelivered_carry"]


@dataclass(frozen=True, kw_only=True)
class UpgradeOptions:
    rebase: RebaseOptions
    stamp: str  # when the run started: the record says it
    by: str  # the command: "nightly", "rebase"
    resume: bool = False  # take the person's resolution (--continue)
    forges: ForgeSettings | None = None  # for the requests and the builds
    open_mr: bool = False  # the mirror's merge request, once its branch is pushed
    mr_target: str = "main"
    open_pr: bool = False  # the upgrade's pull request (defaults.pull_requests)
    builds: BuildReasons | None = None  # what the upgrade's builds say, for its grade
    # Older releases due that the request builds too (their bot's several `Trigger:`
    # lines): the queue is carried onto each, a folder each, once the upgrade is clean.
    also: tuple[str, ...] = ()
    listed: OpenRequests | None = None  # the run's open requests of the builders' repository


def carry_upgrade(config: Config, package: Package, options: UpgradeOptions,
                  runner: GitRunner) -> RebaseReport:
    """Rebase (or continue), grade, deliver and record one package's upgrade. With
    `open_pr` and no release newer than the current queue, the upgrade that carried it
    there is made again and delivered, if its request never was."""
    workdir = options.rebase.workdir
    if options.rebase.dry_run:  # what the rebase would do: nothing recorded or delivered
        return rebase_queue(config, package, options.rebase, runner)
    currents = currents_of(config, options.rebase.currents)
    options = replace(options, rebase=replace(options.rebase, currents=currents))
    options = replace(options, rebase=_undelivered(config, package, options, runner))
    before = read_record(workdir, package.name)
    kinds: tuple[FactKind[Any], ...] = (CARRY, UPGRADE)
    kept = [(kind, fact) for kind in kinds if (fact := before.get(kind)) is not None]
    started_from = currents.of(package)
    started: Fact[Any] = Fact.missing(
        f"a carry of {package.name} {started_from} started at {stamp_text(options.stamp)} "
        "and did not finish (killed or interrupted); check its queue folders, then "
        f"`mirrorctl settle {package.name}`", by=options.by, at=options.stamp)
    write_facts(workdir, package.name, [(UPGRADE, started)])  # nothing is touched before it
    try:
        report = (continue_rebase if options.resume else rebase_queue)(
            config, package, options.rebase, runner)
    except BaseException as exc:
        _after_failure(config, package, options, kept, started_from, exc)
        raise
    report = _graded(config, package, report, options, runner)
    record_carry(workdir, package, report, by=options.by, at=options.stamp)  # done, whatever
    also = _older_releases(config, package, report, options, runner)
    delivered = _delivered(config, package, report, options, runner, also)
    if delivered != report:
        record_carry(workdir, package, delivered, by=options.by, at=options.stamp)
    from mirrorctl.night.deliver.publish import record_road

    record_road(config, package, delivered, workdir=workdir, by=options.by, at=options.stamp,
                delivered=options.open_pr and options.forges is not None
                and config.pull_requests is not None)
    return delivered


def _undelivered(config: Config, package: Package, options: UpgradeOptions,
                 runner: GitRunner) -> RebaseOptions:
    """The rebase to make: as asked; or, to deliver the request of the standing carry
    (its delivery failed, the queue it wrote is current, nothing newer is released),
    that carry again."""
    rebase = options.rebase
    if not options.open_pr or options.resume or rebase.onto is not None:
        return rebase
    done = undelivered_carry(config, package, rebase.workdir, rebase.currents)
    if done is None:
        return rebase
    cache = open_cache(rebase.workdir, package, package_runner(runner, package))
    if newest_release(cache, package, above=done.to_version) is not None:
        return rebase  # a newer release: carrying it supersedes this one
    return replace(rebase, from_version=done.from_version, onto=done.onto)


def undelivered_carry(config: Config, package: Package, workdir: Path,
                      currents: Currents | None = None) -> Carry | None:
    """The standing carry whose pull request was never delivered (it failed, or it was
    not asked for), when the queue it wrote is the current one (`currents`: the run's)."""
    record = read_record(workdir, package.name)
    carry, upgrade = record.get(CARRY), record.get(UPGRADE)
    if carry is None or carry.value is None or upgrade is None or upgrade.value is None:
        return None
    done = carry.value
    if upgrade.value.settled is not None or not done.carried \
            or done.pull_request_action not in ("failed", None) \
            or done.to_version != currents_of(config, currents).of(package):
        return None
    return done


def settle_merged(config: Config, package: Package, workdir: Path, forges: ForgeSettings, *,
                  by: str, at: str) -> str | None:
    """Ask the forge about the request of the package's standing upgrade; merged, the
    upgrade is settled (and recorded so). How it was settled, or None (not merged, no
    request, or the forge could not say: it stands, and is asked again next time)."""
    from mirrorctl.grade.upgrade import record_settled
    from mirrorctl.upstream.forges.api import forge_api
    from mirrorctl.upstream.forges.forge import parse_request_url

    record = read_record(workdir, package.name)
    carry, upgrade = record.get(CARRY), record.get(UPGRADE)
    if carry is None or carry.value is None or upgrade is None or upgrade.value is None \
            or upgrade.value.settled is not None \
            or carry.value.to_version != upgrade.value.to_version:
        return None
    for url in (carry.value.pull_request, carry.value.merge_request):
        ref = parse_request_url(url, apis=config.forge_apis) if url else None
        if ref is None:
            continue
        try:
            merged = forge_api(ref.forge, ref.host, forges).request_state(ref).state \
                == "merged"
        except MirrorctlError:
            continue
        if merged:
            how = f"its request {url} was merged"
            record_settled(workdir, package.name, how, by=by, at=at)
            return how
    return None


def _after_failure(config: Config, package: Package, options: UpgradeOptions,
                   kept: list[tuple[FactKind[Any], Fact[Any]]], started_from: str | None,
                   exc: BaseException) -> None:
    """A rebase that changed no queue leaves the record as it was; one that did (and
    then failed) leaves the upgrade unknown, with why."""
    workdir = options.rebase.workdir
    currents = currents_of(config, options.rebase.currents)
    currents.forget(package.name)  # what the failed carry left, read again
    if currents.of(package) == started_from:
        write_facts(workdir, package.name, kept, forget=[k for k in (CARRY, UPGRADE)
                                                          if k not in dict(kept)])
        if isinstance(exc, MirrorctlError | OSError) and options.by == "nightly":
            failed: Fact[Any] = Fact.missing(f"the rebase failed: {exc}", by=options.by,
                                             at=options.stamp)
            write_facts(workdir, package.name, [(CARRY, failed)])
        return
    moved: Fact[Any] = Fact.missing(
        f"the carry of {package.name} from {started_from} wrote its queue, then failed: "
        f"{exc or type(exc).__name__}", by=options.by, at=options.stamp)
    write_facts(workdir, package.name, [(UPGRADE, moved)])


def _graded(config: Config, package: Package, report: RebaseReport, options: UpgradeOptions,
            runner: GitRunner) -> RebaseReport:
    """The upgrade's grade, its builds included where they can be read."""
    try:
        grade = grade_rebase(config, package, report, workdir=options.rebase.workdir,
                             runner=runner, builds=options.builds)
    except MirrorctlError:
        return report  # recorded as unknown, with why (record_carry)
    return replace(report, grade=grade)


def _older_releases(config: Config, package: Package, report: RebaseReport,
                    options: UpgradeOptions, runner: GitRunner) -> list[RebaseReport]:
    """The queue carried onto each older release the request builds too, from the queue
    the upgrade carried (a folder each; nothing for an empty queue); only once the
    upgrade itself is clean. One that cannot be carried is said, and not built."""
    if report.status != "clean" or not options.also:
        return []
    carried = []
    for version in options.also:
        if Version(version) <= Version(report.from_version) \
                or Version(version) >= Version(report.to_version):
            continue
        try:
            carried.append(rebase_queue(config, package, replace(
                options.rebase, onto=version, from_version=report.from_version, push=False,
                range_diff=False, worktree=None), runner))
        except (MirrorctlError, OSError):
            continue  # that release is not built; the upgrade goes on
    return carried


def _delivered(config: Config, package: Package, report: RebaseReport,
               options: UpgradeOptions, runner: GitRunner,
               also: list[RebaseReport] | None = None) -> RebaseReport:
    if options.forges is None:
        return report
    workdir = options.rebase.workdir
    if options.open_mr:
        from mirrorctl.night.deliver.mirror_request import PUSHED, deliver_mirror_request

        if report.push in PUSHED:
            report = deliver_mirror_request(config, package, report, workdir=workdir,
                                            runner=runner, forges=options.forges,
                                            target=options.mr_target)
    if options.open_pr and config.pull_requests is not None:
        from mirrorctl.night.deliver.upgrade_request import with_upgrade_request

        report = with_upgrade_request(config, package, report, workdir=workdir,
                                      runner=runner, forges=options.forges, also=also or (),
                                      listed=options.listed)
    return report


def record_carry(workdir: Path, package: Package, report: RebaseReport, *, by: str,
                 at: str) -> None:
    """Keep the carry and its grade in the package's record."""
    grade: Fact[Any] = Fact.known(
        Upgrade(from_version=report.from_version, to_version=report.to_version,
                onto=report.onto, grade=report.grade), by=by, at=at) \
        if report.grade is not None else Fact.missing(
            f"the upgrade {report.from_version} -> {report.to_version} could not be graded",
            by=by, at=at)
    write_facts(workdir, package.name,
                [(CARRY, Fact.known(carry_of(report), by=by, at=at)), (UPGRADE, grade)])
