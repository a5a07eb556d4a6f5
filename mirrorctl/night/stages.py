"""The night's stages, each a function over what the night has found so far (Night):
sync, releases, carry, deliver, stacks, report, history, notices, in that order
(STAGES); night.nightly runs them and records each one's outcome. A stage reads what
the stages before it left and adds its own; one package's trouble never stops a stage,
and a stage that has nothing to do says so.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, cast

from packaging.version import Version

from mirrorctl.core.config import Config, Package
from mirrorctl.core.errors import FileSystemError, MirrorctlError
from mirrorctl.core.git import GitRunner
from mirrorctl.core.needs import NeedKind
from mirrorctl.core.progress import SILENT, Progress
from mirrorctl.core.record import read_record
from mirrorctl.core.run import Currents
from mirrorctl.grade.releases import ReleaseList, ReleaseOptions, check_releases
from mirrorctl.night.deliver.build_results import upgrade_build_reasons
from mirrorctl.night.deliver.requests import OpenRequests
from mirrorctl.night.morning import morning_report
from mirrorctl.night.needs import IN_THE_REPORT, Need, action_of, needs_human, wheel_needs
from mirrorctl.night.upgrade import (
    UpgradeOptions,
    carry_upgrade,
    settle_merged,
    undelivered_carry,
)
from mirrorctl.queue.carry import RebaseOptions, RebaseReport
from mirrorctl.queue.folders import currents_of
from mirrorctl.report.report import Report, stack_actions, write_record
from mirrorctl.sync.run import SyncOptions, SyncReport, sync_packages

if TYPE_CHECKING:
    from mirrorctl.grade.classify import BuildReasons
    from mirrorctl.night.deliver.publish import Followed
    from mirrorctl.night.deliver.retire_request import RetireRequest
    from mirrorctl.night.notices import NoticesResult
    from mirrorctl.report.stacks import Stacks
    from mirrorctl.upstream.forges.forge import ForgeSettings
    from mirrorctl.upstream.wheels.road import Road

__all__ = ["STAGES", "Night", "NightlyOptions", "carry_stage", "deliver_stage",
           "history_stage", "notices_stage", "releases_stage", "report_stage",
           "stacks_stage", "sync_stage"]


@dataclass(frozen=True, kw_only=True)
class NightlyOptions:
    workdir: Path
    jobs: int
    push: bool = False  # push new riscv64 branches (and open mirror merge requests)
    # For the mirror merge requests and pull requests (with push), and for reading the
    # upgrades' builds (with pull_requests set).
    forges: ForgeSettings | None = None
    stamp: str  # when the run started, for the history record (the CLI reads the clock)
    # What needs a person becomes tracking issues (defaults.notices says where).
    notify: bool = False
    every_package: bool = True  # the run covers every active package (not some named)
    # Follow each package's road to upstream riscv64 wheels (PyPI and a forge search a
    # package): its state is recorded, and a change a person acts on is a need.
    wheels: bool = False
    # Say what the night would do, and write nothing of its own: the caches are
    # refreshed with what sync records of them (as `sync --dry-run` does); the mirrors,
    # queues, carries, history and stacks are left as they were; nothing is pushed,
    # delivered or filed.
    dry_run: bool = False
    currents: Currents | None = None  # the run's current versions (core.run.Run.currents)


@dataclass(kw_only=True)
class Night:
    """What the night has found so far: each stage reads what the ones before it left
    and adds its own."""

    config: Config
    options: NightlyOptions
    runner: GitRunner
    currents: Currents  # each package's current version, worked out once a night
    sleep: Callable[[float], None]
    clock: Callable[[], float] | None = None
    progress: Progress = SILENT
    packages: list[Package] = field(default_factory=list)  # active: synced, carried
    # Retired packages (upstream ships riscv64 wheels) are only watched: PyPI is asked
    # whether their latest release still does; nothing is synced, carried or graded.
    retired: list[Package] = field(default_factory=list)
    synced: SyncReport | None = None
    found: list[ReleaseList] = field(default_factory=list)  # the active packages' releases
    watched: list[ReleaseList] = field(default_factory=list)  # the retired ones'
    # Each package's release to carry onto (None: the standing carry, delivered again).
    targets: dict[str, str | None] = field(default_factory=dict)
    retiring: list[Package] = field(default_factory=list)  # retired tonight, not upgraded
    listed: OpenRequests | None = None  # the builders' open requests, on a delivering night
    builds: BuildReasons | None = None  # what the upgrades' builds say
    rebases: list[RebaseReport] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (package, why)
    retirements: list[RetireRequest] = field(default_factory=list)
    followed: list[Followed] = field(default_factory=list)
    roads: list[Road] = field(default_factory=list)
    stacks: Stacks | None = None
    report: Report | None = None
    needs: list[Need] = field(default_factory=list)
    history: Path | None = None
    noticed: NoticesResult | None = None

    @classmethod
    def of(cls, config: Config, packages: Sequence[Package], options: NightlyOptions,
           runner: GitRunner, *, sleep: Callable[[float], None],
           clock: Callable[[], float] | None = None, progress: Progress = SILENT) -> Night:
        return cls(config=config, options=options, runner=runner, sleep=sleep, clock=clock,
                   currents=currents_of(config, options.currents), progress=progress,
                   packages=[p for p in packages if not p.retired],
                   retired=[p for p in packages if p.retired])

    @property
    def delivering(self) -> bool:
        """Whether tonight delivers the upgrades as the builders' pull requests."""
        return self.options.push and self.config.pull_requests is not None \
            and self.options.forges is not None

    @property
    def the_report(self) -> Report:
        if self.report is None:
            raise RuntimeError("the report stage has not run")
        return self.report


def sync_stage(night: Night) -> str:
    """Every active package's upstream into its cache (and its mirror)."""
    options = night.options
    night.synced = sync_packages(night.packages, SyncOptions(
        workdir=options.workdir, jobs=options.jobs, stamp=options.stamp,
        dry_run=options.dry_run), night.runner, sleep=night.sleep, progress=night.progress)
    failed = len(night.synced.failed)
    count = len(night.packages)
    return f"{count} package{'' if count == 1 else 's'}" + (
        f", {failed} failed" if failed else "")


def releases_stage(night: Night) -> str:
    """Each package's releases, what is due, and the release each is carried onto."""
    config, options = night.config, night.options
    # With the builders' registry, PyPI is asked too: what is due must be released there.
    # One request builds at most `max_versions` releases (their bot's cap), the newest.
    limit = config.pull_requests.max_versions if config.pull_requests is not None else 3
    night.found = check_releases(config, night.packages, ReleaseOptions(
        workdir=options.workdir, jobs=options.jobs, pypi=config.registry_url is not None,
        limit=limit, currents=night.currents), night.runner)
    night.watched = check_releases(config, night.retired, ReleaseOptions(
        workdir=options.workdir, jobs=options.jobs, pypi=True, currents=night.currents),
        night.runner) \
        if night.retired else []
    # A package that carries no patch is carried too: its upgrade is the version bump.
    night.targets = {
        package.name: target for package, releases in zip(night.packages, night.found,
                                                          strict=True)
        if (target := _target(releases)) is not None and releases.current is not None}
    if options.push and config.pull_requests is not None:
        # A carry whose request was never delivered is delivered again (its rebase made
        # again: the queue it wrote is found unchanged).
        night.targets.update({p.name: None for p in night.packages
                              if p.name not in night.targets
                              and undelivered_carry(config, p, options.workdir,
                                                    night.currents) is not None})
    if night.delivering:
        night.listed = OpenRequests()
        night.retiring = _retiring(night.packages, night.found)
    for package in night.retiring:  # upstream ships riscv64 wheels: retired, not upgraded
        night.targets.pop(package.name, None)
    return f"{len(night.targets)} due" + (f", {len(night.retiring)} to retire"
                                          if night.retiring else "")


def carry_stage(night: Night) -> str:
    """Each due package's queue carried onto its release (graded, delivered, recorded)."""
    config, options = night.config, night.options
    due = [package for package in night.packages if package.name in night.targets]
    releases_of = {r.name: r for r in night.found}
    if due:
        night.progress.stage("rebase", [p.name for p in due])
    night.builds = upgrade_build_reasons(config, options.forges, options.workdir)
    for package in due:
        night.progress.start(package.name)
        try:
            rebased = carry_upgrade(config, package, UpgradeOptions(
                rebase=RebaseOptions(workdir=options.workdir, onto=night.targets[package.name],
                                     dry_run=options.dry_run, currents=night.currents,
                                     # no mirror: nothing to push
                                     push=options.push and package.mirror is not None,
                                     range_diff=options.push),
                stamp=options.stamp, by="nightly", builds=night.builds,
                # Only a delivering night opens requests (and pays for the forges).
                forges=options.forges if options.push else None, open_mr=True,
                open_pr=True, also=_also(releases_of[package.name]), listed=night.listed),
                night.runner)
            night.rebases.append(rebased)
            outcome, detail = rebased.status, rebased.pull_request_detail \
                if rebased.pull_request_action == "failed" else ""
        except (MirrorctlError, OSError) as exc:  # one package's trouble stops no other
            if isinstance(exc, OSError):  # its queue folder is read-only, the disk full, ...
                exc = FileSystemError(exc)
            night.errors.append((package.name, str(exc)))
            outcome, detail = "failed", str(exc)
        night.progress.finish(package.name, outcome, detail)
    return f"{len(due)} carried" + (f", {len(night.errors)} failed" if night.errors else "")


def deliver_stage(night: Night) -> str:
    """Retirements requested, merged upgrades followed to their wheels (or settled), the
    roads to upstream riscv64 wheels followed."""
    config, options = night.config, night.options
    night.retirements = _retire(config, night.retiring,
                                {r.name: r for r in night.found}, options, night.runner,
                                night.listed, night.sleep, night.clock)
    night.followed = _publish(config, night.packages, options, night.listed) \
        if night.delivering else []
    if options.forges is not None and not options.dry_run:  # a merged request: settled
        _settle_merged(config, [p for p in night.packages if p.name not in night.targets],
                       options)
    night.roads = _roads(config, night.packages, options, night.runner, night.progress,
                         night.sleep, night.clock)
    said = [f"{len(night.retirements)} retirements" if night.retirements else "",
            f"{len(night.followed)} followed to their wheels" if night.followed else "",
            f"{len(night.roads)} roads" if night.roads else ""]
    return ", ".join(s for s in said if s) or "nothing to deliver"


def stacks_stage(night: Night) -> str:
    """The stacks of mirrors.yaml resolved (defaults.stacks, top_packages)."""
    night.stacks, needs = _stacks(night.config, night.options, night.runner, night.progress)
    night.needs += needs
    if night.stacks is None:
        return "no stacks in mirrors.yaml"
    return f"{len(night.stacks.by_root)} stacks, {len(night.stacks.blockers)} blockers"


def report_stage(night: Night) -> str:
    """The morning's report, and everything that needs a person."""
    config, options = night.config, night.options
    assert night.synced is not None
    report = morning_report(config, night.packages, workdir=options.workdir,
                            runner=night.runner, stamp=options.stamp, jobs=options.jobs,
                            stacks=night.stacks, currents=night.currents,
                            rebased={r.package: r for r in night.rebases},
                            builds=night.builds, progress=night.progress)
    needs = needs_human(night.synced, [*night.found, *night.watched], night.rebases,
                         night.errors, report)
    needs += [Need(a.package, cast(NeedKind, a.kind), "", a.detail)
              for a in stack_actions(night.stacks)] + night.needs
    needs += [Need(f.package, "publish-stalled", f.road.version, f.road.detail)
              for f in night.followed if f.road.state == "stalled"]
    needs += [Need(r.package, "retire-request-failed", "",
                   f"the retirement request was not delivered: {r.detail}")
              for r in night.retirements if r.action == "failed"]
    needs += wheel_needs(night.roads)
    report = replace(report, run_actions=tuple(action_of(n) for n in needs
                                               if n.kind not in IN_THE_REPORT))
    # What the packages' records still say needs a person, beyond tonight's findings
    # (yesterday's undelivered request, a queue that does not read, ...).
    said = {(n.package, n.kind) for n in needs}
    needs += [Need(a.package, cast(NeedKind, a.kind), "", a.detail) for a in report.actions
              if a.package and (a.package, a.kind) not in said]
    if not options.dry_run:
        _record_settled(options, report)
    night.report, night.needs = replace(report, night_started=options.stamp), needs
    return f"{report.summary}; {len(needs)} need{'s' if len(needs) == 1 else ''} a person"


def history_stage(night: Night) -> str:
    """The report kept in the history (before the notices, whose rate limits may wait
    long: a killed job keeps it)."""
    options = night.options
    if options.dry_run:
        return "not written: a dry run"
    try:
        night.history = write_record(options.workdir, options.stamp, night.the_report,
                                     [str(n) for n in night.needs])
    except OSError as exc:  # the report is still shown; the person learns why it is not kept
        night.needs.append(Need("", "history-not-written", "",
                                f"the history record is not written: {FileSystemError(exc)}"))
        return "not written"
    return f"written: {night.history.name}"


def notices_stage(night: Night) -> str:
    """What needs a person, as tracking issues (with --notify)."""
    config, options = night.config, night.options
    if not (options.notify and config.notices is not None and options.forges is not None):
        return "not asked"
    from mirrorctl.night.notices import notify
    from mirrorctl.upstream.forges.tracker import Pace

    if night.clock is None:
        raise ValueError("notices need the run's clock")
    pace = Pace(sleep=night.sleep, clock=night.clock)
    night.noticed = notify(night.the_report, config.notices, options.forges,
                           every_package=options.every_package, stamp=options.stamp,
                           pace=pace, redact=night.runner.settings.redactor)
    problems = list(night.noticed.problems)
    if night.roads:  # the builders' "<pkg> riscv64 support" issues, kept current
        from mirrorctl.night.campaign import tell_support_issues

        problems += tell_support_issues(night.roads, config.notices, options.forges, pace,
                                        options.workdir, options.stamp)
    failed = [Need("", "notices-failed", "", problem) for problem in problems]
    night.needs += failed
    night.report = replace(night.the_report, run_actions=(*night.the_report.run_actions,
                                                          *map(action_of, failed)))
    return f"{len(problems)} problems" if problems else "delivered"


# What a night does, in order (report.nights.STAGES names them, for a night cut short).
STAGES: tuple[tuple[str, Callable[[Night], str]], ...] = (
    ("sync", sync_stage), ("releases", releases_stage), ("carry", carry_stage),
    ("deliver", deliver_stage), ("stacks", stacks_stage), ("report", report_stage),
    ("history", history_stage), ("notices", notices_stage))


def _stacks(config: Config, options: NightlyOptions, runner: GitRunner,
            progress: Progress) -> tuple[Stacks | None, list[Need]]:
    """The stacks of mirrors.yaml, resolved on a night of every package (a night of some
    named packages shows the last ones resolved); a record not kept is a need."""
    from mirrorctl.night.stacks import night_stacks, recorded_stacks

    if not options.every_package:
        return recorded_stacks(options.workdir), []
    try:
        return night_stacks(config, options.workdir, stamp=options.stamp, runner=runner,
                            progress=progress, keep=not options.dry_run), []
    except OSError as exc:
        return recorded_stacks(options.workdir), [Need(
            "", "stack-unknown", "", f"the stacks are not kept: {FileSystemError(exc)}; "
            "the report shows the last ones kept")]


def _retire(config: Config, packages: Sequence[Package], releases: Mapping[str, ReleaseList],
            options: NightlyOptions, runner: GitRunner, listed: OpenRequests | None,
            sleep: Callable[[float], None],
            clock: Callable[[], float] | None) -> list[RetireRequest]:
    """The retirement request of each package whose upstream ships riscv64 wheels."""
    if not packages:
        return []
    from mirrorctl.night.deliver.retire_request import retirement
    from mirrorctl.upstream.forges.tracker import Pace

    assert options.forges is not None
    if clock is None:
        raise ValueError("a delivering night needs the run's clock")
    return [retirement(config, package, releases[package.name], workdir=options.workdir,
                       runner=runner, forges=options.forges, listed=listed,
                       pace=Pace(sleep=sleep, clock=clock)) for package in packages]


def _roads(config: Config, packages: Sequence[Package], options: NightlyOptions,
           runner: GitRunner, progress: Progress, sleep: Callable[[float], None],
           clock: Callable[[], float] | None) -> list[Road]:
    """The roads to upstream riscv64 wheels, when the night follows them (recorded)."""
    if not options.wheels or options.forges is None or options.dry_run:
        return []
    import time

    from mirrorctl.grade.pypi import PypiClient
    from mirrorctl.upstream.forges.tracker import Pace
    from mirrorctl.upstream.wheels.road import RoadOptions, wheel_roads

    pace = Pace(sleep=sleep, clock=clock or time.time)
    return wheel_roads(config, packages, RoadOptions(workdir=options.workdir,
                                                     stamp=options.stamp, jobs=options.jobs,
                                                     pace=pace),
                       runner,
                       options.forges, PypiClient(config.pypi_url, retries=config.retries),
                       progress)


def _publish(config: Config, packages: Sequence[Package], options: NightlyOptions,
             listed: OpenRequests | None) -> list[Followed]:
    """Each upgrade's road after its request: merged, dispatched from the default branch,
    followed to its wheels in the registry (night.publish)."""
    from mirrorctl.night.deliver.publish import PublishOptions, follow_roads, publishes

    if not publishes(config) or options.forges is None:
        return []
    registry = None
    if config.registry_url is not None:
        from mirrorctl.grade.registry import RegistryClient

        registry = RegistryClient(config.registry_url, retries=config.retries).files
    return follow_roads(config, packages, PublishOptions(
        workdir=options.workdir, stamp=options.stamp, forges=options.forges, listed=listed,
        registry=registry))


def _settle_merged(config: Config, packages: Sequence[Package], options: NightlyOptions) -> None:
    """An upgrade whose request was merged is settled, where no road follows it to its
    published wheels (a GitLab site, `publish: false`, an upgrade from before roads)."""
    from mirrorctl.grade.road import recorded_road
    from mirrorctl.night.deliver.publish import publishes

    assert options.forges is not None
    following = publishes(config)
    for package in packages:
        if following and recorded_road(read_record(options.workdir, package.name)):
            continue
        with contextlib.suppress(OSError):  # not kept: the next run asks again
            settle_merged(config, package, options.workdir, options.forges, by="nightly",
                          at=options.stamp)


def _record_settled(options: NightlyOptions, report: Report) -> None:
    """Keep what the builds settled (an upgrade whose builds passed), so that later
    readers need not ask the forges again to know it."""
    from mirrorctl.grade.upgrade import record_settled

    for package in report.packages:
        if package.settled:
            with contextlib.suppress(OSError):  # not kept: the next run establishes it again
                record_settled(options.workdir, package.name, package.settled,
                               by="nightly", at=options.stamp)


def _also(releases: ReleaseList) -> tuple[str, ...]:
    """The older releases due that the upgrade's request builds too (after what the
    registry has built, and after the current queue), oldest first."""
    if releases.built is None or releases.current is None:
        return ()
    return tuple(v for v in releases.due[:-1] if Version(v) > Version(releases.current))


def _retiring(packages: Sequence[Package], found: Sequence[ReleaseList]) -> list[Package]:
    """The packages whose upstream now ships riscv64 wheels (or only pure-Python ones):
    their retirement is requested instead of an upgrade."""
    retire = {r.name for r in found if r.can_retire and not r.retired}
    return [p for p in packages if p.name in retire]


def _target(releases: ReleaseList) -> str | None:
    """The release the nightly carries a queue onto: the newest one due (after what the
    registry has built), or with no registry the newest after the current queue; None
    when that is not newer than the current queue."""
    wanted = releases.due if releases.built is not None or releases.due else releases.new
    if not wanted or releases.current is None:
        return None
    newest = wanted[-1]
    return newest if Version(newest) > Version(releases.current) else None


