"""Both ways to git give the same bytes (issue 24). mirrorctl writes commits and reads
refs in git's formats itself (core/objects.py) and batches the diffs of a carry; with
MIRRORCTL_GIT_PATH=processes every step is a git process of its own, as in 0.1. Twin
copies of one site run the same commands, one on each path: the exit statuses, the
output (commit ids included), the queues written and every ref must be identical.

The corpora (rebase, classify, hostile input, their real upgrade, upstreamed and
resolved patches) also run whole on both paths, through the both_git_paths fixture."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult, Site
from tests.test_rebase import numpy_site

__all__ = ["numpy_site"]

Run = Callable[..., CliResult]
STAMP = re.compile(r"\d{8}T\d{6}\.\d{6}Z")  # when a run ran: the only difference allowed


def twin(site: Site, to: Path) -> Site:
    """A copy of the site that names its own repositories."""
    shutil.copytree(site.root, to, symlinks=True)
    config = to / site.config.relative_to(site.root)
    config.write_text(config.read_text().replace(str(site.root), str(to)))
    return Site(to, site.upstream, site.mirror, config, to / "work")


def files(folder: Path) -> dict[str, str]:
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def refs(git_dir: Path) -> str:
    return subprocess.run(["git", "--git-dir", str(git_dir), "for-each-ref"], check=True,
                          capture_output=True, text=True).stdout


def on_both_paths(run_cli: Run, site: Site, monkeypatch: pytest.MonkeyPatch,
                  commands: list[tuple[str, ...]],
                  before: Callable[[Site], None] = lambda site: None) -> list[object]:
    """What each path makes of the same commands on a twin of `site`: [in-process,
    processes], each the outputs (the site's own path written <site>, the time a run
    ran <stamp>), the patch queues and the refs of every cache and mirror."""
    seen = []
    for path in ("in-process", "processes"):
        copy = twin(site, site.root.parent / f"{site.root.name}-{path}")
        before(copy)
        monkeypatch.setenv("MIRRORCTL_GIT_PATH", path)
        outputs = []
        for command in commands:
            result = run_cli(*copy.args(*command))
            outputs.append((command, result.code, *(
                STAMP.sub("<stamp>", text.replace(str(copy.root), "<site>"))
                for text in (result.out, result.err))))
        caches = sorted((copy.workdir / "cache").glob("*.git"))
        # Each path was the one taken: only the in-process one keeps what tags peel to.
        assert {(c / "mirrorctl" / "peeled.json").exists() for c in caches} == {
            path == "in-process"}
        seen.append((outputs, files(copy.root / "patchsets"),
                     [refs(git_dir) for git_dir in [*caches, copy.root / "mirror.git"]]))
    return seen


def test_a_carry_with_every_outcome_is_the_same_on_both_paths(
        run_cli: Run, numpy_site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """Applied, merged (a rename followed), upstreamed by patch-id and by request,
    conflict: the same outcomes, conflicts, commit ids and refreshed patches."""
    ours, theirs = on_both_paths(run_cli, numpy_site, monkeypatch, [
        ("sync",), ("rebase", "numpy", "--format", "json"),
        ("rebase", "numpy", "--dry-run", "--format", "json"),
        ("classify", "--format", "json"),
        ("rebase", "numpy", "--keep-partial", "--format", "json"),
        ("releases", "--format", "json")])
    assert ours == theirs
    outputs = ours[0]  # type: ignore[index]
    assert [code for _, code, _, _ in outputs] == [0, 1, 1, 0, 1, 0]
    assert '"outcome": "merged"' in outputs[1][2] and '"outcome": "conflict"' in outputs[1][2]


def test_a_clean_carry_writes_the_same_queue_on_both_paths(
        run_cli: Run, numpy_site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    def without_the_conflict(site: Site) -> None:
        os.remove(site.root / "patchsets" / "numpy" / "1.0.0" / "0002-ENH-constants.patch")

    ours, theirs = on_both_paths(run_cli, numpy_site, monkeypatch, [
        ("sync",), ("rebase", "numpy", "--format", "json"), ("classify", "--format", "json"),
        ("report", "--format", "json")], before=without_the_conflict)
    assert ours == theirs
    written = ours[1]  # type: ignore[index]
    assert sorted(name for name in written if name.startswith("numpy/1.1.0/")) == [
        "numpy/1.1.0/0001-BLD-riscv64-flags.patch", "numpy/1.1.0/0001-MAINT-core-math.patch",
        "numpy/1.1.0/0003-DOC-notes.patch"]



def test_what_upstream_did_between_two_releases_is_read_once(
        run_cli: Run, numpy_site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """The range between two release commits never changes, nor a diff's patch-id: the
    night's carry reads them from git, every later dry run of the same release from
    what it kept, with the same outcomes (upstreamed by request and by patch-id)."""
    from mirrorctl.core.git import GitRunner

    assert run_cli(*numpy_site.args("sync")).code == 0
    first = run_cli(*numpy_site.args("rebase", "numpy", "--dry-run", "--format", "json"))
    assert '"outcome": "upstreamed"' in first.out
    kept = list((numpy_site.workdir / "cache" / "numpy.git" / "mirrorctl" / "evidence")
                .glob("*-*.json"))
    assert len(kept) == 1
    started: list[list[str]] = []
    real_popen = GitRunner._popen

    def counting(self: GitRunner, argv: list[str], *args: object, **kwargs: object) -> object:
        started.append([a for a in argv[1:] if not a.startswith("-c") and "=" not in a])
        return real_popen(self, argv, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(GitRunner, "_popen", counting)
    again = run_cli(*numpy_site.args("rebase", "numpy", "--dry-run", "--format", "json"))
    assert (again.code, again.out) == (first.code, first.out)
    commands = [argv[0] for argv in started]
    assert "log" not in commands and "patch-id" not in commands, commands
    # The tags' objects, peeled by the first carry, are kept: none is asked of git again.
    assert not [argv for argv in started if "--batch-check=%(objectname)" in argv], started
    # Six picks, all through one `git merge-tree --stdin`.
    assert [argv for argv in started if argv[0] == "merge-tree"] == [
        ["merge-tree", "--stdin", "--name-only", "--messages"]], started
