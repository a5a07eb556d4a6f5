"""The mirror's merge request after a rebase: the new riscv64/<version> branch offered
for review on the mirror, described by the rebase's outcomes, its grade and its
range-diff.

This composes three wings (the queue's rebase, the grade, the upstream forge client),
which is why it lives above them: the queue wing carries a queue and pushes a branch,
and never talks to a forge.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from mirrorctl.core.config import Config, Package
from mirrorctl.core.errors import UsageError
from mirrorctl.core.git import GitRunner
from mirrorctl.grade.classify import grade_rebase
from mirrorctl.queue.carry import RebaseReport

if TYPE_CHECKING:  # requests and python-gitlab load only when a merge request is opened
    from pathlib import Path

    from mirrorctl.upstream.forges.forge import ForgeSettings

__all__ = ["PUSHED", "deliver_mirror_request", "request_description"]

# The push results after which the mirror holds the branch a merge request shows.
PUSHED = ("created", "updated", "unchanged")


def deliver_mirror_request(config: Config, package: Package, report: RebaseReport, *,
                           workdir: Path, runner: GitRunner, forges: ForgeSettings,
                           target: str) -> RebaseReport:
    """Grade the rebase, then open (or update, if one is open) the mirror's merge request
    for its pushed branch; the report comes back with the grade and the request."""
    from mirrorctl.upstream.drafts import forge_of
    from mirrorctl.upstream.forges.gitlab import GitLab

    web = package.mirror_web or ""
    forge, project = forge_of(web, config.forge_apis)
    if forge != "gitlab" or project is None:
        raise UsageError(f"{package.name}: mirror merge requests need a GitLab mirror; set "
                         "`mirror_web:` to the mirror project's page")
    report = replace(report, grade=grade_rebase(config, package, report, workdir=workdir,
                                                runner=runner))
    host = urlsplit(web).hostname or ""
    title = f"Draft: {package.name} {report.to_version} riscv64 patch queue"
    url, action = GitLab(host, forges).open_or_update_mr(
        project, source=report.branch, target=target, title=title,
        description=request_description(report))
    return replace(report, merge_request=url, merge_request_action=action)


def request_description(report: RebaseReport, footer: str | None = None) -> str:
    """The rebase report in markdown: the merge request's description (`footer` in place
    of the mirror merge request's last line)."""
    outcomes = report.result.outcomes
    lines = [f"**{report.package} {report.from_version} → {report.to_version}** "
             f"(`{report.onto}`): {report.status}", "",
             "| patch | outcome | detail |", "|---|---|---|"]
    for o in outcomes:
        detail = o.detail + (f" (upstream {o.upstream_commit[:12]})" if o.upstream_commit
                             else "")
        lines.append(f"| `{o.patch.name}` | {o.outcome} | {detail} |")
    if report.grade is not None:
        lines += ["", f"### Grade: {report.grade.level}", ""]
        lines += [f"- `{r.code}`: {r.detail}" + (f" (to do: {r.todo})" if r.todo else "")
                  for r in report.grade.reasons]
    if report.range_diff:
        lines += ["", "### Range-diff", "", "```", report.range_diff.rstrip(), "```"]
    lines += ["", footer if footer is not None else
              f"The queue: `{report.patchset.name}` under patchsets/{report.package}/. "
              "Made by `mirrorctl rebase --push --open-mr`."]
    return "\n".join(lines)
