"""How a release installs on riscv64 Linux for one CPython (the target): a riscv64
wheel on the index, a pure-Python wheel, a riscv64 wheel in the builders' registry, an
sdist alone, nothing; and whether a requirement's newest allowed release has a wheel
to install (what the grade asks of a new requirement). The markers' environment of
the target is here too: grade.stack resolves closures over it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from mirrorctl.grade.index import IndexFile, IndexUnreadable, PackageIndex
from mirrorctl.grade.pypi import installs_on
from mirrorctl.grade.registry import RegistryError, built_for

__all__ = ["BLOCKING", "INSTALLS", "Install", "Registry", "RequirementWheels", "Target",
           "install_of", "satisfies", "wheel_tags"]

Install = Literal["pypi-wheel", "pure", "registry-wheel", "sdist-only", "missing", "unknown"]
INSTALLS: tuple[Install, ...] = ("pypi-wheel", "pure", "registry-wheel", "sdist-only",
                                 "missing", "unknown")
BLOCKING: tuple[Install, ...] = ("sdist-only", "missing")

@dataclass(frozen=True)
class Target:
    """riscv64 Linux (glibc 2.39, as the builders' Ubuntu 24.04 boards) and one CPython."""

    python: str  # "3.12", "3.14t"

    @property
    def version(self) -> Version:
        return _python_version(self.python)

    def environment(self, extra: str = "") -> dict[str, str]:
        return dict(_environment(self.python, extra))

    def takes_python(self, requires_python: str | None) -> bool:
        return _takes_python(self.version, requires_python)


@functools.lru_cache(maxsize=64)
def _python_version(python: str) -> Version:
    return Version(python.removesuffix("t"))


@functools.lru_cache(maxsize=64)
def _takes_python(version: Version, requires_python: str | None) -> bool:
    if not requires_python:
        return True
    try:
        return SpecifierSet(requires_python).contains(f"{version}.0", prereleases=True)
    except InvalidSpecifier:
        return True  # pip ignores a Requires-Python it cannot read, and so do we


@functools.lru_cache(maxsize=65536)
def satisfies(specifier: str, version: Version) -> bool:
    return SpecifierSet(specifier).contains(version, prereleases=True)


@functools.lru_cache(maxsize=64)
def _environment(python: str, extra: str) -> Mapping[str, str]:
    """The markers' environment of riscv64 Linux and that CPython (read once)."""
    env: dict[str, str] = {k: str(v) for k, v in default_environment().items()}
    version = python.removesuffix("t")
    env.update({"implementation_name": "cpython", "implementation_version": f"{version}.0",
                "os_name": "posix", "platform_machine": "riscv64",
                "platform_python_implementation": "CPython", "platform_release": "",
                "platform_system": "Linux", "platform_version": "",
                "python_full_version": f"{version}.0", "python_version": version,
                "sys_platform": "linux", "extra": extra})
    return env


def wheel_tags(files: Iterable[IndexFile]) -> Iterator[frozenset[Tag]]:
    """The tags of each wheel among the files (a name no wheel has is skipped)."""
    for file in files:
        if not file.filename.endswith(".whl"):
            continue
        try:
            yield parse_wheel_filename(file.filename)[3]
        except InvalidWheelFilename:
            continue


def _wheel_install(files: Iterable[IndexFile], target: Target) -> Install | None:
    riscv = pure = False
    for tags in wheel_tags(files):
        for tag in tags:
            if tag.platform == "any":
                pure = pure or _pure_installs_on(tag, target)
            elif installs_on(tag, target.python) and _riscv64_platform(tag):
                riscv = True
    return "pypi-wheel" if riscv else "pure" if pure else None


def _pure_installs_on(tag: Tag, target: Target) -> bool:
    """A pure-Python wheel installs on every CPython its interpreter tag names, the
    free-threaded one included (`py3-none-any` on 3.14t)."""
    major, minor = target.python.removesuffix("t").split(".")[:2]
    if tag.abi != "none":
        return installs_on(tag, target.python)
    return tag.interpreter in (f"py{major}", f"py{major}{minor}", f"cp{major}{minor}")


def _riscv64_platform(tag: Tag) -> bool:
    platform = tag.platform
    if platform == "linux_riscv64":
        return True
    if platform.startswith("manylinux_") and platform.endswith("_riscv64"):
        parts = platform.split("_")
        return parts[1] == "2" and parts[2].isdigit() and int(parts[2]) <= 39
    return False


def _has_sdist(files: Iterable[IndexFile], name: str) -> bool:
    for file in files:
        try:
            if file.filename.endswith((".tar.gz", ".zip")) and \
                    parse_sdist_filename(file.filename)[0] == canonicalize_name(name):
                return True
        except InvalidSdistFilename:
            continue
    return False


class Registry(Protocol):
    """Where the builders' wheels are (grade.registry.RegistryClient)."""

    url: str

    def files(self, project: str) -> list[str]: ...


def install_of(name: str, version: Version, target: Target, index: PackageIndex,
               registry: Registry | None,
               platforms: Sequence[str]) -> tuple[Install, str]:
    """How one release installs on the target: the first of INSTALLS that holds, and
    what it lacks (or why it is not known)."""
    files = index.project(name).releases.get(version, ())
    wheel = _wheel_install(files, target)
    if wheel is not None:
        return wheel, ""
    if registry is not None:
        try:
            built = registry.files(name)
        except RegistryError as exc:
            return "unknown", str(exc)
        for filename in built:
            try:
                _, version, _, tags = parse_wheel_filename(filename)
            except (InvalidWheelFilename, ValueError):
                continue
            if version == version and any(
                    built_for(t, platforms or [t.platform], [target.python]) and
                    _riscv64_platform(t) for t in tags):
                return "registry-wheel", ""
    if _has_sdist(files, name):
        return "sdist-only", f"{name} {version} has no riscv64 wheel " \
                             f"for cp{target.python.replace('.', '')}: build it first"
    return "missing", f"{name} {version} has no riscv64 wheel and no " \
                      "sdist to build one from"


class RequirementWheels:
    """Whether a requirement (a build requirement an upgrade adds, say) installs from a
    wheel on riscv64 for each Python: the newest release it allows, read from the index
    (and the builders' registry), as `stack` would say of it."""

    def __init__(self, index: PackageIndex, registry: Registry | None,
                 platforms: Sequence[str] = ()) -> None:
        self.index, self.registry, self.platforms = index, registry, platforms

    def lacking(self, line: str, pythons: Sequence[str]) -> list[str]:
        """The Pythons for which it has no wheel to install (sdist-only or missing);
        IndexUnreadable when that cannot be told."""
        try:
            requirement = Requirement(line)
        except InvalidRequirement as exc:
            raise IndexUnreadable(f"{line!r} is no requirement ({exc})") from None
        if requirement.marker is not None:  # only where riscv64 Linux installs it
            pythons = [p for p in pythons
                       if requirement.marker.evaluate(Target(p).environment())]
            if not pythons:
                return []
        name = canonicalize_name(requirement.name)
        project = self.index.project(name)
        if not project.found:
            raise IndexUnreadable(f"the index has no project {name}")
        allowed = sorted((v for v, files in project.releases.items()
                          if files and not all(f.yanked for f in files)
                          and requirement.specifier.contains(v)), reverse=True)
        if not allowed:
            raise IndexUnreadable(f"no release of {name} satisfies {requirement.specifier}")
        lacking = []
        for python in pythons:
            install, why = install_of(name, allowed[0], Target(python), self.index,
                                      self.registry, self.platforms)
            if install == "unknown":
                raise IndexUnreadable(why)
            if install in BLOCKING:
                lacking.append(python)
        return lacking
