"""Carrying a patch queue onto a new release tag, in the object store only.

1. The old queue is applied to its own release tag (replay.replayed_queue: made once,
   then read back): commits C1..Cn, each the patch as its author made it.
2. Each Ci is cherry-picked onto the new base with `git merge-tree --write-tree`,
   which merges trees without an index or a checkout and follows renames. git 2.39
   has no --merge-base, so a throwaway commit carrying the new base's tree on top of
   C(i-1) makes C(i-1) the merge base: a true cherry-pick. Every pick of a run goes
   through one `git merge-tree --stdin` (core.mergetrees.MergeTrees).
3. Every patch gets one outcome: applied (the same diff), merged (it needed a 3-way
   merge, a rename or shifted context: a refreshed patch is written), upstreamed (the
   change is already in the new tag: named commit, patch-id, empty result or reverse
   apply) or conflict (the files and the conflicting hunks are kept for the report).
   A conflict does not end the run: later patches go on top of the last good tree.
   A conflict that a resolution settles (remembered, or a person's) is merged, or
   dropped when the resolution keeps nothing of the patch: no empty patch is written.
   A patch whose header names a change the new release contains is upstreamed only
   when the release's tree has it; a change upstream took and undid before the release
   (a revert) is reverted: it waits for a person, as a conflict does. A backport of a
   change upstream took and undid (named by its header, or of the same patch-id as a
   commit of the range, however the undoing was done) is undone: the new queue follows
   upstream's release and leaves it out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from mirrorctl.core.errors import GitError, MirrorctlError
from mirrorctl.core.mergetrees import MergeTrees
from mirrorctl.core.repository import Repository
from mirrorctl.queue.diffs import changed_paths
from mirrorctl.queue.evidence import UpstreamEvidence
from mirrorctl.queue.patches import PatchFile
from mirrorctl.queue.replay import ScratchIndex, commit_patch, replayed_queue

__all__ = [
    "Conflict",
    "Outcome",
    "PatchOutcome",
    "RebaseResult",
    "carry_one",
    "rebase_patches",
    "same_change",
    "settle_conflict",
]

# dropped: a conflict resolved by keeping the new release's side, nothing of the patch left.
# reverted: upstream took the change and undid it before the release: a person decides.
# undone: a backport of a change upstream took and undid before the release: the new queue
# follows the release and leaves it out (a person confirms it with the builds).
Outcome = Literal["applied", "merged", "upstreamed", "conflict", "dropped", "reverted",
                  "undone"]
OUTCOMES: tuple[Outcome, ...] = ("applied", "merged", "upstreamed", "conflict", "dropped",
                                 "reverted", "undone")
# The outcomes that wait for a person: the queue is not carried until they are settled.
WAITING: frozenset[str] = frozenset({"conflict", "reverted"})

_INDEX_LINE = re.compile(r"^index [0-9a-f]+\.\.[0-9a-f]+( [0-7]+)?$", re.M)
_HUNK_CONTEXT = 3
_DIFF_OPTIONS = ("--full-index", "--binary", "--find-renames")
_COMMIT_LINE = re.compile(r"^([0-9a-f]{40})\n", re.M)
_MAX_HUNK_LINES = 60


@dataclass(frozen=True, kw_only=True)
class Conflict:
    path: str
    hunks: str  # the conflicting regions, with "new base" and "patch" as marker labels


@dataclass(frozen=True, kw_only=True)
class PatchOutcome:
    patch: PatchFile
    outcome: Outcome
    files: tuple[str, ...]
    upstream_commit: str | None = None
    detail: str = ""
    conflicts: tuple[Conflict, ...] = ()
    commit: str | None = None  # on the new base, for applied and merged patches
    old_commit: str | None = None  # the patch applied to the old release
    undone_by: str | None = None  # undone: the commit of upstream's that undid the change

    @property
    def waits(self) -> bool:
        """It waits for a person: a conflict, or a change upstream took and undid."""
        return self.outcome in WAITING


@dataclass(frozen=True, kw_only=True)
class RebaseResult:
    outcomes: tuple[PatchOutcome, ...]
    head: str  # the new base with every applied and merged patch on top
    old_head: str  # the old release with the whole old queue on top
    old_commits: tuple[str, ...] = ()  # the old queue applied to the old release, patch by patch

    def head_before(self, index: int, new_base: str) -> str:
        """The new head the patch at `index` was tried on."""
        for outcome in reversed(self.outcomes[:index]):
            if outcome.commit is not None:
                return outcome.commit
        return new_base

    @property
    def status(self) -> Literal["clean", "conflict"]:
        """conflict: a patch waits for a person (a conflict, or a change undone upstream)."""
        return "conflict" if any(o.waits for o in self.outcomes) else "clean"


def same_change(old_diff: str, new_diff: str) -> bool:
    """True when two diffs differ at most in their blob ids: the patch applied as it is.
    Shifted line numbers or changed context make it a refreshed ("merged") patch."""
    return _INDEX_LINE.sub("", old_diff).strip() == _INDEX_LINE.sub("", new_diff).strip()


def conflict_hunks(text: str) -> str:
    """The conflicting regions of a merged file, with a little context, and readable labels."""
    lines = text.splitlines()
    keep: set[int] = set()
    start = None
    for number, line in enumerate(lines):
        if line.startswith("<<<<<<< "):
            start = number
        elif line.startswith(">>>>>>> ") and start is not None:
            keep.update(range(max(0, start - _HUNK_CONTEXT),
                              min(len(lines), number + 1 + _HUNK_CONTEXT)))
            start = None
    shown: list[str] = []
    previous = -2
    for number in sorted(keep):
        if number != previous + 1 and shown:
            shown.append("...")
        line = lines[number]
        if line.startswith("<<<<<<< "):
            line = "<<<<<<< new base"
        elif line.startswith(">>>>>>> "):
            line = ">>>>>>> patch"
        shown.append(line)
        previous = number
    if len(shown) > _MAX_HUNK_LINES:
        shown = [*shown[:_MAX_HUNK_LINES], f"... ({len(shown) - _MAX_HUNK_LINES} more lines)"]
    return "\n".join(shown)


class _Replayer:
    def __init__(self, repo: Repository, old_base: str, new_base: str,
                 resolver: Resolver | None, new_name: str | None = None) -> None:
        self.repo = repo
        self.new_name = new_name  # the new release's tag, as outcomes name it
        self.evidence = UpstreamEvidence(repo, old_base, new_base)
        self.resolver = resolver
        self.merges = MergeTrees(repo)  # every pick's merge through one git (close()!)

    def tree_of(self, commit: str) -> str:
        return self.repo.tree_of(commit)

    def pick(self, commit: str, parent: str, onto_tree: str) -> tuple[str, list[str], bool]:
        """Cherry-pick `commit` (whose parent is `parent`) onto a commit with `onto_tree`:
        (tree, conflicted paths, whether git had to merge contents)."""
        # A commit with onto's tree on top of `parent` makes `parent` the merge base;
        # written in-process, as commit-tree would (one process less a patch).
        bridge = self.repo.write_commit_object(onto_tree, parent, "mirrorctl: merge base",
                                               name="mirrorctl", email="mirrorctl@invalid")
        try:
            merged = self.merges.merge(bridge, commit)
        except GitError as exc:
            raise _git_failure(exc.stderr) from None
        return merged.tree, list(merged.conflicted), \
            any("Auto-merging" in message for message in merged.messages)

    def diff(self, old: str, new: str) -> str:
        return self.repo.git("diff", *_DIFF_OPTIONS, old, new).stdout

    def diffs(self, picked: Sequence[_Picked]) -> list[str]:
        """Each picked commit's diff from its parent, as `diff` gives it: all from one
        `git diff-tree --stdin` (the reference path, MIRRORCTL_GIT_PATH=processes: one
        `git diff` each)."""
        if not picked:
            return []
        if self.repo.runner.in_process:
            out = self.repo.git("diff-tree", "--stdin", "-p", "--always", *_DIFF_OPTIONS,
                                input="".join(f"{p.commit}\n" for p in picked)).stdout
            # Each commit's id on a line of its own, then its diff: no line of a diff is
            # forty hex digits (every one starts with a space, a sign, a header word, or
            # a base85 length letter that never gives forty characters).
            parts = _COMMIT_LINE.split(out)
            if parts[0] == "" and parts[1::2] == [p.commit for p in picked]:
                return parts[2::2]
        return [self.diff(p.parent, p.commit) for p in picked]

    def reverse_applies(self, patch: PatchFile, onto: str) -> bool:
        with ScratchIndex.create(self.repo) as index:
            index.read(onto)
            result = index.apply(patch.diff, check_only=True, reverse=True)
        return result.returncode == 0


def _git_failure(stderr: str) -> Exception:
    return MirrorctlError(f"git merge-tree failed: {stderr.strip()}")


# Given a conflicting pick (old commit, new head commit, conflicted paths), the tree
# that remembered resolutions make of it, or None.
Resolver = Callable[[str, str, list[str]], "str | None"]


def rebase_patches(repo: Repository, patches: Sequence[PatchFile], *, old_base: str,
                   new_base: str, old_name: str, resolver: Resolver | None = None,
                   decided: Sequence[PatchOutcome] = (),
                   new_name: str | None = None) -> RebaseResult:
    """Carry `patches` (made against commit `old_base`, tag `old_name`) onto commit
    `new_base` (tag `new_name`). The first len(`decided`) patches already have their
    outcomes (a rebase resumed by --continue)."""
    replayer = _Replayer(repo, old_base, new_base, resolver, new_name)
    old_commits = replayed_queue(repo, old_base, patches, base_name=old_name)
    outcomes = list(decided)
    done = len(outcomes)
    tip = next((o.commit for o in reversed(outcomes) if o.commit), new_base)
    head = _Head(commit=tip, tree=replayer.tree_of(tip))
    parent = old_commits[done - 1].commit if done else old_base
    carried: list[PatchOutcome | _Picked] = list(outcomes)
    with replayer.merges:
        for applied in old_commits[done:]:
            outcome, head = _carry(replayer, applied.patch, applied.commit, parent, head)
            carried.append(outcome)
            parent = applied.commit
    # What a picked patch's outcome is (applied or merged, its files) waits for its
    # diff, and no later pick needs it: every diff of the run is read in one go.
    replayer.evidence.save()
    picked = [o for o in carried if isinstance(o, _Picked)]
    diffs = dict(zip((p.commit for p in picked), replayer.diffs(picked), strict=True))
    outcomes = [o.outcome(diffs[o.commit]) if isinstance(o, _Picked) else o for o in carried]
    return RebaseResult(outcomes=tuple(outcomes), head=head.commit,
                        old_head=old_commits[-1].commit if old_commits else old_base,
                        old_commits=tuple(a.commit for a in old_commits))


@dataclass(frozen=True)
class _Head:
    """The tip of the new queue so far, and its tree (known, so never asked of git again)."""

    commit: str
    tree: str


def _carry(replayer: _Replayer, patch: PatchFile, commit: str, parent: str,
           head: _Head) -> tuple[PatchOutcome | _Picked, _Head]:
    """One patch's outcome (a picked patch's waits for its diff), and the head the next
    patch goes onto."""
    named = replayer.evidence.named_commit(patch)
    tree, conflicted, merged_contents = replayer.pick(commit, parent, head.tree)
    taken = _named(replayer, patch, commit, named, tree, conflicted, head) \
        if named is not None else \
        _taken_and_reverted(replayer, patch, commit, tree, conflicted, head)
    if taken is not None:
        return taken, head
    if conflicted:
        outcome = _conflict_or_upstreamed(replayer, patch, commit, tree, conflicted,
                                          head.commit)
        remembered = (replayer.resolver(commit, head.commit, conflicted)
                      if outcome.outcome == "conflict" and replayer.resolver else None)
        if remembered is None:
            return outcome, head
        settled = _settle(replayer, patch, commit, remembered, head,
                          "conflict settled by a remembered resolution")
        return settled, (head if settled.commit is None else _Head(settled.commit, remembered))
    if tree == head.tree:
        upstream = replayer.evidence.by_patch_id(patch.diff)
        return PatchOutcome(patch=patch, old_commit=commit, outcome="upstreamed",
                            files=patch.files, upstream_commit=upstream,
                            detail="the new release already has this change"), head
    new_commit = commit_patch(replayer.repo, tree, head.commit, patch)
    return _Picked(patch=patch, old_commit=commit, parent=head.commit, commit=new_commit,
                   merged_contents=merged_contents), _Head(commit=new_commit, tree=tree)


@dataclass(frozen=True, kw_only=True)
class _Picked:
    """A patch carried onto the new head, its outcome waiting for its diff."""

    patch: PatchFile
    old_commit: str
    parent: str
    commit: str
    merged_contents: bool

    def outcome(self, new_diff: str) -> PatchOutcome:
        """Applied when the diff is the patch's own, else merged (a refreshed patch)."""
        files = changed_paths(new_diff) or self.patch.files
        if same_change(self.patch.diff, new_diff) and not self.merged_contents:
            return PatchOutcome(patch=self.patch, old_commit=self.old_commit,
                                outcome="applied", files=files, commit=self.commit,
                                detail="applies as it is")
        how = "3-way merged" if self.merged_contents else "context or paths moved"
        return PatchOutcome(patch=self.patch, old_commit=self.old_commit, outcome="merged",
                            files=files, commit=self.commit,
                            detail=f"{how}; the refreshed patch is written")


def settle_conflict(repo: Repository, patch: PatchFile, old_commit: str | None, tree: str, *,
                    onto: str, how: str) -> PatchOutcome:
    """The outcome of a conflicting patch that a person's resolution (`tree`, made on
    commit `onto`) settles: merged, with its refreshed commit; or, when the resolution
    keeps nothing of the patch, upstreamed if the new release has its change, else
    dropped. An empty patch is never made."""
    replayer = _Replayer(repo, onto, onto, None)
    return _settle(replayer, patch, old_commit, tree, _Head(onto, replayer.tree_of(onto)), how)


def _settle(replayer: _Replayer, patch: PatchFile, old_commit: str | None, tree: str,
            head: _Head,
            how: str) -> PatchOutcome:
    if tree == head.tree:
        if replayer.reverse_applies(patch, head.commit):
            return PatchOutcome(patch=patch, old_commit=old_commit, outcome="upstreamed",
                                files=patch.files,
                                detail=f"{how}, which keeps the new release's side: the new "
                                       "release already has this change (reverse applies)")
        return PatchOutcome(patch=patch, old_commit=old_commit, outcome="dropped",
                            files=patch.files,
                            detail=f"{how}, which keeps the new release's side and nothing "
                                   "of the patch: it is dropped from the queue")
    new_commit = commit_patch(replayer.repo, tree, head.commit, patch)
    return PatchOutcome(patch=patch, old_commit=old_commit, outcome="merged",
                        files=changed_paths(replayer.diff(head.commit, new_commit))
                        or patch.files, commit=new_commit,
                        detail=f"{how}; the refreshed patch is written")


def _named(replayer: _Replayer, patch: PatchFile, commit: str, named: tuple[str, str],
           tree: str, conflicted: list[str], head: _Head) -> PatchOutcome | None:
    """The outcome of a patch whose header names a change the new release contains (a
    Backport's commit, a Submitted request's merge). Upstreamed, naming the commit, unless
    upstream reverted it before the release, or (a Backport) the patch applies anew,
    showing the release no longer has the change: then it waits for a person. A request
    named by a commit that did not take the change (the patch applies anew, no revert):
    None, carried as any other. A backport is often adapted to its old release, so a
    patch that conflicts with the change upstream carried on is upstreamed still."""
    upstream, how = named
    applies_anew = not conflicted and tree != head.tree
    revert = replayer.evidence.revert_of(upstream)
    if revert is None and not applies_anew:
        verified = (not conflicted) or replayer.reverse_applies(patch, head.commit)
        return PatchOutcome(patch=patch, old_commit=commit, outcome="upstreamed",
                            files=patch.files, upstream_commit=upstream,
                            detail=how + (", and the new release has its change"
                                          if verified else ""))
    if revert is None and patch.status.kind != "Backport":
        return None
    if patch.status.kind == "Backport":
        return _followed(replayer, patch, commit, upstream, how)
    return _undone(patch, commit, upstream, how, revert)


def _undone(patch: PatchFile, commit: str, upstream: str, how: str,
            revert: str | None) -> PatchOutcome:
    undone = f"reverted by {revert[:12]}" if revert is not None else "undone by a later commit"
    return PatchOutcome(patch=patch, old_commit=commit, outcome="reverted", files=patch.files,
                        upstream_commit=upstream,
                        detail=f"upstream took it in {upstream[:12]} ({how}) and the new "
                               f"release no longer has it ({undone}): carry it again or "
                               "drop it")


def _followed(replayer: _Replayer, patch: PatchFile, commit: str, taken: str,
              how: str) -> PatchOutcome:
    """A backport of a change upstream took and undid before the release: the release is
    upstream's decision, so the new queue follows it and leaves the backport out."""
    undoer = replayer.evidence.undone_by(taken, patch.files)
    undone = f"undid it in {undoer[:12]}" if undoer is not None else "undid it"
    release = replayer.new_name or "the new release"
    return PatchOutcome(patch=patch, old_commit=commit, outcome="undone", files=patch.files,
                        upstream_commit=taken, undone_by=undoer,
                        detail=f"upstream took it in {taken[:12]} ({how}) and {undone} "
                               f"before {release}: the new queue follows the release and "
                               "leaves it out")


def _taken_and_reverted(replayer: _Replayer, patch: PatchFile, commit: str,
                        tree: str, conflicted: list[str], head: _Head) -> PatchOutcome | None:
    """A patch said to be upstream whose header names nothing the release holds, that
    applies anew: upstream's commit of the same patch-id, reverted before the release,
    waits for a person rather than being carried silently; a backport of it is left out,
    however upstream undid it (the release no longer has it: the patch applies anew)."""
    if patch.status.kind not in ("Submitted", "Issue", "Backport") \
            or conflicted or tree == head.tree:
        return None
    taken = replayer.evidence.by_patch_id(patch.diff)
    if taken is None:
        return None
    if patch.status.kind == "Backport":
        return _followed(replayer, patch, commit, taken, "the same patch-id")
    revert = replayer.evidence.revert_of(taken)
    if revert is None:
        return None
    return _undone(patch, commit, taken, "the same patch-id", revert)


def _conflict_or_upstreamed(replayer: _Replayer, patch: PatchFile, commit: str, tree: str,
                            conflicted: list[str], head: str) -> PatchOutcome:
    upstream = replayer.evidence.by_patch_id(patch.diff)
    if upstream is not None:
        return PatchOutcome(patch=patch, old_commit=commit, outcome="upstreamed", files=patch.files,
                            upstream_commit=upstream,
                            detail="upstream has a commit with the same patch-id")
    if replayer.reverse_applies(patch, head):
        return PatchOutcome(patch=patch, old_commit=commit, outcome="upstreamed", files=patch.files,
                            detail="the new release already has this change (reverse applies)")
    conflicts = tuple(
        Conflict(path=path, hunks=conflict_hunks(
            replayer.repo.git("cat-file", "blob", f"{tree}:{path}", check=False).stdout))
        for path in conflicted)
    return PatchOutcome(patch=patch, old_commit=commit, outcome="conflict", files=tuple(conflicted),
                        conflicts=conflicts,
                        detail=f"conflicts in {', '.join(conflicted)}")


def carry_one(repo: Repository, patches: Sequence[PatchFile], index: int, *, old_base: str,
              onto: str, old_name: str) -> tuple[str | None, list[str]]:
    """Patch `index` of a queue made against `old_base`, alone on commit `onto` (an
    upstream branch, for a merge request): (its commit, or None and the conflicting
    files). The patches before it apply first on the old base, as they were made."""
    replayer = _Replayer(repo, old_base, onto, None)
    old = replayed_queue(repo, old_base, patches[:index + 1], base_name=old_name)
    parent = old[index - 1].commit if index else old_base
    onto_tree = replayer.tree_of(onto)
    with replayer.merges:
        tree, conflicted, _ = replayer.pick(old[index].commit, parent, onto_tree)
    if conflicted:
        return None, conflicted
    if tree == onto_tree:
        return None, []  # the branch already has the change
    return commit_patch(repo, tree, onto, patches[index]), []
