"""`mirrorctl rebase`: every outcome, on real repositories shaped like numpy's history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mirrorctl.queue.engine import conflict_hunks, same_change
from tests.conftest import Site
from tests.gitrepos import Repo, make_mirror, write_config

# Each case on both ways to git: the same outcomes, the same messages (issue 24).
pytestmark = pytest.mark.usefixtures("both_git_paths")

MATH = "".join(f"double f{n}(double x) {{ return x * {n}; }}\n" for n in range(1, 21))
CONSTANTS = "".join(f"#define C{n} {n}\n" for n in range(1, 11))


def patch_series(repo: Repo, base: str, out: Path,
                 changes: list[tuple[str, str, dict[str, str]]]) -> None:
    """Each (file name, message, files) committed alone on `base` and exported as that file:
    a queue of independent patches, named as the builders name them (all 0001)."""
    out.mkdir(parents=True, exist_ok=True)
    for name, message, files in changes:
        repo.git("checkout", "--quiet", "--detach", base)
        repo.commit(message, files)
        text = repo.git("format-patch", "--stdout", "--zero-commit", "--no-signature",
                        "--no-stat", "--full-index", "-1", "HEAD")
        (out / name).write_text(text + "\n")
    repo.git("checkout", "--quiet", "main")


@pytest.fixture
def numpy_site(tmp_path: Path) -> Site:
    up = Repo(tmp_path / "upstream")
    up.commit("release 1.0.0", {"setup.py": "flags = []\n", "numpy/core/math.c": MATH,
                                "numpy/core/constants.h": CONSTANTS, "README": "Numpy.\n",
                                "docs/notes.txt": "Notes.\n", "tests/test_nan.py": "nan = 1\n"})
    up.tag("v1.0.0", annotated=True)
    queue = tmp_path / "patchsets" / "numpy" / "1.0.0"
    status = "Upstream-Status: Pending"
    patch_series(up, "v1.0.0", queue, [
        ("0001-BLD-riscv64-flags.patch", f"BLD: riscv64 flags\n\n{status}",
         {"setup.py": "flags = ['-march=rv64gc']\n"}),
        ("0001-MAINT-core-math.patch", f"MAINT: core math\n\n{status}",
         {"numpy/core/math.c": MATH.replace("x * 10;", "x * 10.0;")}),
        ("0001-TST-skip-nan.patch", "TST: skip NaN test\n\nUpstream-Status: Submitted "
         "[https://github.com/numpy/numpy/pull/25280]", {"tests/test_nan.py": "nan = 0\n"}),
        ("0001-DOC-readme-typo.patch", f"DOC: readme typo\n\n{status}",
         {"README": "NumPy.\n"}),
        ("0002-ENH-constants.patch", f"ENH: constants\n\n{status}",
         {"numpy/core/constants.h": CONSTANTS.replace("C5 5", "C5 55")}),
        ("0003-DOC-notes.patch", f"DOC: notes\n\n{status}", {"docs/notes.txt": "Notes.\nriscv\n"}),
    ])
    # Upstream between the releases: the move to numpy/_core (with new lines on top),
    # the readme fix taken verbatim, the NaN request merged in another form, and the
    # constants reworked.
    up.git("mv", "numpy/core", "numpy/_core")
    up.commit("MAINT: move core to _core", {"numpy/_core/math.c": "// moved\n" * 5 + MATH})
    up.commit("DOC: readme typo", {"README": "NumPy.\n"})
    up.commit("TST: skip NaN sign tests on riscv64 (#25280)", {"tests/test_nan.py": "nan = 2\n"})
    up.commit("ENH: rework constants", {"numpy/_core/constants.h":
                                        CONSTANTS.replace("C5 5", "C5 500")})
    up.tag("v1.1.0", annotated=True)
    up.commit("release candidate", {"VERSION": "1.2.0rc1\n"})
    up.tag("v1.2.0rc1")
    mirror = make_mirror(tmp_path / "mirror.git")
    config = write_config(tmp_path / "mirrors.yaml", {"numpy": {
        "upstream": str(up.path), "mirror": str(mirror.path), "version": "1.0.0"}})
    return Site(tmp_path, up, mirror, config, tmp_path / "work")


def rebase(run_cli, site: Site, *args: str):  # type: ignore[no-untyped-def]
    assert run_cli(*site.args("sync")).code == 0
    result = run_cli(*site.args("rebase", "numpy", "--format", "json", *args))
    return result, (json.loads(result.out) if result.out.startswith("{") else None)


def by_patch(data: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {p["patch"]: p for p in data["patches"]}


def test_every_outcome_and_a_conflict_does_not_stop_the_run(run_cli, numpy_site: Site) -> None:
    result, data = rebase(run_cli, numpy_site)
    assert result.code == 1, result.err
    assert (data["from"], data["to"], data["onto"], data["status"]) == (
        "1.0.0", "1.1.0", "v1.1.0", "conflict")  # v1.2.0rc1 is a pre-release: not the default
    patches = by_patch(data)
    assert [(name, p["outcome"]) for name, p in patches.items()] == [
        ("0001-BLD-riscv64-flags.patch", "applied"),
        ("0001-DOC-readme-typo.patch", "upstreamed"),
        ("0001-MAINT-core-math.patch", "merged"),
        ("0001-TST-skip-nan.patch", "upstreamed"),
        ("0002-ENH-constants.patch", "conflict"),
        ("0003-DOC-notes.patch", "applied"),
    ]
    up = numpy_site.upstream
    readme_fix = up.git("log", "--format=%H", "--grep=^DOC: readme typo", "v1.1.0")
    assert patches["0001-DOC-readme-typo.patch"]["upstream_commit"] == readme_fix
    nan_fix = up.git("log", "--format=%H", "--grep=#25280", "v1.1.0")
    assert patches["0001-TST-skip-nan.patch"]["upstream_commit"] == nan_fix
    assert "request 25280" in patches["0001-TST-skip-nan.patch"]["detail"]
    merged = patches["0001-MAINT-core-math.patch"]
    assert merged["files"] == ["numpy/_core/math.c"]  # followed the rename
    conflict = patches["0002-ENH-constants.patch"]
    assert conflict["files"] == ["numpy/_core/constants.h"]
    hunks = conflict["conflicts"][0]["hunks"]
    assert "<<<<<<< new base\n#define C5 500\n=======\n#define C5 55\n>>>>>>> patch" in hunks
    assert data["written"] == "not-written"
    assert not (numpy_site.root / "patchsets" / "numpy" / "1.1.0").exists()


def test_keep_partial_writes_a_queue_that_applies(run_cli, numpy_site: Site) -> None:
    result, data = rebase(run_cli, numpy_site, "--keep-partial")
    assert result.code == 1 and data["written"] == "written"
    old = numpy_site.root / "patchsets" / "numpy" / "1.0.0"
    new = numpy_site.root / "patchsets" / "numpy" / "1.1.0"
    assert sorted(p.name for p in new.iterdir()) == [
        "0001-BLD-riscv64-flags.patch", "0001-MAINT-core-math.patch", "0003-DOC-notes.patch",
        "series"]
    # The series says what is missing, and a partial queue never becomes the current one:
    # the next rebase still carries the whole 1.0.0 queue.
    series = (new / "series").read_text().splitlines()
    assert series[0].startswith("# partial: 0002-ENH-constants.patch conflicted on v1.1.0")
    assert series[1:] == ["0001-BLD-riscv64-flags.patch", "0001-MAINT-core-math.patch",
                          "0003-DOC-notes.patch"]
    classified = json.loads(run_cli(*numpy_site.args("classify", "--format", "json")).out)
    assert classified["packages"][0]["from"] == "1.0.0"
    # Applied patches keep their bytes; the merged one is refreshed onto the new path.
    for name in ("0001-BLD-riscv64-flags.patch", "0003-DOC-notes.patch"):
        assert (new / name).read_bytes() == (old / name).read_bytes()
    refreshed = (new / "0001-MAINT-core-math.patch").read_text()
    assert "diff --git a/numpy/_core/math.c b/numpy/_core/math.c" in refreshed
    assert "Upstream-Status: Pending" in refreshed
    applied = run_cli(*numpy_site.args("patches", "apply", "numpy", "--version", "1.1.0"))
    assert applied.code == 0, applied.err


def test_a_clean_rebase_writes_the_queue_once(run_cli, numpy_site: Site) -> None:
    old = numpy_site.root / "patchsets" / "numpy" / "1.0.0"
    (old / "0002-ENH-constants.patch").unlink()
    result, data = rebase(run_cli, numpy_site, "--range-diff")
    assert result.code == 0 and data["status"] == "clean" and data["written"] == "written"
    assert "MAINT: core math" in data["range_diff"]
    # The new queue is the current one now: nothing newer to carry it onto.
    again = run_cli(*numpy_site.args("rebase", "numpy", "--format", "json"))
    assert again.code == 0 and json.loads(again.out)["status"] == "nothing-newer"  # was 2
    told = run_cli(*numpy_site.args("rebase", "numpy", "--dry-run"))
    assert told.code == 0 and "nothing newer to carry: 1.1.0 is numpy's newest release" in \
        told.out
    same = run_cli(*numpy_site.args("rebase", "numpy", "--onto", "1.1.0", "--format", "json"))
    assert same.code == 0 and json.loads(same.out)["written"] == "unchanged"
    older = run_cli(*numpy_site.args("rebase", "numpy", "--onto", "v1.0.0"))
    assert older.code == 2 and "older than numpy's current queue 1.1.0" in older.err


def test_a_backport_header_naming_an_upstream_commit_drops_the_patch(
        run_cli, numpy_site: Site) -> None:
    rework = numpy_site.upstream.git("log", "--format=%H", "--grep=^ENH: rework", "v1.1.0")
    patch = numpy_site.root / "patchsets" / "numpy" / "1.0.0" / "0002-ENH-constants.patch"
    patch.write_text(patch.read_text().replace(
        "Upstream-Status: Pending",
        f"Upstream-Status: Backport [https://github.com/numpy/numpy/commit/{rework}]"))
    result, data = rebase(run_cli, numpy_site)
    assert result.code == 0
    backport = by_patch(data)["0002-ENH-constants.patch"]
    assert (backport["outcome"], backport["upstream_commit"]) == ("upstreamed", rework)


@pytest.mark.parametrize(("onto", "message"), [
    ("v9.9.9", "--onto 'v9.9.9' is no tag or version of numpy"),
    ("banana", "--onto 'banana' is no tag or version of numpy"),
])
def test_bad_onto(run_cli, numpy_site: Site, onto: str, message: str) -> None:
    result, _ = rebase(run_cli, numpy_site, "--onto", onto)
    assert result.code == 2 and message in result.err


def test_explicit_onto_a_prerelease_and_the_table(run_cli, numpy_site: Site) -> None:
    assert run_cli(*numpy_site.args("sync")).code == 0
    result = run_cli(*numpy_site.args("rebase", "numpy", "--onto", "1.2.0rc1"))
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0] == ("numpy 1.0.0 -> 1.2.0rc1 (v1.2.0rc1): conflict; 2 applied, 1 merged, "
                        "2 upstreamed, 1 conflict")
    assert any(line.split()[:2] == ["conflict", "0002-ENH-constants.patch"] for line in lines)
    assert lines[-1].endswith("not written (a patch conflicts; --keep-partial writes the others)")


def test_same_change_ignores_only_blob_ids() -> None:
    old = ("diff --git a/x b/x\nindex 1111111..2222222 100644\n--- a/x\n+++ b/x\n"
           "@@ -1 +1 @@\n-a\n+b\n")
    assert same_change(old, old.replace("1111111..2222222", "3333333..4444444"))
    assert not same_change(old, old.replace("@@ -1 +1 @@", "@@ -5 +5 @@"))


def test_conflict_hunks_keep_context_and_label_the_sides() -> None:
    text = "a\nb\nc\nd\n<<<<<<< 1234:x\nours\n=======\ntheirs\n>>>>>>> 5678:x\ne\nf\ng\nh\n"
    assert conflict_hunks(text) == ("b\nc\nd\n<<<<<<< new base\nours\n=======\ntheirs\n"
                                    ">>>>>>> patch\ne\nf\ng")


def test_a_conflict_resolved_in_a_worktree_is_remembered_and_reused(
        run_cli, numpy_site: Site, tmp_path: Path) -> None:
    worktree = tmp_path / "resolve-here"
    result, data = rebase(run_cli, numpy_site, "--worktree", str(worktree))
    assert result.code == 1
    assert data["waiting_patch"] == "0002-ENH-constants.patch"
    assert data["worktree"] == str(worktree)
    conflicted = worktree / "numpy" / "_core" / "constants.h"
    assert "<<<<<<<" in conflicted.read_text()
    # A second rebase may not start while this one waits; --continue refuses unresolved files.
    again = run_cli(*numpy_site.args("rebase", "numpy"))
    assert again.code == 2 and "waiting for --continue" in again.err
    early = run_cli(*numpy_site.args("rebase", "numpy", "--continue"))
    assert early.code == 1 and "conflicts remain in" in early.err
    assert "numpy/_core/constants.h" in early.err

    # The maintainer resolves the conflict and adds the file; no commit needed.
    conflicted.write_text(CONSTANTS.replace("C5 5", "C5 555"))
    Repo(worktree).git("add", "numpy/_core/constants.h")
    done = run_cli(*numpy_site.args("rebase", "numpy", "--continue", "--format", "json"))
    assert done.code == 0, done.err
    finished = json.loads(done.out)
    assert by_patch(finished)["0002-ENH-constants.patch"]["outcome"] == "merged"
    assert "resolved by hand" in by_patch(finished)["0002-ENH-constants.patch"]["detail"]
    assert by_patch(finished)["0003-DOC-notes.patch"]["outcome"] == "applied"
    new = numpy_site.root / "patchsets" / "numpy" / "1.1.0"
    assert "+#define C5 555" in (new / "0002-ENH-constants.patch").read_text()
    assert not worktree.exists()
    rr_cache = numpy_site.root / "patchsets" / "numpy" / ".rr-cache"
    assert list(rr_cache.glob("*/postimage"))  # the resolution is kept beside the queue

    # Next time (a fresh work directory, only the queue folder carried over) the same
    # conflict is settled by the remembered resolution, without a person.
    import shutil
    shutil.rmtree(new)
    shutil.rmtree(numpy_site.workdir)
    result, data = rebase(run_cli, numpy_site)
    assert result.code == 0, result.err
    reused = by_patch(data)["0002-ENH-constants.patch"]
    assert reused["outcome"] == "merged" and "remembered resolution" in reused["detail"]
    assert "+#define C5 555" in (new / "0002-ENH-constants.patch").read_text()
    assert run_cli(*numpy_site.args("validate")).code == 0


def test_continue_without_a_waiting_rebase(run_cli, numpy_site: Site) -> None:
    assert run_cli(*numpy_site.args("sync")).code == 0
    result = run_cli(*numpy_site.args("rebase", "numpy", "--continue"))
    assert result.code == 2 and "no rebase of numpy is waiting" in result.err
    mixed = run_cli(*numpy_site.args("rebase", "numpy", "--continue", "--onto", "v1.1.0"))
    assert mixed.code == 2


def test_a_merged_patch_names_paths_with_spaces_and_quoting_where_they_went(
        run_cli, tmp_path: Path) -> None:
    notes = "".join(f"note {n}\n" for n in range(1, 11))
    up = Repo(tmp_path / "upstream")
    up.commit("release 1.0.0", {"docs/release notes.txt": notes, "src/naïve.c": "int x;\n"})
    up.tag("v1.0.0", annotated=True)
    patch_series(up, "v1.0.0", tmp_path / "patchsets" / "pkg" / "1.0.0", [(
        "0001-riscv64-notes.patch", "riscv64 notes\n\nUpstream-Status: Pending",
        {"docs/release notes.txt": notes.replace("note 9\n", "note 9 riscv64\n"),
         "src/naïve.c": "int x; /* rv64 */\n"})])
    up.git("mv", "docs", "doc")
    up.commit("DOC: move docs", {"doc/release notes.txt": "moved\n" + notes})
    up.tag("v1.1.0", annotated=True)
    config = write_config(tmp_path / "mirrors.yaml", {"pkg": {
        "upstream": str(up.path), "mirror": str(make_mirror(tmp_path / "m.git").path),
        "version": "1.0.0"}})
    site = Site(tmp_path, up, Repo(tmp_path / "m.git"), config, tmp_path / "work")
    assert run_cli(*site.args("sync")).code == 0
    result = run_cli(*site.args("rebase", "pkg", "--format", "json"))
    assert result.code == 0, result.err
    [patch] = json.loads(result.out)["patches"]
    assert patch["outcome"] == "merged"
    assert patch["files"] == ["doc/release notes.txt", "src/naïve.c"]


def test_a_request_named_in_a_header_is_found_as_git_log_grep_finds_it(tmp_path: Path) -> None:
    """The upstream evidence reads the releases' messages once; a request number matches
    as `git log -E --grep='(#N|!N)([^0-9]|$)'` matches it: a whole number, on any line,
    the newest commit first."""
    import os

    from mirrorctl.core.git import GitRunner, GitSettings
    from mirrorctl.core.repository import Repository
    from mirrorctl.queue.evidence import UpstreamEvidence
    from mirrorctl.queue.patches import PatchFile
    from mirrorctl.queue.status import UpstreamStatus

    up = Repo(tmp_path / "up")
    old = up.commit("release", {"a": "1\n"})
    up.commit("ENH: speed (#123456)", {"a": "2\n"})  # a longer number: no match
    older = up.commit("MAINT: merge !1234\n\nSee also #99.", {"a": "3\n"})
    newest = up.commit("BUG: fix\n\nCloses #1234", {"a": "4\n"})
    repo = Repository(up.path / ".git", GitRunner(GitSettings(base_env=dict(os.environ))))

    def found(url: str) -> str | None:
        patch = PatchFile(path=tmp_path / "p.patch", author="", date="", subject="s",
                          message="s\n", diff="", files=(),
                          status=UpstreamStatus(kind="Submitted", argument=url, line=1))
        named = UpstreamEvidence(repo, old, newest).named_commit(patch)
        return named[0] if named else None

    for number, expected in (("1234", newest), ("99", older), ("123", None)):
        assert found(f"https://github.com/o/r/pull/{number}") == expected, number
        assert [c for c in up.git("log", "-E", f"--grep=(#{number}|!{number})([^0-9]|$)",
                                  "--format=%H", "-1", f"{old}..{newest}").split()] == \
            ([expected] if expected else [])


def test_a_dry_run_says_what_the_rebase_would_do_and_writes_nothing(
        run_cli, numpy_site: Site) -> None:
    assert run_cli(*numpy_site.args("sync")).code == 0
    patchsets = numpy_site.root / "patchsets"
    record = numpy_site.workdir / "state" / "numpy.json"

    def written() -> tuple[object, ...]:
        return (sorted(str(p) for p in patchsets.rglob("*")), record.read_bytes(),
                sorted(p.name for p in (numpy_site.workdir / "rebase").glob("*"))
                if (numpy_site.workdir / "rebase").is_dir() else [])

    before = written()
    dry = run_cli(*numpy_site.args("rebase", "numpy", "--dry-run", "--format", "json"))
    assert written() == before  # no queue, no record, no waiting rebase
    real = run_cli(*numpy_site.args("rebase", "numpy", "--format", "json"))
    assert dry.code == real.code == 1  # a conflict, as the rebase says
    dry_data, real_data = json.loads(dry.out), json.loads(real.out)
    assert dry_data["dry_run"] is True and real_data["dry_run"] is False
    assert [p["outcome"] for p in dry_data["patches"]] == [
        p["outcome"] for p in real_data["patches"]]
    # Without the conflicting patch, what would be written, and still nothing written.
    (patchsets / "numpy" / "1.0.0" / "0002-ENH-constants.patch").unlink()
    before = written()
    clean = run_cli(*numpy_site.args("rebase", "numpy", "--dry-run"))
    assert clean.code == 0 and "would be written; a dry run, nothing was written" in clean.out
    assert written() == before and not (patchsets / "numpy" / "1.1.0").exists()
    refused = run_cli(*numpy_site.args("rebase", "numpy", "--dry-run", "--push"))
    assert refused.code == 2 and "--dry-run writes nothing" in refused.err


def test_the_old_queues_replay_is_made_once_and_checked_before_it_is_read(
        run_cli, numpy_site: Site, caplog: pytest.LogCaptureFixture) -> None:
    """Three git processes a patch replay the old queue on its release: made once, read
    back while its commits are there; the outcomes are the same either way."""
    import logging

    def applies() -> int:  # patches applied (not the reverse-apply checks)
        return sum(r.getMessage().endswith("git apply --cached --whitespace=nowarn -")
                   for r in caplog.records)

    with caplog.at_level(logging.DEBUG, logger="mirrorctl.core.git"):
        _, first = rebase(run_cli, numpy_site)
        assert applies() == 6  # the six patches, on v1.0.0
        caplog.clear()
        _, again = rebase(run_cli, numpy_site)
        assert applies() == 0 and again == first
        # git pruned the replay's commits (unreferenced): replayed, the same again.
        cache = numpy_site.workdir / "cache" / "numpy.git"
        [kept] = (cache / "mirrorctl" / "replays").iterdir()
        for commit, _ in json.loads(kept.read_text())[-1:]:
            (cache / "objects" / commit[:2] / commit[2:]).unlink()
        caplog.clear()
        _, third = rebase(run_cli, numpy_site)
        assert applies() == 6 and third == first
