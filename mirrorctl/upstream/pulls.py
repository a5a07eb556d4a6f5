"""A pull request (GitHub) or merge request (GitLab) of one repository, found by its
branch, as the forges (upstream/forges.py) list, open, update, label, comment on and
close them.

The upgrade pull request of the builders' repository is made of these; which request
is whose is decided by the branch name alone, so a rerun finds its request again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["LABEL_PREFIX", "OpenRequest", "Posted"]

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
