"""What the loop across releases must never get wrong: an unknown upstream is never good
news, a queue is never replaced or rewritten behind a maintainer's back, and a conflict
marker never reaches a queue."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Site
from tests.gitrepos import Repo
from tests.test_patches import STATUS, make_queue


def json_of(run_cli, site: Site, *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    result = run_cli(*site.args(*args, "--format", "json"))
    assert result.out.startswith("{"), result.err
    return result.code, json.loads(result.out)


def test_an_upstream_the_sync_could_not_read_is_unknown_never_up_to_date(
        run_cli, site: Site) -> None:
    assert run_cli(*site.args("sync")).code == 0
    code, classified = json_of(run_cli, site, "classify")
    assert code == 0 and classified["packages"][0]["level"] == "easy"  # up to date, truly
    moved = site.upstream.path.with_name("moved-away")
    site.upstream.path.rename(moved)
    assert run_cli(*site.args("sync")).code == 1

    code, classified = json_of(run_cli, site, "classify")
    [c] = classified["packages"]
    assert code == 1 and c["level"] is None and c["state"] == "unknown"
    assert "upstream unknown" in c["error"] and "mirrorctl sync demo" in c["error"]
    table = run_cli(*site.args("classify"))
    assert table.code == 1 and "unknown" in table.out and "easy" not in table.out
    code, found = json_of(run_cli, site, "releases")
    [r] = found["packages"]
    assert code == 1 and r["latest"] is None and r["upstream_unknown"] is True
    assert "unknown" in run_cli(*site.args("releases")).out
    _, reported = json_of(run_cli, site, "report")
    [p] = reported["packages"]
    assert p["level"] is None and p["latest"] is None
    assert any("upstream unknown" in problem for problem in p["problems"])
    markdown = run_cli(*site.args("report")).out
    [row] = [line for line in markdown.splitlines() if line.startswith("| demo |")]
    assert row.startswith("| demo | 1.1.0 | unknown | - | - |") and "easy" not in row
    assert "unknown 1 · medium 0 · easy 0" in markdown  # counted as unknown, never easy

    moved.rename(site.upstream.path)  # upstream is back: so is the truth
    assert run_cli(*site.args("sync")).code == 0
    code, classified = json_of(run_cli, site, "classify")
    assert code == 0 and classified["packages"][0]["level"] == "easy"


def plain_queue(site: Site) -> Path:
    """A queue as `git format-patch` writes it by default: [PATCH 1/2], a diffstat, a
    signature, real commit ids."""
    repo, directory = site.upstream, site.root / "patchsets" / "demo" / "1.1.0"
    base = repo.head()
    repo.commit(f"BLD: riscv64 wheels\n\n{STATUS}", {"setup.py": "riscv64 = True\n"})
    repo.commit(f"TST: canonical NaN\n\n{STATUS}", {"src/core.c": "int main(void) { return 1; }\n"})
    directory.mkdir(parents=True)
    repo.git("format-patch", "--quiet", "-o", str(directory), f"{base}..HEAD")
    repo.git("reset", "--quiet", "--hard", base)
    return directory


def test_apply_then_export_of_a_plain_format_patch_queue_rewrites_nothing(
        run_cli, site: Site) -> None:
    queue = plain_queue(site)
    before = {p.name: p.read_bytes() for p in queue.iterdir()}
    assert b"Subject: [PATCH 1/2]" in before["0001-BLD-riscv64-wheels.patch"]
    assert run_cli(*site.args("sync")).code == 0
    applied = run_cli(*site.args("patches", "apply", "demo", "--push", "--force"))
    assert applied.code == 0, applied.err
    code, exported = json_of(run_cli, site, "patches", "export", "demo", "--base", "v1.1.0",
                             "--from-branch", "riscv64/1.1.0")
    assert code == 0 and exported["changed"] is False
    assert {p.name: p.read_bytes() for p in queue.iterdir()} == before

    # A branch that now carries one patch of the two never replaces the queue unasked.
    maintainer = Repo(site.root / "maintainer")
    maintainer.git("fetch", "--quiet", str(site.mirror.path), "refs/heads/riscv64/1.1.0")
    maintainer.git("checkout", "--quiet", "FETCH_HEAD~1")
    maintainer.git("push", "--quiet", "--force", str(site.mirror.path),
                   "HEAD:refs/heads/riscv64/1.1.0")
    result = run_cli(*site.args("patches", "export", "demo", "--base", "v1.1.0",
                                "--from-branch", "riscv64/1.1.0"))
    assert result.code == 2 and "pass --force" in result.err
    assert {p.name: p.read_bytes() for p in queue.iterdir()} == before
    code, forced = json_of(run_cli, site, "patches", "export", "demo", "--base", "v1.1.0",
                           "--from-branch", "riscv64/1.1.0", "--force")
    assert code == 0 and forced["patches"] == ["0001-BLD-riscv64-wheels.patch"]
    # the patch that stayed is still the maintainer's file, byte for byte
    assert (queue / "0001-BLD-riscv64-wheels.patch").read_bytes() == \
        before["0001-BLD-riscv64-wheels.patch"]
    assert sorted(p.name for p in queue.iterdir()) == ["0001-BLD-riscv64-wheels.patch"]


def test_validate_refuses_a_patch_that_adds_a_conflict_marker(run_cli, site: Site) -> None:
    directory = site.root / "patchsets" / "demo" / "1.1.0"
    make_queue(site.upstream, directory, [
        (f"MAINT: half resolved\n\n{STATUS}",
         {"src/core.c": "<<<<<<< ours\nint main(void) { return 1; }\n=======\n"
                        "int main(void) { return 2; }\n>>>>>>> theirs\n"}),
        # An reStructuredText underline alone is no marker.
        (f"DOC: a title\n\n{STATUS}", {"docs/index.rst": "Title\n=======\n"}),
    ])
    [patch, doc] = sorted(directory.glob("*.patch"))
    result = run_cli(*site.args("validate"))
    assert result.code == 2
    lines = patch.read_text().splitlines()
    line = lines.index("+<<<<<<< ours") + 1
    assert f"{patch}:{line}: adds a conflict marker (<<<<<<<)" in result.out
    assert str(doc) not in result.out


def test_readers_never_fail_on_a_running_writer_and_writers_can_wait(
        run_cli, site: Site) -> None:
    import threading
    import time

    from mirrorctl.core.lock import no_readers, reader_lock, workdir_lock

    assert run_cli(*site.args("sync")).code == 0
    with workdir_lock(site.workdir, "nightly"):  # a nightly is running
        for args in (["classify"], ["releases"], ["report"], ["report", "--format", "json"]):
            result = run_cli(*site.args(*args))
            assert result.code == 0, (args, result.err)
        refused = run_cli(*site.args("sync"))
        assert refused.code == 75 and "--wait" in refused.err  # 1 before issue 31
        started = time.monotonic()
        waited = run_cli(*site.args("sync", "--wait", "0.5"))
        assert waited.code == 75 and "waited 0.5s" in waited.err
        assert time.monotonic() - started >= 0.5
        recorded = run_cli(*site.args("report", "--record"))  # a report that writes waits too
        assert recorded.code == 75 and "another mirrorctl run holds" in recorded.err

    held = threading.Event()

    def hold_briefly() -> None:
        with workdir_lock(site.workdir, "sync"):
            held.set()
            time.sleep(0.6)

    holder = threading.Thread(target=hold_briefly)
    holder.start()
    held.wait()
    assert run_cli(*site.args("sync", "--wait")).code == 0  # --wait alone: until it is free
    holder.join()
    # A writer tidies the caches only when no reader is at work.
    with reader_lock(site.workdir), no_readers(site.workdir) as alone:
        assert alone is False
    with no_readers(site.workdir) as alone:
        assert alone is True


def test_the_smaller_promises(run_cli, site: Site, tmp_path: Path) -> None:
    import os
    import stat

    from tests.gitrepos import write_config

    assert run_cli(*site.args("sync")).code == 0
    # Package names compare as PyPI compares them (PEP 503).
    assert run_cli(*site.args("sync", "DEMO")).code == 0
    assert run_cli(*site.args("classify", "Demo")).code == 0
    doubled = write_config(tmp_path / "doubled.yaml", {
        "demo": {"upstream": str(site.upstream.path), "mirror": str(site.mirror.path)},
        "DEMO": {"upstream": str(site.upstream.path), "mirror": str(tmp_path / "m2.git")}})
    result = run_cli("--config", str(doubled), "validate")
    assert result.code == 2 and "is the same PyPI name as 'demo'" in result.out

    # A version: that names no queue folder while there are others, a patch left out of
    # series, and pin: without a version, are validate errors.
    queues = site.root / "patchsets" / "demo"
    make_queue(site.upstream, queues / "1.0.0", [(f"BLD: one\n\n{STATUS}", {"a.txt": "a\n"})])
    result = run_cli(*site.args("validate"))  # version: 1.1.0, only 1.0.0 exists
    assert result.code == 2 and "1.1.0 has no queue folder" in result.out
    assert f"{site.config}:" in result.out  # with the line of version:
    make_queue(site.upstream, queues / "1.1.0", [(f"BLD: one\n\n{STATUS}", {"a.txt": "a\n"}),
                                                (f"BLD: two\n\n{STATUS}", {"b.txt": "b\n"})])
    (queues / "1.1.0" / "series").write_text("0001-BLD-one.patch\n")
    result = run_cli(*site.args("validate"))
    assert result.code == 2 and "0002-BLD-two.patch is in the folder but not in series" \
        in result.out
    (queues / "1.1.0" / "series").unlink()
    assert run_cli(*site.args("validate")).code == 0
    pinned = write_config(tmp_path / "pinned.yaml", {"demo": {
        "upstream": str(site.upstream.path), "mirror": str(site.mirror.path), "pin": True}})
    result = run_cli("--config", str(pinned), "validate")
    assert result.code == 2 and "pin: true holds the package at its version" in result.out

    # What mirrorctl writes for people gets the umask's modes, not mkstemp's 0600.
    old = os.umask(0o022)
    try:
        assert run_cli(*site.args("report", "-o", str(tmp_path / "report.md"))).code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "report.md").stat().st_mode) == 0o644

    # One broken result never fails a merge: it is named, its package unknown.
    results = tmp_path / "results"
    results.mkdir()
    _, good = json_of(run_cli, site, "report")
    (results / "demo.json").write_text(json.dumps(good))
    (results / "other.json").write_text(json.dumps(good)[:40])  # a job killed mid-write
    merged = run_cli(*site.args("report", "--merge", str(results), "--format", "json"))
    assert merged.code == 1
    data = json.loads(merged.out)
    by_name = {p["name"]: p for p in data["packages"]}
    assert by_name["demo"]["level"] == "easy"
    assert by_name["other"]["state"] == "unknown"
    assert "other.json cannot be read" in by_name["other"]["problems"][0]


def test_the_work_directory_is_beside_mirrors_yaml_wherever_it_runs(
        run_cli, site: Site, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert run_cli("--config", str(site.config), "-q", "sync").code == 0
    assert (site.config.parent / ".mirrorctl" / "cache" / "demo.git").is_dir()
    assert not (elsewhere / ".mirrorctl").exists()
