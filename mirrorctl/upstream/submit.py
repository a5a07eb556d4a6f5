"""`mirrorctl upstream submit DRAFT`: a draft a maintainer has read, sent upstream.

Before opening anything, the upstream's open issues and requests that mention riscv64
are searched, and a likely duplicate stops the submission (--force goes on): duplicates
were the commonest way such requests went wrong. After opening, the patch's header
becomes `Issue [url]`, in a copy of the queue swapped in whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mirrorctl.core.config import Config, Package
from mirrorctl.core.errors import MirrorctlError, UsageError
from mirrorctl.core.git import GitRunner
from mirrorctl.queue.branches import rewrite_statuses
from mirrorctl.queue.engine import carry_one
from mirrorctl.queue.patches import PatchFile, PatchQueue, read_queue
from mirrorctl.sync.cache import release_tag
from mirrorctl.upstream.drafts import CANDIDATE_STATUSES, likely_duplicates
from mirrorctl.upstream.forges.api import forge_api
from mirrorctl.upstream.forges.forge import ForgeSettings, Found, as_forge
from mirrorctl.upstream.forges.fork import fork_and_target, push_branch
from mirrorctl.upstream.front import DraftFront, read_front

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


def read_draft(path: Path) -> tuple[DraftFront, str]:
    """The front matter and body of a draft `mirrorctl upstream draft` wrote."""
    front, body = read_front(path)
    return _checked(path, front), body.strip() + "\n"


def _checked(path: Path, front: DraftFront) -> DraftFront:
    """A patch's draft, with every field a submission needs."""
    if front.kind not in ("issue", "mr"):
        raise UsageError(f"{path}: not a mirrorctl draft (no front matter with a kind)")
    missing = [k for k in _REQUIRED if not getattr(front, k)]
    if missing:
        raise UsageError(f"{path}: the front matter lacks {', '.join(missing)}; set them "
                         "(forge: github or gitlab, host, project: owner/repo)")
    return front


def submit_draft(config: Config, path: Path, forges: ForgeSettings, *, runner: GitRunner,
                 workdir: Path, force: bool = False, dry_run: bool = False) -> Submission:
    """Open the draft's request upstream (the duplicates searched first); with `dry_run`,
    search and say whether it would be opened, nothing sent or written."""
    from mirrorctl.upstream.wheels.submit import WHEELS_REQUEST, submit_wheels

    front, body = read_front(path)
    body = body.strip() + "\n"
    if front.request == WHEELS_REQUEST and front.kind in ("pr", "issue"):
        status, url, stopped = submit_wheels(config, path, front, body, forges,
                                             runner=runner, workdir=workdir, force=force,
                                             dry_run=dry_run)
        return Submission(draft=path, kind=front.kind, title=front.title,
                          status=status, url=url, duplicates=stopped)
    front = _checked(path, front)
    forge = as_forge(front.forge or "")
    if forge is None:
        raise UsageError(f"{path}: forge {front.forge!r}: set forge to github or gitlab")
    [package] = config.select([front.package])
    patch_path = (config.path.parent / front.patches[0]).resolve()
    queue, problems = read_queue(patch_path.parent.parent.parent, patch_path.parent.parent.name,
                                 patch_path.parent.name)
    patch = next((p for p in queue.patches if p.path.resolve() == patch_path), None)
    if problems or patch is None:
        raise UsageError(f"{path}: its patch {front.patches[0]} is not in a valid queue of "
                         f"{package.name}")
    if patch.status.kind not in CANDIDATE_STATUSES:
        raise UsageError(f"{patch.name} is already 'Upstream-Status: {patch.status}'")
    api = forge_api(forge, str(front.host), forges)
    project = str(front.project)
    found = api.search_open(project)
    duplicates = likely_duplicates([(f.url, f.title, f.body) for f in found], front.title,
                                   patch.files)
    kind = front.kind
    if duplicates and not force:
        by_url = {f.url: f for f in found}
        return Submission(draft=path, kind=kind, title=front.title,
                          status="refused-duplicate",
                          duplicates=tuple(by_url[url] for url, _, _ in duplicates))
    if dry_run:
        return Submission(draft=path, kind=kind, title=front.title, status="would-submit")
    if kind == "issue":
        url = api.open_issue(project, title=front.title, body=body, labels=list(front.labels))
        header = f"Issue [{url}]"
    else:
        url = _open_request(config, package, queue, patch, front, body, forges,
                            runner=runner, workdir=workdir, force=force)
        header = f"Submitted [{url}]"
    rewrite_statuses(queue, {patch.name: header})
    return Submission(draft=path, kind=kind, title=front.title, status="submitted",
                      url=url, header=header)


def _open_request(config: Config, package: Package, queue: PatchQueue, patch: PatchFile,
                  front: DraftFront, body: str, forges: ForgeSettings, *,
                  runner: GitRunner, workdir: Path, force: bool) -> str:
    """Carry the patch onto upstream's target branch, push it to the fork, open the request."""
    forge, host, project = as_forge(front.forge or ""), str(front.host), str(front.project)
    assert forge is not None  # checked before
    target = front.target_branch or "main"
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
        project, fork=fork_path, branch=branch, target=target, title=front.title, body=body)
