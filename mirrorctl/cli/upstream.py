"""`mirrorctl upstream`: draft, submit and refresh the upstream requests of the
riscv64 patches, and their renderers."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mirrorctl.cli.base import (
    Globals,
    forge_settings,
    format_option,
    git_runner,
    jobs_option,
    plural,
    progress_on_stderr,
    reading,
    resolve_run,
    wait_option,
    writing,
)
from mirrorctl.core.errors import EXIT_FAILURE

if TYPE_CHECKING:
    from mirrorctl.core.config import Config
    from mirrorctl.upstream.drafts import WrittenDraft
    from mirrorctl.upstream.refresh import Standing
    from mirrorctl.upstream.submit import Submission
    from mirrorctl.upstream.wheels.road import Road


@click.group()
def upstream() -> None:
    """Draft upstream merge requests and issues for the riscv64 patches, and follow
    each upstream's road to building riscv64 wheels itself.

    \b
    Examples:
      mirrorctl upstream draft numpy
      mirrorctl upstream draft numpy --patch 0001-BLD-riscv64.patch --out drafts/
      mirrorctl upstream wheels
    """


@upstream.command("draft")
@click.argument("package")
@click.option("--patch", "patch", help="Draft only this patch (its file name).")
@click.option("--output-dir", "--out", "out", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the drafts [default: <workdir>/drafts/<package>/] (--out is "
                   "its old name).")
@click.option("--replace-edited", "--force", "force", is_flag=True,
              help="Overwrite drafts that were edited since (--force is its old name).")
@click.option("--dry-run", "-n", is_flag=True,
              help="Make each draft and say what would be written; write nothing.")
@format_option
@click.pass_obj
def upstream_draft(g: Globals, package: str, patch: str | None, out: Path | None, force: bool,
                   dry_run: bool, fmt: str) -> None:
    """Write a draft request for each patch still to go upstream.

    Every patch of the current queue whose Upstream-Status is Pending or To upstream
    gets a markdown draft with YAML front matter: an "mr" for a change upstream can
    take as it is, an "issue" for a riscv64 problem whose fix needs upstream's design
    (a test skipped, a build flag forced). The title follows upstream's commit-subject
    prefixes, and the body fills its PR template or issue form, read from the release
    tag. Nothing is sent: a maintainer reads, edits and submits. A draft edited since
    it was written is kept unless --force.

    \b
    Exit status 0, 1 when a draft could not be written (the path and what to do),
    2 for bad usage (no such patch, a bad queue), 130/143 interrupted.

    \b
    Examples:
      mirrorctl upstream draft numpy
      mirrorctl upstream draft scipy --patch 0002-TST-skip-nan.patch --format json
    """
    from mirrorctl.core.config import load_config
    from mirrorctl.upstream.drafts import DraftOptions, write_drafts

    config = load_config(g.config_path)
    [selected] = config.select([package])
    options = DraftOptions(workdir=g.workdir, patch=patch, out=out, force=force,
                           dry_run=dry_run)
    with reading(g) as lock_fd:
        written = write_drafts(config, selected, options, git_runner(g, config, lock_fd))
    g.echo(DRAFTS_RENDERERS[fmt](written))


@upstream.command("submit")
@click.argument("draft", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--despite-duplicate", "--force", "force", is_flag=True,
              help="Open it even when upstream has a likely duplicate (--force is its old "
                   "name).")
@click.option("--dry-run", "-n", is_flag=True,
              help="Search upstream for duplicates and say whether it would be opened; "
                   "send and write nothing.")
@format_option
@wait_option
@click.pass_obj
def upstream_submit(g: Globals, draft: Path, force: bool, dry_run: bool, fmt: str) -> None:
    """Send a draft a maintainer has read and edited upstream.

    First the upstream's open issues and requests that mention riscv64 are searched;
    one that names the same files or most of the title's words stops the submission
    (it is shown; --force opens anyway). An issue draft opens an issue; an "mr" draft
    carries the patch onto upstream's target branch (in the cache, no checkout),
    pushes it with a lease to riscv64/<patch> in the builders' fork (`forks:` in
    mirrors.yaml) and opens a draft pull request (GitHub) or a "Draft:" merge request
    (GitLab). The patch's header then becomes `Issue [url]` or `Submitted [url]`.

    A riscv64-wheels draft (`upstream wheels --draft`) is searched for again, open
    and closed: an open request for riscv64 wheels stops it, and a merged or declined
    one too unless --force. Its change is applied to upstream's default branch as it
    is now, pushed to the fork's riscv64/wheels and opened as a draft request.
    Tokens: MIRRORCTL_GITHUB_TOKEN, MIRRORCTL_GITLAB_TOKEN (never printed; also used
    to push to the fork over HTTPS).

    \b
    Exit status 0 submitted, 1 refused for a likely duplicate, a patch that does not apply
    to the target branch, or a forge failure; 2 bad usage (not a draft, a patch already
    submitted, no fork configured), 75 when another run holds the work directory (--wait
    waits for it), 130/143 interrupted.

    \b
    Examples:
      mirrorctl upstream submit .mirrorctl/drafts/numpy/0002-TST-skip-nan.md
      mirrorctl upstream submit drafts/scipy/0001-BLD-riscv64.md --force
    """
    from mirrorctl.core.config import load_config
    from mirrorctl.upstream.submit import submit_draft

    config = load_config(g.config_path)
    forges = forge_settings(config)
    with writing(g, "upstream submit") as lock_fd:
        done = submit_draft(config, draft, forges, runner=git_runner(g, config, lock_fd),
                            workdir=g.workdir, force=force, dry_run=dry_run)
    g.echo(SUBMIT_RENDERERS[fmt](done))
    if done.status not in ("submitted", "would-submit"):
        raise SystemExit(EXIT_FAILURE)


@upstream.command("refresh")
@click.argument("packages", nargs=-1)
@click.option("--write", is_flag=True,
              help="Rewrite the Upstream-Status headers of accepted and refused patches.")
@click.option("--dry-run", "-n", is_flag=True,
              help="Say where each patch stands and write nothing (what it does without "
                   "--write; not with it).")
@format_option
@wait_option
@click.pass_obj
def upstream_refresh(g: Globals, packages: tuple[str, ...], write: bool, dry_run: bool,
                     fmt: str) -> None:
    """Ask the forges where each Submitted and Issue patch stands.

    A merged request is "accepted" (the next rebase should find the patch upstreamed);
    a closed, unmerged one "refused". With --write the headers follow, in the queue's
    vocabulary (`status_vocabulary` in mirrors.yaml): accepted becomes Backport [url];
    refused becomes Inappropriate [declined upstream: url] (builders) or Denied [url]
    (yocto). Tokens: MIRRORCTL_GITHUB_TOKEN, MIRRORCTL_GITLAB_TOKEN (never printed).

    \b
    Exit status 0, 1 when a forge could not be asked about a patch, 75 when another run
    holds the work directory (--wait waits for it), 130/143 interrupted.

    \b
    Examples:
      mirrorctl upstream refresh
      mirrorctl upstream refresh numpy --write --format json
    """
    from mirrorctl.core.config import load_config
    from mirrorctl.upstream.refresh import RefreshOptions, refresh_packages

    if write and dry_run:
        raise click.UsageError("--dry-run writes nothing: not with --write")
    config = load_config(g.config_path)
    selected = config.select(packages)
    forges = forge_settings(config)
    with writing(g, "upstream refresh"):
        found = refresh_packages(config, selected, RefreshOptions(
            write=write, currents=resolve_run(g, config).currents), forges)
    g.echo(STANDING_RENDERERS[fmt](found))
    if any(s.verdict == "error" for s in found):
        raise SystemExit(EXIT_FAILURE)


@upstream.command("wheels")
@click.argument("packages", nargs=-1)
@click.option("--draft", "draft", is_flag=True,
              help="Write the change (a format-patch file) and the request's text for each "
                   "package whose state calls for one; an issue draft where the change "
                   "cannot be written safely.")
@click.option("--output-dir", "--out", "out", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the drafts, a folder a package in it [default: "
                   "<workdir>/drafts/] (--out is its old name).")
@click.option("--replace-edited", "--force", "force", is_flag=True,
              help="Replace drafts edited since they were written (--force is its old "
                   "name).")
@jobs_option
@click.option("--dry-run", "-n", is_flag=True,
              help="Follow each road and make its draft (with --draft), record and write "
                   "nothing: each state and draft is said.")
@format_option
@wait_option
@click.pass_obj
def upstream_wheels(g: Globals, packages: tuple[str, ...], draft: bool, out: Path | None,
                    force: bool, jobs: int | None, dry_run: bool, fmt: str) -> None:
    """Where each package's road to upstream riscv64 wheels stands.

    From facts it establishes: PyPI's latest release (a riscv64 wheel, only
    pure-Python wheels, or neither); upstream's default branch (as its HEAD names it,
    recorded by sync) and whether its CI builds riscv64 wheels (a job that builds
    wheels, read from the cache: tests under emulation do not count), the commit that
    made it, the first release tag that has it; and upstream's requests that ask for
    them, open and closed, searched on its forge (`upstream_web:` names the project
    where the git URL does not). One state a package, the first that holds:

    \b
      unknown        a fact needed could not be established (the reasons say which)
      shipped        PyPI's latest has a riscv64 wheel: retire the package
      pure-python    PyPI's latest has only pure-Python wheels: retire it too
      released       a release builds them; PyPI's latest has no riscv64 wheel yet
      merged         the default branch builds them; no release has it yet
      requested      an open pull request asks for them: never draft a second
      reverted       merged, then undone (the revert is named)
      declined       closed without merging (why is quoted)
      draft          mirrorctl can write the change
      unknown-shape  upstream builds wheels in a way mirrorctl does not edit

    PyPI and the caches are read for --jobs packages at once; GitHub's projects are
    searched together, several a search, spaced within defaults.search_rate (30 a
    minute), each answer kept in <workdir>/forge-searches.json and asked again
    conditionally; a pass stopped by a rate limit is resumed by the next run.

    Each state is kept in the package's record with its history. Nothing is sent.
    Tokens: MIRRORCTL_GITHUB_TOKEN, MIRRORCTL_GITLAB_TOKEN (never printed).

    With --draft, a package in state draft, unknown-shape, declined or reverted gets
    its drafts (never one with an open request): the smallest change that adds riscv64
    the way upstream builds its other architectures (or on a riscv64 runner, with
    `upstream_wheels: {runner: native}`), proved before it is written: the files parse
    and differ only where riscv64 was added, the expanded matrix has riscv64 jobs that
    can run and none on an image without riscv64, and cibuildwheel itself (the
    `campaign` extra) lists riscv64 builds for them: the version the workflow pins
    (its action's ref, `pip install cibuildwheel==X`, `uvx cibuildwheel@X`, a
    requirements file), installed once into <workdir>/tools/ with pip's own settings
    (PIP_INDEX_URL ...), else an installed one of the same major version, named; with
    none, the draft says it is unproved. A shape mirrorctl cannot edit safely gets an
    issue draft with the facts instead.

    \b
    Exit status 0, 1 when a package is unknown, 2 bad usage, 75 when another run holds the
    work directory (--wait waits for it), 130/143 interrupted.

    \b
    Examples:
      mirrorctl upstream wheels
      mirrorctl upstream wheels zstandard msgspec --format json
      mirrorctl upstream wheels --jobs 8
      mirrorctl upstream wheels zstandard --draft --out drafts/
    """
    from mirrorctl.core.config import load_config
    from mirrorctl.grade.pypi import PypiClient
    from mirrorctl.upstream.wheels.cibwtool import CibuildwheelTools
    from mirrorctl.upstream.wheels.plan import WheelOptions
    from mirrorctl.upstream.wheels.request import WheelDraftOptions, draft_roads
    from mirrorctl.upstream.wheels.road import RoadOptions, wheel_roads

    config = load_config(g.config_path)
    selected = config.select(packages)
    forges = forge_settings(config)
    pypi = PypiClient(config.pypi_url, retries=config.retries)
    run = resolve_run(g, config, jobs)
    options = RoadOptions(workdir=run.workdir, stamp=run.stamp, jobs=run.jobs,
                          record=not dry_run)
    with writing(g, "upstream wheels") as lock_fd, progress_on_stderr(g) as progress:
        runner = git_runner(g, config, lock_fd)
        roads = wheel_roads(config, selected, options, runner, forges, pypi, progress)
        if draft:
            roads = draft_roads(config, roads, runner, WheelDraftOptions(
                workdir=g.workdir, out=out, force=force, dry_run=dry_run,
                wheels=WheelOptions(tools=CibuildwheelTools(
                    root=_tools(g), install_env=_pip_env()))))
    if config.stacks:
        roads = _ranked(g, config, roads)
    g.echo(ROADS_RENDERERS[fmt](roads))
    if any(r.state == "unknown" for r in roads):
        raise SystemExit(EXIT_FAILURE)


def _ranked(g: Globals, config: Config, roads: list[Road]) -> list[Road]:
    """The roads, those that unblock the most roots of defaults.stacks first (as the
    last `mirrorctl stack` found them: nothing is asked here)."""
    from packaging.utils import canonicalize_name

    from mirrorctl.grade.stackkept import kept_blockers
    from mirrorctl.upstream.wheels.road import rank_by_blocks

    found = kept_blockers(g.workdir / "index" / "stacks", config.stacks,
                          config.python_versions, config.pypi_url)
    pypi = {p.name: canonicalize_name(p.pypi) for p in config.packages.values()}
    return rank_by_blocks(roads, {name: found.get(pypi.get(name, name), ())
                                  for name in pypi})


def _tools(g: Globals) -> Path:
    """The tool cache: MIRRORCTL_TOOLS (shared by several work directories), else
    <workdir>/tools."""
    shared = os.environ.get("MIRRORCTL_TOOLS")
    return Path(shared) if shared else g.workdir / "tools"


def _pip_env() -> dict[str, str]:
    """pip's environment for installing the cibuildwheel a workflow pins: its own
    settings (PIP_*: the index, find-links, a proxy's certificate) and what it reads its
    configuration and caches by; nothing else of the caller's."""
    import os

    kept = ("HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "HTTP_PROXY", "HTTPS_PROXY",
            "NO_PROXY", "http_proxy", "https_proxy", "no_proxy", "SSL_CERT_FILE",
            "REQUESTS_CA_BUNDLE", "VIRTUAL_ENV")
    return {k: v for k, v in os.environ.items() if k.startswith("PIP_") or k in kept}


def roads_json(roads: list[Road]) -> str:
    from mirrorctl.upstream.wheels.road import STATES

    counts = Counter(r.state for r in roads)
    return json.dumps({"format": 1, "counts": {s: counts[s] for s in STATES if counts[s]},
                       "packages": [road_json(r) for r in roads]}, indent=2)


def road_json(road: Road) -> dict[str, object]:
    return {"name": road.name, "state": road.state,
            "requests": [{"url": a.url, "kind": a.kind, "state": a.state, "title": a.title}
                         for a in road.requests],
            "draft": None if road.draft is None else {
                "kind": road.draft.kind, "title": road.draft.title,
                "patch": str(road.draft.patch) if road.draft.patch else None,
                "body": str(road.draft.body), "status": road.draft.status,
                "changes": list(road.draft.changes), "checks": list(road.draft.checks)},
            "reasons": list(road.reasons), "next": road.next,
            "pypi_latest": road.pypi_latest, "default_branch": road.default_branch,
            "released_in": road.released_in, "enabled_by": road.enabled_by,
            "reverted_by": road.reverted_by, "since": road.since, "previous": road.previous,
            "changed": road.changed, "blocks": list(road.blocks)}


def roads_table(roads: list[Road]) -> str:
    if not roads:
        return "no package selected"
    width = max(len(r.name) for r in roads)
    lines = []
    for road in roads:
        changed = f" (was {road.previous})" if road.changed else ""
        lines.append(f"{road.name:<{width}}  {road.state}{changed}")
        if road.blocks:
            lines.append(f"{'':<{width}}    blocks {', '.join(road.blocks)}")
        lines += [f"{'':<{width}}    {reason}" for reason in road.reasons]
        lines += [f"{'':<{width}}    {a.kind} {a.state}: {a.url}" for a in road.requests
                  if a.url not in " ".join(road.reasons)]
        if road.draft is not None:
            written = road.draft.patch or road.draft.body
            lines.append(f"{'':<{width}}    {road.draft.kind} draft {road.draft.status}: "
                         f"{written}")
            lines += [f"{'':<{width}}      {c}" for c in road.draft.changes]
        lines.append(f"{'':<{width}}    next: {road.next}")
    counts = Counter(r.state for r in roads)
    lines.append(f"{plural(len(roads), 'package')}: "
                 + ", ".join(f"{n} {s}" for s, n in counts.most_common())
                 + "; nothing was sent upstream")
    return "\n".join(lines)


def drafts_json(written: list[WrittenDraft]) -> str:
    return json.dumps({"drafts": [
        {"patch": w.draft.patch.name, "kind": w.draft.kind, "path": str(w.path),
         "title": w.draft.title, "status": w.status, "why": w.draft.why,
         "labels": list(w.draft.labels)} for w in written]}, indent=2)


def drafts_table(written: list[WrittenDraft]) -> str:
    if not written:
        return ("no patch of the current queue is Pending or To upstream (or it carries "
                "none): nothing to draft")
    lines = [f"{w.draft.kind:<5}  {w.status:<9}  {w.path}\n       {w.draft.title}"
             + ("\n       (edited since it was written; --force replaces it)"
                if w.status == "kept" else "") for w in written]
    lines.append(f"{plural(len(written), 'draft')}; nothing was sent upstream")
    return "\n".join(lines)


def standing_json(found: list[Standing]) -> str:
    return json.dumps({"patches": [
        {"package": s.package, "patch": s.patch.name, "status": str(s.patch.status),
         "url": s.url, "verdict": s.verdict, "detail": s.detail, "new_status": s.new_status,
         "written": s.written} for s in found]}, indent=2)


def standing_table(found: list[Standing]) -> str:
    if not found:
        return "no patch is Submitted or Issue: nothing to ask upstream"
    lines = []
    for s in found:
        lines.append(f"{s.package}  {s.patch.name}  {s.verdict}  {s.url}")
        if s.detail:
            lines.append(f"    {s.detail}")
        if s.new_status:
            done = "written" if s.written else "--write to rewrite the header"
            lines.append(f"    -> Upstream-Status: {s.new_status} ({done})")
    tally = Counter(s.verdict for s in found)
    lines.append(f"{plural(len(found), 'patch', 'patches')} asked: "
                 + ", ".join(f"{n} {v}" for v, n in sorted(tally.items())))
    return "\n".join(lines)


def submit_json(done: Submission) -> str:
    return json.dumps({"draft": str(done.draft), "kind": done.kind, "title": done.title,
                       "status": done.status, "url": done.url, "header": done.header,
                       "duplicates": [{"url": f.url, "title": f.title} for f in done.duplicates]},
                      indent=2)


def submit_table(done: Submission) -> str:
    if done.status == "would-submit":
        return (f"would open: {done.title}\nnothing upstream looks like it; a dry run: "
                "nothing was sent or written")
    if done.status == "submitted" and done.header is None:  # a riscv64-wheels draft
        return f"opened {done.url}\n  {done.title}\nthe draft now says it was submitted there"
    if done.status == "submitted":
        return (f"opened {done.url}\n  {done.title}\n"
                f"the patch now says Upstream-Status: {done.header}")
    lines = ["not opened: upstream has open items that look like this one:"]
    lines += [f"  {f.url}  {f.title}" for f in done.duplicates]
    lines.append("read them first; if this is really new, run again with --force")
    return "\n".join(lines)


DRAFTS_RENDERERS: dict[str, Callable[[list[WrittenDraft]], str]] = {
    "table": drafts_table, "json": drafts_json}
SUBMIT_RENDERERS: dict[str, Callable[[Submission], str]] = {
    "table": submit_table, "json": submit_json}
STANDING_RENDERERS: dict[str, Callable[[list[Standing]], str]] = {
    "table": standing_table, "json": standing_json}
ROADS_RENDERERS: dict[str, Callable[[list[Road]], str]] = {
    "table": roads_table, "json": roads_json}
