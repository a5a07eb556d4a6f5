"""`mirrorctl sync`: upstream branches and release tags into the mirrors, and its table and JSON."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from mirrorctl.cli.base import (
    Globals,
    format_option,
    git_runner,
    jobs_option,
    plural,
    progress_on_stderr,
    resolve_run,
    short_sha,
    wait_option,
    writing,
)
from mirrorctl.core.errors import EXIT_FAILURE

if TYPE_CHECKING:  # the types of what is rendered; loaded when a command runs
    from mirrorctl.sync.refplan import RefUpdate
    from mirrorctl.sync.run import PackageSync, SyncReport

_REFS_SHOWN = 12  # in the table, per package; JSON always has them all


@click.command()
@click.argument("packages", nargs=-1)
@jobs_option
@click.option("--dry-run", "-n", is_flag=True,
              help="Print the plan; push nothing (the local cache is still refreshed).")
@click.option("--force-tags", is_flag=True,
              help="Follow tags that upstream moved, where the mirror holds upstream's old value.")
@click.option("--prune", is_flag=True,
              help="Delete mirror branches that upstream deleted (only those mirrorctl pushed).")
@click.option("--accept-upstream", is_flag=True,
              help="The named packages' upstream URLs are right although their history shares "
                   "nothing with what their cache and mirror hold (a package moved to another "
                   "project): follow them. Needs the packages named.")
@format_option
@wait_option
@click.pass_obj
def sync(g: Globals, packages: tuple[str, ...], jobs: int | None, dry_run: bool,
         force_tags: bool, prune: bool, accept_upstream: bool, fmt: str) -> None:
    """Bring upstream branches and release tags into the mirrors.

    Mirror-only refs (riscv64/* branches, anything matching `protected`, anything
    mirrorctl did not push) are never moved or deleted. Every ref update carries a
    lease, so a change made in the mirror meanwhile is never overwritten.

    An upstream whose history shares nothing with what the package's cache and mirror
    hold (two packages' URLs swapped) is refused, nothing fetched or pushed, until a
    person runs `mirrorctl sync PACKAGE --accept-upstream`; a cache whose refs are not
    what the last sync recorded (a stale CI cache) is restored from upstream, and said.

    \b
    Exit status 0 when every package synced (refs that need a person are marked ! and
    listed: the nightly and the report count them), 1 when any failed, 2 for bad usage, 75
    when another run holds the work directory (--wait waits for it), 130/143 interrupted
    (nothing half pushed: every ref update carries a lease).

    \b
    Examples:
      mirrorctl sync                      # all packages
      mirrorctl sync numpy pyyaml -j 2
      mirrorctl sync --dry-run --format json
      mirrorctl sync scipy --force-tags   # follow a tag upstream moved
      mirrorctl sync numpy --accept-upstream   # its upstream: moved to another project
    """
    from mirrorctl.core.config import load_config
    from mirrorctl.sync.run import SyncOptions, sync_packages

    config = load_config(g.config_path)
    if accept_upstream and not packages:
        raise click.UsageError("--accept-upstream names the packages whose upstream it "
                               "accepts: mirrorctl sync PACKAGE --accept-upstream")
    selected = config.active(packages)
    run = resolve_run(g, config, jobs)
    options = SyncOptions(workdir=run.workdir, jobs=run.jobs, force_tags=force_tags,
                          prune=prune, dry_run=dry_run, stamp=run.stamp,
                          accept_upstream=frozenset(p.name for p in selected)
                          if accept_upstream else frozenset())
    with writing(g, "sync") as lock_fd, progress_on_stderr(g) as progress:
        runner = git_runner(g, config, lock_fd)
        report = sync_packages(selected, options, runner, sleep=time.sleep, progress=progress)
    g.echo(SYNC_RENDERERS[fmt](report))
    if report.failed:
        raise SystemExit(EXIT_FAILURE)


def _ref_json(update: RefUpdate) -> dict[str, Any]:
    return {"ref": update.ref, "action": update.action, "old": update.old, "new": update.new,
            "reason": update.reason, "result": update.result, "detail": update.detail,
            "needs_human": update.needs_human}


def _package_json(result: PackageSync) -> dict[str, Any]:
    return {"name": result.name, "status": result.status,
            "refs": [_ref_json(u) for u in result.refs], "error": result.error,
            "fetched": result.fetched, "attempts": result.attempts,
            "warnings": list(result.warnings), "needs_human": result.needs_human}


def sync_data(report: SyncReport) -> dict[str, Any]:
    counts = Counter(p.status for p in report.packages)
    return {"packages": [_package_json(p) for p in report.packages],
            "summary": {"packages": len(report.packages), **counts}, "dry_run": report.dry_run}


def sync_json(report: SyncReport) -> str:
    return json.dumps(sync_data(report), indent=2)


def _ref_counts(result: PackageSync) -> str:
    verbs = {"create": "created", "update": "updated", "force": "forced", "delete": "deleted"}
    done = Counter(verbs.get(u.action, u.action) for u in result.refs
                   if u.result in ("pushed", "planned"))
    parts = [f"{n} {verb}" for verb, n in sorted(done.items())]
    for label, n in (("rejected", sum(u.result == "rejected" for u in result.refs)),
                     ("skipped", sum(u.action == "skip" for u in result.refs))):
        if n:
            parts.append(f"{n} {label}")
    return ", ".join(parts)


def _ref_line(update: RefUpdate) -> str:
    arrow = f"{short_sha(update.old)} -> {short_sha(update.new)}"
    mark = "!" if update.needs_human else " "
    return f"  {mark} {update.action:<6} {update.ref:<40} {arrow:<24} {update.detail}"


def sync_table(report: SyncReport) -> str:
    width = max([len(p.name) for p in report.packages] + [7])
    lines = []
    for result in report.packages:
        summary = f"! {result.error}" if result.status == "failed" else _ref_counts(result)
        lines.append(f"{result.name:<{width}}  {result.status:<9}  {summary or ''}".rstrip())
        for warning in result.warnings:
            lines.append(f"    warning: {warning}")
        urgent = [u for u in result.refs if u.needs_human]
        rest = [u for u in result.refs if not u.needs_human]
        shown = urgent + rest[:max(0, _REFS_SHOWN - len(urgent))]
        lines += [_ref_line(u) for u in shown]
        if len(result.refs) > len(shown):
            lines.append(f"    ... and {len(result.refs) - len(shown)} more refs "
                         "(--format json lists them all)")
    counts = Counter(p.status for p in report.packages)
    human = sum(1 for p in report.packages for u in p.refs if u.needs_human)
    tally = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    needs = "needs" if human == 1 else "need"
    lines.append(f"{plural(len(report.packages), 'package')}: {tally}"
                 + (f"; {plural(human, 'ref')} {needs} a person (marked !)" if human else ""))
    if report.dry_run:
        lines.append("dry run: nothing was pushed")
    return "\n".join(lines)


SYNC_RENDERERS: dict[str, Callable[[SyncReport], str]] = {"table": sync_table, "json": sync_json}
