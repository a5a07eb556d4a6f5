"""`mirrorctl classify`: the grade of each package's upgrade to its next release.

Per package: the build facts of both release tags, read from git objects (one
ls-tree a tag, one cat-file --batch for the interesting files), and a rebase dry run
of the queue in the object store; then classify.grade. Nothing is checked out and
nothing is written but git objects in the cache.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import cast

from mirrorctl.core.config import Config, Package
from mirrorctl.core.errors import FileSystemError, MirrorctlError, UsageError
from mirrorctl.core.git import GitRunner
from mirrorctl.core.grades import Grade, Level, Reason, default_levels
from mirrorctl.core.keptfile import KeptFileError
from mirrorctl.core.record import PackageRecord, read_record
from mirrorctl.core.repository import Repository
from mirrorctl.core.run import Currents
from mirrorctl.core.stamps import stamp_text
from mirrorctl.core.turns import Turns
from mirrorctl.grade.buildconfig import FACTS_FILE, BuildFacts, build_facts, interesting
from mirrorctl.grade.grading import WheelCheck, grade
from mirrorctl.grade.upgrade import Upgrade, builds_settle, pending_upgrade, recorded_upgrade
from mirrorctl.grade.workflows import cibuildwheel_options, package_workflows
from mirrorctl.queue.branches import checked_version
from mirrorctl.queue.carried import CARRY, recorded_outcomes
from mirrorctl.queue.carry import RebaseReport
from mirrorctl.queue.engine import PatchOutcome, rebase_patches
from mirrorctl.queue.folders import currents_of
from mirrorctl.queue.kept import kept_patches
from mirrorctl.queue.patches import PatchQueue, read_queue
from mirrorctl.queue.replay import PatchDoesNotApply
from mirrorctl.sync.cache import (
    newest_release,
    open_cache,
    package_runner,
    release_tag,
    target_release,
    untagged,
)
from mirrorctl.sync.standing import sync_standing

__all__ = ["BuildReasons", "CarryUnknown", "Classification", "ClassifyOptions", "QueueUnreadable",
           "classify_packages", "grade_rebase", "grade_upgrade"]


# What the builds of an upgrade say, as grade reasons: (package, new version, current
# version, the queue's outcomes) -> reasons. Supplied by who can ask the forges.
BuildReasons = Callable[[Package, str, str, "Sequence[PatchOutcome] | None"], list[Reason]]


@dataclass(frozen=True, kw_only=True)
class ClassifyOptions:
    workdir: Path
    onto: str | None = None
    jobs: int = 1  # packages graded at once (the run's, for classify_packages)
    builds: BuildReasons | None = None
    currents: Currents | None = None  # the run's current versions (core.run.Run.currents)


@dataclass(frozen=True, kw_only=True)
class Classification:
    name: str
    from_version: str | None
    to_version: str | None = None
    onto: str | None = None
    grade: Grade | None = None
    error: str | None = None
    outcomes: tuple[PatchOutcome, ...] = ()  # of the rebase onto `onto` (dry run, or recorded)
    # The recorded upgrade this grade is, carried and not yet settled (its grade stays
    # the package's until then); `settled`: how this run found it settled.
    pending: Upgrade | None = None
    settled: str | None = None
    recorded: bool = False  # the outcomes are the record's carry, not a dry run
    unreadable_queue: bool = False  # the error is the current queue's: it does not read
    queue: PatchQueue | None = None  # the current queue as read (None: it has no folder)
    # The cache's branches and tags as this grade read them (a reader vouches for the
    # cache with them, without reading them again).
    refs: Mapping[str, str] | None = field(default=None, compare=False, repr=False)


class QueueUnreadable(MirrorctlError):
    """The current queue does not read: nothing about its carry can be established."""


class CarryUnknown(MirrorctlError):
    """The last carry was killed or failed after it wrote its queue (the record says)."""


def classify_packages(config: Config, packages: Sequence[Package], options: ClassifyOptions,
                      runner: GitRunner) -> list[Classification]:
    if options.onto is not None and len(packages) != 1:
        raise UsageError("--onto names one release: classify one package with it")
    options = replace(options, currents=currents_of(config, options.currents))
    with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
        return list(pool.map(Turns().taking(lambda p: _classify(config, p, options, runner)),
                             packages))


def _classify(config: Config, package: Package, options: ClassifyOptions,
              runner: GitRunner) -> Classification:
    try:
        return classify_package(config, package, options, runner)
    except MirrorctlError as exc:
        if isinstance(exc, UsageError) and options.onto is not None:
            raise  # a bad target for the one package asked about: exit 2
        # One package's trouble (no cache, no version) never stops the others.
        current = currents_of(config, options.currents).of(package)
        return Classification(name=package.name, from_version=current, error=str(exc),
                              unreadable_queue=isinstance(exc, QueueUnreadable))


def classify_package(config: Config, package: Package, options: ClassifyOptions,
                     runner: GitRunner, *, record: PackageRecord | None = None,
                     ) -> Classification:
    """The grade of the package's upgrade; `record`: its record, when the caller read it."""
    current = checked_version(None, package, config, currents=options.currents)
    record = record if record is not None else read_record(options.workdir, package.name)
    cache = open_cache(options.workdir, package, package_runner(runner, package))
    cache.read_tags()  # grading moves no tag: every tag it asks about, from one read
    standing = sync_standing(options.workdir, package, tags=cache.tag_names(), record=record,
                             refs=cache.read_refs)
    if options.onto is None and (standing.upstream_problem or standing.failed):
        # Whatever side failed, the package's state is not established: never graded.
        raise MirrorctlError(standing.upstream_problem or f"the last sync {standing.health}; "
                             f"its state is not known until `mirrorctl sync {package.name}` "
                             "succeeds")
    recorded = recorded_upgrade(record)
    if options.onto is None and recorded is not None and not recorded.is_known:
        # A carry that did not finish (killed, failed after writing): whatever a dry run
        # would say now, the package's state is not known until a person checks it.
        raise CarryUnknown(f"its last carry is unknown: {recorded.unknown}")
    queue = _readable_queue(config, package, current, options.workdir)
    if (why := untagged(cache.tag_names(), package, current)) is not None:
        raise MirrorctlError(why)  # where it stands is not known: never "up to date"
    onto = options.onto or newest_release(cache, package, above=current)
    if onto is None:
        return replace(_nothing_newer(config, package, cache, record, current, options),
                       queue=queue, refs=cache.read_refs)
    return replace(_onto(config, package, cache, record, current, onto, queue, options),
                   refs=cache.read_refs)


def _onto(config: Config, package: Package, cache: Repository, record: PackageRecord,
          current: str, onto: str, queue: PatchQueue | None,
          options: ClassifyOptions) -> Classification:
    """The upgrade onto a release: the record's carry of this very queue onto it when it
    holds one (its grade too, unless the builds have more to say), else a dry run."""
    version, tag = target_release(cache, package, onto, current)
    old_tag, old_base = release_tag(cache, package, current)
    new_base = release_tag(cache, package, version)[1]
    carry = record.get(CARRY)
    outcomes: list[PatchOutcome] | None = None
    extra: list[Reason] = []
    if carry is not None and carry.value is not None and queue is not None \
            and carry.value.stands_for(current, new_base, queue.digest):
        outcomes = recorded_outcomes(carry.value, queue)
    if outcomes is None:  # no carry recorded of this queue onto this release: dry-run it
        carry = None
        outcomes, extra = _dry_run(cache, queue, old_base, new_base, old_tag, tag)
    recorded = recorded_upgrade(record)
    if carry is not None and recorded is not None and recorded.value is not None \
            and recorded.value.settled is None and options.builds is None \
            and (recorded.value.from_version, recorded.value.to_version) == (current, version):
        result = recorded.value.grade  # the night's own grade of this very carry
    else:
        if options.builds is not None:
            extra = [*extra, *options.builds(package, version, current, outcomes)]
        result = grade_upgrade(config, package, cache, old_tag, tag, outcomes, extra,
                               workdir=options.workdir)
    return Classification(name=package.name, from_version=current, to_version=version,
                          onto=tag, grade=result, outcomes=tuple(outcomes or ()),
                          recorded=carry is not None, queue=queue)


def _readable_queue(config: Config, package: Package, version: str,
                    workdir: Path) -> PatchQueue | None:
    """The current queue (None when it has no folder: nothing to carry); a queue that does
    not read makes the package's carry unknown, never 'up to date'. Its files are parsed
    once: the parses are kept in the work directory (queue.kept)."""
    kept = kept_patches(workdir, package.name)
    queue, problems = read_queue(config.patchsets, package.name, version, kept=kept)
    if kept is not None:
        kept.save()
    if not queue.directory.is_dir():
        return None
    if problems:
        more = f" (and {len(problems) - 1} more: `mirrorctl validate` lists them)" \
            if len(problems) > 1 else ""
        raise QueueUnreadable(f"its queue {queue.directory} does not read: {problems[0]}{more}")
    return queue


def _nothing_newer(config: Config, package: Package, cache: Repository, record: PackageRecord,
                   current: str, options: ClassifyOptions) -> Classification:
    """No release after the current queue: up to date, unless the upgrade that carried the
    queue here is not settled yet, whose grade then stays the package's."""
    recorded = recorded_upgrade(record)
    if recorded is not None and not recorded.is_known:
        raise CarryUnknown(f"its last carry is unknown: {recorded.unknown}")
    pending = pending_upgrade(record, current)
    if pending is None:
        # The upgrade that brought it here, settled: how, by whom (a person's note), when.
        done = recorded.value if recorded is not None else None
        said = (f"; the upgrade {done.from_version} -> {done.to_version} was settled: "
                f"{done.settled.how} ({done.settled.by}, {stamp_text(done.settled.at)})"
                if done is not None and done.settled is not None
                and done.to_version == current else "")
        up_to_date = Grade(level="easy", reasons=(
            Reason("up-to-date", f"no release newer than {current} in the cache{said}"),))
        return Classification(name=package.name, from_version=current, to_version=current,
                              grade=up_to_date,
                              settled=done.settled.how if said and done and done.settled
                              else None)
    grade_now, settled = pending.grade, None
    if options.builds is not None:  # what its builds say now, on top of the recorded carry
        carry = record.get(CARRY)
        old_queue = read_queue(config.patchsets, package.name, pending.from_version)[0]
        outcomes = recorded_outcomes(carry.value, old_queue) \
            if carry is not None and carry.value is not None else None
        reasons = options.builds(package, pending.to_version, pending.from_version, outcomes)
        if builds_settle(reasons):
            settled = "its builds passed"
        old_tag = package.tag_format.tag_for(pending.from_version)
        if cache.tag_commit(old_tag) is not None:
            grade_now = grade_upgrade(config, package, cache, old_tag, pending.onto,
                                      outcomes, reasons, workdir=options.workdir)
    if settled is not None:
        grade_now = Grade(level="easy", reasons=(Reason(
            "up-to-date", f"no release newer than {current} in the cache; the upgrade "
                          f"{pending.from_version} -> {current} is settled: {settled}"),))
    return Classification(name=package.name, from_version=pending.from_version,
                          to_version=pending.to_version, onto=pending.onto, grade=grade_now,
                          pending=pending, settled=settled, recorded=True)


def grade_upgrade(config: Config, package: Package, cache: Repository, old_tag: str,
                  new_tag: str, outcomes: Sequence[PatchOutcome] | None,
                  extra: Sequence[Reason] = (), *, workdir: Path | None = None) -> Grade:
    """The grade from both tags' build facts and rebase outcomes already computed, and
    what the builders' own workflows of the package set; with `requirement_wheels:
    true`, whether a requirement the upgrade adds or moves has riscv64 wheels (the
    index's answers kept under `workdir`)."""
    # config.grades and pin_grade hold levels the config loader checked.
    levels = {**default_levels(), **cast(Mapping[str, Level], config.grades)}
    pin = cast("tuple[Level, str] | None", package.pin_grade)
    wheels = requirement_wheels(config.pypi_url, config.registry_url, config.retries,
                                tuple(config.registry_platforms), workdir) \
        if config.requirement_wheels else None
    return grade(_facts(cache, old_tag), _facts(cache, new_tag), outcomes, levels=levels,
                 pin=pin, extra=extra, pythons=config.python_versions,
                 overrides=cibuildwheel_options(package_workflows(config, package)),
                 wheels=wheels)


def requirement_wheels(pypi_url: str, registry_url: str | None, retries: int,
                       platforms: tuple[str, ...], workdir: Path | None) -> WheelCheck:
    """The index (and registry) a grade asks; their answers kept under `workdir`."""
    from mirrorctl.grade.index import PackageIndex
    from mirrorctl.grade.registry import RegistryClient
    from mirrorctl.grade.stackinstall import RequirementWheels

    index = PackageIndex(pypi_url, kept=workdir / "index" if workdir else None,
                         retries=retries)
    registry = RegistryClient(registry_url, retries=retries) if registry_url else None
    return RequirementWheels(index, registry, platforms)


def grade_rebase(config: Config, package: Package, rebased: RebaseReport, *, workdir: Path,
                 runner: GitRunner, builds: BuildReasons | None = None) -> Grade:
    """The grade of an upgrade a rebase just made, from its outcomes (no second dry run),
    and from its builds when `builds` can say."""
    if rebased.grade is not None:
        return rebased.grade
    cache = open_cache(workdir, package, package_runner(runner, package))
    cache.read_tags()  # grading moves no tag
    old_tag = package.tag_format.tag_for(rebased.from_version)
    extra = builds(package, rebased.to_version, rebased.from_version,
                   rebased.result.outcomes) if builds is not None else []
    return grade_upgrade(config, package, cache, old_tag, rebased.onto,
                         rebased.result.outcomes, extra, workdir=workdir)


def _facts(cache: Repository, tag: str) -> BuildFacts:
    """The build facts of a release tag's tree: kept beside the cache by the tree's id
    (a tree never changes, so neither do its facts), computed once a tree."""
    tree = cache.tag_tree(tag)
    if tree is None:
        return _tree_facts(cache, f"refs/tags/{tag}^{{tree}}")  # raises what git says
    # Not a mirrorctl-* folder: those are a run's scratch, swept when a run starts.
    kept = cache.git_dir / "mirrorctl" / "facts" / f"{tree}.json"
    with contextlib.suppress(KeptFileError):  # kept by another version, or unreadable:
        found = FACTS_FILE.read(kept)          # computed again (nothing here is the only copy)
        if found is not None:
            return found
    facts = _tree_facts(cache, tree)
    with contextlib.suppress(FileSystemError):  # a read-only or full cache: next time
        FACTS_FILE.write(kept, facts)
    return facts


def _tree_facts(cache: Repository, tree: str) -> BuildFacts:
    entries = cache.tree_entries(tree)
    paths = [path for _, kind, _, path in entries if kind == "blob"]
    submodules = {path: oid for _, kind, oid, path in entries if kind == "commit"}
    wanted = {path: oid for _, kind, oid, path in entries if kind == "blob" and interesting(path)}
    blobs = cache.read_blobs(wanted.values())
    files = {path: blobs.get(oid, b"").decode("utf-8", "replace") for path, oid in wanted.items()}
    return build_facts(files, paths, submodules)


def _dry_run(cache: Repository, queue: PatchQueue | None, old_base: str, new_base: str,
             old_tag: str, new_tag: str) -> tuple[list[PatchOutcome] | None, list[Reason]]:
    """The rebase outcomes of the current queue (None: no queue, or one that upstream took
    whole), and reasons it gave."""
    if queue is None or not queue.patches:
        return None, []
    try:
        result = rebase_patches(cache, queue.patches, old_base=old_base, new_base=new_base,
                                old_name=old_tag, new_name=new_tag)
    except PatchDoesNotApply as exc:
        return [], [Reason("queue-broken", str(exc))]
    return list(result.outcomes), []
