"""The builders' repository that holds mirrors.yaml (their python-wheels), as far as the
ground below the wings needs it: each package's build and test workflows, found by name
or named by `version_file`, and the version its build workflow builds (the default of
its `version` input), which is the current version of a package that carries no patch.

`version_file` (per package, or pull_requests' template) names the build workflow when
mirrors.yaml says it; the others are found by name beside it: build-<name>.yml and
test-<name>.yml, where a workflow shared by wheels of one upstream is named for their
common stem (build-polars-runtime.yml builds polars-runtime-32 and -64).

Their workflows are read one way, here: each file once for each state of it
(read_workflow), its text for the lines an edit keeps and its parse for what it says;
the version input's default and the cibuildwheel options the builds set both come from
that one reading.
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

__all__ = ["VERSION_DEFAULT", "BuildersWorkflow", "built_version", "cibuildwheel_options",
           "dispatch_default", "input_default", "package_workflows", "read_workflow",
           "version_files"]

_WORKFLOWS = Path(".github") / "workflows"
# The default of the workflow_dispatch input `version`, as their workflows write it.
VERSION_DEFAULT = re.compile(r"^(?P<lead>\s*version:\s*\n(?:\s+(?!default:)[\w-]+:.*\n)*?"
                      r"\s+default:\s*)(?P<quote>['\"]?)(?P<value>[^'\"\s#]+)(?P=quote)",
                      re.MULTILINE)


# Where a flow-style mapping could hold the version input's default.
_FLOW_INPUT = re.compile(r"\b(?:version|inputs|workflow_dispatch|on)\s*:\s*\{")


def input_default(text: str) -> str | None:
    """The default of the workflow's `version` input (workflow_dispatch), however it is
    written (block style, as their workflows write it, read from the text; flow style
    parsed), or None."""
    match = VERSION_DEFAULT.search(text)
    if match:
        return match.group("value")
    if not _FLOW_INPUT.search(text):
        return None  # no input written in flow style: nothing to parse for
    return dispatch_default(_parsed(text))


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
    workflow = read_workflow(path)
    return workflow.version_default if workflow is not None else None


# A cibuildwheel option a shell line sets: `CIBW_SKIP=...`, `export CIBW_SKIP=...`,
# `echo "CIBW_SKIP=..." >> $GITHUB_ENV`.
_CIBW_ASSIGNED = re.compile(r"\bCIBW_([A-Z0-9_]+)=")
_CIBW_KEY = re.compile(r"CIBW_([A-Z0-9_]+)")
_PLATFORMS = ("LINUX", "MACOS", "WINDOWS", "IOS", "ANDROID", "PYODIDE")


class BuildersWorkflow:
    """One of their workflow files as read once: its text, and what it says."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.text = text

    @functools.cached_property
    def data(self) -> Any:
        """The parsed workflow; None when it is not YAML."""
        return _parsed(self.text)

    @functools.cached_property
    def version_default(self) -> str | None:
        """The default of its `version` input (core.buildsite.input_default)."""
        return input_default(self.text)

    @functools.cached_property
    def cibuildwheel_options(self) -> frozenset[str] | None:
        """The cibuildwheel options it sets (CIBW_SKIP -> "skip", CIBW_BEFORE_ALL_LINUX
        -> "before-all"): a CIBW_* key of any env (the workflow's, a job's, a step's),
        or a shell line that assigns one; None when it is not YAML (not known)."""
        if self.data is None:
            return None
        names: set[str] = set()
        for key, value in _walk(self.data):
            if isinstance(key, str) and (match := _CIBW_KEY.fullmatch(key)):
                names.add(match.group(1))
            if isinstance(value, str):
                names.update(_CIBW_ASSIGNED.findall(value))
        return frozenset(_option(name) for name in names)


def read_workflow(path: Path) -> BuildersWorkflow | None:
    """One of their workflows, read once for each state of its file (a report asks for a
    thousand packages' current versions several times); None when it cannot be read."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return _read(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4096)
def _read(path: str, mtime: int, size: int) -> BuildersWorkflow | None:
    del mtime, size  # the key: a file written since is read again
    try:
        return BuildersWorkflow(Path(path), Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None


def cibuildwheel_options(paths: list[Path]) -> frozenset[str] | None:
    """The cibuildwheel options these workflows set; None when there is no workflow to
    read, or one cannot be read or parsed: what the builders' build sets is not known."""
    if not paths:
        return None
    options: set[str] = set()
    for path in paths:
        workflow = read_workflow(path)
        found = workflow.cibuildwheel_options if workflow is not None else None
        if found is None:
            return None
        options |= found
    return frozenset(options)


def _option(name: str) -> str:
    parts = name.split("_")
    if parts[-1] in _PLATFORMS:
        parts = parts[:-1]
    return "-".join(parts).lower()


def _walk(data: Any) -> Any:
    """(key, value) of every mapping entry, and (None, item) of every list item, at
    every depth."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(data, list):
        for item in data:
            yield None, item
            yield from _walk(item)


def _parsed(text: str) -> Any:
    import yaml  # only a workflow that needs its parse pays for it

    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return None
