"""What building a mirrored package needs, read from its upstream cache: the top
pyproject.toml ([build-system] requires, as pip reads it) of the tag of the release a
stack needs. A package of the inventory whose cache has that tag is read there (no
sdist to download, and the tree the builders build); any other is left to its sdist
(grade.index).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from mirrorctl.core.config import Package
from mirrorctl.core.errors import MirrorctlError
from mirrorctl.core.git import GitRunner
from mirrorctl.core.repository import Repository
from mirrorctl.core.tagformat import TagFormatError
from mirrorctl.grade.index import IndexUnreadable, pyproject_build_requires
from mirrorctl.sync.cache import cache_dir

__all__ = ["CachedSources"]


class CachedSources:
    """name, version -> the build requirements of that release in the package's cache;
    None where the cache cannot say (not mirrored, no cache, no such tag)."""

    def __init__(self, packages: Iterable[Package], workdir: Path, runner: GitRunner) -> None:
        self.by_name = {canonicalize_name(p.pypi): p for p in packages}
        self.workdir, self.runner = workdir, runner
        self.read: list[str] = []  # the packages read from their cache, this run

    def __call__(self, name: str, version: Version) -> tuple[str, ...] | None:
        package = self.by_name.get(canonicalize_name(name))
        if package is None:
            return None
        cache = cache_dir(self.workdir, package)
        if not cache.is_dir():
            return None
        try:
            tag = package.tag_format.tag_for(str(version))
        except (InvalidVersion, TagFormatError, ValueError):
            return None
        try:
            repository = Repository(cache, self.runner)
            tree = repository.tag_tree(tag)
            if tree is None:
                return None  # no such tag in the cache: its sdist says
            files = repository.files_at(tree, ["pyproject.toml", "setup.py"])
        except MirrorctlError:
            return None
        if not files:
            return None
        found = pyproject_build_requires(files.get("pyproject.toml"))
        if isinstance(found, str):
            raise IndexUnreadable(f"{tag} in {package.name}'s cache: {found}")
        self.read.append(package.name)
        return tuple(found)
