"""Every line of the builders' workflows that names the version, bumped exactly (and
nothing else), proved by parsing; the docs entry gaining the new version."""

from __future__ import annotations

import yaml

from mirrorctl.night.deliver.files import add_docs_version, bump_workflow, workflows_of

# A build and a test workflow in the shape of theirs: the version in every spelling.
BUILD = """\
name: Build matplotlib wheels (riscv64)

on:
  workflow_dispatch:
    inputs:
      version:
        description: 'matplotlib version to build (git tag without leading v, e.g. 3.11.0)'
        required: true
        default: '3.11.0'

concurrency:
  group: ${{ github.workflow }}-${{ inputs.version || '3.11.0' }}-${{ github.run_id }}

env:
  MPL_VERSION: ${{ inputs.version || '3.11.0' }}
  PYTHON: '3.11.0'  # a Python of the same spelling: not the package's version

jobs:
  build_sdist:
    name: Build matplotlib ${{ inputs.version || '3.11.0' }} sdist
    runs-on: ubuntu-24.04-riscv
    steps:
      - uses: actions/checkout@v4
        with:
          repository: matplotlib/matplotlib
          ref: v${{ env.MPL_VERSION }}
      - run: git apply python-wheels/patches/matplotlib/${{ env.MPL_VERSION }}/00*.patch
"""
TEST = BUILD.replace("Build", "Test").replace("build", "test").replace(
    "test_sdist", "test_wheels")


def test_every_copy_of_the_version_and_nothing_else() -> None:
    bumped = bump_workflow(BUILD, "3.11.0", "3.11.1")
    assert not bumped.problem
    assert len(bumped.lines) == 5  # description, default, group, env, name
    assert "3.11.0" not in bumped.text.replace("PYTHON: '3.11.0'", "")
    assert "PYTHON: '3.11.0'" in bumped.text  # no "version" on its line: left alone
    before, after = BUILD.splitlines(), bumped.text.splitlines()
    assert [n + 1 for n, (x, y) in enumerate(zip(before, after, strict=True)) if x != y] \
        == list(bumped.lines)
    assert yaml.safe_load(bumped.text)["env"]["MPL_VERSION"] == \
        "${{ inputs.version || '3.11.1' }}"
    assert len(bump_workflow(TEST, "3.11.0", "3.11.1").lines) == 5  # 10 copies in all


def test_a_version_inside_another_is_not_touched() -> None:
    text = BUILD.replace("e.g. 3.11.0", "e.g. 3.11.0, not 13.11.0 or 3.11.0.1 or 3.11.0rc1")
    bumped = bump_workflow(text, "3.11.0", "3.11.1")
    assert "e.g. 3.11.1, not 13.11.0 or 3.11.0.1 or 3.11.0rc1" in bumped.text


def test_an_edit_that_cannot_be_proved_is_not_made() -> None:
    broken = BUILD + "  bad: [unclosed\n"
    bumped = bump_workflow(broken, "3.11.0", "3.11.1")
    assert bumped.text == broken and "does not parse" in bumped.problem
    nothing = bump_workflow("name: x\n", "3.11.0", "3.11.1")
    assert nothing.text == "name: x\n" and "no line names the version" in nothing.problem


def test_the_workflows_of_a_package() -> None:
    texts = {".github/workflows/build-matplotlib.yml": BUILD,
             ".github/workflows/test-matplotlib.yml": TEST,
             ".github/workflows/build-numpy.yml": BUILD.replace("matplotlib", "numpy"),
             ".github/workflows/docs.yml": "name: docs\n",
             ".github/workflows/release-plots.yml": BUILD}  # carries matplotlib's version
    assert workflows_of("matplotlib", texts, old="3.11.0") == [
        ".github/workflows/build-matplotlib.yml", ".github/workflows/release-plots.yml",
        ".github/workflows/test-matplotlib.yml"]
    assert workflows_of("polars-runtime-64", {
        ".github/workflows/build-polars-runtime.yml": "x: 1\n"}, old="1.0") == [
        ".github/workflows/build-polars-runtime.yml"]


DOCS = """\
package-name: matplotlib
source-code: https://github.com/matplotlib/matplotlib
license: Matplotlib license
warning: Tests not currently run
versions:
  - version: 3.10.9
  - version: 3.11.0
    patched:
    comment: We patch matplotlib to increase threading test timeouts.
"""


def test_the_docs_entry_gains_the_new_version_as_they_write_it() -> None:
    entry = add_docs_version(DOCS, "3.11.1", patched=True,
                             comment="We patch matplotlib: TST: longer timeouts.")
    assert entry.added and not entry.problem
    assert entry.text == DOCS + ("  - version: 3.11.1\n    patched:\n"
                                 "    comment: 'We patch matplotlib: TST: longer timeouts.'\n")
    assert add_docs_version(entry.text, "3.11.1", patched=True, comment=None).added is False
    plain = add_docs_version(DOCS, "3.12.0", patched=False, comment=None)
    assert plain.text.endswith("  - version: 3.12.0\n")
    later = DOCS.replace("versions:", "deprecated: false\nversions:") + "notes: kept\n"
    moved = add_docs_version(later, "3.11.1", patched=False, comment=None)
    assert moved.added and moved.text.endswith("  - version: 3.11.1\nnotes: kept\n")


def test_nothing_left_to_carry_removes_the_apply_step_alone() -> None:
    from mirrorctl.night.deliver.apply_steps import remove_apply_step

    edit = remove_apply_step(BUILD, "matplotlib")
    assert edit.removed and not edit.problem
    assert "git apply" not in edit.text
    steps = yaml.safe_load(edit.text)["jobs"]["build_sdist"]["steps"]
    assert [s.get("uses") for s in steps] == ["actions/checkout@v4"]
    assert edit.text.replace("\n", "") in BUILD.replace("\n", "")  # lines removed, no edit
    assert not remove_apply_step(BUILD, "numpy").removed  # not its queue: not its step


# Their torch shape: the patches named one by one, in two jobs, in a `run: |` block.
TORCH = """\
on:
  workflow_dispatch:
    inputs:
      version: {default: '2.13.0'}
env:
  TORCH_VERSION: ${{ inputs.version || '2.13.0' }}
jobs:
%s"""
TORCH_JOB = """\
  %s:
    runs-on: ubuntu-24.04-riscv
    steps:
      - uses: actions/checkout@v4
        with: {path: python-wheels}

      # Our riscv64 CI scripts, until upstream has them
      - name: Patch pytorch source
        working-directory: pytorch
        run: |
          git apply ../python-wheels/patches/torch/${{ env.TORCH_VERSION }}+cpu/0001-CI-Dockerfile.patch
          git apply ../python-wheels/patches/torch/${{ env.TORCH_VERSION }}+cpu/0002-CI-scripts.patch

      - name: Build
        run: echo build
"""  # noqa: E501
TORCH_TWO_JOBS = TORCH % (TORCH_JOB % "build" + "\n" + TORCH_JOB % "smoke")


def test_patches_named_one_by_one_follow_the_queue() -> None:
    from mirrorctl.night.deliver.apply_steps import carry_apply_steps

    edit = carry_apply_steps(TORCH_TWO_JOBS, "torch", ["0001-CI-Dockerfile.patch"])
    assert edit.changed == 2 and not edit.problem  # one line gone in each job
    assert "0002-CI-scripts" not in edit.text and edit.text.count("0001-CI-Dockerfile") == 2
    data = yaml.safe_load(edit.text)
    for job in ("build", "smoke"):
        [_, patch, build] = data["jobs"][job]["steps"]
        assert patch["run"].strip().endswith("+cpu/0001-CI-Dockerfile.patch")
        assert build == {"name": "Build", "run": "echo build"}
    # A patch a person added to the queue joins the list, in the list's own form.
    grown = carry_apply_steps(TORCH_TWO_JOBS, "torch", [
        "0001-CI-Dockerfile.patch", "0002-CI-scripts.patch", "0003-CI-native-image.patch"])
    assert grown.changed == 2 and grown.text.count(
        "git apply ../python-wheels/patches/torch/${{ env.TORCH_VERSION }}+cpu/"
        "0003-CI-native-image.patch\n") == 2
    same = carry_apply_steps(TORCH_TWO_JOBS, "torch", [
        "0001-CI-Dockerfile.patch", "0002-CI-scripts.patch"])
    assert same.changed == 0 and same.text == TORCH_TWO_JOBS


def test_nothing_left_to_carry_removes_every_apply_step_and_its_comment() -> None:
    from mirrorctl.night.deliver.apply_steps import carry_apply_steps

    edit = carry_apply_steps(TORCH_TWO_JOBS, "torch", [])
    assert edit.changed == 2 and not edit.problem
    assert "git apply" not in edit.text and "Our riscv64 CI scripts" not in edit.text
    data = yaml.safe_load(edit.text)
    assert [s.get("name") for s in data["jobs"]["smoke"]["steps"]] == [None, "Build"]


def test_a_step_doing_more_than_applying_is_left_and_said() -> None:
    from mirrorctl.night.deliver.apply_steps import carry_apply_steps

    mixed = TORCH_TWO_JOBS.replace("          git apply ../python-wheels/patches/torch/"
                                   "${{ env.TORCH_VERSION }}+cpu/0002-CI-scripts.patch\n",
                                   "          git apply ../python-wheels/patches/torch/"
                                   "${{ env.TORCH_VERSION }}+cpu/0002-CI-scripts.patch\n"
                                   "          ./regenerate.sh\n")
    edit = carry_apply_steps(mixed, "torch", [])
    assert edit.changed == 0 and edit.text == mixed
    assert "does more than apply" in edit.problem


# Their pillow shape, with no apply step: the package had nothing left to carry.
PILLOW = """\
---
name: Build pillow wheels (riscv64)

on:
  workflow_dispatch:
    inputs:
      version:
        default: '12.3.0'

env:
  PILLOW_VERSION: ${{ inputs.version || '12.3.0' }}

jobs:
  build_wheels:
    runs-on: ubuntu-24.04-riscv
    steps:
      - name: Checkout pillow v${{ env.PILLOW_VERSION }}
        uses: actions/checkout@v7
        with:
          repository: python-pillow/Pillow
          ref: ${{ env.PILLOW_VERSION }}

      - name: Checkout python-wheels
        uses: actions/checkout@v7
        with:
          path: python-wheels
          persist-credentials: false

      - name: Build wheels
        uses: pypa/cibuildwheel@v4
  lint:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v7
"""


def test_patches_coming_back_bring_their_apply_step_back() -> None:
    from mirrorctl.night.deliver.apply_steps import add_apply_step, carry_apply_steps

    edit = add_apply_step(PILLOW, "pillow")
    assert edit.changed == 1 and not edit.problem
    steps = yaml.safe_load(edit.text)["jobs"]["build_wheels"]["steps"]
    assert [s["name"] for s in steps] == ["Checkout pillow v${{ env.PILLOW_VERSION }}",
                                          "Checkout python-wheels", "Patch pillow source",
                                          "Build wheels"]
    assert steps[2]["run"] == \
        "git apply python-wheels/patches/pillow/${{ env.PILLOW_VERSION }}/00*.patch\n"
    assert "\n\n      - name: Patch pillow source\n" in edit.text  # their blank lines kept
    assert yaml.safe_load(edit.text)["jobs"]["lint"] == yaml.safe_load(PILLOW)["jobs"]["lint"]
    # Then it is a step like any: nothing left removes it again, to the byte.
    assert carry_apply_steps(edit.text, "pillow", []).text == PILLOW
    # Upstream checked out in its own folder: the step works there, as torch's does.
    inside = PILLOW.replace("          ref: ${{ env.PILLOW_VERSION }}\n",
                            "          ref: ${{ env.PILLOW_VERSION }}\n          path: pillow\n")
    step = yaml.safe_load(add_apply_step(inside, "pillow").text)["jobs"]["build_wheels"][
        "steps"][2]
    assert step["working-directory"] == "pillow" and step["run"].startswith(
        "git apply ../python-wheels/patches/pillow/")
    # No variable carries the version: nothing is guessed.
    bare = add_apply_step(PILLOW.replace("PILLOW_VERSION", "WHATEVER").replace(
        "${{ inputs.version || '12.3.0' }}", "fixed"), "pillow")
    assert bare.changed == 0 and "carries the version" in bare.problem
    assert add_apply_step(TORCH_TWO_JOBS, "torch").changed == 0  # it has its steps


def test_a_comment_over_several_lines_is_kept_as_a_block() -> None:
    page = ("package-name: pillow\nversions:\n  - version: 12.2.0\n    patched:\n"
            "    comment: |\n      - Rebase the lto patch\n\n      - Skip a Wayland test\n")
    comment = yaml.safe_load(page)["versions"][0]["comment"]
    entry = add_docs_version(page, "12.3.0", patched=True, comment=comment)
    assert entry.added and not entry.problem
    assert entry.text == page + ("  - version: 12.3.0\n    patched:\n    comment: |\n"
                                 "      - Rebase the lto patch\n\n      - Skip a Wayland test\n")
    assert yaml.safe_load(entry.text)["versions"][1]["comment"] == comment


def test_a_docs_comment_in_their_words() -> None:
    from mirrorctl.night.deliver.files import comment_from

    assert comment_from(["TST: Increase threading test timeouts"], "matplotlib") == \
        "We patch matplotlib to increase threading test timeouts."
    assert comment_from(["BLD: disable SIMD for libjpeg-turbo", "CI: use uv pip"], "pillow") \
        == "We patch pillow to disable SIMD for libjpeg-turbo, and to use uv pip."
    assert comment_from(["Fix BLAS detection", "RISC-V vector off", "x: y"], "numpy") == \
        "We patch numpy to fix BLAS detection, to RISC-V vector off, and to y."
    assert comment_from([], "numpy") is None
