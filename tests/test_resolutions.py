"""A resolution is never an empty patch, and never lost: every path that ends in
`rebase --continue`, each followed by a fresh rebase of the same release that must
settle the same conflict with the remembered resolution, unattended."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.cliwords import check_told
from tests.conftest import Site
from tests.gitrepos import Repo
from tests.test_rebase import CONSTANTS, by_patch, numpy_site, rebase

# Each case on both ways to git: the same outcomes, the same messages (issue 24).
pytestmark = pytest.mark.usefixtures("both_git_paths")

__all__ = ["numpy_site"]  # the fixture, used by every test here

WAITING = "0002-ENH-constants.patch"
CONFLICTED = Path("numpy") / "_core" / "constants.h"


def start(run_cli, site: Site, worktree: Path, *args: str) -> None:  # type: ignore[no-untyped-def]
    result, data = rebase(run_cli, site, "--worktree", str(worktree), *args)
    assert result.code == 1 and data["waiting_patch"] == WAITING, result.err


def resolve(worktree: Path, text: str, *, commit: bool = False) -> None:
    (worktree / CONFLICTED).write_text(text)
    repo = Repo(worktree)
    repo.git("add", str(CONFLICTED))
    if commit:
        repo.git("commit", "--quiet", "-m", "ENH: constants, resolved")


def carry_on(run_cli, site: Site, *args: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    done = run_cli(*site.args("rebase", "numpy", "--continue", "--format", "json", *args))
    assert done.code == 0, done.err
    return json.loads(done.out)  # type: ignore[no-any-return]


def queue(site: Site, version: str = "1.1.0") -> Path:
    return site.root / "patchsets" / "numpy" / version


def rebased_again(run_cli, site: Site) -> dict:  # type: ignore[no-untyped-def, type-arg]
    """A fresh rebase of the same release, from nothing but the queues and .rr-cache: the
    conflict is settled by what was remembered, without a person."""
    shutil.rmtree(queue(site))
    shutil.rmtree(site.workdir)
    result, data = rebase(run_cli, site)
    assert result.code == 0, [(p["patch"], p["outcome"], p["detail"]) for p in data["patches"]]
    assert "remembered resolution" in by_patch(data)[WAITING]["detail"]
    assert run_cli(*site.args("validate")).code == 0
    return data  # type: ignore[no-any-return]


def no_empty_patch(folder: Path) -> None:
    for patch in folder.glob("*.patch"):
        assert "diff --git " in patch.read_text(), f"{patch} carries no change"


def test_keeping_upstreams_side_drops_the_patch_and_writes_no_empty_file(
        run_cli, numpy_site: Site, tmp_path: Path) -> None:
    worktree = tmp_path / "wt"
    start(run_cli, numpy_site, worktree)
    Repo(worktree).git("checkout", "--ours", "--", str(CONFLICTED))  # the new release's side
    Repo(worktree).git("add", str(CONFLICTED))
    data = carry_on(run_cli, numpy_site)
    dropped = by_patch(data)[WAITING]
    assert dropped["outcome"] == "dropped", dropped
    assert "keeps the new release's side" in dropped["detail"]
    assert not (queue(numpy_site) / WAITING).exists()
    no_empty_patch(queue(numpy_site))
    assert run_cli(*numpy_site.args("validate")).code == 0
    again = rebased_again(run_cli, numpy_site)
    assert by_patch(again)[WAITING]["outcome"] == "dropped"
    no_empty_patch(queue(numpy_site))


def test_a_waiting_conflict_is_told_to_go_on_where_it_waits(
        run_cli, numpy_site: Site, tmp_path: Path) -> None:
    start(run_cli, numpy_site, tmp_path / "wt")
    report = run_cli(*numpy_site.args("report", "--format", "json"))
    [conflict] = [a for a in json.loads(report.out)["actions"] if a["kind"] == "conflict"]
    assert conflict["command"] == "mirrorctl rebase numpy --continue"
    assert str(tmp_path / "wt") in conflict["detail"]
    resolve(tmp_path / "wt", CONSTANTS.replace("C5 5", "C5 559"))
    done = run_cli(*numpy_site.args(*conflict["command"].split()[1:]))
    assert done.code == 0, done.err


def test_a_resolution_after_an_abort_and_a_second_worktree_is_remembered(
        run_cli, numpy_site: Site, tmp_path: Path) -> None:
    start(run_cli, numpy_site, tmp_path / "first")
    assert run_cli(*numpy_site.args("rebase", "numpy", "--abort")).code == 0
    start(run_cli, numpy_site, tmp_path / "second")
    resolve(tmp_path / "second", CONSTANTS.replace("C5 5", "C5 555"))
    assert by_patch(carry_on(run_cli, numpy_site))[WAITING]["outcome"] == "merged"
    rr_cache = numpy_site.root / "patchsets" / "numpy" / ".rr-cache"
    assert list(rr_cache.glob("*/postimage*")), "the resolution was not kept"
    rebased_again(run_cli, numpy_site)
    assert "+#define C5 555" in (queue(numpy_site) / WAITING).read_text()


def test_a_resolution_committed_instead_of_staged_is_remembered(
        run_cli, numpy_site: Site, tmp_path: Path) -> None:
    start(run_cli, numpy_site, tmp_path / "wt")
    resolve(tmp_path / "wt", CONSTANTS.replace("C5 5", "C5 556"), commit=True)
    assert by_patch(carry_on(run_cli, numpy_site))[WAITING]["outcome"] == "merged"
    rebased_again(run_cli, numpy_site)
    assert "+#define C5 556" in (queue(numpy_site) / WAITING).read_text()


def test_continue_beside_a_partial_queue_completes_it(
        run_cli, numpy_site: Site, tmp_path: Path) -> None:
    start(run_cli, numpy_site, tmp_path / "wt", "--keep-partial")
    series = (queue(numpy_site) / "series").read_text()
    assert series.startswith("# partial:")
    resolve(tmp_path / "wt", CONSTANTS.replace("C5 5", "C5 557"))
    data = carry_on(run_cli, numpy_site)
    assert data["status"] == "clean" and data["written"] == "written"
    assert not (queue(numpy_site) / "series").exists()  # whole now, and current
    assert "+#define C5 557" in (queue(numpy_site) / WAITING).read_text()
    rebased_again(run_cli, numpy_site)


def test_a_refused_continue_keeps_the_worktree_and_names_a_command_that_works(
        run_cli, numpy_site: Site, tmp_path: Path) -> None:
    worktree = tmp_path / "wt"
    start(run_cli, numpy_site, worktree)
    # Meanwhile a person wrote a queue for 1.1.0 by hand.
    queue(numpy_site).mkdir(parents=True)
    shutil.copy(queue(numpy_site, "1.0.0") / "0003-DOC-notes.patch", queue(numpy_site))
    resolve(worktree, CONSTANTS.replace("C5 5", "C5 558"))
    refused = run_cli(*numpy_site.args("rebase", "numpy", "--continue"))
    assert refused.code == 2 and "pass --force" in refused.err, refused.err
    check_told(refused.err, "rebase numpy --continue")
    assert (worktree / ".git").exists(), "the waiting worktree went with the refusal"
    assert (numpy_site.workdir / "rebase" / "numpy.json").is_file()
    assert [p.name for p in queue(numpy_site).iterdir()] == ["0003-DOC-notes.patch"]
    data = carry_on(run_cli, numpy_site, "--force")
    assert by_patch(data)[WAITING]["outcome"] == "merged" and not worktree.exists()
    rebased_again(run_cli, numpy_site)


def test_a_queue_left_empty_by_a_dropped_patch_says_so(run_cli, tmp_path: Path) -> None:
    """One patch, resolved by keeping the new release's side: nothing is left to carry,
    and what is written says why (not "every patch is upstream")."""
    up = Repo(tmp_path / "up")
    up.commit("release", {"core.c": "int x = 1;\n"})
    up.tag("v1.0.0", annotated=True)
    from tests.test_patches import make_queue

    make_queue(up, tmp_path / "patchsets" / "demo" / "1.0.0",
               [("BLD: rv64\n\nUpstream-Status: Pending", {"core.c": "int x = 64;\n"})])
    up.commit("upstream's own", {"core.c": "int x = 2;\n"})
    up.tag("v1.1.0", annotated=True)
    (tmp_path / "patchsets" / "demo" / "1.0.0.tree").unlink()
    from tests.gitrepos import make_mirror, write_config

    config = write_config(tmp_path / "mirrors.yaml", {"demo": {
        "upstream": str(up.path), "mirror": str(make_mirror(tmp_path / "m.git").path),
        "version": "1.0.0"}})
    site = Site(tmp_path, up, Repo(tmp_path / "m.git", bare=True), config, tmp_path / "work")
    assert run_cli(*site.args("sync")).code == 0
    worktree = tmp_path / "wt"
    assert run_cli(*site.args("rebase", "demo", "--worktree", str(worktree))).code == 1
    Repo(worktree).git("checkout", "--ours", "--", "core.c")
    Repo(worktree).git("add", "core.c")
    done = run_cli(*site.args("rebase", "demo", "--continue"))
    assert done.code == 0, done.err
    assert "every patch was dropped by hand, nothing is left to carry" in done.out
    series = (tmp_path / "patchsets" / "demo" / "1.1.0" / "series").read_text()
    assert "dropped by hand" in series
    assert run_cli(*site.args("validate")).code == 0
