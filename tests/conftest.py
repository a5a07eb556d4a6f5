from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mirrorctl.cli import main
from tests.gitrepos import Repo, make_mirror, make_upstream, write_config

_DATE = "2025-03-01T12:00:00+00:00"


@pytest.fixture(autouse=True)
def sealed_git(tmp_path_factory: pytest.TempPathFactory,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own HOME, no system git config, a fixed identity and dates,
    and none of the developer's GIT_* or MIRRORCTL_* variables."""
    home = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name.startswith(("GIT_", "MIRRORCTL_")):
            monkeypatch.delenv(name)
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Test Builder\n\temail = builder@example.invalid\n"
        "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_DATE", _DATE)
    monkeypatch.setenv("TZ", "UTC")
    # pip (the cibuildwheel a workflow pins, installed for its proof) reads no index:
    # only the wheels .ci/prerequisites put in .ci/wheelhouse.
    for name in list(os.environ):
        if name.startswith("PIP_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(WHEELHOUSE))
    # One tool cache for the session: each pinned cibuildwheel is installed once, not
    # once a test's work directory (MIRRORCTL_TOOLS, as a site sharing it would set).
    monkeypatch.setenv("MIRRORCTL_TOOLS", str(tmp_path_factory.getbasetemp() / "tools"))
    yield home


# The wheels of the cibuildwheel versions the tests' workflows pin (and what they need),
# downloaded once by .ci/prerequisites: a draft is proved with the version it pins.
WHEELHOUSE = Path(__file__).resolve().parent.parent / ".ci" / "wheelhouse"


@pytest.fixture(scope="session")
def cibuildwheel_tools(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The tool cache of the whole run: each pinned cibuildwheel is installed once (from
    the wheelhouse, never an index)."""
    from mirrorctl.upstream.wheels.cibwtool import CibuildwheelTools

    if not any(WHEELHOUSE.glob("cibuildwheel-*.whl")):
        if os.environ.get("TESTS_REQUIRE_WHEELHOUSE"):
            pytest.fail(f"no cibuildwheel wheels in {WHEELHOUSE}: run .ci/prerequisites")
        pytest.skip(f"no cibuildwheel wheels in {WHEELHOUSE} (.ci/prerequisites fetches them)")
    return CibuildwheelTools(root=tmp_path_factory.getbasetemp() / "tools", install_env={
        "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(WHEELHOUSE),
        "HOME": str(tmp_path_factory.mktemp("piphome"))})


@pytest.fixture(params=["in-process", "processes"])
def both_git_paths(request: pytest.FixtureRequest, sealed_git: Path,
                   monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test on both ways to git (core/objects.py, or a process for every step):
    the corpora that use it hold on each, with the same exact outcomes and messages."""
    monkeypatch.setenv("MIRRORCTL_GIT_PATH", request.param)
    return str(request.param)


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run mirrorctl's real entry point in-process; return exit status and output."""

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@dataclass
class Site:
    """One package: an upstream, a mirror carrying a riscv64 branch, and a config."""

    root: Path
    upstream: Repo
    mirror: Repo
    config: Path
    workdir: Path

    def args(self, *args: str) -> list[str]:
        return ["--config", str(self.config), "--workdir", str(self.workdir), "-q", *args]


@pytest.fixture
def site(tmp_path: Path) -> Site:
    upstream = make_upstream(tmp_path / "upstream")
    mirror = make_mirror(tmp_path / "mirror.git")
    # The mirror's own riscv64 patch branch, which sync must never touch.
    upstream.git("push", "--quiet", str(mirror.path), "HEAD:refs/heads/riscv64/1.1.0")
    config = write_config(tmp_path / "mirrors.yaml", {
        "demo": {"upstream": str(upstream.path), "mirror": str(mirror.path),
                 "tag_format": "v{version}", "version": "1.1.0"}})
    return Site(tmp_path, upstream, mirror, config, tmp_path / "work")
