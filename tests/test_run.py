"""One run, resolved once (core.run): --jobs over defaults.jobs, for every pool of the
run, whatever it runs; nothing below the command line reads defaults.jobs again."""

from __future__ import annotations

import ast
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from tests.conftest import Site
from tests.gitrepos import write_config

WINGS = Path(__file__).resolve().parent.parent / "mirrorctl"


def test_nothing_below_the_command_line_reads_the_jobs_of_mirrors_yaml() -> None:
    readers = []
    for path in sorted(WINGS.rglob("*.py")):
        if path.relative_to(WINGS).parts[0] == "cli":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "jobs" \
                    and isinstance(node.value, ast.Name) and node.value.id == "config":
                readers.append(f"{path.relative_to(WINGS)}:{node.lineno}")
    assert readers == []


@pytest.fixture
def pools(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every thread pool made in this process."""
    sizes: list[int] = []
    made = ThreadPoolExecutor.__init__

    def recording(self: ThreadPoolExecutor, max_workers: int | None = None,
                  *args: Any, **kwargs: Any) -> None:
        sizes.append(max_workers or 0)
        made(self, max_workers, *args, **kwargs)

    monkeypatch.setattr(ThreadPoolExecutor, "__init__", recording)
    return sizes


def test_jobs_sizes_every_pool_of_the_night(run_cli, site: Site, pools: list[int]) -> None:
    """defaults.jobs 4, `nightly -j 1`: the sync, the releases and the report's grades
    each ran one package at a time (before, only the sync did)."""
    write_config(site.config, {
        "demo": {"upstream": str(site.upstream.path), "mirror": str(site.mirror.path),
                 "tag_format": "v{version}", "version": "1.0.0"},
        "other": {"upstream": str(site.upstream.path), "mirror": False,
                  "tag_format": "v{version}", "version": "1.0.0"}}, jobs=4)
    result = run_cli(*site.args("nightly", "-j", "1"))
    assert result.code in (0, 1), result.err
    assert len(pools) >= 3 and set(pools) == {1}, pools
    pools.clear()
    assert run_cli(*site.args("releases")).code in (0, 1)
    assert run_cli(*site.args("report", "--jobs", "2")).code in (0, 1)
    assert pools == [4, 2]  # mirrors.yaml's for releases, the command line's for report


def test_the_run_refuses_no_jobs() -> None:
    from mirrorctl.core.run import Currents, Run

    with pytest.raises(ValueError, match="at least 1"):
        Run(workdir=Path("."), jobs=0, stamp="20261207T000000Z",
            currents=Currents(lambda package: None))


def test_currents_are_worked_out_once_a_package_and_again_after_a_write() -> None:
    from mirrorctl.core.config import Package
    from mirrorctl.core.run import Currents

    asked: list[str] = []
    versions = {"numpy": "1.0.0", "scipy": None}

    def resolve(package: Package) -> str | None:
        asked.append(package.name)
        if package.name == "broken":
            raise ValueError("no version")
        return versions[package.name]

    currents = Currents(resolve)
    numpy, scipy, broken = (cast(Package, SimpleNamespace(name=n))  # all it reads
                            for n in ("numpy", "scipy", "broken"))
    assert [currents.of(p) for p in (numpy, scipy, numpy, scipy)] == [
        "1.0.0", None, "1.0.0", None]
    assert asked == ["numpy", "scipy"]  # None is an answer too: kept
    versions["numpy"] = "1.1.0"  # a carry wrote numpy's 1.1.0 folder, and says so
    currents.forget("numpy")
    assert currents.of(numpy) == "1.1.0" and asked == ["numpy", "scipy", "numpy"]
    for _ in range(2):  # what the working out raises is raised each time, never kept
        with pytest.raises(ValueError, match="no version"):
            currents.of(broken)
    assert asked.count("broken") == 2


def test_only_the_runs_currents_work_out_a_current_version() -> None:
    """queue.folders.current_version is called by nothing but the run's memo (and the
    check of mirrors.yaml's `version:`, which runs once when it is loaded)."""
    callers = []
    for path in sorted(WINGS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id == "current_version":
                callers.append(f"{path.relative_to(WINGS)}")
    assert callers == ["queue/folders.py"]  # check_versions


def test_a_night_works_out_each_current_version_once(run_cli, site: Site,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Two packages, a night that syncs, checks releases, grades and reports them (and
    carries the one with a new release): each package's current version is worked out
    once before its carry, and once again after the carry wrote its new queue; the
    report then shows the queue the carry wrote."""
    import mirrorctl.queue.folders as folders

    asked: list[str] = []
    working_out = folders.current_version

    def counting(config: Any, package: Any) -> str | None:
        asked.append(package.name)
        return working_out(config, package)

    monkeypatch.setattr(folders, "current_version", counting)
    from tests.test_rebase import patch_series

    patch_series(site.upstream, "v1.0.0", site.root / "patchsets" / "demo" / "1.0.0", [
        ("0001-readme.patch", "DOC: readme\n\nUpstream-Status: Pending",
         {"README.md": "hello riscv64\n"})])
    write_config(site.config, {
        "demo": {"upstream": str(site.upstream.path), "mirror": str(site.mirror.path),
                 "tag_format": "v{version}", "version": "1.0.0"},
        "other": {"upstream": str(site.upstream.path), "mirror": False,
                  "tag_format": "v{version}", "version": "1.0.0"}})
    import json

    result = run_cli(*site.args("nightly", "--format", "json"))
    assert result.code in (0, 1), result.err
    data = json.loads(result.out)
    carried = {r["package"] for r in data["rebases"] if r["written"] == "written"}
    for name in ("demo", "other"):
        assert asked.count(name) == (2 if name in carried else 1), (name, asked, carried)
    currents = {p["name"]: p["current"] for p in data["report"]["packages"]}
    assert carried, data["rebases"]  # the site's demo has a release to carry onto
    for name in carried:
        assert currents[name] == next(r["to"] for r in data["rebases"]
                                      if r["package"] == name)


def test_the_run_resolves_each_option_from_each_source_in_order(
        run_cli, site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The work directory: --workdir, else MIRRORCTL_WORKDIR, else .mirrorctl beside
    mirrors.yaml; mirrors.yaml: --config, else MIRRORCTL_CONFIG, else ./mirrors.yaml;
    the jobs: --jobs, else defaults.jobs, else 4. Resolved once a command."""
    from mirrorctl.core.run import Run

    runs: list[Run] = []
    checked = Run.__post_init__

    def recording(self: Run) -> None:
        checked(self)
        runs.append(self)

    monkeypatch.setattr(Run, "__post_init__", recording)
    for name in ("MIRRORCTL_WORKDIR", "MIRRORCTL_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    package = {"demo": {"upstream": str(site.upstream.path), "mirror": False,
                        "tag_format": "v{version}", "version": "1.0.0"}}
    write_config(site.config, package, jobs=3)
    monkeypatch.chdir(site.root)  # ./mirrors.yaml is the site's

    def resolved(*args: str) -> Run:
        runs.clear()
        result = run_cli("-q", *args)
        assert result.code in (0, 1), result.err
        [run] = runs  # once a command
        return run

    run = resolved("releases")
    assert (run.workdir, run.jobs) == (site.root / ".mirrorctl", 3)
    monkeypatch.setenv("MIRRORCTL_WORKDIR", str(tmp_path / "from-env"))
    assert resolved("releases").workdir == tmp_path / "from-env"
    run = resolved("--workdir", str(tmp_path / "from-cli"), "releases", "-j", "2")
    assert (run.workdir, run.jobs) == (tmp_path / "from-cli", 2)
    elsewhere = tmp_path / "elsewhere" / "mirrors.yaml"
    elsewhere.parent.mkdir()
    write_config(elsewhere, package)  # no defaults.jobs
    monkeypatch.delenv("MIRRORCTL_WORKDIR")
    monkeypatch.setenv("MIRRORCTL_CONFIG", str(elsewhere))
    assert (resolved("releases").workdir, runs[0].jobs) == (elsewhere.parent / ".mirrorctl", 4)
    run = resolved("--config", str(site.config), "releases")
    assert (run.workdir, run.jobs) == (site.root / ".mirrorctl", 3)
    assert len(run.stamp) >= 16 and run.stamp.endswith("Z")  # the run's clock, UTC


def test_each_wing_says_what_it_holds() -> None:
    """Every package's __init__ names each of its modules (a newcomer finds each one
    from it), and no module is over 500 lines."""
    unnamed, long = [], []
    for init in sorted(WINGS.rglob("__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        for module in sorted(init.parent.glob("*.py")):
            if module.stem not in ("__init__", "__main__") and module.stem not in doc:
                unnamed.append(str(module.relative_to(WINGS)))
            if len(module.read_text(encoding="utf-8").splitlines()) > 500:
                long.append(str(module.relative_to(WINGS)))
    assert (unnamed, long) == ([], [])
