"""Patch debt over time: how long the riscv64 patches live, how many go upstream, and
how fast.

For every patch of a package's current queue: the first release whose queue folder
holds it (the builders keep every version folder), how many releases have carried it,
and since which release its Upstream-Status reads as it does now. From the history's
records: when each patch was first seen Submitted and when upstream took it, so the
time to upstream in days. Patches are matched without their number, which a rebase
may change. Pure over what it is given; reading folders and records is the caller's.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from packaging.version import InvalidVersion, Version

from mirrorctl.core.stamps import stamp_time

__all__ = ["DebtReport", "PatchAge", "patch_debt"]

_NUMBER = re.compile(r"^\d+-")
_PENDING = ("Pending", "To upstream", "Issue")


@dataclass(frozen=True)
class PatchAge:
    package: str
    patch: str  # its file name in the current queue
    status: str  # the Upstream-Status kind now
    entered: str  # the first release whose queue holds it
    releases: int  # how many releases' queues have carried it
    status_since: str  # the first release of the current run of this status


@dataclass(frozen=True)
class DebtReport:
    patches: tuple[PatchAge, ...]
    oldest_pending: tuple[PatchAge, ...]  # still pending, longest carried first
    most_carried: tuple[PatchAge, ...]
    upstreamed_days: tuple[tuple[str, str, float], ...]  # (package, patch, days)

    @property
    def median_days_to_upstream(self) -> float | None:
        days = [d for _, _, d in self.upstreamed_days]
        return statistics.median(days) if days else None


def _key(name: str) -> str:
    return _NUMBER.sub("", name)


def _order(version: str) -> tuple[int, Version | str]:
    try:
        return 0, Version(version)
    except InvalidVersion:
        return 1, version


def patch_debt(queues: Mapping[str, Mapping[str, Mapping[str, str]]],
               history: Sequence[tuple[str, Mapping[str, tuple[Mapping[str, str],
                                                               frozenset[str]]]]],
               current: Mapping[str, str | None], *, top: int = 10) -> DebtReport:
    """`queues`: package -> version -> {patch file: Upstream-Status kind}, every queue
    folder kept; `current`: package -> its current version; `history`: (stamp, package
    -> ({patch: header}, accepted names)) oldest first."""
    ages = []
    for package, versions in queues.items():
        now = current.get(package)
        if now is None or now not in versions:
            continue
        ordered = sorted(versions, key=_order)
        for patch, status in versions[now].items():
            holding = [v for v in ordered if _key(patch) in {_key(p) for p in versions[v]}]
            since = now
            for version in reversed(holding):
                statuses = {_key(p): s for p, s in versions[version].items()}
                if statuses.get(_key(patch)) != status:
                    break
                since = version
            ages.append(PatchAge(package, patch, status, holding[0] if holding else now,
                                 len(holding), since))
    pending = sorted((a for a in ages if a.status in _PENDING),
                     key=lambda a: (-a.releases, a.package, a.patch))
    carried = sorted(ages, key=lambda a: (-a.releases, a.package, a.patch))
    return DebtReport(patches=tuple(ages), oldest_pending=tuple(pending[:top]),
                      most_carried=tuple(carried[:top]),
                      upstreamed_days=_days_to_upstream(history))


def _days_to_upstream(history: Sequence[tuple[str, Mapping[str, tuple[Mapping[str, str],
                                                                      frozenset[str]]]]],
                      ) -> tuple[tuple[str, str, float], ...]:
    submitted: dict[tuple[str, str], datetime] = {}
    accepted: dict[tuple[str, str], datetime] = {}
    for stamp, packages in history:
        when = stamp_time(stamp)
        if when is None:
            continue
        for package, (headers, taken) in packages.items():
            for patch, header in headers.items():
                key = (package, _key(patch))
                if header.startswith("Submitted"):
                    submitted.setdefault(key, when)
                if patch in taken:
                    accepted.setdefault(key, when)
    return tuple(sorted((package, patch, round((accepted[(package, patch)] - at)
                                               .total_seconds() / 86400, 1))
                        for (package, patch), at in submitted.items()
                        if (package, patch) in accepted and accepted[(package, patch)] >= at))

