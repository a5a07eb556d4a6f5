"""`mirrorctl validate`: mirrors.yaml and every patch queue checked, every problem with
its file and line."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import click

from mirrorctl.cli.base import (
    Globals,
    format_option,
    plural,
)
from mirrorctl.core.errors import ConfigError, ConfigProblem


@click.command()
@format_option
@click.pass_obj
def validate(g: Globals, fmt: str) -> None:
    """Check mirrors.yaml and every patch queue: every problem with its file and line.

    Each patch must parse, carry a valid Upstream-Status line and touch no path
    outside the source tree. Upstream-Status is held to the builders' pull-request
    check (status_vocabulary: builders: Issue, Submitted and Backport with an http(s)
    URL, To upstream, Inappropriate [reason]) when mirrors.yaml says so or the queues
    live in patches/, else to Yocto's wider set; the output says which.

    \b
    Exit status 0 when all is valid, 2 when anything is not, 130/143 interrupted.

    \b
    Examples:
      mirrorctl validate
      mirrorctl --config other.yaml validate --format json
    """
    from mirrorctl.core.config import load_config
    from mirrorctl.queue.folders import check_versions
    from mirrorctl.queue.patches import check_queues

    try:
        config = load_config(g.config_path)
        patches, problems = check_queues(config.patchsets, config.packages,
                                         config.check_vocabulary)
        problems += check_versions(config)
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
    modes = (f" ({len(result.modes) - len(alone)} with a mirror; without one, read from "
             f"upstream into the cache alone: {', '.join(alone)})" if alone else "")
    return (f"{result.config}: OK, {plural(result.packages, 'package')}{modes}, "
            f"{plural(result.patches, 'patch', 'patches')} in the queues{held}")


_VOCABULARY = {"builders": "the builders' pull-request check does: status_vocabulary: builders",
               "yocto": "Yocto's vocabulary allows: status_vocabulary: yocto"}


VALIDATE_RENDERERS: dict[str, Callable[[ValidationResult], str]] = {
    "table": validation_table, "json": validation_json}
