"""The command line as scripts and people meet it: help, exit statuses, locks, secrets."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import mirrorctl.sync.run
from mirrorctl.core.lock import workdir_lock
from tests.conftest import Site
from tests.gitrepos import write_config


@pytest.mark.parametrize("command", [
    [], ["sync"], ["validate"], ["demo"], ["patches"], ["patches", "apply"],
    ["patches", "export"], ["releases"], ["rebase"], ["classify"], ["upstream"],
    ["upstream", "draft"], ["upstream", "refresh"], ["upstream", "submit"], ["report"],
    ["nightly"], ["ci"], ["ci", "generate"], ["status"], ["settle"]])
def test_every_command_has_help_with_examples(run_cli, command: list[str]) -> None:
    result = run_cli(*command, "--help")
    assert result.code == 0
    assert "Examples:" in result.out and "mirrorctl" in result.out


def test_env_var_defaults_are_shown_in_help(run_cli) -> None:
    out = run_cli("--help").out
    assert "MIRRORCTL_CONFIG" in out and "MIRRORCTL_WORKDIR" in out


def test_validate_good_and_bad(run_cli, site: Site) -> None:
    ok = run_cli(*site.args("validate"))
    assert ok.code == 0 and "OK, 1 package" in ok.out
    site.config.write_text(site.config.read_text().replace("tag_format", "tagformat"))
    bad = run_cli(*site.args("validate", "--format", "json"))
    assert bad.code == 2
    errors = json.loads(bad.out)["errors"]
    assert errors[0]["message"] == "unknown key, did you mean tag_format?"
    line = site.config.read_text().splitlines().index("    tagformat: v{version}") + 1
    assert errors[0]["line"] == line and errors[0]["path"] == "packages.demo.tagformat"


def test_bad_config_stops_sync_with_status_2_and_changes_nothing(run_cli, site: Site) -> None:
    before = site.mirror.refs()
    site.config.write_text(site.config.read_text() + "  broken: {upstream: ext::sh}\n")
    result = run_cli(*site.args("sync"))
    assert result.code == 2
    assert "packages.broken.upstream: protocol 'ext' is not allowed" in result.err
    assert site.mirror.refs() == before
    assert not (site.workdir / "cache").exists()


@pytest.mark.parametrize("args", [["sync", "--jobs", "0"], ["sync", "--frobnicate"],
                                  ["sync", "nosuchpackage"], ["nosuchcommand"]])
def test_bad_usage_exits_2(run_cli, site: Site, args: list[str]) -> None:
    result = run_cli(*site.args(*args))
    assert result.code == 2
    assert result.err.strip()


def test_unreachable_upstream_fails_the_package_and_changes_nothing(run_cli, site: Site,
                                                                    tmp_path: Path) -> None:
    before = site.mirror.refs()
    write_config(site.config, {"demo": {"upstream": str(tmp_path / "gone"),
                                        "mirror": str(site.mirror.path)}})
    result = run_cli(*site.args("sync"))
    assert result.code == 1
    assert "demo" in result.out and "failed" in result.out
    assert "reading upstream refs" in result.out
    assert site.mirror.refs() == before


def test_a_second_run_exits_at_once_while_the_first_holds_the_lock(run_cli, site: Site) -> None:
    with workdir_lock(site.workdir, "sync"):
        result = run_cli(*site.args("sync"))
    assert result.code == 75  # try again later; 1 before issue 31
    assert "another mirrorctl run holds" in result.err and "mirrorctl sync" in result.err
    assert "refs/heads/main" not in site.mirror.refs()
    assert run_cli(*site.args("sync")).code == 0  # the lock went with its holder


def test_who_holds_the_work_directory_is_who_holds_its_lock(site: Site) -> None:
    """A nightly killed leaves its words in the lock file, and its pid may be reused (here:
    this process, alive): only the kernel's lock says whether it still runs, so that a
    night that did not finish is never taken for one that runs."""
    from mirrorctl.core.lock import writer

    with workdir_lock(site.workdir, "nightly"):
        held = writer(site.workdir)
    assert held is not None and "nightly" in held
    assert str(os.getpid()) in (site.workdir / "lock").read_text()  # words left, alive pid
    assert writer(site.workdir) is None


def test_unexpected_errors_exit_3_with_a_crash_log(run_cli, site: Site,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom https://user:hunter22@example.org/x.git")

    monkeypatch.setattr(mirrorctl.sync.run, "sync_packages", explode)
    result = run_cli(*site.args("sync"))
    assert result.code == 3
    assert "unexpected error (a bug)" in result.err
    logs = list((site.workdir / "logs").glob("crash-*.log"))
    assert len(logs) == 1
    text = logs[0].read_text()
    assert "RuntimeError: boom" in text and "hunter22" not in text


def test_tokens_never_appear_in_output_or_files(run_cli, site: Site,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    token = "glpat-SECRET-abcdef0123456789"
    monkeypatch.setenv("MIRRORCTL_MIRROR_TOKEN", token)
    monkeypatch.setenv("GITLAB_TOKEN", token)
    # The token also turns up in a failing upstream path, so git's own error carries it.
    write_config(site.config, {
        "demo": {"upstream": str(site.upstream.path), "mirror": str(site.mirror.path)},
        "leaky": {"upstream": f"{site.root}/{token}/repo", "mirror": str(site.root / "m.git")},
    })
    outputs = [run_cli(*site.args("-vv", "sync", *fmt)) for fmt in ([], ["--format", "json"])]
    for result in outputs:
        assert token not in result.out + result.err
    assert "***" in outputs[1].out
    for path in site.workdir.rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path
