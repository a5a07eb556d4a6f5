"""The ref-update plan of a sync: a pure function of what upstream, the mirror and
mirrorctl's own records say. No I/O here, so every rule is a unit test.

The rules (issue 2):
- mirror-only refs, protected refs and refs mirrorctl did not push never move;
- a moved upstream tag is reported ("tag-moved"), followed only with force_tags,
  and then only where the mirror still holds upstream's or mirrorctl's value;
- a force-pushed upstream branch is followed ("force") where the mirror still
  holds what upstream or mirrorctl had; a mirror that diverged is reported;
- a branch deleted upstream stays unless prune, and then only if mirrorctl pushed it.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Literal

__all__ = [
    "NEEDS_HUMAN",
    "RefRules",
    "RefUpdate",
    "branch_moves",
    "plan_ref_updates",
    "select_mirrored",
]

HEADS = "refs/heads/"
TAGS = "refs/tags/"

Action = Literal["create", "update", "force", "delete", "skip"]
Result = Literal["planned", "pushed", "rejected", "skipped"]

# Skip reasons that mean a person has to decide something.
NEEDS_HUMAN = frozenset({"tag-moved", "diverged", "not-ours"})

_DETAILS = {
    "new": "new upstream ref",
    "fast-forward": "upstream moved forward",
    "upstream-force-push": "upstream rewrote the branch; followed",
    "tag-moved": "upstream moved the tag; run with --force-tags to follow it",
    "protected": "matches a protected glob; sync never touches it",
    "diverged": "the mirror's branch has commits upstream does not have; a person must decide",
    "not-ours": "the mirror's tag is neither upstream's old value nor one mirrorctl pushed",
    "deleted-upstream": "deleted upstream; kept in the mirror (run with --prune to delete)",
    "pruned": "deleted upstream; deleted from the mirror (--prune)",
}


@dataclass(frozen=True, kw_only=True)
class RefRules:
    branches: tuple[str, ...]
    tags: tuple[str, ...]
    protected: tuple[str, ...]
    force_tags: bool = False
    prune: bool = False

    def is_protected(self, ref: str) -> bool:
        return any(fnmatchcase(ref, glob) for glob in self.protected)

    def is_mirrored(self, ref: str) -> bool:
        if ref.startswith(HEADS):
            return any(fnmatchcase(ref[len(HEADS):], g) for g in self.branches)
        if ref.startswith(TAGS):
            return any(fnmatchcase(ref[len(TAGS):], g) for g in self.tags)
        return False


@dataclass(frozen=True, kw_only=True)
class RefUpdate:
    ref: str
    action: Action
    old: str | None
    new: str | None
    reason: str
    result: Result = "planned"
    detail: str = ""

    @property
    def needs_human(self) -> bool:
        return (self.action == "skip" and self.reason in NEEDS_HUMAN) or self.result == "rejected"

    @property
    def changes_mirror(self) -> bool:
        return self.action != "skip"


def select_mirrored(upstream: Mapping[str, str], rules: RefRules) -> dict[str, str]:
    """The upstream refs the mirror should carry."""
    return {ref: sha for ref, sha in upstream.items() if rules.is_mirrored(ref)}


def branch_moves(upstream: Mapping[str, str], mirror: Mapping[str, str],
                 rules: RefRules) -> dict[str, tuple[str, str]]:
    """Mirrored branches that both sides have with different values: {ref: (old, new)}.
    Whether each is a fast-forward is the one fact the planner needs from git."""
    return {ref: (mirror[ref], sha) for ref, sha in select_mirrored(upstream, rules).items()
            if ref.startswith(HEADS) and ref in mirror and mirror[ref] != sha}


def plan_ref_updates(*, upstream: Mapping[str, str], mirror: Mapping[str, str],
                     pushed: Mapping[str, str], last_upstream: Mapping[str, str],
                     fast_forwards: Set[str], rules: RefRules) -> list[RefUpdate]:
    """What to do to each ref of the mirror, sorted by ref; refs already in sync are left out.

    upstream: every branch and tag upstream has now (the planner selects).
    mirror: every branch and tag the mirror has now.
    pushed: what mirrorctl last pushed to each ref.
    last_upstream: upstream's value of each mirrored ref at the previous sync.
    fast_forwards: refs in branch_moves() whose mirror value is an ancestor of upstream's.
    """
    wanted = select_mirrored(upstream, rules)
    plan = []
    for ref in sorted(wanted.keys() | mirror.keys()):
        if ref in wanted:
            update = _plan_present(ref, mirror.get(ref), wanted[ref], pushed, last_upstream,
                                   fast_forwards, rules)
        else:
            update = _plan_absent(ref, mirror[ref], upstream, pushed, rules)
        if update is not None:
            plan.append(update)
    return plan


def _ours(ref: str, current: str, pushed: Mapping[str, str],
          last_upstream: Mapping[str, str]) -> bool:
    """The mirror still holds a value that came from upstream, not one made in the mirror."""
    return current in (pushed.get(ref), last_upstream.get(ref))


def _plan_present(ref: str, current: str | None, new: str, pushed: Mapping[str, str],
                  last_upstream: Mapping[str, str], fast_forwards: Set[str],
                  rules: RefRules) -> RefUpdate | None:
    if current == new:
        return None
    if rules.is_protected(ref):
        return _update(ref, "skip", current, new, "protected")
    if current is None:
        return _update(ref, "create", None, new, "new")
    if ref.startswith(TAGS):
        if not rules.force_tags:
            return _update(ref, "skip", current, new, "tag-moved")
        if _ours(ref, current, pushed, last_upstream):
            return _update(ref, "force", current, new, "tag-moved",
                           detail="upstream moved the tag; followed (--force-tags)")
        return _update(ref, "skip", current, new, "not-ours")
    if ref in fast_forwards:
        return _update(ref, "update", current, new, "fast-forward")
    if _ours(ref, current, pushed, last_upstream):
        return _update(ref, "force", current, new, "upstream-force-push")
    return _update(ref, "skip", current, new, "diverged")


def _plan_absent(ref: str, current: str, upstream: Mapping[str, str], pushed: Mapping[str, str],
                 rules: RefRules) -> RefUpdate | None:
    # Upstream still has it but it is no longer mirrored, mirrorctl never pushed
    # it, or someone moved it since: it belongs to the mirror. Leave it alone.
    if ref in upstream or pushed.get(ref) != current or rules.is_protected(ref):
        return None
    if rules.prune and ref.startswith(HEADS):
        return _update(ref, "delete", current, None, "pruned")
    return _update(ref, "skip", current, None, "deleted-upstream")


def _update(ref: str, action: Action, old: str | None, new: str | None, reason: str, *,
            detail: str | None = None) -> RefUpdate:
    return RefUpdate(ref=ref, action=action, old=old, new=new, reason=reason,
                     result="skipped" if action == "skip" else "planned",
                     detail=detail or _DETAILS[reason])
