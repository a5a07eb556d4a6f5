"""Threads that take turns at Python, and overlap only while they wait.

A report or classify of many packages runs them `jobs` at once, so that their git
processes (and forge calls) overlap. Their Python work gains nothing from threads (one
interpreter lock), and loses much: each of the thousands of small system calls a
package's reading makes (a stat, an open) hands the lock from thread to thread, and on
two cores a report of 1,000 packages paid about a second for it. With turns, one
thread at a time runs Python; a thread gives its turn away while it waits on a git
process or a forge (`waiting()`, which core.git and the forge calls use) and takes one
again after. A thread with no turn (the main one, a sync) waits as it always did.

A thread must not wait on another thread while it holds its turn (the other may need
a turn to go on): the work given turns is each package's own, whose locks (a record's)
are held only around reading and writing files.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

__all__ = ["Turns", "waiting"]

T = TypeVar("T")
R = TypeVar("R")

_held = threading.local()  # .turns: the Turns whose turn this thread holds, if any


class Turns:
    """One turn at Python among the threads whose work it wraps."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def taking(self, work: Callable[[T], R]) -> Callable[[T], R]:
        """`work` run in a turn (for a pool's map)."""

        def in_turn(item: T) -> R:
            if getattr(_held, "turns", None) is not None:
                return work(item)  # already in a turn (work that maps work): go on in it
            with self._lock:
                _held.turns = self
                try:
                    return work(item)
                finally:
                    _held.turns = None

        return in_turn


@contextlib.contextmanager
def waiting() -> Iterator[None]:
    """A wait on something outside Python (a process, the network): the turn this thread
    holds, if it holds one, is given away until the wait is over."""
    turns: Turns | None = getattr(_held, "turns", None)
    if turns is None:
        yield
        return
    _held.turns = None
    turns._lock.release()
    try:
        yield
    finally:
        turns._lock.acquire()
        _held.turns = turns
