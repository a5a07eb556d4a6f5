"""The last carry of a package's queue, as its record keeps it (core.record): onto which
release, from which queue, what became of each patch, what was written, where a
conflict waits, and what was delivered (the push, the mirror's merge request, the
upgrade's pull request).

A recorded carry still describes the package while its queue and the release are as
they were (`stands_for`): the report and classify then read its outcomes instead of
dry-running the rebase again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from mirrorctl.core.record import FactKind
from mirrorctl.queue.carry import RebaseReport, WriteResult
from mirrorctl.queue.engine import OUTCOMES, Outcome, PatchOutcome
from mirrorctl.queue.patches import PatchQueue

__all__ = ["CARRY", "CarriedPatch", "Carry", "carry_of", "recorded_outcomes"]


@dataclass(frozen=True, kw_only=True)
class CarriedPatch:
    name: str
    status: str  # its Upstream-Status header, as the carried queue said
    outcome: Outcome
    detail: str = ""
    upstream_commit: str | None = None


@dataclass(frozen=True, kw_only=True)
class Carry:
    from_version: str
    to_version: str
    onto: str  # the release's tag
    onto_commit: str  # its commit: a release re-tagged since is another release
    queue_digest: str  # the queue carried (PatchQueue.digest)
    status: Literal["clean", "conflict"]
    written: WriteResult
    patches: tuple[CarriedPatch, ...]
    waiting: str | None = None  # the worktree where a conflict waits for a person
    push: str | None = None  # the riscv64 branch's push to the mirror, when asked
    push_detail: str = ""
    merge_request: str | None = None
    pull_request: str | None = None
    pull_request_action: str | None = None  # opened | updated | unchanged | skipped | failed
    pull_request_detail: str = ""

    @property
    def carried(self) -> bool:
        """The new queue was written (or upstream took everything): it is current."""
        return self.written in ("written", "unchanged", "nothing-to-carry")

    def stands_for(self, from_version: str, onto_commit: str, queue_digest: str) -> bool:
        """Whether this carry is what a rebase of that queue onto that commit would give."""
        return (self.from_version, self.onto_commit, self.queue_digest) == (
            from_version, onto_commit, queue_digest)


def carry_of(report: RebaseReport) -> Carry:
    return Carry(
        from_version=report.from_version, to_version=report.to_version, onto=report.onto,
        onto_commit=report.onto_commit, queue_digest=report.queue_digest,
        status=cast(Literal["clean", "conflict"], report.status), written=report.written,
        patches=tuple(CarriedPatch(name=o.patch.name, status=str(o.patch.status),
                                   outcome=o.outcome, detail=o.detail,
                                   upstream_commit=o.upstream_commit)
                      for o in report.result.outcomes),
        waiting=str(report.worktree) if report.worktree else None, push=report.push,
        push_detail=report.push_detail, merge_request=report.merge_request,
        pull_request=report.pull_request, pull_request_action=report.pull_request_action,
        pull_request_detail=report.pull_request_detail)


def recorded_outcomes(carry: Carry, queue: PatchQueue) -> list[PatchOutcome] | None:
    """The carry's outcomes on the patches of `queue` (the queue it carried); None when
    the queue's patches are no longer the carry's."""
    patches = {p.name: p for p in queue.patches}
    if [p.name for p in carry.patches] != list(patches):
        return None
    return [PatchOutcome(patch=patches[p.name], outcome=p.outcome, files=patches[p.name].files,
                         upstream_commit=p.upstream_commit, detail=p.detail)
            for p in carry.patches]


def _to_json(carry: Carry) -> dict[str, Any]:
    data = {k: v for k, v in carry.__dict__.items() if k != "patches"}
    data["patches"] = [dict(p.__dict__) for p in carry.patches]
    return data


def _from_json(data: Mapping[str, Any]) -> Carry:
    patches = []
    for p in data["patches"]:
        if p["outcome"] not in OUTCOMES:
            raise ValueError(f"unknown outcome {p['outcome']!r}")
        patches.append(CarriedPatch(name=str(p["name"]), status=str(p["status"]),
                                    outcome=p["outcome"], detail=str(p.get("detail", "")),
                                    upstream_commit=p.get("upstream_commit")))
    if data["status"] not in ("clean", "conflict"):
        raise ValueError(f"unknown status {data['status']!r}")
    required = {k: str(data[k]) for k in _REQUIRED}
    optional = {k: data.get(k) for k in ("waiting", "push", "merge_request", "pull_request",
                                         "pull_request_action")}
    return Carry(**required, **optional, patches=tuple(patches),  # type: ignore[arg-type]
                 push_detail=str(data.get("push_detail") or ""),
                 pull_request_detail=str(data.get("pull_request_detail") or ""))


_REQUIRED = ("from_version", "to_version", "onto", "onto_commit", "queue_digest", "status",
             "written")


CARRY = FactKind[Carry]("carry", _to_json, _from_json)
