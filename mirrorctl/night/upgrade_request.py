"""The upgrade as a pull request in the builders' repository, its queue done, in their
conventions: one request an upgrade. When their bot's request for the package and
version is open (its branch by `bot_branch`), mirrorctl completes it, its commits on
top of the bot's, never rewriting them, and opens no other; else it opens its own on
`branch`: "Upgrade X to vY", a draft, with the `Trigger: <pkg>:<version>` lines their
pr-trigger workflow dispatches the builds from.

The branch is made without a checkout, in a bare repository of mirrorctl's own
(<workdir>/site.git): the tree it goes on is fetched, the new files are written through
a scratch index (night.site_changes, night.site_branch), and the branch is pushed with
a lease. A body is written once (their pr-trigger re-dispatches the builds on every
edit of it): what changes later (the grade the builds confirm) goes in one comment of
mirrorctl's, edited in place. An older request a newer release replaces is said so (or
closed, as configured). A conflict opens nothing unless `on_conflict: draft`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from packaging.version import InvalidVersion, Version

from mirrorctl.core.config import Config, Package
from mirrorctl.core.errors import GitError, MirrorctlError, UsageError
from mirrorctl.core.files import atomic_write_text
from mirrorctl.core.git import FORGE_PUSH_TOKENS, GitRunner, LeasedUpdate, Repository
from mirrorctl.core.markdown import code_span
from mirrorctl.core.settings import PullRequests
from mirrorctl.grade.classify import grade_rebase
from mirrorctl.night.mirror_request import request_description
from mirrorctl.night.site_branch import SiteChanges, branch_commits, commit_upgrade
from mirrorctl.night.site_changes import public_version, repository_path, site_changes
from mirrorctl.night.site_files import bump_workflow, input_default
from mirrorctl.queue.carry import RebaseReport

if TYPE_CHECKING:  # requests and python-gitlab load only when a request is delivered
    from mirrorctl.upstream.forge import Forge, ForgeSettings
    from mirrorctl.upstream.pulls import OpenRequest

__all__ = ["UpgradeRequest", "bump_version", "deliver_upgrade", "with_upgrade_request"]

Action = Literal["opened", "updated", "unchanged", "skipped", "failed"]
Pushed = Literal["pushed", "unchanged", "kept"]
_MARKER = "mirrorctl:upgrade"  # the one comment of mirrorctl's on a request


@dataclass(frozen=True, kw_only=True)
class UpgradeRequest:
    package: str
    version: str
    action: Action
    url: str | None = None
    branch: str = ""
    bumped: str | None = None  # the files whose version was set (", "-joined), or None
    detail: str = ""
    superseded: tuple[str, ...] = ()  # older requests of the package: commented or closed


@dataclass(frozen=True)
class _Site:
    """The builders' repository on its forge, and the branch the upgrade goes to."""

    forge: Forge
    host: str
    project: str
    settings: ForgeSettings
    pull_requests: PullRequests
    branch: str  # where the upgrade goes: mirrorctl's own, or their bot's
    completes: OpenRequest | None  # their bot's request, when the upgrade completes it


def deliver_upgrade(config: Config, package: Package, report: RebaseReport, *,
                    workdir: Path, runner: GitRunner, forges: ForgeSettings) -> UpgradeRequest:
    """Push the upgrade's commits and open, complete or update its one request."""
    from mirrorctl.upstream.forges import forge_api

    site = config.pull_requests
    if site is None:
        raise UsageError("no pull_requests: under defaults in mirrors.yaml says where "
                         "upgrades are delivered")
    version = report.to_version
    if report.status == "conflict" and site.on_conflict == "skip":
        return UpgradeRequest(package=package.name, version=version, action="skipped",
                              detail="a patch conflicts: no pull request until a person "
                                     "settles it (rebase --worktree, then --continue)")
    forge, host, project = _forge_of(config, site)
    own = site.branch.format(name=package.name, version=version)
    bot = site.bot_branch.format(name=package.name, version=version) if site.bot_branch \
        else None
    prefixes = tuple(t.format(name=package.name, version="") for t in
                     (site.branch, *([site.bot_branch] if site.bot_branch else ())))
    found = forge_api(forge, host, forges).open_requests(project, branch_prefix=prefixes)
    graded = report if report.grade is not None else _graded(config, package, report,
                                                            workdir, runner, forges)
    site_runner = _site_runner(runner, host, package)
    repo = Repository.open_or_init_bare(workdir / "site.git", site_runner)
    repo.remove_stale_locks()
    base, heads = _fetch(repo, site, site_runner, [own, *([bot] if bot else [])])
    mine = next((r for r in found if r.branch == own), None)
    bots = next((r for r in found if bot is not None and r.branch == bot), None)
    # Their bot's request is completed, unless a person already works on mirrorctl's.
    theirs = bots is not None and bot in heads and not (
        mine is not None and own in heads and _persons(repo, base, heads[own], site))
    target = _Site(forge, host, project, forges, site, bot if theirs and bot else own,
                   bots if theirs else None)
    pushed, changes, note = _push(config, package, graded, target, repo, site_runner, base,
                                  heads)
    request = bots if theirs else mine
    done = _deliver_request(target, package, graded, request, changes, note, pushed,
                            inside=repository_path(config, report.patchset), workdir=workdir)
    superseded = _supersede(target, package, version, found, done.url or "",
                            duplicate=mine if theirs else None)
    return replace(done, superseded=superseded)


def with_upgrade_request(config: Config, package: Package, report: RebaseReport, *,
                         workdir: Path, runner: GitRunner,
                         forges: ForgeSettings) -> RebaseReport:
    """The rebase report with its pull request delivered, or why not: a failure to
    deliver is the package's alone ("failed", with the reason), never the rebase's."""
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
    after they ran updates the comment and the label with what they say."""
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


def _forge_of(config: Config, site: PullRequests) -> tuple[Forge, str, str]:
    from mirrorctl.upstream.drafts import forge_of
    from mirrorctl.upstream.forge import as_forge

    kind, project = forge_of(site.repository, config.forge_apis)
    forge = as_forge(kind)
    if forge is None or project is None:
        raise UsageError(f"pull_requests.repository {site.repository}: not a GitHub or "
                         "GitLab project page")
    return forge, urlsplit(site.repository).hostname or "", project


def _fetch(repo: Repository, site: PullRequests, runner: GitRunner,
           branches: list[str]) -> tuple[str, dict[str, str]]:
    """The base's commit, and the heads of those of `branches` that exist."""
    try:
        remote = runner.ls_remote(site.remote)
        heads = {b: remote[f"refs/heads/{b}"] for b in branches if f"refs/heads/{b}" in remote}
        repo.fetch_refspecs(site.remote, [
            f"+refs/heads/{site.base}:refs/mirrorctl/base",
            *(f"+refs/heads/{b}:refs/mirrorctl/branches/{b}" for b in heads)])
    except GitError as exc:
        raise MirrorctlError(f"cannot read the repository {site.remote}: {exc.summary}") \
            from None
    base = repo.resolve("refs/mirrorctl/base^{commit}")
    if base is None:
        raise MirrorctlError(f"{site.remote} has no branch {site.base} (pull_requests.base)")
    return base, heads


def _persons(repo: Repository, base: str, head: str, site: PullRequests) -> list[str]:
    """The authors of the branch's commits that are a person's (neither mirrorctl's nor
    their bot's)."""
    since = repo.git("merge-base", base, head, check=False).stdout.strip() or base
    return [c.author for c in branch_commits(repo, since, head, bot=site.bot)
            if c.whose == "person"]


def _push(config: Config, package: Package, report: RebaseReport, target: _Site,
          repo: Repository, runner: GitRunner, base: str,
          heads: dict[str, str]) -> tuple[Pushed, SiteChanges, str]:
    """The upgrade's commits on the target branch, pushed with a lease: on top of their
    bot's commits, or (mirrorctl's own branch) on the base, made anew when the base
    moved. A branch with a person's commit is kept as it is."""
    site, branch = target.pull_requests, target.branch
    head = heads.get(branch)
    if head is not None and (persons := _persons(repo, base, head, site)):
        # A maintainer pushed to it (their hand work on the queue): never overwritten.
        return "kept", SiteChanges(files={}), (
            f"{branch} has a commit by {persons[-1]}: mirrorctl leaves the branch as it is")
    parent = head if head is not None and target.completes is not None else base
    changes = site_changes(config, package, report, site, repo, parent)
    new = commit_upgrade(repo, parent, changes, report, identity=site.identity,
                         folder=repository_path(config, report.patchset),
                         empty=head is None and target.completes is None)
    # What the request changes is said against the base, whatever part of it the bot's
    # commits or an earlier night's made.
    said = changes if parent == base else site_changes(config, package, report, site, repo,
                                                       base)
    if head is not None and (new == head or (
            repo.resolve(f"{new}^{{tree}}") == repo.resolve(f"{head}^{{tree}}")
            and repo.git("merge-base", base, head, check=False).stdout.strip() == base)):
        return "unchanged", said, ""
    [result] = repo.push(site.remote, [LeasedUpdate(ref=f"refs/heads/{branch}",
                                                    expected=head, new=new)])
    if result.status != "ok":
        raise MirrorctlError(f"pushing {branch} to {site.remote} was refused "
                             f"({result.detail}); it moved since it was read: run again")
    return "pushed", said, ""


def _deliver_request(target: _Site, package: Package, report: RebaseReport,
                     request: OpenRequest | None, changes: SiteChanges, note: str,
                     pushed: Pushed, *, inside: str, workdir: Path) -> UpgradeRequest:
    """Open mirrorctl's request (its body written once), or bring the open one up to
    date: labels, and the report in mirrorctl's one comment when it is not what the body
    says. A kept branch's request is only found, never changed."""
    from mirrorctl.upstream.forges import forge_api
    from mirrorctl.upstream.pulls import LABEL_PREFIX

    site, version = target.pull_requests, report.to_version
    bumped = ", ".join(path for path, _ in changes.bumped) or None
    said = UpgradeRequest(package=package.name, version=version, action="unchanged",
                          url=request.url if request else None, branch=target.branch,
                          bumped=bumped, detail=note)
    if pushed == "kept":
        return said
    labels = [f"{LABEL_PREFIX}{report.grade.level}"] if report.grade is not None else []
    text = _report_text(report, inside, changes)
    forge, project = forge_api(target.forge, target.host, target.settings), target.project
    if request is None:
        opened = forge.create_request(project, branch=target.branch, base=site.base,
                                      title=f"Upgrade {package.name} to v{version}",
                                      body=_first_body(report, changes, site, text),
                                      labels=labels)
        return replace(said, action="opened", url=opened.url)
    acted = pushed == "pushed"
    if not set(labels) <= set(request.labels):
        forge.set_labels(project, request, labels)
        acted = True
    written = request.body == _first_body(report, changes, site, text)
    if not written and not _said(workdir, request.url, text):
        # The body stays as written: what changed goes in the one comment.
        posted = forge.upsert_comment(project, request, marker=_MARKER, text=text,
                                      look=target.completes is None or any(
                                          label.startswith(LABEL_PREFIX)
                                          for label in request.labels))
        _said(workdir, request.url, text, remember=True)
        acted = acted or posted != "unchanged"
    return replace(said, action="updated" if acted else "unchanged",
                   detail=note or ("completed their bot's request"
                                   if target.completes is not None and acted else ""))


def _said(workdir: Path, url: str, text: str, *, remember: bool = False) -> bool:
    """Whether mirrorctl's comment on `url` was last written with `text` (its digest kept
    in <workdir>/site.git/comments.json): a night with nothing new to say reads no
    comments. `remember`: keep it so. A lost file costs one read, never a wrong comment
    left: the comment is read and compared then."""
    import hashlib
    import json

    path = workdir / "site.git" / "comments.json"
    digest = hashlib.sha256(text.encode()).hexdigest()
    try:
        known = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    if not isinstance(known, dict):
        known = {}
    if remember and known.get(url) != digest:
        atomic_write_text(path, json.dumps({**known, url: digest}, indent=1, sort_keys=True))
    return known.get(url) == digest


def _supersede(target: _Site, package: Package, version: str, found: list[OpenRequest],
               url: str, *, duplicate: OpenRequest | None) -> tuple[str, ...]:
    """Tell older requests of the package that `url` replaces them (closing them with
    `stale: close`); close mirrorctl's own request of this version when their bot's is
    the one completed."""
    from mirrorctl.upstream.forges import forge_api

    if not url:  # no request of this version (a kept branch whose request is gone)
        return ()
    site, project = target.pull_requests, target.project
    forge = forge_api(target.forge, target.host, target.settings)
    prefixes = [t.format(name=package.name, version="") for t in
                (site.branch, *([site.bot_branch] if site.bot_branch else ()))]
    superseded = []
    for older in found:
        if older.url == url:
            continue
        if older is duplicate:
            forge.comment_request(project, older, f"Completed in {url} instead, their "
                                                  f"bot's request for {package.name} "
                                                  f"{version}.")
            forge.close_request(project, older)
        elif any(_older(older.branch, prefix, version) for prefix in prefixes
                 if older.branch.startswith(prefix)):
            forge.comment_request(project, older,
                                  f"Superseded by {url} ({package.name} {version}).")
            if site.stale == "close":
                forge.close_request(project, older)
        else:
            continue
        superseded.append(older.url)
    return tuple(superseded)


def bump_version(text: str, new: str) -> str | None:
    """The workflow with every line that names its `version` input's default set to
    `new` (see `bump_workflow`); None when it has no such default or the edit cannot be
    proved."""
    old = input_default(text)
    if old is None:
        return None
    bump = bump_workflow(text, old, new)
    return None if bump.problem else bump.text


def _report_text(report: RebaseReport, folder: str, changes: SiteChanges) -> str:
    said = ["No riscv64 patch is carried: the upgrade is its version" if
            report.written == "no-patches" else
            f"The new queue is `{folder}/`" if report.status != "conflict" else
            "A patch conflicts: this draft carries no queue until a person settles it "
            f"(`mirrorctl rebase {report.package} --worktree DIR`, then `--continue`)"]
    if report.written == "nothing-to-carry":
        said.append("upstream took every patch, so the folder holds only its `series`")
        if changes.apply_removed:
            said.append("the `git apply` step that had nothing left to apply is removed "
                        "from " + _paths(changes.apply_removed))
    if changes.apply_added:
        said.append(f"patches are carried again, so {_paths(changes.apply_added)} gain "
                    "back a `git apply` step")
    if changes.apply_edited:
        said.append(f"the `git apply` lines of {_paths(changes.apply_edited)} name the new "
                    "queue's patches")
    if changes.bumped:
        said.append("the version is bumped in " + ", ".join(
            f"`{path}` ({lines} line{'s' if lines != 1 else ''})"
            for path, lines in changes.bumped))
    if changes.docs:
        said.append(f"`{changes.docs}` lists {report.to_version}")
    said.extend(changes.notes)
    footer = "; ".join(said) + ". Kept up to date by mirrorctl: a rerun updates its comment."
    if changes.left:
        old = public_version(report.from_version)
        footer += (f"\n\nLines that name {old} for a reason of their own, left as they are "
                   "for a person to check:\n" + "\n".join(
                       f"- `{path}` line {line}: {code_span(text)}"
                       for path, line, text in changes.left))
    return request_description(report, footer)


def _first_body(report: RebaseReport, changes: SiteChanges, site: PullRequests,
                text: str) -> str:
    """The body mirrorctl's request opens with: the `Trigger:` lines their pr-trigger
    dispatches the build and test workflows from, then the report."""
    version = public_version(report.to_version)
    lines = [f"Upgrade {report.package} to v{report.to_version}: " + (
        "no riscv64 patch to carry, the version bumped by mirrorctl."
        if report.written == "no-patches" else
        "its riscv64 patch queue carried by mirrorctl."), ""]
    if site.trigger:
        lines += [f"Trigger: {stem}:{version}" for stem in changes.triggers or
                  (report.package,)] + [""]
    return "\n".join(lines) + "\n" + text


def _paths(paths: tuple[str, ...]) -> str:
    return ", ".join(f"`{p}`" for p in paths)


def _older(branch: str, prefix: str, version: str) -> bool:
    try:
        return Version(branch.removeprefix(prefix)) < Version(version)
    except InvalidVersion:
        return False
