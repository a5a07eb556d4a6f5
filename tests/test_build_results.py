"""The builds of an upgrade in its grade: results read from GitHub Actions (jobs, JUnit
artifacts) and GitLab CI (jobs, the pipeline's test report) of the upgrade's branch,
compared with the current release's kept results, through `mirrorctl classify`."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from mirrorctl.upstream.forges.results import python_of
from testbed.fakepulls import pull_forge
from tests.test_upgrade_request import BRANCH, Wheels, tokens, wheels_site

__all__ = ["tokens"]  # the fixture, used by name

NAN = ("<testcase classname='demo.tests.test_math' name='test_nan_sign'>"
       "<failure message='AssertionError: assert not signbit(nan)'/></testcase>")
PASSED = "<testcase classname='demo.tests.test_math' name='test_add'/>"
REGRESSION = ("<testcase classname='demo.tests.test_math' name='test_add'>"
              "<failure message='assert 3 == 4'/></testcase>")


def junit_zip(*cases: str) -> bytes:
    report = f"<testsuites><testsuite name='pytest'>{''.join(cases)}</testsuite></testsuites>"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("junit/results.xml", report)
        archive.writestr("junit/coverage.xml", "<coverage/>")  # XML, but no JUnit report
    return buffer.getvalue()


def kept(site: Wheels, version: str, cases: list[dict[str, str]]) -> None:
    """Results of `version` as an earlier classify kept them."""
    path = site.workdir / "results" / "demo" / f"{version}.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"version": version, "source": "", "builds": [
        {"python": "3.12", "built": True, "tested": True, "cases": cases},
        {"python": "3.14t", "built": True, "tested": False, "cases": []}]}))


def classify(run_cli, site: Wheels) -> tuple[int, dict]:  # type: ignore[no-untyped-def,type-arg]
    assert run_cli(*site.args("sync")).code == 0
    result = run_cli(*site.args("classify", "--format", "json"))
    [package] = json.loads(result.out)["packages"]
    return result.code, package


def test_python_of_job_and_report_names() -> None:
    assert python_of("Build numpy 2.5.2 cp312-manylinux_riscv64") == "3.12"
    assert python_of("build: [cp314t]") == "3.14t"
    assert python_of("test (3.13, riscv64)") == "3.13"
    assert python_of("docs") is None and python_of("release 1.3.12") is None


def test_github_runs_grade_the_upgrade(run_cli, tmp_path: Path, tokens: None) -> None:
    with pull_forge() as forge:
        site = wheels_site(tmp_path, forge)
        code, before = classify(run_cli, site)
        assert code == 0
        assert [r["code"] for r in before["reasons"]][-1:] != ["new-test-failures"]
        assert "not-built-yet" in [r["code"] for r in before["reasons"]]  # no run yet

        kept(site, "1.0.0", [{"name": "demo.tests.test_math.test_nan_sign",
                              "outcome": "passed"},
                             {"name": "demo.tests.test_math.test_add", "outcome": "passed"}])
        forge.runs.append({
            "id": 7, "head_branch": BRANCH, "status": "completed", "conclusion": "failure",
            "html_url": "https://github.com/rise/python-wheels/actions/runs/7",
            "jobs": [{"name": "Build demo 1.1.0 cp312-manylinux_riscv64",
                      "conclusion": "failure"},
                     {"name": "Build demo 1.1.0 cp314t-manylinux_riscv64",
                      "conclusion": "failure"}],
            "artifacts": {"junit-cp312": junit_zip(NAN, PASSED)}})
        forge.runs.append({"id": 8, "head_branch": BRANCH, "status": "in_progress",
                           "jobs": [], "artifacts": {}})  # a newer run, not finished
        code, graded = classify(run_cli, site)
    assert code == 0
    reasons = {r["code"]: r["detail"] for r in graded["reasons"]}
    assert graded["level"] == "hard"
    assert "did not build for Python 3.14t" in reasons["build-failed"]
    assert "demo.tests.test_math.test_nan_sign (3.12)" in reasons["nan-test-failures"]
    assert "since 1.0.0" in reasons["nan-test-failures"]
    assert "new-test-failures" not in reasons  # test_add passes, as before
    kept_now = json.loads((site.workdir / "results" / "demo" / "1.1.0.json").read_text())
    assert kept_now["source"].endswith("/actions/runs/7")

    # The report shows the builds a Python at a time, and its JSON merges back whole.
    with pull_forge() as again:
        again.runs.extend(forge.runs)
        site.config.write_text(site.config.read_text().replace(forge.url, again.url))
        report = run_cli(*site.args("report", "--format", "json"))
        markdown = run_cli(*site.args("report", "--format", "md"))
    [package] = json.loads(report.out)["packages"]
    assert package["builds"]["source"].endswith("/actions/runs/7")
    assert package["builds"]["pythons"] == [
        {"python": "3.12", "built": True, "tested": True, "passed": 1, "failed": 1,
         "skipped": 0},
        {"python": "3.14t", "built": False, "tested": False, "passed": 0, "failed": 0,
         "skipped": 0}]
    assert "| 3.12: 1 passed, 1 failed; 3.14t: not built |" in markdown.out
    results = tmp_path / "merge"
    results.mkdir()
    (results / "demo.json").write_text(report.out)
    merged = run_cli(*site.args("report", "--merge", str(results), "--format", "json"))
    assert json.loads(merged.out)["packages"][0]["builds"] == package["builds"]


def test_gitlab_pipeline_test_report_grades_the_upgrade(run_cli, tmp_path: Path,
                                                        tokens: None) -> None:
    with pull_forge() as forge:
        site = wheels_site(tmp_path, forge, gitlab=True)
        kept(site, "1.0.0", [{"name": "demo.tests.test_math.test_add", "outcome": "passed"}])
        forge.pipelines.append({
            "id": 31, "ref": BRANCH, "status": "failed", "sha": "0" * 40,
            "web_url": "https://gitlab.example.org/rise/python-wheels/-/pipelines/31",
            "jobs": [{"id": 1, "name": "build: [cp312]", "status": "failed"},
                     {"id": 2, "name": "build: [cp314t]", "status": "success"}],
            "test_suites": [{"name": "build: [cp312]", "test_cases": [
                {"status": "failed", "name": "test_add", "classname": "demo.tests.test_math",
                 "system_output": "assert 3 == 4"}]}]})
        code, graded = classify(run_cli, site)
        # Read once: the next classify asks for the pipelines, not their jobs or report.
        forge.requests.clear()
        _, again = classify(run_cli, site)
        assert not [r for r in forge.requests if r.endswith(("/jobs", "/test_report"))]
        assert again["reasons"] == graded["reasons"]
    reasons = {r["code"]: r["detail"] for r in graded["reasons"]}
    assert code == 0 and graded["level"] == "hard"
    assert "demo.tests.test_math.test_add (3.12, unknown)" in reasons["new-test-failures"]
    assert "build-failed" not in reasons  # 3.12 ran its tests, 3.14t built


def test_unreadable_results_leave_the_grade_to_the_sources(
        run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIRRORCTL_GITHUB_TOKEN", "gh-wrong-token-000000")
    with pull_forge() as forge:
        site = wheels_site(tmp_path, forge)
        code, graded = classify(run_cli, site)
    reasons = {r["code"]: r["detail"] for r in graded["reasons"]}
    assert code == 0 and "could not be read" in reasons["not-built-yet"]
    assert "authentication failed" in reasons["not-built-yet"]
    assert graded["level"] in ("easy", "medium")  # what the sources say


def test_the_pull_request_shows_what_its_builds_say(run_cli, tmp_path: Path,
                                                    tokens: None) -> None:
    from tests.test_upgrade_request import fresh, night

    with pull_forge() as forge:
        site = wheels_site(tmp_path, forge)
        code, data = night(run_cli, site)
        assert code == 0, data["needs_human"]
        [pull] = forge.pulls
        assert "`not-built-yet`" in pull["body"]
        # Their builds ran on the branch: the next night's delivery says what they found.
        kept(site, "1.0.0", [{"name": "demo.tests.test_math.test_nan_sign",
                              "outcome": "passed"}])
        forge.runs.append({
            "id": 9, "head_branch": BRANCH, "status": "completed", "conclusion": "failure",
            "html_url": "https://github.com/rise/python-wheels/actions/runs/9",
            "jobs": [{"name": "cp312", "conclusion": "failure"}],
            "artifacts": {"junit-cp312": junit_zip(NAN)}})
        fresh(site)
        body = pull["body"]
        code, data = night(run_cli, site)
        assert data["rebases"][0]["pull_request"]["action"] == "updated"
        # The body stays as written (an edit would re-dispatch the builds); what they
        # found is in mirrorctl's one comment, and in the label.
        assert pull["body"] == body
        [(on, comment)] = forge.comments
        assert on == pull["number"]
        assert "`nan-test-failures`" in comment and "`not-built-yet`" not in comment
        assert [x["name"] for x in pull["labels"]] == ["mirrorctl: hard"]


def test_failure_rules_are_checked_where_they_are_written(run_cli, tmp_path: Path) -> None:
    from tests.gitrepos import write_config

    for rules, said in (({"nann": ["x"]}, "did you mean nan"),
                        ({"nan": ["(unclosed"]}, "is no regular expression"),
                        ({"timing": "slow"}, "must be a list of regular expressions")):
        config = write_config(tmp_path / "mirrors.yaml", {"demo": {
            "upstream": "https://github.com/demo/demo.git", "failure_rules": rules}},
            allowed_protocols=["https"])
        result = run_cli("--config", str(config), "validate")
        assert result.code == 2 and "packages.demo.failure_rules" in result.out, result.out
        assert said in result.out


NAN_PATCH = ("TST: skip the NaN sign test on riscv64\n\nThe sign of a NaN is lost.\n\n"
             "Upstream-Status: To upstream",
             {"tests/test_nan.py": "import pytest\n@pytest.mark.skip(reason='signbit of nan "
                                   "is lost on riscv64')\ndef test_nan_copysign(): pass\n"})
MESON_314T = ("<testsuites><testsuite name='demo'><testsuite name='math'>{}</testsuite>"
              "</testsuite></testsuites>")
OLD_FAILING = ("<testcase classname='demo.tests.test_math' name='test_old'>"
               "<failure message='assert 1 == 2'/></testcase>")
OLD_PASSING = "<testcase classname='demo.tests.test_math' name='test_old'/>"


def meson_zip(*cases: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("meson-logs/testlog.junit.xml", MESON_314T.format("".join(cases)))
    return buffer.getvalue()


# (scenario, jobs' conclusions, artifacts, expected level, reason codes, builds column)
SCENARIOS = [
    ("canonical NaN failures only", {"cp312": "failure", "cp314t": "success"},
     {"junit-cp312": junit_zip(NAN, PASSED, OLD_FAILING),
      "junit-cp314t": meson_zip(PASSED)}, "medium",
     {"nan-test-failures-covered", "nan-tests-patched-checked"},
     "3.12: 1 passed, 2 failed; 3.14t: 1 passed, 0 failed"),
    ("a real regression", {"cp312": "failure", "cp314t": "success"},
     {"junit-cp312": junit_zip(REGRESSION, OLD_FAILING), "junit-cp314t": meson_zip(PASSED)},
     "hard", {"new-test-failures"}, "3.12: 0 passed, 2 failed; 3.14t: 1 passed, 0 failed"),
    ("3.14t alone does not build", {"cp312": "success", "cp314t": "failure"},
     {"junit-cp312": junit_zip(PASSED, OLD_FAILING)}, "hard", {"build-failed"},
     "3.12: 1 passed, 1 failed; 3.14t: not built"),
    ("a test fixed", {"cp312": "success", "cp314t": "success"},
     {"junit-cp312": junit_zip(PASSED, OLD_PASSING), "junit-cp314t": meson_zip(PASSED)},
     "easy", {"built-and-tested", "tests-fixed", "nan-tests-patched-checked"},
     "3.12: 2 passed, 0 failed; 3.14t: 1 passed, 0 failed"),
]


@pytest.mark.parametrize(("scenario", "jobs", "artifacts", "level", "codes", "column"),
                         SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_four_releases_as_their_builds_went(run_cli, tmp_path: Path, tokens: None,
                                            scenario: str, jobs: dict[str, str],
                                            artifacts: dict[str, bytes], level: str,
                                            codes: set[str], column: str) -> None:
    with pull_forge() as forge:
        site = wheels_site(tmp_path, forge, patches=(NAN_PATCH,))
        path = site.workdir / "results" / "demo" / "1.0.0.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({"version": "1.0.0", "source": "", "builds": [
            {"python": "3.12", "built": True, "tested": True, "cases": [
                {"name": "demo.tests.test_math.test_add", "outcome": "passed"},
                {"name": "demo.tests.test_math.test_nan_sign", "outcome": "passed"},
                {"name": "demo.tests.test_math.test_old", "outcome": "failed"}]},
            {"python": "3.14t", "built": True, "tested": True, "cases": [
                {"name": "math.test_add", "outcome": "passed"}]}]}))
        forge.runs.append({
            "id": 11, "head_branch": BRANCH, "status": "completed",
            "html_url": "https://github.com/rise/python-wheels/actions/runs/11",
            "jobs": [{"name": f"Build demo 1.1.0 {py}-manylinux_riscv64", "conclusion": c}
                     for py, c in jobs.items()], "artifacts": artifacts})
        code, graded = classify(run_cli, site)
        report = json.loads(run_cli(*site.args("report", "--format", "json")).out)
        markdown = run_cli(*site.args("report", "--format", "md")).out
    reasons = {r["code"]: r["detail"] for r in graded["reasons"]}
    assert code == 0 and graded["level"] == level, (scenario, reasons)
    assert codes <= set(reasons), (scenario, reasons)
    assert report["packages"][0]["level"] == level  # the report grades as classify does
    assert f"| {column} |" in markdown, markdown


def test_a_run_already_read_is_not_downloaded_again_but_a_rerun_is(run_cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                   tokens: None) -> None:
    with pull_forge() as forge:
        site = wheels_site(tmp_path, forge)
        run = {"id": 7, "run_attempt": 1, "updated_at": "2026-11-26T03:00:00Z",
               "head_branch": BRANCH, "status": "completed", "conclusion": "success",
               "html_url": "https://github.com/rise/python-wheels/actions/runs/7",
               "jobs": [{"name": "Build demo 1.1.0 cp312-manylinux_riscv64",
                         "conclusion": "success"}],
               "artifacts": {"junit-cp312": junit_zip(PASSED)}}
        forge.runs.append(run)
        classify(run_cli, site)
        downloads = [r for r in forge.requests if "/download/" in r or r.endswith("/jobs")]
        assert len(downloads) == 2  # the jobs, the one artifact

        forge.requests.clear()
        _, again = classify(run_cli, site)
        read = [r for r in forge.requests if "/actions/" in r or "/download/" in r]
        # The upgrade's runs (found on mirrorctl's branch), and the current release's
        # (none kept, none found on its branch nor their bot's): no jobs, no artifact
        # downloaded again.
        assert read == ["GET /repos/rise/python-wheels/actions/runs"] * 3
        assert "built-and-tested" in [r["code"] for r in again["reasons"]]

        # A re-run of the same run (a new attempt) fails: it is read again.
        run.update(run_attempt=2, updated_at="2026-11-26T05:00:00Z", conclusion="failure",
                   artifacts={"junit-cp312": junit_zip(REGRESSION)})
        forge.requests.clear()
        _, rerun = classify(run_cli, site)
        assert any("/download/" in r for r in forge.requests)
        assert "new-test-failures" in [r["code"] for r in rerun["reasons"]]
        kept_now = json.loads((site.workdir / "results" / "demo" / "1.1.0.json").read_text())
        assert kept_now["run"] == "7/2/2026-11-26T05:00:00Z"
