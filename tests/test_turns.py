"""core.turns: threads of a pool take turns at Python, and overlap while they wait."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mirrorctl.core.turns import Turns, waiting


def test_one_thread_at_a_time_runs_in_its_turn() -> None:
    lock = threading.Lock()
    active, most = 0, 0

    def work(n: int) -> int:
        nonlocal active, most
        with lock:
            active += 1
            most = max(most, active)
        time.sleep(0.002)  # lets go of the interpreter's lock, not of the turn
        with lock:
            active -= 1
        return n

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(Turns().taking(work), range(40))) == list(range(40))
    assert most == 1


def test_a_thread_that_waits_gives_its_turn_away() -> None:
    """The first package waits (as on a git process) for something only the second's
    Python can do: it would never come if the wait kept the turn."""
    second_ran = threading.Event()

    def work(n: int) -> str:
        if n == 0:
            with waiting():
                assert second_ran.wait(timeout=10), "the turn was not given away"
            return "waited"
        second_ran.set()
        return "ran"

    with ThreadPoolExecutor(max_workers=2) as pool:
        assert list(pool.map(Turns().taking(work), [0, 1])) == ["waited", "ran"]


def test_waiting_outside_a_turn_and_work_within_work_go_on() -> None:
    with waiting():  # the main thread holds no turn: nothing to give away
        pass
    turns = Turns()
    inner = turns.taking(lambda n: n * 2)
    outer = turns.taking(lambda n: inner(n) + 1)  # already in a turn: not taken twice
    with ThreadPoolExecutor(max_workers=2) as pool:
        assert list(pool.map(outer, [1, 2, 3])) == [3, 5, 7]


def test_an_error_in_a_turn_leaves_the_turn_free() -> None:
    turns = Turns()

    def work(n: int) -> int:
        if n == 0:
            raise ValueError("one package's trouble")
        return n

    failing = turns.taking(work)
    with ThreadPoolExecutor(max_workers=1) as pool:
        with pytest.raises(ValueError, match="trouble"):
            list(pool.map(failing, [0]))
        assert list(pool.map(failing, [1, 2])) == [1, 2]  # a held turn would hang here


def test_a_git_process_waited_on_gives_the_turn_away(tmp_path: Path) -> None:
    """The first package's git runs until the second package's Python has run: a wait
    on git that kept the turn would end only at the runner's time-out."""
    import os

    from mirrorctl.core.git import GitRunner, GitSettings

    runner = GitRunner(GitSettings(base_env=dict(os.environ), timeout=20))
    flag = tmp_path / "second-ran"
    until = ["-c", "alias.until=!f() { while [ ! -e \"$1\" ]; do sleep 0.01; done; }; f",
             "until", str(flag)]

    def work(n: int) -> str:
        if n == 0:
            runner.run(until)
            return "waited on git"
        flag.touch()
        return "ran"

    with ThreadPoolExecutor(max_workers=2) as pool:
        assert list(pool.map(Turns().taking(work), [0, 1])) == ["waited on git", "ran"]
