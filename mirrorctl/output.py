"""Renderers: domain results to a readable table or to JSON. No domain module prints.

Renderers are picked from RENDERERS by (kind, format); the JSON shapes are public
interfaces (fields are added, never renamed or removed).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mirrorctl.errors import ConfigProblem
from mirrorctl.history import stamp_text
from mirrorctl.redact import Redactor
from mirrorctl.refplan import RefUpdate
from mirrorctl.sync import PackageSync, SyncReport

if TYPE_CHECKING:  # not loaded on the nightly sync's path
    from mirrorctl.demo import DemoSite
    from mirrorctl.drafts import WrittenDraft
    from mirrorctl.nightly import NightlyResult
    from mirrorctl.queues import ApplyReport, ExportReport
    from mirrorctl.rebasing import RebaseReport
    from mirrorctl.releases import ReleaseList
    from mirrorctl.report import Change, PatchRow, Report
    from mirrorctl.standing import Standing
    from mirrorctl.submit import Submission
    from mirrorctl.upgrades import Classification

__all__ = [
    "DemoRun",
    "RedactingFormatter",
    "ValidationResult",
    "render",
]

_REFS_SHOWN = 12  # in the table, per package; JSON always has them all


@dataclass(frozen=True, kw_only=True)
class ValidationResult:
    config: str
    packages: int
    problems: tuple[ConfigProblem, ...]
    patches: int = 0


def _count(n: int, noun: str, plural: str = "") -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {plural or noun + 's'}"


def _short(sha: str | None) -> str:
    return sha[:10] if sha else "-"


def _ref_json(update: RefUpdate) -> dict[str, Any]:
    return {"ref": update.ref, "action": update.action, "old": update.old, "new": update.new,
            "reason": update.reason, "result": update.result, "detail": update.detail,
            "needs_human": update.needs_human}


def _package_json(result: PackageSync) -> dict[str, Any]:
    return {"name": result.name, "status": result.status,
            "refs": [_ref_json(u) for u in result.refs], "error": result.error,
            "fetched": result.fetched, "attempts": result.attempts,
            "warnings": list(result.warnings), "needs_human": result.needs_human}


def _sync_data(report: SyncReport) -> dict[str, Any]:
    counts = Counter(p.status for p in report.packages)
    return {"packages": [_package_json(p) for p in report.packages],
            "summary": {"packages": len(report.packages), **counts}, "dry_run": report.dry_run}


def sync_json(report: SyncReport) -> str:
    return json.dumps(_sync_data(report), indent=2)


def _ref_counts(result: PackageSync) -> str:
    verbs = {"create": "created", "update": "updated", "force": "forced", "delete": "deleted"}
    done = Counter(verbs.get(u.action, u.action) for u in result.refs
                   if u.result in ("pushed", "planned"))
    parts = [f"{n} {verb}" for verb, n in sorted(done.items())]
    for label, n in (("rejected", sum(u.result == "rejected" for u in result.refs)),
                     ("skipped", sum(u.action == "skip" for u in result.refs))):
        if n:
            parts.append(f"{n} {label}")
    return ", ".join(parts)


def _ref_line(update: RefUpdate) -> str:
    arrow = f"{_short(update.old)} -> {_short(update.new)}"
    mark = "!" if update.needs_human else " "
    return f"  {mark} {update.action:<6} {update.ref:<40} {arrow:<24} {update.detail}"


def sync_table(report: SyncReport) -> str:
    width = max([len(p.name) for p in report.packages] + [7])
    lines = []
    for result in report.packages:
        summary = result.error if result.status == "failed" else _ref_counts(result)
        lines.append(f"{result.name:<{width}}  {result.status:<9}  {summary or ''}".rstrip())
        for warning in result.warnings:
            lines.append(f"    warning: {warning}")
        urgent = [u for u in result.refs if u.needs_human]
        rest = [u for u in result.refs if not u.needs_human]
        shown = urgent + rest[:max(0, _REFS_SHOWN - len(urgent))]
        lines += [_ref_line(u) for u in shown]
        if len(result.refs) > len(shown):
            lines.append(f"    ... and {len(result.refs) - len(shown)} more refs "
                         "(--format json lists them all)")
    counts = Counter(p.status for p in report.packages)
    human = sum(1 for p in report.packages for u in p.refs if u.needs_human)
    tally = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    needs = "needs" if human == 1 else "need"
    lines.append(f"{_count(len(report.packages), 'package')}: {tally}"
                 + (f"; {_count(human, 'ref')} {needs} a person (marked !)" if human else ""))
    if report.dry_run:
        lines.append("dry run: nothing was pushed")
    return "\n".join(lines)


def validation_json(result: ValidationResult) -> str:
    return json.dumps({
        "config": result.config, "ok": not result.problems, "packages": result.packages,
        "patches": result.patches,
        "errors": [{"file": p.file, "line": p.line, "path": p.path, "message": p.message}
                   for p in result.problems]}, indent=2)


def validation_table(result: ValidationResult) -> str:
    if result.problems:
        return "\n".join(str(p) for p in result.problems) + \
            f"\n{_count(len(result.problems), 'problem')} in {result.config} or its patch queues"
    return (f"{result.config}: OK, {_count(result.packages, 'package')}, "
            f"{_count(result.patches, 'patch', 'patches')} in the queues")


@dataclass(frozen=True, kw_only=True)
class DemoRun:
    site: DemoSite
    changes: tuple[str, ...]
    first: SyncReport
    nightly: NightlyResult
    report: Path
    html: Path | None = None  # the same report as a page, with the trend chart
    program: str = "mirrorctl"  # how to invoke mirrorctl again, for the closing hints


def demo_json(run: DemoRun) -> str:
    return json.dumps({"dir": str(run.site.root), "config": str(run.site.config),
                       "workdir": str(run.site.workdir), "upstream_changes": list(run.changes),
                       "first_sync": _sync_data(run.first),
                       "nightly": json.loads(nightly_json(run.nightly)),
                       "report": str(run.report),
                       "html": str(run.html) if run.html else None}, indent=2)


def demo_table(run: DemoRun) -> str:
    return "\n".join([
        f"mirrorctl demo: a sandbox in {run.site.root}", "",
        "1. First sync: the mirrors receive upstream's branches and release tags;",
        "   their own riscv64/* branches stay as they are.", "",
        sync_table(run.first), "",
        "2. Meanwhile upstream:",
        *(f"   - {change}" for change in run.changes), "",
        "3. The nightly: sync, new releases, the riscv64 queues carried onto them, the",
        "   upstreaming report, and what needs a person:", "",
        nightly_table(run.nightly), "",
        f"The report: {run.report}" + (f" (and as a page: {run.html})" if run.html else ""),
        "Try it yourself (mirrors.yaml, patchsets/ and the work directory are there):",
        f"   cd {run.site.root}",
        f"   {run.program} classify",
        f"   {run.program} rebase scipy --worktree /tmp/scipy-rebase   # resolve the conflict",
        f"   {run.program} upstream draft numpy",
        f"   {run.program} ci generate             # the nightly as a GitLab CI pipeline",
        f"   {run.program} sync numpy --force-tags   # follow the re-tagged release",
    ])


def _apply_data(report: ApplyReport) -> dict[str, Any]:
    return {
        "package": report.package, "version": report.version, "tag": report.tag,
        "branch": report.branch, "commit": report.commit, "previous": report.previous,
        "patches": [{"patch": a.patch.name, "commit": a.commit, "subject": a.patch.subject,
                     "files": list(a.patch.files), "upstream_status": str(a.patch.status)}
                    for a in report.patches],
        "push": {"result": report.push, "detail": report.push_detail},
    }


def apply_table(report: ApplyReport) -> str:
    moved = "unchanged" if report.previous == report.commit else (
        f"was {_short(report.previous)}" if report.previous else "new")
    lines = [f"{report.package} {report.version}: "
             f"{_count(len(report.patches), 'patch', 'patches')} applied on {report.tag} -> "
             f"{report.branch.removeprefix('refs/heads/')} at {_short(report.commit)} ({moved})"]
    width = max(len(a.patch.name) for a in report.patches)
    lines += [f"  {a.patch.name:<{width}}  {_short(a.commit)}  {a.patch.status}"
              for a in report.patches]
    if report.push != "not-pushed":
        lines.append(f"mirror: {report.push}" + (f" ({report.push_detail})"
                                                 if report.push_detail else ""))
    return "\n".join(lines)


def _export_data(report: ExportReport) -> dict[str, Any]:
    return {"package": report.package, "version": report.version, "tag": report.tag,
            "branch": report.branch, "patchset": str(report.directory),
            "patches": list(report.patches), "changed": report.changed}


def export_table(report: ExportReport) -> str:
    state = "written" if report.changed else "unchanged: no byte differs"
    lines = [f"{report.package} {report.version}: "
             f"{_count(len(report.patches), 'patch', 'patches')} from {report.branch} since "
             f"{report.tag} -> {report.directory} ({state})"]
    return "\n".join(lines + [f"  {name}" for name in report.patches])


def _rebase_data(report: RebaseReport) -> dict[str, Any]:
    return {
        "package": report.package, "from": report.from_version, "to": report.to_version,
        "onto": report.onto, "status": report.status, "patchset": str(report.patchset),
        "written": report.written,
        "patches": [{"patch": o.patch.name, "outcome": o.outcome, "files": list(o.files),
                     "upstream_commit": o.upstream_commit, "detail": o.detail,
                     "upstream_status": str(o.patch.status), "commit": o.commit,
                     "conflicts": [{"path": c.path, "hunks": c.hunks} for c in o.conflicts]}
                    for o in report.result.outcomes],
        "range_diff": report.range_diff,
        "worktree": str(report.worktree) if report.worktree else None,
        "waiting_patch": report.waiting_patch,
        "push": {"branch": report.branch, "result": report.push, "detail": report.push_detail}
        if report.push else None,
        "merge_request": report.merge_request,
    }


def rebase_table(report: RebaseReport) -> str:
    outcomes = report.result.outcomes
    tally: Counter[str] = Counter(o.outcome for o in outcomes)
    order = ("applied", "merged", "upstreamed", "conflict")
    lines = [f"{report.package} {report.from_version} -> {report.to_version} ({report.onto}): "
             f"{report.status}; " + ", ".join(f"{tally[k]} {k}" for k in order if tally[k])]
    width = max([len(o.patch.name) for o in outcomes] + [10])
    for o in outcomes:
        detail = o.detail
        if o.upstream_commit:
            detail = f"upstream {_short(o.upstream_commit)}: {detail}"
        lines.append(f"  {o.outcome:<10}  {o.patch.name:<{width}}  {detail}")
        for conflict in o.conflicts:
            lines.append(f"      {conflict.path}:")
            lines += [f"        {line}" for line in conflict.hunks.splitlines()]
    if report.written == "not-written":
        lines.append(f"{report.patchset}: not written (a patch conflicts; --keep-partial "
                     "writes the others)")
    elif report.written == "nothing-to-carry":
        lines.append(f"{report.patchset}: not written: every patch is upstream, nothing is "
                     "left to carry")
    else:
        lines.append(f"{report.patchset}: {report.written}")
    if report.push:
        lines.append(f"mirror {report.branch}: {report.push} ({report.push_detail})")
    if report.merge_request:
        lines.append(f"mirror merge request {report.merge_request_action}: "
                     f"{report.merge_request}")
    if report.worktree and report.waiting_patch:
        lines.append(f"{report.waiting_patch} waits in {report.worktree}: resolve the "
                     f"conflicts, `git add` the files, then run `mirrorctl rebase "
                     f"{report.package} --continue`")
    if report.range_diff:
        lines += ["", "range-diff (old queue -> new queue):", report.range_diff.rstrip()]
    return "\n".join(lines)


def _releases_data(found: list[ReleaseList]) -> dict[str, Any]:
    return {"packages": [
        {"name": r.name, "current": r.current, "latest": r.latest, "new": list(r.new),
         "tags": dict(r.tags), "can_retire": r.can_retire, "retire_detail": r.retire_detail,
         "skipped": r.skipped, "flags": list(r.flags), "pypi_latest": r.pypi_latest,
         "pypi_error": r.pypi_error, "problems": list(r.problems)} for r in found]}


def releases_json(found: list[ReleaseList]) -> str:
    return json.dumps(_releases_data(found), indent=2)


def releases_table(found: list[ReleaseList]) -> str:
    width = max([len(r.name) for r in found] + [7])
    lines = [f"{'PACKAGE':<{width}}  {'CURRENT':<10}  {'LATEST':<10}  NEW"]
    for r in found:
        new = " ".join(r.new) + (f" (+{r.skipped} older)" if r.skipped else "") or "-"
        lines.append(f"{r.name:<{width}}  {r.current or '-':<10}  {r.latest or '-':<10}  {new}")
        notes = list(r.problems)
        if r.pypi_error:
            notes.append(f"PyPI: {r.pypi_error}")
        notes += r.flags
        if r.can_retire:
            notes.append(f"can retire: {r.retire_detail}")
        lines += [f"{'':<{width}}  ! {note}" for note in notes]
    upgrades = sum(1 for r in found if r.new)
    lines.append(f"{_count(len(found), 'package')}: {upgrades} with new releases")
    return "\n".join(lines)


def classify_json(found: list[Classification]) -> str:
    return json.dumps({"packages": [
        {"name": c.name, "from": c.from_version, "to": c.to_version, "onto": c.onto,
         "level": c.grade.level if c.grade else None,
         "reasons": [{"code": r.code, "detail": r.detail} for r in c.grade.reasons]
         if c.grade else [],
         "pinned": bool(c.grade and c.grade.pinned), "error": c.error} for c in found]},
        indent=2)


def _upgrade(c: Classification) -> str:
    return f"{c.from_version or '-'} -> {c.to_version or '-'}"


def classify_text(found: list[Classification]) -> str:
    lines = []
    for c in found:
        if c.grade is None:
            lines.append(f"{c.name}: failed ({c.error})")
        else:
            main = c.grade.main_reason
            lines.append(f"{c.name} {_upgrade(c)}: {c.grade.level} ({main.code}: {main.detail})")
    return "\n".join(lines)


def classify_table(found: list[Classification]) -> str:
    width = max([len(c.name) for c in found] + [7])
    lines = [f"{'PACKAGE':<{width}}  {'UPGRADE':<20}  {'GRADE':<6}  REASONS"]
    for c in found:
        if c.grade is None:
            lines.append(f"{c.name:<{width}}  {'':<20}  {'failed':<6}  {c.error}")
            continue
        reasons = [f"{r.code}: {r.detail}" for r in c.grade.reasons]
        lines.append(f"{c.name:<{width}}  {_upgrade(c):<20}  {c.grade.level:<6}  {reasons[0]}")
        lines += [f"{'':<{width}}  {'':<20}  {'':<6}  {r}" for r in reasons[1:]]
    tally = Counter(c.grade.level if c.grade else "failed" for c in found)
    order = ("easy", "medium", "hard", "failed")
    lines.append(f"{_count(len(found), 'package')}: "
                 + ", ".join(f"{tally[k]} {k}" for k in order if tally[k]))
    return "\n".join(lines)


def drafts_json(written: list[WrittenDraft]) -> str:
    return json.dumps({"drafts": [
        {"patch": w.draft.patch.name, "kind": w.draft.kind, "path": str(w.path),
         "title": w.draft.title, "status": w.status, "why": w.draft.why,
         "labels": list(w.draft.labels)} for w in written]}, indent=2)


def drafts_table(written: list[WrittenDraft]) -> str:
    if not written:
        return "no patch is Pending or To upstream: nothing to draft"
    lines = [f"{w.draft.kind:<5}  {w.status:<9}  {w.path}\n       {w.draft.title}"
             + ("\n       (edited since it was written; --force replaces it)"
                if w.status == "kept" else "") for w in written]
    lines.append(f"{_count(len(written), 'draft')}; nothing was sent upstream")
    return "\n".join(lines)


def standing_json(found: list[Standing]) -> str:
    return json.dumps({"patches": [
        {"package": s.package, "patch": s.patch.name, "status": str(s.patch.status),
         "url": s.url, "verdict": s.verdict, "detail": s.detail, "new_status": s.new_status,
         "written": s.written} for s in found]}, indent=2)


def standing_table(found: list[Standing]) -> str:
    if not found:
        return "no patch is Submitted or Issue: nothing to ask upstream"
    lines = []
    for s in found:
        lines.append(f"{s.package}  {s.patch.name}  {s.verdict}  {s.url}")
        if s.detail:
            lines.append(f"    {s.detail}")
        if s.new_status:
            done = "written" if s.written else "--write to rewrite the header"
            lines.append(f"    -> Upstream-Status: {s.new_status} ({done})")
    tally = Counter(s.verdict for s in found)
    lines.append(f"{_count(len(found), 'patch', 'patches')} asked: "
                 + ", ".join(f"{n} {v}" for v, n in sorted(tally.items())))
    return "\n".join(lines)


def submit_json(done: Submission) -> str:
    return json.dumps({"draft": str(done.draft), "kind": done.kind, "title": done.title,
                       "status": done.status, "url": done.url, "header": done.header,
                       "duplicates": [{"url": f.url, "title": f.title} for f in done.duplicates]},
                      indent=2)


def submit_table(done: Submission) -> str:
    if done.status == "submitted":
        return (f"opened {done.url}\n  {done.title}\n"
                f"the patch now says Upstream-Status: {done.header}")
    lines = ["not opened: upstream has open items that look like this one:"]
    lines += [f"  {f.url}  {f.title}" for f in done.duplicates]
    lines.append("read them first; if this is really new, run again with --force")
    return "\n".join(lines)


def rebase_markdown(report: RebaseReport) -> str:
    """The rebase report as a merge request description."""
    outcomes = report.result.outcomes
    lines = [f"**{report.package} {report.from_version} → {report.to_version}** "
             f"(`{report.onto}`): {report.status}", "",
             "| patch | outcome | detail |", "|---|---|---|"]
    for o in outcomes:
        detail = o.detail + (f" (upstream {o.upstream_commit[:12]})" if o.upstream_commit
                             else "")
        lines.append(f"| `{o.patch.name}` | {o.outcome} | {detail} |")
    if report.grade is not None:
        lines += ["", f"### Grade: {report.grade.level}", ""]
        lines += [f"- `{r.code}`: {r.detail}" for r in report.grade.reasons]
    if report.range_diff:
        lines += ["", "### Range-diff", "", "```", report.range_diff.rstrip(), "```"]
    lines += ["", f"The queue: `{report.patchset.name}` under patchsets/{report.package}/. "
                  "Made by `mirrorctl rebase --push --open-mr`."]
    return "\n".join(lines)


def _status_link(patch: PatchRow) -> str:
    argument = patch.argument or ""
    if argument.startswith(("https://", "http://")):
        return f"{patch.status} [{argument}]({argument})"
    return patch.header


def _changes(title: str, changes: Sequence[Change], since: str | None) -> list[str]:
    if since is None:
        return []
    lines = ["", f"## {title} since {stamp_text(since)}", ""]
    return lines + ([f"- {c.package}: `{c.patch}`: {c.detail}" for c in changes] or ["none"])


def report_markdown(report: Report) -> str:
    lines = ["# riscv64 upstreaming report", "", report.summary, "",
             "| package | mirrored | upstream latest | grade | main reason |",
             "|---|---|---|---|---|"]
    for p in report.packages:
        main = p.grade.main_reason if p.grade else None
        reason = f"{main.code}: {main.detail}" if main else "; ".join(p.problems) or "-"
        lines.append(f"| {p.name} | {p.current or '-'} | {p.latest or '-'} | "
                     f"{p.grade.level if p.grade else '-'} | {reason.replace('|', '/')} |")
    if report.conflicts:
        lines += ["", "## Conflicts waiting for a person", ""]
        lines += [f"- {c.package}: `{c.patch}` {c.detail}" for c in report.conflicts]
    lines += _changes("Accepted upstream", report.accepted, report.since)
    lines += _changes("Dropped", report.dropped, report.since)
    for p in report.packages:
        if not p.patches and not p.problems:
            continue
        lines += ["", f"## {p.name} {p.current or ''}".rstrip(), ""]
        lines += [f"- `{patch.name}`: {_status_link(patch)}"
                  + (f" ({patch.outcome} on {p.latest})" if patch.outcome else "")
                  for patch in p.patches]
        lines += [f"- problem: {problem}" for problem in p.problems]
    return "\n".join(lines) + "\n"


def report_json(report: Report) -> str:
    return json.dumps(_report_data(report), indent=2)


def report_html(report: Report) -> str:
    from mirrorctl.htmlreport import render_html

    return render_html(report)


def _change_data(changes: Sequence[Change]) -> list[dict[str, str]]:
    return [{"package": c.package, "patch": c.patch, "detail": c.detail} for c in changes]


def _report_data(report: Report) -> dict[str, Any]:
    counts = report.counts
    return {
        "summary": {"patches": sum(counts.values()), "by_status": dict(sorted(counts.items())),
                    "line": report.summary},
        "packages": [{
            "name": p.name, "current": p.current, "latest": p.latest,
            "level": p.grade.level if p.grade else None,
            "pinned": p.grade.pinned if p.grade else False,
            "reasons": [{"code": r.code, "detail": r.detail} for r in p.grade.reasons]
            if p.grade else [],
            "patches": [{"patch": patch.name, "status": patch.status,
                         "argument": patch.argument, "outcome": patch.outcome}
                        for patch in p.patches],
            "problems": list(p.problems)} for p in report.packages],
        "since": report.since,
        "accepted": _change_data(report.accepted),
        "dropped": _change_data(report.dropped),
        "conflicts": _change_data(report.conflicts),
        "trend": [{"stamp": t.stamp, "pending": t.pending, "submitted": t.submitted,
                   "accepted": t.accepted} for t in report.trend]}


def nightly_json(result: NightlyResult) -> str:
    return json.dumps({
        "sync": _sync_data(result.sync), "releases": _releases_data(list(result.releases)),
        "rebases": [_rebase_data(r) for r in result.rebases],
        "rebase_errors": [{"package": n, "error": e} for n, e in result.rebase_errors],
        "report": _report_data(result.report), "needs_human": list(result.needs_human),
        "history": str(result.history)}, indent=2)


def nightly_table(result: NightlyResult) -> str:
    parts = ["== sync ==", sync_table(result.sync), "", "== new releases ==",
             releases_table(list(result.releases))]
    if result.rebases or result.rebase_errors:
        parts += ["", "== rebases =="]
        parts += [rebase_table(r) for r in result.rebases]
        parts += [f"{name}: rebase failed: {error}" for name, error in result.rebase_errors]
    parts += ["", "== upstreaming ==", result.report.summary, ""]
    if result.needs_human:
        parts.append(f"== needs a person ({len(result.needs_human)}) ==")
        parts += [f"- {need}" for need in result.needs_human]
    else:
        parts.append("nothing needs a person")
    parts.append(f"history: {result.history}")
    return "\n".join(parts)


RENDERERS: dict[tuple[str, str], Callable[[Any], str]] = {
    ("sync", "table"): sync_table,
    ("sync", "json"): sync_json,
    ("validate", "table"): validation_table,
    ("validate", "json"): validation_json,
    ("apply", "table"): apply_table,
    ("apply", "json"): lambda report: json.dumps(_apply_data(report), indent=2),
    ("export", "table"): export_table,
    ("export", "json"): lambda report: json.dumps(_export_data(report), indent=2),
    ("rebase", "table"): rebase_table,
    ("rebase", "json"): lambda report: json.dumps(_rebase_data(report), indent=2),
    ("rebase", "md"): rebase_markdown,
    ("releases", "table"): releases_table,
    ("releases", "json"): releases_json,
    ("classify", "table"): classify_table,
    ("classify", "text"): classify_text,
    ("classify", "json"): classify_json,
    ("drafts", "table"): drafts_table,
    ("drafts", "json"): drafts_json,
    ("standing", "table"): standing_table,
    ("standing", "json"): standing_json,
    ("submit", "table"): submit_table,
    ("submit", "json"): submit_json,
    ("report", "md"): report_markdown,
    ("report", "json"): report_json,
    ("report", "html"): report_html,
    ("nightly", "table"): nightly_table,
    ("nightly", "json"): nightly_json,
    ("demo", "table"): demo_table,
    ("demo", "json"): demo_json,
}


def render(kind: str, fmt: str, result: Any) -> str:
    return RENDERERS[(kind, fmt)](result)


class RedactingFormatter(logging.Formatter):
    def __init__(self, redactor: Redactor, fmt: str) -> None:
        super().__init__(fmt)
        self._redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self._redactor(super().format(record))
