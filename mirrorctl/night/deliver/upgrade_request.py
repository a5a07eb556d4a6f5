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

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from mirrorctl.core.config import Config, Package
from mirrorctl.core.errors import MirrorctlError, UsageError
from mirrorctl.core.git import GitRunner
from mirrorctl.core.keptfile import KeptFileError, text_mapping
from mirrorctl.core.markdown import code_span
from mirrorctl.core.repository import LeasedUpdate, Repository
from mirrorctl.core.sections import PullRequests
from mirrorctl.grade.classify import grade_rebase
from mirrorctl.night.deliver.branch import SiteChanges, branch_commits, commit_upgrade
from mirrorctl.night.deliver.changes import repository_path, site_changes
from mirrorctl.night.deliver.files import bump_workflow, input_default
from mirrorctl.night.deliver.mirror_request import request_description
from mirrorctl.night.deliver.repo import fetch_site, site_forge, site_runner
from mirrorctl.night.deliver.requests import OpenRequests
from mirrorctl.night.deliver.supersede import branch_prefixes, older_requests, supersede
from mirrorctl.queue.carry import RebaseReport

if TYPE_CHECKING:  # requests and python-gitlab load only when a request is delivered
    from mirrorctl.upstream.forges.api import ForgeApi
    from mirrorctl.upstream.forges.forge import Forge, ForgeSettings
    from mirrorctl.upstream.forges.pulls import OpenRequest

__all__ = ["COMMENTS_FILE", "UpgradeRequest", "bump_version", "deliver_upgrade",
           "with_upgrade_request"]

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
    # Older requests a person pushed to: left open, for a person to decide.
    kept: tuple[str, ...] = ()
    triggered: tuple[str, ...] = ()  # the versions the request builds
    dispatched: tuple[str, ...] = ()  # the builds started on its branch ("build-x.yml 1.2")


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
    listed: OpenRequests | None = None  # the run's list of open requests


@dataclass(frozen=True)
class _Pushed:
    how: Pushed
    head: str | None  # the branch's head after the push (None: kept as a person left it)
    changes: SiteChanges
    note: str = ""


def deliver_upgrade(config: Config, package: Package, report: RebaseReport, *,
                    workdir: Path, runner: GitRunner, forges: ForgeSettings,
                    also: Sequence[RebaseReport] = (),
                    listed: OpenRequests | None = None) -> UpgradeRequest:
    """Push the upgrade's commits and open, complete or update its one request (which
    builds the older releases `also` carried too), then start its builds where asked and
    supersede the package's older requests. `listed`: the run's open requests."""
    from mirrorctl.upstream.forges.api import forge_api

    site = config.pull_requests
    if site is None:
        raise UsageError("no pull_requests: under defaults in mirrors.yaml says where "
                         "upgrades are delivered")
    version = report.to_version
    if report.status == "conflict" and site.on_conflict == "skip":
        return UpgradeRequest(package=package.name, version=version, action="skipped",
                              detail="a patch conflicts: no pull request until a person "
                                     "settles it (rebase --worktree, then --continue)")
    forge, host, project = site_forge(config, site)
    api = forge_api(forge, host, forges)
    own = site.branch.format(name=package.name, version=version)
    bot = site.bot_branch.format(name=package.name, version=version) if site.bot_branch \
        else None
    prefixes = branch_prefixes(site, package.name)
    found = listed.of(api, project, prefixes) if listed is not None else \
        api.open_requests(project, branch_prefix=prefixes)
    older = older_requests(site, package.name, version, found)
    graded = report if report.grade is not None else _graded(config, package, report,
                                                            workdir, runner, forges)
    pushing = site_runner(runner, host, package)
    repo = Repository.open_or_init_bare(workdir / "site.git", pushing)
    repo.remove_stale_locks()
    base, heads = fetch_site(repo, site, pushing,
                         [own, *([bot] if bot else []), *(r.branch for r in older)])
    mine = next((r for r in found if r.branch == own), None)
    bots = next((r for r in found if bot is not None and r.branch == bot), None)
    # Their bot's request is completed, unless a person already works on mirrorctl's.
    theirs = bots is not None and bot in heads and not (
        mine is not None and own in heads and _persons(repo, base, heads[own], site))
    target = _Site(forge, host, project, forges, site, bot if theirs and bot else own,
                   bots if theirs else None, listed)
    carried = [r for r in also if r.status == "clean"]
    pushed = _push(config, package, graded, target, repo, pushing, base, heads, carried)
    request = bots if theirs else mine
    done = _deliver_request(target, package, graded, request, pushed, older=older,
                            inside=repository_path(config, report.patchset), workdir=workdir,
                            skipped=[r for r in also if r.status != "clean"])
    dispatched = _dispatch(target, api, pushed, done, repo, workdir)
    told = supersede(api, project, site, package=package.name, version=version,
                     url=done.url or "", older=older, duplicate=mine if theirs else None,
                     persons=lambda r: _persons(repo, base, heads[r.branch], site)
                     if r.branch in heads else [],
                     closed=lambda r: listed.closed(project, r) if listed else None)
    return replace(done, superseded=told.done, kept=told.kept,
                   triggered=pushed.changes.versions, dispatched=tuple(dispatched))


def with_upgrade_request(config: Config, package: Package, report: RebaseReport, *,
                         workdir: Path, runner: GitRunner, forges: ForgeSettings,
                         also: Sequence[RebaseReport] = (),
                         listed: OpenRequests | None = None) -> RebaseReport:
    """The rebase report with its pull request delivered, or why not: a failure to
    deliver is the package's alone ("failed", with the reason), never the rebase's."""
    if report.written == "not-written" and report.status != "conflict":
        return replace(report, pull_request_action="skipped",
                       pull_request_detail="no new queue was written")
    try:
        done = deliver_upgrade(config, package, report, workdir=workdir, runner=runner,
                               forges=forges, also=also, listed=listed)
    except (MirrorctlError, OSError) as exc:
        return replace(report, pull_request_action="failed", pull_request_detail=str(exc))
    said = [*([done.detail] if done.detail else []),
            *(f"superseded {url}" for url in done.superseded),
            *(f"dispatched {what}" for what in done.dispatched)]
    return replace(report, pull_request=done.url, pull_request_action=done.action,
                   pull_request_detail="; ".join(said), pull_request_kept=done.kept,
                   triggered=done.triggered)


def _graded(config: Config, package: Package, report: RebaseReport, workdir: Path,
            runner: GitRunner, forges: ForgeSettings) -> RebaseReport:
    """The report with its grade, the builds of the request's branch included: a rerun
    after they ran updates the comment and the label with what they say."""
    from mirrorctl.night.deliver.build_results import upgrade_build_reasons

    builds = upgrade_build_reasons(config, forges, workdir)
    return replace(report, grade=grade_rebase(config, package, report, workdir=workdir,
                                              runner=runner, builds=builds))


def _persons(repo: Repository, base: str, head: str, site: PullRequests) -> list[str]:
    """The authors of the branch's commits that are a person's (neither mirrorctl's nor
    their bot's)."""
    since = repo.git("merge-base", base, head, check=False).stdout.strip() or base
    return [c.author for c in branch_commits(repo, since, head, bot=site.bot)
            if c.whose == "person"]


def _push(config: Config, package: Package, report: RebaseReport, target: _Site,
          repo: Repository, runner: GitRunner, base: str, heads: dict[str, str],
          also: Sequence[RebaseReport]) -> _Pushed:
    """The upgrade's commits on the target branch, pushed with a lease: on top of their
    bot's commits, or (mirrorctl's own branch) on the base, made anew when the base
    moved. A branch with a person's commit is kept as it is."""
    site, branch = target.pull_requests, target.branch
    head = heads.get(branch)
    if head is not None and (persons := _persons(repo, base, head, site)):
        # A maintainer pushed to it (their hand work on the queue): never overwritten.
        return _Pushed("kept", None, SiteChanges(files={}), (
            f"{branch} has a commit by {persons[-1]}: mirrorctl leaves the branch as it is"))
    parent = head if head is not None and target.completes is not None else base
    changes = site_changes(config, package, report, site, repo, parent, also)
    folders = [(r, repository_path(config, r.patchset)) for r in also]
    new = commit_upgrade(repo, parent, changes, report, identity=site.identity,
                         folder=repository_path(config, report.patchset),
                         empty=head is None and target.completes is None, also=folders)
    # What the request changes is said against the base, whatever part of it the bot's
    # commits or an earlier night's made.
    said = changes if parent == base else site_changes(config, package, report, site, repo,
                                                       base, also)
    if head is not None and (new == head or (
            repo.resolve(f"{new}^{{tree}}") == repo.resolve(f"{head}^{{tree}}")
            and repo.git("merge-base", base, head, check=False).stdout.strip() == base)):
        return _Pushed("unchanged", head, said)
    [result] = repo.push(site.remote, [LeasedUpdate(ref=f"refs/heads/{branch}",
                                                    expected=head, new=new)])
    if result.status != "ok":
        raise MirrorctlError(f"pushing {branch} to {site.remote} was refused "
                             f"({result.detail}); it moved since it was read: run again")
    return _Pushed("pushed", new, said)


def _deliver_request(target: _Site, package: Package, report: RebaseReport,
                     request: OpenRequest | None, pushed: _Pushed, *,
                     older: Sequence[OpenRequest], inside: str, workdir: Path,
                     skipped: Sequence[RebaseReport]) -> UpgradeRequest:
    """Open mirrorctl's request (its body written once), or bring the open one up to
    date: labels, and the report in mirrorctl's one comment when it is not what the body
    says. A kept branch's request is only found, never changed."""
    from mirrorctl.upstream.forges.api import forge_api
    from mirrorctl.upstream.forges.pulls import LABEL_PREFIX

    site, version, changes = target.pull_requests, report.to_version, pushed.changes
    bumped = ", ".join(path for path, _ in changes.bumped) or None
    said = UpgradeRequest(package=package.name, version=version, action="unchanged",
                          url=request.url if request else None, branch=target.branch,
                          bumped=bumped, detail=pushed.note)
    if pushed.how == "kept":
        return said
    labels = [f"{LABEL_PREFIX}{report.grade.level}"] if report.grade is not None else []
    text = _report_text(report, inside, changes, skipped)
    forge, project = forge_api(target.forge, target.host, target.settings), target.project
    first = _first_body(report, changes, site, text, supersedes=[r.url for r in older])
    if request is None:
        opened = forge.create_request(project, branch=target.branch, base=site.base,
                                      title=f"Upgrade {package.name} to v{version}",
                                      body=first, labels=labels)
        if target.listed is not None:
            target.listed.opened(project, opened)
        return replace(said, action="opened", url=opened.url)
    acted = pushed.how == "pushed"
    if not set(labels) <= set(request.labels):
        forge.set_labels(project, request, labels)
        acted = True
    if request.body != first and not _said(workdir, request.url, text):
        # The body stays as written: what changed goes in the one comment.
        posted = forge.upsert_comment(project, request, marker=_MARKER, text=text,
                                      look=target.completes is None or any(
                                          label.startswith(LABEL_PREFIX)
                                          for label in request.labels))
        _said(workdir, request.url, text, remember=True)
        acted = acted or posted != "unchanged"
    return replace(said, action="updated" if acted else "unchanged",
                   detail=pushed.note or ("completed their bot's request"
                                          if target.completes is not None and acted else ""))


def _dispatch(target: _Site, api: ForgeApi, pushed: _Pushed, done: UpgradeRequest,
              repo: Repository, workdir: Path) -> list[str]:
    """With `dispatch: true`, the request's builds started on its branch (once a head)."""
    from mirrorctl.night.deliver.dispatch import dispatch_builds, workflows_to_dispatch

    if not target.pull_requests.dispatch or pushed.head is None or done.url is None:
        return []
    tree = {path for _, _, _, path in repo.tree_entries(pushed.head)}
    workflows = workflows_to_dispatch(pushed.changes.triggers, tree.__contains__)
    return dispatch_builds(api, target.project, branch=target.branch, head=pushed.head,
                           workflows=workflows, versions=pushed.changes.versions,
                           workdir=workdir)


def _said(workdir: Path, url: str, text: str, *, remember: bool = False) -> bool:
    """Whether mirrorctl's comment on `url` was last written with `text` (its digest kept
    in <workdir>/site.git/comments.json): a night with nothing new to say reads no
    comments. `remember`: keep it so. A lost file costs one read, never a wrong comment
    left: the comment is read and compared then."""
    import hashlib

    path = workdir / "site.git" / "comments.json"
    digest = hashlib.sha256(text.encode()).hexdigest()
    try:
        known = COMMENTS_FILE.read(path) or {}
    except KeptFileError:
        known = {}  # as if lost: the comment is read and compared
    if remember and known.get(url) != digest:
        COMMENTS_FILE.write(path, {**known, url: digest})
    return known.get(url) == digest


# Each request's URL -> the digest of mirrorctl's comment on it as last written.
COMMENTS_FILE = text_mapping("mirrorctl's comments on requests", "comments")


def bump_version(text: str, new: str) -> str | None:
    """The workflow with every line that names its `version` input's default set to
    `new` (see `bump_workflow`); None when it has no such default or the edit cannot be
    proved."""
    old = input_default(text)
    if old is None:
        return None
    bump = bump_workflow(text, old, new)
    return None if bump.problem else bump.text


def _report_text(report: RebaseReport, folder: str, changes: SiteChanges,
                 skipped: Sequence[RebaseReport] = ()) -> str:
    said = ["No riscv64 patch is carried: the upgrade is its version" if
            report.written == "no-patches" else
            f"The new queue is `{folder}/`" if report.status != "conflict" else
            "A patch conflicts: this draft carries no queue until a person settles it "
            f"(`mirrorctl rebase {report.package} --worktree DIR`, then `--continue`)"]
    if len(changes.versions) > 1:
        said.append("it builds " + ", ".join(f"v{v}" for v in changes.versions)
                    + " (a `Trigger:` line each)")
    said += [f"v{r.to_version} is not built here: a patch conflicts on it ("
             f"`mirrorctl rebase {report.package} --onto {r.onto} --worktree DIR`)"
             for r in skipped]
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
        old = report.from_release.public
        footer += (f"\n\nLines that name {old} for a reason of their own, left as they are "
                   "for a person to check:\n" + "\n".join(
                       f"- `{path}` line {line}: {code_span(text)}"
                       for path, line, text in changes.left))
    return request_description(report, footer)


def _first_body(report: RebaseReport, changes: SiteChanges, site: PullRequests,
                text: str, *, supersedes: Sequence[str] = ()) -> str:
    """The body mirrorctl's request opens with: the `Trigger:` lines their pr-trigger
    dispatches the build and test workflows from (one a version it builds), the older
    requests it supersedes, then the report. A package with no build workflow gets
    their bot's words: what is missing, and how to fire the triggers once it exists."""
    versions = changes.versions or (report.to_release.public,)
    lines = [f"Upgrade {report.package} to v{report.to_version}: " + (
        "no riscv64 patch to carry, the version bumped by mirrorctl."
        if report.written == "no-patches" else
        "its riscv64 patch queue carried by mirrorctl."), ""]
    if changes.workflow_missing:
        lines += [f"No build workflow found at `.github/workflows/build-{report.package}"
                  f".yml`. Please create one (and optionally a matching "
                  f"`test-{report.package}.yml`) before merging. Once the workflow exists, "
                  "edit this body to re-fire the `Trigger:` directives.", ""]
    if site.trigger:
        lines += [f"Trigger: {stem}:{version}" for stem in changes.triggers or
                  (report.package,) for version in versions] + [""]
    if supersedes:
        lines += ["Supersedes " + ", ".join(supersedes) + " (older releases of "
                  f"{report.package}): closed in favour of this one, unless a person "
                  "pushed to it.", ""]
    return "\n".join(lines) + "\n" + text


def _paths(paths: tuple[str, ...]) -> str:
    return ", ".join(f"`{p}`" for p in paths)
