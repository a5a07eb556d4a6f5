"""The fault matrix: each way a disk, an interrupt or a person breaks what a package's
morning answer rests on, and every reader of that morning. Unknown is never good news:
the package is never easy, up to date or synced ok, it is listed as needing a person
with a next command that exists, every command exits 1 as its table says, and the
queues, the mirror and the cache stay as they were (the record and the history may
gain entries). A nightly run into the fault either mends what it can mend (a cache
fetched again) and says so truthfully, or reports it the same way.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testbed.fakepulls import GITHUB_TOKEN, PullForge, pull_forge
from tests.cliwords import check_told
from tests.conftest import Site
from tests.flakygit import flaky_git_server
from tests.gitrepos import Repo, git, make_mirror, make_upstream, write_config
from tests.test_faults import fill, read_only, tmpfs
from tests.test_patches import make_queue

pytestmark = pytest.mark.e2e

QUEUE_PATCH = "0001-BLD-riscv64-core.patch"


@dataclass
class Morning:
    site: Site
    forge: PullForge

    @property
    def queue(self) -> Path:
        return self.site.root / "patchsets" / "demo" / "1.1.0"

    @property
    def cache(self) -> Path:
        return self.site.workdir / "cache" / "demo.git"


def configure(site: Site, forge: PullForge, mirror: str | None = None) -> None:
    write_config(site.config, {"demo": {
        "upstream": str(site.upstream.path), "mirror": mirror or str(site.mirror.path),
        "tag_format": "v{version}", "version": "1.1.0"}},
        allowed_protocols=["file", "http"], forge_apis={"github.com": forge.url},
        notices={"tracker": "https://github.com/rise/python-wheels"})


@pytest.fixture
def morning(run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Morning]:
    """One package, `demo`, with a mirror carrying riscv64/1.1.0, a queue of one patch on
    1.1.0 and a tracker for its notices; synced, and a nightly that found it up to date."""
    monkeypatch.setenv("MIRRORCTL_GITHUB_TOKEN", GITHUB_TOKEN)
    upstream = make_upstream(tmp_path / "upstream")
    make_queue(upstream, tmp_path / "patchsets" / "demo" / "1.1.0", [
        ("BLD: riscv64 core\n\nUpstream-Status: Pending", {"src/core.c": "int rv64;\n"})])
    (tmp_path / "patchsets" / "demo" / "1.1.0.tree").unlink(missing_ok=True)
    upstream.git("checkout", "--quiet", "main")
    mirror = make_mirror(tmp_path / "mirror.git")
    upstream.git("push", "--quiet", str(mirror.path), "v1.1.0^{commit}:refs/heads/riscv64/1.1.0")
    site = Site(tmp_path, upstream, mirror, tmp_path / "mirrors.yaml", tmp_path / "work")
    with pull_forge() as forge:
        configure(site, forge)
        night = run_cli(*site.args("nightly", "--format", "json"))
        assert night.code == 0, night.out + night.err  # the good morning, before the fault
        [demo] = json.loads(night.out)["report"]["packages"]
        assert (demo["level"], demo["reasons"][0]["code"], demo["sync"]) == (
            "easy", "up-to-date", "ok")
        yield Morning(site, forge)


def snapshot(m: Morning) -> tuple[object, ...]:
    """What no reader may change: the queues' bytes, the mirror's refs, the cache's refs."""
    queues = {str(p.relative_to(m.site.root)): p.read_bytes()
              for p in sorted((m.site.root / "patchsets").rglob("*")) if p.is_file()}
    cache = Repo(m.cache, bare=True).refs() if (m.cache / "HEAD").is_file() else None
    mirror = m.site.mirror.refs() if m.site.mirror.path.is_dir() else None
    return queues, mirror, cache


def told(result_text: str, command: str) -> None:
    assert "unexpected error" not in result_text, result_text
    check_told(result_text, command)


def unknown_in_every_reader(run_cli, m: Morning, *, kind: str,  # type: ignore[no-untyped-def]
                            releases_known: bool = False, latest: str = "1.1.0") -> None:
    """Each reader, the fault in place: the package unknown, never good news, exit 1, a
    need of `kind` with a command that exists, nothing changed. `releases_known`: the
    fault leaves upstream's releases known (a queue's, the mirror's side of a sync)."""
    before = snapshot(m)
    args = m.site.args
    result = run_cli(*args("report", "--format", "json"))
    assert result.code == 1, result.out + result.err
    data = json.loads(result.out)
    [demo] = data["packages"]
    assert demo["level"] is None and demo["state"] == "unknown", demo
    assert data["states"].get("up-to-date", 0) == 0 and data["states"].get("easy", 0) == 0
    needs = [a for a in data["actions"] if a["package"] == "demo"]
    assert kind in [a["kind"] for a in needs], needs
    for need in needs:
        check_told(f"`{need['command']}`", "report")
    markdown = run_cli(*args("report"))
    assert markdown.code == 1 and "Nothing needs a person" not in markdown.out
    assert "| demo |" in markdown.out and " easy |" not in markdown.out
    told(markdown.out + markdown.err, "report")
    page = run_cli(*args("report", "--format", "html"))
    assert page.code == 1 and 'data-state="unknown"' in page.out
    classify = run_cli(*args("classify", "--format", "json"))
    assert classify.code == 1, classify.out
    [graded] = json.loads(classify.out)["packages"]
    assert graded["level"] is None and graded["error"], graded
    told(run_cli(*args("classify")).out, "classify")
    releases = run_cli(*args("releases", "--format", "json"))
    [found] = json.loads(releases.out)["packages"]
    if releases_known:  # what upstream released is known, and said
        assert releases.code == 0 and found["latest"] == latest, found
    else:
        assert releases.code == 1 and found["latest"] is None and found["problems"], found
    # The rebase's plan is never "nothing newer" over a fault; a plan onto upstream's
    # real newer release is the truth, where the releases are known (a carry redone).
    dry = run_cli(*args("rebase", "demo", "--dry-run", "--format", "json"))
    plan = json.loads(dry.out) if dry.out.startswith("{") else {}
    assert dry.code in (1, 2) or (dry.code == 0 and releases_known and (
        plan["status"], plan["to"]) in (("clean", latest), ("conflict", latest))), (
        dry.code, dry.out, dry.err)
    told(dry.out + dry.err, "rebase")
    status = run_cli(*args("status", "demo", "--format", "json"))
    assert status.code == 1, status.out + status.err
    [seen] = json.loads(status.out)["packages"]
    assert (seen["state"], seen["level"]) == ("unknown", None) and seen["unknown"], seen
    assert all(f["text"] for f in seen["facts"] if f["state"] == "unknown"), seen["facts"]
    assert kind in [n["kind"] for n in seen["needs"]], seen["needs"]
    for need in seen["needs"]:
        check_told(f"`{need['command']}`", "status")
    told(run_cli(*args("status", "demo")).out, "status")
    assert snapshot(m) == before, "a reader changed the queues, the mirror or the cache"


def the_night_after(run_cli, m: Morning, *, kind: str, mends: bool) -> None:  # type: ignore[no-untyped-def]
    """The nightly run into the fault, then what the morning reads of it (report --last,
    the notices' dry run): the same answer, or the truth of what it mended."""
    queues = snapshot(m)[0]
    night = run_cli(*m.site.args("nightly", "--format", "json"))
    data = json.loads(night.out)
    told(night.err, "nightly")
    [demo] = data["report"]["packages"]
    if mends:
        assert night.code == 0, data["needs_human"]
        assert (demo["sync"], demo["reasons"][0]["code"]) == ("ok", "up-to-date")
        assert Repo(m.cache, bare=True).refs(), "said mended, yet the cache holds nothing"
        return
    assert night.code == 1 and kind in [n["kind"] for n in data["needs"]], data["needs"]
    assert demo["level"] is None, demo
    for need in data["report"]["actions"]:
        check_told(f"`{need['command']}`", "nightly")
    assert snapshot(m)[0] == queues  # the queues as they were
    last = run_cli(*m.site.args("report", "--last", "--format", "json"))
    assert last.code == 1 and json.loads(last.out) == data["report"]
    notices = run_cli(*m.site.args("notices", "--dry-run", "--format", "json"))
    planned = json.loads(notices.out)["planned"]
    assert notices.code == 0 and ("open", "demo") in [(s["action"], s["package"])
                                                      for s in planned], planned
    assert m.forge.issues == []  # a dry run writes nothing


QUEUE_FAULTS: dict[str, Callable[[Path], None]] = {
    "bytes appended to a current patch": lambda q: (q / QUEUE_PATCH).write_bytes(
        (q / QUEUE_PATCH).read_bytes() + b"\xff\xfe garbage\n"),
    "a patch cut in a hunk": lambda q: (q / QUEUE_PATCH).write_bytes(
        (q / QUEUE_PATCH).read_bytes()[:-12]),
    "an empty patch file": lambda q: (q / QUEUE_PATCH).write_bytes(b""),
    "a series naming a missing file": lambda q: (q / "series").write_text(
        f"{QUEUE_PATCH}\n0002-gone.patch\n"),
}


@pytest.mark.parametrize("fault", list(QUEUE_FAULTS))
def test_a_broken_current_queue_is_unknown_never_up_to_date(run_cli, morning: Morning,
                                                           fault: str) -> None:
    QUEUE_FAULTS[fault](morning.queue)
    unknown_in_every_reader(run_cli, morning, kind="queue-unreadable", releases_known=True)
    the_night_after(run_cli, morning, kind="queue-unreadable", mends=False)
    # The patch that does not read is a problem of its file, never a patch dropped.
    data = json.loads(run_cli(*morning.site.args("report", "--format", "json")).out)
    assert all(c["patch"] != QUEUE_PATCH for c in data["dropped"]), data["dropped"]


CACHE_FAULTS: dict[str, Callable[[Morning], None]] = {
    "a state file deleted": lambda m: (m.site.workdir / "state" / "demo.json").unlink(),
    "a cache emptied": lambda m: Repo(m.cache, bare=True).git(
        "update-ref", "--stdin", input="".join(f"delete {ref}\n" for ref in
                                              Repo(m.cache, bare=True).refs())),
    "a cache directory deleted": lambda m: shutil.rmtree(m.cache),
}


@pytest.mark.parametrize("fault", list(CACHE_FAULTS))
def test_a_cache_the_record_cannot_vouch_for_is_unknown_until_a_sync(
        run_cli, morning: Morning, fault: str) -> None:
    CACHE_FAULTS[fault](morning)
    kind = "sync-failed" if fault != "a cache emptied" else "unknown"
    unknown_in_every_reader(run_cli, morning, kind=kind)
    the_night_after(run_cli, morning, kind=kind, mends=True)


def test_a_mirror_deleted_fails_its_sync_and_the_package_is_unknown(run_cli,
                                                                   morning: Morning) -> None:
    shutil.rmtree(morning.site.mirror.path)
    sync = run_cli(*morning.site.args("sync"))
    assert sync.code == 1
    unknown_in_every_reader(run_cli, morning, kind="sync-failed")
    the_night_after(run_cli, morning, kind="sync-failed", mends=False)


def test_an_unreachable_upstream_leaves_the_package_unknown(run_cli, morning: Morning) -> None:
    morning.site.upstream.path.rename(morning.site.root / "upstream-gone")
    assert run_cli(*morning.site.args("sync")).code == 1
    unknown_in_every_reader(run_cli, morning, kind="sync-failed")
    the_night_after(run_cli, morning, kind="sync-failed", mends=False)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_first_push_is_never_taken_for_a_sync(run_cli, morning: Morning,
                                                            sig: int) -> None:
    """The mirror's first push, stopped while it waits on the mirror's server: the
    mirror empty, and the report must not say 'ok, mirrored'."""
    site = morning.site
    served = site.root / "served"
    make_mirror(served / "fresh.git")
    with flaky_git_server(served) as server:
        configure(site, morning.forge, mirror=server.repo_url("fresh.git"))
        server.stall("fresh.git", after=1)  # its refs are read; the push hangs
        proc = subprocess.Popen(
            [sys.executable, "-m", "mirrorctl", *site.args("sync")], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, start_new_session=True)
        deadline = time.monotonic() + 60
        while not any(c.stalled for c in server.connections_to("fresh.git")):
            assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        os.kill(proc.pid, sig)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode in (130, 143), err
    assert "nothing is half written" in err
    assert Repo(served / "fresh.git", bare=True).refs() == {}  # the mirror is still empty
    # Upstream was in the cache before the push: its releases are known, the rest not.
    unknown_in_every_reader(run_cli, morning, kind="sync-failed", releases_known=True)
    report = json.loads(run_cli(*site.args("report", "--format", "json")).out)
    assert report["packages"][0]["mirrored"] == "unknown"


def test_a_disk_full_during_sync_leaves_the_package_unknown(run_cli, morning: Morning) -> None:
    site = morning.site
    with tmpfs(site.root / "small", size="2m") as small:
        work = small / "work"
        args = ["--config", str(site.config), "--workdir", str(work), "-q"]
        fill(small)
        # Room for the record, not for a fetch.
        with contextlib.suppress(OSError), (small / "filler").open("r+b") as filler:
            filler.truncate(filler.seek(0, 2) - 16384)
        sync = run_cli(*args, "sync")
        assert sync.code == 1 and "No space left" in sync.out + sync.err, sync.out
        for command in (["report", "--format", "json"], ["classify", "--format", "json"]):
            result = run_cli(*args, *command)
            assert result.code == 1, (command, result.out, result.err)
            [package] = json.loads(result.out)["packages"]
            assert package["level"] is None, package
            assert "unexpected error" not in result.err


def test_a_read_only_work_directory_changes_nothing_and_says_so(run_cli,
                                                              morning: Morning) -> None:
    site = morning.site
    with tmpfs(site.root / "ro", size="8m") as ro:
        shutil.copytree(site.workdir, ro / "work", symlinks=True)
        read_only(ro)
        args = ["--config", str(site.config), "--workdir", str(ro / "work"), "-q"]
        before = snapshot(morning)
        night = run_cli(*args, "nightly", "--format", "json")
        assert night.code == 1, night.out + night.err
        assert "Read-only file system" in night.out + night.err
        assert "unexpected error" not in night.err and "nothing needs a person" not in night.out
        report = run_cli(*args, "report", "--format", "json")  # reading works, or says why
        assert "unexpected error" not in report.err
        if report.code == 0:
            [demo] = json.loads(report.out)["packages"]
            assert demo["sync"] == "ok"  # as the last sync that could write found it
        else:
            assert "Read-only file system" in report.err
        assert snapshot(morning) == before


def test_a_folder_that_is_no_queue_is_unknown_never_carried(run_cli, morning: Morning) -> None:
    """Upstream releases 1.2.0; someone makes its folder with a .gitkeep and no patch: it
    is no queue (neither patches nor a series saying nothing is left), never a queue that
    carries nothing (issue 31)."""
    site = morning.site
    site.upstream.commit("release 1.2.0", {"README.md": "1.2.0\n"})
    site.upstream.tag("v1.2.0", annotated=True)
    assert run_cli(*site.args("sync")).code == 0
    folder = site.root / "patchsets" / "demo" / "1.2.0"
    folder.mkdir()
    (folder / ".gitkeep").write_text("")
    checked = run_cli(*site.args("validate"))
    assert checked.code == 2 and "1.2.0: holds no patch and no `series`" in checked.out
    unknown_in_every_reader(run_cli, morning, kind="queue-unreadable")
    the_night_after(run_cli, morning, kind="queue-unreadable", mends=False)


def test_a_queue_renamed_to_a_version_never_tagged_is_unknown(run_cli,
                                                              morning: Morning) -> None:
    """The current queue's folder renamed to 1.27.0, a release upstream never made: where
    the package stands is not known, never "up to date, latest 1.27.0" (issue 31)."""
    (morning.queue).rename(morning.queue.parent / "1.27.0")
    checked = run_cli(*morning.site.args("validate"))
    assert checked.code == 2 and "1.27.0 is no release of demo in the cache" in checked.out
    assert "the nearest: v1.1.0" in checked.out
    unknown_in_every_reader(run_cli, morning, kind="unknown")
    the_night_after(run_cli, morning, kind="releases-unknown", mends=False)


STALE_CACHES: dict[str, Callable[[Repo], None]] = {
    "a release tag moved": lambda cache: cache.git("update-ref", "refs/tags/v1.1.0",
                                                   cache.rev("refs/tags/v1.0.0")),
    "a branch rewound": lambda cache: cache.git("update-ref", "refs/heads/main",
                                                cache.rev("refs/heads/main~1")),
    "a tag added": lambda cache: cache.git("update-ref", "refs/tags/v9.0.0",
                                           cache.rev("refs/heads/main")),
}


@pytest.mark.parametrize("fault", list(STALE_CACHES))
def test_a_cache_that_is_not_what_sync_recorded_is_not_believed(run_cli, morning: Morning,
                                                               fault: str) -> None:
    """A CI cache restored stale, or a hand edit: the cache no longer holds what the last
    sync recorded of upstream. Every reader says unknown (never 'easy'), nothing carries
    onto it, and the next sync restores it from upstream, saying so (issue 31)."""
    STALE_CACHES[fault](Repo(morning.cache, bare=True))
    unknown_in_every_reader(run_cli, morning, kind="unknown")
    refused = run_cli(*morning.site.args("rebase", "demo", "--onto", "v1.1.0", "--dry-run"))
    assert refused.code == 1 and "not what the last sync recorded" in refused.err
    synced = run_cli(*morning.site.args("sync", "--format", "json"))
    [demo] = json.loads(synced.out)["packages"]
    assert synced.code == 0 and demo["fetched"], demo
    assert any("restored from upstream" in w for w in demo["warnings"]), demo["warnings"]
    assert Repo(morning.cache, bare=True).refs() == {
        ref: sha for ref, sha in morning.site.upstream.refs().items()
        if ref.startswith("refs/tags/") or ref in ("refs/heads/main",
                                                   "refs/heads/maintenance/1.0.x")}
    the_night_after(run_cli, morning, kind="unknown", mends=True)


def test_two_upstreams_swapped_are_refused_a_fork_is_followed(run_cli, tmp_path: Path,
                                                             monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Two packages' `upstream:` swapped in mirrors.yaml: each URL names the other
    project, whose history shares nothing with the cache and the mirror: refused (exit 1,
    marked !, the URL and what it holds named), nothing fetched, nothing pushed, the
    readers unknown; until a person says so. The same project at another URL (a fork
    that moved on) syncs as usual (issue 31)."""
    ups = {"alpha": make_upstream(tmp_path / "up-alpha"), "beta": Repo(tmp_path / "up-beta")}
    ups["beta"].commit("beta begins", {"beta.c": "int beta;\n"})  # another project
    ups["beta"].tag("v2.0.0", annotated=True)
    mirrors = {name: make_mirror(tmp_path / f"{name}.git") for name in ups}
    config = tmp_path / "mirrors.yaml"

    def configure(urls: dict[str, Path]) -> None:
        write_config(config, {name: {"upstream": str(urls[name]),
                                     "mirror": str(mirrors[name].path)} for name in ups})

    args = ["--config", str(config), "--workdir", str(tmp_path / "work"), "-q"]
    configure({name: up.path for name, up in ups.items()})
    assert run_cli(*args, "sync").code == 0
    caches = {name: Repo(tmp_path / "work" / "cache" / f"{name}.git", bare=True)
              for name in ups}
    before = ({n: c.refs() for n, c in caches.items()}, {n: m.refs() for n, m in mirrors.items()})
    configure({"alpha": ups["beta"].path, "beta": ups["alpha"].path})
    refused = run_cli(*args, "sync")
    assert refused.code == 1, refused.out
    assert f"alpha    failed     ! checking that {ups['beta'].path}" in refused.out
    assert "shares nothing with what alpha's cache and mirror hold" in refused.out
    assert "mirrorctl sync alpha --accept-upstream" in refused.out
    assert ({n: c.refs() for n, c in caches.items()},
            {n: m.refs() for n, m in mirrors.items()}) == before  # nothing fetched or pushed
    releases = run_cli(*args, "releases", "alpha", "--format", "json")
    [alpha] = json.loads(releases.out)["packages"]
    assert releases.code == 1 and alpha["latest"] is None and alpha["upstream_unknown"]
    report = json.loads(run_cli(*args, "report", "--format", "json").out)
    assert all(p["level"] is None for p in report["packages"])
    # A person corrects one, and says the other is right: both sync.
    configure({"alpha": ups["alpha"].path, "beta": ups["alpha"].path})
    accepted = run_cli(*args, "sync", "beta", "--accept-upstream")
    assert accepted.code == 0, accepted.out
    assert run_cli(*args, "sync", "alpha").code == 0
    # (beta's URL is alpha's now: they share alpha's cache; beta's mirror follows it.)
    assert mirrors["beta"].refs()["refs/tags/v1.1.0"] == ups["alpha"].refs()["refs/tags/v1.1.0"]
    # A fork of alpha that moved on, with no tag of its own: the same project.
    git(tmp_path, "clone", "--quiet", "--bare", str(ups["alpha"].path), "fork.git")
    fork = Repo(tmp_path / "fork.git", bare=True)
    work = tmp_path / "fork-work"
    git(tmp_path, "clone", "--quiet", str(fork.path), str(work))
    Repo(work).commit("fork's fix", {"fix.c": "int fix;\n"})
    Repo(work).git("push", "--quiet", "origin", "HEAD:refs/heads/main")
    fork.git("tag", "-d", "v1.0.0", "v1.1.0")  # nothing left in common by value: its
    fork.git("branch", "-D", "maintenance/1.0.x", "feature/wip")  # history says it
    configure({"alpha": fork.path, "beta": ups["alpha"].path})
    assert run_cli(*args, "sync", "alpha").code == 0


def _unreadable(path: Path) -> None:
    """A record that cannot be opened (mode 000 stops no one as root: a folder in its
    place stops everyone)."""
    path.unlink()
    path.mkdir()


RECORD_FAULTS: dict[str, Callable[[Path], None]] = {
    "cut short": lambda p: p.write_bytes(p.read_bytes()[:40]),
    "an empty mapping": lambda p: p.write_text("{}\n"),
    "unreadable": _unreadable,
}


@pytest.mark.parametrize("fault", list(RECORD_FAULTS))
def test_a_record_that_does_not_read_is_never_lost(run_cli, morning: Morning,
                                                  fault: str) -> None:
    """The record does not read: every reader says unknown; the next writer keeps its
    bytes beside it and starts afresh, the package unknown until a person settles it,
    never easy or up to date (issue 31: sync replaced it silently)."""
    site = morning.site
    record = site.workdir / "state" / "demo.json"
    RECORD_FAULTS[fault](record)
    unknown_in_every_reader(run_cli, morning, kind="record-lost")
    synced = run_cli(*site.args("sync"))
    assert synced.code == 0, synced.out
    kept = list(record.parent.glob("demo.json.unreadable-*"))
    assert len(kept) == 1 and "kept as" in synced.out and str(kept[0]) in synced.out
    report = run_cli(*site.args("report", "--format", "json"))
    assert report.code == 1
    [demo] = json.loads(report.out)["packages"]
    assert demo["level"] is None
    [lost] = [a for a in json.loads(report.out)["actions"] if a["kind"] == "record-lost"]
    assert lost["command"] == "mirrorctl settle demo" and str(kept[0]) in lost["detail"]
    the_night_after(run_cli, morning, kind="record-lost", mends=False)
    settled = run_cli(*site.args("settle", "demo"))
    assert settled.code == 0 and "the record that did not read is settled" in settled.out
    again = run_cli(*site.args("nightly", "--format", "json"))
    assert again.code == 0, json.loads(again.out)["needs_human"]
    seen = json.loads(run_cli(*site.args("status", "demo", "--format", "json")).out)
    [demo] = seen["packages"]
    assert demo["unknown"] == [] and demo["kept_aside"] == [str(kept[0])], demo


def test_a_record_of_a_newer_mirrorctl_is_never_written(run_cli, morning: Morning) -> None:
    site = morning.site
    record = site.workdir / "state" / "demo.json"
    newer = json.dumps({"format": 3, "mirrorctl": "0.9.0", "package": "demo",
                        "facts": {"sync": {"shape": "of the future"}}})
    record.write_text(newer)
    unknown_in_every_reader(run_cli, morning, kind="record-lost")
    # No sync failed: what the record holds is not known, and said so (never "failed").
    [demo] = json.loads(run_cli(*site.args("report", "--format", "json")).out)["packages"]
    assert demo["sync"].startswith("unknown: ") and "record format 3" in demo["sync"], demo
    said = run_cli(*site.args("status", "demo")).out
    assert "upstream unknown: its record does not read" in said, said
    synced = run_cli(*site.args("sync"))
    assert synced.code == 1
    assert "written by mirrorctl 0.9.0 (record format 3)" in synced.out
    assert "upgrade mirrorctl" in synced.out
    assert record.read_text() == newer  # left as it is
    night = run_cli(*site.args("nightly", "--format", "json"))
    assert night.code == 1 and record.read_text() == newer


def test_a_night_killed_before_it_writes_is_said_by_every_report(run_cli,
                                                                morning: Morning) -> None:
    """A nightly killed in its sync (kill -9, mid-fetch): no report, no history. Every
    report says when its night ran; `report --last` shows the night before as the night
    before, and every report says the newer one did not finish (issue 31)."""
    site = morning.site
    before = json.loads(run_cli(*site.args("report", "--last", "--format", "json")).out)
    assert before["night"]["started"] and before["night"]["ended"]  # the good night's times
    served = site.root / "served"
    shutil.copytree(site.upstream.path / ".git", served / "up.git")
    with flaky_git_server(served) as server:
        write_config(site.config, {"demo": {
            "upstream": server.repo_url("up.git"), "mirror": str(site.mirror.path),
            "tag_format": "v{version}", "version": "1.1.0"}},
            allowed_protocols=["file", "http"], forge_apis={"github.com": morning.forge.url})
        server.stall("up.git", after=0)
        proc = subprocess.Popen([sys.executable, "-m", "mirrorctl", *site.args("nightly")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
        deadline = time.monotonic() + 60
        while not any(c.stalled for c in server.connections_to("up.git")):
            assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
    last = run_cli(*site.args("report", "--last", "--format", "json"))
    assert last.code == 1
    data = json.loads(last.out)
    assert data["night"] == before["night"]  # the night before, said to be that one
    [need] = [a for a in data["actions"] if a["kind"] == "night-unfinished"]
    assert "did not finish (it got as far as: sync)" in need["detail"]
    assert need["command"] == "mirrorctl nightly"
    for fmt, said in (("md", "did not finish"), ("html", "did not finish")):
        now = run_cli(*site.args("report", "--format", fmt))
        assert now.code == 1 and said in now.out, now.out[:400]


def test_a_night_killed_in_a_carry_leaves_the_package_unknown(run_cli,
                                                             morning: Morning) -> None:
    """What a nightly killed in its carry leaves (the carry's start written, its end
    never): the package is unknown, never 'graded hard' with a need beside it."""
    from mirrorctl.core.record import Fact, write_facts
    from mirrorctl.grade.upgrade import UPGRADE
    from mirrorctl.report.nights import begin_night, reach_stage

    site = morning.site
    site.upstream.commit("release 1.2.0", {"README.md": "1.2.0\n"})
    site.upstream.tag("v1.2.0", annotated=True)
    assert run_cli(*site.args("sync")).code == 0
    stamp = "20261207T020000.000000Z"
    begin_night(site.workdir, stamp)
    reach_stage(site.workdir, stamp, "carry")
    write_facts(site.workdir, "demo", [(UPGRADE, Fact.missing(
        "a carry of demo 1.1.0 started at 2026-12-07 02:00 UTC and did not finish (killed "
        "or interrupted); check its queue folders, then `mirrorctl settle demo`",
        by="nightly", at=stamp))])
    unknown_in_every_reader(run_cli, morning, kind="carry-unknown", releases_known=True,
                            latest="1.2.0")
    report = json.loads(run_cli(*site.args("report", "--format", "json")).out)
    assert "night-unfinished" in [a["kind"] for a in report["actions"]]


# Faults that can meet on one morning, each with its undoing (the morning is shared by
# the examples). A stale cache tag, a current patch damaged, a record cut short, the
# current folder renamed to a version never tagged, a night that did not finish.
def _move_tag(m: Morning) -> Callable[[], None]:
    cache = Repo(m.cache, bare=True)
    was = cache.rev("refs/tags/v1.1.0")
    cache.git("update-ref", "refs/tags/v1.1.0", cache.rev("refs/tags/v1.0.0^{commit}"))
    return lambda: cache.git("update-ref", "refs/tags/v1.1.0", was)


def _damage_patch(m: Morning) -> Callable[[], None]:
    [patch] = m.queue.parent.glob(f"*/{QUEUE_PATCH}")  # its folder renamed or not
    was = patch.read_bytes()
    patch.write_bytes(was[:-12])
    return lambda: patch.write_bytes(was)


def _cut_record(m: Morning) -> Callable[[], None]:
    record = m.site.workdir / "state" / "demo.json"
    was = record.read_bytes()
    record.write_bytes(was[:40])
    return lambda: record.write_bytes(was)


def _rename_queue(m: Morning) -> Callable[[], None]:
    renamed = m.queue.with_name("1.1.7")  # before or after its patch is damaged
    write_config(m.site.config, {"demo": {
        "upstream": str(m.site.upstream.path), "mirror": str(m.site.mirror.path),
        "tag_format": "v{version}", "version": "1.1.7"}},
        allowed_protocols=["file", "http"], forge_apis={"github.com": m.forge.url})
    m.queue.rename(renamed)

    def undo() -> None:
        renamed.rename(m.queue)
        configure(m.site, m.forge)
    return undo


def _unfinished_night(m: Morning) -> Callable[[], None]:
    from datetime import datetime, timezone

    from mirrorctl.report.nights import begin_night, reach_stage

    mark = m.site.workdir / "night.json"
    was = mark.read_bytes()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    begin_night(m.site.workdir, stamp)
    reach_stage(m.site.workdir, stamp, "carry")
    return lambda: mark.write_bytes(was)


COMBINED: dict[str, Callable[[Morning], Callable[[], None]]] = {
    "a cache tag moved": _move_tag, "a current patch cut": _damage_patch,
    "the record cut short": _cut_record, "the queue renamed": _rename_queue,
    "a night unfinished": _unfinished_night,
}


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(faults=st.lists(st.sampled_from(sorted(COMBINED)), min_size=1, max_size=4,
                       unique=True))
def test_faults_together_are_never_good_news(run_cli, morning: Morning,
                                             faults: list[str]) -> None:
    """Any of the faults at once, in any order: the package is unknown in the report and
    in `status` (only a night unfinished leaves it as it was, and is a need of its own),
    every need names a command that works, exit 1, and the readers change nothing."""
    undo = []
    try:
        for fault in faults:
            undo.append(COMBINED[fault](morning))
        before = snapshot(morning)
        report = run_cli(*morning.site.args("report", "--format", "json"))
        data = json.loads(report.out)
        [demo] = data["packages"]
        kinds = [a["kind"] for a in data["actions"]]
        assert report.code == 1 and kinds, data["actions"]
        if faults == ["a night unfinished"]:
            assert kinds == ["night-unfinished"] and demo["level"] == "easy", data["actions"]
        else:
            assert (demo["state"], demo["level"]) == ("unknown", None), (faults, demo)
            assert data["states"].get("up-to-date", 0) == data["states"].get("easy", 0) == 0
        for action in data["actions"]:
            check_told(f"`{action['command']}`", "report")
        status = run_cli(*morning.site.args("status", "demo", "--format", "json"))
        [seen] = json.loads(status.out)["packages"]
        if faults == ["a night unfinished"]:  # a night's need, not a fact of the package
            assert status.code == 0 and seen["unknown"] == [], seen
        else:
            assert status.code == 1 and seen["unknown"] and seen["level"] is None, (faults,
                                                                                    seen)
        assert snapshot(morning) == before
    finally:
        for step in reversed(undo):
            step()
