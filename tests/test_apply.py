"""`mirrorctl patches apply`: a queue replayed on its release tag, in the cache only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Site
from tests.gitrepos import Repo
from tests.test_patches import STATUS, make_queue, rewrite

BRANCH = "refs/heads/riscv64/1.1.0"


@pytest.fixture
def synced(run_cli, site: Site) -> Site:
    make_queue(site.upstream, site.root / "patchsets" / "demo" / "1.1.0", [
        (f"BLD: riscv64 wheels\n\n{STATUS}", {"setup.py": "riscv64 = True\n"}),
        (f"TST: canonical NaN\n\n{STATUS}", {"src/core.c": "int main(void) { return 1; }\n",
                                             "tests/test_nan.py": "skip = True\n"}),
    ])
    assert run_cli(*site.args("sync")).code == 0
    return site


def apply(run_cli, site: Site, *args: str):  # type: ignore[no-untyped-def]
    result = run_cli(*site.args("patches", "apply", "demo", "--format", "json", *args))
    return result, (json.loads(result.out) if result.out.startswith("{") else None)


def test_apply_makes_the_branch_in_the_cache_without_a_checkout(run_cli, synced: Site) -> None:
    result, data = apply(run_cli, synced)
    assert result.code == 0, result.err
    cache = Repo(synced.workdir / "cache" / "demo.git")
    assert cache.rev(BRANCH) == data["commit"]
    expected_tree = (synced.root / "patchsets" / "demo" / "1.1.0.tree").read_text()
    assert cache.rev(f"{BRANCH}^{{tree}}") == expected_tree
    assert cache.rev(f"{BRANCH}~2") == cache.rev("refs/tags/v1.1.0^{commit}")
    assert [p["subject"] for p in data["patches"]] == ["BLD: riscv64 wheels",
                                                       "TST: canonical NaN"]
    assert data["patches"][1]["files"] == ["src/core.c", "tests/test_nan.py"]
    assert cache.git("log", "-1", "--format=%an <%ae>|%s", BRANCH) == \
        "Test Builder <builder@example.invalid>|TST: canonical NaN"
    assert not (cache.path / "index").exists()  # a bare cache stays bare
    assert data["push"]["result"] == "not-pushed"


def test_applying_twice_gives_the_same_commits(run_cli, synced: Site) -> None:
    _, first = apply(run_cli, synced)
    _, second = apply(run_cli, synced)
    assert second["commit"] == first["commit"] and second["previous"] == first["commit"]


def test_push_creates_and_refuses_to_replace_without_force(run_cli, synced: Site) -> None:
    mirror_branch = synced.mirror.rev(BRANCH)  # the mirror's own riscv64 branch
    result, data = apply(run_cli, synced, "--push")
    assert result.code == 1 and data["push"]["result"] == "refused"
    assert "pass --force" in data["push"]["detail"]
    assert synced.mirror.rev(BRANCH) == mirror_branch
    result, data = apply(run_cli, synced, "--push", "--force")
    assert result.code == 0 and data["push"]["result"] == "updated"
    assert synced.mirror.rev(BRANCH) == data["commit"]
    result, data = apply(run_cli, synced, "--push")
    assert result.code == 0 and data["push"]["result"] == "unchanged"


def test_push_creates_a_missing_branch(run_cli, synced: Site) -> None:
    synced.mirror.git("update-ref", "-d", BRANCH)
    result, data = apply(run_cli, synced, "--push")
    assert (result.code, data["push"]["result"]) == (0, "created")
    assert synced.mirror.rev(BRANCH) == data["commit"]


def test_a_patch_that_does_not_apply_names_itself_and_writes_nothing(run_cli,
                                                                     synced: Site) -> None:
    queue = synced.root / "patchsets" / "demo" / "1.1.0"
    second = sorted(queue.glob("*.patch"))[1]
    rewrite(second, "-int main(void) { return 0; }", "-int main(void) { return 42; }")
    result, _ = apply(run_cli, synced)
    assert result.code == 1
    assert f"{second.name} does not apply to v1.1.0" in result.err
    cache = Repo(synced.workdir / "cache" / "demo.git")
    assert BRANCH not in cache.refs()


@pytest.mark.parametrize(("args", "message"), [
    (["--version", "1.0.0"], "no such patch queue directory"),
    (["--version", "nine"], "--version 'nine' is not a PEP 440 version"),
    (["--version", "../../../etc"], "is not a PEP 440 version"),
])
def test_missing_queue(run_cli, synced: Site, args: list[str], message: str) -> None:
    result, _ = apply(run_cli, synced, *args)
    assert result.code == 2 and message in result.err


def test_missing_tag_and_missing_cache_say_what_to_do(run_cli, synced: Site) -> None:
    (synced.root / "patchsets" / "demo" / "9.9.9").mkdir()
    for patch in (synced.root / "patchsets" / "demo" / "1.1.0").glob("*.patch"):
        (synced.root / "patchsets" / "demo" / "9.9.9" / patch.name).write_text(
            patch.read_text())
    result, _ = apply(run_cli, synced, "--version", "9.9.9")
    assert result.code == 2
    assert "tag v9.9.9 (version 9.9.9, tag_format v{version}) is not in the cache" in result.err
    result = run_cli("--config", str(synced.config), "--workdir", str(synced.root / "elsewhere"),
                     "patches", "apply", "demo")
    assert result.code == 2 and "run `mirrorctl sync demo` first" in result.err


def test_a_bad_queue_is_refused_before_any_git(run_cli, synced: Site) -> None:
    patch = sorted((synced.root / "patchsets" / "demo" / "1.1.0").glob("*.patch"))[0]
    rewrite(patch, "setup.py", "../setup.py")
    result, _ = apply(run_cli, synced)
    assert result.code == 2
    assert f"{patch}:8: ../setup.py: path leaves the source tree (..)" in result.err


def test_table_output(run_cli, synced: Site, tmp_path: Path) -> None:
    result = run_cli(*synced.args("patches", "apply", "demo"))
    assert result.code == 0
    first = result.out.splitlines()[0]
    assert first.startswith("demo 1.1.0: 2 patches applied on v1.1.0 -> riscv64/1.1.0 at ")
    assert first.endswith("(new)")
    assert "Pending" in result.out


def test_a_dry_run_moves_no_branch_and_says_what_the_push_would_do(run_cli,
                                                                  synced: Site) -> None:
    mirror_branch = synced.mirror.rev(BRANCH)
    cache = Repo(synced.workdir / "cache" / "demo.git")
    result, data = apply(run_cli, synced, "--push", "--dry-run")
    assert result.code == 1 and data["dry_run"] and data["push"]["result"] == "refused"
    assert "would be refused without --force" in data["push"]["detail"]
    assert BRANCH not in cache.refs() and synced.mirror.rev(BRANCH) == mirror_branch
    result, data = apply(run_cli, synced, "--push", "--force", "--dry-run")
    assert result.code == 0 and data["push"]["result"] == "not-pushed"
    assert data["push"]["detail"].startswith("a dry run: a push would update it from ")
    assert synced.mirror.rev(BRANCH) == mirror_branch
    table = run_cli(*synced.args("patches", "apply", "demo", "--dry-run")).out
    assert "a dry run: the branch is not moved, nothing pushed" in table
    # The real one after it makes the commits the dry run said.
    result, real = apply(run_cli, synced, "--push", "--force")
    assert result.code == 0 and real["commit"] == data["commit"]
