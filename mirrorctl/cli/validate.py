"""`mirrorctl validate`: mirrors.yaml and every patch queue checked, every problem with
its file and line."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mirrorctl.cli.base import (
    Globals,
    format_option,
    plural,
)
from mirrorctl.core.errors import ConfigError, ConfigProblem

if TYPE_CHECKING:
    from mirrorctl.core.inventory import InventoryResult


@click.command()
@format_option
@click.pass_obj
def validate(g: Globals, fmt: str) -> None:
    """Check mirrors.yaml and every patch queue: every problem with its file and line.

    Each patch must parse, carry a valid Upstream-Status line and touch no path
    outside the source tree. Upstream-Status is held to the builders' pull-request
    check (status_vocabulary: builders: Issue, Submitted and Backport with an http(s)
    URL, To upstream, Inappropriate [reason]) when mirrors.yaml says so or the queues
    live in patches/, else to Yocto's wider set; the output says which. A folder that
    holds no patch and no `series` saying nothing is left is no queue; where a package's
    cache is, every queue folder must name one of its release tags (the nearest are
    named).

    \b
    Exit status 0 when all is valid, 2 when anything is not, 130/143 interrupted.

    \b
    Examples:
      mirrorctl validate
      mirrorctl --config other.yaml validate --format json
    """
    from mirrorctl.core.config import load_config
    from mirrorctl.queue.folders import check_tags, check_versions
    from mirrorctl.queue.patches import check_queues

    try:
        config = load_config(g.config_path)
        patches, problems = check_queues(config.patchsets, config.packages,
                                         config.check_vocabulary)
        problems += check_versions(config)
        problems += check_tags(config, g.workdir)
        result = ValidationResult(config=str(g.config_path), packages=len(config.packages),
                                  problems=tuple(problems), patches=patches,
                                  vocabulary=config.check_vocabulary,
                                  modes={name: "mirror" if p.mirror else "upstream-only"
                                         for name, p in config.packages.items()})
    except ConfigError as exc:
        result = ValidationResult(config=str(g.config_path), packages=0, problems=exc.problems)
    g.echo(VALIDATE_RENDERERS[fmt](result))
    if result.problems:
        raise SystemExit(ConfigError.exit_code)


@dataclass(frozen=True, kw_only=True)
class ValidationResult:
    config: str
    packages: int
    problems: tuple[ConfigProblem, ...]
    patches: int = 0
    vocabulary: str | None = None  # the Upstream-Status values the queues were held to
    modes: Mapping[str, str] = field(default_factory=dict)  # package -> mirror | upstream-only


def validation_json(result: ValidationResult) -> str:
    return json.dumps({
        "config": result.config, "ok": not result.problems, "packages": result.packages,
        "patches": result.patches, "vocabulary": result.vocabulary, "modes": dict(result.modes),
        "errors": [{"file": p.file, "line": p.line, "path": p.path, "message": p.message}
                   for p in result.problems]}, indent=2)


def validation_table(result: ValidationResult) -> str:
    held = f" (Upstream-Status checked as {_VOCABULARY[result.vocabulary]})" \
        if result.vocabulary else ""
    if result.problems:  # the stricter vocabulary is named where a status may be its cause
        strict = held if result.vocabulary == "builders" else ""
        return "\n".join(str(p) for p in result.problems) + \
            f"\n{plural(len(result.problems), 'problem')} in {result.config} or its patch " \
            f"queues{strict}"
    alone = sorted(name for name, mode in result.modes.items() if mode == "upstream-only")
    named = ", ".join(alone) if len(alone) <= 12 else f"{len(alone)} packages"
    modes = (" (none with a mirror: upstream read into the cache alone)"
             if alone and len(alone) == len(result.modes) and len(alone) > 12
             else f" ({len(result.modes) - len(alone)} with a mirror; without one, read from "
                  f"upstream into the cache alone: {named})" if alone else "")
    return (f"{result.config}: OK, {plural(result.packages, 'package')}{modes}, "
            f"{plural(result.patches, 'patch', 'patches')} in the queues{held}")


_VOCABULARY = {"builders": "the builders' pull-request check does: status_vocabulary: builders",
               "yocto": "Yocto's vocabulary allows: status_vocabulary: yocto"}


VALIDATE_RENDERERS: dict[str, Callable[[ValidationResult], str]] = {
    "table": validation_table, "json": validation_json}


@click.command()
@click.argument("packages_txt", metavar="PACKAGES_TXT",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("deprecated_txt", metavar="[DEPRECATED_TXT]", required=False,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--workflows", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The builders' .github/workflows: each build-<package>.yml says the "
                   "package's upstream, tag format and the version it builds now.")
@click.option("--docs", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The builders' docs/packages: each <package>.yaml says the upstream "
                   "(source-code) and the versions built.")
@click.option("--check", "--dry-run", "check", is_flag=True,
              help="Write nothing: say what would change; exit 1 when mirrors.yaml is not "
                   "in line with the lists (--dry-run is the same).")
@click.option("--probe", is_flag=True,
              help="Read upstream's tags (one git ls-remote each) for the packages whose tag "
                   "format nothing else says, and propose one, marked as inferred in the "
                   "entry's note.")
@format_option
@click.pass_obj
def inventory(g: Globals, packages_txt: Path, deprecated_txt: Path | None,
              workflows: Path | None, docs: Path | None, check: bool, probe: bool,
              fmt: str) -> None:
    """Bring mirrors.yaml in line with the builders' packages.txt and deprecated.txt.

    A package of packages.txt that mirrors.yaml lacks is added, with the upstream,
    tag format and version its build workflow says (--workflows), or its page in
    their docs (--docs: upstream and newest version built); one whose upstream or
    tag format is not known is named and left out, never guessed. An entry's
    version only moves forward. A package of deprecated.txt gets
    `retired: true` (kept and watched, no nightly work); back in packages.txt, it
    loses it. Every key an entry has is kept, and a package in neither list stays
    (and is named). Packages are written in name order, the file's leading comment
    kept; a comment inside an entry is not (say it with `note:`). The new file is
    checked as validate checks it before it replaces the old one, whole.

    From zero (no mirrors.yaml yet), the file gets the defaults the repository
    implies: its queues in patches/ (and their Upstream-Status vocabulary), the
    registry its workflows name most, the Pythons their cibuildwheel selectors build.
    With --probe, a package whose tag format nothing says gets the one upstream's own
    tags show (the tag of the version built), marked as inferred in its note.

    A line of the lists that is no package name (prose without `#`) is named, with
    its file and line, and skipped; the other lines are read.

    \b
    Exit status 0 when mirrors.yaml is (now) in line, 1 with --check when it is
    not, when a listed package's upstream or tag format is not known (a person
    says it in mirrors.yaml), or when a line of the lists was skipped; 2 on bad
    input, 130/143 interrupted.

    \b
    Examples:
      mirrorctl inventory ci_scripts/packages.txt ci_scripts/deprecated.txt \\
          --workflows .github/workflows --docs docs/packages
      mirrorctl inventory packages.txt deprecated.txt --check
      mirrorctl inventory ci_scripts/packages.txt --docs docs/packages --probe
    """
    from mirrorctl.core.inventory import bring_in_line

    result = bring_in_line(g.config_path, packages_txt, deprecated_txt, workflows, docs=docs,
                           check=check, probe=tag_reader(g) if probe else None)
    g.echo(INVENTORY_RENDERERS[fmt](result))
    if (check and not result.current) or result.change.no_upstream \
            or result.change.tag_unknown or result.skipped:
        raise SystemExit(1)


def tag_reader(g: Globals) -> Callable[[str], list[str]]:
    """upstream URL -> its ref names, read with the transports mirrors.yaml allows (those
    of a new file's defaults: https and ssh)."""
    import os

    import yaml

    from mirrorctl.core.git import GitRunner, GitSettings
    from mirrorctl.core.settings import SETTINGS

    protocols = SETTINGS["allowed_protocols"].default
    if g.config_path.exists():  # bring_in_line loads (and so checks) it first
        given = (yaml.safe_load(g.config_path.read_text(encoding="utf-8")) or {}).get(
            "defaults", {}).get("allowed_protocols")
        protocols = SETTINGS["allowed_protocols"].parse(given) if given else protocols
    runner = GitRunner(GitSettings(base_env=dict(os.environ), redactor=g.redactor,
                                   allowed_protocols=tuple(protocols)))
    return lambda url: list(runner.ls_remote(url))


def inventory_json(result: InventoryResult) -> str:
    change = result.change
    return json.dumps({
        "config": result.config, "current": result.current, "written": result.written,
        "added": list(change.added), "retired": list(change.retired),
        "reactivated": list(change.reactivated),
        "versions": [{"package": n, "from": old or None, "to": new}
                     for n, old, new in change.versions],
        "filled": [{"package": n, "key": k} for n, k in change.filled],
        "disagreements": list(change.disagreements), "unlisted": list(change.unlisted),
        "no_upstream": list(change.no_upstream), "tag_unknown": list(change.tag_unknown),
        "tag_unknown_why": dict(change.tag_unknown_why),
        "inferred": [{"package": n, "tag_format": t, "evidence": e}
                     for n, t, e in change.inferred],
        "defaults": list(change.defaults),
        "untracked": list(change.untracked),
        "skipped": [{"file": p.file, "line": p.line, "problem": p.message}
                    for p in result.skipped]},
        indent=2)


def inventory_table(result: InventoryResult) -> str:
    change = result.change
    lines = [f"{'ADDED':<12} {name}" for name in change.added]
    lines += [f"{'RETIRED':<12} {name}" for name in change.retired]
    lines += [f"{'REACTIVATED':<12} {name}" for name in change.reactivated]
    lines += [f"{'VERSION':<12} {name} {old or '(none)'} -> {new}"
              for name, old, new in change.versions]
    lines += [f"{'FILLED':<12} {name} {key}" for name, key in change.filled]
    lines += [f"{'DISAGREES':<12} {text}" for text in change.disagreements]
    lines += [f"{'NO UPSTREAM':<12} {name} (in packages.txt; give its upstream in "
              "mirrors.yaml or --workflows)" for name in change.no_upstream]
    why = dict(change.tag_unknown_why)
    lines += [f"{'TAG UNKNOWN':<12} {name} (not added: "
              f"{why.get(name, 'its tag format is not known')}; give its tag_format, and "
              "wheel_major if the wheel adds a major, in mirrors.yaml"
              + ("" if why.get(name, "").startswith("its workflow computes") else
                 ", or run with --probe to read it off upstream's tags") + ")"
              for name in change.tag_unknown]
    lines += [f"{'INFERRED':<12} {name} tag_format {template!r}: {evidence} (check it; its "
              "note says so)" for name, template, evidence in change.inferred]
    if change.defaults:
        lines.append(f"{'DEFAULTS':<12} implied by the repository: {', '.join(change.defaults)}")
    if change.unlisted:
        lines.append(f"kept, in neither list: {', '.join(change.unlisted)}")
    if change.untracked:
        lines.append(f"retired, not in mirrors.yaml (nothing to watch): "
                     f"{plural(len(change.untracked), 'package')}")
    lines += [f"{'SKIPPED':<12} {problem} (the line is not read; make it a package name, "
              "or a comment with #)" for problem in result.skipped]
    state = ("already in line with the lists" if result.current
             else "rewritten" if result.written else "not in line with the lists (--check)")
    return "\n".join([*lines, f"{result.config}: {state}"])


INVENTORY_RENDERERS: dict[str, Callable[[InventoryResult], str]] = {
    "table": inventory_table, "json": inventory_json}
