"""The builders' own workflows of a package, in the repository that holds mirrors.yaml
(their python-wheels): the files that build or test it, and the cibuildwheel options
those builds set themselves (CIBW_*), which decide whether a change of upstream's
[tool.cibuildwheel] reaches their build.

`version_file` (per package, or pull_requests' template) names the build workflow when
mirrors.yaml says it; the others are found by name beside it: build-<name>.yml and
test-<name>.yml, where a workflow shared by wheels of one upstream is named for their
common stem (build-polars-runtime.yml builds polars-runtime-32 and -64).
"""

from __future__ import annotations

import re
from pathlib import Path

from packaging.utils import canonicalize_name

from mirrorctl.core.config import Config, Package

__all__ = ["cibuildwheel_options", "package_workflows", "version_files"]

_WORKFLOWS = Path(".github") / "workflows"
_CIBW = re.compile(r"\bCIBW_([A-Z0-9_]+)\s*[:=]")
_PLATFORMS = ("LINUX", "MACOS", "WINDOWS", "IOS", "ANDROID", "PYODIDE")


def version_files(config: Config, package: Package) -> tuple[str, ...] | None:
    """The files whose version the package's builds read, as mirrors.yaml says them: the
    package's `version_file`, else pull_requests'; () when neither says (they are
    found), None when one says null (no bump)."""
    if package.version_file is False:
        return None
    if isinstance(package.version_file, tuple):
        return tuple(t.format(name=package.name) for t in package.version_file)
    site = config.pull_requests.version_file if config.pull_requests is not None else ()
    return None if site is None else tuple(t.format(name=package.name) for t in site)


def package_workflows(config: Config, package: Package) -> list[Path]:
    """The package's build and test workflows that exist, the configured ones first."""
    root = config.path.parent
    found: list[Path] = [root / path for path in version_files(config, package) or ()]
    folder = root / _WORKFLOWS
    wanted = canonicalize_name(package.name)
    for path in sorted(folder.glob("*.y*ml")) if folder.is_dir() else ():
        kind, _, stem = path.name.split(".")[0].partition("-")
        if kind not in ("build", "test") or not stem:
            continue
        stem = canonicalize_name(stem)
        if wanted == stem or wanted.startswith(stem + "-"):
            found.append(path)
    return [p for p in dict.fromkeys(found) if p.is_file()]


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
