"""Rebasing a 10-patch queue: mirrorctl (no checkout) against `git worktree add` +
`git rebase` of the same commits, on a generated repository of 20,000 files; and
mirrorctl on that repository against mirrorctl on a 50-file one.

Goals (issue 3): at most 0.05x the git baseline, and the large repository within 2x
of the small one; issue 24: the command at most 0.03x, and the engine on 50 files at
most 10x one `git merge-tree --write-tree` of one patch there (the floor: a pick is
one merge). mirrorctl is timed twice: its engine in-process (the replay itself) and the
whole command (with Python's start-up and mirrors.yaml), as people run it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml

from benchmarks.sandbox import git, interleaved, sealed_env

PATCHES = 10
REPEATS = 5


def _stream(files: int) -> str:
    """v1.0: `files` files in 100 folders; v1.1: upstream edits 50 of them, among them the
    ones the queue touches (elsewhere in the file); branch `queue`: 10 patches on v1.0."""
    body = "".join(f"line {n}\n" for n in range(40))
    parts = ["commit refs/heads/main\nmark :1\ncommitter B <b@x> 1700000000 +0000\n"
             "data 5\nv1.0\n"]
    for n in range(files):
        parts.append(f"M 644 inline src/d{n % 100}/f{n}.c\ndata {len(body)}\n{body}\n")
    parts.append("reset refs/tags/v1.0\nfrom :1\n\n")
    parts.append("commit refs/heads/main\nmark :2\ncommitter B <b@x> 1700000100 +0000\n"
                 "data 5\nv1.1\nfrom :1\n")
    edited = body.replace("line 0\n", "line 0 (upstream)\n")
    for n in range(0, files, max(1, files // 50)):
        parts.append(f"M 644 inline src/d{n % 100}/f{n}.c\ndata {len(edited)}\n{edited}\n")
    parts.append("reset refs/tags/v1.1\nfrom :2\n\n")
    for p in range(PATCHES):
        n = p * max(1, files // 50)  # files upstream also edited: a real 3-way merge
        patched = body.replace("line 30\n", f"line 30 (riscv64 patch {p})\n")
        message = f"BLD: riscv64 change {p}\n\nUpstream-Status: Pending\n"
        parts.append(f"commit refs/heads/queue\nmark :{10 + p}\n"
                     f"committer B <b@x> {1700000200 + p} +0000\n"
                     f"data {len(message)}\n{message}from :{9 + p if p else 1}\n"
                     f"M 644 inline src/d{n % 100}/f{n}.c\ndata {len(patched)}\n{patched}\n")
    return "".join(parts)


def _site(root: Path, env: dict[str, str], files: int) -> tuple[Path, Path]:
    """(config, upstream) for one generated repository with its queue in patchsets/."""
    upstream = root / "upstream"
    git(env, "init", "--quiet", str(upstream))
    git(env, "-C", str(upstream), "fast-import", "--quiet", input=_stream(files))
    git(env, "-C", str(upstream), "reset", "--quiet", "--hard", "main")
    queue = root / "patchsets" / "pkg" / "1.0"
    git(env, "-C", str(upstream), "format-patch", "--quiet", "--zero-commit", "--no-signature",
        "--no-stat", "--full-index", "-o", str(queue), "v1.0..queue")
    mirror = root / "mirror.git"
    git(env, "init", "--quiet", "--bare", str(mirror))
    config = root / "mirrors.yaml"
    config.write_text(yaml.safe_dump({
        "defaults": {"allowed_protocols": ["file"], "retries": 0},
        "packages": {"pkg": {"upstream": str(upstream), "mirror": str(mirror),
                             "tag_format": "v{version}", "version": "1.0"}}}))
    subprocess.run([sys.executable, "-m", "mirrorctl", "--config", str(config), "--workdir",
                    str(root / "work"), "-q", "sync"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return config, upstream


def _engine(config: Path, workdir: Path) -> None:
    from mirrorctl.core.config import load_config
    from mirrorctl.core.git import GitRunner, GitSettings
    from mirrorctl.queue.carry import RebaseOptions, rebase_queue

    loaded = load_config(config)
    runner = GitRunner(GitSettings(base_env=dict(os.environ), allowed_protocols=("file",)))
    report = rebase_queue(loaded, loaded.packages["pkg"],
                          RebaseOptions(workdir=workdir, onto="1.1", force=True), runner)
    assert report.status == "clean", report


def _command(env: dict[str, str], config: Path, workdir: Path) -> None:
    subprocess.run([sys.executable, "-m", "mirrorctl", "--config", str(config), "--workdir",
                    str(workdir), "-q", "rebase", "pkg", "--onto", "1.1", "--force"],
                   env=env, check=True, stdout=subprocess.DEVNULL)


def _git_rebase(env: dict[str, str], upstream: Path, scratch: Path) -> None:
    subprocess.run(["git", "-C", str(upstream), "worktree", "add", "--quiet", "--detach",
                    str(scratch), "queue"], env=env, check=True)
    subprocess.run(["git", "-C", str(scratch), "rebase", "--quiet", "--onto", "v1.1", "v1.0"],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["git", "-C", str(upstream), "worktree", "remove", "--force", str(scratch)],
                   env=env, check=True)


def _merge_tree(env: dict[str, str], upstream: Path) -> None:
    """The first patch picked onto v1.1 by git alone: v1.0, its parent, is the base."""
    subprocess.run(["git", "-C", str(upstream), "merge-tree", "--write-tree", "v1.1",
                    f"queue~{PATCHES - 1}"], env=env, check=True, stdout=subprocess.DEVNULL)


def main() -> dict[str, float]:
    root = Path(tempfile.mkdtemp(prefix="mirrorctl-bench-rebase-"))
    (root / "home").mkdir()
    env = sealed_env(root / "home")
    os.environ.update(env)  # the in-process engine runs git with this environment
    try:
        big, small = root / "big", root / "small"
        big.mkdir()
        small.mkdir()
        big_config, big_upstream = _site(big, env, 20_000)
        small_config, small_upstream = _site(small, env, 50)
        medians = interleaved({
            "git worktree add + git rebase (20,000 files)":
                lambda: _git_rebase(env, big_upstream, big / "scratch"),
            "mirrorctl engine (20,000 files)": lambda: _engine(big_config, big / "work"),
            "mirrorctl engine (50 files)": lambda: _engine(small_config, small / "work"),
            "mirrorctl rebase command (20,000 files)":
                lambda: _command(env, big_config, big / "work"),
            "mirrorctl rebase command (50 files)":
                lambda: _command(env, small_config, small / "work"),
            "one git merge-tree of one patch (50 files)":
                lambda: _merge_tree(env, small_upstream),
        }, REPEATS)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    baseline = medians["git worktree add + git rebase (20,000 files)"]
    print(f"rebase of a {PATCHES}-patch queue, median of {REPEATS} interleaved runs")
    for name, seconds in medians.items():
        print(f"  {name:<46} {seconds:7.3f} s  {seconds / baseline:6.3f}x")
    ratios = {
        "rebase_engine": medians["mirrorctl engine (20,000 files)"] / baseline,
        "rebase_command": medians["mirrorctl rebase command (20,000 files)"] / baseline,
        "rebase_scale": (medians["mirrorctl engine (20,000 files)"]
                         / medians["mirrorctl engine (50 files)"]),
        "rebase_scale_command": (medians["mirrorctl rebase command (20,000 files)"]
                                 / medians["mirrorctl rebase command (50 files)"]),
        "rebase_engine_merges": (medians["mirrorctl engine (50 files)"]
                                 / medians["one git merge-tree of one patch (50 files)"]),
    }
    print(f"  mirrorctl / git baseline: engine {ratios['rebase_engine']:.3f}x, command "
          f"{ratios['rebase_command']:.3f}x (goal <= 0.05x; issue 24: command <= 0.03x)")
    print(f"  engine on 50 files / one merge-tree of one patch: "
          f"{ratios['rebase_engine_merges']:.1f}x (goal <= 10x, {PATCHES} patches)")
    print(f"  20,000 files / 50 files: engine {ratios['rebase_scale']:.2f}x, command "
          f"{ratios['rebase_scale_command']:.2f}x (goal <= 2x)\n")
    return ratios


if __name__ == "__main__":
    main()
