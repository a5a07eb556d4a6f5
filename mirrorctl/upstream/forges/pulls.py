"""A pull request (GitHub) or merge request (GitLab) of one repository, found by its
branch, as the forges (upstream/forges/api.py) list, open, update, label, comment on and
close them.

The upgrade pull request of the builders' repository is made of these; which request
is whose is decided by the branch name alone, so a rerun finds its request again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["LABEL_PREFIX", "OpenRequest", "Posted", "WorkflowRun"]

Posted = Literal["posted", "edited", "unchanged"]

# Labels mirrorctl owns on a request (the grade); a person's other labels stay.
LABEL_PREFIX = "mirrorctl: "


@dataclass(frozen=True, kw_only=True)
class OpenRequest:
    number: int  # GitHub's number, GitLab's iid
    url: str
    branch: str
    title: str
    body: str
    labels: tuple[str, ...]
    draft: bool = True


@dataclass(frozen=True, kw_only=True)
class WorkflowRun:
    """One run of a workflow of the builders' repository (GitHub Actions)."""

    id: int
    url: str
    status: str  # queued, in_progress, completed, ...
    conclusion: str | None  # success, failure, cancelled, ... once completed
    created_at: str  # as GitHub writes it: 2026-12-01T02:00:00Z
    branch: str
    event: str  # workflow_dispatch, pull_request, ...
