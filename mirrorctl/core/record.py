"""The record of each package's state: what mirrorctl knows of it, one file a package
(<workdir>/state/<package>.json, where sync always kept its state, so that it travels
with the package's cache in the generated pipelines).

A fact is a value, or unknown with why, and each says which command established it and
when. Facts are written where they are established (sync, rebase, nightly: the commands
that hold the work directory's lock) and read everywhere else; a reader never fills a
gap with a default: a fact never recorded is None, one the record cannot give back (a
damaged file, an entry that does not decode) is unknown, saying why.

The storage knows no fact's type. Each wing declares its facts beside their type (a
FactKind: a name and the codec of the type), so the layers still point down: sync's
refs live in sync/, a carry in queue/, a grade in grade/.

Format 1 files (sync's state before the record) still read: they become the `sync`
fact, established by sync at an unknown time.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from mirrorctl import __version__
from mirrorctl.core.errors import MirrorctlError
from mirrorctl.core.keptfile import KeptFile, KeptFileError, want

__all__ = ["FORMAT", "LOST", "RECORD_FILE", "Fact", "FactKind", "NewerRecord", "PackageRecord",
           "RecordFile", "forget_lost", "keep_unreadable", "read_record", "record_path",
           "write_facts"]

FORMAT = 2
# The entry a record gains when the one before it did not read and was kept aside: the
# package is unknown, whatever else the new record says, until a person settles it.
LOST = "record-lost"


class NewerRecord(MirrorctlError):
    """A record written by a newer mirrorctl: never rewritten by this one."""
T = TypeVar("T")


@dataclass(frozen=True)
class Fact(Generic[T]):
    """One thing mirrorctl knows about a package, or knows it does not know."""

    value: T | None
    unknown: str | None  # why it could not be established; None when it was
    by: str  # the command that established it: sync, rebase, nightly, settle ...
    at: str | None  # when (a UTC stamp, 20261201T020000.000000Z); None: not recorded

    @classmethod
    def known(cls, value: T, *, by: str, at: str | None) -> Fact[T]:
        return cls(value, None, by, at)

    @classmethod
    def missing(cls, why: str, *, by: str, at: str | None) -> Fact[T]:
        return cls(None, why, by, at)

    @property
    def is_known(self) -> bool:
        return self.unknown is None


@dataclass(frozen=True)
class FactKind(Generic[T]):
    """A fact's name in the record and the codec of its type (declared by its wing)."""

    name: str
    encode: Callable[[T], Any]  # to JSON-able data
    decode: Callable[[Any], T]  # back; raises (ValueError, TypeError, KeyError) if it cannot


@dataclass(frozen=True)
class PackageRecord:
    package: str
    path: Path
    exists: bool  # a record file was found
    problem: str | None  # why the file could not be read: every fact is then unknown
    entries: Mapping[str, Mapping[str, Any]]  # fact name -> {value|unknown, by, at}
    writer: str | None = None  # the mirrorctl that last wrote it, where it says so
    newer: bool = False  # written by a newer mirrorctl: never rewritten by this one

    def get(self, kind: FactKind[T]) -> Fact[T] | None:
        """The fact as recorded; None when it never was (and the record reads)."""
        if self.problem is not None:
            return Fact.missing(self.problem, by="record", at=None)
        entry = self.entries.get(kind.name)
        if entry is None:
            return None
        by, at = str(entry.get("by") or "unknown"), entry.get("at")
        at = str(at) if at is not None else None
        if entry.get("unknown") is not None:
            return Fact.missing(str(entry["unknown"]), by=by, at=at)
        try:
            return Fact(kind.decode(entry["value"]), None, by, at)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return Fact.missing(f"{self.path}: its {kind.name} cannot be read "
                                f"({type(exc).__name__}: {exc})", by=by, at=at)


def record_path(workdir: Path, package: str) -> Path:
    return workdir / "state" / f"{package}.json"


@dataclass(frozen=True, kw_only=True)
class RecordFile:
    """A record file as it is kept: its facts' entries, undecoded (a wing decodes its own)."""

    package: str
    entries: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    writer: str | None = __version__  # the mirrorctl that wrote it


def _encode(record: RecordFile) -> dict[str, Any]:
    return {"mirrorctl": record.writer, "package": record.package,
            "facts": {name: dict(entry) for name, entry in record.entries.items()}}


def _decode(data: dict[str, Any]) -> RecordFile:
    facts = want(data, "facts", dict)
    writer = data.get("mirrorctl")
    return RecordFile(package=str(data.get("package") or ""),
                      entries={str(name): entry for name, entry in facts.items()
                               if isinstance(entry, dict)},
                      writer=writer if isinstance(writer, str) else None)


def _from_sync_state(data: dict[str, Any]) -> dict[str, Any]:
    """Format 1 (sync's state, before the record): the `sync` fact, established by sync
    at an unknown time."""
    return {"facts": {"sync": {"value": data, "by": "sync", "at": None}}}


RECORD_FILE = KeptFile[RecordFile](what="the package's record", format=FORMAT,
                                   encode=_encode, decode=_decode, sort_keys=True,
                                   migrations={1: _from_sync_state})


def read_record(workdir: Path, package: str) -> PackageRecord:
    path = record_path(workdir, package)
    try:
        kept = RECORD_FILE.read(path)
    except KeptFileError as exc:
        return PackageRecord(package, path, True, _problem(exc), {}, exc.writer,
                             newer=exc.problem == "newer")
    if kept is None:
        return PackageRecord(package, path, False, None, {})
    lost = kept.entries.get(LOST)
    if lost is not None:  # a fresh record after one that did not read: never good news
        return PackageRecord(package, path, True, str(lost.get("unknown") or LOST),
                             kept.entries, kept.writer)
    return PackageRecord(package, path, True, None, kept.entries, kept.writer)


def _problem(error: KeptFileError) -> str:
    """What a record that does not read says of itself, in every reader."""
    path = error.path
    if error.problem == "newer":  # "was written by mirrorctl 0.3.0 (record format 3) ..."
        by = f"mirrorctl {error.writer}" if error.writer else "a newer mirrorctl"
        return (f"{path} was written by {by} (record format {error.format}), newer than "
                f"this mirrorctl {__version__} reads (format {FORMAT}): upgrade mirrorctl; "
                "it is left as it is")
    if error.problem == "unreadable":
        return f"{path} cannot be read ({error.why})"
    return f"{path} is not a record mirrorctl knows (an unknown format: {error.why})"


# One writer at a time a record file in this process (sync writes its packages from
# several threads; each package is its own file, but a file is read, changed, written).
_LOCKS: dict[Path, threading.Lock] = {}
_LOCKS_LOCK = threading.Lock()


def _lock(path: Path) -> threading.Lock:
    with _LOCKS_LOCK:
        return _LOCKS.setdefault(path, threading.Lock())


def write_facts(workdir: Path, package: str, facts: Iterable[tuple[FactKind[Any], Fact[Any]]],
                *, forget: Iterable[FactKind[Any]] = ()) -> None:
    """Set these facts of the package (and forget those in `forget`), keeping the others,
    in one atomic write: the file is whole old or whole new, even under kill -9. A
    record of a newer format is never rewritten (NewerRecord). One that does not read
    (cut short, `{}`, unreadable) is never lost: its bytes are kept beside it, and the
    new record says so (LOST), which keeps the package unknown until a person settles
    it. Raises FileSystemError when the file cannot be written."""
    path = record_path(workdir, package)
    with _lock(path):
        record = read_record(workdir, package)
        if _did_not_read(record, package):
            record = _kept_aside(record, facts)
        entries = {name: dict(entry) for name, entry in record.entries.items()}
        for kind in forget:
            entries.pop(kind.name, None)
        for kind, fact in facts:
            entry: dict[str, Any] = {"by": fact.by, "at": fact.at}
            if fact.is_known:
                entry["value"] = kind.encode(fact.value)
            else:
                entry["unknown"] = fact.unknown
            entries[kind.name] = entry
        RECORD_FILE.write(path, RecordFile(package=package, entries=entries))


def _kept_aside(record: PackageRecord,
                facts: Iterable[tuple[FactKind[Any], Fact[Any]]]) -> PackageRecord:
    """The record that did not read, moved beside itself (a rename: its bytes whole,
    whatever its mode), and a fresh one that says so."""
    from datetime import datetime, timezone

    when = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    aside = record.path.with_name(f"{record.path.name}.unreadable-{when}")
    os.replace(record.path, aside)
    at = next((fact.at for _, fact in facts), None)
    why = (f"{record.problem}: it is kept as {aside}, and a fresh record was started; what "
           f"it held of {record.package} is not known until a person checks it and runs "
           f"`mirrorctl settle {record.package}`")
    return PackageRecord(record.package, record.path, False, None,
                         {LOST: {"unknown": why, "by": "record", "at": at}})


def keep_unreadable(workdir: Path, package: str) -> str | None:
    """A record that does not read, kept beside itself and replaced by a fresh one that
    says so (what a writer does first); the fresh one's word for it, or None when the
    record reads (or is none). A newer format's is left as it is (NewerRecord)."""
    path = record_path(workdir, package)
    with _lock(path):
        record = read_record(workdir, package)
        if record.problem is None or record.entries:
            return None
        if record.newer:
            raise NewerRecord(f"{package}: {record.problem}")
        fresh = _kept_aside(record, ())
        RECORD_FILE.write(path, RecordFile(package=package, entries=fresh.entries))
        return str(fresh.entries[LOST]["unknown"])


def _did_not_read(record: PackageRecord, package: str) -> bool:
    """Whether the record on disk did not read (and is to be kept aside); one of a newer
    format raises NewerRecord: it is never rewritten."""
    if record.problem is None or record.entries:
        return False
    if record.newer:
        raise NewerRecord(f"{package}: {record.problem}")
    return True


def forget_lost(workdir: Path, package: str, *, dry_run: bool = False) -> str | None:
    """A person settled a package whose record did not read: the record that did not read
    kept aside (if it was not yet), the marker of a fresh one gone; what it said (None
    when the record reads and has no marker). A newer format's is left (NewerRecord).
    With `dry_run`, what it says, nothing moved or written."""
    path = record_path(workdir, package)
    with _lock(path):
        record = read_record(workdir, package)
        if _did_not_read(record, package):
            if dry_run:
                return f"{record.problem}: it would be kept aside"
            when = _kept_aside(record, ()).entries[LOST]["unknown"]
            return str(when)
        lost = record.entries.get(LOST)
        if lost is None:
            return None
        said = str(lost.get("unknown") or LOST)
        if dry_run:
            return said
        RECORD_FILE.write(path, RecordFile(package=package, entries={
            name: entry for name, entry in record.entries.items() if name != LOST}))
        return said
