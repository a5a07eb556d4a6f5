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


PIN = "python3 -m pip install --quiet ./riscv64_mirrorctl-0.1.0-py3-none-any.whl"


def in_demo(root: Path, *args: str) -> list[str]:
    return ["--config", str(root / "mirrors.yaml"), "--workdir", str(root / ".mirrorctl"),
            "-q", *args]


def test_one_job_a_package_then_the_report(run_cli, demo_root: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    out = demo_root / ".gitlab-ci.yml"
    result = run_cli(*in_demo(demo_root, "ci", "generate", "-o", str(out), "--install", PIN))
    assert result.code == 0, result.err
    pipeline = yaml.safe_load(out.read_text())
    assert pipeline["variables"]["MIRRORCTL_CONFIG"] == "mirrors.yaml"
    nightly, report = pipeline["nightly"], pipeline["report"]
    assert nightly["parallel"]["matrix"] == [{"PACKAGE": ["cffi", "numpy", "pyyaml", "scipy"]}]
    assert nightly["allow_failure"] == {"exit_codes": [1]}  # 1: needs a person, a warning
    assert {"results/", "patchsets/"} <= set(nightly["artifacts"]["paths"])
    assert nightly["artifacts"]["when"] == "always"
    assert report["needs"] == [{"job": "nightly", "artifacts": True}]
    assert report["when"] == "always"  # a crashed package job never stops the report
    assert report["cache"]["paths"] == [".mirrorctl/history/"]
    assert {"report.html", "report.md", "report.json"} <= set(report["artifacts"]["paths"])
    assert "--push" not in json.dumps(pipeline)
    monkeypatch.chdir(demo_root)  # to stdout: the paths are relative to here
    pushing = run_cli(*in_demo(demo_root, "ci", "generate", "numpy", "--push", "--image", "",
                               "--install", PIN))
    assert pushing.code == 0
    pushed = yaml.safe_load(pushing.out)
    assert pushed["nightly"]["parallel"]["matrix"] == [{"PACKAGE": ["numpy"]}]
    assert "--push" in pushed["nightly"]["script"][1] and "image" not in pushed["default"]


def test_queues_outside_the_repository_cannot_be_artifacts(run_cli, demo_root: Path,
                                                           tmp_path: Path) -> None:
    out = tmp_path / "elsewhere" / ".gitlab-ci.yml"
    out.parent.mkdir()
    result = run_cli(*in_demo(demo_root, "ci", "generate", "-o", str(out), "--install", PIN))
    assert result.code == 2
    assert "lie outside" in result.err and not out.exists()


def results_of(run_cli, root: Path, into: Path) -> dict[str, CliResult]:  # type: ignore[no-untyped-def]
    """What the package jobs leave: one nightly --format json a package."""
    into.mkdir()
    runs = {}
    for name in ("cffi", "numpy", "pyyaml", "scipy"):
        runs[name] = run_cli(*in_demo(root, "nightly", name, "--format", "json"))
        (into / f"{name}.json").write_text(runs[name].out)
    return runs


def test_the_report_job_merges_the_package_results(run_cli, demo_root: Path,
                                                   tmp_path: Path) -> None:
    runs = results_of(run_cli, demo_root, tmp_path / "results")
    # numpy: a re-tagged release needs --force-tags; scipy: a conflict. Both a person's.
    assert {name: r.code for name, r in runs.items()} == {"numpy": 1, "pyyaml": 0, "scipy": 1,
                                                          "cffi": 0}
    work = tmp_path / "work"  # the report job's own work directory: history only
    args = ["--config", str(demo_root / "mirrors.yaml"), "--workdir", str(work), "-q",
            "report", "--merge", str(tmp_path / "results"), "--record"]
    merged = run_cli(*args, "-o", str(tmp_path / "r.json"), "-o", str(tmp_path / "r.html"))
    assert merged.code == 1, merged.err  # the re-tag and the conflict need a person
    data = json.loads((tmp_path / "r.json").read_text())
    assert {(a["package"], a["kind"]) for a in data["actions"]} == {
        ("numpy", "ref-needs-decision"), ("scipy", "conflict")}
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
    assert merged.code == 1, merged.err  # three packages are unknown: a person should look
    by_name = {p["name"]: p for p in json.loads(merged.out)["packages"]}
    assert sorted(by_name) == ["cffi", "numpy", "pyyaml", "scipy"]
    assert by_name["pyyaml"]["problems"] == [
        f"no result in {results}: its CI job failed before writing one; see that job's log"]


def merge(run_cli, tmp_path: Path, files: dict[str, str]) -> CliResult:  # type: ignore[no-untyped-def]
    results = tmp_path / "results"
    results.mkdir()
    for name, text in files.items():
        (results / name).write_text(text)
    return run_cli("--config", str(tmp_path / "absent.yaml"), "--workdir",
                   str(tmp_path / "work"), "-q", "report", "--merge", str(results), "--record",
                   "-o", str(tmp_path / "r.json"))


@pytest.mark.parametrize(("files", "message"), [
    ({}, "no *.json results to merge"),
    ({"a.json": '{"packages": [{"name": "x", "current": null, "latest": null, "level": null,'
                ' "reasons": [], "patches": []}]}',
      "b.json": '{"report": {"packages": [{"name": "x", "current": null, "latest": null, '
                '"level": null, "reasons": [], "patches": []}]}}'},
     "b.json: x is reported in"),
])
def test_results_that_cannot_be_merged_exit_2_and_write_nothing(
        run_cli, tmp_path: Path, files: dict[str, str], message: str) -> None:
    result = merge(run_cli, tmp_path, files)
    assert result.code == 2
    assert message in result.err
    assert not (tmp_path / "r.json").exists() and not (tmp_path / "work" / "history").exists()


@pytest.mark.parametrize(("files", "broken", "message"), [
    ({"numpy.json": "Traceback (most recent call last):"}, "numpy",
     "numpy.json: not the JSON output of `mirrorctl report` or `mirrorctl nightly`"),
    ({"numpy.json": '{"packages": [{"name": "numpy"}]}'}, "numpy",
     "numpy.json: not the JSON output of `mirrorctl report` or `mirrorctl nightly` (KeyError"),
    ({"a.json": '{"packages": []}', "b.json": "[1]"}, "b", "b.json: not the JSON output"),
    ({"a.json": '{"packages": [{"name": "x", "current": null, "latest": null, '
                '"level": "trivial", "reasons": [], "patches": []}]}'}, "a",
     "unknown level 'trivial' for x"),
])
def test_a_broken_result_is_named_and_the_others_are_merged(
        run_cli, tmp_path: Path, files: dict[str, str], broken: str, message: str) -> None:
    files = {**files, "good.json": '{"packages": [{"name": "good", "current": "1.0", '
                                   '"latest": "1.0", "level": "easy", "reasons": [{"code": '
                                   '"up-to-date", "detail": "-"}], "patches": []}]}'}
    result = merge(run_cli, tmp_path, files)
    assert result.code == 1  # a package is unknown; the report is still whole
    assert message in result.err
    data = json.loads((tmp_path / "r.json").read_text())
    by_name = {p["name"]: p for p in data["packages"]}
    assert by_name["good"]["level"] == "easy"
    assert by_name[broken]["state"] == "unknown" and message in by_name[broken]["problems"][0]
    assert list((tmp_path / "work" / "history").glob("*.json"))  # and recorded


@pytest.mark.parametrize(("direct_url", "expected"), [
    # from an index: that version, under mirrorctl's own distribution name
    (None, 'python3 -m pip install --quiet "riscv64-mirrorctl==0.2.0"'),
    # from git: that commit
    ({"url": "https://git.example.org/rise/mirrorctl.git",
      "vcs_info": {"vcs": "git", "commit_id": "a" * 40, "requested_revision": "main"}},
     'python3 -m pip install --quiet "riscv64-mirrorctl @ '
     f'git+https://git.example.org/rise/mirrorctl.git@{"a" * 40}"'),
    # a wheel from a URL: by its hash
    ({"url": "https://files.example.org/riscv64_mirrorctl-0.2.0-py3-none-any.whl",
      "archive_info": {"hashes": {"sha256": "b" * 64}}},
     'python3 -m pip install --quiet "riscv64-mirrorctl @ https://files.example.org/'
     f'riscv64_mirrorctl-0.2.0-py3-none-any.whl#sha256={"b" * 64}"'),
    # a local folder, an editable checkout, a local wheel, a wheel without hash: no pin
    ({"url": "file:///src/mirrorctl", "dir_info": {}}, None),
    ({"url": "file:///src/mirrorctl", "dir_info": {"editable": True}}, None),
    ({"url": "file:///tmp/riscv64_mirrorctl-0.2.0-py3-none-any.whl",
      "archive_info": {"hashes": {"sha256": "b" * 64}}}, None),
    ({"url": "https://files.example.org/x.whl", "archive_info": {}}, None),
])
def test_the_pipeline_installs_exactly_this_mirrorctl(direct_url: dict | None,  # type: ignore[type-arg]
                                                      expected: str | None) -> None:
    from mirrorctl.night.ci.pipeline import pinned_install

    assert pinned_install(direct_url, "0.2.0") == expected


def test_an_install_that_cannot_be_pinned_needs_install(run_cli, demo_root: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # The suite runs from an editable install of a local folder: no runner can get that.
    for forge in ("gitlab", "github"):
        result = run_cli(*in_demo(demo_root, "ci", "generate", "--forge", forge))
        assert result.code == 2 and "pass --install" in result.err
        assert "pip install mirrorctl" not in result.err
    # The workflow's jobs install exactly what --install names, both of them.
    monkeypatch.chdir(demo_root)
    pinned = run_cli(*in_demo(demo_root, "ci", "generate", "--forge", "github",
                              "--install", PIN))
    jobs = yaml.safe_load(pinned.out)["jobs"].values()
    assert [[s["run"] for s in job["steps"] if s.get("name") == "Install mirrorctl"]
            for job in jobs] == [[PIN], [PIN]]


def thousand_packages(tmp_path: Path, count: int = 1000) -> Path:
    from tests.gitrepos import write_config

    packages: dict[str, dict[str, object]] = {
        f"pkg{n:04d}": {"upstream": f"https://github.com/up/pkg{n:04d}.git"}
        for n in range(count - 2)}
    for bits in ("32", "64"):  # two wheels of one upstream share a cache, and a batch
        packages[f"polars-runtime-{bits}"] = {"upstream": "https://github.com/pola-rs/polars.git"}
    (tmp_path / "patches").mkdir(exist_ok=True)
    return write_config(tmp_path / "mirrors.yaml", packages, patchsets="patches",
                        allowed_protocols=["https"])


def _batches(run_cli, config: Path, forge: str, *extra: str) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    out = config.parent / f"{forge}.yml"
    result = run_cli("--config", str(config), "ci", "generate", "--forge", forge,
                     "--install", PIN, "-o", str(out), *extra)
    assert result.code == 0, result.err
    data = yaml.safe_load(out.read_text())
    if forge == "github":
        entries = data["jobs"]["packages"]["strategy"]["matrix"]["include"]
        return {e["batch"]: e["packages"].split() for e in entries}
    return {e["BATCH"]: e["PACKAGES"].split() for e in data["nightly"]["parallel"]["matrix"]}


@pytest.mark.parametrize(("forge", "limit"), [("gitlab", 200), ("github", 256)])
def test_a_thousand_packages_make_a_pipeline_within_the_hosts_limits(
        run_cli, tmp_path: Path, forge: str, limit: int) -> None:
    config = thousand_packages(tmp_path)
    for extra, jobs in (((), 100), (("--max-jobs", str(limit)), limit)):
        batches = _batches(run_cli, config, forge, *extra)
        assert len(batches) <= jobs <= limit
        placed = [name for names in batches.values() for name in names]
        assert len(placed) == len(set(placed)) == 1000  # each package exactly once
        [together] = [b for b in batches.values() if "polars-runtime-32" in b]
        assert "polars-runtime-64" in together
    too_many = run_cli("--config", str(config), "ci", "generate", "--forge", forge,
                       "--install", PIN, "--max-jobs", str(limit + 1))
    assert too_many.code == 2 and f"1 to {limit}" in too_many.err


def test_adding_a_package_moves_no_other_between_batches(run_cli, tmp_path: Path) -> None:
    config = thousand_packages(tmp_path)
    before = {name: batch for batch, names in _batches(run_cli, config, "gitlab").items()
              for name in names}
    data = yaml.safe_load(config.read_text())
    data["packages"]["newcomer"] = {"upstream": "https://github.com/up/newcomer.git"}
    config.write_text(yaml.safe_dump(data))
    after = {name: batch for batch, names in _batches(run_cli, config, "gitlab").items()
             for name in names}
    assert {n: b for n, b in after.items() if n != "newcomer"} == before
