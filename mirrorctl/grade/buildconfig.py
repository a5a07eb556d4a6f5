"""What a release's build set-up says, read from its files (pure: text in, facts out).

The facts that decide how hard an upgrade is: the build backend, the build
requirements, setup_requires, cibuildwheel settings, the system packages the CI
installs, native dependencies, compiled toolchains and submodules. A file that
cannot be parsed is a problem in the facts, never an exception.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from packaging.utils import canonicalize_name

from mirrorctl.core.keptfile import KeptFile

# Imported where they are used (requirements, TOML, setup.cfg): the facts of a tree are
# kept once computed, so most commands that grade never parse a build file.

__all__ = ["FACTS_FILE", "FACTS_FORMAT", "BuildFacts", "build_facts", "cibuildwheel_changes",
           "facts_from_json", "facts_to_json", "interesting"]

# The facts a tree's files give, as kept beside the cache: a new format (what build_facts
# reads changed) makes every kept one stale.
FACTS_FORMAT = 2  # 2: runtime requirements ([project] dependencies)

LEGACY_SETUPTOOLS = "setuptools.build_meta:__legacy__"
# The files whose content matters; everything else counts by its name only.
_TOP_FILES = ("pyproject.toml", "setup.cfg", "setup.py", "cibuildwheel.toml",
              ".cibuildwheel.toml", "CMakeLists.txt")
_CI_GLOBS = (".github/workflows/*.yml", ".github/workflows/*.yaml", ".gitlab-ci.yml",
             ".gitlab/ci/*.yml", ".circleci/config.yml", ".cirrus.yml", ".cirrus.star",
             "azure-pipelines.yml", ".travis.yml", "tools/ci/*.sh", "ci/*.sh")
_FORTRAN = (".f", ".f90", ".f95", ".f03", ".for", ".F", ".F90")
_INSTALL = re.compile(
    r"\b(?:apt-get|apt|yum|dnf|microdnf|apk|zypper)\s+(?:-\S+\s+)*(?:install|add)\s+"
    r"([^\n&|;#`)]+)")
_MESON_DEPENDENCY = re.compile(r"""\bdependency\(\s*['"]([^'"]+)['"]""")
_CMAKE_PACKAGE = re.compile(r"\bfind_package\(\s*([A-Za-z0-9_+-]+)", re.I)
_SETUP_REQUIRES = re.compile(r"setup_requires\s*=\s*\[([^\]]*)\]", re.S)


def interesting(path: str) -> bool:
    """Whether a file's content goes into the facts (else only its name counts)."""
    return (path in _TOP_FILES or path.endswith("meson.build")
            or any(fnmatchcase(path, glob) for glob in _CI_GLOBS))


@dataclass(frozen=True, kw_only=True)
class BuildFacts:
    backend: str | None  # None: no pyproject.toml and no setup.py
    backend_family: str | None
    build_requires: Mapping[str, str] = field(default_factory=dict)  # name -> requirement
    setup_requires: Mapping[str, str] = field(default_factory=dict)
    # [project] dependencies, when pyproject.toml declares them (not dynamic)
    runtime_requires: Mapping[str, str] = field(default_factory=dict)
    cibuildwheel: str = ""  # the [tool.cibuildwheel] settings, canonical JSON
    system_packages: frozenset[str] = frozenset()
    native_dependencies: frozenset[str] = frozenset()
    toolchains: frozenset[str] = frozenset()  # "rust", "fortran"
    submodules: Mapping[str, str] = field(default_factory=dict)  # path -> commit
    problems: tuple[str, ...] = ()


def facts_to_json(facts: BuildFacts) -> dict[str, Any]:
    return {"format": FACTS_FORMAT, **_facts_data(facts)}


def _facts_data(facts: BuildFacts) -> dict[str, Any]:
    return {"backend": facts.backend,
            "backend_family": facts.backend_family,
            "build_requires": dict(facts.build_requires),
            "setup_requires": dict(facts.setup_requires), "cibuildwheel": facts.cibuildwheel,
            "runtime_requires": dict(facts.runtime_requires),
            "system_packages": sorted(facts.system_packages),
            "native_dependencies": sorted(facts.native_dependencies),
            "toolchains": sorted(facts.toolchains), "submodules": dict(facts.submodules),
            "problems": list(facts.problems)}


def facts_from_json(data: Mapping[str, Any]) -> BuildFacts:
    """Raises ValueError (a stale format too), TypeError or KeyError."""
    if data.get("format") != FACTS_FORMAT:
        raise ValueError(f"facts of format {data.get('format')!r}")
    return _facts_of(data)


def _facts_of(data: Mapping[str, Any]) -> BuildFacts:
    def text(value: Any) -> str | None:
        return None if value is None else str(value)

    return BuildFacts(
        backend=text(data["backend"]), backend_family=text(data["backend_family"]),
        build_requires={str(k): str(v) for k, v in data["build_requires"].items()},
        setup_requires={str(k): str(v) for k, v in data["setup_requires"].items()},
        runtime_requires={str(k): str(v) for k, v in data["runtime_requires"].items()},
        cibuildwheel=str(data["cibuildwheel"]),
        system_packages=frozenset(map(str, data["system_packages"])),
        native_dependencies=frozenset(map(str, data["native_dependencies"])),
        toolchains=frozenset(map(str, data["toolchains"])),
        submodules={str(k): str(v) for k, v in data["submodules"].items()},
        problems=tuple(map(str, data["problems"])))


# A tree's facts, kept beside the cache by the tree's id (core.keptfile): a file of an
# older format (what build_facts reads changed) is computed again, never migrated.
FACTS_FILE = KeptFile[BuildFacts](what="a release's build facts, kept", format=FACTS_FORMAT,
                                  encode=_facts_data, decode=_facts_of, indent=None,
                                  sort_keys=True)


def _family(backend: str | None, in_tree: bool) -> str | None:
    if backend is None:
        return None
    if in_tree:
        return f"in-tree {backend}"
    if backend.startswith("setuptools") or backend == "setup.py":
        return "setuptools"
    return backend.split(":")[0].split(".")[0]


def _requirements(items: Any, where: str, problems: list[str]) -> dict[str, str]:
    from packaging.requirements import InvalidRequirement, Requirement

    found: dict[str, str] = {}
    for item in items if isinstance(items, list) else []:
        try:
            requirement = Requirement(str(item))
        except InvalidRequirement:
            problems.append(f"{where}: {item!r} is not a valid requirement")
            continue
        found[canonicalize_name(requirement.name)] = str(requirement)
    return found


def _runtime_requires(project: Any, problems: list[str]) -> dict[str, str]:
    """[project] dependencies as declared (none when they are dynamic: the build says)."""
    if not isinstance(project, dict) or "dependencies" in (project.get("dynamic") or []):
        return {}
    return _requirements(project.get("dependencies", []), "[project] dependencies", problems)


def _pyproject(text: str | None, problems: list[str]) -> dict[str, Any]:
    if text is None:
        return {}
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"pyproject.toml: not valid TOML ({exc})")
        return {}
    return data


def _strings(value: Any) -> list[str]:
    """Every string in a nested TOML value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def _setup_requires(setup_cfg: str | None, setup_py: str | None,
                    problems: list[str]) -> dict[str, str]:
    import configparser

    items: list[str] = []
    if setup_cfg is not None:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(setup_cfg)
            raw = parser.get("options", "setup_requires", fallback="")
            items += [line.strip() for line in raw.replace(";", "\n").splitlines()
                      if line.strip()]
        except configparser.Error as exc:
            problems.append(f"setup.cfg: cannot be read ({type(exc).__name__})")
    if setup_py is not None and (match := _SETUP_REQUIRES.search(setup_py)):
        items += re.findall(r"""['"]([^'"]+)['"]""", match.group(1))
    return _requirements(items, "setup_requires", problems)


def build_facts(files: Mapping[str, str], paths: list[str],
                submodules: Mapping[str, str]) -> BuildFacts:
    """Facts from `files` (path -> text of the interesting files) and every path in the tree."""
    problems: list[str] = []
    pyproject = _pyproject(files.get("pyproject.toml"), problems)
    build_system = pyproject.get("build-system", {})
    if not isinstance(build_system, dict):
        problems.append("pyproject.toml: [build-system] is not a table")
        build_system = {}
    backend = build_system.get("build-backend")
    if backend is None and "pyproject.toml" in files:
        backend = LEGACY_SETUPTOOLS  # PEP 517: no backend means setuptools' legacy one
    elif backend is None and "setup.py" in paths:
        backend = "setup.py"
    tool = pyproject.get("tool", {})
    cibuildwheel = tool.get("cibuildwheel", {}) if isinstance(tool, dict) else {}
    # Commands that install system packages: CI files and cibuildwheel's before-* settings.
    installs = [text for path, text in files.items() if path not in _TOP_FILES[:3]]
    installs += _strings(cibuildwheel)
    packages = {word.strip("'\"") for text in installs for line in _INSTALL.findall(text)
                for word in line.split() if not word.startswith(("-", "$", "{"))}
    native = {m for path, text in files.items() if path.endswith("meson.build")
              for m in _MESON_DEPENDENCY.findall(text)}
    native |= set(_CMAKE_PACKAGE.findall(files.get("CMakeLists.txt", "")))
    toolchains = set()
    if any(p == "Cargo.toml" or p.endswith("/Cargo.toml") for p in paths):
        toolchains.add("rust")
    if any(p.endswith(_FORTRAN) for p in paths):
        toolchains.add("fortran")
    return BuildFacts(
        backend=backend, backend_family=_family(backend, "backend-path" in build_system),
        build_requires=_requirements(build_system.get("requires", []),
                                     "[build-system] requires", problems),
        setup_requires=_setup_requires(files.get("setup.cfg"), files.get("setup.py"),
                                       problems),
        runtime_requires=_runtime_requires(pyproject.get("project"), problems),
        cibuildwheel=json.dumps(cibuildwheel, sort_keys=True),
        system_packages=frozenset(packages), native_dependencies=frozenset(native),
        toolchains=frozenset(toolchains), submodules=dict(submodules),
        problems=tuple(problems))


# [tool.cibuildwheel] tables of other platforms than a Linux build's.
_OTHER_PLATFORMS = frozenset({"macos", "windows", "ios", "android", "pyodide"})
_IMAGE = re.compile(r"^(?:manylinux|musllinux)-(.+)-image$")


def cibuildwheel_changes(old: str, new: str, pythons: Sequence[str]) -> list[tuple[str, str]]:
    """(where, option) of each [tool.cibuildwheel] setting that differs between two
    releases' settings (BuildFacts.cibuildwheel) and applies to a riscv64 Linux build of
    `pythons` ("3.14t": cp314t): what applies only to macOS, Windows, Pyodide, another
    architecture's image, or overrides that select none of those builds, does not."""
    builds = [f"cp{p.replace('.', '')}-manylinux_riscv64" for p in pythons]
    before, after = _settings(json.loads(old or "{}"), builds), \
        _settings(json.loads(new or "{}"), builds)
    return [(where, option) for where, option in sorted(before.keys() | after.keys())
            if before.get((where, option)) != after.get((where, option))]


def _settings(table: Any, builds: Sequence[str]) -> dict[tuple[str, str], str]:
    """(where, option) -> its value (canonical JSON), for the settings a riscv64 Linux
    build of `builds` reads."""
    found: dict[tuple[str, str], str] = {}
    if not isinstance(table, dict):
        return found
    for key, value in table.items():
        if key in _OTHER_PLATFORMS:
            continue
        if key == "linux" and isinstance(value, dict):
            found.update(((f"linux.{k}", k), _canonical(v)) for k, v in value.items()
                         if _riscv64_option(k))
        elif key == "overrides" and isinstance(value, list):
            for override in value:
                if isinstance(override, dict) and _selects(override.get("select"), builds):
                    found.update(((f"overrides[{override.get('select')}].{k}", k),
                                  _canonical(v)) for k, v in override.items()
                                 if k not in ("select", "inherit") and _riscv64_option(k))
        elif _riscv64_option(key):
            found[(key, key)] = _canonical(value)
    return found


def _riscv64_option(option: str) -> bool:
    image = _IMAGE.match(option)
    return image is None or image.group(1) == "riscv64"


def _selects(select: Any, builds: Sequence[str]) -> bool:
    patterns = select.split() if isinstance(select, str) else \
        [str(p) for p in select] if isinstance(select, list) else []
    return any(fnmatchcase(build, pattern) for build in builds for pattern in patterns)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
