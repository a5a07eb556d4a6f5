"""`mirrorctl upstream submit DRAFT`: a draft a maintainer has read, sent upstream.

Before opening anything, the upstream's open issues and requests that mention riscv64
are searched, and a likely duplicate stops the submission (--force goes on): duplicates
were the commonest way such requests went wrong. After opening, the patch's header
becomes `Issue [url]`, in a copy of the queue swapped in whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from mirrorctl.core.config import Config, Package
from mirrorctl.core.errors import MirrorctlError, UsageError
from mirrorctl.core.git import GitRunner
from mirrorctl.queue.branches import rewrite_statuses
from mirrorctl.queue.engine import carry_one
from mirrorctl.queue.patches import PatchFile, PatchQueue, read_queue
from mirrorctl.sync.cache import release_tag
from mirrorctl.upstream.drafts import CANDIDATE_STATUSES, likely_duplicates
from mirrorctl.upstream.forges.api import forge_api
from mirrorctl.upstream.forges.forge import ForgeSettings, Found
from mirrorctl.upstream.forges.fork import fork_and_target, push_branch

__all__ = ["Submission", "read_draft", "submit_draft"]

_REQUIRED = ("package", "forge", "host", "project", "kind", "title", "patches")


@dataclass(frozen=True, kw_only=True)
class Submission:
    draft: Path
    kind: str
    title: str
    # would-submit: a dry run found nothing that stops it, and sent nothing
    status: Literal["submitted", "refused-duplicate", "would-submit"]
    url: str | None = None
    duplicates: tuple[Found, ...] = ()
    header: str | None = None


def _front_matter(path: Path) -> tuple[Any, str]:
    try:
        text = path.read_text(encoding="utf-8")
        _, front_text, body = text.split("---\n", 2)
        front = yaml.safe_load(front_text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise UsageError(f"{path}: not a mirrorctl draft ({exc})") from None
    return front, body.strip() + "\n"


def read_draft(path: Path) -> tuple[dict[str, Any], str]:
    """The front matter and body of a draft `mirrorctl upstream draft` wrote."""
    front, body = _front_matter(path)
    if not isinstance(front, dict) or front.get("kind") not in ("issue", "mr"):
        raise UsageError(f"{path}: not a mirrorctl draft (no front matter with a kind)")
    missing = [k for k in _REQUIRED if not front.get(k)]
    if missing:
        raise UsageError(f"{path}: the front matter lacks {', '.join(missing)}; set them "
                         "(forge: github or gitlab, host, project: owner/repo)")
    return front, body


def submit_draft(config: Config, path: Path, forges: ForgeSettings, *, runner: GitRunner,
                 workdir: Path, force: bool = False, dry_run: bool = False) -> Submission:
    """Open the draft's request upstream (the duplicates searched first); with `dry_run`,
    search and say whether it would be opened, nothing sent or written."""
    from mirrorctl.upstream.wheels.submit import WHEELS_REQUEST, submit_wheels

    front, body = _front_matter(path)
    if isinstance(front, dict) and front.get("request") == WHEELS_REQUEST \
            and front.get("kind") in ("pr", "issue"):
        status, url, stopped = submit_wheels(config, path, front, body, forges,
                                             runner=runner, workdir=workdir, force=force,
                                             dry_run=dry_run)
        return Submission(draft=path, kind=str(front["kind"]), title=str(front["title"]),
                          status=status, url=url, duplicates=stopped)
    front, body = read_draft(path)
    if front["forge"] not in ("github", "gitlab"):
        raise UsageError(f"{path}: forge {front['forge']!r}: set forge to github or gitlab")
    [package] = config.select([str(front["package"])])
    patch_path = (config.path.parent / str(front["patches"][0])).resolve()
    queue, problems = read_queue(patch_path.parent.parent.parent, patch_path.parent.parent.name,
                                 patch_path.parent.name)
    patch = next((p for p in queue.patches if p.path.resolve() == patch_path), None)
    if problems or patch is None:
        raise UsageError(f"{path}: its patch {front['patches'][0]} is not in a valid queue of "
                         f"{package.name}")
    if patch.status.kind not in CANDIDATE_STATUSES:
        raise UsageError(f"{patch.name} is already 'Upstream-Status: {patch.status}'")
    forge, host, project = front["forge"], str(front["host"]), str(front["project"])
    api = forge_api(forge, host, forges)
    found = api.search_open(project)
    duplicates = likely_duplicates([(f.url, f.title, f.body) for f in found], front["title"],
                                   patch.files)
    kind = str(front["kind"])
    if duplicates and not force:
        by_url = {f.url: f for f in found}
        return Submission(draft=path, kind=kind, title=front["title"],
                          status="refused-duplicate",
                          duplicates=tuple(by_url[url] for url, _, _ in duplicates))
    if dry_run:
        return Submission(draft=path, kind=kind, title=front["title"], status="would-submit")
    if kind == "issue":
        url = api.open_issue(project, title=str(front["title"]), body=body,
                             labels=[str(label) for label in front.get("labels") or []])
        header = f"Issue [{url}]"
    else:
        url = _open_request(config, package, queue, patch, front, body, forges,
                            runner=runner, workdir=workdir, force=force)
        header = f"Submitted [{url}]"
    rewrite_statuses(queue, {patch.name: header})
    return Submission(draft=path, kind=kind, title=front["title"], status="submitted",
                      url=url, header=header)


def _open_request(config: Config, package: Package, queue: PatchQueue, patch: PatchFile,
                  front: dict[str, Any], body: str, forges: ForgeSettings, *,
                  runner: GitRunner, workdir: Path, force: bool) -> str:
    """Carry the patch onto upstream's target branch, push it to the fork, open the request."""
    forge, host, project = front["forge"], str(front["host"]), str(front["project"])
    target = str(front.get("target_branch") or "main")
    fork, cache, onto = fork_and_target(config, package, host, target, runner=runner,
                                        workdir=workdir)
    old_tag, old_base = release_tag(cache, package, queue.version)
    commit, conflicts = carry_one(cache, queue.patches, queue.patches.index(patch),
                                  old_base=old_base, onto=onto, old_name=old_tag)
    if commit is None:
        raise MirrorctlError(f"{patch.name} does not apply to upstream's {target}"
                             + (f" (conflicts in {', '.join(conflicts)})" if conflicts else
                                ": the branch already has the change")
                             + "; rebase the queue first")
    repo = project.rsplit("/", 1)[-1]
    fork_path = f"{fork.namespace}/{repo}"
    branch = f"riscv64/{patch.path.stem}"
    push_branch(cache, fork.url(host, repo), fork.namespace, branch, commit, force=force)
    return forge_api(forge, host, forges).open_merge_request(
        project, fork=fork_path, branch=branch, target=target, title=str(front["title"]),
        body=body)
