"""What mirrorctl knows of one package, fact by fact (`mirrorctl status`): each fact of
its record in words, or unknown with why, with the command that established it and
when; the queue it carries now; the settled note; the records kept aside; and what its
record says needs a person. Its state and needs are the report's own (one place, so
`status` and `report` agree). Nothing here writes.

A fact never recorded is "none" (with what establishes it), never a default. A fact the
cache or the queue folders contradict (a cache ref that moved since the sync recorded
it, a folder that is no queue) is unknown, as every other reader shows it.

The wings below declare their facts; a fact of a wing beside this one (upstream's
`wheels`) comes in as a FactWords from the command line, which sees both.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from mirrorctl.core.config import Config, Package
from mirrorctl.core.errors import MirrorctlError
from mirrorctl.core.git import GitRunner
from mirrorctl.core.grades import Reason
from mirrorctl.core.record import LOST, Fact, FactKind, PackageRecord, read_record
from mirrorctl.core.stamps import stamp_text
from mirrorctl.grade.road import ROAD, Road
from mirrorctl.grade.upgrade import UPGRADE, Upgrade
from mirrorctl.queue.branches import checked_version
from mirrorctl.queue.carried import CARRY, Carry
from mirrorctl.queue.folders import not_a_queue, queue_dir
from mirrorctl.queue.patches import read_queue
from mirrorctl.report.build import package_reports
from mirrorctl.report.report import Action, package_actions
from mirrorctl.sync.cache import open_cache, package_runner, untagged
from mirrorctl.sync.standing import SyncStanding, sync_standing
from mirrorctl.sync.state import MIRROR, UPSTREAM, MirrorRead, UpstreamRead, upstream_fact

__all__ = ["FactStatus", "FactWords", "PackageStatus", "package_status"]

T = TypeVar("T")
FactState = Literal["known", "unknown", "none"]


@dataclass(frozen=True, kw_only=True)
class FactStatus:
    name: str
    state: FactState  # none: never recorded (`text` says what establishes it)
    text: str  # the value in words, or why it is unknown
    by: str | None = None  # the command that established it
    at: str | None = None  # when (a UTC stamp)
    source: str = ""  # the file it was read from
    value: Any = None  # the fact as the record keeps it (JSON-able), when known


@dataclass(frozen=True, kw_only=True)
class PackageStatus:
    name: str
    record: str  # the record's file
    written_by: str | None  # the mirrorctl that last wrote it
    facts: tuple[FactStatus, ...]
    standing: str  # as the report reads it: hard, unknown, medium, easy, up-to-date or none
    level: str | None  # the grade's level (None: not graded)
    reason: str  # the grade's main reason, or why it is unknown
    settled: str  # how, by what and when the last upgrade was settled ("" if it is not)
    kept_aside: tuple[str, ...]  # records that did not read, kept beside this one
    needs: tuple[Action, ...]  # as the report lists them

    @property
    def unknown(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.facts if f.state == "unknown")


@dataclass(frozen=True)
class FactWords(Generic[T]):
    """A fact of a wing this one does not see, and its words: (the value in words, why
    it is not current or None)."""

    kind: FactKind[T]
    words: Callable[[T], tuple[str, str | None]]


_CARRIES = "a carry records it: the nightly or `rebase`"


def package_status(config: Config, package: Package, *, workdir: Path, runner: GitRunner,
                   more: Sequence[FactWords[Any]] = ()) -> PackageStatus:
    [row] = package_reports(config, [package], workdir=workdir, runner=runner)
    record = read_record(workdir, package.name)
    standing = sync_standing(workdir, package, record=record)
    writer = record.writer
    facts = [_record_fact(record, writer), _upstream(record, standing), _mirror(package, record),
             _queue(config, package, workdir, runner),
             _recorded(record, CARRY, _carry_words, _CARRIES),
             _recorded(record, UPGRADE, _upgrade_words, _CARRIES),
             _recorded(record, ROAD, _road_words,
                       "the nightly records it once an upgrade is requested"),
             *(_recorded(record, w.kind, w.words, "`mirrorctl upstream wheels` records it")
               for w in more)]
    upgrade = record.get(UPGRADE) if record.problem is None else None
    done = upgrade.value.settled if upgrade is not None and upgrade.value is not None else None
    settled = f"{done.how} (by {done.by}, {stamp_text(done.at)})" if done else ""
    return PackageStatus(
        name=package.name, record=str(record.path), written_by=writer,
        facts=tuple(facts), standing=row.state, settled=settled,
        level=row.grade.level if row.grade else None,
        reason=_reason(row.grade.main_reason) if row.grade else "; ".join(row.problems),
        kept_aside=tuple(str(p) for p in sorted(record.path.parent.glob(
            f"{record.path.name}.unreadable-*"))),
        needs=tuple(package_actions(row)))


def _reason(reason: Reason) -> str:
    return f"{reason.code}: {reason.detail}"


def _record_fact(record: PackageRecord, writer: str | None) -> FactStatus:
    source = str(record.path)
    if not record.exists:
        return FactStatus(name="record", state="none", source=source,
                          text="no record yet: `mirrorctl sync` starts it")
    if record.problem is not None:
        lost = record.entries.get(LOST)
        return FactStatus(name="record", state="unknown", text=record.problem, source=source,
                          by=str(lost.get("by")) if lost else None,
                          at=str(lost.get("at")) if lost and lost.get("at") else None)
    return FactStatus(name="record", state="known", source=source,
                      text=f"reads: {_count(len(record.entries), 'fact', 'facts')}"
                           + (f", written by mirrorctl {writer}" if writer else ""))


def _recorded(record: PackageRecord, kind: FactKind[T],
              words: Callable[[T], tuple[str, str | None]], establishes: str) -> FactStatus:
    source = str(record.path)
    if record.problem is not None:
        return FactStatus(name=kind.name, state="unknown", source=source,
                          text="the record does not read (see `record`)")
    fact = record.get(kind)
    if fact is None:
        return FactStatus(name=kind.name, state="none", source=source,
                          text=f"never recorded ({establishes})")
    return _fact_status(kind, fact, words, source)


def _fact_status(kind: FactKind[T], fact: Fact[T],
                 words: Callable[[T], tuple[str, str | None]], source: str) -> FactStatus:
    if not fact.is_known or fact.value is None:
        return FactStatus(name=kind.name, state="unknown", text=fact.unknown or "unknown",
                          by=fact.by, at=fact.at, source=source)
    text, stale = words(fact.value)
    return FactStatus(name=kind.name, state="unknown" if stale else "known",
                      text=f"{stale} (last established: {text})" if stale else text,
                      by=fact.by, at=fact.at, source=source, value=kind.encode(fact.value))


def _upstream(record: PackageRecord, standing: SyncStanding) -> FactStatus:
    """Whether the cache holds upstream as the last sync recorded it."""
    fact = upstream_fact(record) if record.problem is None else None
    by, at = (fact.by, fact.at) if fact is not None else (None, None)
    if record.problem is not None:
        return FactStatus(name="upstream", state="unknown", source=str(record.path),
                          text="the record does not read (see `record`)")
    if standing.upstream_problem is not None:
        return FactStatus(name="upstream", state="unknown", text=standing.upstream_problem,
                          by=by, at=at, source=str(record.path))
    assert fact is not None  # no problem: a sync recorded it
    return _fact_status(UPSTREAM, fact, _upstream_words, str(record.path))


def _upstream_words(read: UpstreamRead) -> tuple[str, str | None]:
    head = f"; its default branch {read.head}" if read.head else ""
    return (f"the cache holds upstream as the last sync recorded it: {read.refs} refs, "
            f"{read.tags} tags{head}", None)


def _mirror(package: Package, record: PackageRecord) -> FactStatus:
    if package.mirror is None:
        return FactStatus(name="mirror", state="known", source="mirrors.yaml",
                          text="no mirror: upstream is kept in mirrorctl's cache alone")
    return _recorded(record, MIRROR, _mirror_words, "`mirrorctl sync` records it")


def _mirror_words(read: MirrorRead) -> tuple[str, str | None]:
    branches = ", ".join(read.riscv64) or "no riscv64 branch"
    left = "".join(f"; {n.ref} waits for a person: {n.detail}" for n in read.needs)
    return f"{branches}; {read.refs} refs in all{left}", None


def _queue(config: Config, package: Package, workdir: Path, runner: GitRunner) -> FactStatus:
    """The queue carried now: read from its folder, and its release from the cache."""
    try:
        version = checked_version(None, package, config)
    except (MirrorctlError, ValueError) as exc:
        return FactStatus(name="queue", state="unknown", text=str(exc),
                          source=str(config.patchsets / package.name))
    folder = queue_dir(config.patchsets, package.name, version)
    source = str(folder)
    why = not_a_queue(config, package, version)
    if why is None:
        try:
            cache = open_cache(workdir, package, package_runner(runner, package))
            why = untagged(cache.tag_names(), package, version)
        except MirrorctlError:
            why = None  # no cache: `upstream` says so; the folder is still read
    if why is not None:
        return FactStatus(name="queue", state="unknown", text=why, source=source)
    if not folder.is_dir():
        return FactStatus(name="queue", state="known", source=source,
                          text=f"{version}: no queue folder, no patch carried")
    queue, problems = read_queue(config.patchsets, package.name, version)
    if problems:
        return FactStatus(name="queue", state="unknown", source=source,
                          text=f"{version}: " + "; ".join(str(p) for p in problems[:3]))
    return FactStatus(name="queue", state="known", source=source,
                      text=f"{version}: {_count(len(queue.patches), 'patch', 'patches')}")


def _carry_words(carry: Carry) -> tuple[str, str | None]:
    outcomes = Counter(p.outcome for p in carry.patches)
    said = ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items()))
    parts = [f"{carry.from_version} -> {carry.to_version} onto {carry.onto}: {carry.status}, "
             f"queue {carry.written}" + (f" ({said})" if said else "")]
    if carry.waiting:
        parts.append(f"the conflict waits in {carry.waiting}")
    if carry.push:
        parts.append(f"push {carry.push}" + (f": {carry.push_detail}" if carry.push_detail
                                              else ""))
    if carry.pull_request or carry.pull_request_action:
        parts.append(f"pull request {carry.pull_request_action or ''} "
                     f"{carry.pull_request or carry.pull_request_detail}".replace("  ", " "))
    return "; ".join(parts), None


def _upgrade_words(upgrade: Upgrade) -> tuple[str, str | None]:
    reasons = ", ".join(r.code for r in upgrade.grade.reasons)
    text = (f"{upgrade.from_version} -> {upgrade.to_version}: {upgrade.grade.level}"
            + (f" ({reasons})" if reasons else ""))
    done = upgrade.settled
    return text + (f"; settled: {done.how}" if done is not None
                   else "; stands until settled"), None


def _road_words(road: Road) -> tuple[str, str | None]:
    parts = [f"{road.version}: {road.state}"]
    if road.request:
        parts.append(road.request)
    if road.missing:
        parts.append("the registry lacks " + ", ".join(road.missing))
    if road.detail:
        parts.append(road.detail)
    return "; ".join(parts), None


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"
