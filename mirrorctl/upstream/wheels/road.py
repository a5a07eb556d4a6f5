"""Where each package's road to upstream riscv64 wheels stands, from facts mirrorctl
establishes: PyPI's latest release, upstream's default branch and its CI read from the
cache (and the commit that made it build riscv64 wheels, the release that has it, the
commit that undid it), and upstream's requests found on its forge.

One state a package, the first that holds in STATES' order (decided in verdict.py, pure;
the CI's history read in cihistory.py): a fact the state needs that could not be
established makes it `unknown`, with why, never a good state. The state and its history
are kept in the package's record (`wheels`), so that a night can say what changed.
Nothing here sends anything.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from mirrorctl.core.config import Config, Package
from mirrorctl.core.errors import GitError, MirrorctlError
from mirrorctl.core.git import GitRunner
from mirrorctl.core.progress import SILENT, Progress
from mirrorctl.core.record import Fact, PackageRecord, read_record, write_facts
from mirrorctl.core.repository import Repository
from mirrorctl.core.turns import Turns
from mirrorctl.core.urls import forge_kind
from mirrorctl.grade.pypi import PypiClient, wheel_kind
from mirrorctl.sync.cache import cache_dir, package_runner
from mirrorctl.sync.state import UPSTREAM
from mirrorctl.upstream.forges.forge import Forge, ForgeSettings, as_forge
from mirrorctl.upstream.forges.tracker import Pace
from mirrorctl.upstream.wheels.asks import WheelAsk, wheel_asks
from mirrorctl.upstream.wheels.cihistory import CiFinding, read_ci
from mirrorctl.upstream.wheels.search import WheelSearch
from mirrorctl.upstream.wheels.state import DRAFTED, STATES, WHEELS, WheelsRecord, WheelState
from mirrorctl.upstream.wheels.verdict import PypiFinding, decide

__all__ = ["DRAFTED", "STATES", "WHEELS", "DraftWritten", "Road", "RoadOptions", "WheelState",
           "rank_by_blocks", "wheel_roads"]

_HISTORY = 50  # state changes a record keeps


@dataclass(frozen=True, kw_only=True)
class DraftWritten:
    """The drafts `upstream wheels --draft` wrote for a package."""

    kind: Literal["pr", "issue"]
    title: str
    body: Path  # the request's text
    patch: Path | None  # the change, for a pull request
    status: str  # written | unchanged | kept
    changes: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Road:
    name: str
    state: WheelState
    reasons: tuple[str, ...]
    next: str
    requests: tuple[WheelAsk, ...] = ()
    pypi_latest: str | None = None
    default_branch: str | None = None
    released_in: str | None = None
    enabled_by: str | None = None
    reverted_by: str | None = None
    previous: WheelState | None = None  # the state the record held before, when it changed
    since: str | None = None  # when the package entered its state (a UTC stamp)
    draft: DraftWritten | None = None
    # The roots of defaults.stacks the package keeps from installing from wheels, as the
    # last `mirrorctl stack` of each found (kept stack.kept_blockers); none known: ().
    blocks: tuple[str, ...] = ()
    ci: CiFinding | None = field(default=None, compare=False, repr=False)

    @property
    def changed(self) -> bool:
        return self.previous is not None and self.previous != self.state


def rank_by_blocks(roads: Sequence[Road], blocks: Mapping[str, tuple[str, ...]]) -> list[Road]:
    """The roads with what each package blocks (`blocks`: its name -> the roots), those
    that unblock the most first (the rest as they were): the upstream requests worth
    asking first lead."""
    ranked = [replace(r, blocks=blocks.get(r.name, ())) for r in roads]
    return sorted(ranked, key=lambda r: -len(r.blocks))


@dataclass(frozen=True, kw_only=True)
class RoadOptions:
    workdir: Path
    stamp: str
    record: bool = True  # keep each state in the package's record
    jobs: int = 1  # packages read at once (the run's)
    # How searches wait for the forge's rate (the CLI's clock; tests and benchmarks
    # pass their own).
    pace: Pace = field(default_factory=lambda: Pace(sleep=time.sleep, clock=time.time))


@dataclass(frozen=True, kw_only=True)
class _Facts:
    """What a package's road is decided from, before the forge is asked."""

    package: Package
    record: PackageRecord
    pypi: Fact[PypiFinding]
    ci: Fact[CiFinding] | None

    @property
    def needs_asks(self) -> bool:
        """Upstream's requests matter: no wheel yet, and its branch builds none."""
        found = self.ci.value if self.ci is not None else None
        return found is not None and found.released_in is None \
            and not found.ci.builds_riscv64


def wheel_roads(config: Config, packages: Sequence[Package], options: RoadOptions,
                runner: GitRunner, forge: ForgeSettings, pypi: PypiClient,
                progress: Progress = SILENT) -> list[Road]:
    """Each package's road, recorded (with `options.record`): PyPI and the cache read
    for `options.jobs` packages at once; the forge searched for those whose road needs
    it, GitHub's projects in batches within its search rate (wheelsearch)."""
    progress.stage("PyPI and the cache", [p.name for p in packages])
    with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
        facts = list(pool.map(Turns().taking(
            lambda p: _facts(config, p, options, runner, pypi, progress)), packages))
    search = WheelSearch(options.workdir, forge, options.stamp, options.pace, progress)
    with search.passing():
        asks = _asks(config, [f.package for f in facts if f.needs_asks], forge, search,
                     options.stamp)
    progress.stage("upstream wheels", [p.name for p in packages])
    roads = []
    for fact in facts:
        progress.start(fact.package.name)
        road = _road(config, fact, asks.get(fact.package.name), forge, search)
        road = _with_history(road, fact.record, options)
        progress.finish(fact.package.name, road.state,
                        road.reasons[0] if road.reasons else "")
        roads.append(road)
    return roads


def _facts(config: Config, package: Package, options: RoadOptions, runner: GitRunner,
           pypi: PypiClient, progress: Progress) -> _Facts:
    progress.start(package.name)
    record = read_record(options.workdir, package.name)
    pypi_fact = _pypi(package, pypi, options.stamp)
    ci_fact = None
    if pypi_fact.is_known and pypi_fact.value is not None \
            and pypi_fact.value.kind == "none":
        ci_fact = _ci(package, options, runner, record, options.stamp)
    progress.finish(package.name, "read")
    return _Facts(package=package, record=record, pypi=pypi_fact, ci=ci_fact)


def _road(config: Config, facts: _Facts, asks_fact: Fact[tuple[WheelAsk, ...]] | None,
          forge: ForgeSettings, search: WheelSearch) -> Road:
    package, pypi_fact, ci_fact = facts.package, facts.pypi, facts.ci
    found = ci_fact.value if ci_fact is not None else None
    note = None
    if asks_fact is not None and found is not None:
        note = _declined_note(config, package, forge, asks_fact, found, search)
    verdict = decide(package.name, pypi_fact, ci_fact, asks_fact, note)
    return Road(name=package.name, state=verdict.state, reasons=verdict.reasons,
                next=verdict.next,
                requests=asks_fact.value or () if asks_fact is not None else (),
                pypi_latest=pypi_fact.value.version if pypi_fact.value else None,
                default_branch=found.branch if found else None,
                released_in=found.released_in if found else None,
                enabled_by=found.enabled_by[0] if found and found.enabled_by else None,
                reverted_by=found.reverted_by[0] if found and found.reverted_by else None,
                ci=found)


def _pypi(package: Package, pypi: PypiClient, stamp: str) -> Fact[PypiFinding]:
    try:
        project = pypi.project(package.pypi)
    except MirrorctlError as exc:
        return Fact.missing(str(exc), by="upstream wheels", at=stamp)
    versions = project.versions()
    if not versions:
        return Fact.known(PypiFinding(version=None, kind="none"), by="upstream wheels",
                          at=stamp)
    latest = versions[-1]
    return Fact.known(PypiFinding(version=str(latest), kind=wheel_kind(
        project.files_of(latest))), by="upstream wheels", at=stamp)


def _ci(package: Package, options: RoadOptions, runner: GitRunner, record: PackageRecord,
        stamp: str) -> Fact[CiFinding]:
    def unknown(why: str) -> Fact[CiFinding]:
        return Fact.missing(why, by="upstream wheels", at=stamp)

    read = record.get(UPSTREAM)
    if read is None:
        return unknown(f"upstream's default branch is not recorded: run `mirrorctl sync "
                       f"{package.name}`")
    if not read.is_known or read.value is None:
        return unknown(f"the cache is not known to hold upstream: {read.unknown}; run "
                       f"`mirrorctl sync {package.name}`")
    if read.value.head is None:
        return unknown("upstream's HEAD names no default branch (or the last sync is older "
                       f"than mirrorctl's reading of it): run `mirrorctl sync {package.name}`")
    branch = read.value.head
    cache = Repository(cache_dir(options.workdir, package), package_runner(runner, package))
    try:
        return Fact.known(read_ci(cache, package, branch), by="upstream wheels", at=stamp)
    except LookupError:
        globs = ", ".join(package.branches)
        return unknown(f"upstream's default branch {branch} is not in the cache (branches: "
                       f"{globs}): add it to the package's `branches:` and run "
                       f"`mirrorctl sync {package.name}`")
    except GitError as exc:
        return unknown(f"reading the cache: {exc}")


def _project(config: Config, package: Package) -> tuple[Forge, str, str] | str:
    """(forge, host, project) of upstream, or why not known."""
    web = package.upstream_web
    if not web:
        return (f"upstream's git URL {package.upstream} names no web page: set "
                "`upstream_web:` for it")
    parts = urlsplit(web)
    kind = as_forge(forge_kind(parts.hostname or "", config.forge_apis))
    if kind is None:
        return (f"the forge of {web} is not known: name its API in defaults.forge_apis")
    return kind, (parts.hostname or "").lower(), parts.path.strip("/").removesuffix(".git")


def _asks(config: Config, packages: Sequence[Package], forge: ForgeSettings,
          search: WheelSearch, stamp: str) -> dict[str, Fact[tuple[WheelAsk, ...]]]:
    """Each package's requests for riscv64 wheels: GitHub's projects searched together,
    a GitLab project listed on its own."""
    found: dict[str, Fact[tuple[WheelAsk, ...]]] = {}
    github: dict[str, dict[str, str]] = {}  # host -> project -> package
    for package in packages:
        where = _project(config, package)
        if isinstance(where, str):
            found[package.name] = Fact.missing(where, by="upstream wheels", at=stamp)
        elif where[0] == "github":
            github.setdefault(where[1], {})[where[2]] = package.name
        else:
            try:
                asks = wheel_asks(*where[:2], forge).search(where[2])
            except MirrorctlError as exc:
                found[package.name] = Fact.missing(str(exc), by="upstream wheels", at=stamp)
            else:
                found[package.name] = Fact.known(tuple(sorted(asks, key=lambda a: -a.number)),
                                                 by="upstream wheels", at=stamp)
    for host, projects in sorted(github.items()):
        for project, searched in search.asks(host, list(projects)).items():
            found[projects[project]] = Fact.missing(
                searched.unknown or "not searched", by="upstream wheels", at=searched.at) \
                if searched.asks is None else Fact.known(searched.asks, by="upstream wheels",
                                                         at=searched.at)
    return found


def _declined_note(config: Config, package: Package, forge: ForgeSettings,
                   asks: Fact[tuple[WheelAsk, ...]], found: CiFinding,
                   search: WheelSearch) -> str | None:
    """Why the request the state quotes was closed: read only when it is quoted, and
    once (a closed request's last comment is kept)."""
    requests = asks.value or ()
    if any(a.kind == "pr" and a.state in ("open", "merged") for a in requests) \
            or found.reverted_by is not None:
        return None
    declined = next((a for a in requests if a.kind == "pr" and a.state == "closed"), None)
    where = _project(config, package)
    if declined is None or isinstance(where, str):
        return None
    kind, host, project = where

    def read() -> str | None:
        return wheel_asks(kind, host, forge).closing_note(project, declined)

    try:
        return search.closing_note(host, project, declined, read)
    except MirrorctlError:
        return None  # the state stands; only its quote is missing


def _with_history(road: Road, record: PackageRecord, options: RoadOptions) -> Road:
    """The road with the state it had before and since when; recorded."""
    fact = record.get(WHEELS)
    before = fact.value if fact is not None and fact.is_known else None
    if road.state == "unknown":
        # Not a state of the road: the last one established stays, marked unknown.
        if before is not None:
            now = replace(before, unknown="; ".join(road.reasons))
        else:
            now = WheelsRecord(state="unknown", since=None, reasons=road.reasons,
                               requests=(), unknown="; ".join(road.reasons))
    elif before is not None and before.state == road.state:
        road = replace(road, since=before.since)
        now = replace(before, reasons=road.reasons, requests=road.requests, unknown=None)
    else:
        history = (*before.history, (before.state, before.since))[-_HISTORY:] \
            if before is not None and before.state != "unknown" else ()
        road = replace(road, since=options.stamp,
                       previous=before.state if before is not None else None)
        now = WheelsRecord(state=road.state, since=options.stamp, reasons=road.reasons,
                           requests=road.requests, history=history)
    if options.record and (before is None or now != before):
        write_facts(options.workdir, road.name,
                    [(WHEELS, Fact.known(now, by="upstream wheels", at=options.stamp))])
    return road

