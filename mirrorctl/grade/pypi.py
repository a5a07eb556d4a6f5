"""PyPI's JSON API: a project's releases and files, and whether upstream itself now
publishes riscv64 wheels (then the mirror and its queue can be retired).

The client loads requests when made: it costs start-up time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from mirrorctl.core.errors import MirrorctlError

__all__ = ["PypiClient", "PypiError", "PypiProject", "WheelKind", "installs_on",
           "riscv64_coverage", "wheel_kind"]


class PypiError(MirrorctlError):
    pass


@dataclass(frozen=True, kw_only=True)
class PypiProject:
    name: str
    releases: Mapping[str, tuple[str, ...]]  # version -> file names, yanked files left out

    def versions(self, *, pre: bool = False) -> list[Version]:
        found = []
        for text, files in self.releases.items():
            try:
                version = Version(text)
            except InvalidVersion:
                continue
            if files and (pre or not (version.is_prerelease or version.is_devrelease)):
                found.append(version)
        return sorted(found)

    def files_of(self, version: Version) -> tuple[str, ...]:
        for text, files in self.releases.items():
            try:
                if Version(text) == version:
                    return files
            except InvalidVersion:
                continue
        return ()


class PypiClient:
    """GET /pypi/<name>/json with time-outs, and retries on 429 and 5xx that honour
    Retry-After."""

    def __init__(self, base_url: str, *, timeout: float = 30.0, retries: int = 3,
                 backoff: float = 1.0) -> None:
        import requests  # loaded by a client only: it costs start-up time
        from requests.adapters import HTTPAdapter
        from urllib3.util.retry import Retry

        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        retry = Retry(total=retries, connect=retries, read=retries, backoff_factor=backoff,
                      status_forcelist=(429, 500, 502, 503, 504), allowed_methods={"GET"},
                      respect_retry_after_header=True, raise_on_status=False)
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))
        self.session.headers["User-Agent"] = "mirrorctl (riscv64 wheel builders)"

    def project(self, name: str) -> PypiProject:
        import requests

        url = f"{self.base_url}/pypi/{canonicalize_name(name)}/json"
        try:
            response = self.session.get(url, timeout=(min(10.0, self.timeout), self.timeout))
        except requests.RequestException as exc:
            raise PypiError(f"PyPI unreachable at {self.base_url}: "
                            f"{type(exc).__name__}") from exc
        if response.status_code == 404:
            raise PypiError(f"no project {name!r} on {self.base_url} (check `pypi:` in "
                            "mirrors.yaml)")
        if response.status_code != 200:
            raise PypiError(f"{self.base_url} answered {response.status_code} for {name!r}")
        try:
            data = response.json()
            releases = {
                version: tuple(f["filename"] for f in files if not f.get("yanked", False))
                for version, files in data["releases"].items()}
        except (ValueError, KeyError, TypeError) as exc:
            raise PypiError(f"{self.base_url} sent an unreadable answer for {name!r}") from exc
        return PypiProject(name=name, releases=releases)


def installs_on(tag: Tag, python: str) -> bool:
    """Whether a wheel tag's interpreter and ABI install on CPython `python` ("3.12",
    "3.14t" free-threaded); the platform is the caller's to judge."""
    return _covers(tag, python)


def _covers(tag: Tag, python: str) -> bool:
    """Whether a wheel tag installs on CPython `python` ("3.12", "3.14t" free-threaded)."""
    free_threaded = python.endswith("t")
    major, minor = (int(part) for part in python.removesuffix("t").split(".")[:2])
    cp = f"cp{major}{minor}"
    if tag.interpreter == cp:
        return (tag.abi == f"{cp}t") == free_threaded or tag.abi == "none"
    if free_threaded:
        return False  # the stable ABI and pure wheels' py3 tags say nothing of 3.14t
    if tag.abi == "abi3" and tag.interpreter.startswith(f"cp{major}"):
        return int(tag.interpreter[3:] or 0) <= minor
    return tag.interpreter in (f"py{major}", f"py{major}{minor}") and tag.abi == "none"


def _is_riscv64(tag: Tag) -> bool:
    return tag.platform.startswith(("manylinux", "musllinux")) and tag.platform.endswith(
        "_riscv64")


def _wheel_tags(files: Iterable[str]) -> Iterator[frozenset[Tag]]:
    """The tags of each wheel among `files` (an sdist, or a name that is no wheel's, left
    out)."""
    for name in files:
        if name.endswith(".whl"):
            try:
                yield parse_wheel_filename(name)[3]
            except InvalidWheelFilename:
                continue


def riscv64_coverage(files: Iterable[str], pythons: Sequence[str]) -> tuple[bool, str]:
    """(the release can retire, as the builders judge it, and why): it ships a riscv64
    wheel, or only pure-Python wheels (nothing to build for riscv64)."""
    covered: set[str] = set()
    riscv64 = platform_wheels = pure = 0
    for tags in _wheel_tags(files):
        if all(tag.platform == "any" for tag in tags):
            pure += 1
            continue
        platform_wheels += 1
        for tag in tags:
            if _is_riscv64(tag):
                riscv64 += 1
                covered.update(p for p in pythons if _covers(tag, p))
    missing = [p for p in pythons if p not in covered]
    if riscv64 and not missing:
        return True, f"upstream publishes riscv64 wheels for Python {', '.join(pythons)}"
    if riscv64:
        return True, (f"upstream publishes riscv64 wheels (not for Python "
                      f"{', '.join(missing)})")
    if pure and not platform_wheels:
        return True, "only pure-Python wheels on PyPI: nothing to build for riscv64"
    return False, "no riscv64 wheels on PyPI"


WheelKind = Literal["riscv64", "pure-python", "none"]


def wheel_kind(files: Iterable[str]) -> WheelKind:
    """What a release's files say for riscv64: a riscv64 wheel among them, only
    pure-Python wheels (nothing to build), or neither (an sdist alone counts as neither)."""
    platform = pure = False
    for tags in _wheel_tags(files):
        if any(_is_riscv64(tag) for tag in tags):
            return "riscv64"
        if all(tag.platform == "any" for tag in tags):
            pure = True
        else:
            platform = True
    return "pure-python" if pure and not platform else "none"
