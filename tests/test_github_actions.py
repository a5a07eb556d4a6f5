"""The generated GitHub Actions workflow: checked against the workflow schema, and run
for real, twice, by act on this machine (`-P ubuntu-latest=-self-hosted`), the actions it
uses served locally (tests/actions); the second run shows the caches coming back."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import CliResult
from tests.gitrepos import Repo
from tests.test_gitlab_ci import project_from_demo

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
ACTIONS = ROOT / "tests" / "actions"
WORKFLOW = Path(".github") / "workflows" / "mirrorctl.yml"


def _tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        if os.environ.get("TESTS_REQUIRE_ACT"):
            pytest.fail(f"{name} is missing (pip install -e '.[test]' installs it)")
        pytest.skip(f"no {name} here")
    return found


def github_project(run_cli, tmp_path: Path, *extra: str) -> Path:  # type: ignore[no-untyped-def]
    project = project_from_demo(run_cli, tmp_path)
    result: CliResult = run_cli(
        "--config", str(project / "mirrors.yaml"), "ci", "generate", "--forge", "github",
        "--install", "mirrorctl --version", "-o", str(project / WORKFLOW), *extra)
    assert result.code == 0, result.err
    Repo(project).git("add", ".")
    Repo(project).git("commit", "--quiet", "-m", "the workflow")
    return project


def test_the_workflow_is_valid_and_asks_for_little(run_cli, tmp_path: Path) -> None:
    project = github_project(run_cli, tmp_path, "--push")
    checked = subprocess.run([_tool("check-jsonschema"), "--builtin-schema",
                              "vendor.github-workflows", str(project / WORKFLOW)],
                             capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    text = (project / WORKFLOW).read_text()
    workflow = yaml.safe_load(text)
    assert workflow["permissions"] == {"contents": "read"}
    assert set(workflow["on"]) == {"schedule", "workflow_dispatch"}
    packages, report = workflow["jobs"]["packages"], workflow["jobs"]["report"]
    assert packages["strategy"]["fail-fast"] is False
    assert [m["packages"] for m in packages["strategy"]["matrix"]["include"]] == [
        "cffi", "numpy", "pyyaml", "scipy"]
    assert (report["needs"], report["if"]) == ("packages", "always()")
    [nightly] = [s for s in packages["steps"] if s.get("name") == "Nightly"]
    assert "--push" in nightly["run"]
    # Tokens come from secrets alone, and nothing else in the file looks like one.
    assert nightly["env"] == {name: f"${{{{ secrets.{name} }}}}" for name in (
        "MIRRORCTL_GITHUB_TOKEN", "MIRRORCTL_GITLAB_TOKEN", "MIRRORCTL_MIRROR_TOKEN")}
    assert "persist-credentials" in text and "GITHUB_TOKEN }}" not in text.replace(
        "MIRRORCTL_GITHUB_TOKEN }}", "")


def act(project: Path, store: Path) -> subprocess.CompletedProcess[str]:
    local = [f"--local-repository=actions/{name}@v4={ACTIONS / name}"
             for name in ("checkout", "cache", "upload-artifact", "download-artifact")]
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(
        [_tool("act"), "workflow_dispatch", "-W", str(WORKFLOW),
         "-P", "ubuntu-latest=-self-hosted", *local, "--env", f"STANDIN_STORE={store}",
         "--env", f"PATH={path}", "--no-cache-server", "--action-offline-mode"],
        cwd=project, env={**os.environ, "PATH": path}, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=400, check=False)


def test_the_workflow_runs_in_act_twice_and_its_caches_come_back(run_cli,
                                                                 tmp_path: Path) -> None:
    project = github_project(run_cli, tmp_path)
    store = tmp_path / "github"
    first = act(project, store)
    assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-3000:]
    # numpy (a re-tagged release) and scipy (a conflict) need a person: warnings.
    assert "::warning::" in first.stdout or "needs a person" in first.stdout
    report = json.loads((store / "artifacts" / "report" / "report.json").read_text())
    assert [p["name"] for p in report["packages"]] == ["cffi", "numpy", "pyyaml", "scipy"]
    assert [c["package"] for c in report["conflicts"]] == ["scipy"]
    caches = sorted(p.name for p in (store / "cache").iterdir())
    assert caches == ["mirrorctl-cffi-1", "mirrorctl-history-1", "mirrorctl-numpy-1",
                      "mirrorctl-pyyaml-1", "mirrorctl-scipy-1"], caches
    assert (store / "cache" / "mirrorctl-numpy-1" / ".mirrorctl" / "cache" /
            "numpy.git").is_dir()

    second = act(project, store)
    assert second.returncode == 0, second.stdout[-6000:] + second.stderr[-3000:]
    assert "cache mirrorctl-pyyaml-1 exists: not saved" in second.stdout
    again = json.loads((store / "artifacts" / "report" / "report.json").read_text())
    assert len(again["trend"]) == 2  # the history came back from its cache
    result = json.loads((store / "artifacts" / "result-pyyaml" / "results" /
                         "pyyaml.json").read_text())
    assert result["sync"]["packages"][0]["status"] == "unchanged"  # the cache came back


def test_batches_of_packages_still_report_each_package(run_cli, tmp_path: Path) -> None:
    project = github_project(run_cli, tmp_path, "--max-jobs", "2")
    workflow = yaml.safe_load((project / WORKFLOW).read_text())
    batches = workflow["jobs"]["packages"]["strategy"]["matrix"]["include"]
    assert len(batches) <= 2 and sorted(" ".join(b["packages"] for b in batches).split()) == [
        "cffi", "numpy", "pyyaml", "scipy"]
    store = tmp_path / "github"
    run = act(project, store)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    report = json.loads((store / "artifacts" / "report" / "report.json").read_text())
    assert [p["name"] for p in report["packages"]] == ["cffi", "numpy", "pyyaml", "scipy"]
    assert [c["package"] for c in report["conflicts"]] == ["scipy"]
    assert sorted(p.name for p in (store / "cache").iterdir() if "batch" in p.name)
