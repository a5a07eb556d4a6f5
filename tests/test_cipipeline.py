"""`mirrorctl ci generate` and the report job's `report --merge`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import CliResult


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's sandbox (three packages, a nightly already run), built once."""
    from mirrorctl.cli import main

    root = tmp_path_factory.mktemp("ci") / "demo"
    with pytest.raises(SystemExit) as exit_:
        main(["-q", "demo", "--dir", str(root), "--format", "json"])
    assert exit_.value.code == 0
    return root


def in_demo(root: Path, *args: str) -> list[str]:
    return ["--config", str(root / "mirrors.yaml"), "--workdir", str(root / ".mirrorctl"),
            "-q", *args]


def test_one_job_a_package_then_the_report(run_cli, demo_root: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    out = demo_root / ".gitlab-ci.yml"
    result = run_cli(*in_demo(demo_root, "ci", "generate", "-o", str(out)))
    assert result.code == 0, result.err
    pipeline = yaml.safe_load(out.read_text())
    assert pipeline["variables"]["MIRRORCTL_CONFIG"] == "mirrors.yaml"
    nightly, report = pipeline["nightly"], pipeline["report"]
    assert nightly["parallel"]["matrix"] == [{"PACKAGE": ["numpy", "pyyaml", "scipy"]}]
    assert nightly["allow_failure"] == {"exit_codes": [1]}  # 1: needs a person, a warning
    assert {"results/", "patchsets/"} <= set(nightly["artifacts"]["paths"])
    assert nightly["artifacts"]["when"] == "always"
    assert report["needs"] == [{"job": "nightly", "artifacts": True}]
    assert report["when"] == "always"  # a crashed package job never stops the report
    assert report["cache"]["paths"] == [".mirrorctl/history/"]
    assert {"report.html", "report.md", "report.json"} <= set(report["artifacts"]["paths"])
    assert "--push" not in json.dumps(pipeline)
    monkeypatch.chdir(demo_root)  # to stdout: the paths are relative to here
    pushing = run_cli(*in_demo(demo_root, "ci", "generate", "numpy", "--push", "--image", ""))
    assert pushing.code == 0
    pushed = yaml.safe_load(pushing.out)
    assert pushed["nightly"]["parallel"]["matrix"] == [{"PACKAGE": ["numpy"]}]
    assert "--push" in pushed["nightly"]["script"][1] and "image" not in pushed["default"]


def test_queues_outside_the_repository_cannot_be_artifacts(run_cli, demo_root: Path,
                                                           tmp_path: Path) -> None:
    out = tmp_path / "elsewhere" / ".gitlab-ci.yml"
    out.parent.mkdir()
    result = run_cli(*in_demo(demo_root, "ci", "generate", "-o", str(out)))
    assert result.code == 2
    assert "lie outside" in result.err and not out.exists()


def results_of(run_cli, root: Path, into: Path) -> dict[str, CliResult]:  # type: ignore[no-untyped-def]
    """What the package jobs leave: one nightly --format json a package."""
    into.mkdir()
    runs = {}
    for name in ("numpy", "pyyaml", "scipy"):
        runs[name] = run_cli(*in_demo(root, "nightly", name, "--format", "json"))
        (into / f"{name}.json").write_text(runs[name].out)
    return runs


def test_the_report_job_merges_the_package_results(run_cli, demo_root: Path,
                                                   tmp_path: Path) -> None:
    runs = results_of(run_cli, demo_root, tmp_path / "results")
    # numpy: a re-tagged release needs --force-tags; scipy: a conflict. Both a person's.
    assert {name: r.code for name, r in runs.items()} == {"numpy": 1, "pyyaml": 0, "scipy": 1}
    work = tmp_path / "work"  # the report job's own work directory: history only
    args = ["--config", str(demo_root / "mirrors.yaml"), "--workdir", str(work), "-q",
            "report", "--merge", str(tmp_path / "results"), "--record"]
    merged = run_cli(*args, "-o", str(tmp_path / "r.json"), "-o", str(tmp_path / "r.html"))
    assert merged.code == 0, merged.err
    data = json.loads((tmp_path / "r.json").read_text())
    direct = json.loads(run_cli(*in_demo(demo_root, "report", "--format", "json")).out)
    assert data["packages"] == direct["packages"]
    assert data["summary"] == direct["summary"]
    assert data["conflicts"] == [{"package": "scipy", "patch": "0001-MAINT-return-a-quiet-NaN-"
                                  "on-riscv64.patch", "detail": "conflicts on 1.15.0"}]
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    [record] = (work / "history").iterdir()
    assert json.loads(record.read_text())["summary"] == data["summary"]["line"]


def test_a_package_without_a_result_is_named(run_cli, demo_root: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    (results / "numpy.json").write_text(
        run_cli(*in_demo(demo_root, "nightly", "numpy", "--format", "json")).out)
    merged = run_cli(*in_demo(demo_root, "report", "--merge", str(results), "--format", "json"))
    assert merged.code == 0, merged.err
    by_name = {p["name"]: p for p in json.loads(merged.out)["packages"]}
    assert sorted(by_name) == ["numpy", "pyyaml", "scipy"]
    assert by_name["pyyaml"]["problems"] == [
        f"no result in {results}: its CI job failed before writing one; see that job's log"]


@pytest.mark.parametrize(("files", "message"), [
    ({}, "no *.json results to merge"),
    ({"numpy.json": "Traceback (most recent call last):"},
     "numpy.json: not the JSON output of `mirrorctl report` or `mirrorctl nightly`"),
    ({"numpy.json": '{"packages": [{"name": "numpy"}]}'},
     "numpy.json: not the JSON output of `mirrorctl report` or `mirrorctl nightly` (KeyError"),
    ({"a.json": '{"packages": []}', "b.json": "[1]"}, "b.json: not the JSON output"),
    ({"a.json": '{"packages": [{"name": "x", "current": null, "latest": null, "level": null,'
                ' "reasons": [], "patches": []}]}',
      "b.json": '{"report": {"packages": [{"name": "x", "current": null, "latest": null, '
                '"level": null, "reasons": [], "patches": []}]}}'},
     "b.json: x is reported in"),
    ({"a.json": '{"packages": [{"name": "x", "current": null, "latest": null, '
                '"level": "trivial", "reasons": [], "patches": []}]}'},
     "unknown level 'trivial' for x"),
])
def test_results_that_cannot_be_merged_exit_2_and_write_nothing(
        run_cli, tmp_path: Path, files: dict[str, str], message: str) -> None:
    results = tmp_path / "results"
    results.mkdir()
    for name, text in files.items():
        (results / name).write_text(text)
    work = tmp_path / "work"
    result = run_cli("--config", str(tmp_path / "absent.yaml"), "--workdir", str(work), "-q",
                     "report", "--merge", str(results), "--record", "-o",
                     str(tmp_path / "r.html"))
    assert result.code == 2
    assert message in result.err
    assert not (tmp_path / "r.html").exists() and not (work / "history").exists()
