"""What a message tells a person to run, checked against the command line's real
commands and options: a hint that names a command or an option that does not exist
sends a person at 2 a.m. to a dead end.

`commands_in` finds the `mirrorctl ...` commands a text names (in backticks, or a line
of its own); `check_command` parses one with the real click commands (nothing runs);
`options_named` finds the bare options a message tells a person to pass ("pass
--force", "run with --force-tags"), which must be options of the command that said it.
"""

from __future__ import annotations

import re
import shlex

import click

from mirrorctl.cli.main import COMMANDS, cli

_BACKTICKED = re.compile(r"`(mirrorctl [^`]+)`")
_ON_ITS_LINE = re.compile(r"^\s*(?:\$ )?(mirrorctl [^\n#]+?)\s*(?:#.*)?$", re.M)
_TOLD = re.compile(r"\b(?:pass|with|run with|use|add|Pass|Run with|rerun with) (--[a-z][a-z-]*)")
# Placeholders a message uses, and a value that stands for each when parsing.
_PLACEHOLDERS = {"PACKAGE": "numpy", "DIR": "results", "DRAFT": "draft.md", "PATCH": "0001.patch",
                 "FILE": "report.md", "SECONDS": "10", "VERSION": "1.0"}


def commands_in(text: str) -> list[str]:
    """The commands `text` names: in backticks, or on a line of their own (an example,
    a hint) when the word after `mirrorctl` is a command or an option."""
    found = [m.group(1) for m in _BACKTICKED.finditer(text)]
    found += [m.group(1) for m in _ON_ITS_LINE.finditer(text) if "`" not in m.group(1)
              and (m.group(1).split()[1:2] or [""])[0].lstrip("-") in (*COMMANDS, "v", "q",
                                                                     "vv", "config",
                                                                     "workdir")]
    return list(dict.fromkeys(c.strip() for c in found))


def options_named(text: str) -> list[str]:
    return list(dict.fromkeys(m.group(1) for m in _TOLD.finditer(text)))


def _words(command: str) -> list[str]:
    command = re.sub(r"\{[^}]*\}", "numpy", command)  # an f-string's fields
    command = command.split(" > ", 1)[0].split(" | ", 1)[0]  # a shell redirection
    try:
        words = shlex.split(command)
    except ValueError:  # a docstring's line continued with a backslash
        words = command.replace("\\", " ").split()
    return [_PLACEHOLDERS.get(w, w) for w in words]


def resolve(words: list[str]) -> tuple[click.Command, list[str]]:
    """The command the words name (after `mirrorctl` and the global options) and its
    own arguments; AssertionError naming what does not exist."""
    assert words and words[0] == "mirrorctl", words
    rest = words[1:]
    ctx = click.Context(cli)
    global_options = {"--config": 1, "--workdir": 1, "-v": 0, "-vv": 0, "-q": 0,
                      "--verbose": 0, "--quiet": 0}
    while rest and rest[0].startswith("-"):
        assert rest[0] in global_options, f"{rest[0]} is no global option of mirrorctl"
        rest = rest[1 + global_options[rest[0]]:]
    assert rest, f"{' '.join(words)}: names no command"
    assert rest[0] in COMMANDS, f"{rest[0]!r} is no mirrorctl command ({' '.join(words)})"
    command = cli.get_command(ctx, rest[0])
    assert command is not None
    rest = rest[1:]
    while isinstance(command, click.Group) and rest:  # a group named alone is a reference
        sub = command.get_command(ctx, rest[0])
        assert sub is not None, f"{rest[0]!r} is no subcommand ({' '.join(words)})"
        command, rest = sub, rest[1:]
    return command, rest


def check_command(command: str) -> click.Command:
    """Parse `command` with the real command line; AssertionError when it would not."""
    words = _words(command)
    if "..." in words:
        words = words[:words.index("...")]
    found, args = resolve(words)
    if isinstance(found, click.Group):
        return found  # a group named alone: a reference to its commands
    try:
        found.make_context(found.name or "", list(args), resilient_parsing=False)
    except click.exceptions.Exit:  # --help
        pass
    except click.MissingParameter:
        # A command named without its arguments (`mirrorctl rebase`) is a reference to
        # it; with some of them, it is a command that cannot run.
        if any(not w.startswith("-") for w in args):
            raise AssertionError(f"`{command}` lacks an argument it needs") from None
    except click.BadParameter:
        pass  # a value that only exists where the person runs it (a draft's path)
    except click.BadOptionUsage as exc:
        if not (args and "requires an argument" in str(exc) and args[-1].startswith("-")):
            raise AssertionError(f"`{command}` does not parse: {exc}") from None
        # `mirrorctl report --merge`: the option named, as a reference
    except click.UsageError as exc:
        raise AssertionError(f"`{command}` does not parse: {exc}") from None
    return found


def option_names(command: click.Command) -> set[str]:
    return {name for p in command.params for name in (*p.opts, *p.secondary_opts)}


def check_told(text: str, command: str) -> None:
    """Every command `text` names parses, and every bare option it tells a person to
    pass is an option of `command` (the words after `mirrorctl` that printed it)."""
    for named in commands_in(text):
        check_command(named)
    if options_named(text):
        own, _ = resolve(["mirrorctl", *command.split()])
        missing = [o for o in options_named(text) if o not in option_names(own)]
        assert not missing, f"`mirrorctl {command}` tells a person to pass {missing}: {text}"
