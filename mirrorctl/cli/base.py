"""What every command shares: the global options, the git runner and forge settings
they build from the environment, progress on stderr, and small text helpers.

The command line is the only layer that reads the environment, the clock and the
terminal; what it resolves here goes down as frozen options.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from mirrorctl.core.redact import Redactor

if TYPE_CHECKING:
    from mirrorctl.core.config import Config
    from mirrorctl.core.git import GitRunner
    from mirrorctl.core.progress import Progress
    from mirrorctl.core.run import Run
    from mirrorctl.grade.classify import BuildReasons
    from mirrorctl.upstream.forges.forge import ForgeSettings

__all__ = ["Globals", "RedactingFormatter", "build_reasons_of", "forge_settings",
           "format_option", "git_runner", "jobs_option", "plural", "program",
           "progress_on_stderr", "reading", "resolve_run", "short_sha", "utc_stamp",
           "wait_option", "writing"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, kw_only=True)
class Globals:
    config_path: Path
    workdir: Path
    verbose: int
    quiet: bool
    redactor: Redactor

    def echo(self, text: str) -> None:
        click.echo(self.redactor(text))


_WAIT = "mirrorctl.wait"  # where --wait leaves its value, in the command's context


def wait_option(func: F) -> F:
    """--wait [SECONDS] on a command that writes: wait for another writer to finish."""
    def remember(ctx: click.Context, param: click.Parameter, value: float | None) -> None:
        ctx.meta[_WAIT] = value

    return click.option(
        "--wait", type=click.FloatRange(min=0), is_flag=False, flag_value=float("inf"),
        default=None, expose_value=False, callback=remember, metavar="[SECONDS]",
        help="When another mirrorctl run writes in the work directory, wait for it (at "
             "most SECONDS) instead of exiting 75.")(func)


def writing(g: Globals, command: str) -> contextlib.AbstractContextManager[int]:
    """The work directory, alone: what a command that writes in it holds."""
    from mirrorctl.core.lock import workdir_lock

    wait = click.get_current_context().meta.get(_WAIT)
    return workdir_lock(g.workdir, command, wait=wait)


def reading(g: Globals) -> contextlib.AbstractContextManager[int]:
    """The work directory, beside any writer: what a command that only reads holds."""
    from mirrorctl.core.lock import reader_lock

    return reader_lock(g.workdir)


def jobs_option(func: F) -> F:
    """--jobs/-j on a command that runs a pool: every pool of the run takes it."""
    return click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
                        help="Packages worked on at once, by every pool of the run "
                             "[default: defaults.jobs in mirrors.yaml, else 4].")(func)


def resolve_run(g: Globals, config: Config, jobs: int | None = None,
                stamp: str | None = None) -> Run:
    """The run, resolved once: the command line over mirrors.yaml's defaults."""
    from mirrorctl.core.run import Run
    from mirrorctl.queue.folders import currents_of

    return Run(workdir=g.workdir, jobs=jobs or config.jobs, stamp=stamp or utc_stamp(),
               currents=currents_of(config))


def format_option(func: F) -> F:
    return click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
                        show_default=True, help="table for people, json for scripts.")(func)


@contextlib.contextmanager
def progress_on_stderr(g: Globals) -> Iterator[Progress]:
    """Progress on stderr (a live board on a terminal), stopped before the result shows."""
    from mirrorctl.cli.board import open_progress
    from mirrorctl.core.progress import SILENT

    progress = SILENT if g.quiet else open_progress(sys.stderr, g.redactor)
    try:
        yield progress
    finally:
        progress.close()


def git_runner(g: Globals, config: Config, lock_fd: int) -> GitRunner:
    """The git runner of a command that holds the work-directory lock."""
    from mirrorctl.core.git import GitRunner, GitSettings

    return GitRunner(GitSettings(base_env=dict(os.environ), redactor=g.redactor,
                                 credential_helper=config.credential_helper,
                                 inherit_fds=(lock_fd,)))


def forge_settings(config: Config) -> ForgeSettings:
    from mirrorctl.upstream.forges.forge import ForgeSettings

    # python-gitlab's own configuration, where python-gitlab itself looks for it.
    files = [os.environ.get("PYTHON_GITLAB_CFG", ""),
             os.path.expanduser("~/.python-gitlab.cfg"), "/etc/python-gitlab.cfg"]
    return ForgeSettings(apis=config.forge_apis, retries=config.retries,
                         search_rate=config.search_rate,
                         github_token=os.environ.get("MIRRORCTL_GITHUB_TOKEN"),
                         gitlab_token=os.environ.get("MIRRORCTL_GITLAB_TOKEN"),
                         gitlab_config_files=tuple(f for f in files if f))


def build_reasons_of(g: Globals, config: Config,
                     forges: ForgeSettings | None = None) -> BuildReasons | None:
    """Where the upgrades' build results come from, for the grades of a command: the
    forge of the builders' repository (`pull_requests`), read with `forges` (else the
    environment's settings); None without that repository."""
    if config.pull_requests is None:
        return None
    from mirrorctl.night.deliver.build_results import upgrade_build_reasons

    return upgrade_build_reasons(config, forges or forge_settings(config), g.workdir)


def utc_stamp() -> str:
    """Now, to the microsecond: two runs never share a history record."""
    from datetime import datetime, timezone

    from mirrorctl.core.stamps import STAMP_FORMAT

    return datetime.now(timezone.utc).strftime(STAMP_FORMAT)


def program() -> str:
    """How this mirrorctl was started, so that printed hints can be pasted as they are."""
    import shutil

    argv0 = Path(sys.argv[0])
    if argv0.name == "__main__.py":
        return f"{sys.executable} -m mirrorctl"
    on_path = shutil.which("mirrorctl")
    if on_path and Path(on_path).resolve() == argv0.resolve():
        return "mirrorctl"
    return str(argv0.resolve()) if argv0.name == "mirrorctl" else "mirrorctl"


def plural(n: int, noun: str, many: str = "") -> str:
    """"1 patch", "2 patches"."""
    return f"{n} {noun}" if n == 1 else f"{n} {many or noun + 's'}"


def short_sha(sha: str | None) -> str:
    return sha[:10] if sha else "-"


class RedactingFormatter(logging.Formatter):
    def __init__(self, redactor: Redactor, fmt: str) -> None:
        super().__init__(fmt)
        self._redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self._redactor(super().format(record))
