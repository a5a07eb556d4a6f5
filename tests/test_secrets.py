"""Credentials never appear in any output or file: every command, tokens set."""

from __future__ import annotations

from pathlib import Path

import pytest

from testbed.fakeforge import fake_forge
from tests.conftest import Site
from tests.test_drafts import numpy_drafts  # noqa: F401 - the fixture
from tests.test_rebase import numpy_site  # noqa: F401 - the fixture
from tests.test_submit import drafted

TOKENS = {
    "MIRRORCTL_MIRROR_TOKEN": "mirror-SECRET-token-111111",
    "MIRRORCTL_GITHUB_TOKEN": "ghp-SECRET-token-222222",
    "MIRRORCTL_GITLAB_TOKEN": "glpat-SECRET-token-333333",
    "GITLAB_TOKEN": "glpat-SECRET-token-444444",
}


def test_no_command_shows_or_writes_a_token(run_cli, numpy_site: Site,  # noqa: F811
                                            monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    for name, value in TOKENS.items():
        monkeypatch.setenv(name, value)
    # A token in a path that git will print in its error, as a leaked URL would be.
    leaky = tmp_path / TOKENS["MIRRORCTL_MIRROR_TOKEN"] / "gone"
    text = numpy_site.config.read_text() + (
        f"  leaky:\n    upstream: {leaky}\n    mirror: {tmp_path / 'leaky.git'}\n")
    numpy_site.config.write_text(text)
    commands = [
        ["validate"], ["sync"], ["sync", "--dry-run"], ["releases"],
        ["patches", "apply", "numpy"], ["rebase", "numpy", "--keep-partial", "--range-diff"],
        ["classify"], ["upstream", "draft", "numpy"],
        ["patches", "export", "numpy", "--base", "v1.0.0", "--from-branch", "riscv64/1.0.0"],
        ["-vv", "sync", "leaky"],
        ["nightly"], ["report"], ["report", "-o", str(numpy_site.root / "report.html")],
        ["ci", "generate", "-o", str(numpy_site.root / ".gitlab-ci.yml"), "--install",
         "pip install ./riscv64_mirrorctl.whl"],
        ["-v", "demo", "--dir", str(numpy_site.root / "demo")],
    ]
    outputs = []
    with fake_forge() as forge:
        forge.github_token = TOKENS["MIRRORCTL_GITHUB_TOKEN"]
        numpy_site.config.write_text(numpy_site.config.read_text().replace(
            "defaults:\n", f"defaults:\n  forge_apis:\n    github.com: {forge.url}\n"))
        commands.append(["upstream", "refresh"])
        results = numpy_site.root / "results"
        results.mkdir()
        for command in commands:
            for fmt in ([], ["--format", "json"]):
                result = run_cli(*numpy_site.args(*command, *fmt))
                outputs.append((command, result.code, result.out + result.err))
                if command == ["nightly"] and fmt:  # what a CI package job leaves
                    (results / "numpy.json").write_text(result.out)
        for fmt in ([], ["--format", "json"]):
            merged = run_cli(*numpy_site.args("report", "--merge", str(results), "--record",
                                              *fmt))
            assert merged.code == 1, merged.err  # leaky left no result: it is unknown
            outputs.append((["report", "--merge"], merged.code, merged.out + merged.err))
    assert any(code == 1 and "leaky" in out for command, code, out in outputs
               if "leaky" in command), "the leaky package must fail, with git's error shown"
    for command, _, out in outputs:
        for value in TOKENS.values():
            assert value not in out, (command, value)
    # mirrors.yaml holds the leaky path this test wrote on purpose; nothing else may.
    assert_no_token_in_files(numpy_site.root, but=numpy_site.config)


def assert_no_token_in_files(root: Path, but: Path | None = None) -> None:
    """Every file under root: work directory, queues, drafts, reports, history, logs."""
    checked = 0
    for path in root.rglob("*"):
        if path.is_file() and path != but:
            checked += 1
            data = path.read_bytes()
            for value in TOKENS.values():
                assert value.encode() not in data, (path, value)
    assert checked > 50  # the reports, history records, caches and queues were there


def test_submitting_and_refreshing_show_no_token(run_cli, numpy_drafts: Site,  # noqa: F811
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    with fake_forge() as forge:
        forge.github_token = TOKENS["MIRRORCTL_GITHUB_TOKEN"]
        forge.gitlab_token = TOKENS["MIRRORCTL_GITLAB_TOKEN"]
        for name, value in TOKENS.items():
            monkeypatch.setenv(name, value)
        numpy_drafts.config.write_text(numpy_drafts.config.read_text().replace(
            "defaults:\n", f"defaults:\n  forge_apis:\n    github.com: {forge.url}\n"))
        draft = drafted(run_cli, numpy_drafts)
        seen = [run_cli(*numpy_drafts.args("upstream", "submit", str(draft), *fmt))
                for fmt in ([], ["--format", "json"])]
        seen.append(run_cli(*numpy_drafts.args("upstream", "refresh", "--write")))
        seen.append(run_cli(*numpy_drafts.args("upstream", "submit", str(draft), "--force")))
    assert seen[0].code == 0, seen[0].err  # submitted, with the token on the wire
    assert forge.requests, "the fake forge was asked"
    for result in seen:
        for value in TOKENS.values():
            assert value not in result.out + result.err
    assert_no_token_in_files(numpy_drafts.root)
