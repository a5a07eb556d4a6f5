"""Reading upstream's CI: which jobs build wheels, for which Linux architectures, and
where riscv64 would join (pure)."""

from __future__ import annotations

import pytest

from mirrorctl.upstream.wheels.ci import read_wheel_ci
from mirrorctl.upstream.wheels.matrix import expand_matrix, substitute
from testbed import wheelshapes as shapes


def test_matrix_expands_as_github_documents_it() -> None:
    # GitHub's own example ("Expanding or adding matrix configurations").
    matrix = {"fruit": ["apple", "pear"], "animal": ["cat", "dog"],
              "include": [{"color": "green"}, {"color": "pink", "animal": "cat"},
                          {"fruit": "apple", "shape": "circle"}, {"fruit": "banana"},
                          {"fruit": "banana", "animal": "cat"}]}
    assert expand_matrix(matrix) == [
        {"fruit": "apple", "animal": "cat", "color": "pink", "shape": "circle"},
        {"fruit": "apple", "animal": "dog", "color": "green", "shape": "circle"},
        {"fruit": "pear", "animal": "cat", "color": "pink"},
        {"fruit": "pear", "animal": "dog", "color": "green"},
        {"fruit": "banana"},
        {"fruit": "banana", "animal": "cat"},
    ]


def test_matrix_exclude_include_only_and_computed() -> None:
    assert expand_matrix({"a": [1, 2], "b": ["x", "y"], "exclude": [{"a": 2, "b": "y"}]}) == [
        {"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 2, "b": "x"}]
    assert expand_matrix({"include": [{"os": "u"}, {"os": "w"}]}) == [{"os": "u"}, {"os": "w"}]
    assert expand_matrix(None) == [{}]
    assert expand_matrix("${{ fromJSON(needs.plan.outputs.matrix) }}") is None
    assert expand_matrix({"os": "${{ fromJSON(inputs.os) }}"}) is None


def test_substitute_reads_both_spellings_and_leaves_other_expressions() -> None:
    combo = {"arch": "s390x"}
    assert substitute("${{ matrix.arch }}-${{ matrix['arch'] }}", combo) == "s390x-s390x"
    assert substitute("${{ matrix.libc }}", combo) == ""  # GitHub: a missing key is ''
    assert substitute({"k": ["${{ inputs.v }}"]}, combo) == {"k": ["${{ inputs.v }}"]}


@pytest.mark.parametrize(("files", "archs", "shape", "key"), [
    (shapes.EMULATED_MATRIX, {"x86_64", "aarch64", "ppc64le", "s390x"}, "matrix", "arch"),
    (shapes.INCLUDE_ENTRIES, {"x86_64", "aarch64", "ppc64le"}, "include", "cibw_arch"),
    (shapes.NATIVE_RUNNERS, {"x86_64", "aarch64"}, "native", "os"),
    (shapes.PYPROJECT_ARCHS, {"x86_64", "aarch64", "s390x"}, "pyproject", None),
    (shapes.MATURIN, {"x86_64", "aarch64", "armv7l", "s390x", "ppc64le"}, "maturin", "target"),
], ids=["emulated-matrix", "include", "native", "pyproject", "maturin"])
def test_each_shape_is_read_with_where_riscv64_would_join(files: dict[str, str],
                                                           archs: set[str], shape: str,
                                                           key: str | None) -> None:
    ci = read_wheel_ci(files)
    assert not ci.builds_riscv64 and not ci.problems
    target = ci.target
    assert target is not None
    assert (set(target.archs), target.shape, target.matrix_key) == (archs, shape, key)


def test_a_matrix_with_riscv64_builds_it_under_emulation() -> None:
    ci = read_wheel_ci(shapes.with_riscv64(shapes.EMULATED_MATRIX))
    assert ci.builds_riscv64
    [job] = ci.riscv64_jobs
    assert (job.workflow, job.job, job.emulated) == (".github/workflows/wheels.yml",
                                                      "build_wheels", True)
    assert "builds riscv64 wheels" in job.why


def test_a_native_riscv64_runner_builds_it() -> None:
    files = dict(shapes.NATIVE_RUNNERS)
    files[".github/workflows/release.yml"] = files[".github/workflows/release.yml"].replace(
        "ubuntu-24.04-arm,", "ubuntu-24.04-arm, ubuntu-24.04-riscv,")
    [job] = read_wheel_ci(files).riscv64_jobs
    assert not job.emulated and job.archs == {"x86_64", "aarch64", "riscv64"}


def test_tests_under_qemu_are_no_riscv64_wheels() -> None:
    ci = read_wheel_ci(shapes.TESTS_UNDER_QEMU)
    assert not ci.builds_riscv64
    assert [(j.job, set(j.archs), j.shape) for j in ci.jobs] == [("wheels", {"x86_64"}, None)]


def test_a_computed_matrix_is_a_shape_not_edited() -> None:
    ci = read_wheel_ci(shapes.COMPUTED_MATRIX)
    [job] = ci.jobs
    assert job.unresolved and job.shape is None and ci.target is None
    assert "computed at run time" in job.why


def test_selectors_and_all_are_honoured() -> None:
    skipped = {".github/workflows/w.yml": """\
jobs:
  w:
    runs-on: ubuntu-latest
    steps:
      - uses: pypa/cibuildwheel@v3.2.0
        env:
          CIBW_ARCHS_LINUX: all
          CIBW_SKIP: "*_riscv64 *_i686"
"""}
    assert set(read_wheel_ci(skipped).jobs[0].archs) == {"x86_64", "aarch64", "ppc64le",
                                                         "s390x", "armv7l"}
    built = {".github/workflows/w.yml": skipped[".github/workflows/w.yml"].replace(
        'CIBW_SKIP: "*_riscv64 *_i686"', 'CIBW_BUILD: "cp3*-manylinux_*"')}
    assert read_wheel_ci(built).builds_riscv64
    only_x86 = {".github/workflows/w.yml": skipped[".github/workflows/w.yml"].replace(
        'CIBW_SKIP: "*_riscv64 *_i686"', 'CIBW_BUILD: "*_x86_64"')}
    assert set(read_wheel_ci(only_x86).jobs[0].archs) == {"x86_64"}


def test_a_broken_file_is_a_problem_with_its_line() -> None:
    ci = read_wheel_ci({".github/workflows/w.yml": "jobs:\n  a: [\n", "pyproject.toml": "x ="})
    assert any(p.startswith(".github/workflows/w.yml:") for p in ci.problems)
    assert any(p.startswith("pyproject.toml: not TOML") for p in ci.problems)
    assert not ci.jobs


def test_a_workflow_that_expands_without_end_is_not_read() -> None:
    """A hostile file: aliases that expand a billion times, or just too big."""
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(9))
    ci = read_wheel_ci({".github/workflows/w.yml": bomb + "jobs: {}\n",
                        ".github/workflows/big.yml": "#" * (600 * 1024)})
    assert not ci.jobs
    assert any("big.yml: over 512 KiB" in p for p in ci.problems)


def test_what_asks_for_riscv64_wheels() -> None:
    from mirrorctl.upstream.wheels.asks import asks_for_wheels

    assert asks_for_wheels("ci: add riscv64 wheels", "")
    assert asks_for_wheels("Add riscv64 to the build matrix", "")
    assert asks_for_wheels("RISC-V support", "Please publish manylinux riscv64 wheels")
    assert not asks_for_wheels("ci: run the tests on riscv64 under QEMU", "")
    assert not asks_for_wheels("BUG: riscv64 detection", "fix the CPU feature check")
    assert not asks_for_wheels("Add aarch64 wheels", "and maybe riscv64 later")


def _job(steps: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A one-job workflow with these steps (indented as a job's), and other files."""
    return {".github/workflows/w.yml": "on: push\njobs:\n  wheels:\n    runs-on: ubuntu-latest\n"
            "    steps:\n" + steps, **(extra or {})}


@pytest.mark.parametrize(("steps", "extra", "version", "line"), [
    ("      - uses: pypa/cibuildwheel@v3.1.4\n", None, "3.1.4", 6),
    ("      - uses: pypa/cibuildwheel@v3\n", None, "3", 6),
    ("      - uses: pypa/cibuildwheel@9e4e50bd76b3190f55304387e333f6234823ea9b  # v3.2.1\n",
     None, "3.2.1", 6),
    ("      - run: python -m pip install cibuildwheel==3.2.1\n"
     "      - run: python -m cibuildwheel --output-dir wheelhouse\n", None, "3.2.1", 6),
    ("      - run: uvx cibuildwheel@3.1 --output-dir wheelhouse\n", None, "3.1", 6),
    ("      - run: uvx --from 'cibuildwheel==4.1.1' cibuildwheel --output-dir wh\n", None,
     "4.1.1", 6),
    ("      - run: pipx run cibuildwheel==3.1.4\n", None, "3.1.4", 6),
    ("      - run: pip install 'cibuildwheel~=3.2.0'\n      - run: cibuildwheel\n", None,
     "3.2", 6),
    ("      - run: python3 -m pip install -r .ci/requirements-cibw.txt\n"
     "      - run: python3 -m cibuildwheel --output-dir wheelhouse\n",
     {".ci/requirements-cibw.txt": "# the wheels\ncibuildwheel==3.1.4\n"}, "3.1.4", 2),
])
def test_the_cibuildwheel_a_workflow_pins_is_read_where_it_says_so(
        steps: str, extra: dict[str, str] | None, version: str, line: int) -> None:
    [job] = read_wheel_ci(_job(steps, extra)).jobs
    assert job.pin is not None and job.pin.version == version, job.pin
    assert job.pin.where.endswith(f":{line}")


def test_a_workflow_that_pins_nothing_has_no_pin() -> None:
    [job] = read_wheel_ci(_job("      - uses: pypa/cibuildwheel@main\n")).jobs
    assert job.pin is None


def test_each_combination_runs_the_cibuildwheel_step_its_condition_selects() -> None:
    """Two cibuildwheel steps keyed by an image: each combination is read (and proved)
    with the settings of the step that runs for it; a condition over another context is
    unknown, never taken as true."""
    files = {".github/workflows/w.yml": """\
on: push
jobs:
  wheels:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        include:
          - {arch: x86_64, image: manylinux2014}
          - {arch: riscv64, image: manylinux_2_39}
    steps:
      - uses: docker/setup-qemu-action@v3
      - name: old images
        if: matrix.image == 'manylinux2014'
        uses: pypa/cibuildwheel@v3.1.4
        env:
          CIBW_ARCHS: ${{ matrix.arch }}
          CIBW_BUILD: cp39-*
      - name: new images
        if: matrix.image == 'manylinux_2_39'
        uses: pypa/cibuildwheel@v3.1.4
        env:
          CIBW_ARCHS: ${{ matrix.arch }}
          CIBW_BUILD: cp313-*
"""}
    [job] = read_wheel_ci(files).jobs
    assert job.archs == {"x86_64", "riscv64"} and job.steps == (1, 2)
    [run] = job.riscv64_runs
    assert (run.step, run.env["CIBW_BUILD"]) == (2, "cp313-*")
    unknown = files[".github/workflows/w.yml"].replace(
        "if: matrix.image == 'manylinux_2_39'", "if: github.event_name == 'push'")
    [job] = read_wheel_ci({".github/workflows/w.yml": unknown}).jobs
    assert job.unresolved and job.riscv64_runs == ()
