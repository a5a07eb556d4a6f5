"""The commands that look ahead: `releases` (what upstream released since) and
`classify` (the grade of each upgrade), and their renderers."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from mirrorctl.cli.base import (
    Globals,
    build_reasons_of,
    format_option,
    git_runner,
    jobs_option,
    plural,
    reading,
    resolve_run,
    utc_stamp,
    wait_option,
    writing,
)
from mirrorctl.core.errors import EXIT_FAILURE
from mirrorctl.core.stamps import stamp_text

if TYPE_CHECKING:
    from mirrorctl.grade.classify import Classification
    from mirrorctl.grade.releases import ReleaseList
    from mirrorctl.report.status import PackageStatus


@click.command()
@click.argument("packages", nargs=-1)
@click.option("--pre", is_flag=True, help="Count pre-releases and dev releases too.")
@click.option("--max", "limit", type=click.IntRange(min=1), default=3, show_default=True,
              help="New versions listed a package (the newest).")
@click.option("--pypi", is_flag=True,
              help="Cross-check PyPI: tags without releases, releases without tags, and "
                   "whether upstream now ships riscv64 wheels (can retire).")
@jobs_option
@format_option
@click.pass_obj
def releases(g: Globals, packages: tuple[str, ...], pre: bool, limit: int, pypi: bool,
             jobs: int | None, fmt: str) -> None:
    """List the upstream releases newer than each package's current version.

    Release tags in the package's cache (run `mirrorctl sync` first) become versions
    through tag_format and compare as PEP 440 versions; tags that are no version, and
    pre-releases and dev releases unless --pre, are left out.

    \b
    Exit status 0, 1 when a package could not be checked (no cache, an upstream the
    last sync could not read, PyPI trouble), 130/143 interrupted.

    \b
    Examples:
      mirrorctl releases
      mirrorctl releases numpy scipy --max 5
      mirrorctl releases --pypi --format json
    """
    from mirrorctl.core.config import load_config
    from mirrorctl.core.git import GitRunner, GitSettings
    from mirrorctl.grade.releases import ReleaseOptions, check_releases

    config = load_config(g.config_path)
    selected = config.select(packages)
    runner = GitRunner(GitSettings(base_env=dict(os.environ), redactor=g.redactor))
    run = resolve_run(g, config, jobs)
    options = ReleaseOptions(workdir=run.workdir, jobs=run.jobs, currents=run.currents,
                             pre=pre, limit=limit, pypi=pypi)
    found = check_releases(config, selected, options, runner)
    g.echo(RELEASES_RENDERERS[fmt](found))
    if any(r.problems or r.pypi_error or r.registry_error or r.retire_alarm for r in found):
        raise SystemExit(EXIT_FAILURE)


@click.command()
@click.argument("packages", nargs=-1)
@click.option("--onto", help="The release tag or version to grade the upgrade to (one package) "
                             "[default: the newest release].")
@jobs_option
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

    With `pull_requests:` set, the builds of each upgrade's branch count too: the
    newest finished GitHub Actions run (jobs, JUnit artifacts) or GitLab pipeline
    (jobs, test report), compared per Python version with the current release's kept
    results (<workdir>/results/); new failures are classed (canonical NaN, timing,
    missing library, unknown). No results yet: "not-built-yet", the sources grade.

    \b
    Exit status 0, 1 when a package could not be graded (it is "unknown"), 2 for bad
    usage (an --onto that is no tag or version of the package), 130/143 interrupted.

    \b
    Examples:
      mirrorctl classify
      mirrorctl classify numpy --onto v2.3.0
      mirrorctl classify --format text
    """
    from mirrorctl.core.config import load_config
    from mirrorctl.grade.classify import ClassifyOptions, classify_packages

    config = load_config(g.config_path)
    selected = config.active(packages)
    builds = build_reasons_of(g, config)  # where the upgrades build: their results count
    run = resolve_run(g, config, jobs)
    options = ClassifyOptions(workdir=run.workdir, onto=onto, jobs=run.jobs,
                              currents=run.currents, builds=builds)
    # The dry run writes objects into the caches: keep sync and rebase out meanwhile.
    with reading(g) as lock_fd:
        found = classify_packages(config, selected, options, git_runner(g, config, lock_fd))
    g.echo(CLASSIFY_RENDERERS[fmt](found))
    if any(c.error for c in found):
        raise SystemExit(EXIT_FAILURE)


@click.command()
@click.argument("package")
@click.option("--note", default="", help="Why it is settled, kept with it (e.g. \"built and "
                                         "tested by hand on a VisionFive 2\").")
@click.option("--dry-run", "-n", is_flag=True,
              help="Say what would be settled (or forgotten); write nothing.")
@format_option
@wait_option
@click.pass_obj
def settle(g: Globals, package: str, note: str, dry_run: bool, fmt: str) -> None:
    """Say that a package's last upgrade is settled, so its grade no longer stands.

    After the nightly (or `rebase`) carries a queue onto a release, that upgrade's grade
    stays on the package in `report` and `classify` until it is settled: its builds
    passed, its pull request was merged, or a newer release replaced it. This is the
    person's way to say so (built and checked by hand, merged elsewhere). An upgrade or
    carry the record could not establish (a rebase killed or failed) is forgotten, so
    the package is graded from its caches again. A conflict is settled by resolving it
    (`rebase --worktree`, then `--continue`), not here.

    \b
    Exit status 0 settled, 1 the record could not be written, 2 nothing waits to be settled
    (or bad usage), 75 when another run holds the work directory (--wait waits for it),
    130/143 interrupted.

    \b
    Examples:
      mirrorctl settle numpy
      mirrorctl settle numpy --note "built and tested by hand on a VisionFive 2"
      mirrorctl settle numpy --dry-run     # what would be settled
    """
    from mirrorctl.core.config import load_config
    from mirrorctl.grade.upgrade import settle_upgrade

    config = load_config(g.config_path)
    [selected] = config.select([package])
    with writing(g, "settle"):
        done = settle_upgrade(g.workdir, selected.name, note=note, by="settle",
                              at=utc_stamp(), dry_run=dry_run)
    said = f"{selected.name}: {done}" + (" (a dry run: nothing written)" if dry_run else "")
    g.echo(json.dumps({"package": selected.name, "settled": done, "note": note or None,
                       "dry_run": dry_run}, indent=2) if fmt == "json" else said)


@click.command()
@click.argument("packages", nargs=-1, required=True)
@format_option
@click.pass_obj
def status(g: Globals, packages: tuple[str, ...], fmt: str) -> None:
    """Show what mirrorctl knows of a package, fact by fact, from its record.

    Each fact is its value in words, "unknown" with why (a record that does not read, a
    cache ref that moved since the sync recorded it, a folder that is no queue, a carry
    killed half-way), or "none" when nothing has established it yet; with the command
    that established it and when. The facts: the record itself, upstream in the cache,
    the mirror, the current queue, the last carry, the last upgrade (and how it was
    settled: `settle --note` is kept there), the road to published, upstream's own
    riscv64 wheels. Then the package's state and what needs a person, as `report` has
    them (the same words), each with the command to run next. No queue, mirror, cache
    ref or record changes, and no server is asked.

    \b
    Exit status 0 when every fact is known or none and nothing needs a person, 1 when a
    fact is unknown or something needs a person, 2 for bad usage (a package not in
    mirrors.yaml), 130/143 interrupted.

    \b
    Examples:
      mirrorctl status numpy
      mirrorctl status numpy scipy --format json
    """
    from mirrorctl.core.config import load_config
    from mirrorctl.report.status import FactWords, package_status
    from mirrorctl.upstream.wheels.state import WHEELS, wheels_words

    config = load_config(g.config_path)
    selected = config.select(packages)
    more = (FactWords(WHEELS, wheels_words),)
    with reading(g) as lock_fd:
        runner = git_runner(g, config, lock_fd)
        found = [package_status(config, package, workdir=g.workdir, runner=runner, more=more)
                 for package in selected]
    g.echo(status_json(found) if fmt == "json" else status_table(found))
    if any(s.unknown or s.needs for s in found):
        raise SystemExit(EXIT_FAILURE)


def status_data(found: list[PackageStatus]) -> dict[str, Any]:
    return {"packages": [
        {"name": s.name, "record": s.record, "written_by": s.written_by,
         # "state" and "level" as the report's JSON has them; "standing" as it reads
         "state": "graded" if s.level else "unknown" if s.standing == "unknown" else "none",
         "level": s.level, "standing": s.standing, "reason": s.reason or None,
         "unknown": list(s.unknown),
         "settled": s.settled or None,
         "kept_aside": list(s.kept_aside),
         "facts": [{"name": f.name, "state": f.state, "text": f.text, "by": f.by, "at": f.at,
                    "source": f.source, "value": f.value} for f in s.facts],
         "needs": [{"kind": a.kind, "detail": a.detail, "command": a.command}
                   for a in s.needs]} for s in found]}


def status_json(found: list[PackageStatus]) -> str:
    return json.dumps(status_data(found), indent=2)


def status_table(found: list[PackageStatus]) -> str:
    blocks = []
    for s in found:
        said = [s.standing + (f" ({s.reason})" if s.reason else ""),
                plural(len(s.unknown), "fact") + " unknown" if s.unknown else "",
                plural(len(s.needs), "thing") + " for a person" if s.needs else
                "nothing needs a person"]
        lines = [f"{s.name}: " + "; ".join(w for w in said if w)]
        width = max(len(f.name) for f in s.facts)
        for f in s.facts:
            value = f"unknown: {f.text}" if f.state == "unknown" else f.text
            when = ", ".join(w for w in (f.by, stamp_text(f.at) if f.at else None) if w)
            lines.append(f"  {f.name:<{width}}  {value}" + (f"  [{when}]" if when else ""))
        if s.settled:
            lines.append(f"  settled: {s.settled}")
        lines += [f"  kept aside: {path}" for path in s.kept_aside]
        for need in s.needs:
            lines.append(f"  needs a person ({need.kind}): {need.detail}")
            lines.append(f"    next: {need.command}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def releases_data(found: list[ReleaseList]) -> dict[str, Any]:
    return {"packages": [
        {"name": r.name, "current": r.current, "latest": r.latest, "new": list(r.new),
         "tags": dict(r.tags), "can_retire": r.can_retire, "retire_detail": r.retire_detail,
         "skipped": r.skipped, "flags": list(r.flags), "pypi_latest": r.pypi_latest,
         "pypi_error": r.pypi_error, "problems": list(r.problems),
         "upstream_unknown": r.upstream_unknown, "current_unknown": r.current_unknown,
         "built": r.built, "due": list(r.due),
         "retired": r.retired, "retire_alarm": r.retire_alarm,
         "registry_error": r.registry_error} for r in found]}


def releases_json(found: list[ReleaseList]) -> str:
    return json.dumps(releases_data(found), indent=2)


def releases_table(found: list[ReleaseList]) -> str:
    width = max([len(r.name) for r in found] + [7])
    # The registry's column, when one was asked: what is built already.
    registry = any(r.built is not None or r.registry_error for r in found)
    built = f"{'BUILT':<10}  " if registry else ""
    lines = [f"{'PACKAGE':<{width}}  {built}{'CURRENT':<10}  {'LATEST':<10}  NEW"]
    for r in found:
        new = " ".join(r.new) + (f" (+{r.skipped} older)" if r.skipped else "") or "-"
        latest = "unknown" if r.upstream_unknown or r.current_unknown else r.latest or "-"
        built = (f"{'unknown' if r.registry_error else r.built or '-':<10}  " if registry
                 else "")
        lines.append(f"{r.name:<{width}}  {built}{r.current or '-':<10}  {latest:<10}  {new}")
        notes = list(r.problems)
        if r.retire_alarm:
            notes.append(r.retire_alarm)
        elif r.retired:
            notes.append("retired: watched only" + ("" if r.pypi_latest or r.pypi_error
                                                     else " (--pypi checks it)"))
        if r.pypi_error:
            notes.append(f"PyPI: {r.pypi_error}")
        if r.registry_error:
            notes.append(f"registry: {r.registry_error}")
        elif registry and r.due:
            notes.append(f"due after the built {r.built or '(nothing built)'}: "
                         + " ".join(r.due))
        elif r.built is not None or any(x.built for x in found):
            notes.append(f"built (registry): {r.built or 'nothing yet'}")
        notes += r.flags
        if r.can_retire and not r.retired:
            notes.append(f"can retire: {r.retire_detail}")
        lines += [f"{'':<{width}}  ! {note}" for note in notes]
    upgrades = sum(1 for r in found if r.new)
    lines.append(f"{plural(len(found), 'package')}: {upgrades} with new releases")
    return "\n".join(lines)


def classify_json(found: list[Classification]) -> str:
    from mirrorctl.core.grades import reason_to_json

    return json.dumps({"packages": [
        {"name": c.name, "from": c.from_version, "to": c.to_version, "onto": c.onto,
         "level": c.grade.level if c.grade else None,
         "reasons": [reason_to_json(r) for r in c.grade.reasons]
         if c.grade else [],
         "pinned": bool(c.grade and c.grade.pinned), "error": c.error,
         "state": "graded" if c.grade else "unknown"} for c in found]},
        indent=2)


def _upgrade(c: Classification) -> str:
    return f"{c.from_version or '-'} -> {c.to_version or '-'}"


def classify_text(found: list[Classification]) -> str:
    lines = []
    for c in found:
        if c.grade is None:
            lines.append(f"{c.name}: unknown ({c.error})")
        else:
            main = c.grade.main_reason
            lines.append(f"{c.name} {_upgrade(c)}: {c.grade.level} ({main.code}: {main.detail})")
    return "\n".join(lines)


def classify_table(found: list[Classification]) -> str:
    width = max([len(c.name) for c in found] + [7])
    lines = [f"{'PACKAGE':<{width}}  {'UPGRADE':<20}  {'GRADE':<6}  REASONS"]
    for c in found:
        if c.grade is None:
            lines.append(f"{c.name:<{width}}  {'':<20}  {'unknown':<6}  {c.error}")
            continue
        reasons = [r.text for r in c.grade.reasons]
        lines.append(f"{c.name:<{width}}  {_upgrade(c):<20}  {c.grade.level:<6}  {reasons[0]}")
        lines += [f"{'':<{width}}  {'':<20}  {'':<6}  {r}" for r in reasons[1:]]
    tally = Counter(c.grade.level if c.grade else "unknown" for c in found)
    order = ("easy", "medium", "hard", "unknown")
    lines.append(f"{plural(len(found), 'package')}: "
                 + ", ".join(f"{tally[k]} {k}" for k in order if tally[k]))
    return "\n".join(lines)


RELEASES_RENDERERS: dict[str, Callable[[list[ReleaseList]], str]] = {
    "table": releases_table, "json": releases_json}
CLASSIFY_RENDERERS: dict[str, Callable[[list[Classification]], str]] = {
    "table": classify_table, "text": classify_text, "json": classify_json}
