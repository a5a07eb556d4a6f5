"""`mirrorctl rebase`: a package's queue carried onto a newer release, and the manual
resolution of its conflicts (--worktree, then --continue), with resolutions
remembered beside the queue for the next time the same conflict comes up.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mirrorctl.core.config import Config, Package
from mirrorctl.core.errors import UsageError
from mirrorctl.core.files import atomic_write_text, replace_dir, same_files
from mirrorctl.core.git import GitRunner, Repository
from mirrorctl.core.grades import Grade
from mirrorctl.core.lock import no_readers
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
from mirrorctl.queue.engine import PatchOutcome, RebaseResult, rebase_patches
from mirrorctl.queue.folders import PARTIAL_MARK
from mirrorctl.queue.patches import PatchQueue
from mirrorctl.queue.replay import commit_patch
from mirrorctl.queue.resolve import (
    Resolutions,
    conflict_ids,
    open_worktree,
    remove_person_worktrees,
    remove_worktree,
    take_resolution,
)
from mirrorctl.sync.cache import cache_dir, open_cache, package_runner, release_tag, target_release

__all__ = ["AbortReport", "ForgetReport", "RebaseOptions", "RebaseReport", "abort_rebase",
           "continue_rebase", "forget_resolution", "rebase_queue"]

# nothing-to-carry: every patch went upstream; the new release's folder is written with
# only a series file saying so, and is the package's current (empty) queue from then on.
WriteResult = Literal["written", "unchanged", "not-written", "nothing-to-carry"]
# What a rebase waiting for --continue remembers (rebase/<package>.json).
_STATE_KEYS = frozenset({"from", "to", "onto", "worktree", "waiting_on", "patches", "decided",
                         "keep_partial", "force"})


@dataclass(frozen=True, kw_only=True)
class RebaseOptions:
    workdir: Path
    onto: str | None = None  # a tag or a version; default: the newest release
    keep_partial: bool = False
    force: bool = False
    range_diff: bool = False
    worktree: Path | None = None  # where to leave the first conflict for a person
    push: bool = False  # push riscv64/<new version> to the mirror after a clean rebase


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
    old_version = checked_version(None, package, config)
    cache = open_cache(options.workdir, package, package_runner(runner, package))
    if _state_path(options.workdir, package).exists():
        raise UsageError(f"a rebase of {package.name} is waiting for --continue; finish it, or "
                         f"end it with `mirrorctl rebase {package.name} --abort`")
    _tidy(options.workdir, cache)
    new_version, new_tag = target_release(cache, package, options.onto, old_version)
    run = _prepare(config, package, cache, old_version, new_version, new_tag)
    return _finish(run, options, _replay(run, ()))


def continue_rebase(config: Config, package: Package, options: RebaseOptions,
                    runner: GitRunner) -> RebaseReport:
    """Take the person's resolution of the waiting patch and carry on with the rest."""
    path = _state_path(options.workdir, package)
    if not path.is_file():
        raise UsageError(f"no rebase of {package.name} is waiting for --continue")
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(state, dict) or not state.keys() >= _STATE_KEYS:
            raise ValueError("it is not a whole rebase state")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"the waiting rebase of {package.name} cannot be read ({path}: {exc}); "
                         f"end it with `mirrorctl rebase {package.name} --abort`") from None
    cache = open_cache(options.workdir, package, package_runner(runner, package))
    run = _prepare(config, package, cache, state["from"], state["to"], state["onto"])
    names = [p.name for p in run.queue.patches]
    if names != state["patches"]:
        raise UsageError(f"the queue of {package.name} {state['from']} changed since the rebase "
                         f"stopped; end this rebase with `mirrorctl rebase {package.name} "
                         "--abort` and rebase again")
    worktree = Path(state["worktree"])
    waiting = run.queue.patches[len(state["decided"])]
    tree = take_resolution(cache, worktree, state["waiting_on"], package=package.name)
    run.resolutions.note(state.get("conflict_ids", []), waiting.name)
    run.resolutions.save()
    commit = commit_patch(cache, tree, state["waiting_on"], waiting)
    decided = [*(_outcome_from_json(o, run.queue) for o in state["decided"]),
               PatchOutcome(patch=waiting, outcome="merged", files=waiting.files,
                            commit=commit, detail="conflict resolved by hand; the refreshed "
                                                  "patch is written")]
    remove_worktree(cache, worktree)
    path.unlink()
    options = RebaseOptions(workdir=options.workdir, keep_partial=state["keep_partial"],
                            force=state["force"], range_diff=options.range_diff,
                            worktree=worktree)
    return _finish(run, options, _replay(run, decided))


def _prepare(config: Config, package: Package, cache: Repository, old_version: str,
             new_version: str, new_tag: str) -> _Run:
    queue = checked_queue(config, package, old_version)
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
                          decided=decided)


def _finish(run: _Run, options: RebaseOptions, result: RebaseResult) -> RebaseReport:
    target = run.config.patchsets / run.package.name / run.new_version
    written: WriteResult = "not-written"
    if result.status == "clean" or options.keep_partial:
        written = _write_rebased(run.cache, run.queue, result, target, onto=run.new_tag,
                                 force=options.force)
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
    if options.push:
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
                        push_detail=push_detail)


def _stop_for_a_person(run: _Run, options: RebaseOptions, result: RebaseResult,
                       worktree: Path) -> str:
    """Leave the first conflict in `worktree` and remember where the rebase stands."""
    index = next(i for i, o in enumerate(result.outcomes) if o.outcome == "conflict")
    onto = result.head_before(index, run.new_base)
    open_worktree(run.cache, worktree, onto, result.old_commits[index])
    ids = conflict_ids(run.cache, worktree)
    state = {
        "from": run.queue.version, "to": run.new_version, "onto": run.new_tag,
        "worktree": str(worktree), "waiting_on": onto,
        "patches": [p.name for p in run.queue.patches],
        "decided": [_outcome_json(o) for o in result.outcomes[:index]],
        "keep_partial": options.keep_partial, "force": options.force,
        "conflict_ids": ids, "config": str(run.config.path.resolve()),
    }
    atomic_write_text(_state_path(options.workdir, run.package), json.dumps(state, indent=1))
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
    path = _state_path(options.workdir, package)
    recorded = _recorded_worktree(path)
    # The waiting rebases of the other wheels sharing this cache keep their worktrees.
    others = {w for p in config.packages.values()
              if p.cache == package.cache and p.name != package.name
              and (w := _recorded_worktree(_state_path(options.workdir, p))) is not None}
    removed: list[Path] = []
    cache_path = cache_dir(options.workdir, package)
    if (cache_path / "HEAD").is_file():
        cache = Repository(cache_path, package_runner(runner, package))
        removed = remove_person_worktrees(cache, recorded, keep=others)
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
    if _state_path(options.workdir, package).exists():
        raise UsageError(f"a rebase of {package.name} is waiting for --continue; finish it or "
                         f"--abort it first")
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


def _state_path(workdir: Path, package: Package) -> Path:
    return workdir / "rebase" / f"{package.name}.json"


def _recorded_worktree(state: Path) -> Path | None:
    """The worktree a waiting rebase's state names, if it can be read."""
    with contextlib.suppress(OSError, UnicodeDecodeError, ValueError, TypeError, KeyError):
        return Path(json.loads(state.read_text(encoding="utf-8"))["worktree"])
    return None


def _outcome_json(outcome: PatchOutcome) -> dict[str, Any]:
    return {"patch": outcome.patch.name, "outcome": outcome.outcome,
            "files": list(outcome.files), "upstream_commit": outcome.upstream_commit,
            "detail": outcome.detail, "commit": outcome.commit,
            "old_commit": outcome.old_commit}


def _outcome_from_json(data: dict[str, Any], queue: PatchQueue) -> PatchOutcome:
    patch = next(p for p in queue.patches if p.name == data["patch"])
    return PatchOutcome(patch=patch, outcome=data["outcome"], files=tuple(data["files"]),
                        upstream_commit=data["upstream_commit"], detail=data["detail"],
                        commit=data["commit"], old_commit=data["old_commit"])


def _write_rebased(cache: Repository, queue: PatchQueue, result: RebaseResult, target: Path,
                   *, onto: str, force: bool) -> WriteResult:
    """Write the carried queue whole: applied patches keep their bytes, merged ones are
    regenerated under their old names, upstreamed and conflicting ones are left out. When
    upstream took every patch, the folder holds a series file that says so."""
    if not any(o.outcome in ("applied", "merged") for o in result.outcomes) \
            and any(o.outcome == "conflict" for o in result.outcomes):
        return "not-written"  # --keep-partial with nothing but conflicts: nothing to write
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
                (staging / outcome.patch.name).write_text(text, encoding="utf-8")
            else:
                continue
            kept.append(outcome.patch.name)
        if not kept:
            # The folder is still written, so that the new release is the current queue
            # (empty) from which the next one is carried, and a build finds its folder.
            (staging / "series").write_text(
                f"# Nothing left to carry: every patch of {queue.version} is upstream in "
                f"{onto}.\n", encoding="utf-8")
        elif conflicts := [o.patch.name for o in result.outcomes if o.outcome == "conflict"]:
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
        if target.exists() and not force:
            raise UsageError(f"{target} exists and differs from this rebase's result; pass "
                             "--force to replace it")
        replace_dir(staging, target)
        return "written" if kept else "nothing-to-carry"
    finally:
        shutil.rmtree(staging, ignore_errors=True)
