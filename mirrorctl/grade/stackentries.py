"""A blocker missing from the inventory, proposed as its mirrors.yaml entry: where its
source is, from the index's metadata (Project-URL Source, Repository, ..., or a home
page on a forge); with a probe, the tag format upstream's own tags show for the release
the stack needs (core.implied, as `inventory --probe` reads it). What is not known stays
out of the entry and is said: a tag format is never guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from mirrorctl.core.errors import MirrorctlError
from mirrorctl.core.implied import infer_tag_format
from mirrorctl.grade.index import IndexUnreadable, PackageIndex

__all__ = ["Proposal", "entries_yaml", "propose"]


@dataclass(frozen=True, kw_only=True)
class Proposal:
    name: str  # as PyPI spells it, canonical
    version: str | None = None  # the release the stacks need
    upstream: str | None = None  # None: its metadata does not say
    tag_format: str | None = None  # None: not probed, or no format is clear
    evidence: str = ""  # what the tag format rests on, or why it is not known


def propose(blockers: Sequence[tuple[str, str | None]], index: PackageIndex,
            probe: Callable[[str], Iterable[str]] | None = None) -> list[Proposal]:
    """The entry of each (name, version) blocker; `probe(upstream)`: its ref names."""
    found = []
    for name, version in blockers:
        try:
            upstream = index.project(name).source
        except IndexUnreadable as exc:
            found.append(Proposal(name=name, version=version,
                                  evidence=f"its metadata could not be read ({exc})"))
            continue
        if upstream is None:
            found.append(Proposal(name=name, version=version, evidence=(
                "its metadata names no source repository: find its upstream")))
            continue
        if probe is None:
            found.append(Proposal(name=name, version=version, upstream=upstream,
                                  evidence="tag format not read (--probe reads it)"))
            continue
        found.append(_probed(name, version, upstream, probe))
    return found


def _probed(name: str, version: str | None, upstream: str,
            probe: Callable[[str], Iterable[str]]) -> Proposal:
    try:
        tags = [t.removeprefix("refs/tags/") for t in probe(upstream)
                if t.startswith("refs/tags/") and not t.endswith("^{}")]
    except MirrorctlError as exc:
        return Proposal(name=name, version=version, upstream=upstream,
                        evidence=f"upstream's tags could not be read ({exc})")
    inferred = infer_tag_format(tags, version, name)
    if inferred is None:
        return Proposal(name=name, version=version, upstream=upstream, evidence=(
            f"no tag format reads upstream's tags ({len(tags)} of them) as version "
            f"{version}" if version else "no tag format is clear from upstream's tags"))
    return Proposal(name=name, version=version, upstream=upstream,
                    tag_format=inferred.template, evidence=inferred.evidence)


def entries_yaml(proposals: Sequence[Proposal]) -> str:
    """The entries as they would go under `packages:` in mirrors.yaml, each with what
    is known and a note of what rests on what (for a person to check, then add the
    package to the builders' lists)."""
    import yaml

    entries = {}
    for p in proposals:
        entry: dict[str, str] = {}
        if p.upstream:
            entry["upstream"] = p.upstream
        if p.tag_format:
            entry["tag_format"] = p.tag_format
        if p.version:
            entry["version"] = p.version
        entry["note"] = f"proposed by `mirrorctl stack`: it blocks a stack; {p.evidence}"
        entries[p.name] = entry
    return yaml.safe_dump({"packages": entries}, sort_keys=False, width=88)
