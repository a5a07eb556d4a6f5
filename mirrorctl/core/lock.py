"""Who may work in a work directory at once.

Writers (sync, rebase, nightly, ...) hold `lock` alone: one at a time, and `--wait`
lets one queue behind another. Readers (classify, releases, report, upstream draft)
never wait for a writer: they hold `readers.lock` shared, and a writer tidies what
killed runs left in the caches only when no reader holds it (a reader's scratch files
look the same).

flock() is released by the kernel when the holder dies, even by kill -9, so a
crashed run never leaves a lock that a person has to remove.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from mirrorctl.core.errors import LockHeldError

__all__ = ["no_readers", "reader_lock", "workdir_lock", "writer"]

_POLL = 0.2  # seconds between two tries while --wait waits


@contextmanager
def workdir_lock(workdir: Path, command: str, *, wait: float | None = None) -> Iterator[int]:
    """Hold the work directory; yields the lock's file descriptor. Processes that
    inherit the descriptor hold the lock with us, and after us if we are killed.
    `wait`: seconds to wait for another writer to finish (None: not at all)."""
    _make_workdir(workdir)
    path = workdir / "lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _take(fd, path, wait)
        # The first writer makes the readers' lock too: readers then find it and write nothing.
        os.close(os.open(workdir / "readers.lock", os.O_RDWR | os.O_CREAT, 0o644))
        started = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}, mirrorctl {command}, since {started}\n".encode())
        yield fd
    finally:
        os.close(fd)


def _make_workdir(workdir: Path) -> None:
    """The work directory, with a .gitignore that ignores it whole: it defaults to a folder
    beside mirrors.yaml, inside the builders' repository, where it must never show as
    untracked (a `git add -A` would commit caches of hundreds of megabytes)."""
    workdir.mkdir(parents=True, exist_ok=True)
    ignore = workdir / ".gitignore"
    if not ignore.exists():
        with contextlib.suppress(OSError):  # a read-only work directory still reads
            ignore.write_text("# mirrorctl's work directory: caches, records, logs.\n*\n",
                              encoding="utf-8")


def _take(fd: int, path: Path, wait: float | None) -> None:
    deadline = time.monotonic() + (wait or 0)
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                break
            time.sleep(_POLL)
    holder = path.read_text(encoding="utf-8", errors="replace").strip() or "unknown"
    waited = f" (waited {wait:g}s)" if wait else ""
    raise LockHeldError(
        f"another mirrorctl run holds {path} ({holder}){waited}, or git processes it "
        "started are still finishing; run again with --wait [SECONDS] to wait for it, or "
        "use another --workdir")


@contextmanager
def reader_lock(workdir: Path) -> Iterator[int]:
    """Read the work directory beside any writer; yields the descriptor for git children
    to inherit (they read with us)."""
    _make_workdir(workdir)
    fd = os.open(workdir / "readers.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)  # waits only while a writer checks for readers
        yield fd
    finally:
        os.close(fd)


@contextmanager
def no_readers(workdir: Path) -> Iterator[bool]:
    """True, held for the block, when no reader is at work: what they leave in a cache
    may then be tidied; False when one is (the tidying waits for another run)."""
    workdir.mkdir(parents=True, exist_ok=True)
    fd = os.open(workdir / "readers.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def writer(workdir: Path) -> str | None:
    """Who holds the work directory now ("pid 123, mirrorctl nightly, since ..."), as its
    lock says, when that process still runs; None when no one does. Read without
    touching the lock (a reader must never make a writer exit 75)."""
    try:
        said = (workdir / "lock").read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
    if _flocked(workdir / "lock") is False:
        return None  # its process may live on (or its pid be reused): the lock is free
    words = said.split(",", 1)[0].split()
    if len(words) != 2 or words[0] != "pid" or not words[1].isdigit():
        return None
    try:
        os.kill(int(words[1]), 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return said  # it runs, as another user
    return said


def _flocked(path: Path) -> bool | None:
    """Whether a process holds the file's flock exclusively, as the kernel lists its
    locks (/proc/locks: "1: FLOCK ADVISORY WRITE <pid> <major>:<minor>:<inode> 0 EOF",
    the device in hex); None where the kernel does not say (not Linux)."""
    try:
        found = os.stat(path)
        listed = Path("/proc/locks").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    device = f"{os.major(found.st_dev):02x}:{os.minor(found.st_dev):02x}:{found.st_ino}"
    for line in listed.splitlines():
        words = line.split()
        if "->" in words:  # a process waiting for the lock, not holding it
            continue
        if len(words) >= 6 and words[1] == "FLOCK" and words[3] == "WRITE" \
                and words[5] == device:
            return True
    return False
