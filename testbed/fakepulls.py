"""A loopback forge holding pull requests (GitHub REST) and merge requests (GitLab v4) of
one repository, with state: list (paginated as each forge paginates), open, update,
label, comment (list, edit in place), close; its issues (list by label, open, edit,
comment, close, reopen);
token checks, their error bodies and rate-limit headers, and rate limits served on
demand (`throttle`)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

from testbed.httpserver import Answer, Recorded, http_server

GITHUB_TOKEN = "gh-pulls-token-123456"
GITLAB_TOKEN = "glpat-pulls-token-123456"


@dataclass
class PullForge:
    url: str = ""
    page_size: int = 100  # what one page of a list holds
    pulls: list[dict[str, Any]] = field(default_factory=list)  # GitHub, every state
    mrs: list[dict[str, Any]] = field(default_factory=list)  # GitLab, every state
    comments: list[tuple[int, str]] = field(default_factory=list)  # (number, body)
    requests: list[str] = field(default_factory=list)
    # Builds: GitHub workflow runs ({"id", "head_branch", "status", "jobs", "artifacts":
    # {name: zip bytes}}) and GitLab pipelines ({"id", "ref", "status", "jobs",
    # "test_suites"}).
    runs: list[dict[str, Any]] = field(default_factory=list)
    pipelines: list[dict[str, Any]] = field(default_factory=list)
    # Issues: GitHub's ({"number", "state", "state_reason", "title", "body", "labels"}) or
    # GitLab's ({"iid", "state", "title", "description", "labels"}).
    issues: list[dict[str, Any]] = field(default_factory=list)
    # Workflow dispatches received: {"workflow", "ref", "inputs"}; `on_dispatch` (when
    # set) makes the run GitHub would start (append it to `runs`, with "workflow",
    # "created_at" and "event").
    dispatches: list[dict[str, Any]] = field(default_factory=list)
    on_dispatch: Any = None
    # (method, answer): served instead of the next request of that method, in order.
    throttle: list[tuple[str, Answer]] = field(default_factory=list)
    # GitHub drops the labels of a new issue when the token may not set them.
    drop_labels: bool = False

    def _number(self) -> int:
        return len(self.pulls) + len(self.mrs) + len(self.issues) + 1

    def respond(self, request: Recorded, index: int) -> Answer:
        path, _, query = request.path.partition("?")
        self.requests.append(f"{request.method} {path}")
        body = json.loads(request.body or b"{}") if request.body else {}
        if self.throttle and self.throttle[0][0] == request.method:
            return self.throttle.pop(0)[1]
        if path.startswith("/api/v4/"):
            if request.headers.get("PRIVATE-TOKEN") != GITLAB_TOKEN:
                return _json(401, {"message": "401 Unauthorized"})
            return self._gitlab(request.method, path[len("/api/v4"):], parse_qs(query), body)
        if request.headers.get("Authorization") != f"Bearer {GITHUB_TOKEN}":
            return _json(401, {"message": "Bad credentials",
                               "documentation_url": "https://docs.github.com/rest"})
        return self._github(request.method, path, parse_qs(query), body)

    # GitHub
    def _github(self, method: str, path: str, query: dict[str, list[str]],
                body: dict[str, Any]) -> Answer:
        limits = {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "4990"}
        if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/actions/workflows/([^/]+)/dispatches",
                             path):
            if not isinstance(body.get("ref"), str) or not isinstance(body.get("inputs"), dict):
                return _json(422, {"message": "Invalid request: ref and inputs are required"})
            dispatch = {"workflow": m.group(2), "ref": body["ref"], "inputs": body["inputs"]}
            self.dispatches.append(dispatch)
            if self.on_dispatch is not None:
                self.on_dispatch(dispatch)
            return 204, {}, b""
        if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/actions/workflows/([^/]+)/runs", path):
            branch = query.get("branch", [None])[0]
            since = query.get("created", [">="])[0].removeprefix(">=")
            runs = [{k: v for k, v in r.items() if k not in ("jobs", "artifacts")}
                    for r in reversed(self.runs) if r.get("workflow") == m.group(2)
                    and branch in (None, r["head_branch"])
                    and str(r.get("created_at", "")) >= since]
            return _json(200, {"total_count": len(runs), "workflow_runs": runs}, limits)
        if path == "/search/issues":
            wanted = re.search(r'in:title "([^"]*)"', query.get("q", [""])[0])
            found = [i for i in self.issues if wanted and wanted.group(1).lower()
                     in str(i.get("title", "")).lower()]
            return _json(200, {"total_count": len(found), "items": found}, limits)
        if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/actions/runs", path):
            branch = query.get("branch", [None])[0]
            runs = [{k: v for k, v in r.items() if k not in ("jobs", "artifacts")}
                    for r in reversed(self.runs) if branch in (None, r["head_branch"])]
            return _json(200, {"total_count": len(runs), "workflow_runs": runs}, limits)
        if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/actions/runs/(\d+)/(jobs|artifacts)", path):
            run = next((r for r in self.runs if r["id"] == int(m.group(2))), None)
            if run is None:
                return _json(404, {"message": "Not Found"})
            if m.group(3) == "jobs":
                return _json(200, {"total_count": len(run["jobs"]), "jobs": run["jobs"]})
            artifacts = [{"id": n, "name": name, "size_in_bytes": len(data),
                          "archive_download_url": f"{self.url}/download/{run['id']}/{name}"}
                         for n, (name, data) in enumerate(run["artifacts"].items())]
            return _json(200, {"total_count": len(artifacts), "artifacts": artifacts})
        if m := re.fullmatch(r"/download/(\d+)/(.+)", path):
            run = next(r for r in self.runs if r["id"] == int(m.group(1)))
            return 200, {"Content-Type": "application/zip"}, run["artifacts"][m.group(2)]
        if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/pulls", path):
            if method == "GET":
                wanted = [p for p in self.pulls if p["state"] == query.get("state", ["open"])[0]]
                return self._github_page(path, query, wanted, limits)
            head = str(body.get("head", ""))
            branch = head.partition(":")[2]
            if any(p["head"]["ref"] == branch and p["state"] == "open" for p in self.pulls):
                return _json(422, {"message": "Validation Failed", "errors": [{
                    "resource": "PullRequest", "code": "custom",
                    "message": f"A pull request already exists for {head}."}]})
            number = self._number()
            pull = {"number": number, "state": "open", "title": body["title"],
                    "body": body.get("body", ""), "draft": bool(body.get("draft")),
                    "html_url": f"https://github.com/{m.group(1)}/pull/{number}",
                    "head": {"ref": branch, "repo": {"full_name": m.group(1)}},
                    "base": {"ref": body.get("base")}, "labels": []}
            self.pulls.append(pull)
            return _json(201, pull, limits)
        if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/pulls/(\d+)", path):
            pull = self._pull(int(m.group(2)))
            if pull is None:
                return _json(404, {"message": "Not Found"})
            if method == "PATCH":
                pull.update({k: v for k, v in body.items() if k in ("title", "body", "state")})
            return _json(200, pull, limits)
        if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/issues", path):
            if method == "GET":
                label, state = query.get("labels", [""])[0], query.get("state", ["open"])[0]
                # GitHub lists pull requests among the issues, marked as such.
                wanted = [i for i in [*self.issues, *({**p, "pull_request": {}}
                                                      for p in self.pulls)]
                          if (not label or label in [x["name"] for x in i["labels"]])
                          and state in ("all", i["state"])]
                return self._github_page(path, query, wanted, limits)
            number = self._number()
            issue = {"number": number, "state": "open", "state_reason": None,
                     "title": body["title"], "body": body.get("body", ""),
                     "html_url": f"https://github.com/{m.group(1)}/issues/{number}",
                     "labels": [] if self.drop_labels else
                     [{"name": n} for n in body.get("labels", [])]}
            self.issues.append(issue)
            return _json(201, issue, limits)
        if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/(\d+)", path):
            issue = next((i for i in self.issues if i["number"] == int(m.group(2))), None)
            if issue is None:
                return _json(404, {"message": "Not Found"})
            if method == "PATCH":
                issue.update({k: v for k, v in body.items()
                              if k in ("title", "body", "state", "state_reason")})
                if body.get("state") == "open":
                    issue["state_reason"] = "reopened"
            return _json(200, issue, limits)
        if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/(\d+)/labels", path):
            pull = self._pull(int(m.group(2)))
            if pull is None:
                return _json(404, {"message": "Not Found"})
            names = [*([] if method == "PUT" else [x["name"] for x in pull["labels"]]),
                     *body.get("labels", [])]
            pull["labels"] = [{"name": n} for n in dict.fromkeys(names)]
            return _json(200, pull["labels"], limits)
        if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/(\d+)/comments", path):
            if method == "GET":
                return self._github_page(path, query, self._comments_of(int(m.group(2))),
                                         limits)
            self.comments.append((int(m.group(2)), str(body.get("body", ""))))
            return _json(201, {"id": len(self.comments)}, limits)
        if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/comments/(\d+)", path):
            return self._edit_comment(int(m.group(2)), body, limits)
        return _json(404, {"message": "Not Found"})

    def _comments_of(self, number: int) -> list[dict[str, Any]]:
        """A request's comments (ids count from 1 over all of them, as `comments` holds
        them), as both forges list them."""
        return [{"id": n, "body": text} for n, (on, text) in enumerate(self.comments, 1)
                if on == number]

    def _edit_comment(self, number: int, body: dict[str, Any],
                      headers: dict[str, str]) -> Answer:
        if not 0 < number <= len(self.comments):
            return _json(404, {"message": "Not Found"})
        on, _ = self.comments[number - 1]
        self.comments[number - 1] = (on, str(body.get("body", "")))
        return _json(200, {"id": number, "body": body.get("body")}, headers)

    def _pull(self, number: int) -> dict[str, Any] | None:
        return next((p for p in self.pulls if p["number"] == number), None)

    # Lists, a page at a time
    def _page(self, query: dict[str, list[str]], wanted: list[dict[str, Any]],
              ) -> tuple[int, list[dict[str, Any]], str | None]:
        """(page number, its items, the query of the next page or None)."""
        page = int(query.get("page", ["1"])[0])
        items = wanted[(page - 1) * self.page_size:page * self.page_size]
        rest = "&".join(f"{k}={v[0]}" for k, v in query.items() if k != "page")
        more = len(wanted) > page * self.page_size
        return page, items, f"{rest}&page={page + 1}".lstrip("&") if more else None

    def _github_page(self, path: str, query: dict[str, list[str]],
                     wanted: list[dict[str, Any]], limits: dict[str, str]) -> Answer:
        """One page, with the Link header GitHub sends."""
        _, items, following = self._page(query, wanted)
        link = {"Link": f'<{self.url}{path}?{following}>; rel="next"'} if following else {}
        return _json(200, items, {**limits, **link})

    def _gitlab_page(self, path: str, query: dict[str, list[str]],
                     wanted: list[dict[str, Any]]) -> Answer:
        """One page, with the headers and Link python-gitlab follows."""
        page, items, following = self._page(query, wanted)
        pages = {"X-Page": str(page), "X-Per-Page": str(self.page_size),
                 "X-Total": str(len(wanted)),
                 "X-Total-Pages": str(max(1, -(-len(wanted) // self.page_size))),
                 "X-Next-Page": str(page + 1) if following else "", "X-Prev-Page": ""}
        if following:
            pages["Link"] = f'<{self.url}/api/v4{path}?{following}>; rel="next"'
        return _json(200, items, pages)

    # GitLab

    def _gitlab(self, method: str, path: str, query: dict[str, list[str]],
                body: dict[str, Any]) -> Answer:
        if re.fullmatch(r"/projects/([^/]+)/pipelines", path):
            ref = query.get("ref", [None])[0]
            found = [{k: v for k, v in p.items() if k not in ("jobs", "test_suites")}
                     for p in reversed(self.pipelines) if ref in (None, p["ref"])]
            return _json(200, found, {"X-Page": "1", "X-Per-Page": "20", "X-Total-Pages": "1",
                                      "X-Total": str(len(found)), "X-Next-Page": ""})
        if m := re.fullmatch(r"/projects/([^/]+)/pipelines/(\d+)/(jobs|test_report)", path):
            pipeline = next((p for p in self.pipelines if p["id"] == int(m.group(2))), None)
            if pipeline is None:
                return _json(404, {"message": "404 Not found"})
            if m.group(3) == "jobs":
                return _json(200, pipeline["jobs"], {"X-Page": "1", "X-Total-Pages": "1",
                                                     "X-Next-Page": ""})
            suites = pipeline["test_suites"]
            return _json(200, {"total_count": sum(len(t["test_cases"]) for t in suites),
                               "test_suites": suites})
        if m := re.fullmatch(r"/projects/([^/]+)/issues", path):
            project = unquote(m.group(1))
            if method == "GET":
                labels = [x for x in query.get("labels", [""])[0].split(",") if x]
                wanted = [i for i in self.issues if all(x in i["labels"] for x in labels)
                          and query.get("state", [i["state"]])[0] == i["state"]]
                return self._gitlab_page(path, query, wanted)
            iid = self._number()
            labels = body.get("labels", "")
            issue = {"iid": iid, "state": "opened", "title": body["title"],
                     "description": body.get("description", ""),
                     "labels": [x for x in (labels.split(",") if isinstance(labels, str)
                                            else labels) if x],
                     "web_url": f"https://gitlab.example.org/{project}/-/issues/{iid}"}
            self.issues.append(issue)
            return _json(201, issue)
        if m := re.fullmatch(r"/projects/([^/]+)/issues/(\d+)", path):
            issue = next((i for i in self.issues if i["iid"] == int(m.group(2))), None)
            if issue is None:
                return _json(404, {"message": "404 Not found"})
            if method == "PUT":
                issue.update({k: v for k, v in body.items() if k in ("title", "description")})
                event = body.get("state_event")
                if event in ("close", "reopen"):
                    issue["state"] = "closed" if event == "close" else "opened"
            return _json(200, issue)
        if m := re.fullmatch(r"/projects/([^/]+)/issues/(\d+)/notes", path):
            self.comments.append((int(m.group(2)), str(body.get("body", ""))))
            return _json(201, {"id": len(self.comments), "body": body.get("body")})
        if m := re.fullmatch(r"/projects/([^/]+)/merge_requests", path):
            project = unquote(m.group(1))
            if method == "GET":
                wanted = [r for r in self.mrs if r["state"] == query.get("state", ["opened"])[0]]
                return self._gitlab_page(path, query, wanted)
            if any(r["source_branch"] == body.get("source_branch") and r["state"] == "opened"
                   for r in self.mrs):
                return _json(409, {"message": ["Another open merge request already exists for "
                                               "this source branch"]})
            iid = self._number()
            labels = body.get("labels", "")
            mr = {"iid": iid, "state": "opened", "title": body["title"],
                  "description": body.get("description", ""),
                  "source_branch": body["source_branch"], "target_branch": body["target_branch"],
                  "labels": [x for x in (labels.split(",") if isinstance(labels, str) else labels)
                             if x],
                  "draft": str(body["title"]).startswith("Draft:"),
                  "web_url": f"https://gitlab.example.org/{project}/-/merge_requests/{iid}"}
            self.mrs.append(mr)
            return _json(201, mr)
        if m := re.fullmatch(r"/projects/([^/]+)/merge_requests/(\d+)", path):
            mr = next((r for r in self.mrs if r["iid"] == int(m.group(2))), None)
            if mr is None:
                return _json(404, {"message": "404 Not found"})
            if method == "PUT":
                for key in ("title", "description"):
                    if key in body:
                        mr[key] = body[key]
                if "labels" in body:
                    labels = body["labels"]
                    mr["labels"] = [x for x in (labels.split(",") if isinstance(labels, str)
                                                else labels) if x]
                if body.get("state_event") == "close":
                    mr["state"] = "closed"
            return _json(200, mr)
        if m := re.fullmatch(r"/projects/([^/]+)/merge_requests/(\d+)/notes", path):
            if method == "GET":
                return self._gitlab_page(path, query, self._comments_of(int(m.group(2))))
            self.comments.append((int(m.group(2)), str(body.get("body", ""))))
            return _json(201, {"id": len(self.comments), "body": body.get("body")})
        if m := re.fullmatch(r"/projects/([^/]+)/merge_requests/(\d+)/notes/(\d+)", path):
            return self._edit_comment(int(m.group(3)), body, {})
        return _json(404, {"message": "404 Not found"})


def _json(status: int, data: Any, headers: dict[str, str] | None = None) -> Answer:
    return status, {"Content-Type": "application/json", **(headers or {})}, \
        json.dumps(data).encode()


@contextmanager
def pull_forge() -> Iterator[PullForge]:
    forge = PullForge()
    with http_server(forge.respond) as server:
        forge.url = server.url
        yield forge
