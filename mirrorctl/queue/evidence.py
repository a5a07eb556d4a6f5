"""What upstream did between two releases, as a carry asks it of a patch: the commits of
the range, their patch-ids, which of them revert which, and the commits and requests a
patch's header names; read lazily (most carries never need it) and kept beside the
repository, since what a range holds never changes.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mirrorctl.core.errors import FileSystemError
from mirrorctl.core.keptfile import KeptFile, KeptFileError
from mirrorctl.core.repository import Repository
from mirrorctl.queue.patches import PatchFile

__all__ = ["EVIDENCE_FILE", "KeptEvidence", "UpstreamEvidence", "commits_named", "is_revert",
           "requests_named"]


# A commit a Backport header names: a bare id, or in any of GitHub's and GitLab's URLs
# (/commit/<sha>, /pull/N/commits/<sha>, /pull/N/changes/<sha>, ?commit_id=<sha>).
_COMMIT_IN_URL = re.compile(r"(?:commit/|commits/|changes/|commit_id=|^)([0-9a-f]{7,40})\b")


_REQUEST_IN_URL = re.compile(r"/(?:pull|pulls|merge_requests|-/merge_requests)/(\d+)")


_COMMIT_ID = re.compile(r"[0-9a-f]{40}")


def requests_named(status_argument: str | None) -> list[str]:
    """Pull or merge request numbers named in a Submitted/Issue URL."""
    return _REQUEST_IN_URL.findall(status_argument or "")


def commits_named(status_argument: str | None) -> list[str]:
    """Commit ids named in a Backport header: a commit URL or a bare id."""
    return _COMMIT_IN_URL.findall(status_argument or "")


@dataclass(frozen=True)
class KeptEvidence:
    """What was learnt of a range from git, as it is kept: a part None until learnt."""

    messages: tuple[tuple[str, str], ...] | None = None  # (commit, message), newest first
    patch_ids: Mapping[str, str] | None = None  # patch-id -> the first commit with it
    diffs: Mapping[str, str] = field(default_factory=dict)  # sha256 -> patch-id ("": none)


def _encode(kept: KeptEvidence) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if kept.messages is not None:
        data["messages"] = [list(pair) for pair in kept.messages]
    if kept.patch_ids is not None:
        data["patch_ids"] = dict(kept.patch_ids)
    if kept.diffs:
        data["diffs"] = dict(kept.diffs)
    return data


def _decode(data: dict[str, Any]) -> KeptEvidence:
    """Each part as kept, or none where it is not as mirrorctl keeps it: a part that does
    not read costs the reading of that part from git, not of the others."""
    messages, patch_ids, diffs = data.get("messages"), data.get("patch_ids"), data.get("diffs")
    return KeptEvidence(
        messages=tuple((str(commit), str(message)) for commit, message in messages)
        if isinstance(messages, list) and all(isinstance(item, list) and len(item) == 2
                                              for item in messages) else None,
        patch_ids={str(k): str(v) for k, v in patch_ids.items()}
        if isinstance(patch_ids, dict) else None,
        diffs={str(k): v for k, v in diffs.items() if isinstance(v, str)}
        if isinstance(diffs, dict) else {})


# Kept before it said its format: format 1. Compact: a range's messages can be megabytes.
EVIDENCE_FILE = KeptFile[KeptEvidence](what="what upstream did between two releases",
                                       format=1, unformatted=1, encode=_encode,
                                       decode=_decode, indent=None)


@dataclass
class UpstreamEvidence:
    """What upstream did between the two releases, read lazily: most rebases never need it.
    What two commits' range holds never changes, nor a diff's patch-id: both are kept
    beside the repository (mirrorctl/evidence/<old>-<new>.json), so that the night's
    carry pays for them and every later dry run of the same release reads them."""

    repo: Repository
    old_base: str
    new_base: str
    _patch_ids: dict[str, str] | None = field(default=None, init=False)
    _messages: list[tuple[str, str]] | None = field(default=None, init=False)
    _kept: KeptEvidence | None = field(default=None, init=False)
    _learnt: bool = field(default=False, init=False)

    def messages(self) -> list[tuple[str, str]]:
        """(commit, message) of every commit upstream made between the releases, newest
        first, as `git log` lists them: read once for every request a queue names."""
        if self._messages is None:
            kept = self._kept_facts().messages
            if kept is not None:
                self._messages = list(kept)
            else:  # not kept yet, or not as mirrorctl keeps it: read from git
                out = self.repo.git("log", "-z", "--format=%H%n%B", self._range()).stdout
                self._messages = [(commit, message) for commit, _, message in
                                  (entry.partition("\n") for entry in out.split("\0"))
                                  if commit]
                self._learn(messages=tuple(self._messages))
        return self._messages

    def _range(self) -> str:
        return f"{self.old_base}..{self.new_base}"

    def patch_ids(self) -> dict[str, str]:
        if self._patch_ids is None:
            kept = self._kept_facts().patch_ids
            if kept is not None:
                self._patch_ids = dict(kept)
                return self._patch_ids
            log = self.repo.git("log", "--no-merges", "--format=commit %H", "-p", "--full-index",
                                self._range()).stdout
            out = self.repo.git("patch-id", "--stable", input=log).stdout if log else ""
            self._patch_ids = {}
            for line in out.splitlines():
                patch_id, commit = line.split()
                self._patch_ids.setdefault(patch_id, commit)
            self._learn(patch_ids=dict(self._patch_ids))
        return self._patch_ids

    def patch_id(self, diff: str) -> str | None:
        key = hashlib.sha256(diff.encode("utf-8", "surrogateescape")).hexdigest()
        kept = self._kept_facts().diffs
        if key in kept:
            return kept[key] or None
        out = self.repo.git("patch-id", "--stable", input=diff).stdout.split()
        self._learn(diffs={**kept, key: out[0] if out else ""})
        return out[0] if out else None

    def _path(self) -> Path | None:
        if not self.repo.runner.in_process or not (
                _COMMIT_ID.fullmatch(self.old_base) and _COMMIT_ID.fullmatch(self.new_base)):
            return None  # the reference path keeps nothing; a name may move
        return self.repo.git_dir / "mirrorctl" / "evidence" / \
            f"{self.old_base}-{self.new_base}.json"

    def _kept_facts(self) -> KeptEvidence:
        if self._kept is None:
            self._kept = KeptEvidence()
            path = self._path()
            if path is not None:
                # A cache: what does not read is asked of git again, and kept anew.
                with contextlib.suppress(KeptFileError):
                    self._kept = EVIDENCE_FILE.read(path) or self._kept
        return self._kept

    def _learn(self, **parts: Any) -> None:
        """Note a fact learnt; save() writes them all, once a run."""
        self._kept = replace(self._kept_facts(), **parts)
        self._learnt = True

    def save(self) -> None:
        """Keep what the run learnt from git (the range's messages can be megabytes:
        written once, not once a patch). A read-only cache: asked again next time."""
        path = self._path()
        if path is not None and self._learnt:
            with contextlib.suppress(FileSystemError):
                EVIDENCE_FILE.write(path, self._kept_facts())
            self._learnt = False

    def named_commit(self, patch: PatchFile) -> tuple[str, str] | None:
        """(commit, how) when the patch's header names a change the new release contains."""
        if patch.status.kind == "Backport":
            for name in commits_named(patch.status.argument):
                commit = self.repo.resolve(f"{name}^{{commit}}")
                if commit and self.repo.is_ancestor(commit, self.new_base):
                    return commit, "the commit its Backport header names is in the new release"
        if patch.status.kind in ("Submitted", "Backport", "Issue"):
            for number in requests_named(patch.status.argument):
                # As `git log -E --grep` reads a message: line by line.
                pattern = re.compile(rf"(#{number}|!{number})([^0-9]|$)", re.MULTILINE)
                # As `git log --grep` finds it, newest first; a revert names it too, and
                # is what undid it (revert_of), not what took it.
                found = next((c for c, message in self.messages()
                              if pattern.search(message) and not is_revert(message)), None)
                if found:
                    return found, f"request {number}, named in its header, was merged upstream"
        return None

    def revert_of(self, commit: str) -> str | None:
        """The commit of the range that reverts `commit` (as git revert words it: This
        reverts commit <sha>, or Revert "<its subject>"), or None."""
        subject = self._subject(commit)
        for found, message in self.messages():
            if found != commit and (f"This reverts commit {commit}" in message
                                    or (subject and f'Revert "{subject}"' in message)):
                return found
        return None

    def _subject(self, commit: str) -> str:
        """`git log -1 --format=%s`: from the range's messages where the subject is one
        line followed by a blank one (or nothing), as most are; else from git."""
        message = next((m for c, m in self.messages() if c == commit), None)
        if message is not None and message[:1].strip():
            first, _, rest = message.partition("\n")
            if not rest.split("\n", 1)[0].strip():
                return first.strip()
        return self.repo.git("log", "-1", "--format=%s", commit).stdout.strip()

    def undone_by(self, commit: str, files: Sequence[str]) -> str | None:
        """What undid `commit` before the release: the commit of the range that reverts
        it, else the first after it that touches its files (an un-pin, a rework)."""
        revert = self.revert_of(commit)
        if revert is not None:
            return revert
        later = self.repo.git("log", "--format=%H", "--reverse", f"{commit}..{self.new_base}",
                              "--", *files, check=False).stdout.split()
        return later[0] if later else None

    def by_patch_id(self, diff: str) -> str | None:
        patch_id = self.patch_id(diff)
        return self.patch_ids().get(patch_id) if patch_id else None


def is_revert(message: str) -> bool:
    return message.startswith('Revert "') or "This reverts commit " in message
