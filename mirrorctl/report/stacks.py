"""The stacks the builders serve, as the morning report shows them: each root's coverage
for each Python (how many packages of its closure install from wheels on riscv64), what
blocks it, and the blockers ranked, those missing from the inventory with the entry
proposed for them. The report's own type: the nightly fills it in (night.stacks, which
keeps it), `mirrorctl report` reads it back; report.stack_actions says what needs a
person.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mirrorctl.core.stamps import stamp_text

if TYPE_CHECKING:  # resolving needs them; a report read back does not
    from mirrorctl.grade.stack import Stack
    from mirrorctl.grade.stackentries import Proposal

__all__ = ["BlockerRow", "StackRow", "Stacks", "stacks_from_json", "stacks_markdown",
           "stacks_to_json",
           "stacks_view"]

_FROM_WHEELS = ("pypi-wheel", "pure", "registry-wheel")  # grade.stack.INSTALLS


@dataclass(frozen=True, kw_only=True)
class StackRow:
    root: str
    python: str
    packages: int  # in its closure, the root included
    wheels: int  # ... that install from wheels (pypi-wheel, pure, registry-wheel)
    not_known: int  # ... whose install is unknown
    blocked_by: tuple[str, ...] = ()
    order: tuple[str, ...] = ()  # what to build, in order
    error: str | None = None  # no resolution (a conflict): why
    unknown: tuple[str, ...] = ()  # the facts that could not be established

    @property
    def complete(self) -> bool:
        return self.error is None and not self.unknown and not self.not_known

    @property
    def coverage(self) -> str:
        """`41/57` (packages from wheels), `41/57?` when some are not known, `?` when
        nothing could be resolved."""
        if self.error is not None or not self.packages:
            return "?"
        return f"{self.wheels}/{self.packages}" + ("" if self.complete else "?")


@dataclass(frozen=True, kw_only=True)
class BlockerRow:
    name: str
    roots: tuple[str, ...]  # the roots it keeps from installing from wheels
    pythons: tuple[str, ...]  # ... for these Pythons
    packages: int  # how many packages of those closures need it
    in_inventory: bool
    proposed: Proposal | None = None  # not in the inventory: the entry proposed


@dataclass(frozen=True, kw_only=True)
class Stacks:
    stamp: str  # when the night resolved them
    rows: tuple[StackRow, ...]
    blockers: tuple[BlockerRow, ...] = ()  # the most roots and packages first
    top: tuple[str, ...] = ()  # the roots the download ranking gave
    unknown: tuple[str, ...] = ()  # what kept roots out (a ranking that did not read)

    @property
    def when(self) -> str:
        return stamp_text(self.stamp)

    @property
    def by_root(self) -> dict[str, list[StackRow]]:
        grouped: dict[str, list[StackRow]] = {}
        for row in self.rows:
            grouped.setdefault(row.root, []).append(row)
        return grouped

    def blocked(self, root: str) -> list[str]:
        """What blocks the root, for any Python."""
        return sorted({n for row in self.rows if row.root == root for n in row.blocked_by})

    @property
    def pythons(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(row.python for row in self.rows))


def stacks_view(stacks: Sequence[Stack], *, stamp: str, top: Sequence[str] = (),
                unknown: Sequence[str] = (), proposals: Sequence[Proposal] = ()) -> Stacks:
    """What the report shows of the stacks resolved (grade.stack), with the entries
    proposed for the blockers the inventory lacks."""
    from mirrorctl.grade.stack import blockers

    proposed = {p.name: p for p in proposals}
    pythons: dict[str, set[str]] = {}
    listed: dict[str, bool] = {}
    for stack in stacks:
        for package in stack.packages:
            if package.name in stack.blocked_by:
                pythons.setdefault(package.name, set()).add(stack.python)
                listed[package.name] = package.in_inventory
    rows = tuple(StackRow(
        root=s.root, python=s.python, packages=len(s.packages),
        wheels=sum(1 for p in s.packages if p.install in _FROM_WHEELS),
        not_known=sum(1 for p in s.packages if p.install == "unknown"),
        blocked_by=s.blocked_by, order=s.order, error=s.error, unknown=s.unknown)
        for s in stacks)
    ranked = tuple(BlockerRow(
        name=name, roots=tuple(sorted({s.root for s in stacks if name in s.blocked_by})),
        pythons=tuple(sorted(pythons.get(name, ()))), packages=packages,
        in_inventory=listed.get(name, False), proposed=proposed.get(name))
        for name, _, packages in blockers(stacks))
    return Stacks(stamp=stamp, rows=rows, blockers=ranked, top=tuple(top),
                  unknown=tuple(unknown))


def stacks_to_json(stacks: Stacks | None) -> dict[str, Any] | None:
    if stacks is None:
        return None
    return {"stamp": stacks.stamp, "top": list(stacks.top), "unknown": list(stacks.unknown),
            "stacks": [{"root": r.root, "python": r.python, "packages": r.packages,
                        "wheels": r.wheels, "not_known": r.not_known,
                        "coverage": r.coverage, "blocked_by": list(r.blocked_by),
                        "order": list(r.order), "error": r.error,
                        "unknown": list(r.unknown)} for r in stacks.rows],
            "blockers": [{"name": b.name, "roots": list(b.roots), "pythons": list(b.pythons),
                          "packages": b.packages, "in_inventory": b.in_inventory,
                          "proposed": None if b.proposed is None else {
                              "version": b.proposed.version,
                              "upstream": b.proposed.upstream,
                              "tag_format": b.proposed.tag_format,
                              "evidence": b.proposed.evidence}}
                         for b in stacks.blockers]}


def stacks_from_json(data: Mapping[str, Any] | None) -> Stacks | None:
    """The stacks as stacks_to_json wrote them; ValueError, KeyError or TypeError for
    anything else."""
    from mirrorctl.grade.stackentries import Proposal

    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise TypeError("the stacks are no mapping")
    rows = tuple(StackRow(root=str(r["root"]), python=str(r["python"]),
                          packages=int(r["packages"]), wheels=int(r["wheels"]),
                          not_known=int(r["not_known"]), blocked_by=_names(r["blocked_by"]),
                          order=_names(r["order"]), error=r.get("error"),
                          unknown=_names(r.get("unknown", ()))) for r in data["stacks"])
    blockers = tuple(BlockerRow(
        name=str(b["name"]), roots=_names(b["roots"]), pythons=_names(b["pythons"]),
        packages=int(b["packages"]), in_inventory=bool(b["in_inventory"]),
        proposed=None if b.get("proposed") is None else Proposal(
            name=str(b["name"]), version=b["proposed"].get("version"),
            upstream=b["proposed"].get("upstream"), tag_format=b["proposed"].get("tag_format"),
            evidence=str(b["proposed"].get("evidence", ""))))
        for b in data["blockers"])
    return Stacks(stamp=str(data["stamp"]), rows=rows, blockers=blockers,
                  top=_names(data.get("top", ())), unknown=_names(data.get("unknown", ())))


def _names(value: Sequence[Any]) -> tuple[str, ...]:
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"{value!r} is no list of names")
    return tuple(value)


def stacks_markdown(stacks: Stacks | None) -> list[str]:
    """The report's opening section: each root's coverage for each Python (packages
    from wheels / in the closure; `?` where something is not known), what blocks it,
    and the blockers ranked, those the inventory lacks marked."""
    if stacks is None:
        return []
    when = f" (resolved by the nightly of {stacks.when})" if stacks.stamp else ""
    lines = ["", f"## Stacks{when}", ""]
    pythons = stacks.pythons
    if stacks.rows:
        lines += ["packages that install from wheels on riscv64, of the closure:", "",
                  "| stack | " + " | ".join(pythons) + " | blocked by |",
                  "|---|" + "---|" * len(pythons) + "---|"]
        for root, rows in stacks.by_root.items():
            cells = {r.python: r.coverage for r in rows}
            blocked = stacks.blocked(root)
            lines.append(f"| {root} | " + " | ".join(cells.get(p, "-") for p in pythons)
                         + f" | {', '.join(blocked) or 'nothing'} |")
    if stacks.blockers:
        lines += ["", "Blockers, the most roots and packages first:", ""]
        lines += [f"- {'**' + b.name + '**' if not b.in_inventory else b.name}: "
                  f"{len(b.roots)} root{'s' if len(b.roots) != 1 else ''} "
                  f"({', '.join(b.roots)}), {b.packages} package"
                  f"{'s need' if b.packages != 1 else ' needs'} it"
                  + ("" if b.in_inventory else "; not in the inventory"
                     + _proposed_text(b.proposed)) for b in stacks.blockers]
    lines += [f"- unknown: {why}" for why in stacks.unknown]
    return lines


def _proposed_text(proposal: Proposal | None) -> str:
    if proposal is None:
        return ""
    if proposal.upstream is None:
        return f" ({proposal.evidence})"
    return f", proposed with upstream {proposal.upstream}" + (
        f" and tag format {proposal.tag_format}" if proposal.tag_format else "")
