"""`mirrorctl classify`: the grade of each package's upgrade to its next release.

Per package: the build facts of both release tags, read from git objects (one
ls-tree a tag, one cat-file --batch for the interesting files), and a rebase dry run
of the queue in the object store; then classify.grade. Nothing is checked out and
nothing is written but git objects in the cache.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from mirrorctl.core.config import Config, Package
from mirrorctl.core.errors import MirrorctlError, UsageError
from mirrorctl.core.git import GitRunner, Repository
from mirrorctl.core.grades import Grade, Level, Reason, default_levels
from mirrorctl.grade.buildconfig import BuildFacts, build_facts, interesting
from mirrorctl.grade.grading import grade
from mirrorctl.queue.branches import checked_version
from mirrorctl.queue.carry import RebaseReport
from mirrorctl.queue.engine import PatchOutcome, rebase_patches
from mirrorctl.queue.folders import current_version
from mirrorctl.queue.patches import read_queue
from mirrorctl.queue.replay import PatchDoesNotApply
from mirrorctl.sync.cache import (
    newest_release,
    open_cache,
    package_runner,
    release_tag,
    target_release,
)
from mirrorctl.sync.standing import sync_standing

__all__ = ["BuildReasons", "Classification", "ClassifyOptions", "classify_packages",
           "grade_rebase", "grade_upgrade"]


# What the builds of an upgrade say, as grade reasons: (package, new version, current
# version, the queue's outcomes) -> reasons. Supplied by who can ask the forges.
BuildReasons = Callable[[Package, str, str, "Sequence[PatchOutcome] | None"], list[Reason]]


@dataclass(frozen=True, kw_only=True)
class ClassifyOptions:
    workdir: Path
    onto: str | None = None
    jobs: int = 4
    builds: BuildReasons | None = None


@dataclass(frozen=True, kw_only=True)
class Classification:
    name: str
    from_version: str | None
    to_version: str | None = None
    onto: str | None = None
    grade: Grade | None = None
    error: str | None = None
    outcomes: tuple[PatchOutcome, ...] = ()  # of the rebase dry run onto `onto`


def classify_packages(config: Config, packages: Sequence[Package], options: ClassifyOptions,
                      runner: GitRunner) -> list[Classification]:
    if options.onto is not None and len(packages) != 1:
        raise UsageError("--onto names one release: classify one package with it")
    with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
        return list(pool.map(lambda p: _classify(config, p, options, runner), packages))


def _classify(config: Config, package: Package, options: ClassifyOptions,
              runner: GitRunner) -> Classification:
    try:
        return classify_package(config, package, options, runner)
    except MirrorctlError as exc:
        if isinstance(exc, UsageError) and options.onto is not None:
            raise  # a bad target for the one package asked about: exit 2
        # One package's trouble (no cache, no version) never stops the others.
        current = current_version(config, package)
        return Classification(name=package.name, from_version=current, error=str(exc))


def classify_package(config: Config, package: Package, options: ClassifyOptions,
                     runner: GitRunner) -> Classification:
    current = checked_version(None, package, config)
    cache = open_cache(options.workdir, package, package_runner(runner, package))
    cache.read_tags()  # grading moves no tag: every tag it asks about, from one read
    standing = sync_standing(options.workdir, package, tags=cache.tag_names())
    if options.onto is None and standing.upstream_problem is not None:
        raise MirrorctlError(standing.upstream_problem)
    onto = options.onto
    if onto is None:
        onto = newest_release(cache, package, above=current)
        if onto is None:
            up_to_date = Grade(level="easy", reasons=(
                Reason("up-to-date", f"no release newer than {current} in the cache"),))
            return Classification(name=package.name, from_version=current, to_version=current,
                                  grade=up_to_date)
    version, tag = target_release(cache, package, onto, current)
    old_tag, old_base = release_tag(cache, package, current)
    new_base = release_tag(cache, package, version)[1]
    outcomes, extra = _dry_run(config, package, cache, current, old_base, new_base, old_tag)
    if options.builds is not None:
        extra = [*extra, *options.builds(package, version, current, outcomes)]
    result = grade_upgrade(config, package, cache, old_tag, tag, outcomes, extra)
    return Classification(name=package.name, from_version=current, to_version=version,
                          onto=tag, grade=result, outcomes=tuple(outcomes or ()))


def grade_upgrade(config: Config, package: Package, cache: Repository, old_tag: str,
                  new_tag: str, outcomes: Sequence[PatchOutcome] | None,
                  extra: Sequence[Reason] = ()) -> Grade:
    """The grade from both tags' build facts and rebase outcomes already computed."""
    # config.grades and pin_grade hold levels the config loader checked.
    levels = {**default_levels(), **cast(Mapping[str, Level], config.grades)}
    pin = cast("tuple[Level, str] | None", package.pin_grade)
    return grade(_facts(cache, old_tag), _facts(cache, new_tag), outcomes, levels=levels,
                 pin=pin, extra=extra)


def grade_rebase(config: Config, package: Package, rebased: RebaseReport, *, workdir: Path,
                 runner: GitRunner, builds: BuildReasons | None = None) -> Grade:
    """The grade of an upgrade a rebase just made, from its outcomes (no second dry run),
    and from its builds when `builds` can say."""
    if rebased.grade is not None:
        return rebased.grade
    cache = open_cache(workdir, package, package_runner(runner, package))
    old_tag = package.tag_format.tag_for(rebased.from_version)
    extra = builds(package, rebased.to_version, rebased.from_version,
                   rebased.result.outcomes) if builds is not None else []
    return grade_upgrade(config, package, cache, old_tag, rebased.onto,
                         rebased.result.outcomes, extra)


def _facts(cache: Repository, tag: str) -> BuildFacts:
    entries = cache.tree_entries(f"refs/tags/{tag}^{{tree}}")
    paths = [path for _, kind, _, path in entries if kind == "blob"]
    submodules = {path: oid for _, kind, oid, path in entries if kind == "commit"}
    wanted = {path: oid for _, kind, oid, path in entries if kind == "blob" and interesting(path)}
    blobs = cache.read_blobs(wanted.values())
    files = {path: blobs.get(oid, b"").decode("utf-8", "replace") for path, oid in wanted.items()}
    return build_facts(files, paths, submodules)


def _dry_run(config: Config, package: Package, cache: Repository, version: str,
             old_base: str, new_base: str,
             old_tag: str) -> tuple[list[PatchOutcome] | None, list[Reason]]:
    """The rebase outcomes of the current queue (None: no queue, or one that upstream took
    whole), and reasons it gave."""
    queue, problems = read_queue(config.patchsets, package.name, version)
    if not queue.directory.is_dir() or not (queue.patches or problems):
        return None, []
    if problems:
        return [], [Reason("queue-broken", str(problems[0]))]
    try:
        result = rebase_patches(cache, queue.patches, old_base=old_base, new_base=new_base,
                                old_name=old_tag)
    except PatchDoesNotApply as exc:
        return [], [Reason("queue-broken", str(exc))]
    return list(result.outcomes), []
