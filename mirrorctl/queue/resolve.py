"""Conflicts a person resolves, and resolutions remembered for next time (git rerere).

The rerere data of a package lives beside its queues, in patchsets/<package>/.rr-cache,
so that it is committed with them and shared by everyone who rebases. During a rebase
it is copied into the cache (git keeps rr-cache in the common git directory) and back.

A worktree is the one place mirrorctl checks files out, and only where a person or
rerere needs files: the maintainer's worktree (--worktree), and a temporary sparse one
holding just the conflicted files when a remembered resolution may apply.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from mirrorctl.core.errors import MirrorctlError, UsageError
from mirrorctl.core.files import replace_dir
from mirrorctl.core.git import Completed
from mirrorctl.core.repository import Repository
from mirrorctl.queue.diffs import conflict_markers

__all__ = ["Resolutions", "conflict_ids", "leftover_markers", "open_worktree",
           "remove_person_worktrees", "remove_worktree", "take_resolution"]

_RERERE = ("-c", "rerere.enabled=true", "-c", "rerere.autoUpdate=true")
_INDEX = "mirrorctl-patches.json"  # conflict id -> the patch it belongs to (no number)
# rr-cache/<id>, and MERGE_RR's <id>.<n> for the n-th variant of one conflict.
_CONFLICT_ID = re.compile(r"([0-9a-f]{40}|[0-9a-f]{64})(?:\.\d+)?")
_MARKER_LINE = re.compile(rb"^(<{7}|>{7}|\|{7})(?: |$)")
_NEW_START = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)")


class Resolutions:
    """The rerere data of one package: kept in `store` (patchsets/<package>/.rr-cache, the
    one place it lives), used in `cache`, whose copy is derived from the store at each
    load. An index in the store names the patch each resolution belongs to, so that one
    patch's resolutions can be forgotten."""

    def __init__(self, cache: Repository, store: Path) -> None:
        self.cache = cache
        self.store = store
        self._git_side = cache.git_dir / "rr-cache"
        self._taken: dict[str, str] = {}  # conflict id -> patch, learnt in this run

    def load(self) -> None:
        """Make the cache's resolutions exactly the store's: one a person deleted there is
        gone. Conflicts recorded without a resolution yet (a rebase waiting for a person)
        stay, so that rerere can learn their resolution."""
        if self._git_side.is_dir():
            for entry in self._git_side.iterdir():
                if any(entry.glob("postimage*")) and not (self.store / entry.name).is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
        if self.store.is_dir():
            shutil.copytree(self.store, self._git_side, ignore=shutil.ignore_patterns(_INDEX),
                            dirs_exist_ok=True)

    def note(self, conflict_ids: list[str], patch: str) -> None:
        """These conflicts are `patch`'s: the next save indexes their resolutions so."""
        self._taken.update(dict.fromkeys(conflict_ids, _unnumbered(patch)))

    def save(self) -> None:
        """Add the cache's resolutions to the store, which is swapped in whole: a run killed
        while copying leaves it as it was, never with a truncated postimage that the
        next rebase would apply as a resolution. A resolution that holds a conflict
        marker is never kept."""
        if not (self._git_side.is_dir() and any(self._git_side.iterdir())):
            return
        for entry in list(self._git_side.iterdir()):
            if _holds_markers(entry):
                shutil.rmtree(entry, ignore_errors=True)
        index = {**self._index(), **self._taken}
        # Only this package's: the store's and those it took in this run. A cache shared by
        # wheels of one upstream also holds the other wheels' (a rebase of theirs waiting).
        ours = set(self._taken) | ({p.name for p in self.store.iterdir()}
                                   if self.store.is_dir() else set())

        def copy(staging: Path) -> None:
            for entry in self._git_side.iterdir():
                if entry.name in ours and entry.is_dir():
                    shutil.copytree(entry, staging / entry.name, dirs_exist_ok=True)
        self._write_store(copy, index)

    def forget(self, patch: str) -> int:
        """Forget every resolution remembered for `patch` (its file name, with or without its
        number); how many were forgotten."""
        name = _unnumbered(patch)
        index = self._index()
        gone = sorted(conflict_id for conflict_id, owner in index.items() if owner == name)
        if gone:
            def drop(staging: Path) -> None:
                for conflict_id in gone:
                    shutil.rmtree(staging / conflict_id, ignore_errors=True)
            self._write_store(drop, {k: v for k, v in index.items() if v != name})
        for conflict_id in gone:
            shutil.rmtree(self._git_side / conflict_id, ignore_errors=True)
        return len(gone)

    def _index(self) -> dict[str, str]:
        try:
            data = json.loads((self.store / _INDEX).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def _write_store(self, change: Callable[[Path], object], index: dict[str, str]) -> None:
        self.store.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".rr-cache-", dir=self.store.parent))
        try:
            if self.store.is_dir():
                shutil.copytree(self.store, staging, dirs_exist_ok=True)
            change(staging)
            known = {p.name for p in staging.iterdir() if p.is_dir()}
            kept = {k: v for k, v in sorted(index.items()) if k in known}
            if kept or (staging / _INDEX).exists():
                (staging / _INDEX).write_text(json.dumps(kept, indent=1) + "\n",
                                              encoding="utf-8")
            replace_dir(staging, self.store)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def forget_unresolved(self, conflict_ids: Iterable[str]) -> None:
        """Forget, in the cache's copy, these conflicts when they were never resolved (a
        rebase aborted): the next time they come up, rerere records them afresh."""
        for conflict_id in conflict_ids:
            entry = self._git_side / conflict_id
            if entry.is_dir() and not any(entry.glob("postimage*")) \
                    and not (self.store / conflict_id).is_dir():
                shutil.rmtree(entry, ignore_errors=True)

    def any_remembered(self) -> bool:
        return self._git_side.is_dir() and any(self._git_side.glob("*/postimage*"))

    def try_pick(self, commit: str, onto: str, paths: list[str]) -> str | None:
        """Cherry-pick `commit` onto commit `onto` in a sparse worktree holding only `paths`;
        the tree when remembered resolutions settle every conflict, else None."""
        with self._sparse(onto, paths) as here:
            picked = self._run(*here, *_RERERE, "cherry-pick", "--no-commit", commit,
                               check=False)
            if picked.returncode != 0 and unmerged_paths(self.cache, Path(here[1])):
                return None
            return self._run(*here, "write-tree").stdout.strip()

    def learn(self, commit: str, onto: str, resolution: str, paths: list[str]) -> list[str]:
        """Have rerere remember `resolution` (a tree) for the conflict of cherry-picking
        `commit` onto `onto`, as if a person had resolved it in place: for a resolution
        committed in the worktree, since git's commit forgets the conflict it resolved.
        The ids of the conflicts it learnt."""
        with self._sparse(onto, paths) as here:
            self._run(*here, *_RERERE, "cherry-pick", "--no-commit", commit, check=False)
            conflicted = unmerged_paths(self.cache, Path(here[1]))
            if not conflicted:
                return []
            ids = conflict_ids(self.cache, Path(here[1]))
            self._run(*here, "checkout", resolution, "--", *conflicted)
            self._run(*here, "add", "--", *conflicted)
            self._run(*here, *_RERERE, "rerere")
            return ids

    @contextlib.contextmanager
    def _sparse(self, onto: str, paths: list[str]) -> Iterator[tuple[str, str]]:
        """A scratch worktree at `onto` holding only `paths`; yields git's -C arguments."""
        folder = Path(tempfile.mkdtemp(prefix="mirrorctl-rerere-", dir=self.cache.git_dir))
        worktree = folder / "tree"
        try:
            self.cache.git("worktree", "add", "--quiet", "--detach", "--no-checkout",
                           str(worktree), onto)
            here = ("-C", str(worktree))
            # Anchored patterns: exactly these files, wherever else the name occurs.
            self._run(*here, "sparse-checkout", "set", "--no-cone", "--",
                      *(f"/{path}" for path in paths))
            self._run(*here, "checkout", "--quiet", "--detach", onto)
            yield here
        finally:
            self.cache.git("worktree", "remove", "--force", str(worktree), check=False)
            shutil.rmtree(folder, ignore_errors=True)
            self.cache.git("worktree", "prune", check=False)

    def _run(self, *args: str, check: bool = True) -> Completed:
        return self.cache.runner.run(args, check=check, env=_IDENTITY)


# cherry-pick wants an identity even with --no-commit; nothing is committed with it.
_IDENTITY = {"GIT_AUTHOR_NAME": "mirrorctl", "GIT_AUTHOR_EMAIL": "mirrorctl@invalid",
             "GIT_COMMITTER_NAME": "mirrorctl", "GIT_COMMITTER_EMAIL": "mirrorctl@invalid"}


def _unnumbered(patch: str) -> str:
    """A patch's name without its number, which a rebase may change."""
    return re.sub(r"^\d+-", "", patch)


def _holds_markers(entry: Path) -> bool:
    for postimage in entry.glob("postimage*"):
        with contextlib.suppress(OSError):
            if any(_MARKER_LINE.match(line) for line in postimage.read_bytes().split(b"\n")):
                return True
    return False


def conflict_ids(cache: Repository, worktree: Path) -> list[str]:
    """The rerere ids of the conflicts waiting in `worktree` (git lists them in MERGE_RR)."""
    where = Path(cache.runner.run(["-C", str(worktree), "rev-parse", "--git-path",
                                   "MERGE_RR"]).stdout.strip())
    try:
        entries = (where if where.is_absolute() else worktree / where).read_bytes()
    except OSError:
        return []
    ids = (entry.split(b"\t", 1)[0].decode("ascii", "replace") for entry in entries.split(b"\0"))
    return list(dict.fromkeys(found.group(1) for conflict_id in ids
                              if (found := _CONFLICT_ID.fullmatch(conflict_id))))


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


def take_resolution(cache: Repository, directory: Path, expected_head: str, *,
                    package: str) -> tuple[str, bool]:
    """(the tree a person made in the worktree, whether they committed it): their commit
    on `expected_head`, or the index they resolved and `git add`ed. rerere records a staged
    resolution on the way (a committed one, whose conflict git's commit forgot, is learnt
    with Resolutions.learn), and only one without conflict markers: one with markers is
    refused, file and line."""
    if not (directory / ".git").exists():
        raise UsageError(f"the rebase worktree {directory} is gone; end this rebase with "
                         f"`mirrorctl rebase {package} --abort` and rebase again with "
                         "--worktree")
    left = unmerged_paths(cache, directory)
    if left:
        raise MirrorctlError(f"conflicts remain in {directory}: {', '.join(left)}; resolve "
                             "them, `git add` them, then run --continue again")
    here = ["-C", str(directory)]
    head = cache.runner.run([*here, "rev-parse", "HEAD"]).stdout.strip()
    if head != expected_head:
        parent = cache.runner.run([*here, "rev-parse", "HEAD^"], check=False).stdout.strip()
        if parent != expected_head:
            raise MirrorctlError(f"{directory}: HEAD moved beyond the patch being resolved; "
                                 f"leave one commit (or none) on top of {expected_head[:12]}")
        tree = cache.runner.run([*here, "rev-parse", "HEAD^{tree}"]).stdout.strip()
    else:
        tree = cache.runner.run([*here, "write-tree"]).stdout.strip()
    committed = head != expected_head
    markers = leftover_markers(cache, expected_head, tree)
    if markers:
        shown = "; ".join(f"{directory / path}:{line}: {marker}"
                          for path, line, marker in markers[:5])
        raise MirrorctlError(f"the resolution still holds conflict markers: {shown}"
                             + (f" (and {len(markers) - 5} more)" if len(markers) > 5 else "")
                             + "; edit them away, `git add` the files, then run --continue "
                               "again")
    cache.runner.run([*here, *_RERERE, "rerere"], check=False, env=_IDENTITY)
    return tree, committed


def leftover_markers(cache: Repository, base: str, tree: str) -> list[tuple[str, int, str]]:
    """(path, line, marker) of the conflict markers among the lines `tree` adds to `base`."""
    diff = cache.git("diff", "-U0", "--no-color", "--no-ext-diff", "--no-renames", base,
                     tree).stdout
    found: list[tuple[str, int, str]] = []
    path, line = "", 0
    marked = {number: marker for number, marker in conflict_markers(diff)}
    for number, text in enumerate(diff.split("\n"), 1):
        if text.startswith("+++ "):
            path = text[4:].removeprefix("b/")
        elif hunk := _NEW_START.match(text):
            line = int(hunk.group(1))
        elif text.startswith("+"):
            if number in marked:
                found.append((path, line, marked[number]))
            line += 1
    return found


def remove_worktree(cache: Repository, directory: Path) -> None:
    cache.git("worktree", "remove", "--force", str(directory), check=False)
    cache.git("worktree", "prune", check=False)


def remove_person_worktrees(cache: Repository, recorded: Path | None, *,
                            keep: Iterable[Path] = ()) -> list[Path]:
    """Remove the worktrees opened for a person in `cache` (not mirrorctl's own scratch
    ones, nor those in `keep`: the waiting rebases of other wheels sharing the cache), and
    `recorded` if it is one whose registration is gone; the removed paths."""
    git_dir = cache.git_dir.resolve()
    kept = {path.resolve() for path in keep}
    found: set[Path] = set()
    for registration in cache.git_dir.glob("worktrees/*/gitdir"):
        with contextlib.suppress(OSError):
            dot_git = Path(registration.read_text(encoding="utf-8").strip())
            where = (registration.parent / dot_git).resolve().parent
            if not (where.is_relative_to(git_dir)
                    and where.relative_to(git_dir).parts[0].startswith("mirrorctl-")):
                found.add(where)
    if recorded is not None and _points_into(recorded, git_dir):
        found.add(recorded.resolve())
    removed = []
    for worktree in sorted(found - kept):
        cache.git("worktree", "remove", "--force", str(worktree), check=False)
        if worktree.exists() and _points_into(worktree, git_dir):
            shutil.rmtree(worktree, ignore_errors=True)  # its registration was already gone
        removed.append(worktree)
    cache.git("worktree", "prune", check=False)
    return removed


def _points_into(worktree: Path, git_dir: Path) -> bool:
    """True when `worktree` is a worktree of the repository at `git_dir`."""
    try:
        text = (worktree / ".git").read_text(encoding="utf-8").strip()
    except OSError:
        return False
    target = Path(text.removeprefix("gitdir:").strip())
    return (worktree / target).resolve().is_relative_to(git_dir / "worktrees")

