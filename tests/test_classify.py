"""`mirrorctl classify`: the grade of an upgrade, on histories shaped like real ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mirrorctl.core.grades import default_levels
from mirrorctl.grade.buildconfig import (
    FACTS_FORMAT,
    LEGACY_SETUPTOOLS,
    BuildFacts,
    build_facts,
    facts_from_json,
    facts_to_json,
)
from mirrorctl.grade.grading import grade
from tests.conftest import Site
from tests.gitrepos import Repo, make_mirror, write_config
from tests.test_rebase import patch_series

# Each case on both ways to git: the same outcomes, the same messages (issue 24).
pytestmark = pytest.mark.usefixtures("both_git_paths")

SETUP_PY = "from setuptools import setup\nsetup(name='numpy', setup_requires=['cython<3'])\n"
PYPROJECT_LEGACY = '[build-system]\nrequires = ["setuptools>=60", "Cython>=0.29.34,<3"]\n'
PYPROJECT_MESON = ('[build-system]\nbuild-backend = "mesonpy"\n'
                   'requires = ["meson-python>=0.13.1", "Cython>=3.0"]\n')
PENDING = "Upstream-Status: Pending"


def release(repo: Repo, tag: str, files: dict[str, str], remove: tuple[str, ...] = ()) -> None:
    for path in remove:
        repo.git("rm", "--quiet", path)
    repo.commit(f"release {tag}", files)
    repo.tag(tag, annotated=True)


@pytest.fixture
def grading_site(tmp_path: Path) -> Site:
    """Four upstreams: numpy (setup.py -> meson-python), crypto (a Cargo.toml appears),
    plain (nothing changes), cython (a new Cython pin); numpy carries a queue."""
    packages = {}
    numpy = Repo(tmp_path / "numpy")
    release(numpy, "v1.25.2", {"setup.py": SETUP_PY, "pyproject.toml": PYPROJECT_LEGACY,
                               "numpy/core/tests/test_nan.py": "assert signbit(nan)\n",
                               "numpy/core/src/umath.c": "int x;\n"})
    patch_series(numpy, "v1.25.2", tmp_path / "patchsets" / "numpy" / "1.25.2", [
        ("0001-TST-canonical-nan.patch", f"TST: skip NaN sign test on riscv64\n\n{PENDING}",
         {"numpy/core/tests/test_nan.py": "import pytest  # canonical NaN on riscv64\n"}),
        ("0002-BLD-flags.patch", f"BLD: flags\n\n{PENDING}",
         {"numpy/core/src/umath.c": "int x; /* riscv64 */\n"}),
    ])
    release(numpy, "v1.26.0", {"pyproject.toml": PYPROJECT_MESON,
                               "meson.build": "project('numpy', 'c')\n"
                                              "blas = dependency('openblas')\n",
                               ".github/workflows/wheels.yml":
                                   "run: sudo apt-get install -y libopenblas-dev\n"},
            remove=("setup.py",))
    numpy.tag("v1.26.1rc1")
    crypto = Repo(tmp_path / "crypto")
    release(crypto, "42.0.0", {"setup.py": "setup()\n"})
    release(crypto, "43.0.0", {"src/rust/Cargo.toml": "[package]\nname = 'x'\n"})
    plain = Repo(tmp_path / "plain")
    release(plain, "v1.0", {"pyproject.toml": PYPROJECT_LEGACY, "src/a.c": "1\n"})
    release(plain, "v1.1", {"src/a.c": "2\n"})
    cython = Repo(tmp_path / "cython")
    release(cython, "v2.0", {"pyproject.toml": PYPROJECT_LEGACY})
    release(cython, "v2.1", {"pyproject.toml": PYPROJECT_LEGACY.replace("<3", "<3.1")})
    for name, repo, fmt, version in (("numpy", numpy, "v{version}", "1.25.2"),
                                     ("crypto", crypto, "{version}", "42.0.0"),
                                     ("plain", plain, "v{version}", "1.0"),
                                     ("cython", cython, "v{version}", "2.0")):
        packages[name] = {"upstream": str(repo.path), "tag_format": fmt, "version": version,
                          "mirror": str(make_mirror(tmp_path / "mirrors" / f"{name}.git").path)}
    config = write_config(tmp_path / "mirrors.yaml", packages)
    return Site(tmp_path, numpy, make_mirror(tmp_path / "unused.git"), config, tmp_path / "work")


def classify(run_cli, site: Site, *args: str):  # type: ignore[no-untyped-def]
    assert run_cli(*site.args("sync")).code == 0
    result = run_cli(*site.args("classify", "--format", "json", *args))
    data = json.loads(result.out)["packages"] if result.out.startswith("{") else None
    return result, {p["name"]: p for p in data} if data else None


def codes(package: dict) -> list[str]:  # type: ignore[type-arg]
    return [r["code"] for r in package["reasons"]]


def test_grades_of_four_upgrades(run_cli, grading_site: Site) -> None:
    result, graded = classify(run_cli, grading_site)
    assert result.code == 0, result.err
    numpy = graded["numpy"]
    assert (numpy["from"], numpy["to"], numpy["level"]) == ("1.25.2", "1.26.0", "hard")
    main = numpy["reasons"][0]
    assert (main["code"], main["detail"]) == ("build-backend-changed",
                                              f"{LEGACY_SETUPTOOLS} -> mesonpy")
    assert main["todo"].startswith("port the build workflow to the new backend")
    # A setup_requires pin that moved is a note the builds confirm; a new build
    # requirement (meson-python) needs a person.
    assert {"nan-tests-patched", "build-requires-changed", "new-native-dependency",
            "new-system-library", "setup-requires-noted"} <= set(codes(numpy))
    requires = next(r for r in numpy["reasons"] if r["code"] == "build-requires-changed")
    assert "Cython<3,>=0.29.34 -> Cython>=3.0" in requires["detail"]
    assert "+ meson-python>=0.13.1" in requires["detail"]
    crypto = graded["crypto"]
    assert crypto["level"] == "hard" and crypto["reasons"][0]["code"] == "new-toolchain"
    assert crypto["reasons"][0]["detail"] == "Rust (a Cargo.toml appeared)"
    assert "no-patches" in codes(crypto)
    assert (graded["plain"]["level"], codes(graded["plain"])) == (
        "easy", ["no-patches", "nothing-changed"])
    cython = graded["cython"]  # a Cython pin moved: a note the builds confirm, not work
    assert (cython["level"], codes(cython)[:1]) == ("easy", ["build-requires-noted"])


def test_text_format_is_one_line_a_package(run_cli, grading_site: Site) -> None:
    assert run_cli(*grading_site.args("sync")).code == 0
    result = run_cli(*grading_site.args("classify", "--format", "text"))
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0] == (f"numpy 1.25.2 -> 1.26.0: hard (build-backend-changed: "
                        f"{LEGACY_SETUPTOOLS} -> mesonpy)")
    assert lines[2] == "plain 1.0 -> 1.1: easy (no-patches: no riscv64 patches to carry)"
    assert len(lines) == 4


def test_conflicting_patch_and_a_malformed_pyproject(run_cli, grading_site: Site) -> None:
    plain = Repo(grading_site.root / "plain")
    release(plain, "v1.2", {"pyproject.toml": "[build-system\nrequires = [\n",
                            "src/a.c": "3\n"})
    result, graded = classify(run_cli, grading_site, "plain", "--onto", "v1.2")
    assert result.code == 0, result.err
    broken = graded["plain"]
    assert broken["level"] == "hard"
    assert broken["reasons"][0]["code"] == "unreadable-build-config"
    assert "pyproject.toml: not valid TOML" in broken["reasons"][0]["detail"]


def test_a_patch_that_conflicts_is_hard(run_cli, grading_site: Site) -> None:
    numpy = grading_site.upstream
    release(numpy, "v1.26.1", {"numpy/core/src/umath.c": "int y;\n"})
    result, graded = classify(run_cli, grading_site, "numpy")
    assert result.code == 0
    conflict = next(r for r in graded["numpy"]["reasons"] if r["code"] == "patch-conflict")
    assert conflict["detail"] == "0002-BLD-flags.patch"
    assert graded["numpy"]["to"] == "1.26.1"  # the newest final release, not 1.26.1rc1


def test_overrides_and_pins_from_mirrors_yaml(run_cli, grading_site: Site) -> None:
    text = grading_site.config.read_text()
    text = text.replace("defaults:\n", "defaults:\n  grades:\n    build-requires-changed: easy\n")
    text = text.replace("    version: '2.0'\n", "    version: '2.0'\n    pin_grade:\n"
                        "      level: hard\n      reason: the runners lack Cython 3\n")
    grading_site.config.write_text(text)
    result, graded = classify(run_cli, grading_site, "cython", "plain")
    assert result.code == 0, result.err
    assert (graded["cython"]["level"], graded["cython"]["pinned"]) == ("hard", True)
    assert graded["cython"]["reasons"][0] == {"code": "pinned",
                                              "detail": "the runners lack Cython 3",
                                              "todo": ""}
    bad = text.replace("build-requires-changed: easy", "build-requirements-changed: easy")
    grading_site.config.write_text(bad)
    check = run_cli(*grading_site.args("validate"))
    assert check.code == 2
    assert "'build-requirements-changed' is not a reason code, did you mean " \
           "build-requires-changed?" in check.out


@pytest.mark.parametrize(("args", "message"), [
    (["numpy", "--onto", "v9.9"], "--onto 'v9.9' is no tag or version of numpy"),
    (["numpy", "plain", "--onto", "1.1"], "--onto names one release"),
])
def test_bad_targets_exit_2(run_cli, grading_site: Site, args: list[str], message: str) -> None:
    result, _ = classify(run_cli, grading_site, *args)
    assert result.code == 2 and message in result.err


def test_up_to_date_and_missing_cache(run_cli, grading_site: Site) -> None:
    text = grading_site.config.read_text()
    grading_site.config.write_text(text.replace("    version: '1.0'\n", "    version: '1.1'\n"))
    result, graded = classify(run_cli, grading_site, "plain")
    assert result.code == 0 and codes(graded["plain"]) == ["up-to-date"]
    other = run_cli("--config", str(grading_site.config), "--workdir",
                    str(grading_site.root / "empty"), "classify", "plain", "--format", "json")
    assert other.code == 1
    assert "run `mirrorctl sync plain` first" in json.loads(other.out)["packages"][0]["error"]


def test_grade_is_a_pure_function_of_facts() -> None:
    old = build_facts({"pyproject.toml": PYPROJECT_LEGACY}, ["pyproject.toml"], {"ext/lib": "a"})
    same = grade(old, old, None, levels=default_levels())
    assert (same.level, [r.code for r in same.reasons]) == ("easy",
                                                            ["no-patches", "nothing-changed"])
    moved = build_facts({"pyproject.toml": PYPROJECT_LEGACY}, ["pyproject.toml", "x.f90"],
                        {"ext/lib": "b"})
    graded = grade(old, moved, None, levels=default_levels())
    assert graded.level == "hard"
    assert [r.code for r in graded.reasons] == ["new-toolchain", "submodule-changed",
                                                "no-patches"]
    in_tree = build_facts({"pyproject.toml": '[build-system]\nbuild-backend = "_custom"\n'
                                             'backend-path = ["."]\n'}, ["pyproject.toml"], {})
    assert grade(old, in_tree, None, levels=default_levels()).main_reason.code == \
        "build-backend-changed"  # pyyaml 6.0.2's in-tree backend wrapping setuptools


def test_malformed_setup_cfg_is_a_reason_not_a_crash() -> None:
    old = build_facts({"setup.cfg": "[options]\nsetup_requires = cython\n"}, ["setup.py"], {})
    assert old.setup_requires == {"cython": "cython"} and old.problems == ()
    broken = build_facts({"setup.cfg": "[options\nsetup_requires = cython\n"}, ["setup.py"], {})
    graded = grade(old, broken, None, levels=default_levels())
    assert graded.level == "hard"
    assert graded.main_reason.code == "unreadable-build-config"
    assert graded.main_reason.detail == "setup.cfg: cannot be read (MissingSectionHeaderError)"


def test_a_trees_build_facts_are_computed_once_and_kept_beside_the_cache(
        run_cli, grading_site: Site, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    def listed() -> list[str]:  # every tree listed whole (the build facts' reading)
        return [r.getMessage() for r in caplog.records
                if "ls-tree -r -z --full-tree" in r.getMessage()]

    with caplog.at_level(logging.DEBUG, logger="mirrorctl.core.git"):
        _, graded = classify(run_cli, grading_site)
        assert len(listed()) == 2 * len(graded)  # each package's two releases, once
        caplog.clear()
        _, regraded = classify(run_cli, grading_site)
        assert regraded == graded and listed() == []  # read back, not listed again
    kept = sorted((grading_site.workdir / "cache" / "numpy.git" / "mirrorctl" / "facts").iterdir())
    assert len(kept) == 2  # the old release's tree and the new one's
    # A kept file that does not read (another version's, or damaged) is computed again.
    kept[0].write_text('{"format": 0}')
    kept[1].write_text("not json")
    _, third = classify(run_cli, grading_site)
    assert third == graded
    assert all(json.loads(path.read_text())["format"] == FACTS_FORMAT for path in kept)


@settings(max_examples=50, deadline=None)
@given(st.builds(BuildFacts, backend=st.none() | st.text(max_size=8),
                 backend_family=st.none() | st.text(max_size=8),
                 build_requires=st.dictionaries(st.text(max_size=5), st.text(max_size=5)),
                 setup_requires=st.dictionaries(st.text(max_size=5), st.text(max_size=5)),
                 cibuildwheel=st.text(max_size=10),
                 system_packages=st.frozensets(st.text(max_size=5)),
                 native_dependencies=st.frozensets(st.text(max_size=5)),
                 toolchains=st.frozensets(st.sampled_from(["rust", "fortran"])),
                 submodules=st.dictionaries(st.text(max_size=5), st.text(max_size=5)),
                 problems=st.lists(st.text(max_size=8)).map(tuple)))
def test_build_facts_come_back_field_for_field(facts: BuildFacts) -> None:
    assert facts_from_json(json.loads(json.dumps(facts_to_json(facts)))) == facts


def test_the_kept_facts_are_not_swept_with_a_runs_scratch(tmp_path: Path) -> None:
    """A run starts by deleting what killed runs left in the cache (mirrorctl-* folders):
    the kept facts live elsewhere and stay."""
    from mirrorctl.core.git import GitRunner, GitSettings
    from mirrorctl.core.repository import Repository
    from mirrorctl.grade.classify import _facts
    from mirrorctl.queue.branches import remove_stale_scratch

    upstream = Repo(tmp_path / "up")
    upstream.commit("initial", {"pyproject.toml": "[build-system]\nrequires = []\n"})
    upstream.tag("v1.0")
    cache = Repository(upstream.path / ".git", GitRunner(GitSettings(base_env={})))
    _facts(cache, "v1.0")
    (cache.git_dir / "mirrorctl-index-stale").mkdir()
    remove_stale_scratch(cache)
    assert not (cache.git_dir / "mirrorctl-index-stale").exists()
    assert len(list((cache.git_dir / "mirrorctl" / "facts").iterdir())) == 1


def test_with_the_index_a_build_requirement_grades_by_its_riscv64_wheels(
        run_cli, grading_site: Site) -> None:
    """requirement_wheels: true. numpy's new build requirements (meson-python, pure, and
    Cython>=3.0) and cython's moved pin: a note while each has a riscv64 wheel for every
    Python built; medium, naming the Pythons, once Cython's newest has one for cp312
    only; medium and not known when the index does not answer."""
    from testbed.fakeindex import fake_index

    riscv = "manylinux_2_39_riscv64"
    every = tuple(f"cython-3.0.11-cp3{m}-cp3{m}{'t' if t else ''}-{riscv}.whl"
                  for m in (12, 13, 14) for t in (False, True))
    with fake_index() as index:
        index.add("meson-python", "0.17.1", files=("meson_python-0.17.1-py3-none-any.whl",))
        index.add("cython", "3.0.11", files=every)
        text = grading_site.config.read_text().replace(
            "defaults:\n", f"defaults:\n  requirement_wheels: true\n  pypi_url: {index.url}\n",
            1)
        grading_site.config.write_text(text)
        result, graded = classify(run_cli, grading_site)
        assert result.code == 0, result.err
        numpy = next(r for r in graded["numpy"]["reasons"]
                     if r["code"].startswith("build-requires"))
        assert numpy["code"] == "build-requires-noted"
        assert numpy["detail"].endswith(": each has a riscv64 wheel (or is pure Python) for "
                                        "3.12, 3.13, 3.14, 3.14t")
        assert (graded["cython"]["level"], codes(graded["cython"])[0]) == (
            "easy", "build-requires-noted")

        def again() -> dict[str, dict]:  # type: ignore[type-arg]
            for kept in (grading_site.workdir / "index").glob("*.json"):
                kept.unlink()  # what the index said is asked again
            result, graded = classify(run_cli, grading_site)
            assert result.code == 0, result.err
            return graded  # type: ignore[no-any-return]

        index.add("cython", "3.0.11", files=(f"cython-3.0.11-cp312-cp312-{riscv}.whl",
                                             "cython-3.0.11.tar.gz"))
        graded = again()
        numpy = [r for r in graded["numpy"]["reasons"] if r["code"] == "build-requires-changed"]
        assert [r["detail"] for r in numpy] == [
            "Cython>=3.0 has no riscv64 wheel for cp313, cp314, cp314t: build it first, or "
            "pre-install it"]
        assert graded["cython"]["level"] == "medium"
        index.broken.add("cython")
        cython = again()["cython"]
        assert cython["level"] == "medium"
        assert "whether Cython<3.1,>=0.29.34 has riscv64 wheels is not known (the index " \
            in cython["reasons"][0]["detail"], cython["reasons"]


def test_a_new_runtime_requirement_grades_by_its_riscv64_wheels() -> None:
    """[project] dependencies: without the index a change is a note (the wheel's tests
    install them; the builds confirm); with it, one added with no riscv64 wheel for a
    Python built is medium, naming it; a marker that leaves riscv64 Linux out is never
    asked; dynamic dependencies are not read."""
    from mirrorctl.grade.index import PackageIndex
    from mirrorctl.grade.stackinstall import RequirementWheels
    from testbed.fakeindex import fake_index

    def facts(dependencies: str, dynamic: bool = False) -> BuildFacts:
        text = ('[build-system]\nrequires = ["setuptools"]\n[project]\nname = "p"\n'
                + ('dynamic = ["dependencies"]\n' if dynamic else "")
                + f"dependencies = [{dependencies}]\n")
        return build_facts({"pyproject.toml": text}, ["pyproject.toml"], {})

    old = facts('"numpy>=1.26"')
    new = facts('"numpy>=1.26", "tokenizers>=0.20", "pywin32; sys_platform == \'win32\'"')
    assert new.runtime_requires["tokenizers"] == "tokenizers>=0.20"
    assert facts('"numpy"', dynamic=True).runtime_requires == {}
    plain = grade(old, new, None, levels=default_levels(), pythons=("3.12",))
    assert (plain.level, plain.main_reason.code) == ("easy", "runtime-requires-noted")
    riscv = "manylinux_2_39_riscv64"
    with fake_index() as index:
        index.add("numpy", "2.2.0", files=(f"numpy-2.2.0-cp312-cp312-{riscv}.whl",))
        index.add("tokenizers", "0.20.0", files=("tokenizers-0.20.0.tar.gz",))
        wheels = RequirementWheels(PackageIndex(index.url, retries=0), None)
        graded = grade(old, new, None, levels=default_levels(), pythons=("3.12",),
                       wheels=wheels)
        assert graded.level == "medium"
        [reason] = [r for r in graded.reasons if r.code == "runtime-requires-changed"]
        assert reason.detail == ("tokenizers>=0.20 has no riscv64 wheel for cp312: build "
                                 "it first, or pre-install it")
        assert "/pypi/pywin32/json" not in index.requests
        index.add("tokenizers", "0.20.0", files=(
            f"tokenizers-0.20.0-cp39-abi3-{riscv}.whl",))
        wheels = RequirementWheels(PackageIndex(index.url, retries=0), None)
        graded = grade(old, new, None, levels=default_levels(), pythons=("3.12",),
                       wheels=wheels)
        assert (graded.level, graded.main_reason.code) == ("easy", "runtime-requires-noted")


def test_kept_facts_go_through_the_one_codec(tmp_path: Path) -> None:
    """A tree's facts are kept once computed and read back; a file of an older format
    or one that does not read is computed again and kept anew, never taken."""
    from mirrorctl.core.git import GitRunner, GitSettings
    from mirrorctl.core.repository import Repository
    from mirrorctl.grade.buildconfig import FACTS_FILE
    from mirrorctl.grade.classify import _facts

    upstream = Repo(tmp_path / "up")
    upstream.commit("initial", {"pyproject.toml": "[build-system]\nrequires = ['cython']\n"
                                                  "build-backend = 'mesonpy'\n"})
    upstream.tag("v1.0")
    cache = Repository(upstream.path / ".git", GitRunner(GitSettings(base_env={})))
    facts = _facts(cache, "v1.0")
    [kept] = (cache.git_dir / "mirrorctl" / "facts").iterdir()
    assert FACTS_FILE.read(kept) == facts
    assert json.loads(kept.read_text()) == facts_to_json(facts)  # as it was kept before
    for stale in ({**facts_to_json(facts), "format": 1, "backend": "stale"}, "not json"):
        kept.write_text(stale if isinstance(stale, str) else json.dumps(stale))
        assert _facts(cache, "v1.0") == facts
        assert FACTS_FILE.read(kept) == facts
