"""One door to a forge: the ForgeApi interface every forge call of mirrorctl goes through,
a GitHub (forges/github.py) and a GitLab (forges/gitlab.py) implementation, and the
registry that picks one by the forge's kind, as pre-commit's languages and
cibuildwheel's platforms are picked.

Imported only by commands that talk to a forge: requests and python-gitlab cost
start-up time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from mirrorctl.grade.builds import Results
from mirrorctl.upstream.forges.forge import Forge, ForgeSettings, Found, RequestRef, RequestState
from mirrorctl.upstream.forges.github import GitHub
from mirrorctl.upstream.forges.gitlab import GitLab
from mirrorctl.upstream.forges.pulls import OpenRequest, Posted, WorkflowRun
from mirrorctl.upstream.forges.tracker import Pace, Tracker

__all__ = ["FORGES", "ForgeApi", "forge_api"]


class ForgeApi(Protocol):
    """What mirrorctl asks of a forge (GitHub, GitLab) on one host."""

    kind: Forge
    host: str

    # An upstream's requests and issues: where one stands, those that mention riscv64,
    # opening one (from the builders' fork, as a draft).
    def request_state(self, ref: RequestRef) -> RequestState: ...
    def search_open(self, project: str) -> list[Found]: ...
    def open_issue(self, project: str, *, title: str, body: str, labels: list[str]) -> str: ...
    def open_merge_request(self, project: str, *, fork: str, branch: str, target: str,
                           title: str, body: str) -> str: ...

    # The pull/merge requests of a repository (the builders' own), found by their branch.
    def open_requests(self, project: str, *,
                      branch_prefix: str | tuple[str, ...]) -> list[OpenRequest]: ...
    def create_request(self, project: str, *, branch: str, base: str, title: str, body: str,
                       labels: list[str]) -> OpenRequest: ...
    def update_request(self, project: str, request: OpenRequest, *, title: str, body: str,
                       labels: list[str]) -> None: ...
    def set_labels(self, project: str, request: OpenRequest, labels: list[str]) -> None: ...
    def comment_request(self, project: str, request: OpenRequest, text: str) -> None: ...
    def upsert_comment(self, project: str, request: OpenRequest, *, marker: str, text: str,
                       look: bool = True) -> Posted: ...
    def close_request(self, project: str, request: OpenRequest) -> None: ...

    # The builders' own workflows: dispatched with their inputs, their runs followed.
    def dispatch_workflow(self, project: str, workflow: str, *, ref: str,
                          inputs: Mapping[str, str]) -> None: ...
    def workflow_runs(self, project: str, workflow: str, *, branch: str,
                      since: str) -> list[WorkflowRun]: ...
    def run_job_names(self, project: str, run: WorkflowRun) -> list[str]: ...

    # The builds of a branch; tracking issues. (Upstream's requests for riscv64 wheels:
    # upstream.wheels.asks, which builds on forges/forge.py itself.)
    def read_results(self, project: str, *, branch: str, version: str,
                     known: Results | None = None) -> Results | None: ...
    def tracker(self, project: str, pace: Pace) -> Tracker: ...


FORGES: Mapping[Forge, Callable[[str, ForgeSettings], ForgeApi]] = {
    "github": GitHub, "gitlab": GitLab}


def forge_api(kind: Forge, host: str, settings: ForgeSettings) -> ForgeApi:
    """The forge of this kind on `host`."""
    return FORGES[kind](host, settings)
