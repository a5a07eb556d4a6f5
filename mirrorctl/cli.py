"""The command line. Thin: parse, load config, call one domain function, render.

This is the only place that reads the environment, the clock for crash logs,
and the terminal; everything below gets frozen options passed in.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from mirrorctl import __version__
from mirrorctl.errors import EXIT_FAILURE, EXIT_INTERNAL, EXIT_OK, ConfigError, MirrorctlError
from mirrorctl.redact import Redactor, secrets_from_environ

if TYPE_CHECKING:
    from mirrorctl.config import Config, Package
    from mirrorctl.forge import ForgeSettings
    from mirrorctl.git import GitRunner
    from mirrorctl.progress import Progress

F = TypeVar("F", bound=Callable[..., Any])

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
# Where a crash log goes: set as soon as the options are parsed, read by main() after
# the context that knew it is gone.
_crash_dir: list[Path] = []


@dataclass(frozen=True, kw_only=True)
class Globals:
    config_path: Path
    workdir: Path
    verbose: int
    quiet: bool
    redactor: Redactor

    def echo(self, text: str) -> None:
        click.echo(self.redactor(text))


def _format_option(func: F) -> F:
    return click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
                        show_default=True, help="table for people, json for scripts.")(func)


@click.group(context_settings=CONTEXT)
@click.option("--config", "config_path", envvar="MIRRORCTL_CONFIG", show_envvar=True,
              default="mirrors.yaml", show_default=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="The package inventory.")
@click.option("--workdir", envvar="MIRRORCTL_WORKDIR", show_envvar=True, default=".mirrorctl",
              show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="Caches, state, locks and logs.")
@click.option("-v", "--verbose", count=True, help="More detail on stderr; -vv shows git commands.")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines on stderr.")
@click.version_option(__version__, prog_name="mirrorctl")
@click.pass_context
def cli(ctx: click.Context, config_path: Path, workdir: Path, verbose: int, quiet: bool) -> None:
    """Mirror upstream repositories and carry the riscv64 patch queues across releases.

    \b
    Exit status: 0 success, 1 a package failed (or another run holds the lock),
    2 bad usage or configuration, 3 an unexpected error (a crash log is written).

    \b
    Examples:
      mirrorctl validate
      mirrorctl sync                       # every package in ./mirrors.yaml
      mirrorctl sync numpy scipy --dry-run
      mirrorctl --config /etc/mirrorctl/mirrors.yaml sync --format json
    """
    _crash_dir[:] = [workdir / "logs"]
    redactor = ctx.obj if isinstance(ctx.obj, Redactor) else _environ_redactor()
    ctx.obj = Globals(config_path=config_path, workdir=workdir, verbose=verbose, quiet=quiet,
                      redactor=redactor)
    _setup_logging(verbose, redactor)


def _environ_redactor() -> Redactor:
    return Redactor(secrets_from_environ(os.environ))


def _setup_logging(verbose: int, redactor: Redactor) -> None:
    from mirrorctl.output import RedactingFormatter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(redactor, "mirrorctl: %(levelname)s: %(message)s"))
    root = logging.getLogger("mirrorctl")
    root.handlers[:] = [handler]
    root.setLevel({0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG))


@cli.command()
@_format_option
@click.pass_obj
def validate(g: Globals, fmt: str) -> None:
    """Check mirrors.yaml and every patch queue: every problem with its file and line.

    Each patch must parse, carry a valid Upstream-Status line and touch no path
    outside the source tree.

    \b
    Exit status 0 when all is valid, 2 when anything is not.

    \b
    Examples:
      mirrorctl validate
      mirrorctl --config other.yaml validate --format json
    """
    from mirrorctl.config import load_config
    from mirrorctl.output import ValidationResult, render
    from mirrorctl.patches import check_queues

    try:
        config = load_config(g.config_path)
        patches, problems = check_queues(config.patchsets, config.packages)
        result = ValidationResult(config=str(g.config_path), packages=len(config.packages),
                                  problems=tuple(problems), patches=patches)
    except ConfigError as exc:
        result = ValidationResult(config=str(g.config_path), packages=0, problems=exc.problems)
    g.echo(render("validate", fmt, result))
    if result.problems:
        raise SystemExit(ConfigError.exit_code)


@cli.command()
@click.argument("packages", nargs=-1)
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Packages synced at once [default: defaults.jobs in mirrors.yaml, else 4].")
@click.option("--dry-run", "-n", is_flag=True,
              help="Print the plan; push nothing (the local cache is still refreshed).")
@click.option("--force-tags", is_flag=True,
              help="Follow tags that upstream moved, where the mirror holds upstream's old value.")
@click.option("--prune", is_flag=True,
              help="Delete mirror branches that upstream deleted (only those mirrorctl pushed).")
@_format_option
@click.pass_obj
def sync(g: Globals, packages: tuple[str, ...], jobs: int | None, dry_run: bool,
         force_tags: bool, prune: bool, fmt: str) -> None:
    """Bring upstream branches and release tags into the mirrors.

    Mirror-only refs (riscv64/* branches, anything matching `protected`, anything
    mirrorctl did not push) are never moved or deleted. Every ref update carries a
    lease, so a change made in the mirror meanwhile is never overwritten.

    \b
    Exit status 0 when every package synced, 1 when any failed, 2 for bad usage.

    \b
    Examples:
      mirrorctl sync                      # all packages
      mirrorctl sync numpy pyyaml -j 2
      mirrorctl sync --dry-run --format json
      mirrorctl sync scipy --force-tags   # follow a tag upstream moved
    """
    from mirrorctl.config import load_config
    from mirrorctl.lock import workdir_lock
    from mirrorctl.output import render
    from mirrorctl.sync import SyncOptions, sync_packages

    config = load_config(g.config_path)
    selected = config.select(packages)
    options = SyncOptions(workdir=g.workdir, jobs=jobs or config.jobs, force_tags=force_tags,
                          prune=prune, dry_run=dry_run)
    with workdir_lock(g.workdir, "sync") as lock_fd, _progress(g) as progress:
        runner = _runner(g, config, lock_fd)
        report = sync_packages(selected, options, runner, sleep=time.sleep, progress=progress)
    g.echo(render("sync", fmt, report))
    if report.failed:
        raise SystemExit(EXIT_FAILURE)


@contextlib.contextmanager
def _progress(g: Globals) -> Iterator[Progress]:
    """Progress on stderr (a live board on a terminal), stopped before the result shows."""
    from mirrorctl.progress import SILENT, open_progress

    progress = SILENT if g.quiet else open_progress(sys.stderr, g.redactor)
    try:
        yield progress
    finally:
        progress.close()


def _runner(g: Globals, config: Config, lock_fd: int) -> GitRunner:
    """The git runner of a command that holds the work-directory lock."""
    from mirrorctl.git import GitRunner, GitSettings

    return GitRunner(GitSettings(base_env=dict(os.environ), redactor=g.redactor,
                                 credential_helper=config.credential_helper,
                                 inherit_fds=(lock_fd,)))


@cli.group()
def patches() -> None:
    """Apply a patch queue to its release, or export a branch as a queue.

    A queue is patchsets/<package>/<version>/: `git format-patch` files, each with
    an Upstream-Status line, in the order of an optional `series` file, else in
    file-name order.

    \b
    Examples:
      mirrorctl patches apply numpy --push
      mirrorctl patches export numpy --base v2.2.4 --from-branch riscv64/2.2.4
    """


@patches.command("apply")
@click.argument("package")
@click.option("--version", "version", help="The queue to apply [default: the package's version].")
@click.option("--push", is_flag=True,
              help="Push riscv64/<version> to the mirror (with a lease).")
@click.option("--force", is_flag=True,
              help="With --push: replace a different riscv64/<version> in the mirror.")
@_format_option
@click.pass_obj
def patches_apply(g: Globals, package: str, version: str | None, push: bool, force: bool,
                  fmt: str) -> None:
    """Apply a queue to its release tag and make branch riscv64/<version>.

    The patches are replayed in the package's cache (run `mirrorctl sync` first),
    without a checkout; each commit keeps its patch's author, date and message, so
    applying the same queue twice gives the same commits.

    \b
    Exit status 0 when the queue applies (and pushes), 1 when a patch does not
    apply or the push is refused, 2 for a bad queue or bad usage.

    \b
    Examples:
      mirrorctl patches apply numpy
      mirrorctl patches apply numpy --version 2.2.4 --push
      mirrorctl patches apply scipy --push --force --format json
    """
    from mirrorctl.config import load_config
    from mirrorctl.lock import workdir_lock
    from mirrorctl.output import render
    from mirrorctl.queues import ApplyOptions, apply_package_queue

    config = load_config(g.config_path)
    [selected] = config.select([package])
    options = ApplyOptions(workdir=g.workdir, version=version, push=push, force=force)
    with workdir_lock(g.workdir, "patches apply") as lock_fd:
        report = apply_package_queue(config, selected, options, _runner(g, config, lock_fd))
    g.echo(render("apply", fmt, report))
    if report.failed:
        raise SystemExit(EXIT_FAILURE)


@patches.command("export")
@click.argument("package")
@click.option("--base", required=True, help="The release tag (or version) the branch starts from.")
@click.option("--from-branch", "from_branch", required=True,
              help="The mirror branch whose commits become the queue, e.g. riscv64/2.2.4.")
@click.option("--version", "version",
              help="The queue to write [default: the version of --base].")
@_format_option
@click.pass_obj
def patches_export(g: Globals, package: str, base: str, from_branch: str, version: str | None,
                   fmt: str) -> None:
    """Turn the commits of a mirror branch into a patch queue.

    Writes patchsets/<package>/<version>/ with git format-patch, headers kept.
    The output is stable (no commit ids, export dates or version signatures), so
    re-exporting an unchanged branch changes no byte; the folder is replaced whole,
    never half written. Every commit must carry an Upstream-Status line.

    \b
    Exit status 0 when the queue is written (or unchanged), 2 for a bad branch,
    base or commit message.

    \b
    Examples:
      mirrorctl patches export numpy --base v2.2.4 --from-branch riscv64/2.2.4
      mirrorctl patches export scipy --base 1.15.2 --from-branch riscv64/1.15.2 --format json
    """
    from mirrorctl.config import load_config
    from mirrorctl.lock import workdir_lock
    from mirrorctl.output import render
    from mirrorctl.queues import ExportOptions, export_queue

    config = load_config(g.config_path)
    [selected] = config.select([package])
    options = ExportOptions(workdir=g.workdir, base=base, from_branch=from_branch,
                            version=version)
    with workdir_lock(g.workdir, "patches export") as lock_fd:
        report = export_queue(config, selected, options, _runner(g, config, lock_fd))
    g.echo(render("export", fmt, report))


@cli.command()
@click.argument("package")
@click.option("--onto", help="The release tag or version to carry the queue onto "
                             "[default: the newest release in the cache].")
@click.option("--keep-partial", is_flag=True,
              help="Write the new queue even when a patch conflicts (without that patch).")
@click.option("--force", is_flag=True, help="Replace a different existing queue of the new "
                                            "version.")
@click.option("--range-diff", "range_diff", is_flag=True,
              help="Show how each patch changed between the old and the new queue.")
@click.option("--worktree", type=click.Path(file_okay=False, path_type=Path),
              help="Leave the first conflict in this new folder for a person to resolve.")
@click.option("--continue", "resume", is_flag=True,
              help="Take the resolution made in the --worktree folder and go on.")
@click.option("--push", is_flag=True,
              help="After a clean rebase, push riscv64/<new version> to the mirror (leased).")
@click.option("--open-mr", "open_mr", is_flag=True,
              help="With --push: open (or update) the mirror's merge request, described by "
                   "this report, the grade and the range-diff.")
@click.option("--mr-target", default="main", show_default=True,
              help="The mirror branch the merge request targets.")
@_format_option
@click.pass_obj
def rebase(g: Globals, package: str, onto: str | None, keep_partial: bool, force: bool,
           range_diff: bool, worktree: Path | None, resume: bool, push: bool, open_mr: bool,
           mr_target: str, fmt: str) -> None:
    """Carry a package's patch queue onto a new release, without a checkout.

    The queue of the package's current version is replayed on the new release's tag
    in the package's cache (run `mirrorctl sync` first). Each patch is "applied" (as it
    is), "merged" (3-way, renamed paths or shifted context: refreshed), "upstreamed"
    (the new release has it) or "conflict" (files and hunks shown); a conflict does
    not stop the later patches. The new queue is written to
    patchsets/<package>/<new version>/ when nothing conflicts; nothing else changes.

    To resolve a conflict by hand, add --worktree DIR: the first conflicting patch
    waits there, cherry-picked with its conflict markers. Resolve the files, `git add`
    them (committing is optional), then run `mirrorctl rebase PACKAGE --continue`.
    Resolutions are remembered with git rerere in patchsets/<package>/.rr-cache
    (commit it with the queues) and reused when the same conflict comes up again.

    \b
    Exit status 0 clean, 1 a patch conflicts, 2 bad usage (an --onto that is no tag
    or version of the package, a bad queue).

    \b
    Examples:
      mirrorctl rebase numpy                    # onto the newest release
      mirrorctl rebase numpy --onto v2.3.0 --range-diff
      mirrorctl rebase scipy --onto 1.15.0 --keep-partial --format json
      mirrorctl rebase numpy --worktree /tmp/numpy-rebase   # then resolve, git add, and:
      mirrorctl rebase numpy --continue
    """
    from mirrorctl.config import load_config
    from mirrorctl.lock import workdir_lock
    from mirrorctl.output import render
    from mirrorctl.rebasing import RebaseOptions, continue_rebase, rebase_queue

    if resume and (onto or worktree or keep_partial or force):
        raise click.UsageError("--continue goes on with the stopped rebase's own options; "
                               "pass only --range-diff and --format with it")
    if open_mr and not push:
        raise click.UsageError("--open-mr needs --push: the merge request shows the pushed "
                               "branch")
    config = load_config(g.config_path)
    [selected] = config.select([package])
    options = RebaseOptions(workdir=g.workdir, onto=onto, keep_partial=keep_partial,
                            force=force, range_diff=range_diff, worktree=worktree, push=push,
                            grade=open_mr)
    with workdir_lock(g.workdir, "rebase") as lock_fd:
        runner = _runner(g, config, lock_fd)
        run = continue_rebase if resume else rebase_queue
        report = run(config, selected, options, runner)
        if open_mr and report.push in ("created", "updated", "unchanged"):
            from dataclasses import replace

            from mirrorctl.rebasing import open_mirror_request

            url, action = open_mirror_request(selected, report, render("rebase", "md", report),
                                              _forge_settings(config), target=mr_target)
            report = replace(report, merge_request=url, merge_request_action=action)
    g.echo(render("rebase", fmt, report))
    if report.status == "conflict" or report.push in ("refused", "rejected"):
        raise SystemExit(EXIT_FAILURE)


@cli.command()
@click.argument("packages", nargs=-1)
@click.option("--pre", is_flag=True, help="Count pre-releases and dev releases too.")
@click.option("--max", "limit", type=click.IntRange(min=1), default=3, show_default=True,
              help="New versions listed a package (the newest).")
@click.option("--pypi", is_flag=True,
              help="Cross-check PyPI: tags without releases, releases without tags, and "
                   "whether upstream now ships riscv64 wheels (can retire).")
@_format_option
@click.pass_obj
def releases(g: Globals, packages: tuple[str, ...], pre: bool, limit: int, pypi: bool,
             fmt: str) -> None:
    """List the upstream releases newer than each package's current version.

    Release tags in the package's cache (run `mirrorctl sync` first) become versions
    through tag_format and compare as PEP 440 versions; tags that are no version, and
    pre-releases and dev releases unless --pre, are left out.

    \b
    Exit status 0, or 1 when a package could not be checked (no cache, PyPI trouble).

    \b
    Examples:
      mirrorctl releases
      mirrorctl releases numpy scipy --max 5
      mirrorctl releases --pypi --format json
    """
    from mirrorctl.config import load_config
    from mirrorctl.git import GitRunner, GitSettings
    from mirrorctl.output import render
    from mirrorctl.releases import ReleaseOptions, check_releases

    config = load_config(g.config_path)
    selected = config.select(packages)
    runner = GitRunner(GitSettings(base_env=dict(os.environ), redactor=g.redactor))
    options = ReleaseOptions(workdir=g.workdir, pre=pre, limit=limit, pypi=pypi)
    found = check_releases(config, selected, options, runner)
    g.echo(render("releases", fmt, found))
    if any(r.problems or r.pypi_error for r in found):
        raise SystemExit(EXIT_FAILURE)


@cli.command()
@click.argument("packages", nargs=-1)
@click.option("--onto", help="The release tag or version to grade the upgrade to (one package) "
                             "[default: the newest release].")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Packages graded at once [default: defaults.jobs].")
@click.option("--format", "fmt", type=click.Choice(["table", "text", "json"]), default="table",
              show_default=True, help="table, one line a package (text), or json.")
@click.pass_obj
def classify(g: Globals, packages: tuple[str, ...], onto: str | None, jobs: int | None,
             fmt: str) -> None:
    """Grade each package's upgrade easy / medium / hard, with the reasons.

    \b
    easy:   just add the new version and trigger a build;
    medium: the build environment needs tweaks, or a patch needs work;
    hard:   careful review or a CI overhaul (a patch conflicts, the build backend
            changed, a Rust or Fortran toolchain appears, NaN tests are patched).

    The facts come from the git objects of both release tags in the package's cache
    (pyproject.toml, setup.cfg, setup.py, meson.build, CI files) and from a rebase dry
    run of the queue; nothing is checked out or written. Reason levels are in
    grading.yaml, overridable under `defaults: grades:`; `pin_grade:` pins a package.

    \b
    Exit status 0, 1 when a package could not be graded, 2 for bad usage (an --onto
    that is no tag or version of the package).

    \b
    Examples:
      mirrorctl classify
      mirrorctl classify numpy --onto v2.3.0
      mirrorctl classify --format text
    """
    from mirrorctl.config import load_config
    from mirrorctl.lock import workdir_lock
    from mirrorctl.output import render
    from mirrorctl.upgrades import ClassifyOptions, classify_packages

    config = load_config(g.config_path)
    selected = config.select(packages)
    options = ClassifyOptions(workdir=g.workdir, onto=onto, jobs=jobs or config.jobs)
    # The dry run writes objects into the caches: keep sync and rebase out meanwhile.
    with workdir_lock(g.workdir, "classify") as lock_fd:
        found = classify_packages(config, selected, options, _runner(g, config, lock_fd))
    g.echo(render("classify", fmt, found))
    if any(c.error for c in found):
        raise SystemExit(EXIT_FAILURE)


@cli.group()
def upstream() -> None:
    """Draft upstream merge requests and issues for the riscv64 patches.

    \b
    Examples:
      mirrorctl upstream draft numpy
      mirrorctl upstream draft numpy --patch 0001-BLD-riscv64.patch --out drafts/
    """


@upstream.command("draft")
@click.argument("package")
@click.option("--patch", "patch", help="Draft only this patch (its file name).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the drafts [default: <workdir>/drafts/<package>/].")
@click.option("--force", is_flag=True, help="Overwrite drafts that were edited since.")
@_format_option
@click.pass_obj
def upstream_draft(g: Globals, package: str, patch: str | None, out: Path | None, force: bool,
                   fmt: str) -> None:
    """Write a draft request for each patch still to go upstream.

    Every patch of the current queue whose Upstream-Status is Pending or To upstream
    gets a markdown draft with YAML front matter: an "mr" for a change upstream can
    take as it is, an "issue" for a riscv64 problem whose fix needs upstream's design
    (a test skipped, a build flag forced). The title follows upstream's commit-subject
    prefixes, and the body fills its PR template or issue form, read from the release
    tag. Nothing is sent: a maintainer reads, edits and submits. A draft edited since
    it was written is kept unless --force.

    \b
    Examples:
      mirrorctl upstream draft numpy
      mirrorctl upstream draft scipy --patch 0002-TST-skip-nan.patch --format json
    """
    from mirrorctl.config import load_config
    from mirrorctl.drafts import DraftOptions, write_drafts
    from mirrorctl.lock import workdir_lock
    from mirrorctl.output import render

    config = load_config(g.config_path)
    [selected] = config.select([package])
    options = DraftOptions(workdir=g.workdir, patch=patch, out=out, force=force)
    with workdir_lock(g.workdir, "upstream draft") as lock_fd:
        written = write_drafts(config, selected, options, _runner(g, config, lock_fd))
    g.echo(render("drafts", fmt, written))


@upstream.command("submit")
@click.argument("draft", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--force", is_flag=True, help="Open it even when upstream has a likely duplicate.")
@_format_option
@click.pass_obj
def upstream_submit(g: Globals, draft: Path, force: bool, fmt: str) -> None:
    """Send a draft a maintainer has read and edited upstream.

    First the upstream's open issues and requests that mention riscv64 are searched;
    one that names the same files or most of the title's words stops the submission
    (it is shown; --force opens anyway). An issue draft opens an issue; an "mr" draft
    carries the patch onto upstream's target branch (in the cache, no checkout),
    pushes it with a lease to riscv64/<patch> in the builders' fork (`forks:` in
    mirrors.yaml) and opens a draft pull request (GitHub) or a "Draft:" merge request
    (GitLab). The patch's header then becomes `Issue [url]` or `Submitted [url]`.
    Tokens: MIRRORCTL_GITHUB_TOKEN, MIRRORCTL_GITLAB_TOKEN (never printed; also used
    to push to the fork over HTTPS).

    \b
    Exit status 0 submitted, 1 refused for a likely duplicate, a patch that does not
    apply to the target branch, or a forge failure; 2 bad usage (not a draft, a patch
    already submitted, no fork configured).

    \b
    Examples:
      mirrorctl upstream submit .mirrorctl/drafts/numpy/0002-TST-skip-nan.md
      mirrorctl upstream submit drafts/scipy/0001-BLD-riscv64.md --force
    """
    from mirrorctl.config import load_config
    from mirrorctl.lock import workdir_lock
    from mirrorctl.output import render
    from mirrorctl.submit import submit_draft

    config = load_config(g.config_path)
    forges = _forge_settings(config)
    with workdir_lock(g.workdir, "upstream submit") as lock_fd:
        done = submit_draft(config, draft, forges, runner=_runner(g, config, lock_fd),
                            workdir=g.workdir, force=force)
    g.echo(render("submit", fmt, done))
    if done.status != "submitted":
        raise SystemExit(EXIT_FAILURE)


def _forge_settings(config: Config) -> ForgeSettings:
    from mirrorctl.forge import ForgeSettings

    # python-gitlab's own configuration, where python-gitlab itself looks for it.
    files = [os.environ.get("PYTHON_GITLAB_CFG", ""),
             os.path.expanduser("~/.python-gitlab.cfg"), "/etc/python-gitlab.cfg"]
    return ForgeSettings(apis=config.forge_apis, retries=config.retries,
                         github_token=os.environ.get("MIRRORCTL_GITHUB_TOKEN"),
                         gitlab_token=os.environ.get("MIRRORCTL_GITLAB_TOKEN"),
                         gitlab_config_files=tuple(f for f in files if f))


@upstream.command("refresh")
@click.argument("packages", nargs=-1)
@click.option("--write", is_flag=True,
              help="Rewrite the Upstream-Status headers of accepted and refused patches.")
@_format_option
@click.pass_obj
def upstream_refresh(g: Globals, packages: tuple[str, ...], write: bool, fmt: str) -> None:
    """Ask the forges where each Submitted and Issue patch stands.

    A merged request is "accepted" (the next rebase should find the patch upstreamed);
    a closed, unmerged one "refused". With --write the headers follow, in the queue's
    vocabulary (`status_vocabulary` in mirrors.yaml): accepted becomes Backport [url];
    refused becomes Inappropriate [declined upstream: url] (builders) or Denied [url]
    (yocto). Tokens: MIRRORCTL_GITHUB_TOKEN, MIRRORCTL_GITLAB_TOKEN (never printed).

    \b
    Exit status 0, or 1 when a forge could not be asked about a patch.

    \b
    Examples:
      mirrorctl upstream refresh
      mirrorctl upstream refresh numpy --write --format json
    """
    from mirrorctl.config import load_config
    from mirrorctl.lock import workdir_lock
    from mirrorctl.output import render
    from mirrorctl.standing import RefreshOptions, refresh_packages

    config = load_config(g.config_path)
    selected = config.select(packages)
    forges = _forge_settings(config)
    with workdir_lock(g.workdir, "upstream refresh"):
        found = refresh_packages(config, selected, RefreshOptions(write=write), forges)
    g.echo(render("standing", fmt, found))
    if any(s.verdict == "error" for s in found):
        raise SystemExit(EXIT_FAILURE)


_REPORT_SUFFIXES = {".md": "md", ".markdown": "md", ".json": "json", ".html": "html",
                    ".htm": "html"}


@cli.command()
@click.argument("packages", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(["md", "json", "html"]), default="md",
              show_default=True,
              help="Markdown for people, json for scripts, html for one self-contained page "
                   "with the trend chart.")
@click.option("-o", "--output", "outputs", multiple=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to this file (whole, never half) instead of stdout. "
                   "Repeat it for several formats at once: a .md, .json or .html name picks "
                   "its format, any other name gets --format.")
@click.option("--merge", "merge_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Build the report from the JSON results in this directory (`nightly "
                   "--format json` or `report --format json`, one file a package, as the CI "
                   "pipeline's jobs leave them) instead of from the caches.")
@click.option("--record", is_flag=True,
              help="Append this report to the history in the work directory, as a nightly "
                   "run does (the CI pipeline's report job uses it).")
@click.pass_obj
def report(g: Globals, packages: tuple[str, ...], fmt: str, outputs: tuple[Path, ...],
           merge_dir: Path | None, record: bool) -> None:
    """The upstreaming report over all packages.

    For each package: the mirrored version against upstream's latest release, the
    grade of the upgrade with its reasons, and every patch by Upstream-Status with its
    link and how it carries onto the latest release; the conflicts waiting for a
    person; the patches accepted upstream and the patches dropped since the last
    nightly run (the newest record in <workdir>/history/); on top, one line in the
    manner of Yocto's patch metrics, e.g. "37 patches: 12 submitted, 9 pending, 10
    inappropriate, 6 backports". The html page adds the trend of pending, submitted
    and accepted patches over the nightly runs; it loads nothing from the network.

    With --merge, the packages of mirrors.yaml that have no result there are reported
    as such (their CI job failed before it wrote one).

    \b
    Examples:
      mirrorctl report
      mirrorctl report --format html -o report.html
      mirrorctl report -o report.md -o report.json -o report.html
      mirrorctl report --merge results/ --record -o report.html -o report.json
    """
    from mirrorctl.config import load_config
    from mirrorctl.fsutil import atomic_write_text
    from mirrorctl.history import read_history, write_record
    from mirrorctl.lock import workdir_lock
    from mirrorctl.output import render
    from mirrorctl.report import assemble, build_report, merged_packages

    if merge_dir is not None and packages:
        raise click.UsageError("--merge reports the packages in its results; name none")
    stamp = _utc_stamp()
    with workdir_lock(g.workdir, "report") as lock_fd, _progress(g) as progress:
        if merge_dir is not None:
            expected = (tuple(load_config(g.config_path).packages.values())
                        if g.config_path.exists() else ())
            built = assemble(merged_packages(merge_dir, expected), read_history(g.workdir),
                             stamp=stamp)
        else:
            config = load_config(g.config_path)
            built = build_report(config, config.select(packages), workdir=g.workdir,
                                 stamp=stamp, runner=_runner(g, config, lock_fd),
                                 progress=progress)
        if record:
            write_record(g.workdir, stamp, built, ())
    if not outputs:
        g.echo(render("report", fmt, built).rstrip("\n"))
    for output in outputs:
        text = render("report", _REPORT_SUFFIXES.get(output.suffix.lower(), fmt), built)
        atomic_write_text(output, g.redactor(text))
        g.echo(f"wrote {output}")


@cli.command()
@click.argument("packages", nargs=-1)
@click.option("--push", is_flag=True,
              help="Push new riscv64/<version> branches and open the mirrors' merge requests.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Packages synced at once [default: defaults.jobs].")
@_format_option
@click.pass_obj
def nightly(g: Globals, packages: tuple[str, ...], push: bool, jobs: int | None,
            fmt: str) -> None:
    """The nightly run: sync, releases, rebases of new releases, and the report.

    Every package with a new release has its queue carried onto the newest release
    (the new queue is written; with --push its branch goes to the mirror and the
    mirror's merge request is opened or updated). One package failing never stops the
    others. A JSON record of the run goes to <workdir>/history/.

    \b
    Exit status 0 when nothing needs a person, 1 when something does (the output
    says what), 2 for bad usage or configuration.

    \b
    Examples:
      mirrorctl nightly
      mirrorctl nightly --push --format json > nightly.json
    """
    from mirrorctl.config import load_config
    from mirrorctl.lock import workdir_lock
    from mirrorctl.nightly import NightlyOptions, run_nightly, with_request
    from mirrorctl.output import render
    from mirrorctl.rebasing import RebaseReport, open_mirror_request

    config = load_config(g.config_path)
    selected = config.select(packages)
    options = NightlyOptions(workdir=g.workdir, jobs=jobs or config.jobs, push=push,
                             stamp=_utc_stamp())

    def open_request(package: Package, rebased: RebaseReport) -> RebaseReport:
        url, action = open_mirror_request(package, rebased, render("rebase", "md", rebased),
                                          _forge_settings(config), target="main")
        return with_request(rebased, url, action)

    with workdir_lock(g.workdir, "nightly") as lock_fd, _progress(g) as progress:
        result = run_nightly(config, selected, options, _runner(g, config, lock_fd),
                             sleep=time.sleep, open_request=open_request if push else None,
                             progress=progress)
    g.echo(render("nightly", fmt, result))
    if result.needs_human:
        raise SystemExit(EXIT_FAILURE)


@cli.group()
def ci() -> None:
    """The nightly as a GitLab CI pipeline that spreads over the runners."""


@ci.command("generate")
@click.argument("packages", nargs=-1)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the pipeline to this file (e.g. .gitlab-ci.yml at the root of the "
                   "repository that holds mirrors.yaml) instead of stdout.")
@click.option("--image", default="python:3.11-bookworm", show_default=True,
              help="The jobs' container image (it needs git and Python 3.10+); an empty "
                   "value leaves it to the runners (shell executors).")
@click.option("--install", "install", default="python3 -m pip install --quiet mirrorctl",
              show_default=True,
              help="The command that puts mirrorctl on the jobs' PATH, e.g. a pip install "
                   "of a wheel or a git URL.")
@click.option("--push", is_flag=True,
              help="The nightly pushes new riscv64 branches and opens the mirrors' merge "
                   "requests (set MIRRORCTL_MIRROR_TOKEN and the forge tokens as masked "
                   "CI/CD variables).")
@click.pass_obj
def ci_generate(g: Globals, packages: tuple[str, ...], output: Path | None, image: str,
                install: str, push: bool) -> None:
    """Write a GitLab CI pipeline for the nightly: one job a package, then the report.

    The package jobs are one parallel:matrix over PACKAGE, so GitLab spreads them over
    its runners; each runs `mirrorctl nightly PACKAGE --format json`, keeps its cache
    in a GitLab cache and leaves its result and any new patch queue as artifacts. A
    package that needs a person exits 1, which the pipeline allows (a warning). The
    report job merges the results (`report --merge`), appends the run to the history
    (a GitLab cache of its own) and keeps report.html, report.md and report.json.
    The pipeline runs on schedules, and by hand from the web or the API.

    The paths in the pipeline are relative to the directory of --output (the current
    directory when it goes to stdout), which must hold mirrors.yaml and the queues.

    \b
    Examples:
      mirrorctl ci generate -o .gitlab-ci.yml
      mirrorctl ci generate --push --install "pip install ./dist/mirrorctl-*.whl"
      mirrorctl ci generate numpy scipy --image "" -o .gitlab-ci.yml
    """
    from mirrorctl.cipipeline import PipelineOptions, generate_pipeline
    from mirrorctl.config import load_config
    from mirrorctl.fsutil import atomic_write_text

    config = load_config(g.config_path)
    root = output.absolute().parent if output is not None else Path.cwd()
    text = generate_pipeline(config, config.select(packages), PipelineOptions(
        root=root, config=g.config_path, image=image or None, install=install, push=push))
    if output is None:
        g.echo(text.rstrip("\n"))
    else:
        atomic_write_text(output, text)
        g.echo(f"wrote {output}")


@cli.command()
@click.option("--dir", "root", type=click.Path(file_okay=False, path_type=Path),
              default="mirrorctl-demo", show_default=True,
              help="Where to build the sandbox (a previous demo there is replaced).")
@_format_option
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
    Examples:
      mirrorctl demo
      mirrorctl demo --dir /tmp/sandbox --format json
    """
    from mirrorctl.config import load_config
    from mirrorctl.demo import build_demo, evolve_upstreams
    from mirrorctl.fsutil import atomic_write_text
    from mirrorctl.git import GitRunner, GitSettings
    from mirrorctl.lock import workdir_lock
    from mirrorctl.nightly import NightlyOptions, run_nightly
    from mirrorctl.output import DemoRun, render
    from mirrorctl.sync import SyncOptions, sync_packages

    root = root.resolve()
    setup = GitRunner(GitSettings(base_env=dict(os.environ), redactor=g.redactor,
                                  allowed_protocols=("file",)))
    site = build_demo(root, setup)
    config = load_config(site.config)
    packages = config.select(())
    with workdir_lock(site.workdir, "demo") as lock_fd, _progress(g) as progress:
        runner = GitRunner(GitSettings(base_env=dict(os.environ), redactor=g.redactor,
                                       inherit_fds=(lock_fd,)))
        first = sync_packages(packages, SyncOptions(workdir=site.workdir, jobs=config.jobs),
                              runner, sleep=time.sleep)
        changes = evolve_upstreams(site, setup)
        night = run_nightly(config, packages, NightlyOptions(
            workdir=site.workdir, jobs=config.jobs, stamp=_utc_stamp()), runner,
            sleep=time.sleep, progress=progress)
    report, html = site.root / "report.md", site.root / "report.html"
    atomic_write_text(report, render("report", "md", night.report))
    atomic_write_text(html, render("report", "html", night.report))
    g.echo(render("demo", fmt, DemoRun(site=site, changes=tuple(changes), first=first,
                                       nightly=night, report=report, html=html,
                                       program=_program())))
    if first.failed or night.sync.failed:
        raise SystemExit(EXIT_FAILURE)


def _utc_stamp() -> str:
    """Now, to the microsecond: two runs never share a history record."""
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")


def _program() -> str:
    """How this mirrorctl was started, so that printed hints can be pasted as they are."""
    import shutil

    argv0 = Path(sys.argv[0])
    if argv0.name == "__main__.py":
        return f"{sys.executable} -m mirrorctl"
    on_path = shutil.which("mirrorctl")
    if on_path and Path(on_path).resolve() == argv0.resolve():
        return "mirrorctl"
    return str(argv0.resolve()) if argv0.name == "mirrorctl" else "mirrorctl"


def main(argv: list[str] | None = None) -> None:
    """Entry point: the one place that turns exceptions into exit statuses."""
    redactor = _environ_redactor()
    try:
        cli.main(args=argv, prog_name="mirrorctl", standalone_mode=False, obj=redactor)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("mirrorctl: interrupted", err=True)
        sys.exit(130)
    except MirrorctlError as exc:
        click.echo(redactor(f"mirrorctl: error: {exc}"), err=True)
        sys.exit(exc.exit_code)
    except SystemExit:
        raise
    except Exception:
        path = _write_crash_log(argv, redactor)
        click.echo(f"mirrorctl: unexpected error (a bug); details in {path}. "
                   "Please report it with that file.", err=True)
        sys.exit(EXIT_INTERNAL)
    sys.exit(EXIT_OK)


def _write_crash_log(argv: list[str] | None, redactor: Redactor) -> Path:
    import tempfile
    import traceback

    text = redactor(f"mirrorctl {__version__}\nargv: {argv or sys.argv[1:]}\n\n"
                     + traceback.format_exc())
    name = time.strftime("crash-%Y%m%d-%H%M%S") + f"-{os.getpid()}.log"
    for folder in (*_crash_dir, Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text, encoding="utf-8")
            return folder / name
        except OSError:
            continue
    sys.stderr.write(text)
    return Path("(stderr)")
