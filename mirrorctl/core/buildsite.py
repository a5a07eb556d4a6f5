"""The builders' repository that holds mirrors.yaml (their python-wheels), as far as the
ground below the wings needs it: each package's build and test workflows, found by name
or named by `version_file`, and the version its build workflow builds (the default of
its `version` input), which is the current version of a package that carries no patch.

`version_file` (per package, or pull_requests' template) names the build workflow when
mirrors.yaml says it; the others are found by name beside it: build-<name>.yml and
test-<name>.yml, where a workflow shared by wheels of one upstream is named for their
common stem (build-polars-runtime.yml builds polars-runtime-32 and -64).
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from mirrorctl.core.config import Config, Package

__all__ = ["VERSION_DEFAULT", "built_version", "dispatch_default", "input_default",
           "package_workflows", "version_files"]

_WORKFLOWS = Path(".github") / "workflows"
# The default of the workflow_dispatch input `version`, as their workflows write it.
VERSION_DEFAULT = re.compile(r"^(?P<lead>\s*version:\s*\n(?:\s+(?!default:)[\w-]+:.*\n)*?"
                      r"\s+default:\s*)(?P<quote>['\"]?)(?P<value>[^'\"\s#]+)(?P=quote)",
                      re.MULTILINE)


def input_default(text: str) -> str | None:
    """The default of the workflow's `version` input (workflow_dispatch), or None."""
    match = VERSION_DEFAULT.search(text)
    return match.group("value") if match else None


def dispatch_default(data: Any) -> str | None:
    """The default of the `version` input in a parsed workflow, however it is written
    (`version: {default: '2.13.0'}` too), or None."""
    triggers: Any = data.get("on", data.get(True)) if isinstance(data, dict) else None
    try:  # YAML 1.1 reads the key `on` as true
        default = triggers["workflow_dispatch"]["inputs"]["version"]["default"]
    except (TypeError, KeyError):
        return None
    return str(default) if default is not None else None


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
    configured = [p for p in (root / f for f in version_files(config, package) or ())
                  if p.is_file()]
    stems = _workflows_by_stem(os.path.join(root, _WORKFLOWS))
    parts = canonicalize_name(package.name).split("-")
    named: list[Path] = []
    for n in range(len(parts), 0, -1):  # its name, and each stem it extends (polars-runtime)
        named += stems.get("-".join(parts[:n]), ())
    return list(dict.fromkeys([*configured, *sorted(named)]))


def _workflows_by_stem(folder: str) -> dict[str, list[Path]]:
    """build-<stem>.yml and test-<stem>.yml of the folder, by canonical stem; listed once
    for each state of the folder (a report asks for a thousand packages')."""
    try:
        stat = os.stat(folder)
    except OSError:
        return {}
    return _listing(folder, stat.st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _listing(folder: str, mtime: int) -> dict[str, list[Path]]:
    del mtime  # the key: a folder changed since is listed again
    stems: dict[str, list[Path]] = {}
    for path in sorted(Path(folder).glob("*.y*ml")):
        kind, _, stem = path.name.split(".")[0].partition("-")
        if kind in ("build", "test") and stem:
            stems.setdefault(canonicalize_name(stem), []).append(path)
    return stems


def built_version(config: Config, package: Package) -> str | None:
    """The wheel version the package's build workflow builds: its `version` input's
    default (torch's `2.13.0` is wheel 2.13.0+cpu), from the configured file or the first
    build-*.yml that has one; None when no workflow says (or mirrors.yaml says
    `version_file: null`). Its merged upgrade request moves it forward."""
    configured = version_files(config, package)
    if configured is None:
        return None
    root = config.path.parent
    candidates = [root / f for f in configured] if configured else [
        p for p in package_workflows(config, package) if p.name.startswith("build-")]
    for path in candidates:
        default = _default_of(path)
        if default is None:
            continue
        local = package.tag_format.local
        wheel = f"{default}+{local}" if local and "+" not in default else default
        try:
            Version(wheel)
        except InvalidVersion:
            return None  # an expression, not a version: nothing is known
        return wheel
    return None


def _default_of(path: Path) -> str | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return _read_default(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4096)
def _read_default(path: str, mtime: int, size: int) -> str | None:
    """A workflow's default, read once for each state of its file (a report asks for a
    thousand packages' current versions several times)."""
    del mtime, size  # the key: a file written since is read again
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    found = input_default(text)
    if found is not None:
        return found
    import yaml  # a flow-style input: parsed (rare, so only then)

    try:
        return dispatch_default(yaml.safe_load(text))
    except yaml.YAMLError:
        return None
