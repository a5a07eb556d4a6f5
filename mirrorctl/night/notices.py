"""Notices that never pile up: what needs a person, as tracking issues in the builders'
tracker (GitHub or GitLab), one a package and kind of need.

Each issue carries the label of the site's `notices:` and a marker in its body
(`<!-- mirrorctl-notice numpy conflict -->`) by which the next run finds it again,
whatever a person did to its title. A run opens what is new, updates the body of what
changed, reopens with a comment what comes back, closes with a comment what cleared,
and closes as duplicates any second open issue of one marker. It closes an issue only
for a package whose facts it established (in the run, not unknown, not failing to
sync): a fact it could not read is never taken for good news. A kind of need that more
packages share than the run's limit becomes one issue for all of them (package `*`),
so a forge outage is one issue, not a thousand. At most `limit` issues are touched a
run; the rest, like what a rate limit stops, waits for the next run. What an issue
quotes is a code span (no mention, cross-reference or markup), and an issue the
tracker opened without its label (which would be lost, and opened again each night) is
closed at once and stops the run's notices, saying which right the token lacks.

The plan is a pure function (plan_notices); deliver_notices carries it out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from mirrorctl.core.markdown import code_span
from mirrorctl.core.needs import NEEDS
from mirrorctl.core.redact import Redactor
from mirrorctl.core.sections import Notices
from mirrorctl.core.stamps import stamp_text
from mirrorctl.report.report import Action, Report
from mirrorctl.upstream.forges.forge import ForgeError, ForgeSettings
from mirrorctl.upstream.forges.tracker import Pace, RateLimited, TrackedIssue, Tracker

__all__ = ["ALL", "TITLES", "Notice", "NoticeOutcome", "NoticesResult", "Step",
           "deliver_notices", "marker", "marker_of", "notice_scope", "notice_tracker",
           "notices_from", "notify", "plan_notices"]

ALL = "*"  # the package of a notice many packages share
_AFTER_SYNC = frozenset({"releases-unknown", "unknown"})  # what a failed sync leaves
_MARKER = re.compile(r"<!-- mirrorctl-notice (\S+) (\S+) -->")
# Needs after which a package's other facts are not established this run.
_UNSETTLING = frozenset(kind for kind, spec in NEEDS.items() if spec.unsettling)
# What a notice of each kind is called (core.needs).
TITLES: dict[str, str] = {kind: spec.title for kind, spec in NEEDS.items()}


def marker(package: str, kind: str) -> str:
    return f"<!-- mirrorctl-notice {package} {kind} -->"


def marker_of(body: str) -> tuple[str, str] | None:
    """(package, kind) of the marker in an issue's body, or None."""
    found = _MARKER.search(body)
    return (found.group(1), found.group(2)) if found else None


@dataclass(frozen=True)
class Notice:
    package: str  # ALL for a need many packages share
    kind: str
    title: str
    body: str  # with its marker
    packages: tuple[str, ...] = ()  # for ALL: the packages it stands for

    @property
    def key(self) -> tuple[str, str]:
        return self.package, self.kind


def notices_from(actions: Iterable[Action], *, limit: int,
                 kinds: Sequence[str] | None = None) -> list[Notice]:
    """One notice a package and kind, in the order the actions come (the report's: the
    run's first, then worst first); a kind more than `limit` packages share is one
    notice for all of them."""
    chosen = [a for a in actions if a.package and (kinds is None or a.kind in kinds)]
    failing = {a.package for a in chosen if a.kind == "sync-failed"}
    grouped: dict[tuple[str, str], list[Action]] = {}
    for action in chosen:
        # What a failed sync leaves unknown is that sync's issue, not one more.
        kind = "sync-failed" if action.package in failing and action.kind in _AFTER_SYNC \
            else action.kind
        grouped.setdefault((action.package, kind), []).append(action)
    by_kind: dict[str, list[str]] = {}
    for package, kind in grouped:
        by_kind.setdefault(kind, []).append(package)
    shared = {kind for kind, packages in by_kind.items() if len(packages) > limit}
    notices = [_notice(package, kind, found) for (package, kind), found in grouped.items()
               if kind not in shared]
    notices += [_shared_notice(kind, [grouped[(p, kind)] for p in by_kind[kind]])
                for kind in sorted(shared)]
    return notices


# An issue's body holds 65,536 characters on GitHub: lists are cut well before.
_MAX_ITEMS = 100
_MAX_DETAIL = 400


def _code(text: str) -> str:
    """`text` as a code span: what a patch name or an error says (`@someone`, `#12`,
    markup) reaches the tracker as text, never as a mention, a cross-reference or HTML."""
    return code_span(text, limit=_MAX_DETAIL)


def _items(lines: Sequence[str]) -> list[str]:
    shown = list(lines[:_MAX_ITEMS])
    if len(lines) > _MAX_ITEMS:
        shown.append(f"- … and {len(lines) - _MAX_ITEMS} more (the report lists them all)")
    return shown


def _notice(package: str, kind: str, actions: Sequence[Action]) -> Notice:
    what = TITLES.get(kind, kind)
    lines = [marker(package, kind), "",
             f"mirrorctl's nightly finds that **{package}** needs a person: {what}.", "",
             *_items([f"- {_code(a.detail)}" for a in actions if a.detail]), "",
             "Next: " + ", then ".join(f"`{c}`" for c in dict.fromkeys(
                 a.command for a in actions)), "", _FOOTER]
    return Notice(package, kind, f"{package}: {what}", "\n".join(lines))


def _shared_notice(kind: str, groups: Sequence[Sequence[Action]]) -> Notice:
    what = TITLES.get(kind, kind)
    packages = tuple(group[0].package for group in groups)
    lines = [marker(ALL, kind), "",
             f"mirrorctl's nightly finds that {len(packages)} packages need a person: {what}. "
             "So many at once usually share one cause (a forge or the network down, a "
             "token expired).", "",
             *_items([f"- **{group[0].package}**: {_code(group[0].detail)}"
                      for group in groups]),
             "",
             f"Next, for one of them: `{groups[0][0].command}`", "", _FOOTER]
    return Notice(ALL, kind, f"{len(packages)} packages: {what}", "\n".join(lines), packages)


_FOOTER = ("<sub>mirrorctl keeps this issue: it updates it while this lasts, closes it when "
           "the nightly no longer finds it, and reopens it if it comes back. Closed as "
           "\"not planned\", it stays closed.</sub>")


@dataclass(frozen=True)
class Step:
    action: Literal["open", "update", "reopen", "close", "close-duplicate"]
    package: str
    kind: str
    notice: Notice | None = None  # what the issue should say (open, update, reopen)
    issue: TrackedIssue | None = None  # the issue it acts on (all but open)
    duplicate_of: TrackedIssue | None = None


def plan_notices(wanted: Sequence[Notice], filed: Sequence[TrackedIssue], *,
                 settled: Callable[[str, str], bool]) -> list[Step]:
    """What to do so that the tracker says what `wanted` says: opens and reopens first
    (in `wanted`'s order), then updates, closes, and duplicates closed. `settled(package,
    kind)`: whether the run established that this need of this package is gone (an issue
    is closed only then)."""
    by_key: dict[tuple[str, str], list[TrackedIssue]] = {}
    for issue in sorted(filed, key=lambda i: i.number):
        if (key := marker_of(issue.body)) is not None:
            by_key.setdefault(key, []).append(issue)
    covered = {(p, n.kind) for n in wanted for p in n.packages}  # inside a shared notice
    first: list[Step] = []
    updates: list[Step] = []
    closes: list[Step] = []
    for notice in wanted:
        issues = by_key.get(notice.key, [])
        opened = [i for i in issues if i.state == "open"]
        if opened:
            keep = opened[0]
            closes += [Step("close-duplicate", *notice.key, issue=i, duplicate_of=keep)
                       for i in opened[1:]]
            if _differs(keep, notice):
                updates.append(Step("update", *notice.key, notice=notice, issue=keep))
        elif issues:
            last = issues[-1]
            if not last.not_planned:  # a person said to leave it closed
                first.append(Step("reopen", *notice.key, notice=notice, issue=last))
        else:
            first.append(Step("open", *notice.key, notice=notice))
    wanted_keys = {n.key for n in wanted}
    for key, issues in by_key.items():
        if key in wanted_keys or key in covered or not settled(*key):
            continue
        closes += [Step("close", *key, issue=i) for i in issues if i.state == "open"]
    return [*first, *updates, *closes]


def _differs(issue: TrackedIssue, notice: Notice) -> bool:
    def same(text: str) -> str:
        return text.replace("\r\n", "\n").strip()

    return same(issue.body) != same(notice.body) or issue.title != notice.title


@dataclass(frozen=True)
class NoticeOutcome:
    step: Step
    url: str = ""
    error: str = ""  # why this step failed, or "deferred: why" when it waits


@dataclass(frozen=True)
class NoticesResult:
    tracker: str
    done: tuple[NoticeOutcome, ...] = ()
    deferred: tuple[NoticeOutcome, ...] = ()  # past the limit or a rate limit
    failed: tuple[NoticeOutcome, ...] = ()
    planned: tuple[NoticeOutcome, ...] = ()  # a dry run: what it would do, nothing done
    dry_run: bool = False
    error: str = ""  # the tracker could not be read: nothing was done
    wanted: int = 0  # notices the run wants open
    unchanged: int = 0  # of which the tracker already says what they say

    @property
    def problems(self) -> tuple[str, ...]:
        """What a person should hear about the notices themselves."""
        if self.error:
            return (f"the notices were not delivered: {self.error}",)
        return tuple(f"notice {o.step.action} for {o.step.package} {o.step.kind} failed: "
                     f"{o.error}" for o in self.failed)


def deliver_notices(actions: Sequence[Action], notices: Notices, tracker: Tracker, *,
                    scope: Callable[[str, str], bool], stamp: str,
                    redact: Callable[[str], str], dry_run: bool = False) -> NoticesResult:
    """Make the tracker say what `actions` say (with `dry_run`, only read it and say what
    would be done). `scope(package, kind)`: whether this run established the package's
    facts of that kind (ALL: whether it covered every package)."""
    wanted = [Notice(n.package, n.kind, redact(n.title), redact(n.body), n.packages)
              for n in notices_from(actions, limit=notices.limit, kinds=notices.kinds)]
    unsettled = {n.package for n in wanted if n.kind in _UNSETTLING}

    def settled(package: str, kind: str) -> bool:
        return scope(package, kind) and (kind in _UNSETTLING or package not in unsettled)

    try:
        filed = tracker.issues(notices.label)
    except ForgeError as exc:
        return NoticesResult(tracker=tracker.url, error=str(exc), wanted=len(wanted))
    steps = plan_notices(wanted, filed, settled=settled)
    if dry_run:
        return NoticesResult(
            tracker=tracker.url, wanted=len(wanted), dry_run=True,
            unchanged=len(wanted) - len({s.notice.key for s in steps if s.notice}),
            planned=tuple(NoticeOutcome(s, url=s.issue.url if s.issue else "")
                          for s in steps[:notices.limit]),
            deferred=tuple(NoticeOutcome(s, error=f"deferred: past the limit of "
                                                  f"{notices.limit} a run")
                           for s in steps[notices.limit:]))
    done, failed, deferred = [], [], []
    stopped = ""
    for number, step in enumerate(steps):
        if stopped or number >= notices.limit:
            deferred.append(NoticeOutcome(step, error=stopped or
                                          f"deferred: past the limit of {notices.limit} a run"))
            continue
        try:
            done.append(NoticeOutcome(step, url=_carry_out(step, tracker, notices, stamp)))
        except RateLimited as exc:
            stopped = f"deferred: {exc}"
            deferred.append(NoticeOutcome(step, error=stopped))
        except LabelDropped as exc:  # every issue it opened would be lost the same way
            failed.append(NoticeOutcome(step, error=str(exc)))
            stopped = "deferred: the tracker drops the notices' label (see above)"
        except ForgeError as exc:
            failed.append(NoticeOutcome(step, error=str(exc)))
    changed = {s.notice.key for s in steps if s.notice is not None}
    return NoticesResult(tracker=tracker.url, done=tuple(done), deferred=tuple(deferred),
                         failed=tuple(failed), wanted=len(wanted),
                         unchanged=sum(1 for n in wanted if n.key not in changed))


class LabelDropped(ForgeError):
    """The tracker opened the issue without its label (GitHub drops labels silently
    when the token may not set them): no later run could find it again."""


def _carry_out(step: Step, tracker: Tracker, notices: Notices, stamp: str) -> str:
    notice, issue = step.notice, step.issue
    if step.action == "open":
        assert notice is not None
        opened = tracker.open(notice.title, notice.body, [notices.label])
        if notices.label not in opened.labels:
            # Unlabelled, the next run would not see it and open another: closed now.
            tracker.comment(opened, f"mirrorctl could not label this issue "
                                    f"`{notices.label}`, by which it finds its notices, so "
                                    "it closes it. The token needs the right to label "
                                    "issues here (triage on GitHub).")
            tracker.close(opened)
            raise LabelDropped(f"{tracker.url} opened {opened.url} without the label "
                               f"{notices.label!r} and mirrorctl closed it: give the token "
                               "the right to label issues (triage on GitHub)")
        return opened.url
    assert issue is not None
    if step.action == "update":
        assert notice is not None
        tracker.edit(issue, title=notice.title, body=notice.body)
    elif step.action == "reopen":
        assert notice is not None
        tracker.reopen(issue)
        if _differs(issue, notice):
            tracker.edit(issue, title=notice.title, body=notice.body)
        tracker.comment(issue, f"Back in the nightly of {stamp_text(stamp)}: "
                               f"{notice.title}.")
    elif step.action == "close":
        tracker.comment(issue, f"Cleared in the nightly of {stamp_text(stamp)}: the nightly "
                               "no longer finds this. Closing; it is reopened if it comes "
                               "back.")
        tracker.close(issue)
    else:
        assert step.duplicate_of is not None
        tracker.comment(issue, f"Duplicate of #{step.duplicate_of.number}: mirrorctl tracks "
                               f"{step.package} {step.kind} there.")
        tracker.close(issue)
    return issue.url


def notice_tracker(notices: Notices, forges: ForgeSettings, pace: Pace) -> Tracker | str:
    """The tracker notices.tracker names, or why it cannot be one."""
    from urllib.parse import urlsplit

    from mirrorctl.upstream.drafts import forge_of
    from mirrorctl.upstream.forges.api import forge_api
    from mirrorctl.upstream.forges.forge import as_forge

    kind, project = forge_of(notices.tracker, forges.apis)
    forge = as_forge(kind)
    if forge is None or project is None:
        return f"notices.tracker {notices.tracker}: not a GitHub or GitLab project page"
    return forge_api(forge, urlsplit(notices.tracker).hostname or "", forges).tracker(
        project, pace)


def notice_scope(report: Report, *, every_package: bool) -> Callable[[str, str], bool]:
    """Whether the report established a package's facts of a kind: of a package it
    holds and does not call unknown; of the run's own (ALL), when it covers every
    package; what the stacks say of any package (a blocker the inventory lacks), when
    the night resolved every stack whole and covers every package."""
    established = {p.name for p in report.packages if p.state != "unknown"}
    stacks = report.stacks
    stacks_known = every_package and stacks is not None and bool(stacks.stamp) \
        and not stacks.unknown and all(r.complete for r in stacks.rows)

    def scope(package: str, kind: str) -> bool:
        if kind.startswith("stack-") and stacks_known:
            return True
        return every_package if package == ALL else package in established
    return scope


def notify(report: Report, notices: Notices, forges: ForgeSettings, *, every_package: bool,
           stamp: str, pace: Pace, redact: Callable[[str], str] | None = None,
           dry_run: bool = False) -> NoticesResult:
    """The report's actions as tracking issues. A package's issues may close only when
    the report established its facts (it is in the report and not unknown);
    `every_package`: the report covers every active package, so shared notices may close
    too."""
    tracker = notice_tracker(notices, forges, pace)
    if isinstance(tracker, str):
        return NoticesResult(tracker=notices.tracker, error=tracker)
    known = Redactor([t for t in (forges.github_token, forges.gitlab_token) if t])
    return deliver_notices(
        report.actions, notices, tracker, stamp=stamp,
        scope=notice_scope(report, every_package=every_package),
        redact=lambda text: known(redact(text) if redact is not None else text),
        dry_run=dry_run)
