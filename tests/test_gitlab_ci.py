"""The generated pipeline, run for real by gitlab-ci-local in shell-executor mode."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import CliResult
from tests.gitrepos import Repo

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".ci" / "node" / "node_modules" / ".bin" / "gitlab-ci-local"


def _gitlab_ci_local() -> str:
    found = shutil.which("gitlab-ci-local") or (str(LOCAL) if LOCAL.exists() else None)
    if found is None or shutil.which("rsync") is None:
        if os.environ.get("TESTS_REQUIRE_GITLAB_CI_LOCAL"):
            pytest.fail("gitlab-ci-local or rsync is missing (.ci/run installs both)")
        pytest.skip("no gitlab-ci-local here; .ci/run installs it from npm")
    return found


def project_from_demo(run_cli, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """A repository holding mirrors.yaml, the queues and the pipeline, as the builders'
    CI repository would; the upstreams and mirrors stay outside it, as remote ones do."""
    demo = tmp_path / "demo"
    assert run_cli("-q", "demo", "--dir", str(demo)).code == 0
    config = yaml.safe_load((demo / "mirrors.yaml").read_text())
    config["defaults"]["mirror_url"] = f"{demo}/mirrors/{{name}}.git"
    for package in config["packages"].values():
        package["upstream"] = str(demo / package["upstream"])
    project = Repo(tmp_path / "project")
    (project.path / "mirrors.yaml").write_text(yaml.safe_dump(config))
    shutil.copytree(demo / "patchsets", project.path / "patchsets")
    result: CliResult = run_cli(
        "--config", str(project.path / "mirrors.yaml"), "ci", "generate", "--image", "",
        "--install", "mirrorctl --version", "-o", str(project.path / ".gitlab-ci.yml"))
    assert result.code == 0, result.err
    project.git("add", ".")  # gitlab-ci-local copies only what git tracks into its jobs
    project.git("commit", "--quiet", "-m", "the nightly")
    return project.path


def run_pipeline(tool: str, project: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        [tool, "--no-color", "--shell-isolation", "--no-artifacts-to-source", "--concurrency", "2"],
        cwd=project, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=300, check=False)


def test_the_generated_pipeline_runs_in_gitlab_ci_local(run_cli, tmp_path: Path) -> None:
    tool = _gitlab_ci_local()
    project = project_from_demo(run_cli, tmp_path)
    first = run_pipeline(tool, project)
    assert first.returncode == 0, first.stdout + first.stderr
    # numpy: a re-tagged release waits for --force-tags; scipy: a conflict. Both exit 1,
    # and so does the report that lists them: the pipeline allows it, warnings, not
    # failures. gitlab-ci-local lets any exit status through allow_failure:exit_codes, so
    # the summary lines are what count.
    for verdict, job in (("PASS", "nightly: [pyyaml]"), ("PASS", "nightly: [cffi]"),
                         ("WARN", "nightly: [numpy]"),
                         ("WARN", "nightly: [scipy]"), ("WARN", "report")):
        assert re.search(rf"^ {verdict}  {re.escape(job)}( |$)", first.stdout, re.M), job
    state = project / ".gitlab-ci-local"
    report = json.loads((state / "artifacts" / "report" / "report.json").read_text())
    assert [p["name"] for p in report["packages"]] == ["cffi", "numpy", "pyyaml", "scipy"]
    assert [c["package"] for c in report["conflicts"]] == ["scipy"]
    assert (state / "artifacts" / "report" / "report.html").read_text().startswith(
        "<!DOCTYPE html>")
    assert (state / "cache" / "mirrorctl-numpy" / ".mirrorctl" / "cache" / "numpy.git").is_dir()
    history = state / "cache" / "mirrorctl-history" / ".mirrorctl" / "history"
    [record] = history.iterdir()

    second = run_pipeline(tool, project)
    assert second.returncode == 0, second.stdout + second.stderr
    again = json.loads((state / "artifacts" / "report" / "report.json").read_text())
    assert again["since"] == record.stem  # the history came back from its cache
    assert len(again["trend"]) == 2 and len(list(history.iterdir())) == 2
    synced = json.loads((state / "artifacts").joinpath(
        *_artifact(state, "pyyaml"), "results", "pyyaml.json").read_text())
    assert synced["sync"]["packages"][0]["status"] == "unchanged"


def _artifact(state: Path, package: str) -> tuple[str, ...]:
    """gitlab-ci-local's folder for a matrix job's artifacts (`nightly: [pkg]`, encoded)."""
    for folder in (state / "artifacts").iterdir():
        if (folder / "results" / f"{package}.json").exists() and folder.name != "report":
            return (folder.name,)
    raise AssertionError(f"no artifacts of nightly: [{package}]")


def test_batches_of_packages_run_in_gitlab_ci_local(run_cli, tmp_path: Path) -> None:
    """Beyond --max-jobs, one job a batch (BATCH, PACKAGES): each package is still its own
    entry in the report."""
    tool = _gitlab_ci_local()
    project = project_from_demo(run_cli, tmp_path)
    result: CliResult = run_cli(
        "--config", str(project / "mirrors.yaml"), "ci", "generate", "--image", "",
        "--install", "mirrorctl --version", "--max-jobs", "2",
        "-o", str(project / ".gitlab-ci.yml"))
    assert result.code == 0, result.err
    matrix = yaml.safe_load((project / ".gitlab-ci.yml").read_text())["nightly"]["parallel"][
        "matrix"]
    assert len(matrix) <= 2 and sorted(" ".join(m["PACKAGES"] for m in matrix).split()) == [
        "cffi", "numpy", "pyyaml", "scipy"]
    Repo(project).git("commit", "--quiet", "-am", "batches")
    run = run_pipeline(tool, project)
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads((project / ".gitlab-ci-local" / "artifacts" / "report" /
                         "report.json").read_text())
    assert [p["name"] for p in report["packages"]] == ["cffi", "numpy", "pyyaml", "scipy"]
    assert [c["package"] for c in report["conflicts"]] == ["scipy"]
