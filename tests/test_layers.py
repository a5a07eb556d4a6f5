"""The layers of the architecture hold, and a wrong import breaks them (import-linter)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parent.parent
_LINT = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}  # the copy's mirrorctl, not the installed
    return subprocess.run([str(_LINT), "--no-cache", "--no-logo"], cwd=root, env=env,
                          capture_output=True, text=True, check=False)


@pytest.fixture()
def copy(tmp_path: Path) -> Path:
    shutil.copytree(_ROOT / "mirrorctl", tmp_path / "mirrorctl",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(_ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def test_the_tree_keeps_every_contract(copy: Path) -> None:
    result = _lint(copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "line", "contract"), [
    # a wing reaching up: the sync importing the queue
    ("sync/run.py", "from mirrorctl.queue import carry", "Wings import only the wings below"),
    # the queue opening merge requests itself
    ("queue/carry.py", "from mirrorctl.upstream import forge", "never reach a forge client"),
    # a forge client in the grade wing, hidden in a function
    ("grade/classify.py", "def _f() -> None:\n    import gitlab", "never reach a forge client"),
    # the domain drawing on the screen
    ("report/report.py", "import rich.table", "imports the command line or a terminal"),
    # two modules of one wing importing each other
    ("report/history.py", "from mirrorctl.report import report", "No import cycle between wings"),
    # the nightly sync loading requests
    ("sync/cache.py", "import requests", "load no HTTP client"),
])
def test_a_wrong_import_breaks_a_contract(copy: Path, module: str, line: str,
                                          contract: str) -> None:
    path = copy / "mirrorctl" / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n\n{line}\n", encoding="utf-8")
    result = _lint(copy)
    assert result.returncode == 1, result.stdout + result.stderr
    broken = [row for row in result.stdout.splitlines() if row.endswith("BROKEN")]
    assert len(broken) >= 1 and any(contract in row for row in broken), result.stdout
