"""`mirrorctl upstream draft`: drafts that follow upstream's own conventions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from mirrorctl.queue.patches import parse_patch
from mirrorctl.upstream.drafts import Conventions, draft_kind, draft_title, forge_of
from tests.conftest import Site
from tests.gitrepos import Repo, make_mirror, write_config
from tests.test_rebase import patch_series

PR_TEMPLATE = """<!-- Please be sure you are following the instructions in the dev guidelines -->

## Description

## Testing

## Checklist
- [ ] I have read the contributing guidelines
"""
BUG_FORM = """name: Bug report
description: Report a bug. For security vulnerabilities see Report security vulnerabilities.
title: "BUG: <Please write a comprehensive title after the 'BUG: ' prefix>"
labels: [00 - Bug]
body:
- type: markdown
  attributes:
    value: Thank you for taking the time to file a bug report.
- type: textarea
  attributes:
    label: "Describe the issue:"
  validations:
    required: true
- type: textarea
  attributes:
    label: "Reproduce the code example:"
- type: textarea
  attributes:
    label: "Error message:"
- type: textarea
  attributes:
    label: "Python and NumPy Versions:"
"""


@pytest.fixture
def numpy_drafts(tmp_path: Path) -> Site:
    up = Repo(tmp_path / "numpy")
    up.commit("BLD: use meson", {"meson.build": "project('numpy')\n"})
    up.commit("BUG: fix a leak", {"numpy/core/src/a.c": "int a;\n"})
    up.commit("TST: add a test", {"numpy/core/tests/test_a.py": "def test(): pass\n"})
    up.commit("MAINT: templates", {".github/PULL_REQUEST_TEMPLATE.md": PR_TEMPLATE,
                                   ".github/ISSUE_TEMPLATE/bug-report.yml": BUG_FORM,
                                   ".github/ISSUE_TEMPLATE/config.yml": "blank: false\n",
                                   "pyproject.toml": "[tool.cibuildwheel]\narchs = []\n"})
    up.tag("v2.2.4", annotated=True)
    queue = tmp_path / "patchsets" / "numpy" / "2.2.4"
    patch_series(up, "v2.2.4", queue, [
        ("0001-add-riscv64-to-the-wheel-matrix.patch",
         "add riscv64 to the wheel matrix\n\nriscv64 wheels build as the others do.\n\n"
         "Upstream-Status: Pending",
         {"pyproject.toml": "[tool.cibuildwheel]\narchs = ['riscv64']\n"}),
        ("0002-TST-skip-nan-sign-test.patch",
         "TST: skip NaN sign test on riscv64\n\nThe sign of NaN is lost.\n\n"
         "Upstream-Status: To upstream [after 2.3]",
         {"numpy/core/tests/test_a.py":
          "import platform, pytest\n@pytest.mark.skipif(platform.machine() == 'riscv64',"
          " reason='canonical NaN')\ndef test(): pass\n"}),
        ("0003-submitted.patch", "BUG: already sent\n\nUpstream-Status: Submitted "
         "[https://github.com/numpy/numpy/pull/1]", {"numpy/core/src/a.c": "int b;\n"}),
        ("0004-ci-only.patch", "CI: runners\n\nUpstream-Status: Inappropriate [our CI]",
         {"ci.txt": "x\n"}),
    ])
    config = write_config(tmp_path / "mirrors.yaml", {"numpy": {
        "upstream": str(up.path), "mirror": str(make_mirror(tmp_path / "m.git").path),
        "version": "2.2.4"}})
    return Site(tmp_path, up, make_mirror(tmp_path / "unused.git"), config, tmp_path / "work")


def draft(run_cli, site: Site, *args: str):  # type: ignore[no-untyped-def]
    assert run_cli(*site.args("sync")).code == 0
    result = run_cli(*site.args("upstream", "draft", "numpy", "--format", "json", *args))
    return result, (json.loads(result.out)["drafts"] if result.out.startswith("{") else None)


def front_and_body(path: Path) -> tuple[dict, str]:  # type: ignore[type-arg]
    _, front, body = path.read_text().split("---\n", 2)
    return yaml.safe_load(front), body


def test_drafts_follow_upstream_conventions(run_cli, numpy_drafts: Site) -> None:
    result, drafts = draft(run_cli, numpy_drafts)
    assert result.code == 0, result.err
    assert [(d["patch"], d["kind"], d["status"]) for d in drafts] == [
        ("0001-add-riscv64-to-the-wheel-matrix.patch", "mr", "written"),
        ("0002-TST-skip-nan-sign-test.patch", "issue", "written")]  # Submitted/Inappropriate: no
    mr_front, mr_body = front_and_body(Path(drafts[0]["path"]))
    assert mr_front["title"] == "BLD: add riscv64 to the wheel matrix"  # numpy's prefixes
    assert (mr_front["kind"], mr_front["target_branch"]) == ("mr", "main")
    assert mr_front["template"] == ".github/PULL_REQUEST_TEMPLATE.md"
    assert mr_front["patches"] == ["patchsets/numpy/2.2.4/0001-add-riscv64-to-the-wheel-matrix"
                                   ".patch"]
    # The template's sections are kept and filled, its checklist left for the maintainer.
    assert "## Description\n\nadd riscv64 to the wheel matrix" in mr_body
    assert "## Testing\n\nCarried in the riscv64 wheel builders' mirror" in mr_body
    assert "- [ ] I have read the contributing guidelines" in mr_body
    issue_front, issue_body = front_and_body(Path(drafts[1]["path"]))
    assert issue_front["title"] == "BUG: skip NaN sign test on riscv64"
    assert issue_front["labels"] == ["00 - Bug"]
    assert "### Describe the issue:\n\nThe sign of NaN is lost." in issue_body
    assert "canonical NaN" in issue_body and "NaN Generation and Propagation" in issue_body
    assert "### Python and NumPy Versions:" in issue_body
    assert ("### Reproduce the code example:\n\nOn riscv64 (hardware or qemu-user), run:\n\n"
            "```\npython -m pytest numpy/core/tests/test_a.py\n```") in issue_body
    assert "### Workaround carried downstream" in issue_body
    assert mr_body.rstrip().endswith("-wheel-matrix.patch`") and "## Links" in mr_body
    assert "Thank you for taking the time" not in issue_body  # markdown items are not fields
    assert "Upstream-Status" not in issue_body


def test_edited_drafts_are_kept_unless_forced(run_cli, numpy_drafts: Site) -> None:
    _, dry = draft(run_cli, numpy_drafts, "--dry-run")
    assert [d["status"] for d in dry] == ["would-write", "would-write"]
    assert not (numpy_drafts.workdir / "drafts").exists()  # a dry run writes nothing
    _, drafts = draft(run_cli, numpy_drafts)
    _, again = draft(run_cli, numpy_drafts)
    assert [d["status"] for d in again] == ["unchanged", "unchanged"]
    path = Path(drafts[0]["path"])
    path.write_text(path.read_text() + "\nA maintainer's careful words.\n")
    _, kept = draft(run_cli, numpy_drafts)
    assert kept[0]["status"] == "kept" and "careful words" in path.read_text()
    _, forced = draft(run_cli, numpy_drafts, "--force")
    assert forced[0]["status"] == "written" and "careful words" not in path.read_text()


def test_a_draft_written_before_its_format_is_the_same_draft(run_cli,
                                                            numpy_drafts: Site) -> None:
    """A draft an older mirrorctl wrote (its front matter saying no format) is the draft
    this one makes: unchanged, left as it is, never kept as if a person had edited it."""
    _, drafts = draft(run_cli, numpy_drafts)
    path = Path(drafts[0]["path"])
    text = path.read_text()
    assert "\nformat: 1\n---\n" in text  # the format below the fields a person reads
    older = text.replace("format: 1\n", "")
    path.write_text(older)
    _, again = draft(run_cli, numpy_drafts)
    assert again[0]["status"] == "unchanged" and path.read_text() == older


@pytest.mark.parametrize(("patch", "message"), [
    ("0003-submitted.patch", "only Pending and To upstream patches are drafted"),
    ("0009-nope.patch", "no patch '0009-nope.patch' in the queue"),
])
def test_patch_selection(run_cli, numpy_drafts: Site, patch: str, message: str) -> None:
    result, _ = draft(run_cli, numpy_drafts, "--patch", patch)
    assert result.code == 2 and message in result.err


def test_the_mirror_link_uses_the_mirror_web_page(run_cli, numpy_drafts: Site) -> None:
    text = numpy_drafts.config.read_text().replace(
        "    version: 2.2.4\n", "    version: 2.2.4\n    mirror_web: "
        "https://gitlab.example.org/rise/mirrors/numpy\n")
    assert "mirror_web" in text
    numpy_drafts.config.write_text(text)
    _, drafts = draft(run_cli, numpy_drafts)
    _, body = front_and_body(Path(drafts[0]["path"]))
    assert ("- Mirror branch: https://gitlab.example.org/rise/mirrors/numpy/-/tree/"
            "riscv64/2.2.4") in body


def test_a_self_hosted_mirror_named_in_forge_apis_gets_its_link(run_cli,
                                                               numpy_drafts: Site) -> None:
    text = numpy_drafts.config.read_text().replace(
        "    version: 2.2.4\n", "    version: 2.2.4\n    mirror_web: "
        "https://git.example.org/rise/mirrors/numpy\n").replace(
        "defaults:\n", "defaults:\n  forge_apis:\n    git.example.org: "
                       "https://git.example.org\n", 1)
    numpy_drafts.config.write_text(text)
    _, drafts = draft(run_cli, numpy_drafts)
    _, body = front_and_body(Path(drafts[0]["path"]))
    assert ("- Mirror branch: https://git.example.org/rise/mirrors/numpy/-/tree/"
            "riscv64/2.2.4") in body


def test_one_patch_into_another_folder(run_cli, numpy_drafts: Site, tmp_path: Path) -> None:
    result, drafts = draft(run_cli, numpy_drafts, "--patch", "0002-TST-skip-nan-sign-test",
                           "--out", str(tmp_path / "out"))
    assert result.code == 0 and len(drafts) == 1
    assert drafts[0]["path"] == str(tmp_path / "out" / "0002-TST-skip-nan-sign-test.md")


def test_kind_title_and_forge_are_pure_decisions(numpy_drafts: Site) -> None:
    queue = numpy_drafts.root / "patchsets" / "numpy" / "2.2.4"
    patches = {p.name: parse_patch(p) for p in queue.glob("*.patch")}
    assert draft_kind(patches["0001-add-riscv64-to-the-wheel-matrix.patch"])[0] == "mr"
    assert draft_kind(patches["0002-TST-skip-nan-sign-test.patch"])[0] == "issue"
    plain = Conventions()
    numpy_like = Conventions(prefixes=("BUG", "MAINT", "TST", "BLD"))
    matrix = patches["0001-add-riscv64-to-the-wheel-matrix.patch"]
    assert draft_title(matrix, plain) == "add riscv64 to the wheel matrix"
    assert draft_title(matrix, numpy_like) == "BLD: add riscv64 to the wheel matrix"
    assert draft_title(patches["0003-submitted.patch"], numpy_like) == "BUG: already sent"
    assert forge_of("https://github.com/numpy/numpy.git") == ("github", "numpy/numpy")
    assert forge_of("git@gitlab.com:riseproject/python/numpy.git") == (
        "gitlab", "riseproject/python/numpy")
    assert forge_of("/srv/git/numpy") == ("unknown", "srv/git/numpy")


def test_likely_duplicates() -> None:
    from mirrorctl.upstream.drafts import likely_duplicates

    found = [
        ("u1", "BUG: NaN sign tests fail on riscv64", "test_nan_sign fails"),
        ("u2", "riscv64 wheels", "please build numpy/core/tests/test_umath.py on riscv64"),
        ("u3", "BUG: NaN sign tests fail on arm64", "no mention of our platform"),
        ("u4", "ENH: faster sorting", "riscv64 numbers attached"),
    ]
    title = "TST: skip NaN sign tests on riscv64"
    assert [u for u, _, _ in likely_duplicates(found, title, ["numpy/core/tests/test_umath.py"])
            ] == ["u1", "u2"]
    assert likely_duplicates(found, "MAINT: unrelated change", ["setup.py"]) == []


def test_a_nan_issue_draft_names_the_tests_the_builds_saw_fail(run_cli,
                                                               numpy_drafts: Site) -> None:
    results = numpy_drafts.workdir / "results" / "numpy" / "2.2.4.json"
    results.parent.mkdir(parents=True)
    results.write_text(json.dumps({"version": "2.2.4", "source": "", "builds": [
        {"python": "3.12", "built": True, "tested": True, "cases": [
            {"name": "numpy.core.tests.test_a.test_sign", "outcome": "failed",
             "message": "assert not signbit(nan)"},
            {"name": "numpy.core.tests.test_a.test_solve", "outcome": "failed",
             "message": "assert 3 == 4"},  # a failure, but not a NaN one
            {"name": "numpy.core.tests.test_a.test_ok", "outcome": "passed"}]}]}))
    result, drafts = draft(run_cli, numpy_drafts, "--patch", "0002-TST-skip-nan-sign-test.patch")
    assert result.code == 0, result.err
    _, body = front_and_body(Path(drafts[0]["path"]))
    assert "The riscv64 builds of 2.2.4 fail these tests so:\n" \
           "- `numpy.core.tests.test_a.test_sign (3.12)`" in body
    assert "test_solve" not in body


@pytest.mark.parametrize(("conventions", "title"), [
    # most subjects typed: a type, ci where the project has none for CI
    (Conventions(types=("feat", "fix"), typed=0.8), "ci: add riscv64 wheels"),
    (Conventions(types=("fix", "build"), typed=0.7), "build: add riscv64 wheels"),
    # some typed, CI changes among them: typed
    (Conventions(types=("ci",), typed=0.2), "ci: add riscv64 wheels"),
    # some typed, but not its CI changes; almost none typed: none
    (Conventions(types=("fix",), typed=0.3), "Add riscv64 wheels"),
    (Conventions(types=(), typed=0.05), "Add riscv64 wheels"),
    # numpy's upper-case prefixes
    (Conventions(prefixes=("MAINT", "BUG", "BLD"), typed=0.0), "BLD: add riscv64 wheels"),
])
def test_the_wheel_subject_follows_the_projects_own(conventions: Conventions,
                                                    title: str) -> None:
    from mirrorctl.upstream.wheels.request import wheel_title

    assert wheel_title(conventions, native=False) == title
    assert len(wheel_title(Conventions(prefixes=("X" * 70,)), native=True)) == 72
