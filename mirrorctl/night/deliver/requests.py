"""The builders' repository's open requests, listed once a run: a night that delivers
thirty upgrades reads one list (a page a hundred requests), not one a package, and
knows from it which standing requests are still open without asking each one.

A request mirrorctl opens or closes during the run is noted here, so that what the run
reads later agrees with what it did.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mirrorctl.upstream.forges.api import ForgeApi
    from mirrorctl.upstream.forges.pulls import OpenRequest

__all__ = ["OpenRequests"]


class OpenRequests:
    """The open requests of one repository, read at the first need and kept for the run."""

    def __init__(self) -> None:
        self._listed: dict[str, list[OpenRequest]] = {}
        self._lock = threading.Lock()

    def of(self, forge: ForgeApi, project: str,
           prefixes: tuple[str, ...]) -> list[OpenRequest]:
        """The open requests of `project` whose branch starts with one of `prefixes`."""
        with self._lock:
            if project not in self._listed:
                self._listed[project] = forge.open_requests(project, branch_prefix="")
            return [r for r in self._listed[project] if r.branch.startswith(prefixes)]

    def known(self, project: str) -> list[OpenRequest] | None:
        """What the run listed of `project` (None: not listed yet)."""
        with self._lock:
            found = self._listed.get(project)
            return None if found is None else list(found)

    def opened(self, project: str, request: OpenRequest) -> None:
        with self._lock:
            if project in self._listed:
                self._listed[project] = [*self._listed[project], request]

    def closed(self, project: str, request: OpenRequest) -> None:
        with self._lock:
            if project in self._listed:
                self._listed[project] = [r for r in self._listed[project]
                                         if r.number != request.number]
