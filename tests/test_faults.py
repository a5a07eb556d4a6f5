"""Faults from outside: a full disk, a read-only file system, Ctrl-C and SIGTERM.

Real file systems: a tiny tmpfs for ENOSPC, a tmpfs remounted read-only for EROFS
(mounting needs root, which CI has; elsewhere these tests skip and say why). Signals
are sent to a real mirrorctl drawing its board on a real terminal (a pty).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import pty
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Site
from tests.gitrepos import Repo, make_mirror, write_config

pytestmark = pytest.mark.e2e

PENDING = "Upstream-Status: Pending"


@contextlib.contextmanager
def tmpfs(path: Path, size: str = "1m") -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs",
                              str(path)], capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def read_only(path: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True)


def fill(path: Path) -> None:
    """Write until the file system is full."""
    with (path / "filler").open("wb", buffering=0) as handle, contextlib.suppress(OSError):
        while True:
            handle.write(b"x" * 4096)
    probe = path / "probe"
    with pytest.raises(OSError) as full:
        probe.write_bytes(b"y" * 65536)
    assert full.value.errno == errno.ENOSPC
    probe.unlink(missing_ok=True)


def two_packages(root: Path) -> Site:
    """alpha and beta: a one-patch queue on 1.0.0 each, and a 1.1.0 that carries it."""
    packages = {}
    for name in ("alpha", "beta"):
        up = Repo(root / name)
        up.commit("release 1.0.0", {"setup.py": "flags = []\n", "README": f"{name}\n"})
        up.tag("v1.0.0", annotated=True)
        queue = root / "patchsets" / name / "1.0.0"
        up.git("checkout", "--quiet", "--detach", "v1.0.0")
        up.commit(f"BLD: riscv64 flags\n\n{PENDING}", {"setup.py": "flags = ['rv64']\n"})
        queue.mkdir(parents=True)
        up.git("format-patch", "--quiet", "--zero-commit", "--no-signature", "--no-stat",
               "--full-index", "-o", str(queue), "-1", "HEAD")
        up.git("checkout", "--quiet", "main")
        up.commit("release 1.1.0", {"README": f"{name}, faster\n"})
        up.tag("v1.1.0", annotated=True)
        packages[name] = {"upstream": str(up.path), "version": "1.0.0",
                          "mirror": str(make_mirror(root / f"{name}-mirror.git").path)}
    config = write_config(root / "mirrors.yaml", packages)
    return Site(root, Repo(root / "alpha"), Repo(root / "alpha-mirror.git", bare=True), config,
                root / "work")


def test_a_read_only_queue_folder_fails_its_package_alone(run_cli, tmp_path: Path) -> None:
    site = two_packages(tmp_path)
    alpha = tmp_path / "patchsets" / "alpha"
    saved = tmp_path / "alpha-queues"
    shutil.copytree(alpha, saved)
    shutil.rmtree(alpha)
    with tmpfs(alpha):
        shutil.copytree(saved, alpha, dirs_exist_ok=True)
        read_only(alpha)
        result = run_cli(*site.args("nightly", "--format", "json"))
        data = json.loads(result.out)
        assert result.code == 1, result.err
        [(name, error)] = [(e["package"], e["error"]) for e in data["rebase_errors"]]
        assert name == "alpha" and "Read-only file system" in error
        assert str(alpha) in error and "write elsewhere" in error
        assert [(r["package"], r["status"], r["written"]) for r in data["rebases"]] == [
            ("beta", "clean", "written")]
        assert (tmp_path / "patchsets" / "beta" / "1.1.0").is_dir()
        assert [p.name for p in alpha.iterdir()] == ["1.0.0"]  # as it was
        assert Path(data["history"]).is_file()  # the night is still recorded
        assert [n["kind"] for n in data["needs"]] == ["rebase-failed"]
        assert {p["name"] for p in data["report"]["packages"]} == {"alpha", "beta"}
        assert "unexpected error" not in result.err


def test_a_full_disk_and_a_read_only_one_are_one_clear_line(run_cli, tmp_path: Path) -> None:
    site = two_packages(tmp_path)
    assert run_cli(*site.args("sync")).code == 0
    with tmpfs(tmp_path / "full", size="256k") as full:
        fill(full)
        before = sorted(p.name for p in full.iterdir())
        result = run_cli(*site.args("report", "-o", str(full / "report.html")))
        assert result.code == 1
        [line] = result.err.strip().splitlines()
        assert line.startswith("mirrorctl: error: ") and "No space left on device" in line
        assert str(full) in line and "free space" in line
        assert sorted(p.name for p in full.iterdir()) == before  # no half-written page

    with tmpfs(tmp_path / "ro") as ro:
        read_only(ro)
        for args in (["report", "-o", str(ro / "report.md")],
                     ["upstream", "draft", "beta", "--out", str(ro / "drafts")]):
            result = run_cli(*site.args(*args))
            assert result.code == 1, (args, result.err)
            [line] = result.err.strip().splitlines()
            assert "Read-only file system" in line and str(ro) in line, line
        result = run_cli("--config", str(site.config), "--workdir", str(ro / "work"), "-q",
                         "sync")
        assert result.code == 1 and "unexpected error" not in result.err
        assert "Read-only file system" in result.err


class Silent:
    """A TCP server on loopback that accepts connections and never answers: a git
    server that hangs, so that mirrorctl is surely mid-work when the signal comes."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                self.held.append(self.socket.accept()[0])

    def close(self) -> None:
        self.socket.close()
        for held in self.held:
            held.close()


@pytest.mark.parametrize(("sig", "code", "word"), [(signal.SIGINT, 130, "interrupted"),
                                                    (signal.SIGTERM, 143, "terminated")])
def test_a_signal_stops_the_board_and_says_what_was_left(site: Site, sig: int, code: int,
                                                        word: str) -> None:
    server = Silent()
    hanging = f"http://127.0.0.1:{server.port}/hangs.git"
    write_config(site.config, {
        "demo": {"upstream": str(site.upstream.path), "mirror": str(site.mirror.path)},
        "hangs": {"upstream": hanging, "mirror": str(site.root / "hangs-mirror.git"),
                  "allowed_protocols": ["http", "file"], "timeout": 120}})
    before = site.mirror.refs()
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mirrorctl", "--config", str(site.config), "--workdir",
         str(site.workdir), "sync"], stdin=follower, stdout=follower, stderr=follower,
        env={**os.environ, "TERM": "xterm", "COLUMNS": "100"}, start_new_session=True)
    os.close(follower)
    drawn = b""
    try:
        deadline = time.monotonic() + 30
        while b"running" not in re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", drawn):
            assert time.monotonic() < deadline, drawn
            drawn += os.read(leader, 65536)
        time.sleep(0.3)
        os.kill(proc.pid, sig)
        assert proc.wait(timeout=30) == code
        with contextlib.suppress(OSError):
            while chunk := os.read(leader, 65536):
                drawn += chunk
    finally:
        os.close(leader)
        server.close()
        if proc.poll() is None:
            proc.kill()
    text = drawn.decode(errors="replace")
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
    [said] = [line for line in plain.splitlines() if line.startswith("mirrorctl: ")]
    assert said.startswith(f"mirrorctl: {word}") and "nothing is half written" in said
    # The board stopped: the cursor rich hid is shown again after the last redraw.
    assert text.rfind("\x1b[?25h") > text.rfind("\x1b[?25l") >= 0
    assert site.mirror.refs() == before or "refs/heads/main" in site.mirror.refs()
    with (site.workdir / "lock").open("a") as lock:  # the lock went with the process
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
