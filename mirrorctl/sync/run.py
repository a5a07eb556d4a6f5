"""The mirror sync: upstream branches and release tags into each mirror.

Per package: one ls-remote per side; a fetch into the package's bare cache only
when upstream's refs differ from the last run (once upstream is known to be the same
project: sameproject); a plan (refplan, pure); one push with a lease per ref, only when
the plan changes something; one ls-remote to verify what the push claims (pushed).
What each step establishes goes to the package's record (recording). Packages run in
parallel and fail alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from mirrorctl.core.config import Package
from mirrorctl.core.errors import FileSystemError, GitError, MirrorctlError
from mirrorctl.core.git import (
    GitRunner,
    is_auth_failure,
    is_transient,
    parse_ls_remote,
    parse_ls_remote_head,
)
from mirrorctl.core.objects import files_refs, has_loose_refs
from mirrorctl.core.progress import SILENT, Progress
from mirrorctl.core.record import keep_unreadable
from mirrorctl.core.repository import LeasedUpdate, Repository
from mirrorctl.core.retry import call_with_retries
from mirrorctl.sync.cache import cache_dir, package_runner
from mirrorctl.sync.pushed import push_results, with_landed
from mirrorctl.sync.recording import SyncRecord
from mirrorctl.sync.refplan import (
    RefRules,
    RefUpdate,
    branch_moves,
    plan_ref_updates,
    select_mirrored,
)
from mirrorctl.sync.sameproject import UpstreamChanged, recorded_commits, shares_history
from mirrorctl.sync.standing import cache_disagrees
from mirrorctl.sync.state import (
    MirrorRead,
    PackageState,
    RefNeed,
    UpstreamRead,
    riscv64_branches,
)

__all__ = ["PackageSync", "SyncOptions", "SyncReport", "sync_packages"]

log = logging.getLogger(__name__)

Status = Literal["updated", "unchanged", "failed", "planned"]


@dataclass(frozen=True, kw_only=True)
class SyncOptions:
    workdir: Path
    jobs: int
    stamp: str  # when the run started: the record's facts say it (the CLI reads the clock)
    force_tags: bool = False
    prune: bool = False
    dry_run: bool = False
    # A person says these packages' upstream URLs are right although their history shares
    # nothing with what the cache and the mirror hold (`sync --accept-upstream`).
    accept_upstream: frozenset[str] = frozenset()


@dataclass(frozen=True, kw_only=True)
class PackageSync:
    name: str
    status: Status
    refs: tuple[RefUpdate, ...] = ()
    error: str | None = None
    fetched: bool = False
    attempts: int = 1
    warnings: tuple[str, ...] = ()

    @property
    def needs_human(self) -> bool:
        return self.status == "failed" or any(r.needs_human for r in self.refs)


@dataclass(frozen=True)
class SyncReport:
    packages: tuple[PackageSync, ...]
    dry_run: bool = False

    @property
    def failed(self) -> list[PackageSync]:
        return [p for p in self.packages if p.status == "failed"]


def sync_packages(packages: Sequence[Package], options: SyncOptions, runner: GitRunner, *,
                  sleep: Callable[[float], None], progress: Progress = SILENT) -> SyncReport:
    results: dict[str, PackageSync] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, options.jobs))
    progress.stage("sync", [p.name for p in packages])
    try:
        futures = [pool.submit(_sync_sharing_a_cache, group, options, runner, sleep, progress)
                   for group in _by_cache(packages)]
        for future in as_completed(futures):
            for result in future.result():
                results[result.name] = result
    except BaseException:
        # Ctrl-C: git runs in sessions of its own and never sees it; end it here.
        pool.shutdown(wait=False, cancel_futures=True)
        runner.settings.processes.kill_all()
        raise
    finally:
        pool.shutdown(wait=True)
    return SyncReport(tuple(results[p.name] for p in packages), dry_run=options.dry_run)


def _by_cache(packages: Sequence[Package]) -> list[list[Package]]:
    """The packages in groups that share a cache: a group syncs in one thread, one package
    after the other, so that no two git processes write one cache at once."""
    groups: dict[str, list[Package]] = {}
    for package in packages:
        groups.setdefault(package.cache, []).append(package)
    return list(groups.values())


def _sync_sharing_a_cache(group: Sequence[Package], options: SyncOptions, runner: GitRunner,
                          sleep: Callable[[float], None], progress: Progress) -> list[PackageSync]:
    """Sync the packages of one cache; upstream's refs, read once, serve them all (its
    fetch too: the next finds the cache already holding what upstream has)."""
    read: dict[str, dict[str, str]] = {}  # upstream URL -> its refs, as read in this sync
    heads: dict[str, str | None] = {}  # upstream URL -> its default branch, as read
    results = []
    for package in group:
        result = _sync_with_retries(package, options, runner, sleep, progress, read, heads)
        progress.finish(result.name, result.status, result.error or "")
        results.append(result)
    return results


def _sync_with_retries(package: Package, options: SyncOptions, runner: GitRunner,
                       sleep: Callable[[float], None], progress: Progress,
                       read: dict[str, dict[str, str]],
                       heads: dict[str, str | None]) -> PackageSync:
    progress.start(package.name)
    syncer = _PackageSyncer(package, options, package_runner(runner, package), read, heads)
    attempts = 0

    def attempt() -> PackageSync:
        nonlocal attempts
        attempts += 1
        return syncer.run()

    def note_retry(exc: Exception, delay: float) -> None:
        log.warning("%s: %s; retrying in %gs", package.name, syncer.describe(exc), delay)

    try:
        result = call_with_retries(attempt, retries=package.retries, is_transient=is_transient,
                                   sleep=sleep, on_retry=note_retry)
    except (MirrorctlError, OSError) as exc:
        if isinstance(exc, OSError):  # the work directory is full, read-only, ...
            exc = FileSystemError(exc)
        syncer.record_failure(syncer.describe(exc))
        return PackageSync(name=package.name, status="failed", error=syncer.describe(exc),
                           attempts=attempts, warnings=syncer.warnings)
    except Exception as exc:  # a bug in one package's sync must not stop the others
        log.exception("%s: unexpected error", package.name)
        error = f"unexpected {type(exc).__name__}: {exc} (a bug in mirrorctl)"
        syncer.record_failure(error)
        return PackageSync(name=package.name, status="failed", attempts=attempts, error=error)
    return replace(result, attempts=attempts)


class _PackageSyncer:
    def __init__(self, package: Package, options: SyncOptions, runner: GitRunner,
                 read: dict[str, dict[str, str]], heads: dict[str, str | None]) -> None:
        self.package = package
        self.read = read  # upstream refs another package of this cache read in this sync
        self.heads = heads  # and upstream's default branch
        self.options = options
        self.runner = runner
        self.step = "starting"
        self.warnings: tuple[str, ...] = ()
        self.rules = RefRules(branches=package.branches, tags=package.tags,
                              protected=package.protected, force_tags=options.force_tags,
                              prune=options.prune)
        self.workdir, self.stamp = options.workdir, options.stamp
        self.pushing: list[RefUpdate] = []  # the last push tried, kept for a retry
        self.cache_current = False  # upstream is in the cache, as of this sync
        self.cache_read: UpstreamRead | None = None  # what it holds, once it is current
        self.record = SyncRecord(options.workdir, package, options.stamp)

    def describe(self, exc: Exception) -> str:
        if not isinstance(exc, GitError):
            return f"{self.step}: {exc}"
        advice = ""
        if is_auth_failure(exc):
            advice = (" (check that the repository exists and that the credentials "
                      "(MIRRORCTL_MIRROR_TOKEN, ssh keys, credential_helper) grant access)")
        return f"{self.step}: {exc.summary}{advice}"

    def run(self) -> PackageSync:
        cache, state = self._open_cache_and_state()
        if self.package.mirror is None:
            return self._refresh_only(cache, state)
        upstream, mirror = self._read_both_sides(self.package.mirror)
        if state.settle_pending(mirror):
            self._save(state)  # a push killed mid-way: learn what it did
        # A push of an earlier attempt that landed although its answer was lost.
        landed = [replace(u, result="pushed") for u in self.pushing if mirror.get(u.ref) == u.new]
        cached = self._refresh_cache_if_upstream_moved(cache, state, upstream, mirror)
        self._cache_is_current(cached if cached is not None else state.upstream)

        self.step = "planning"
        plan = plan_ref_updates(upstream=upstream, mirror=mirror, pushed=state.pushed,
                                last_upstream=state.upstream,
                                fast_forwards=self._fast_forwards(cache, upstream, mirror),
                                rules=self.rules)
        changes = [u for u in plan if u.changes_mirror]
        if self.options.dry_run or not changes:
            status: Status = "planned" if changes else "unchanged"
        else:
            plan, mirror = self._push_and_verify(cache, state, plan, changes,
                                                 self.package.mirror)
            status = "updated" if any(u.result == "pushed" for u in plan) else "unchanged"
        if cached is not None and not self.options.dry_run:
            # Only once the mirror has followed (never on a dry run): until then upstream's
            # previous values are what tells a mirror ref that came from upstream (its
            # force-push is followed) from one made in the mirror (diverged), on a retry
            # and after a kill too.
            state.upstream = cached
            self._save(state)
        if landed:
            plan, status = with_landed(plan, landed), "updated"
        self._record_done(MirrorRead(
            riscv64=riscv64_branches(mirror), refs=len(mirror),
            needs=tuple(RefNeed(u.ref, u.detail) for u in plan if u.needs_human)))
        return PackageSync(name=self.package.name, status=status, refs=tuple(plan),
                           fetched=cached is not None, warnings=self.warnings)

    def _refresh_only(self, cache: Repository, state: PackageState) -> PackageSync:
        """A package without a mirror: one ls-remote of upstream, a fetch of what moved
        into the cache, nothing pushed."""
        upstream = self._read_upstream()
        cached = self._refresh_cache_if_upstream_moved(cache, state, upstream)
        self._cache_is_current(cached if cached is not None else state.upstream)
        if cached is not None:
            state.upstream = cached
            self._save(state)
        self._record_done(None)
        return PackageSync(name=self.package.name,
                           status="updated" if cached is not None else "unchanged",
                           fetched=cached is not None, warnings=self.warnings)

    def _save(self, state: PackageState) -> None:
        state.save(self.workdir, self.package.name, stamp=self.stamp)

    def _cache_is_current(self, refs: dict[str, str]) -> None:
        self.cache_current = True
        self.cache_read = UpstreamRead(refs=len(refs),
                                       tags=sum(r.startswith("refs/tags/") for r in refs),
                                       head=self.heads.get(self.package.upstream))

    def _record_start(self) -> None:
        """Before the cache or the mirror is touched (a fetch, a push), once a sync."""
        if self.record.started:
            return
        self.step = "recording the sync"
        self.record.start()

    def _record_done(self, mirror: MirrorRead | None) -> None:
        assert self.cache_read is not None
        self.record.done(self.cache_read, mirror)

    def record_failure(self, error: str) -> None:
        """Why this sync failed, in place of its start (see SyncRecord.failure)."""
        error = self.runner.settings.redactor(error)  # it may name a URL
        self.record.failure(error, self.cache_read)

    def _open_cache_and_state(self) -> tuple[Repository, PackageState]:
        self.step = "opening the cache"
        cache_path = cache_dir(self.options.workdir, self.package)
        new_cache = not (cache_path / "HEAD").is_file()
        cache = Repository.open_or_init_bare(cache_path, self.runner)
        cache.remove_stale_locks()
        kept = keep_unreadable(self.workdir, self.package.name)  # NewerRecord: left as it is
        recorded = self.record.read()
        state = PackageState.of(recorded) if kept is None else PackageState()
        self.warnings = (kept,) if kept else (state.warning,) if state.warning else ()
        if new_cache:
            state.upstream = {}  # whatever the state says, this cache holds nothing yet
        elif state.upstream and not cache.has_refs():
            # Emptied (by hand, a full disk, a tool): fetched again whatever the state says.
            self.warnings += (f"the cache {cache_path} held none of the refs the last sync "
                              "brought; they are fetched again",)
            state.upstream = {}
        return cache, state

    def _read_upstream(self) -> dict[str, str]:
        if self.package.upstream not in self.read:
            self.step = f"reading upstream refs ({self.package.upstream})"
            refs, self.heads[self.package.upstream] = parse_ls_remote_head(
                self.runner.start_ls_remote(self.package.upstream, head=True).wait().stdout)
            self.read[self.package.upstream] = refs
        return dict(self.read[self.package.upstream])

    def _read_both_sides(self, mirror_url: str) -> tuple[dict[str, str], dict[str, str]]:
        if self.package.upstream in self.read:
            self.step = f"reading mirror refs ({mirror_url})"
            return self._read_upstream(), self.runner.ls_remote(mirror_url)
        # Both at once: over a network each is a round trip.
        asking = [self.runner.start_ls_remote(self.package.upstream, head=True)]
        try:
            asking.append(self.runner.start_ls_remote(mirror_url))
            self.step = f"reading upstream refs ({self.package.upstream})"
            upstream, self.heads[self.package.upstream] = parse_ls_remote_head(
                asking[0].wait().stdout)
            self.read[self.package.upstream] = dict(upstream)
            self.step = f"reading mirror refs ({mirror_url})"
            mirror = parse_ls_remote(asking[1].wait().stdout)
        finally:
            for call in asking:
                call.abandon()
        return upstream, mirror

    def _refresh_cache_if_upstream_moved(self, cache: Repository, state: PackageState,
                                         upstream: dict[str, str],
                                         mirror: dict[str, str] | None = None,
                                         ) -> dict[str, str] | None:
        """Fetch only when upstream's mirrored refs differ from the last sync's. Returns
        what the cache now holds (None: nothing to fetch) and updates `upstream` to it
        (upstream may have moved meanwhile). An upstream whose history shares nothing with
        what the cache and the mirror hold is refused before anything is fetched."""
        wanted = select_mirrored(upstream, self.rules)
        if wanted != state.upstream:
            self._same_project(cache, state, wanted, mirror or {})
        if wanted == state.upstream:
            # The cache holds what was recorded, or is restored: a stale CI cache or a
            # hand edit never stands for upstream (read without git, from its files).
            refs = files_refs(cache.git_dir, ("refs/heads/", "refs/tags/"))
            why = cache_disagrees(refs, state.upstream, self.package) \
                if refs is not None else None
            if why is None:
                if has_loose_refs(cache.git_dir, "refs/tags/"):
                    cache.pack_refs()  # a cache fetched before refs were packed: once
                return None
            self.warnings += (why.split(", so what it holds")[0]
                              + "; restored from upstream",)
        self._record_start()
        self.step = f"fetching from upstream ({self.package.upstream})"
        cached = self._refresh_cache(cache, wanted)
        upstream.update(cached)
        self.read[self.package.upstream] = dict(upstream)  # what the next of this cache finds
        return cached

    def _same_project(self, cache: Repository, state: PackageState, wanted: dict[str, str],
                      mirror: dict[str, str]) -> None:
        """Raise UpstreamChanged when `wanted` (upstream's mirrored refs as just read)
        shares no history with what the last sync recorded of upstream (and the cache
        holds): two packages' URLs swapped, a typo naming another project. One ref value
        in common (a tag, a branch that did not move) says it is the same project; else
        upstream's branches are fetched apart (the cache's objects borrowed, nothing of
        upstream's kept in it) and asked whether they descend from a commit of ours. A
        fork or a move of the same project shares its history, and syncs as usual. (A
        first sync records what it sees: there is nothing yet to compare with.)"""
        del mirror  # what the mirror holds was pushed from what sync recorded
        if self.package.name in self.options.accept_upstream or not state.upstream:
            return
        if not wanted or set(state.upstream.values()) & set(wanted.values()):
            return
        self.step = f"checking that {self.package.upstream} is still the same project"
        if shares_history(cache, self.package.upstream, wanted,
                          recorded_commits(state.upstream), self.runner):
            return
        raise UpstreamChanged(self.package, wanted)

    def _push_and_verify(self, cache: Repository, state: PackageState, plan: list[RefUpdate],
                         changes: list[RefUpdate], mirror_url: str,
                         ) -> tuple[list[RefUpdate], dict[str, str]]:
        """The plan with each update's result, and the mirror's refs after the push."""
        self.step = f"pushing to the mirror ({mirror_url})"
        # Written before the push, so a run killed mid-push still learns what it did.
        self._record_start()
        state.pending = {u.ref: u.new for u in changes}
        self._save(state)
        self.pushing = changes
        pushed = cache.push(mirror_url, [
            LeasedUpdate(ref=u.ref, expected=u.old, new=u.new) for u in changes])
        self.step = f"verifying the mirror ({mirror_url})"
        after = self.runner.ls_remote(mirror_url)
        state.settle_pending(after)
        self._save(state)
        return push_results(plan, pushed, after), after

    def _refresh_cache(self, cache: Repository, wanted: dict[str, str]) -> dict[str, str]:
        """Make the cache's refs upstream's mirrored refs; return what the cache now holds."""
        have = cache.refs()
        changed = [ref for ref, sha in wanted.items() if have.get(ref) != sha]
        if changed:
            cache.fetch(self.package.upstream, changed)
        gone = {ref: sha for ref, sha in have.items() if ref not in wanted}
        cache.delete_refs(gone)
        if changed or gone:
            # A fetch writes a loose file a ref: packed, each reader of the cache (the
            # next sync's check, the report) reads one file, not a thousand tags.
            cache.pack_refs()
        return cache.refs()

    def _fast_forwards(self, cache: Repository, upstream: dict[str, str],
                       mirror: dict[str, str]) -> set[str]:
        moves = branch_moves(upstream, mirror, self.rules)
        if not moves:
            return set()
        # A mirror value the cache has never seen cannot be an upstream ancestor.
        missing = cache.missing_objects(old for old, _ in moves.values())
        return {ref for ref, (old, new) in moves.items()
                if old not in missing and cache.is_ancestor(old, new)}

