"""A loopback package index speaking PyPI's JSON API (a document per project and per
release, with an ETag and a max-age) and, under /simple/, the Simple API (PEP 691 JSON)
with PEP 658 metadata files; and a registry speaking the Simple API under /registry/.
It records every request. Projects are written for the tests, in the shapes
stacks have (see test_stack.py)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from packaging.version import Version

from testbed.httpserver import Answer, Recorded, http_server


@dataclass
class Release:
    requires: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # wheel and sdist names
    yanked: bool = False
    requires_python: str | None = None
    build_requires: list[str] | None = None  # its sdist's [build-system] requires
                                              # (None: a setup.py alone)


@dataclass
class FakeIndex:
    url: str = ""
    projects: dict[str, dict[str, Release]] = field(default_factory=dict)
    registry: dict[str, list[str]] = field(default_factory=dict)  # name -> wheel names
    broken: set[str] = field(default_factory=set)  # projects answered with a 500
    max_age: int = 600
    requests: list[str] = field(default_factory=list)
    # name -> its Project-URLs (where its source is, for an entry proposed for it)
    project_urls: dict[str, dict[str, str]] = field(default_factory=dict)
    # Any other JSON served at a path (a top-packages ranking, say); None: a 500.
    documents: dict[str, Any] = field(default_factory=dict)

    def add(self, name: str, version: str, *requires: str, files: tuple[str, ...] = (),
            yanked: bool = False, requires_python: str | None = None,
            build_requires: list[str] | None = None) -> None:
        self.projects.setdefault(name, {})[version] = Release(
            list(requires), list(files), yanked, requires_python, build_requires)

    def respond(self, request: Recorded, index: int) -> Answer:
        path = request.path.partition("?")[0]
        self.requests.append(path)
        parts = path.strip("/").split("/")
        if path in self.documents:
            if self.documents[path] is None:
                return 500, {}, b"down"
            return 200, {"Content-Type": "application/json"}, \
                json.dumps(self.documents[path]).encode()
        if parts[0] == "simple" and len(parts) == 2:
            return self._simple(parts[1])
        if parts[0] == "registry" and len(parts) == 2:
            return self._registry(parts[1])
        if parts[0] == "files" and len(parts) == 2 and parts[1].endswith(".metadata"):
            return self._metadata(parts[1].removesuffix(".metadata"))
        if parts[0] == "files" and len(parts) == 2 and parts[1].endswith(".tar.gz"):
            return self._sdist(parts[1])
        if parts[0] == "files" and len(parts) == 2 and parts[1].endswith(".whl"):
            return self._wheel(parts[1])
        if parts[0] != "pypi" or parts[-1] != "json" or len(parts) not in (3, 4):
            return 404, {}
        name = parts[1]
        if name in self.broken:
            return 500, {}, b"down"
        if name not in self.projects:
            return 404, {}
        body = self._project(name) if len(parts) == 3 else self._release(name, parts[2])
        if body is None:
            return 404, {}
        data = json.dumps(body, sort_keys=True).encode()
        etag = '"' + hashlib.sha1(data).hexdigest() + '"'
        headers = {"Content-Type": "application/json", "ETag": etag,
                   "Cache-Control": f"max-age={self.max_age}, public"}
        if request.headers.get("If-None-Match") == etag:
            return 304, headers, b""
        return 200, headers, data

    def _files(self, name: str, version: str) -> list[dict[str, Any]]:
        release = self.projects[name][version]
        return [{"filename": f, "yanked": release.yanked,
                 "requires_python": release.requires_python,
                 "url": f"{self.url}/files/{f}"} for f in release.files]

    def _project(self, name: str) -> dict[str, Any]:
        releases = self.projects[name]
        stable = [v for v in releases if not releases[v].yanked
                  and not Version(v).is_prerelease]
        latest = max(stable or releases, key=Version)
        return {"info": {"name": name, "version": latest,
                         "requires_dist": releases[latest].requires or None,
                         "project_urls": self.project_urls.get(name)},
                "releases": {v: self._files(name, v) for v in releases}}

    def _release(self, name: str, version: str) -> dict[str, Any] | None:
        if version not in self.projects[name]:
            return None
        return {"info": {"name": name, "version": version,
                         "requires_dist": self.projects[name][version].requires or None},
                "urls": self._files(name, version)}

    def _simple(self, name: str) -> Answer:
        """The index itself, as a Simple API with PEP 658 metadata files."""
        if name in self.broken:
            return 500, {}, b"down"
        if name not in self.projects:
            return 404, {}
        files = [{"filename": f, "url": f"../../files/{f}", "hashes": {},
                  "yanked": release.yanked, "requires-python": release.requires_python,
                  "core-metadata": True}
                 for release in self.projects[name].values() for f in release.files]
        return self._page(name, files)

    def _registry(self, name: str) -> Answer:
        if name not in self.registry:
            return 404, {}
        return self._page(name, [{"filename": f, "url": f"/files/{f}", "hashes": {}}
                                 for f in self.registry[name]])

    def _page(self, name: str, files: list[dict[str, Any]]) -> Answer:
        body = {"meta": {"api-version": "1.1"}, "name": name, "files": files}
        return 200, {"Content-Type": "application/vnd.pypi.simple.v1+json"}, \
            json.dumps(body).encode()

    def _sdist(self, filename: str) -> Answer:
        """An sdist: PKG-INFO, and a pyproject.toml with its build requirements (or a
        setup.py alone)."""
        import io
        import tarfile

        for releases in self.projects.values():
            for release in releases.values():
                if filename not in release.files:
                    continue
                top = filename.removesuffix(".tar.gz")
                members = {f"{top}/PKG-INFO": "Metadata-Version: 2.1\n"}
                if release.build_requires is None:
                    members[f"{top}/setup.py"] = "from setuptools import setup\nsetup()\n"
                else:
                    members[f"{top}/pyproject.toml"] = (
                        "[build-system]\nrequires = [" + ", ".join(
                            json.dumps(r) for r in release.build_requires) + "]\n")
                buffer = io.BytesIO()
                with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
                    for name, text in members.items():
                        data = text.encode()
                        info = tarfile.TarInfo(name)
                        info.size = len(data)
                        archive.addfile(info, io.BytesIO(data))
                return 200, {"Content-Type": "application/gzip"}, buffer.getvalue()
        return 404, {}

    def _wheel(self, filename: str) -> Answer:
        """A wheel with nothing but its metadata (what an installer's resolver reads)."""
        import io
        import zipfile

        status, _, *body = self._metadata(filename)
        if status != 200:
            return 404, {}
        name, version = filename.split("-")[:2]
        info = f"{name}-{version}.dist-info"
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(f"{info}/METADATA", body[0])
            archive.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: fakeindex\n"
                                              "Root-Is-Purelib: true\nTag: py3-none-any\n")
            archive.writestr(f"{info}/RECORD", "")
        return 200, {"Content-Type": "application/octet-stream"}, buffer.getvalue()

    def _metadata(self, filename: str) -> Answer:
        for name, releases in self.projects.items():
            for version, release in releases.items():
                if filename in release.files:
                    text = "Metadata-Version: 2.1\nName: {}\nVersion: {}\n{}".format(
                        name, version, "".join(f"Requires-Dist: {r}\n"
                                               for r in release.requires))
                    return 200, {"Content-Type": "text/plain"}, text.encode()
        return 404, {}


@contextmanager
def fake_index() -> Iterator[FakeIndex]:
    index = FakeIndex()
    with http_server(index.respond) as server:
        index.url = server.url
        yield index
