"""`mirrorctl report`: versions, grades and where every patch stands."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from mirrorctl.report import summary_line
from tests.conftest import Site
from tests.test_rebase import numpy_site  # noqa: F401 - the fixture


def test_summary_line_in_the_manner_of_yocto() -> None:
    counts = Counter({"Submitted": 12, "Pending": 9, "Inappropriate": 10, "Backport": 6})
    assert summary_line(counts) == ("37 patches: 12 submitted, 9 pending, 10 inappropriate, "
                                    "6 backports")
    assert summary_line(Counter({"Issue": 1})) == "1 patch: 1 reported as issues"
    assert summary_line(Counter()) == "0 patches"


def test_report_over_all_packages(run_cli, numpy_site: Site, tmp_path: Path) -> None:  # noqa: F811
    assert run_cli(*numpy_site.args("sync")).code == 0
    result = run_cli(*numpy_site.args("report", "--format", "json"))
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["summary"] == {"patches": 6, "by_status": {"Pending": 5, "Submitted": 1},
                               "line": "6 patches: 1 submitted, 5 pending"}
    [numpy] = data["packages"]
    assert (numpy["current"], numpy["latest"], numpy["level"]) == ("1.0.0", "1.1.0", "hard")
    assert numpy["reasons"][0]["code"] == "patch-conflict"
    assert {"patch": "0001-TST-skip-nan.patch", "status": "Submitted",
            "argument": "https://github.com/numpy/numpy/pull/25280"} in numpy["patches"]
    markdown = run_cli(*numpy_site.args("report", "-o", str(tmp_path / "r.md")))
    assert markdown.code == 0 and markdown.out.strip() == f"wrote {tmp_path / 'r.md'}"
    text = (tmp_path / "r.md").read_text()
    assert text.startswith("# riscv64 upstreaming report\n\n6 patches: 1 submitted, 5 pending")
    assert "| numpy | 1.0.0 | 1.1.0 | hard | patch-conflict: 0002-ENH-constants.patch |" in text
    assert ("- `0001-TST-skip-nan.patch`: Submitted [https://github.com/numpy/numpy/pull/25280]"
            "(https://github.com/numpy/numpy/pull/25280)") in text


def test_a_package_without_a_cache_is_reported_not_fatal(run_cli, numpy_site: Site) -> None:  # noqa: F811
    result = run_cli(*numpy_site.args("report"))
    assert result.code == 0
    assert "run `mirrorctl sync numpy` first" in result.out
