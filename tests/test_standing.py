"""`mirrorctl upstream refresh`: where each patch stands on GitHub and GitLab."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mirrorctl.upstream.forges.forge import parse_request_url
from mirrorctl.upstream.refresh import new_status
from testbed.fakeforge import FakeForge, fake_forge
from tests.conftest import Site
from tests.gitrepos import Repo, make_mirror, write_config
from tests.test_rebase import patch_series

GH = "https://github.com/numpy/numpy"
GL = "https://gitlab.example.org/scipy/scipy"


@pytest.fixture
def forge() -> FakeForge:
    with fake_forge() as running:
        running.github.update({
            ("numpy/numpy", "pulls", 1): {"state": "closed", "merged": True,
                                          "title": "BLD: riscv64 wheels"},
            ("numpy/numpy", "pulls", 2): {"state": "closed", "merged": False,
                                          "title": "TST: skip on riscv64"},
            ("numpy/numpy", "issues", 3): {"state": "open", "title": "NaN sign on riscv64"},
        })
        running.gitlab.update({
            ("scipy/scipy", "merge_requests", 7): {"iid": 7, "state": "opened",
                                                   "title": "riscv64: flags"},
        })
        yield running


@pytest.fixture
def queue_site(tmp_path: Path, forge: FakeForge, monkeypatch: pytest.MonkeyPatch) -> Site:
    up = Repo(tmp_path / "numpy")
    up.commit("release", {"a.c": "a\n", "b.c": "b\n", "c.c": "c\n", "d.c": "d\n", "e.c": "e\n"})
    up.tag("v1.0", annotated=True)
    statuses = [f"Submitted [{GH}/pull/1]", f"Submitted [{GH}/pull/2]", f"Issue [{GH}/issues/3]",
                f"Submitted [{GL}/-/merge_requests/7]", "Submitted [upstream mailing list]"]
    patch_series(up, "v1.0", tmp_path / "patchsets" / "numpy" / "1.0", [
        (f"000{n}-p{n}.patch", f"patch {n}\n\nUpstream-Status: {status}",
         {f"{'abcde'[n - 1]}.c": f"{n}\n"}) for n, status in enumerate(statuses, 1)])
    config = write_config(tmp_path / "mirrors.yaml", {"numpy": {
        "upstream": str(up.path), "mirror": str(make_mirror(tmp_path / "m.git").path),
        "version": "1.0"}},
        forge_apis={"github.com": forge.url, "gitlab.example.org": forge.url})
    monkeypatch.setenv("MIRRORCTL_GITHUB_TOKEN", forge.github_token)
    monkeypatch.setenv("MIRRORCTL_GITLAB_TOKEN", forge.gitlab_token)
    return Site(tmp_path, up, make_mirror(tmp_path / "u.git"), config, tmp_path / "work")


def refresh(run_cli, site: Site, *args: str):  # type: ignore[no-untyped-def]
    result = run_cli(*site.args("upstream", "refresh", "--format", "json", *args))
    data = json.loads(result.out)["patches"] if result.out.startswith("{") else None
    return result, {p["patch"]: p for p in data} if data else None


def queue_bytes(site: Site) -> dict[str, bytes]:
    folder = site.root / "patchsets" / "numpy" / "1.0"
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_states_from_both_forges_and_nothing_written_by_default(
        run_cli, queue_site: Site, forge: FakeForge) -> None:
    before = queue_bytes(queue_site)
    result, found = refresh(run_cli, queue_site)
    assert result.code == 0, result.err
    assert {name: p["verdict"] for name, p in found.items()} == {
        "0001-p1.patch": "accepted", "0002-p2.patch": "refused", "0003-p3.patch": "open",
        "0004-p4.patch": "open", "0005-p5.patch": "unknown"}
    assert found["0001-p1.patch"]["new_status"] == f"Backport [{GH}/pull/1]"
    assert found["0002-p2.patch"]["new_status"] == \
        f"Inappropriate [declined upstream: {GH}/pull/2]"
    assert found["0004-p4.patch"]["detail"] == "riscv64: flags"  # through python-gitlab
    assert not any(p["written"] for p in found.values())
    assert queue_bytes(queue_site) == before
    assert "/api/v4/projects/scipy%2Fscipy/merge_requests/7" in forge.requests


def test_write_rewrites_only_the_status_lines(run_cli, queue_site: Site) -> None:
    before = queue_bytes(queue_site)
    result, found = refresh(run_cli, queue_site, "--write")
    assert result.code == 0
    assert found["0001-p1.patch"]["written"] and found["0002-p2.patch"]["written"]
    after = queue_bytes(queue_site)
    assert after["0003-p3.patch"] == before["0003-p3.patch"]
    assert after["0001-p1.patch"] == before["0001-p1.patch"].replace(
        f"Submitted [{GH}/pull/1]".encode(), f"Backport [{GH}/pull/1]".encode())
    assert b"Upstream-Status: Inappropriate [declined upstream: " in after["0002-p2.patch"]
    assert run_cli(*queue_site.args("validate")).code == 0


def test_yocto_vocabulary_says_denied(run_cli, queue_site: Site) -> None:
    text = queue_site.config.read_text().replace("defaults:\n",
                                                  "defaults:\n  status_vocabulary: yocto\n")
    queue_site.config.write_text(text)
    _, found = refresh(run_cli, queue_site)
    assert found["0002-p2.patch"]["new_status"] == f"Denied [{GH}/pull/2]"


def test_forge_errors_are_clear_and_tokens_stay_hidden(
        run_cli, queue_site: Site, forge: FakeForge, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIRRORCTL_GITHUB_TOKEN", "gh-wrong-token-999999")
    result, found = refresh(run_cli, queue_site)
    assert result.code == 1
    assert found["0001-p1.patch"]["verdict"] == "error"
    assert found["0001-p1.patch"]["detail"] == (
        "authentication failed: set MIRRORCTL_GITHUB_TOKEN to a token that can read "
        "numpy/numpy")
    assert found["0004-p4.patch"]["verdict"] == "open"  # GitLab still answered
    assert "gh-wrong-token-999999" not in result.out + result.err
    monkeypatch.setenv("MIRRORCTL_GITLAB_TOKEN", "glpat-wrong-token-999999")
    result, found = refresh(run_cli, queue_site)
    assert found["0004-p4.patch"]["detail"] == (
        "authentication failed: set MIRRORCTL_GITLAB_TOKEN to a token that can read "
        "scipy/scipy")
    assert "glpat-wrong-token-999999" not in result.out + result.err


def test_server_errors_are_retried(run_cli, queue_site: Site, forge: FakeForge) -> None:
    text = queue_site.config.read_text().replace("retries: 0", "retries: 2")
    queue_site.config.write_text(text)
    forge.failures[:] = [503, 502]
    result, found = refresh(run_cli, queue_site, "numpy")
    assert result.code == 0 and found["0001-p1.patch"]["verdict"] == "accepted"


def test_request_urls_and_vocabulary_rules() -> None:
    ref = parse_request_url("https://github.com/scipy/scipy/pull/25280")
    assert ref is not None and (ref.forge, ref.project, ref.kind, ref.number) == (
        "github", "scipy/scipy", "mr", 25280)
    lab = parse_request_url("https://gitlab.com/a/b/c/-/issues/4")
    assert lab is not None and (lab.forge, lab.project, lab.kind) == ("gitlab", "a/b/c", "issue")
    assert parse_request_url("mailing list") is None
    assert new_status("open", "u", "builders") is None
    assert new_status("refused", "u", "builders") == "Inappropriate [declined upstream: u]"
    assert new_status("refused", "u", "yocto") == "Denied [u]"


@pytest.mark.parametrize(("status", "message"), [
    (403, "forbidden: the token cannot read numpy/numpy, or the rate limit is spent"),
    (404, "not found: https://github.com/numpy/numpy/pull/1 (private, moved or deleted?)"),
    (409, "conflict reported by the forge for https://github.com/numpy/numpy/pull/1"),
    (422, "the forge refused the request for https://github.com/numpy/numpy/pull/1"),
    (429, "rate limited by the forge, still after retries; try again later"),
    (502, "github server error 502 for https://github.com/numpy/numpy/pull/1, still after "
          "retries"),
])
def test_each_forge_answer_has_one_clear_message(run_cli, queue_site: Site, forge: FakeForge,
                                                 status: int, message: str) -> None:
    forge.failures[:] = [status]  # retries: 0 in the test config, so it is final
    result, found = refresh(run_cli, queue_site)
    assert result.code == 1
    assert found["0001-p1.patch"] == {**found["0001-p1.patch"], "verdict": "error",
                                      "detail": message}
    assert found["0002-p2.patch"]["verdict"] == "refused"  # the next patch still got its answer


def test_python_gitlab_config_file_provides_the_token(run_cli, queue_site: Site,
                                                      forge: FakeForge, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MIRRORCTL_GITLAB_TOKEN")
    config = tmp_path / "python-gitlab.cfg"
    config.write_text(f"[global]\ndefault = rise\n\n[rise]\nurl = {forge.url}\n"
                      f"private_token = {forge.gitlab_token}\n")
    monkeypatch.setenv("PYTHON_GITLAB_CFG", str(config))
    result, found = refresh(run_cli, queue_site)
    assert found["0004-p4.patch"]["verdict"] == "open", found["0004-p4.patch"]
    assert forge.gitlab_token not in result.out + result.err
    monkeypatch.setenv("PYTHON_GITLAB_CFG", str(tmp_path / "missing.cfg"))
    _, found = refresh(run_cli, queue_site)
    assert found["0004-p4.patch"]["verdict"] == "error"  # no token at all: 401
