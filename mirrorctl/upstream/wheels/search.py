"""Upstream's requests for riscv64 wheels on GitHub, for many projects at once, within
the forge's limits.

GitHub's search allows 30 requests a minute: one search a project would take half an
hour for a thousand. Its `repo:` qualifiers combine (any of them matches), so one
search asks for several projects (a batch, whose query stays within the 256
characters GitHub documents); each item names its repository. Batches are cut where a
project's own hash says (content-defined, as rsync and restic cut chunks), so a
project added to the list changes the one batch it joins, never the others.

Each batch's answer is kept with its ETag (in <workdir>/forge-searches.json, a cache:
losing it costs requests, never a fact) and asked again conditionally: sorted by last
update, an answer whose first page is unchanged (304) is unchanged, since any item
that changed would come first. Searches are spread evenly within the rate
(`defaults.search_rate`, a minute), and a rate limit GitHub still answers is waited
out as the tracker does (tracker.rate_limit_wait) within the run's patience; past it,
the projects not yet asked are unknown this run. A pass that stops (interrupted,
rate limited) is resumed by the next: the batches it answered are taken as answered
then, the rest asked.

Why a declined request was closed never changes once it is closed: each closing note
is kept too, and read once.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from mirrorctl.core.errors import MirrorctlError
from mirrorctl.core.keptfile import KeptFile, KeptFileError
from mirrorctl.core.progress import SILENT, Progress
from mirrorctl.core.stamps import stamp_time
from mirrorctl.upstream.forges.forge import (
    ForgeError,
    ForgeSettings,
    forge_call,
    github_api,
    github_headers,
    http_session,
    json_answer,
    project_ref,
)
from mirrorctl.upstream.forges.tracker import Pace, Paced, RateLimited, rate_limit_wait
from mirrorctl.upstream.wheels.asks import GitHubAsks, asks_for_wheels
from mirrorctl.upstream.wheels.state import WheelAsk

__all__ = ["SEARCHES_FILE", "Searched", "WheelSearch", "batches"]

SEARCHES_FILE = "forge-searches.json"
QUERY_MAX = 256  # characters of a search query, as GitHub documents
_TERM = "riscv64"
_PAGE = 100  # items a page, GitHub's most
_PAGES = 10  # GitHub's search answers its first 1,000 results only
_MARGIN = 1.05  # the spacing of searches, over the rate's own
RESUME_WITHIN = timedelta(hours=12)  # a stopped pass is resumed the same night only


@dataclass(frozen=True, kw_only=True)
class Searched:
    """A project's requests, or why they are not known; `at`: when they were read."""

    asks: tuple[WheelAsk, ...] | None
    at: str
    unknown: str | None = None


def batches(projects: Sequence[str], query_max: int = QUERY_MAX) -> list[list[str]]:
    """The projects (sorted, each once) cut into batches whose query fits `query_max`:
    a batch ends after a project whose hash says so (one in eight), or where the next
    would not fit."""
    cut: list[list[str]] = []
    batch: list[str] = []
    for project in sorted({p.lower() for p in projects}):
        if batch and len(query_of([*batch, project])) > query_max:
            cut.append(batch)
            batch = []
        batch.append(project)
        if zlib.crc32(project.encode()) % 8 == 0:
            cut.append(batch)
            batch = []
    if batch:
        cut.append(batch)
    return cut


def query_of(batch: Sequence[str]) -> str:
    return " ".join([_TERM, *(f"repo:{p}" for p in batch)])


@dataclass
class _Kept:
    """The kept answers: per host and query, its ETag, items and when answered; the
    closing notes by request URL; the pass under way, if one stopped."""

    searches: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: dict[str, str | None] = field(default_factory=dict)
    pass_started: str | None = None

    @staticmethod
    def read(path: Path) -> _Kept:
        try:
            return _SEARCHES.read(path) or _Kept()
        except KeptFileError:
            return _Kept()  # a cache: unreadable is empty, and costs requests only

    def write(self, path: Path) -> None:
        _SEARCHES.write(path, self)


def _kept_from_json(data: dict[str, Any]) -> _Kept:
    searches, notes, started = data.get("searches"), data.get("notes"), data.get("pass_started")
    return _Kept(searches=searches if isinstance(searches, dict) else {},
                 notes=notes if isinstance(notes, dict) else {},
                 pass_started=started if isinstance(started, str) else None)


_SEARCHES = KeptFile[_Kept](
    what="the forge's searches, kept", format=1, decode=_kept_from_json, indent=None,
    sort_keys=True, encode=lambda kept: {"pass_started": kept.pass_started,
                                         "searches": kept.searches, "notes": kept.notes})


class WheelSearch(Paced):
    """The searches of one run; `pace` waits (tests and benchmarks pass their clock)."""

    def __init__(self, workdir: Path, settings: ForgeSettings, stamp: str, pace: Pace,
                 progress: Progress = SILENT) -> None:
        super().__init__(pace)
        self._path = workdir / SEARCHES_FILE
        self._settings, self._stamp = settings, stamp
        self._progress = progress
        self._kept = _Kept.read(self._path)
        self._last: float | None = None
        self._resume_from: str | None = None
        self._complete = True  # every batch of the pass answered
        self.requests = 0  # made by this run

    @contextmanager
    def passing(self) -> Iterator[None]:
        """A pass: marked under way while it runs, so that one that stops is resumed by
        the next run (within RESUME_WITHIN: a pass stopped long ago is started again)."""
        started = self._kept.pass_started
        then, now = stamp_time(started or ""), stamp_time(self._stamp)
        if then is not None and now is not None and now - then <= RESUME_WITHIN:
            self._resume_from = started
        self._kept.pass_started = self._resume_from or self._stamp
        self._save()
        yield
        if self._complete:  # a pass with a batch not answered is resumed by the next run
            self._kept.pass_started = None
            self._save()

    def asks(self, host: str, projects: Sequence[str]) -> dict[str, Searched]:
        """Each project's requests for riscv64 wheels (keyed as given)."""
        found: dict[str, Searched] = {}
        cut = batches(projects)
        labels = [f"{host} {i}/{len(cut)}" for i in range(1, len(cut) + 1)]
        self._progress.stage("forge searches", labels)
        failure: str | None = None
        for label, batch in zip(labels, cut, strict=True):
            self._progress.start(label)
            if failure is None:
                try:
                    items, at, how = self._batch(host, batch)
                except RateLimited as exc:
                    failure = str(exc)
                except MirrorctlError as exc:
                    self._complete = False
                    self._progress.finish(label, "failed", str(exc))
                    found.update({p: Searched(asks=None, at=self._stamp, unknown=str(exc))
                                  for p in batch})
                    continue
                else:
                    self._progress.finish(label, how, f"{len(batch)} projects")
                    found.update(_by_project(batch, items, at))
                    continue
            self._complete = False
            self._progress.finish(label, "skipped", failure)
            found.update({p: Searched(asks=None, at=self._stamp, unknown=failure)
                          for p in batch})
        return {p: found[p.lower()] for p in projects}

    def closing_note(self, host: str, project: str, ask: WheelAsk,
                     read: Callable[[], str | None]) -> str | None:
        """Why `ask` was closed: read once (`read`), then kept."""
        key = f"{host} {ask.url} {ask.closed_at}"
        if key not in self._kept.notes:
            self._kept.notes[key] = read()
            self._save()
        return self._kept.notes[key]

    def _batch(self, host: str, batch: list[str]) -> tuple[list[dict[str, Any]], str, str]:
        key = f"{host} {query_of(batch)}"
        kept = self._kept.searches.get(key)
        resume = self._resume_from
        if kept is not None and resume is not None and str(kept.get("at", "")) >= resume:
            return list(kept.get("items", [])), str(kept["at"]), "resumed"
        etag = str(kept["etag"]) if kept is not None and kept.get("etag") else None
        response = self._get(host, batch, etag, page=1)
        if response.status_code == 304 and kept is not None:
            kept["at"] = self._stamp
            self._save()
            return list(kept.get("items", [])), self._stamp, "unchanged"
        what = f"searching {', '.join(batch)} for requests for riscv64 wheels"
        data = json_answer(response, what)
        items = _items(data)
        total = data.get("total_count")
        page = 1
        # A full page, and more counted: the next page (GitHub answers 1,000 at most).
        while isinstance(total, int) and len(data.get("items") or []) == _PAGE \
                and page * _PAGE < total and page < _PAGES:
            page += 1
            data = json_answer(self._get(host, batch, None, page=page), what)
            items += _items(data)
        self._kept.searches[key] = {"etag": response.headers.get("ETag"), "at": self._stamp,
                                    "items": items}
        self._save()
        return items, self._stamp, "asked"

    def _get(self, host: str, batch: list[str], etag: str | None, *, page: int) -> Any:
        settings = self._settings
        headers = github_headers(settings)
        if etag:
            headers["If-None-Match"] = etag
        params = {"q": query_of(batch), "sort": "updated", "order": "desc",
                  "per_page": str(_PAGE), "page": str(page)}
        url = f"{github_api(host, settings)}/search/issues"
        for attempt in range(6):
            self._space()
            self.requests += 1
            response = forge_call(f"searching {batch[0]} and {len(batch) - 1} more",
                                  project_ref("github", host, batch[0]), settings,
                                  lambda: http_session(settings).get(
                                      url, headers=headers, params=params,
                                      timeout=settings.timeout),
                                  accept=(304, 403, 429))
            wait = rate_limit_wait(response.status_code, response.headers, response.text,
                                   self._pace.clock(), attempt)
            if wait is None:
                if response.status_code in (403, 429):
                    raise ForgeError(f"searching {batch[0]}: GitHub answered "
                                     f"{response.status_code} (forbidden)")
                return response
            self._wait(wait, "GitHub's search")
        raise RateLimited("rate limited by GitHub's search six times in a row; the rest "
                          "waits for the next run")

    def _space(self) -> None:
        """Searches spread evenly within the rate: one every 60/rate seconds, and a
        twentieth more (a forge counting its window from another instant than ours
        never sees one too many)."""
        gap = 60.0 / self._settings.search_rate * _MARGIN
        now = self._pace.clock()
        if self._last is not None and now - self._last < gap:
            self._pace.sleep(gap - (now - self._last))
        self._last = self._pace.clock()

    def _save(self) -> None:
        self._kept.write(self._path)  # a full disk says so, as every write of the run


def _items(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The items that ask for riscv64 wheels, kept small: repository, and what WheelAsk
    holds."""
    kept = []
    for item in data.get("items", []):
        if not isinstance(item, dict) or not asks_for_wheels(
                str(item.get("title", "")), str(item.get("body") or "")):
            continue
        ask = GitHubAsks.ask(item)
        kept.append({"repo": _repository(item), "url": ask.url, "kind": ask.kind,
                     "state": ask.state, "title": ask.title, "number": ask.number,
                     "closed_at": ask.closed_at})
    return kept


def _repository(item: Mapping[str, Any]) -> str:
    """owner/name of a search item: its repository_url, else its html_url."""
    url = str(item.get("repository_url") or "")
    if "/repos/" in url:
        return url.split("/repos/", 1)[1].strip("/").lower()
    parts = str(item.get("html_url") or "").split("/")
    return "/".join(parts[3:5]).lower() if len(parts) > 4 else ""


def _by_project(batch: list[str], items: list[dict[str, Any]],
                 at: str) -> dict[str, Searched]:
    found: dict[str, list[WheelAsk]] = {p: [] for p in batch}
    for item in items:
        if item.get("repo") in found:
            found[item["repo"]].append(WheelAsk(
                url=str(item["url"]), kind=item["kind"], state=item["state"],
                title=str(item["title"]), number=int(item["number"]),
                closed_at=item.get("closed_at")))
    return {p: Searched(asks=tuple(sorted(asks, key=lambda a: -a.number)), at=at)
            for p, asks in found.items()}
