"""A grade that means what the talk means: easy when only the version changes and the
queue carries; upstream's build configuration raises it only where it reaches the
builders' own build; every medium or hard reason says what a person must do."""

from __future__ import annotations

from pathlib import Path

from mirrorctl.core.config import config_from_text
from mirrorctl.core.grades import default_levels
from mirrorctl.grade.buildconfig import build_facts
from mirrorctl.grade.grading import grade
from mirrorctl.grade.workflows import cibuildwheel_options, package_workflows

BUILD = '[build-system]\nbuild-backend = "mesonpy"\nrequires = ["meson-python>=0.13.2"]\n'
# matplotlib 3.11's table, in its shape: Linux settings, and much for other platforms.
MPL_TABLE = """
[tool.cibuildwheel]
skip = "*-musllinux_aarch64"
manylinux-x86_64-image = "manylinux2014"
before-build = "rm -rf {package}/build"
test-command = ["python {package}/ci/check_version_number.py"]
test-environment = "PIP_PREFER_BINARY=true"
[tool.cibuildwheel.macos.environment]
MACOSX_DEPLOYMENT_TARGET = "10.14"
[tool.cibuildwheel.windows]
repair-wheel-command = "delvewheel repair -w {dest_dir} {wheel}"
[[tool.cibuildwheel.overrides]]
select = "cp314*"
manylinux-x86_64-image = "manylinux_2_28"
"""
THEIRS = frozenset({"build", "archs", "skip", "build-frontend", "environment"})


def facts(pyproject: str):  # type: ignore[no-untyped-def]
    return build_facts({"pyproject.toml": pyproject}, ["pyproject.toml"], {})


def graded(old: str, new: str, overrides: frozenset[str] | None = THEIRS):  # type: ignore[no-untyped-def]
    return grade(facts(old), facts(new), [], levels=default_levels(), overrides=overrides)


def test_matplotlib_gaining_its_table_is_easy() -> None:
    result = graded(BUILD, BUILD + MPL_TABLE)
    assert result.level == "easy", result
    [note] = [r for r in result.reasons if r.code == "cibuildwheel-noted"]
    # What reaches a riscv64 Linux build is named; macOS, Windows, x86_64 images are not.
    assert "before-build, skip, test-command, test-environment changed" in note.detail
    assert "skip: the build workflow sets its own" in note.detail
    assert "macos" not in note.detail and "x86_64" not in note.detail


def test_a_need_upstream_adds_that_the_workflow_replaces_needs_a_person() -> None:
    result = graded(BUILD, BUILD + '[tool.cibuildwheel.linux]\nenvironment = {CFLAGS="-O2"}\n')
    assert result.level == "medium"
    main = result.main_reason
    assert (main.code, main.todo) == ("cibuildwheel-changed", "carry what upstream's "
                                      "setting now does into the workflow's own")
    assert "linux.environment" in main.detail
    # Without their workflow to read, it reaches their build as it is: a note.
    assert graded(BUILD, BUILD + "[tool.cibuildwheel.linux]\nenvironment = {A=1}\n",
                  overrides=None).level == "easy"


def test_an_override_selecting_riscv64_builds_counts() -> None:
    override = ('[[tool.cibuildwheel.overrides]]\nselect = "cp31*-manylinux_*"\n'
                'before-all = "yum install -y zlib-devel"\n')
    result = graded(BUILD, BUILD + "[tool.cibuildwheel]\n" + override,
                    overrides=THEIRS | {"before-all"})
    assert "cibuildwheel-changed" in [r.code for r in result.reasons]
    assert "new-system-library" in [r.code for r in result.reasons]  # and what it installs


def test_every_medium_and_hard_reason_says_what_to_do() -> None:
    levels = default_levels()
    result = graded(BUILD, BUILD.replace("mesonpy", "scikit_build_core.build")
                    .replace('"meson-python>=0.13.2"', '"scikit-build-core", "pybind11"'))
    for reason in result.reasons:
        if levels.get(reason.code) != "easy":
            assert reason.todo, reason
        else:
            assert not reason.todo, reason


def test_the_builders_workflows_of_a_package_and_the_options_they_set(tmp_path: Path) -> None:
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "build-polars-runtime.yml").write_text(
        "env:\n  CIBW_BUILD: cp312-*\n  CIBW_BEFORE_ALL_LINUX: yum install -y gcc\n")
    (workflows / "test-polars-runtime.yml").write_text("env: {CIBW_TEST_COMMAND: pytest}\n")
    (workflows / "build-numpy.yml").write_text("env: {CIBW_SKIP: x}\n")
    config = config_from_text(
        "packages:\n  polars-runtime-64: {upstream: 'https://github.com/pola-rs/polars.git'}\n",
        tmp_path / "mirrors.yaml")
    found = package_workflows(config, config.packages["polars-runtime-64"])
    assert [p.name for p in found] == ["build-polars-runtime.yml", "test-polars-runtime.yml"]
    assert cibuildwheel_options(found) == {"build", "before-all", "test-command"}
    assert cibuildwheel_options([]) is None  # no workflow: what they set is not known


def test_the_builders_workflows_are_read_one_way(tmp_path: Path) -> None:
    """What a workflow sets is read from its parse: an env at any level and a shell line
    that assigns one count, a comment does not; a workflow that is not YAML leaves what
    the builds set unknown. The version input's default, block or flow style, is the
    same whoever asks (the current version, the bump)."""
    from mirrorctl.core.buildsite import input_default, read_workflow

    build = tmp_path / "build-demo.yml"
    build.write_text(
        "on:\n  workflow_dispatch:\n    inputs: {version: {default: '2.1.0'}}\n"
        "env:\n  CIBW_BUILD: cp312-*\n"
        "jobs:\n  wheels:\n    env: {CIBW_ARCHS_LINUX: riscv64}\n    steps:\n"
        "      # CIBW_SKIP: was set here once\n"
        "      - run: |\n          export CIBW_TEST_SKIP='*'\n"
        "          echo \"CIBW_BEFORE_BUILD_LINUX=make\" >> $GITHUB_ENV\n"
        "      - uses: pypa/cibuildwheel@v3.3\n        env:\n          CIBW_ENVIRONMENT: A=1\n")
    assert cibuildwheel_options([build]) == {"build", "archs", "test-skip", "before-build",
                                             "environment"}
    workflow = read_workflow(build)
    assert workflow is not None and workflow.version_default == "2.1.0"
    assert input_default(build.read_text()) == "2.1.0"
    assert read_workflow(build) is workflow  # read once while the file is as it was
    broken = tmp_path / "build-broken.yml"
    broken.write_text("env:\n  CIBW_SKIP: [unclosed\n")
    assert cibuildwheel_options([build, broken]) is None
    assert cibuildwheel_options([tmp_path / "missing.yml"]) is None
