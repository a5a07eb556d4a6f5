"""The builds' results of a branch, as the forges read them from where they ran
(ForgeApi.read_results): the newest finished GitHub Actions run of the branch (its
jobs, and the JUnit XML its artifacts hold), or the newest finished GitLab pipeline of
the branch (its jobs and its test report).

Which Python a job or a report is for comes from its name (cp312, cp314t, 3.14t). A
job that failed but left a test report built (its tests failed, not its build).
"""

from __future__ import annotations

import io
import re
import zipfile

from mirrorctl.grade.builds import Build, Case, Results, junit_cases

__all__ = ["MAX_ARTIFACT", "assemble_results", "junit_in_zip", "python_of"]

_CPYTHON = re.compile(r"cp3(\d{1,2})(t?)(?![\d])")
_DOTTED = re.compile(r"(?<![\d.])3\.(\d{1,2})(t?)(?![\d.])")
MAX_ARTIFACT = 50 * 1024 * 1024  # a JUnit archive larger than this is not read


def python_of(name: str) -> str | None:
    """The Python a job or report name is for: cp312 -> 3.12, cp314t -> 3.14t."""
    match = _CPYTHON.search(name) or _DOTTED.search(name)
    return f"3.{int(match.group(1))}{match.group(2)}" if match else None


def junit_in_zip(archive: bytes) -> list[Case]:
    cases: list[Case] = []
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
            for member in zipped.infolist():
                if member.filename.endswith(".xml") and member.file_size <= MAX_ARTIFACT:
                    try:
                        cases += junit_cases(zipped.read(member))
                    except ValueError:
                        continue  # an XML file that is no JUnit report
    except zipfile.BadZipFile:
        return []
    return cases


def assemble_results(version: str, built: dict[str, bool], reports: dict[str, list[Case]],
             source: str, run: str) -> Results:
    pythons = sorted(built.keys() | reports.keys(), key=_python_order)
    return Results(version=version, source=source, run=run, builds=tuple(
        # Tests that ran mean the wheel was built, whatever the job's verdict.
        Build(python, built.get(python, False) or python in reports,
              tuple(reports.get(python, ())), tested=python in reports)
        for python in pythons))


def _python_order(python: str) -> tuple[int, str]:
    return int(python.removeprefix("3.").rstrip("t")), python
