"""One run, resolved once (core.run): --jobs over defaults.jobs, for every pool of the
run, whatever it runs; nothing below the command line reads defaults.jobs again."""

from __future__ import annotations

import ast
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

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
    from mirrorctl.core.run import Run

    with pytest.raises(ValueError, match="at least 1"):
        Run(workdir=Path("."), jobs=0, stamp="20261207T000000Z")
