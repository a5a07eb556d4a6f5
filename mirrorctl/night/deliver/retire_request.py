"""A package's retirement as a pull request in the builders' repository, in their bot's
form: when PyPI's latest release of the package ships riscv64 wheels (or only
pure-Python ones), "<pkg>: deprecate our wheel" on `retire_branch`, one commit by
mirrorctl's identity, signed off, that marks the docs page `deprecated:`, moves the
package from packages.txt to deprecated.txt, and marks its mirrors.yaml entry `retired:
true`; its message and body give the reason with PyPI's page, and `Fixes: #N` closes
the builders' tracking issue "<pkg> riscv64 support" when one is found.

Their bot's request (`bot_retire_branch`) or mirrorctl's, once open, is found again by
its branch and left as it is: a rerun never opens a second.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from packaging.utils import canonicalize_name

from mirrorctl.core.config import Config, Package
from mirrorctl.core.errors import MirrorctlError, UsageError
from mirrorctl.core.git import GitRunner
from mirrorctl.core.repository import LeasedUpdate, Repository
from mirrorctl.grade.releases import ReleaseList
from mirrorctl.night.deliver.branch import commit_files
from mirrorctl.night.deliver.repo import fetch_site, site_forge, site_runner
from mirrorctl.night.deliver.requests import OpenRequests
from mirrorctl.night.deliver.retire_files import (
    Edit,
    add_to_list,
    deprecate_docs,
    remove_from_list,
    retire_entry,
)

if TYPE_CHECKING:
    from mirrorctl.upstream.forges.forge import ForgeSettings
    from mirrorctl.upstream.forges.tracker import Pace

__all__ = ["RetireRequest", "deliver_retirement", "retirement"]

PACKAGES_TXT = "ci_scripts/packages.txt"
DEPRECATED_TXT = "ci_scripts/deprecated.txt"


@dataclass(frozen=True, kw_only=True)
class RetireRequest:
    package: str
    action: Literal["opened", "unchanged", "failed"]
    url: str | None = None
    branch: str = ""
    reason: str = ""
    fixes: int | None = None  # the tracking issue the request closes
    detail: str = ""  # what was not done, and why


def retirement(config: Config, package: Package, releases: ReleaseList, *, workdir: Path,
               runner: GitRunner, forges: ForgeSettings, listed: OpenRequests | None,
               pace: Pace) -> RetireRequest:
    """The package's retirement request delivered, or why not (the package's alone)."""
    try:
        return deliver_retirement(config, package, releases, workdir=workdir, runner=runner,
                                  forges=forges, listed=listed, pace=pace)
    except (MirrorctlError, OSError) as exc:
        return RetireRequest(package=package.name, action="failed", detail=str(exc))


def deliver_retirement(config: Config, package: Package, releases: ReleaseList, *,
                       workdir: Path, runner: GitRunner, forges: ForgeSettings,
                       listed: OpenRequests | None, pace: Pace) -> RetireRequest:
    from mirrorctl.upstream.forges.api import forge_api

    site = config.pull_requests
    if site is None:
        raise UsageError("no pull_requests: under defaults in mirrors.yaml says where "
                         "requests are delivered")
    forge, host, project = site_forge(config, site)
    api = forge_api(forge, host, forges)
    own = site.retire_branch.format(name=package.name)
    branches = (own, *([site.bot_retire_branch.format(name=package.name)]
                       if site.bot_retire_branch else []))
    found = listed.of(api, project, branches) if listed is not None else \
        api.open_requests(project, branch_prefix=branches)
    reason = _reason(config, package, releases)
    open_one = next((r for r in found if r.branch in branches), None)
    if open_one is not None:
        return RetireRequest(package=package.name, action="unchanged", url=open_one.url,
                             branch=open_one.branch, reason=reason)
    pushing = site_runner(runner, host, package)
    repo = Repository.open_or_init_bare(workdir / "site.git", pushing)
    repo.remove_stale_locks()
    base, heads = fetch_site(repo, site, pushing, [own])
    files, notes = _retired_files(config, package, repo, base)
    issue = api.tracker(project, pace).find(f"{package.name} riscv64 support")
    fixes = f"\n\nFixes: #{issue.number}" if issue is not None else ""
    message = f"{package.name}: deprecate our wheel\n\n{reason}{fixes}"
    head = commit_files(repo, base, files, message, identity=site.identity,
                        trailer=f"{package.name} retired")
    [pushed] = repo.push(site.remote, [LeasedUpdate(ref=f"refs/heads/{own}",
                                                    expected=heads.get(own), new=head)])
    if pushed.status != "ok":
        raise MirrorctlError(f"pushing {own} to {site.remote} was refused ({pushed.detail})")
    body = (f"Automatically generated PR to deprecate {package.name}.\n\n{reason}{fixes}\n"
            + "".join(f"\n- {note}" for note in notes))
    opened = api.create_request(project, branch=own, base=site.base,
                                title=f"{package.name}: deprecate our wheel", body=body,
                                labels=[])
    if listed is not None:
        listed.opened(project, opened)
    done = RetireRequest(package=package.name, action="opened", url=opened.url, branch=own,
                         reason=reason, detail="; ".join(notes))
    return replace(done, fixes=issue.number) if issue is not None else done


def _reason(config: Config, package: Package, releases: ReleaseList) -> str:
    page = f"{config.pypi_url.rstrip('/')}/project/{package.pypi}/"
    latest = f" v{releases.pypi_latest}" if releases.pypi_latest else ""
    return f"{package.name}{latest}: {releases.retire_detail} ({page})"


def _retired_files(config: Config, package: Package, repo: Repository,
                   base: str) -> tuple[dict[str, str | None], list[str]]:
    """What the retirement changes, path -> new blob; and what it could not change."""
    entries = {path: oid for _, kind, oid, path in repo.tree_entries(base) if kind == "blob"}
    wanted = canonicalize_name(package.name)
    docs = next((p for p in sorted(entries) if p.startswith("docs/packages/") and
                 canonicalize_name(p.rsplit("/", 1)[-1].split(".")[0]) == wanted), None)
    config_file = config.path.name  # the repository's root holds mirrors.yaml
    edits: dict[str | None, Callable[[str], Edit]] = {
        docs: deprecate_docs, PACKAGES_TXT: lambda t: remove_from_list(t, package.name),
        DEPRECATED_TXT: lambda t: add_to_list(t, package.name),
        config_file: lambda t: retire_entry(t, package.name)}
    texts = repo.read_blobs(entries[p] for p in edits if p is not None and p in entries)
    files: dict[str, str | None] = {}
    notes = []
    for path, edit in edits.items():
        if path is None or path not in entries:
            notes.append(f"`{path or f'docs/packages/{package.name}.yaml'}` is not in the "
                         "repository: not changed")
            continue
        done = edit(texts.get(entries[path], b"").decode("utf-8", "surrogateescape"))
        if done.problem:
            notes.append(f"`{path}` is not changed: {done.problem}")
        elif done.changed:
            files[path] = repo.git("hash-object", "-w", "--stdin", input=done.text).stdout.strip()
    return files, notes
