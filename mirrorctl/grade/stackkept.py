"""A stack's resolution, kept: resolving 300 packages costs resolvelib a second or two,
and the answer only changes when what it was read from does. Kept under
<workdir>/index/stacks/ with the digest of every index document and registry page it
was read from; taken again only when each of them, read now (from the kept answers
while the index's max-age holds), says the same. A cache: deleting it costs one
resolution.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement

from mirrorctl.core.keptfile import KeptFile, KeptFileError, want
from mirrorctl.core.progress import SILENT, Progress
from mirrorctl.grade.index import IndexUnreadable, PackageIndex, digest
from mirrorctl.grade.registry import RegistryError
from mirrorctl.grade.stack import (
    Sources,
    Stack,
    StackPackage,
    parse_root,
    resolve_stack,
    with_blocks,
)
from mirrorctl.grade.stackinstall import Registry

__all__ = ["STACK_FILE", "KeptStack", "kept_blockers", "resolve_stacks", "stack_of"]


@dataclass(frozen=True, kw_only=True)
class KeptStack:
    """A resolution, with the digest of everything it was read from."""

    index_url: str
    index: Mapping[str, str]  # each index document read -> the digest of what it said
    registry: Mapping[str, str]  # each registry project read -> the digest of its files
    stack: Stack


def _encode(kept: KeptStack) -> dict[str, Any]:
    return {"index_url": kept.index_url, "index": dict(kept.index),
            "registry": dict(kept.registry), "stack": asdict(kept.stack)}


def _decode(data: dict[str, Any]) -> KeptStack:
    return KeptStack(index_url=want(data, "index_url", str),
                     index={str(k): str(v) for k, v in want(data, "index", dict).items()},
                     registry={str(k): str(v)
                               for k, v in want(data, "registry", dict).items()},
                     stack=_stack(want(data, "stack", dict)))


STACK_FILE = KeptFile[KeptStack](what="a stack's resolution, kept", format=1,
                                 encode=_encode, decode=_decode, indent=None)


class _RegistryReads:
    """The registry, each page it serves remembered by digest."""

    def __init__(self, registry: Registry) -> None:
        self.registry, self.url = registry, registry.url
        self.read: dict[str, str] = {}

    def files(self, project: str) -> list[str]:
        found = self.registry.files(project)
        self.read[project] = digest(sorted(found))
        return found


def stack_of(root: Requirement, python: str, index: PackageIndex,
             registry: Registry | None, *, inventory: Sequence[str] = (),
             registry_platforms: Sequence[str] = (), kept: Path | None = None,
             sources: Sources | None = None) -> Stack:
    """resolve_stack, or its kept answer where nothing it was read from changed."""
    file = None
    if kept is not None:
        key = hashlib.sha256(json.dumps([str(root), python, index.base_url,
                                         registry.url if registry else None,
                                         sorted(inventory), list(registry_platforms)]
                                        ).encode()).hexdigest()[:32]
        file = kept / f"{key}.json"
        found = _still(file, index, registry)
        if found is not None:
            return found
    index.read = {}
    reads = _RegistryReads(registry) if registry is not None else None
    stack = resolve_stack(root, python, index, reads, inventory=inventory,
                          registry_platforms=registry_platforms, sources=sources)
    if file is not None and not stack.unknown and stack.error is None:
        STACK_FILE.write(file, KeptStack(index_url=index.base_url, index=index.read,
                                         registry=reads.read if reads else {}, stack=stack))
    return stack


def resolve_stacks(roots: Sequence[str], pythons: Sequence[str], index: PackageIndex,
                   registry: Registry | None, *, inventory: Sequence[str] = (),
                   registry_platforms: Sequence[str] = (), kept: Path | None = None,
                   progress: Progress = SILENT,
                   sources: Sources | None = None) -> list[Stack]:
    """Each root's stack for each Python (kept answers taken where they hold), every
    blocker naming the roots it blocks; progress a line a stack."""
    wanted = [(parse_root(root), root) for root in roots]
    progress.stage("stack", [f"{root} ({python})" for root in roots for python in pythons])
    found = []
    for requirement, text in wanted:
        for python in pythons:
            progress.start(f"{text} ({python})")
            one = stack_of(requirement, python, index, registry, inventory=inventory,
                           registry_platforms=registry_platforms, kept=kept,
                           sources=sources)
            progress.finish(f"{text} ({python})", "blocked" if one.blocked else
                            "unknown" if one.unknown or one.error else "wheels")
            found.append(one)
    return with_blocks(found)


def kept_blockers(kept: Path, roots: Sequence[str], pythons: Sequence[str],
                  index_url: str) -> dict[str, tuple[str, ...]]:
    """What the kept resolutions of these roots (the last `mirrorctl stack` of each, for
    each Python) say each package blocks: its canonical name -> the roots. Nothing is
    asked; a resolution not kept (never made, or with something unknown) says nothing."""
    from packaging.utils import canonicalize_name

    found: dict[str, set[str]] = {}
    for file in sorted(kept.glob("*.json")) if kept.is_dir() else ():
        resolved = None
        with contextlib.suppress(KeptFileError):  # a cache: what does not read says nothing
            resolved = STACK_FILE.read(file)
        if resolved is None or resolved.index_url != index_url.rstrip("/"):
            continue
        stack = resolved.stack
        if stack.root in roots and stack.python in pythons:
            for name in stack.blocked_by:
                found.setdefault(canonicalize_name(name), set()).add(stack.root)
    return {name: tuple(sorted(r)) for name, r in found.items()}


def _still(file: Path, index: PackageIndex, registry: Registry | None) -> Stack | None:
    try:
        kept = STACK_FILE.read(file)
    except KeptFileError:
        return None  # a cache: what does not read is resolved again
    if kept is None:
        return None
    try:
        for path, said in kept.index.items():
            index.document(path, path, immutable=path.count("/") == 4)
            if index.read.get(path) != said:
                return None
        for project, said in kept.registry.items():
            if registry is None or digest(sorted(registry.files(project))) != said:
                return None
    except (IndexUnreadable, RegistryError):
        return None  # what cannot be checked is resolved again, and says so then
    return kept.stack


def _stack(data: dict[str, Any]) -> Stack:
    def tuples(d: dict[str, Any]) -> dict[str, Any]:
        return {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}

    packages = tuple(StackPackage(**tuples(p)) for p in data["packages"])
    return Stack(**{**tuples(data), "packages": packages})
