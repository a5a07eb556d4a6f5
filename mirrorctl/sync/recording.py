"""What one package's sync writes to its record, and when: before it touches the cache
or the mirror, that its upstream and mirror are unknown (so that a kill, Ctrl-C or a
full disk leaves them so, never as the last good run found them); once done, what it
found (unless the record says it already); on a failure, why.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from mirrorctl.core.config import Package
from mirrorctl.core.record import (
    Fact,
    FactKind,
    NewerRecord,
    PackageRecord,
    read_record,
    write_facts,
)
from mirrorctl.core.stamps import stamp_text
from mirrorctl.sync.state import MIRROR, UPSTREAM, MirrorRead, UpstreamRead

__all__ = ["SyncRecord"]


class SyncRecord:
    """A package's record as one sync (started at `stamp`) writes it."""

    def __init__(self, workdir: Path, package: Package, stamp: str) -> None:
        self.workdir, self.package, self.stamp = workdir, package, stamp
        self.started = False  # the record says this sync started (it touched something)
        self.recorded = PackageRecord(package.name, Path(), False, None, {})  # as it began

    def read(self) -> PackageRecord:
        """The record as the sync begins (what done() compares with)."""
        self.recorded = read_record(self.workdir, self.package.name)
        return self.recorded

    def _facts(self, *facts: tuple[FactKind[Any], Fact[Any]]) -> None:
        write_facts(self.workdir, self.package.name, facts)

    def start(self) -> None:
        """Before the cache or the mirror is touched (a fetch, a push): until this sync
        records what it found, the package's upstream and mirror are unknown. A sync that
        touches nothing (the nightly no-op) writes nothing, and fails before it touches
        anything when the record cannot be written."""
        why = (f"a sync started at {stamp_text(self.stamp)} and did not finish: killed, "
               "interrupted or out of disk")
        unknown: Fact[Any] = Fact.missing(why, by="sync", at=self.stamp)
        self._facts((UPSTREAM, unknown),
                    *([(MIRROR, unknown)] if self.package.mirror is not None else []))
        self.started = True

    def done(self, upstream: UpstreamRead, mirror: MirrorRead | None) -> None:
        """What this sync found, unless the record says it already (a no-op: the facts
        keep the time they were established)."""
        facts: list[tuple[FactKind[Any], Any]] = [(UPSTREAM, upstream)]
        if mirror is not None:
            facts.append((MIRROR, mirror))
        if not self.started and all(
                (fact := self.recorded.get(kind)) is not None and fact.value == value
                for kind, value in facts):
            return
        self._facts(*((kind, Fact.known(value, by="sync", at=self.stamp))
                      for kind, value in facts))

    def failure(self, error: str, upstream: UpstreamRead | None) -> None:
        """Why this sync failed (`error`, redacted), in place of its start: upstream is
        unknown unless the cache became current before the failure (`upstream`: the
        mirror's side failed)."""
        failed: Fact[Any] = Fact.missing(error, by="sync", at=self.stamp)
        known = failed if upstream is None else Fact.known(upstream, by="sync", at=self.stamp)
        # The sync's own error is what gets reported (a newer mirrorctl's record stays).
        with contextlib.suppress(OSError, NewerRecord):
            self._facts((UPSTREAM, known),
                        *([(MIRROR, failed)] if self.package.mirror is not None else []))
