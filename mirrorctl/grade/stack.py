"""What blocks what: the closure of a root's requirements as an installer resolves it on
riscv64 Linux for one Python, and how each package of it installs there.

Resolution is resolvelib's (the resolver pip uses), over the index's JSON API
(grade.index): markers evaluated for riscv64 Linux and that Python, extras followed,
the newest version that every requirement of the closure allows (yanked releases
only when pinned with ==, releases whose Requires-Python leaves the Python out never).
A project the index could not be read for is a candidate of its own, `unknown`: it
satisfies what asks for it (the rest of the closure is still read) and is never said
installable.

Each package then installs, for that Python, as one of INSTALLS, the first that holds:
a riscv64 wheel on the index (`pypi-wheel`), a pure-Python wheel (`pure`), a riscv64
wheel in the builders' registry (`registry-wheel`), an sdist alone (`sdist-only`),
nothing (`missing`); `unknown` where a source could not be read. What keeps the root
from installing from wheels (`blocked_by`) are its packages that are `sdist-only` or
`missing`; `order` lists them with each one's requirements before it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

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
from resolvelib import AbstractProvider, BaseReporter, Resolver
from resolvelib.resolvers import ResolutionError

from mirrorctl.core.errors import MirrorctlError, UsageError
from mirrorctl.grade.index import IndexFile, IndexUnreadable, PackageIndex
from mirrorctl.grade.pypi import installs_on
from mirrorctl.grade.registry import RegistryError, built_for

__all__ = ["BLOCKING", "INSTALLS", "Install", "Registry", "RequirementWheels", "Sources",
           "Stack",
           "StackPackage", "blockers",
           "parse_root", "resolve_stack", "with_blocks"]

Install = Literal["pypi-wheel", "pure", "registry-wheel", "sdist-only", "missing", "unknown"]
INSTALLS: tuple[Install, ...] = ("pypi-wheel", "pure", "registry-wheel", "sdist-only",
                                 "missing", "unknown")
BLOCKING: tuple[Install, ...] = ("sdist-only", "missing")
_MAX_ROUNDS = 5000  # resolvelib's rounds before a resolution is said impossible


@dataclass(frozen=True, kw_only=True)
class StackPackage:
    name: str
    version: str | None  # None: not known (the index could not be read)
    install: Install
    requires: tuple[str, ...]  # the packages of the closure it requires
    required_by: tuple[str, ...]  # ... that require it (the root: none)
    why: str = ""  # what was not known, or what it lacks
    blocks: tuple[str, ...] = ()  # the roots it keeps from installing from wheels
    in_inventory: bool = False
    # What building it needs, of a package to build ([build-system] requires of its
    # sdist); () for one that installs from a wheel; None where it could not be read.
    build_requires: tuple[str, ...] | None = ()


@dataclass(frozen=True, kw_only=True)
class Stack:
    root: str  # as asked ("vllm", "haystack-ai[all]>=2")
    python: str  # "3.12", "3.14t"
    packages: tuple[StackPackage, ...]  # the root first, then by name
    blocked_by: tuple[str, ...] = ()
    order: tuple[str, ...] = ()  # what to build, each one's requirements first
    # What building the blockers needs that has no riscv64 wheel itself, and is not
    # required at run time: built too, before what needs it (in `order`).
    build_only: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()  # why a fact could not be established
    error: str | None = None  # the resolution itself failed (a conflict): why

    @property
    def blocked(self) -> bool:
        return bool(self.blocked_by)


def parse_root(text: str) -> Requirement:
    """A root as given (`vllm`, `haystack-ai[all]>=2`); UsageError when it is none."""
    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        raise UsageError(f"{text!r} is no requirement ({str(exc).splitlines()[0]})") from None


# -- the target ----------------------------------------------------------------------

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
def _satisfies(specifier: str, version: Version) -> bool:
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


def _wheel_install(files: Iterable[IndexFile], target: Target) -> Install | None:
    riscv = pure = False
    for file in files:
        if not file.filename.endswith(".whl"):
            continue
        try:
            tags = parse_wheel_filename(file.filename)[3]
        except InvalidWheelFilename:
            continue
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


# -- resolution ----------------------------------------------------------------------

@dataclass(frozen=True)
class _Candidate:
    name: str  # canonical
    version: Version | None  # None: unknown
    extras: frozenset[str] = frozenset()
    unknown: str | None = None

    @property
    def key(self) -> str:
        return _identifier(self.name, self.extras)


def _identifier(name: str, extras: Iterable[str]) -> str:
    extras = sorted(extras)
    return f"{name}[{','.join(extras)}]" if extras else name


class _Provider(AbstractProvider[Requirement, _Candidate, str]):
    def __init__(self, index: PackageIndex, target: Target) -> None:
        self.index, self.target = index, target
        self.unknown: dict[str, str] = {}

    def identify(self, requirement_or_candidate: Any) -> str:
        if isinstance(requirement_or_candidate, _Candidate):
            return requirement_or_candidate.key
        return _identifier(canonicalize_name(requirement_or_candidate.name),
                           requirement_or_candidate.extras)

    def get_preference(self, identifier: str, resolutions: Mapping[str, Any],
                       candidates: Mapping[str, Iterator[Any]],
                       information: Mapping[str, Iterator[Any]],
                       backtrack_causes: Sequence[Any]) -> Any:
        pinned = any(str(s).startswith("==") for i in information[identifier]
                     for s in i.requirement.specifier)
        return (not pinned, identifier)

    def find_matches(self, identifier: str, requirements: Mapping[str, Iterator[Any]],
                     incompatibilities: Mapping[str, Iterator[Any]]) -> list[_Candidate]:
        asked = list(requirements[identifier])
        name = canonicalize_name(asked[0].name)
        extras = frozenset(e for r in asked for e in r.extras)
        bad = {c.version for c in incompatibilities[identifier]}
        try:
            project = self.index.project(name)
        except IndexUnreadable as exc:
            self.unknown[name] = str(exc)
            return [_Candidate(name, None, extras, unknown=str(exc))]
        pinned = {Version(str(s)[2:]) for r in asked for s in r.specifier
                  if s.operator == "===" or (s.operator == "==" and "*" not in s.version)}
        found = []
        for version, files in project.releases.items():
            if version in bad or not files:
                continue
            if all(f.yanked for f in files) and version not in pinned:
                continue  # PEP 592: a yanked release only for a pin
            if not any(self.target.takes_python(f.requires_python) for f in files):
                continue
            if all(r.specifier.contains(version, prereleases=bool(pinned) or None)
                   for r in asked):
                found.append(_Candidate(name, version, extras))
        return sorted(found, key=lambda c: c.version, reverse=True)  # type: ignore[arg-type,return-value]

    def is_satisfied_by(self, requirement: Any, candidate: _Candidate) -> bool:
        # resolvelib asks this of every pin each round: answered once a pair
        if candidate.version is None or not requirement.specifier:
            return True
        return _satisfies(str(requirement.specifier), candidate.version)

    def get_dependencies(self, candidate: _Candidate) -> list[Requirement]:
        if candidate.version is None:
            return []
        try:
            lines = self.index.requires(candidate.name, candidate.version)
        except IndexUnreadable as exc:
            self.unknown[candidate.name] = str(exc)
            return []
        found: list[Requirement] = []
        if candidate.extras:  # the extras' own: the base, the same version, and theirs
            found.append(Requirement(f"{candidate.name}=={candidate.version}"))
        for line in lines:
            try:
                requirement = Requirement(line)
            except InvalidRequirement:
                continue  # a line pip would refuse too; the rest stands
            marker = requirement.marker
            wanted = (marker is None or marker.evaluate(self.target.environment()))
            if candidate.extras:
                wanted = marker is not None and not marker.evaluate(
                    self.target.environment()) and any(
                    marker.evaluate(self.target.environment(e)) for e in candidate.extras)
            if wanted:
                requirement.marker = None
                found.append(requirement)
        return found


class Registry(Protocol):
    """Where the builders' wheels are (grade.registry.RegistryClient)."""

    url: str

    def files(self, project: str) -> list[str]: ...


# name, version -> what building that release needs, from somewhere nearer than its sdist
# (grade.stacksources: the package's upstream cache); None: it cannot say.
Sources = Callable[[str, Version], "tuple[str, ...] | None"]


def resolve_stack(root: Requirement, python: str, index: PackageIndex,
                  registry: Registry | None, *, inventory: Iterable[str] = (),
                  registry_platforms: Sequence[str] = (), depth: int = 2,
                  sources: Sources | None = None) -> Stack:
    """The root's closure for riscv64 Linux and `python`, each package's install; with
    `depth`, what building its blockers needs, that many levels of building down (read
    from `sources` where they say, else from the sdist)."""
    target = Target(python)
    provider = _Provider(index, target)
    shown = str(root)
    try:
        result = Resolver(provider, BaseReporter()).resolve([root], max_rounds=_MAX_ROUNDS)
    except ResolutionError as exc:
        return Stack(root=shown, python=python, packages=(),
                     error=f"no set of versions satisfies every requirement: {exc}")
    except MirrorctlError as exc:
        return Stack(root=shown, python=python, packages=(), error=str(exc))
    chosen: dict[str, _Candidate] = {}
    for candidate in result.mapping.values():
        chosen.setdefault(candidate.name, candidate)
    edges: dict[str, set[str]] = {name: set() for name in chosen}
    for parent in result.graph:
        if parent is None:
            continue
        for child in result.graph.iter_children(parent):
            if child is None:
                continue
            a, b = result.mapping[parent].name, result.mapping[child].name
            if a != b:
                edges[a].add(b)
    root_name = canonicalize_name(root.name)
    kept = {canonicalize_name(n) for n in inventory}
    unknown: list[str] = [f"{n}: {why}" for n, why in sorted(provider.unknown.items())]
    packages = []
    for name in sorted(chosen, key=lambda n: (n != root_name, n)):
        candidate = chosen[name]
        install, why = _install(candidate, target, index, registry, registry_platforms)
        if install == "unknown" and candidate.version is not None:
            unknown.append(f"{name}: {why}")
        packages.append(StackPackage(
            name=name, version=str(candidate.version) if candidate.version else None,
            install=install, why=why, requires=tuple(sorted(edges[name])),
            required_by=tuple(sorted(p for p, c in edges.items() if name in c)),
            in_inventory=name in kept))
    blocked = tuple(p.name for p in packages if p.install in BLOCKING)
    packages = [p if p.install not in BLOCKING else _with_blocks(p, shown) for p in packages]
    building = _Building(index, registry, target, registry_platforms, depth, sources)
    packages = [building.of(p, chosen[p.name]) if p.install == "sdist-only" else p
                for p in packages]
    unknown += building.unknown
    needs = {name: set(edges[name]) for name in edges}
    for name, wanted in building.needs.items():
        needs.setdefault(name, set()).update(wanted)
    for name, wanted in building.below.items():
        needs.setdefault(name, set()).update(wanted)
    build_only = tuple(sorted(set(building.below) - set(blocked)))
    return Stack(root=shown, python=python, packages=tuple(packages), blocked_by=blocked,
                 order=_build_order((*blocked, *build_only), needs),
                 build_only=build_only, unknown=tuple(unknown))


class _Building:
    """What building each package needs: its sdist's build requirements, each resolved
    for the target; those with no wheel are built first (and what building them
    needs, `depth` levels down)."""

    def __init__(self, index: PackageIndex, registry: Registry | None, target: Target,
                 platforms: Sequence[str], depth: int, sources: Sources | None) -> None:
        self.index, self.registry, self.target = index, registry, target
        self.platforms, self.depth, self.sources = platforms, depth, sources
        self.needs: dict[str, set[str]] = {}  # package -> the build blockers it needs
        self.below: dict[str, set[str]] = {}  # build blocker -> what it needs in turn
        self.unknown: list[str] = []
        self._resolved: dict[str, Stack] = {}

    def of(self, package: StackPackage, candidate: _Candidate) -> StackPackage:
        if self.depth <= 0 or candidate.version is None:
            return package
        try:
            requires = (self.sources(candidate.name, candidate.version)
                        if self.sources is not None else None)
            if requires is None:
                requires = self.index.build_requires(candidate.name, candidate.version)
        except IndexUnreadable as exc:
            self.unknown.append(f"{package.name}: its build requirements are not known "
                                f"({exc})")
            return replace(package, build_requires=None)
        wanted: set[str] = set()
        for line in requires:
            try:
                requirement = Requirement(line)
            except InvalidRequirement:
                continue
            if requirement.marker is not None and not requirement.marker.evaluate(
                    self.target.environment()):
                continue
            stack = self._resolve(requirement)
            if stack.error is not None:
                self.unknown.append(f"{package.name}: building it needs {line}, which "
                                    f"cannot be resolved ({stack.error})")
            for name in stack.blocked_by:
                wanted.add(name)
                self.below.setdefault(name, set())
            for name in stack.build_only:
                self.below.setdefault(name, set())
            for name, order_before in _needs_of(stack).items():
                self.below.setdefault(name, set()).update(order_before)
            self.unknown += [u for u in stack.unknown if u not in self.unknown]
        self.needs[package.name] = wanted
        return replace(package, build_requires=requires)

    def _resolve(self, requirement: Requirement) -> Stack:
        key = str(requirement)
        if key not in self._resolved:
            self._resolved[key] = resolve_stack(
                requirement, self.target.python, self.index, self.registry,
                registry_platforms=self.platforms, depth=self.depth - 1,
                sources=self.sources)
        return self._resolved[key]


def _needs_of(stack: Stack) -> dict[str, set[str]]:
    """Within a stack, which of its packages to build need which others first (as its
    `order` has them)."""
    to_build = {*stack.blocked_by, *stack.build_only}
    required = {p.name: p.requires for p in stack.packages}
    return {name: _reachable(name, required) & to_build for name in to_build}


def _with_blocks(package: StackPackage, root: str) -> StackPackage:
    return replace(package, blocks=(root,))


def with_blocks(stacks: Sequence[Stack]) -> list[Stack]:
    """The stacks, each blocker naming every root of the same Python it blocks."""
    roots: dict[tuple[str, str], list[str]] = {}
    for stack in stacks:
        for name in stack.blocked_by:
            roots.setdefault((stack.python, name), []).append(stack.root)
    return [replace(stack, packages=tuple(
        replace(p, blocks=tuple(roots.get((stack.python, p.name), ())))
        for p in stack.packages)) for stack in stacks]


def _install(candidate: _Candidate, target: Target, index: PackageIndex,
             registry: Registry | None,
             platforms: Sequence[str]) -> tuple[Install, str]:
    if candidate.version is None:
        return "unknown", candidate.unknown or "the index could not be read"
    files = index.project(candidate.name).releases.get(candidate.version, ())
    wheel = _wheel_install(files, target)
    if wheel is not None:
        return wheel, ""
    if registry is not None:
        try:
            built = registry.files(candidate.name)
        except RegistryError as exc:
            return "unknown", str(exc)
        for filename in built:
            try:
                _, version, _, tags = parse_wheel_filename(filename)
            except (InvalidWheelFilename, ValueError):
                continue
            if version == candidate.version and any(
                    built_for(t, platforms or [t.platform], [target.python]) and
                    _riscv64_platform(t) for t in tags):
                return "registry-wheel", ""
    if _has_sdist(files, candidate.name):
        return "sdist-only", f"{candidate.name} {candidate.version} has no riscv64 wheel " \
                             f"for cp{target.python.replace('.', '')}: build it first"
    return "missing", f"{candidate.name} {candidate.version} has no riscv64 wheel and no " \
                      "sdist to build one from"


def _build_order(blocked: Sequence[str],
                 edges: Mapping[str, Iterable[str]]) -> tuple[str, ...]:
    """The packages to build, each after the ones among them it requires (through any
    package of the closure); a cycle is broken where it closes, by name."""
    todo = set(blocked)
    needs = {name: _reachable(name, edges) & todo for name in todo}
    order: list[str] = []
    while todo:
        ready = sorted(n for n in todo if not (needs[n] & todo)) or [sorted(todo)[0]]
        order.append(ready[0])
        todo.discard(ready[0])
    return tuple(order)


@dataclass
class _Ranked:
    name: str
    roots: set[str] = field(default_factory=set)
    packages: set[str] = field(default_factory=set)


def blockers(stacks: Sequence[Stack]) -> list[tuple[str, int, int]]:
    """Every blocker of the stacks, ranked by how many roots it blocks and how many of
    their packages need it: (name, roots, packages)."""
    ranked: dict[str, _Ranked] = {}
    for stack in stacks:
        required_by = {p.name: set(p.required_by) for p in stack.packages}
        for name in stack.blocked_by:
            entry = ranked.setdefault(name, _Ranked(name))
            entry.roots.add(stack.root)
            entry.packages |= _reachable(name, required_by)
    return sorted(((r.name, len(r.roots), len(r.packages)) for r in ranked.values()),
                  key=lambda r: (-r[1], -r[2], r[0]))


def _reachable(start: str, edges: Mapping[str, Iterable[str]]) -> set[str]:
    """Every node a walk along `edges` reaches from `start` (not `start` itself; a cycle
    ends where it closes)."""
    seen, todo = {start}, [start]
    while todo:
        for child in edges.get(todo.pop(), ()):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return seen - {start}


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
            install, why = _install(_Candidate(name, allowed[0]), Target(python), self.index,
                                    self.registry, self.platforms)
            if install == "unknown":
                raise IndexUnreadable(why)
            if install in BLOCKING:
                lacking.append(python)
        return lacking
