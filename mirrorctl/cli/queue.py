"""The commands on patch queues: `patches apply`, `patches export` and `rebase` (with
--continue), and their renderers."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mirrorctl.cli.base import (
    Globals,
    build_reasons_of,
    forge_settings,
    format_option,
    git_runner,
    plural,
    reading,
    resolve_run,
    short_sha,
    wait_option,
    writing,
)
from mirrorctl.core.errors import EXIT_FAILURE, MirrorctlError
from mirrorctl.core.stamps import stamp_text
from mirrorctl.sync.cache import NothingNewer

if TYPE_CHECKING:
    from mirrorctl.core.config import Package
    from mirrorctl.queue.branches import ApplyReport, ExportReport
    from mirrorctl.queue.carry import RebaseReport


@click.group()
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
@click.option("--replace-branch", "--force", "force", is_flag=True,
              help="With --push: replace a different riscv64/<version> in the mirror "
                   "(--force is its old name).")
@click.option("--dry-run", "-n", is_flag=True,
              help="Apply the queue in the cache, move no branch, push nothing; with "
                   "--push, say what the push would do.")
@format_option
@wait_option
@click.pass_obj
def patches_apply(g: Globals, package: str, version: str | None, push: bool, force: bool,
                  dry_run: bool, fmt: str) -> None:
    """Apply a queue to its release tag and make branch riscv64/<version>.

    The patches are replayed in the package's cache (run `mirrorctl sync` first),
    without a checkout; each commit keeps its patch's author, date and message, so
    applying the same queue twice gives the same commits.

    \b
    Exit status 0 when the queue applies (and pushes), 1 when a patch does not apply or the
    push is refused, 2 for a bad queue or bad usage, 75 when another run holds the work
    directory (--wait waits for it), 130/143 interrupted.

    \b
    Examples:
      mirrorctl patches apply numpy
      mirrorctl patches apply numpy --version 2.2.4 --push
      mirrorctl patches apply scipy --push --force --format json
    """
    from mirrorctl.core.config import load_config
    from mirrorctl.queue.branches import ApplyOptions, apply_package_queue

    config = load_config(g.config_path)
    [selected] = config.select([package])
    options = ApplyOptions(workdir=g.workdir, version=version, push=push, force=force,
                           dry_run=dry_run)
    with writing(g, "patches apply") as lock_fd:
        report = apply_package_queue(config, selected, options, git_runner(g, config, lock_fd))
    g.echo(APPLY_RENDERERS[fmt](report))
    if report.failed:
        raise SystemExit(EXIT_FAILURE)


@patches.command("export")
@click.argument("package")
@click.option("--base", required=True, help="The release tag (or version) the branch starts from.")
@click.option("--from-branch", "from_branch", required=True,
              help="The mirror branch whose commits become the queue, e.g. riscv64/2.2.4.")
@click.option("--version", "version",
              help="The queue to write [default: the version of --base].")
@click.option("--replace-queue", "--force", "force", is_flag=True,
              help="Replace a queue folder that holds a different queue (--force is its "
                   "old name).")
@click.option("--dry-run", "-n", is_flag=True,
              help="Say whether the queue folder would change; write nothing.")
@format_option
@wait_option
@click.pass_obj
def patches_export(g: Globals, package: str, base: str, from_branch: str, version: str | None,
                   force: bool, dry_run: bool, fmt: str) -> None:
    """Turn the commits of a mirror branch into a patch queue.

    Writes patchsets/<package>/<version>/ with git format-patch, headers kept.
    The output is stable (no commit ids, export dates or version signatures), so
    re-exporting an unchanged branch changes no byte, and a patch the folder already
    holds (same author, date, message and change) keeps its file as it is, whatever
    wrote it. The folder is replaced whole, never half written, and a folder that
    holds a different queue only with --force. Every commit must carry an
    Upstream-Status line.

    \b
    Exit status 0 when the queue is written (or unchanged), 1 when it could not be written,
    2 for a bad branch, base or commit message, or a different queue in the folder without
    --force, 75 when another run holds the work directory (--wait waits for it), 130/143
    interrupted.

    \b
    Examples:
      mirrorctl patches export numpy --base v2.2.4 --from-branch riscv64/2.2.4
      mirrorctl patches export scipy --base 1.15.2 --from-branch riscv64/1.15.2 --format json
    """
    from mirrorctl.core.config import load_config
    from mirrorctl.queue.branches import ExportOptions, export_queue

    config = load_config(g.config_path)
    [selected] = config.select([package])
    options = ExportOptions(workdir=g.workdir, base=base, from_branch=from_branch,
                            version=version, force=force, dry_run=dry_run)
    with writing(g, "patches export") as lock_fd:
        report = export_queue(config, selected, options, git_runner(g, config, lock_fd))
    g.echo(EXPORT_RENDERERS[fmt](report))


@click.command()
@click.argument("package")
@click.option("--onto", help="The release tag or version to carry the queue onto "
                             "[default: the newest release in the cache].")
@click.option("--keep-partial", is_flag=True,
              help="Write the new queue even when a patch conflicts (without that patch).")
@click.option("--replace-queue", "--force", "force", is_flag=True,
              help="Replace a different existing queue of the new version (with --continue "
                   "too; --force is its old name).")
@click.option("--range-diff", "range_diff", is_flag=True,
              help="Show how each patch changed between the old and the new queue.")
@click.option("--worktree", type=click.Path(file_okay=False, path_type=Path),
              help="Leave the first conflict in this new folder for a person to resolve.")
@click.option("--continue", "resume", is_flag=True,
              help="Take the resolution made in the --worktree folder and go on.")
@click.option("--abort", "abort", is_flag=True,
              help="End the waiting rebase, whatever state it is in; the queues stay as they "
                   "are and its worktree goes.")
@click.option("--forget", "forget", metavar="PATCH",
              help="Forget the remembered conflict resolutions of this patch (its file "
                   "name), so that its next conflict waits for a person again.")
@click.option("--push", is_flag=True,
              help="After a clean rebase, push riscv64/<new version> to the mirror (leased).")
@click.option("--dry-run", "-n", "dry_run", is_flag=True,
              help="Say what the rebase would do (each patch's outcome, what it would "
                   "write) and write nothing; exit as the rebase would.")
@click.option("--open-mr", "open_mr", is_flag=True,
              help="With --push: open (or update) the mirror's merge request, described by "
                   "this report, the grade and the range-diff.")
@click.option("--mr-target", default="main", show_default=True,
              help="The mirror branch the merge request targets.")
@click.option("--open-pr", "open_pr", is_flag=True,
              help="Deliver the upgrade as a pull request in the repository that holds the "
                   "queues (defaults.pull_requests): its branch with the new queue folder "
                   "and the version bump, this report as its body; an open one is updated.")
@format_option
@wait_option
@click.pass_obj
def rebase(g: Globals, package: str, onto: str | None, keep_partial: bool, force: bool,
           range_diff: bool, worktree: Path | None, resume: bool, abort: bool,
           forget: str | None, push: bool, dry_run: bool, open_mr: bool, mr_target: str,
           open_pr: bool, fmt: str) -> None:
    """Carry a package's patch queue onto a new release, without a checkout.

    The queue of the package's current version is replayed on the new release's tag
    in the package's cache (run `mirrorctl sync` first). Each patch is "applied" (as it
    is), "merged" (3-way, renamed paths or shifted context: refreshed), "upstreamed"
    (the new release has it) or "conflict" (files and hunks shown); a conflict does
    not stop the later patches. A conflict resolved by keeping the new release's side
    makes the patch "dropped": it leaves the queue, and no empty patch is written.
    The new queue is written to patchsets/<package>/<new version>/ when nothing
    conflicts; nothing else changes.

    To resolve a conflict by hand, add --worktree DIR: the first conflicting patch
    waits there, cherry-picked with its conflict markers. Resolve the files, `git add`
    them (committing is optional), then run `mirrorctl rebase PACKAGE --continue`.
    Resolutions are remembered with git rerere in patchsets/<package>/.rr-cache
    (commit it with the queues) and reused when the same conflict comes up again;
    --forget PATCH drops one patch's. --abort ends a waiting rebase in any state.

    The new release's folder becomes the package's current queue: the next rebase,
    classify, report and nightly carry from it (`version:` in mirrors.yaml is only
    where the package starts).

    \b
    Exit status 0 clean (or nothing newer to carry, said so), 1 a patch conflicts (or
    conflict markers are left in a resolution, or the pull request of --open-pr could not
    be delivered, or the last sync could not read upstream), 2 bad usage (an --onto that
    is no tag or version of the package, or older than the current queue; a bad queue), 75
    when another run holds the work directory (--wait waits for it), 130/143 interrupted.

    \b
    Examples:
      mirrorctl rebase numpy                    # onto the newest release
      mirrorctl rebase numpy --onto v2.3.0 --range-diff
      mirrorctl rebase numpy --dry-run          # what it would do; nothing written
      mirrorctl rebase scipy --onto 1.15.0 --keep-partial --format json
      mirrorctl rebase numpy --worktree /tmp/numpy-rebase   # then resolve, git add, and:
      mirrorctl rebase numpy --continue
      mirrorctl rebase numpy --abort
      mirrorctl rebase numpy --forget 0002-ENH-constants.patch
      mirrorctl rebase numpy --open-pr          # and deliver it as a pull request
    """
    from mirrorctl.core.config import load_config
    from mirrorctl.night.upgrade import UpgradeOptions, carry_upgrade
    from mirrorctl.queue.carry import RebaseOptions

    if sum((resume, abort, forget is not None)) > 1:
        raise click.UsageError("--continue, --abort and --forget go alone")
    if resume and (onto or worktree or keep_partial):
        raise click.UsageError("--continue goes on with the stopped rebase's own options; "
                               "pass only --force, --range-diff, --format and the delivery "
                               "options with it")
    if (abort or forget is not None) and (onto or worktree or keep_partial or force or push
                                          or range_diff or open_mr or open_pr):
        raise click.UsageError("--abort and --forget take only --format")
    if abort or forget is not None:
        _end_or_forget(g, package, forget, fmt)
        return
    if open_mr and not push:
        raise click.UsageError("--open-mr needs --push: the merge request shows the pushed "
                               "branch")
    if dry_run and (resume or worktree or push or open_mr or open_pr):
        raise click.UsageError("--dry-run writes nothing: it goes without --continue, "
                               "--worktree, --push, --open-mr and --open-pr")
    config = load_config(g.config_path)
    [selected] = config.select([package])
    forges = forge_settings(config) if open_mr or open_pr else None
    # The builds of the request's branch, for the grade it opens with.
    builds = build_reasons_of(g, config, forges) if open_pr and forges is not None else None
    run = resolve_run(g, config)
    options = UpgradeOptions(
        rebase=RebaseOptions(workdir=run.workdir, onto=onto, keep_partial=keep_partial,
                             force=force, range_diff=range_diff or open_mr or open_pr,
                             worktree=worktree, push=push, dry_run=dry_run,
                             currents=run.currents),
        stamp=run.stamp, by="rebase", resume=resume, forges=forges, open_mr=open_mr,
        mr_target=mr_target, open_pr=open_pr, builds=builds)
    # A dry run reads beside a nightly, as classify does; a rebase holds the directory.
    with (reading(g) if dry_run else writing(g, "rebase")) as lock_fd:
        try:
            report = carry_upgrade(config, selected, options, git_runner(g, config, lock_fd))
        except NothingNewer as exc:
            _nothing_newer(g, selected, exc, dry_run=dry_run, fmt=fmt)
            return
    g.echo(REBASE_RENDERERS[fmt](report))
    if report.status == "conflict" or report.push in ("refused", "rejected") \
            or report.pull_request_action == "failed":
        raise SystemExit(EXIT_FAILURE)


def _end_or_forget(g: Globals, package: str, forget: str | None, fmt: str) -> None:
    from mirrorctl.core.config import load_config
    from mirrorctl.queue.carry import RebaseOptions, abort_rebase, forget_resolution

    config = load_config(g.config_path)
    [selected] = config.select([package])
    options = RebaseOptions(workdir=g.workdir)
    with writing(g, "rebase") as lock_fd:
        runner = git_runner(g, config, lock_fd)
        if forget is None:
            ended = abort_rebase(config, selected, options, runner)
            data = {"package": ended.package, "aborted": ended.ended,
                    "worktrees": [str(w) for w in ended.worktrees], "detail": ended.detail}
            text = f"{ended.package}: the waiting rebase is ended; {ended.detail}"
        else:
            done = forget_resolution(config, selected, forget, options, runner)
            data = {"package": done.package, "patch": done.patch, "forgotten": done.forgotten}
            text = (f"{done.package}: forgot {plural(done.forgotten, 'remembered resolution')} "
                    f"of {done.patch}" if done.forgotten else
                    f"{done.package}: no resolution of {done.patch} is remembered (those "
                    "remembered before mirrorctl indexed them by patch go when "
                    f"patchsets/{done.package}/.rr-cache is deleted)")
    g.echo(json.dumps(data, indent=2) if fmt == "json" else text)


def _apply_data(report: ApplyReport) -> dict[str, Any]:
    return {
        "package": report.package, "version": report.version, "tag": report.tag,
        "branch": report.branch, "commit": report.commit, "previous": report.previous,
        "patches": [{"patch": a.patch.name, "commit": a.commit, "subject": a.patch.subject,
                     "files": list(a.patch.files), "upstream_status": str(a.patch.status)}
                    for a in report.patches],
        "push": {"result": report.push, "detail": report.push_detail},
        "dry_run": report.dry_run,
    }


def apply_table(report: ApplyReport) -> str:
    moved = "unchanged" if report.previous == report.commit else (
        f"was {short_sha(report.previous)}" if report.previous else "new")
    lines = [f"{report.package} {report.version}: "
             f"{plural(len(report.patches), 'patch', 'patches')} applied on {report.tag} -> "
             f"{report.branch.removeprefix('refs/heads/')} at {short_sha(report.commit)} ({moved})"]
    width = max(len(a.patch.name) for a in report.patches)
    lines += [f"  {a.patch.name:<{width}}  {short_sha(a.commit)}  {a.patch.status}"
              for a in report.patches]
    if report.push != "not-pushed" or report.push_detail:
        lines.append(f"mirror: {report.push}" + (f" ({report.push_detail})"
                                                 if report.push_detail else ""))
    if report.dry_run:
        lines.append("a dry run: the branch is not moved, nothing pushed")
    return "\n".join(lines)


def _export_data(report: ExportReport) -> dict[str, Any]:
    return {"package": report.package, "version": report.version, "tag": report.tag,
            "branch": report.branch, "patchset": str(report.directory),
            "patches": list(report.patches), "changed": report.changed,
            "dry_run": report.dry_run}


def export_table(report: ExportReport) -> str:
    state = ("would be written (a dry run)" if report.dry_run else "written") \
        if report.changed else "unchanged: no byte differs"
    lines = [f"{report.package} {report.version}: "
             f"{plural(len(report.patches), 'patch', 'patches')} from {report.branch} since "
             f"{report.tag} -> {report.directory} ({state})"]
    return "\n".join(lines + [f"  {name}" for name in report.patches])


def _nothing_newer(g: Globals, package: Package, found: NothingNewer, *, dry_run: bool,
                   fmt: str) -> None:
    """No release newer than the current queue: nothing to carry, exit 0, said so; unless
    the last sync could not read upstream, when a newer one may exist (exit 1)."""
    from mirrorctl.sync.standing import sync_standing

    standing = sync_standing(g.workdir, package)
    if standing.upstream_problem is not None:
        raise MirrorctlError(f"{package.name}: {standing.upstream_problem}")
    since = f" (as the sync of {stamp_text(standing.at)} found upstream)" if standing.at \
        else ""
    detail = (f"nothing newer to carry: {found.current} is {package.name}'s newest release "
              f"in the cache{since}; nothing was written")
    if fmt == "json":
        g.echo(json.dumps({"package": package.name, "from": found.current, "to": None,
                           "onto": None, "status": "nothing-newer", "written": "not-written",
                           "dry_run": dry_run, "patches": [], "detail": detail}, indent=2))
    else:
        g.echo(f"{package.name}: {detail}")


def rebase_data(report: RebaseReport) -> dict[str, Any]:
    return {
        "package": report.package, "from": report.from_version, "to": report.to_version,
        "onto": report.onto, "status": report.status, "patchset": str(report.patchset),
        "written": report.written, "dry_run": report.dry_run,
        "patches": [{"patch": o.patch.name, "outcome": o.outcome, "files": list(o.files),
                     "upstream_commit": o.upstream_commit, "detail": o.detail,
                     "upstream_status": str(o.patch.status), "commit": o.commit,
                     "conflicts": [{"path": c.path, "hunks": c.hunks} for c in o.conflicts]}
                    for o in report.result.outcomes],
        "range_diff": report.range_diff,
        "worktree": str(report.worktree) if report.worktree else None,
        "waiting_patch": report.waiting_patch,
        "push": {"branch": report.branch, "result": report.push, "detail": report.push_detail}
        if report.push else None,
        "merge_request": report.merge_request,
        "pull_request": {"url": report.pull_request, "action": report.pull_request_action,
                         "detail": report.pull_request_detail,
                         "triggered": list(report.triggered),
                         "kept": list(report.pull_request_kept)}
        if report.pull_request_action else None,
    }


def rebase_table(report: RebaseReport) -> str:
    outcomes = report.result.outcomes
    tally: Counter[str] = Counter(o.outcome for o in outcomes)
    order = ("applied", "merged", "upstreamed", "undone", "dropped", "reverted", "conflict")
    said = ", ".join(f"{tally[k]} {k}" for k in order if tally[k]) or "no patches to carry"
    lines = [f"{report.package} {report.from_version} -> {report.to_version} ({report.onto}): "
             f"{report.status}; {said}"]
    width = max([len(o.patch.name) for o in outcomes] + [10])
    for o in outcomes:
        detail = o.detail
        if o.upstream_commit:
            detail = f"upstream {short_sha(o.upstream_commit)}: {detail}"
        lines.append(f"  {o.outcome:<10}  {o.patch.name:<{width}}  {detail}")
        for conflict in o.conflicts:
            lines.append(f"      {conflict.path}:")
            lines += [f"        {line}" for line in conflict.hunks.splitlines()]
    if report.dry_run:
        would = {"written": "would be written", "unchanged": "would be unchanged",
                 "nothing-to-carry": "would hold only a series file: nothing left to carry",
                 "not-written": "would not be written (a patch conflicts)",
                 "no-patches": "would not be written: the package carries no patch"}[
            report.written]
        lines.append(f"{report.patchset}: {would}; a dry run, nothing was written")
    elif report.written == "not-written":
        lines.append(f"{report.patchset}: not written (a patch conflicts; --keep-partial "
                     "writes the others)")
    elif report.written == "no-patches":
        lines.append(f"no queue folder is written: {report.package} carries no patch; its "
                     "version moves forward with what its repository builds (the build "
                     "workflow's default once the upgrade's request is merged, else version: "
                     "in mirrors.yaml)")
    elif report.written == "nothing-to-carry":
        why = ("every patch is upstream" if not tally["dropped"] else
               "every patch was dropped by hand" if not tally["upstreamed"] else
               f"{plural(tally['dropped'], 'patch', 'patches')} dropped by hand, the others "
               "upstream")
        lines.append(f"{report.patchset}: {why}, nothing is left to carry (the folder holds "
                     "only a series file that says so; it is the current queue now)")
    else:
        lines.append(f"{report.patchset}: {report.written}")
    if report.push:
        lines.append(f"mirror {report.branch}: {report.push} ({report.push_detail})")
    if report.merge_request:
        lines.append(f"mirror merge request {report.merge_request_action}: "
                     f"{report.merge_request}")
    if report.pull_request_action:
        lines.append(f"pull request {report.pull_request_action}: "
                     f"{report.pull_request or report.pull_request_detail}")
    if report.worktree and report.waiting_patch:
        lines.append(f"{report.waiting_patch} waits in {report.worktree}: resolve the "
                     f"conflicts, `git add` the files, then run `mirrorctl rebase "
                     f"{report.package} --continue`")
    if report.range_diff:
        lines += ["", "range-diff (old queue -> new queue):", report.range_diff.rstrip()]
    return "\n".join(lines)


def _rebase_markdown(report: RebaseReport) -> str:
    from mirrorctl.night.deliver.mirror_request import request_description

    return request_description(report)


APPLY_RENDERERS: dict[str, Callable[[ApplyReport], str]] = {
    "table": apply_table, "json": lambda report: json.dumps(_apply_data(report), indent=2)}
EXPORT_RENDERERS: dict[str, Callable[[ExportReport], str]] = {
    "table": export_table, "json": lambda report: json.dumps(_export_data(report), indent=2)}
REBASE_RENDERERS: dict[str, Callable[[RebaseReport], str]] = {
    "table": rebase_table, "json": lambda report: json.dumps(rebase_data(report), indent=2),
    "md": _rebase_markdown}
