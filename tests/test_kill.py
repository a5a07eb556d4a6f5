"""A sync killed with SIGKILL at random moments converges on the next run and loses nothing."""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.gitrepos import make_big_upstream, make_mirror, write_config

pytestmark = pytest.mark.e2e

RISCV = "refs/heads/riscv64/1.0.0"


def start_sync(config: Path, workdir: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "mirrorctl", "--config", str(config), "--workdir", str(workdir),
         "-q", "sync", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def sync_until_unlocked(config: Path, workdir: Path) -> subprocess.CompletedProcess[bytes]:
    """Run sync; while orphaned git children of a killed run still hold the lock, wait."""
    deadline = time.monotonic() + 120
    while True:
        proc = start_sync(config, workdir)
        out, err = proc.communicate(timeout=120)
        if b"another mirrorctl run holds" not in err or time.monotonic() > deadline:
            return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
        time.sleep(0.2)


def wait_until_lock_is_free(workdir: Path) -> None:
    """Orphaned git children of a killed run hold the work-directory lock until they end."""
    lock = workdir / "lock"
    deadline = time.monotonic() + 60
    while lock.exists() and time.monotonic() < deadline:
        with open(lock) as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                time.sleep(0.05)


def test_sync_killed_at_random_points_converges(tmp_path: Path) -> None:
    upstream = make_big_upstream(tmp_path / "up", commits=1500, tags=600, branches=20)
    mirror = make_mirror(tmp_path / "mirror.git")
    upstream.git("push", "--quiet", str(mirror.path), "main~5:" + RISCV)
    mirror.git("tag", "mirror-only-tag", RISCV)
    config = write_config(tmp_path / "mirrors.yaml", {
        "big": {"upstream": str(upstream.path), "mirror": str(mirror.path)}})
    workdir = tmp_path / "work"
    riscv = mirror.rev(RISCV)
    rng = random.Random(20261123)
    killed_mid_run = 0
    for trial in range(20):
        # Upstream keeps moving between the kills: new tags, a rewritten branch, a
        # deleted branch (pruned), so that every run has work to be killed in.
        upstream.commit(f"upstream work {trial}")
        for n in range(30):
            upstream.tag(f"v2.{trial}.{n}", annotated=n % 2 == 0)
        if trial % 4 == 3:
            upstream.git("reset", "--quiet", "--hard", "HEAD~1")
            upstream.commit(f"rewritten {trial}")
        if trial % 5 == 4:
            upstream.git("branch", "-D", f"maintenance/1.{trial}.x")
        wait_until_lock_is_free(workdir)
        proc = start_sync(config, workdir, "--prune")
        time.sleep(rng.uniform(0.2, 1.0))
        killed_mid_run += proc.poll() is None
        # Half the kills take the whole process group (a cancelled CI job), half only
        # mirrorctl itself (the OOM killer), leaving its git children orphaned.
        with contextlib.suppress(ProcessLookupError):
            if trial % 2:
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.send_signal(signal.SIGKILL)
        proc.communicate()
    assert killed_mid_run >= 15, "the kills must land while sync is working"

    final = sync_until_unlocked(config, workdir)
    assert final.returncode == 0, final.stderr.decode()
    expected = {ref: sha for ref, sha in upstream.refs().items()}
    got = mirror.refs()
    assert got == {**expected, RISCV: riscv, "refs/tags/mirror-only-tag": riscv}
    again = sync_until_unlocked(config, workdir)
    assert again.returncode == 0
    assert b"unchanged" in again.stdout
