"""An upgrade request that a newer release replaces, as the builders would want it: the
newer request names the older ones (its body), and each older one, mirrorctl's or their
bot's, is closed with a comment naming the newer (`stale: close`, the default; `stale:
comment` only comments). An older request whose branch holds a person's commit (their
hand work) is never closed: it is listed for a person.

Their bot's request of the very version mirrorctl completes makes mirrorctl's own one a
duplicate: that one is closed, pointing to the bot's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mirrorctl.core.release import Release
from mirrorctl.core.sections import PullRequests

if TYPE_CHECKING:  # the forge modules load only when a request is delivered
    from mirrorctl.upstream.forges.api import ForgeApi
    from mirrorctl.upstream.forges.pulls import OpenRequest

__all__ = ["Superseded", "branch_prefixes", "older_requests", "supersede"]


@dataclass(frozen=True)
class Superseded:
    done: tuple[str, ...] = ()  # the older requests told (and closed, with stale: close)
    kept: tuple[str, ...] = ()  # those left open: a person pushed to them


def branch_prefixes(site: PullRequests, package: str) -> tuple[str, ...]:
    """The branch names a package's upgrade requests start with: mirrorctl's, their bot's."""
    return tuple(t.format(name=package, version="") for t in
                 (site.branch, *([site.bot_branch] if site.bot_branch else ())))


def older_requests(site: PullRequests, package: str, version: str,
                   found: Sequence[OpenRequest]) -> list[OpenRequest]:
    """The open upgrade requests of `package` for a release older than `version`."""
    prefixes = branch_prefixes(site, package)
    return [r for r in found if any(r.branch.startswith(p) and _older(r.branch, p, version)
                                    for p in prefixes)]


def supersede(forge: ForgeApi, project: str, site: PullRequests, *, package: str,
              version: str, url: str, older: Sequence[OpenRequest],
              duplicate: OpenRequest | None, persons: Callable[[OpenRequest], list[str]],
              closed: Callable[[OpenRequest], None]) -> Superseded:
    """Tell each older request that `url` replaces it, closing it unless a person pushed
    to it (`persons(request)`: the authors of such commits); close mirrorctl's own
    request of this version when their bot's (`url`) is the one completed. `closed` is
    told of every request closed."""
    if not url:  # no request of this version (a kept branch whose request is gone)
        return Superseded()
    done, kept = [], []
    if duplicate is not None and duplicate.url != url:
        forge.comment_request(project, duplicate, f"Completed in {url} instead, their bot's "
                                                  f"request for {package} {version}.")
        forge.close_request(project, duplicate)
        closed(duplicate)
        done.append(duplicate.url)
    for request in older:
        if request.url == url:
            continue
        authors = persons(request)
        if authors:
            kept.append(request.url)
            continue
        forge.comment_request(project, request, f"Superseded by {url} ({package} {version}).")
        if site.stale == "close":
            forge.close_request(project, request)
            closed(request)
        done.append(request.url)
    return Superseded(done=tuple(done), kept=tuple(kept))


def _older(branch: str, prefix: str, version: str) -> bool:
    found, release = Release.of(branch.removeprefix(prefix)), Release.of(version)
    return found is not None and release is not None and found < release
