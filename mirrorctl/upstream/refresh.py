"""Where each patch stands upstream: the state of every Submitted and Issue URL, and,
on request, the Upstream-Status headers rewritten to match.

Headers are always written in the vocabulary the queue uses: the builders' CI accepts
only Issue, Submitted, To upstream, Inappropriate and Backport, so there a refused patch
becomes "Inappropriate [declined upstream: url]"; a Yocto-style queue gets "Denied [url]".
Nothing outside the vocabulary is ever written (new_status is pure and checks it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from mirrorctl.core.config import Config, Package
from mirrorctl.core.errors import ConfigError
from mirrorctl.core.run import Currents
from mirrorctl.queue.branches import checked_version, rewrite_statuses
from mirrorctl.queue.folders import currents_of
from mirrorctl.queue.patches import PatchFile, PatchQueue, read_queue
from mirrorctl.queue.status import STATUS_KINDS
from mirrorctl.upstream.forges.api import forge_api
from mirrorctl.upstream.forges.forge import (
    ForgeError,
    ForgeSettings,
    RequestState,
    State,
    parse_request_url,
)

__all__ = ["VOCABULARIES", "Standing", "new_status", "refresh_packages", "verdict_of"]

Verdict = Literal["accepted", "refused", "open", "resolved", "unknown", "error"]
VOCABULARIES: dict[str, frozenset[str]] = {
    "builders": frozenset({"Issue", "Submitted", "To upstream", "Inappropriate", "Backport"}),
    "yocto": frozenset(STATUS_KINDS),
}
_ASKED = ("Submitted", "Issue")


@dataclass(frozen=True, kw_only=True)
class Standing:
    package: str
    patch: PatchFile
    url: str
    verdict: Verdict
    detail: str = ""
    new_status: str | None = None
    written: bool = False


_VERDICTS: dict[State, Verdict] = {"merged": "accepted", "closed-unmerged": "refused",
                                   "open": "open", "closed-completed": "resolved"}


def verdict_of(state: RequestState) -> Verdict:
    return _VERDICTS[state.state]


def new_status(verdict: Verdict, url: str, vocabulary: str) -> str | None:
    """The Upstream-Status a verdict calls for, in `vocabulary`; None: leave it."""
    if verdict == "accepted":
        value = f"Backport [{url}]"
    elif verdict == "refused":
        value = (f"Denied [{url}]" if vocabulary == "yocto"
                 else f"Inappropriate [declined upstream: {url}]")
    else:
        return None
    kind = value.split(" [", 1)[0]
    if kind not in VOCABULARIES[vocabulary]:  # never a value the queue's checker rejects
        return None
    return value


@dataclass(frozen=True, kw_only=True)
class RefreshOptions:
    write: bool = False
    currents: Currents | None = None  # the run's current versions (core.run.Run.currents)


def refresh_packages(config: Config, packages: Sequence[Package], options: RefreshOptions,
                     forges: ForgeSettings) -> list[Standing]:
    found: list[Standing] = []
    currents = currents_of(config, options.currents)
    for package in packages:
        current = currents.of(package)
        if current is None:
            continue
        queue, problems = read_queue(config.patchsets, package.name,
                                     checked_version(current, package, config))
        if not queue.directory.is_dir():
            continue  # a package with no queue has nothing upstream
        if problems:
            raise ConfigError(problems)
        standings = [_stand(package, patch, forges, config.status_vocabulary)
                     for patch in queue.patches if patch.status.kind in _ASKED]
        if options.write and any(s.new_status for s in standings):
            standings = _rewrite(queue, standings)
        found += standings
    return found


def _stand(package: Package, patch: PatchFile, forges: ForgeSettings,
           vocabulary: str) -> Standing:
    url = patch.status.argument or ""
    ref = parse_request_url(url, apis=forges.apis)
    if ref is None:
        return Standing(package=package.name, patch=patch, url=url, verdict="unknown",
                        detail="not a GitHub or GitLab request URL mirrorctl can read")
    try:
        state = forge_api(ref.forge, ref.host, forges).request_state(ref)
    except ForgeError as exc:
        return Standing(package=package.name, patch=patch, url=url, verdict="error",
                        detail=str(exc))
    verdict = verdict_of(state)
    return Standing(package=package.name, patch=patch, url=url, verdict=verdict,
                    detail=state.title, new_status=new_status(verdict, url, vocabulary))


def _rewrite(queue: PatchQueue, standings: list[Standing]) -> list[Standing]:
    rewrite_statuses(queue, {s.patch.name: s.new_status for s in standings if s.new_status})
    return [replace(s, written=bool(s.new_status)) for s in standings]
