"""`mirrorctl patches export`: a mirror branch becomes a stable, whole queue folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Site
from tests.gitrepos import Repo
from tests.test_patches import STATUS

BRANCH = "riscv64/1.1.0"


@pytest.fixture
def branch_site(run_cli, site: Site, tmp_path: Path) -> Site:
    """The mirror's riscv64/1.1.0 branch: two commits on top of v1.1.0, as maintainers push."""
    work = Repo(tmp_path / "maintainer")
    work.git("fetch", "--quiet", str(site.upstream.path), "refs/tags/v1.1.0")
    work.git("checkout", "--quiet", "-b", "work", "FETCH_HEAD")
    work.commit(f"BLD: riscv64 wheels\n\n{STATUS}", {"setup.py": "riscv64 = True\n"})
    work.commit("TST: canonical NaN\n\nUpstream-Status: Submitted [https://example.org/pr/1]",
                {"tests/test_nan.py": "skip = True\n"})
    work.git("push", "--quiet", "--force", str(site.mirror.path), f"HEAD:refs/heads/{BRANCH}")
    assert run_cli(*site.args("sync")).code == 0
    return site


def export(run_cli, site: Site, *args: str):  # type: ignore[no-untyped-def]
    result = run_cli(*site.args("patches", "export", "demo", "--format", "json", *args))
    return result, (json.loads(result.out) if result.out.startswith("{") else None)


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


def test_export_writes_a_stable_queue(run_cli, branch_site: Site) -> None:
    result, data = export(run_cli, branch_site, "--base", "v1.1.0", "--from-branch", BRANCH)
    assert result.code == 0, result.err
    folder = branch_site.root / "patchsets" / "demo" / "1.1.0"
    assert data["version"] == "1.1.0" and data["changed"] is True
    assert data["patches"] == ["0001-BLD-riscv64-wheels.patch", "0002-TST-canonical-NaN.patch"]
    text = (folder / data["patches"][1]).read_text()
    assert text.startswith("From 0000000000000000000000000000000000000000 ")
    assert "Subject: [PATCH] TST: canonical NaN" in text
    assert "Upstream-Status: Submitted [https://example.org/pr/1]" in text
    assert "\n-- \n" not in text and " 1 file changed" not in text  # no signature, no stat
    before = snapshot(folder)
    result, data = export(run_cli, branch_site, "--base", "1.1.0", "--from-branch",
                          f"refs/heads/{BRANCH}")
    assert result.code == 0 and data["changed"] is False
    assert snapshot(folder) == before  # not a byte, not even a timestamp
    # The exported queue is a valid queue: it applies and gives the branch's tree.
    apply = run_cli(*branch_site.args("patches", "apply", "demo", "--format", "json"))
    assert apply.code == 0, apply.err
    cache = Repo(branch_site.workdir / "cache" / "demo.git")
    assert cache.rev("refs/heads/riscv64/1.1.0^{tree}") == branch_site.mirror.rev(
        f"refs/heads/{BRANCH}^{{tree}}")


def test_export_replaces_the_folder_whole(run_cli, branch_site: Site) -> None:
    folder = branch_site.root / "patchsets" / "demo" / "1.1.0"
    folder.mkdir(parents=True)
    (folder / "0009-old-patch.patch").write_text("stale")
    # A queue that differs is never replaced without --force, and stays as it was.
    refused, _ = export(run_cli, branch_site, "--base", "v1.1.0", "--from-branch", BRANCH)
    assert refused.code == 2 and "pass --force to replace it" in refused.err
    assert "0009-old-patch.patch" in refused.err
    assert [p.name for p in folder.iterdir()] == ["0009-old-patch.patch"]
    result, data = export(run_cli, branch_site, "--base", "v1.1.0", "--from-branch", BRANCH,
                          "--force")
    assert result.code == 0 and data["changed"] is True
    assert sorted(p.name for p in folder.iterdir()) == data["patches"]
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]


def test_a_commit_without_upstream_status_writes_nothing(run_cli, branch_site: Site,
                                                        tmp_path: Path) -> None:
    work = Repo(tmp_path / "maintainer")
    work.commit("quick hack", {"hack.txt": "x\n"})
    work.git("push", "--quiet", "--force", str(branch_site.mirror.path),
             f"HEAD:refs/heads/{BRANCH}")
    result, _ = export(run_cli, branch_site, "--base", "v1.1.0", "--from-branch", BRANCH)
    assert result.code == 2
    assert f"{BRANCH}: 0003-quick-hack.patch: no Upstream-Status: line" in result.err
    assert not (branch_site.root / "patchsets" / "demo").exists() or not any(
        (branch_site.root / "patchsets" / "demo").iterdir())


@pytest.mark.parametrize(("args", "message"), [
    (["--base", "v9.9.9", "--from-branch", BRANCH], "--base 'v9.9.9' is neither a tag"),
    (["--base", "v1.1.0", "--from-branch", "riscv64/nope"], "has no branch riscv64/nope"),
    (["--base", "v1.1.0", "--from-branch", "--upload-pack=x"], "is not a valid branch name"),
    # From an older release, upstream's own commits come along, and they have no status.
    (["--base", "v1.0.0", "--from-branch", BRANCH], "0001-second.patch: no Upstream-Status"),
    (["--base", "v1.1.0", "--from-branch", "main"], "has no commits since v1.1.0"),
])
def test_bad_bases_and_branches(run_cli, branch_site: Site, args: list[str],
                                message: str) -> None:
    result, _ = export(run_cli, branch_site, *args)
    assert result.code == 2 and message in result.err, result.err


def test_a_branch_that_does_not_start_at_the_base(run_cli, branch_site: Site,
                                                 tmp_path: Path) -> None:
    work = Repo(tmp_path / "maintainer")
    work.git("checkout", "--quiet", "--orphan", "unrelated")
    work.commit(f"unrelated\n\n{STATUS}", {"u.txt": "u\n"})
    work.git("push", "--quiet", str(branch_site.mirror.path), "HEAD:refs/heads/unrelated")
    result, _ = export(run_cli, branch_site, "--base", "v1.1.0", "--from-branch", "unrelated")
    assert result.code == 2 and "does not start from v1.1.0" in result.err


def test_a_dry_run_says_whether_the_folder_would_change_and_writes_nothing(
        run_cli, branch_site: Site) -> None:
    queues = branch_site.root / "patchsets" / "demo"
    before = sorted(p.relative_to(queues) for p in queues.rglob("*")) if queues.exists() \
        else None
    result, data = export(run_cli, branch_site, "--base", "v1.1.0", "--from-branch", BRANCH,
                          "--dry-run")
    assert result.code == 0 and data["dry_run"] and data["changed"] is True
    assert data["patches"] == ["0001-BLD-riscv64-wheels.patch", "0002-TST-canonical-NaN.patch"]
    after = sorted(p.relative_to(queues) for p in queues.rglob("*")) if queues.exists() \
        else None
    assert after == before and not (queues / "1.1.0").exists()
    table = run_cli(*branch_site.args("patches", "export", "demo", "--base", "v1.1.0",
                                      "--from-branch", BRANCH, "-n")).out
    assert "(would be written (a dry run))" in table
    assert export(run_cli, branch_site, "--base", "v1.1.0", "--from-branch", BRANCH)[1][
        "changed"] is True  # and the real export writes what it said
    result, data = export(run_cli, branch_site, "--base", "v1.1.0", "--from-branch", BRANCH,
                          "--dry-run")
    assert data["changed"] is False
