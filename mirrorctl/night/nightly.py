"""`mirrorctl nightly`: what the team runs every night and reads every morning.

sync, then releases, then a rebase of every package that has a new release (writing
the new queue; pushing riscv64/<version> and opening the mirror's merge request only
when asked), then the report. One package failing never stops the others; the result
says what needs a person. Each run leaves a JSON record under <workdir>/history/.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, cast

from packaging.version import Version

from mirrorctl.core.config import Config, Package
from mirrorctl.core.errors import FileSystemError, MirrorctlError
from mirrorctl.core.git import GitRunner
from mirrorctl.core.needs import NeedKind, next_command
from mirrorctl.core.progress import SILENT, Progress
from mirrorctl.core.record import read_record
from mirrorctl.grade.releases import ReleaseList, ReleaseOptions, check_releases
from mirrorctl.night.campaign import recorded_campaign
from mirrorctl.night.site_requests import OpenRequests
from mirrorctl.night.upgrade import (
    UpgradeOptions,
    carry_upgrade,
    settle_merged,
    undelivered_carry,
)
from mirrorctl.queue.carry import RebaseOptions, RebaseReport
from mirrorctl.report.build import build_report
from mirrorctl.report.nights import begin_night, end_night, reach_stage
from mirrorctl.report.report import Action, Report, stack_actions, write_record
from mirrorctl.sync.run import SyncOptions, SyncReport, sync_packages

if TYPE_CHECKING:
    from mirrorctl.night.notices import NoticesResult
    from mirrorctl.night.publish import Followed
    from mirrorctl.night.retire_request import RetireRequest
    from mirrorctl.report.stacks import Stacks
    from mirrorctl.upstream.forges.forge import ForgeSettings
    from mirrorctl.upstream.wheels.road import Road

__all__ = ["Need", "NightlyOptions", "NightlyResult", "run_nightly"]


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


@dataclass(frozen=True)
class Need:
    """One thing that needs a person after the night: which package, what kind of thing,
    the ref or patch it is about (or ""), and the detail."""

    package: str
    kind: NeedKind
    subject: str
    detail: str

    def __str__(self) -> str:  # the line the table and the JSON's needs_human show
        if not self.package:
            return self.detail
        if self.kind == "conflict":
            return f"{self.package}: {self.subject} {self.detail}"
        if self.kind == "ref-needs-decision":
            return f"{self.package}: {self.subject}: {self.detail}"
        return f"{self.package}: {self.detail}"


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

    @property
    def needs_human(self) -> tuple[str, ...]:
        return tuple(str(need) for need in self.needs)


def run_nightly(config: Config, packages: Sequence[Package], options: NightlyOptions,
                runner: GitRunner, *, sleep: Callable[[float], None],
                clock: Callable[[], float] | None = None,
                progress: Progress = SILENT) -> NightlyResult:
    # Retired packages (upstream ships riscv64 wheels) are only watched: PyPI is asked
    # whether their latest release still does; nothing is synced, carried or graded.
    retired = [p for p in packages if p.retired]
    packages = [p for p in packages if not p.retired]
    if options.dry_run and (options.push or options.notify):
        raise ValueError("a dry run pushes, delivers and files nothing")
    stage = _Stages(options)
    stage.begin()  # a night killed from here on is said so
    synced = sync_packages(packages, SyncOptions(workdir=options.workdir, jobs=options.jobs,
                                                       stamp=options.stamp,
                                                       dry_run=options.dry_run),
                           runner, sleep=sleep, progress=progress)
    # With the builders' registry, PyPI is asked too: what is due must be released there.
    # One request builds at most `max_versions` releases (their bot's cap), the newest.
    limit = config.pull_requests.max_versions if config.pull_requests is not None else 3
    stage.reach("releases")
    found = check_releases(config, packages, ReleaseOptions(
        workdir=options.workdir, jobs=options.jobs, pypi=config.registry_url is not None,
        limit=limit), runner)
    watched = check_releases(config, retired, ReleaseOptions(
        workdir=options.workdir, jobs=options.jobs, pypi=True), runner) if retired \
        else []
    # Each package's release to carry onto (None: the standing carry, delivered again); a
    # package that carries no patch is carried too: its upgrade is the version bump.
    targets: dict[str, str | None] = {
        package.name: target for package, releases in zip(packages, found, strict=True)
        if (target := _target(releases)) is not None and releases.current is not None}
    if options.push and config.pull_requests is not None:
        # A carry whose request was never delivered is delivered again (its rebase made
        # again: the queue it wrote is found unchanged).
        targets.update({p.name: None for p in packages if p.name not in targets
                        and undelivered_carry(config, p, options.workdir) is not None})
    delivering = options.push and config.pull_requests is not None \
        and options.forges is not None
    listed = OpenRequests() if delivering else None
    retiring = _retiring(packages, found) if delivering else []
    for package in retiring:  # upstream ships riscv64 wheels: retired, not upgraded
        targets.pop(package.name, None)
    due = [package for package in packages if package.name in targets]
    releases_of = {r.name: r for r in found}
    rebases: list[RebaseReport] = []
    errors: list[tuple[str, str]] = []
    stage.reach("carry")
    if due:
        progress.stage("rebase", [p.name for p in due])
    builds = None
    if options.forges is not None and config.pull_requests is not None:
        from mirrorctl.night.build_results import BuildResults

        builds = BuildResults(config, options.forges, options.workdir).reasons
    for package in due:
        progress.start(package.name)
        try:
            rebased = carry_upgrade(config, package, UpgradeOptions(
                rebase=RebaseOptions(workdir=options.workdir, onto=targets[package.name],
                                     dry_run=options.dry_run,
                                     # no mirror: nothing to push
                                     push=options.push and package.mirror is not None,
                                     range_diff=options.push),
                stamp=options.stamp, by="nightly", builds=builds,
                # Only a delivering night opens requests (and pays for the forges).
                forges=options.forges if options.push else None, open_mr=True,
                open_pr=True, also=_also(releases_of[package.name]), listed=listed), runner)
            rebases.append(rebased)
            outcome, detail = rebased.status, rebased.pull_request_detail \
                if rebased.pull_request_action == "failed" else ""
        except (MirrorctlError, OSError) as exc:  # one package's trouble stops no other
            if isinstance(exc, OSError):  # its queue folder is read-only, the disk full, ...
                exc = FileSystemError(exc)
            errors.append((package.name, str(exc)))
            outcome, detail = "failed", str(exc)
        progress.finish(package.name, outcome, detail)
    stage.reach("deliver")
    retirements = _retire(config, retiring, releases_of, options, runner, listed, sleep,
                          clock)
    followed = _publish(config, packages, options, listed) if delivering else []
    if options.forges is not None and not options.dry_run:  # a merged request: settled
        _settle_merged(config, [p for p in packages if p.name not in targets], options)
    roads = _roads(config, packages, options, runner, progress, sleep, clock)
    stage.reach("stacks")
    stacks, stacks_need = _stacks(config, options, runner, progress)
    stage.reach("report")
    report = build_report(config, packages, workdir=options.workdir, runner=runner,
                          stamp=options.stamp, jobs=options.jobs,
                          rebased={r.package: r for r in rebases}, progress=progress,
                          builds=builds)
    report = replace(report, campaign=recorded_campaign(options.workdir, packages),
                     stacks=stacks)
    needs = _needs_human(synced, [*found, *watched], rebases, errors, report)
    needs += [Need(a.package, cast(NeedKind, a.kind), "", a.detail)
              for a in stack_actions(stacks)] + stacks_need
    needs += [Need(f.package, "publish-stalled", f.road.version, f.road.detail)
              for f in followed if f.road.state == "stalled"]
    needs += [Need(r.package, "retire-request-failed", "",
                   f"the retirement request was not delivered: {r.detail}")
              for r in retirements if r.action == "failed"]
    needs += wheel_needs(roads)
    report = replace(report, run_actions=tuple(_action(n) for n in needs
                                               if n.kind not in _IN_THE_REPORT))
    # What the packages' records still say needs a person, beyond tonight's findings
    # (yesterday's undelivered request, a queue that does not read, ...).
    said = {(n.package, n.kind) for n in needs}
    needs += [Need(a.package, cast(NeedKind, a.kind), "", a.detail) for a in report.actions
              if a.package and (a.package, a.kind) not in said]
    if not options.dry_run:
        _record_settled(options, report)
    history: Path | None = None
    stage.reach("history")
    report = replace(report, night_started=options.stamp)
    try:  # before the notices, whose rate limits may wait long: a killed job keeps it
        history = None if options.dry_run else write_record(
            options.workdir, options.stamp, report, [str(n) for n in needs])
    except OSError as exc:  # the report is still shown; the person learns why it is not kept
        needs.append(Need("", "history-not-written", "",
                          f"the history record is not written: {FileSystemError(exc)}"))
    noticed = None
    if options.notify and config.notices is not None and options.forges is not None:
        from mirrorctl.night.notices import notify
        from mirrorctl.upstream.forges.tracker import Pace

        if clock is None:
            raise ValueError("notices need the run's clock")
        stage.reach("notices")
        noticed = notify(report, config.notices, options.forges,
                         every_package=options.every_package, stamp=options.stamp,
                         pace=Pace(sleep=sleep, clock=clock),
                         redact=runner.settings.redactor)
        problems = list(noticed.problems)
        if roads:  # the builders' "<pkg> riscv64 support" issues, kept current
            from mirrorctl.night.campaign import tell_support_issues

            problems += tell_support_issues(roads, config.notices, options.forges,
                                            Pace(sleep=sleep, clock=clock), options.workdir,
                                            options.stamp)
        failed = [Need("", "notices-failed", "", problem) for problem in problems]
        needs += failed
        report = replace(report, run_actions=(*report.run_actions, *map(_action, failed)))
    ended = _stamp_of(clock) if clock is not None else options.stamp
    stage.end(ended)
    report = replace(report, night_ended=ended)
    return NightlyResult(sync=synced, releases=(*found, *watched), rebases=tuple(rebases),
                         rebase_errors=tuple(errors), report=report, needs=tuple(needs),
                         history=history, notices=noticed, wheels=tuple(roads),
                         retirements=tuple(retirements), dry_run=options.dry_run)


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


def _retire(config: Config, packages: Sequence[Package], releases: Mapping[str, ReleaseList],
            options: NightlyOptions, runner: GitRunner, listed: OpenRequests | None,
            sleep: Callable[[float], None],
            clock: Callable[[], float] | None) -> list[RetireRequest]:
    """The retirement request of each package whose upstream ships riscv64 wheels."""
    if not packages:
        return []
    from mirrorctl.night.retire_request import retirement
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


def wheel_needs(roads: Sequence[Road]) -> list[Need]:
    """What the roads ask of a person: upstream declined or undid riscv64 wheels (read
    why), or ships them (retire the package)."""
    needs = []
    for road in roads:
        kind: NeedKind | None = {"declined": "wheels-declined", "reverted": "wheels-reverted",
                                 "shipped": "wheels-shipped",
                                 "pure-python": "wheels-shipped"}.get(road.state)  # type: ignore[assignment]
        if kind is not None and (road.changed or kind == "wheels-shipped"):
            needs.append(Need(road.name, kind, "", road.reasons[0] if road.reasons else ""))
    return needs


# Needs the report finds in the packages themselves (report.package_actions).
_IN_THE_REPORT = ("conflict",)


def _publish(config: Config, packages: Sequence[Package], options: NightlyOptions,
             listed: OpenRequests | None) -> list[Followed]:
    """Each upgrade's road after its request: merged, dispatched from the default branch,
    followed to its wheels in the registry (night.publish)."""
    from mirrorctl.night.publish import PublishOptions, follow_roads, publishes

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
    from mirrorctl.night.publish import publishes

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


def _action(need: Need) -> Action:
    # What the morning's report says of the same need, from the record, word for word.
    detail = f"{need.subject}: {need.detail}" if need.kind == "ref-needs-decision" \
        else need.detail
    return Action(need.package, need.kind, detail, next_command(need.kind, need.package))


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


def _needs_human(synced: SyncReport, found: Sequence[ReleaseList],
                 rebases: Sequence[RebaseReport], errors: Sequence[tuple[str, str]],
                 report: Report) -> list[Need]:
    needs = [Need(p.name, "sync-failed", "", f"sync failed: {p.error}")
             for p in synced.packages if p.error]
    needs += [Need(p.name, "ref-needs-decision", u.ref, u.detail) for p in synced.packages
              for u in p.refs if u.needs_human]
    needs += [Need(r.name, "releases-unknown", "", problem) for r in found
              for problem in r.problems]
    needs += [Need(r.name, "registry-unreadable", "", r.registry_error) for r in found
              if r.registry_error]
    needs += [Need(r.name, "retired-needs-building", "", r.retire_alarm) for r in found
              if r.retire_alarm]
    needs += [Need(r.name, "retired-unwatched", "", f"PyPI could not be asked: {r.pypi_error}")
              for r in found if r.retired and r.pypi_error]
    needs += [Need(r.package, "conflict", o.patch.name,
                   f"conflicts on {r.onto}" if o.outcome == "conflict" else o.detail)
              for r in rebases for o in r.result.outcomes if o.waits]
    needs += [Need(r.package, "push-refused", r.branch, f"pushing {r.branch} was {r.push}: "
                   f"{r.push_detail}") for r in rebases if r.push in ("refused", "rejected")]
    needs += [Need(r.package, "pull-request-failed", r.to_version,
                   f"the upgrade's pull request was not delivered: {r.pull_request_detail}")
              for r in rebases if r.pull_request_action == "failed"]
    needs += [Need(r.package, "request-superseded-kept", url,
                   f"{url} is superseded by {r.pull_request}, but a person pushed to it: "
                   "it is left open; move their work to the new request, or close it")
              for r in rebases for url in r.pull_request_kept]
    needs += [Need(name, "rebase-failed", "", f"rebase failed: {error}")
              for name, error in errors]
    return needs
