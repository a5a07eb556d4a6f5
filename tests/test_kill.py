"""kill -9 at random moments: a sync converges on the next run and loses nothing; a
rebase never leaves a patch queue half written, and the next run finishes its work."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mirrorctl.core.git import GitRunner, GitSettings
from mirrorctl.core.repository import Repository
from mirrorctl.queue.patches import check_queues
from mirrorctl.queue.resolve import Resolutions
from tests.gitrepos import Repo, make_big_upstream, make_mirror, write_config

pytestmark = pytest.mark.e2e

RISCV = "refs/heads/riscv64/1.0.0"


def start_sync(config: Path, workdir: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "mirrorctl", "--config", str(config), "--workdir", str(workdir),
         "-q", "sync", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def sync_until_unlocked(config: Path, workdir: Path,
                        *extra: str) -> subprocess.CompletedProcess[bytes]:
    """Run sync; while orphaned git children of a killed run still hold the lock, wait."""
    deadline = time.monotonic() + 120
    while True:
        proc = start_sync(config, workdir, *extra)
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
        # After one of its first git commands (a sync runs about nine), however busy the
        # machine: a sleep of fixed length let most syncs finish first on a fast one.
        wait_for_gits(proc, rng.randint(1, 8))
        time.sleep(rng.uniform(0, 0.05))
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

    # With --prune, as the killed runs: the branches deleted upstream go.
    final = sync_until_unlocked(config, workdir, "--prune")
    assert final.returncode == 0, final.stderr.decode()
    expected = {ref: sha for ref, sha in upstream.refs().items()}
    got = mirror.refs()
    assert got == {**expected, RISCV: riscv, "refs/tags/mirror-only-tag": riscv}
    again = sync_until_unlocked(config, workdir, "--prune")
    assert again.returncode == 0
    assert b"unchanged" in again.stdout


# A rebase killed at random points: no queue is ever half written, the mirror holds
# the old refs or the final ones, and the next run finishes the work.

MATH = "".join(f"double f{n}(double x) {{ return x * {n}; }}\n" for n in range(1, 21))
CONSTANTS = "".join(f"#define C{n} {n}\n" for n in range(1, 11))
PENDING = "Upstream-Status: Pending"
TRIALS = 24
CLEAN = ("--onto", "1.1.0")  # every patch carried; one conflict settled by rerere
PARTIAL = ("--onto", "1.2.0", "--keep-partial")  # and the setup.py patch conflicts
BRANCH = "refs/heads/riscv64/1.1.0"


def export_each(repo: Repo, base: str, out: Path,
                changes: list[tuple[str, str, dict[str, str]]]) -> None:
    """Each (file name, message, files) committed alone on `base` and exported as that file."""
    out.mkdir(parents=True)
    for name, message, files in changes:
        repo.git("checkout", "--quiet", "--detach", base)
        repo.commit(message, files)
        (out / name).write_text(repo.git("format-patch", "--stdout", "--zero-commit",
                                         "--no-signature", "--no-stat", "--full-index", "-1",
                                         "HEAD") + "\n")
    repo.git("checkout", "--quiet", "main")


def numpy_like(root: Path) -> tuple[Repo, Path]:
    """Releases 1.0.0, 1.1.0 and 1.2.0 upstream, an empty mirror (returned with the
    config), and the queue of 1.0.0: patches that apply, one upstream took, two that
    follow a renamed folder, one whose conflict a remembered resolution will settle, and
    one that conflicts on 1.2.0."""
    up = Repo(root / "upstream")
    up.commit("release 1.0.0", {"setup.py": "flags = []\n", "numpy/core/math.c": MATH,
                                "numpy/core/constants.h": CONSTANTS, "README": "Numpy.\n",
                                "docs/notes.txt": "Notes.\n"})
    up.tag("v1.0.0", annotated=True)
    export_each(up, "v1.0.0", root / "patchsets" / "numpy" / "1.0.0", [
        ("0001-BLD-riscv64-flags.patch", f"BLD: riscv64 flags\n\n{PENDING}",
         {"setup.py": "flags = ['-march=rv64gc']\n"}),
        ("0001-DOC-readme-typo.patch", f"DOC: readme typo\n\n{PENDING}", {"README": "NumPy.\n"}),
        ("0001-MAINT-core-math.patch", f"MAINT: core math\n\n{PENDING}",
         {"numpy/core/math.c": MATH.replace("x * 5;", "x * 5.0;")}),
        ("0002-ENH-constants.patch", f"ENH: constants\n\n{PENDING}",
         {"numpy/core/constants.h": CONSTANTS.replace("C5 5", "C5 55")}),
        ("0003-MAINT-more-math.patch", "MAINT: more math\n\nUpstream-Status: Inappropriate "
         "[riscv64 only]", {"numpy/core/math.c": MATH.replace("x * 17;", "x * 17.0;")}),
        ("0004-DOC-notes.patch", f"DOC: notes\n\n{PENDING}",
         {"docs/notes.txt": "Notes.\nriscv64\n"}),
        ("0005-CI-riscv64-job.patch", f"CI: a riscv64 job\n\n{PENDING}",
         {"ci/riscv64.yml": "arch: riscv64\n"}),
    ])
    up.git("mv", "numpy/core", "numpy/_core")
    up.commit("MAINT: move core to _core", {"numpy/_core/math.c": "// moved\n" * 5 + MATH})
    up.commit("DOC: readme typo", {"README": "NumPy.\n"})
    up.commit("ENH: rework constants", {"numpy/_core/constants.h":
                                        CONSTANTS.replace("C5 5", "C5 500")})
    up.tag("v1.1.0", annotated=True)
    up.commit("BLD: optimise", {"setup.py": "flags = ['-O2']\n"})
    up.tag("v1.2.0", annotated=True)
    mirror = make_mirror(root / "mirror.git")
    # Pinned: every trial carries the same 1.0.0 queue, whatever the last one wrote.
    config = write_config(root / "mirrors.yaml", {"numpy": {
        "upstream": str(up.path), "mirror": str(mirror.path), "version": "1.0.0", "pin": True}})
    return mirror, config


def snapshot(folder: Path) -> dict[str, bytes] | None:
    """Every file under `folder` with its bytes; None when there is no folder."""
    if not folder.is_dir():
        return None
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def start_rebase(config: Path, workdir: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "mirrorctl", "--config", str(config), "--workdir", str(workdir),
         "rebase", "numpy", "--format", "json", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def git_children(proc: subprocess.Popen[bytes]) -> set[int]:
    """The processes mirrorctl started, from any of its threads (sync runs packages in a
    pool): each thread's children are listed under its own task."""
    children = set()
    for task in Path(f"/proc/{proc.pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            children.update(int(pid) for pid in task.read_text().split())
    return children


def wait_for_gits(proc: subprocess.Popen[bytes], count: int) -> int:
    """Wait until the rebase has started `count` git commands, or ended: a point in its
    work that does not depend on how busy the machine is. Returns the number seen."""
    seen: set[int] = set()
    while proc.poll() is None and len(seen) < count:
        seen |= git_children(proc)
        time.sleep(0.0003)
    return len(seen)


def staging_folders(package_dir: Path) -> set[str]:
    return {p.name for p in package_dir.glob(".export-*")}


def wait_for_staging(proc: subprocess.Popen[bytes], package_dir: Path, left: set[str]) -> bool:
    """Wait until the rebase starts writing its new queue: a staging folder other than
    those `left` by killed runs appears. False when the run ended first."""
    while proc.poll() is None:
        if staging_folders(package_dir) - left:
            return True
        time.sleep(0.0005)
    return False


def kill_tree(proc: subprocess.Popen[bytes]) -> None:
    """kill -9 mirrorctl and every git it started (a container killed whole), after
    freezing it so that it starts no more. Their own helpers (the receive-pack on the
    mirror's side) are left to notice the dead pipe, as a server would."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGSTOP)
        for child in git_children(proc):
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        os.kill(proc.pid, signal.SIGKILL)


def reference_rebase(config: Path, workdir: Path, *args: str) -> tuple[int, dict, int]:  # type: ignore[type-arg]
    """A rebase not killed: exit status, JSON report, and how many git commands it ran."""
    proc = start_rebase(config, workdir, *args)
    gits = wait_for_gits(proc, 10**6)
    out, err = proc.communicate(timeout=120)
    assert out.startswith(b"{"), err.decode()
    return proc.returncode, json.loads(out), gits


def rerere_remembers_constants(run_cli, args: list[str], worktree: Path) -> None:  # type: ignore[no-untyped-def]
    """Resolve the constants conflict by hand once: patchsets/numpy/.rr-cache keeps it."""
    assert run_cli(*args, "rebase", "numpy", *CLEAN, "--worktree", str(worktree)).code == 1
    (worktree / "numpy/_core/constants.h").write_text(CONSTANTS.replace("C5 5", "C5 555"))
    Repo(worktree).git("add", "numpy/_core/constants.h")
    assert run_cli(*args, "rebase", "numpy", "--continue").code == 0


def test_rebase_killed_at_random_points_never_half_writes_a_queue(
        tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    mirror, config = numpy_like(tmp_path)
    workdir, package_dir = tmp_path / "work", tmp_path / "patchsets" / "numpy"
    args = ["--config", str(config), "--workdir", str(workdir), "-q"]
    assert run_cli(*args, "sync").code == 0
    rerere_remembers_constants(run_cli, args, tmp_path / "resolve")
    shutil.rmtree(package_dir / "1.1.0")
    old_queue, rr_cache = snapshot(package_dir / "1.0.0"), snapshot(package_dir / ".rr-cache")
    mirror_before = mirror.refs()

    # The references: each rebase once, not killed.
    code, clean, clean_gits = reference_rebase(config, workdir, *CLEAN, "--push")
    assert code == 0 and clean["written"] == "written", clean
    assert sorted(p["outcome"] for p in clean["patches"]) == [
        "applied", "applied", "applied", "merged", "merged", "merged", "upstreamed"]
    assert any("remembered resolution" in p["detail"] for p in clean["patches"])
    final_refs = mirror.refs()
    head = [p["commit"] for p in clean["patches"] if p["commit"]][-1]
    assert final_refs == {**mirror_before, BRANCH: head}
    code, partial, partial_gits = reference_rebase(config, workdir, *PARTIAL)
    assert code == 1 and partial["written"] == "written", partial
    assert [p["outcome"] for p in partial["patches"]].count("conflict") == 1
    expected = {"1.1.0": snapshot(package_dir / "1.1.0"), "1.2.0": snapshot(package_dir / "1.2.0")}

    rng = random.Random(20261124)
    cache = workdir / "cache" / "numpy.git"
    killed_mid_run = killed_writing = finished = 0
    debris: set[str] = set()
    for trial in range(TRIALS):
        clean_target = trial % 4 < 2
        version, options = ("1.1.0", CLEAN) if clean_target else ("1.2.0", PARTIAL)
        target = package_dir / version
        # Most trials start from nothing, some from the finished queue, some from a
        # different queue that --force must replace whole (the atomic exchange).
        start = rng.choice(["fresh", "fresh", "as-left", "different"])
        if start != "as-left":
            shutil.rmtree(target, ignore_errors=True)
            mirror.git("update-ref", "-d", BRANCH)
        if start == "different":
            shutil.copytree(package_dir / "1.0.0", target)
        before, refs_before = snapshot(target), mirror.refs()
        extra = [*(["--push"] if rng.random() < 0.5 else []),
                 *(["--force"] if start == "different" else [])]
        wait_until_lock_is_free(workdir)
        left = staging_folders(package_dir)
        proc = start_rebase(config, workdir, *options, *extra)
        if trial % 2:  # anywhere in its work
            gits = clean_gits if clean_target else partial_gits
            wait_for_gits(proc, rng.randint(1, gits * 9 // 10))
            time.sleep(rng.uniform(0, 0.004))
        else:  # while it writes the new queue (a format-patch a refreshed patch), swaps
            # it in, tidies up or pushes
            wait_for_staging(proc, package_dir, left)
            wait_for_gits(proc, rng.randint(0, 3))
            time.sleep(rng.uniform(0, 0.015))
            killed_writing += proc.poll() is None
        killed_mid_run += proc.poll() is None
        # A third each: mirrorctl alone (the OOM killer; its git children run on),
        # its process group (a cancelled job), or everything it started (a container).
        with contextlib.suppress(ProcessLookupError):
            if trial % 3 == 0:
                proc.send_signal(signal.SIGKILL)
            elif trial % 3 == 1:
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                kill_tree(proc)
        proc.communicate()
        wait_until_lock_is_free(workdir)

        assert snapshot(package_dir / "1.0.0") == old_queue
        assert snapshot(package_dir / ".rr-cache") == rr_cache
        assert snapshot(target) in (before, expected[version]), f"trial {trial}: half written"
        # What a killed run leaves is hidden, and no command reads it as a queue.
        queues = [p for p in package_dir.iterdir() if not p.name.startswith(".")]
        assert {p.name for p in queues} <= {"1.0.0", "1.1.0", "1.2.0"}
        assert check_queues(tmp_path / "patchsets", ["numpy"]) == (
            sum(len(list(q.glob("*.patch"))) for q in queues), [])
        refs = mirror.refs()
        assert refs in (refs_before, final_refs if clean_target else refs_before), trial
        finished += snapshot(target) != before
        debris.update(name.split("-")[0] + "-" + name.split("-")[1]
                      for name in (*staging_folders(package_dir),
                                   *(p.name for p in cache.glob("mirrorctl-*"))))
    print(f"{killed_mid_run} of {TRIALS} kills mid-run, {killed_writing} while writing; "
          f"{finished} left the new queue, the others the old state; debris: {sorted(debris)}")
    assert killed_mid_run >= 18, f"only {killed_mid_run} kills landed while the rebase worked"
    assert killed_writing >= 6, f"only {killed_writing} kills landed while it wrote the queue"

    # The next runs finish the work, tidy what the killed ones left, and give the
    # references exactly.
    for version, options in (("1.1.0", CLEAN), ("1.2.0", PARTIAL)):
        wait_until_lock_is_free(workdir)
        _, report, _ = reference_rebase(config, workdir, *options, "--push", "--force")
        assert report["written"] in ("written", "unchanged"), report
        assert snapshot(package_dir / version) == expected[version]
        assert (package_dir / version).stat().st_mode == (package_dir / "1.0.0").stat().st_mode
    assert sorted(p.name for p in package_dir.iterdir()) == [
        ".rr-cache", "1.0.0", "1.1.0", "1.2.0"]
    assert mirror.refs() == final_refs
    assert not [*cache.glob("mirrorctl-*"), *cache.glob("worktrees/*"), *cache.glob("*.lock")]


def test_resolutions_are_saved_whole_or_not_at_all(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A --continue killed while it saves what rerere learnt leaves patchsets/<package>/
    .rr-cache as it was: a truncated postimage there would be replayed as a resolution."""
    cache = Repository(tmp_path / "cache.git", GitRunner(GitSettings(base_env={})))
    store = tmp_path / "patchsets" / "numpy" / ".rr-cache"
    for folder, files in ((store, {"old/preimage": "a", "old/postimage": "b"}),
                          (cache.git_dir / "rr-cache", {"new/preimage": "c", "new/postimage": "d",
                                                        "newer/postimage": "e"})):
        for name, text in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)
    before = snapshot(store)
    real_copytree, copied = shutil.copytree, []

    def copy_then_die(source: str, target: str, *args: object, **options: object) -> object:
        def copy(a: str, b: str) -> None:
            if len(copied) == 2:
                raise KeyboardInterrupt  # as good as a kill for what is on disk
            copied.append(shutil.copy2(a, b))
        return real_copytree(source, target, copy_function=copy, dirs_exist_ok=True)

    def learnt() -> Resolutions:  # the resolutions a --continue took for its patch
        resolutions = Resolutions(cache, store)
        resolutions.note(["new", "newer"], "0002-ENH-constants.patch")
        return resolutions

    monkeypatch.setattr(shutil, "copytree", copy_then_die)
    with pytest.raises(KeyboardInterrupt):
        learnt().save()
    assert snapshot(store) == before
    monkeypatch.undo()
    learnt().save()
    index = json.loads(snapshot(store).pop("mirrorctl-patches.json"))
    assert index == {"new": "ENH-constants.patch", "newer": "ENH-constants.patch"}
    assert {k: v for k, v in snapshot(store).items() if k != "mirrorctl-patches.json"} == {
        **before, "new/preimage": b"c", "new/postimage": b"d", "newer/postimage": b"e"}
    assert sorted(p.name for p in store.parent.iterdir()) == [".rr-cache"]
