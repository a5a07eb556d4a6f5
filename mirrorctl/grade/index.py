"""A package index's JSON API, as far as resolving a stack needs it: a project's releases
and their files (`/pypi/<name>/json`), and one release's requirements
(`/pypi/<name>/<version>/json`, asked only for a release other than the newest, whose
requirements the project's document already holds).

Answers are kept under <workdir>/index/ (a cache: deleting it costs requests, never a
fact). A release's requirements never change once published: kept for good. A
project's document changes with each release: kept as long as the index's
`Cache-Control: max-age` says, then asked again with its ETag (a 304 costs no body).
An index that cannot be read raises IndexUnreadable: the caller makes that package
unknown, never installable.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from mirrorctl.core.errors import MirrorctlError
from mirrorctl.core.files import atomic_write_text

__all__ = ["IndexFile", "IndexUnreadable", "PackageIndex", "Project", "digest"]

_FORMAT = 1


class IndexUnreadable(MirrorctlError):
    """The index could not say (unreachable, an error, an answer it cannot read)."""


@dataclass(frozen=True, kw_only=True)
class IndexFile:
    filename: str
    yanked: bool = False
    requires_python: str | None = None


@dataclass(frozen=True, kw_only=True)
class Project:
    """A project as the index lists it; `found` False: the index has no such project."""

    name: str
    releases: Mapping[Version, tuple[IndexFile, ...]]
    latest: Version | None = None  # the release `latest_requires` is of
    latest_requires: tuple[str, ...] = ()
    found: bool = True


class PackageIndex:
    """GET /pypi/<name>/json and /pypi/<name>/<version>/json, with time-outs, retries on
    429 and 5xx, and kept answers (`kept`: a folder, or None to keep nothing)."""

    def __init__(self, base_url: str, *, kept: Path | None = None, timeout: float = 30.0,
                 retries: int = 2, clock: Any = time.time) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout, self.kept, self.clock, self.retries = timeout, kept, clock, retries
        self._session: Any = None  # made at the first request: a warm run makes none
        self.requests = 0  # made by this client
        self.read: dict[str, str] = {}  # each document served: its path, its digest
        self._lock = threading.Lock()
        self._projects: dict[str, Project] = {}
        self._docs: dict[str, tuple[Any, str]] = {}  # path -> (document, digest), this run
        self._failed: dict[str, str] = {}  # path -> why it could not be read, this run

    def project(self, name: str) -> Project:
        key = canonicalize_name(name)
        data = self.document(f"/pypi/{key}/json", key, immutable=False)
        if key not in self._projects:
            self._projects[key] = _project(key, data) if data is not None else Project(
                name=key, releases={}, found=False)
        return self._projects[key]

    def requires(self, name: str, version: Version) -> tuple[str, ...]:
        """The requirements (Requires-Dist) of one release."""
        project = self.project(name)
        if project.latest == version:
            return project.latest_requires
        key = canonicalize_name(name)
        data = self.document(f"/pypi/{key}/{version}/json", f"{key} {version}",
                             immutable=True)
        if data is None:
            raise IndexUnreadable(f"{self.base_url} has no release {version} of {key}")
        return _requires(data, f"{key} {version}", self.base_url)

    # -- the wire and the kept answers -------------------------------------------------

    def document(self, path: str, what: str, *, immutable: bool) -> Any:
        """The JSON at `path` (what is kept of it), None for a 404; `read` then says
        what it was, by digest."""
        if path in self._failed:
            raise IndexUnreadable(self._failed[path])  # asked once a run
        if path not in self._docs:
            try:
                data = self._get(path, what, immutable=immutable)
            except IndexUnreadable as exc:
                self._failed[path] = str(exc)
                raise
            self._docs[path] = (data, digest(data))
        data, said = self._docs[path]
        with self._lock:
            self.read[path] = said
        return data

    def _http(self) -> Any:
        if self._session is None:
            import requests  # a third of a tenth of a second, for a run that asks
            from requests.adapters import HTTPAdapter
            from urllib3.util.retry import Retry

            session = requests.Session()
            retry = Retry(total=self.retries, connect=self.retries, read=self.retries,
                          backoff_factor=0.5, status_forcelist=(429, 500, 502, 503, 504),
                          allowed_methods={"GET"}, respect_retry_after_header=True,
                          raise_on_status=False)
            session.mount("http://", HTTPAdapter(max_retries=retry))
            session.mount("https://", HTTPAdapter(max_retries=retry))
            session.headers["User-Agent"] = "mirrorctl (riscv64 wheel builders)"
            self._session = session
        return self._session

    def _get(self, path: str, what: str, *, immutable: bool) -> Any:
        """The JSON at `path`, None for a 404; kept as the class docstring says."""
        kept = self._read_kept(path)
        now = self.clock()
        if kept is not None and (immutable or now < kept.get("fresh_until", 0)):
            return kept["data"]
        headers = {"Accept": "application/json"}
        if kept is not None and kept.get("etag"):
            headers["If-None-Match"] = str(kept["etag"])
        with self._lock:
            self.requests += 1
        import requests

        try:
            response = self._http().get(self.base_url + path, headers=headers,
                                        timeout=(min(10.0, self.timeout), self.timeout))
        except requests.RequestException as exc:
            raise IndexUnreadable(f"the index {self.base_url} is unreachable for {what} "
                                  f"({type(exc).__name__})") from None
        if response.status_code == 304 and kept is not None:
            self._keep(path, kept["data"], response, now)
            return kept["data"]
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise IndexUnreadable(f"the index {self.base_url} answered "
                                  f"{response.status_code} for {what}")
        try:
            data = _small(response.json(), path)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise IndexUnreadable(f"the index {self.base_url} sent an unreadable answer "
                                  f"for {what}") from None
        self._keep(path, data, response, now)
        return data

    def _kept_path(self, path: str) -> Path | None:
        if self.kept is None:
            return None
        digest = hashlib.sha256(f"{self.base_url}{path}".encode()).hexdigest()[:32]
        return self.kept / f"{digest}.json"

    def _read_kept(self, path: str) -> dict[str, Any] | None:
        file = self._kept_path(path)
        if file is None:
            return None
        try:
            kept = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # a cache: unreadable is absent
        if not isinstance(kept, dict) or kept.get("format") != _FORMAT \
                or kept.get("url") != self.base_url + path:
            return None
        return kept

    def _keep(self, path: str, data: Any, response: Any, now: float) -> None:
        file = self._kept_path(path)
        if file is None:
            return
        atomic_write_text(file, json.dumps({
            "format": _FORMAT, "url": self.base_url + path, "data": data,
            "etag": response.headers.get("ETag"),
            "fresh_until": now + _max_age(response.headers.get("Cache-Control", ""))}))


def digest(data: Any) -> str:
    """What a document (or any JSON value) says, in 16 bytes of hex."""
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:32]


def _max_age(header: str) -> float:
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name.lower() == "max-age" and value.isdigit():
            return float(value)
    return 0.0


def _small(data: Any, path: str) -> dict[str, Any]:
    """What is kept of an answer: the files of each release, the requirements."""
    info = data.get("info") or {}
    kept: dict[str, Any] = {"version": info.get("version"),
                            "requires_dist": info.get("requires_dist") or []}
    if path.count("/") == 3:  # /pypi/<name>/json: every release
        kept["releases"] = {
            version: [{"filename": f["filename"], "yanked": bool(f.get("yanked")),
                       "requires_python": f.get("requires_python")} for f in files]
            for version, files in data["releases"].items()}
    return kept


def _project(name: str, data: Mapping[str, Any]) -> Project:
    releases: dict[Version, tuple[IndexFile, ...]] = {}
    for text, files in data.get("releases", {}).items():
        try:
            version = Version(text)
        except InvalidVersion:
            continue
        releases[version] = tuple(IndexFile(filename=f["filename"], yanked=f["yanked"],
                                            requires_python=f["requires_python"])
                                  for f in files)
    try:
        latest = Version(str(data.get("version")))
    except InvalidVersion:
        latest = None
    return Project(name=name, releases=releases, latest=latest,
                   latest_requires=tuple(str(r) for r in data.get("requires_dist") or []))


def _requires(data: Mapping[str, Any], what: str, url: str) -> tuple[str, ...]:
    requires = data.get("requires_dist")
    if not isinstance(requires, list):
        raise IndexUnreadable(f"the index {url} sent no requirements for {what}")
    return tuple(str(r) for r in requires)
