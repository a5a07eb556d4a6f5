"""The package's cache: a bare repository under <workdir>/cache/ that sync fills with
upstream's branches and release tags, and what every later job reads from it.

Where a cache lives and how it is opened, the git runner a package's work runs with,
and the releases its tags name: tags become versions through the package's
tag_format and compare as PEP 440 versions. The choice among them is a pure function
of the tag names (new_releases); reading them from the cache is the edge.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from packaging.version import InvalidVersion, Version

from mirrorctl.core.config import Package
from mirrorctl.core.errors import MirrorctlError, UsageError
from mirrorctl.core.git import GitRunner
from mirrorctl.core.repository import Repository
from mirrorctl.core.tagformat import TagFormat

__all__ = [
    "NothingNewer",
    "Release",
    "cache_dir",
    "new_releases",
    "newest_release",
    "open_cache",
    "package_runner",
    "release_tag",
    "release_tags",
    "tag_names",
    "target_release",
    "untagged",
]


class NothingNewer(MirrorctlError):
    """No release in the cache is newer than the queue a carry starts from: there is
    nothing to carry (whether upstream is known to be in the cache is the caller's to
    say: a failed sync makes that unknown)."""

    def __init__(self, package: str, current: str) -> None:
        self.package, self.current = package, current
        super().__init__(f"{package}: no release newer than {current} in the cache")


def cache_dir(workdir: Path, package: Package) -> Path:
    """The package's cache; wheels of one upstream share one (Package.cache)."""
    return workdir / "cache" / f"{package.cache}.git"


def package_runner(runner: GitRunner, package: Package) -> GitRunner:
    """`runner` with the package's time-out, transports and mirror credentials."""
    return runner.with_options(timeout=package.timeout,
                               allowed_protocols=package.allowed_protocols,
                               token_urls=_origins(package.mirror) if package.mirror else ())


def _origins(url: str) -> tuple[str, ...]:
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.hostname:
        return (f"{parts.scheme}://{parts.netloc}",)
    return ()


def open_cache(workdir: Path, package: Package, runner: GitRunner) -> Repository:
    path = cache_dir(workdir, package)
    if not (path / "HEAD").is_file():
        raise UsageError(f"no cache for {package.name} in {workdir}; run "
                         f"`mirrorctl sync {package.name}` first")
    return Repository(path, runner)


def release_tag(cache: Repository, package: Package, version: str) -> tuple[str, str]:
    """(tag name, commit) of `version`'s release in the cache."""
    tag = package.tag_format.tag_for(version)
    commit = cache.tag_commit(tag)
    if commit is None:
        raise UsageError(f"{package.name}: tag {tag} (version {version}, tag_format "
                         f"{package.tag_format.template}) is not in the cache; run "
                         f"`mirrorctl sync {package.name}`, or check version and tag_format")
    return tag, commit


@dataclass(frozen=True)
class Release:
    version: Version
    text: str  # the version as the tag spells it
    tag: str


def release_tags(tag_names: Iterable[str], tag_format: TagFormat, *,
                 pre: bool = False) -> dict[Version, Release]:
    """The releases the tags name. When two tags name the same version (1.0 and 1.0.0),
    the one tag_format spells for it wins, then the first by name."""
    found: dict[Version, Release] = {}
    for tag in sorted(tag_names):
        text = tag_format.version_of(tag)
        if text is None:
            continue
        version = Version(text)
        if (version.is_prerelease or version.is_devrelease) and not pre:
            continue
        if version not in found or tag == _canonical_tag(tag_format, text):
            found[version] = Release(version, text, tag)
    return found


def untagged(tag_names: Iterable[str], package: Package, version: str) -> str | None:
    """Why `version` is no release of the package in the cache (its tag is not there: a
    queue folder renamed, a workflow's default mistyped), naming the nearest releases; None
    when its tag is there."""
    names = set(tag_names)
    tag = _canonical_tag(package.tag_format, version)
    if tag is not None and tag in names:
        return None
    releases = sorted(release_tags(names, package.tag_format, pre=True).items())
    try:
        wanted = Version(version)
    except InvalidVersion:
        wanted = None
    below = [r.tag for v, r in releases if wanted is not None and v < wanted][-1:]
    above = [r.tag for v, r in releases if wanted is not None and v > wanted][:1]
    near = ", ".join([*below, *above]) or "none"
    return (f"{version} is no release of {package.name} in the cache (no tag "
            f"{tag or version}; the nearest: {near}): correct its queue folder's name or "
            f"`version:`, or run `mirrorctl sync {package.name}` if it is new")


def _canonical_tag(tag_format: TagFormat, text: str) -> str | None:
    try:
        return tag_format.tag_for(text)
    except InvalidVersion:
        return None


def new_releases(tag_names: Iterable[str], tag_format: TagFormat, current: str | None, *,
                 pre: bool = False, limit: int = 3) -> tuple[list[str], dict[str, str], int]:
    """(new versions oldest first, {version: tag}, how many older ones the limit left out).
    The limit keeps the newest: the latest release is always among them."""
    releases = release_tags(tag_names, tag_format, pre=pre)
    floor = Version(current) if current else None
    newer = [releases[v] for v in sorted(releases) if floor is None or v > floor]
    kept = newer[-limit:] if limit > 0 else []
    return [r.text for r in kept], {r.text: r.tag for r in kept}, len(newer) - len(kept)


def tag_names(cache: Repository) -> list[str]:
    return cache.tag_names()


def newest_release(cache: Repository, package: Package, *, above: str) -> str | None:
    """The newest final release in the cache after version `above`."""
    newest, _, _ = new_releases(tag_names(cache), package.tag_format, above, limit=1)
    return newest[0] if newest else None


def target_release(cache: Repository, package: Package, onto: str | None,
                   current: str) -> tuple[str, str]:
    """(version, tag) to rebase onto: never older than `current`, the queue carried."""
    version, tag = _target(cache, package, onto, current)
    if Version(version) < Version(current):
        raise UsageError(f"--onto {onto}: {version} is older than {package.name}'s current queue "
                         f"{current}; a queue is carried forward only (to change the current "
                         "queue, remove the newer queue folders)")
    return version, tag


def _target(cache: Repository, package: Package, onto: str | None,
            current: str) -> tuple[str, str]:
    if onto is None:
        newest = newest_release(cache, package, above=current)
        if newest is None:
            raise NothingNewer(package.name, current)
        return newest, package.tag_format.tag_for(newest)
    name = onto.removeprefix("refs/tags/")
    if cache.tag_commit(name) is not None:
        version = package.tag_format.version_of(name)
        if version is None:
            raise UsageError(f"--onto {onto}: the tag does not fit tag_format "
                             f"{package.tag_format.template}, so its version is unknown")
        return version, name
    try:
        tag: str | None = package.tag_format.tag_for(onto)
    except InvalidVersion:
        tag = None
    if tag is None or cache.tag_commit(tag) is None:
        raise UsageError(f"--onto {onto!r} is no tag or version of {package.name} in the cache "
                         f"(run `mirrorctl sync {package.name}` if it is new)")
    return onto, tag
