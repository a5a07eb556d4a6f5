"""The drafted change for each shape upstreams build wheels in: a golden patch each,
proved (files parse and differ only where riscv64 went, the expanded matrix has riscv64
jobs that can run, cibuildwheel lists riscv64 builds), and refused where it cannot be
proved."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from mirrorctl.upstream.wheels.ci import read_wheel_ci
from mirrorctl.upstream.wheels.draft import draft_change
from mirrorctl.upstream.wheels.expressions import UNKNOWN, evaluate, truthy
from mirrorctl.upstream.wheels.matrix import expand_matrix
from mirrorctl.upstream.wheels.plan import CannotDraft, WheelOptions
from testbed import wheelshapes as shapes

GOLDEN = Path(__file__).parent / "data" / "wheeldrafts"
SHAPES = {"emulated-matrix": shapes.EMULATED_MATRIX, "include": shapes.INCLUDE_ENTRIES,
          "native": shapes.NATIVE_RUNNERS, "pyproject": shapes.PYPROJECT_ARCHS,
          "maturin": shapes.MATURIN, "maturin-include": shapes.MATURIN_FLOW_INCLUDE,
          "maturin-nested": shapes.MATURIN_NESTED}


def diff(old: dict[str, str], new: dict[str, str]) -> str:
    return "".join("".join(difflib.unified_diff(
        old[path].splitlines(True), text.splitlines(True), f"a/{path}", f"b/{path}"))
        for path, text in sorted(new.items()))


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_each_shape_gets_its_golden_change(shape: str, cibuildwheel_tools) -> None:  # type: ignore[no-untyped-def]
    files = SHAPES[shape]
    change = draft_change(files, read_wheel_ci(files), WheelOptions(tools=cibuildwheel_tools))
    assert diff(files, dict(change.files)) == (GOLDEN / f"{shape}.diff").read_text()
    assert change.checks[0].endswith("differs only where riscv64 was added")
    assert read_wheel_ci({**files, **change.files}).builds_riscv64


def test_cibuildwheel_lists_the_riscv64_builds_and_the_count_follows(
        cibuildwheel_tools) -> None:  # type: ignore[no-untyped-def]
    change = draft_change(shapes.NATIVE_RUNNERS, read_wheel_ci(shapes.NATIVE_RUNNERS),
                          WheelOptions(tools=cibuildwheel_tools))
    # pyproject builds cp310-cp314 and skips musllinux: five riscv64 wheels more, under
    # QEMU on the x86_64 runner (the runner list became include entries).
    assert change.identifiers == tuple(f"cp3{m}-manylinux_riscv64" for m in range(10, 15))
    assert not change.native
    assert ".github/workflows/release.yml:28: expected wheels 20 -> 25" in change.changes
    # Proved with the version the workflow pins (the action's ref), installed once.
    assert any(c.startswith("cibuildwheel 3.1.4 (pinned at .github/workflows/release.yml:25) "
                            "lists 5 riscv64 builds") for c in change.checks), change.checks


def test_without_cibuildwheel_the_check_is_said_skipped_and_a_count_refuses() -> None:
    off = WheelOptions(cibuildwheel=False)
    change = draft_change(shapes.EMULATED_MATRIX, read_wheel_ci(shapes.EMULATED_MATRIX), off)
    assert any("not checked with cibuildwheel" in c for c in change.checks)
    with pytest.raises(CannotDraft, match="counts the expected wheels"):
        draft_change(shapes.NATIVE_RUNNERS, read_wheel_ci(shapes.NATIVE_RUNNERS), off)


def test_a_qemu_condition_that_lists_the_architectures_takes_riscv64() -> None:
    text = shapes.EMULATED_MATRIX[".github/workflows/wheels.yml"].replace(
        "if: runner.os == 'Linux' && matrix.arch != 'x86_64'",
        "if: ${{ matrix.arch == 'aarch64' || matrix.arch == 'ppc64le' || "
        "matrix.arch == 's390x' }}")
    files = {**shapes.EMULATED_MATRIX, ".github/workflows/wheels.yml": text}
    change = draft_change(files, read_wheel_ci(files), WheelOptions(cibuildwheel=False))
    new = change.files[".github/workflows/wheels.yml"]
    assert ("if: ${{ matrix.arch == 'aarch64' || matrix.arch == 'ppc64le' || "
            "matrix.arch == 's390x' || matrix.arch == 'riscv64' }}") in new


@pytest.mark.parametrize(("old", "new", "why"), [
    ("if: runner.os == 'Linux' && matrix.arch != 'x86_64'",
     "if: github.event_name == 'push'", "cannot be evaluated"),
    ("      - name: Set up QEMU\n        if: runner.os == 'Linux' && matrix.arch != 'x86_64'\n"
     "        uses: docker/setup-qemu-action@v3\n        with:\n"
     "          platforms: arm64,ppc64le,s390x\n", "", "no QEMU step"),
    ("        exclude:\n          - arch: s390x\n            libc: musllinux\n"
     "          - libc: musllinux\n            image: manylinux2014\n",
     "        exclude: [{arch: s390x, libc: musllinux}, {libc: musllinux, image: "
     "manylinux2014}]\n", "no block `exclude:` list"),
], ids=["condition", "no-qemu", "flow-exclude"])
def test_what_cannot_be_proved_is_refused(old: str, new: str, why: str) -> None:
    text = shapes.EMULATED_MATRIX[".github/workflows/wheels.yml"]
    assert old in text
    files = {**shapes.EMULATED_MATRIX, ".github/workflows/wheels.yml": text.replace(old, new)}
    with pytest.raises(CannotDraft, match=why):
        draft_change(files, read_wheel_ci(files), WheelOptions(cibuildwheel=False))


def test_a_package_that_asks_for_a_riscv64_runner_gets_one_beside_the_emulated() -> None:
    native = WheelOptions(native=True, cibuildwheel=False)
    change = draft_change(shapes.EMULATED_MATRIX, read_wheel_ci(shapes.EMULATED_MATRIX),
                          native)
    text = change.files[".github/workflows/wheels.yml"]
    # One entry for each libc with a riscv64 image; manylinux2014 has none.
    assert text.count("- os: ubuntu-24.04-riscv\n            arch: riscv64\n") == 2
    assert "if: (runner.os == 'Linux' && matrix.arch != 'x86_64') && matrix.os != " \
        "'ubuntu-24.04-riscv'" in text
    assert change.native and "riscv64 added to matrix.arch" not in " ".join(change.changes)
    assert {r.combination["libc"] for r in change.job.riscv64_runs} == {"manylinux",
                                                                         "musllinux"}
    included = draft_change(shapes.INCLUDE_ENTRIES, read_wheel_ci(shapes.INCLUDE_ENTRIES),
                            native)
    assert "if: ${{ matrix.qemu }}" in included.files[".github/workflows/build.yml"]
    with pytest.raises(CannotDraft, match="asks for a riscv64 runner"):
        draft_change(shapes.PYPROJECT_ARCHS, read_wheel_ci(shapes.PYPROJECT_ARCHS), native)
    label = WheelOptions(native=True, runner="riscv64-large", cibuildwheel=False)
    files = {**shapes.NATIVE_RUNNERS}
    files[".github/workflows/release.yml"] = files[".github/workflows/release.yml"].replace(
        'run: test "$(ls dist/*.whl | wc -l)" -eq 20', "run: ls dist")
    change = draft_change(files, read_wheel_ci(files), label)
    assert "riscv64-large added to matrix.os" in change.changes[0]


@pytest.mark.parametrize(("text", "matrix", "value"), [
    ("runner.os == 'Linux' && matrix.arch != 'x86_64'", {"arch": "riscv64"}, True),
    ("${{ matrix.qemu }}", {"qemu": True}, True),
    ("${{ matrix.qemu }}", {}, None),  # a missing key is null
    ("contains(matrix.arch, 'arm') || startsWith(matrix.os, 'ubuntu')",
     {"arch": "riscv64", "os": "Ubuntu-22.04"}, True),
    ("!(matrix.arch == 'X86_64')", {"arch": "x86_64"}, False),  # strings compare caseless
    ("matrix.n >= 2 && 'yes' || 'no'", {"n": 3}, "yes"),
    ("""contains(fromJSON('["ppc64le", "s390x"]'), matrix.arch)""", {"arch": "s390x"}, True),
    ("""contains(fromJSON('["ppc64le", "s390x"]'), matrix.arch)""", {"arch": "riscv64"},
     False),
])
def test_expressions_as_github_evaluates_them(text: str, matrix: dict[str, object],
                                              value: object) -> None:
    assert evaluate(text, {"matrix": matrix, "runner": {"os": "Linux"}}) == value


def test_an_expression_it_cannot_read_is_unknown_not_false() -> None:
    assert evaluate("github.ref == 'refs/heads/main'", {"matrix": {}}) is UNKNOWN
    assert evaluate("fromJSON(inputs.x)", {"matrix": {}}) is UNKNOWN
    assert evaluate("matrix.arch ==", {"matrix": {"arch": "x"}}) is UNKNOWN
    assert not truthy(None) and not truthy(UNKNOWN)


def test_anchors_elsewhere_change_nothing_and_are_kept() -> None:
    """Anchors the edit does not touch (a trigger's paths, a flag): the draft is written,
    the anchors as they were."""
    text = shapes.EMULATED_MATRIX[".github/workflows/wheels.yml"].replace(
        "      fail-fast: false\n", "      fail-fast: *no\n")
    text = text.replace("  build_sdist:\n    runs-on: ubuntu-latest\n",
                        "  build_sdist:\n    runs-on: ubuntu-latest\n"
                        "    continue-on-error: &no false\n")
    text = text.replace('  pull_request:\n    paths: [".github/workflows/wheels.yml"]\n',
                        '  pull_request:\n    paths: &paths [".github/workflows/wheels.yml"]\n'
                        '  workflow_dispatch:\n')
    files = {**shapes.EMULATED_MATRIX, ".github/workflows/wheels.yml": text}
    change = draft_change(files, read_wheel_ci(files), WheelOptions(cibuildwheel=False))
    new = change.files[".github/workflows/wheels.yml"]
    assert "&no false" in new and "fail-fast: *no" in new and "&paths" in new
    assert "arch: [x86_64, aarch64, ppc64le, s390x, riscv64]" in new


_SHARED = """\
on: push
jobs:
  wheels:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        arch: &archs [x86_64, aarch64, ppc64le]
    steps:
      - uses: docker/setup-qemu-action@v3
      - uses: pypa/cibuildwheel@v3.1.4
        env:
          CIBW_ARCHS: ${{ matrix.arch }}
          CIBW_MANYLINUX_X86_64_IMAGE: manylinux_2_39
  OTHER:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        arch: *archs
    steps:
      - uses: docker/setup-qemu-action@v3
STEPS
"""


def test_an_anchored_list_shared_with_a_job_that_is_no_wheel_job_is_refused() -> None:
    """The tests under QEMU read the same list: riscv64 there is a change no one asked
    for, so the alias that would change it is named."""
    text = _SHARED.replace("OTHER", "tests").replace(
        "STEPS", "      - run: docker run --platform linux/${{ matrix.arch }} python:3.13 "
                 "true")
    files = {".github/workflows/wheels.yml": text, "pyproject.toml": shapes.PYPROJECT.format(
        name="shared")}
    with pytest.raises(CannotDraft, match=r"would change jobs\.tests\.strategy\.matrix\.arch "
                                          r"too \(a YAML alias of the node edited\)"):
        draft_change(files, read_wheel_ci(files), WheelOptions(cibuildwheel=False))


def test_an_anchored_list_shared_by_two_wheel_jobs_is_edited_once_for_both() -> None:
    text = _SHARED.replace("OTHER", "wheels_pre").replace(
        "STEPS", "      - uses: pypa/cibuildwheel@v3.1.4\n        env:\n          CIBW_ARCHS: "
                 "${{ matrix.arch }}\n          CIBW_ENABLE: cpython-prerelease")
    files = {".github/workflows/wheels.yml": text, "pyproject.toml": shapes.PYPROJECT.format(
        name="shared")}
    change = draft_change(files, read_wheel_ci(files), WheelOptions(cibuildwheel=False))
    new = change.files[".github/workflows/wheels.yml"]
    assert "arch: &archs [x86_64, aarch64, ppc64le, riscv64]" in new
    assert new.count("riscv64") == 1 + new.count("RISCV64")  # the list, and its image line
    assert "job wheels_pre shares the edited node (a YAML alias) and builds riscv64 too" \
        in change.checks[0]


def test_a_matrix_over_githubs_limit_is_not_expanded() -> None:
    assert expand_matrix({"a": list(range(17)), "b": list(range(16))}) is None
    assert expand_matrix({"a": list(range(16)), "b": list(range(16))}) is not None


def test_a_list_of_the_other_architectures_elsewhere_refuses_the_patch() -> None:
    """A check that lists the wheels it expects would be wrong once riscv64 builds."""
    text = shapes.EMULATED_MATRIX[".github/workflows/wheels.yml"] + (
        "  check:\n    needs: build_wheels\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: for a in x86_64 aarch64 ppc64le s390x; do ls dist/*_$a.whl; done\n")
    files = {**shapes.EMULATED_MATRIX, ".github/workflows/wheels.yml": text}
    line = text.splitlines().index(
        "      - run: for a in x86_64 aarch64 ppc64le s390x; do ls dist/*_$a.whl; done") + 1
    with pytest.raises(CannotDraft, match=f"wheels.yml:{line} lists the other architectures"):
        draft_change(files, read_wheel_ci(files), WheelOptions(cibuildwheel=False))


def test_entries_each_on_its_own_runner_get_riscv64_under_qemu_and_its_config_file(
        cibuildwheel_tools) -> None:  # type: ignore[no-untyped-def]
    """A project that emulates nothing (x86_64 and aarch64 each on its runner): riscv64
    under QEMU on the x86_64 entry's runner, with a QEMU step for it alone (what the
    maintainers who added riscv64 this way wrote); a riscv64 runner only when asked."""
    files = shapes.NATIVE_INCLUDE
    change = draft_change(files, read_wheel_ci(files), WheelOptions(tools=cibuildwheel_tools))
    text = change.files[".github/workflows/wheels.yml"]
    assert "        - os: ubuntu-24.04-arm\n          archs: aarch64\n        - os: " \
        "ubuntu-24.04\n          archs: riscv64\n        - os: macos-14\n" in text
    assert "    - name: Set up QEMU\n      if: matrix.archs == 'riscv64'\n      uses: " \
        "docker/setup-qemu-action@v3\n      with:\n        platforms: riscv64\n    - name: " \
        "Build wheels\n" in text
    assert not change.native
    asked = draft_change(files, read_wheel_ci(files), WheelOptions(native=True,
                                                                   cibuildwheel=False))
    assert "        - os: ubuntu-24.04-riscv\n          archs: riscv64\n" in asked.files[
        ".github/workflows/wheels.yml"] and asked.native
    # the build selector of .cibuildwheel.toml, read by the pinned 3.2.1
    assert change.identifiers == ("cp311-manylinux_riscv64", "cp312-manylinux_riscv64",
                                  "cp313-manylinux_riscv64")


def test_a_runner_picked_by_an_expression_and_cibuildwheel_run_by_uvx() -> None:
    files = shapes.EXPRESSION_RUNNER
    ci = read_wheel_ci(files)
    [job] = ci.jobs
    assert (set(job.archs), job.shape, job.emulated) == (
        {"aarch64", "ppc64le", "s390x", "x86_64"}, "matrix", True)
    change = draft_change(files, ci, WheelOptions(cibuildwheel=False))
    text = change.files[".github/workflows/wheel.yml"]
    assert "          - 'x86_64'\n          - 'riscv64'\n" in text  # upstream's quoting
    assert "          - arch: 'riscv64'\n            image: 'manylinux2014'\n" in text
    assert "|| matrix.arch == 's390x' || matrix.arch == 'riscv64' }}" in text
    assert "CIBW_MANYLINUX_RISCV64_IMAGE: quay.io/pypa/${{ matrix.image }}_riscv64:latest" \
        in text
    # Each riscv64 job: emulated on ubuntu-24.04, never on the manylinux2014 image.
    assert {(r.runner, r.combination["image"]) for r in change.job.riscv64_runs} == {
        ("ubuntu-24.04", "manylinux_2_39")}


def test_a_pinned_cibuildwheel_not_to_be_had_leaves_the_draft_written_and_unproved(
        cibuildwheel_tools) -> None:  # type: ignore[no-untyped-def]
    files = dict(shapes.EMULATED_MATRIX)
    path = ".github/workflows/wheels.yml"
    assert "pypa/cibuildwheel@v3.1.4" in files[path]
    files[path] = files[path].replace("pypa/cibuildwheel@v3.1.4", "pypa/cibuildwheel@v2.23.3")
    change = draft_change(files, read_wheel_ci(files), WheelOptions(tools=cibuildwheel_tools))
    assert change.identifiers == () and change.files
    assert change.proof.startswith("not checked with cibuildwheel, so unproved: cibuildwheel "
                                   "2.23.3 (pinned at .github/workflows/wheels.yml:"), \
        change.proof


def test_a_matrix_whose_images_have_no_riscv64_build_is_refused_naming_them(
        cibuildwheel_tools) -> None:  # type: ignore[no-untyped-def]
    """manylinux_2_28 has no riscv64 image (cibuildwheel's pinned images say so: 2_39 and
    musllinux_1_2 have): riscv64 left out of every image is no patch."""
    files = dict(shapes.EMULATED_MATRIX)
    path = ".github/workflows/wheels.yml"
    files[path] = files[path].replace("image: [manylinux2014, manylinux_2_39]",
                                      "image: [manylinux2014, manylinux_2_28]")
    with pytest.raises(CannotDraft, match=r"still builds no riscv64 wheel: riscv64 left out "
                                          r"of manylinux2014, manylinux_2_28 \(no riscv64 "
                                          r"build\), and none of its other images has one "
                                          r"\(those that do: manylinux_2_39, musllinux_1_2\)"):
        draft_change(files, read_wheel_ci(files), WheelOptions(tools=cibuildwheel_tools))


def test_flow_entries_with_a_qemu_key_get_riscv64_beside_the_emulated_ones(
        cibuildwheel_tools) -> None:  # type: ignore[no-untyped-def]
    """The shape of psutil's CI: one flow mapping an entry, the QEMU platform a key of the
    entry the step reads (`platforms: ${{ matrix.qemu }}`), uvx --from the pin; pyproject
    skips the emulated tests and overrides one of them."""
    files = shapes.FLOW_QEMU
    change = draft_change(files, read_wheel_ci(files), WheelOptions(tools=cibuildwheel_tools))
    assert diff(files, dict(change.files)) == (GOLDEN / "flow-qemu.diff").read_text()
    assert not change.native
    assert change.identifiers == ("cp312-manylinux_riscv64", "cp313-manylinux_riscv64")
    assert change.proof.startswith("cibuildwheel 3.1.4 (pinned at "
                                   ".github/workflows/build.yml:28)")


def test_entries_on_their_own_runners_with_an_anchor_and_a_dist_count(
        cibuildwheel_tools) -> None:  # type: ignore[no-untyped-def]
    """The shape of Pillow's CI: block entries, x86_64 and aarch64 each on its own runner
    and each once per libc, an anchored path list in `on:`, the pin in a requirements
    file, the dists counted by a setting. riscv64 follows the x86_64 entries (both libcs)
    under QEMU, the image its name says the one it builds on; the count follows."""
    files = shapes.ANCHORED_NATIVE
    change = draft_change(files, read_wheel_ci(files), WheelOptions(tools=cibuildwheel_tools))
    assert diff(files, dict(change.files)) == (GOLDEN / "anchored-native.diff").read_text()
    assert ".github/workflows/wheels.yml:15: expected wheels 8 -> 12" in change.changes
    assert change.identifiers == ("cp312-manylinux_riscv64", "cp313-manylinux_riscv64",
                                  "cp312-musllinux_riscv64", "cp313-musllinux_riscv64")
    assert change.proof.startswith("cibuildwheel 3.2.1 (pinned at "
                                   ".ci/requirements-cibw.txt:1)")


def test_expressions_and_test_skips_that_list_the_emulated_take_riscv64() -> None:
    change = draft_change(shapes.EXPRESSION_RUNNER, read_wheel_ci(shapes.EXPRESSION_RUNNER),
                          WheelOptions(cibuildwheel=False))
    text = change.files[".github/workflows/wheel.yml"]
    assert "(matrix.arch == 'ppc64le' || matrix.arch == 's390x' || matrix.arch == " \
           "'riscv64')) && 'build' || 'build[uv]' }}" in text
    assert 'CIBW_TEST_SKIP: "*-manylinux_ppc64le *-manylinux_s390x *-manylinux_riscv64"' \
        in text
    # A riscv64 runner asked for: what the emulated need is not riscv64's.
    native = draft_change(shapes.FLOW_QEMU, read_wheel_ci(shapes.FLOW_QEMU),
                          WheelOptions(cibuildwheel=False, native=True))
    assert set(native.files) == {".github/workflows/build.yml"}
    assert "- { os: ubuntu-24.04-riscv, osname: linux, arch: riscv64 }" in native.files[
        ".github/workflows/build.yml"]


@pytest.mark.parametrize(("old", "new"), [
    ("if: ${{ matrix.arch == 'ppc64le' || matrix.arch == 's390x' }}",
     "if: ${{ contains(fromJSON('[\"ppc64le\", \"s390x\"]'), matrix.arch) }}"),
    ("(matrix.arch == 'ppc64le' || matrix.arch == 's390x')",
     "contains(fromJSON('[\"ppc64le\", \"s390x\"]'), matrix.arch)"),
])
def test_a_list_of_the_emulated_in_fromjson_takes_riscv64(old: str, new: str) -> None:
    path = ".github/workflows/wheel.yml"
    files = {path: shapes.EXPRESSION_RUNNER[path].replace(old, new)}
    assert files[path] != shapes.EXPRESSION_RUNNER[path]
    change = draft_change(files, read_wheel_ci(files), WheelOptions(cibuildwheel=False))
    assert "fromJSON('[\"ppc64le\", \"s390x\", \"riscv64\"]'), matrix.arch)" in \
        change.files[path]


@pytest.mark.parametrize(("value", "expected"), [
    ("*-*linux_{ppc64le,s390x}", "*-*linux_{ppc64le,s390x,riscv64}"),
    ("*_ppc64le *_s390x", "*_ppc64le *_s390x *_riscv64"),
    ("*-musllinux_s390x pp*", "*-musllinux_s390x *-musllinux_riscv64 pp*"),
    ("*-win32 pp*", "*-win32 pp*"),  # names no emulated architecture
    ("*_s390x *_riscv64", "*_s390x *_riscv64"),  # riscv64 there already
    ("*_s390xx", "*_s390xx"),
])
def test_build_selectors_take_riscv64_beside_the_emulated(value: str, expected: str) -> None:
    from mirrorctl.upstream.wheels.archlists import with_riscv64

    assert with_riscv64(value, {"ppc64le", "s390x"}) == expected


def test_the_image_a_name_says_is_the_one_riscv64_builds_on() -> None:
    from mirrorctl.upstream.wheels.draft import _riscv64_value
    from mirrorctl.upstream.wheels.plan import Plan

    plan = Plan({}, {}, [])
    assert _riscv64_value("manylinux_2_28 x86_64", "x86_64", plan) == "manylinux_2_39 riscv64"
    assert _riscv64_value("musllinux_1_2 x86_64", "x86_64", plan) == "musllinux_1_2 riscv64"
    assert _riscv64_value("x86_64", "x86_64", plan) == "riscv64"


def test_maturin_targets_in_entries_follow_the_cross_compiled_ones_in_their_style() -> None:
    """Targets named by include entries (flow, aligned) or by a list of mappings
    (`matrix.platform.target`): riscv64 an entry of its own after the last entry of its
    kind, written as the others are (a short name, or a triple); no QEMU step (maturin
    cross-compiles); the Windows job, whose target is x64, builds no Linux wheel."""
    ci = read_wheel_ci(shapes.MATURIN_NESTED)
    assert [(j.job, j.shape, j.matrix_key) for j in ci.jobs if j.archs] == [
        ("linux", "include", "platform.target")]
    path = ".github/workflows/CI.yml"
    triples = {**shapes.MATURIN_NESTED, path: shapes.MATURIN_NESTED[path].replace(
        "target: s390x", "target: s390x-unknown-linux-gnu").replace(
        "target: ppc64le", "target: powerpc64le-unknown-linux-gnu")}
    change = draft_change(triples, read_wheel_ci(triples), WheelOptions(cibuildwheel=False))
    text = change.files[path]
    assert "            target: powerpc64le-unknown-linux-gnu\n          - runner: " \
        "ubuntu-22.04\n            target: riscv64gc-unknown-linux-gnu\n    steps:" in text
    assert "qemu" not in text.lower()
    assert change.changes == (f"{path}: 1 include entry for riscv64, cross-compiled, as the "
                              "one for s390x",)
    assert [r.combination["platform"]["target"] for r in change.job.riscv64_runs] == [
        "riscv64gc-unknown-linux-gnu"]


def test_an_entry_key_that_selects_a_step_is_kept_and_each_step_proved(
        cibuildwheel_tools) -> None:  # type: ignore[no-untyped-def]
    """`manylinux_version: manylinux2014` names no image riscv64 builds on: it selects
    the step that builds. riscv64 gets an entry for each selection the emulated have,
    the selection kept; cibuildwheel lists the builds of each selected step (its own
    Pythons), on the image it gives riscv64 (the default, which has riscv64 builds)."""
    files = shapes.STEP_SELECTOR
    change = draft_change(files, read_wheel_ci(files), WheelOptions(tools=cibuildwheel_tools))
    text = change.files[".github/workflows/release.yml"]
    assert ("          - os: ubuntu-latest\n            archs: riscv64\n"
            "            manylinux_version: manylinux2010\n          - os: ubuntu-latest\n"
            "            archs: riscv64\n            manylinux_version: manylinux2014\n"
            "    steps:\n") in text
    assert set(change.identifiers) == {f"cp3{m}-{libc}_riscv64" for m in (11, 12, 13)
                                       for libc in ("manylinux", "musllinux")}


def test_a_selected_step_that_sets_the_emulated_images_leaves_riscv64_on_its_own() -> None:
    """The step sets s390x's image from the selection (manylinux2014, which has no
    riscv64 build): riscv64's jobs in it build on cibuildwheel's riscv64 default, never
    on the selection's image."""
    path = ".github/workflows/release.yml"
    text = shapes.STEP_SELECTOR[path].replace(
        "          CIBW_MANYLINUX_X86_64_IMAGE: manylinux2014\n",
        "          CIBW_MANYLINUX_X86_64_IMAGE: manylinux2014\n"
        "          CIBW_MANYLINUX_S390X_IMAGE: ${{ matrix.manylinux_version }}\n")
    files = {**shapes.STEP_SELECTOR, path: text}
    change = draft_change(files, read_wheel_ci(files), WheelOptions(cibuildwheel=False))
    runs = change.job.riscv64_runs
    assert {r.combination["manylinux_version"] for r in runs} == {"manylinux2010",
                                                                  "manylinux2014"}
    assert not any("RISCV64_IMAGE" in key for r in runs for key in r.env)


def test_the_qemu_step_goes_above_the_comments_of_the_step_it_precedes() -> None:
    path = ".github/workflows/release.yml"
    text = shapes.NATIVE_RUNNERS[path].split("  check:")[0].replace(  # no count to raise
        "      - uses: pypa/cibuildwheel@v3.1.4\n",
        "      # See pyproject.toml for config.\n      - uses: pypa/cibuildwheel@v3.1.4\n")
    files = {**shapes.NATIVE_RUNNERS, path: text}
    change = draft_change(files, read_wheel_ci(files), WheelOptions(cibuildwheel=False))
    assert "          platforms: riscv64\n      # See pyproject.toml for config.\n" \
        "      - uses: pypa/cibuildwheel@v3.1.4\n" in change.files[path]


def test_entries_that_leave_the_architecture_to_auto_get_one_that_sets_riscv64(
        cibuildwheel_tools) -> None:  # type: ignore[no-untyped-def]
    """The shape of RapidFuzz's CI: entries name runners and labels, `matrix.archs ||
    'auto'` read where none sets it. riscv64: the x86_64 Linux entry (not the pyodide one
    on the same runner) copied with `archs: riscv64` and its label renamed, after the
    Linux entries, and a QEMU step for it alone: the change RapidFuzz's maintainers
    made."""
    files = shapes.RUNNER_ENTRIES_AUTO
    change = draft_change(files, read_wheel_ci(files), WheelOptions(tools=cibuildwheel_tools))
    text = change.files[".github/workflows/releasebuild.yml"]
    assert ("          - os: linux-arm\n            runs-on: ubuntu-24.04-arm\n"
            "          - os: linux-riscv64\n            runs-on: ubuntu-latest\n"
            "            archs: riscv64\n          - os: windows-intel\n") in text
    assert "      - name: Set up QEMU\n        if: matrix.archs == 'riscv64'\n" in text
    assert not change.native
    assert set(change.identifiers) == {f"cp31{m}-{libc}_riscv64" for m in (2, 3)
                                       for libc in ("manylinux", "musllinux")}


def test_a_riscv64_job_that_would_take_another_jobs_artifact_name_is_refused() -> None:
    path = ".github/workflows/releasebuild.yml"
    text = shapes.RUNNER_ENTRIES_AUTO[path].replace(
        "name: artifact-${{ matrix.os }}-${{ strategy.job-index }}",
        "name: artifact-${{ matrix.runs-on }}")
    files = {**shapes.RUNNER_ENTRIES_AUTO, path: text}
    with pytest.raises(CannotDraft, match="would upload its wheels as 'artifact-ubuntu-latest'"):
        draft_change(files, read_wheel_ci(files), WheelOptions(cibuildwheel=False))


def test_a_block_list_of_runners_becomes_include_entries_too() -> None:
    path = ".github/workflows/release.yml"
    text = shapes.NATIVE_RUNNERS[path].split("  check:")[0].replace(
        "        os: [ubuntu-24.04, ubuntu-24.04-arm, windows-2022, macos-14]\n",
        "        os:\n          - ubuntu-24.04\n          - ubuntu-24.04-arm\n"
        "          - macos-14\n")
    files = {**shapes.NATIVE_RUNNERS, path: text}
    change = draft_change(files, read_wheel_ci(files), WheelOptions(cibuildwheel=False))
    assert "        include:\n        - os: ubuntu-24.04\n        - os: ubuntu-24.04-arm\n" \
        "        - os: macos-14\n        - os: ubuntu-24.04\n          cibw_archs: riscv64\n" \
        "          name_suffix: \"-riscv64\"\n    steps:\n" in change.files[path]
    assert not change.native
