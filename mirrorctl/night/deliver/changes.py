"""What an upgrade changes in the builders' repository, read from the tree it goes on:
the new queue folder whole (what the tree holds there and the queue lacks goes), every
workflow of the package with each line that names the version bumped and its
`git apply` steps following the queue, and its docs page gaining the version. Each
edit is site_files' (exact, proved); what cannot be done is a note for the body.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from packaging.utils import canonicalize_name

from mirrorctl.core.config import Config, Package
from mirrorctl.core.errors import UsageError
from mirrorctl.core.repository import Repository
from mirrorctl.core.sections import PullRequests
from mirrorctl.grade.workflows import version_files
from mirrorctl.night.deliver.apply_steps import add_apply_step, carry_apply_steps
from mirrorctl.night.deliver.branch import SiteChanges
from mirrorctl.night.deliver.files import (
    add_docs_version,
    bump_workflow,
    comment_from,
    input_default,
    workflows_of,
)
from mirrorctl.queue.carry import RebaseReport

__all__ = ["repository_path", "site_changes"]


def site_changes(config: Config, package: Package, report: RebaseReport, site: PullRequests,
                 repo: Repository, base: str,
                 also: Sequence[RebaseReport] = ()) -> SiteChanges:
    """The new queue folder whole (and those of the older releases the request builds
    too, `also`); every workflow of the package with each line that names the version
    bumped (nothing else), and its `git apply` steps following the queue (lines of
    patches gone removed, of new ones added; the steps removed when nothing is left to
    carry, added back when patches return); its docs page gaining the version."""
    folder = report.patchset
    inside = repository_path(config, folder)
    entries = repo.tree_entries(base)
    files: dict[str, str | None] = {}
    for carried in (*also, report):
        files.update(_folder(repo, entries, carried.patchset,
                             repository_path(config, carried.patchset)))
    texts = _texts(repo, {path: oid for _, kind, oid, path in entries if kind == "blob"
                          and (path.startswith((".github/workflows/", "docs/packages/"))
                               or path.rsplit("/", 1)[-1] in _ACTION_FILES)})
    old, new = report.from_release.public, report.to_release.public
    wanted = version_files(config, package)
    workflows = {p: t for p, t in texts.items() if p.startswith(".github/workflows/")}
    chosen = [] if wanted is None else list(wanted) or workflows_of(package.name, workflows,
                                                                    old=old)
    notes = [f"{path} is not in {site.base}: its version is not bumped"
             for path in chosen if path not in workflows]
    bumped: list[tuple[str, int]] = []
    left: list[tuple[str, int, str]] = []
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
        if bump.problem and held != new:  # (held == new: bumped already, by the bot)
            notes.append(f"`{path}`: not bumped, {bump.problem}")
        elif bump.lines:
            text = bump.text
            bumped.append((path, len(bump.lines)))
            left += [(path, line, said) for line, said in bump.left]
        if lost:
            back = add_apply_step(text, name, patchsets=inside.rsplit("/", 2)[0],
                                  local=report.to_release.suffix)
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
    docs = None
    present = [texts[p] for p in chosen if p in texts]
    # No build workflow: the request only triggers builds (DO NOT MERGE), as their bot's.
    if present and not _docs_published(site, present, texts):
        docs = _docs(package, report, texts, inside, files, repo, notes)
    versions = [r.to_release.public for r in (*also, report)]
    return SiteChanges(files=files, bumped=tuple(bumped), docs=docs,
                       apply_removed=tuple(removed), apply_edited=tuple(applies),
                       apply_added=tuple(added), triggers=tuple(_build_stems(chosen)),
                       notes=tuple(notes), left=tuple(left),
                       versions=tuple(dict.fromkeys(versions)),
                       workflow_files=tuple(p for p in chosen if p in workflows),
                       workflow_missing=wanted is not None
                       and not [p for p in chosen if p in workflows])


def _folder(repo: Repository, entries: list[tuple[str, str, str, str]], folder: Path,
            inside: str) -> dict[str, str | None]:
    """A queue folder whole: what the base holds there and the new queue lacks goes. (A
    conflict delivered as a draft, or an empty queue, has no folder: nothing changes.)"""
    if not folder.is_dir():
        return {}
    files: dict[str, str | None] = dict.fromkeys(
        path for _, _, _, path in entries if path.startswith(inside + "/"))
    for item in sorted(p for p in folder.iterdir() if p.is_file()):
        files[f"{inside}/{item.name}"] = _blob(repo, item.read_text(
            encoding="utf-8", errors="surrogateescape"))
    return files


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


_ACTION_FILES = ("action.yml", "action.yaml")
_USES = re.compile(r"^\s*(?:-\s+)?uses:\s*['\"]?(?P<uses>[^'\"\s#]+)", re.MULTILINE)


def _docs_published(site: PullRequests, workflows: list[str], texts: dict[str, str]) -> bool:
    """Whether the docs entry is the publish step's: `docs: publish`, or (auto) the build
    workflow uses an action of the repository that writes docs/packages/ when the wheels
    are published (their publish-wheels runs update_doc.py)."""
    if site.docs != "auto":
        return site.docs == "publish"
    project = urlsplit(site.repository).path.strip("/").lower()
    for text in workflows:
        for uses in _USES.findall(text):
            path = uses.split("@", 1)[0]
            if path.startswith("./"):
                path = path[2:]
            elif path.lower().startswith(project + "/"):
                path = path[len(project) + 1:]
            else:
                continue
            action = next((texts[f"{path}/{name}"] for name in _ACTION_FILES
                           if f"{path}/{name}" in texts), texts.get(path, ""))
            if "update_doc" in action or "docs/packages" in action:
                return True
    return False


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


def repository_path(config: Config, folder: Path) -> str:
    """The queue folder's path inside the repository, whose root holds mirrors.yaml."""
    try:
        return folder.resolve().relative_to(config.path.resolve().parent).as_posix()
    except ValueError:
        raise UsageError(f"{folder} is not under the folder of {config.path}: pull requests "
                         "need the queues inside the repository that holds mirrors.yaml") \
            from None


def _build_stems(workflows: list[str]) -> list[str]:
    """The names their pr-trigger dispatches: build-<stem>.yml's stems."""
    names = (path.rsplit("/", 1)[-1] for path in workflows)
    return sorted({name.removeprefix("build-").rsplit(".", 1)[0] for name in names
                   if name.startswith("build-") and name.endswith((".yml", ".yaml"))})
