"""GitHub (its REST API, through requests): every call mirrorctl makes to a GitHub,
behind the ForgeApi interface (upstream/forges/api.py). Reads are retried (429 and 5xx,
honouring Retry-After); a POST never is (a second one would open a request twice).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from mirrorctl.grade.builds import Case, Results
from mirrorctl.upstream.forges.forge import (
    Forge,
    ForgeSettings,
    Found,
    RequestRef,
    RequestState,
    State,
    forge_call,
    github_api,
    github_headers,
    http_session,
    json_answer,
    project_ref,
)
from mirrorctl.upstream.forges.pulls import LABEL_PREFIX, OpenRequest, Posted, WorkflowRun
from mirrorctl.upstream.forges.results import (
    MAX_ARTIFACT,
    assemble_results,
    junit_in_zip,
    python_of,
)
from mirrorctl.upstream.forges.tracker import GitHubTracker, Pace, Tracker

__all__ = ["GitHub"]


class GitHub:
    kind: Forge = "github"

    def __init__(self, host: str, settings: ForgeSettings) -> None:
        self.host, self.settings = host, settings
        self._api = github_api(host, settings)

    def _ref(self, project: str) -> RequestRef:
        return project_ref("github", self.host, project)

    def _get(self, what: str | None, ref: RequestRef, url: str,
             params: Mapping[str, str] | None = None) -> Any:
        settings = self.settings
        return forge_call(what, ref, settings, lambda: http_session(settings).get(
            url, headers=github_headers(settings), params=dict(params or {}),
            timeout=settings.timeout))

    def _send(self, what: str, project: str, method: str, path: str,
              body: Mapping[str, Any]) -> Any:
        """A write: never retried."""
        settings = self.settings
        return forge_call(what, self._ref(project), settings, lambda: requests.request(
            method, f"{self._api}{path}", headers=github_headers(settings), json=dict(body),
            timeout=settings.timeout))

    # -- an upstream's requests and issues ----------------------------------------------

    def request_state(self, ref: RequestRef) -> RequestState:
        path = "pulls" if ref.kind == "mr" else "issues"
        response = self._get(None, ref, f"{self._api}/repos/{ref.project}/{path}/{ref.number}")
        data: dict[str, Any] = json_answer(response, f"reading {ref.url}")
        return RequestState(ref=ref, state=_state(data, ref.kind),
                            title=str(data.get("title", "")))

    def search_open(self, project: str) -> list[Found]:
        """Open issues and requests of `project` that mention riscv64."""
        response = self._get("searching", self._ref(project), f"{self._api}/search/issues",
                             {"q": f"repo:{project} is:open riscv64", "per_page": "50"})
        return [Found(url=str(i.get("html_url", "")), title=str(i.get("title", "")),
                      body=str(i.get("body") or ""))
                for i in json_answer(response, "searching").get("items", [])
                if isinstance(i, dict)]

    def open_issue(self, project: str, *, title: str, body: str, labels: list[str]) -> str:
        response = self._send("opening the issue", project, "POST", f"/repos/{project}/issues",
                              {"title": title, "body": body, "labels": labels})
        return str(json_answer(response, "opening the issue").get("html_url", ""))

    def open_merge_request(self, project: str, *, fork: str, branch: str, target: str,
                           title: str, body: str) -> str:
        owner = fork.split("/", 1)[0]
        response = self._send("opening the pull request", project, "POST",
                              f"/repos/{project}/pulls",
                              {"title": title, "body": body, "head": f"{owner}:{branch}",
                               "base": target, "draft": True})
        return str(json_answer(response, "opening the pull request").get("html_url", ""))

    # -- the pull requests of a repository, found by their branch ------------------------

    def open_requests(self, project: str, *,
                      branch_prefix: str | tuple[str, ...]) -> list[OpenRequest]:
        found, page = [], 1
        while True:
            response = self._get("listing the pull requests", self._ref(project),
                                 f"{self._api}/repos/{project}/pulls",
                                 {"state": "open", "per_page": "100", "page": str(page)})
            items = json_answer(response, "listing the pull requests", list)
            found += [_request(item) for item in items if isinstance(item, dict)
                      and str(item.get("head", {}).get("ref", "")).startswith(branch_prefix)
                      and (item.get("head", {}).get("repo") or {}).get("full_name") == project]
            if "rel=\"next\"" not in response.headers.get("Link", "") or not items:
                return found
            page += 1

    def create_request(self, project: str, *, branch: str, base: str, title: str, body: str,
                       labels: list[str]) -> OpenRequest:
        owner = project.split("/", 1)[0]
        response = self._send("opening the pull request", project, "POST",
                              f"/repos/{project}/pulls",
                              {"title": title, "body": body, "head": f"{owner}:{branch}",
                               "base": base, "draft": True})
        opened = _request(json_answer(response, "opening the pull request"))
        if labels:
            self._labels(project, opened.number, labels)
        return OpenRequest(**{**opened.__dict__, "labels": tuple(labels)})

    def update_request(self, project: str, request: OpenRequest, *, title: str, body: str,
                       labels: list[str]) -> None:
        self._send("updating the pull request", project, "PATCH",
                   f"/repos/{project}/pulls/{request.number}", {"title": title, "body": body})
        self.set_labels(project, request, labels)

    def set_labels(self, project: str, request: OpenRequest, labels: list[str]) -> None:
        kept = [label for label in request.labels if not label.startswith(LABEL_PREFIX)]
        self._labels(project, request.number, [*kept, *labels], replace=True)

    def comment_request(self, project: str, request: OpenRequest, text: str) -> None:
        self._send("commenting on the pull request", project, "POST",
                   f"/repos/{project}/issues/{request.number}/comments", {"body": text})

    def upsert_comment(self, project: str, request: OpenRequest, *, marker: str, text: str,
                       look: bool = True) -> Posted:
        body = f"<!-- {marker} -->\n{text}"
        found = self._comment(project, request.number, marker) if look else None
        if found is not None and found[1] == body:
            return "unchanged"
        if found is not None:
            self._send("editing the pull request's comment", project, "PATCH",
                       f"/repos/{project}/issues/comments/{found[0]}", {"body": body})
            return "edited"
        self.comment_request(project, request, body)
        return "posted"

    def close_request(self, project: str, request: OpenRequest) -> None:
        self._send("closing the pull request", project, "PATCH",
                   f"/repos/{project}/pulls/{request.number}", {"state": "closed"})

    def _comment(self, project: str, number: int, marker: str) -> tuple[int, str] | None:
        """(id, body) of the pull request's comment carrying `marker`, or None."""
        page = 1
        while True:
            response = self._get("reading the pull request's comments", self._ref(project),
                                 f"{self._api}/repos/{project}/issues/{number}/comments",
                                 {"per_page": "100", "page": str(page)})
            items = json_answer(response, "reading the pull request's comments", list)
            for item in items:
                if isinstance(item, dict) and f"<!-- {marker} -->" in str(item.get("body", "")):
                    return int(item["id"]), str(item["body"])
            if "rel=\"next\"" not in response.headers.get("Link", "") or not items:
                return None
            page += 1

    def _labels(self, project: str, number: int, labels: list[str], *,
                replace: bool = False) -> None:
        # Labels live on the issue side of a pull request: PUT replaces them, POST adds.
        self._send("labelling the pull request", project, "PUT" if replace else "POST",
                   f"/repos/{project}/issues/{number}/labels", {"labels": labels})

    # -- the builders' own workflows ---------------------------------------------------

    def dispatch_workflow(self, project: str, workflow: str, *, ref: str,
                          inputs: Mapping[str, str]) -> None:
        """Start `workflow` (its file name) on branch `ref`, as `gh workflow run` does."""
        self._send(f"dispatching {workflow}", project, "POST",
                   f"/repos/{project}/actions/workflows/{workflow}/dispatches",
                   {"ref": ref, "inputs": dict(inputs)})

    def workflow_runs(self, project: str, workflow: str, *, branch: str,
                      since: str) -> list[WorkflowRun]:
        """The runs of `workflow` on `branch` created at or after `since` (ISO 8601),
        newest first."""
        what = f"reading the runs of {workflow}"
        response = self._get(what, self._ref(project),
                             f"{self._api}/repos/{project}/actions/workflows/{workflow}/runs",
                             {"branch": branch, "created": f">={since}", "per_page": "30"})
        runs = json_answer(response, what).get("workflow_runs", [])
        found = [_run(r) for r in runs if isinstance(r, dict) and "id" in r]
        return sorted((r for r in found if r.created_at >= since),
                      key=lambda r: (r.created_at, r.id), reverse=True)

    def run_job_names(self, project: str, run: WorkflowRun) -> list[str]:
        what = "reading the run's jobs"
        response = self._get(what, self._ref(project),
                             f"{self._api}/repos/{project}/actions/runs/{run.id}/jobs",
                             {"per_page": "100"})
        return [str(j.get("name", "")) for j in json_answer(response, what).get("jobs", [])
                if isinstance(j, dict)]

    # -- builds, riscv64 wheels, tracking issues ------------------------------------------

    def read_results(self, project: str, *, branch: str, version: str,
                     known: Results | None = None) -> Results | None:
        ref, what = self._ref(project), "reading the build results"
        runs = json_answer(self._get(what, ref, f"{self._api}/repos/{project}/actions/runs",
                                     {"branch": branch, "per_page": "20"}), what)
        finished = [r for r in runs.get("workflow_runs", [])
                    if isinstance(r, dict) and r.get("status") == "completed" and "id" in r]
        if not finished:
            return None
        run = finished[0]
        identity = f"{run.get('id')}/{run.get('run_attempt', 1)}/{run.get('updated_at', '')}"
        if known is not None and known.run == identity:
            return known
        base = f"{self._api}/repos/{project}/actions/runs/{run['id']}"
        jobs = json_answer(self._get(what, ref, f"{base}/jobs", {"per_page": "100"}),
                           "reading the build jobs")
        artifacts = json_answer(self._get(what, ref, f"{base}/artifacts", {"per_page": "100"}),
                                "reading the build artifacts")
        reports: dict[str, list[Case]] = {}
        for artifact in [a for a in artifacts.get("artifacts", []) if isinstance(a, dict)]:
            python = python_of(str(artifact.get("name", "")))
            if python is None or int(artifact.get("size_in_bytes", 0)) > MAX_ARTIFACT \
                    or not artifact.get("archive_download_url"):
                continue
            archive = self._get(what, ref, str(artifact["archive_download_url"])).content
            reports.setdefault(python, []).extend(junit_in_zip(archive))
        built: dict[str, bool] = {}
        for job in [j for j in jobs.get("jobs", []) if isinstance(j, dict)]:
            python = python_of(str(job.get("name", "")))
            if python is not None and job.get("conclusion") is not None:
                built[python] = built.get(python, False) or job["conclusion"] == "success"
        return assemble_results(version, built, reports, str(run.get("html_url", "")),
                                identity)

    def tracker(self, project: str, pace: Pace) -> Tracker:
        return GitHubTracker(self.host, project, self.settings, pace)


def _state(data: Mapping[str, Any], kind: str) -> State:
    if data.get("state") == "open":
        return "open"
    if kind == "mr":
        return "merged" if data.get("merged") or data.get("merged_at") else "closed-unmerged"
    return "closed-unmerged" if data.get("state_reason") == "not_planned" else "closed-completed"


def _run(item: dict[str, Any]) -> WorkflowRun:
    return WorkflowRun(id=int(item["id"]), url=str(item.get("html_url", "")),
                       status=str(item.get("status", "")),
                       conclusion=item.get("conclusion") and str(item["conclusion"]),
                       created_at=str(item.get("created_at", "")),
                       branch=str(item.get("head_branch", "")), event=str(item.get("event", "")))


def _request(item: dict[str, Any]) -> OpenRequest:
    return OpenRequest(number=int(item["number"]), url=str(item.get("html_url", "")),
                       branch=str((item.get("head") or {}).get("ref", "")),
                       title=str(item.get("title", "")), body=str(item.get("body") or ""),
                       labels=tuple(str(label.get("name", "")) for label in
                                    item.get("labels") or () if isinstance(label, dict)),
                       draft=bool(item.get("draft", False)))
