"""The mirror sync against real repositories: every rule of issue 2."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from tests.conftest import Site
from tests.gitrepos import Repo, make_mirror, make_upstream, write_config

RISCV = "refs/heads/riscv64/1.1.0"


def sync(run_cli, site: Site, *args: str):  # type: ignore[no-untyped-def]
    result = run_cli(*site.args("sync", "--format", "json", *args))
    data = json.loads(result.out) if result.out.strip().startswith("{") else None
    return result, data


def refs_of(data: dict, name: str = "demo") -> dict[str, dict]:  # type: ignore[type-arg]
    package = next(p for p in data["packages"] if p["name"] == name)
    return {r["ref"]: r for r in package["refs"]}


def mirrored(upstream: Repo) -> dict[str, str]:
    return {ref: sha for ref, sha in upstream.refs().items() if "feature/" not in ref}


def test_first_sync_copies_branches_and_tags_and_keeps_riscv64(run_cli, site: Site) -> None:
    riscv = site.mirror.rev(RISCV)
    result, data = sync(run_cli, site)
    assert result.code == 0, result.err
    assert data["packages"][0]["status"] == "updated"
    assert {r["action"] for r in refs_of(data).values()} == {"create"}
    mirror = site.mirror.refs()
    assert mirror == {**mirrored(site.upstream), RISCV: riscv}
    assert "refs/heads/feature/wip" not in mirror  # not matched by `branches`


def test_noop_sync_is_one_ls_remote_a_side_and_no_fetch_or_push(
        run_cli, site: Site, caplog: pytest.LogCaptureFixture) -> None:
    sync(run_cli, site)
    with caplog.at_level(logging.DEBUG, logger="mirrorctl.core.git"):
        _result, data = sync(run_cli, site)
    assert data["packages"][0]["status"] == "unchanged"
    assert data["packages"][0]["fetched"] is False
    commands = [r.getMessage() for r in caplog.records if r.getMessage().startswith("run: git")]
    network = [c for c in commands if any(w in c for w in ("ls-remote", "fetch", "push"))]
    assert len(network) == 2 and all("ls-remote" in c for c in network), commands


def test_the_cache_keeps_its_refs_packed_and_a_no_op_starts_no_pack(
        run_cli, site: Site, caplog: pytest.LogCaptureFixture) -> None:
    """A fetch leaves a loose file a ref; each reader of the cache (the next sync's check
    of it, the report) reads one packed-refs instead. A cache fetched before is packed
    by the next sync, once; a no-op then runs no git in the cache at all."""
    cache = site.workdir / "cache" / "demo.git"

    def loose() -> list[str]:
        return [str(p.relative_to(cache)) for p in (cache / "refs").rglob("*") if p.is_file()]

    sync(run_cli, site)
    assert loose() == []
    refs = Repo(cache, bare=True).refs()
    for ref, sha in refs.items():  # as a fetch of an older mirrorctl left them
        (cache / ref).parent.mkdir(parents=True, exist_ok=True)
        (cache / ref).write_text(f"{sha}\n")
    assert loose()
    _result, data = sync(run_cli, site)
    assert data["packages"][0]["status"] == "unchanged" and loose() == []
    assert Repo(cache, bare=True).refs() == refs
    with caplog.at_level(logging.DEBUG, logger="mirrorctl.core.git"):
        sync(run_cli, site)
    commands = [r.getMessage() for r in caplog.records if r.getMessage().startswith("run: git")]
    assert not any("pack-refs" in c for c in commands), commands
    site.upstream.commit("third")
    site.upstream.tag("v1.2.0", annotated=True)
    sync(run_cli, site)
    assert loose() == [] and "refs/tags/v1.2.0" in Repo(cache, bare=True).refs()


def test_new_tag_and_moved_branch_are_pushed(run_cli, site: Site) -> None:
    sync(run_cli, site)
    site.upstream.commit("third")
    site.upstream.tag("v1.2.0", annotated=True)
    _result, data = sync(run_cli, site)
    refs = refs_of(data)
    assert refs["refs/tags/v1.2.0"]["action"] == "create"
    assert refs["refs/heads/main"]["action"] == "update"
    assert refs["refs/heads/main"]["result"] == "pushed"
    assert site.mirror.rev("refs/tags/v1.2.0") == site.upstream.rev("refs/tags/v1.2.0")
    assert site.mirror.rev("refs/heads/main") == site.upstream.head()


def test_moved_tag_is_reported_not_followed_without_force_tags(run_cli, site: Site) -> None:
    sync(run_cli, site)
    old = site.mirror.rev("refs/tags/v1.0.0")
    site.upstream.commit("retagged release")
    site.upstream.tag("v1.0.0", force=True)
    _result, data = sync(run_cli, site)
    tag = refs_of(data)["refs/tags/v1.0.0"]
    assert (tag["action"], tag["reason"], tag["needs_human"]) == ("skip", "tag-moved", True)
    assert site.mirror.rev("refs/tags/v1.0.0") == old
    # Reported again every night until a person decides, and then followed on request.
    _, again = sync(run_cli, site)
    assert refs_of(again)["refs/tags/v1.0.0"]["reason"] == "tag-moved"
    _, forced = sync(run_cli, site, "--force-tags")
    assert refs_of(forced)["refs/tags/v1.0.0"]["action"] == "force"
    assert site.mirror.rev("refs/tags/v1.0.0") == site.upstream.rev("refs/tags/v1.0.0")


def test_force_pushed_upstream_branch_is_followed(run_cli, site: Site) -> None:
    sync(run_cli, site)
    site.upstream.git("reset", "--quiet", "--hard", "HEAD~1")
    rewritten = site.upstream.commit("rewritten history")
    _result, data = sync(run_cli, site)
    main = refs_of(data)["refs/heads/main"]
    assert (main["action"], main["reason"], main["result"]) == (
        "force", "upstream-force-push", "pushed")
    assert site.mirror.rev("refs/heads/main") == rewritten


def test_mirror_branch_with_its_own_commits_is_never_clobbered(run_cli, site: Site,
                                                               tmp_path: Path) -> None:
    sync(run_cli, site)
    # Someone commits straight to the mirror's main; then upstream rewrites main.
    clone = Repo(tmp_path / "clone")
    clone.git("fetch", "--quiet", str(site.mirror.path), "refs/heads/main")
    clone.git("checkout", "--quiet", "FETCH_HEAD")
    clone.commit("made in the mirror")
    clone.git("push", "--quiet", str(site.mirror.path), "HEAD:refs/heads/main")
    mirror_main = site.mirror.rev("refs/heads/main")
    site.upstream.git("reset", "--quiet", "--hard", "HEAD~1")
    site.upstream.commit("rewritten")
    _, data = sync(run_cli, site)
    main = refs_of(data)["refs/heads/main"]
    assert (main["action"], main["reason"], main["needs_human"]) == ("skip", "diverged", True)
    assert site.mirror.rev("refs/heads/main") == mirror_main


def test_protected_refs_are_never_touched(run_cli, site: Site) -> None:
    # Upstream grows a branch whose name falls under the protected riscv64/* glob.
    site.upstream.branch("riscv64/1.1.0", "HEAD~1")
    write_config(site.config, {"demo": {
        "upstream": str(site.upstream.path), "mirror": str(site.mirror.path),
        "branches": ["main", "riscv64/*"]}})
    riscv = site.mirror.rev(RISCV)
    _, data = sync(run_cli, site)
    ref = refs_of(data)[RISCV]
    assert (ref["action"], ref["reason"]) == ("skip", "protected")
    assert site.mirror.rev(RISCV) == riscv


def test_deleted_upstream_branch_stays_unless_prune_and_only_if_ours(run_cli, site: Site) -> None:
    site.mirror.git("branch", "maintenance/mirror-only", "refs/heads/riscv64/1.1.0")
    sync(run_cli, site)
    site.upstream.git("branch", "-D", "maintenance/1.0.x")
    _, data = sync(run_cli, site)
    gone = refs_of(data)["refs/heads/maintenance/1.0.x"]
    assert (gone["action"], gone["reason"]) == ("skip", "deleted-upstream")
    assert "refs/heads/maintenance/1.0.x" in site.mirror.refs()
    _, pruned = sync(run_cli, site, "--prune")
    assert refs_of(pruned)["refs/heads/maintenance/1.0.x"]["action"] == "delete"
    mirror = site.mirror.refs()
    assert "refs/heads/maintenance/1.0.x" not in mirror
    # A branch mirrorctl never pushed survives --prune, and so does riscv64/*.
    assert "refs/heads/maintenance/mirror-only" in mirror and RISCV in mirror


def test_dry_run_changes_no_mirror(run_cli, site: Site) -> None:
    before = site.mirror.refs()
    result, data = sync(run_cli, site, "--dry-run")
    assert result.code == 0
    assert data["packages"][0]["status"] == "planned"
    assert {r["result"] for r in refs_of(data).values()} == {"planned"}
    assert site.mirror.refs() == before


def test_a_dry_run_does_not_make_a_followable_force_push_look_diverged(run_cli,
                                                                       site: Site) -> None:
    # A mirror filled before mirrorctl: its main is upstream's, not pushed by mirrorctl.
    site.upstream.git("push", "--quiet", str(site.mirror.path), "refs/heads/main",
                      "refs/heads/maintenance/1.0.x", "refs/tags/*:refs/tags/*")
    assert sync(run_cli, site)[1]["packages"][0]["status"] == "unchanged"
    site.upstream.git("reset", "--quiet", "--hard", "HEAD~1")
    rewritten = site.upstream.commit("rewritten history")
    _, planned = sync(run_cli, site, "--dry-run")
    assert refs_of(planned)["refs/heads/main"]["action"] == "force"
    _, data = sync(run_cli, site)
    assert refs_of(data)["refs/heads/main"]["action"] == "force"
    assert site.mirror.rev("refs/heads/main") == rewritten


def test_rejected_ref_is_reported_and_the_others_still_go(run_cli, site: Site) -> None:
    # A server-side hook refusing one ref, as GitLab refuses a force-push to a protected branch.
    hook = site.mirror.path / "hooks" / "update"
    hook.write_text('#!/bin/sh\ncase "$1" in refs/tags/v1.0.0) echo "protected tag" >&2; '
                    'exit 1;; esac\nexit 0\n')
    hook.chmod(0o755)
    result, data = sync(run_cli, site)
    refs = refs_of(data)
    assert result.code == 0
    assert refs["refs/tags/v1.0.0"]["result"] == "rejected"
    assert refs["refs/tags/v1.0.0"]["needs_human"] is True
    assert refs["refs/heads/main"]["result"] == "pushed"
    assert data["packages"][0]["status"] == "updated"
    assert "refs/tags/v1.0.0" not in site.mirror.refs()


def test_failing_package_does_not_stop_the_others(run_cli, site: Site, tmp_path: Path) -> None:
    other_up = make_upstream(tmp_path / "other-up")
    other_mirror = make_mirror(tmp_path / "other.git")
    write_config(site.config, {
        "broken": {"upstream": str(tmp_path / "does-not-exist"), "mirror": str(tmp_path / "b.git")},
        "demo": {"upstream": str(site.upstream.path), "mirror": str(site.mirror.path)},
        "other": {"upstream": str(other_up.path), "mirror": str(other_mirror.path)},
    })
    result, data = sync(run_cli, site, "--jobs", "2")
    statuses = {p["name"]: p["status"] for p in data["packages"]}
    assert statuses == {"broken": "failed", "demo": "updated", "other": "updated"}
    broken = data["packages"][0]
    assert "reading upstream refs" in broken["error"]
    assert result.code == 1
    assert other_mirror.refs() == mirrored(other_up)


def test_table_output_is_readable(run_cli, site: Site) -> None:
    result = run_cli(*site.args("sync"))
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0].split() == ["demo", "updated", "4", "created"]
    assert any(line.split()[:2] == ["create", "refs/tags/v1.1.0"] for line in lines)
    assert lines[-1] == "1 package: 1 updated"


def test_tag_deleted_in_mirror_is_recreated(run_cli, site: Site) -> None:
    sync(run_cli, site)
    site.mirror.git("tag", "-d", "v1.0.0")
    _, data = sync(run_cli, site)
    assert refs_of(data)["refs/tags/v1.0.0"]["action"] == "create"
    assert site.mirror.rev("refs/tags/v1.0.0") == site.upstream.rev("refs/tags/v1.0.0")


def test_interrupted_push_is_settled_on_the_next_run(run_cli, site: Site) -> None:
    """A run killed after its push but before recording it still learns what it pushed."""
    sync(run_cli, site)
    state_path = site.workdir / "state" / "demo.json"
    record = json.loads(state_path.read_text())
    state = record["facts"]["sync"]["value"]
    # Simulate the crash window: the push happened, the record did not.
    state["pending"] = {"refs/heads/maintenance/1.0.x": state["pushed"].pop(
        "refs/heads/maintenance/1.0.x")}
    state_path.write_text(json.dumps(record))
    sync(run_cli, site)
    site.upstream.git("branch", "-D", "maintenance/1.0.x")
    _, data = sync(run_cli, site, "--prune")
    assert refs_of(data)["refs/heads/maintenance/1.0.x"]["action"] == "delete"
