"""A riscv64-wheels draft (`upstream wheels --draft`) sent upstream, once a person has
read it: upstream's requests for riscv64 wheels are searched again just before, open and
closed (an open one stops the submission; a merged or declined one too, unless
--force: a person decides); an issue draft opens the issue; a change is applied to
upstream's default branch as it is now (in the cache, no checkout), pushed with a lease
to the builders' fork (`forks:`) and opened as a draft pull request (GitHub) or a
"Draft:" merge request (GitLab). The draft then says where it went, so a second submit
refuses.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Literal

from mirrorctl.core.config import Config
from mirrorctl.core.errors import MirrorctlError, UsageError
from mirrorctl.core.git import GitRunner
from mirrorctl.core.urls import forge_kind
from mirrorctl.queue.replay import ScratchIndex
from mirrorctl.upstream.forges.api import forge_api
from mirrorctl.upstream.forges.forge import Forge, ForgeSettings, Found, as_forge
from mirrorctl.upstream.forges.fork import fork_and_target, push_branch
from mirrorctl.upstream.front import DRAFT_FRONT, DraftFront, read_front
from mirrorctl.upstream.wheels.asks import wheel_asks

__all__ = ["WHEELS_REQUEST", "submit_wheels"]

WHEELS_REQUEST = "riscv64-wheels"  # the front matter's `request:` of these drafts
_BRANCH = "riscv64/wheels"


def submit_wheels(config: Config, path: Path, front: DraftFront, body: str,
                  forges: ForgeSettings, *, runner: GitRunner, workdir: Path,
                  force: bool, dry_run: bool = False,
                  ) -> tuple[Literal["submitted", "refused-duplicate", "would-submit"],
                             str | None, tuple[Found, ...]]:
    """(status, the request's URL, the requests that stopped it)."""
    if front.submitted:
        raise UsageError(f"{path}: already submitted as {front.submitted}")
    [package] = config.select([front.package])
    host, project = front.host or "", front.project or ""
    forge = as_forge(forge_kind(host, config.forge_apis))
    if forge is None or not project:
        raise UsageError(f"{path}: host {host!r} is no forge mirrorctl knows: set host and "
                         "project in its front matter (or upstream_web: in mirrors.yaml)")
    api = forge_api(forge, host, forges)
    asks = wheel_asks(forge, host, forges).search(project)
    stopping = [a for a in asks if a.kind == "pr" and (a.state == "open" or not force)]
    if stopping:
        return "refused-duplicate", None, tuple(
            Found(url=a.url, title=f"{a.title} ({a.state})", body="") for a in stopping)
    if dry_run:
        return "would-submit", None, ()
    if front.kind == "issue":
        url = api.open_issue(project, title=front.title, body=body, labels=[])
    else:
        url = _open_request(config, package, front, path, body, forges, forge, runner=runner,
                            workdir=workdir, force=force)
    _mark_submitted(path, url)
    return "submitted", url, ()


def _open_request(config: Config, package: Any, front: DraftFront, path: Path, body: str,
                  forges: ForgeSettings, forge: Forge, *, runner: GitRunner, workdir: Path,
                  force: bool) -> str:
    host, project = str(front.host), str(front.project)
    if not front.patches:
        raise UsageError(f"{path}: a pull request draft names no patch")
    patch_path = path.parent / front.patches[0]
    try:
        author, date, message, diff = _mail(patch_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{patch_path}: not the format-patch file the draft wrote ({exc})") \
            from None
    target = front.target_branch or "main"
    fork, cache, onto = fork_and_target(config, package, host, target, runner=runner,
                                        workdir=workdir)
    with ScratchIndex.create(cache) as index:
        index.read(onto)
        applied = index.apply(diff)
        if applied.returncode != 0:
            raise MirrorctlError(
                f"{patch_path.name} no longer applies to upstream's {target}: draft it again "
                f"with `mirrorctl upstream wheels {package.name} --draft --force`")
        name, email = parseaddr(author)
        identity = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_AUTHOR_DATE": date,
                    "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email,
                    "GIT_COMMITTER_DATE": date}
        commit = cache.git("commit-tree", index.write(), "-p", onto, "-F", "-",
                           input=message, env=identity).stdout.strip()
    repo = project.rsplit("/", 1)[-1]
    push_branch(cache, fork.url(host, repo), fork.namespace, _BRANCH, commit, force=force)
    return forge_api(forge, host, forges).open_merge_request(
        project, fork=f"{fork.namespace}/{repo}", branch=_BRANCH, target=target,
        title=front.title, body=body)


def _mail(text: str) -> tuple[str, str, str, str]:
    """(author, date, commit message, diff) of a one-commit format-patch file."""
    head, separator, rest = text.partition("\n\n")
    diff_at = rest.find("\ndiff --git ")
    if not separator or diff_at < 0:
        raise ValueError("no mail header, or no diff")
    mail = email.message_from_string(head + "\n\n", policy=email.policy.default)
    subject = str(mail.get("Subject", "")).removeprefix("[PATCH] ")
    body = rest[:diff_at].split("\n---\n", 1)[0].strip()
    message = subject + ("\n\n" + body if body else "") + "\n"
    return str(mail.get("From", "")), str(mail.get("Date", "")), message, rest[diff_at + 1:]


def _mark_submitted(path: Path, url: str) -> None:
    """The draft says where it went (a person's edits to it kept), so a second submit
    refuses."""
    front, body = read_front(path)
    DRAFT_FRONT.write(path, replace(front, submitted=url), body)
