"""Which queue folder is a package's current queue, and the folders a version names.

patchsets/<package>/<version>/ holds the queue of one wheel version; old folders stay.
The current one is the newest whole folder at or after mirrors.yaml's `version:`.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING

from mirrorctl.core.config import Config, Package
from mirrorctl.core.errors import ConfigProblem
from mirrorctl.core.run import Currents

if TYPE_CHECKING:
    from packaging.version import Version

__all__ = ["PARTIAL_MARK", "check_tags", "check_versions", "current_version", "currents_of",
           "is_partial",
           "not_a_queue", "queue_dir", "queue_versions"]


def queue_dir(patchsets: Path, package: str, version: str) -> Path:
    return patchsets / package / version


def queue_versions(patchsets: Path, package: str) -> list[str]:
    """The versions of a package's queue folders, oldest first (PEP 440 order); hidden
    folders (.rr-cache) and names that are no version are not queues."""
    try:
        entries = list(os.scandir(patchsets / package))
    except OSError:  # no folder (or not one): no queues
        return []
    found = []
    for entry in entries:
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        version = _version(entry.name)
        if version is not None:
            found.append((version, entry.name))
    return [name for _, name in sorted(found)]


@functools.lru_cache(maxsize=4096)
def _version(name: str) -> Version | None:
    """A folder name as a version (a report parses the same few names a thousand times)."""
    from packaging.version import InvalidVersion, Version

    try:
        return Version(name)
    except InvalidVersion:
        return None


def currents_of(config: Config, currents: Currents | None = None) -> Currents:
    """The run's current versions (`currents`, when the caller has the run's), else a
    memo of this call's own: each package's worked out once either way."""
    if currents is not None:
        return currents
    return Currents(functools.partial(current_version, config))


def current_version(config: Config, package: Package) -> str | None:
    """The version whose queue is the package's current one: the newest whole queue folder
    at or after mirrors.yaml's `version:` (a partial one, written by --keep-partial, never
    is). A package that carries no patch there (no folder, or one whose `series` says
    nothing is left) is at what its repository builds: the newest of that folder, its
    build workflow's `version` default and `version:`. `pin: true` holds it at
    `version:`. A release carried by `rebase`, or an upgrade request merged, becomes
    current this way, without a hand edit."""
    start = package.version
    if package.pin:
        return start
    floor = _version(start) if start is not None else None
    if start is not None and floor is None:
        from packaging.version import Version

        Version(start)  # raises InvalidVersion naming it, as a floor that is no version did
    found = _newest_whole(config, package, floor)
    if found is not None and not _series_only(queue_dir(config.patchsets, package.name, found)):
        return found  # patches, or no queue at all (readers then say why it is none)
    from mirrorctl.core.buildsite import built_version

    candidates = [v for v in (found, built_version(config, package), start) if v is not None]
    # Each is a version: `start` was checked above, the others are read as versions.
    return max(candidates, key=lambda v: (_version(v), v)) if candidates else None


def _newest_whole(config: Config, package: Package, floor: Version | None) -> str | None:
    for version in reversed(queue_versions(config.patchsets, package.name)):
        if floor is not None and (_version(version) or floor) < floor:
            break
        if not is_partial(queue_dir(config.patchsets, package.name, version)):
            return version
    return None


def not_a_queue(config: Config, package: Package, version: str) -> str | None:
    """Why the folder of `version` is no queue (neither patches nor a `series`), or None:
    it is one, or there is no folder (a package that carries no patch)."""
    directory = queue_dir(config.patchsets, package.name, version)
    try:
        with os.scandir(directory) as entries:
            names = [e.name for e in entries]
    except OSError:
        return None
    if "series" in names or any(n.endswith(".patch") for n in names):
        return None
    return (f"its queue {directory} holds no patch and no `series` saying nothing is left "
            "to carry: not a queue (`mirrorctl validate` names it)")


def _series_only(directory: Path) -> bool:
    """A folder whose `series` says nothing is left to carry: no patch beside it."""
    try:
        with os.scandir(directory) as entries:
            names = [e.name for e in entries]
    except OSError:
        return False
    return "series" in names and not any(n.endswith(".patch") for n in names)


PARTIAL_MARK = "# partial:"  # the first line of the series file of a partial queue


def is_partial(directory: Path) -> bool:
    """A queue written by --keep-partial: a patch that conflicted is missing from it."""
    try:
        with (directory / "series").open("rb") as series:
            return series.readline().startswith(PARTIAL_MARK.encode())
    except OSError:
        return False


def check_versions(config: Config) -> list[ConfigProblem]:
    """A `version:` that names no queue folder while the package has others (a typo, or a
    folder removed): its current queue would silently be no queue at all."""
    problems = []
    for name, package in config.packages.items():
        versions = queue_versions(config.patchsets, name)
        if package.version is None or not versions:
            continue  # no patches yet: nothing to find
        if current_version(config, package) == package.version and not queue_dir(
                config.patchsets, name, package.version).is_dir():
            problems.append(config.problem(
                ("packages", name, "version"),
                f"{package.version} has no queue folder in {config.patchsets / name} (it holds "
                f"{', '.join(versions)}); correct version:, or add the folder"))
    return problems


def check_tags(config: Config, workdir: Path) -> list[ConfigProblem]:
    """Each queue folder names a release in its package's cache, where the cache is (a
    folder renamed to a version upstream never tagged would make a package look up to
    date): read from the cache's files, no git process."""
    from mirrorctl.core.objects import files_refs
    from mirrorctl.sync.cache import cache_dir, untagged

    problems = []
    for name, package in config.packages.items():
        versions = queue_versions(config.patchsets, name)
        cache = cache_dir(workdir, package)
        refs = files_refs(cache, "refs/tags/") if versions and (cache / "HEAD").is_file() \
            else None
        if not refs:
            continue  # no cache (or one git must read): the readers say it
        tags = [ref.removeprefix("refs/tags/") for ref in refs]
        problems += [ConfigProblem(str(queue_dir(config.patchsets, name, version)), None, "",
                                   why) for version in versions
                     if (why := untagged(tags, package, version)) is not None]
    return problems
