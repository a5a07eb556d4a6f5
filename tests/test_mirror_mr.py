"""`mirrorctl rebase --push --open-mr`: the new queue's branch and its review request."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from testbed.fakeforge import FakeForge, fake_forge
from tests.conftest import Site
from tests.test_rebase import numpy_site  # noqa: F401 - the fixture

BRANCH = "refs/heads/riscv64/1.1.0"


@pytest.fixture
def clean_site(numpy_site: Site,  # noqa: F811
               monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Site, FakeForge]]:
    (numpy_site.root / "patchsets" / "numpy" / "1.0.0" / "0002-ENH-constants.patch").unlink()
    with fake_forge() as forge:
        monkeypatch.setenv("MIRRORCTL_GITLAB_TOKEN", forge.gitlab_token)
        text = numpy_site.config.read_text().replace(
            "defaults:\n", f"defaults:\n  forge_apis:\n    gitlab.example.org: {forge.url}\n")
        text = text.replace("    version: 1.0.0\n", "    version: 1.0.0\n    mirror_web: "
                            "https://gitlab.example.org/rise/mirrors/numpy\n")
        numpy_site.config.write_text(text)
        assert run_sync(numpy_site)
        yield numpy_site, forge


def run_sync(site: Site) -> bool:
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "mirrorctl", *site.args("sync")],
                          capture_output=True).returncode == 0


def rebase(run_cli, site: Site, *args: str):  # type: ignore[no-untyped-def]
    result = run_cli(*site.args("rebase", "numpy", "--format", "json", *args))
    return result, (json.loads(result.out) if result.out.startswith("{") else None)


def test_push_and_open_then_update_the_mirror_request(
        run_cli, clean_site: tuple[Site, FakeForge]) -> None:
    site, forge = clean_site
    assert "mirror_web" in site.config.read_text()
    result, data = rebase(run_cli, site, "--push", "--open-mr")
    assert result.code == 0, result.err
    assert data["push"] == {"branch": "riscv64/1.1.0", "result": "created",
                            "detail": data["push"]["detail"]}
    assert site.mirror.rev(BRANCH) == data["patches"][-1]["commit"]  # the new queue's head
    assert data["merge_request"] == "https://gitlab.example.org/rise/mirrors/numpy/-/" \
                                    "merge_requests/100"
    [(project, body)] = forge.created
    assert project == "rise/mirrors/numpy"
    assert (body["source_branch"], body["target_branch"]) == ("riscv64/1.1.0", "main")
    assert body["title"] == "Draft: numpy 1.1.0 riscv64 patch queue"
    assert "| `0001-MAINT-core-math.patch` | merged |" in body["description"]
    assert "### Grade: hard" in body["description"]  # the queue patches NaN tests
    assert "### Range-diff" in body["description"]
    # 1.1.0 is now the current queue: carried again onto the same release, it is pushed
    # unchanged and the open request is updated.
    again, data = rebase(run_cli, site, "--push", "--open-mr", "--onto", "1.1.0")
    assert again.code == 0 and data["push"]["result"] == "unchanged"
    assert len(forge.created) == 1  # the open request was updated, not opened twice
    assert any(r.startswith("PUT /api/v4/projects/7/merge_requests/100")
               for r in forge.requests)


def test_open_mr_needs_push_and_a_conflict_pushes_nothing(run_cli, numpy_site: Site) -> None:  # noqa: F811
    assert run_cli(*numpy_site.args("sync")).code == 0
    result = run_cli(*numpy_site.args("rebase", "numpy", "--open-mr"))
    assert result.code == 2 and "--open-mr needs --push" in result.err
    result, data = rebase(run_cli, numpy_site, "--push")
    assert result.code == 1 and data["push"]["result"] == "refused"
    assert BRANCH not in numpy_site.mirror.refs()
