"""GitLab (its v4 API, through python-gitlab): every call mirrorctl makes to a GitLab,
behind the ForgeApi interface (upstream/forges/api.py), and the mirror's merge request,
which only a GitLab mirror has. python-gitlab retries 429 (honouring Retry-After) and
5xx itself; a create is never tried twice by mirrorctl.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mirrorctl.grade.builds import Case, Results
from mirrorctl.upstream.forges.forge import (
    Forge,
    ForgeError,
    ForgeSettings,
    Found,
    RequestRef,
    RequestState,
    State,
    forge_call,
    gitlab_client,
    project_ref,
)
from mirrorctl.upstream.forges.pulls import LABEL_PREFIX, OpenRequest, Posted, WorkflowRun
from mirrorctl.upstream.forges.results import assemble_results, python_of
from mirrorctl.upstream.forges.tracker import GitLabTracker, Pace, Tracker

__all__ = ["GitLab"]

_STATUS = {"success": "passed", "failed": "failed", "error": "error", "skipped": "skipped"}


class GitLab:
    kind: Forge = "gitlab"

    def __init__(self, host: str, settings: ForgeSettings) -> None:
        self.host, self.settings = host, settings

    def _ref(self, project: str) -> RequestRef:
        return project_ref("gitlab", self.host, project)

    def _project(self, project: str) -> Any:
        """A project handle that asks nothing until used."""
        return gitlab_client(self.host, self.settings).projects.get(project, lazy=True)

    def _call(self, what: str | None, project: str | RequestRef, action: Any) -> Any:
        ref = project if isinstance(project, RequestRef) else self._ref(project)
        return forge_call(what, ref, self.settings, action)

    # -- an upstream's requests and issues ----------------------------------------------

    def request_state(self, ref: RequestRef) -> RequestState:
        def fetch() -> Any:
            manager = self._project(ref.project)
            items = manager.mergerequests if ref.kind == "mr" else manager.issues
            return items.get(ref.number, max_retries=self.settings.retries)

        item = self._call(None, ref, fetch)
        raw = getattr(item, "state", "")
        state: State = ("open" if raw == "opened" else "merged" if raw == "merged" else
                        "closed-unmerged" if ref.kind == "mr" else "closed-completed")
        return RequestState(ref=ref, state=state, title=str(getattr(item, "title", "")))

    def search_open(self, project: str) -> list[Found]:
        handle = self._project(project)
        found = []
        for manager in ("issues", "mergerequests"):
            items = self._call("searching", project, lambda m=manager: getattr(handle, m).list(
                state="opened", search="riscv64", per_page=50, get_all=False))
            found += [Found(url=str(i.web_url), title=str(i.title),
                            body=str(getattr(i, "description", "") or "")) for i in items]
        return found

    def open_issue(self, project: str, *, title: str, body: str, labels: list[str]) -> str:
        handle = self._project(project)
        issue = self._call("opening the issue", project, lambda: handle.issues.create(
            {"title": title, "description": body, "labels": ",".join(labels)}))
        return str(issue.web_url)

    def open_merge_request(self, project: str, *, fork: str, branch: str, target: str,
                           title: str, body: str) -> str:
        upstream = self._call("reading the upstream project", project, lambda: gitlab_client(
            self.host, self.settings).projects.get(project))
        fork_project = self._project(fork)
        request = self._call("opening the merge request", project,
                             lambda: fork_project.mergerequests.create({
                                 "source_branch": branch, "target_branch": target,
                                 "title": f"Draft: {title}", "description": body,
                                 "target_project_id": upstream.id}))
        return str(request.web_url)

    def open_or_update_mr(self, project: str, *, source: str, target: str, title: str,
                          description: str) -> tuple[str, str]:
        """The mirror's merge request from `source`: updated if one is open, else opened.
        (web URL, "opened" | "updated")."""
        mirror = self._call("reading the mirror project", project, lambda: gitlab_client(
            self.host, self.settings).projects.get(project))
        existing = self._call("listing the mirror's merge requests", project,
                              lambda: mirror.mergerequests.list(
                                  state="opened", source_branch=source, get_all=False))
        if existing:
            request = existing[0]
            request.title, request.description = title, description
            self._call("updating the merge request", project, request.save)
            return str(request.web_url), "updated"
        request = self._call("opening the merge request", project,
                             lambda: mirror.mergerequests.create({
                                 "source_branch": source, "target_branch": target,
                                 "title": title, "description": description}))
        return str(request.web_url), "opened"

    # -- the merge requests of a repository, found by their branch -----------------------

    def open_requests(self, project: str, *,
                      branch_prefix: str | tuple[str, ...]) -> list[OpenRequest]:
        handle = self._project(project)
        items = self._call("listing the merge requests", project,
                           lambda: handle.mergerequests.list(state="opened", get_all=True))
        return [_request(item) for item in items
                if str(item.source_branch).startswith(branch_prefix)]

    def create_request(self, project: str, *, branch: str, base: str, title: str, body: str,
                       labels: list[str]) -> OpenRequest:
        handle = self._project(project)
        item = self._call("opening the merge request", project, lambda: handle.mergerequests
                          .create({"source_branch": branch, "target_branch": base,
                                   "title": f"Draft: {title}", "description": body,
                                   "labels": ",".join(labels)}))
        return _request(item)

    def update_request(self, project: str, request: OpenRequest, *, title: str, body: str,
                       labels: list[str]) -> None:
        kept = [label for label in request.labels if not label.startswith(LABEL_PREFIX)]
        item = self._item(project, request.number)
        item.title = f"Draft: {title}" if request.draft else title
        item.description = body
        item.labels = [*kept, *labels]
        self._call("updating the merge request", project, item.save)

    def set_labels(self, project: str, request: OpenRequest, labels: list[str]) -> None:
        kept = [label for label in request.labels if not label.startswith(LABEL_PREFIX)]
        item = self._item(project, request.number)
        item.labels = [*kept, *labels]
        self._call("labelling the merge request", project, item.save)

    def comment_request(self, project: str, request: OpenRequest, text: str) -> None:
        item = self._item(project, request.number)
        self._call("commenting on the merge request", project,
                   lambda: item.notes.create({"body": text}))

    def upsert_comment(self, project: str, request: OpenRequest, *, marker: str, text: str,
                       look: bool = True) -> Posted:
        body = f"<!-- {marker} -->\n{text}"
        item = self._item(project, request.number)
        notes = self._call("reading the merge request's notes", project,
                           lambda: item.notes.list(get_all=True)) if look else []
        note = next((n for n in notes if f"<!-- {marker} -->" in str(n.body)), None)
        if note is not None and str(note.body) == body:
            return "unchanged"
        if note is not None:
            note.body = body
            self._call("editing the merge request's note", project, note.save)
            return "edited"
        self._call("commenting on the merge request", project,
                   lambda: item.notes.create({"body": body}))
        return "posted"

    def close_request(self, project: str, request: OpenRequest) -> None:
        item = self._item(project, request.number)
        item.state_event = "close"
        self._call("closing the merge request", project, item.save)

    def _item(self, project: str, iid: int) -> Any:
        handle = self._project(project)
        return self._call("reading the merge request", project,
                          lambda: handle.mergerequests.get(iid))

    # -- the builders' own workflows: GitHub Actions' ---------------------------------

    def dispatch_workflow(self, project: str, workflow: str, *, ref: str,
                          inputs: Mapping[str, str]) -> None:
        raise ForgeError(f"{workflow}: GitLab has no workflow to dispatch; the road from a "
                         "merged request to the published wheels is followed on GitHub")

    def workflow_runs(self, project: str, workflow: str, *, branch: str,
                      since: str) -> list[WorkflowRun]:
        raise ForgeError(f"{workflow}: GitLab has no workflow runs to follow")

    def run_job_names(self, project: str, run: WorkflowRun) -> list[str]:
        raise ForgeError("GitLab has no workflow runs to follow")

    # -- builds, riscv64 wheels, tracking issues ------------------------------------------

    def read_results(self, project: str, *, branch: str, version: str,
                     known: Results | None = None) -> Results | None:
        what = "reading the build results"
        handle = self._project(project)
        pipelines = self._call(what, project, lambda: handle.pipelines.list(
            ref=branch, order_by="id", sort="desc", per_page=10, get_all=False))
        finished = [p for p in pipelines if p.status in ("success", "failed")]
        if not finished:
            return None
        identity = f"{finished[0].id}/{getattr(finished[0], 'updated_at', '')}"
        if known is not None and known.run == identity:
            return known
        pipeline = handle.pipelines.get(finished[0].id, lazy=True)
        jobs = self._call(what, project, lambda: pipeline.jobs.list(get_all=True))
        report = self._call(what, project, lambda: pipeline.test_report.get())
        reports: dict[str, list[Case]] = {}
        for suite in getattr(report, "test_suites", []) or []:
            python = python_of(str(suite.get("name", "")))
            if python is None:
                continue
            reports.setdefault(python, []).extend(
                Case(name=".".join(p for p in (case.get("classname"), case.get("name")) if p),
                     outcome=_STATUS.get(str(case.get("status")), "failed"),  # type: ignore[arg-type]
                     message=str(case.get("system_output") or "")[:500])
                for case in suite.get("test_cases", []))
        built: dict[str, bool] = {}
        for job in jobs:
            python = python_of(str(job.name))
            if python is not None and job.status in ("success", "failed"):
                built[python] = built.get(python, False) or job.status == "success"
        return assemble_results(version, built, reports,
                                str(getattr(finished[0], "web_url", "")), identity)

    def tracker(self, project: str, pace: Pace) -> Tracker:
        return GitLabTracker(self.host, project, self.settings, pace)


def _request(item: Any) -> OpenRequest:
    return OpenRequest(number=int(item.iid), url=str(item.web_url),
                       branch=str(item.source_branch), title=str(item.title),
                       body=str(getattr(item, "description", "") or ""),
                       labels=tuple(getattr(item, "labels", ()) or ()),
                       draft=bool(getattr(item, "draft", False))
                       or str(item.title).startswith("Draft:"))
