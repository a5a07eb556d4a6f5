"""The builders' repository as mirrorctl reaches it: its forge and project (from
`pull_requests.repository`), a git runner whose pushes carry the forge's token, and
mirrorctl's own bare copy (<workdir>/site.git) fetched with the base and the branches
asked about. What an upgrade or a retirement request pushes is made there, without a
checkout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from mirrorctl.core.config import Config, Package
from mirrorctl.core.errors import GitError, MirrorctlError, UsageError
from mirrorctl.core.git import FORGE_PUSH_TOKENS, GitRunner
from mirrorctl.core.repository import Repository
from mirrorctl.core.sections import PullRequests

if TYPE_CHECKING:
    from mirrorctl.upstream.forges.forge import Forge

__all__ = ["fetch_site", "site_forge", "site_runner"]


def site_runner(runner: GitRunner, host: str, package: Package) -> GitRunner:
    """The runner with the package's transports and time-out, and the forge token
    offered for pushes to the site's host."""
    tokens = [(f"https://{host}", variable, user) for match, variable, user in
              FORGE_PUSH_TOKENS if match in host]
    return runner.with_options(timeout=package.timeout,
                               allowed_protocols=package.allowed_protocols,
                               token_urls=(), push_tokens=tokens)


def site_forge(config: Config, site: PullRequests) -> tuple[Forge, str, str]:
    from mirrorctl.upstream.drafts import forge_of
    from mirrorctl.upstream.forges.forge import as_forge

    kind, project = forge_of(site.repository, config.forge_apis)
    forge = as_forge(kind)
    if forge is None or project is None:
        raise UsageError(f"pull_requests.repository {site.repository}: not a GitHub or "
                         "GitLab project page")
    return forge, urlsplit(site.repository).hostname or "", project


def fetch_site(repo: Repository, site: PullRequests, runner: GitRunner,
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
