"""The cibuildwheel a draft is proved with: the version the workflow pins, installed once
into the tool cache (from the wheelhouse: no test reaches an index), else one of its
major version, named, else none (the proof unknown, said)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mirrorctl.upstream.wheels.cibwpin import Pin
from mirrorctl.upstream.wheels.cibwtool import CibuildwheelTools
from tests.conftest import WHEELHOUSE

pytestmark = pytest.mark.skipif(not any(WHEELHOUSE.glob("cibuildwheel-3.1.4-*.whl"))
                                and not os.environ.get("TESTS_REQUIRE_WHEELHOUSE"),
                                reason=".ci/prerequisites fetches the wheelhouse")


def offline(root: Path) -> CibuildwheelTools:
    return CibuildwheelTools(root=root, install_env={
        "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(WHEELHOUSE),
        "HOME": str(root)})


def test_the_pinned_version_is_installed_once_and_kept(tmp_path: Path) -> None:
    pin = Pin(version="3.1.4", where=".github/workflows/w.yml:6")
    tool, why = offline(tmp_path / "tools").for_pin(pin)
    assert tool is not None and why == "", why
    assert (tool.version, tool.path) == ("3.1.4", tmp_path / "tools" / "cibuildwheel-3.1.4")
    assert tool.said == "cibuildwheel 3.1.4 (pinned at .github/workflows/w.yml:6)"
    # Another run finds it installed, and installs nothing (it could not: no pip env).
    again, _ = CibuildwheelTools(root=tmp_path / "tools").for_pin(pin)
    assert again is not None and again.path == tool.path
    listed = again.run(["--print-build-identifiers", "--platform", "linux", "."],
                       env={"CIBW_ARCHS_LINUX": "riscv64"}, cwd=_project(tmp_path))
    assert listed.returncode == 0 and "cp313-manylinux_riscv64" in listed.stdout.split()
    assert not list((tmp_path / "tools").glob(".installing-*"))  # nothing half left


def test_a_prefix_pin_takes_the_newest_of_it(tmp_path: Path) -> None:
    tool, _ = offline(tmp_path).for_pin(Pin(version="3.2", where="w.yml:3"))
    assert tool is not None and tool.version == "3.2.1"


def test_a_version_not_to_be_had_falls_back_to_its_major_or_is_unproved(tmp_path: Path) -> None:
    from mirrorctl.upstream.wheels.cibwtool import _installed

    here = _installed()
    assert here is not None, "the test extra installs cibuildwheel"
    same = Pin(version=f"{here.split('.')[0]}.0.0", where="w.yml:9")
    tool, _ = offline(tmp_path).for_pin(same)
    assert tool is not None and tool.path is None and tool.version == here
    assert tool.said.startswith(f"cibuildwheel {here}, of the major version of the "
                                f"{same.version} pinned at w.yml:9, which could not be "
                                "installed (pip: ")
    none, why = offline(tmp_path).for_pin(Pin(version="2.23.3", where="w.yml:9"))
    assert none is None and "could not be installed" in why and "no cibuildwheel 2.x" in why


def test_a_version_not_to_be_had_is_proved_by_the_newest_of_its_major_in_the_cache(
        cibuildwheel_tools: CibuildwheelTools) -> None:
    from mirrorctl.upstream.wheels.cibwtool import _installed

    root = cibuildwheel_tools.root  # the session's cache: 3.1.4 and 3.2.1, installed once
    assert root is not None
    for version in ("3.1.4", "3.2.1"):
        assert cibuildwheel_tools.for_pin(Pin(version=version, where="w.yml:1"))[0]
    if (_installed() or "").startswith("3."):
        pytest.skip("the cibuildwheel installed beside mirrorctl is a 3.x: it comes first")
    tool, _ = offline(root).for_pin(Pin(version="3.4.0", where="w.yml:9"))
    assert tool is not None and tool.version == "3.2.1"
    assert tool.said.startswith("cibuildwheel 3.2.1 (in the tool cache), of the major "
                                "version of the 3.4.0 pinned at w.yml:9, which could not be "
                                "installed (pip: ")


def _project(root: Path) -> Path:
    folder = root / "project"
    folder.mkdir()
    (folder / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "1"\n')
    return folder
