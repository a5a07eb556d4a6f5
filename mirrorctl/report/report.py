"""The upstreaming report: per package, what its queue, its mirror and upstream's latest
release are, the grade of its upgrade, and where every patch stands; over all, one
summary line in the manner of Yocto's patch metrics ("37 patches: 12 submitted, 9
pending, ...") and what needs a person, each with the command to run next.

Against the last record of the nightly's history (history.py): the patches upstream
accepted since, the patches dropped from the queues since, and the trend of pending,
submitted and accepted patches. The types and their assembly live here; build.py reads
each package's row from its record and caches, wire.py is the JSON both ways, page.py
the self-contained page.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from mirrorctl.core.grades import Grade
from mirrorctl.core.needs import NEEDS, next_command
from mirrorctl.core.stamps import stamp_text
from mirrorctl.grade.builds import BuildSummary
from mirrorctl.grade.road import Road
from mirrorctl.queue.engine import WAITING, Outcome
from mirrorctl.report.campaign import Campaign
from mirrorctl.report.debt import DebtReport
from mirrorctl.report.history import Record, RecordedPackage, TrendPoint, save_record
from mirrorctl.report.stacks import Stacks

__all__ = [
    "WORST_FIRST",
    "Action",
    "Change",
    "PackageReport",
    "PatchRow",
    "Report",
    "assemble",
    "package_actions",
    "record_of",
    "stack_actions",
    "summary_line",
    "write_record",
]


# How each Upstream-Status is counted in the summary line, in its order.
_SUMMARY = (("Submitted", "submitted"), ("Issue", "reported as issues"),
            ("Pending", "pending"), ("To upstream", "to upstream"),
            ("Inappropriate", "inappropriate"), ("Backport", "backports"),
            ("Denied", "denied"), ("Inactive-Upstream", "inactive upstream"))
_TREND = {"Pending": "pending", "To upstream": "pending", "Submitted": "submitted",
          "Issue": "submitted", "Backport": "accepted"}
_NUMBER = re.compile(r"^\d+-")  # a rebased queue renumbers its patches


@dataclass(frozen=True, kw_only=True)
class PatchRow:
    name: str
    status: str  # the Upstream-Status kind
    argument: str | None = None
    outcome: Outcome | None = None  # carried onto upstream's latest release, when known
    # It left the current queue in the carry this report saw (upstreamed, dropped,
    # undone): said here, counted no more among the patches carried.
    left: bool = False

    @property
    def header(self) -> str:
        return self.status + (f" [{self.argument}]" if self.argument else "")

    @property
    def accepted(self) -> bool:
        """Upstream has it: a Backport, or a rebase found it in the latest release."""
        return (self.status == "Backport" and self.outcome not in ("reverted", "undone")) \
            or self.outcome == "upstreamed"

    @property
    def waits(self) -> bool:
        """It waits for a person on the latest release (a conflict, a change undone)."""
        return self.outcome in WAITING

    def waits_why(self, release: str | None) -> str:
        return (f"conflicts on {release}" if self.outcome == "conflict" else
                f"was taken and undone upstream before {release}")


@dataclass(frozen=True)
class Action:
    """Something that needs a person, with the command to run next."""

    package: str
    kind: str
    detail: str
    command: str


@dataclass(frozen=True, kw_only=True)
class PackageReport:
    name: str
    current: str | None
    latest: str | None
    grade: Grade | None
    patches: tuple[PatchRow, ...]
    problems: tuple[str, ...] = ()
    # The builds of `latest`, as last read (<workdir>/results): a Python each, and where
    # they ran; None: none read yet.
    builds: tuple[BuildSummary, ...] | None = None
    builds_source: str = ""
    # The last sync of its upstream: "ok", "failed: why", or "never" (no cache yet);
    # "" when not known (a merged result that did not say).
    sync: str = ""
    # What the row names, where it can be seen: (label, URL or path), e.g. the queue
    # folder, the upgrade's pull request, the mirror's branch, upstream's release.
    links: tuple[tuple[str, str], ...] = ()
    # What the mirror holds (its newest riscv64/<version> branch as the last sync read
    # it): "1.25.2", "none", "no mirror" (a package without one), "unknown"; "" when the
    # result did not say (a merged result of an older mirrorctl).
    mirrored: str = ""
    # The recorded upgrade the grade is, carried and not settled yet: (from, to).
    upgrade: tuple[str, str] | None = None
    upgrade_note: str = ""  # when and by what it was carried, and what settles it
    settled: str = ""  # how this report found the standing upgrade settled (its builds)
    # What else this package's facts say needs a person (a ref to decide, a failed
    # sync, a refused push, an undelivered request, a failed rebase, an unreadable
    # queue): the report lists them with the conflicts and the builds.
    needs: tuple[Action, ...] = ()
    # Files of the current queue that do not read: problems of those files, never
    # patches dropped from the queue.
    unreadable: tuple[str, ...] = ()
    waiting: str = ""  # the worktree where a rebase of it waits for a person's resolution
    # Its upgrade's road, from the release found to the wheels published (grade.road):
    # as the record keeps it; None when no upgrade was carried since roads were kept.
    road: Road | None = None

    @property
    def queue_url(self) -> str | None:
        """Where the current queue's files are (a patch is this + "/" + its name)."""
        return next((url for label, url in self.links if label == "queue"), None)

    @property
    def builds_line(self) -> str:
        """`3.12: 118 passed, 2 failed; 3.14t: not built`; `-` when none were read."""
        return "; ".join(b.text for b in self.builds or ()) or "-"

    @property
    def state(self) -> str:
        """hard, unknown, medium, easy, up-to-date or none (no grade, no problem)."""
        if self.grade is None:
            return "unknown" if self.problems else "none"
        if self.grade.main_reason.code == "up-to-date":
            return "up-to-date"
        return self.grade.level


# The order a person reads packages in: what needs them first.
WORST_FIRST = ("hard", "unknown", "medium", "easy", "up-to-date", "none")
# Reasons of the builds that a person must look at, and what to run then.
_BUILD_ACTIONS = ("build-failed", "new-test-failures", "nan-test-failures")


# The needs that say why a package is unknown: with one of them, no generic "unknown".
_EXPLAINED = frozenset(kind for kind, spec in NEEDS.items() if spec.unsettling)


def package_actions(package: PackageReport) -> list[Action]:
    """What a package's report says needs a person: an unknown state, a conflict, a
    build that failed or tests that newly fail."""
    name = package.name
    actions = []
    told = {a.kind for a in package.needs}
    if package.state == "unknown" and not told & _EXPLAINED:
        actions.append(Action(name, "unknown", "; ".join(package.problems),
                              next_command("unknown", name)))
    actions += package.needs
    # A rebase waiting in a worktree goes on there: a second one would be refused.
    go_on = (f" (it waits in {package.waiting}: resolve the files, `git add` them)",
             f"mirrorctl rebase {name} --continue") if package.waiting else (
             "", next_command("conflict", name))
    actions += [Action(name, "conflict", f"{p.name} {p.waits_why(package.latest)}{go_on[0]}",
                       go_on[1])
                for p in package.patches if p.waits]
    if package.grade is not None:
        actions += [Action(name, r.code, r.detail, next_command(r.code, name)
                           + (f"  # the run: {package.builds_source}"
                              if package.builds_source else ""))
                    for r in package.grade.reasons if r.code in _BUILD_ACTIONS]
    return actions


@dataclass(frozen=True)
class Change:
    """A patch that moved since the last record: accepted upstream, dropped, in conflict."""

    package: str
    patch: str
    detail: str


@dataclass(frozen=True, kw_only=True)
class Report:
    packages: tuple[PackageReport, ...]
    since: str | None = None  # the stamp of the history record compared against
    accepted: tuple[Change, ...] = ()
    dropped: tuple[Change, ...] = ()
    trend: tuple[TrendPoint, ...] = ()  # oldest first; the last point is this report
    # What the run that made the report found needs a person beyond the packages' own
    # reports (the nightly: failed syncs, refs to decide, refused pushes, ...).
    run_actions: tuple[Action, ...] = ()
    debt: DebtReport | None = None  # patch debt over the queue folders and the history
    campaign: Campaign | None = None  # the road to upstream riscv64 wheels, when followed
    stacks: Stacks | None = None  # the stacks the builders serve, as the night resolved them
    # The night this report is of: when it started and when it ended (stamps; None: no
    # nightly yet; an end of None: it has not ended, and a need says so).
    night_started: str | None = None
    night_ended: str | None = None

    @property
    def night_line(self) -> str:
        """When its night ran, as people read it."""
        if self.night_started is None:
            return "No nightly has run yet: this report is computed from the caches."
        started = stamp_text(self.night_started)
        if self.night_ended is None:
            return f"The nightly of {started} did not finish."
        return f"The nightly of {started}, ended {stamp_text(self.night_ended)}."

    @property
    def counts(self) -> Counter[str]:
        """The patches carried now, by Upstream-Status: what the morning's report counts
        of the same queues (a patch the night's carry left behind no longer counts)."""
        return Counter(p.status for package in self.packages for p in package.patches
                       if not p.left)

    @property
    def actions(self) -> tuple[Action, ...]:
        """Everything that needs a person, the run's first, each once."""
        # What the run said of a package (in its own words) it says once: the package's
        # own facts add what the run did not say, and why it is unknown only when the
        # run gave no reason.
        told = {(a.package, a.kind) for a in self.run_actions}
        reasons = {a.package for a in self.run_actions}
        found = [*self.run_actions, *(a for p in self.packages for a in package_actions(p)
                                      if (a.package, a.kind) not in told
                                      and not (a.kind == "unknown" and a.package in reasons)),
                 *stack_actions(self.stacks)]
        return tuple(dict.fromkeys(found))

    @property
    def states(self) -> Counter[str]:
        """How many packages are in each state (WORST_FIRST)."""
        return Counter(p.state for p in self.packages)

    @property
    def worst_first(self) -> tuple[PackageReport, ...]:
        return tuple(sorted(self.packages, key=lambda p: (WORST_FIRST.index(p.state),
                                                          p.name.lower())))

    @property
    def summary(self) -> str:
        return summary_line(self.counts)

    @property
    def conflicts(self) -> tuple[Change, ...]:
        return tuple(Change(p.name, patch.name, patch.waits_why(p.latest))
                     for p in self.packages for patch in p.patches if patch.waits)


def stack_actions(stacks: Stacks | None) -> list[Action]:
    """What the stacks ask of a person: a blocker not in the inventory (add it), and a
    stack whose closure could not be established (why)."""
    if stacks is None:
        return []
    actions = [Action(b.name, "stack-blocker-unlisted",
                      f"{b.name} blocks {', '.join(b.roots)} on riscv64 (Python "
                      f"{', '.join(b.pythons)}) and is not in the inventory"
                      + (f"; its source: {b.proposed.upstream}" if b.proposed is not None
                         and b.proposed.upstream else ""),
                      next_command("stack-blocker-unlisted", b.name))
               for b in stacks.blockers if not b.in_inventory]
    for row in stacks.rows:
        if row.error is not None or row.unknown:
            why = row.error or "; ".join(row.unknown[:3]) + (
                f" (and {len(row.unknown) - 3} more)" if len(row.unknown) > 3 else "")
            actions.append(Action("", "stack-unknown",
                                  f"{row.root} on Python {row.python}: {why}",
                                  next_command("stack-unknown", "")))
    actions += [Action("", "stack-unknown", why, next_command("stack-unknown", ""))
                for why in stacks.unknown]
    return actions


def summary_line(counts: Counter[str]) -> str:
    total = sum(counts.values())
    parts = [f"{counts[kind]} {label}" for kind, label in _SUMMARY if counts[kind]]
    noun = "patch" if total == 1 else "patches"
    return f"{total} {noun}: " + ", ".join(parts) if parts else "0 patches"


def assemble(packages: Sequence[PackageReport], history: Sequence[Record], *,
             stamp: str) -> Report:
    """The report of these packages against the last record of the history."""
    previous = history[-1] if history else None
    accepted: list[Change] = []
    dropped: list[Change] = []
    for package in packages:
        before = previous.packages.get(package.name) if previous else None
        if before is not None:
            _compare(package, before, accepted, dropped)
    counted = Counter("accepted" if p.accepted else _TREND.get(p.status)
                      for package in packages for p in package.patches)
    now = TrendPoint(stamp, counted["pending"], counted["submitted"], counted["accepted"])
    return Report(packages=tuple(packages), since=previous.stamp if previous else None,
                  accepted=tuple(accepted), dropped=tuple(dropped),
                  trend=(*(r.trend for r in history), now))


def _compare(package: PackageReport, before: RecordedPackage, accepted: list[Change],
             dropped: list[Change]) -> None:
    now = {_NUMBER.sub("", p.name): p for p in package.patches}
    unread = {_NUMBER.sub("", name) for name in package.unreadable}
    for name, header in before.patches.items():
        patch = now.get(_NUMBER.sub("", name))
        if patch is None and _NUMBER.sub("", name) in unread:
            continue  # it is there, and does not read: a problem, not a drop
        if patch is None:
            if name not in before.accepted:  # one accepted earlier has since left the queue
                dropped.append(Change(package.name, name, f"was {header}"))
        elif patch.accepted and name not in before.accepted:
            how = (f"upstream {package.latest} has it" if patch.outcome == "upstreamed"
                   else f"now {patch.header}")
            accepted.append(Change(package.name, patch.name, how))


def record_of(report: Report, stamp: str) -> Record:
    """The history record this report makes, as read back (a night's report counts its
    own in the patch debt, as the morning's report does)."""
    return Record(stamp=stamp, trend=report.trend[-1], summary=report.summary,
                  by_status=dict(sorted(report.counts.items())), packages={
        p.name: RecordedPackage(current=p.current,
                                patches={patch.name: patch.header for patch in p.patches},
                                accepted=frozenset(patch.name for patch in p.patches
                                                   if patch.accepted),
                                latest=p.latest, level=p.grade.level if p.grade else None,
                                builds=p.builds,
                                conflicts=frozenset(patch.name for patch in p.patches
                                                    if patch.waits))
        for p in report.packages})


def write_record(workdir: Path, stamp: str, report: Report, needs_human: Sequence[str]) -> Path:
    """Keep this run in the history: what the next report compares against."""
    return save_record(workdir, replace(record_of(report, stamp), needs_human=len(needs_human)))


