"""The builds' results of a branch, read from where they ran: the newest finished
GitHub Actions run of the branch (its jobs, and the JUnit XML its artifacts hold), or
the newest finished GitLab pipeline of the branch (its jobs and its test report).

Which Python a job or a report is for comes from its name (cp312, cp314t, 3.14t). A
job that failed but left a test report built (its tests failed, not its build).
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

from mirrorctl.grade.builds import Build, Case, Results, junit_cases
from mirrorctl.upstream.forge import (
    Forge,
    ForgeSettings,
    forge_call,
    github_api,
    github_headers,
    gitlab_client,
    http_session,
    json_answer,
    project_ref,
)

__all__ = ["python_of", "read_results"]

_CPYTHON = re.compile(r"cp3(\d{1,2})(t?)(?![\d])")
_DOTTED = re.compile(r"(?<![\d.])3\.(\d{1,2})(t?)(?![\d.])")
_GITLAB_STATUS = {"success": "passed", "failed": "failed", "error": "error",
                  "skipped": "skipped"}
_MAX_ARTIFACT = 50 * 1024 * 1024  # a JUnit archive larger than this is not read


def python_of(name: str) -> str | None:
    """The Python a job or report name is for: cp312 -> 3.12, cp314t -> 3.14t."""
    match = _CPYTHON.search(name) or _DOTTED.search(name)
    return f"3.{int(match.group(1))}{match.group(2)}" if match else None


def read_results(forge: Forge, host: str, project: str, settings: ForgeSettings, *,
                 branch: str, version: str, known: Results | None = None) -> Results | None:
    """The results of the newest finished run of `branch`; None when it has none yet.
    When that run is the one `known` was read from (same id, attempt and last update),
    `known` is returned without reading the run again: one request a package."""
    if forge == "github":
        return _github(host, project, settings, branch, version, known)
    return _gitlab(host, project, settings, branch, version, known)


def _github(host: str, project: str, settings: ForgeSettings, branch: str,
            version: str, known: Results | None) -> Results | None:
    ref = project_ref("github", host, project)
    api, session = github_api(host, settings), http_session(settings)

    def get(url: str, **params: str) -> Any:
        return forge_call("reading the build results", ref, settings, lambda: session.get(
            url, headers=github_headers(settings), params=params, timeout=settings.timeout))

    runs = json_answer(get(f"{api}/repos/{project}/actions/runs", branch=branch,
                           per_page="20"), "reading the build results")
    finished = [r for r in runs.get("workflow_runs", [])
                if isinstance(r, dict) and r.get("status") == "completed" and "id" in r]
    if not finished:
        return None
    run = finished[0]
    identity = f"{run.get('id')}/{run.get('run_attempt', 1)}/{run.get('updated_at', '')}"
    if known is not None and known.run == identity:
        return known
    jobs = json_answer(get(f"{api}/repos/{project}/actions/runs/{run['id']}/jobs",
                           per_page="100"), "reading the build jobs")
    artifacts = json_answer(get(f"{api}/repos/{project}/actions/runs/{run['id']}/artifacts",
                                per_page="100"), "reading the build artifacts")
    reports: dict[str, list[Case]] = {}
    for artifact in [a for a in artifacts.get("artifacts", []) if isinstance(a, dict)]:
        python = python_of(str(artifact.get("name", "")))
        if python is None or int(artifact.get("size_in_bytes", 0)) > _MAX_ARTIFACT \
                or not artifact.get("archive_download_url"):
            continue
        archive = get(str(artifact["archive_download_url"])).content
        reports.setdefault(python, []).extend(_junit_in_zip(archive))
    built: dict[str, bool] = {}
    for job in [j for j in jobs.get("jobs", []) if isinstance(j, dict)]:
        python = python_of(str(job.get("name", "")))
        if python is not None and job.get("conclusion") is not None:
            built[python] = built.get(python, False) or job["conclusion"] == "success"
    return _results(version, built, reports, str(run.get("html_url", "")), identity)


def _junit_in_zip(archive: bytes) -> list[Case]:
    cases: list[Case] = []
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
            for member in zipped.infolist():
                if member.filename.endswith(".xml") and member.file_size <= _MAX_ARTIFACT:
                    try:
                        cases += junit_cases(zipped.read(member))
                    except ValueError:
                        continue  # an XML file that is no JUnit report
    except zipfile.BadZipFile:
        return []
    return cases


def _gitlab(host: str, project: str, settings: ForgeSettings, branch: str,
            version: str, known: Results | None) -> Results | None:
    ref = project_ref("gitlab", host, project)
    gl_project = gitlab_client(host, settings).projects.get(project, lazy=True)
    pipelines = forge_call("reading the build results", ref, settings, lambda: gl_project
                      .pipelines.list(ref=branch, order_by="id", sort="desc", per_page=10,
                                      get_all=False))
    finished = [p for p in pipelines if p.status in ("success", "failed")]
    if not finished:
        return None
    identity = f"{finished[0].id}/{getattr(finished[0], 'updated_at', '')}"
    if known is not None and known.run == identity:
        return known
    pipeline = gl_project.pipelines.get(finished[0].id, lazy=True)
    jobs = forge_call("reading the build results", ref, settings,
                 lambda: pipeline.jobs.list(get_all=True))
    report = forge_call("reading the build results", ref, settings,
                   lambda: pipeline.test_report.get())
    reports: dict[str, list[Case]] = {}
    for suite in getattr(report, "test_suites", []) or []:
        python = python_of(str(suite.get("name", "")))
        if python is None:
            continue
        reports.setdefault(python, []).extend(
            Case(name=".".join(p for p in (case.get("classname"), case.get("name")) if p),
                 outcome=_GITLAB_STATUS.get(str(case.get("status")), "failed"),  # type: ignore[arg-type]
                 message=str(case.get("system_output") or "")[:500])
            for case in suite.get("test_cases", []))
    built: dict[str, bool] = {}
    for job in jobs:
        python = python_of(str(job.name))
        if python is not None and job.status in ("success", "failed"):
            built[python] = built.get(python, False) or job.status == "success"
    return _results(version, built, reports, str(getattr(finished[0], "web_url", "")),
                    identity)


def _results(version: str, built: dict[str, bool], reports: dict[str, list[Case]],
             source: str, run: str) -> Results:
    pythons = sorted(built.keys() | reports.keys(), key=_python_order)
    return Results(version=version, source=source, run=run, builds=tuple(
        # Tests that ran mean the wheel was built, whatever the job's verdict.
        Build(python, built.get(python, False) or python in reports,
              tuple(reports.get(python, ())), tested=python in reports)
        for python in pythons))


def _python_order(python: str) -> tuple[int, str]:
    return int(python.removeprefix("3.").rstrip("t")), python
