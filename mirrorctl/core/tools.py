"""The one other door to a process besides git (core/git.py): a Python tool mirrorctl
checks its work with (cibuildwheel), run from the interpreter mirrorctl runs in, with
the environment given (never the caller's own), a time limit, and its output kept.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ToolResult", "has_tool", "run_tool"]


@dataclass(frozen=True)
class ToolResult:
    returncode: int
    stdout: str
    stderr: str


def has_tool(module: str) -> bool:
    """Whether the Python module is installed beside mirrorctl (an optional extra)."""
    return importlib.util.find_spec(module) is not None


def run_tool(module: str, args: Sequence[str], *, env: Mapping[str, str], cwd: Path,
             timeout: float = 120.0) -> ToolResult:
    """`python -m <module> <args>` with exactly `env` (and PATH, so that it finds
    itself); a time-out is a failed result, never a hang."""
    full = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env}
    try:
        done = subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=full,
                              capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return ToolResult(124, "", f"{module} took longer than {timeout:g}s")
    return ToolResult(done.returncode, done.stdout, done.stderr)
