"""The upgrade as a pull request in the builders' repository, its queue done: a branch
with the new queue folder and the version bump their build reads, and the rebase report
as its body, labelled by grade.

The branch is made without a checkout, in a bare repository of mirrorctl's own
(<workdir>/site.git): the base is fetched, the new tree is written through a scratch
index, and the branch is pushed with a lease. One request a package and version: an
open one is found by its branch and updated; an older one a newer release replaces is
said so (or closed, as configured). A conflict opens nothing unless `on_conflict: draft`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from packaging.version import InvalidVersion, Version

from mirrorctl.core.config import Config, Package
from mirrorctl.core.errors import GitError, MirrorctlError, UsageError
from mirrorctl.core.git import FORGE_PUSH_TOKENS, GitRunner, LeasedUpdate, Repository
from mirrorctl.core.settings import PullRequests
from mirrorctl.grade.classify import grade_rebase
from mirrorctl.night.mirror_request import request_description
from mirrorctl.queue.carry import RebaseReport
from mirrorctl.queue.replay import ScratchIndex

if TYPE_CHECKING:  # requests and python-gitlab load only when a request is delivered
    from mirrorctl.upstream.forge import Forge, ForgeSettings

__all__ = ["UpgradeRequest", "bump_version", "deliver_upgrade", "with_upgrade_request"]

Action = Literal["opened", "updated", "unchanged", "skipped", "failed"]
_IDENTITY = {"GIT_AUTHOR_NAME": "mirrorctl", "GIT_AUTHOR_EMAIL": "mirrorctl@invalid",
             "GIT_COMMITTER_NAME": "mirrorctl", "GIT_COMMITTER_EMAIL": "mirrorctl@invalid"}


@dataclass(frozen=True, kw_only=True)
class UpgradeRequest:
    package: str
    version: str
    action: Action
    url: str | None = None
    branch: str = ""
    bumped: str | None = None  # the file whose version was set, None when none was
    detail: str = ""
    superseded: tuple[str, ...] = ()  # older requests of the package: commented or closed


def deliver_upgrade(config: Config, package: Package, report: RebaseReport, *,
                    workdir: Path, runner: GitRunner, forges: ForgeSettings) -> UpgradeRequest:
    """Push the upgrade's branch and open or update its request."""
    site = config.pull_requests
    if site is None:
        raise UsageError("no pull_requests: under defaults in mirrors.yaml says where "
                         "upgrades are delivered")
    version = report.to_version
    if report.status == "conflict" and site.on_conflict == "skip":
        return UpgradeRequest(package=package.name, version=version, action="skipped",
                              detail="a patch conflicts: no pull request until a person "
                                     "settles it (rebase --worktree, then --continue)")
    from mirrorctl.upstream.drafts import forge_of

    kind, project = forge_of(site.repository, config.forge_apis)
    if kind not in ("github", "gitlab") or project is None:
        raise UsageError(f"pull_requests.repository {site.repository}: not a GitHub or "
                         "GitLab project page")
    forge: Forge = "github" if kind == "github" else "gitlab"
    host = urlsplit(site.repository).hostname or ""
    branch = site.branch.format(name=package.name, version=version)
    graded = report if report.grade is not None else _graded(config, package, report,
                                                            workdir, runner, forges)
    pushed, bumped, note = _push_branch(config, package, graded, site, branch, workdir,
                                        _site_runner(runner, host, package))
    title = f"Upgrade {package.name} to {version}"
    body = _body(graded, _repository_path(config, report.patchset), bumped, note)
    labels = [f"mirrorctl: {graded.grade.level}"] if graded.grade is not None else []
    return _open_or_update(forge, host, project, forges, site, package, version, branch,
                           title=title, body=body, labels=labels, bumped=bumped,
                           kept=note if pushed == "kept" else None)


def with_upgrade_request(config: Config, package: Package, report: RebaseReport, *,
                         workdir: Path, runner: GitRunner,
                         forges: ForgeSettings) -> RebaseReport:
    """The rebase report with its pull request delivered, or why not: a failure to
    deliver is the package's alone ("failed", with the reason), never the rebase's."""
    from dataclasses import replace

    if report.written == "not-written" and report.status != "conflict":
        return replace(report, pull_request_action="skipped",
                       pull_request_detail="no new queue was written")
    try:
        done = deliver_upgrade(config, package, report, workdir=workdir, runner=runner,
                               forges=forges)
    except (MirrorctlError, OSError) as exc:
        return replace(report, pull_request_action="failed", pull_request_detail=str(exc))
    return replace(report, pull_request=done.url, pull_request_action=done.action,
                   pull_request_detail=done.detail or ", ".join(
                       f"superseded {url}" for url in done.superseded))


def _graded(config: Config, package: Package, report: RebaseReport, workdir: Path,
            runner: GitRunner, forges: ForgeSettings) -> RebaseReport:
    """The report with its grade, the builds of the request's branch included: a rerun
    after they ran updates the body and the label with what they say."""
    from dataclasses import replace

    from mirrorctl.night.build_results import BuildResults

    builds = BuildResults(config, forges, workdir).reasons
    return replace(report, grade=grade_rebase(config, package, report, workdir=workdir,
                                              runner=runner, builds=builds))


def _site_runner(runner: GitRunner, host: str, package: Package) -> GitRunner:
    """The runner with the package's transports and time-out, and the forge token
    offered for pushes to the site's host."""
    tokens = [(f"https://{host}", variable, user) for match, variable, user in
              FORGE_PUSH_TOKENS if match in host]
    return runner.with_options(timeout=package.timeout,
                               allowed_protocols=package.allowed_protocols,
                               token_urls=(), push_tokens=tokens)


def _push_branch(config: Config, package: Package, report: RebaseReport, site: PullRequests,
                 branch: str, workdir: Path, runner: GitRunner) -> tuple[str, str | None, str]:
    """Make the branch (the base, the new queue folder, the version bump) and push it
    with a lease: ("pushed" | "unchanged" | "kept", the bumped file or None, a note).
    A branch whose head a person made is kept as it is."""
    repo = Repository.open_or_init_bare(workdir / "site.git", runner)
    repo.remove_stale_locks()
    ref = f"refs/heads/{branch}"
    try:
        remote = runner.ls_remote(site.remote)
        repo.fetch_refspecs(site.remote, [f"+refs/heads/{site.base}:refs/mirrorctl/base",
                                          *([f"+{ref}:refs/mirrorctl/branch"]
                                            if ref in remote else [])])
    except GitError as exc:
        raise MirrorctlError(f"cannot read the repository {site.remote}: {exc.summary}") \
            from None
    base = repo.resolve("refs/mirrorctl/base^{commit}")
    if base is None:
        raise MirrorctlError(f"{site.remote} has no branch {site.base} (pull_requests.base)")
    files, bumped, note = _changes(config, package, report, site, repo, base)
    with ScratchIndex.create(repo) as index:
        index.read(base)
        index.put(files)
        tree = index.write()
    current = remote.get(ref)
    if current is not None:
        if repo.resolve("refs/mirrorctl/branch^{tree}") == tree \
                and repo.resolve("refs/mirrorctl/branch^") == base:
            return "unchanged", bumped, note
        author = repo.git("log", "-1", "--format=%ae", "refs/mirrorctl/branch").stdout.strip()
        if author != _IDENTITY["GIT_AUTHOR_EMAIL"]:
            # A maintainer pushed to it (their hand work on the queue): never overwritten.
            return "kept", bumped, (f"{branch} has a commit by {author}: mirrorctl leaves "
                                    "the branch as it is")
    message = (f"Upgrade {package.name} to {report.to_version}\n\nThe riscv64 patch queue "
               f"carried onto {report.onto} by mirrorctl ({report.status}).\n")
    commit = repo.git("commit-tree", tree, "-p", base, "-F", "-", input=message,
                      env=_IDENTITY).stdout.strip()
    [result] = repo.push(site.remote, [LeasedUpdate(ref=ref, expected=current, new=commit)])
    if result.status != "ok":
        raise MirrorctlError(f"pushing {branch} to {site.remote} was refused "
                             f"({result.detail}); it moved since it was read: run again")
    return "pushed", bumped, note


def _changes(config: Config, package: Package, report: RebaseReport, site: PullRequests,
             repo: Repository, base: str) -> tuple[dict[str, str | None], str | None, str]:
    """{path in the repository: blob id, or None to remove}: the new queue folder whole,
    and the version file bumped; the bumped file (None if none) and why not."""
    folder = report.patchset
    inside = _repository_path(config, folder)
    # The folder whole: what the base holds there and the new queue lacks goes. (A
    # conflict delivered as a draft has no folder: its body says what conflicts.)
    files: dict[str, str | None] = dict.fromkeys(
        path for _, _, _, path in repo.tree_entries(base)
        if path.startswith(inside + "/") and folder.is_dir())
    for path in sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else ():
        oid = repo.git("hash-object", "-w", "--stdin", input=path.read_text(
            encoding="utf-8", errors="surrogateescape")).stdout.strip()
        files[f"{inside}/{path.name}"] = oid
    template = package.version_file or site.version_file
    if template is None:
        return files, None, ""
    version_file = template.format(name=package.name)
    blob = repo.resolve(f"{base}:{version_file}")
    if blob is None:
        return files, None, f"{version_file} is not in {site.base}: the version is not bumped"
    text = repo.read_blobs([blob])[blob].decode("utf-8", "surrogateescape")
    bumped = bump_version(text, _public(report.to_version))
    if bumped is None:
        return files, None, (f"{version_file} has no `default:` of a `version` input: the "
                             "version is not bumped")
    if bumped != text:
        files[version_file] = repo.git("hash-object", "-w", "--stdin",
                                       input=bumped).stdout.strip()
    return files, version_file, ""


def _repository_path(config: Config, folder: Path) -> str:
    """The queue folder's path inside the repository, whose root holds mirrors.yaml."""
    try:
        return folder.resolve().relative_to(config.path.resolve().parent).as_posix()
    except ValueError:
        raise UsageError(f"{folder} is not under the folder of {config.path}: pull requests "
                         "need the queues inside the repository that holds mirrors.yaml") \
            from None


def _public(version: str) -> str:
    """The version a workflow's input takes: torch's 2.13.0+cpu builds from 2.13.0."""
    try:
        return Version(version).public
    except InvalidVersion:
        return version


_DEFAULT = re.compile(r"^(?P<lead>\s*version:\s*\n(?:\s+(?!default:)[\w-]+:.*\n)*?"
                      r"\s+default:\s*)(?P<quote>['\"]?)(?P<value>[^'\"\s#]+)(?P=quote)",
                      re.MULTILINE)


def bump_version(text: str, new: str) -> str | None:
    """The workflow with its `version` input's default set to `new`, and every quoted
    copy of the old default too (`inputs.version || '2.5.2'`); None when it has no such
    default."""
    match = _DEFAULT.search(text)
    if match is None:
        return None
    old = match.group("value")
    if old == new:
        return text
    return re.sub(rf"(['\"]){re.escape(old)}\1", lambda m: f"{m.group(1)}{new}{m.group(1)}",
                  text.replace(match.group(0), f"{match.group('lead')}'{new}'", 1))


def _body(report: RebaseReport, folder: str, bumped: str | None, note: str) -> str:
    said = [f"The new queue is `{folder}/`" if report.status != "conflict" else
            "A patch conflicts: this draft carries no queue until a person settles it "
            f"(`mirrorctl rebase {report.package} --worktree DIR`, then `--continue`)"]
    if report.written == "nothing-to-carry":
        said.append("upstream took every patch, so the folder holds only its `series`: "
                    "the workflow's `git apply` step has nothing to apply and must go, as "
                    "in the workflows of unpatched packages")
    if bumped:
        said.append(f"the version is bumped in `{bumped}`")
    if note:
        said.append(note)
    footer = "; ".join(said) + ". Kept up to date by mirrorctl: a rerun updates this request."
    return request_description(report, footer)


def _open_or_update(forge: Forge, host: str, project: str, forges: ForgeSettings,
                    site: PullRequests, package: Package, version: str, branch: str, *,
                    title: str, body: str, labels: list[str], bumped: str | None,
                    kept: str | None) -> UpgradeRequest:
    """Update the branch's open request, or open one; tell older ones they are replaced.
    `kept`: a person's branch, whose request is only found, never changed."""
    from mirrorctl.upstream.pulls import (
        close_request,
        comment_request,
        create_request,
        open_requests,
        update_request,
    )

    prefix = site.branch.format(name=package.name, version="")
    found = open_requests(forge, host, project, forges, branch_prefix=prefix)
    mine = [r for r in found if r.branch == branch]
    action: Action
    if kept is not None:
        return UpgradeRequest(package=package.name, version=version, action="unchanged",
                              url=mine[0].url if mine else None, branch=branch,
                              bumped=bumped, detail=kept)
    if mine:
        request = mine[0]
        changed = request.body != body or request.title.removeprefix("Draft: ") != title \
            or not set(labels) <= set(request.labels)
        if changed:
            update_request(forge, host, project, forges, request,
                           title=title, body=body, labels=labels)
        url, action = request.url, "updated" if changed else "unchanged"
    else:
        request = create_request(forge, host, project, forges,
                                 branch=branch, base=site.base, title=title, body=body,
                                 labels=labels)
        url, action = request.url, "opened"
    superseded = []
    for older in (r for r in found if r.branch != branch and _older(r.branch, prefix, version)):
        comment_request(forge, host, project, forges, older,
                        f"Superseded by {url} ({package.name} {version}).")
        if site.stale == "close":
            close_request(forge, host, project, forges, older)
        superseded.append(older.url)
    return UpgradeRequest(package=package.name, version=version, action=action, url=url,
                          branch=branch, bumped=bumped, superseded=tuple(superseded))


def _older(branch: str, prefix: str, version: str) -> bool:
    try:
        return Version(branch.removeprefix(prefix)) < Version(version)
    except InvalidVersion:
        return False
