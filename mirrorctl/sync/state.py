"""What sync knows about each package, kept in the package's record (core.record).

- `sync`, sync's memory between runs (PackageState): upstream's mirrored refs at the
  last fetch (equal to the cache's refs), so that an unchanged upstream costs no fetch;
  what mirrorctl last pushed to each mirror ref (what it owns); what a push in flight
  was about to set, written before the push, so that a sync killed mid-push still
  learns on the next run what it had pushed.
- `upstream`: the cache holds upstream as the last sync read it (UpstreamRead), or
  why not: the sync could not read or fetch it, or it started and never finished.
- `mirror`: the mirror as the last sync read it (MirrorRead: its riscv64 branches, the
  refs that need a person), or why not.

A sync records `upstream` and `mirror` as unknown before it touches anything ("a sync
started at ... did not finish"), and what it found once it is done: a sync killed,
interrupted or out of disk leaves the package unknown, never as the last good run
left it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mirrorctl.core.record import Fact, FactKind, PackageRecord, read_record, write_facts

__all__ = ["MIRROR", "SYNC", "UPSTREAM", "MirrorRead", "PackageState", "RefNeed",
           "UpstreamRead", "riscv64_branches"]

RISCV64 = "refs/heads/riscv64/"


@dataclass
class PackageState:
    upstream: dict[str, str] = field(default_factory=dict)
    pushed: dict[str, str] = field(default_factory=dict)
    pending: dict[str, str | None] = field(default_factory=dict)
    # Why the last sync could not bring upstream into the cache: what state files of
    # format 1 said (the record's `upstream` fact says it now); read, never written.
    upstream_error: str | None = None
    warning: str | None = None

    @classmethod
    def load(cls, workdir: Path, package: str) -> PackageState:
        return cls.of(read_record(workdir, package))

    @classmethod
    def of(cls, record: PackageRecord) -> PackageState:
        """Sync's memory in a record read already."""
        fact = record.get(SYNC)
        if fact is None:
            return cls()
        if not fact.is_known or fact.value is None:
            # Losing the state costs a full fetch and makes sync more cautious
            # (nothing counts as pushed by mirrorctl); it never loses a ref.
            return cls(warning=f"{fact.unknown}; starting afresh")
        return fact.value

    def save(self, workdir: Path, package: str, *, stamp: str) -> None:
        write_facts(workdir, package, [(SYNC, Fact.known(self, by="sync", at=stamp))])

    def settle_pending(self, mirror: dict[str, str]) -> bool:
        """Adopt the pending updates the mirror shows happened; forget the others.
        True when there was anything to settle (the state then needs saving)."""
        had_pending = bool(self.pending)
        for ref, value in self.pending.items():
            if value is not None and mirror.get(ref) == value:
                self.pushed[ref] = value
            elif value is None and ref not in mirror:
                self.pushed.pop(ref, None)
        self.pending = {}
        return had_pending


def _state_json(state: PackageState) -> dict[str, Any]:
    return {"upstream": state.upstream, "pushed": state.pushed, "pending": state.pending}


def _state_from_json(data: Mapping[str, Any]) -> PackageState:
    error = data.get("upstream_error")
    return PackageState(upstream=dict(data.get("upstream", {})),
                        pushed=dict(data.get("pushed", {})),
                        pending=dict(data.get("pending", {})),
                        upstream_error=str(error) if error is not None else None)


SYNC = FactKind("sync", _state_json, _state_from_json)


@dataclass(frozen=True)
class UpstreamRead:
    """The cache holds upstream as a sync read it."""

    refs: int  # mirrored refs
    tags: int
    # Upstream's default branch, as its HEAD names it (None: it names none, or a record
    # from before mirrorctl read it).
    head: str | None = None


def _upstream(data: Any) -> UpstreamRead:
    head = data.get("head")
    return UpstreamRead(refs=int(data["refs"]), tags=int(data["tags"]),
                        head=str(head) if head is not None else None)


UPSTREAM = FactKind[UpstreamRead](
    "upstream", lambda u: {"refs": u.refs, "tags": u.tags, "head": u.head}, _upstream)


@dataclass(frozen=True)
class RefNeed:
    """A mirror ref sync left for a person to decide (a tag upstream moved, ...)."""

    ref: str
    detail: str


@dataclass(frozen=True)
class MirrorRead:
    """The mirror as a sync read it (after its push, when it pushed)."""

    riscv64: Mapping[str, str]  # riscv64/<version> branch name -> commit
    refs: int  # every branch and tag it holds
    needs: tuple[RefNeed, ...] = ()


def riscv64_branches(refs: Mapping[str, str]) -> dict[str, str]:
    return {ref.removeprefix("refs/heads/"): sha for ref, sha in sorted(refs.items())
            if ref.startswith(RISCV64)}


MIRROR = FactKind[MirrorRead](
    "mirror",
    lambda m: {"riscv64": dict(m.riscv64), "refs": m.refs,
               "needs": [{"ref": n.ref, "detail": n.detail} for n in m.needs]},
    lambda d: MirrorRead(riscv64={str(k): str(v) for k, v in d["riscv64"].items()},
                         refs=int(d["refs"]),
                         needs=tuple(RefNeed(str(n["ref"]), str(n["detail"]))
                                     for n in d.get("needs", ()))))


def upstream_fact(record: PackageRecord) -> Fact[UpstreamRead] | None:
    """Whether the cache holds upstream, as the record says: its `upstream` fact, or for
    a record from before it, what sync's state said (an error, or nothing)."""
    fact = record.get(UPSTREAM)
    if fact is not None:
        return fact
    memory = record.get(SYNC)
    if memory is None:
        return None
    if not memory.is_known or memory.value is None:
        return Fact.missing(memory.unknown or "", by=memory.by, at=memory.at)
    if memory.value.upstream_error is not None:
        return Fact.missing(memory.value.upstream_error, by="sync", at=memory.at)
    refs = memory.value.upstream
    return Fact.known(UpstreamRead(refs=len(refs),
                                   tags=sum(r.startswith("refs/tags/") for r in refs)),
                      by="sync", at=memory.at)
