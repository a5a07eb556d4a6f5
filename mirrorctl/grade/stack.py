"""What blocks what: the closure of a root's requirements as an installer resolves it on
riscv64 Linux for one Python, and how each package of it installs there.

Resolution is resolvelib's (the resolver pip uses), over the index's JSON API
(grade.index): markers evaluated for riscv64 Linux and that Python, extras followed,
the newest version that every requirement of the closure allows (yanked releases
only when pinned with ==, releases whose Requires-Python leaves the Python out never).
A project the index could not be read for is a candidate of its own, `unknown`: it
satisfies what asks for it (the rest of the closure is still read) and is never said
installable.

Each package then installs, for that Python, as one of INSTALLS (grade.stackinstall),
the first that holds:
a riscv64 wheel on the index (`pypi-wheel`), a pure-Python wheel (`pure`), a riscv64
wheel in the builders' registry (`registry-wheel`), an sdist alone (`sdist-only`),
nothing (`missing`); `unknown` where a source could not be read. What keeps the root
from installing from wheels (`blocked_by`) are its packages that are `sdist-only` or
`missing`; `order` lists them with each one's requirements before it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version
from resolvelib import AbstractProvider, BaseReporter, Resolver
from resolvelib.resolvers import ResolutionError

from mirrorctl.core.errors import MirrorctlError, UsageError
from mirrorctl.grade.index import IndexUnreadable, PackageIndex
from mirrorctl.grade.stackinstall import (
    BLOCKING,
    Install,
    Registry,
    Target,
    install_of,
    satisfies,
)

__all__ = ["Sources", "Stack",
           "StackPackage", "blockers",
           "parse_root", "resolve_stack", "with_blocks"]

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
        return satisfies(str(requirement.specifier), candidate.version)

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
        install: Install = "unknown"
        why = candidate.unknown or "the index could not be read"
        if candidate.version is not None:
            install, why = install_of(name, candidate.version, target, index, registry,
                                      registry_platforms)
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


