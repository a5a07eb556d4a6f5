"""The builds' results of an upgrade, for its grade: read from the forge where the
upgrade's pull request builds (the branch `pull_requests.branch` names), kept in
<workdir>/results/<package>/<version>.json, and compared with the kept results of the
current release. This composes the forge (upstream wing) with the grade wing, which is
why it lives here; classify asks it through ClassifyOptions.builds.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from mirrorctl.core.config import Config, Package
from mirrorctl.core.errors import MirrorctlError
from mirrorctl.core.grades import Reason
from mirrorctl.core.sections import PullRequests
from mirrorctl.grade.builds import (
    Results,
    build_reasons,
    compare,
    failure_rules,
    keep_results,
    kept_results,
)
from mirrorctl.grade.grading import nan_tests_patched
from mirrorctl.queue.engine import PatchOutcome

if TYPE_CHECKING:
    from mirrorctl.grade.classify import BuildReasons
    from mirrorctl.upstream.forges.api import ForgeApi
    from mirrorctl.upstream.forges.forge import ForgeSettings

__all__ = ["BuildResults", "upgrade_build_reasons"]


def upgrade_build_reasons(config: Config, forges: ForgeSettings | None,
                          workdir: Path) -> BuildReasons | None:
    """Where the upgrades' build results come from, for their grades, resolved one way
    by every command that grades: the forge of the builders' repository
    (`pull_requests`), or nowhere (None: the sources alone grade) without one, or
    without the forges' settings."""
    if forges is None or config.pull_requests is None:
        return None
    return BuildResults(config, forges, workdir).reasons


class BuildResults:
    """Build reasons of one classify run (thread-safe: each package writes its own file)."""

    def __init__(self, config: Config, forges: ForgeSettings, workdir: Path) -> None:
        self.config, self.forges, self.workdir = config, forges, workdir

    def reasons(self, package: Package, version: str, current: str,
                outcomes: Sequence[PatchOutcome] | None) -> list[Reason]:
        site = self.config.pull_requests
        if site is None:
            return []  # no repository where upgrades build: the sources alone grade
        from mirrorctl.upstream.drafts import forge_of
        from mirrorctl.upstream.forges.api import forge_api
        from mirrorctl.upstream.forges.forge import as_forge

        kind, project = forge_of(site.repository, self.config.forge_apis)
        forge = as_forge(kind)
        if forge is None or project is None:
            return []
        api = forge_api(forge, urlsplit(site.repository).hostname or "", self.forges)
        known = kept_results(self.workdir, package.name, version)
        new = None
        for branch in _branches(site, package.name, version):
            try:
                new = api.read_results(project, branch=branch, version=version, known=known)
            except MirrorctlError as exc:
                return [Reason("not-built-yet", f"the build results of {branch} could not "
                                                f"be read ({exc}): the grade is the sources'")]
            if new is not None:
                break
        if new is None:
            return build_reasons(None, nan_patched=False)
        if new is not known:
            keep_results(self.workdir, package.name, new)
        comparison = compare(new, self._previous(package, current, api, project),
                             failure_rules(package.failure_rules))
        return build_reasons(comparison, nan_patched=nan_tests_patched(outcomes or ()))

    def _previous(self, package: Package, current: str, api: ForgeApi,
                  project: str) -> Results | None:
        """The current release's results: kept by an earlier run, or else read from the
        branch its own upgrade was built on, if that still has runs."""
        kept = kept_results(self.workdir, package.name, current)
        if kept is not None:
            return kept
        site = self.config.pull_requests
        assert site is not None
        found = None
        for branch in _branches(site, package.name, current):
            try:
                found = api.read_results(project, version=current, branch=branch)
            except MirrorctlError:
                return None  # compared with nothing: every failure counts as new
            if found is not None:
                break
        if found is not None:
            keep_results(self.workdir, package.name, found)
        return found


def _branches(site: PullRequests, name: str, version: str) -> list[str]:
    """Where an upgrade's builds run: mirrorctl's branch, or their bot's it completed."""
    return [template.format(name=name, version=version)
            for template in (site.branch, site.bot_branch) if template]
