"""Replaying patches in the object store: no working tree, no checkout.

A ScratchIndex is a temporary index file inside a bare repository (GIT_INDEX_FILE):
patches go in with `git apply --cached`, trees come out with `git write-tree`, and
commits are made as `git commit-tree` makes them (Repository.commit) from each patch's
own author, date and message (the committer is the author, at the author's date), so
that replaying the same queue on the same tag always gives the same commit ids.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path

from mirrorctl.core.errors import MirrorctlError
from mirrorctl.core.files import atomic_write_text
from mirrorctl.core.git import Completed
from mirrorctl.core.repository import Repository
from mirrorctl.queue.patches import PatchFile

__all__ = ["AppliedPatch", "PatchDoesNotApply", "ScratchIndex", "apply_queue", "commit_patch",
           "replayed_queue"]


class PatchDoesNotApply(MirrorctlError):
    def __init__(self, patch: PatchFile, base: str, stderr: str) -> None:
        self.patch = patch
        reason = stderr.strip().splitlines()
        super().__init__(f"{patch.name} does not apply to {base}: "
                         + ("; ".join(reason[:3]) or "git apply failed"))


@dataclass(frozen=True, kw_only=True)
class AppliedPatch:
    patch: PatchFile
    commit: str
    tree: str


class ScratchIndex:
    """A temporary index in `repo`, holding one tree at a time."""

    def __init__(self, repo: Repository, path: Path) -> None:
        self.repo = repo
        self._env = {"GIT_INDEX_FILE": str(path)}

    @classmethod
    @contextmanager
    def create(cls, repo: Repository) -> Iterator[ScratchIndex]:
        # Inside the git directory: same filesystem, and ours (under the work-dir lock).
        folder = Path(tempfile.mkdtemp(prefix="mirrorctl-index-", dir=repo.git_dir))
        try:
            yield cls(repo, folder / "index")
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def read(self, tree: str) -> None:
        self.repo.git("read-tree", "--end-of-options", tree, env=self._env)

    def apply(self, diff: str, *, check_only: bool = False, reverse: bool = False) -> Completed:
        args = ["apply", "--cached", "--whitespace=nowarn", *(["--check"] if check_only else []),
                *(["--reverse"] if reverse else [])]
        return self.repo.git(*args, "-", input=diff, check=False, env=self._env)

    def write(self) -> str:
        return self.repo.git("write-tree", env=self._env).stdout.strip()

    def put(self, files: dict[str, str | None]) -> None:
        """Set files to blobs ({path: blob id}), or remove them (None)."""
        lines = "".join(f"0 {'0' * 40}\t{path}\n" if oid is None else
                        f"100644 {oid}\t{path}\n" for path, oid in files.items())
        self.repo.git("update-index", "--index-info", input=lines, env=self._env)


def commit_patch(repo: Repository, tree: str, parent: str, patch: PatchFile) -> str:
    """The patch's commit of `tree` on `parent`: its author (who is its committer too),
    its date, its message. A patch without a date (a plain diff) gets a fixed one: the
    same queue always gives the same commits."""
    name, address = parseaddr(patch.author)
    return repo.commit(tree, parent, patch.message, name=name or "Unknown",
                       email=address or "unknown@invalid",
                       date=patch.date or "1970-01-01T00:00:00 +0000")


def replayed_queue(repo: Repository, base: str, patches: Sequence[PatchFile], *,
                   base_name: str) -> list[AppliedPatch]:
    """apply_queue's commits, kept beside the repository: the same patches (author, date,
    message, diff) on the same base always give the same commits, so a replay made once
    is read back (one batch-check that its commits and trees are still there: git may
    have pruned them, unreferenced) instead of three git processes a patch."""
    key = hashlib.sha256("\0".join([base, *(f"{p.author}\0{p.date}\0{p.message}\0{p.diff}"
                                              for p in patches)]).encode()).hexdigest()
    kept = repo.git_dir / "mirrorctl" / "replays" / f"{key}.json"
    try:
        pairs = json.loads(kept.read_text(encoding="utf-8"))
        # Commits and trees both: git prunes unreferenced objects one by one, by age.
        if len(pairs) == len(patches) and not repo.missing_objects(
                oid for pair in pairs for oid in pair):
            return [AppliedPatch(patch=p, commit=str(c), tree=str(t))
                    for p, (c, t) in zip(patches, pairs, strict=True)]
    except (OSError, ValueError, TypeError):
        pass  # not kept yet, or not readable: replayed
    applied = apply_queue(repo, base, patches, base_name=base_name)
    with contextlib.suppress(MirrorctlError):  # a cache that cannot be written: next time
        atomic_write_text(kept, json.dumps([[a.commit, a.tree] for a in applied]))
    return applied


def apply_queue(repo: Repository, base: str, patches: Sequence[PatchFile], *,
                base_name: str) -> list[AppliedPatch]:
    """Commit each patch on top of the last, from `base`; the first that fails raises."""
    applied: list[AppliedPatch] = []
    head = base
    with ScratchIndex.create(repo) as index:
        index.read(base)
        for patch in patches:
            result = index.apply(patch.diff)
            if result.returncode != 0:
                raise PatchDoesNotApply(patch, base_name, result.stderr)
            tree = index.write()
            head = commit_patch(repo, tree, head, patch)
            applied.append(AppliedPatch(patch=patch, commit=head, tree=tree))
    return applied
