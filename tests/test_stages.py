"""The night's stages, each on its own over a real site: what each leaves for the next,
and the driver that runs them in order and records each one's outcome."""

from __future__ import annotations

import json
import os
from pathlib import Path

from mirrorctl.core.config import load_config
from mirrorctl.core.git import GitRunner, GitSettings
from mirrorctl.night.stages import (
    STAGES,
    Night,
    NightlyOptions,
    carry_stage,
    deliver_stage,
    history_stage,
    notices_stage,
    releases_stage,
    report_stage,
    stacks_stage,
    sync_stage,
)
from mirrorctl.report.nights import STAGES as KEPT_STAGES
from tests.conftest import Site
from tests.test_rebase import numpy_site  # noqa: F401 - the fixture

STAMP = "20261207T010203.000000Z"


def night_of(site: Site) -> Night:
    config = load_config(site.config)
    runner = GitRunner(GitSettings(base_env=dict(os.environ), allowed_protocols=("file",)))
    return Night.of(config, config.active(()), NightlyOptions(
        workdir=site.workdir, jobs=2, stamp=STAMP), runner, sleep=lambda seconds: None)


def test_each_stage_leaves_what_the_next_one_reads(numpy_site: Site) -> None:  # noqa: F811
    night = night_of(numpy_site)
    assert sync_stage(night) == "1 package"
    assert night.synced is not None and night.synced.packages[0].status == "updated"
    assert releases_stage(night) == "1 due"
    assert night.targets == {"numpy": "1.1.0"} and night.found[0].new == ("1.1.0",)
    assert carry_stage(night) == "1 carried"
    [rebased] = night.rebases
    assert (rebased.to_version, rebased.status) == ("1.1.0", "conflict")
    assert deliver_stage(night) == "nothing to deliver"  # no --push, no forge
    assert stacks_stage(night) == "no stacks in mirrors.yaml" and night.stacks is None
    said = report_stage(night)
    assert said == "6 patches: 1 submitted, 5 pending; 1 needs a person"
    assert [str(n) for n in night.needs] == [
        "numpy: 0002-ENH-constants.patch conflicts on v1.1.0"]
    assert not (numpy_site.workdir / "history").exists()  # the history stage writes it
    assert history_stage(night).startswith("written: ")
    assert night.history is not None and json.loads(night.history.read_text())[
        "summary"] == "6 patches: 1 submitted, 5 pending"
    assert notices_stage(night) == "not asked" and night.noticed is None


def test_a_stage_that_reads_what_has_not_run_says_so(numpy_site: Site) -> None:  # noqa: F811
    night = night_of(numpy_site)
    try:
        history_stage(night)
    except RuntimeError as exc:
        assert "the report stage has not run" in str(exc)
    else:
        raise AssertionError("the history stage ran without a report")


def test_the_driver_runs_every_stage_in_order_and_records_each(run_cli,
                                                               numpy_site: Site) -> None:  # noqa: F811
    assert [name for name, _ in STAGES] == list(KEPT_STAGES)  # the night kept names them
    result = run_cli(*numpy_site.args("nightly", "--format", "json"))
    data = json.loads(result.out)
    assert [s["name"] for s in data["stages"]] == list(KEPT_STAGES)
    assert all(s["seconds"] >= 0 for s in data["stages"])
    outcomes = {s["name"]: s["outcome"] for s in data["stages"]}
    assert outcomes["carry"] == "1 carried" and outcomes["notices"] == "not asked"
    table = run_cli(*numpy_site.args("nightly")).out
    assert table.splitlines()[-1].startswith("stages: sync ")
    assert Path(data["history"]).is_file()
