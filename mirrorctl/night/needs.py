"""What a night finds needs a person: one Need a thing, from each stage's findings
(a failed sync, a ref to decide, releases not known, a conflict, a refused push, an
undelivered request, a road a person acts on, ...), and the report's Action of each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mirrorctl.core.needs import NeedKind, next_command
from mirrorctl.report.report import Action, Report

if TYPE_CHECKING:
    from mirrorctl.grade.releases import ReleaseList
    from mirrorctl.queue.carry import RebaseReport
    from mirrorctl.sync.run import SyncReport
    from mirrorctl.upstream.wheels.road import Road

__all__ = ["IN_THE_REPORT", "Need", "action_of", "needs_human", "wheel_needs"]


@dataclass(frozen=True)
class Need:
    """One thing that needs a person after the night: which package, what kind of thing,
    the ref or patch it is about (or ""), and the detail."""

    package: str
    kind: NeedKind
    subject: str
    detail: str

    def __str__(self) -> str:  # the line the table and the JSON's needs_human show
        if not self.package:
            return self.detail
        if self.kind == "conflict":
            return f"{self.package}: {self.subject} {self.detail}"
        if self.kind == "ref-needs-decision":
            return f"{self.package}: {self.subject}: {self.detail}"
        return f"{self.package}: {self.detail}"


def wheel_needs(roads: Sequence[Road]) -> list[Need]:
    """What the roads ask of a person: upstream declined or undid riscv64 wheels (read
    why), or ships them (retire the package)."""
    needs = []
    for road in roads:
        kind: NeedKind | None = {"declined": "wheels-declined", "reverted": "wheels-reverted",
                                 "shipped": "wheels-shipped",
                                 "pure-python": "wheels-shipped"}.get(road.state)  # type: ignore[assignment]
        if kind is not None and (road.changed or kind == "wheels-shipped"):
            needs.append(Need(road.name, kind, "", road.reasons[0] if road.reasons else ""))
    return needs


# Needs the report finds in the packages themselves (report.package_actions).
IN_THE_REPORT = ("conflict",)


def action_of(need: Need) -> Action:
    # What the morning's report says of the same need, from the record, word for word.
    detail = f"{need.subject}: {need.detail}" if need.kind == "ref-needs-decision" \
        else need.detail
    return Action(need.package, need.kind, detail, next_command(need.kind, need.package))


def needs_human(synced: SyncReport, found: Sequence[ReleaseList],
                 rebases: Sequence[RebaseReport], errors: Sequence[tuple[str, str]],
                 report: Report) -> list[Need]:
    needs = [Need(p.name, "sync-failed", "", f"sync failed: {p.error}")
             for p in synced.packages if p.error]
    needs += [Need(p.name, "ref-needs-decision", u.ref, u.detail) for p in synced.packages
              for u in p.refs if u.needs_human]
    needs += [Need(r.name, "releases-unknown", "", problem) for r in found
              for problem in r.problems]
    needs += [Need(r.name, "registry-unreadable", "", r.registry_error) for r in found
              if r.registry_error]
    needs += [Need(r.name, "retired-needs-building", "", r.retire_alarm) for r in found
              if r.retire_alarm]
    needs += [Need(r.name, "retired-unwatched", "", f"PyPI could not be asked: {r.pypi_error}")
              for r in found if r.retired and r.pypi_error]
    needs += [Need(r.package, "conflict", o.patch.name,
                   f"conflicts on {r.onto}" if o.outcome == "conflict" else o.detail)
              for r in rebases for o in r.result.outcomes if o.waits]
    needs += [Need(r.package, "push-refused", r.branch, f"pushing {r.branch} was {r.push}: "
                   f"{r.push_detail}") for r in rebases if r.push in ("refused", "rejected")]
    needs += [Need(r.package, "pull-request-failed", r.to_version,
                   f"the upgrade's pull request was not delivered: {r.pull_request_detail}")
              for r in rebases if r.pull_request_action == "failed"]
    needs += [Need(r.package, "request-superseded-kept", url,
                   f"{url} is superseded by {r.pull_request}, but a person pushed to it: "
                   "it is left open; move their work to the new request, or close it")
              for r in rebases for url in r.pull_request_kept]
    needs += [Need(name, "rebase-failed", "", f"rebase failed: {error}")
              for name, error in errors]
    return needs
