"""The builds' own results, read back into the grade: per Python version, whether the
release built and how its tests went, compared with the previous release's, and each
new failure told apart (canonical NaN, timing, a missing library, unknown).

Pure: results come in as data (JUnit XML read with junitparser, or what a forge's test
report says) and reasons go out. Where results come from is the edge (the forges).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

from mirrorctl.core.grades import Reason
from mirrorctl.core.keptfile import KeptFile, KeptFileError
from mirrorctl.core.sections import FAILURE_CLASSES

__all__ = [
    "RESULTS_FILE",
    "Build",
    "BuildSummary",
    "Case",
    "Comparison",
    "Failure",
    "Results",
    "build_reasons",
    "classify_failure",
    "compare",
    "failure_rules",
    "junit_cases",
    "keep_results",
    "kept_results",
    "summary",
]

Outcome = Literal["passed", "failed", "error", "skipped"]


@dataclass(frozen=True)
class Case:
    name: str  # classname.name, as the report shows it
    outcome: Outcome
    message: str = ""

    @property
    def failed(self) -> bool:
        return self.outcome in ("failed", "error")


@dataclass(frozen=True)
class Build:
    python: str  # "3.12", "3.14t"
    built: bool
    cases: tuple[Case, ...] = ()  # empty: no test report (not that no test ran)
    tested: bool = False  # a test report was read


@dataclass(frozen=True)
class Results:
    version: str
    builds: tuple[Build, ...]
    source: str = ""  # where they were read (a workflow run, a pipeline)
    # Which run, attempt and update they are (the forge's words): a later read of the
    # same run need not download it again.
    run: str = ""

    def build(self, python: str) -> Build | None:
        return next((b for b in self.builds if b.python == python), None)


@dataclass(frozen=True)
class Failure:
    python: str
    test: str
    message: str
    kind: str  # nan | timing | missing-library | unknown


@dataclass(frozen=True)
class Comparison:
    version: str
    previous: str | None  # the release compared with; None: none had results
    not_built: tuple[str, ...] = ()  # Pythons the release did not build for
    no_longer_built: tuple[str, ...] = ()  # ... which the previous release built for
    new_failures: tuple[Failure, ...] = ()  # failing now, passing (or absent) before
    fixed: tuple[tuple[str, str], ...] = ()  # (python, test) failing before, passing now
    untested: tuple[str, ...] = field(default=())  # built, but no test report was read
    pythons: tuple[str, ...] = ()  # every Python the release's builds are for


def junit_cases(xml: bytes | str) -> list[Case]:
    """The test cases of a JUnit XML report (pytest's, meson's, ...), nested suites
    included. Raises ValueError when it is no JUnit XML."""
    from junitparser import JUnitXml, TestCase, TestSuite  # only when results are read
    from junitparser.junitparser import Error, Skipped
    from junitparser.junitparser import Failure as JFailure

    text = xml.encode() if isinstance(xml, str) else xml
    try:
        root = JUnitXml.fromstring(text)
    except Exception as exc:  # lxml or ElementTree: both raise their own
        raise ValueError(f"not JUnit XML: {exc}") from None

    def walk(node: Any) -> Iterator[Case]:
        for item in node:
            if isinstance(item, TestCase):
                yield _case(item, JFailure, Error, Skipped)
            elif isinstance(item, TestSuite):
                yield from walk(item)
    return list(walk(root))


def _case(item: Any, failure: type, error: type, skipped: type) -> Case:
    name = ".".join(part for part in (item.classname, item.name) if part)
    results = list(item.result)
    outcome: Outcome = "passed"
    message = ""
    for result in results:
        if isinstance(result, error):
            outcome = "error"
        elif isinstance(result, failure):
            outcome = "failed"
        elif isinstance(result, skipped):
            outcome = "skipped" if outcome == "passed" else outcome
        message = message or str(result.message or result.text or "")
    return Case(name=name, outcome=outcome, message=message.strip()[:500])


@cache
def _shipped_rules() -> tuple[tuple[str, tuple[re.Pattern[str], ...]], ...]:
    path = Path(__file__).resolve().parent.parent / "core" / "failures.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return tuple((kind, tuple(re.compile(p, re.I) for p in data.get(kind, ())))
                 for kind in FAILURE_CLASSES)


def failure_rules(extra: Mapping[str, Sequence[str]] | None = None,
                  ) -> tuple[tuple[str, tuple[re.Pattern[str], ...]], ...]:
    """The failure classes with their patterns: a package's own (`failure_rules:`)
    before the shipped ones (core/failures.yaml)."""
    if not extra:
        return _shipped_rules()
    own = tuple((kind, tuple(re.compile(p, re.I) for p in extra.get(kind, ())))
                for kind in FAILURE_CLASSES)
    return own + _shipped_rules()


def classify_failure(test: str, message: str,
                     rules: Iterable[tuple[str, tuple[re.Pattern[str], ...]]]) -> str:
    """The class of a failure: the first whose pattern matches its name or message."""
    for kind, patterns in rules:
        if any(p.search(test) or p.search(message) for p in patterns):
            return kind
    return "unknown"


def compare(new: Results, old: Results | None,
            rules: Iterable[tuple[str, tuple[re.Pattern[str], ...]]]) -> Comparison:
    """What changed from `old` (the previous release's results) to `new`, per Python."""
    rules = tuple(rules)
    not_built, no_longer, untested = [], [], []
    failures: list[Failure] = []
    fixed: list[tuple[str, str]] = []
    for build in new.builds:
        before = old.build(build.python) if old is not None else None
        if not build.built:
            not_built.append(build.python)
            if before is not None and before.built:
                no_longer.append(build.python)
            continue
        if not build.tested:
            untested.append(build.python)
            continue
        failed_before = {c.name for c in before.cases if c.failed} if before else set()
        for case in build.cases:
            if case.failed and case.name not in failed_before:
                failures.append(Failure(build.python, case.name, case.message,
                                        classify_failure(case.name, case.message, rules)))
        if before is not None and before.tested:
            now = {c.name: c for c in build.cases}
            fixed += [(build.python, name) for name in sorted(failed_before)
                      if name in now and now[name].outcome == "passed"]
    return Comparison(version=new.version, previous=old.version if old else None,
                      not_built=tuple(not_built), no_longer_built=tuple(no_longer),
                      new_failures=tuple(failures), fixed=tuple(fixed),
                      untested=tuple(untested), pythons=tuple(b.python for b in new.builds))


def build_reasons(comparison: Comparison | None, *, nan_patched: bool) -> list[Reason]:
    """The grade's reasons from the builds. `nan_patched`: the queue already carries a
    patch about NaN tests (their family is covered, so NaN-only failures are medium)."""
    if comparison is None:
        return [Reason("not-built-yet", "no build results of this release yet: the grade "
                                        "is what the sources say")]
    reasons = []
    if comparison.not_built:
        lost = f" (built for {', '.join(comparison.no_longer_built)} before)" \
            if comparison.no_longer_built else ""
        reasons.append(Reason("build-failed", "did not build for Python "
                              + ", ".join(comparison.not_built) + lost))
    failures = comparison.new_failures
    nan = [f for f in failures if f.kind == "nan"]
    others = [f for f in failures if f.kind != "nan"]
    since = f"since {comparison.previous}" if comparison.previous else \
        "(no results of the previous release to compare with)"
    if others:
        reasons.append(Reason("new-test-failures", f"{len(others)} new failure(s) {since}: "
                              + _listed(others)))
    if nan:
        code = "nan-test-failures-covered" if nan_patched and not others else \
            "nan-test-failures"
        reasons.append(Reason(code, f"{len(nan)} canonical-NaN failure(s) {since}: "
                              + _listed(nan)))
    if not reasons:
        built = [b for b in comparison.pythons if b not in comparison.untested]
        reasons.append(Reason("built-and-tested", "built for Python " + ", ".join(
            comparison.pythons) + (f", tested on {', '.join(built)}" if built else "")
            + f"; no new failures {since}"))
    if comparison.fixed:
        reasons.append(Reason("tests-fixed", f"{len(comparison.fixed)} test(s) pass again: "
                              + ", ".join(f"{t} ({p})" for p, t in comparison.fixed[:5])
                              + (" ..." if len(comparison.fixed) > 5 else "")))
    return reasons


def _listed(failures: Sequence[Failure], limit: int = 5) -> str:
    shown = [f"{f.test} ({f.python}, {f.kind})" if f.kind not in ("nan",) else
             f"{f.test} ({f.python})" for f in failures[:limit]]
    return ", ".join(shown) + (f" and {len(failures) - limit} more"
                               if len(failures) > limit else "")


def _results_path(workdir: Path, package: str, version: str) -> Path:
    return workdir / "results" / package / f"{version}.json"


def keep_results(workdir: Path, package: str, results: Results) -> None:
    """Keep a release's results (<workdir>/results/<package>/<version>.json), whole."""
    RESULTS_FILE.write(_results_path(workdir, package, results.version), results)


def kept_results(workdir: Path, package: str, version: str | None) -> Results | None:
    """The results kept for a release; None when none were read (or cannot be read)."""
    if version is None:
        return None
    try:
        return RESULTS_FILE.read(_results_path(workdir, package, version))
    except KeptFileError:
        # As if not read yet: the next grade reads them again from the builds' runs, and
        # the report shows no builds meanwhile, never builds that passed.
        return None


def _results_from_json(data: dict[str, Any]) -> Results:
    return Results(version=str(data["version"]), source=str(data.get("source", "")),
                   run=str(data.get("run", "")),
                   builds=tuple(Build(
                       python=str(b["python"]), built=bool(b["built"]),
                       tested=bool(b.get("tested")),
                       cases=tuple(Case(str(c["name"]), c["outcome"], str(c.get("message", "")))
                                   for c in b.get("cases", ())))
                       for b in data["builds"]))


# Kept before they said their format: format 1, the same shape.
RESULTS_FILE = KeptFile[Results](what="the builds' results, kept", format=1, unformatted=1,
                                 encode=asdict, decode=_results_from_json)


@dataclass(frozen=True)
class BuildSummary:
    """A build in a few numbers, for the report and the history."""

    python: str
    built: bool
    tested: bool
    passed: int = 0
    failed: int = 0  # failures and errors
    skipped: int = 0

    @property
    def text(self) -> str:
        said = ("not built" if not self.built else
                f"{self.passed} passed, {self.failed} failed" if self.tested
                else "built, no test report")
        return f"{self.python}: {said}"


def summary(build: Build) -> BuildSummary:
    counted = {o: sum(1 for c in build.cases if c.outcome == o)
               for o in ("passed", "failed", "error", "skipped")}
    return BuildSummary(build.python, build.built, build.tested, counted["passed"],
                        counted["failed"] + counted["error"], counted["skipped"])
