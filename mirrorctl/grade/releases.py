"""New upstream releases: the release tags newer than a package's current version.

Tags become versions through the package's tag_format and compare as PEP 440
versions. The choice is a pure function of the tag names (new_releases); reading
them from the cache and asking PyPI are the edges.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.version import Version

from mirrorctl.core.config import Config, Package
from mirrorctl.core.errors import MirrorctlError, UsageError
from mirrorctl.core.git import GitRunner
from mirrorctl.queue.folders import currents_of, not_a_queue
from mirrorctl.sync.cache import new_releases, open_cache, release_tags, tag_names, untagged
from mirrorctl.sync.standing import sync_standing

if TYPE_CHECKING:
    from mirrorctl.core.run import Currents
    from mirrorctl.grade.pypi import PypiClient, PypiProject
    from mirrorctl.grade.registry import RegistryClient

__all__ = [
    "ReleaseList",
    "ReleaseOptions",
    "check_releases",
    "cross_check",
    "list_releases",
]


@dataclass(frozen=True, kw_only=True)
class ReleaseList:
    name: str
    current: str | None
    new: tuple[str, ...]  # oldest first, at most `limit`
    tags: Mapping[str, str]  # version -> tag, for the new versions
    skipped: int = 0  # newer versions left out by the limit
    flags: tuple[str, ...] = ()  # findings from PyPI: tag-without-release, ...
    can_retire: bool = False
    retire_detail: str = ""
    pypi_error: str | None = None
    pypi_latest: str | None = None
    problems: tuple[str, ...] = field(default=())
    upstream_unknown: bool = False  # the last sync could not read upstream
    # The current queue's version is no release in the cache (a folder renamed): where
    # the package stands, and so what is newer, is not known.
    current_unknown: bool = False
    built: str | None = None  # the newest release the registry holds a riscv64 wheel of
    due: tuple[str, ...] = ()  # with a registry: the releases after `built`, oldest first
    retired: bool = False  # retired: in mirrors.yaml: only watched
    retire_alarm: str | None = None  # retired, but PyPI's latest ships no riscv64 wheel
    registry_error: str | None = None  # why the registry could not say

    @property
    def latest(self) -> str | None:
        """The newest release known; None when upstream could not be read, since a
        newer one may exist."""
        if self.upstream_unknown or self.current_unknown:
            return None
        return self.new[-1] if self.new else self.current


def list_releases(names: Iterable[str], package: Package, current: str | None, *,
                  pre: bool = False, limit: int = 3) -> ReleaseList:
    new, tags, skipped = new_releases(names, package.tag_format, current, pre=pre,
                                      limit=limit)
    return ReleaseList(name=package.name, current=current, new=tuple(new), tags=tags,
                       skipped=skipped)


def cross_check(tag_versions: Iterable[str], project: PypiProject, current: str | None, *,
                pre: bool = False) -> list[str]:
    """Tags with no release on PyPI, and releases on PyPI with no tag, after `current`."""
    floor = Version(current) if current else None
    tagged = {Version(v) for v in tag_versions}
    published = {v for v in project.versions(pre=pre) if floor is None or v > floor}
    flags = [f"tag-without-release: {v}" for v in sorted(tagged - published)
             if floor is None or v > floor]
    flags += [f"release-without-tag: {v}" for v in sorted(published - tagged)]
    return flags


@dataclass(frozen=True, kw_only=True)
class ReleaseOptions:
    workdir: Path
    jobs: int  # packages read at once (the run's: core.run.Run.jobs)
    pre: bool = False
    limit: int = 3
    pypi: bool = False
    currents: Currents | None = None  # the run's current versions (core.run.Run.currents)


def check_releases(config: Config, packages: Sequence[Package], options: ReleaseOptions,
                   runner: GitRunner) -> list[ReleaseList]:
    """The new releases of each package; one package's trouble never stops the others."""
    client = registry = None
    currents = currents_of(config, options.currents)
    if options.pypi:
        from mirrorctl.grade.pypi import PypiClient  # requests costs start-up time: only when asked

        client = PypiClient(config.pypi_url, retries=config.retries)
    if config.registry_url is not None:
        from mirrorctl.grade.registry import RegistryClient  # the same: only when configured

        registry = RegistryClient(config.registry_url, retries=config.retries)
    if len(packages) < 2:
        return [_one(config, package, options, runner, client, registry, currents)
                for package in packages]
    # Each package waits on git and on the indexes, not on Python: `jobs` of them at once
    # (300 packages read one by one spent 1.4 s of a 2.8 s no-op nightly in for-each-ref).
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
        return list(pool.map(lambda p: _one(config, p, options, runner, client, registry,
                                            currents),
                             packages))


def _one(config: Config, package: Package, options: ReleaseOptions, runner: GitRunner,
         client: PypiClient | None, registry: RegistryClient | None,
         currents: Currents) -> ReleaseList:
    current = currents.of(package)
    if package.retired:
        return _watched(config, package, current, client)
    try:
        cache = open_cache(options.workdir, package, runner)
    except UsageError:
        cache = None
    names = tag_names(cache) if cache is not None else []  # one read serves every question
    found = list_releases(names, package, current, pre=options.pre, limit=options.limit)
    standing = sync_standing(options.workdir, package, tags=names if cache else None)
    if standing.upstream_problem is not None:
        found = replace(found, upstream_unknown=True, problems=(standing.upstream_problem,))
    elif current is not None and (why := not_a_queue(config, package, current) or (
            untagged(names, package, current) if cache is not None else None)) is not None:
        found = replace(found, current_unknown=True, new=(), problems=(why,))
    if registry is not None:
        found = _with_built(config, package, options, found, names, registry)
    if client is None:
        return found
    from mirrorctl.grade.pypi import riscv64_coverage

    try:
        project = client.project(package.pypi)
    except MirrorctlError as exc:  # PypiError: the one package is marked, the others go on
        return replace(found, pypi_error=str(exc))
    all_tags = release_tags(names, package.tag_format, pre=options.pre)
    flags = cross_check([r.text for r in all_tags.values()], project, current,
                        pre=options.pre)
    versions = project.versions()
    latest = versions[-1] if versions else None
    files = project.files_of(latest) if latest else ()
    retire, detail = riscv64_coverage(files, config.python_versions)
    # What is due is also on PyPI, not yanked: a tag without a release builds nothing.
    # (PyPI knows torch's 2.13.0, the wheel is 2.13.0+cpu: the public part compares.)
    published = set(project.versions(pre=options.pre))
    due = tuple(v for v in found.due if Version(Version(v).public) in published)
    return replace(found, flags=tuple(flags), can_retire=retire, retire_detail=detail,
                   pypi_latest=str(latest) if latest else None, due=due)


def _watched(config: Config, package: Package, current: str | None,
             client: PypiClient | None) -> ReleaseList:
    """A retired package: no cache, no new releases to carry; with PyPI asked, whether its
    latest release still ships riscv64 wheels (if not, it needs building again)."""
    found = ReleaseList(name=package.name, current=current, new=(), tags={}, retired=True)
    if client is None:
        return found
    from mirrorctl.grade.pypi import riscv64_coverage

    try:
        project = client.project(package.pypi)
    except MirrorctlError as exc:
        return replace(found, pypi_error=str(exc))
    versions = project.versions()
    latest = versions[-1] if versions else None
    retire, detail = riscv64_coverage(project.files_of(latest) if latest else (),
                                      config.python_versions)
    alarm = None if retire else (
        f"retired, but PyPI's latest release {latest} ships no riscv64 wheel ({detail}): it "
        f"needs building again; remove `retired: true` from {package.name} in mirrors.yaml")
    return replace(found, can_retire=retire, retire_detail=detail, retire_alarm=alarm,
                   pypi_latest=str(latest) if latest else None)


def _with_built(config: Config, package: Package, options: ReleaseOptions,
                found: ReleaseList, names: Sequence[str],
                registry: RegistryClient) -> ReleaseList:
    """What the registry has built, and what is due: the releases after it (after the
    current queue when nothing is built yet), at most --max, the newest kept."""
    from mirrorctl.grade.registry import newest_built

    try:
        files = registry.files(package.pypi)
    except MirrorctlError as exc:  # RegistryError: this package is marked, the others go on
        return replace(found, registry_error=str(exc))
    built = newest_built(files, config.registry_platforms, config.python_versions)
    due, tags, _ = new_releases(names, package.tag_format, built or found.current,
                                pre=options.pre, limit=options.limit)
    return replace(found, built=built, due=tuple(due), tags={**found.tags, **tags})
