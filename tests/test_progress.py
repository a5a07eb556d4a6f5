"""Progress: a live board on a terminal, plain timestamped lines anywhere else."""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import sys

from mirrorctl.cli.board import LiveProgress, PlainProgress
from mirrorctl.core.redact import Redactor
from tests.conftest import Site

SECRET = "glpat-progress-secret-123"
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d "


def test_plain_lines_count_stamp_and_redact() -> None:
    out = io.StringIO()
    progress = PlainProgress(out, Redactor([SECRET]))
    progress.stage("sync", ["numpy", "scipy"])
    progress.start("numpy")
    progress.finish("numpy", "updated")
    progress.finish("scipy", "failed", f"auth failed for https://x:{SECRET}@example.invalid")
    progress.stage("rebase", ["numpy"])
    progress.finish("numpy", "conflict")
    lines = out.getvalue().splitlines()
    assert len(lines) == 3  # a line a finished package; starting makes none
    assert re.fullmatch(STAMP + r"\[1/2\] sync numpy: updated", lines[0])
    assert re.fullmatch(STAMP + r"\[2/2\] sync scipy: failed \(auth failed for .*\)", lines[1])
    assert re.fullmatch(STAMP + r"\[1/1\] rebase numpy: conflict", lines[2])
    assert SECRET not in out.getvalue()


def test_the_live_board_keeps_a_column_a_stage() -> None:
    out = io.StringIO()
    progress = LiveProgress(out, Redactor([SECRET]), force_terminal=True)
    progress.stage("sync", ["numpy", "scipy"])
    progress.start("numpy")
    progress.finish("numpy", "updated")
    progress.finish("scipy", "failed", f"token {SECRET} refused")
    progress.stage("rebase", ["numpy"])
    progress.start("numpy")
    progress.finish("numpy", "conflict")
    progress.close()
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())
    last = text.split("package")[-1].splitlines()
    assert last[0].split() == ["sync", "rebase"]
    assert last[1].split() == ["numpy", "updated", "conflict"]
    assert last[2].split()[:2] == ["scipy", "failed"] and "token *** refused" in last[2]
    assert "\x1b[" in out.getvalue() and SECRET not in out.getvalue()


def _sync(site: Site, **streams: int) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "mirrorctl", "--config", str(site.config), "--workdir",
         str(site.workdir), "sync"], env={**os.environ, "TERM": "xterm"}, timeout=60,
        check=False, **streams)  # type: ignore[call-overload]


def test_a_terminal_gets_the_board_and_a_log_gets_lines(site: Site) -> None:
    logged = _sync(site, capture_output=True)
    assert logged.returncode == 0, logged.stderr
    assert re.fullmatch((STAMP + r"\[1/1\] sync demo: updated\n").encode(), logged.stderr)
    site.upstream.commit("more", {"NEWS": "more\n"})
    leader, follower = pty.openpty()
    try:
        shown = _sync(site, stdout=subprocess.PIPE, stderr=follower)
        os.close(follower)
        drawn = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal's other side is closed: all is read
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(leader)
    assert shown.returncode == 0
    assert b"\x1b[" in drawn and b"package" in drawn
    plain = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", drawn)
    assert re.search(rb"demo\s+updated", plain) and not re.search(STAMP.encode(), plain)


def test_the_board_keeps_its_counter_and_the_running_and_failed_rows_in_view() -> None:
    from rich.console import Console

    from mirrorctl.cli.board import _Board

    board = _Board(Redactor([SECRET]))
    names = [f"pkg{n:03}" for n in range(60)]
    board.stages.append("sync")
    for name in names:
        board.states[name] = {"sync": "updated"}
    board.states["pkg030"]["sync"] = "failed"
    board.states["pkg059"]["sync"] = "running"
    board.states["pkg058"]["sync"] = "waiting"
    out = io.StringIO()
    Console(file=out, width=100, height=12, force_terminal=False).print(board)
    lines = out.getvalue().splitlines()
    assert lines[0] == "sync: 58/60 done, 1 failed"
    assert len(lines) <= 12
    shown = [line.split()[0] for line in lines[2:-1]]
    assert shown[:2] == ["pkg059", "pkg030"]  # what runs, then what failed, on top
    assert lines[-1].startswith("... and ") and "more" in lines[-1]
