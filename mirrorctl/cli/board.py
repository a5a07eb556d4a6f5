"""Progress of the long commands, per package, on stderr.

On a terminal: a live board (rich), one row a package with its stage, its state and
how long it has taken, redrawn in place. Elsewhere (CI logs, files): one plain,
timestamped line each time a package finishes a stage, as `[3/30] sync numpy: updated`.
Both speak the Progress protocol of core/progress.py; every line passes the redactor
before it is shown.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from mirrorctl.core.progress import Progress
from mirrorctl.core.redact import Redactor

if TYPE_CHECKING:
    from collections.abc import Iterator

    from rich.console import Console, ConsoleOptions, RenderableType
    from rich.live import Live

__all__ = ["LiveProgress", "PlainProgress", "open_progress"]


def open_progress(stream: TextIO, redactor: Redactor) -> Progress:
    """The live board on a terminal that can draw it, plain lines anywhere else."""
    if stream.isatty() and os.environ.get("TERM", "") not in ("", "dumb"):
        return LiveProgress(stream, redactor)
    return PlainProgress(stream, redactor)


class PlainProgress:
    """A timestamped line a finished package: what CI logs and files want."""

    def __init__(self, stream: TextIO, redactor: Redactor) -> None:
        self._stream = stream
        self._redactor = redactor
        self._lock = threading.Lock()
        self._stage = ""
        self._total = 0
        self._done = 0

    def stage(self, name: str, packages: Sequence[str]) -> None:
        with self._lock:
            self._stage, self._total, self._done = name, len(packages), 0

    def start(self, package: str) -> None:
        pass  # only finished packages make a line: a log is read afterwards

    def finish(self, package: str, state: str, detail: str = "") -> None:
        with self._lock:
            self._done += 1
            width = len(str(self._total))
            text = (time.strftime("%Y-%m-%dT%H:%M:%S ")
                    + f"[{self._done:>{width}}/{self._total}] {self._stage} {package}: {state}")
            if detail:
                text += f" ({detail})"
            self._stream.write(self._redactor(text) + "\n")
            self._stream.flush()

    def close(self) -> None:
        pass


_RED = frozenset({"failed", "conflict", "error", "hard", "refused", "rejected"})
_YELLOW = frozenset({"running", "medium", "partial"})


@dataclass
class _Board:
    """What the live display draws, a column a stage; rich asks for it at every refresh."""

    redactor: Redactor
    stages: list[str] = field(default_factory=list)
    states: dict[str, dict[str, str]] = field(default_factory=dict)  # package -> stage -> state
    started: dict[str, float] = field(default_factory=dict)  # package -> when, while running
    details: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __rich_console__(self, console: Console,
                         options: ConsoleOptions) -> Iterator[RenderableType]:
        """A counter, then the rows that fit the screen: the running and failed ones
        first, so that they stay in view however many packages there are."""
        from rich.table import Table
        from rich.text import Text

        table = Table(box=None, pad_edge=False, header_style="bold")
        table.add_column("package", no_wrap=True)
        now = time.monotonic()
        with self.lock:
            for stage in self.stages:
                table.add_column(stage, no_wrap=True)
            table.add_column("")
            rows = sorted(self.states.items(), key=lambda item: _urgency(item[1]))
            room = max(3, (options.max_height or console.size.height) - 4)
            shown, hidden = rows[:room], rows[room:]
            for name, states in shown:
                cells = []
                for stage in self.stages:
                    state = states.get(stage, "")
                    if state == "running":
                        state = f"running {now - self.started.get(name, now):.0f}s"
                    style = ("red" if state in _RED else "yellow" if state.split(" ")[0] in
                             _YELLOW else "dim" if state == "waiting" else "green")
                    cells.append(Text(state, style=style))
                table.add_row(Text(name), *cells,
                              Text(self.redactor(self.details.get(name, ""))))
            counter = self._counter()
        yield Text(counter, style="bold")
        yield table
        if hidden:
            yield Text(f"... and {len(hidden)} more, done or waiting", style="dim")

    def _counter(self) -> str:
        """`rebase: 12/30 done, 2 failed` for the stage under way."""
        if not self.stages:
            return ""
        stage = self.stages[-1]
        mine = [states[stage] for states in self.states.values() if stage in states]
        done = sum(state not in ("waiting", "running") for state in mine)
        failed = sum(state in _RED for state in mine)
        return f"{stage}: {done}/{len(mine)} done, {failed} failed"


def _urgency(states: dict[str, str]) -> int:
    """Running rows first, then failed ones, then the rest in the order they came."""
    values = set(states.values())
    return 0 if "running" in values else 1 if values & _RED else 2


class LiveProgress:
    """A row a package, redrawn in place while the work goes on."""

    def __init__(self, stream: TextIO, redactor: Redactor, *,
                 force_terminal: bool | None = None) -> None:
        from rich.console import Console
        from rich.live import Live

        self._board = _Board(redactor)
        self._stage = ""
        console = Console(file=stream, force_terminal=force_terminal, highlight=False)
        self._live: Live = Live(self._board, console=console, refresh_per_second=8,
                                redirect_stdout=False, redirect_stderr=False)
        self._live.start()

    def stage(self, name: str, packages: Sequence[str]) -> None:
        with self._board.lock:
            self._stage = name
            if name not in self._board.stages:
                self._board.stages.append(name)
            for package in packages:
                self._board.states.setdefault(package, {})[name] = "waiting"

    def start(self, package: str) -> None:
        with self._board.lock:
            self._board.states.setdefault(package, {})[self._stage] = "running"
            self._board.started[package] = time.monotonic()

    def finish(self, package: str, state: str, detail: str = "") -> None:
        with self._board.lock:
            self._board.states.setdefault(package, {})[self._stage] = state
            self._board.started.pop(package, None)
            if detail:
                self._board.details[package] = detail

    def close(self) -> None:
        self._live.refresh()
        self._live.stop()
