"""Pushing a change to the builders' fork of an upstream, for a request to be opened
from it: with a lease, and the forge's token offered for the push (never printed)."""

from __future__ import annotations

from pathlib import Path

from mirrorctl.core.config import Config, Fork, Package
from mirrorctl.core.errors import GitError, MirrorctlError, UsageError
from mirrorctl.core.git import FORGE_PUSH_TOKENS, GitRunner
from mirrorctl.core.repository import LeasedUpdate, Repository
from mirrorctl.sync.cache import open_cache, package_runner

__all__ = ["fork_and_target", "push_branch", "push_tokens"]


def fork_and_target(config: Config, package: Package, host: str, target: str, *,
                    runner: GitRunner, workdir: Path) -> tuple[Fork, Repository, str]:
    """The builders' fork on `host`, the package's cache (its pushes offered the forge's
    token), and the commit upstream's `target` branch is at there. UsageError when no
    fork is configured or the cache does not hold the branch."""
    fork = config.forks.get(host)
    if fork is None:
        raise UsageError(f"no fork on {host}: set `forks: {{{host}: {{namespace: ...}}}}` under "
                         "defaults in mirrors.yaml")
    runner = package_runner(runner, package).with_options(
        timeout=package.timeout, allowed_protocols=package.allowed_protocols,
        token_urls=(), push_tokens=push_tokens(host))
    cache = open_cache(workdir, package, runner)
    onto = cache.resolve(f"refs/heads/{target}")
    if onto is None:
        raise UsageError(f"{target} is not a mirrored branch of {package.name}; run "
                         f"`mirrorctl sync {package.name}` or fix target_branch in the draft")
    return fork, cache, onto


def push_tokens(host: str) -> tuple[tuple[str, str, str], ...]:
    return tuple((f"https://{host}", variable, user) for match, variable, user in
                 FORGE_PUSH_TOKENS if match in host)


def push_branch(cache: Repository, url: str, namespace: str, branch: str, commit: str, *,
                 force: bool) -> None:
    ref = f"refs/heads/{branch}"
    try:
        current = cache.runner.ls_remote(url).get(ref)
    except GitError as exc:
        raise MirrorctlError(f"cannot read the fork {url}: {exc.summary}; create {namespace}'s "
                             "fork of the upstream first") from None
    if current == commit:
        return
    if current is not None and not force:
        raise UsageError(f"the fork already has {branch} at {current[:12]}; pass --force to "
                         "replace it (with a lease)")
    [pushed] = cache.push(url, [LeasedUpdate(ref=ref, expected=current, new=commit)])
    if pushed.status != "ok":
        raise MirrorctlError(f"pushing {branch} to the fork was rejected: {pushed.detail}")
