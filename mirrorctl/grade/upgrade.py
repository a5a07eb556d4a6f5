"""The grade of a package's last upgrade, as its record keeps it (core.record), and
whether it still stands.

An upgrade is graded when its queue is carried (by the nightly or `rebase`), and the
grade stays on the package until it is settled: its builds passed, its pull request
was merged, a newer release replaced it (the next carry records a new upgrade), or a
person said so (`mirrorctl settle`). Until then the report and classify show that
grade, not "up to date": a carried queue is not yet a built wheel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mirrorctl.core.errors import UsageError
from mirrorctl.core.grades import Grade, Reason, grade_from_json, grade_to_json
from mirrorctl.core.record import (
    Fact,
    FactKind,
    PackageRecord,
    forget_lost,
    read_record,
    write_facts,
)
from mirrorctl.core.stamps import stamp_text
from mirrorctl.queue.carried import CARRY

__all__ = ["UPGRADE", "Settled", "Upgrade", "builds_settle", "pending_upgrade",
           "record_settled", "recorded_upgrade", "settle_upgrade"]


@dataclass(frozen=True, kw_only=True)
class Settled:
    how: str  # "its builds passed", "its pull request was merged", "a person: ..."
    by: str  # the command that settled it
    at: str


@dataclass(frozen=True, kw_only=True)
class Upgrade:
    from_version: str
    to_version: str
    onto: str  # the release's tag
    grade: Grade
    settled: Settled | None = None

    def settle(self, how: str, *, by: str, at: str) -> Upgrade:
        return replace(self, settled=Settled(how=how, by=by, at=at))


def _to_json(upgrade: Upgrade) -> dict[str, Any]:
    settled = upgrade.settled
    return {"from": upgrade.from_version, "to": upgrade.to_version, "onto": upgrade.onto,
            "grade": grade_to_json(upgrade.grade),
            "settled": None if settled is None else
            {"how": settled.how, "by": settled.by, "at": settled.at}}


def _from_json(data: Mapping[str, Any]) -> Upgrade:
    settled = data.get("settled")
    return Upgrade(from_version=str(data["from"]), to_version=str(data["to"]),
                   onto=str(data["onto"]), grade=grade_from_json(data["grade"]),
                   settled=None if settled is None else Settled(
                       how=str(settled["how"]), by=str(settled["by"]), at=str(settled["at"])))


UPGRADE = FactKind[Upgrade]("upgrade", _to_json, _from_json)


def recorded_upgrade(record: PackageRecord) -> Fact[Upgrade] | None:
    return record.get(UPGRADE)


def pending_upgrade(record: PackageRecord, current: str | None) -> Upgrade | None:
    """The upgrade onto the current queue that is not settled yet, if the record holds
    one: the package's state until it is."""
    fact = record.get(UPGRADE)
    if fact is None or fact.value is None or current is None:
        return None
    upgrade = fact.value
    if upgrade.settled is not None or upgrade.to_version != current \
            or upgrade.from_version == upgrade.to_version:
        return None
    return upgrade


# What the builds say when they settle an upgrade (grade.builds' reasons), and what
# keeps it open whatever else they say.
_PASSED = frozenset({"built-and-tested", "tests-fixed"})
_FAILED = frozenset({"build-failed", "new-test-failures", "nan-test-failures",
                     "nan-test-failures-covered"})


def builds_settle(reasons: Sequence[Reason]) -> bool:
    """Whether the builds' reasons say the upgrade built and passed its tests."""
    codes = {r.code for r in reasons}
    return bool(codes & _PASSED) and not codes & _FAILED


def record_settled(workdir: Path, package: str, how: str, *, by: str, at: str) -> None:
    """The package's standing upgrade is settled (its builds passed): kept so."""
    fact = read_record(workdir, package).get(UPGRADE)
    if fact is not None and fact.value is not None and fact.value.settled is None:
        write_facts(workdir, package, [(UPGRADE, Fact.known(
            fact.value.settle(how, by=by, at=at), by=fact.by, at=fact.at))])


def settle_upgrade(workdir: Path, package: str, *, note: str, by: str, at: str,
                   dry_run: bool = False) -> str:
    """A person says the package's last upgrade is settled (built and checked by hand,
    merged elsewhere); an upgrade or a carry the record does not know (a rebase that
    failed or was killed) is forgotten, so the package reads from its caches again.
    What was settled; UsageError when nothing waits. A record started afresh after one
    that did not read (kept beside it) is what a person settles first. With `dry_run`,
    what would be settled, nothing written."""
    lost = forget_lost(workdir, package, dry_run=dry_run)
    if lost is not None:
        return (f"the record that did not read is settled: {lost.split(': it is kept as ')[0]}"
                "; the package's facts are read again (the next sync and carry establish "
                "them)")
    record = read_record(workdir, package)
    upgrade, carry = record.get(UPGRADE), record.get(CARRY)
    forget = [kind for kind, fact in ((UPGRADE, upgrade), (CARRY, carry))
              if fact is not None and not fact.is_known]
    if forget:
        why = "; ".join(f.unknown or "" for f in (upgrade, carry) if f and not f.is_known)
        if not dry_run:
            write_facts(workdir, package, [], forget=forget)
        return f"forgot what the record could not establish ({why})"
    if upgrade is None or upgrade.value is None:
        raise UsageError(f"nothing of {package} waits to be settled: no upgrade is recorded "
                         f"for it (`mirrorctl report {package}` shows where it stands)")
    if carry is not None and carry.value is not None and carry.value.status == "conflict" \
            and carry.value.to_version == upgrade.value.to_version:
        raise UsageError(f"{package}'s upgrade to {upgrade.value.to_version} waits on a "
                         "conflict, which settles when it is resolved: run `mirrorctl "
                         f"rebase {package} --worktree ../{package}-rebase`, then --continue")
    if upgrade.value.settled is not None:
        done = upgrade.value.settled
        raise UsageError(f"{package}'s upgrade {upgrade.value.from_version} -> "
                         f"{upgrade.value.to_version} was settled already: {done.how} "
                         f"({done.by}, {stamp_text(done.at)})")
    settled = upgrade.value.settle(f"a person said so: {note}" if note else "a person said so",
                                   by=by, at=at)
    if not dry_run:
        write_facts(workdir, package, [(UPGRADE, Fact.known(settled, by=upgrade.by,
                                                            at=upgrade.at))])
    return (f"settled the upgrade {settled.from_version} -> {settled.to_version} "
            f"({settled.grade.level}: {settled.grade.main_reason.code})")
