"""The commands that run a whole night: `nightly`, `ci generate` (the nightly as a
pipeline) and `demo` (the nightly on a sandbox), and their renderers."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mirrorctl import __version__
from mirrorctl.cli.base import (
    Globals,
    forge_settings,
    format_option,
    git_runner,
    jobs_option,
    program,
    progress_on_stderr,
    resolve_run,
    utc_stamp,
    wait_option,
    writing,
)
from mirrorctl.cli.grade import releases_data, releases_table
from mirrorctl.cli.queue import rebase_data, rebase_table
from mirrorctl.cli.report import REPORT_RENDERERS, notices_data, notices_lines
from mirrorctl.cli.sync import sync_data, sync_table
from mirrorctl.cli.upstream import road_json
from mirrorctl.core.errors import EXIT_FAILURE

if TYPE_CHECKING:
    from mirrorctl.night.demo import DemoSite
    from mirrorctl.night.nightly import NightlyResult
    from mirrorctl.sync.run import SyncReport


@click.command()
@click.argument("packages", nargs=-1)
@click.option("--push", is_flag=True,
              help="Push new riscv64/<version> branches and open the mirrors' merge requests; "
                   "with pull_requests:, deliver each upgrade (and retirement) as the "
                   "builders' pull request, and follow merged ones to their published wheels.")
@jobs_option
@click.option("-o", "--output", "outputs", multiple=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the report this run computed to this file (whole, never "
                   "half): a .md, .json or .html name picks its format (others: markdown). "
                   "Repeatable.")
@click.option("--notify", is_flag=True,
              help="File what needs a person as tracking issues where defaults.notices says "
                   "(one a package and kind, updated, reopened, closed when it clears).")
@click.option("--wheels", is_flag=True,
              help="Also follow each package's road to upstream riscv64 wheels (PyPI and "
                   "one forge search a package, as `upstream wheels` does): a change of "
                   "state a person acts on is a need.")
@click.option("--dry-run", "-n", is_flag=True,
              help="Say what the night would do and write nothing of its own: the caches "
                   "are refreshed, with what sync records of them (as sync --dry-run "
                   "does); mirrors, queues, carries, history and stacks stay as they "
                   "were. Not with --push, --notify or -o.")
@format_option
@wait_option
@click.pass_obj
def nightly(g: Globals, packages: tuple[str, ...], push: bool, jobs: int | None,
            outputs: tuple[Path, ...], notify: bool, wheels: bool, dry_run: bool,
            fmt: str) -> None:
    """The nightly run: sync, releases, rebases of new releases, and the report.

    Every package with a new release has its queue carried onto the newest release
    (the new queue is written; with --push its branch goes to the mirror and the
    mirror's merge request is opened or updated). A package that carries no patch is
    carried too: its upgrade is its version. One package failing never stops the
    others. A JSON record of the run goes to <workdir>/history/.

    With --push and pull_requests: in mirrors.yaml, each upgrade is delivered as the
    builders' pull request (the releases due since the registry's newest built one, a
    Trigger: line each); a package whose upstream ships riscv64 wheels gets a
    retirement request instead; an older request a newer release replaces is closed;
    and a merged upgrade is followed to its published wheels (its build workflow
    dispatched from the default branch, its run and the registry read).

    With --notify, what needs a person also becomes tracking issues where
    defaults.notices says: one a package and kind of need, updated while it lasts,
    reopened when it comes back, closed when it clears; at most notices.limit touched
    a run.

    With --dry-run, the night says what it would do and writes nothing of its own:
    the caches are refreshed, with what sync records of them (as sync --dry-run
    does), each due carry is a dry run, the report is computed; no queue, carry,
    history, stacks or last report is written, nothing pushed, delivered or filed.
    It exits as the night would.

    With --wheels, each package's road to upstream riscv64 wheels is followed too
    (`mirrorctl upstream wheels`, nothing sent): upstream declining or undoing them,
    or PyPI shipping them (retire the package), needs a person; the report shows
    the road of every package whose record has one.

    \b
    Exit status 0 when nothing needs a person, 1 when something does (the output says
    what), 2 for bad usage or configuration, 75 when another run holds the work directory
    (--wait waits for it), 130/143 interrupted.

    \b
    Examples:
      mirrorctl nightly
      mirrorctl nightly --push --format json > nightly.json
      mirrorctl nightly -o report.html -o report.json   # and the run's own report
      mirrorctl nightly --push --notify   # deliver, and keep the tracking issues
      mirrorctl nightly --wheels          # and the road to upstream riscv64 wheels
      mirrorctl nightly --dry-run         # what tonight would do, nothing written
    """
    from mirrorctl.core.config import load_config
    from mirrorctl.night.nightly import NightlyOptions, run_nightly

    config = load_config(g.config_path)
    selected = config.select(packages)
    if notify and config.notices is None:
        raise click.UsageError(f"--notify: no notices: under defaults in {g.config_path} "
                               "says which tracker keeps the notices (see the README)")
    if dry_run and (push or notify or outputs):
        raise click.UsageError("--dry-run writes nothing of its own: not with --push, "
                               "--notify or -o/--output")
    run = resolve_run(g, config, jobs)
    options = NightlyOptions(workdir=run.workdir, jobs=run.jobs, push=push,
                             # The upgrades' builds are read when their repository is
                             # known; requests and branches are delivered only with --push.
                             forges=forge_settings(config)
                             if push or notify or wheels or config.pull_requests is not None
                             else None,
                             stamp=run.stamp, notify=notify, every_package=not packages,
                             wheels=wheels, dry_run=dry_run, currents=run.currents)
    with writing(g, "nightly") as lock_fd, progress_on_stderr(g) as progress:
        result = run_nightly(config, selected, options, git_runner(g, config, lock_fd),
                             sleep=time.sleep, clock=time.time, progress=progress)
    g.echo(NIGHTLY_RENDERERS[fmt](result))
    kept = dry_run or _keep_last_report(g, g.workdir, result)
    if outputs:  # the run's own report: what people read is what this run found
        from mirrorctl.cli.report import write_report_files

        for output in write_report_files(g, result.report, outputs, "md"):
            if not g.quiet:
                click.echo(f"wrote {output}", err=True)
    if result.needs_human or not kept:
        raise SystemExit(EXIT_FAILURE)


def _keep_last_report(g: Globals, workdir: Path, result: NightlyResult) -> bool:
    """Keep the run's report whole in the work directory, for `report --last` (beside
    the history, not in it: the history's records are another format)."""
    from mirrorctl.cli.report import report_json
    from mirrorctl.core.errors import FileSystemError
    from mirrorctl.core.files import atomic_write_text
    from mirrorctl.report.wire import LAST_REPORT

    if result.history is None:  # the history could not be written; a need said why
        return True
    try:
        atomic_write_text(workdir / LAST_REPORT,
                          g.redactor(report_json(result.report)))
    except OSError as exc:
        click.echo(f"mirrorctl: the run's report is not kept for `report --last`: "
                   f"{FileSystemError(exc)}", err=True)
        return False
    return True


@click.group()
def ci() -> None:
    """The nightly as a GitLab CI pipeline or a GitHub Actions workflow.

    \b
    Examples:
      mirrorctl ci generate -o .gitlab-ci.yml
      mirrorctl ci generate --push --install "pip install ./dist/riscv64_mirrorctl-*.whl"
    """


@ci.command("generate")
@click.argument("packages", nargs=-1)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the pipeline to this file (e.g. .gitlab-ci.yml at the root of the "
                   "repository that holds mirrors.yaml) instead of stdout.")
@click.option("--image", default="python:3.11-bookworm", show_default=True,
              help="The jobs' container image (it needs git and Python 3.10+); an empty "
                   "value leaves it to the runners (shell executors).")
@click.option("--install", "install", default=None,
              help="The command that puts mirrorctl on the jobs' PATH, e.g. a pip install "
                   "of a wheel or a git URL [default: exactly this mirrorctl, pinned by "
                   "commit, hash or version].")
@click.option("--push", is_flag=True,
              help="The nightly pushes new riscv64 branches and opens the mirrors' merge "
                   "requests (set MIRRORCTL_MIRROR_TOKEN and the forge tokens as masked "
                   "CI/CD variables).")
@click.option("--forge", type=click.Choice(["gitlab", "github"]), default="gitlab",
              show_default=True,
              help="A GitLab CI pipeline (.gitlab-ci.yml) or a GitHub Actions workflow "
                   "(.github/workflows/mirrorctl.yml).")
@click.option("--max-jobs", type=click.IntRange(min=1), default=100, show_default=True,
              help="Package jobs at most; beyond, packages go in batches (GitLab allows "
                   "200 jobs a matrix, GitHub 256).")
@click.option("--dry-run", "-n", is_flag=True,
              help="With -o: the pipeline that file would get, to stdout; nothing written.")
@click.pass_obj
def ci_generate(g: Globals, packages: tuple[str, ...], output: Path | None, image: str,
                install: str | None, push: bool, forge: str, max_jobs: int,
                dry_run: bool) -> None:
    """Write a GitLab CI pipeline or a GitHub Actions workflow for the nightly: one job
    a package (batches of packages beyond --max-jobs), then the report.

    The package jobs are one parallel:matrix over PACKAGE, so GitLab spreads them over
    its runners; each runs `mirrorctl nightly PACKAGE --format json`, keeps its cache
    in a GitLab cache and leaves its result and any new patch queue as artifacts. A
    package that needs a person exits 1, which the pipeline allows (a warning). The
    report job merges the results (`report --merge`), appends the run to the history
    (a GitLab cache of its own) and keeps report.html, report.md and report.json.
    The pipeline runs on schedules, and by hand from the web or the API.

    With --forge github, a workflow does the same with GitHub's parts: a matrix with
    fail-fast: false, actions/cache for each job's cache and sync state and for the
    history, artifacts for the results and new queues, a report job (needs, if:
    always()) that also writes the run's summary; tokens only from secrets, and
    permissions: contents: read. Beyond --max-jobs packages, both spread them over
    that many batches by a stable hash (adding a package moves no other), so 1,000
    packages make a valid pipeline under GitLab's 200 and GitHub's 256 jobs.

    The paths in the pipeline are relative to the repository's root: the directory of
    --output (its grandparent's parent for .github/workflows/FILE), or the current
    directory when it goes to stdout. It must hold mirrors.yaml and the queues.

    The jobs install exactly the mirrorctl that wrote the pipeline: its git commit, or
    its wheel by hash, or its version from the index it came from, as the
    riscv64-mirrorctl distribution ("mirrorctl" on PyPI is another project). One
    installed from a local folder cannot be pinned so: name the install with --install.

    \b
    Exit status 0, 1 the file could not be written, 2 for bad usage (no way to pin
    the install without --install).

    \b
    Examples:
      mirrorctl ci generate -o .gitlab-ci.yml
      mirrorctl ci generate --push --install "pip install ./dist/riscv64_mirrorctl-*.whl"
      mirrorctl ci generate numpy scipy --image "" -o .gitlab-ci.yml
      mirrorctl ci generate --forge github --push -o .github/workflows/mirrorctl.yml
    """
    from mirrorctl.core.config import load_config
    from mirrorctl.core.files import atomic_write_text
    from mirrorctl.night.ci.github_workflow import generate_workflow
    from mirrorctl.night.ci.pipeline import PipelineOptions, generate_pipeline

    config = load_config(g.config_path)
    install = install or _pinned_install()
    root = Path.cwd()
    if output is not None:
        folder = output.absolute().parent
        root = folder.parent.parent if (folder.name, folder.parent.name) == (
            "workflows", ".github") else folder
    generators = {"github": generate_workflow, "gitlab": generate_pipeline}
    text = generators[forge](config, config.active(packages), PipelineOptions(
        root=root, config=g.config_path, image=image or None, install=install, push=push,
        max_jobs=max_jobs, notify=config.notices is not None))
    if output is None or dry_run:
        g.echo(text.rstrip("\n"))
    else:
        atomic_write_text(output, text)
        g.echo(f"wrote {output}")


def _pinned_install() -> str:
    """How the runners install exactly this mirrorctl, from how it was installed here."""
    import importlib.metadata

    from mirrorctl.night.ci.pipeline import DISTRIBUTION, pinned_install

    # The one an installer put there (a source checkout's egg-info on the path is not it).
    found = next((d for d in importlib.metadata.distributions(name=DISTRIBUTION)
                  if d.read_text("INSTALLER")), None)
    text = found.read_text("direct_url.json") if found is not None else None
    try:
        direct = json.loads(text) if text else None
    except ValueError:
        direct = {}
    command = pinned_install(direct, __version__) if found is not None else None
    if command is None:
        where = (direct or {}).get("url", "an unknown place")
        raise click.UsageError(
            f"this mirrorctl ({__version__}) was installed from {where}, which the CI runners "
            "cannot reach, so the pipeline cannot install exactly it; pass --install with "
            "the command that does, e.g. --install \"pip install "
            f"'{DISTRIBUTION} @ git+https://HOST/PATH.git@COMMIT'\" or a wheel of it that "
            "the repository holds")
    return command


@click.command()
@click.option("--output-dir", "--dir", "root", type=click.Path(file_okay=False, path_type=Path),
              default="mirrorctl-demo", show_default=True,
              help="Where to build the sandbox (a previous demo there is replaced; --dir is "
                   "its old name).")
@format_option
@click.pass_obj
def demo(g: Globals, root: Path, fmt: str) -> None:
    """Build a self-contained sandbox and run the nightly on it.

    Local upstream repositories with real-looking releases, mirrors that carry
    riscv64 patch branches, riscv64 patch queues and a mirrors.yaml; no network. It
    syncs once, moves the upstreams as real ones move (a release that switches build
    backend, one that merged a riscv64 patch, one that reworked a patched line, a
    re-tagged release, a force-pushed branch, a deleted branch), then runs the whole
    nightly (sync, releases, rebases, report) and says where the report is.

    \b
    Exit status 0, 1 when a sync of the sandbox failed, 130/143 interrupted.

    \b
    Examples:
      mirrorctl demo
      mirrorctl demo --dir /tmp/sandbox --format json
    """
    from mirrorctl.core.config import load_config
    from mirrorctl.core.files import atomic_write_text
    from mirrorctl.core.git import GitRunner, GitSettings
    from mirrorctl.core.lock import workdir_lock
    from mirrorctl.night.demo import build_demo, evolve_upstreams
    from mirrorctl.night.nightly import NightlyOptions, run_nightly
    from mirrorctl.sync.run import SyncOptions, sync_packages

    root = root.resolve()
    setup = GitRunner(GitSettings(base_env=dict(os.environ), redactor=g.redactor,
                                  allowed_protocols=("file",)))
    site = build_demo(root, setup)
    config = load_config(site.config)
    packages = config.select(())
    with workdir_lock(site.workdir, "demo") as lock_fd, progress_on_stderr(g) as progress:
        runner = GitRunner(GitSettings(base_env=dict(os.environ), redactor=g.redactor,
                                       inherit_fds=(lock_fd,)))
        first = sync_packages(packages, SyncOptions(workdir=site.workdir, jobs=config.jobs,
                                                    stamp=utc_stamp()),
                              runner, sleep=time.sleep)
        changes = evolve_upstreams(site, setup)
        night = run_nightly(config, packages, NightlyOptions(
            workdir=site.workdir, jobs=config.jobs, stamp=utc_stamp()), runner,
            sleep=time.sleep, progress=progress)
    report, html = site.root / "report.md", site.root / "report.html"
    _keep_last_report(g, site.workdir, night)  # `report --last` there, as after a nightly
    atomic_write_text(report, REPORT_RENDERERS["md"](night.report))
    atomic_write_text(html, REPORT_RENDERERS["html"](night.report))
    g.echo(DEMO_RENDERERS[fmt](DemoRun(site=site, changes=tuple(changes), first=first,
                                       nightly=night, report=report, html=html,
                                       program=program())))
    if first.failed or night.sync.failed:
        raise SystemExit(EXIT_FAILURE)


@dataclass(frozen=True, kw_only=True)
class DemoRun:
    site: DemoSite
    changes: tuple[str, ...]
    first: SyncReport
    nightly: NightlyResult
    report: Path
    html: Path | None = None  # the same report as a page, with the trend chart
    program: str = "mirrorctl"  # how to invoke mirrorctl again, for the closing hints


def demo_json(run: DemoRun) -> str:
    return json.dumps({"dir": str(run.site.root), "config": str(run.site.config),
                       "workdir": str(run.site.workdir), "upstream_changes": list(run.changes),
                       "first_sync": sync_data(run.first),
                       "nightly": json.loads(nightly_json(run.nightly)),
                       "report": str(run.report),
                       "html": str(run.html) if run.html else None}, indent=2)


def demo_table(run: DemoRun) -> str:
    return "\n".join([
        f"mirrorctl demo: a sandbox in {run.site.root}", "",
        "1. First sync: the mirrors receive upstream's branches and release tags;",
        "   their own riscv64/* branches stay as they are.", "",
        sync_table(run.first), "",
        "2. Meanwhile upstream:",
        *(f"   - {change}" for change in run.changes), "",
        "3. The nightly: sync, new releases, the riscv64 queues carried onto them, the",
        "   upstreaming report, and what needs a person:", "",
        nightly_table(run.nightly), "",
        f"The report: {run.report}" + (f" (and as a page: {run.html})" if run.html else ""),
        "Try it yourself (mirrors.yaml, patchsets/ and the work directory are there):",
        f"   cd {run.site.root}",
        f"   {run.program} classify",
        f"   {run.program} rebase scipy --worktree /tmp/scipy-rebase   # resolve the conflict",
        f"   {run.program} upstream draft numpy",
        f"   {run.program} ci generate --install 'pip install WHEEL-OR-GIT-URL'   "
        "# the nightly as a GitLab CI pipeline",
        f"   {run.program} sync numpy --force-tags   # follow the re-tagged release",
    ])


def nightly_json(result: NightlyResult) -> str:
    from mirrorctl.report.wire import report_to_json

    return json.dumps({
        "sync": sync_data(result.sync), "releases": releases_data(list(result.releases)),
        "rebases": [rebase_data(r) for r in result.rebases],
        "rebase_errors": [{"package": n, "error": e} for n, e in result.rebase_errors],
        "report": report_to_json(result.report), "needs_human": list(result.needs_human),
        "needs": [{"package": n.package or None, "kind": n.kind,
                   "ref": n.subject if n.kind in ("ref-needs-decision", "push-refused")
                   else None,
                   "patch": n.subject if n.kind == "conflict" else None, "detail": n.detail}
                  for n in result.needs],
        "history": str(result.history) if result.history else None,
        "dry_run": result.dry_run,
        "stages": [{"name": s.name, "outcome": s.outcome, "seconds": s.seconds}
                   for s in result.stages],
        "notices": notices_data(result.notices) if result.notices else None,
        "wheels": [road_json(r) for r in result.wheels],
        "retirements": [{"package": r.package, "action": r.action, "url": r.url,
                         "branch": r.branch, "reason": r.reason, "fixes": r.fixes,
                         "detail": r.detail} for r in result.retirements]}, indent=2)


def nightly_table(result: NightlyResult) -> str:
    parts = ["== sync ==", sync_table(result.sync), "", "== new releases ==",
             releases_table(list(result.releases))]
    if result.rebases or result.rebase_errors:
        parts += ["", "== rebases =="]
        parts += [rebase_table(r) for r in result.rebases]
        parts += [f"{name}: rebase failed: {error}" for name, error in result.rebase_errors]
    if result.retirements:
        parts += ["", "== retirements =="]
        parts += [f"{r.package}: {r.action} {r.url or ''} ({r.detail or r.reason})".replace(
            "  (", " (") for r in result.retirements]
    parts += ["", "== upstreaming ==", result.report.summary, ""]
    if result.report.stacks is not None:
        from mirrorctl.report.stacks import stacks_markdown

        parts += ["== stacks ==", *stacks_markdown(result.report.stacks)[3:], ""]
    changed = [r for r in result.wheels if r.changed]
    if result.wheels:
        counts = Counter(r.state for r in result.wheels)
        parts += ["== upstream riscv64 wheels ==",
                  ", ".join(f"{n} {state}" for state, n in counts.most_common()),
                  *[f"- {r.name}: {r.previous} -> {r.state}" for r in changed], ""]
    if result.notices is not None:
        parts += ["== notices ==", *notices_lines(result.notices), ""]
    if result.needs_human:
        parts.append(f"== needs a person ({len(result.needs_human)}) ==")
        parts += [f"- {need}" for need in result.needs_human]
    else:
        parts.append("nothing needs a person")
    unwritten = "not written: a dry run" if result.dry_run else "not written (see above)"
    parts.append(f"history: {result.history or unwritten}")
    parts.append("stages: " + ", ".join(f"{s.name} {s.seconds:.1f} s" for s in result.stages))
    return "\n".join(parts)


NIGHTLY_RENDERERS: dict[str, Callable[[NightlyResult], str]] = {
    "table": nightly_table, "json": nightly_json}
DEMO_RENDERERS: dict[str, Callable[[DemoRun], str]] = {"table": demo_table, "json": demo_json}
