"""The command line's root: global options, logging, the commands of every family,
and main(), the one place that turns exceptions into exit statuses.

Each family of commands lives in its own module beside this one, with its renderers.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import NoReturn

import click

from mirrorctl import __version__
from mirrorctl.cli.base import Globals, RedactingFormatter
from mirrorctl.core.errors import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TERMINATED,
    FileSystemError,
    MirrorctlError,
)
from mirrorctl.core.redact import Redactor, secrets_from_environ

__all__ = ["cli", "main"]


CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


# Where a crash log goes: set as soon as the options are parsed, read by main() after
# the context that knew it is gone.
_crash_dir: list[Path] = []


# Each command and the module of its family: only the family of the command that runs is
# imported (a nightly job starts in a few hundredths of a second; --help loads them all).
COMMANDS = {
    "sync": "mirrorctl.cli.sync", "validate": "mirrorctl.cli.validate",
    "inventory": "mirrorctl.cli.validate",
    "patches": "mirrorctl.cli.queue", "rebase": "mirrorctl.cli.queue",
    "releases": "mirrorctl.cli.grade", "classify": "mirrorctl.cli.grade",
    "settle": "mirrorctl.cli.grade", "status": "mirrorctl.cli.grade",
    "upstream": "mirrorctl.cli.upstream", "report": "mirrorctl.cli.report",
    "notices": "mirrorctl.cli.report",
    "nightly": "mirrorctl.cli.night", "ci": "mirrorctl.cli.night", "demo": "mirrorctl.cli.night",
    "stack": "mirrorctl.cli.stack",
}


class _Families(click.Group):
    """The root group, whose commands live in their families' modules."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        import importlib

        command = getattr(importlib.import_module(COMMANDS[name]), name)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=_Families, context_settings=CONTEXT)
@click.option("--config", "config_path", envvar="MIRRORCTL_CONFIG", show_envvar=True,
              default="mirrors.yaml", show_default=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="The package inventory.")
@click.option("--workdir", envvar="MIRRORCTL_WORKDIR", show_envvar=True, default=None,
              type=click.Path(file_okay=False, path_type=Path),
              help="Caches, state, locks and logs [default: .mirrorctl beside the --config "
                   "file].")
@click.option("-v", "--verbose", count=True, help="More detail on stderr; -vv shows git commands.")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines on stderr.")
@click.version_option(__version__, prog_name="mirrorctl")
@click.pass_context
def cli(ctx: click.Context, config_path: Path, workdir: Path | None, verbose: int,
        quiet: bool) -> None:
    """Mirror upstream repositories and carry the riscv64 patch queues across releases.

    \b
    Exit status: 0 success, 1 a package failed (or a file could not be written), 2
    bad usage or configuration, 3 an unexpected error (a crash log is written), 75
    another run holds the work directory (try again, or --wait), 130 Ctrl-C, 143
    SIGTERM.

    \b
    Examples:
      mirrorctl validate
      mirrorctl sync                       # every package in ./mirrors.yaml
      mirrorctl sync numpy scipy --dry-run
      mirrorctl --config /etc/mirrorctl/mirrors.yaml sync --format json
    """
    if ctx.get_parameter_source("config_path") == click.core.ParameterSource.DEFAULT \
            and not config_path.exists() and (found := _rebase_site(Path.cwd())):
        config_path, workdir = found[0], workdir or found[1]  # inside a rebase's worktree
    # Beside mirrors.yaml, wherever the command runs: one cache and state a site; absolute,
    # since the current directory may go (a worktree that --continue removes).
    workdir = (workdir if workdir is not None else config_path.parent / ".mirrorctl").absolute()
    _crash_dir[:] = [workdir / "logs"]
    redactor = ctx.obj if isinstance(ctx.obj, Redactor) else _environ_redactor()
    ctx.obj = Globals(config_path=config_path, workdir=workdir, verbose=verbose, quiet=quiet,
                      redactor=redactor)
    _setup_logging(verbose, redactor)


def _rebase_site(here: Path) -> tuple[Path, Path] | None:
    """(mirrors.yaml, work directory) of the rebase whose worktree holds `here`, so that
    `mirrorctl rebase PACKAGE --continue` works from inside the worktree."""
    for folder in (here, *here.parents):
        dot_git = folder / ".git"
        if dot_git.is_dir():
            return None  # an ordinary repository, not a worktree of ours
        if not dot_git.is_file():
            continue
        text = dot_git.read_text(encoding="utf-8", errors="replace").strip()
        registration = (folder / text.removeprefix("gitdir:").strip()).resolve()
        # <workdir>/cache/<cache>.git/worktrees/<name>; wheels of one upstream share a cache,
        # so the rebase is the one whose state names this worktree.
        cache = registration.parent.parent
        if registration.parent.name != "worktrees" or cache.parent.name != "cache":
            return None
        from mirrorctl.queue.waiting import find_waiting

        workdir = cache.parent.parent
        waiting = find_waiting(workdir, folder)
        return (waiting.config, workdir) if waiting and waiting.config else None
    return None


def _environ_redactor() -> Redactor:
    return Redactor(secrets_from_environ(os.environ))


def _setup_logging(verbose: int, redactor: Redactor) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(redactor, "mirrorctl: %(levelname)s: %(message)s"))
    root = logging.getLogger("mirrorctl")
    root.handlers[:] = [handler]
    root.setLevel({0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG))


class Terminated(BaseException):
    """SIGTERM, raised like Ctrl-C's KeyboardInterrupt so that every `finally` runs: the
    board is stopped, git processes are ended, half-made files are removed."""


_INTERRUPTED = ("stopped; nothing is half written: mirrors, caches and queues are each as "
                "they were or wholly updated, and the work directory is unlocked. Run the "
                "command again to finish")


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


def main(argv: list[str] | None = None) -> None:
    """Entry point: the one place that turns exceptions into exit statuses."""
    redactor = _environ_redactor()
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        cli.main(args=argv, prog_name="mirrorctl", standalone_mode=False, obj=redactor)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo(f"mirrorctl: interrupted (Ctrl-C): {_INTERRUPTED}.", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except Terminated:
        click.echo(f"mirrorctl: terminated (SIGTERM): {_INTERRUPTED}.", err=True)
        sys.exit(EXIT_TERMINATED)
    except MirrorctlError as exc:
        click.echo(redactor(f"mirrorctl: error: {exc}"), err=True)
        sys.exit(exc.exit_code)
    except OSError as exc:
        if not FileSystemError.is_file_system(exc):  # a socket, or a bug somewhere
            _crash(argv, redactor)
        error = FileSystemError(exc)
        click.echo(redactor(f"mirrorctl: error: {error}"), err=True)
        sys.exit(error.exit_code)
    except SystemExit:
        raise
    except Exception:
        _crash(argv, redactor)
    finally:
        signal.signal(signal.SIGTERM, previous)
    sys.exit(EXIT_OK)


def _crash(argv: list[str] | None, redactor: Redactor) -> NoReturn:
    path = _write_crash_log(argv, redactor)
    click.echo(f"mirrorctl: unexpected error (a bug); details in {path}. "
               "Please report it with that file.", err=True)
    sys.exit(EXIT_INTERNAL)


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
