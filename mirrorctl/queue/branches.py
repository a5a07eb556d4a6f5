"""Operations on a package's patch queue with git: apply it to its release tag in
the package's cache (and push the result), export a branch back into a queue.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from packaging.version import InvalidVersion, Version

from mirrorctl.core.config import Config, Package
from mirrorctl.core.errors import ConfigError, GitError, UsageError
from mirrorctl.core.files import replace_dir, same_files
from mirrorctl.core.git import GitRunner
from mirrorctl.core.repository import LeasedUpdate, Repository
from mirrorctl.core.run import Currents
from mirrorctl.queue.folders import currents_of, queue_dir
from mirrorctl.queue.patches import KeptParses, PatchFile, PatchQueue, read_queue
from mirrorctl.queue.replay import AppliedPatch, apply_queue
from mirrorctl.sync.cache import open_cache, package_runner, release_tag

__all__ = [
    "ApplyOptions",
    "ApplyReport",
    "ExportOptions",
    "ExportReport",
    "apply_package_queue",
    "checked_queue",
    "checked_version",
    "export_queue",
    "push_branch",
    "remove_stale_scratch",
    "remove_stale_staging",
    "rewrite_statuses",
]

# Options that make exported patches byte-stable between runs: no commit ids, no
# signature with git's version, no diffstat, no "n/m" numbering that shifts when the
# queue grows; full blob ids so binary patches and --3way can use them.
FORMAT_PATCH_STABLE = ("--zero-commit", "--no-signature", "--no-stat", "--no-numbered",
                       "--full-index", "--binary", "--find-renames")
_EXPORT_REF = "refs/mirrorctl/export"

PushResult = Literal["not-pushed", "created", "updated", "unchanged", "refused", "rejected"]


@dataclass(frozen=True, kw_only=True)
class ApplyOptions:
    workdir: Path
    version: str | None = None
    push: bool = False
    force: bool = False
    dry_run: bool = False  # the commits made, the branch not moved, nothing pushed


@dataclass(frozen=True, kw_only=True)
class ApplyReport:
    package: str
    version: str
    tag: str
    branch: str
    commit: str
    previous: str | None
    patches: tuple[AppliedPatch, ...]
    push: PushResult = "not-pushed"
    push_detail: str = ""
    dry_run: bool = False  # what it would do: the branch not moved, nothing pushed

    @property
    def failed(self) -> bool:
        return self.push in ("refused", "rejected")


def checked_queue(config: Config, package: Package, version: str, *,
                  kept: KeptParses | None = None, empty: bool = False,
                  currents: Currents | None = None) -> PatchQueue:
    """The queue of `version`, every file read. `empty`: a queue without patches is one
    too (what a carry takes): the current version of a package that carries none has no
    folder, and a folder whose `series` says nothing is left holds none."""
    directory = queue_dir(config.patchsets, package.name, version)
    if empty and not directory.is_dir() \
            and currents_of(config, currents).of(package) == version:
        return PatchQueue(package=package.name, version=version, directory=directory,
                          patches=())
    queue, problems = read_queue(config.patchsets, package.name, version, kept=kept)
    if problems:
        raise ConfigError(problems)
    if not queue.patches and not (empty and (directory / "series").is_file()):
        raise UsageError(f"{queue.directory} holds no patches")
    return queue


def checked_version(version: str | None, package: Package, config: Config, *,
                    option: bool = False, currents: Currents | None = None) -> str:
    """A version from the command line (`option`: the command has --version) or the
    current queue (the run's `currents`, when the caller has them); it becomes a path
    and a ref name."""
    version = version or currents_of(config, currents).of(package)
    if version is None:
        raise UsageError(f"{package.name} has no `version:` in {config.path} and no queue "
                         f"folder under {config.patchsets}; give it `version:` (the release "
                         "its queue starts from)" + (", or pass --version" if option else ""))
    try:
        Version(version)
    except InvalidVersion:
        raise UsageError(f"--version {version!r} is not a PEP 440 version") from None
    return version


def apply_package_queue(config: Config, package: Package, options: ApplyOptions,
                        runner: GitRunner) -> ApplyReport:
    version = checked_version(options.version, package, config, option=True)
    queue = checked_queue(config, package, version)
    runner = package_runner(runner, package)
    cache = open_cache(options.workdir, package, runner)
    tag, base = release_tag(cache, package, version)
    applied = apply_queue(cache, base, queue.patches, base_name=tag)
    branch = f"refs/heads/riscv64/{version}"
    previous = cache.resolve(branch)
    head = applied[-1].commit
    if previous != head and not options.dry_run:
        cache.update_ref(branch, head, previous)
    report = ApplyReport(package=package.name, version=version, tag=tag, branch=branch,
                         commit=head, previous=previous, patches=tuple(applied),
                         dry_run=options.dry_run)
    if options.push and options.dry_run:
        return _would_push(cache, package, report, force=options.force)
    return _push(cache, package, report, force=options.force) if options.push else report


def _would_push(cache: Repository, package: Package, report: ApplyReport, *,
                force: bool) -> ApplyReport:
    """What pushing would do, read off the mirror, nothing pushed: a push it would
    refuse is refused."""
    current = cache.runner.ls_remote(mirror_of(package)).get(report.branch)
    if current == report.commit:
        return replace(report, push="unchanged", push_detail="the mirror already has this "
                                                             "branch")
    if current is not None and not force:
        return replace(report, push="refused", push_detail=(
            f"the mirror's {report.branch} is at {current[:12]}, not this queue's result; "
            "a push would be refused without --force"))
    what = "create it" if current is None else f"update it from {current[:12]}"
    return replace(report, push_detail=f"a dry run: a push would {what}")


def push_branch(cache: Repository, url: str, branch: str, commit: str, *,
                force: bool) -> tuple[PushResult, str]:
    """Put `commit` on `branch` of the mirror at `url`, with a lease. A branch that holds
    something else is replaced only with `force`."""
    current = cache.runner.ls_remote(url).get(branch)
    if current == commit:
        return "unchanged", "the mirror already has this branch"
    if current is not None and not force:
        return "refused", (f"the mirror's {branch} is at {current[:12]}, not this queue's "
                           f"result; pass --force to replace it (with a lease on {current[:12]})")
    [pushed] = cache.push(url, [LeasedUpdate(ref=branch, expected=current, new=commit)])
    if pushed.status != "ok":
        return "rejected", pushed.detail
    return ("created" if current is None else "updated"), pushed.detail


def mirror_of(package: Package) -> str:
    """The package's mirror, for the commands that push to or read from it."""
    if package.mirror is None:
        raise UsageError(f"{package.name} has no mirror (mirror: false, or no mirror_url): "
                         "its upstream is read into the cache alone, so there is no mirror "
                         "branch to push to or export from")
    return package.mirror


def _push(cache: Repository, package: Package, report: ApplyReport, *,
          force: bool) -> ApplyReport:
    result, detail = push_branch(cache, mirror_of(package), report.branch, report.commit,
                                 force=force)
    return replace(report, push=result, push_detail=detail)



@dataclass(frozen=True, kw_only=True)
class ExportOptions:
    workdir: Path
    base: str  # a release tag, or a version that tag_format turns into one
    from_branch: str  # a branch of the mirror
    version: str | None = None
    force: bool = False  # replace a queue that differs from the branch
    dry_run: bool = False  # say whether the folder would change; write nothing


@dataclass(frozen=True, kw_only=True)
class ExportReport:
    package: str
    version: str
    tag: str
    branch: str
    directory: Path
    patches: tuple[str, ...]
    changed: bool
    dry_run: bool = False  # `changed`: it would change; nothing was written


def export_queue(config: Config, package: Package, options: ExportOptions,
                 runner: GitRunner) -> ExportReport:
    """Turn the commits of a mirror branch since a release tag into that release's queue.
    The queue folder is replaced whole, and only when a byte would change."""
    runner = package_runner(runner, package)
    cache = open_cache(options.workdir, package, runner)
    tag = _base_tag(cache, package, options.base)
    version = options.version or package.tag_format.version_of(tag)
    if version is None:
        raise UsageError(f"{tag} does not fit tag_format {package.tag_format.template}, so its "
                         "version is unknown; pass --version")
    version = checked_version(version, package, config, option=True)
    branch = _fetch_branch(cache, package, options.from_branch)
    try:
        _check_range(cache, tag, options.from_branch)
        directory = queue_dir(config.patchsets, package.name, version)
        if not options.dry_run:  # a dry run stages elsewhere: the queues stay as they are
            directory.parent.mkdir(parents=True, exist_ok=True)
            remove_stale_staging(directory.parent)
        staging = Path(tempfile.mkdtemp(prefix=f".export-{version}-", dir=None if
                                        options.dry_run else directory.parent))
        try:
            cache.git("format-patch", "--quiet", *FORMAT_PATCH_STABLE, "-o", str(staging),
                      f"refs/tags/{tag}..{_EXPORT_REF}")
            names = _checked_export(staging, options.from_branch)
            names = _keep_unchanged_patches(cache, staging, directory, names)
            changed = not same_files(staging, directory)
            if changed and directory.is_dir() and not options.force:
                raise UsageError(_differs(directory, names))
            if changed and not options.dry_run:
                replace_dir(staging, directory)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    finally:
        cache.git("update-ref", "-d", _EXPORT_REF, check=False)
    return ExportReport(package=package.name, version=version, tag=tag, branch=branch,
                        directory=directory, patches=names, changed=changed,
                        dry_run=options.dry_run)


def _base_tag(cache: Repository, package: Package, base: str) -> str:
    name = base.removeprefix("refs/tags/")
    if cache.tag_commit(name) is not None:
        return name
    try:
        return release_tag(cache, package, base)[0]
    except (UsageError, InvalidVersion):
        raise UsageError(f"--base {base!r} is neither a tag in {package.name}'s cache nor a "
                         f"version of it; run `mirrorctl sync {package.name}` if it is new") \
            from None


def _fetch_branch(cache: Repository, package: Package, branch: str) -> str:
    name = branch.removeprefix("refs/heads/")
    if name.startswith("-") or cache.git("check-ref-format", "--branch", name,
                                         check=False).returncode != 0:
        raise UsageError(f"--from-branch {branch!r} is not a valid branch name")
    try:
        cache.fetch_refspecs(mirror_of(package), [f"+refs/heads/{name}:{_EXPORT_REF}"])
    except GitError as exc:
        if "couldn't find remote ref" in exc.stderr:
            raise UsageError(f"the mirror {package.mirror} has no branch {name}") from None
        raise
    return name


def _check_range(cache: Repository, tag: str, branch: str) -> None:
    if not cache.is_ancestor(f"refs/tags/{tag}^{{commit}}", _EXPORT_REF):
        raise UsageError(f"{branch} does not start from {tag}; pass the release it is based on "
                         "as --base")
    span = f"refs/tags/{tag}..{_EXPORT_REF}"
    if cache.git("rev-list", "--merges", span).stdout.strip():
        raise UsageError(f"{branch} has merge commits since {tag}; a queue is a straight line "
                         "of commits (rebase the branch first)")
    if not cache.git("rev-list", span).stdout.strip():
        raise UsageError(f"{branch} has no commits since {tag}: nothing to export")


def _checked_export(staging: Path, branch: str) -> tuple[str, ...]:
    """The exported files, after the same checks `validate` makes of every queue."""
    # staging is patchsets/<package>/.export-*: read it as if it were a version's queue.
    queue, problems = read_queue(staging.parent.parent, staging.parent.name, staging.name)
    if problems:
        raise ConfigError([replace(p, file=f"{branch}: {Path(p.file).name}") for p in problems])
    return tuple(p.name for p in queue.patches)


def _keep_unchanged_patches(cache: Repository, staging: Path, directory: Path,
                            names: tuple[str, ...]) -> tuple[str, ...]:
    """Where an exported patch is one the queue already holds (same author, date, message
    and change), put the queue's own file in its place, bytes and name: exporting what was
    applied rewrites nothing, whatever options wrote the queue's files ([PATCH 1/2]
    subjects, a diffstat, a signature). The names in order come back."""
    old_queue, problems = read_queue(directory.parent.parent, directory.parent.name,
                                     directory.name)
    if problems or not old_queue.patches:
        return names
    new_queue, _ = read_queue(staging.parent.parent, staging.parent.name, staging.name)
    old_ids = {_identity(cache, p): p for p in old_queue.patches}
    files: dict[str, bytes] = {}  # name -> bytes, in the branch's order
    for patch in new_queue.patches:
        same = old_ids.get(_identity(cache, patch))
        source = same if same is not None and same.name not in files else patch
        if source.name in files:
            return names  # two patches would share a name: keep what format-patch wrote
        files[source.name] = source.path.read_bytes()
    for patch in new_queue.patches:
        patch.path.unlink()
    for name, data in files.items():
        (staging / name).write_bytes(data)
    kept = list(files)
    if (directory / "series").is_file() or sorted(kept) != kept:
        # The queue's own names keep their order only through a series file.
        (staging / "series").write_text("".join(f"{name}\n" for name in kept),
                                        encoding="utf-8")
    return tuple(kept)


def _identity(cache: Repository, patch: PatchFile) -> tuple[str, str, str, str]:
    patch_id = cache.git("patch-id", "--stable", input=patch.diff).stdout.split(" ")[0]
    return patch.author, patch.date, patch.message, patch_id


def _differs(directory: Path, names: tuple[str, ...]) -> str:
    old = sorted(p.name for p in directory.iterdir() if p.name != "series")
    return (f"{directory} holds a different queue ({', '.join(old) or 'no patches'}) than the "
            f"branch gives ({', '.join(names)}); pass --force to replace it, or --version to "
            "write another folder")


def remove_stale_staging(folder: Path) -> None:
    # Left by an export, a rebase, a status rewrite or a save of resolutions that was
    # killed; we hold the work-directory lock. Hidden: no command reads them as queues.
    for pattern in (".export-*", ".status-*", ".rr-cache-*"):
        for stale in folder.glob(pattern):
            shutil.rmtree(stale, ignore_errors=True)


def remove_stale_scratch(cache: Repository) -> None:
    """Delete what killed runs left in a cache: scratch indexes and rerere worktrees
    (the mirrorctl-* folders of replay.py and resolve.py), the worktrees' registrations
    (which `git worktree prune` keeps when git was killed while adding them), and git's
    lock files. Safe only under the work-directory lock, like remove_stale_locks."""
    cache.remove_stale_locks()
    for folder in cache.git_dir.glob("mirrorctl-*"):
        shutil.rmtree(folder, ignore_errors=True)
    git_dir = cache.git_dir.resolve()
    for registration in cache.git_dir.glob("worktrees/*/gitdir"):
        # Absolute, or relative to the registration (worktree.useRelativePaths).
        where = (registration.parent / registration.read_text(encoding="utf-8").strip()).resolve()
        if where.is_relative_to(git_dir) and \
                where.relative_to(git_dir).parts[0].startswith("mirrorctl-"):
            shutil.rmtree(registration.parent, ignore_errors=True)
    # Killed before git wrote where it is: only "locked" (initializing) is there, and
    # `git worktree prune` never removes a locked one.
    for locked in cache.git_dir.glob("worktrees/*/locked"):
        if not (locked.parent / "gitdir").exists():
            shutil.rmtree(locked.parent, ignore_errors=True)


def rewrite_statuses(queue: PatchQueue, statuses: Mapping[str, str]) -> None:
    """Set the Upstream-Status of some patches ({file name: new value}): in a copy of the
    queue, checked like `validate` checks queues, then swapped in whole."""
    remove_stale_staging(queue.directory.parent)
    staging = Path(tempfile.mkdtemp(prefix=f".status-{queue.version}-",
                                    dir=queue.directory.parent))
    try:
        shutil.copytree(queue.directory, staging, dirs_exist_ok=True)
        for patch in queue.patches:
            if patch.name in statuses:
                _set_status_line(staging / patch.name, patch.status.line, statuses[patch.name])
        _, problems = read_queue(staging.parent.parent, staging.parent.name, staging.name)
        if problems:  # a rewrite must never break a queue: keep the old one
            raise ConfigError(problems)
        replace_dir(staging, queue.directory)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _set_status_line(path: Path, line: int, value: str) -> None:
    lines = path.read_bytes().split(b"\n")
    if not lines[line - 1].startswith(b"Upstream-Status:"):
        raise UsageError(f"{path}:{line}: expected the Upstream-Status line there; the patch "
                         "changed while mirrorctl read it")
    lines[line - 1] = f"Upstream-Status: {value}".encode()
    path.write_bytes(b"\n".join(lines))
