"""Upstream's default branch and its CI, read from the cache (CiFinding): whether it
builds riscv64 wheels, the commit that made it (or the one that undid it), and the first
release tag that builds them. One `git log` of the CI files' history finds the commits
that named riscv; the CI of each tree is read once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from mirrorctl.core.config import Package
from mirrorctl.core.repository import Repository
from mirrorctl.upstream.wheels.ci import WheelCi, ci_paths
from mirrorctl.upstream.wheels.ci import read_wheel_ci as wheel_ci_of

__all__ = ["CiFinding", "read_ci"]

_RISCV_LINES = "[Rr][Ii][Ss][Cc]-?[Vv]"  # what -G looks for in the CI files' diffs
_WALK = 25  # commits of the CI files' history read at most, newest first


@dataclass(frozen=True, kw_only=True)
class CiFinding:
    """Upstream's default branch and its CI, read from the cache."""

    branch: str
    commit: str
    ci: WheelCi
    enabled_by: tuple[str, str] | None = None  # (commit, subject) that made it build them
    reverted_by: tuple[str, str] | None = None  # (commit, subject) that undid it
    released_in: str | None = None  # the first release tag that builds them
    newest_release: str | None = None


def read_ci(cache: Repository, package: Package, branch: str) -> CiFinding:
    """The default branch's CI, the commit that enabled (or undid) riscv64 wheels in it,
    and the first release tag that builds them. Raises GitError."""
    commit = cache.resolve(f"refs/heads/{branch}")
    if commit is None:
        raise LookupError(branch)
    read: dict[frozenset[tuple[str, str]], WheelCi] = {}

    def read_wheel_ci(files: Mapping[str, str]) -> WheelCi:
        """The CI of these files, read once: the branch and its tags mostly share them."""
        key = frozenset(files.items())
        if key not in read:
            read[key] = wheel_ci_of(files)
        return read[key]

    ci = read_wheel_ci(cache.files_at(commit, ci_paths()))
    enabled = reverted = None
    touched = _riscv_commits(cache, commit)
    if ci.builds_riscv64:
        for sha, subject in touched:
            if not read_wheel_ci(cache.files_at(sha, ci_paths())).builds_riscv64:
                break
            enabled = (sha, subject)
    else:
        newer: tuple[str, str] | None = None
        for sha, subject in touched:
            if read_wheel_ci(cache.files_at(sha, ci_paths())).builds_riscv64:
                reverted = newer
                enabled = (sha, subject)
                break
            newer = (sha, subject)
    releases = _release_tags(cache, package)
    newest = releases[-1] if releases else None
    released = None
    if newest is not None and read_wheel_ci(cache.files_at(
            f"refs/tags/{newest}^{{commit}}", ci_paths())).builds_riscv64:
        released = newest
        if enabled is not None:
            containing = set(cache.git("tag", "--contains", enabled[0]).stdout.split())
            released = next((t for t in releases if t in containing), newest)
    return CiFinding(branch=branch, commit=commit, ci=ci, enabled_by=enabled,
                     reverted_by=reverted, released_in=released, newest_release=newest)


def _riscv_commits(cache: Repository, commit: str) -> list[tuple[str, str]]:
    """The commits, newest first, whose diff of the CI files adds or removes a line that
    names riscv (one git command)."""
    out = cache.git("log", f"-{_WALK}", "--format=%H%x00%s", f"-G{_RISCV_LINES}", commit,
                    "--", *ci_paths()).stdout
    return [(sha, subject) for sha, _, subject in
            (line.partition("\0") for line in out.splitlines()) if sha]


def _release_tags(cache: Repository, package: Package) -> list[str]:
    """Release tags (the package's tag format, no pre-releases), oldest first."""
    found = []
    for tag in cache.tag_names():
        version = package.tag_format.version_of(tag)
        if version is None:
            continue
        try:
            parsed = Version(version)
        except InvalidVersion:
            continue
        if not parsed.is_prerelease and not parsed.is_devrelease:
            found.append((parsed, tag))
    return [tag for _, tag in sorted(found)]
