"""The command line's words, one meaning each, on every command: a dry run is
--dry-run (-n) on every command that writes; --jobs (-j) on every command that runs a
pool; an output folder is --output-dir; a force says what it forces (--force stays an
old spelling); --format offers json; every option has its help, every command its
examples. Old spellings keep working as aliases."""

from __future__ import annotations

import click
import pytest

from mirrorctl.cli.main import cli

# The commands that write (mirrors, queues, records, drafts, trackers, files).
WRITES = {"nightly", "sync", "rebase", "settle", "notices", "inventory", "report",
          "patches apply", "patches export", "upstream draft", "upstream submit",
          "upstream refresh", "upstream wheels", "ci generate"}
# Its one job is to build a sandbox in the folder it is given: a dry run would do nothing.
NO_DRY_RUN = {"demo"}
POOLS = {"nightly", "sync", "classify", "releases", "report", "upstream wheels"}
NO_FORMAT = {"ci generate"}  # its output is a pipeline file
SHORT = {"-n": "--dry-run", "-j": "--jobs", "-o": "--output", "-h": "--help"}


def commands() -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}
    context = click.Context(cli)

    def walk(group: click.Group, prefix: str) -> None:
        for name in group.list_commands(context):
            command = group.get_command(context, name)
            assert command is not None
            if isinstance(command, click.Group):
                walk(command, f"{prefix}{name} ")
            else:
                found[f"{prefix}{name}"] = command
    walk(cli, "")
    return found


COMMANDS = commands()


def options(command: click.Command) -> dict[str, click.Option]:
    return {name: p for p in command.params if isinstance(p, click.Option)
            for name in (*p.opts, *p.secondary_opts)}


def test_every_command_is_classed() -> None:
    assert set(COMMANDS) <= WRITES | NO_DRY_RUN | {"classify", "releases", "stack",
                                                    "status", "validate"}, set(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_words_of(name: str) -> None:
    command = COMMANDS[name]
    found = options(command)
    if name in WRITES:
        assert "--dry-run" in found, f"{name} writes and has no --dry-run"
    if name in POOLS:
        assert "--jobs" in found and found["--jobs"].opts[0] in ("--jobs", "-j")
    if name not in NO_FORMAT:
        fmt = found.get("--format")
        assert fmt is not None and "json" in fmt.type.choices  # type: ignore[attr-defined]
    for spelling, option in found.items():
        assert option.help, f"{name} {spelling} has no help"
        if spelling in SHORT:
            assert SHORT[spelling] in option.opts, f"{name}: {spelling} is not {SHORT[spelling]}"
        if spelling == "--force":  # an old spelling: the first name says what it forces
            assert option.opts[0] != "--force" and "old name" in (option.help or "")
        if spelling in ("--out", "--dir"):  # an output folder is --output-dir
            assert option.opts[0] == "--output-dir" and "old name" in (option.help or "")
    assert "Examples:" in (command.help or ""), f"{name} --help has no examples"


@pytest.mark.parametrize(("args", "expected"), [
    (["upstream", "draft", "numpy", "--out", "x", "--force"], {"out": "x", "force": True}),
    (["upstream", "wheels", "--out", "x", "--force"], {"out": "x", "force": True}),
    (["upstream", "submit", "d.md", "--force"], {"force": True}),
    (["patches", "apply", "numpy", "--force"], {"force": True}),
    (["patches", "export", "numpy", "--base", "v1", "--from-branch", "b", "--force"],
     {"force": True}),
    (["rebase", "numpy", "--force"], {"force": True}),
    (["demo", "--dir", "x"], {"root": "x"}),
    (["inventory", "p.txt", "--dry-run"], {"check": True}),
])
def test_old_spellings_still_mean_what_they_meant(args: list[str],
                                                  expected: dict[str, object]) -> None:
    *path, = args
    group: click.Command = cli
    context = click.Context(cli)
    while isinstance(group, click.Group):
        group = group.get_command(context, path.pop(0))  # type: ignore[assignment]
    parsed = group.make_context(group.name or "", path, resilient_parsing=True).params
    for key, value in expected.items():
        assert str(parsed[key]) == str(value) if key in ("out", "root") else \
            parsed[key] == value, (args, parsed)


def test_report_and_ci_generate_dry_runs_write_nothing(run_cli, site) -> None:  # type: ignore[no-untyped-def]
    refused = run_cli(*site.args("report", "--dry-run", "--record"))
    assert refused.code == 2 and "--dry-run writes nothing" in refused.err
    assert run_cli(*site.args("sync")).code == 0
    shown = run_cli(*site.args("report", "--dry-run"))
    assert shown.out.startswith("# riscv64 upstreaming report")
    assert not (site.workdir / "history").exists()
    pipeline = site.root / ".gitlab-ci.yml"
    result = run_cli(*site.args("ci", "generate", "-o", str(pipeline), "--dry-run",
                                "--install", "pip install riscv64-mirrorctl"))
    assert result.code == 0 and "stages:" in result.out and not pipeline.exists()


def test_the_benchmarks_import_no_test() -> None:
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "benchmarks"
    found = []
    for path in sorted([*root.glob("*.py"), root / "run"]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            found += [f"{path.name}:{node.lineno}" for n in names
                      if n == "tests" or n.startswith("tests.")]
    assert found == []
