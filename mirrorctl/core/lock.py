"""One mirrorctl run at a time per work directory.

flock() is released by the kernel when the holder dies, even by kill -9, so a
crashed run never leaves a lock that a person has to remove.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from mirrorctl.core.errors import LockHeldError

__all__ = ["workdir_lock"]


@contextmanager
def workdir_lock(workdir: Path, command: str) -> Iterator[int]:
    """Hold the work directory; yields the lock's file descriptor. Processes that
    inherit the descriptor hold the lock with us, and after us if we are killed."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = path.read_text(encoding="utf-8", errors="replace").strip() or "unknown"
            raise LockHeldError(
                f"another mirrorctl run holds {path} ({holder}), or git processes it started "
                "are still finishing; wait for them, or use another --workdir"
            ) from None
        started = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}, mirrorctl {command}, since {started}\n".encode())
        yield fd
    finally:
        os.close(fd)
