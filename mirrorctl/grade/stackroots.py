"""The roots of the stacks the builders serve: `defaults.stacks` as written, then the top
of a download ranking (`defaults.top_packages`), as the builders' monthly check reads
hugovk/top-pypi-packages: its rows in download order, the first `count` that ship a
platform wheel in their newest release (with `binary: false`, the first `count`).

The ranking is read through the package index's client (kept with its max-age and
ETag, like every index answer). What could not be read is said, never guessed: a
ranking that does not read leaves its roots out and says why; a project whose files
could not be read is not counted as binary or not, and is said too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from packaging.utils import canonicalize_name

from mirrorctl.core.sections import TopPackages
from mirrorctl.grade.index import IndexUnreadable, PackageIndex
from mirrorctl.grade.stackinstall import wheel_tags

__all__ = ["StackRoots", "stack_roots"]

_SCAN = 10  # at most count * _SCAN projects of the ranking are read for count binary ones


@dataclass(frozen=True, kw_only=True)
class StackRoots:
    roots: tuple[str, ...]  # as written (`haystack-ai[all]>=2`), defaults.stacks first
    top: tuple[str, ...] = ()  # those the ranking gave
    unknown: tuple[str, ...] = ()  # what could not be read, and why


def stack_roots(stacks: Sequence[str], top: TopPackages | None,
                index: PackageIndex) -> StackRoots:
    """defaults.stacks, then the top of the ranking (those not already named)."""
    if top is None:
        return StackRoots(roots=tuple(stacks))
    try:
        ranked = index.document(top.url, "the top-packages ranking", immutable=False,
                                 read=_ranked)
    except IndexUnreadable as exc:
        return StackRoots(roots=tuple(stacks), unknown=(
            f"the top-packages ranking {top.url} could not be read ({exc}): its roots "
            "are left out tonight",))
    if ranked is None:
        return StackRoots(roots=tuple(stacks), unknown=(
            f"the top-packages ranking {top.url} is not there (404)",))
    named = {canonicalize_name(s.split("[")[0].split(";")[0].strip()) for s in stacks}
    chosen: list[str] = []
    unknown: list[str] = []
    for name in ranked[:top.count * _SCAN]:
        if len(chosen) >= top.count:
            break
        if canonicalize_name(name) in named:
            continue
        if top.binary:
            try:
                binary = _ships_platform_wheels(index, name)
            except IndexUnreadable as exc:
                unknown.append(f"{name} (of the top packages): {exc}")
                continue
            if not binary:
                continue
        chosen.append(name)
    return StackRoots(roots=(*stacks, *chosen), top=tuple(chosen), unknown=tuple(unknown))


def _ranked(response: Any) -> list[str]:
    """The projects of a top-pypi-packages document, most downloaded first."""
    data = response.json()
    rows = data["rows"] if isinstance(data, Mapping) else data
    names = [row["project"] if isinstance(row, Mapping) else row for row in rows]
    if not all(isinstance(n, str) and n for n in names):
        raise ValueError("a row names no project")
    return names


def _ships_platform_wheels(index: PackageIndex, name: str) -> bool:
    """Whether the project's newest release has a wheel that is not pure Python."""
    project = index.project(name)
    if not project.found:
        raise IndexUnreadable(f"the index has no project {canonicalize_name(name)}")
    releases = [v for v, files in project.releases.items()
                if files and not all(f.yanked for f in files)]
    if not releases:
        return False
    final = [v for v in releases if not v.is_prerelease] or releases
    return any(tag.platform != "any" for tags in wheel_tags(project.releases[max(final)])
               for tag in tags)
