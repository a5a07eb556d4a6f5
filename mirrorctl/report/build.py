"""The report built now: each package's row from its record (core.record) and its
caches, then assembled against the history.

A row says what the package's facts establish and nothing more: the sync's health
and what the mirror holds as the last sync read them (sync.standing), the grade of the
upgrade that still stands on it (grade.upgrade) or, with none, classify's grade now,
the patches of its current queue with their outcomes, and what needs a person (a ref
to decide, a failed sync, an unreadable queue, a refused push, an undelivered request,
a failed or unknown carry). What could not be established is unknown, with why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from mirrorctl.core.config import Config, Package
from mirrorctl.core.errors import MirrorctlError
from mirrorctl.core.git import GitRunner
from mirrorctl.core.needs import next_command
from mirrorctl.core.progress import SILENT, Progress
from mirrorctl.core.record import PackageRecord, read_record
from mirrorctl.core.run import Currents
from mirrorctl.core.stamps import stamp_text
from mirrorctl.core.turns import Turns
from mirrorctl.core.urls import forge_kind, tree_url, web_url
from mirrorctl.grade.builds import kept_results, summary
from mirrorctl.grade.classify import (
    BuildReasons,
    CarryUnknown,
    Classification,
    ClassifyOptions,
    QueueUnreadable,
    classify_package,
    grade_rebase,
)
from mirrorctl.grade.road import recorded_road
from mirrorctl.grade.upgrade import UPGRADE
from mirrorctl.queue.carried import CARRY
from mirrorctl.queue.engine import Outcome
from mirrorctl.queue.folders import currents_of, queue_versions
from mirrorctl.queue.kept import KeptStatuses
from mirrorctl.queue.patches import PatchFile, queue_statuses, read_queue
from mirrorctl.queue.waiting import waiting_worktree
from mirrorctl.report.debt import DebtReport, patch_debt
from mirrorctl.report.history import Record, read_history
from mirrorctl.report.report import Action, PackageReport, PatchRow, Report, assemble, record_of
from mirrorctl.sync.standing import SyncStanding, sync_standing

if TYPE_CHECKING:
    from mirrorctl.queue.carry import RebaseReport

__all__ = ["build_report", "package_links", "package_reports", "queue_debt", "recorded_needs"]


def build_report(config: Config, packages: Sequence[Package], *, workdir: Path,
                 runner: GitRunner, stamp: str, jobs: int,
                 rebased: Mapping[str, RebaseReport] | None = None,
                 progress: Progress = SILENT, builds: BuildReasons | None = None,
                 currents: Currents | None = None) -> Report:
    """The report now, against the history so far. `rebased`: rebases just made (by the
    nightly), whose outcomes grade their packages instead of a second rebase dry run.
    `builds`: what the upgrades' builds say, for their grades (who can ask the forges).
    `jobs`: packages read at once; `currents`: their current versions (the run's)."""
    history = read_history(workdir)
    currents = currents_of(config, currents)
    rows = package_reports(config, packages, workdir=workdir, runner=runner, rebased=rebased,
                           progress=progress, builds=builds, jobs=jobs, currents=currents)
    report = assemble(rows, history, stamp=stamp)
    # A night's report is kept in the history: its patch debt counts it, as the
    # morning's report will (both then say the same time to upstream).
    kept = (*history, record_of(report, stamp)) if rebased is not None else history
    return replace(report, debt=queue_debt(config, packages, kept, workdir,
                                           currents=currents))


def queue_debt(config: Config, packages: Sequence[Package],
               history: Sequence[Record], workdir: Path | None = None, *,
               currents: Currents | None = None) -> DebtReport:
    """Patch debt of these packages: every queue folder they keep, and the history.
    With `workdir`, the statuses of files read before are kept there (kept/).
    `currents`: their current versions (the run's)."""
    queues: dict[str, dict[str, dict[str, str]]] = {}
    currents = currents_of(config, currents)
    current: dict[str, str | None] = {}
    # Only in a work directory that exists: a report merged from CI's artifacts makes none.
    kept = KeptStatuses(workdir / "kept" / "statuses.json") \
        if workdir is not None and workdir.is_dir() else None
    for package in packages:
        current[package.name] = currents.of(package)
        for version in queue_versions(config.patchsets, package.name):
            # Names and statuses only: every folder kept, every night (their diffs are
            # the business of whoever applies them).
            queues.setdefault(package.name, {})[version] = queue_statuses(
                config.patchsets, package.name, version, kept)
    if kept is not None:
        kept.save()
    records = [(r.stamp, {name: (p.patches, p.accepted) for name, p in r.packages.items()})
               for r in history]
    return patch_debt(queues, records, current)


def package_reports(config: Config, packages: Sequence[Package], *, workdir: Path,
                    runner: GitRunner, rebased: Mapping[str, RebaseReport] | None = None,
                    progress: Progress = SILENT, builds: BuildReasons | None = None,
                    jobs: int = 1, currents: Currents | None = None,
                    ) -> tuple[PackageReport, ...]:
    progress.stage("grade", [p.name for p in packages])
    currents = currents_of(config, currents)

    def one(package: Package) -> PackageReport:
        progress.start(package.name)
        found = _package(config, package, workdir, runner, (rebased or {}).get(package.name),
                         builds, currents)
        progress.finish(found.name, found.grade.level if found.grade else "no grade",
                        "; ".join(found.problems))
        return found

    # Each package waits on git (and on the forges for its builds): `jobs` at once, as
    # classify does, taking turns at Python (core.turns); the order stays the packages'.
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return tuple(pool.map(Turns().taking(one), packages))


def _package(config: Config, package: Package, workdir: Path, runner: GitRunner,
             rebased: RebaseReport | None, builds: BuildReasons | None,
             currents: Currents) -> PackageReport:
    record = read_record(workdir, package.name)
    refs: Mapping[str, str] | None = None  # the cache's refs, once the grade read them
    if rebased is not None:
        row = _rebased_package(config, package, workdir, runner, rebased, builds, record)
    else:
        row, refs = _classified_package(config, package, workdir, runner, record, builds,
                                        currents)
    standing = sync_standing(workdir, package, record=record, refs=refs)
    waiting = waiting_worktree(workdir, package.name)
    return replace(row, sync=standing.health, mirrored=standing.mirrored.text,
                   waiting=str(waiting) if waiting is not None else "",
                   road=recorded_road(record),
                   needs=(*row.needs, *recorded_needs(package, record, standing)),
                   links=package_links(config, package, row.current, row.latest,
                                       mirrored=standing.mirrored.version,
                                       upgrade=row.upgrade[1] if row.upgrade else None,
                                       pull_request=_pull_request(record, rebased)))


def _classified_package(config: Config, package: Package, workdir: Path, runner: GitRunner,
                        record: PackageRecord, builds: BuildReasons | None,
                        currents: Currents) -> tuple[PackageReport, Mapping[str, str] | None]:
    """One package as classify sees it, the record's standing upgrade and carry included;
    and its cache's refs, as the grade read them (None: it could not be graded)."""
    current = currents.of(package)
    try:
        graded = classify_package(config, package,
                                  ClassifyOptions(workdir=workdir, builds=builds,
                                                  currents=currents), runner, record=record)
    except MirrorctlError as exc:  # no cache, no version, a queue that does not read ...
        return _unknown(config, package, current, exc), None
    rows = _rows(graded.queue.patches if graded.queue else (), _outcomes(graded, record))
    return PackageReport(name=package.name, current=current, latest=graded.to_version,
                         grade=graded.grade, patches=rows,
                         upgrade=(graded.pending.from_version, graded.pending.to_version)
                         if graded.pending and not graded.settled else None,
                         upgrade_note=_upgrade_note(package, record, graded),
                         settled=graded.settled or "",
                         **_builds(workdir, package.name, graded.to_version)), graded.refs


def _outcomes(graded: Classification, record: PackageRecord) -> dict[str, Outcome]:
    if graded.pending is None:
        return {o.patch.name: o.outcome for o in graded.outcomes}
    carry = record.get(CARRY)  # the carry that brought the queue where it is
    return {p.name: p.outcome for p in carry.value.patches} \
        if carry is not None and carry.value is not None else {}


def _upgrade_note(package: Package, record: PackageRecord, graded: Classification) -> str:
    """When and by what the standing upgrade was carried, and what settles it ("" with
    none standing: a settled one says how in `settled`)."""
    if graded.pending is None or graded.settled:
        return ""
    return _note(package, record, graded.pending.from_version, graded.pending.to_version)


def _note(package: Package, record: PackageRecord, old: str, new: str) -> str:
    fact = record.get(UPGRADE)
    when = f" by the {fact.by} of {stamp_text(fact.at)}" if fact and fact.at else ""
    return (f"carried {old} -> {new}{when}; its grade stands until its builds pass, its "
            "request is merged, a newer release is carried, or "
            f"`mirrorctl settle {package.name}`")


def _unknown(config: Config, package: Package, current: str | None,
             error: MirrorctlError) -> PackageReport:
    """A package whose grade could not be established. The patches of its current queue
    that read are listed; a file that does not read is a problem of that file, never a
    patch 'dropped', and the queue's need says so, whatever else failed."""
    queue, found = read_queue(config.patchsets, package.name, current) \
        if current is not None else (None, [])
    unreadable = [p for p in found if queue is not None and queue.directory.is_dir()]
    needs = []
    if unreadable:
        detail = str(error) if isinstance(error, QueueUnreadable) else str(unreadable[0])
        needs.append(Action(package.name, "queue-unreadable", detail,
                            next_command("queue-unreadable", package.name)))
    problems = [str(p) for p in unreadable]
    if not isinstance(error, QueueUnreadable | CarryUnknown):  # those say it in a need
        problems.insert(0, str(error))
    return PackageReport(name=package.name, current=current, latest=None, grade=None,
                         patches=_rows(queue.patches if queue else (), {}),
                         problems=tuple(problems) or (str(error),), needs=tuple(needs),
                         unreadable=tuple(Path(p.file).name for p in unreadable))


def _rebased_package(config: Config, package: Package, workdir: Path, runner: GitRunner,
                     rebased: RebaseReport, builds: BuildReasons | None,
                     record: PackageRecord) -> PackageReport:
    problems: list[str] = []
    grade = None
    try:
        grade = grade_rebase(config, package, rebased, workdir=workdir, runner=runner,
                             builds=builds)
    except MirrorctlError as exc:
        problems.append(str(exc))
    carried = rebased.written in ("written", "unchanged", "nothing-to-carry")
    outcomes = {o.patch.name: o.outcome for o in rebased.result.outcomes}
    current = rebased.to_version if carried else rebased.from_version
    # Once carried, a patch upstream took (or a person dropped) has left the queue: shown,
    # no longer counted among the patches carried.
    left = {o.patch.name for o in rebased.result.outcomes
            if carried and o.outcome not in ("applied", "merged")}
    return PackageReport(name=package.name, current=current, latest=rebased.to_version,
                         grade=grade,
                         patches=tuple(replace(row, left=row.name in left) for row in _rows(
                             [o.patch for o in rebased.result.outcomes], outcomes)),
                         problems=tuple(problems),
                         upgrade=(rebased.from_version, rebased.to_version) if carried
                         else None,
                         upgrade_note=_note(package, record, rebased.from_version,
                                            rebased.to_version) if carried else "",
                         **_builds(workdir, package.name, rebased.to_version))


def recorded_needs(package: Package, record: PackageRecord,
                   standing: SyncStanding) -> tuple[Action, ...]:
    """What the package's record says needs a person, and stays so until it is settled:
    the last sync's failure and the refs it left to decide (until a sync no longer finds
    them), a failed or unknown carry (until one is recorded, or `settle`), the standing
    upgrade's refused push and undelivered request (until it is settled), and a merged
    upgrade whose wheels are not published (until a night finds them)."""
    name = package.name

    def need(kind: str, detail: str) -> Action:
        return Action(name, kind, detail, next_command(kind, name))

    if record.problem is not None:  # it does not read, or was started afresh after that:
        # every fact is unknown for that one reason, which a person settles
        return (need("record-lost", record.problem),)
    needs = []
    if standing.failed:
        needs.append(need("sync-failed", f"the last sync failed: "
                                         f"{standing.health.removeprefix('failed: ')}"))
    needs += [need("ref-needs-decision", f"{n.ref}: {n.detail}") for n in standing.ref_needs]
    carry, upgrade = record.get(CARRY), record.get(UPGRADE)
    if carry is not None and not carry.is_known:
        needs.append(need("rebase-failed", carry.unknown or ""))
    if upgrade is not None and not upgrade.is_known:
        needs.append(need("carry-unknown", upgrade.unknown or ""))
    standing_upgrade = upgrade is not None and upgrade.value is not None \
        and upgrade.value.settled is None
    if carry is not None and carry.value is not None and standing_upgrade:
        done = carry.value
        if done.push in ("refused", "rejected"):
            needs.append(need("push-refused", f"pushing riscv64/{done.to_version} was "
                                              f"{done.push}: {done.push_detail}"))
        if done.pull_request_action == "failed":
            needs.append(need("pull-request-failed", "the upgrade's pull request was not "
                                                     f"delivered: {done.pull_request_detail}"))
    road = recorded_road(record)
    if road is not None and road.state == "stalled":  # until a night finds it published
        needs.append(need("publish-stalled", road.detail))
    return tuple(needs)


def _pull_request(record: PackageRecord, rebased: RebaseReport | None) -> str | None:
    if rebased is not None:
        return rebased.pull_request
    carry = record.get(CARRY)
    return carry.value.pull_request if carry is not None and carry.value is not None else None


def package_links(config: Config, package: Package, current: str | None,
                  latest: str | None, *, pull_request: str | None = None,
                  mirrored: str | None = None, upgrade: str | None = None,
                  ) -> tuple[tuple[str, str], ...]:
    """Where a person sees what a package's row names: its queue folder (on the
    repository's forge when pull_requests says where, else its path beside mirrors.yaml),
    the upgrade's pull request (or the search that finds it; `upgrade`: the version of
    an upgrade that still stands), the mirror's branch it holds, upstream's latest."""
    links: list[tuple[str, str]] = []
    site, apis = config.pull_requests, config.forge_apis
    if current is not None:
        try:
            folder = (config.patchsets / package.name / current).resolve().relative_to(
                config.path.resolve().parent).as_posix()
        except ValueError:
            folder = None
        page = tree_url(site.repository, site.base, folder, apis) if site and folder else None
        if page or folder:
            links.append(("queue", page or folder or ""))
    wanted = upgrade or (latest if latest != current else None)
    if site is not None and wanted is not None:
        branch = site.branch.format(name=package.name, version=wanted)
        searches = {"gitlab": f"{site.repository}/-/merge_requests?source_branch="
                              f"{quote(branch)}",
                    "github": f"{site.repository}/pulls?q={quote(f'is:pr head:{branch}')}"}
        kind = forge_kind(urlsplit(site.repository).hostname or "", apis)
        search = searches.get(kind, searches["github"])
        links.append(("upgrade", pull_request or search))
    mirror = package.mirror_web and mirrored is not None and tree_url(
        package.mirror_web, f"riscv64/{mirrored}", apis=apis)
    if mirror:
        links.append(("mirror", mirror))
    upstream = web_url(package.upstream)
    try:  # a link is never worth a package's report
        release = upstream and latest is not None and tree_url(
            upstream, package.tag_format.tag_for(latest), apis=apis)
    except ValueError:
        release = None
    if release:
        links.append(("upstream", release))
    return tuple(links)


def _builds(workdir: Path, name: str, version: str | None) -> dict[str, Any]:
    kept = kept_results(workdir, name, version)
    if kept is None:
        return {}
    return {"builds": tuple(summary(b) for b in kept.builds), "builds_source": kept.source}


def _rows(patches: Sequence[PatchFile], outcomes: Mapping[str, Outcome]) -> tuple[PatchRow, ...]:
    return tuple(PatchRow(name=p.name, status=p.status.kind, argument=p.status.argument,
                          outcome=outcomes.get(p.name)) for p in patches)
