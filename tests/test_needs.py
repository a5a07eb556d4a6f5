"""One vocabulary of needs, and every command a message names is one that exists."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from mirrorctl.core.needs import NEED_KINDS, NEEDS, next_command
from mirrorctl.core.settings import SETTINGS
from mirrorctl.night.notices import TITLES
from tests.cliwords import (
    check_command,
    check_told,
    commands_in,
    option_names,
    options_named,
)

SOURCE = Path(__file__).resolve().parent.parent / "mirrorctl"


def test_every_kind_has_a_title_and_a_next_command_that_parses() -> None:
    assert set(NEEDS) == set(NEED_KINDS)
    assert {kind: spec.title for kind, spec in NEEDS.items()} == TITLES
    for kind in NEED_KINDS:
        check_command(next_command(kind, "numpy", "2.3.0"))


def test_notices_kinds_accept_every_kind_and_name_the_vocabulary() -> None:
    parse = SETTINGS["notices"].parse
    assert parse({"tracker": "https://github.com/o/r", "kinds": list(NEED_KINDS)}).kinds \
        == NEED_KINDS
    with pytest.raises(ValueError, match="did you mean conflict"):
        parse({"tracker": "https://github.com/o/r", "kinds": ["conflicts"]})


def _strings() -> list[tuple[Path, int, str]]:
    """Every string the code holds, with its file and line (an f-string's text parts
    joined, its fields as {...})."""
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.JoinedStr):
                text = "".join(v.value if isinstance(v, ast.Constant) else "{x}"
                               for v in node.values)
                found.append((path, node.lineno, text))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.append((path, node.lineno, node.value))
    return found


def test_every_command_the_code_names_exists_with_its_options() -> None:
    named = [(path, line, command) for path, line, text in _strings()
             for command in commands_in(text)]
    assert len(named) > 40  # the scan sees the messages
    failures = []
    for path, line, command in named:
        try:
            check_command(command)
        except AssertionError as exc:
            failures.append(f"{path.relative_to(SOURCE.parent)}:{line}: {exc}")
    assert not failures, "\n".join(failures)


def _all_options() -> set[str]:
    """Every option of every command, the global ones too."""
    import click

    from mirrorctl.cli.main import COMMANDS, cli

    ctx = click.Context(cli)
    options = option_names(cli)
    stack = [cli.get_command(ctx, name) for name in COMMANDS]
    while stack:
        command = stack.pop()
        assert command is not None
        options |= option_names(command)
        if isinstance(command, click.Group):
            stack += [command.get_command(ctx, name) for name in command.list_commands(ctx)]
    return options


def test_every_option_a_message_tells_a_person_to_pass_exists() -> None:
    known = _all_options() | {"--no-commit"}  # git's, in a docstring about git
    told = [(path, line, option) for path, line, text in _strings()
            for option in options_named(text)]
    assert told
    unknown = [f"{p.relative_to(SOURCE.parent)}:{line}: {option}" for p, line, option in told
               if option not in known]
    assert not unknown, unknown


def test_check_told_catches_an_option_the_command_does_not_have() -> None:
    check_told("run `mirrorctl rebase numpy --abort`", "rebase numpy")
    with pytest.raises(AssertionError, match="--version"):
        check_told("numpy has no version; pass --version", "rebase numpy")
    with pytest.raises(AssertionError, match="does not parse"):
        check_told("run `mirrorctl rebase numpy --nonsense`", "rebase numpy")
    with pytest.raises(AssertionError, match="no mirrorctl command"):
        check_command("mirrorctl resync numpy")


def test_a_package_without_a_version_is_told_what_its_command_takes(run_cli, site) -> None:
    from tests.gitrepos import write_config

    write_config(site.config, {"demo": {"upstream": str(site.upstream.path),
                                        "mirror": str(site.mirror.path)}})
    assert run_cli(*site.args("sync")).code == 0
    for words in (["rebase", "demo"], ["classify", "demo"], ["patches", "apply", "demo"]):
        result = run_cli(*site.args(*words))
        assert result.code in (1, 2), (words, result.err)
        assert "no `version:`" in result.err + result.out, (words, result.err, result.out)
        check_told(result.err + result.out, " ".join(words))
