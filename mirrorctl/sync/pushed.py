"""What a push to the mirror did, as the mirror shows it after (git's word alone is not
taken): each update of the plan with its result, and the updates an earlier attempt
pushed that the plan no longer lists (pure).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from mirrorctl.core.repository import PushedRef
from mirrorctl.sync.refplan import RefUpdate

__all__ = ["push_results", "with_landed"]


def with_landed(plan: Sequence[RefUpdate], landed: Sequence[RefUpdate]) -> list[RefUpdate]:
    """The plan and the updates an earlier attempt pushed that it no longer lists."""
    planned = {u.ref for u in plan}
    return sorted([*plan, *(u for u in landed if u.ref not in planned)], key=lambda u: u.ref)


def push_results(plan: Sequence[RefUpdate], pushed: Sequence[PushedRef],
                 after: dict[str, str]) -> list[RefUpdate]:
    """The plan with each update's result: pushed, or rejected (by git, or by the
    mirror's refs `after` the push, which do not show it)."""
    by_ref = {p.ref: p for p in pushed}
    done = []
    for update in plan:
        outcome = by_ref.get(update.ref)
        if outcome is None:
            done.append(update)
        elif outcome.status == "rejected":
            done.append(replace(update, result="rejected", detail=f"rejected: {outcome.detail}"))
        elif after.get(update.ref) != update.new:
            # git push --atomic once claimed success over SSH for a failed push; believe the mirror.
            done.append(replace(update, result="rejected",
                                detail="git reported success but the mirror does not show it"))
        else:
            done.append(replace(update, result="pushed"))
    return done
