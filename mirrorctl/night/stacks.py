"""The stacks in the night: the roots of `defaults.stacks` and of the top-packages
ranking, each resolved for each Python the builders build (grade.stack, kept answers
taken where they hold), the blockers missing from the inventory proposed as entries
(their upstream from the index's metadata; no tag format: `mirrorctl stack --propose
--probe` reads it), and what the morning report shows kept in <workdir>/stacks.json,
which `mirrorctl report` reads back. A record that does not read is said so, never
taken for stacks without blockers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mirrorctl.core.config import Config
from mirrorctl.core.git import GitRunner
from mirrorctl.core.keptfile import KeptFile, KeptFileError
from mirrorctl.core.progress import SILENT, Progress
from mirrorctl.report.stacks import Stacks, stacks_from_json, stacks_to_json, stacks_view

__all__ = ["STACKS_FILE", "STACKS_RECORD", "night_stacks", "recorded_stacks", "wants_stacks"]

STACKS_FILE = "stacks.json"  # in <workdir>


def _encode(view: Stacks) -> dict[str, Any]:
    data = stacks_to_json(view)
    assert data is not None  # None only for None
    return data


def _decode(data: dict[str, Any]) -> Stacks:
    view = stacks_from_json(data)
    assert view is not None  # None only for None
    return view


STACKS_RECORD = KeptFile[Stacks](what="the night's stacks", format=1, encode=_encode,
                                 decode=_decode)


def wants_stacks(config: Config) -> bool:
    return bool(config.stacks) or config.top_packages is not None


def night_stacks(config: Config, workdir: Path, *, stamp: str,
                 runner: GitRunner | None = None, progress: Progress = SILENT,
                 keep: bool = True) -> Stacks | None:
    """The stacks of mirrors.yaml, resolved and (with `keep`) kept; None when it names
    none."""
    if not wants_stacks(config):
        return None
    from mirrorctl.grade.index import PackageIndex
    from mirrorctl.grade.registry import RegistryClient
    from mirrorctl.grade.stackentries import propose
    from mirrorctl.grade.stackkept import resolve_stacks
    from mirrorctl.grade.stackroots import stack_roots
    from mirrorctl.grade.stacksources import CachedSources

    index = PackageIndex(config.pypi_url, kept=workdir / "index", retries=config.retries)
    registry = RegistryClient(config.registry_url, retries=config.retries) \
        if config.registry_url else None
    roots = stack_roots(config.stacks, config.top_packages, index)
    stacks = resolve_stacks(roots.roots, config.python_versions, index, registry,
                            inventory=[p.pypi for p in config.packages.values()],
                            registry_platforms=config.registry_platforms,
                            kept=workdir / "index" / "stacks", progress=progress,
                            sources=CachedSources(config.packages.values(), workdir, runner)
                            if runner is not None else None)
    missing = {p.name: p.version for s in stacks for p in s.packages
               if p.name in s.blocked_by and not p.in_inventory}
    view = stacks_view(stacks, stamp=stamp, top=roots.top, unknown=roots.unknown,
                       proposals=propose(sorted(missing.items()), index))
    if keep:
        STACKS_RECORD.write(workdir / STACKS_FILE, view)
    return view


def recorded_stacks(workdir: Path) -> Stacks | None:
    """The stacks the last nightly resolved; None when none did. A record that does not
    read comes back as stacks whose only row says so (the report says it unknown)."""
    path = workdir / STACKS_FILE
    try:
        return STACKS_RECORD.read(path)
    except KeptFileError as exc:
        return Stacks(stamp="", rows=(), unknown=(
            f"{path} does not read ({exc.why}); the next nightly resolves the stacks "
            "again",))
