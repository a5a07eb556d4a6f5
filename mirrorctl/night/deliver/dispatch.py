"""The builders' build and test workflows, started where nothing else starts them: on
an upgrade request's branch when the request was opened with Actions' GITHUB_TOKEN
(which starts no workflow, so their pr-trigger never runs: `pull_requests.dispatch`),
as `gh workflow run build-<pkg>.yml --ref <branch> -f version=<v>` does.

What was dispatched is kept (<workdir>/site.git/dispatched.json: each branch's head when
its builds were started), so that a night with nothing new starts nothing, and a night
whose dispatch failed tries again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mirrorctl.core.errors import FileSystemError
from mirrorctl.core.keptfile import KeptFileError, text_mapping

if TYPE_CHECKING:
    from mirrorctl.upstream.forges.api import ForgeApi

__all__ = ["DISPATCHED_FILE", "dispatch_builds", "workflows_to_dispatch"]


# Each branch -> the head its builds were started for.
DISPATCHED_FILE = text_mapping("the builds dispatched", "dispatched")


def workflows_to_dispatch(stems: Sequence[str], present: Callable[[str], bool]) -> list[str]:
    """build-<stem>.yml for each stem, and test-<stem>.yml where the branch has one, as
    their pr-trigger dispatches them."""
    found = []
    for stem in stems:
        for kind in ("build", "test"):
            name = f"{kind}-{stem}.yml"
            if present(f".github/workflows/{name}"):
                found.append(name)
    return found


def dispatch_builds(forge: ForgeApi, project: str, *, branch: str, head: str,
                    workflows: Sequence[str], versions: Sequence[str],
                    workdir: Path) -> list[str]:
    """Start each workflow for each version on `branch`, once for its `head`: the
    dispatches made ("build-numpy.yml 2.5.2"), [] when they were made already. A forge
    that refuses one raises (nothing is kept: the next run tries them again)."""
    kept = workdir / "site.git" / "dispatched.json"
    known = _read(kept)
    if known.get(branch) == head:
        return []
    made = []
    for workflow in workflows:
        for version in versions:
            forge.dispatch_workflow(project, workflow, ref=branch, inputs={"version": version})
            made.append(f"{workflow} {version}")
    with contextlib.suppress(FileSystemError):  # not kept: dispatched again next time
        DISPATCHED_FILE.write(kept, {**known, branch: head})
    return made


def _read(path: Path) -> dict[str, str]:
    try:
        return DISPATCHED_FILE.read(path) or {}
    except KeptFileError:
        return {}  # as if none was: each is dispatched again, once
