"""The builds' results in the grade: JUnit reports read with junitparser, the release
compared with the previous one per Python version, new failures told apart."""

from __future__ import annotations

import pytest

from mirrorctl.core.grades import default_levels
from mirrorctl.grade.builds import (
    Build,
    Case,
    Results,
    build_reasons,
    classify_failure,
    compare,
    failure_rules,
    junit_cases,
)

# What pytest writes (--junitxml), in the shape of numpy's test suite.
PYTEST = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="1" failures="2" skipped="1" tests="5">
<testcase classname="numpy._core.tests.test_umath.TestSign" name="test_sign_nan" time="0.01">
  <failure message="AssertionError: assert not np.signbit(nan)">E   assert False</failure>
</testcase>
<testcase classname="numpy._core.tests.test_umath.TestLog" name="test_log_values" time="0.02"/>
<testcase classname="numpy.linalg.tests.test_linalg.TestSolve" name="test_solve" time="0.3">
  <failure message="AssertionError: Arrays are not almost equal to 7 decimals"/>
</testcase>
<testcase classname="numpy.f2py.tests.test_compile" name="test_f2py" time="0">
  <skipped message="no Fortran compiler"/>
</testcase>
<testcase classname="numpy._core.tests.test_mem_policy" name="test_thread_locality" time="60">
  <error message="Failed: Timeout &gt;60.0s"/>
</testcase>
</testsuite></testsuites>"""

# What meson test writes: nested suites, names without a class.
MESON = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="2" errors="0" failures="1">
 <testsuite name="scipy" tests="2" errors="0" failures="1" skipped="0" time="3.1">
  <testsuite name="special" tests="2">
   <testcase name="test_copysign_nan_payload" classname="special"><failure/></testcase>
   <testcase name="test_gamma" classname="special"/>
  </testsuite>
 </testsuite>
</testsuites>"""


def test_junit_reports_of_pytest_and_meson_are_read() -> None:
    cases = {c.name: c for c in junit_cases(PYTEST)}
    assert {n: c.outcome for n, c in cases.items()} == {
        "numpy._core.tests.test_umath.TestSign.test_sign_nan": "failed",
        "numpy._core.tests.test_umath.TestLog.test_log_values": "passed",
        "numpy.linalg.tests.test_linalg.TestSolve.test_solve": "failed",
        "numpy.f2py.tests.test_compile.test_f2py": "skipped",
        "numpy._core.tests.test_mem_policy.test_thread_locality": "error"}
    assert "signbit" in cases["numpy._core.tests.test_umath.TestSign.test_sign_nan"].message
    meson = {c.name: c.outcome for c in junit_cases(MESON.encode())}
    assert meson == {"special.test_copysign_nan_payload": "failed",
                     "special.test_gamma": "passed"}
    with pytest.raises(ValueError, match="not JUnit XML"):
        junit_cases("<html><body>502 Bad Gateway</body></html")


@pytest.mark.parametrize(("test", "message", "kind"), [
    ("test_sign_nan", "AssertionError: assert not np.signbit(nan)", "nan"),
    ("test_copysign", "Items are not equal: ACTUAL: -nan DESIRED: nan", "nan"),
    ("test_float_repr", "AssertionError: 0x7ff8000000000001 != 0x7ff8000000000000", "nan"),
    ("test_half_conversion", "mismatch at 0x7fc00001 after round trip", "nan"),
    ("TestIsNaN.test_payload", "", "nan"),
    ("test_canonical_nan_bits", "", "nan"),
    ("test_thread_locality", "Failed: Timeout >60.0s", "timing"),
    ("test_sort_perf", "took 12.1 s", "timing"),
    ("test_fast_path", "hypothesis.errors.DeadlineExceeded: Test took 912ms", "timing"),
    ("test_blas", "ImportError: libopenblas.so.0: cannot open shared object file",
     "missing-library"),
    ("test_ssl", "ModuleNotFoundError: No module named '_ssl'", "missing-library"),
    ("test_solve", "Arrays are not almost equal to 7 decimals", "unknown"),
    ("test_finance_rates", "assert 1.05 == 1.06", "unknown"),  # "nan" inside a word
    ("test_performance_counter", "", "timing"),
])
def test_failures_are_told_apart(test: str, message: str, kind: str) -> None:
    assert classify_failure(test, message, failure_rules()) == kind


def test_a_packages_own_rules_come_first() -> None:
    rules = failure_rules({"nan": ["test_solve"]})
    assert classify_failure("test_solve", "Arrays are not almost equal", rules) == "nan"
    assert classify_failure("test_solve", "Arrays are not almost equal", failure_rules()) \
        == "unknown"


def cases(**outcomes: str) -> tuple[Case, ...]:
    return tuple(Case(name, outcome, "signbit(nan)" if "nan" in name else "")  # type: ignore[arg-type]
                 for name, outcome in outcomes.items())


OLD = Results("2.2.0", (
    Build("3.12", True, cases(test_a="passed", test_nan_sign="passed", test_b="failed"),
          tested=True),
    Build("3.14t", True, cases(test_a="passed"), tested=True)))


def test_a_release_compared_with_the_previous_one_per_python() -> None:
    new = Results("2.3.0", (
        Build("3.12", True, cases(test_a="failed", test_nan_sign="failed", test_b="passed"),
              tested=True),
        Build("3.13", True),  # built, no test report read
        Build("3.14t", False)))  # built before, not now
    found = compare(new, OLD, failure_rules())
    assert (found.previous, found.not_built, found.no_longer_built, found.untested) == (
        "2.2.0", ("3.14t",), ("3.14t",), ("3.13",))
    assert [(f.python, f.test, f.kind) for f in found.new_failures] == [
        ("3.12", "test_a", "unknown"), ("3.12", "test_nan_sign", "nan")]
    assert found.fixed == (("3.12", "test_b"),)
    reasons = {r.code: r.detail for r in build_reasons(found, nan_patched=True)}
    # A real regression beside the NaN failure: the NaN failures are not "covered".
    assert set(reasons) == {"build-failed", "new-test-failures", "nan-test-failures",
                            "tests-fixed"}
    assert "3.14t (built for 3.14t before)" in reasons["build-failed"]
    assert "since 2.2.0" in reasons["new-test-failures"]
    levels = default_levels()
    assert [levels[c] for c in ("build-failed", "new-test-failures", "nan-test-failures",
                                "tests-fixed")] == ["hard", "hard", "hard", "easy"]


def test_nan_failures_alone_are_medium_when_the_queue_skips_their_family() -> None:
    new = Results("2.3.0", (Build("3.12", True, cases(test_a="passed", test_nan_sign="failed",
                                                        test_b="failed"), tested=True),
                            Build("3.14t", True, cases(test_a="passed"), tested=True)))
    found = compare(new, OLD, failure_rules())
    assert [f.test for f in found.new_failures] == ["test_nan_sign"]  # test_b failed before
    covered = [r.code for r in build_reasons(found, nan_patched=True)]
    assert covered == ["nan-test-failures-covered"]
    assert default_levels()["nan-test-failures-covered"] == "medium"
    assert [r.code for r in build_reasons(found, nan_patched=False)] == ["nan-test-failures"]


def test_without_results_the_grade_is_the_sources() -> None:
    [reason] = build_reasons(None, nan_patched=False)
    assert reason.code == "not-built-yet" and default_levels()["not-built-yet"] == "easy"
    first = compare(Results("1.0", (Build("3.12", True, cases(test_a="failed"),
                                          tested=True),)), None, failure_rules())
    [failure] = first.new_failures
    assert failure.test == "test_a"
    [why] = build_reasons(first, nan_patched=False)
    assert "no results of the previous release" in why.detail
