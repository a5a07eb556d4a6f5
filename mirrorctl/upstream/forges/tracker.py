"""The issues of one tracker (a GitHub repository through its REST API and requests, a
GitLab project through python-gitlab): list those with a label, open, edit, comment,
close and reopen one; and a forge's rate limits waited out.

GitHub's rules (REST API, "Rate limits"): after a 403 or 429 that is a rate limit,
wait the seconds `Retry-After` says; when `X-RateLimit-Remaining` is 0, wait until
`X-RateLimit-Reset`; else (a secondary limit that says nothing) wait a minute, longer
each time. Mutating requests go one at a time, a second apart. python-gitlab waits out
GitLab's 429s itself (its Retry-After, ten times at most). A wait longer than the
run's patience, or a sixth refusal, raises RateLimited: the caller keeps the rest for
the next run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import requests

from mirrorctl.upstream.forges.forge import (
    ForgeError,
    ForgeSettings,
    RequestRef,
    forge_call,
    github_api,
    github_headers,
    gitlab_client,
    json_answer,
    project_ref,
)

__all__ = ["GitHubTracker", "GitLabTracker", "Pace", "Paced", "RateLimited", "TrackedIssue",
           "Tracker",
           "rate_limit_wait"]


_MAX_TRIES = 6  # a request, its first try included, before the run gives up on it


class RateLimited(ForgeError):
    """The forge asks for a longer wait than the run will give it."""


@dataclass(frozen=True, kw_only=True)
class TrackedIssue:
    number: int  # GitHub's number, GitLab's iid
    url: str
    title: str
    body: str
    state: Literal["open", "closed"]
    not_planned: bool = False  # closed by a person as "not planned" (GitHub)
    labels: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Pace:
    """How the run waits: its sleep and clock (the CLI's; tests pass their own), the gap
    between mutating requests, and the longest rate-limit wait it accepts in all."""

    sleep: Callable[[float], None]
    clock: Callable[[], float]
    between_writes: float = 1.0
    patience: float = 900.0


class Tracker(Protocol):
    url: str

    def issues(self, label: str) -> list[TrackedIssue]: ...
    def open(self, title: str, body: str, labels: list[str]) -> TrackedIssue: ...
    def edit(self, issue: TrackedIssue, *, title: str, body: str) -> None: ...
    def comment(self, issue: TrackedIssue, text: str) -> None: ...
    def close(self, issue: TrackedIssue) -> None: ...
    def reopen(self, issue: TrackedIssue) -> None: ...
    # The issue of this exact title (a person's, in any state), or None.
    def find(self, title: str) -> TrackedIssue | None: ...
    # The one comment carrying `marker` set to `text`: edited in place, or posted.
    def upsert_comment(self, issue: TrackedIssue, *, marker: str, text: str) -> str: ...


def rate_limit_wait(status: int, headers: Mapping[str, str], body: str, now: float,
                    attempt: int) -> float | None:
    """How long GitHub asks to wait before this request again; None when the answer is
    no rate limit (a 403 that means forbidden)."""
    if status not in (403, 429):
        return None
    retry_after = headers.get("Retry-After")
    if retry_after is not None and retry_after.strip().isdigit():
        return float(retry_after)
    if headers.get("X-RateLimit-Remaining") == "0":
        reset = headers.get("X-RateLimit-Reset", "")
        if reset.strip().isdigit():
            return max(1.0, float(reset) - now + 1.0)
    if status == 429 or "rate limit" in body.lower():
        return 60.0 * 2.0 ** attempt  # a secondary limit that says nothing: a minute, more
    return None


class Paced:
    """What waits for a forge: writes spaced, rate limits waited out within the run's
    patience (then RateLimited)."""

    def __init__(self, pace: Pace) -> None:
        self._pace = pace
        self._last_write: float | None = None
        self._waited = 0.0

    def _space_write(self) -> None:
        now = self._pace.clock()
        if self._last_write is not None and now - self._last_write < self._pace.between_writes:
            self._pace.sleep(self._pace.between_writes - (now - self._last_write))
        self._last_write = self._pace.clock()

    def _wait(self, seconds: float, forge: str) -> None:
        if self._waited + seconds > self._pace.patience:
            raise RateLimited(f"rate limited by {forge}: it asks for {seconds:.0f}s more, "
                              f"past this run's {self._pace.patience:.0f}s; the rest waits "
                              "for the next run")
        self._waited += seconds
        self._pace.sleep(seconds)


class GitHubTracker(Paced):
    def __init__(self, host: str, project: str, settings: ForgeSettings, pace: Pace) -> None:
        super().__init__(pace)
        self._project, self._settings = project, settings
        self._api = f"{github_api(host, settings)}/repos/{project}/issues"
        self._search = f"{github_api(host, settings)}/search/issues"
        self._ref = project_ref("github", host, project)
        self._session = requests.Session()
        self.url = f"https://{host}/{project}/issues"

    def issues(self, label: str) -> list[TrackedIssue]:
        found, page = [], 1
        while True:
            response = self._call("listing the tracking issues", "GET", "", params={
                "labels": label, "state": "all", "per_page": "100", "page": str(page)})
            items = json_answer(response, "listing the tracking issues", list)
            found += [_github_issue(i) for i in items
                      if isinstance(i, dict) and "pull_request" not in i]
            if 'rel="next"' not in response.headers.get("Link", "") or not items:
                return found
            page += 1

    def open(self, title: str, body: str, labels: list[str]) -> TrackedIssue:
        response = self._call("opening the tracking issue", "POST", "",
                              json={"title": title, "body": body, "labels": labels})
        return _github_issue(json_answer(response, "opening the tracking issue"))

    def edit(self, issue: TrackedIssue, *, title: str, body: str) -> None:
        self._call("updating the tracking issue", "PATCH", f"/{issue.number}",
                   json={"title": title, "body": body})

    def comment(self, issue: TrackedIssue, text: str) -> None:
        self._call("commenting on the tracking issue", "POST", f"/{issue.number}/comments",
                   json={"body": text})

    def close(self, issue: TrackedIssue) -> None:
        self._call("closing the tracking issue", "PATCH", f"/{issue.number}",
                   json={"state": "closed", "state_reason": "completed"})

    def reopen(self, issue: TrackedIssue) -> None:
        self._call("reopening the tracking issue", "PATCH", f"/{issue.number}",
                   json={"state": "open"})

    def find(self, title: str) -> TrackedIssue | None:
        response = self._call("finding the tracking issue", "GET", "", url=self._search,
                              params={"q": f'repo:{self._project} is:issue in:title "{title}"',
                                      "per_page": "20"})
        items = json_answer(response, "finding the tracking issue").get("items", [])
        return next((_github_issue(i) for i in items if isinstance(i, dict)
                     and str(i.get("title", "")).strip().lower() == title.lower()), None)

    def upsert_comment(self, issue: TrackedIssue, *, marker: str, text: str) -> str:
        body = f"<!-- {marker} -->\n{text}"
        page = 1
        while True:
            response = self._call("reading the tracking issue's comments", "GET",
                                  f"/{issue.number}/comments",
                                  params={"per_page": "100", "page": str(page)})
            items = json_answer(response, "reading the tracking issue's comments", list)
            found = next((c for c in items if isinstance(c, dict)
                          and f"<!-- {marker} -->" in str(c.get("body", ""))), None)
            if found is not None:
                if str(found.get("body")) == body:
                    return "unchanged"
                self._call("editing the tracking issue's comment", "PATCH",
                           f"/comments/{found['id']}", json={"body": body})
                return "edited"
            if 'rel="next"' not in response.headers.get("Link", "") or not items:
                break
            page += 1
        self.comment(issue, body)
        return "posted"

    def _call(self, what: str, method: str, path: str, *, url: str | None = None,
              **kwargs: Any) -> requests.Response:
        """One request, its rate limits waited out; reads and PATCHes (idempotent) are
        tried again after a server error, a POST never (it may have been done)."""
        retry_server = method in ("GET", "PATCH")
        attempt = 0
        while True:
            if method != "GET":
                self._space_write()
            response = forge_call(what, self._ref, self._settings, lambda: self._session.request(
                method, url or self._api + path, headers=github_headers(self._settings),
                timeout=self._settings.timeout, **kwargs), accept=(403, 429, 500, 502, 503, 504))
            status = response.status_code
            wait = rate_limit_wait(status, response.headers, response.text, self._pace.clock(),
                                   attempt)
            if wait is None and status >= 500 and retry_server \
                    and attempt < self._settings.retries:
                wait = 2.0 * 2 ** attempt
            if wait is None:
                checked: requests.Response = forge_call(what, self._ref, self._settings,
                                                        lambda answer=response: answer)
                return checked
            if attempt + 1 >= _MAX_TRIES:  # a forge that asks for no wait, again and again
                raise RateLimited(f"{what}: github still refuses after {attempt + 1} tries "
                                  f"(status {status}); the rest waits for the next run")
            self._wait(wait, "github")
            attempt += 1


def _github_issue(item: dict[str, Any]) -> TrackedIssue:
    if not isinstance(item.get("number"), int):
        raise ForgeError(f"the forge listed an issue without a number: {str(item)[:80]}")
    return TrackedIssue(number=int(item["number"]), url=str(item.get("html_url", "")),
                        title=str(item.get("title", "")), body=str(item.get("body") or ""),
                        state="open" if item.get("state") == "open" else "closed",
                        not_planned=item.get("state_reason") == "not_planned",
                        labels=tuple(str(label.get("name", "")) for label in
                                     item.get("labels") or () if isinstance(label, dict)))


class GitLabTracker(Paced):
    def __init__(self, host: str, project: str, settings: ForgeSettings, pace: Pace) -> None:
        super().__init__(pace)
        self._settings = settings
        self._ref: RequestRef = project_ref("gitlab", host, project)
        self._project = gitlab_client(host, settings).projects.get(project, lazy=True)
        self.url = f"https://{host}/{project}/-/issues"

    def issues(self, label: str) -> list[TrackedIssue]:
        items = forge_call("listing the tracking issues", self._ref, self._settings,
                           lambda: self._project.issues.list(labels=[label], get_all=True))
        return [_gitlab_issue(item) for item in items]

    def open(self, title: str, body: str, labels: list[str]) -> TrackedIssue:
        self._space_write()
        item = forge_call("opening the tracking issue", self._ref, self._settings,
                          lambda: self._project.issues.create({
                              "title": title, "description": body, "labels": ",".join(labels)}))
        return _gitlab_issue(item)

    def edit(self, issue: TrackedIssue, *, title: str, body: str) -> None:
        self._save(issue, "updating the tracking issue", title=title, description=body)

    def comment(self, issue: TrackedIssue, text: str) -> None:
        self._space_write()
        item = self._project.issues.get(issue.number, lazy=True)
        forge_call("commenting on the tracking issue", self._ref, self._settings,
                   lambda: item.notes.create({"body": text}))

    def close(self, issue: TrackedIssue) -> None:
        self._save(issue, "closing the tracking issue", state_event="close")

    def reopen(self, issue: TrackedIssue) -> None:
        self._save(issue, "reopening the tracking issue", state_event="reopen")

    def find(self, title: str) -> TrackedIssue | None:
        items = forge_call("finding the tracking issue", self._ref, self._settings,
                           lambda: self._project.issues.list(search=title, per_page=20,
                                                             get_all=False, **{"in": "title"}))
        return next((_gitlab_issue(i) for i in items
                     if str(i.title).strip().lower() == title.lower()), None)

    def upsert_comment(self, issue: TrackedIssue, *, marker: str, text: str) -> str:
        body = f"<!-- {marker} -->\n{text}"
        item = self._project.issues.get(issue.number, lazy=True)
        notes = forge_call("reading the tracking issue's notes", self._ref, self._settings,
                           lambda: item.notes.list(get_all=True))
        note = next((n for n in notes if f"<!-- {marker} -->" in str(n.body)), None)
        if note is not None and str(note.body) == body:
            return "unchanged"
        self._space_write()
        if note is not None:
            note.body = body
            forge_call("editing the tracking issue's note", self._ref, self._settings,
                       note.save)
            return "edited"
        forge_call("commenting on the tracking issue", self._ref, self._settings,
                   lambda: item.notes.create({"body": body}))
        return "posted"

    def _save(self, issue: TrackedIssue, what: str, **changes: str) -> None:
        self._space_write()
        forge_call(what, self._ref, self._settings,
                   lambda: self._project.issues.update(issue.number, changes))


def _gitlab_issue(item: Any) -> TrackedIssue:
    return TrackedIssue(number=int(item.iid), url=str(item.web_url), title=str(item.title),
                        body=str(getattr(item, "description", "") or ""),
                        state="open" if item.state == "opened" else "closed",
                        labels=tuple(str(x) for x in getattr(item, "labels", ()) or ()))
