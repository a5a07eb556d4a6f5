"""`mirrorctl upstream submit DRAFT`: a draft a maintainer has read, sent upstream.

Before opening anything, the upstream's open issues and requests that mention riscv64
are searched, and a likely duplicate stops the submission (--force goes on): duplicates
were the commonest way such requests went wrong. After opening, the patch's header
becomes `Issue [url]`, in a copy of the queue swapped in whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from mirrorctl.config import Config
from mirrorctl.drafts import CANDIDATE_STATUSES, likely_duplicates
from mirrorctl.errors import UsageError
from mirrorctl.forge import ForgeSettings, Found, open_issue, search_open
from mirrorctl.patches import read_queue
from mirrorctl.queues import rewrite_statuses

__all__ = ["Submission", "read_draft", "submit_draft"]

_REQUIRED = ("package", "forge", "host", "project", "kind", "title", "patches")


@dataclass(frozen=True, kw_only=True)
class Submission:
    draft: Path
    kind: str
    title: str
    status: Literal["submitted", "refused-duplicate"]
    url: str | None = None
    duplicates: tuple[Found, ...] = ()
    header: str | None = None


def read_draft(path: Path) -> tuple[dict[str, Any], str]:
    """The front matter and body of an issue draft `mirrorctl upstream draft` wrote."""
    try:
        text = path.read_text(encoding="utf-8")
        _, front_text, body = text.split("---\n", 2)
        front = yaml.safe_load(front_text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise UsageError(f"{path}: not a mirrorctl draft ({exc})") from None
    if not isinstance(front, dict) or "kind" not in front:
        raise UsageError(f"{path}: not a mirrorctl draft (no front matter with a kind)")
    if front["kind"] != "issue":
        raise UsageError(f"{path}: submitting merge requests is not built yet; push the patch "
                         "to a branch of your fork, open the request from this draft by hand, "
                         "then set the patch's `Upstream-Status: Submitted [url]`")
    missing = [k for k in _REQUIRED if not front.get(k)]
    if missing:
        raise UsageError(f"{path}: the front matter lacks {', '.join(missing)}; set them "
                         "(forge: github or gitlab, host, project: owner/repo)")
    return front, body.strip() + "\n"


def submit_draft(config: Config, path: Path, forges: ForgeSettings, *,
                 force: bool = False) -> Submission:
    front, body = read_draft(path)
    if front["forge"] not in ("github", "gitlab"):
        raise UsageError(f"{path}: forge {front['forge']!r}: set forge to github or gitlab")
    [package] = config.select([str(front["package"])])
    patch_path = (config.path.parent / str(front["patches"][0])).resolve()
    queue, problems = read_queue(patch_path.parent.parent.parent, patch_path.parent.parent.name,
                                 patch_path.parent.name)
    patch = next((p for p in queue.patches if p.path.resolve() == patch_path), None)
    if problems or patch is None:
        raise UsageError(f"{path}: its patch {front['patches'][0]} is not in a valid queue of "
                         f"{package.name}")
    if patch.status.kind not in CANDIDATE_STATUSES:
        raise UsageError(f"{patch.name} is already 'Upstream-Status: {patch.status}'")
    forge, host, project = front["forge"], str(front["host"]), str(front["project"])
    found = search_open(forge, host, project, forges)
    duplicates = likely_duplicates([(f.url, f.title, f.body) for f in found], front["title"],
                                   patch.files)
    if duplicates and not force:
        by_url = {f.url: f for f in found}
        return Submission(draft=path, kind="issue", title=front["title"],
                          status="refused-duplicate",
                          duplicates=tuple(by_url[url] for url, _, _ in duplicates))
    url = open_issue(forge, host, project, forges, title=str(front["title"]), body=body,
                     labels=[str(label) for label in front.get("labels") or []])
    header = f"Issue [{url}]"
    rewrite_statuses(queue, {patch.name: header})
    return Submission(draft=path, kind="issue", title=front["title"], status="submitted",
                      url=url, header=header)
