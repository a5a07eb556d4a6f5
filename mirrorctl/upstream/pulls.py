"""Pull requests (GitHub REST, through requests) and merge requests (GitLab v4, through
python-gitlab) in one repository, found by their branch: list the open ones, open one,
update its title, body and labels, comment on it, close it.

The upgrade pull request of the builders' repository is made of these; which request
is whose is decided by the branch name alone, so a rerun finds its request again.
Opening is never retried (a second POST would open it twice); reading is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import requests

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

__all__ = ["OpenRequest", "close_request", "comment_request", "create_request",
           "open_requests", "set_labels", "update_request", "upsert_comment"]

Posted = Literal["posted", "edited", "unchanged"]

# Labels mirrorctl owns on a request (the grade); a person's other labels stay.
LABEL_PREFIX = "mirrorctl: "


@dataclass(frozen=True, kw_only=True)
class OpenRequest:
    number: int  # GitHub's number, GitLab's iid
    url: str
    branch: str
    title: str
    body: str
    labels: tuple[str, ...]
    draft: bool = True


def open_requests(forge: Forge, host: str, project: str, settings: ForgeSettings, *,
                  branch_prefix: str | tuple[str, ...]) -> list[OpenRequest]:
    """The open requests of `project` from its own branches starting with
    `branch_prefix` (or any of them)."""
    ref = project_ref(forge, host, project)
    if forge == "github":
        api, found, page = github_api(host, settings), [], 1
        while True:
            response = forge_call("listing the pull requests", ref, settings,
                                  lambda p=page: http_session(settings).get(
                                      f"{api}/repos/{project}/pulls",
                                      headers=github_headers(settings),
                                      params={"state": "open", "per_page": "100",
                                              "page": str(p)},
                                      timeout=settings.timeout))
            items = json_answer(response, "listing the pull requests", list)
            found += [_github_request(item) for item in items if isinstance(item, dict)
                      and str(item.get("head", {}).get("ref", "")).startswith(branch_prefix)
                      and (item.get("head", {}).get("repo") or {}).get("full_name") == project]
            if "rel=\"next\"" not in response.headers.get("Link", "") or not items:
                return found
            page += 1
    gl_project = gitlab_client(host, settings).projects.get(project, lazy=True)
    items = forge_call("listing the merge requests", ref, settings,
                  lambda: gl_project.mergerequests.list(state="opened", get_all=True))
    return [_gitlab_request(item) for item in items
            if str(item.source_branch).startswith(branch_prefix)]


def create_request(forge: Forge, host: str, project: str, settings: ForgeSettings, *,
                   branch: str, base: str, title: str, body: str,
                   labels: list[str]) -> OpenRequest:
    """Open a draft request from `branch` into `base`, labelled."""
    ref = project_ref(forge, host, project)
    if forge == "github":
        api = github_api(host, settings)
        owner = project.split("/", 1)[0]
        response = forge_call("opening the pull request", ref, settings, lambda: requests.post(
            f"{api}/repos/{project}/pulls", headers=github_headers(settings),
            json={"title": title, "body": body, "head": f"{owner}:{branch}", "base": base,
                  "draft": True}, timeout=settings.timeout))
        opened = _github_request(json_answer(response, "opening the pull request"))
        if labels:
            _github_labels(api, project, ref, settings, opened.number, labels)
        return OpenRequest(**{**opened.__dict__, "labels": tuple(labels)})
    gl_project = gitlab_client(host, settings).projects.get(project, lazy=True)
    item = forge_call("opening the merge request", ref, settings, lambda: gl_project.mergerequests
                 .create({"source_branch": branch, "target_branch": base,
                          "title": f"Draft: {title}", "description": body,
                          "labels": ",".join(labels)}))
    return _gitlab_request(item)


def update_request(forge: Forge, host: str, project: str, settings: ForgeSettings,
                   request: OpenRequest, *, title: str, body: str, labels: list[str]) -> None:
    """Set the title, body and mirrorctl's labels of an open request (a person's labels
    stay)."""
    ref = project_ref(forge, host, project)
    kept = [label for label in request.labels if not label.startswith(LABEL_PREFIX)]
    if forge == "github":
        api = github_api(host, settings)
        forge_call("updating the pull request", ref, settings, lambda: requests.patch(
            f"{api}/repos/{project}/pulls/{request.number}", headers=github_headers(settings),
            json={"title": title, "body": body}, timeout=settings.timeout))
        _github_labels(api, project, ref, settings, request.number, [*kept, *labels],
                       replace=True)
        return
    item = _gitlab_item(host, project, settings, request.number, ref)
    item.title = f"Draft: {title}" if request.draft else title
    item.description = body
    item.labels = [*kept, *labels]
    forge_call("updating the merge request", ref, settings, item.save)


def set_labels(forge: Forge, host: str, project: str, settings: ForgeSettings,
               request: OpenRequest, labels: list[str]) -> None:
    """Set mirrorctl's labels of an open request (a person's labels stay), nothing else:
    a body left as it was written re-dispatches no build."""
    ref = project_ref(forge, host, project)
    kept = [label for label in request.labels if not label.startswith(LABEL_PREFIX)]
    if forge == "github":
        _github_labels(github_api(host, settings), project, ref, settings, request.number,
                       [*kept, *labels], replace=True)
        return
    item = _gitlab_item(host, project, settings, request.number, ref)
    item.labels = [*kept, *labels]
    forge_call("labelling the merge request", ref, settings, item.save)


def comment_request(forge: Forge, host: str, project: str, settings: ForgeSettings,
                    request: OpenRequest, text: str) -> None:
    ref = project_ref(forge, host, project)
    if forge == "github":
        api = github_api(host, settings)
        forge_call("commenting on the pull request", ref, settings, lambda: requests.post(
            f"{api}/repos/{project}/issues/{request.number}/comments",
            headers=github_headers(settings), json={"body": text}, timeout=settings.timeout))
        return
    item = _gitlab_item(host, project, settings, request.number, ref)
    forge_call("commenting on the merge request", ref, settings,
          lambda: item.notes.create({"body": text}))


def upsert_comment(forge: Forge, host: str, project: str, settings: ForgeSettings,
                   request: OpenRequest, *, marker: str, text: str,
                   look: bool = True) -> Posted:
    """The one comment of the request that carries `marker` (an HTML comment, unseen),
    set to `text`: edited in place when it is there, posted when not. `look=False`: it
    is known not to be there (one request saved)."""
    body = f"<!-- {marker} -->\n{text}"
    ref = project_ref(forge, host, project)
    if forge == "github":
        api = github_api(host, settings)
        found = _github_comment(api, project, ref, settings, request.number, marker) \
            if look else None
        if found is not None and found[1] == body:
            return "unchanged"
        if found is not None:
            forge_call("editing the pull request's comment", ref, settings,
                       lambda: requests.patch(
                           f"{api}/repos/{project}/issues/comments/{found[0]}",
                           headers=github_headers(settings), json={"body": body},
                           timeout=settings.timeout))
            return "edited"
        comment_request(forge, host, project, settings, request, body)
        return "posted"
    item = _gitlab_item(host, project, settings, request.number, ref)
    notes = forge_call("reading the merge request's notes", ref, settings,
                       lambda: item.notes.list(get_all=True)) if look else []
    note = next((n for n in notes if f"<!-- {marker} -->" in str(n.body)), None)
    if note is not None and str(note.body) == body:
        return "unchanged"
    if note is not None:
        note.body = body
        forge_call("editing the merge request's note", ref, settings, note.save)
        return "edited"
    forge_call("commenting on the merge request", ref, settings,
               lambda: item.notes.create({"body": body}))
    return "posted"


def _github_comment(api: str, project: str, ref: Any, settings: ForgeSettings, number: int,
                    marker: str) -> tuple[int, str] | None:
    """(id, body) of the pull request's comment carrying `marker`, or None."""
    page = 1
    while True:
        response = forge_call("reading the pull request's comments", ref, settings,
                              lambda p=page: http_session(settings).get(
                                  f"{api}/repos/{project}/issues/{number}/comments",
                                  headers=github_headers(settings),
                                  params={"per_page": "100", "page": str(p)},
                                  timeout=settings.timeout))
        items = json_answer(response, "reading the pull request's comments", list)
        for item in items:
            if isinstance(item, dict) and f"<!-- {marker} -->" in str(item.get("body", "")):
                return int(item["id"]), str(item["body"])
        if "rel=\"next\"" not in response.headers.get("Link", "") or not items:
            return None
        page += 1


def close_request(forge: Forge, host: str, project: str, settings: ForgeSettings,
                  request: OpenRequest) -> None:
    ref = project_ref(forge, host, project)
    if forge == "github":
        api = github_api(host, settings)
        forge_call("closing the pull request", ref, settings, lambda: requests.patch(
            f"{api}/repos/{project}/pulls/{request.number}", headers=github_headers(settings),
            json={"state": "closed"}, timeout=settings.timeout))
        return
    item = _gitlab_item(host, project, settings, request.number, ref)
    item.state_event = "close"
    forge_call("closing the merge request", ref, settings, item.save)


def _github_labels(api: str, project: str, ref: Any, settings: ForgeSettings, number: int,
                   labels: list[str], *, replace: bool = False) -> None:
    # Labels live on the issue side of a pull request: PUT replaces them, POST adds.
    method = requests.put if replace else requests.post
    forge_call("labelling the pull request", ref, settings, lambda: method(
        f"{api}/repos/{project}/issues/{number}/labels", headers=github_headers(settings),
        json={"labels": labels}, timeout=settings.timeout))


def _github_request(item: dict[str, Any]) -> OpenRequest:
    return OpenRequest(number=int(item["number"]), url=str(item.get("html_url", "")),
                       branch=str((item.get("head") or {}).get("ref", "")),
                       title=str(item.get("title", "")), body=str(item.get("body") or ""),
                       labels=tuple(str(label.get("name", "")) for label in
                                    item.get("labels") or () if isinstance(label, dict)),
                       draft=bool(item.get("draft", False)))


def _gitlab_request(item: Any) -> OpenRequest:
    return OpenRequest(number=int(item.iid), url=str(item.web_url),
                       branch=str(item.source_branch), title=str(item.title),
                       body=str(getattr(item, "description", "") or ""),
                       labels=tuple(getattr(item, "labels", ()) or ()),
                       draft=bool(getattr(item, "draft", False))
                       or str(item.title).startswith("Draft:"))


def _gitlab_item(host: str, project: str, settings: ForgeSettings, iid: int, ref: Any) -> Any:
    gl_project = gitlab_client(host, settings).projects.get(project, lazy=True)
    return forge_call("reading the merge request", ref, settings,
                 lambda: gl_project.mergerequests.get(iid))
