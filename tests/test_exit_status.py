"""Every command's exit statuses, held against the table its --help documents: what a
nightly script branches on must be what the help says."""

from __future__ import annotations

import re

import click
import pytest

from tests.cliwords import resolve
from tests.conftest import Site
from tests.gitrepos import write_config
from tests.test_rebase import numpy_site

__all__ = ["numpy_site"]  # the fixture


def documented(words: str) -> set[int]:
    """The exit statuses a command's --help names in its "Exit status" paragraph."""
    command, _ = resolve(["mirrorctl", *words.split()])
    text = " ".join((command.help or "").split())
    found = re.search(r"Exit status (.*?)(?:\. [A-Z]|$)", text)
    assert found, f"`mirrorctl {words} --help` documents no exit status"
    codes = {int(n) for n in re.findall(r"(?<![\w.])(\d{1,3})(?![\w.])", found.group(1))}
    return codes | {3}  # a bug, in every command (the root's help says so)


def every_command() -> list[str]:
    from mirrorctl.cli.main import COMMANDS, cli

    ctx = click.Context(cli)
    words = []
    for name in sorted(COMMANDS):
        command = cli.get_command(ctx, name)
        if isinstance(command, click.Group):
            words += [f"{name} {sub}" for sub in command.list_commands(ctx)]
        else:
            words.append(name)
    return words


@pytest.mark.parametrize("words", every_command())
def test_every_command_documents_its_exit_statuses(words: str) -> None:
    codes = documented(words)
    assert 0 in codes and (codes & {1, 2}), (words, codes)


def check(run_cli, site: Site, expected: int, *args: str) -> None:  # type: ignore[no-untyped-def]
    words = [a for a in args if not a.startswith("-")][:2]
    command = words[0] if words[0] not in ("patches", "upstream", "ci") else " ".join(words)
    result = run_cli(*site.args(*args))
    assert result.code == expected, (args, result.out, result.err)
    assert expected in documented(command), f"{command} exits {expected}, undocumented"


def test_a_clean_site_exits_0_everywhere(run_cli, site: Site) -> None:
    check(run_cli, site, 0, "validate")
    check(run_cli, site, 0, "sync")
    for command in ("releases", "classify", "report", "nightly"):
        check(run_cli, site, 0, command)


def test_a_ref_that_needs_a_person_is_0_for_sync_and_1_for_what_counts_it(
        run_cli, site: Site) -> None:
    check(run_cli, site, 0, "sync")
    site.upstream.tag("v1.0.0", "HEAD", force=True)  # re-tagged upstream
    result = run_cli(*site.args("sync"))
    assert result.code == 0 and "! skip" in result.out and "needs a person" in result.out
    check(run_cli, site, 1, "report")
    check(run_cli, site, 1, "nightly")
    check(run_cli, site, 0, "classify")  # the grade itself is known


def test_a_conflict(run_cli, numpy_site: Site) -> None:
    check(run_cli, numpy_site, 0, "sync")
    check(run_cli, numpy_site, 0, "classify")  # graded: hard
    check(run_cli, numpy_site, 1, "rebase", "numpy")
    check(run_cli, numpy_site, 1, "report")
    check(run_cli, numpy_site, 1, "nightly")
    check(run_cli, numpy_site, 2, "settle", "numpy")  # a conflict is settled by resolving it


def test_an_unreachable_upstream_is_1_for_every_reader(run_cli, site: Site) -> None:
    check(run_cli, site, 0, "sync")
    site.upstream.path.rename(site.root / "gone")
    for command in ("sync", "releases", "classify", "report", "nightly"):
        check(run_cli, site, 1, command)


def test_bad_usage_is_2(run_cli, site: Site) -> None:
    check(run_cli, site, 0, "sync")
    check(run_cli, site, 2, "classify", "demo", "--onto", "v9.9.9")
    check(run_cli, site, 2, "rebase", "demo", "--onto", "v9.9.9")
    check(run_cli, site, 2, "report", "demo", "--merge", str(site.root))
    check(run_cli, site, 2, "settle", "demo")
    check(run_cli, site, 2, "notices")
    check(run_cli, site, 2, "patches", "apply", "demo")
    write_config(site.config, {"demo": {"upstream": str(site.upstream.path), "bogus": 1}})
    for command in ("validate", "sync", "nightly", "report"):
        check(run_cli, site, 2, command)


# Each command that writes in the work directory, as a wrapper would run it.
WRITERS = [("sync",), ("nightly",), ("rebase", "demo"), ("settle", "demo"),
           ("patches", "apply", "demo"), ("report", "--record"),
           ("patches", "export", "demo", "--base", "v1.0.0", "--from-branch", "main"),
           ("upstream", "refresh"), ("upstream", "wheels"),
           ("upstream", "submit", "{root}/draft.md")]


@pytest.mark.parametrize("args", WRITERS, ids=[" ".join(w[:2]) for w in WRITERS])
def test_another_run_holding_the_work_directory_is_75_everywhere(
        run_cli, site: Site, args: tuple[str, ...]) -> None:
    """A wrapper tells "try later" (75) from "a person must look" (1); it was 1 before
    issue 31."""
    from mirrorctl.core.lock import workdir_lock

    (site.root / "draft.md").write_text("---\n---\n")
    with workdir_lock(site.workdir, "nightly"):
        check(run_cli, site, 75, *(a.format(root=site.root) for a in args))
