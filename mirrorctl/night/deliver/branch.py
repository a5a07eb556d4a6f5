"""The upgrade's commits in the builders' repository, as their people make them: the
queue folder in one commit (what was carried, and for each patch left behind why, with
the evidence), the workflows in another, the docs entry in a third; each by the
configured identity, signed off, and marked with a trailer so that mirrorctl knows its
own commits again. Made without a checkout, through a scratch index.

Whose a commit is: mirrorctl's by its trailer (or, for branches it pushed before the
trailer, its old identity), their bot's by the bot's e-mail, a person's otherwise. A
branch holding a person's commit is never written to; a branch of their bot's is only
added to, never rewritten.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Literal

from mirrorctl.core.repository import Repository
from mirrorctl.queue.carry import RebaseReport
from mirrorctl.queue.engine import PatchOutcome
from mirrorctl.queue.replay import ScratchIndex

__all__ = ["TRAILER", "BranchCommit", "SiteChanges", "branch_commits", "commit_files",
           "commit_upgrade"]

TRAILER = "Mirrorctl-Upgrade"
_BEFORE_TRAILER = "mirrorctl@invalid"  # the identity of the commits mirrorctl 0.1 pushed

Whose = Literal["mirrorctl", "bot", "person"]


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
    triggers: tuple[str, ...] = ()  # the stems of its build workflows (build-<stem>.yml)
    # Comments naming the old version for a reason of their own, left as they are for a
    # person to check: (workflow, line, the line's text).
    left: tuple[tuple[str, int, str], ...] = ()
    versions: tuple[str, ...] = ()  # the versions the request builds (a Trigger: line each)
    workflow_files: tuple[str, ...] = ()  # the package's workflows in the base
    workflow_missing: bool = False  # none was found to bump (and mirrors.yaml names none)

    @property
    def workflows(self) -> list[str]:
        return sorted({p for p in self.files if p.startswith(".github/")})


@dataclass(frozen=True)
class BranchCommit:
    sha: str
    whose: Whose
    author: str  # the e-mail


def branch_commits(repo: Repository, base: str, head: str, *, bot: str) -> list[BranchCommit]:
    """The commits of `head` that `base` lacks, oldest first, each with whose it is."""
    listed = repo.git("log", "--reverse", "--format=%H%x00%ae%x00%(trailers:key="
                      f"{TRAILER},valueonly,separator=%x20)%x1e", f"{base}..{head}").stdout
    commits = []
    for record in filter(None, (r.strip("\n") for r in listed.split("\x1e"))):
        sha, email, marked = record.split("\x00")
        whose: Whose = "mirrorctl" if marked.strip() or email == _BEFORE_TRAILER else \
            "bot" if email.lower() == bot.lower() else "person"
        commits.append(BranchCommit(sha, whose, email))
    return commits


def commit_upgrade(repo: Repository, parent: str, changes: SiteChanges,
                   report: RebaseReport, *, folder: str, identity: str,
                   empty: bool = False,
                   also: Sequence[tuple[RebaseReport, str]] = ()) -> str:
    """`parent` with the upgrade's commits on top (each queue folder's, older releases'
    (`also`: each carry and its folder) first, the workflows', the docs entry's; each
    only when it changes something): the new head, `parent` itself when nothing
    changes, unless `empty` (a new request needs a commit): then one empty commit says
    what the request is for, as their bot's do."""
    name, email = parseaddr(identity)
    env = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email,
           "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email}
    trailers = f"{TRAILER}: {report.package} {report.to_version}\nSigned-off-by: {identity}\n"
    files = changes.files
    groups = [
        *(({p: o for p, o in files.items() if p.startswith(inside + "/")},
           _queue_message(carried)) for carried, inside in (*also, (report, folder))),
        ({p: files[p] for p in changes.workflows}, _workflows_message(report, changes)),
        ({p: o for p, o in files.items() if p == changes.docs}, _docs_message(report)),
    ]
    head = parent
    with ScratchIndex.create(repo) as index:
        index.read(parent)
        tree = index.write()
        for group, message in groups:
            if not group:
                continue
            index.put(dict(group))
            new_tree = index.write()
            if new_tree == tree:
                continue
            head = repo.git("commit-tree", new_tree, "-p", head, "-F", "-",
                            input=f"{message}\n\n{trailers}", env=env).stdout.strip()
            tree = new_tree
    if head == parent and empty:
        why = _queue_message(report).partition(chr(10) * 2)[2]
        if changes.workflow_missing:
            why += ("\n\nNo build workflow of the package was found to bump: this request "
                    "only triggers builds, once one exists.")
        head = repo.git("commit-tree", tree, "-p", head, "-F", "-", env=env, input=(
            f"DO NOT MERGE: {report.package}: trigger builds for {_v(report.to_version)}\n\n"
            f"{why}\n\n{trailers}")).stdout.strip()
    return head


def commit_files(repo: Repository, parent: str, files: dict[str, str | None], message: str,
                 *, identity: str, trailer: str) -> str:
    """`parent` with one commit of `files` (path -> blob id, None to remove) on top, by
    `identity`, signed off and marked with mirrorctl's trailer (`trailer` its value)."""
    name, email = parseaddr(identity)
    env = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email,
           "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email}
    with ScratchIndex.create(repo) as index:
        index.read(parent)
        index.put(dict(files))
        tree = index.write()
    return repo.git("commit-tree", tree, "-p", parent, "-F", "-", env=env, input=(
        f"{message}\n\n{TRAILER}: {trailer}\nSigned-off-by: {identity}\n")).stdout.strip()


def _queue_message(report: RebaseReport) -> str:
    """What their people write: what is carried, and what is not with the evidence."""
    package, version = report.package, _v(report.to_version)
    outcomes = report.result.outcomes
    kept = [o for o in outcomes if o.outcome in ("applied", "merged")]
    if report.status == "conflict":
        subject = f"DO NOT MERGE: patches: {package}: a patch conflicts on {version}"
    elif kept:
        subject = f"patches: {package}: carry {_count(len(kept), 'patch')} to {version}"
    else:
        subject = f"patches: {package}: nothing left to carry in {version}"
    said = [f"Carried from {report.from_version} onto {report.onto} by mirrorctl."]
    applied = [o.patch.name for o in kept if o.outcome == "applied"]
    if applied:
        said.append("Applies as it is: " + ", ".join(applied) + ".")
    said += [f"{o.patch.name}: {o.detail}." for o in kept if o.outcome == "merged"]
    said += [_left_behind(o, report.onto) for o in outcomes if o not in kept]
    return subject + "\n\n" + "\n\n".join(said)


def _left_behind(outcome: PatchOutcome, onto: str) -> str:
    name, detail = outcome.patch.name, outcome.detail
    if outcome.outcome == "upstreamed":
        evidence = f" ({onto} contains {outcome.upstream_commit})" \
            if outcome.upstream_commit else ""
        return f"We don't need {name}, since upstream has it: {detail}{evidence}."
    if outcome.outcome == "undone":
        return (f"We don't carry {name}: {detail}. Upstream's release is what we build; "
                "the builds confirm it.")
    if outcome.outcome == "dropped":
        return f"{name} is dropped by hand: {detail or 'its resolution is empty'}."
    return f"{name} is not carried: {outcome.outcome}, {detail}."


def _workflows_message(report: RebaseReport, changes: SiteChanges) -> str:
    stems = ", ".join(p.rsplit("/", 1)[-1].rsplit(".", 1)[0] for p in changes.workflows)
    said = []
    old, new = report.from_release.public, report.to_release.public
    if changes.bumped:
        every = "Every line" if not changes.left else "The lines"
        said.append(f"{every} that carried {old} now name {new} (" + ", ".join(
            f"{_count(n, 'line')} of {p.rsplit('/', 1)[-1]}" for p, n in changes.bumped)
            + ").")
    said += [f"{path.rsplit('/', 1)[-1]} line {line} names {old} in a comment: left for a "
             "person to check." for path, line, _ in changes.left]
    if changes.apply_removed:
        said.append("Nothing is left to carry, so the `git apply` step goes.")
    if changes.apply_edited:
        said.append("The `git apply` lines name the new queue's patches.")
    if changes.apply_added:
        said.append("Patches are carried again, so a `git apply` step applies them.")
    return f"workflows: {stems}: update for {_v(report.to_version)}\n\n" + " ".join(said)


def _docs_message(report: RebaseReport) -> str:
    return f"docs: update {report.package}\n\nAdd version {report.to_version}"


def _v(version: str) -> str:
    return f"v{version}"


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}es" if word.endswith("ch") else f"{n} {word}s"
