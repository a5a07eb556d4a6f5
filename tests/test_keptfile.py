"""core.keptfile: one codec for every small file mirrorctl keeps. Each file reads back
what was written; one that does not read is one error naming the file and why (or, for
a cache, absent); a newer mirrorctl's format is refused, saying so; and every file as
mirrorctl wrote it before it said its format still reads."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mirrorctl.core.errors import EXIT_FAILURE, MirrorctlError, UsageError
from mirrorctl.core.keptfile import KeptFile, KeptFileError, want
from mirrorctl.core.record import RECORD_FILE, RecordFile
from mirrorctl.core.repository import PEELED_FILE
from mirrorctl.grade.builds import RESULTS_FILE, Build, Case, Results, kept_results
from mirrorctl.grade.index import ANSWER_FILE, KeptAnswer
from mirrorctl.grade.stack import Stack, StackPackage
from mirrorctl.grade.stackkept import STACK_FILE, KeptStack, kept_blockers
from mirrorctl.night.deliver.dispatch import DISPATCHED_FILE, dispatch_builds
from mirrorctl.night.deliver.upgrade_request import COMMENTS_FILE
from mirrorctl.night.stacks import STACKS_RECORD, recorded_stacks
from mirrorctl.queue.evidence import EVIDENCE_FILE, KeptEvidence
from mirrorctl.queue.kept import KeptPatches, KeptStatuses
from mirrorctl.queue.waiting import (
    DecidedPatch,
    WaitingRebase,
    waiting_file,
    waiting_path,
    waiting_worktree,
)
from mirrorctl.report.history import HISTORY_FILE, Record, RecordedPackage, TrendPoint, read_history
from mirrorctl.report.nights import NIGHT_FILE, STAGES, Night, read_night
from mirrorctl.report.stacks import BlockerRow, StackRow, Stacks
from mirrorctl.upstream.front import DRAFT_FRONT, DraftFront, read_front
from mirrorctl.upstream.wheels.search import _SEARCHES, _Kept

STAMP = "20261207T020000.000000Z"
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


# -- the codec itself ---------------------------------------------------------------

@dataclass(frozen=True)
class Pair:
    name: str
    count: int


def _pair(data: dict[str, Any]) -> Pair:
    return Pair(want(data, "name", str), want(data, "count", int))


PAIR = KeptFile[Pair](what="a pair", format=3, encode=lambda p: {"name": p.name,
                                                                   "count": p.count},
                      decode=_pair,
                      # 1 held "n" for the count; 2 named it "count", without a name.
                      migrations={1: lambda d: {"count": d["n"]},
                                  2: lambda d: {**d, "name": "?"}})


@settings(max_examples=50, deadline=None)
@given(texts, st.integers())
def test_what_is_written_reads_back(tmp_path_factory: pytest.TempPathFactory, name: str,
                                    count: int) -> None:
    path = tmp_path_factory.mktemp("pair") / "pair.json"
    PAIR.write(path, Pair(name, count))
    assert PAIR.read(path) == Pair(name, count)
    assert json.loads(path.read_text())["format"] == 3


def test_no_file_is_none_and_older_formats_read_through_their_migrations(
        tmp_path: Path) -> None:
    path = tmp_path / "pair.json"
    assert PAIR.read(path) is None
    path.write_text(json.dumps({"format": 1, "n": 7}))
    assert PAIR.read(path) == Pair("?", 7)
    path.write_text(json.dumps({"format": 2, "count": 8}))
    assert PAIR.read(path) == Pair("?", 8)


ODD: dict[str, tuple[bytes, str, str]] = {
    # what the file holds: (its bytes, the problem, what the message says)
    "cut short": (b'{"format": 3, "na', "unreadable", "not JSON (Unterminated string"),
    "not UTF-8": (b'{"format": 3, "name": "\xff"}', "unreadable", "not UTF-8 text"),
    "a key missing": (b'{"format": 3, "name": "x"}', "shape", "no 'count'"),
    "a key of another type": (b'{"format": 3, "name": "x", "count": "7"}', "shape",
                              "'count' is not a number but '7'"),
    "no object": (b"[1, 2]", "shape", "says no format"),
    "no format": (b'{"name": "x", "count": 1}', "shape", "says no format"),
    "a format not a number": (b'{"format": "3"}', "shape", "its format '3' is not a number"),
    "a newer format": (b'{"format": 4}', "newer",
                       "written by a newer mirrorctl: format 4, this one reads up to 3; "
                       "upgrade mirrorctl"),
    "a newer mirrorctl's": (b'{"format": 5, "mirrorctl": "0.9.0"}', "newer",
                            "written by a newer mirrorctl (0.9.0): format 5"),
    "an older format without a migration": (b'{"format": 0}', "older",
                                            "format 0, which this mirrorctl no longer "
                                            "reads (it reads format 3)"),
    "a migration that fails": (b'{"format": 1}', "shape", "no 'n'"),
}


@pytest.mark.parametrize("odd", list(ODD))
def test_a_file_that_does_not_read_is_one_error_naming_it_and_why(tmp_path: Path,
                                                                 odd: str) -> None:
    raw, problem, said = ODD[odd]
    path = tmp_path / "pair.json"
    path.write_bytes(raw)
    with pytest.raises(KeptFileError) as caught:
        PAIR.read(path)
    error = caught.value
    assert isinstance(error, MirrorctlError) and error.exit_code == EXIT_FAILURE
    assert (error.path, error.problem) == (path, problem)
    assert str(error).startswith(f"{path} (a pair) does not read: ")
    assert said in str(error)


def test_a_file_the_file_system_refuses_is_the_same_error(tmp_path: Path) -> None:
    (tmp_path / "pair.json").mkdir()  # a folder where the file should be
    with pytest.raises(KeptFileError, match=r"pair.json \(a pair\) does not read: Is a dir"):
        PAIR.read(tmp_path / "pair.json")


def test_without_a_format_a_file_reads_as_the_format_it_is_given(tmp_path: Path) -> None:
    old = KeptFile[Pair](what="a pair", format=1, unformatted=1, decode=_pair,
                         encode=lambda p: {"name": p.name, "count": p.count})
    path = tmp_path / "pair.json"
    path.write_text('{"name": "x", "count": 2}')
    assert old.read(path) == Pair("x", 2)
    assert old.read_data(path) == {"name": "x", "count": 2}  # undecoded


# -- each file kept, on its codec ---------------------------------------------------

def _newer(codec: KeptFile[Any], path: Path) -> KeptFileError:
    path.write_text(json.dumps({"format": codec.format + 1}))
    with pytest.raises(KeptFileError) as caught:
        codec.read(path)
    assert caught.value.problem == "newer"
    assert f"format {codec.format + 1}, this one reads up to {codec.format}" in str(caught.value)
    return caught.value


EVERY: dict[str, KeptFile[Any]] = {
    "night": NIGHT_FILE, "history": HISTORY_FILE, "stacks": STACKS_RECORD,
    "waiting": waiting_file("numpy"), "record": RECORD_FILE,
    "statuses": KeptStatuses._FILE, "parses": KeptPatches._FILE, "evidence": EVIDENCE_FILE,
    "stack": STACK_FILE, "answer": ANSWER_FILE, "results": RESULTS_FILE,
    "searches": _SEARCHES, "peeled": PEELED_FILE, "dispatched": DISPATCHED_FILE,
    "comments": COMMENTS_FILE,
}


@pytest.mark.parametrize("name", list(EVERY))
def test_every_kept_file_refuses_what_does_not_read_naming_it(tmp_path: Path,
                                                               name: str) -> None:
    codec, path = EVERY[name], tmp_path / f"{name}.json"
    path.write_text("{not json")
    with pytest.raises(KeptFileError, match="does not read: not JSON") as caught:
        codec.read(path)
    assert str(path) in str(caught.value) and codec.what in str(caught.value)
    _newer(codec, path)


def test_the_nights_mark(tmp_path: Path) -> None:
    # As mirrorctl wrote it before its codec: the same file.
    (tmp_path / "night.json").write_text(json.dumps(
        {"format": 1, "started": STAMP, "stage": "carry", "ended": None}, indent=1) + "\n")
    assert read_night(tmp_path) == Night(started=STAMP, stage="carry")
    # A mark that does not read, or a newer one, is no mark (it only adds to a report).
    (tmp_path / "night.json").write_text('{"format": 1, "stage": "carry"}')
    assert read_night(tmp_path) is None
    _newer(NIGHT_FILE, tmp_path / "night.json")
    assert read_night(tmp_path) is None


@settings(max_examples=50, deadline=None)
@given(texts, st.sampled_from(STAGES), st.none() | texts)
def test_the_nights_mark_reads_back(tmp_path_factory: pytest.TempPathFactory, started: str,
                                    stage: str, ended: str | None) -> None:
    path = tmp_path_factory.mktemp("night") / "night.json"
    NIGHT_FILE.write(path, Night(started=started, stage=stage, ended=ended))
    assert NIGHT_FILE.read(path) == Night(started=started, stage=stage, ended=ended)


def test_a_history_record(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from mirrorctl.grade.builds import BuildSummary
    from mirrorctl.report.history import save_record

    record = Record(stamp=STAMP, trend=TrendPoint(STAMP, 2, 1, 0), summary="3 patches",
                    by_status={"Pending": 2, "Submitted": 1}, needs_human=1, packages={
                        "numpy": RecordedPackage(
                            current="2.2.4", patches={"0001-a.patch": "Pending"},
                            accepted=frozenset({"0002-b.patch"}), latest="2.2.5",
                            level="easy", conflicts=frozenset({"0001-a.patch"}),
                            builds=(BuildSummary("3.12", True, True, 10, 1, 2),))})
    path = save_record(tmp_path, record)
    assert read_history(tmp_path) == (record,)
    # As report.write_record wrote it before the codec, key for key.
    assert json.loads(path.read_text()) == {
        "format": 1, "stamp": STAMP, "summary": "3 patches",
        "by_status": {"Pending": 2, "Submitted": 1}, "needs_human": 1,
        "trend": {"pending": 2, "submitted": 1, "accepted": 0},
        "packages": {"numpy": {
            "current": "2.2.4", "latest": "2.2.5", "level": "easy",
            "builds": [{"python": "3.12", "built": True, "tested": True, "passed": 10,
                        "failed": 1, "skipped": 2}],
            "patches": {"0001-a.patch": "Pending"}, "accepted": ["0002-b.patch"],
            "conflicts": ["0001-a.patch"]}}}
    _newer(HISTORY_FILE, tmp_path / "history" / "20261208T020000.000000Z.json")
    with caplog.at_level(logging.WARNING):
        assert read_history(tmp_path) == (record,)  # the newer one skipped, and said
    assert "written by a newer mirrorctl" in caplog.text


def test_the_nights_stacks(tmp_path: Path) -> None:
    stacks = Stacks(stamp=STAMP, top=("vllm",), rows=(StackRow(
        root="vllm", python="3.12", packages=3, wheels=2, not_known=0,
        blocked_by=("torch",), order=("torch",)),), blockers=(BlockerRow(
            name="torch", roots=("vllm",), pythons=("3.12",), packages=1,
            in_inventory=False),))
    STACKS_RECORD.write(tmp_path / "stacks.json", stacks)
    assert recorded_stacks(tmp_path) == stacks
    _newer(STACKS_RECORD, tmp_path / "stacks.json")
    unknown = recorded_stacks(tmp_path)  # said unknown, never stacks without blockers
    assert unknown is not None and unknown.rows == ()
    assert "stacks.json does not read (written by a newer mirrorctl" in unknown.unknown[0]


WAITING = WaitingRebase(
    package="numpy", from_version="1.0.0", to_version="1.1.0", onto="v1.1.0",
    worktree=Path("/tmp/wt"), waiting_on="a" * 40, patches=("0001-a.patch", "0002-b.patch"),
    decided=(DecidedPatch(patch="0001-a.patch", outcome="applied", files=("f",),
                          upstream_commit=None, detail="", commit="b" * 40,
                          old_commit="c" * 40),),
    keep_partial=False, force=True, conflict_ids=("d" * 40,), config=Path("/m.yaml"),
    waiting_commit="e" * 40, conflicted=("f",))


def test_a_waiting_rebase(tmp_path: Path) -> None:
    WAITING.save(tmp_path)
    assert WaitingRebase.load(tmp_path, "numpy") == WAITING
    path = waiting_path(tmp_path, "numpy")
    # As mirrorctl wrote it before it said its format.
    data = json.loads(path.read_text())
    del data["format"]
    path.write_text(json.dumps(data, indent=1))
    assert WaitingRebase.load(tmp_path, "numpy") == WAITING
    # One that does not read names itself, and the command that ends it (a usage error).
    path.write_text(json.dumps({**data, "decided": [{"patch": "x"}]}))
    with pytest.raises(UsageError, match=r"waiting rebase of numpy cannot be read \(.*"
                                         r"numpy.json: not as mirrorctl writes it .*--abort"):
        WaitingRebase.load(tmp_path, "numpy")
    assert waiting_worktree(tmp_path, "numpy") == Path("/tmp/wt")  # --abort reads that far
    _newer(waiting_file("numpy"), path)
    with pytest.raises(UsageError, match="written by a newer mirrorctl"):
        WaitingRebase.load(tmp_path, "numpy")


def test_a_package_record_as_written_before_its_codec_still_reads(tmp_path: Path) -> None:
    from mirrorctl.core.record import read_record, record_path

    path = record_path(tmp_path, "numpy")
    path.parent.mkdir()
    entries = {"count": {"value": {"n": 3}, "by": "sync", "at": STAMP}}
    path.write_text(json.dumps({"format": 2, "mirrorctl": "0.0.9", "package": "numpy",
                                "facts": entries}, indent=1, sort_keys=True) + "\n")
    record = read_record(tmp_path, "numpy")
    assert (record.problem, dict(record.entries), record.writer) == (None, entries, "0.0.9")
    RECORD_FILE.write(path, RecordFile(package="numpy", entries=entries, writer="0.0.9"))
    assert json.loads(path.read_text())["mirrorctl"] == "0.0.9"
    assert RECORD_FILE.read(path) == RecordFile(package="numpy", entries=entries,
                                                writer="0.0.9")


@pytest.mark.parametrize("kept", [KeptStatuses, KeptPatches])
def test_the_queue_files_kept_are_a_cache(tmp_path: Path, kept: Any) -> None:
    path = tmp_path / "kept.json"
    for odd in ("{not json", json.dumps({"format": 1}), json.dumps({"format": 99}),
                json.dumps({"format": kept._FILE.format, "files": []})):
        path.write_text(odd)
        assert kept(path)._entries == {}  # read again whole: nothing in it is the only copy


def test_what_upstream_did_between_two_releases(tmp_path: Path) -> None:
    path = tmp_path / "evidence.json"
    learnt = KeptEvidence(messages=(("a" * 40, "BUG: x\n"),), patch_ids={"p": "a" * 40},
                          diffs={"d": ""})
    EVIDENCE_FILE.write(path, learnt)
    assert EVIDENCE_FILE.read(path) == learnt
    # As kept before it said its format; a part not as mirrorctl keeps it is asked of
    # git again, the others still read.
    path.write_text(json.dumps({"messages": [["a" * 40]], "patch_ids": {"p": "a" * 40}}))
    assert EVIDENCE_FILE.read(path) == KeptEvidence(patch_ids={"p": "a" * 40})


def test_a_stacks_resolution_kept(tmp_path: Path) -> None:
    stack = Stack(root="vllm", python="3.12", blocked_by=("torch",), packages=(
        StackPackage(name="vllm", version="1.0", install="pypi-wheel", requires=("torch",),
                     required_by=()),
        StackPackage(name="torch", version="2.0", install="sdist-only", requires=(),
                     required_by=("vllm",), blocks=("vllm",), build_requires=None)))
    kept = KeptStack(index_url="https://pypi.org", index={"/pypi/vllm/json": "x"},
                     registry={}, stack=stack)
    folder = tmp_path / "stacks"
    STACK_FILE.write(folder / "one.json", kept)
    assert STACK_FILE.read(folder / "one.json") == kept
    (folder / "two.json").write_text("{not json")  # a cache: says nothing
    assert kept_blockers(folder, ["vllm"], ["3.12"], "https://pypi.org/") == {"torch": ("vllm",)}


def test_an_index_answer_kept(tmp_path: Path) -> None:
    from mirrorctl.grade.index import PackageIndex

    answer = KeptAnswer(url="https://pypi.org/pypi/x/json", data={"version": "1"},
                        etag='"e"', fresh_until=12.5)
    ANSWER_FILE.write(tmp_path / "a.json", answer)
    assert ANSWER_FILE.read(tmp_path / "a.json") == answer
    index = PackageIndex("https://pypi.org", kept=tmp_path)
    file = index._kept_path("/pypi/x/json")
    assert file is not None
    ANSWER_FILE.write(file, answer)
    assert index._read_kept("/pypi/x/json") == answer
    file.write_text(json.dumps({"format": 1, "url": answer.url, "data": {}}))  # format 1's
    assert index._read_kept("/pypi/x/json") is None  # are asked again


results = st.builds(Results, version=texts, source=texts, run=texts, builds=st.lists(
    st.builds(Build, python=texts, built=st.booleans(), tested=st.booleans(), cases=st.lists(
        st.builds(Case, name=texts, outcome=st.sampled_from(["passed", "failed", "error",
                                                             "skipped"]), message=texts),
        max_size=3).map(tuple)), max_size=3).map(tuple))


@settings(max_examples=50, deadline=None)
@given(results)
def test_the_builds_results_kept_read_back(tmp_path_factory: pytest.TempPathFactory,
                                          kept: Results) -> None:
    path = tmp_path_factory.mktemp("results") / "r.json"
    RESULTS_FILE.write(path, kept)
    assert RESULTS_FILE.read(path) == kept


def test_the_builds_results_that_do_not_read_are_not_read_yet(tmp_path: Path) -> None:
    path = tmp_path / "results" / "numpy" / "2.0.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"version": "2.0", "builds": [{"python": "3.12"}]}')
    assert kept_results(tmp_path, "numpy", "2.0") is None
    path.write_text('{"version": "2.0", "builds": []}')  # as kept before its format
    assert kept_results(tmp_path, "numpy", "2.0") == Results(version="2.0", builds=())


def test_the_forge_searches_kept(tmp_path: Path) -> None:
    kept = _Kept(searches={"github.com riscv64 repo:a/b": {"etag": "e", "items": []}},
                 notes={"u": None}, pass_started=STAMP)
    kept.write(tmp_path / "s.json")
    assert _Kept.read(tmp_path / "s.json") == kept
    _newer(_SEARCHES, tmp_path / "s.json")
    assert _Kept.read(tmp_path / "s.json") == _Kept()  # a cache: asked again


peeled = st.dictionaries(st.text("0123456789abcdef", min_size=40, max_size=40),
                         st.none() | st.tuples(texts, texts), max_size=5)


@settings(max_examples=50, deadline=None)
@given(peeled)
def test_the_tags_peeled_read_back(tmp_path_factory: pytest.TempPathFactory,
                                   kept: dict[str, tuple[str, str] | None]) -> None:
    path = tmp_path_factory.mktemp("peeled") / "peeled.json"
    PEELED_FILE.write(path, kept)
    assert PEELED_FILE.read(path) == kept


def test_the_tags_peeled_as_kept_before_their_format(tmp_path: Path) -> None:
    path = tmp_path / "peeled.json"
    path.write_text(json.dumps({"a" * 40: ["b" * 40, "c" * 40], "d" * 40: None}))
    assert PEELED_FILE.read(path) == {"a" * 40: ("b" * 40, "c" * 40), "d" * 40: None}


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(texts, texts, max_size=5))
def test_the_site_files_kept_read_back(tmp_path_factory: pytest.TempPathFactory,
                                       kept: dict[str, str]) -> None:
    folder = tmp_path_factory.mktemp("site")
    for codec in (DISPATCHED_FILE, COMMENTS_FILE):
        codec.write(folder / "kept.json", kept)
        assert codec.read(folder / "kept.json") == kept


class Dispatching:
    def __init__(self) -> None:
        self.made: list[str] = []

    def dispatch_workflow(self, project: str, workflow: str, *, ref: str,
                          inputs: dict[str, str]) -> None:
        self.made.append(f"{ref} {workflow}")


def test_the_builds_dispatched(tmp_path: Path) -> None:
    kept = tmp_path / "site.git" / "dispatched.json"
    kept.parent.mkdir()
    kept.write_text(json.dumps({"up-numpy": "h1"}, indent=1))  # as kept before its format
    forge = Dispatching()

    def dispatch(head: str) -> list[str]:
        return dispatch_builds(forge, "org/site", branch="up-numpy",  # type: ignore[arg-type]
                               head=head, workflows=["build-numpy.yml"], versions=["2.0"],
                               workdir=tmp_path)

    assert dispatch("h1") == [] and forge.made == []  # dispatched already for that head
    assert dispatch("h2") == ["build-numpy.yml 2.0"]
    assert DISPATCHED_FILE.read(kept) == {"up-numpy": "h2"}
    kept.write_text("{not json")  # as if none was kept: dispatched again, once
    assert dispatch("h2") == ["build-numpy.yml 2.0"] and dispatch("h2") == []


def test_the_comments_said_as_kept_before_their_format(tmp_path: Path) -> None:
    import hashlib

    from mirrorctl.night.deliver.upgrade_request import _said

    kept = tmp_path / "site.git" / "comments.json"
    kept.parent.mkdir()
    url = "https://github.com/org/site/pull/1"
    kept.write_text(json.dumps({url: hashlib.sha256(b"said").hexdigest()}))
    assert _said(tmp_path, url, "said") and not _said(tmp_path, url, "other")
    kept.write_text("[]")  # as if lost: the comment is read and compared
    assert not _said(tmp_path, url, "said")
    _said(tmp_path, url, "said", remember=True)
    assert _said(tmp_path, url, "said")


# -- the drafts' front matter -------------------------------------------------------

PATCH_DRAFT_BEFORE = """---
package: numpy
upstream: https://github.com/numpy/numpy.git
forge: github
host: github.com
project: numpy/numpy
target_branch: main
kind: mr
title: 'BLD: add riscv64 to the wheel matrix'
labels: []
patches:
- patchsets/numpy/2.2.4/0001-add-riscv64-to-the-wheel-matrix.patch
mirror_branch: riscv64/2.2.4
why: a change upstream can take as it is
template: .github/PULL_REQUEST_TEMPLATE.md
---

## What fails on riscv64

Nothing builds.
"""

WHEELS_DRAFT_BEFORE = """---
package: zstd
upstream: https://github.com/org/zstd.git
upstream_web: https://github.com/org/zstd
host: github.com
project: org/zstd
target_branch: main
kind: pr
title: 'ci: build riscv64 wheels'
request: riscv64-wheels
patches:
- 0001-ci-build-riscv64-wheels.patch
refers_to: []
submitted: https://github.com/org/zstd/pull/100
---

Would you build riscv64 wheels?
"""


def test_a_draft_as_written_before_its_format_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "draft.md"
    path.write_text(PATCH_DRAFT_BEFORE)
    front, body = DRAFT_FRONT.read(path) or (None, "")
    assert front == DraftFront(
        package="numpy", upstream="https://github.com/numpy/numpy.git", forge="github",
        host="github.com", project="numpy/numpy", target_branch="main", kind="mr",
        title="BLD: add riscv64 to the wheel matrix",
        patches=("patchsets/numpy/2.2.4/0001-add-riscv64-to-the-wheel-matrix.patch",),
        mirror_branch="riscv64/2.2.4", why="a change upstream can take as it is",
        template=".github/PULL_REQUEST_TEMPLATE.md")
    assert body == "## What fails on riscv64\n\nNothing builds.\n"
    # Written again: the same text, its format below the fields a person reads.
    assert DRAFT_FRONT.text(front, body) == PATCH_DRAFT_BEFORE.replace(
        "template: .github/PULL_REQUEST_TEMPLATE.md\n",
        "template: .github/PULL_REQUEST_TEMPLATE.md\nformat: 1\n")
    path.write_text(WHEELS_DRAFT_BEFORE)
    front, body = DRAFT_FRONT.read(path) or (None, "")
    assert front is not None and front.request == "riscv64-wheels"
    assert front.submitted == "https://github.com/org/zstd/pull/100"
    assert DRAFT_FRONT.text(front, body) == WHEELS_DRAFT_BEFORE.replace(
        "pull/100\n", "pull/100\nformat: 1\n")


@pytest.mark.parametrize(("text", "said"), [
    ("just notes\n", "no front matter"),
    ("notes\n---\nkind: mr\n---\nbody\n", "no front matter"),  # not at the top
    ("---\ntitle: [unclosed\n---\nbody\n", "its front matter is not YAML"),
    ("---\n- a list\n---\nbody\n", "no mapping of fields"),
    ("---\nkind: mr\nlabels: bug\n---\nbody\n", "labels is not a list: 'bug'"),
    ("---\nkind: mr\nformat: 2\n---\nbody\n",
     "written by a newer mirrorctl: format 2, this one reads up to 1"),
])
def test_a_draft_that_does_not_read_is_not_a_mirrorctl_draft(tmp_path: Path, text: str,
                                                             said: str) -> None:
    path = tmp_path / "draft.md"
    path.write_text(text)
    with pytest.raises(KeptFileError, match=r"draft.md \(a mirrorctl draft\) does not read"):
        DRAFT_FRONT.read(path)
    with pytest.raises(UsageError) as caught:  # the draft a person named: exit 2
        read_front(path)
    assert str(caught.value).startswith(f"{path}: not a mirrorctl draft (")
    assert said in str(caught.value)


def test_a_draft_marked_submitted_keeps_what_a_person_added(tmp_path: Path) -> None:
    from mirrorctl.upstream.wheels.submit import _mark_submitted

    path = tmp_path / "riscv64-wheels.md"
    path.write_text(WHEELS_DRAFT_BEFORE.replace("submitted: https://github.com/org/zstd/"
                                                "pull/100\n", "reviewer: alice\n")
                    .replace("Would you", "Would you (edited)"))
    _mark_submitted(path, "https://github.com/org/zstd/pull/7")
    front, body = read_front(path)
    assert front.submitted == "https://github.com/org/zstd/pull/7"
    assert front.others == {"reviewer": "alice"} and "reviewer: alice\n" in path.read_text()
    assert body == "Would you (edited) build riscv64 wheels?\n"


names = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
fronts = st.builds(
    DraftFront,
    package=texts, upstream=texts, kind=st.sampled_from(["mr", "issue", "pr"]), title=texts,
    host=st.none() | texts, project=st.none() | texts, target_branch=st.none() | texts,
    patches=st.lists(texts, max_size=2).map(tuple), labels=st.lists(texts, max_size=2).map(tuple),
    request=st.none() | st.just("riscv64-wheels"), forge=st.none() | texts,
    mirror_branch=st.none() | texts, why=st.none() | texts, template=st.none() | texts,
    upstream_web=st.none() | texts, refers_to=st.lists(texts, max_size=2).map(tuple),
    submitted=st.none() | texts,
    others=st.dictionaries(names.map(lambda n: f"x_{n}"), texts | st.integers(), max_size=2))


@settings(max_examples=100, deadline=None)
@given(fronts, texts)
def test_a_drafts_front_matter_reads_back(tmp_path_factory: pytest.TempPathFactory,
                                          front: DraftFront, body: str) -> None:
    path = tmp_path_factory.mktemp("draft") / "draft.md"
    DRAFT_FRONT.write(path, front, body)
    read = DRAFT_FRONT.read(path)
    assert read is not None and read[0] == front
    assert read[1].rstrip() == body.rstrip()
