"""`mirrorctl stack`: what blocks what in the stacks the builders serve."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import click

from mirrorctl.cli.base import Globals, format_option, git_runner, progress_on_stderr, reading
from mirrorctl.core.errors import EXIT_FAILURE

__all__ = ["stack"]


@click.command("stack")
@click.argument("roots", nargs=-1)
@click.option("--python", "pythons", multiple=True, metavar="X.Y",
              help="A Python to resolve for (repeatable; 3.14t: free-threaded) [default: "
                   "defaults.python_versions in mirrors.yaml].")
@click.option("--propose", is_flag=True,
              help="Propose a mirrors.yaml entry for each blocker the inventory lacks "
                   "(its upstream from the index's metadata).")
@click.option("--probe", is_flag=True,
              help="With --propose: read each proposed upstream's tags (one git "
                   "ls-remote each) for its tag format, as `inventory --probe` does.")
@format_option
@click.pass_obj
def stack(g: Globals, roots: tuple[str, ...], pythons: tuple[str, ...], propose: bool,
          probe: bool, fmt: str) -> None:
    """What keeps each ROOT from installing from wheels on riscv64 Linux (without a
    ROOT: those of defaults.stacks in mirrors.yaml, then the top of the download
    ranking defaults.top_packages names).

    \b
    For each root (a project, with extras and a version specifier if wanted) and each
    Python, the closure of its requirements as an installer resolves it on riscv64
    Linux (pip's resolver, resolvelib: markers evaluated for riscv64 Linux and that
    Python, extras followed, the newest version every requirement allows, a pin kept,
    yanked releases only when pinned), read from the index at defaults.pypi_url (its
    JSON API). Each package says how it installs there:

    \b
      pypi-wheel      a riscv64 wheel on the index
      pure            a pure-Python wheel
      registry-wheel  a riscv64 wheel in the builders' registry (defaults.registry_url)
      sdist-only      an sdist alone: to build, it blocks what requires it
      missing         nothing to install nor to build
      unknown         the index or the registry could not be read

    The table opens with the blockers, ranked by how many roots and packages each
    blocks; `order` lists what to build, each package after those of them it
    requires. The index's answers are kept under <workdir>/index/ (a release's
    requirements for good, a project's list as long as the index's max-age says):
    a second run is cheap.

    With --propose, each blocker the inventory lacks gets the mirrors.yaml entry
    proposed for it: its upstream from the index's metadata (Project-URL Source,
    Repository, ...), the version the stacks need, and with --probe the tag format
    upstream's own tags show for it; what is not known is left out and said in the
    entry's note (JSON: "proposed"). Nothing is written: a person checks it, adds the
    package to the builders' lists, and `mirrorctl inventory` takes it.

    \b
    Exit status 0, 1 when a root is blocked, a fact is unknown, no set of versions
    satisfies its requirements or the download ranking does not read, 2 bad usage.

    \b
    Examples:
      mirrorctl stack vllm
      mirrorctl stack                      # defaults.stacks: [vllm, haystack-ai]
      mirrorctl stack vllm haystack-ai --python 3.12 --python 3.13
      mirrorctl stack 'haystack-ai[all]>=2' --format json
      mirrorctl stack vllm --propose --probe   # entries for what the inventory lacks
    """
    from mirrorctl.core.config import load_config
    from mirrorctl.grade.index import PackageIndex
    from mirrorctl.grade.registry import RegistryClient
    from mirrorctl.grade.stack import parse_root
    from mirrorctl.grade.stackkept import resolve_stacks
    from mirrorctl.grade.stackroots import stack_roots
    from mirrorctl.grade.stacksources import CachedSources

    if probe and not propose:
        raise click.UsageError("--probe reads the tags of proposed entries: give --propose")
    config = load_config(g.config_path)
    if not roots and not config.stacks and config.top_packages is None:
        raise click.UsageError("name a root (mirrorctl stack vllm), or list the stacks "
                               "the builders serve under defaults.stacks in mirrors.yaml")
    for root in roots:
        parse_root(root)  # bad usage before anything is asked
    versions = pythons or config.python_versions
    index = PackageIndex(config.pypi_url, kept=g.workdir / "index", retries=config.retries)
    unknown: tuple[str, ...] = ()
    if not roots:
        found = stack_roots(config.stacks, config.top_packages, index)
        roots, unknown = found.roots, found.unknown
    registry = RegistryClient(config.registry_url, retries=config.retries) \
        if config.registry_url else None
    with reading(g) as lock_fd, progress_on_stderr(g) as progress:
        sources = CachedSources(config.packages.values(), g.workdir,
                                git_runner(g, config, lock_fd))
        stacks = resolve_stacks(roots, versions, index, registry,
                                inventory=[p.pypi for p in config.packages.values()],
                                registry_platforms=config.registry_platforms,
                                kept=g.workdir / "index" / "stacks", progress=progress,
                                sources=sources)
    proposals = []
    if propose:
        from mirrorctl.cli.validate import tag_reader
        from mirrorctl.grade.stackentries import propose as proposed

        missing = {p.name: p.version for s in stacks for p in s.packages
                   if p.name in s.blocked_by and not p.in_inventory}
        proposals = proposed(sorted(missing.items()), index,
                             tag_reader(g) if probe else None)
    g.echo(_json(stacks, unknown, proposals) if fmt == "json"
           else _table(stacks, unknown, proposals))
    if any(s.blocked or s.unknown or s.error for s in stacks) or unknown:
        raise SystemExit(EXIT_FAILURE)


def _json(stacks: list[Any], unknown: Sequence[str], proposals: Sequence[Any]) -> str:
    return json.dumps({"unknown": list(unknown),
                       "proposed": [asdict(p) for p in proposals], "stacks": [{
        "root": s.root, "python": s.python, "error": s.error,
        "packages": [{"name": p.name, "version": p.version, "install": p.install,
                      "why": p.why, "requires": list(p.requires),
                      "required_by": list(p.required_by), "blocks": list(p.blocks),
                      "in_inventory": p.in_inventory,
                      "build_requires": None if p.build_requires is None
                      else list(p.build_requires)} for p in s.packages],
        "blocked_by": list(s.blocked_by), "order": list(s.order),
        "build_only": list(s.build_only),
        "unknown": list(s.unknown)} for s in stacks]}, indent=2)


def _table(stacks: list[Any], unknown: Sequence[str], proposals: Sequence[Any]) -> str:
    from mirrorctl.grade.stack import blockers

    lines = [f"unknown: {why}" for why in unknown]
    ranked = blockers(stacks)
    inventory = {p.name for s in stacks for p in s.packages if p.in_inventory}
    if ranked:
        lines.append("Blockers (roots, packages needing them):")
        for name, roots, packages in ranked:
            mark = "" if name in inventory else "  (not in the inventory)"
            lines.append(f"  {name:30} {roots:3} root(s) {packages:4} package(s){mark}")
        lines.append("")
    for s in stacks:
        wheels = sum(1 for p in s.packages if p.install in ("pypi-wheel", "pure",
                                                            "registry-wheel"))
        head = f"{s.root} on Python {s.python}: "
        if s.error:
            lines.append(head + s.error)
            continue
        known = [p for p in s.packages if p.install != "unknown"]
        if not known:
            lines.append(head + "not known (why below)")
        else:
            lines.append(head + f"{wheels} of {len(s.packages)} packages install from wheels"
                         + (f", {len(s.packages) - len(known)} not known"
                            if len(known) < len(s.packages) else "")
                         + (f" (the closure is not complete: {len(s.unknown)} fact"
                            f"{'s' if len(s.unknown) > 1 else ''} not known, below)"
                            if s.unknown else "")
                         + (f"; blocked by {', '.join(s.blocked_by)}" if s.blocked_by
                            else ""))
        if s.order:
            lines.append(f"  build, in order: {', '.join(s.order)}")
        for why in s.unknown:
            lines.append(f"  unknown: {why}")
    if proposals:
        from mirrorctl.grade.stackentries import entries_yaml

        lines += ["", "Proposed for mirrors.yaml (check each, add the package to the "
                      "builders' lists, then run `mirrorctl inventory`):", "",
                  entries_yaml(proposals).rstrip("\n")]
    return "\n".join(lines)
