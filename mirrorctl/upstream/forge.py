"""GitHub (REST, through requests) and GitLab (v4, through python-gitlab): the state of
an upstream request, with every failure mapped to one clear message; and the small
client every forge module of this wing shares (pulls, results): the API base and
headers, a retrying session for reads, a python-gitlab client, and forge_call, which
maps every way a call can fail to one ForgeError.

Imported only by commands that talk to a forge: requests and python-gitlab cost start-up
time. Tokens come in as arguments (the CLI reads MIRRORCTL_GITHUB_TOKEN and
MIRRORCTL_GITLAB_TOKEN); they are sent as headers and never appear in a message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from mirrorctl.core.errors import MirrorctlError
from mirrorctl.core.urls import forge_kind

__all__ = ["Forge", "ForgeError", "ForgeSettings", "Found", "RequestRef", "RequestState",
           "State", "forge_call", "github_api", "github_headers", "gitlab_client",
           "http_session", "json_answer", "open_issue", "open_merge_request", "open_or_update_mr",
           "parse_request_url", "project_ref", "request_state", "search_open"]

State = Literal["open", "merged", "closed-unmerged", "closed-completed"]

_GITHUB = re.compile(r"^/([^/]+)/([^/]+)/(pull|issues)/(\d+)/?$")
_GITLAB = re.compile(r"^/(.+?)/-/(merge_requests|issues)/(\d+)/?$")
_MESSAGES = {
    401: "authentication failed: set {token} to a token that can read {project}",
    403: "forbidden: the token cannot read {project}, or the rate limit is spent",
    404: "not found: {url} (private, moved or deleted?)",
    409: "conflict reported by the forge for {url}",
    422: "the forge refused the request for {url}",
    429: "rate limited by the forge, still after retries; try again later",
}


class ForgeError(MirrorctlError):
    pass


@dataclass(frozen=True, kw_only=True)
class RequestRef:
    """A pull/merge request or an issue, as its URL names it."""

    url: str
    forge: Literal["github", "gitlab"]
    host: str
    project: str  # owner/repo, or group/subgroup/project
    kind: Literal["mr", "issue"]
    number: int


@dataclass(frozen=True, kw_only=True)
class RequestState:
    ref: RequestRef
    state: State
    title: str = ""


@dataclass(frozen=True, kw_only=True)
class ForgeSettings:
    """API endpoints by web host (tests point them at a local server), tokens, patience."""

    apis: Mapping[str, str]  # web host -> API base URL
    github_token: str | None = None
    gitlab_token: str | None = None
    timeout: float = 30.0
    retries: int = 2
    # python-gitlab's own configuration files, used when no GitLab token is given.
    gitlab_config_files: tuple[str, ...] = ()


def parse_request_url(url: str, gitlab_hosts: tuple[str, ...] = (),
                      apis: Mapping[str, str] | None = None) -> RequestRef | None:
    """The request a Submitted/Issue URL names, or None when it names none we can read.
    `apis` (defaults.forge_apis) makes a GitHub Enterprise host's URLs readable too."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        return None
    if forge_kind(host, apis) == "github" and (m := _GITHUB.match(parts.path)):
        kind: Literal["mr", "issue"] = "mr" if m.group(3) == "pull" else "issue"
        return RequestRef(url=url, forge="github", host=host,
                          project=f"{m.group(1)}/{m.group(2)}", kind=kind,
                          number=int(m.group(4)))
    if (m := _GITLAB.match(parts.path)) and (forge_kind(host, apis) == "gitlab"
                                              or host in gitlab_hosts or "gitlab" in host):
        kind = "mr" if m.group(2) == "merge_requests" else "issue"
        return RequestRef(url=url, forge="gitlab", host=host, project=m.group(1), kind=kind,
                          number=int(m.group(3)))
    return None


def _message(status: int, ref: RequestRef) -> str:
    token = "MIRRORCTL_GITHUB_TOKEN" if ref.forge == "github" else "MIRRORCTL_GITLAB_TOKEN"
    if status >= 500:
        return f"{ref.forge} server error {status} for {ref.url}, still after retries"
    template = _MESSAGES.get(status, "unexpected answer {status} for {url}")
    return template.format(token=token, project=ref.project, url=ref.url, status=status)


def http_session(settings: ForgeSettings) -> requests.Session:
    session = requests.Session()
    retry = Retry(total=settings.retries, backoff_factor=1.0, allowed_methods={"GET"},
                  status_forcelist=(429, 500, 502, 503, 504), respect_retry_after_header=True,
                  raise_on_status=False)
    session.mount("https://", HTTPAdapter(max_retries=retry))
    session.mount("http://", HTTPAdapter(max_retries=retry))
    return session


def _github_state(ref: RequestRef, settings: ForgeSettings) -> RequestState:
    api = github_api(ref.host, settings)
    path = "pulls" if ref.kind == "mr" else "issues"
    response = forge_call(None, ref, settings, lambda: http_session(settings).get(
        f"{api}/repos/{ref.project}/{path}/{ref.number}", headers=github_headers(settings),
        timeout=settings.timeout))
    data: dict[str, Any] = json_answer(response, f"reading {ref.url}")
    return RequestState(ref=ref, state=_github(data, ref.kind), title=str(data.get("title", "")))


def _github(data: Mapping[str, Any], kind: str) -> State:
    if data.get("state") == "open":
        return "open"
    if kind == "mr":
        return "merged" if data.get("merged") or data.get("merged_at") else "closed-unmerged"
    return "closed-unmerged" if data.get("state_reason") == "not_planned" else "closed-completed"


def _gitlab_state(ref: RequestRef, settings: ForgeSettings) -> RequestState:
    def fetch() -> Any:
        # python-gitlab retries 429 (honouring Retry-After) and 5xx itself.
        project = gitlab_client(ref.host, settings).projects.get(ref.project, lazy=True)
        manager = project.mergerequests if ref.kind == "mr" else project.issues
        return manager.get(ref.number, max_retries=settings.retries)

    item = forge_call(None, ref, settings, fetch)
    raw = getattr(item, "state", "")
    state: State = ("open" if raw == "opened" else "merged" if raw == "merged" else
                    "closed-unmerged" if ref.kind == "mr" else "closed-completed")
    return RequestState(ref=ref, state=state, title=str(getattr(item, "title", "")))


def request_state(ref: RequestRef, settings: ForgeSettings) -> RequestState:
    if ref.forge == "github":
        return _github_state(ref, settings)
    return _gitlab_state(ref, settings)


@dataclass(frozen=True, kw_only=True)
class Found:
    url: str
    title: str
    body: str


def github_api(host: str, settings: ForgeSettings) -> str:
    return settings.apis.get(host, "https://api.github.com").rstrip("/")


def github_headers(settings: ForgeSettings) -> dict[str, str]:
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    if settings.github_token:
        headers["Authorization"] = f"Bearer {settings.github_token}"
    return headers


def gitlab_client(host: str, settings: ForgeSettings) -> Any:
    import gitlab

    api = settings.apis.get(host, f"https://{host}").rstrip("/")
    section = None if settings.gitlab_token else _gitlab_config_section(api, settings)
    if section is not None:  # python-gitlab reads its own file: tokens, TLS, everything
        client = gitlab.Gitlab.from_config(section[0], [section[1]])
        client.timeout, client.retry_transient_errors = settings.timeout, True
        return client
    return gitlab.Gitlab(api, private_token=settings.gitlab_token, timeout=settings.timeout,
                         retry_transient_errors=True)


def _gitlab_config_section(api: str, settings: ForgeSettings) -> tuple[str, str] | None:
    """(section, file) of python-gitlab's configuration whose url is this GitLab."""
    import configparser

    for path in settings.gitlab_config_files:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            if not parser.read(path):
                continue
        except configparser.Error:
            continue
        for section in parser.sections():
            if parser.get(section, "url", fallback="").rstrip("/") == api:
                return section, path
    return None


def _gitlab_project(host: str, project: str, settings: ForgeSettings) -> Any:
    """A project handle that asks nothing until used."""
    return gitlab_client(host, settings).projects.get(project, lazy=True)


Forge = Literal["github", "gitlab"]


def project_ref(forge: Forge, host: str, project: str) -> RequestRef:
    """A project, as the error messages name it."""
    return RequestRef(url=f"https://{host}/{project}", forge=forge, host=host, project=project,
                      kind="issue", number=0)


def forge_call(what: str | None, ref: RequestRef, settings: ForgeSettings, action: Any, *,
               accept: tuple[int, ...] = ()) -> Any:
    """Run `action`, mapping every way it can fail to one ForgeError; `what` (doing what)
    starts the message when given. A response whose status is in `accept` is returned
    for the caller to read (a rate limit it waits out)."""
    import gitlab.exceptions

    prefix = f"{what}: " if what else ""
    try:
        response = action()
    except gitlab.exceptions.GitlabError as exc:
        raise ForgeError(prefix + (_message(exc.response_code, ref) if exc.response_code
                                   else f"{ref.forge}: {type(exc).__name__}")) from None
    except requests.Timeout:
        raise ForgeError(f"{prefix}{ref.forge} timed out after {settings.timeout:g}s for "
                         f"{ref.url}") from None
    except requests.RequestException as exc:
        raise ForgeError(f"{prefix}{ref.forge} unreachable for {ref.url} "
                         f"({type(exc).__name__})") from None
    if isinstance(response, requests.Response) and response.status_code >= 300 \
            and response.status_code not in accept:
        raise ForgeError(prefix + _message(response.status_code, ref))
    return response


def json_answer(response: requests.Response, what: str, shape: type = dict) -> Any:
    """The JSON of a forge's answer, of the shape expected, or a ForgeError that says so
    (a proxy's HTML page, a truncated body): never a crash in the middle of a night."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, shape):
        raise ForgeError(f"{what}: the forge answered {response.status_code} with something "
                         f"that is no JSON {shape.__name__} ({response.url})")
    return data


def search_open(forge: Forge, host: str, project: str, settings: ForgeSettings) -> list[Found]:
    """Open issues and requests of `project` that mention riscv64."""
    ref = project_ref(forge, host, project)
    if forge == "github":
        api = github_api(host, settings)
        response = forge_call("searching", ref, settings, lambda: http_session(
            settings).get(f"{api}/search/issues", headers=github_headers(settings),
                          params={"q": f"repo:{project} is:open riscv64", "per_page": "50"},
                          timeout=settings.timeout))
        return [Found(url=str(i.get("html_url", "")), title=str(i.get("title", "")),
                      body=str(i.get("body") or ""))
                for i in json_answer(response, "searching").get("items", [])
                if isinstance(i, dict)]
    gl_project = _gitlab_project(host, project, settings)
    found = []
    for manager in ("issues", "mergerequests"):
        items = forge_call("searching", ref, settings, lambda m=manager: getattr(
            gl_project, m).list(state="opened", search="riscv64", per_page=50, get_all=False))
        found += [Found(url=str(i.web_url), title=str(i.title),
                        body=str(getattr(i, "description", "") or "")) for i in items]
    return found


def open_issue(forge: Forge, host: str, project: str, settings: ForgeSettings, *, title: str,
               body: str, labels: list[str]) -> str:
    """Open an issue; its web URL. Never retried: a second POST would open it twice."""
    ref = project_ref(forge, host, project)
    if forge == "github":
        api = github_api(host, settings)
        response = forge_call("opening the issue", ref, settings,
                         lambda: requests.post(f"{api}/repos/{project}/issues",
                                               headers=github_headers(settings),
                                               json={"title": title, "body": body,
                                                     "labels": labels},
                                               timeout=settings.timeout))
        return str(json_answer(response, "opening the issue").get("html_url", ""))
    gl_project = _gitlab_project(host, project, settings)
    issue = forge_call("opening the issue", ref, settings,
                  lambda: gl_project.issues.create({"title": title, "description": body,
                                                    "labels": ",".join(labels)}))
    return str(issue.web_url)


def open_merge_request(forge: Forge, host: str, project: str, settings: ForgeSettings, *,
                       fork: str, branch: str, target: str, title: str, body: str) -> str:
    """Open a draft pull/merge request from `fork`'s `branch` into `project`'s `target`;
    its web URL. Never retried, like open_issue."""
    ref = project_ref(forge, host, project)
    if forge == "github":
        api = github_api(host, settings)
        owner = fork.split("/", 1)[0]
        response = forge_call("opening the pull request", ref, settings,
                         lambda: requests.post(f"{api}/repos/{project}/pulls",
                                               headers=github_headers(settings),
                                               json={"title": title, "body": body,
                                                     "head": f"{owner}:{branch}",
                                                     "base": target, "draft": True},
                                               timeout=settings.timeout))
        return str(json_answer(response, "opening the pull request").get("html_url", ""))
    upstream = forge_call("reading the upstream project", ref, settings,
                     lambda: gitlab_client(host, settings).projects.get(project))
    fork_project = _gitlab_project(host, fork, settings)
    request = forge_call("opening the merge request", ref, settings,
                    lambda: fork_project.mergerequests.create({
                        "source_branch": branch, "target_branch": target,
                        "title": f"Draft: {title}", "description": body,
                        "target_project_id": upstream.id}))
    return str(request.web_url)


def open_or_update_mr(host: str, project: str, settings: ForgeSettings, *, source: str,
                      target: str, title: str, description: str) -> tuple[str, str]:
    """The mirror's merge request from `source`: updated if one is open, else opened.
    (web URL, "opened" | "updated")."""
    ref = project_ref("gitlab", host, project)

    def where() -> Any:
        return gitlab_client(host, settings).projects.get(project)

    mirror = forge_call("reading the mirror project", ref, settings, where)
    existing = forge_call("listing the mirror's merge requests", ref, settings,
                     lambda: mirror.mergerequests.list(state="opened", source_branch=source,
                                                       get_all=False))
    if existing:
        request = existing[0]
        request.title, request.description = title, description
        forge_call("updating the merge request", ref, settings, request.save)
        return str(request.web_url), "updated"
    request = forge_call("opening the merge request", ref, settings,
                    lambda: mirror.mergerequests.create({
                        "source_branch": source, "target_branch": target, "title": title,
                        "description": description}))
    return str(request.web_url), "opened"
