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
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from mirrorctl.core.errors import MirrorctlError
from mirrorctl.core.keptfile import KeptFile, KeptFileError, want

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["ANSWER_FILE", "IndexFile", "IndexUnreadable", "KeptAnswer", "PackageIndex",
           "Project", "digest", "pyproject_build_requires"]



class IndexUnreadable(MirrorctlError):
    """The index could not say (unreachable, an error, an answer it cannot read)."""


@dataclass(frozen=True, kw_only=True)
class KeptAnswer:
    """An answer of the index, kept: what was kept of it, and how long it holds."""

    url: str
    data: Any  # what _small or _simple_files kept of it (JSON-able)
    etag: str | None
    fresh_until: float  # asked again after this (the clock's time); an immutable never


def _decode_answer(data: dict[str, Any]) -> KeptAnswer:
    etag = data.get("etag")
    return KeptAnswer(url=want(data, "url", str), data=data["data"],
                      etag=str(etag) if etag else None,
                      fresh_until=float(data.get("fresh_until") or 0))


# Format 2: a project keeps where its source is (format 1's are asked again).
ANSWER_FILE = KeptFile[KeptAnswer](
    what="an index answer, kept", format=2, decode=_decode_answer, indent=None,
    encode=lambda kept: {"url": kept.url, "data": kept.data, "etag": kept.etag,
                         "fresh_until": kept.fresh_until})


@dataclass(frozen=True, kw_only=True)
class IndexFile:
    filename: str
    yanked: bool = False
    requires_python: str | None = None
    url: str | None = None  # where the file is (absolute)


@dataclass(frozen=True, kw_only=True)
class Project:
    """A project as the index lists it; `found` False: the index has no such project."""

    name: str
    releases: Mapping[Version, tuple[IndexFile, ...]]
    latest: Version | None = None  # the release `latest_requires` is of
    latest_requires: tuple[str, ...] = ()
    found: bool = True
    # Where its source is, as its metadata says (Project-URL Source, Repository, ...,
    # else a home page on a forge); None: not said (or a Simple API index).
    source: str | None = None


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

    @property
    def simple(self) -> bool:
        """Whether the index speaks the Simple API alone (its URL ends in /simple)."""
        return self.base_url.endswith("/simple")

    def project(self, name: str) -> Project:
        key = canonicalize_name(name)
        if self.simple:
            return self._simple_project(key)
        data = self.document(f"/pypi/{key}/json", key, immutable=False)
        if key not in self._projects:
            self._projects[key] = _project(key, data) if data is not None else Project(
                name=key, releases={}, found=False)
        return self._projects[key]

    def requires(self, name: str, version: Version) -> tuple[str, ...]:
        """The requirements (Requires-Dist) of one release."""
        if self.simple:
            return self._simple_requires(canonicalize_name(name), version)
        project = self.project(name)
        if project.latest == version:
            return project.latest_requires
        key = canonicalize_name(name)
        data = self.document(f"/pypi/{key}/{version}/json", f"{key} {version}",
                             immutable=True)
        if data is None:
            raise IndexUnreadable(f"{self.base_url} has no release {version} of {key}")
        return _requires(data, f"{key} {version}", self.base_url)

    def build_requires(self, name: str, version: Version) -> tuple[str, ...]:
        """What building a release from its sdist needs ([build-system] requires of its
        pyproject.toml; setuptools and wheel for one without, as pip does), read from
        the sdist once and kept. IndexUnreadable when it cannot be told."""
        key = canonicalize_name(name)
        files = self.project(key).releases.get(version, ())
        sdist = next((f for f in files if f.url and f.filename.endswith(
            (".tar.gz", ".zip")) and not f.yanked), None)
        if sdist is None or sdist.url is None:
            raise IndexUnreadable(f"{key} {version} has no sdist to read its build "
                                  "requirements from")
        found = self.document(sdist.url, f"{key} {version}'s sdist", immutable=True,
                              accept="*/*", read=lambda r: _build_requires(r, sdist))
        if found is None:
            raise IndexUnreadable(f"the index has no file {sdist.filename}")
        if isinstance(found, str):
            raise IndexUnreadable(f"{sdist.filename}: {found}")
        return tuple(found)

    # -- the Simple API (PEP 691 JSON) and its metadata files (PEP 658) ------------------

    def _simple_project(self, key: str) -> Project:
        data = self.document(f"/{key}/", key, immutable=False, accept=_SIMPLE_JSON,
                             read=_simple_files)
        if key not in self._projects:
            releases: dict[Version, list[IndexFile]] = {}
            for file in data or []:
                version = _version_of(file["filename"], key)
                if version is not None:
                    releases.setdefault(version, []).append(IndexFile(
                        filename=file["filename"], yanked=file["yanked"],
                        requires_python=file["requires_python"], url=file["url"]))
            self._projects[key] = Project(
                name=key, releases={v: tuple(f) for v, f in releases.items()},
                found=data is not None)
        return self._projects[key]

    def _simple_requires(self, key: str, version: Version) -> tuple[str, ...]:
        data = self.document(f"/{key}/", key, immutable=False, accept=_SIMPLE_JSON,
                             read=_simple_files) or []
        files = [f for f in data if _version_of(f["filename"], key) == version
                 and f["metadata"]]
        if not files:
            raise IndexUnreadable(f"the index {self.base_url} serves no metadata (PEP 658) "
                                  f"for {key} {version}: its requirements are not known")
        url = files[0]["url"] + ".metadata"
        path = url.removeprefix(self.base_url) if url.startswith(self.base_url) else url
        found = self.document(path, f"{key} {version}'s metadata", immutable=True,
                              accept="*/*", read=_requires_of_metadata)
        if found is None:
            raise IndexUnreadable(f"the index {self.base_url} has no metadata file for "
                                  f"{key} {version}")
        return tuple(found)

    # -- the wire and the kept answers -------------------------------------------------

    def document(self, path: str, what: str, *, immutable: bool,
                 accept: str = "application/json", read: Any = None) -> Any:
        """The JSON at `path` (what is kept of it), None for a 404; `read` then says
        what it was, by digest."""
        if path in self._failed:
            raise IndexUnreadable(self._failed[path])  # asked once a run
        if path not in self._docs:
            try:
                data = self._get(path, what, immutable=immutable, accept=accept, read=read)
            except IndexUnreadable as exc:
                self._failed[path] = str(exc)
                raise
            self._docs[path] = (data, digest(data))
        data, said = self._docs[path]
        with self._lock:
            self.read[path] = said
        return data

    def _where(self, path: str) -> str:
        """Who answers for `path`: the index, or the host of a URL elsewhere."""
        if "://" not in path or path.startswith(self.base_url):
            return f"the index {self.base_url}"
        return path.split("/")[2]

    def _url(self, path: str) -> str:
        return path if "://" in path else self.base_url + path

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

    def _get(self, path: str, what: str, *, immutable: bool,
             accept: str = "application/json", read: Any = None) -> Any:
        """The answer at `path` (JSON, or what `read` makes of the response), None for a
        404; kept as the class docstring says."""
        kept = self._read_kept(path)
        now = self.clock()
        if kept is not None and (immutable or now < kept.fresh_until):
            return kept.data
        headers = {"Accept": accept}
        if kept is not None and kept.etag:
            headers["If-None-Match"] = kept.etag
        with self._lock:
            self.requests += 1
        import requests

        try:
            response = self._http().get(self._url(path), headers=headers,
                                        timeout=(min(10.0, self.timeout), self.timeout))
        except requests.RequestException as exc:
            raise IndexUnreadable(f"{self._where(path)} is unreachable for {what} "
                                  f"({type(exc).__name__})") from None
        if response.status_code == 304 and kept is not None:
            self._keep(path, kept.data, response, now)
            return kept.data
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise IndexUnreadable(f"{self._where(path)} answered {response.status_code} "
                                  f"for {what}")
        try:
            data = read(response) if read is not None else _small(response.json(), path)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise IndexUnreadable(f"{self._where(path)} sent an unreadable answer for "
                                  f"{what}") from None
        self._keep(path, data, response, now)
        return data

    def _kept_path(self, path: str) -> Path | None:
        if self.kept is None:
            return None
        digest = hashlib.sha256(self._url(path).encode()).hexdigest()[:32]
        return self.kept / f"{digest}.json"

    def _read_kept(self, path: str) -> KeptAnswer | None:
        file = self._kept_path(path)
        if file is None:
            return None
        try:
            kept = ANSWER_FILE.read(file)
        except KeptFileError:
            return None  # a cache: unreadable is absent, and asked again
        return kept if kept is not None and kept.url == self._url(path) else None

    def _keep(self, path: str, data: Any, response: Any, now: float) -> None:
        file = self._kept_path(path)
        if file is None:
            return
        ANSWER_FILE.write(file, KeptAnswer(
            url=self._url(path), data=data, etag=response.headers.get("ETag"),
            fresh_until=now + _max_age(response.headers.get("Cache-Control", ""))))


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
    if path.count("/") == 3:  # /pypi/<name>/json: every release, where its source is
        kept["source"] = _source_url(info)
        kept["releases"] = {
            version: [{"filename": f["filename"], "yanked": bool(f.get("yanked")),
                       "url": f.get("url"),
                       "requires_python": f.get("requires_python")} for f in files]
            for version, files in data["releases"].items()}
    return kept


_SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"


def _simple_files(response: Any) -> list[dict[str, Any]]:
    """What is kept of a Simple API (PEP 691 JSON) page: each file's name, URL (made
    absolute), yanking, Requires-Python and whether its metadata is served."""
    from urllib.parse import urljoin

    data = response.json()
    files = []
    for file in data["files"]:
        metadata = file.get("core-metadata", file.get("data-dist-info-metadata", False))
        files.append({"filename": str(file["filename"]),
                      "url": urljoin(response.url, str(file["url"])).split("#")[0],
                      "yanked": bool(file.get("yanked", False)),
                      "requires_python": file.get("requires-python"),
                      "metadata": bool(metadata)})
    return files


SDIST_MAX = 64 * 1024 * 1024  # an sdist larger than this is not read for its requirements
_LEGACY = ["setuptools>=40.8.0", "wheel"]  # pip's build requirements of a setup.py alone


def _build_requires(response: Any, sdist: IndexFile) -> list[str] | str:
    """[build-system] requires of the sdist's top pyproject.toml (a list), or why it
    cannot be told (a str). The archive is read in memory, one member, never unpacked."""
    import io
    import tarfile
    import zipfile

    content = response.content
    if len(content) > SDIST_MAX:
        return f"over {SDIST_MAX // (1024 * 1024)} MiB, not read"
    try:
        if sdist.filename.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                names = archive.namelist()
                top = _top_pyproject(names)
                text = archive.read(top).decode() if top else None
        else:
            with tarfile.open(fileobj=io.BytesIO(content), mode="r:gz") as archive:
                names = archive.getnames()
                top = _top_pyproject(names)
                member = archive.extractfile(top) if top else None
                text = member.read().decode() if member is not None else None
    except (OSError, EOFError, tarfile.TarError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        return f"not a readable archive ({type(exc).__name__})"
    return pyproject_build_requires(text)


def pyproject_build_requires(text: str | None) -> list[str] | str:
    """What building needs, as pip reads it from a source tree's pyproject.toml (None: a
    tree without one, built the legacy way): a list, or why it cannot be told (a str)."""
    if text is None:
        return list(_LEGACY)
    try:
        table = tomllib.loads(text).get("build-system") or {}
    except tomllib.TOMLDecodeError as exc:
        return f"its pyproject.toml is no TOML ({exc})"
    requires = table.get("requires", _LEGACY if "build-system" not in text else [])
    return [str(r) for r in requires] if isinstance(requires, list) else \
        "[build-system] requires is no list"


def _top_pyproject(names: list[str]) -> str | None:
    """<top>/pyproject.toml of an sdist's members."""
    return next((n for n in names if n.count("/") == 1 and n.endswith("/pyproject.toml")),
                None)


def _requires_of_metadata(response: Any) -> list[str]:
    """The Requires-Dist of a core metadata file (PEP 658)."""
    from email.parser import Parser

    return [str(r) for r in Parser().parsestr(response.text).get_all("Requires-Dist") or []]


def _version_of(filename: str, key: str) -> Version | None:
    from packaging.utils import (
        InvalidSdistFilename,
        InvalidWheelFilename,
        parse_sdist_filename,
        parse_wheel_filename,
    )

    try:
        if filename.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(filename)
        else:
            name, version = parse_sdist_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
    return version if name == key else None


def _project(name: str, data: Mapping[str, Any]) -> Project:
    releases: dict[Version, tuple[IndexFile, ...]] = {}
    for text, files in data.get("releases", {}).items():
        try:
            version = Version(text)
        except InvalidVersion:
            continue
        releases[version] = tuple(IndexFile(filename=f["filename"], yanked=f["yanked"],
                                            url=f.get("url"),
                                            requires_python=f["requires_python"])
                                  for f in files)
    try:
        latest = Version(str(data.get("version")))
    except InvalidVersion:
        latest = None
    source = data.get("source")
    return Project(name=name, releases=releases, latest=latest,
                   latest_requires=tuple(str(r) for r in data.get("requires_dist") or []),
                   source=source if isinstance(source, str) else None)


# The Project-URL labels that name where the source is, the likeliest first (normalized
# as PEP 753 says: lower case, no punctuation or space).
_SOURCE_LABELS = ("source", "sourcecode", "repository", "code", "github", "gitlab",
                  "homepage")
_FORGES = ("https://github.com/", "https://gitlab.com/", "https://codeberg.org/",
           "https://bitbucket.org/")


def _source_url(info: Mapping[str, Any]) -> str | None:
    """Where a project's source is, from its metadata: a Project-URL whose label says
    source, else the home page, when it is a repository on a known forge."""
    import re

    urls = info.get("project_urls") or {}
    by_label = {re.sub(r"[^a-z0-9]", "", str(k).lower()): str(v)
                for k, v in urls.items()} if isinstance(urls, dict) else {}
    found = [by_label[label] for label in _SOURCE_LABELS if label in by_label]
    found.append(str(info.get("home_page") or ""))
    for url in found:
        url = url.strip().rstrip("/").removesuffix(".git")
        if url.startswith(_FORGES) and url.count("/") >= 4:
            return "/".join(url.split("/")[:5])  # the repository, not a page in it
    return None


def _requires(data: Mapping[str, Any], what: str, url: str) -> tuple[str, ...]:
    requires = data.get("requires_dist")
    if not isinstance(requires, list):
        raise IndexUnreadable(f"the index {url} sent no requirements for {what}")
    return tuple(str(r) for r in requires)
