"""The git runner: sealed environment, allowed transports, timeouts, leases, retries."""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mirrorctl.core.config import Package
from mirrorctl.core.errors import GitError, GitTimeout
from mirrorctl.core.git import GitRunner, GitSettings, is_transient
from mirrorctl.core.redact import Redactor
from mirrorctl.core.repository import LeasedUpdate, Repository
from mirrorctl.core.tagformat import TagFormat
from mirrorctl.sync.run import SyncOptions, sync_packages
from testbed.httpserver import Recorded, http_server
from tests.gitrepos import git, make_mirror, make_upstream

STAMP = "20260101T000000.000000Z"  # when the syncs of these tests ran


def runner(**overrides: object) -> GitRunner:
    settings = {"base_env": dict(os.environ), "allowed_protocols": ("file",), "timeout": 60.0,
                **overrides}
    return GitRunner(GitSettings(**settings))  # type: ignore[arg-type]


def test_user_config_and_git_variables_do_not_leak_in(tmp_path: Path, sealed_git: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    upstream = make_upstream(tmp_path / "up")
    v1, main = upstream.rev("v1.0.0"), upstream.rev("main")
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    marker = tmp_path / "hook-ran"
    hook = hooks / "reference-transaction"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
    hook.chmod(0o755)
    # A user whose global config redirects URLs and runs hooks, and a stray GIT_DIR.
    with open(sealed_git / ".gitconfig", "a") as config:
        config.write(f'[core]\n\thooksPath = {hooks}\n[url "/nonexistent/"]\n'
                     f"\tinsteadOf = {upstream.path}\n")
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere"))
    git = runner(base_env=dict(os.environ))
    assert git.ls_remote(str(upstream.path))["refs/tags/v1.0.0"] == v1
    cache = Repository.open_or_init_bare(tmp_path / "cache.git", git)
    cache.fetch(str(upstream.path), ["refs/heads/main"])
    assert cache.refs() == {"refs/heads/main": main}
    assert not marker.exists()


def test_transports_outside_the_allowed_list_are_refused_by_git(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    with pytest.raises(GitError) as info:
        runner().ls_remote(f"ext::sh -c touch% {marker}")
    assert "not allowed" in info.value.stderr
    assert not marker.exists()
    assert not is_transient(info.value)


@pytest.mark.parametrize(("stderr", "transient"), [
    ("fatal: the remote end hung up unexpectedly", True),
    ("error: RPC failed; HTTP 502 curl 22 The requested URL returned error: 502", True),
    ("remote: fatal: bad object 1f2e\nremote: aborting due to possible repository corruption "
     "on the remote side.\nfatal: the remote end hung up unexpectedly", False),
    ("remote: Repository not found.\nfatal: repository 'https://x/y.git/' not found", False),
    ("fatal: '/srv/gone.git' does not appear to be a git repository", False),
])
def test_only_what_a_retry_can_mend_is_retried(stderr: str, transient: bool) -> None:
    assert is_transient(GitError(["git", "fetch"], 128, "", stderr)) is transient


def test_a_hung_command_is_killed_at_its_timeout(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    never_answers = tmp_path / "ssh"
    never_answers.write_text("#!/bin/sh\nsleep 30\n")
    never_answers.chmod(0o755)
    monkeypatch.setenv("GIT_SSH_COMMAND", str(never_answers))
    git = runner(base_env=dict(os.environ), allowed_protocols=("ssh",), timeout=1.0)
    start = time.monotonic()
    with pytest.raises(GitTimeout) as info:
        git.ls_remote("ssh://mirror.example.invalid/numpy.git")
    assert time.monotonic() - start < 10
    assert "timed out after 1s" in str(info.value)
    assert "a larger `timeout:` in mirrors.yaml" in info.value.summary  # what to do next
    assert is_transient(info.value)


def test_each_ref_has_its_own_lease(tmp_path: Path) -> None:
    upstream = make_upstream(tmp_path / "up")
    mirror = make_mirror(tmp_path / "mirror.git")
    upstream.git("push", "--quiet", str(mirror.path), "refs/tags/v1.0.0:refs/heads/main")
    cache = Repository.open_or_init_bare(tmp_path / "cache.git", runner())
    cache.fetch(str(upstream.path), ["refs/heads/main", "refs/tags/v1.1.0"])
    stale = upstream.rev("v1.1.0^{commit}")  # not what the mirror's main holds
    results = cache.push(str(mirror.path), [
        LeasedUpdate(ref="refs/heads/main", expected=stale, new=upstream.rev("main")),
        LeasedUpdate(ref="refs/tags/v1.1.0", expected=None, new=upstream.rev("v1.1.0")),
    ])
    assert [(r.ref, r.status) for r in results] == [
        ("refs/heads/main", "rejected"), ("refs/tags/v1.1.0", "ok")]
    assert "stale info" in results[0].detail
    assert mirror.rev("refs/heads/main") == upstream.rev("v1.0.0")
    assert mirror.rev("refs/tags/v1.1.0") == upstream.rev("v1.1.0")


def test_errors_are_redacted() -> None:
    git = runner(redactor=Redactor(["s3cr3t-token"]), allowed_protocols=("https",))
    with pytest.raises(GitError) as info:
        git.run(["ls-remote", "https://user:pa55word@127.0.0.1:1/s3cr3t-token.git"])
    text = str(info.value)
    assert "pa55word" not in text and "s3cr3t-token" not in text
    assert "https://***@127.0.0.1:1/***.git" in text


def _package(tmp_path: Path, upstream: str, *, retries: int) -> Package:
    return Package(name="demo", upstream=upstream, mirror=str(tmp_path / "mirror.git"),
                   tag_format=TagFormat("v{version}"), version=None, pypi="demo", rank=None,
                   branches=("main",), tags=("*",), protected=("refs/heads/riscv64/*",),
                   allowed_protocols=("http", "file"), timeout=30.0, retries=retries)


def _sync_one(tmp_path: Path, package: Package, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    make_mirror(tmp_path / "mirror.git")
    sleeps: list[float] = []
    report = sync_packages([package], SyncOptions(workdir=tmp_path / "work", jobs=1, stamp=STAMP),
                           runner(base_env=env or dict(os.environ)), sleep=sleeps.append)
    return report.packages[0], sleeps


def test_server_errors_are_retried_with_backoff(tmp_path: Path) -> None:
    with http_server(lambda request, index: (503, {})) as server:
        result, sleeps = _sync_one(tmp_path, _package(tmp_path, f"{server.url}/numpy.git",
                                                      retries=2))
    assert result.status == "failed" and result.attempts == 3
    assert sleeps == [2.0, 4.0]
    assert len(server.requests) == 3
    assert "503" in (result.error or "")


def test_authentication_failures_are_not_retried(tmp_path: Path) -> None:
    def respond(request: Recorded, index: int) -> tuple[int, dict[str, str]]:
        return 401, {"WWW-Authenticate": 'Basic realm="git"'}

    with http_server(respond) as server:
        result, sleeps = _sync_one(tmp_path, _package(tmp_path, f"{server.url}/numpy.git",
                                                      retries=2))
    assert result.status == "failed" and result.attempts == 1 and sleeps == []
    assert "credentials" in (result.error or "")


def test_mirror_token_is_offered_by_the_helper_and_never_shown(tmp_path: Path) -> None:
    token = "glpat-TESTTOKEN-0123456789"

    def respond(request: Recorded, index: int) -> tuple[int, dict[str, str]]:
        if request.authorization is None:
            return 401, {"WWW-Authenticate": 'Basic realm="git"'}
        return 403, {}

    with http_server(respond) as server:
        package = _package(tmp_path, "unused", retries=0)
        upstream = make_upstream(tmp_path / "up")
        package = Package(**{**package.__dict__, "upstream": str(upstream.path),
                             "mirror": f"{server.url}/mirrors/numpy.git"})
        env = {**os.environ, "MIRRORCTL_MIRROR_TOKEN": token}
        options = SyncOptions(workdir=tmp_path / "work", jobs=1, stamp=STAMP)
        report = sync_packages([package], options,
                               runner(base_env=env, redactor=Redactor([token])),
                               sleep=lambda s: None)
    sent = [r.authorization for r in server.requests if r.authorization]
    assert sent and base64.b64decode(sent[0].split()[1]).decode() == f"oauth2:{token}"
    result = report.packages[0]
    assert result.status == "failed"
    assert token not in repr(result)


def test_tags_read_at_once_name_the_commits_git_would(tmp_path: Path) -> None:
    from tests.gitrepos import Repo

    upstream = Repo(tmp_path / "up")
    first = upstream.commit("one", {"a": "1\n"})
    upstream.tag("light")
    upstream.tag("annotated", annotated=True)
    upstream.git("tag", "-a", "-m", "a tag of a tag", "nested", "annotated")
    upstream.git("tag", "tree", f"{first}^{{tree}}")
    repo = Repository(upstream.path / ".git", runner())
    names = ("light", "annotated", "nested", "tree", "missing")
    one_by_one = {name: repo.tag_commit(name) for name in names}
    assert one_by_one == {"light": first, "annotated": first, "nested": first, "tree": None,
                          "missing": None}
    assert sorted(repo.tag_names()) == ["annotated", "light", "nested", "tree"]
    repo.read_tags()
    assert {name: repo.tag_commit(name) for name in names} == one_by_one
    assert sorted(repo.tag_names()) == ["annotated", "light", "nested", "tree"]


@settings(max_examples=25, deadline=None)
@given(message=st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1,
                       max_size=40).filter(lambda m: m.strip() == m and m),
       name=st.from_regex(r"[A-Za-z][A-Za-z .-]{0,15}[A-Za-z]", fullmatch=True))
def test_a_commit_written_in_process_is_the_one_commit_tree_writes(
        tmp_path_factory: pytest.TempPathFactory, message: str, name: str) -> None:
    """The rebase engine's bridge commits skip a process; their ids must be git's."""
    path = tmp_path_factory.mktemp("objects")
    git(path, "init", "--quiet", "--bare")
    repo = Repository(path, GitRunner(GitSettings(base_env={})))
    env = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": "m@invalid",
           "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": "m@invalid",
           "GIT_AUTHOR_DATE": "1970-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "1970-01-01T00:00:00Z"}
    tree = repo.git("mktree", input="").stdout.strip()
    parent = repo.git("commit-tree", tree, "-m", "root", env=env).stdout.strip()
    ours = repo.write_commit_object(tree, parent, message, name=name, email="m@invalid")
    theirs = repo.git("commit-tree", tree, "-p", parent, "-m", message, env=env).stdout.strip()
    assert ours == theirs
    assert repo.git("cat-file", "-t", ours).stdout.strip() == "commit"
    repo.git("fsck", "--strict", "--no-dangling")


def test_tags_read_without_keeping_are_kept_only_when_asked(tmp_path: Path) -> None:
    """A carry reads its tags before it checks its input, and must write nothing beside
    the cache until the checks pass (then keep_tags keeps what it peeled)."""
    upstream = make_upstream(tmp_path / "upstream")
    repo = Repository(upstream.path / ".git", GitRunner(GitSettings(base_env={})))
    kept = upstream.path / ".git" / "mirrorctl" / "peeled.json"
    repo.read_tags(keep=False)
    assert repo.tag_commit("v1.1.0") == upstream.rev("v1.1.0^{commit}")
    assert not kept.exists()
    repo.keep_tags()
    assert kept.is_file()
    peeled = kept.read_text()
    again = Repository(upstream.path / ".git", GitRunner(GitSettings(base_env={})))
    again.read_tags()  # all kept already: nothing new to write, the same answers
    assert again.tag_commit("v1.1.0") == repo.tag_commit("v1.1.0")
    assert kept.read_text() == peeled
