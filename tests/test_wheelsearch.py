"""Upstream's requests for riscv64 wheels for many projects within GitHub's search rate:
batched searches, kept answers asked again conditionally, the rate spread and waited
out, a stopped pass resumed."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mirrorctl.upstream.forges.forge import ForgeSettings
from mirrorctl.upstream.forges.tracker import Pace
from mirrorctl.upstream.wheels.search import QUERY_MAX, WheelSearch, batches, query_of
from mirrorctl.upstream.wheels.state import WheelAsk
from testbed.fakeforge import FakeForge, fake_forge

TOKEN = "gh-test-token-123456"
PROJECTS = [f"org{n % 7}/project-{n}" for n in range(60)]


class Clock:
    """A clock that only sleeping moves."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def forge() -> Iterator[FakeForge]:
    with fake_forge() as forge:
        for n in (3, 17, 42):
            project = PROJECTS[n]
            forge.open_items[project] = [{
                "number": n, "title": "Build riscv64 wheels", "body": "", "state": "open",
                "updated_at": f"2026-11-{n % 28 + 1:02d}T00:00:00Z",
                "html_url": f"https://github.com/{project}/issues/{n}"}]
        forge.closed_items[PROJECTS[5]] = [{
            "number": 9, "title": "riscv64: run the tests", "body": "", "state": "closed",
            "html_url": f"https://github.com/{PROJECTS[5]}/issues/9"}]  # asks no wheels
        yield forge


def search(forge: FakeForge, workdir: Path, clock: Clock, stamp: str, *, rate: float = 30.0,
           patience: float = 900.0) -> WheelSearch:
    settings = ForgeSettings(apis={"github.com": forge.url}, github_token=TOKEN, retries=0,
                             search_rate=rate)
    return WheelSearch(workdir, settings, stamp, Pace(sleep=clock.sleep, clock=clock,
                                                      patience=patience))


def test_one_search_a_batch_and_each_item_to_its_project(forge: FakeForge,
                                                         tmp_path: Path) -> None:
    clock = Clock()
    run = search(forge, tmp_path, clock, "20261201T010000.000000Z")
    with run.passing():
        found = run.asks("github.com", PROJECTS)
    assert run.requests == len(batches(PROJECTS)) <= len(PROJECTS) // 4
    assert found[PROJECTS[3]].asks == (WheelAsk(
        url=f"https://github.com/{PROJECTS[3]}/issues/3", kind="issue", state="open",
        title="Build riscv64 wheels", number=3, closed_at=None),)
    assert {p for p, s in found.items() if s.asks} == {PROJECTS[3], PROJECTS[17], PROJECTS[42]}
    assert found[PROJECTS[5]].asks == ()  # a riscv64 issue that asks for no wheels
    # Spread within the rate: a search every two seconds at 30 a minute (and a margin),
    # never faster.
    assert clock.slept and all(s <= 2.1 + 1e-9 for s in clock.slept)
    assert clock.now - 1_000_000.0 >= 2.1 * (run.requests - 1) - 1e-6


def test_an_unchanged_night_asks_each_batch_conditionally(forge: FakeForge,
                                                          tmp_path: Path) -> None:
    first = search(forge, tmp_path, Clock(), "20261201T010000.000000Z")
    with first.passing():
        before = first.asks("github.com", PROJECTS)
    second = search(forge, tmp_path, Clock(), "20261202T010000.000000Z")
    start = len(forge.requests)
    with second.passing():
        after = second.asks("github.com", PROJECTS)
    assert {p: s.asks for p, s in after.items()} == {p: s.asks for p, s in before.items()}
    assert second.requests / len(PROJECTS) <= 0.2
    assert len(forge.requests) - start == second.requests
    assert all(s.at == "20261202T010000.000000Z" for s in after.values())  # read tonight
    # Upstream opens a request: its batch answers it, the others stay unchanged.
    project = PROJECTS[30]
    forge.open_items[project] = [{"number": 1, "title": "Add riscv64 wheels", "body": "",
                                  "state": "open", "updated_at": "2026-12-02T00:00:00Z",
                                  "html_url": f"https://github.com/{project}/pull/1",
                                  "pull_request": {"merged_at": None}}]
    third = search(forge, tmp_path, Clock(), "20261203T010000.000000Z")
    with third.passing():
        found = third.asks("github.com", PROJECTS)
    assert [a.kind for a in found[project].asks or ()] == ["pr"]


def test_a_rate_limit_is_waited_out_and_past_patience_the_rest_is_resumed(
        forge: FakeForge, tmp_path: Path) -> None:
    clock = Clock()
    forge.clock = clock
    forge.search_rate = (5, 60.0)  # a stricter forge than the rate mirrorctl was told
    run = search(forge, tmp_path, clock, "20261201T010000.000000Z", rate=600.0)
    with run.passing():
        found = run.asks("github.com", PROJECTS)
    assert all(s.asks is not None for s in found.values())  # waited for the reset
    assert any(s > 10 for s in clock.slept)

    # Too little patience: the pass stops; the projects not asked are unknown, not empty.
    forge.searched.clear()
    workdir = tmp_path / "stopped"
    stopped = search(forge, workdir, clock, "20261202T010000.000000Z", rate=600.0,
                     patience=5.0)
    with stopped.passing():
        found = stopped.asks("github.com", PROJECTS)
    unknown = [p for p, s in found.items() if s.asks is None]
    assert unknown and all("rate limited by GitHub's search" in str(found[p].unknown)
                           for p in unknown)
    assert stopped.requests == 6  # 5 answered, the sixth refused
    # The next run, the same night, resumes: the five answered batches are not asked again.
    forge.searched.clear()
    resumed = search(forge, workdir, clock, "20261202T013000.000000Z", rate=600.0)
    with resumed.passing():
        found = resumed.asks("github.com", PROJECTS)
    assert all(s.asks is not None for s in found.values())
    assert resumed.requests == len(batches(PROJECTS)) - 5


def test_a_closing_note_is_read_once(forge: FakeForge, tmp_path: Path) -> None:
    ask = WheelAsk(url="https://github.com/org/x/pull/4", kind="pr", state="closed",
                   title="riscv64 wheels", number=4, closed_at="2026-10-01T00:00:00Z")
    reads: list[int] = []

    def read() -> str | None:
        reads.append(1)
        return "no runner for it"

    for stamp in ("20261201T010000.000000Z", "20261202T010000.000000Z"):
        run = search(forge, tmp_path, Clock(), stamp)
        assert run.closing_note("github.com", "org/x", ask, read) == "no runner for it"
    assert len(reads) == 1


def test_an_unreadable_kept_file_costs_requests_only(forge: FakeForge, tmp_path: Path) -> None:
    (tmp_path / "forge-searches.json").write_text("{not json")
    run = search(forge, tmp_path, Clock(), "20261201T010000.000000Z")
    with run.passing():
        found = run.asks("github.com", PROJECTS[:10])
    assert all(s.asks is not None for s in found.values())
    assert run.requests == len(batches(PROJECTS[:10]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.from_regex(r"[a-z][a-z0-9-]{0,38}/[a-z][a-z0-9._-]{0,60}",
                              fullmatch=True), min_size=1, max_size=80, unique=True),
       st.from_regex(r"[a-z][a-z0-9-]{0,20}/[a-z][a-z0-9-]{0,20}", fullmatch=True))
def test_batches_fit_and_one_project_more_changes_one_batch(projects: list[str],
                                                            extra: str) -> None:
    cut = batches(projects)
    assert sorted(p for b in cut for p in b) == sorted(set(projects))
    assert all(len(query_of(b)) <= QUERY_MAX or len(b) == 1 for b in cut)
    if extra not in projects:
        after = batches([*projects, extra])
        # Only the batches of the stretch it joins (between two projects whose hash cuts)
        # change; every other batch is asked with the same query, so conditionally.
        ordered = sorted({*projects, extra})
        at = ordered.index(extra)

        def cuts(i: int) -> bool:
            return zlib.crc32(ordered[i].encode()) % 8 == 0

        start = max((i + 1 for i in range(at) if cuts(i)), default=0)
        end = next((i for i in range(at + 1, len(ordered)) if cuts(i)), len(ordered) - 1)
        stretch = set(ordered[start:end + 1])
        changed = [b for b in after if b not in cut]
        assert changed and all(set(b) & stretch for b in changed)


def test_a_pass_stopped_long_ago_is_started_again(forge: FakeForge, tmp_path: Path) -> None:
    """A pass that stopped over twelve hours ago is not resumed: its answers are asked
    again (conditionally), not taken as answered then."""
    clock = Clock()
    forge.clock = clock
    forge.search_rate = (2, 60.0)
    stopped = search(forge, tmp_path, clock, "20261201T010000.000000Z", rate=600.0,
                     patience=1.0)
    with stopped.passing():
        stopped.asks("github.com", PROJECTS)
    forge.search_rate = None
    later = search(forge, tmp_path, clock, "20261201T140000.000000Z", rate=600.0)
    with later.passing():
        found = later.asks("github.com", PROJECTS)
    assert all(s.asks is not None for s in found.values())
    assert later.requests == len(batches(PROJECTS))  # none taken as answered
    assert {s.at for s in found.values()} == {"20261201T140000.000000Z"}
