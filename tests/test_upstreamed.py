"""Upstreamed, from the tree: a patch is upstreamed when the new release's tree has its
change (and the detail names the commit, whatever form its Backport URL takes); a change
upstream took and undid before the release is said so, with both commits, and waits
for a person instead of being carried; a backport of one follows the release."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Site
from tests.gitrepos import Repo, make_mirror, write_config
from tests.test_patches import make_queue

# Each case on both ways to git: the same outcomes, the same messages (issue 24).
pytestmark = pytest.mark.usefixtures("both_git_paths")

FIX = "int x = 64;  /* riscv64 */\n"


def a_site(tmp_path: Path, status: str, *, revert: bool, message: str = "BLD: rv64") -> Site:
    """Release 1.0.0; the queue's one patch, with `status`; upstream takes the very same
    change in a commit of its own (whose id the header may name), and, with `revert`,
    reverts it before 1.1.0."""
    up = Repo(tmp_path / "up")
    up.commit("release 1.0.0", {"core.c": "int x = 1;\n", "README": "up\n"})
    up.tag("v1.0.0", annotated=True)
    taken = up.commit(f"{message} (#42)", {"core.c": FIX})
    if revert:
        up.git("revert", "--no-edit", taken)
    up.commit("release 1.1.0", {"README": "up, 1.1\n"})
    up.tag("v1.1.0", annotated=True)
    up.git("checkout", "--quiet", "--detach", "v1.0.0")
    make_queue(up, tmp_path / "patchsets" / "demo" / "1.0.0",
               [(f"{message}\n\nUpstream-Status: {status.format(sha=taken)}", {"core.c": FIX})])
    (tmp_path / "patchsets" / "demo" / "1.0.0.tree").unlink()
    up.git("checkout", "--quiet", "main")
    config = write_config(tmp_path / "mirrors.yaml", {"demo": {
        "upstream": str(up.path), "mirror": str(make_mirror(tmp_path / "m.git").path),
        "version": "1.0.0"}})
    site = Site(tmp_path, up, Repo(tmp_path / "m.git", bare=True), config, tmp_path / "work")
    site.taken = taken  # type: ignore[attr-defined]
    return site


def rebased(run_cli, site: Site) -> tuple[int, dict]:  # type: ignore[no-untyped-def, type-arg]
    assert run_cli(*site.args("sync")).code == 0
    result = run_cli(*site.args("rebase", "demo", "--format", "json"))
    return result.code, json.loads(result.out)


@pytest.mark.parametrize("url", [
    "https://github.com/up/proj/commit/{sha}",
    "https://github.com/up/proj/pull/42/commits/{sha}",
    "https://github.com/up/proj/pull/42/changes/{sha}",  # theirs
    "https://gitlab.com/up/proj/-/commit/{sha}",
    "https://gitlab.com/up/proj/-/merge_requests/42/diffs?commit_id={sha}",
])
def test_a_backport_the_release_has_is_upstreamed_naming_its_commit(run_cli, tmp_path: Path,
                                                                   url: str) -> None:
    site = a_site(tmp_path, f"Backport [{url}]", revert=False)
    code, data = rebased(run_cli, site)
    [patch] = data["patches"]
    assert code == 0 and patch["outcome"] == "upstreamed", patch
    assert patch["upstream_commit"] == site.taken  # type: ignore[attr-defined]
    assert "the new release has its change" in patch["detail"]


def test_a_backport_taken_and_reverted_follows_the_release(run_cli, tmp_path: Path) -> None:
    """Since issue 30: the release is upstream's decision, so the queue follows it and
    leaves the backport out, naming both commits; a person who wants it still puts it
    back in the new folder, and the next carry takes it on."""
    site = a_site(tmp_path, "Backport [https://github.com/up/proj/pull/42/changes/{sha}]",
                  revert=True)
    code, data = rebased(run_cli, site)
    [patch] = data["patches"]
    assert code == 0 and data["status"] == "clean" and patch["outcome"] == "undone", patch
    revert = site.upstream.rev("v1.1.0~1")
    assert f"took it in {site.taken[:12]}" in patch["detail"]  # type: ignore[attr-defined]
    assert f"undid it in {revert[:12]} before v1.1.0" in patch["detail"]
    new = tmp_path / "patchsets" / "demo" / "1.1.0"
    assert data["written"] == "nothing-to-carry"
    assert [p.name for p in new.iterdir()] == ["series"]
    assert "taken and undone upstream before v1.1.0" in (new / "series").read_text()
    report = json.loads(run_cli(*site.args("report", "--format", "json")).out)
    assert not [a for a in report["actions"] if a["kind"] == "conflict"]
    [demo] = report["packages"]
    assert demo["level"] == "medium" and demo["reasons"][0]["code"] == "backport-undone"
    assert "confirm with the builds" in demo["reasons"][0]["todo"]
    # A person who wants it carried puts it back in the new folder: it is the queue now.
    old = next((tmp_path / "patchsets" / "demo" / "1.0.0").glob("*.patch"))
    (new / old.name).write_bytes(old.read_bytes())
    (new / "series").write_text(old.name + "\n")
    assert run_cli(*site.args("validate")).code == 0
    applied = run_cli(*site.args("patches", "apply", "demo", "--format", "json"))
    assert applied.code == 0 and json.loads(applied.out)["version"] == "1.1.0"


def test_a_request_merged_then_reverted_is_said_with_both_commits(run_cli,
                                                                 tmp_path: Path) -> None:
    site = a_site(tmp_path, "Submitted [https://github.com/up/proj/pull/42]", revert=True)
    code, data = rebased(run_cli, site)
    [patch] = data["patches"]
    assert code == 1 and patch["outcome"] == "reverted", patch
    assert "request 42" in patch["detail"] and "reverted by" in patch["detail"]


def test_a_request_named_by_a_commit_that_took_nothing_is_carried(run_cli,
                                                                 tmp_path: Path) -> None:
    """Upstream's message names #42, but its commit changed something else: the patch is
    carried as any other, not 'upstreamed' from a number in a message."""
    up = Repo(tmp_path / "up")
    up.commit("release 1.0.0", {"core.c": "int x = 1;\n", "docs.txt": "docs\n"})
    up.tag("v1.0.0", annotated=True)
    up.commit("DOC: a typo (#42)", {"docs.txt": "Docs.\n"})
    up.tag("v1.1.0", annotated=True)
    up.git("checkout", "--quiet", "--detach", "v1.0.0")
    make_queue(up, tmp_path / "patchsets" / "demo" / "1.0.0", [(
        "BLD: rv64\n\nUpstream-Status: Submitted [https://github.com/up/proj/pull/42]",
        {"core.c": FIX})])
    (tmp_path / "patchsets" / "demo" / "1.0.0.tree").unlink()
    up.git("checkout", "--quiet", "main")
    config = write_config(tmp_path / "mirrors.yaml", {"demo": {
        "upstream": str(up.path), "mirror": str(make_mirror(tmp_path / "m.git").path),
        "version": "1.0.0"}})
    site = Site(tmp_path, up, Repo(tmp_path / "m.git", bare=True), config, tmp_path / "work")
    code, data = rebased(run_cli, site)
    [patch] = data["patches"]
    assert (code, patch["outcome"]) == (0, "applied"), patch
