"""Whether upstream is still the project a package's cache and mirror hold, asked when
none of upstream's mirrored refs has a value the last sync recorded: its branches,
fetched apart into a scratch repository that borrows the cache's objects, descend from a
commit sync recorded (a fork or a move of the same project), or upstream names another
project (UpstreamChanged: nothing is fetched or pushed until a person says so).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from mirrorctl.core.config import Package
from mirrorctl.core.errors import MirrorctlError
from mirrorctl.core.git import GitRunner
from mirrorctl.core.repository import Repository

__all__ = ["UpstreamChanged", "recorded_commits", "shares_history"]


class UpstreamChanged(MirrorctlError):
    """The upstream URL names another project: its history shares nothing with the cache's
    and the mirror's. Nothing is fetched or pushed until a person says so."""

    def __init__(self, package: Package, refs: Mapping[str, str]) -> None:
        heads = [r.removeprefix("refs/heads/") for r in refs if r.startswith("refs/heads/")]
        tags = sorted(r.removeprefix("refs/tags/") for r in refs if r.startswith("refs/tags/"))
        holds = ", ".join(filter(None, [
            f"branches {', '.join(heads[:3])}" if heads else "",
            f"{len(tags)} tags ({tags[0]} ... {tags[-1]})" if tags else ""]))
        super().__init__(
            f"{package.upstream} holds {holds or 'no mirrored ref'}, whose history shares "
            f"nothing with what {package.name}'s cache and mirror hold: another project (two "
            "packages' upstream: swapped?). Nothing was fetched or pushed. Correct "
            f"`upstream:` in mirrors.yaml, or, if it is right, run `mirrorctl sync "
            f"{package.name} --accept-upstream`")


def shares_history(cache: Repository, url: str, wanted: Mapping[str, str],
                   ours: Sequence[str], runner: GitRunner) -> bool:
    """Whether upstream's branches descend from one of our branches' commits: fetched into
    a scratch repository that borrows the cache's objects, then dropped (the cache gains
    nothing)."""
    import shutil
    import tempfile

    heads = [ref for ref in wanted if ref.startswith("refs/heads/")]
    if not heads:
        return False
    scratch = Path(tempfile.mkdtemp(prefix="mirrorctl-probe-", dir=cache.git_dir))
    try:
        probe = Repository.open_or_init_bare(scratch, runner)
        alternates = scratch / "objects" / "info" / "alternates"
        alternates.parent.mkdir(parents=True, exist_ok=True)
        alternates.write_text(f"{cache.git_dir / 'objects'}\n", encoding="utf-8")
        probe.fetch_refspecs(url, [f"+{ref}:refs/probe/{ref}" for ref in heads])
        missing = cache.missing_objects(ours)
        present = [oid for oid in ours if oid not in missing]
        return any(probe.is_ancestor(old, wanted[ref]) for ref in heads for old in present)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def recorded_commits(recorded: Mapping[str, str]) -> list[str]:
    """The commits of upstream the last sync recorded that shares_history asks about:
    its branches', then its tags' (the last names first), 24 at most."""
    heads = [sha for ref, sha in recorded.items() if ref.startswith("refs/heads/")]
    tags = [sha for ref, sha in sorted(recorded.items(), reverse=True)
            if ref.startswith("refs/tags/")]
    return [*heads, *tags][:24]
