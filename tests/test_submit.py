"""`mirrorctl upstream submit`: duplicates first, then the issue, then the header."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from testbed.fakeforge import FakeForge, fake_forge
from tests.conftest import Site
from tests.test_drafts import numpy_drafts  # noqa: F401 - the fixture

ISSUE = "0002-TST-skip-nan-sign-test"


@pytest.fixture
def forge(numpy_drafts: Site, monkeypatch: pytest.MonkeyPatch):  # noqa: F811
    with fake_forge() as running:
        monkeypatch.setenv("MIRRORCTL_GITHUB_TOKEN", running.github_token)
        monkeypatch.setenv("MIRRORCTL_GITLAB_TOKEN", running.gitlab_token)
        numpy_drafts.config.write_text(numpy_drafts.config.read_text().replace(
            "defaults:\n", f"defaults:\n  forge_apis:\n    github.com: {running.url}\n"
                           f"    gitlab.example.org: {running.url}\n"))
        yield running


def drafted(run_cli, site: Site, forge: str = "github", host: str = "github.com",
            project: str = "numpy/numpy") -> Path:
    """The issue draft, as a maintainer leaves it: forge, host and project filled in."""
    assert run_cli(*site.args("sync")).code == 0
    assert run_cli(*site.args("upstream", "draft", "numpy")).code == 0
    return set_forge(site.workdir / "drafts" / "numpy" / f"{ISSUE}.md", forge, host, project)


def set_forge(path: Path, forge: str, host: str, project: str) -> Path:
    """Fill in where the draft goes, as a maintainer does for a local upstream."""
    _, front, body = path.read_text().split("---\n", 2)
    data = yaml.safe_load(front)
    data.update(forge=forge, host=host, project=project)
    path.write_text(f"---\n{yaml.safe_dump(data, sort_keys=False)}---\n{body}")
    return path


def submit(run_cli, site: Site, draft: Path, *args: str):  # type: ignore[no-untyped-def]
    result = run_cli(*site.args("upstream", "submit", str(draft), "--format", "json", *args))
    return result, (json.loads(result.out) if result.out.startswith("{") else None)


def patch_text(site: Site) -> str:
    return (site.root / "patchsets" / "numpy" / "2.2.4" / f"{ISSUE}.patch").read_text()


def test_submit_opens_the_issue_and_rewrites_the_header(run_cli, numpy_drafts: Site,  # noqa: F811
                                                        forge: FakeForge) -> None:
    draft = drafted(run_cli, numpy_drafts)
    result, done = submit(run_cli, numpy_drafts, draft)
    assert result.code == 0, result.err
    assert done["status"] == "submitted"
    assert done["url"] == "https://github.com/numpy/numpy/issues/100"
    [(project, body)] = forge.created
    assert project == "numpy/numpy"
    assert body["title"] == "BUG: skip NaN sign test on riscv64"
    assert body["labels"] == ["00 - Bug"] and "canonical NaN" in body["body"]
    assert forge.requests.index("/search/issues") < forge.requests.index(
        "POST /repos/numpy/numpy/issues")  # duplicates are looked for first
    assert "Upstream-Status: Issue [https://github.com/numpy/numpy/issues/100]" in \
        patch_text(numpy_drafts)
    assert run_cli(*numpy_drafts.args("validate")).code == 0
    again, _ = submit(run_cli, numpy_drafts, draft)  # its patch is no longer a candidate
    assert again.code == 2 and "already 'Upstream-Status: Issue [" in again.err
    assert len(forge.created) == 1


def test_a_likely_duplicate_stops_the_submission(run_cli, numpy_drafts: Site,  # noqa: F811
                                                 forge: FakeForge) -> None:
    forge.open_items["numpy/numpy"] = [
        {"html_url": "https://github.com/numpy/numpy/issues/25280",
         "title": "BUG: NaN sign lost on riscv64", "body": "numpy/core/tests/test_a.py fails"},
        {"html_url": "https://github.com/numpy/numpy/issues/9", "title": "riscv64 CI",
         "body": "runners"}]
    draft = drafted(run_cli, numpy_drafts)
    before = patch_text(numpy_drafts)
    result, done = submit(run_cli, numpy_drafts, draft)
    assert result.code == 1 and done["status"] == "refused-duplicate"
    assert [d["url"] for d in done["duplicates"]] == [
        "https://github.com/numpy/numpy/issues/25280"]
    assert forge.created == [] and patch_text(numpy_drafts) == before
    table = run_cli(*numpy_drafts.args("upstream", "submit", str(draft)))
    assert "run again with --force" in table.out
    dry, done = submit(run_cli, numpy_drafts, draft, "--force", "--dry-run")
    assert (dry.code, done["status"]) == (0, "would-submit")
    assert forge.created == [] and patch_text(numpy_drafts) == before
    forced, done = submit(run_cli, numpy_drafts, draft, "--force")
    assert forced.code == 0 and done["status"] == "submitted"


def test_submit_to_gitlab(run_cli, numpy_drafts: Site, forge: FakeForge) -> None:  # noqa: F811
    forge.open_items["scipy/scipy"] = [{"iid": 3, "title": "unrelated riscv64 build",
                                        "description": "x", "state": "opened",
                                        "web_url": "https://gitlab.example.org/x/-/issues/3"}]
    draft = drafted(run_cli, numpy_drafts, "gitlab", "gitlab.example.org", "scipy/scipy")
    result, done = submit(run_cli, numpy_drafts, draft)
    assert result.code == 0, result.err
    assert done["url"] == "https://gitlab.example.org/scipy/scipy/-/issues/100"
    assert forge.created[0][1]["labels"] == "00 - Bug"
    assert "/api/v4/projects/scipy%2Fscipy/merge_requests" in forge.requests


def test_refusals(run_cli, numpy_drafts: Site, forge: FakeForge, tmp_path: Path,  # noqa: F811
                  monkeypatch: pytest.MonkeyPatch) -> None:
    draft = drafted(run_cli, numpy_drafts)
    mr = numpy_drafts.workdir / "drafts" / "numpy" / "0001-add-riscv64-to-the-wheel-matrix.md"
    result, _ = submit(run_cli, numpy_drafts, mr)  # as written: no forge host for a local path
    assert result.code == 2 and "the front matter lacks host" in result.err
    junk = tmp_path / "junk.md"
    junk.write_text("just notes\n")
    result, _ = submit(run_cli, numpy_drafts, junk)
    assert result.code == 2 and "not a mirrorctl draft" in result.err
    monkeypatch.setenv("MIRRORCTL_GITHUB_TOKEN", "ghp-wrong-777777")
    result, _ = submit(run_cli, numpy_drafts, draft)
    assert result.code == 1
    assert "searching: authentication failed: set MIRRORCTL_GITHUB_TOKEN" in result.err
    assert "ghp-wrong-777777" not in result.out + result.err and forge.created == []


def mr_draft(run_cli, site: Site, forge_name: str, host: str, project: str,
             tmp_path: Path) -> tuple[Path, Path]:
    """The MR draft, and the fork (a local bare repository) that mirrors.yaml names."""
    from tests.gitrepos import make_mirror

    fork = make_mirror(tmp_path / "forks" / f"{project.rsplit('/', 1)[-1]}.git")
    site.config.write_text(site.config.read_text().replace(
        "defaults:\n", f"defaults:\n  forks:\n    {host}:\n      namespace: rise-riscv64\n"
                       f"      git_url: '{tmp_path}/forks/{{repo}}.git'\n"))
    drafted(run_cli, site, forge_name, host, project)
    path = site.workdir / "drafts" / "numpy" / "0001-add-riscv64-to-the-wheel-matrix.md"
    return set_forge(path, forge_name, host, project), fork.path


def test_a_merge_request_goes_through_the_fork(run_cli, numpy_drafts: Site,  # noqa: F811
                                               forge: FakeForge, tmp_path: Path) -> None:
    from tests.gitrepos import Repo

    draft, fork = mr_draft(run_cli, numpy_drafts, "github", "github.com", "numpy/numpy",
                           tmp_path)
    result, done = submit(run_cli, numpy_drafts, draft)
    assert result.code == 0, result.err
    assert done["url"] == "https://github.com/numpy/numpy/pull/100"
    [(project, body)] = forge.created
    assert (project, body["head"], body["base"], body["draft"]) == (
        "numpy/numpy", "rise-riscv64:riscv64/0001-add-riscv64-to-the-wheel-matrix", "main",
        True)
    branch = "refs/heads/riscv64/0001-add-riscv64-to-the-wheel-matrix"
    pushed = Repo(fork)
    assert pushed.rev(f"{branch}^") == numpy_drafts.upstream.rev("main")
    assert "archs = ['riscv64']" in pushed.git("show", f"{branch}:pyproject.toml")
    text = (numpy_drafts.root / "patchsets" / "numpy" / "2.2.4" /
            "0001-add-riscv64-to-the-wheel-matrix.patch").read_text()
    assert "Upstream-Status: Submitted [https://github.com/numpy/numpy/pull/100]" in text


def test_a_merge_request_on_gitlab(run_cli, numpy_drafts: Site, forge: FakeForge,  # noqa: F811
                                   tmp_path: Path) -> None:
    draft, _ = mr_draft(run_cli, numpy_drafts, "gitlab", "gitlab.example.org", "scipy/scipy",
                        tmp_path)
    result, done = submit(run_cli, numpy_drafts, draft)
    assert result.code == 0, result.err
    assert done["url"] == "https://gitlab.example.org/scipy/scipy/-/merge_requests/100"
    [(project, body)] = forge.created
    assert project == "rise-riscv64/scipy"  # opened from the fork, into the upstream
    assert body["target_project_id"] == 42 and body["title"].startswith("Draft: BLD: ")


def test_a_missing_fork_says_so(run_cli, numpy_drafts: Site, forge: FakeForge,  # noqa: F811
                                tmp_path: Path) -> None:
    import shutil

    draft, fork = mr_draft(run_cli, numpy_drafts, "github", "github.com", "numpy/numpy",
                           tmp_path)
    shutil.rmtree(fork)
    result, _ = submit(run_cli, numpy_drafts, draft)
    assert result.code == 1
    assert "cannot read the fork" in result.err and "create rise-riscv64's fork" in result.err
    assert forge.created == []


def test_a_merge_request_that_no_longer_applies(run_cli, numpy_drafts: Site,  # noqa: F811
                                                forge: FakeForge, tmp_path: Path) -> None:
    numpy_drafts.upstream.commit("upstream reworked it",
                                 {"pyproject.toml": "[tool.cibuildwheel]\narchs = ['auto']\n"})
    draft, fork = mr_draft(run_cli, numpy_drafts, "github", "github.com", "numpy/numpy",
                           tmp_path)
    result, _ = submit(run_cli, numpy_drafts, draft)
    assert result.code == 1
    assert "does not apply to upstream's main (conflicts in pyproject.toml)" in result.err
    assert forge.created == []
    from tests.gitrepos import Repo
    assert Repo(fork).refs() == {}
