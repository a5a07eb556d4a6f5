"""The upstreaming report: per package, the mirrored version against upstream's latest,
the grade of the upgrade, and where every patch stands; over all, one summary line in
the manner of Yocto's patch metrics ("37 patches: 12 submitted, 9 pending, ...").

Against the last record of the nightly's history (history.py): the patches upstream
accepted since, the patches dropped from the queues since, and the trend of pending,
submitted and accepted patches. Data only; output.py renders it as markdown or JSON,
htmlreport.py as one self-contained page.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args
from urllib.parse import quote, urlsplit

from mirrorctl.core.config import Config, Package
from mirrorctl.core.errors import MirrorctlError, UsageError
from mirrorctl.core.git import GitRunner
from mirrorctl.core.grades import LEVELS, Grade, Reason
from mirrorctl.core.needs import next_command
from mirrorctl.core.progress import SILENT, Progress
from mirrorctl.core.urls import forge_kind, tree_url, web_url
from mirrorctl.grade.builds import BuildSummary, kept_results, summary
from mirrorctl.grade.classify import (
    BuildReasons,
    ClassifyOptions,
    classify_package,
    grade_rebase,
)
from mirrorctl.queue.engine import Outcome
from mirrorctl.queue.folders import current_version, queue_versions
from mirrorctl.queue.patches import PatchFile, queue_statuses, read_queue
from mirrorctl.report.debt import DebtReport, PatchAge, patch_debt
from mirrorctl.report.history import (
    Record,
    RecordedPackage,
    TrendPoint,
    read_history,
    save_record,
)

if TYPE_CHECKING:
    from mirrorctl.queue.carry import RebaseReport

__all__ = [
    "LAST_REPORT",
    "WORST_FIRST",
    "Action",
    "Change",
    "PackageReport",
    "PatchRow",
    "Report",
    "assemble",
    "build_report",
    "merged_packages",
    "merged_run_actions",
    "package_actions",
    "package_links",
    "package_reports",
    "packages_from_json",
    "queue_debt",
    "report_from_json",
    "summary_line",
    "write_record",
]

log = logging.getLogger(__name__)

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

    @property
    def header(self) -> str:
        return self.status + (f" [{self.argument}]" if self.argument else "")

    @property
    def accepted(self) -> bool:
        """Upstream has it: a Backport, or a rebase found it in the latest release."""
        return self.status == "Backport" or self.outcome == "upstreamed"


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
# The kinds package_actions finds in a package's own report.
_PACKAGE_ACTION_KINDS = ("unknown", "conflict", *_BUILD_ACTIONS)


@dataclass(frozen=True)
class Action:
    """Something that needs a person, with the command to run next."""

    package: str
    kind: str
    detail: str
    command: str


def package_actions(package: PackageReport) -> list[Action]:
    """What a package's report says needs a person: an unknown state, a conflict, a
    build that failed or tests that newly fail."""
    name = package.name
    actions = []
    if package.state == "unknown":
        actions.append(Action(name, "unknown", "; ".join(package.problems),
                              next_command("unknown", name)))
    actions += [Action(name, "conflict", f"{p.name} conflicts on {package.latest}",
                       next_command("conflict", name))
                for p in package.patches if p.outcome == "conflict"]
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

    @property
    def counts(self) -> Counter[str]:
        return Counter(p.status for package in self.packages for p in package.patches)

    @property
    def actions(self) -> tuple[Action, ...]:
        """Everything that needs a person, the run's first, each once."""
        told = {a.package for a in self.run_actions}  # the run said why it is unknown
        found = [*self.run_actions, *(a for p in self.packages for a in package_actions(p)
                                      if not (a.kind == "unknown" and a.package in told))]
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
        return tuple(Change(p.name, patch.name, f"conflicts on {p.latest}")
                     for p in self.packages for patch in p.patches
                     if patch.outcome == "conflict")


def summary_line(counts: Counter[str]) -> str:
    total = sum(counts.values())
    parts = [f"{counts[kind]} {label}" for kind, label in _SUMMARY if counts[kind]]
    noun = "patch" if total == 1 else "patches"
    return f"{total} {noun}: " + ", ".join(parts) if parts else "0 patches"


def build_report(config: Config, packages: Sequence[Package], *, workdir: Path,
                 runner: GitRunner, stamp: str,
                 rebased: Mapping[str, RebaseReport] | None = None,
                 progress: Progress = SILENT, builds: BuildReasons | None = None) -> Report:
    """The report now, against the history so far. `rebased`: rebases just made (by the
    nightly), whose outcomes grade their packages instead of a second rebase dry run.
    `builds`: what the upgrades' builds say, for their grades (who can ask the forges)."""
    history = read_history(workdir)
    return replace(assemble(package_reports(config, packages, workdir=workdir,
                                            runner=runner, rebased=rebased,
                                            progress=progress, builds=builds),
                            history, stamp=stamp),
                   debt=queue_debt(config, packages, history))


def queue_debt(config: Config, packages: Sequence[Package],
               history: Sequence[Record]) -> DebtReport:
    """Patch debt of these packages: every queue folder they keep, and the history."""
    queues: dict[str, dict[str, dict[str, str]]] = {}
    current: dict[str, str | None] = {}
    for package in packages:
        current[package.name] = current_version(config, package)
        for version in queue_versions(config.patchsets, package.name):
            # Names and statuses only: every folder kept, every night (their diffs are
            # the business of whoever applies them).
            queues.setdefault(package.name, {})[version] = queue_statuses(
                config.patchsets, package.name, version)
    records = [(r.stamp, {name: (p.patches, p.accepted) for name, p in r.packages.items()})
               for r in history]
    return patch_debt(queues, records, current)


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
    for name, header in before.patches.items():
        patch = now.get(_NUMBER.sub("", name))
        if patch is None:
            if name not in before.accepted:  # one accepted earlier has since left the queue
                dropped.append(Change(package.name, name, f"was {header}"))
        elif patch.accepted and name not in before.accepted:
            how = (f"upstream {package.latest} has it" if patch.outcome == "upstreamed"
                   else f"now {patch.header}")
            accepted.append(Change(package.name, patch.name, how))


def package_reports(config: Config, packages: Sequence[Package], *, workdir: Path,
                    runner: GitRunner, rebased: Mapping[str, RebaseReport] | None = None,
                    progress: Progress = SILENT,
                    builds: BuildReasons | None = None) -> tuple[PackageReport, ...]:
    progress.stage("grade", [p.name for p in packages])

    def one(package: Package) -> PackageReport:
        progress.start(package.name)
        found = replace(_package(config, package, workdir, runner,
                                 (rebased or {}).get(package.name), builds),
                        sync=sync_health(workdir, package))
        progress.finish(found.name, found.grade.level if found.grade else "no grade",
                        "; ".join(found.problems))
        return found

    # Each package waits on git (and on the forges for its builds): `jobs` at once, as
    # classify does; the order stays the packages'.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, config.jobs)) as pool:
        return tuple(pool.map(one, packages))


def _package(config: Config, package: Package, workdir: Path, runner: GitRunner,
             rebased: RebaseReport | None, builds: BuildReasons | None) -> PackageReport:
    """One package as classify sees it, or, when this run rebased it, as the rebase left it:
    the old queue's patches with their outcomes, and the new queue current once written."""
    if rebased is not None:
        return _rebased_package(config, package, workdir, runner, rebased, builds)
    current = current_version(config, package)
    problems: list[str] = []
    patches: tuple[PatchFile, ...] = ()
    if current is not None:
        queue, found = read_queue(config.patchsets, package.name, current)
        patches = queue.patches if queue.directory.is_dir() else ()
        problems += [str(p) for p in found] if queue.directory.is_dir() else []
    grade, latest, outcomes = None, current, {}
    try:
        graded = classify_package(config, package,
                                  ClassifyOptions(workdir=workdir, builds=builds), runner)
        grade, latest = graded.grade, graded.to_version
        outcomes = {o.patch.name: o.outcome for o in graded.outcomes}
    except MirrorctlError as exc:  # no cache, no version: the report says so and goes on
        problems.append(str(exc))
        latest = None  # what upstream has is not known
    return PackageReport(name=package.name, current=current, latest=latest, grade=grade,
                         patches=_rows(patches, outcomes), problems=tuple(problems),
                         links=package_links(config, package, current, latest),
                         **_builds(workdir, package.name, latest))


def _rebased_package(config: Config, package: Package, workdir: Path, runner: GitRunner,
                     rebased: RebaseReport, builds: BuildReasons | None) -> PackageReport:
    problems: list[str] = []
    grade = None
    try:
        grade = grade_rebase(config, package, rebased, workdir=workdir, runner=runner,
                             builds=builds)
    except MirrorctlError as exc:
        problems.append(str(exc))
    carried = rebased.written in ("written", "unchanged", "nothing-to-carry")
    outcomes = {o.patch.name: o.outcome for o in rebased.result.outcomes}
    current = rebased.to_version if carried else rebased.from_version
    return PackageReport(name=package.name, current=current, latest=rebased.to_version,
                         grade=grade,
                         patches=_rows([o.patch for o in rebased.result.outcomes], outcomes),
                         problems=tuple(problems),
                         links=package_links(config, package, current, rebased.to_version,
                                             pull_request=rebased.pull_request),
                         **_builds(workdir, package.name, rebased.to_version))


def package_links(config: Config, package: Package, current: str | None,
                  latest: str | None, *, pull_request: str | None = None,
                  ) -> tuple[tuple[str, str], ...]:
    """Where a person sees what a package's row names: its queue folder (on the
    repository's forge when pull_requests says where, else its path beside mirrors.yaml),
    the upgrade's pull request (or the search that finds it), the mirror's branch,
    upstream's latest release."""
    links: list[tuple[str, str]] = []
    site, apis = config.pull_requests, config.forge_apis
    if current is not None:
        try:
            folder = (config.patchsets / package.name / current).resolve().relative_to(
                config.path.resolve().parent).as_posix()
        except ValueError:
            folder = None
        page = tree_url(site.repository, site.base, folder, apis) if site and folder else None
        if page or folder:
            links.append(("queue", page or folder or ""))
    if site is not None and latest is not None and latest != current:
        branch = site.branch.format(name=package.name, version=latest)
        search = (f"{site.repository}/-/merge_requests?source_branch={quote(branch)}"
                  if forge_kind(urlsplit(site.repository).hostname or "", apis) == "gitlab" else
                  f"{site.repository}/pulls?q={quote(f'is:pr head:{branch}')}")
        links.append(("upgrade", pull_request or search))
    mirror = package.mirror_web and current is not None and tree_url(
        package.mirror_web, f"riscv64/{current}", apis=apis)
    if mirror:
        links.append(("mirror", mirror))
    upstream = web_url(package.upstream)
    try:  # a link is never worth a package's report
        release = upstream and latest is not None and tree_url(
            upstream, package.tag_format.tag_for(latest), apis=apis)
    except ValueError:
        release = None
    if release:
        links.append(("upstream", release))
    return tuple(links)


def sync_health(workdir: Path, package: Package) -> str:
    """How the last sync of the package's upstream went, as its record keeps it."""
    from mirrorctl.sync.standing import sync_standing

    return sync_standing(workdir, package).health


def _builds(workdir: Path, name: str, version: str | None) -> dict[str, Any]:
    kept = kept_results(workdir, name, version)
    if kept is None:
        return {}
    return {"builds": tuple(summary(b) for b in kept.builds), "builds_source": kept.source}


def _rows(patches: Sequence[PatchFile], outcomes: Mapping[str, Outcome]) -> tuple[PatchRow, ...]:
    return tuple(PatchRow(name=p.name, status=p.status.kind, argument=p.status.argument,
                          outcome=outcomes.get(p.name)) for p in patches)


def write_record(workdir: Path, stamp: str, report: Report, needs_human: Sequence[str]) -> Path:
    """Keep this run in the history: what the next report compares against."""
    counts = report.counts
    point = report.trend[-1]
    return save_record(workdir, stamp, {
        "summary": report.summary,
        "by_status": dict(sorted(counts.items())), "needs_human": len(needs_human),
        "trend": {"pending": point.pending, "submitted": point.submitted,
                  "accepted": point.accepted},
        "packages": {p.name: {
            "current": p.current, "latest": p.latest,
            "level": p.grade.level if p.grade else None,
            "builds": [asdict(b) for b in p.builds] if p.builds is not None else None,
            "patches": {patch.name: patch.header for patch in p.patches},
            "accepted": sorted(patch.name for patch in p.patches if patch.accepted),
            "conflicts": sorted(patch.name for patch in p.patches
                                if patch.outcome == "conflict")}
            for p in report.packages}})


def merged_packages(directory: Path, expected: Sequence[Package] = (),
                    ) -> tuple[PackageReport, ...]:
    """The packages of every JSON result in `directory` (one file a CI job), by name; an
    `expected` package without a result is reported as such, and so is one whose result
    cannot be read (truncated, not JSON): named after its file, the others go on."""
    files = sorted(directory.glob("*.json"))
    if not files:
        raise UsageError(f"{directory}: no *.json results to merge; the package jobs write "
                         "them with `mirrorctl nightly PACKAGE --format json > DIR/PACKAGE.json`")
    found: dict[str, PackageReport] = {}
    source: dict[str, Path] = {}
    for path in files:
        try:
            read = packages_from_json(path.read_text(encoding="utf-8"), str(path))
        except (OSError, UnicodeDecodeError, UsageError) as exc:
            log.warning("%s: this result cannot be read, its package is unknown: %s", path, exc)
            read = (PackageReport(name=path.stem, current=None, latest=None, grade=None,
                                  patches=(), problems=(f"its result {path} cannot be read: "
                                                        f"{exc}",)),)
        for package in read:
            if package.name in found:
                raise UsageError(f"{path}: {package.name} is reported in "
                                 f"{source[package.name]} too; merge one result a package")
            found[package.name], source[package.name] = package, path
    for p in expected:
        found.setdefault(p.name, PackageReport(
            name=p.name, current=p.version, latest=None, grade=None, patches=(),
            problems=(f"no result in {directory}: its CI job failed before writing one; "
                      "see that job's log",)))
    return tuple(found[name] for name in sorted(found))


def merged_run_actions(directory: Path) -> tuple[Action, ...]:
    """What the runs whose JSON results are in `directory` found needs a person beyond
    their packages' reports (a failed sync, a refused push, ...): merged reports keep
    them, for their action list and notices. A result that cannot be read gives none
    (merged_packages names it)."""
    found: list[Action] = []
    for path in sorted(directory.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            data = data.get("report", data)
            found += [Action(str(a["package"]), str(a["kind"]), str(a["detail"]),
                             str(a["command"])) for a in data.get("actions", ())
                      if a["kind"] not in _PACKAGE_ACTION_KINDS]
        except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError,
                AttributeError):
            continue
    return tuple(dict.fromkeys(found))


LAST_REPORT = "last-report.json"  # in <workdir>: the newest nightly's own report, whole


def report_from_json(text: str, source: str) -> Report:
    """The report a `--format json` output holds, whole (`report --last` shows the
    nightly's own report again, as it found it, rather than computing another)."""
    packages = packages_from_json(text, source)
    try:
        data = json.loads(text)
        data = data.get("report", data)
        debt = data.get("debt")
        return Report(
            packages=packages, since=data.get("since"),
            accepted=tuple(Change(str(c["package"]), str(c["patch"]), str(c["detail"]))
                           for c in data.get("accepted", ())),
            dropped=tuple(Change(str(c["package"]), str(c["patch"]), str(c["detail"]))
                          for c in data.get("dropped", ())),
            trend=tuple(TrendPoint(str(t["stamp"]), int(t["pending"]), int(t["submitted"]),
                                   int(t["accepted"])) for t in data.get("trend", ())),
            run_actions=tuple(Action(str(a["package"]), str(a["kind"]), str(a["detail"]),
                                     str(a["command"])) for a in data.get("actions", ())
                              if a["kind"] not in _PACKAGE_ACTION_KINDS),
            debt=None if not isinstance(debt, dict) else _debt_from_json(debt))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise UsageError(f"{source}: not the JSON output of `mirrorctl report` or "
                         f"`mirrorctl nightly` ({type(exc).__name__}: {exc})") from None


def _debt_from_json(data: Mapping[str, Any]) -> DebtReport:
    def ages(key: str) -> tuple[PatchAge, ...]:
        return tuple(PatchAge(str(a["package"]), str(a["patch"]), str(a["status"]),
                              str(a["entered"]), int(a["releases"]), str(a["status_since"]))
                     for a in data.get(key, ()))

    return DebtReport(patches=ages("patches"), oldest_pending=ages("oldest_pending"),
                      most_carried=ages("most_carried"),
                      upstreamed_days=tuple((str(u["package"]), str(u["patch"]),
                                             float(u["days"]))
                                            for u in data.get("upstreamed", ())))


def packages_from_json(text: str, source: str) -> tuple[PackageReport, ...]:
    """The packages of a report or nightly JSON output (`--format json`), for merging
    the results of one CI job a package into one report."""
    try:
        data = json.loads(text)
        if isinstance(data, dict) and "report" in data:  # nightly output
            data = data["report"]
        return tuple(_package_from_json(p) for p in data["packages"])
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise UsageError(f"{source}: not the JSON output of `mirrorctl report` or "
                         f"`mirrorctl nightly` ({type(exc).__name__}: {exc})") from None


def _package_from_json(data: Mapping[str, Any]) -> PackageReport:
    level = data["level"]
    if level is not None and level not in LEVELS:
        raise ValueError(f"unknown level {level!r} for {data['name']}")
    grade = None if level is None else Grade(
        level=level, pinned=bool(data.get("pinned", False)),
        reasons=tuple(Reason(str(r["code"]), str(r["detail"])) for r in data["reasons"]))
    patches = []
    for p in data["patches"]:
        outcome = p.get("outcome")
        if outcome not in (None, *get_args(Outcome)):
            raise ValueError(f"unknown outcome {outcome!r} for {p['patch']}")
        patches.append(PatchRow(name=str(p["patch"]), status=str(p["status"]),
                                argument=p.get("argument"), outcome=outcome))
    builds = data.get("builds")  # older results have none
    summaries = None if not isinstance(builds, dict) else tuple(
        BuildSummary(str(b["python"]), bool(b["built"]), bool(b["tested"]),
                     int(b.get("passed", 0)), int(b.get("failed", 0)), int(b.get("skipped", 0)))
        for b in builds["pythons"])
    return PackageReport(name=str(data["name"]), current=data["current"],
                         latest=data["latest"], grade=grade, patches=tuple(patches),
                         problems=tuple(str(x) for x in data.get("problems", ())),
                         builds=summaries, builds_source=str((builds or {}).get("source") or ""),
                         sync=str(data.get("sync") or ""),
                         links=tuple((str(k), str(v)) for k, v in
                                     (data.get("links") or {}).items()))
