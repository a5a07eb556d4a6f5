"""`mirrorctl report`: where every patch stands upstream, as markdown, JSON or one
self-contained HTML page."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mirrorctl.cli.base import (
    Globals,
    build_reasons_of,
    forge_settings,
    format_option,
    git_runner,
    jobs_option,
    progress_on_stderr,
    reading,
    resolve_run,
    utc_stamp,
    wait_option,
    writing,
)
from mirrorctl.core.errors import EXIT_FAILURE
from mirrorctl.core.stamps import stamp_text

if TYPE_CHECKING:
    from mirrorctl.core.config import Config
    from mirrorctl.night.notices import NoticeOutcome, NoticesResult
    from mirrorctl.report.report import Change, PackageReport, PatchRow, Report


_REPORT_SUFFIXES = {".md": "md", ".markdown": "md", ".json": "json", ".html": "html",
                    ".htm": "html"}


@click.command()
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
@click.option("--last", is_flag=True,
              help="Show the newest nightly's own report again, as that run found it (kept "
                   "in <workdir>/last-report.json), instead of computing one now.")
@click.option("--notify", is_flag=True,
              help="File what needs a person as tracking issues where defaults.notices says "
                   "(the CI pipeline's report job does, after --merge).")
@jobs_option
@click.option("--dry-run", "-n", is_flag=True,
              help="Write nothing: the report to stdout; with --notify, say what the "
                   "tracking issues would become. Not with --record or -o.")
@wait_option
@click.pass_obj
def report(g: Globals, packages: tuple[str, ...], fmt: str, outputs: tuple[Path, ...],
           merge_dir: Path | None, record: bool, last: bool, notify: bool,
           jobs: int | None, dry_run: bool) -> None:
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
    as such (their CI job failed before it wrote one), and a result that cannot be
    read is named, its package unknown, while the others are merged.

    A package whose facts could not be read (no cache, an upstream the last sync could
    not reach, a broken queue) is "unknown", grey in the page, never graded.

    With --notify, what needs a person becomes tracking issues in the tracker that
    defaults.notices names: one a package and kind, updated, reopened, closed when it
    clears (only for packages this report established); what was done goes to stderr.

    \b
    Exit status 0 when nothing needs a person, 1 when something does (a package unknown, a
    conflict, a ref to decide, ...: the report says what, and it is still written) or the
    notices failed, 2 for bad usage, 75 when another run holds the work directory (--wait
    waits for it), 130/143 interrupted.

    \b
    Examples:
      mirrorctl report
      mirrorctl report --format html -o report.html
      mirrorctl report -o report.md -o report.json -o report.html
      mirrorctl report --merge results/ --record -o report.html -o report.json
      mirrorctl report --merge results/ --record -o report.html --notify
      mirrorctl report --last --format html -o report.html   # the night's own, again
    """
    from mirrorctl.core.config import load_config
    from mirrorctl.report.build import queue_debt
    from mirrorctl.report.history import read_history
    from mirrorctl.report.report import assemble, write_record
    from mirrorctl.report.wire import merged_packages, merged_run_actions

    if merge_dir is not None and packages:
        raise click.UsageError("--merge reports the packages in its results; name none")
    if dry_run and (record or outputs):
        raise click.UsageError("--dry-run writes nothing: not with --record or -o/--output")
    if last and (packages or merge_dir is not None or record):
        raise click.UsageError("--last shows the nightly's report whole, already recorded: "
                               "no package names, --merge or --record with it")
    site = load_config(g.config_path) if notify else None
    if site is not None and site.notices is None:
        raise click.UsageError(f"--notify: no notices: under defaults in {g.config_path} "
                               "says which tracker keeps the notices (see the README)")
    stamp = utc_stamp()
    held = writing(g, "report --record") if record else reading(g)
    with held as lock_fd, progress_on_stderr(g) as progress:
        if last:
            built = _last_report(g.workdir)
        elif merge_dir is not None:
            expected = (tuple(load_config(g.config_path).active(()))
                        if g.config_path.exists() else ())
            history = read_history(g.workdir)
            built = replace(assemble(merged_packages(merge_dir, expected), history,
                                     stamp=stamp), run_actions=merged_run_actions(merge_dir))
            if g.config_path.exists():  # the queue folders are here too: their debt
                config = load_config(g.config_path)
                built = replace(built, debt=queue_debt(config, config.active(()), history,
                                                         g.workdir))
        else:
            config = load_config(g.config_path)
            builds = build_reasons_of(g, config)  # where the upgrades build
            from mirrorctl.night.morning import morning_report
            from mirrorctl.night.stacks import recorded_stacks

            selected = config.active(packages)
            run = resolve_run(g, config, jobs, stamp)
            built = morning_report(config, selected, workdir=run.workdir, stamp=run.stamp,
                                   jobs=run.jobs, runner=git_runner(g, config, lock_fd),
                                   stacks=recorded_stacks(run.workdir), builds=builds,
                                   progress=progress, currents=run.currents)
        if record:
            write_record(g.workdir, stamp, built, ())
        if merge_dir is None:
            built = _with_night(g.workdir, built, last=last)
    noticed = _notify(g, built, site, stamp=stamp, dry_run=dry_run) \
        if site is not None else None
    if not outputs:
        g.echo(REPORT_RENDERERS[fmt](built).rstrip("\n"))
    for output in write_report_files(g, built, outputs, fmt):
        g.echo(f"wrote {output}")
    if built.actions or (noticed is not None and noticed.problems):
        raise SystemExit(EXIT_FAILURE)  # something needs a person: the report says what


def _with_night(workdir: Path, built: Report, *, last: bool) -> Report:
    """The report with its night (when it started and ended), and a need when the newest
    nightly started and never ended: its report and history were not written, so what is
    read is the night before, and the records hold what it did until it stopped."""
    from mirrorctl.core.needs import next_command
    from mirrorctl.core.stamps import stamp_text
    from mirrorctl.report.nights import read_night, unfinished_night
    from mirrorctl.report.report import Action

    night = read_night(workdir)
    if not last and night is not None:
        built = replace(built, night_started=night.started, night_ended=night.ended)
    stopped = unfinished_night(workdir)
    if stopped is None or (last and built.night_started is not None
                           and stopped.started <= built.night_started):
        return built
    need = Action("", "night-unfinished", (
        f"the nightly started {stamp_text(stopped.started)} and did not finish (it got as "
        f"far as: {stopped.stage}); its report and history were not written"
        + (": this is the report of the night before it" if last else
           "; what it did is in the packages' records")),
        next_command("night-unfinished", ""))
    return replace(built, run_actions=(need, *built.run_actions))


def _last_report(workdir: Path) -> Report:
    from mirrorctl.core.errors import FileSystemError, UsageError
    from mirrorctl.report.wire import LAST_REPORT, report_from_json

    path = workdir / LAST_REPORT
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"no nightly has kept its report in {path} yet; run "
                         "`mirrorctl nightly`, or `mirrorctl report` for one computed now") \
            from None
    except OSError as exc:
        raise FileSystemError(exc) from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not the JSON a nightly keeps ({exc})") from None
    return report_from_json(text, str(path))


def _notify(g: Globals, built: Report, config: Config, *, stamp: str, dry_run: bool = False,
            echo: bool = True) -> NoticesResult:
    """The report's actions as tracking issues; what was done goes to stderr (`echo`).
    Shared notices may close only when the report covers every active package."""
    import time

    from mirrorctl.night.notices import notify
    from mirrorctl.upstream.forges.tracker import Pace

    assert config.notices is not None
    covered = {p.name for p in built.packages} >= {p.name for p in config.active(())}
    result = notify(built, config.notices, forge_settings(config),
                    every_package=covered, stamp=stamp,
                    pace=Pace(sleep=time.sleep, clock=time.time), redact=g.redactor,
                    dry_run=dry_run)
    if echo and (not g.quiet or result.problems):
        for line in notices_lines(result):
            click.echo(g.redactor(f"notices: {line}"), err=True)
    return result


def _patch_name(package: PackageReport, name: str) -> str:
    return f"[`{name}`]({package.queue_url}/{name})" if package.queue_url else f"`{name}`"


def _status_link(patch: PatchRow) -> str:
    argument = patch.argument or ""
    if argument.startswith(("https://", "http://")):
        return f"{patch.status} [{argument}]({argument})"
    return patch.header


def _changes(title: str, changes: Sequence[Change], since: str | None) -> list[str]:
    if since is None:
        return []
    lines = ["", f"## {title} since {stamp_text(since)}", ""]
    return lines + ([f"- {c.package}: `{c.patch}`: {c.detail}" for c in changes] or ["none"])


def write_report_files(g: Globals, report: Report, outputs: Sequence[Path],
                       fmt: str) -> list[Path]:
    """Write the report to each file, whole, in the format its name says (.md, .json,
    .html; any other name gets `fmt`), credentials redacted; the files written."""
    from mirrorctl.core.files import atomic_write_text

    for output in outputs:
        text = REPORT_RENDERERS[_REPORT_SUFFIXES.get(output.suffix.lower(), fmt)](report)
        atomic_write_text(output, g.redactor(text))
    return list(outputs)


def _sync_cell(sync: str) -> str:
    return (sync.split(":", 1)[0] if sync.startswith(("failed", "unknown")) else sync) or "-"


def _debt_lines(report: Report) -> list[str]:
    debt = report.debt
    if debt is None or not debt.patches:
        return []
    median = debt.median_days_to_upstream
    lines = ["", "## Patch debt", "",
             f"{len(debt.patches)} patches carried; median time to upstream: "
             + (f"{median:g} days ({len(debt.upstreamed_days)} patches)" if median is not None
                else "not known yet (no patch seen Submitted, then taken, in the history)")]
    for title, ages in (("Oldest pending", debt.oldest_pending),
                        ("Carried across the most releases", debt.most_carried)):
        if ages:
            lines += ["", f"{title}:", ""]
            lines += [f"- {a.package}: `{a.patch}` {a.status} since {a.status_since}, "
                      f"in the queue since {a.entered} ({a.releases} "
                      f"release{'' if a.releases == 1 else 's'})" for a in ages]
    return lines


def states_line(report: Report) -> str:
    """`hard 1 · unknown 0 · medium 2 · easy 5 · up to date 10` (every state, worst
    first)."""
    from mirrorctl.report.report import WORST_FIRST

    states = report.states
    return " · ".join(f"{state.replace('-', ' ')} {states[state]}" for state in WORST_FIRST
                      if state != "none" or states[state])


def report_markdown(report: Report) -> str:
    actions = report.actions
    lines = ["# riscv64 upstreaming report", "", report.night_line, "", report.summary]
    if report.stacks is not None:
        from mirrorctl.report.stacks import stacks_markdown

        lines += stacks_markdown(report.stacks)
    lines += ["", f"## Needs a person ({len(actions)})", ""]
    lines += [f"- **{a.package or 'the run'}** {a.kind}: {a.detail.replace(chr(10), ' ')} "
              f"— `{a.command}`" for a in actions] or ["Nothing needs a person."]
    lines += ["", states_line(report), "",
              "| package | queue | mirrored | upstream latest | grade | main reason | builds "
              "| sync | road |", "|---|---|---|---|---|---|---|---|---|"]
    for p in report.worst_first:
        main = p.grade.main_reason if p.grade else None
        reason = f"{main.code}: {main.detail}" if main else "; ".join(p.problems) or "-"
        if p.upgrade:
            reason += f" (upgrade {p.upgrade[0]} -> {p.upgrade[1]}, not settled)"
        lines.append(f"| {p.name} | {p.current or '-'} | {p.mirrored or '-'} | {p.latest or '-'} | "
                     f"{p.grade.level if p.grade else '-'} | {reason.replace('|', '/')} | "
                     f"{p.builds_line} | {_sync_cell(p.sync)} | {_road_cell(p)} |")
    if report.conflicts:
        lines += ["", "## Conflicts waiting for a person", ""]
        lines += [f"- {c.package}: `{c.patch}` {c.detail}" for c in report.conflicts]
    lines += _changes("Accepted upstream", report.accepted, report.since)
    lines += _changes("Dropped", report.dropped, report.since)
    lines += _debt_lines(report)
    for p in report.packages:
        if not p.patches and not p.problems and not p.upgrade_note and p.road is None:
            continue
        lines += ["", f"## {p.name} {p.current or ''}".rstrip(), ""]
        if p.links:
            lines += [" · ".join(f"[{label}]({url})" for label, url in p.links), ""]
        lines += [f"- {_patch_name(p, patch.name)}: {_status_link(patch)}"
                  + (f" ({patch.outcome} on {p.latest})" if patch.outcome else "")
                  for patch in p.patches]
        lines += [f"- problem: {problem}" for problem in p.problems]
        if p.upgrade_note:
            lines.append(f"- upgrade: {p.upgrade_note}")
        if p.road is not None:
            lines.append(f"- road of {p.road.version}: {p.road.state}"
                         + (f" ({p.road.detail})" if p.road.detail else "")
                         + (f", [request]({p.road.request})" if p.road.request else ""))
    return "\n".join(lines) + "\n"


def _road_cell(p: PackageReport) -> str:
    """Where its upgrade stands: `2.5.2 publishing`; `-` with none recorded."""
    return f"{p.road.version} {p.road.state}" if p.road is not None else "-"


def report_json(report: Report) -> str:
    from mirrorctl.report.wire import report_to_json

    return json.dumps(report_to_json(report), indent=2)


def report_html(report: Report) -> str:
    from mirrorctl.report.page import render_html

    return render_html(report)


REPORT_RENDERERS: dict[str, Callable[[Report], str]] = {
    "md": report_markdown, "json": report_json, "html": report_html}


def notices_data(result: NoticesResult) -> dict[str, Any]:
    def outcome(o: NoticeOutcome, **extra: Any) -> dict[str, Any]:
        issue = o.step.issue
        return {"action": o.step.action, "package": o.step.package, "kind": o.step.kind,
                "issue": issue.number if issue else None, **extra}

    return {"tracker": result.tracker, "dry_run": result.dry_run, "wanted": result.wanted,
            "unchanged": result.unchanged,
            "error": result.error or None,
            "done": [outcome(o, url=o.url) for o in result.done],
            "deferred": [outcome(o, why=o.error.removeprefix("deferred: "))
                         for o in result.deferred],
            "failed": [outcome(o, error=o.error) for o in result.failed],
            "planned": [outcome(o, title=o.step.notice.title if o.step.notice else None)
                        for o in result.planned]}


_DONE = {"open": "opened", "update": "updated", "reopen": "reopened", "close": "closed",
         "close-duplicate": "closed as duplicates"}
_WOULD = {"open": "open", "update": "update", "reopen": "reopen", "close": "close",
          "close-duplicate": "close as a duplicate"}


def notices_lines(result: NoticesResult) -> list[str]:
    """What the run did (or, a dry run, would do) to the tracking issues."""
    if result.error:
        return [f"{result.tracker}: not delivered: {result.error}"]
    if result.dry_run:
        lines = [f"{result.tracker}: a dry run, nothing written: {len(result.planned)} to do, "
                 f"{result.unchanged} unchanged"]
        lines += [f"- would {_WOULD[o.step.action]} "
                  + (f"\"{o.step.notice.title}\"" if o.step.notice
                     else f"{o.step.package}: {o.step.kind}")
                  + (f"  {o.url}" if o.url else "") for o in result.planned]
    else:
        done: Counter[str] = Counter(o.step.action for o in result.done)
        parts = [f"{done[a]} {word}" for a, word in _DONE.items() if done[a]]
        lines = [f"{result.tracker}: " + ", ".join([*parts, f"{result.unchanged} unchanged"])]
        lines += [f"- {_DONE[o.step.action]} {o.url}  ({o.step.package}: {o.step.kind})"
                  for o in result.done]
    if result.deferred:
        lines.append(f"{len(result.deferred)} deferred to the next run: "
                     f"{result.deferred[0].error.removeprefix('deferred: ')}")
    lines += [f"- failed: {o.step.package} {o.step.kind}: {o.error}" for o in result.failed]
    return lines


@click.command()
@click.option("--dry-run", is_flag=True,
              help="Read the tracker and say what would be done; write nothing.")
@format_option
@click.pass_obj
def notices(g: Globals, dry_run: bool, fmt: str) -> None:
    """Make the tracker say what the newest nightly's report says needs a person.

    The nightly's own report (what `report --last` shows) becomes tracking issues in
    the tracker defaults.notices names, as `nightly --notify` does: one issue a
    package and kind of need, opened, updated, reopened or closed, at most
    notices.limit a run. With --dry-run, the tracker is read and the steps are shown,
    nothing is written: try it before the first `--notify`.

    \b
    Exit status 0, 1 when the notices could not be delivered, 2 for bad usage (no
    notices: in mirrors.yaml, no nightly report yet).

    \b
    Examples:
      mirrorctl notices --dry-run
      mirrorctl notices --format json
    """
    from mirrorctl.core.config import load_config

    config = load_config(g.config_path)
    if config.notices is None:
        raise click.UsageError(f"no notices: under defaults in {g.config_path} says which "
                               "tracker keeps the notices (see the README)")
    with reading(g):
        built = _last_report(g.workdir)
    result = _notify(g, built, config, stamp=utc_stamp(), dry_run=dry_run, echo=False)
    if fmt == "json":
        g.echo(json.dumps(notices_data(result), indent=2))
    else:
        g.echo("\n".join(notices_lines(result)))
    if result.problems:
        raise SystemExit(EXIT_FAILURE)
