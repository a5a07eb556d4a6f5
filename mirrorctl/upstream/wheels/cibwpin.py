"""The cibuildwheel a wheel job runs, as its workflow pins it (Pin): the action's ref, a
version installed or run (pip, pipx, uv, uvx), or the requirements file the job
installs; read from the workflow's text, line by line (pure).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Pin", "cibuildwheel_pin"]


@dataclass(frozen=True, kw_only=True)
class Pin:
    """The cibuildwheel the workflow runs: a version ("3.1.4"), or a prefix of one ("3",
    "3.1": the newest of those); `where` says which line pins it."""

    version: str
    where: str

    @property
    def requirement(self) -> str:
        """What pip installs: cibuildwheel==3.1.4, or cibuildwheel==3.1.* for a prefix."""
        exact = self.version.count(".") >= 2
        return f"cibuildwheel=={self.version}" + ("" if exact else ".*")

    @property
    def major(self) -> str:
        return self.version.split(".")[0]


_ACTION_REF = re.compile(r"pypa/cibuildwheel@(\S+)", re.I)
_VERSION = r"v?(\d+(?:\.\d+){0,2})"
_PINNED = (re.compile(rf"cibuildwheel\s*==\s*{_VERSION}\b"),  # pip, uv pip, pipx run, uvx --from
           re.compile(rf"cibuildwheel@{_VERSION}\b"),  # uvx cibuildwheel@3.2
           re.compile(rf"cibuildwheel\s*~=\s*{_VERSION}\b"))  # ~=3.1: the newest 3.x
_REQUIREMENTS = re.compile(r"(?:pip|uv\s+pip)\s+install\b[^\n]*?(?:-r|--requirement)[= ]\s*"
                           r"['\"]?([^\s'\"]+)")


def cibuildwheel_pin(job: Mapping[str, Any], steps: list[Mapping[str, Any]],
                     files: Mapping[str, str], path: str) -> Pin | None:
    """The cibuildwheel version the job runs, as its workflow pins it: the action's ref
    (`@v3.1.4`, `@v3`, a commit with its `# v3.1.4` comment), an install or a run of a
    version (`pip install cibuildwheel==X`, `uvx cibuildwheel@X`, `uvx --from
    'cibuildwheel==X' cibuildwheel`), or a requirements file the job installs. None when
    nothing says (the newest, then)."""
    lines = files.get(path, "").splitlines()
    for step in steps:
        found = _ACTION_REF.match(str(step.get("uses", "")).strip())
        if found is None:
            continue
        ref = found.group(1)
        version = re.fullmatch(_VERSION, ref)
        if version is not None:
            return Pin(version=version.group(1), where=_line_of(lines, ref, path))
        for number, line in enumerate(lines, 1):  # a commit: its comment says the version
            comment = re.search(rf"{re.escape(ref)}\s*#\s*{_VERSION}\b", line)
            if comment is not None:
                return Pin(version=comment.group(1), where=f"{path}:{number}")
    runs = [str(s.get("run", "")) for s in job.get("steps") or [] if isinstance(s, Mapping)]
    for run in runs:
        for kind, pattern in enumerate(_PINNED):
            pinned = pattern.search(run)
            if pinned is not None:
                said = pinned.group(1)
                if kind == 2:  # compatible release: its last part is a floor
                    said = said.rsplit(".", 1)[0] if "." in said else said
                return Pin(version=said, where=_line_of(lines, pinned.group(0), path))
    for run in runs:
        for wanted in _REQUIREMENTS.findall(run):
            text = files.get(wanted.removeprefix("./"))
            found = _PINNED[0].search(text or "")
            if found is not None:
                return Pin(version=found.group(1),
                           where=_line_of(text.splitlines() if text else [], found.group(0),
                                          wanted.removeprefix("./")))
    return None


def _line_of(lines: list[str], text: str, path: str) -> str:
    number = next((n for n, line in enumerate(lines, 1) if text in line), None)
    return f"{path}:{number}" if number is not None else path
