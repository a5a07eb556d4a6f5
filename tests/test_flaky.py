"""Sync against a flaky git server (issue 7): upstreams, and one mirror, over smart HTTP
from real `git http-backend` on 127.0.0.1, with connections dropped, reset and cut, or
stalled. Faults are retried within the budget; a stall fails its package alone with a
time-out; the mirrors lose nothing."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

import mirrorctl.core.retry
from tests.flakygit import FAULTS, Fault, FlakyGitServer, flaky_git_server
from tests.gitrepos import Repo, make_mirror, make_upstream, write_config

PACKAGES = ("numpy", "scipy", "pyyaml")
HTTP_MIRROR = "pyyaml"  # its mirror is served (and faulted) too: pushes meet the faults
RISCV = "refs/heads/riscv64/1.1.0"
MIRROR_TAG = "refs/tags/riscv64-build-1"


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy variable would send git's requests to 127.0.0.1 elsewhere."""
    for name in list(os.environ):
        if name.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    # The real waits (2 s, 4 s ...) change nothing here but the time the tests take.
    monkeypatch.setattr(mirrorctl.core.retry, "backoff_delays",
                        functools.partial(mirrorctl.core.retry.backoff_delays, first=0.01,
                                          cap=0.02))


class Sites:
    """Upstreams under the served root, mirrors carrying their own riscv64 refs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.served = root / "srv"
        self.upstreams = {name: self._upstream(name) for name in PACKAGES}
        self.mirrors = {name: self._mirror(name) for name in PACKAGES}

    def _upstream(self, name: str) -> Repo:
        repo = make_upstream(self.served / name)
        # Some bulk that does not compress away, so that a cut can land inside a pack.
        for n in range(3):
            lines = (hashlib.sha256(f"{name} {n} {i}".encode()).hexdigest() for i in range(300))
            repo.commit(f"{name} work {n}", {f"data/{name}{n}.txt": "\n".join(lines)})
        return repo

    def _mirror(self, name: str) -> Repo:
        mirror = make_mirror(self.served / "mirrors" / f"{name}.git")
        upstream = self.upstreams[name]
        upstream.git("push", "--quiet", str(mirror.path), f"HEAD~3:{RISCV}", f"HEAD~2:{MIRROR_TAG}")
        return mirror

    def configure(self, server: FlakyGitServer, *, retries: int, timeout: float) -> Path:
        packages = {name: {
            "upstream": server.repo_url(name),
            "mirror": (server.repo_url(f"mirrors/{name}.git") if name == HTTP_MIRROR
                       else str(self.mirrors[name].path)),
        } for name in PACKAGES}
        return write_config(self.root / "mirrors.yaml", packages, retries=retries,
                            timeout=timeout, allowed_protocols=["http", "file"])

    def sync(self, run_cli, config: Path):  # type: ignore[no-untyped-def]
        result = run_cli("--config", str(config), "--workdir", str(self.root / "work"), "-q",
                         "sync", "--format", "json")
        data = json.loads(result.out) if result.out.lstrip().startswith("{") else None
        return result, data

    def move_upstreams(self) -> None:
        """What a night brings: new commits and releases, a rewritten maintenance branch."""
        for name, upstream in self.upstreams.items():
            upstream.commit(f"{name} next")
            upstream.tag("v1.2.0", annotated=True)
            upstream.checkout("maintenance/1.0.x")
            upstream.git("commit", "--quiet", "--amend", "-m", "rewritten maintenance")
            upstream.checkout("main")

    def expected_mirror(self, name: str, mirror_before: dict[str, str]) -> dict[str, str]:
        own = {ref: mirror_before[ref] for ref in (RISCV, MIRROR_TAG)}
        upstream = {ref: sha for ref, sha in self.upstreams[name].refs().items()
                    if "feature/" not in ref}
        return {**upstream, **own}


@pytest.fixture
def sites(tmp_path: Path) -> Sites:
    return Sites(tmp_path)


def by_name(data: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {p["name"]: p for p in data["packages"]}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_dropped_reset_and_cut_connections_are_retried_until_the_mirrors_converge(
        run_cli, sites: Sites, seed: int) -> None:
    before = {name: mirror.refs() for name, mirror in sites.mirrors.items()}
    attempts, warnings = 0, ""
    with flaky_git_server(sites.served, fault_rate=1 / 3, seed=seed) as server:
        # pyyaml's sync takes five connections (its mirror is served too) and needs three
        # tries on average, twelve at worst in 480 syncs measured: 20 leaves room.
        config = sites.configure(server, retries=20, timeout=20)
        for night in range(2):
            if night:
                sites.move_upstreams()
            result, data = sites.sync(run_cli, config)
            assert result.code == 0, result.out + result.err
            assert "Traceback" not in result.err
            warnings += result.err
            for package in by_name(data).values():
                assert package["status"] == "updated", package
                # A push that landed although git heard a fault is learnt, not blamed.
                assert not package["needs_human"], package
                attempts += package["attempts"]
            for name, mirror in sites.mirrors.items():
                assert mirror.refs() == sites.expected_mirror(name, before[name]), name
        server.fault_rate = 0
        quiet, data = sites.sync(run_cli, config)
    assert quiet.code == 0
    assert {p["status"] for p in data["packages"]} == {"unchanged"}
    assert server.errors == []
    # Not vacuous: git met faults, and mirrorctl tried again after them.
    met = server.faults()
    assert sum(met.values()) >= 2, server.log
    assert attempts > 2 * len(PACKAGES), met
    assert "; retrying in " in warnings


def ls_remote(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-c", "protocol.version=2", "ls-remote", url],
                          capture_output=True, text=True, check=False, timeout=30)


@pytest.mark.parametrize("fault, message", [
    ("drop", "Empty reply from server"),
    ("reset", "Connection reset by peer"),
    ("cut", "transfer closed with"),
])
def test_the_server_fails_git_as_it_says(tmp_path: Path, fault: Fault, message: str) -> None:
    """The server's own promise, checked with plain git, so the sync tests mean something."""
    make_upstream(tmp_path / "srv" / "demo")
    with flaky_git_server(tmp_path / "srv") as server:
        server.fail_next("demo", fault)
        failed = ls_remote(server.repo_url("demo"))
        served = ls_remote(server.repo_url("demo"))
    assert failed.returncode == 128 and message in failed.stderr, failed.stderr
    assert served.returncode == 0 and "refs/tags/v1.1.0" in served.stdout
    assert server.faults() == {fault: 1} and server.errors == []


def test_about_a_third_of_the_connections_fail(tmp_path: Path) -> None:
    make_upstream(tmp_path / "srv" / "demo")
    with flaky_git_server(tmp_path / "srv", fault_rate=1 / 3, seed=7) as server:
        failed = sum(ls_remote(server.repo_url("demo")).returncode != 0 for _ in range(30))
    faulty = sum(c.fault is not None for c in server.log)
    assert 0.2 < faulty / len(server.log) < 0.5, (faulty, len(server.log))
    assert set(server.faults()) == set(FAULTS)
    assert 0 < failed <= faulty


def _git_processes_talking_to(url: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                argv = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if url in argv:
                found.append(argv)
    return found


@pytest.mark.parametrize("sent, after, retries, step", [
    (0, 0, 1, "reading upstream refs"),  # never answers; the time-out is retried once
    (16, 1, 0, "fetching from upstream"),  # a good ls-remote, then a fetch that hangs
], ids=["silent", "trickle-at-fetch"])
def test_a_stalled_upstream_fails_its_package_with_a_timeout_and_loses_nothing(
        run_cli, sites: Sites, sent: int, after: int, retries: int, step: str) -> None:
    with flaky_git_server(sites.served) as server:
        config = sites.configure(server, retries=retries, timeout=2)
        first, _ = sites.sync(run_cli, config)
        assert first.code == 0, first.out + first.err
        synced = {name: mirror.refs() for name, mirror in sites.mirrors.items()}
        sites.move_upstreams()
        server.stall("numpy", sent=sent, after=after)
        started = time.monotonic()
        result = run_cli("--config", str(config), "--workdir", str(sites.root / "work"), "-q",
                         "sync")
        took = time.monotonic() - started
        stalled = [c for c in server.connections_to("numpy") if c.stalled]
        assert _git_processes_talking_to(server.url) == []  # the time-out killed git
        server.unstall("numpy")
        after_stall = {name: mirror.refs() for name, mirror in sites.mirrors.items()}
        healed, _ = sites.sync(run_cli, config)

    assert result.code == 1
    assert "Traceback" not in result.out + result.err
    failed = [line for line in result.out.splitlines() if line.split()[1:2] == ["failed"]]
    assert len(failed) == 1 and failed[0].startswith("numpy "), result.out
    assert step in failed[0] and "timed out after 2s" in failed[0], failed[0]
    assert len(stalled) == retries + 1
    assert took < 2 * len(stalled) + 5, took
    # numpy's mirror is exactly as the last good night left it; the others moved on.
    assert after_stall["numpy"] == synced["numpy"]
    for name in ("scipy", "pyyaml"):
        assert after_stall[name] == sites.expected_mirror(name, synced[name]), name
    assert healed.code == 0, healed.out + healed.err
    assert sites.mirrors["numpy"].refs() == sites.expected_mirror("numpy", synced["numpy"])


def test_a_push_whose_answer_is_lost_is_learnt_on_the_retry(run_cli, sites: Sites) -> None:
    """The mirror took the push but the answer was cut: the retry must not push again
    blindly nor call the refs someone else's; it reads the mirror and reports them pushed."""
    before = sites.mirrors[HTTP_MIRROR].refs()
    with flaky_git_server(sites.served) as server:
        config = sites.configure(server, retries=2, timeout=20)
        server.fail_next(f"mirrors/{HTTP_MIRROR}.git", "cut", request="/git-receive-pack")
        result, data = sites.sync(run_cli, config)
    assert result.code == 0, result.out + result.err
    package = by_name(data)[HTTP_MIRROR]
    assert package["attempts"] == 2
    assert server.faults() == {"cut": 1}
    assert package["status"] == "updated" and not package["needs_human"]
    assert {r["result"] for r in package["refs"]} == {"pushed"}
    assert sites.mirrors[HTTP_MIRROR].refs() == sites.expected_mirror(HTTP_MIRROR, before)


def test_a_push_that_failed_after_the_fetch_still_follows_an_upstream_force_push(
        run_cli, sites: Sites) -> None:
    """A mirror filled before mirrorctl ran (nothing counts as pushed by it) follows an
    upstream force-push because it holds upstream's last value; a push failing after
    the fetch must not make that value look like the mirror's own (`diverged`)."""
    upstream, mirror = sites.upstreams[HTTP_MIRROR], sites.mirrors[HTTP_MIRROR]
    upstream.git("push", "--quiet", str(mirror.path), "refs/heads/main",
                 "refs/heads/maintenance/1.0.x", "refs/tags/*:refs/tags/*")
    before = mirror.refs()
    with flaky_git_server(sites.served) as server:
        config = sites.configure(server, retries=2, timeout=20)
        first, data = sites.sync(run_cli, config)
        assert by_name(data)[HTTP_MIRROR]["status"] == "unchanged", first.out
        sites.move_upstreams()
        # Both tries of git's push fail before the mirror sees it (curl retries once).
        server.fail_next(f"mirrors/{HTTP_MIRROR}.git", "reset", request="/git-receive-pack",
                         times=2)
        result, data = sites.sync(run_cli, config)
    assert result.code == 0, result.out + result.err
    package = by_name(data)[HTTP_MIRROR]
    assert package["attempts"] == 2
    refs = {r["ref"]: r for r in package["refs"]}
    maintenance = refs["refs/heads/maintenance/1.0.x"]
    assert (maintenance["action"], maintenance["result"]) == ("force", "pushed"), maintenance
    assert mirror.refs() == sites.expected_mirror(HTTP_MIRROR, before)
