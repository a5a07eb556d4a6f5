"""A loopback forge speaking the GitHub REST and GitLab v4 endpoints mirrorctl uses, with
token checks, their error bodies and rate-limit headers; it records every request."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from tests.httpserver import Answer, Recorded, http_server


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

    def respond(self, request: Recorded, index: int) -> Answer:
        status, headers, body = self._answer(request.path.split("?")[0], request.headers)
        return status, {"Content-Type": "application/json", **headers}, json.dumps(body).encode()

    def _answer(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        self.requests.append(path)
        if self.failures:
            return self.failures.pop(0), {"Retry-After": "0"}, {"message": "Server Error"}
        if m := re.match(r"^/repos/([^/]+/[^/]+)/(pulls|issues)/(\d+)$", path):
            if headers.get("Authorization") != f"Bearer {self.github_token}":
                return 401, {}, {"message": "Bad credentials",
                                 "documentation_url": "https://docs.github.com/rest"}
            item = self.github.get((m.group(1), m.group(2), int(m.group(3))))
            limits = {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "4999"}
            return (200, limits, item) if item else (404, limits, {"message": "Not Found"})
        if m := re.match(r"^/api/v4/projects/([^/]+)/(merge_requests|issues)/(\d+)$", path):
            if headers.get("PRIVATE-TOKEN") != self.gitlab_token:
                return 401, {}, {"message": "401 Unauthorized"}
            item = self.gitlab.get((unquote(m.group(1)), m.group(2), int(m.group(3))))
            return (200, {}, item) if item else (404, {}, {"message": "404 Not found"})
        return 404, {}, {"message": "404 Not found"}


@contextmanager
def fake_forge() -> Iterator[FakeForge]:
    forge = FakeForge()
    with http_server(forge.respond) as server:
        forge.url = server.url
        yield forge
