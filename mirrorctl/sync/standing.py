"""How a package's last sync stands, read from its record and its cache: what every
reader shows of it (the sync's health, whether the cache holds upstream, what the
mirror holds, the refs that wait for a person).

Nothing here writes. A fact the record does not hold, or one the cache contradicts
(a cache deleted or emptied, a cache with no record beside it), is unknown with why,
never "ok".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mirrorctl.core.config import Package
from mirrorctl.core.objects import files_refs
from mirrorctl.core.record import PackageRecord, read_record
from mirrorctl.core.release import Release
from mirrorctl.sync.cache import cache_dir
from mirrorctl.sync.refplan import RefRules
from mirrorctl.sync.state import MIRROR, SYNC, RefNeed, upstream_fact

__all__ = ["Mirrored", "SyncStanding", "cache_disagrees", "sync_standing", "unvouched"]


@dataclass(frozen=True)
class Mirrored:
    """What the mirror holds of the package's riscv64 branches, as the last sync read it."""

    state: Literal["read", "no-mirror", "unknown"]
    version: str | None = None  # the newest riscv64/<version> branch it holds
    at: str | None = None  # when it was read
    why: str = ""  # why it is unknown

    @property
    def text(self) -> str:
        if self.state == "no-mirror":
            return "no mirror"
        if self.state == "unknown":
            return "unknown"
        return self.version or "none"


@dataclass(frozen=True)
class SyncStanding:
    # ok | failed: why | never (no sync yet) | unknown: why (the cache changed since)
    health: str
    upstream_problem: str | None  # why the cache is not known to hold upstream
    mirrored: Mirrored
    ref_needs: tuple[RefNeed, ...] = ()  # refs the last sync left for a person
    at: str | None = None  # when the last sync brought upstream into the cache

    @property
    def failed(self) -> bool:
        return self.health.startswith("failed")


def sync_standing(workdir: Path, package: Package, *, tags: Sequence[str] | None = None,
                  record: PackageRecord | None = None,
                  refs: Mapping[str, str] | None = None) -> SyncStanding:
    """The package's sync as its record and its cache show it; `tags`: the cache's tags,
    when the caller read them (a cache that lost them is then found out); `refs`: its
    branches and tags, when the caller read them (else they are read here)."""
    record = record if record is not None else read_record(workdir, package.name)
    problem, at = _upstream(workdir, package, record, tags, refs)
    mirrored = _mirrored(package, record)
    needs: tuple[RefNeed, ...] = ()
    if mirrored.state == "read":
        fact = record.get(MIRROR)
        needs = fact.value.needs if fact is not None and fact.value is not None else ()
    disagrees = problem is not None and problem.startswith(_DISAGREES)
    unread = record.problem is not None  # no sync failed: what it recorded is not known
    if problem is None and mirrored.state == "unknown" and mirrored.why:
        health = f"failed: the mirror: {mirrored.why}"
    elif problem is None:
        health = "ok"
    elif problem.startswith("no cache"):
        health = "never"
    elif disagrees or unread:  # no sync failed: the cache changed, or the record is lost
        health = f"unknown: {problem}"
    else:
        health = f"failed: {problem}"
    upstream = None if problem is None else (
        problem if problem.startswith("no cache") or disagrees else
        f"upstream unknown: its record does not read ({problem})" if unread else
        f"upstream unknown: the last sync could not bring it into the cache ({problem}); "
        f"what is newer is not known until `mirrorctl sync {package.name}` succeeds")
    return SyncStanding(health=health, upstream_problem=upstream, mirrored=mirrored,
                        ref_needs=needs, at=at)


def _upstream(workdir: Path, package: Package, record: PackageRecord,
              tags: Sequence[str] | None,
              refs: Mapping[str, str] | None) -> tuple[str | None, str | None]:
    """(why the cache is not known to hold upstream, or None; when it was brought in)."""
    cache = cache_dir(workdir, package)
    fact = upstream_fact(record)
    if not (cache / "HEAD").is_file():
        if fact is not None and fact.is_known:
            return f"its cache {cache} is gone (deleted?) although a sync filled it", None
        if fact is not None:
            return fact.unknown, None
        return (f"no cache for {package.name} in {workdir}; run `mirrorctl sync "
                f"{package.name}` first", None)
    if not record.exists:
        return (f"its cache {cache} has no record beside it ({record.path} is missing), so "
                "what it holds is not known to be upstream's", None)
    if fact is None:
        return f"no sync is recorded in {record.path}", None
    if not fact.is_known or fact.value is None:
        return fact.unknown, None
    if tags is not None and not tags and fact.value.tags:
        return (f"its cache {cache} holds none of the {fact.value.tags} tags the last sync "
                "brought (emptied?)", None)
    why = unvouched(workdir, package, record, refs=refs)
    if why is not None:
        return why, None
    return None, fact.at


_DISAGREES = "its cache's refs are not what the last sync recorded"


def unvouched(workdir: Path, package: Package, record: PackageRecord | None = None, *,
              refs: Mapping[str, str] | None = None) -> str | None:
    """Why the cache's refs are not what the last sync recorded, or None: what a carry
    checks before it writes a queue for a release (never one sync did not record).
    `refs`: the cache's branches and tags, when the caller read them."""
    record = record if record is not None else read_record(workdir, package.name)
    memory = record.get(SYNC)
    if memory is None or memory.value is None:
        return None
    if refs is None:
        refs = files_refs(cache_dir(workdir, package), ("refs/heads/", "refs/tags/"))
    if refs is None:
        return None
    return cache_disagrees(refs, memory.value.upstream, package)


def cache_disagrees(refs: Mapping[str, str], recorded: Mapping[str, str],
                    package: Package) -> str | None:
    """Why the cache's upstream refs are not what the last sync recorded (a tag moved, a
    branch rewound, a ref added or gone: a CI cache restored stale, a hand edit), or None.
    Only the refs the package mirrors count (its own riscv64 branches never do)."""
    rules = RefRules(branches=package.branches, tags=package.tags, protected=package.protected)

    def counts(ref: str) -> bool:
        return rules.is_mirrored(ref) and not rules.is_protected(ref)

    # Every morning: the cache holds each ref as recorded, and its other refs (riscv64
    # branches of a carry) are none the sync follows. Only those few are matched.
    if recorded.items() <= refs.items() and not any(
            counts(r) for r in refs.keys() - recorded.keys()):
        return None

    def mirrored(found: Mapping[str, str]) -> dict[str, str]:
        return {r: s for r, s in found.items() if counts(r)}

    have, said = mirrored(refs), mirrored(recorded)
    if have == said:
        return None
    moved = [f"{r} moved ({said[r][:10]} -> {have[r][:10]})" for r in sorted(have.keys() &
                                                                        said.keys())
             if have[r] != said[r]]
    added = [f"{r} added" for r in sorted(have.keys() - said.keys())]
    gone = [f"{r} gone" for r in sorted(said.keys() - have.keys())]
    changes = [*moved, *added, *gone]
    shown = "; ".join(changes[:3]) + (f"; and {len(changes) - 3} more" if len(changes) > 3
                                      else "")
    return (f"{_DISAGREES} ({shown}), so what it "
            f"holds is not believed until `mirrorctl sync {package.name}` restores it from "
            "upstream")


def _mirrored(package: Package, record: PackageRecord) -> Mirrored:
    if package.mirror is None:
        return Mirrored("no-mirror")
    fact = record.get(MIRROR)
    if fact is None:
        return Mirrored("unknown")  # no sync has recorded the mirror yet
    if not fact.is_known or fact.value is None:
        return Mirrored("unknown", at=fact.at, why=fact.unknown or "")
    releases = [r for b in fact.value.riscv64 if (r := Release.of(b.removeprefix("riscv64/")))]
    newest = max(releases).text if releases else None
    return Mirrored("read", version=newest, at=fact.at)
