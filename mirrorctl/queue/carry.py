"""`mirrorctl rebase`: a package's queue carried onto a newer release, and the manual
resolution of its conflicts (--worktree, then --continue), with resolutions
remembered beside the queue for the next time the same conflict comes up.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

from mirrorctl.core.config import Config, Package
from mirrorctl.core.errors import MirrorctlError, UsageError
from mirrorctl.core.files import replace_dir, same_files
from mirrorctl.core.git import GitRunner
from mirrorctl.core.grades import Grade
from mirrorctl.core.lock import no_readers
from mirrorctl.core.release import Release
from mirrorctl.core.repository import Repository
from mirrorctl.core.run import Currents
from mirrorctl.queue.branches import (
    FORMAT_PATCH_STABLE,
    PushResult,
    checked_queue,
    checked_version,
    mirror_of,
    push_branch,
    remove_stale_scratch,
    remove_stale_staging,
)
from mirrorctl.queue.engine import (
    Outcome,
    PatchOutcome,
    RebaseResult,
    rebase_patches,
    settle_conflict,
)
from mirrorctl.queue.folders import PARTIAL_MARK, is_partial
from mirrorctl.queue.kept import kept_patches
from mirrorctl.queue.patches import PatchQueue
from mirrorctl.queue.resolve import (
    Resolutions,
    conflict_ids,
    open_worktree,
    remove_person_worktrees,
    remove_worktree,
    take_resolution,
)
from mirrorctl.queue.waiting import DecidedPatch, WaitingRebase, waiting_path, waiting_worktree
from mirrorctl.sync.cache import (
    NothingNewer,
    cache_dir,
    open_cache,
    package_runner,
    release_tag,
    target_release,
    untagged,
)
from mirrorctl.sync.standing import sync_standing, unvouched

__all__ = ["AbortReport", "ForgetReport", "RebaseOptions", "RebaseReport", "abort_rebase",
           "continue_rebase", "forget_resolution", "rebase_queue"]

# nothing-to-carry: every patch went upstream; the new release's folder is written with
# only a series file saying so, and is the package's current (empty) queue from then on.
# no-patches: the queue carried was empty (a package that carries no patch): no folder is
# written; the upgrade is its version bump, and its merged request moves it forward.
WriteResult = Literal["written", "unchanged", "not-written", "nothing-to-carry", "no-patches"]


@dataclass(frozen=True, kw_only=True)
class RebaseOptions:
    workdir: Path
    onto: str | None = None  # a tag or a version; default: the newest release
    keep_partial: bool = False
    force: bool = False
    range_diff: bool = False
    worktree: Path | None = None  # where to leave the first conflict for a person
    push: bool = False  # push riscv64/<new version> to the mirror after a clean rebase
    # The queue to carry, when not the current one: a carry made already, made again
    # to deliver it (its folder is then found unchanged).
    from_version: str | None = None
    dry_run: bool = False  # say what would be written; write nothing (queues, worktrees)
    currents: Currents | None = None  # the run's current versions (core.run.Run.currents)


@dataclass(frozen=True, kw_only=True)
class RebaseReport:
    package: str
    from_version: str
    to_version: str
    onto: str
    result: RebaseResult
    patchset: Path
    written: WriteResult
    range_diff: str | None = None
    worktree: Path | None = None  # where a conflict waits for a person
    waiting_patch: str | None = None
    branch: str = ""  # riscv64/<new version>
    push: PushResult | None = None
    push_detail: str = ""
    grade: Grade | None = None  # set by who delivers the rebase (night.mirror_request)
    merge_request: str | None = None  # the mirror MR's URL
    merge_request_action: str | None = None  # opened | updated
    # The upgrade's pull request in the builders' repository (night.upgrade_request).
    pull_request: str | None = None
    pull_request_action: str | None = None  # opened | updated | unchanged | skipped
    pull_request_detail: str = ""
    # Older requests of the package a person pushed to: left open, for a person.
    pull_request_kept: tuple[str, ...] = ()
    # The versions the request builds (a `Trigger:` line each): older releases due, whose
    # queues were carried too, and this one.
    triggered: tuple[str, ...] = ()
    dry_run: bool = False  # `written` says what would have been written
    onto_commit: str = ""  # the new release's commit
    queue_digest: str = ""  # the queue carried (PatchQueue.digest)

    @property
    def from_release(self) -> Release:
        """The release the queue was carried from (its current one before)."""
        return Release(self.from_version)

    @property
    def to_release(self) -> Release:
        """The release the queue was carried onto."""
        return Release(self.to_version)

    @property
    def status(self) -> str:
        return self.result.status


@dataclass(frozen=True)
class _Run:
    """What a rebase works with, resolved once."""

    config: Config
    package: Package
    cache: Repository
    queue: PatchQueue
    old_tag: str
    old_base: str
    new_version: str
    new_tag: str
    new_base: str
    resolutions: Resolutions


def rebase_queue(config: Config, package: Package, options: RebaseOptions,
                 runner: GitRunner) -> RebaseReport:
    """Carry the queue of the package's current version onto a newer release."""
    old_version = options.from_version or checked_version(None, package, config,
                                                          currents=options.currents)
    cache = open_cache(options.workdir, package, package_runner(runner, package))
    if waiting_path(options.workdir, package.name).exists():
        raise UsageError(f"a rebase of {package.name} is waiting for --continue; finish it, or "
                         f"end it with `mirrorctl rebase {package.name} --abort`")
    if not options.dry_run:  # a dry run reads beside the others, as classify does
        _tidy(options.workdir, cache)
    # A carry moves no tag: every tag it asks about, from one read; what it learnt is
    # kept only once the queue and the target are checked (input refused writes nothing).
    cache.read_tags(keep=False)
    try:
        new_version, new_tag = target_release(cache, package, options.onto, old_version)
    except NothingNewer:
        _established(config, package, cache, old_version, options)
        raise
    run = _prepare(config, package, cache, old_version, new_version, new_tag, options)
    cache.keep_tags()
    result = _replay(run, ())
    return _finish(run, options, result, _write(run, options, result))


def continue_rebase(config: Config, package: Package, options: RebaseOptions,
                    runner: GitRunner) -> RebaseReport:
    """Take the person's resolution of the waiting patch and carry on with the rest. The
    worktree and the waiting state go only once the new queue is written: a refusal
    (a folder that holds another queue) leaves the rebase waiting, as it was."""
    waiting = WaitingRebase.load(options.workdir, package.name)
    if waiting is None:
        raise UsageError(f"no rebase of {package.name} is waiting for --continue")
    cache = open_cache(options.workdir, package, package_runner(runner, package))
    run = _prepare(config, package, cache, waiting.from_version, waiting.to_version,
                   waiting.onto, options)
    if tuple(p.name for p in run.queue.patches) != waiting.patches:
        raise UsageError(f"the queue of {package.name} {waiting.from_version} changed since "
                         f"the rebase stopped; end this rebase with `mirrorctl rebase "
                         f"{package.name} --abort` and rebase again")
    patch = run.queue.patches[len(waiting.decided)]
    tree, committed = take_resolution(cache, waiting.worktree, waiting.waiting_on,
                                      package=package.name)
    learnt = run.resolutions.learn(waiting.waiting_commit, waiting.waiting_on, tree,
                                   list(waiting.conflicted)) \
        if committed and waiting.waiting_commit else []
    run.resolutions.note([*waiting.conflict_ids, *learnt], patch.name)
    run.resolutions.save()
    settled = settle_conflict(cache, patch, None, tree, onto=waiting.waiting_on,
                              how="conflict resolved by hand")
    decided = [*(_outcome_of(d, run.queue) for d in waiting.decided), settled]
    options = RebaseOptions(workdir=options.workdir, keep_partial=waiting.keep_partial,
                            force=waiting.force or options.force,
                            range_diff=options.range_diff, worktree=waiting.worktree)
    result = _replay(run, decided)
    written = _write(run, options, result)
    remove_worktree(cache, waiting.worktree)
    waiting_path(options.workdir, package.name).unlink()
    return _finish(run, options, result, written)


def _established(config: Config, package: Package, cache: Repository, current: str,
                 options: RebaseOptions) -> None:
    """Nothing newer is said only of a package whose state is established (an emptied
    cache has no newer tag either): the sync recorded and vouched for, the queue read,
    its version a release. What stops it is raised."""
    standing = sync_standing(options.workdir, package, tags=cache.tag_names())
    if standing.upstream_problem is not None or standing.failed:
        raise MirrorctlError(f"{package.name}: " + (
            standing.upstream_problem or f"the last sync {standing.health}; what is newer is "
            f"not known until `mirrorctl sync {package.name}` succeeds"))
    checked_queue(config, package, current, empty=True, currents=options.currents)
    if (why := untagged(cache.tag_names(), package, current)) is not None:
        raise MirrorctlError(f"{package.name}: {why}")


def _prepare(config: Config, package: Package, cache: Repository, old_version: str,
             new_version: str, new_tag: str, options: RebaseOptions) -> _Run:
    workdir = options.workdir
    if (why := unvouched(workdir, package)) is not None:
        # A tag moved in a stale cache is not upstream's release: nothing carries onto it.
        raise MirrorctlError(f"{package.name}: {why}")
    kept = kept_patches(workdir, package.name)  # the queue's files as parsed before
    queue = checked_queue(config, package, old_version, kept=kept, empty=True,
                          currents=options.currents)
    if kept is not None:
        kept.save()
    old_tag, old_base = release_tag(cache, package, old_version)
    new_base = release_tag(cache, package, new_version)[1]
    resolutions = Resolutions(cache, config.patchsets / package.name / ".rr-cache")
    resolutions.load()
    return _Run(config, package, cache, queue, old_tag, old_base, new_version, new_tag,
                new_base, resolutions)


def _replay(run: _Run, decided: list[PatchOutcome] | tuple[()]) -> RebaseResult:
    resolver = run.resolutions.try_pick if run.resolutions.any_remembered() else None
    return rebase_patches(run.cache, run.queue.patches, old_base=run.old_base,
                          new_base=run.new_base, old_name=run.old_tag, resolver=resolver,
                          decided=decided, new_name=run.new_tag)


def _write(run: _Run, options: RebaseOptions, result: RebaseResult) -> WriteResult:
    """Write the new queue when the rebase is clean (or --keep-partial says so); an empty
    queue writes nothing."""
    if not run.queue.patches:
        return "no-patches"
    if result.status == "clean" or options.keep_partial:
        target = run.config.patchsets / run.package.name / run.new_version
        try:
            return _write_rebased(run.cache, run.queue, result, target, onto=run.new_tag,
                                  force=options.force, dry_run=options.dry_run)
        finally:  # a folder written (or half-tried): the current version is read again
            if options.currents is not None:
                options.currents.forget(run.package.name)
    return "not-written"


def _finish(run: _Run, options: RebaseOptions, result: RebaseResult,
            written: WriteResult) -> RebaseReport:
    target = run.config.patchsets / run.package.name / run.new_version
    worktree = waiting = None
    if result.status == "conflict" and options.worktree is not None:
        worktree = options.worktree.resolve()
        waiting = _stop_for_a_person(run, options, result, worktree)
    range_diff = None
    if options.range_diff and result.head and result.old_head:
        # Shown, never needed: one git cannot draw (a range left empty) costs no rebase.
        shown = run.cache.git("range-diff", "--no-color", f"{run.old_base}..{result.old_head}",
                              f"{run.new_base}..{result.head}", check=False)
        range_diff = shown.stdout if shown.returncode == 0 else None
    branch = f"riscv64/{run.new_version}"
    push: PushResult | None = None
    push_detail = ""
    if options.push and run.queue.patches:  # an empty queue is upstream's tag: no branch
        if result.status == "clean":
            push, push_detail = push_branch(run.cache, mirror_of(run.package),
                                            f"refs/heads/{branch}", result.head,
                                            force=options.force)
        else:
            push, push_detail = "refused", "a patch conflicts: nothing is pushed"
    return RebaseReport(package=run.package.name, from_version=run.queue.version,
                        to_version=run.new_version, onto=run.new_tag, result=result,
                        patchset=target, written=written, range_diff=range_diff,
                        worktree=worktree, waiting_patch=waiting, branch=branch, push=push,
                        push_detail=push_detail, dry_run=options.dry_run,
                        onto_commit=run.new_base,
                        queue_digest=run.queue.digest)


def _stop_for_a_person(run: _Run, options: RebaseOptions, result: RebaseResult,
                       worktree: Path) -> str:
    """Leave the first conflict in `worktree` and remember where the rebase stands."""
    index = next(i for i, o in enumerate(result.outcomes) if o.waits)
    onto = result.head_before(index, run.new_base)
    open_worktree(run.cache, worktree, onto, result.old_commits[index])
    WaitingRebase(
        package=run.package.name, from_version=run.queue.version, to_version=run.new_version,
        onto=run.new_tag, worktree=worktree, waiting_on=onto,
        patches=tuple(p.name for p in run.queue.patches),
        decided=tuple(_decided(o) for o in result.outcomes[:index]),
        keep_partial=options.keep_partial, force=options.force,
        conflict_ids=tuple(conflict_ids(run.cache, worktree)),
        config=run.config.path.resolve(), waiting_commit=result.old_commits[index],
        conflicted=result.outcomes[index].files).save(options.workdir)
    return result.outcomes[index].patch.name


@dataclass(frozen=True, kw_only=True)
class AbortReport:
    package: str
    ended: bool  # a waiting rebase was found and ended
    worktrees: tuple[Path, ...]  # the worktrees removed
    detail: str


def abort_rebase(config: Config, package: Package, options: RebaseOptions,
                 runner: GitRunner) -> AbortReport:
    """End a waiting rebase whatever its state: worktree gone, state file corrupt or
    missing. The queues are not touched; the worktree of the person goes."""
    path = waiting_path(options.workdir, package.name)
    recorded = waiting_worktree(options.workdir, package.name)
    # The waiting rebases of the other wheels sharing this cache keep their worktrees.
    others = {w for p in config.packages.values()
              if p.cache == package.cache and p.name != package.name
              and (w := waiting_worktree(options.workdir, p.name)) is not None}
    removed: list[Path] = []
    cache_path = cache_dir(options.workdir, package)
    if (cache_path / "HEAD").is_file():
        cache = Repository(cache_path, package_runner(runner, package))
        removed = remove_person_worktrees(cache, recorded, keep=others)
        with contextlib.suppress(UsageError):  # a state that cannot be read has no ids
            if (waiting := WaitingRebase.load(options.workdir, package.name)) is not None:
                # Its conflicts were never resolved: forgotten, so that the next
                # --worktree records them afresh rather than as a second variant.
                Resolutions(cache, config.patchsets / package.name / ".rr-cache").forget_unresolved(
                    waiting.conflict_ids)
        _tidy(options.workdir, cache)
    ended = path.exists() or path.is_symlink() or bool(removed)
    path.unlink(missing_ok=True)
    if not ended:
        raise UsageError(f"no rebase of {package.name} is waiting: nothing to abort")
    detail = (f"removed the worktree {', '.join(map(str, removed))}" if removed
              else "its worktree was already gone")
    return AbortReport(package=package.name, ended=ended, worktrees=tuple(removed),
                       detail=detail)


@dataclass(frozen=True, kw_only=True)
class ForgetReport:
    package: str
    patch: str
    forgotten: int


def forget_resolution(config: Config, package: Package, patch: str, options: RebaseOptions,
                      runner: GitRunner) -> ForgetReport:
    """Forget the remembered conflict resolutions of one patch, in the queue's .rr-cache and
    in the cache's copy of it."""
    if waiting_path(options.workdir, package.name).exists():
        raise UsageError(f"a rebase of {package.name} is waiting for --continue; finish it, "
                         f"or end it with `mirrorctl rebase {package.name} --abort`")
    cache = open_cache(options.workdir, package, package_runner(runner, package))
    resolutions = Resolutions(cache, config.patchsets / package.name / ".rr-cache")
    return ForgetReport(package=package.name, patch=patch,
                        forgotten=resolutions.forget(patch))


def _tidy(workdir: Path, cache: Repository) -> None:
    """Remove what killed runs left in the cache. We hold the work-directory lock, so no
    writer's git runs; a reader's scratch files look the same, so not while one reads."""
    with no_readers(workdir) as alone:
        if alone:
            remove_stale_scratch(cache)


def _decided(outcome: PatchOutcome) -> DecidedPatch:
    return DecidedPatch(patch=outcome.patch.name, outcome=outcome.outcome,
                        files=tuple(outcome.files), upstream_commit=outcome.upstream_commit,
                        detail=outcome.detail, commit=outcome.commit,
                        old_commit=outcome.old_commit)


def _outcome_of(decided: DecidedPatch, queue: PatchQueue) -> PatchOutcome:
    patch = next(p for p in queue.patches if p.name == decided.patch)
    return PatchOutcome(patch=patch, outcome=cast(Outcome, decided.outcome),
                        files=decided.files, upstream_commit=decided.upstream_commit,
                        detail=decided.detail, commit=decided.commit,
                        old_commit=decided.old_commit)


def _write_rebased(cache: Repository, queue: PatchQueue, result: RebaseResult, target: Path,
                   *, onto: str, force: bool, dry_run: bool = False) -> WriteResult:
    """Write the carried queue whole: applied patches keep their bytes, merged ones are
    regenerated under their old names, upstreamed, dropped and conflicting ones are left
    out. When nothing is left to carry, the folder holds a series file that says so. A
    partial queue (--keep-partial) of this release is replaced without --force: the
    rebase that completes it is what it waited for."""
    if not any(o.outcome in ("applied", "merged") for o in result.outcomes) \
            and any(o.waits for o in result.outcomes):
        return "not-written"  # --keep-partial with nothing but conflicts: nothing to write
    if dry_run:  # staged apart, compared, never put in place
        staging = Path(tempfile.mkdtemp(prefix=f"mirrorctl-dry-run-{target.name}-"))
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_staging(target.parent)
        staging = Path(tempfile.mkdtemp(prefix=f".export-{target.name}-", dir=target.parent))
    try:
        kept = []
        for outcome in result.outcomes:
            if outcome.outcome == "applied":
                (staging / outcome.patch.name).write_bytes(outcome.patch.path.read_bytes())
            elif outcome.outcome == "merged" and outcome.commit is not None:
                text = cache.git("format-patch", "--stdout", *FORMAT_PATCH_STABLE, "-1",
                                 outcome.commit).stdout
                if "\ndiff --git " not in text:  # never an empty patch, whatever led here
                    raise MirrorctlError(f"{outcome.patch.name}: its refreshed commit "
                                         f"{outcome.commit[:12]} changes nothing; no empty "
                                         "patch is written")
                (staging / outcome.patch.name).write_text(text, encoding="utf-8")
            else:
                continue
            kept.append(outcome.patch.name)
        if not kept:
            # The folder is still written, so that the new release is the current queue
            # (empty) from which the next one is carried, and a build finds its folder.
            (staging / "series").write_text(_nothing_left(queue.version, onto, result),
                                            encoding="utf-8")
        elif conflicts := [o.patch.name for o in result.outcomes if o.waits]:
            # --keep-partial: a queue to try builds with, never the current one (the next
            # release is carried from the whole queue, so no patch is lost).
            (staging / "series").write_text(
                f"{PARTIAL_MARK} {', '.join(conflicts)} conflicted on {onto} and is left out; "
                "this queue is never current\n" + "".join(f"{name}\n" for name in kept),
                encoding="utf-8")
        elif (queue.directory / "series").is_file():
            (staging / "series").write_text("".join(f"{name}\n" for name in kept))
        if same_files(staging, target):
            return "unchanged" if kept else "nothing-to-carry"
        if target.exists() and not force and not is_partial(target):
            raise UsageError(f"{target} exists and differs from this rebase's result; pass "
                             "--force to replace it")
        if not dry_run:
            replace_dir(staging, target)
        return "written" if kept else "nothing-to-carry"
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _nothing_left(version: str, onto: str, result: RebaseResult) -> str:
    dropped = [o.patch.name for o in result.outcomes if o.outcome == "dropped"]
    undone = [o.patch.name for o in result.outcomes if o.outcome == "undone"]
    if not dropped and not undone:
        return f"# Nothing left to carry: every patch of {version} is upstream in {onto}.\n"
    said = [*([", ".join(dropped) + " dropped by hand"] if dropped else []),
            *([", ".join(undone) + f" taken and undone upstream before {onto}"]
              if undone else [])]
    others = ", the others upstream" if len(dropped) + len(undone) < len(result.outcomes) \
        else ""
    return (f"# Nothing left to carry from {version} onto {onto}: "
            + "; ".join(said) + f"{others}.\n")
