"""From merged to published: each upgrade's road after its request (grade.road).

Their publish actions upload wheels only when the build workflow runs from the default
branch, so after the merge a person dispatched it by hand (their docs/development.md).
A delivering night now does it: it notices the merge (a request no longer in the run's
list of open requests is asked once), dispatches the package's build workflow from the
default branch with each version the request built (once; the road records it), and on
the nights after follows those runs (the newest run of the workflow there since the
dispatch, so a person's later run counts) and the registry, until it holds a wheel of
each version for every Python the workflow builds. Only then is the upgrade settled, as
published. A failed or missing run, or wheels missing after a green run, stalls the
road: a need for a person, with the run's link; the next night looks again.

On a GitLab site (no workflow to dispatch) or with `publish: false`, a merged request
settles the upgrade as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from mirrorctl.core.buildsite import package_workflows
from mirrorctl.core.config import Config, Package
from mirrorctl.core.errors import MirrorctlError
from mirrorctl.core.record import Fact, read_record, write_facts
from mirrorctl.core.stamps import stamp_time
from mirrorctl.core.urls import forge_kind
from mirrorctl.grade.road import ROAD, Road, RoadRun, RoadState, recorded_road
from mirrorctl.night.deliver.repo import site_forge
from mirrorctl.night.deliver.requests import OpenRequests
from mirrorctl.queue.carry import RebaseReport

if TYPE_CHECKING:
    from mirrorctl.upstream.forges.api import ForgeApi
    from mirrorctl.upstream.forges.forge import ForgeSettings
    from mirrorctl.upstream.forges.pulls import WorkflowRun

__all__ = ["Followed", "PublishOptions", "follow_roads", "publishes", "record_road"]


@dataclass(frozen=True, kw_only=True)
class PublishOptions:
    workdir: Path
    stamp: str  # when the night started: a dispatch is recorded at it
    forges: ForgeSettings
    listed: OpenRequests | None = None
    # The registry's file names of a project (None: no registry_url, wheels not checked).
    registry: Callable[[str], list[str]] | None = None


@dataclass(frozen=True)
class Followed:
    package: str
    road: Road
    changed: bool  # the night moved it


def publishes(config: Config) -> bool:
    """Whether merged upgrades are followed to their published wheels here."""
    site = config.pull_requests
    if site is None or not site.publish:
        return False
    return forge_kind(urlsplit(site.repository).hostname or "", config.forge_apis) == "github"


def record_road(config: Config, package: Package, report: RebaseReport, *, workdir: Path,
                delivered: bool, by: str, at: str) -> None:
    """The road of the upgrade a night (or `rebase`) just carried: requested when its
    request is open, found when it was not delivered. A road further along for the same
    release is kept."""
    if report.dry_run or (report.status != "clean" and not report.pull_request):
        return
    known = recorded_road(read_record(workdir, package.name))
    if known is not None and known.version == report.to_version \
            and known.state not in ("found", "requested", "building"):
        return
    site = config.pull_requests
    opened = delivered and report.pull_request is not None \
        and report.pull_request_action in ("opened", "updated", "unchanged")
    state: RoadState = "found" if not opened else \
        "building" if site is not None and site.dispatch else "requested"
    versions = report.triggered or (report.to_release.public,)
    write_facts(workdir, package.name, [(ROAD, Fact.known(Road(
        version=report.to_version, versions=tuple(versions), state=state,
        request=report.pull_request if opened else None), by=by, at=at))])


def follow_roads(config: Config, packages: Sequence[Package],
                 options: PublishOptions) -> list[Followed]:
    """Each package's road after its request, one step a night where it can go."""
    from mirrorctl.upstream.forges.api import forge_api

    site = config.pull_requests
    assert site is not None
    forge, host, project = site_forge(config, site)
    api = forge_api(forge, host, options.forges)
    followed = []
    for package in packages:
        fact = read_record(options.workdir, package.name).get(ROAD)
        road = fact.value if fact is not None and fact.is_known else None
        if road is None or road.state in ("found", "published", "closed") or (
                fact is not None and fact.at == options.stamp and road.state == "publishing"):
            continue  # (dispatched tonight: its runs are looked at from the next night)
        try:
            after = _step(config, package, road, api, project, options)
        except (MirrorctlError, OSError) as exc:
            after = replace(road, detail=f"not followed tonight: {exc}")
        if after != road:
            write_facts(options.workdir, package.name,
                        [(ROAD, Fact.known(after, by="nightly", at=options.stamp))])
            if after.state == "published":
                from mirrorctl.grade.upgrade import record_settled

                record_settled(options.workdir, package.name, after.detail, by="nightly",
                               at=options.stamp)
        followed.append(Followed(package.name, after, after != road))
    return followed


def _step(config: Config, package: Package, road: Road, api: ForgeApi, project: str,
          options: PublishOptions) -> Road:
    """As far as the road goes tonight: a request found merged is dispatched at once; a
    dispatch's runs are followed from the next night."""
    if road.state in ("requested", "building"):
        road = _merged_yet(config, road, api, project, options)
    if road.state == "merged" or (road.state in ("publishing", "stalled") \
            and set(road.dispatched) != set(road.versions)):
        return _dispatch(config, package, road, api, project, options)
    if road.state in ("publishing", "stalled"):
        return _follow(config, package, road, api, project, options)
    return road


def _merged_yet(config: Config, road: Road, api: ForgeApi, project: str,
                options: PublishOptions) -> Road:
    """Still open (the run's list says so), or merged, or closed unmerged: asked once."""
    from mirrorctl.upstream.forges.forge import parse_request_url

    listed = options.listed.known(project) if options.listed is not None else None
    if road.request is None or (listed is not None and road.request in
                                {r.url for r in listed}):
        return road
    ref = parse_request_url(road.request, apis=config.forge_apis)
    if ref is None:
        return road
    state = api.request_state(ref).state
    if state == "merged":
        return replace(road, state="merged", detail=f"{road.request} was merged")
    if state == "open":
        return road
    return replace(road, state="closed", detail=f"{road.request} was closed unmerged")


def _dispatch(config: Config, package: Package, road: Road, api: ForgeApi, project: str,
              options: PublishOptions) -> Road:
    """The build workflow dispatched from the default branch with each version (once)."""
    site = config.pull_requests
    assert site is not None
    workflow = _build_workflow(config, package)
    if workflow is None:
        return replace(road, state="stalled", detail=(
            f"no build workflow of {package.name} to dispatch from {site.base}: publish "
            "its wheels by hand"))
    when = stamp_time(options.stamp)
    dispatched = list(road.dispatched)
    road = replace(road, workflow=workflow, dispatched_at=road.dispatched_at or (
        when.strftime("%Y-%m-%dT%H:%M:%SZ") if when else None))
    for version in (v for v in road.versions if v not in dispatched):
        try:
            api.dispatch_workflow(project, workflow, ref=site.base, inputs={"version": version})
        except MirrorctlError as exc:  # the others are kept dispatched; this one next night
            return replace(road, state="stalled", dispatched=tuple(dispatched), detail=(
                f"dispatching {workflow} from {site.base} for {version} failed: {exc}"))
        dispatched.append(version)
    return replace(road, state="publishing", dispatched=tuple(dispatched),
                   detail=f"{workflow} dispatched from {site.base} for "
                          + ", ".join(road.versions))


def _follow(config: Config, package: Package, road: Road, api: ForgeApi, project: str,
            options: PublishOptions) -> Road:
    """The publishing runs and the registry: published, still publishing, or stalled."""
    site = config.pull_requests
    assert site is not None and road.workflow is not None and road.dispatched_at is not None
    runs = api.workflow_runs(project, road.workflow, branch=site.base,
                             since=road.dispatched_at)
    found = _runs_of(api, project, road.versions, runs)
    said = tuple(RoadRun(version=v, url=r.url if r else "",
                         conclusion=r.conclusion if r and r.status == "completed" else None)
                 for v, r in found.items())
    road = replace(road, runs=said)
    missing = [v for v, r in found.items() if r is None]
    if missing:
        return replace(road, state="stalled", detail=(
            f"no run of {road.workflow} on {site.base} since the dispatch at "
            f"{road.dispatched_at} for {', '.join(missing)}: dispatch it by hand"))
    failed = [r for r in said if r.conclusion not in (None, "success")]
    if failed:
        return replace(road, state="stalled", detail="; ".join(
            f"the publishing run of {r.version} ended {r.conclusion}: {r.url}" for r in failed))
    if any(r.conclusion is None for r in said):
        return replace(road, state="publishing", detail="its publishing runs are not done")
    return _in_registry(config, package, road, options)


def _in_registry(config: Config, package: Package, road: Road,
                 options: PublishOptions) -> Road:
    if options.registry is None:
        return replace(road, state="publishing", detail=(
            "its publishing runs passed; whether the wheels are in the registry is not "
            "known (no registry_url)"))
    files = options.registry(package.pypi)
    pythons = _workflow_pythons(config, package)
    missing = tuple(f"{v} {p}" for v in road.versions for p in pythons
                    if not _has_wheel(files, v, p, config.registry_platforms))
    links = ", ".join(r.url for r in road.runs)
    if missing:
        return replace(road, state="stalled", missing=missing, detail=(
            f"its publishing runs passed ({links}) but the registry lacks the wheels of "
            + ", ".join(missing)))
    return replace(road, state="published", missing=(), detail=(
        "its wheels are published: " + ", ".join(road.versions) + " for "
        + ", ".join(pythons) + f" ({links})"))


def _runs_of(api: ForgeApi, project: str, versions: Sequence[str],
             runs: Sequence[WorkflowRun]) -> dict[str, WorkflowRun | None]:
    """Each version's publishing run: the newest since the dispatch (of several
    versions, the newest whose jobs name it)."""
    if len(versions) == 1:
        return {versions[0]: runs[0] if runs else None}
    found: dict[str, WorkflowRun | None] = dict.fromkeys(versions)
    for run in runs:  # newest first
        if all(found.values()):
            break
        names = " ".join(api.run_job_names(project, run))
        for version in versions:
            if found[version] is None and re.search(rf"(?<![\w.]){re.escape(version)}(?![\w.])",
                                                    names):
                found[version] = run
    return found


def _build_workflow(config: Config, package: Package) -> str | None:
    return next((p.name for p in package_workflows(config, package)
                 if p.name.startswith("build-")), None)


_CPYTHON = re.compile(r"\bcp3(\d+)(t?)\b")


def _workflow_pythons(config: Config, package: Package) -> tuple[str, ...]:
    """The Pythons the build workflow builds (its cp312 / cp314t selectors), else the
    builders' `python_versions`."""
    found: list[str] = []
    for path in package_workflows(config, package):
        if path.name.startswith("build-"):
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            found += [f"3.{minor}{t}" for minor, t in _CPYTHON.findall(text)]
    return tuple(dict.fromkeys(found)) or tuple(config.python_versions)


def _has_wheel(files: Sequence[str], version: str, python: str,
               platforms: Sequence[str]) -> bool:
    from mirrorctl.grade.registry import built_for

    for name in files:
        try:
            _, found, _, tags = parse_wheel_filename(name)
        except (InvalidWheelFilename, InvalidVersion):
            continue
        if Version(found.public) == Version(version) and any(
                built_for(tag, platforms, [python]) for tag in tags):
            return True
    return False
