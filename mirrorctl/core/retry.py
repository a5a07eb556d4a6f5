"""Retry with exponential backoff, for operations that fail transiently."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

__all__ = ["backoff_delays", "call_with_retries"]

T = TypeVar("T")


def backoff_delays(retries: int, *, first: float = 2.0, cap: float = 60.0) -> list[float]:
    return [min(cap, first * 2**n) for n in range(retries)]


def call_with_retries(operation: Callable[[], T], *, retries: int,
                      is_transient: Callable[[Exception], bool],
                      sleep: Callable[[float], None],
                      on_retry: Callable[[Exception, float], None] | None = None) -> T:
    """Run `operation`; after a transient failure wait and run it again, `retries` times at most."""
    delays = backoff_delays(retries)
    while True:
        try:
            return operation()
        except Exception as exc:
            if not delays or not is_transient(exc):
                raise
            delay = delays.pop(0)
            if on_retry is not None:
                on_retry(exc, delay)
            sleep(delay)
