"""The record of a package's state: facts with who established them and when, unknown
with why, old state files still read, and what sync leaves in it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from mirrorctl.core.config import load_config
from mirrorctl.core.record import Fact, FactKind, read_record, record_path, write_facts
from mirrorctl.sync.standing import sync_standing
from mirrorctl.sync.state import MIRROR, SYNC, UPSTREAM
from tests.conftest import Site
from tests.gitrepos import write_config

COUNT = FactKind[int]("count", lambda n: {"n": n}, lambda d: int(d["n"]))
NAME = FactKind[str]("name", lambda s: s, str)
STAMP = "20261201T020000.000000Z"


def test_facts_are_kept_beside_each_other_and_say_who_and_when(tmp_path: Path) -> None:
    write_facts(tmp_path, "numpy", [(COUNT, Fact.known(3, by="sync", at=STAMP))])
    write_facts(tmp_path, "numpy", [(NAME, Fact.missing("upstream unreachable", by="sync",
                                                         at=STAMP))])
    record = read_record(tmp_path, "numpy")
    assert record.get(COUNT) == Fact(3, None, "sync", STAMP)
    name = record.get(NAME)
    assert name is not None and not name.is_known and name.unknown == "upstream unreachable"
    write_facts(tmp_path, "numpy", [], forget=[COUNT])
    assert read_record(tmp_path, "numpy").get(COUNT) is None
    assert json.loads(record_path(tmp_path, "numpy").read_text())["format"] == 2


def test_a_record_that_cannot_be_read_makes_every_fact_unknown(tmp_path: Path) -> None:
    write_facts(tmp_path, "numpy", [(COUNT, Fact.known(3, by="sync", at=STAMP))])
    path = record_path(tmp_path, "numpy")
    path.write_bytes(path.read_bytes()[:20])  # cut: a disk that filled mid-write elsewhere
    fact = read_record(tmp_path, "numpy").get(COUNT)
    assert fact is not None and not fact.is_known and str(path) in (fact.unknown or "")
    path.write_text(json.dumps({"format": 2, "facts": {"count": {"value": {"m": 1},
                                                                 "by": "sync"}}}))
    fact = read_record(tmp_path, "numpy").get(COUNT)
    assert fact is not None and "its count cannot be read" in (fact.unknown or "")
    path.write_text(json.dumps({"format": 9}))  # a newer mirrorctl's: said so (issue 31)
    assert "written by a newer mirrorctl (record format 9)" in (
        read_record(tmp_path, "numpy").get(COUNT).unknown or "")
    path.write_text(json.dumps({"format": "x"}))
    assert "unknown format" in (read_record(tmp_path, "numpy").get(COUNT).unknown or "")


def test_a_state_file_of_format_1_still_reads(run_cli, site: Site) -> None:
    assert run_cli(*site.args("sync")).code == 0
    record = read_record(site.workdir, "demo")
    memory = record.get(SYNC)
    assert memory is not None and memory.value is not None
    old = {"format": 1, "upstream": memory.value.upstream, "pushed": memory.value.pushed,
           "pending": {}, "upstream_error": None}
    record_path(site.workdir, "demo").write_text(json.dumps(old))
    config = load_config(site.config)
    standing = sync_standing(site.workdir, config.packages["demo"])
    assert standing.health == "ok" and standing.upstream_problem is None
    assert run_cli(*site.args("releases")).code == 0
    old["upstream_error"] = "reading upstream refs: fatal: unreachable"
    record_path(site.workdir, "demo").write_text(json.dumps(old))
    standing = sync_standing(site.workdir, config.packages["demo"])
    assert standing.health == "failed: reading upstream refs: fatal: unreachable"
    assert run_cli(*site.args("sync")).code == 0  # and the next sync writes format 2
    assert read_record(site.workdir, "demo").get(UPSTREAM).is_known


def test_sync_records_the_cache_and_the_mirror_as_it_read_them(run_cli, site: Site) -> None:
    assert run_cli(*site.args("sync")).code == 0
    record = read_record(site.workdir, "demo")
    upstream, mirror = record.get(UPSTREAM), record.get(MIRROR)
    assert upstream is not None and upstream.value is not None and upstream.by == "sync"
    assert upstream.value.tags == 2 and upstream.at is not None
    assert mirror is not None and mirror.value is not None
    assert dict(mirror.value.riscv64) == {"riscv64/1.1.0": site.mirror.rev("riscv64/1.1.0")}
    config = load_config(site.config)
    assert sync_standing(site.workdir, config.packages["demo"]).mirrored.version == "1.1.0"


def test_what_the_cache_and_the_record_contradict_is_unknown(run_cli, site: Site) -> None:
    assert run_cli(*site.args("sync")).code == 0
    package = load_config(site.config).packages["demo"]
    cache = site.workdir / "cache" / "demo.git"
    shutil.move(record_path(site.workdir, "demo"), site.root / "saved.json")
    standing = sync_standing(site.workdir, package, tags=["v1.0.0"])
    assert standing.health.startswith("failed") and "no record beside it" in standing.health
    shutil.move(site.root / "saved.json", record_path(site.workdir, "demo"))
    standing = sync_standing(site.workdir, package, tags=[])
    assert "holds none of the 2 tags" in (standing.upstream_problem or "")
    shutil.rmtree(cache)
    standing = sync_standing(site.workdir, package)
    assert "is gone" in (standing.upstream_problem or "")


def test_a_package_without_a_mirror_says_so(run_cli, site: Site) -> None:
    write_config(site.config, {"demo": {"upstream": str(site.upstream.path),
                                        "version": "1.1.0"}})
    assert run_cli(*site.args("sync")).code == 0
    package = load_config(site.config).packages["demo"]
    mirrored = sync_standing(site.workdir, package).mirrored
    assert (mirrored.state, mirrored.text) == ("no-mirror", "no mirror")


def test_a_sync_that_finds_nothing_new_writes_nothing(run_cli, site: Site) -> None:
    """The nightly no-op costs an ls-remote a side and no write: its facts are the
    record's already (and a kill there leaves nothing to mark as unfinished)."""
    assert run_cli(*site.args("sync")).code == 0
    path = record_path(site.workdir, "demo")
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    assert run_cli(*site.args("sync")).code == 0
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    site.mirror.git("branch", "riscv64/1.2.0", "riscv64/1.1.0")  # the mirror's own change
    assert run_cli(*site.args("sync")).code == 0
    mirror = read_record(site.workdir, "demo").get(MIRROR)
    assert mirror is not None and mirror.value is not None
    assert set(mirror.value.riscv64) == {"riscv64/1.1.0", "riscv64/1.2.0"}


def test_the_work_directory_never_shows_in_the_repository_beside_it(run_cli, site: Site) -> None:
    from tests.gitrepos import git

    git(site.root, "init", "--quiet")
    workdir = site.root / ".mirrorctl"  # the default: beside mirrors.yaml
    args = ["--config", str(site.config), "-q"]
    assert run_cli(*args, "sync").code == 0
    assert (workdir / "cache").is_dir()
    untracked = git(site.root, "status", "--porcelain", "--untracked-files=all")
    assert ".mirrorctl" not in untracked, untracked
