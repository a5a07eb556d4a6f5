"""`mirrorctl inventory`: mirrors.yaml brought in line with the builders' packages.txt and
deprecated.txt, with what their build workflows and docs say of each package."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mirrorctl.core.config import load_config
from mirrorctl.core.inventory import read_package_doc, read_workflow
from tests.gitrepos import Repo

# Shaped as their workflows are (build-numpy.yml, build-torch.yml, build-protobuf.yml).
NUMPY_WORKFLOW = """\
name: Build numpy wheels (riscv64)
on:
  workflow_dispatch:
    inputs:
      version:
        description: 'numpy version to build (git tag without leading v)'
        required: true
        default: '2.5.2'
env:
  NUMPY_VERSION: ${{ inputs.version || '2.5.2' }}
jobs:
  build_wheels:
    runs-on: ubuntu-24.04-riscv
    steps:
      - name: Checkout numpy v${{ env.NUMPY_VERSION }}
        uses: actions/checkout@9c091bb21b7c1c1d1991bb908d89e4e9dddfe3e0  # v7.0.0
        with:
          repository: numpy/numpy
          ref: v${{ env.NUMPY_VERSION }}
          submodules: true
      - uses: actions/checkout@9c091bb21b7c1c1d1991bb908d89e4e9dddfe3e0
        with:
          path: python-wheels-repo
"""
TORCH_WORKFLOW = """\
on:
  workflow_dispatch:
    inputs:
      version: {default: '2.13.0'}
jobs:
  build:
    steps:
      - uses: actions/checkout@v7
        with: {repository: riseproject-dev/python-wheels, path: python-wheels}
      - uses: actions/checkout@v7
        with: {repository: pytorch/pytorch, ref: 'v${{ env.TORCH_VERSION }}'}
      - run: |
          git apply ../python-wheels/patches/torch/${{ env.TORCH_VERSION }}+cpu/0001-CI.patch
"""
PROTOBUF_WORKFLOW = """\
on:
  workflow_dispatch:
    inputs:
      version: {default: '7.35.1'}
jobs:
  build:
    steps:
      - id: tag
        run: echo "value=${VERSION#*.}" >> "$GITHUB_OUTPUT"
      - uses: actions/checkout@v7
        with: {repository: protocolbuffers/protobuf, ref: 'v${{ steps.tag.outputs.value }}'}
"""
POLARS_WORKFLOW = NUMPY_WORKFLOW.replace("numpy/numpy", "pola-rs/polars").replace(
    "ref: v${{ env.NUMPY_VERSION }}", "ref: py-${{ env.POLARS_VERSION }}").replace(
    "'2.5.2'", "'1.42.1'")


def test_what_a_workflow_says() -> None:
    numpy = read_workflow(NUMPY_WORKFLOW)
    assert (numpy.upstream, numpy.tag_format, numpy.version, numpy.local_version) == (
        "https://github.com/numpy/numpy.git", "v{version}", "2.5.2", None)
    torch = read_workflow(TORCH_WORKFLOW)
    assert (torch.upstream, torch.tag_format, torch.version, torch.local_version) == (
        "https://github.com/pytorch/pytorch.git", "v{version}", "2.13.0", "cpu")
    protobuf = read_workflow(PROTOBUF_WORKFLOW)
    assert (protobuf.upstream, protobuf.tag_format) == (
        "https://github.com/protocolbuffers/protobuf.git", None)  # a computed tag: unknown
    assert read_workflow("{not: [yaml") == read_workflow("- a list") == read_workflow("")


def test_what_a_docs_page_says() -> None:
    page = read_package_doc("package-name: PyYAML\nsource-code: https://github.com/yaml/pyyaml\n"
                            "versions:\n  - version: 6.0.10\n  - version: 6.0.9\n"
                            "  - version: not-a-version\n")
    assert (page.upstream, page.version, page.tag_format) == (
        "https://github.com/yaml/pyyaml.git", "6.0.10", None)
    assert read_package_doc("source-code: https://example.org/x\n").upstream is None


@pytest.fixture
def builders_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "python-wheels"
    (repo / "ci_scripts").mkdir(parents=True)
    (repo / "ci_scripts" / "packages.txt").write_text(
        "# SPDX-License-Identifier: Apache-2.0\n\nnumpy\ntorch  # the CPU build\nprotobuf\n"
        "polars-runtime-32\npolars-runtime-64\nPyYAML\ncffi\nscipy\n")
    (repo / "ci_scripts" / "deprecated.txt").write_text("aiohttp\nwrapt\nnever-seen\n")
    workflows = repo / ".github" / "workflows"
    workflows.mkdir(parents=True)
    for name, text in {"numpy": NUMPY_WORKFLOW, "torch": TORCH_WORKFLOW,
                       "protobuf": PROTOBUF_WORKFLOW, "polars-runtime": POLARS_WORKFLOW}.items():
        (workflows / f"build-{name}.yml").write_text(text)
    (workflows / "nightly.yml").write_text("on: {schedule: [{cron: '0 2 * * *'}]}\n")
    docs = repo / "docs" / "packages"
    docs.mkdir(parents=True)
    (docs / "pyyaml.yaml").write_text("package-name: PyYAML\nsource-code: "
                                      "https://github.com/yaml/pyyaml\nversions:\n"
                                      "  - version: 6.0.3\n")
    (docs / "numpy.yaml").write_text("source-code: https://github.com/numpy/numpy\n"
                                     "versions:\n  - version: 2.5.1\n")
    return repo


INVENTORY = """\
# Our inventory: this comment stays.

defaults:
  patchsets: patches
  branches: [main, master]
packages:
  cffi:   # kept, this comment is not
    upstream: https://github.com/python-cffi/cffi.git
    version: "2.0.0"
    note: kept with the entry
  wrapt:
    upstream: https://github.com/GrahamDumpleton/wrapt.git
    tag_format: "{version}"
  aiohttp:
    upstream: https://github.com/aio-libs/aiohttp.git
  numpy:
    upstream: https://github.com/numpy/numpy.git
    version: "2.4.0"
    branches: [main, "maintenance/*"]
  scipy:
    upstream: https://github.com/scipy/scipy.git
    version: "1.16.0"
    retired: true
  pyarrow:
    upstream: https://github.com/apache/arrow.git
  pyyaml:
    upstream: https://github.com/yaml/pyyaml.git
    tag_format: "{version}"
    version: "6.0.1"
"""


def run_inventory(run_cli, config: Path, repo: Path, *args: str):  # type: ignore[no-untyped-def]
    return run_cli("--config", str(config), "inventory", *args,
                   str(repo / "ci_scripts" / "packages.txt"),
                   str(repo / "ci_scripts" / "deprecated.txt"),
                   "--workflows", str(repo / ".github" / "workflows"),
                   "--docs", str(repo / "docs" / "packages"))


def test_the_lists_brought_into_mirrors_yaml(run_cli, builders_repo: Path,
                                              tmp_path: Path) -> None:
    config = tmp_path / "mirrors.yaml"
    config.write_text(INVENTORY)
    checked = run_inventory(run_cli, config, builders_repo, "--check", "--format", "json")
    assert checked.code == 1 and config.read_text() == INVENTORY  # --check writes nothing
    dry = run_inventory(run_cli, config, builders_repo, "--dry-run", "--format", "json")
    assert (dry.code, dry.out) == (1, checked.out) and config.read_text() == INVENTORY

    result = run_inventory(run_cli, config, builders_repo, "--format", "json")
    data = json.loads(result.out)
    assert result.code == 1  # protobuf's tag is for a person to say
    assert data["added"] == ["torch", "polars-runtime-32", "polars-runtime-64"]
    assert data["tag_unknown"] == ["protobuf"] and data["no_upstream"] == []
    assert data["retired"] == ["aiohttp", "wrapt"] and data["reactivated"] == ["scipy"]
    assert data["unlisted"] == ["pyarrow"] and data["untracked"] == ["never-seen"]
    assert data["versions"] == [{"package": "numpy", "from": "2.4.0", "to": "2.5.2"},
                                {"package": "pyyaml", "from": "6.0.1", "to": "6.0.3"}]
    assert {"package": "numpy", "key": "tag_format"} in data["filled"]
    assert data["written"] is True

    text = config.read_text()
    assert text.startswith("# Our inventory: this comment stays.\n")
    loaded = load_config(config)
    packages = loaded.packages
    assert list(packages) == ["aiohttp", "cffi", "numpy", "polars-runtime-32",
                              "polars-runtime-64", "pyarrow", "pyyaml", "scipy", "torch",
                              "wrapt"]  # the names as mirrors.yaml spells them, in order
    assert (packages["torch"].version, packages["torch"].tag_format.tag_for("2.13.0+cpu")) == \
        ("2.13.0+cpu", "v2.13.0")
    assert packages["polars-runtime-64"].tag_format.template == "py-{version}"
    assert packages["polars-runtime-64"].cache == "polars-runtime-32"
    assert packages["pyyaml"].version == "6.0.3"  # the newest its docs page lists
    assert packages["numpy"].branches == ("main", "maintenance/*")  # every key kept
    assert packages["cffi"].version == "2.0.0" and "kept with the entry" in text
    assert packages["wrapt"].retired and not packages["scipy"].retired
    assert "protobuf" not in packages  # never added with a guessed tag format

    # Once in line, the same lists change nothing; a version never goes back.
    again = run_inventory(run_cli, config, builders_repo)
    assert again.code == 1 and config.read_text() == text  # protobuf still waits
    assert "TAG UNKNOWN  protobuf" in again.out and "already in line" in again.out
    text_with_protobuf = text.replace("packages:\n", "packages:\n  protobuf:\n    upstream: "
                                      "https://github.com/protocolbuffers/protobuf.git\n"
                                      "    wheel_major: 7\n    tag_format: v{version}\n")
    config.write_text(text_with_protobuf)
    done = run_inventory(run_cli, config, builders_repo, "--format", "json")
    assert done.code == 0, done.out
    assert load_config(config).packages["protobuf"].version == "7.35.1"
    assert run_inventory(run_cli, config, builders_repo, "--check").code == 0


def test_bad_input_writes_nothing(run_cli, builders_repo: Path, tmp_path: Path) -> None:
    config = tmp_path / "mirrors.yaml"
    config.write_text(INVENTORY)
    lists = builders_repo / "ci_scripts" / "packages.txt"
    lists.write_text("numpy\n")
    config.write_text(INVENTORY.replace("  branches: [main, master]", "  brnaches: [main]"))
    broken = run_inventory(run_cli, config, builders_repo)
    assert broken.code == 2 and "did you mean branches" in broken.err
    assert "brnaches" in config.read_text()


def test_a_read_only_folder_leaves_mirrors_yaml_as_it_was(run_cli, builders_repo: Path,
                                                          tmp_path: Path) -> None:
    from tests.test_faults import read_only, tmpfs

    with tmpfs(tmp_path / "site") as folder:
        config = folder / "mirrors.yaml"
        config.write_text(INVENTORY)
        read_only(folder)
        result = run_inventory(run_cli, config, builders_repo)
        assert result.code == 1 and "Read-only file system" in result.err
        assert str(config) in result.err
        assert config.read_text() == INVENTORY


def test_from_zero_a_complete_mirrors_yaml_that_validates(run_cli, builders_repo: Path) -> None:
    """Adoption in minutes: no mirrors.yaml yet, and the first inventory writes one whose
    defaults are the repository's (its queues, registry, Pythons), which validate reads."""
    # A queue with nothing left to carry (an empty folder is no queue: validate names it).
    (builders_repo / "patches" / "numpy" / "2.5.2").mkdir(parents=True)
    (builders_repo / "patches" / "numpy" / "2.5.2" / "series").write_text(
        "# nothing left to carry: upstream took every patch\n")
    (builders_repo / ".github" / "workflows" / "build-numpy.yml").write_text(
        NUMPY_WORKFLOW + "env:\n  UV_EXTRA_INDEX_URL: https://pypi.riseproject.dev/simple/\n"
        "  CIBW_BUILD: \"cp312-* cp313-* cp314-* cp314t-*\"\n")
    config = builders_repo / "mirrors.yaml"
    result = run_inventory(run_cli, config, builders_repo, "--format", "json")
    data = json.loads(result.out)
    assert set(data["defaults"]) == {"patchsets", "status_vocabulary", "registry_url",
                                     "python_versions"}
    loaded = load_config(config)
    assert loaded.patchsets == builders_repo / "patches"
    assert loaded.registry_url == "https://pypi.riseproject.dev/simple"
    assert loaded.python_versions == ("3.12", "3.13", "3.14", "3.14t")
    assert loaded.status_vocabulary == "builders"
    assert config.read_text().startswith("# The package inventory, made by `mirrorctl "
                                         "inventory`")
    checked = run_cli("--config", str(config), "validate", "--format", "json")
    assert checked.code == 0, checked.out
    # PyYAML has a docs page and no workflow: said so, not "its workflow computes the tag".
    why = data["tag_unknown_why"]
    assert why["PyYAML"].startswith("no build workflow says its tag")
    assert why["protobuf"] == "its workflow computes the tag"
    table = run_inventory(run_cli, config, builders_repo).out
    assert "PyYAML (not added: no build workflow says its tag" in table
    assert "--probe" in table.split("PyYAML", 1)[1].splitlines()[0]


def test_probe_reads_a_tag_format_off_upstreams_tags(run_cli, builders_repo: Path,
                                                     tmp_path: Path) -> None:
    from tests.flakygit import flaky_git_server

    served = tmp_path / "served"
    up = Repo(served / "yaml" / "pyyaml.git")
    up.commit("release", {"setup.py": "x = 1\n"})
    for version in ("6.0.1", "6.0.2", "6.0.3"):
        up.commit(f"release {version}", {"VERSION": version})
        up.tag(version, annotated=True)
    config = tmp_path / "mirrors.yaml"
    config.write_text("defaults:\n  allowed_protocols: [https, http]\npackages:\n"
                      "  numpy: {upstream: 'https://github.com/numpy/numpy.git'}\n")
    with flaky_git_server(served) as server:
        (builders_repo / "docs" / "packages" / "pyyaml.yaml").write_text(
            f"source-code: {server.repo_url('yaml/pyyaml.git')}\nversions:\n"
            "  - version: 6.0.3\n")
        result = run_inventory(run_cli, config, builders_repo, "--probe", "--format", "json")
    assert result.out.startswith("{"), result.err
    data = json.loads(result.out)
    assert {"package": "PyYAML", "tag_format": "{version}",
            "evidence": "upstream's tag 6.0.3 is version 6.0.3"} in data["inferred"]
    assert "PyYAML" in data["added"] and "PyYAML" not in data["tag_unknown"]
    entry = load_config(config).packages["PyYAML"]
    assert entry.tag_format.template == "{version}" and entry.version == "6.0.3"
    assert "tag_format inferred by `mirrorctl inventory --probe`" in config.read_text()
    assert "protobuf" in data["tag_unknown"]  # a computed tag is never probed


def test_a_line_of_the_lists_that_is_no_name_is_named_and_skipped(
        run_cli, builders_repo: Path, tmp_path: Path) -> None:
    """Their deprecated.txt held three lines of prose without `#` for a month: those are
    named (file:line) and skipped, the other lines read, exit 1 (it was 2: nothing read)."""
    config = tmp_path / "mirrors.yaml"
    config.write_text(INVENTORY)
    retired = builders_repo / "ci_scripts" / "deprecated.txt"
    retired.write_text("# Retired: upstream ships riscv64 wheels.\nmarkupsafe\n"
                       "Packages below were retired in July\nbecause upstream\nwrapt\n")
    done = run_inventory(run_cli, config, builders_repo, "--format", "json")
    assert done.code == 1, done.err
    data = json.loads(done.out)
    assert [(s["line"], s["file"].rsplit("/", 1)[-1]) for s in data["skipped"]] == [
        (3, "deprecated.txt"), (4, "deprecated.txt")]
    assert "package name" in data["skipped"][0]["problem"]
    assert data["written"] is True
    table = run_inventory(run_cli, config, builders_repo, "--check")
    assert table.code == 1
    assert "SKIPPED      " in table.out and "deprecated.txt:3:" in table.out
