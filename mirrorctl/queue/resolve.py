"""Conflicts a person resolves, and resolutions remembered for next time (git rerere).

The rerere data of a package lives beside its queues, in patchsets/<package>/.rr-cache,
so that it is committed with them and shared by everyone who rebases. During a rebase
it is copied into the cache (git keeps rr-cache in the common git directory) and back.

A worktree is the one place mirrorctl checks files out, and only where a person or
rerere needs files: the maintainer's worktree (--worktree), and a temporary sparse one
holding just the conflicted files when a remembered resolution may apply.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from mirrorctl.core.errors import MirrorctlError, UsageError
from mirrorctl.core.files import replace_dir
from mirrorctl.core.git import Completed, Repository

__all__ = ["Resolutions", "open_worktree", "remove_worktree", "take_resolution"]

_RERERE = ("-c", "rerere.enabled=true", "-c", "rerere.autoUpdate=true")


class Resolutions:
    """The rerere data of one package: kept in `store`, used in `cache`."""

    def __init__(self, cache: Repository, store: Path) -> None:
        self.cache = cache
        self.store = store
        self._git_side = cache.git_dir / "rr-cache"

    def load(self) -> None:
        if self.store.is_dir():
            shutil.copytree(self.store, self._git_side, dirs_exist_ok=True)

    def save(self) -> None:
        """Add the cache's resolutions to the store, which is swapped in whole: a run killed
        while copying leaves it as it was, never with a truncated postimage that the
        next rebase would apply as a resolution."""
        if not (self._git_side.is_dir() and any(self._git_side.iterdir())):
            return
        self.store.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".rr-cache-", dir=self.store.parent))
        try:
            if self.store.is_dir():
                shutil.copytree(self.store, staging, dirs_exist_ok=True)
            shutil.copytree(self._git_side, staging, dirs_exist_ok=True)
            replace_dir(staging, self.store)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def any_remembered(self) -> bool:
        return self._git_side.is_dir() and any(self._git_side.glob("*/postimage*"))

    def try_pick(self, commit: str, onto: str, paths: list[str]) -> str | None:
        """Cherry-pick `commit` onto commit `onto` in a sparse worktree holding only `paths`;
        the tree when remembered resolutions settle every conflict, else None."""
        folder = Path(tempfile.mkdtemp(prefix="mirrorctl-rerere-", dir=self.cache.git_dir))
        worktree = folder / "tree"
        try:
            self.cache.git("worktree", "add", "--quiet", "--detach", "--no-checkout",
                           str(worktree), onto)
            here = ["-C", str(worktree)]
            # Anchored patterns: exactly these files, wherever else the name occurs.
            self._run(*here, "sparse-checkout", "set", "--no-cone", "--",
                      *(f"/{path}" for path in paths))
            self._run(*here, "checkout", "--quiet", "--detach", onto)
            picked = self._run(*here, *_RERERE, "cherry-pick", "--no-commit", commit,
                               check=False)
            if picked.returncode == 0:
                return self._run(*here, "write-tree").stdout.strip()
            if self._unmerged(worktree):
                return None
            return self._run(*here, "write-tree").stdout.strip()
        finally:
            self.cache.git("worktree", "remove", "--force", str(worktree), check=False)
            shutil.rmtree(folder, ignore_errors=True)
            self.cache.git("worktree", "prune", check=False)

    def _run(self, *args: str, check: bool = True) -> Completed:
        return self.cache.runner.run(args, check=check, env=_IDENTITY)

    def _unmerged(self, worktree: Path) -> list[str]:
        return unmerged_paths(self.cache, worktree)


# cherry-pick wants an identity even with --no-commit; nothing is committed with it.
_IDENTITY = {"GIT_AUTHOR_NAME": "mirrorctl", "GIT_AUTHOR_EMAIL": "mirrorctl@invalid",
             "GIT_COMMITTER_NAME": "mirrorctl", "GIT_COMMITTER_EMAIL": "mirrorctl@invalid"}


def unmerged_paths(cache: Repository, worktree: Path) -> list[str]:
    out = cache.runner.run(["-C", str(worktree), "diff", "--name-only", "--diff-filter=U"]).stdout
    return sorted(set(out.split()))


def open_worktree(cache: Repository, directory: Path, onto: str, commit: str) -> list[str]:
    """A worktree at `onto` with `commit` cherry-picked and its conflicts left for a person."""
    if directory.exists() and any(directory.iterdir()):
        raise UsageError(f"{directory} exists and is not empty; name a new folder for --worktree")
    cache.git("worktree", "add", "--quiet", "--detach", str(directory), onto)
    cache.runner.run(["-C", str(directory), *_RERERE, "cherry-pick", "--no-commit", commit],
                     check=False, env=_IDENTITY)
    return unmerged_paths(cache, directory)


def take_resolution(cache: Repository, directory: Path, expected_head: str) -> str:
    """The tree a person made in the worktree: their commit on `expected_head`, or the index
    they resolved and `git add`ed. rerere records the resolution on the way."""
    if not (directory / ".git").exists():
        raise UsageError(f"the rebase worktree {directory} is gone; run the rebase again "
                         "with --worktree")
    left = unmerged_paths(cache, directory)
    if left:
        raise MirrorctlError(f"conflicts remain in {directory}: {', '.join(left)}; resolve "
                             "them, `git add` them, then run --continue again")
    here = ["-C", str(directory)]
    cache.runner.run([*here, *_RERERE, "rerere"], check=False, env=_IDENTITY)
    head = cache.runner.run([*here, "rev-parse", "HEAD"]).stdout.strip()
    if head != expected_head:
        parent = cache.runner.run([*here, "rev-parse", "HEAD^"], check=False).stdout.strip()
        if parent != expected_head:
            raise MirrorctlError(f"{directory}: HEAD moved beyond the patch being resolved; "
                                 f"leave one commit (or none) on top of {expected_head[:12]}")
        return cache.runner.run([*here, "rev-parse", "HEAD^{tree}"]).stdout.strip()
    return cache.runner.run([*here, "write-tree"]).stdout.strip()


def remove_worktree(cache: Repository, directory: Path) -> None:
    cache.git("worktree", "remove", "--force", str(directory), check=False)
    cache.git("worktree", "prune", check=False)
