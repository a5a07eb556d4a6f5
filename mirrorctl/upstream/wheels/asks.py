"""Upstream's requests for riscv64 wheels: its pull/merge requests and issues, open and
closed, that ask for them, found by one search on the forge (GitHub's search API, one
request; GitLab's merge requests and issues, one each), and why a declined one was
closed (one more request, only for the request the state quotes).

Behind one interface (WheelAsks), a GitHub and a GitLab implementation, which each
forge gives (ForgeApi.wheel_asks).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal, Protocol

from mirrorctl.upstream.forges.forge import (
    ForgeSettings,
    forge_call,
    github_api,
    github_headers,
    gitlab_client,
    http_session,
    json_answer,
    project_ref,
)
from mirrorctl.upstream.wheels.state import AskState, WheelAsk

__all__ = ["GitHubAsks", "GitLabAsks", "WheelAsk", "WheelAsks", "asks_for_wheels",
           "wheel_asks"]

_RISCV = re.compile(r"risc-?v", re.I)
# What asks for wheels, not for one fix or a test job ("ci: run the tests on riscv64").
_WHEELS = re.compile(r"wheel|cibuildwheel|manylinux|musllinux|build matrix|pypi|maturin", re.I)


def asks_for_wheels(title: str, body: str) -> bool:
    """Whether a request's text asks for riscv64 wheels (not one riscv64 fix, nor a test
    job): riscv64 in its title, and wheels or the build matrix in its title or text."""
    return bool(_RISCV.search(title)) and bool(_WHEELS.search(title) or _WHEELS.search(body))


class WheelAsks(Protocol):
    def search(self, project: str) -> list[WheelAsk]: ...
    def closing_note(self, project: str, ask: WheelAsk) -> str | None: ...


class GitHubAsks:
    def __init__(self, host: str, settings: ForgeSettings) -> None:
        self._host, self._settings = host, settings
        self._api = github_api(host, settings)

    def _get(self, what: str, project: str, path: str, params: Mapping[str, str]) -> Any:
        settings = self._settings
        return forge_call(what, project_ref("github", self._host, project), settings,
                          lambda: http_session(settings).get(
                              f"{self._api}{path}", headers=github_headers(settings),
                              params=dict(params), timeout=settings.timeout))

    def search(self, project: str) -> list[WheelAsk]:
        what = f"searching {project}'s requests for riscv64 wheels"
        response = self._get(what, project, "/search/issues",
                             {"q": f"repo:{project} riscv64", "per_page": "100"})
        items = json_answer(response, what).get("items", [])
        return [self.ask(i) for i in items if isinstance(i, dict)
                and asks_for_wheels(str(i.get("title", "")), str(i.get("body") or ""))]

    @staticmethod
    def ask(item: Mapping[str, Any]) -> WheelAsk:
        """A search item (an issue or pull request of GitHub's) as a WheelAsk."""
        pull = item.get("pull_request")
        merged = isinstance(pull, dict) and bool(pull.get("merged_at"))
        state: AskState = "open" if item.get("state") == "open" else (
            "merged" if merged else "closed")
        return WheelAsk(url=str(item.get("html_url", "")), kind="pr" if pull else "issue",
                        state=state, title=str(item.get("title", "")),
                        number=int(item.get("number", 0)),
                        closed_at=str((pull or {}).get("merged_at") or item.get("closed_at")
                                      or "") or None)

    def closing_note(self, project: str, ask: WheelAsk) -> str | None:
        """The last comment of a closed request: where maintainers say why."""
        what = f"reading why {ask.url} was closed"
        response = self._get(what, project, f"/repos/{project}/issues/{ask.number}/comments",
                             {"per_page": "100"})
        comments = [c for c in json_answer(response, what, list) if isinstance(c, dict)]
        return _quote(str(comments[-1].get("body") or "")) if comments else None


class GitLabAsks:
    def __init__(self, host: str, settings: ForgeSettings) -> None:
        self._host, self._settings = host, settings

    def search(self, project: str) -> list[WheelAsk]:
        """The merge requests; the issues only when no merge request decides the state
        (an issue matters for a draft alone): two requests at most, with the quote."""
        requests = self._list(project, "mergerequests", "pr")
        return requests or self._list(project, "issues", "issue")

    def _list(self, project: str, manager: str, kind: Literal["pr", "issue"]) -> list[WheelAsk]:
        ref = project_ref("gitlab", self._host, project)
        handle = gitlab_client(self._host, self._settings).projects.get(project, lazy=True)
        items = forge_call(f"searching {project}'s requests for riscv64 wheels", ref,
                           self._settings, lambda: getattr(handle, manager).list(
                               search="riscv64", state="all", per_page=100, get_all=False))
        return [self._ask(i, kind) for i in items
                if asks_for_wheels(str(i.title), str(getattr(i, "description", "") or ""))]

    @staticmethod
    def _ask(item: Any, kind: Literal["pr", "issue"]) -> WheelAsk:
        raw = str(getattr(item, "state", ""))
        state: AskState = "open" if raw == "opened" else "merged" if raw == "merged" \
            else "closed"
        return WheelAsk(url=str(item.web_url), kind=kind, state=state, title=str(item.title),
                        number=int(item.iid),
                        closed_at=str(getattr(item, "merged_at", None)
                                      or getattr(item, "closed_at", None) or "") or None)

    def closing_note(self, project: str, ask: WheelAsk) -> str | None:
        ref = project_ref("gitlab", self._host, project)
        handle = gitlab_client(self._host, self._settings).projects.get(project, lazy=True)
        manager = handle.mergerequests if ask.kind == "pr" else handle.issues
        notes = forge_call(f"reading why {ask.url} was closed", ref, self._settings,
                           lambda: manager.get(ask.number, lazy=True).notes.list(
                               sort="desc", order_by="created_at", per_page=20,
                               get_all=False))
        for note in notes:
            if not getattr(note, "system", False):
                return _quote(str(note.body))
        return None


def _quote(text: str) -> str | None:
    """The first lines of a comment, as a one-line quote (quoted replies left out)."""
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and not line.lstrip().startswith(">")]
    quote = " ".join(lines)
    return (quote[:237] + "...") if len(quote) > 240 else (quote or None)


def wheel_asks(kind: str, host: str, settings: ForgeSettings) -> WheelAsks:
    """Upstream's requests for riscv64 wheels on that forge (github or gitlab)."""
    return GitHubAsks(host, settings) if kind == "github" else GitLabAsks(host, settings)
