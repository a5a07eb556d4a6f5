"""The ground every forge call stands on (forges/github.py and forges/gitlab.py, behind
forges/api.py): requests and issues as their URLs name them, their states, the
API base and headers, a retrying session for reads, a python-gitlab client, and
forge_call, which maps every way a call can fail to one clear ForgeError.

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
from mirrorctl.core.turns import waiting
from mirrorctl.core.urls import forge_kind

__all__ = ["Forge", "ForgeError", "ForgeSettings", "Found", "RequestRef", "RequestState",
           "State", "as_forge", "forge_call", "github_api", "github_headers", "gitlab_client",
           "http_session", "json_answer", "parse_request_url", "project_ref"]

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


_TOKENS = {"github": "MIRRORCTL_GITHUB_TOKEN", "gitlab": "MIRRORCTL_GITLAB_TOKEN"}


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
    search_rate: float = 30.0  # searches a minute at most (defaults.search_rate)
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
    token = _TOKENS[ref.forge]
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


Forge = Literal["github", "gitlab"]


def as_forge(kind: str) -> Forge | None:
    """A forge kind (forge_kind's answer) as the Forge mirrorctl can talk to, or None."""
    return "github" if kind == "github" else "gitlab" if kind == "gitlab" else None


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
        with waiting():  # on the network: another thread's Python runs meanwhile
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
