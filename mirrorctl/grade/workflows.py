"""The builders' own workflows of a package, in the repository that holds mirrors.yaml
(their python-wheels): the files that build or test it, and the cibuildwheel options
those builds set themselves (CIBW_*), which decide whether a change of upstream's
[tool.cibuildwheel] reaches their build.

Which files those are is the ground's (core.buildsite), re-exported here.
"""

from __future__ import annotations

import re
from pathlib import Path

from mirrorctl.core.buildsite import package_workflows, version_files

__all__ = ["cibuildwheel_options", "package_workflows", "version_files"]

_CIBW = re.compile(r"\bCIBW_([A-Z0-9_]+)\s*[:=]")
_PLATFORMS = ("LINUX", "MACOS", "WINDOWS", "IOS", "ANDROID", "PYODIDE")


def cibuildwheel_options(paths: list[Path]) -> frozenset[str] | None:
    """The cibuildwheel options these workflows set (CIBW_SKIP -> "skip",
    CIBW_BEFORE_ALL_LINUX -> "before-all"); None when there is no workflow to read, so
    what the builders' build sets is not known."""
    if not paths:
        return None
    options = set()
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None  # one that cannot be read: what they set is not known
        for name in _CIBW.findall(text):
            parts = name.split("_")
            if parts[-1] in _PLATFORMS:
                parts = parts[:-1]
            options.add("-".join(parts).lower())
    return frozenset(options)
