"""Credentials never appear in any output or file: every command, tokens set."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Site
from tests.fakeforge import fake_forge
from tests.test_rebase import numpy_site  # noqa: F401 - the fixture

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
    ]
    outputs = []
    with fake_forge() as forge:
        forge.github_token = TOKENS["MIRRORCTL_GITHUB_TOKEN"]
        numpy_site.config.write_text(numpy_site.config.read_text().replace(
            "defaults:\n", f"defaults:\n  forge_apis:\n    github.com: {forge.url}\n"))
        commands.append(["upstream", "refresh"])
        for command in commands:
            for fmt in ([], ["--format", "json"]):
                result = run_cli(*numpy_site.args(*command, *fmt))
                outputs.append((command, result.code, result.out + result.err))
    assert any(code == 1 and "leaky" in out for command, code, out in outputs
               if "leaky" in command), "the leaky package must fail, with git's error shown"
    for command, _, out in outputs:
        for value in TOKENS.values():
            assert value not in out, (command, value)
    for folder in (numpy_site.workdir, numpy_site.root / "patchsets"):
        for path in folder.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                for value in TOKENS.values():
                    assert value.encode() not in data, (path, value)
