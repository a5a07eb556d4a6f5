"""A rebase waiting for a person: <workdir>/rebase/<package>.json, written when a
conflict is left in a worktree (--worktree) and read by --continue and --abort, and by
the command line to find the site of a worktree it is run from.

One typed record with its load and save; nothing else parses the file.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mirrorctl.core.errors import UsageError
from mirrorctl.core.files import atomic_write_text

__all__ = ["DecidedPatch", "WaitingRebase", "find_waiting", "waiting_path",
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
        data = {"from": self.from_version, "to": self.to_version, "onto": self.onto,
                "worktree": str(self.worktree), "waiting_on": self.waiting_on,
                "patches": list(self.patches), "decided": [asdict(d) for d in self.decided],
                "keep_partial": self.keep_partial, "force": self.force,
                "conflict_ids": list(self.conflict_ids),
                "config": str(self.config) if self.config else None,
                "waiting_commit": self.waiting_commit, "conflicted": list(self.conflicted)}
        atomic_write_text(waiting_path(workdir, self.package), json.dumps(data, indent=1))

    @classmethod
    def load(cls, workdir: Path, package: str) -> WaitingRebase | None:
        """The waiting rebase of `package`, None when none waits; UsageError, naming the
        command that ends it, when its file cannot be read."""
        path = waiting_path(workdir, package)
        if not (path.exists() or path.is_symlink()):
            return None
        try:
            return _from_json(package, json.loads(path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError) as exc:
            raise UsageError(f"the waiting rebase of {package} cannot be read ({path}: {exc});"
                             f" end it with `mirrorctl rebase {package} --abort`") from None


def _from_json(package: str, data: Any) -> WaitingRebase:
    if not isinstance(data, dict) or not data.keys() >= _KEYS:
        raise ValueError("it is not a whole rebase state")
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
    with contextlib.suppress(OSError, UnicodeDecodeError, ValueError, TypeError, KeyError):
        text = waiting_path(workdir, package).read_text(encoding="utf-8")
        return Path(json.loads(text)["worktree"])
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
