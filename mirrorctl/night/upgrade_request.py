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

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from mirrorctl.core.config import Config, Package
from mirrorctl.core.errors import GitError, MirrorctlError, UsageError
from mirrorctl.core.git import FORGE_PUSH_TOKENS, GitRunner, LeasedUpdate, Repository
from mirrorctl.core.settings import PullRequests
from mirrorctl.grade.classify import grade_rebase
from mirrorctl.grade.workflows import version_files
from mirrorctl.night.mirror_request import request_description
from mirrorctl.night.site_files import (
    add_apply_step,
    add_docs_version,
    bump_workflow,
    carry_apply_steps,
    comment_from,
    input_default,
    workflows_of,
)
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
    bumped: str | None = None  # the files whose version was set (", "-joined), or None
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
    pushed, changes, note = _push_branch(config, package, graded, site, branch, workdir,
                                         _site_runner(runner, host, package))
    bumped = ", ".join(path for path, _ in changes.bumped) or None
    title = f"Upgrade {package.name} to {version}"
    body = _body(graded, _repository_path(config, report.patchset), changes, note)
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
                 branch: str, workdir: Path,
                 runner: GitRunner) -> tuple[str, SiteChanges, str]:
    """Make the branch (the base, the new queue folder, the site's files) and push it
    with a lease: ("pushed" | "unchanged" | "kept", what changed, a note).
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
    changes = _changes(config, package, report, site, repo, base)
    with ScratchIndex.create(repo) as index:
        index.read(base)
        index.put(changes.files)
        tree = index.write()
    current = remote.get(ref)
    if current is not None:
        if repo.resolve("refs/mirrorctl/branch^{tree}") == tree \
                and repo.resolve("refs/mirrorctl/branch^") == base:
            return "unchanged", changes, ""
        author = repo.git("log", "-1", "--format=%ae", "refs/mirrorctl/branch").stdout.strip()
        if author != _IDENTITY["GIT_AUTHOR_EMAIL"]:
            # A maintainer pushed to it (their hand work on the queue): never overwritten.
            return "kept", changes, (f"{branch} has a commit by {author}: mirrorctl leaves "
                                    "the branch as it is")
    message = (f"Upgrade {package.name} to {report.to_version}\n\nThe riscv64 patch queue "
               f"carried onto {report.onto} by mirrorctl ({report.status}).\n")
    commit = repo.git("commit-tree", tree, "-p", base, "-F", "-", input=message,
                      env=_IDENTITY).stdout.strip()
    [result] = repo.push(site.remote, [LeasedUpdate(ref=ref, expected=current, new=commit)])
    if result.status != "ok":
        raise MirrorctlError(f"pushing {branch} to {site.remote} was refused "
                             f"({result.detail}); it moved since it was read: run again")
    return "pushed", changes, ""


@dataclass(frozen=True)
class SiteChanges:
    """What an upgrade changes in the builders' repository besides its queue folder."""

    files: dict[str, str | None]  # path -> blob id, None to remove
    bumped: tuple[tuple[str, int], ...] = ()  # (workflow, lines changed)
    docs: str | None = None  # the docs page that gained the version
    apply_removed: tuple[str, ...] = ()  # workflows whose apply step went (nothing to carry)
    apply_edited: tuple[str, ...] = ()  # workflows whose apply lines name the new patches
    apply_added: tuple[str, ...] = ()  # workflows whose apply step came back with patches
    notes: tuple[str, ...] = ()  # what was not done, and why


def _changes(config: Config, package: Package, report: RebaseReport, site: PullRequests,
             repo: Repository, base: str) -> SiteChanges:
    """The new queue folder whole; every workflow of the package with each line that names
    the version bumped (nothing else), and its `git apply` steps following the queue
    (lines of patches gone removed, of new ones added; the steps removed when nothing is
    left to carry, added back when patches return); its docs page gaining the version."""
    folder = report.patchset
    inside = _repository_path(config, folder)
    # The folder whole: what the base holds there and the new queue lacks goes. (A
    # conflict delivered as a draft has no folder: its body says what conflicts.)
    entries = repo.tree_entries(base)
    files: dict[str, str | None] = dict.fromkeys(
        path for _, _, _, path in entries if path.startswith(inside + "/") and folder.is_dir())
    for item in sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else ():
        files[f"{inside}/{item.name}"] = _blob(repo, item.read_text(
            encoding="utf-8", errors="surrogateescape"))
    texts = _texts(repo, {path: oid for _, kind, oid, path in entries if kind == "blob"
                          and (path.startswith(".github/workflows/") or
                               path.startswith("docs/packages/"))})
    old, new = _public(report.from_version), _public(report.to_version)
    wanted = version_files(config, package)
    workflows = {p: t for p, t in texts.items() if p.startswith(".github/workflows/")}
    chosen = [] if wanted is None else list(wanted) or workflows_of(package.name, workflows,
                                                                    old=old)
    notes = [f"{path} is not in {site.base}: its version is not bumped"
             for path in chosen if path not in workflows]
    bumped: list[tuple[str, int]] = []
    removed: list[str] = []
    applies: list[str] = []  # workflows whose apply lines follow the queue's new names
    added: list[str] = []  # workflows that gained an apply step back (patches returned)
    unapplied: list[str] = []  # why the others could not
    kept = [o.patch.name for o in report.result.outcomes if o.outcome in ("applied", "merged")]
    name = _folder_name(inside)
    # Patches came back to a package whose workflows lost their apply step.
    lost = bool(kept) and bool(chosen) and not any(
        f"/{name}/" in workflows[p] and "git apply" in workflows[p] for p in chosen
        if p in workflows)
    for path in (p for p in chosen if p in workflows):
        text = workflows[path]
        bump = bump_workflow(text, old, new)
        held = input_default(text)
        if not bump.lines and held not in (None, old, new):
            # The workflow held another version than the queue's (a bump that was never
            # merged, a hand edit): its input's value is the one a person would replace.
            bump = bump_workflow(text, held or old, new)
        if bump.problem:
            notes.append(f"`{path}`: not bumped, {bump.problem}")
        elif bump.lines:
            text = bump.text
            bumped.append((path, len(bump.lines)))
        if lost:
            back = add_apply_step(text, name, patchsets=inside.rsplit("/", 2)[0],
                                  local=report.to_version.removeprefix(new))
            if back.changed:
                text = back.text
                added.append(path)
            elif back.problem:
                unapplied.append(f"`{path}`: {back.problem}")
        elif report.status != "conflict":  # a draft of a conflict carries no queue
            step = carry_apply_steps(text, name, kept)
            if step.problem:
                notes.append(f"`{path}`: its apply steps are left as they were, "
                             f"{step.problem}")
            elif step.changed:
                text = step.text
                (removed if step.removed else applies).append(path)
        if text != workflows[path]:
            files[path] = _blob(repo, text)
    if wanted is None:
        notes.append("version_file is null: no workflow is bumped")
    if lost and not added:  # (a test workflow that checks out no source needs none)
        notes.append(f"no workflow of {package.name} applies `{inside.rsplit('/', 1)[0]}/`: "
                     "the build would not carry the queue until a `git apply` step returns ("
                     + "; ".join(unapplied) + ")")
    docs = _docs(package, report, texts, inside, files, repo, notes)
    return SiteChanges(files=files, bumped=tuple(bumped), docs=docs,
                       apply_removed=tuple(removed), apply_edited=tuple(applies),
                       apply_added=tuple(added),
                       notes=tuple(notes))


def _docs(package: Package, report: RebaseReport, texts: dict[str, str], inside: str,
          files: dict[str, str | None], repo: Repository, notes: list[str]) -> str | None:
    """The docs page of the package gaining the new version, patched and commented as the
    builders write it (the last entry's comment kept when the queue carried whole)."""
    wanted = canonicalize_name(package.name)
    page = next((p for p in sorted(texts) if p.startswith("docs/packages/")
                 and canonicalize_name(p.rsplit("/", 1)[-1].split(".")[0]) == wanted), None)
    if page is None or report.status == "conflict":
        return None
    kept = [o for o in report.result.outcomes if o.outcome in ("applied", "merged")]
    whole = len(kept) == len(report.result.outcomes)
    comment = _last_comment(texts[page]) if whole else None
    if comment is None:
        comment = comment_from([o.patch.subject for o in kept], package.name)
    entry = add_docs_version(texts[page], report.to_version, patched=bool(kept),
                             comment=comment if kept else None)
    if entry.problem:
        notes.append(f"`{page}`: the version is not added, {entry.problem}")
        return None
    if entry.added:
        files[page] = _blob(repo, entry.text)
        return page
    return None


def _last_comment(text: str) -> str | None:
    import yaml

    try:
        versions = (yaml.safe_load(text) or {}).get("versions") or []
    except (yaml.YAMLError, AttributeError):
        return None
    last = versions[-1] if versions and isinstance(versions[-1], dict) else {}
    comment = last.get("comment")
    return str(comment) if comment and "patched" in last else None


def _texts(repo: Repository, blobs: dict[str, str]) -> dict[str, str]:
    read = repo.read_blobs(blobs.values())
    return {path: read.get(oid, b"").decode("utf-8", "surrogateescape")
            for path, oid in blobs.items()}


def _blob(repo: Repository, text: str) -> str:
    return repo.git("hash-object", "-w", "--stdin", input=text).stdout.strip()


def _folder_name(inside: str) -> str:
    """patches/<wheel>/<version> -> <wheel>, the name their apply steps spell."""
    return inside.rstrip("/").split("/")[-2]


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


def bump_version(text: str, new: str) -> str | None:
    """The workflow with every line that names its `version` input's default set to
    `new` (see `bump_workflow`); None when it has no such default or the edit cannot be
    proved."""
    old = input_default(text)
    if old is None:
        return None
    bump = bump_workflow(text, old, new)
    return None if bump.problem else bump.text


def _body(report: RebaseReport, folder: str, changes: SiteChanges, note: str) -> str:
    said = [f"The new queue is `{folder}/`" if report.status != "conflict" else
            "A patch conflicts: this draft carries no queue until a person settles it "
            f"(`mirrorctl rebase {report.package} --worktree DIR`, then `--continue`)"]
    if report.written == "nothing-to-carry":
        said.append("upstream took every patch, so the folder holds only its `series`")
        if changes.apply_removed:
            said.append("the `git apply` step that had nothing left to apply is removed "
                        "from " + ", ".join(f"`{p}`" for p in changes.apply_removed))
    if changes.apply_added:
        said.append("patches are carried again, so " + ", ".join(
            f"`{p}`" for p in changes.apply_added) + " gain back a `git apply` step")
    if changes.apply_edited:
        said.append("the `git apply` lines of " + ", ".join(
            f"`{p}`" for p in changes.apply_edited) + " name the new queue's patches")
    if changes.bumped:
        said.append("the version is bumped in " + ", ".join(
            f"`{path}` ({lines} line{'s' if lines != 1 else ''})"
            for path, lines in changes.bumped))
    if changes.docs:
        said.append(f"`{changes.docs}` lists {report.to_version}")
    said.extend(changes.notes)
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
