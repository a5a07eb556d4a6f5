"""What is vouched for must not cost the morning (issue 31): the usual morning's report
of 1,000 packages and the no-op sync of 30, each beside the same command of the code
before the change (the commit before issue 31's first, checked out in a temporary git
worktree of this repository), interleaved in the same run.

Issue 31 made the readers check what they read: each cache's refs against what sync
recorded, the queue folders, the record's format, the night's mark. The goal: the
report at most 1.1x, the no-op sync at most 1.05x, of the code before. Each side runs in
a copy of the same work directory, so neither reads what the other wrote.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.report_scale import kept_queues
from benchmarks.sandbox import ROOT, interleaved, make_site, without_mirrors

BEFORE = "48a599c1fc7aec6182403d7cefbf31b58829bb15"  # the last commit before issue 31
REPORT_PACKAGES, REPORT_REPEATS = 1000, 5
SYNC_PACKAGES, SYNC_REPEATS = 30, 11


def main() -> dict[str, float]:
    nan = float("nan")
    before = _before_tree()
    if before is None:
        print(f"the code before issue 31 ({BEFORE[:10]}) is not in this clone (a shallow "
              "one?): its figures are not measured\n")
        return {"vouched_report": nan, "vouched_sync": nan}
    try:
        report = _report(before)
        sync = _sync(before)
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)],
                       check=False, capture_output=True)
        shutil.rmtree(before.parent, ignore_errors=True)
    return {"vouched_report": report, "vouched_sync": sync}


def _before_tree() -> Path | None:
    import tempfile

    where = Path(tempfile.mkdtemp(prefix="mirrorctl-before-")) / "tree"
    made = subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--quiet", "--detach",
                           str(where), BEFORE], check=False, capture_output=True)
    if made.returncode != 0:
        shutil.rmtree(where.parent, ignore_errors=True)
        return None
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(where / "mirrorctl")],
                   check=False, stdout=subprocess.DEVNULL)
    return where


def _command(env: dict[str, str], code: Path, *args: str) -> Callable[[], None]:
    """Run mirrorctl from the source tree `code` (its package first on the path)."""
    env = {**env, "PYTHONPATH": str(code)}

    def run() -> None:
        subprocess.run([sys.executable, "-m", "mirrorctl", *args], env=env, check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=code)
    return run


def _report(before: Path) -> float:
    """The usual morning: every queue carried by the night (its upgrade standing), six
    older folders kept a package, the report written as a page."""
    root, env, config, _ = make_site(REPORT_PACKAGES, commits=8, tags=3, branches=1)
    try:
        bare = without_mirrors(config, root / "bare.yaml", version="0.1")
        names = list(yaml.safe_load(bare.read_text())["packages"])
        kept_queues(root / "patchsets", names, ("0.0.0", "0.0.1", "0.0.2", "0.0.3", "0.0.4",
                                                "0.1"))
        now = root / "work"
        night = _command(env, ROOT, "--config", str(bare), "--workdir", str(now), "-q",
                         "nightly")
        night()
        then = root / "work-before"
        shutil.copytree(now, then, symlinks=True)
        medians = interleaved({
            "mirrorctl report, before issue 31": _command(
                env, before, "--config", str(bare), "--workdir", str(then), "-q", "report",
                "-o", str(root / "before.html")),
            "mirrorctl report, now": _command(
                env, ROOT, "--config", str(bare), "--workdir", str(now), "-q", "report",
                "-o", str(root / "now.html")),
        }, REPORT_REPEATS)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return _print(f"the usual morning's report of {REPORT_PACKAGES} packages", medians,
                  REPORT_REPEATS, "<= 1.1x")


def _sync(before: Path) -> float:
    root, env, config, now = make_site(SYNC_PACKAGES)
    try:
        sync = _command(env, ROOT, "--config", str(config), "--workdir", str(now), "-q",
                        "sync")
        sync()  # the first sync: every one after is a no-op
        then = root / "work-before"
        shutil.copytree(now, then, symlinks=True)
        old = _command(env, before, "--config", str(config), "--workdir", str(then), "-q",
                       "sync")
        old()  # its own record written once, as it writes it
        medians = interleaved({"mirrorctl sync, no-op, before issue 31": old,
                               "mirrorctl sync, no-op, now": sync}, SYNC_REPEATS)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return _print(f"the no-op sync of {SYNC_PACKAGES} local packages (jobs 4)", medians,
                  SYNC_REPEATS, "<= 1.05x")


def _print(title: str, medians: dict[str, float], repeats: int, goal: str) -> float:
    old, new = medians.values()
    print(f"{title}, median of {repeats} interleaved runs")
    for name, seconds in medians.items():
        print(f"  {name:<46} {seconds:7.3f} s  {seconds / old:5.3f}x")
    print(f"  now / before issue 31: {new / old:.3f}x (goal {goal})\n")
    return new / old


if __name__ == "__main__":
    main()
