"""Pushing a change to the builders' fork of an upstream, for a request to be opened
from it: with a lease, and the forge's token offered for the push (never printed)."""

from __future__ import annotations

from mirrorctl.core.errors import GitError, MirrorctlError, UsageError
from mirrorctl.core.git import FORGE_PUSH_TOKENS, LeasedUpdate, Repository

__all__ = ["push_branch", "push_tokens"]


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
