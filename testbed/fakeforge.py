"""A loopback forge speaking the GitHub REST and GitLab v4 endpoints mirrorctl uses, with
token checks, their error bodies and rate-limit headers; it records every request."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

from testbed.httpserver import Answer, Recorded, http_server


@dataclass
class FakeForge:
    url: str = ""
    github_token: str = "gh-test-token-123456"
    gitlab_token: str = "glpat-test-token-123456"
    # ("owner/repo", "pulls"|"issues", number) -> JSON object
    github: dict[tuple[str, str, int], dict[str, Any]] = field(default_factory=dict)
    # ("group/project", "merge_requests"|"issues", iid) -> JSON object
    gitlab: dict[tuple[str, str, int], dict[str, Any]] = field(default_factory=dict)
    failures: list[int] = field(default_factory=list)  # statuses to answer first, in order
    requests: list[str] = field(default_factory=list)
    # Open items, by project: what the searches find.
    open_items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Closed (and merged) ones, which a search finds unless it asks for is:open.
    closed_items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # ("owner/repo", number) -> the comments of that issue or pull request
    comments: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)
    created: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    project_ids: dict[str, int] = field(default_factory=lambda: {
        "scipy/scipy": 42, "rise/mirrors/numpy": 7})
    # GitHub's search rate: (searches, seconds); None: unlimited.
    search_rate: tuple[int, float] | None = None
    clock: Callable[[], float] = time.monotonic
    searched: list[float] = field(default_factory=list)  # when each search in the window came
    searches: list[list[str]] = field(default_factory=list)  # the projects each search named
    conditional: int = 0  # searches that came with If-None-Match

    def respond(self, request: Recorded, index: int) -> Answer:
        path, _, query = request.path.partition("?")
        if request.method == "POST":
            answer = self._create(path, request.headers, json.loads(request.body or b"{}"))
        elif request.method == "PUT":
            answer = self._update(path, request.headers, json.loads(request.body or b"{}"))
        elif request.method == "PATCH":
            answer = self._patch(path, request.headers, json.loads(request.body or b"{}"))
        else:
            answer = self._answer(path, request.headers, parse_qs(query))
        status, headers, body = answer
        if status == 304:
            return status, headers, b""
        return status, {"Content-Type": "application/json", **headers}, json.dumps(body).encode()

    def _search(self, headers: dict[str, str],
                query: dict[str, list[str]]) -> tuple[int, dict[str, str], Any]:
        """GitHub's issue search: `repo:` qualifiers OR'ed, terms AND'ed over title and
        body, sort=updated, pages, an ETag answered 304, and its rate (search_rate:
        at most n searches a window, 403 with the reset past it)."""
        if self.search_rate is not None:
            most, window = self.search_rate
            now = self.clock()
            self.searched = [t for t in self.searched if t > now - window]
            if len(self.searched) >= most:
                reset = int(self.searched[0] + window) + 1
                return 403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)}, \
                    {"message": "API rate limit exceeded"}
            self.searched.append(now)
        words = query.get("q", [""])[0].split()
        repos = [w[5:] for w in words if w.startswith("repo:")]
        self.searches.append(repos)
        self.conditional += 1 if headers.get("If-None-Match") else 0
        items = []
        for repo in repos:
            found = self.open_items.get(repo, [])
            if "is:open" not in words:
                found = found + self.closed_items.get(repo, [])
            items += [{**i, "repository_url": f"{self.url}/repos/{repo}"} for i in found]
        if "is:issue" in words:
            items = [i for i in items if "pull_request" not in i]
        terms = [w.strip('"').lower() for w in words if ":" not in w]
        items = [i for i in items if all(
            t in (str(i.get("title", "")) + " " + str(i.get("body") or "")).lower()
            for t in terms)]
        if query.get("sort", [""])[0] == "updated":
            items.sort(key=lambda i: str(i.get("updated_at", "")), reverse=True)
        size = int(query.get("per_page", ["30"])[0])
        page = int(query.get("page", ["1"])[0])
        body = {"total_count": len(items), "incomplete_results": False,
                "items": items[(page - 1) * size:page * size]}
        etag = '"' + hashlib.sha1(json.dumps(body, sort_keys=True).encode()).hexdigest() + '"'
        remaining = {"X-RateLimit-Remaining": "29", "ETag": etag}
        if headers.get("If-None-Match") == etag:
            return 304, remaining, None
        return 200, remaining, body

    def _project(self, segment: str) -> str:
        """GitLab names a project by its URL-encoded path or by its numeric id."""
        name = unquote(segment)
        by_id = {str(v): k for k, v in self.project_ids.items()}
        return by_id.get(name, name)

    def _authorized(self, path: str, headers: dict[str, str]) -> bool:
        if path.startswith("/api/v4/"):
            return headers.get("PRIVATE-TOKEN") == self.gitlab_token
        return headers.get("Authorization") == f"Bearer {self.github_token}"

    def _create(self, path: str, headers: dict[str, str],
                body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        self.requests.append(f"POST {path}")
        if not self._authorized(path, headers):
            return 401, {}, {"message": "Bad credentials"}
        number = 100 + len(self.created)
        if m := re.match(r"^/repos/([^/]+/[^/]+)/issues/(\d+)/comments$", path):
            comments = self.comments.setdefault((m.group(1), int(m.group(2))), [])
            comment = {"id": 9000 + len(comments), "body": body.get("body", "")}
            comments.append(comment)
            return 201, {}, comment
        if m := re.match(r"^/repos/([^/]+/[^/]+)/issues$", path):
            if not body.get("title"):
                return 422, {}, {"message": "Validation Failed",
                                 "errors": [{"field": "title", "code": "missing_field"}]}
            self.created.append((m.group(1), body))
            return 201, {}, {"number": number,
                             "html_url": f"https://github.com/{m.group(1)}/issues/{number}"}
        if m := re.match(r"^/repos/([^/]+/[^/]+)/pulls$", path):
            if ":" not in str(body.get("head", "")):
                return 422, {}, {"message": "Validation Failed"}
            self.created.append((m.group(1), body))
            return 201, {}, {"number": number,
                             "html_url": f"https://github.com/{m.group(1)}/pull/{number}"}
        if m := re.match(r"^/api/v4/projects/([^/]+)/(issues|merge_requests)$", path):
            project, kind = self._project(m.group(1)), m.group(2)
            self.created.append((project, body))
            target = project
            if "target_project_id" in body:  # opened in the fork, shown in the target project
                target = {v: k for k, v in self.project_ids.items()}[body["target_project_id"]]
            item = {"iid": number, "title": body.get("title"), "state": "opened",
                    "source_branch": body.get("source_branch"),
                    "description": body.get("description", ""), "kind": kind,
                    "web_url": f"https://gitlab.example.org/{target}/-/{kind}/{number}"}
            self.open_items.setdefault(project, []).append(item)
            return 201, {}, item
        return 404, {}, {"message": "404 Not found"}

    def _update(self, path: str, headers: dict[str, str],
                body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        self.requests.append(f"PUT {path}")
        if not self._authorized(path, headers):
            return 401, {}, {"message": "401 Unauthorized"}
        if m := re.match(r"^/api/v4/projects/([^/]+)/merge_requests/(\d+)$", path):
            for item in self.open_items.get(self._project(m.group(1)), []):
                if item["iid"] == int(m.group(2)):
                    item.update(body)
                    return 200, {}, item
        return 404, {}, {"message": "404 Not found"}

    def _patch(self, path: str, headers: dict[str, str],
               body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        self.requests.append(f"PATCH {path}")
        if not self._authorized(path, headers):
            return 401, {}, {"message": "Bad credentials"}
        if m := re.match(r"^/repos/([^/]+/[^/]+)/issues/comments/(\d+)$", path):
            for (repo, _), comments in self.comments.items():
                for comment in comments:
                    if repo == m.group(1) and comment.get("id") == int(m.group(2)):
                        comment.update(body)
                        return 200, {}, comment
        if m := re.match(r"^/repos/([^/]+/[^/]+)/issues/(\d+)$", path):
            for item in self.open_items.get(m.group(1), []):
                if item.get("number") == int(m.group(2)):
                    item.update(body)
                    return 200, {}, item
        return 404, {}, {"message": "Not Found"}

    def _answer(self, path: str, headers: dict[str, str],
                query: dict[str, list[str]]) -> tuple[int, dict[str, str], Any]:
        self.requests.append(path)
        if self.failures:
            return self.failures.pop(0), {"Retry-After": "0"}, {"message": "Server Error"}
        if not self._authorized(path, headers):
            return 401, {}, {"message": "Bad credentials"}
        if path == "/search/issues":
            return self._search(headers, query)
        if (m := re.match(r"^/api/v4/projects/([^/]+)$", path)) and \
                self._project(m.group(1)) in self.project_ids:
            name = self._project(m.group(1))
            return 200, {}, {"id": self.project_ids[name], "path_with_namespace": name}
        if m := re.match(r"^/api/v4/projects/([^/]+)/(issues|merge_requests)$", path):
            project = self._project(m.group(1))
            state = query.get("state", ["all"])[0]
            everything = self.open_items.get(project, []) + (
                self.closed_items.get(project, []) if state != "opened" else [])
            search = query.get("search", [""])[0].lower()
            items = [i for i in everything
                     if i.get("kind", "issues") == m.group(2)
                     and query.get("source_branch", [i.get("source_branch")])[0]
                     == i.get("source_branch")
                     and (state in ("all", "opened") or i.get("state") == state)
                     and search in (str(i.get("title", "")) + " "
                                    + str(i.get("description") or "")).lower()]
            pages = {"X-Page": "1", "X-Per-Page": "50", "X-Total": str(len(items)),
                     "X-Total-Pages": "1", "X-Next-Page": "", "X-Prev-Page": ""}
            return 200, pages, items
        if m := re.match(r"^/repos/([^/]+/[^/]+)/issues/(\d+)/comments$", path):
            return 200, {}, self.comments.get((m.group(1), int(m.group(2))), [])
        if m := re.match(r"^/repos/([^/]+/[^/]+)/issues$", path):
            label = query.get("labels", [""])[0]
            return 200, {}, [i for i in self.open_items.get(m.group(1), [])
                             if label in [x.get("name") for x in i.get("labels", [])]]
        if m := re.match(r"^/repos/([^/]+/[^/]+)/(pulls|issues)/(\d+)$", path):
            item = self.github.get((m.group(1), m.group(2), int(m.group(3))))
            limits = {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "4999"}
            return (200, limits, item) if item else (404, limits, {"message": "Not Found"})
        if m := re.match(r"^/api/v4/projects/([^/]+)/(merge_requests|issues)/(\d+)$", path):
            item = self.gitlab.get((self._project(m.group(1)), m.group(2), int(m.group(3))))
            return (200, {}, item) if item else (404, {}, {"message": "404 Not found"})
        return 404, {}, {"message": "404 Not found"}


@contextmanager
def fake_forge() -> Iterator[FakeForge]:
    forge = FakeForge()
    with http_server(forge.respond) as server:
        forge.url = server.url
        yield forge
