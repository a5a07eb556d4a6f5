"""A rebase waiting for a person: <workdir>/rebase/<package>.json, written when a
conflict is left in a worktree (--worktree) and read by --continue and --abort, and by
the command line to find the site of a worktree it is run from.

One typed record with its load and save; nothing else parses the file.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

from mirrorctl.core.errors import UsageError
from mirrorctl.core.keptfile import KeptFile, KeptFileError

__all__ = ["DecidedPatch", "WaitingRebase", "find_waiting", "waiting_file", "waiting_path",
           "waiting_worktree"]

_KEYS = frozenset({"from", "to", "onto", "worktree", "waiting_on", "patches", "decided",
                   "keep_partial", "force"})


@dataclass(frozen=True, kw_only=True)
class DecidedPatch:
    """The outcome of a patch before the one that waits, as the rebase found it."""

    patch: str
    outcome: str
    files: tuple[str, ...]
    upstream_commit: str | None
    detail: str
    commit: str | None
    old_commit: str | None


@dataclass(frozen=True, kw_only=True)
class WaitingRebase:
    package: str
    from_version: str
    to_version: str
    onto: str  # the new release's tag
    worktree: Path  # where the conflict waits for the person
    waiting_on: str  # the commit the waiting patch is cherry-picked onto
    patches: tuple[str, ...]  # the queue's patch names, to notice a queue changed since
    decided: tuple[DecidedPatch, ...]  # the outcomes before the waiting patch
    keep_partial: bool
    force: bool
    conflict_ids: tuple[str, ...] = ()  # rerere's ids of the waiting conflicts
    config: Path | None = None  # the mirrors.yaml of the rebase (for --continue inside)
    # The waiting patch as it was made (applied to the old release), and the paths that
    # conflict: what rerere learns a committed resolution from. None: an older state.
    waiting_commit: str | None = None
    conflicted: tuple[str, ...] = ()

    @property
    def waiting_patch(self) -> str:
        return self.patches[len(self.decided)]

    def save(self, workdir: Path) -> None:
        waiting_file(self.package).write(waiting_path(workdir, self.package), self)

    @classmethod
    def load(cls, workdir: Path, package: str) -> WaitingRebase | None:
        """The waiting rebase of `package`, None when none waits; UsageError, naming the
        command that ends it, when its file cannot be read."""
        path = waiting_path(workdir, package)
        if not (path.exists() or path.is_symlink()):
            return None
        try:
            return waiting_file(package).read(path)
        except KeptFileError as exc:
            raise UsageError(f"the waiting rebase of {package} cannot be read ({exc.path}: "
                             f"{exc.why}); end it with `mirrorctl rebase {package} --abort`") \
                from None


def waiting_file(package: str) -> KeptFile[WaitingRebase]:
    """The codec of `package`'s waiting rebase (the file does not name its package: its
    name does). Files written before it said its format are format 1."""
    return KeptFile[WaitingRebase](what=f"the waiting rebase of {package}", format=1,
                                   unformatted=1, encode=_to_json,
                                   decode=partial(_from_json, package))


def _to_json(waiting: WaitingRebase) -> dict[str, Any]:
    return {"from": waiting.from_version, "to": waiting.to_version, "onto": waiting.onto,
            "worktree": str(waiting.worktree), "waiting_on": waiting.waiting_on,
            "patches": list(waiting.patches), "decided": [asdict(d) for d in waiting.decided],
            "keep_partial": waiting.keep_partial, "force": waiting.force,
            "conflict_ids": list(waiting.conflict_ids),
            "config": str(waiting.config) if waiting.config else None,
            "waiting_commit": waiting.waiting_commit, "conflicted": list(waiting.conflicted)}


def _from_json(package: str, data: dict[str, Any]) -> WaitingRebase:
    if not data.keys() >= _KEYS:
        raise ValueError("it is not a whole rebase state: no "
                         + ", ".join(sorted(_KEYS - data.keys())))
    return WaitingRebase(
        package=package, from_version=str(data["from"]), to_version=str(data["to"]),
        onto=str(data["onto"]), worktree=Path(data["worktree"]),
        waiting_on=str(data["waiting_on"]), patches=tuple(map(str, data["patches"])),
        decided=tuple(DecidedPatch(**{**d, "files": tuple(d["files"])})
                      for d in data["decided"]),
        keep_partial=bool(data["keep_partial"]), force=bool(data["force"]),
        conflict_ids=tuple(map(str, data.get("conflict_ids", ()))),
        config=Path(data["config"]) if isinstance(data.get("config"), str) else None,
        waiting_commit=str(data["waiting_commit"]) if data.get("waiting_commit") else None,
        conflicted=tuple(map(str, data.get("conflicted", ()))))


def waiting_path(workdir: Path, package: str) -> Path:
    return workdir / "rebase" / f"{package}.json"


def waiting_worktree(workdir: Path, package: str) -> Path | None:
    """The worktree a waiting rebase names, if its file can be read that far (--abort
    ends a rebase in any state)."""
    with contextlib.suppress(KeptFileError, KeyError, TypeError):
        data = waiting_file(package).read_data(waiting_path(workdir, package))
        return Path(data["worktree"]) if data is not None else None
    return None


def find_waiting(workdir: Path, worktree: Path) -> WaitingRebase | None:
    """The waiting rebase whose worktree is `worktree` (wheels of one upstream share a
    cache, so the worktree says whose rebase it is)."""
    for path in sorted((workdir / "rebase").glob("*.json")):
        with contextlib.suppress(UsageError, OSError):
            waiting = WaitingRebase.load(workdir, path.stem)
            if waiting is not None and waiting.worktree.resolve() == worktree.resolve():
                return waiting
    return None
