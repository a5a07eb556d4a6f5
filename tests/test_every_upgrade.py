"""Every upgrade the builders make, as they merge it (issue 30): their commonest, a
version bump of a package that carries no patch, delivered like any other; what their
bot does (several releases in one request, builds dispatched, a package without a build
workflow, retirement, an older request superseded); and the road after the merge, to
the wheels in the registry.

A local copy in the shape of their repository (their layout, a build workflow naming
the version in every spelling and in comments, pr-trigger's `Trigger:` convention, a
publish action that writes the docs), a loopback GitHub, and a local Simple registry.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version

from testbed.fakepulls import GITHUB_TOKEN, PullForge, pull_forge
from testbed.httpserver import http_server
from tests.gitrepos import Repo, git, write_config
from tests.test_patches import make_queue
from tests.test_their_repository import TheirRemote, changed_lines, triggers_of

PROJECT = "rise/python-wheels"

# Their numpy workflow's shape: the version in the input's default and description, the
# concurrency group, an env fallback with a comment that restates it, job names; and a
# comment that names the version for another reason (a person checks it).
BUILD = """\
---
name: Build {name} wheels (riscv64)

on:
  workflow_dispatch:
    inputs:
      version:
        description: '{name} version to build (git tag without leading v, e.g. {v})'
        required: true
        default: '{v}'
  pull_request:
    paths:
      - '.github/workflows/build-{name}.yml'

concurrency:
  group: ${{{{ github.workflow }}}}-${{{{ inputs.version || '{v}' }}}}-${{{{ github.run_id }}}}
  cancel-in-progress: true

env:
  # `inputs.version` is empty on pull_request events; default to {v} there.
  PKG_VERSION: ${{{{ inputs.version || '{v}' }}}}
  # The 2_39 image since {v}: older ones lack the toolchain.
  MANYLINUX_RISCV64_IMAGE: quay.io/pypa/manylinux_2_39_riscv64

jobs:
  build_wheels:
    name: Build {name} ${{{{ inputs.version || '{v}' }}}} ${{{{ matrix.python }}}}-manylinux_riscv64
    runs-on: ubuntu-24.04-riscv
    strategy:
      fail-fast: false
      matrix:
        python: ["cp312", "cp313"]
    steps:
      - name: Checkout {name} v${{{{ env.PKG_VERSION }}}}
        uses: actions/checkout@v7
        with:
          repository: up/{name}
          ref: v${{{{ env.PKG_VERSION }}}}

      - name: Build wheels
        uses: pypa/cibuildwheel@v4
        env:
          CIBW_BUILD: ${{{{ matrix.python }}}}-manylinux_riscv64

  publish:
    name: Publish {name} ${{{{ inputs.version || '{v}' }}}} to GitLab
    needs: [build_wheels]
    runs-on: ubuntu-latest
    steps:
      - name: Publish wheels and open docs PR
        uses: rise/python-wheels/actions/publish-wheels@main
        with:
          artifact-pattern: {name}-${{{{ env.PKG_VERSION }}}}-*-manylinux_riscv64
"""
# Their publish action: it uploads the wheels and writes the docs entry (update_doc.py),
# so their upgrade requests never touch docs/.
PUBLISH = """\
name: 'Publish riscv64 Wheels and Document Release'
runs:
  using: 'composite'
  steps:
    - name: Publish to the registry
      shell: bash
      run: twine upload dist/*.whl
    - name: Open the docs pull request
      shell: bash
      run: python3 ci_scripts/update_doc.py --package "$PACKAGE" --version "$VERSION"
"""
DOCS = "package-name: {name}\nlicense: BSD-3-Clause\nversions:\n  - version: {v}\n"


def build_workflow(name: str, version: str) -> str:
    return BUILD.format(name=name, v=version)


@dataclass
class Builders(TheirRemote):
    root: Path
    checkout: Repo  # the builders' repository, as a nightly job checks out main
    remote: Path
    config: Path
    workdir: Path
    forge: PullForge
    upstreams: dict[str, Repo] = field(default_factory=dict)

    def release(self, name: str, version: str) -> None:
        up = self.upstreams[name]
        up.commit(f"release {version}", {"README": f"{name} {version}\n"})
        up.tag(f"v{version}", annotated=True)

    def night(self, run_cli: Any, *extra: str) -> dict[str, Any]:
        result = run_cli(*self.args("nightly", "--push", "--format", "json", *extra))
        data: dict[str, Any] = json.loads(result.out)
        data["code"] = result.code
        return data

    def merge(self, pull: dict[str, Any]) -> None:
        """They squash-merge the request, and the next nightly checks out main."""
        self.checkout.git("fetch", "--quiet", str(self.remote), "main")
        self.checkout.git("reset", "--quiet", "--hard", "FETCH_HEAD")
        self.checkout.git("clean", "-fdq")
        self.checkout.git("fetch", "--quiet", str(self.remote), pull["head"]["ref"])
        self.checkout.git("merge", "--squash", "--quiet", "FETCH_HEAD")
        self.checkout.git("commit", "--quiet", "-m", str(pull["title"]))
        self.checkout.git("push", "--quiet", str(self.remote), "HEAD:refs/heads/main")
        pull.update(state="closed", merged=True, merged_at="2026-12-01T09:00:00Z")


def builders_repository(root: Path, forge: PullForge, packages: dict[str, str], *,
                        patched: dict[str, list[tuple[str, dict[str, str]]]] | None = None,
                        without_workflow: tuple[str, ...] = (), **defaults: Any) -> Builders:
    """Their repository with a build workflow and a docs page for each package (name ->
    the version it builds), `patched` ones carrying a queue (its patches' messages and
    files), those `without_workflow` having none; an upstream for each, released at that
    version."""
    site = root / "python-wheels"
    upstreams, entries = {}, {}
    for name, version in packages.items():
        up = Repo(root / "upstreams" / name)
        up.commit(f"release {version}", {"README": f"{name} {version}\n",
                                         "src/core.c": "int riscv64 = 0;\n",
                                         "pyproject.toml": "[build-system]\n"
                                         "requires = ['setuptools']\n"})
        up.tag(f"v{version}", annotated=True)
        upstreams[name] = up
        entries[name] = {"upstream": str(up.path), "version": version}
        if name in (patched or {}):
            queue = site / "patches" / name / version
            make_queue(up, queue, (patched or {})[name])
            (queue.parent / f"{version}.tree").unlink()
        files = {f"docs/packages/{name}.yaml": DOCS.format(name=name, v=version)}
        if name not in without_workflow:
            files[f".github/workflows/build-{name}.yml"] = build_workflow(name, version)
        for path, text in files.items():
            (site / path).parent.mkdir(parents=True, exist_ok=True)
            (site / path).write_text(text)
    (site / "ci_scripts").mkdir()
    (site / "ci_scripts" / "packages.txt").write_text(
        "# SPDX-License-Identifier: MIT\n" + "".join(f"{n}\n" for n in packages))
    (site / "ci_scripts" / "deprecated.txt").write_text(
        "# Upstream ships riscv64 wheels of these.\naiohttp\nWrapt\n")
    (site / "actions" / "publish-wheels").mkdir(parents=True)
    (site / "actions" / "publish-wheels" / "action.yml").write_text(PUBLISH)
    (site / "patches").mkdir(exist_ok=True)
    config = write_config(site / "mirrors.yaml", entries, patchsets="patches",
                          forge_apis={"github.com": forge.url}, pull_requests={
                              "repository": f"https://github.com/{PROJECT}",
                              "remote": str(root / "remote.git"),
                              **defaults.pop("pull_requests", {})}, **defaults)
    (site / ".gitignore").write_text(".mirrorctl/\n")
    git(site, "init", "--quiet", "--initial-branch", "main")
    checkout = Repo(site)
    checkout.git("add", "-A")
    checkout.git("commit", "--quiet", "-m", "the builders' repository")
    Repo(root / "remote.git", bare=True)
    checkout.git("push", "--quiet", str(root / "remote.git"), "HEAD:refs/heads/main")
    return Builders(root, checkout, root / "remote.git", config, root / "work", forge,
                    upstreams)


@dataclass
class Indexes:
    """PyPI's JSON API and the builders' Simple registry, on loopback: `pypi` holds each
    project's releases (version -> file names), `registry` each project's file names."""

    url: str = ""
    pypi: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    registry: dict[str, list[str]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def respond(self, request: Any, index: int) -> Any:
        self.requests.append(request.path)
        if m := re.fullmatch(r"/pypi/([^/]+)/json", request.path):
            releases = self.pypi.get(m.group(1))
            if releases is None:
                return 404, {}
            return 200, {"Content-Type": "application/json"}, json.dumps({
                "info": {"name": m.group(1), "version": max(releases, key=Version)},
                "releases": {v: [{"filename": f, "yanked": False} for f in files]
                             for v, files in releases.items()}}).encode()
        if m := re.fullmatch(r"/simple/([^/]+)/", request.path):
            files = self.registry.get(m.group(1), [])
            return 200, {"Content-Type": "application/vnd.pypi.simple.v1+json"}, json.dumps({
                "meta": {"api-version": "1.1"}, "name": m.group(1), "versions": [],
                "files": [{"filename": f, "url": f"/files/{f}", "hashes": {}}
                          for f in files]}).encode()
        return 404, {}

    def release(self, name: str, version: str) -> None:
        """PyPI has the release: an sdist and an x86_64 wheel (no riscv64 one)."""
        self.pypi.setdefault(name, {})[version] = [
            f"{name}-{version}.tar.gz", f"{name}-{version}-cp312-cp312-manylinux_2_28_x86_64.whl"]

    def built(self, name: str, version: str, pythons: tuple[str, ...] = ("cp312", "cp313")
              ) -> None:
        """The registry has the builders' riscv64 wheels of the release."""
        self.registry.setdefault(name, []).extend(
            f"{name}-{version}-{py}-{py}-manylinux_2_39_riscv64.whl" for py in pythons)


def due(site: Builders, index: Indexes, name: str, built: str, *versions: str) -> None:
    """The registry has `built`; upstream and PyPI release each of `versions`."""
    index.release(name, built)
    index.built(name, built)
    for version in versions:
        site.release(name, version)
        index.release(name, version)


@contextmanager
def indexes() -> Iterator[Indexes]:
    found = Indexes()
    with http_server(found.respond) as server:
        found.url = server.url
        yield found


@pytest.fixture
def builders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MIRRORCTL_GITHUB_TOKEN", GITHUB_TOKEN)
    with pull_forge() as forge:
        yield builders_repository(tmp_path, forge, {"numpy": "2.5.1"})


def test_a_package_without_patches_is_upgraded_as_the_builders_do(
        run_cli: Any, builders: Builders) -> None:
    site = builders
    site.release("numpy", "2.5.2")
    assert run_cli(*site.args("sync")).code == 0
    # What it would do: a dry run carries the empty queue and writes nothing.
    dry = run_cli(*site.args("rebase", "numpy", "--dry-run", "--format", "json"))
    assert dry.code == 0, dry.err
    planned = json.loads(dry.out)
    assert (planned["from"], planned["to"], planned["written"], planned["patches"]) == (
        "2.5.1", "2.5.2", "no-patches", [])
    graded = run_cli(*site.args("classify", "numpy", "--format", "json"))
    [numpy] = json.loads(graded.out)["packages"]
    assert (graded.code, numpy["from"], numpy["to"], numpy["level"]) == (0, "2.5.1", "2.5.2",
                                                                        "easy")
    night = site.night(run_cli)
    assert night["code"] == 0, night["needs_human"]
    [rebased] = night["rebases"]
    assert rebased["written"] == "no-patches"
    assert rebased["pull_request"]["action"] == "opened", rebased["pull_request"]
    [pull] = site.forge.pulls
    branch = "mirrorctl/upgrade-numpy-2.5.2"
    assert (pull["title"], pull["draft"], pull["head"]["ref"]) == (
        "Upgrade numpy to v2.5.2", True, branch)
    assert triggers_of(pull["body"]) == ["Trigger: numpy:2.5.2"]
    # No queue folder anywhere: not in the request, not beside mirrors.yaml.
    assert not (site.checkout.path / "patches" / "numpy").exists()
    assert site.files(branch) == site.files("main")
    # The person's workflow: every line that carries the version, the comment that
    # restates it included; the comment that names it for another reason is left, and
    # the body lists it for a person to check. The docs are the publish step's.
    workflow = site.show(f"{branch}:.github/workflows/build-numpy.yml")
    expected = build_workflow("numpy", "2.5.2").replace(
        "The 2_39 image since 2.5.2", "The 2_39 image since 2.5.1")
    assert workflow == expected
    assert changed_lines(site, "main", branch) == {".github/workflows/build-numpy.yml": (7, 7)}
    assert "`.github/workflows/build-numpy.yml` line 22" in pull["body"]
    assert "The 2_39 image since 2.5.1" in pull["body"]
    [commit] = site.bare.git("log", "--format=%s", f"main..{branch}").splitlines()
    assert commit == "workflows: build-numpy: update for v2.5.2"
    message = site.bare.git("log", "-1", "--format=%B", branch)
    assert "7 lines of build-numpy.yml" in message
    assert "line 22 names 2.5.1 in a comment: left for a person to check" in message
    assert "Signed-off-by: mirrorctl <mirrorctl@invalid>" in message
    # The next night finds it delivered: nothing is written to the forge.
    posted = len([r for r in site.forge.requests if not r.startswith("GET")])
    again = site.night(run_cli)
    assert again["code"] == 0, again["needs_human"]
    assert again["rebases"][0]["pull_request"]["action"] == "unchanged"
    assert len([r for r in site.forge.requests if not r.startswith("GET")]) == posted
    # Merged: the workflow builds 2.5.2, which is the package's version from then on.
    site.merge(pull)
    after = site.night(run_cli)
    assert after["code"] == 0 and after["rebases"] == []
    [package] = after["report"]["packages"]
    assert package["current"] == "2.5.2"
    assert not (site.checkout.path / "patches" / "numpy").exists()


@pytest.mark.parametrize("named", [True, False], ids=["request-named", "patch-id-only"])
def test_a_backport_upstream_took_and_undid_is_left_out_and_delivered(
        run_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, named: bool) -> None:
    """matplotlib 3.11.0 -> 3.11.1: the release holds upstream's pytest pin and, later,
    its un-pinning (no git revert). The queue follows the release, whether upstream's
    messages name the request or only the pin's patch-id says it was taken."""
    from tests.test_their_repository import their_repository

    monkeypatch.setenv("MIRRORCTL_GITHUB_TOKEN", GITHUB_TOKEN)
    with pull_forge() as forge:
        site = their_repository(
            tmp_path, forge, **({} if named else {
                "pin_message": "TST: pin pytest below 9.1",
                "pin_status": "Upstream-Status: Backport [https://github.com/up/plotlib/pull/31]"}))
        unpin = site.upstream.commit("TST: let pytest 9.1 in again",
                                     {"tests/conftest.py": "PIN = None\n"})
        site.release("3.11.1")
        night = site.night(run_cli)
        assert night["code"] == 0, night["needs_human"]
        [rebased] = night["rebases"]
        pin = next(p for p in rebased["patches"] if p["patch"].startswith("0001"))
        assert pin["outcome"] == "undone"
        assert pin["upstream_commit"] == site.pin
        assert f"took it in {site.pin[:12]}" in pin["detail"]
        assert f"undid it in {unpin[:12]} before v3.11.1" in pin["detail"]
        assert rebased["status"] == "clean" and rebased["written"] == "written"
        assert sorted(p.name for p in (site.checkout.path / "patches" / "plotlib" / "3.11.1")
                      .iterdir()) == ["0002-TST-lengthen-the-font-cache-timeout.patch"]
        [pull] = site.forge.pulls
        assert rebased["pull_request"]["action"] == "opened"
        assert "| `0001-TST-temporarily-pin-pytest.patch` | undone |" in pull["body"]
        assert [x["name"] for x in pull["labels"]] == ["mirrorctl: medium"]
        message = site.bare.git("log", "--format=%B", "main..mirrorctl/upgrade-plotlib-3.11.1")
        assert f"We don't carry 0001-TST-temporarily-pin-pytest.patch: upstream took it in " \
               f"{site.pin[:12]}" in message
        graded = run_cli(*site.args("classify", "plotlib", "--format", "json"))
        [plotlib] = json.loads(graded.out)["packages"]
        assert plotlib["level"] == "medium"
        assert plotlib["reasons"][0]["code"] == "backport-undone"


def test_three_missing_releases_then_a_fourth(run_cli: Any, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """What their bot does: the releases the registry lacks since its newest built one, at
    most three, in one request (a `Trigger:` line each, the workflow at the newest); a
    fourth release supersedes that request, which is closed, naming the newer."""
    monkeypatch.setenv("MIRRORCTL_GITHUB_TOKEN", GITHUB_TOKEN)
    with pull_forge() as forge, indexes() as index:
        site = builders_repository(tmp_path, forge, {"numpy": "2.5.1"},
                                   pypi_url=index.url, registry_url=f"{index.url}/simple/",
                                   python_versions=["3.12", "3.13"])
        due(site, index, "numpy", "2.5.1", "2.5.2", "2.5.3", "2.5.4")
        night = site.night(run_cli)
        assert night["code"] == 0, night["needs_human"]
        [rebased] = night["rebases"]
        assert rebased["to"] == "2.5.4"
        assert rebased["pull_request"]["triggered"] == ["2.5.2", "2.5.3", "2.5.4"]
        [pull] = forge.pulls
        assert pull["title"] == "Upgrade numpy to v2.5.4"
        assert triggers_of(pull["body"]) == ["Trigger: numpy:2.5.2", "Trigger: numpy:2.5.3",
                                             "Trigger: numpy:2.5.4"]
        branch = "mirrorctl/upgrade-numpy-2.5.4"
        assert "default: '2.5.4'" in site.show(f"{branch}:.github/workflows/build-numpy.yml")
        # A fourth: the newest three, and the older request closed in its favour.
        site.release("numpy", "2.5.5")
        index.release("numpy", "2.5.5")
        night = site.night(run_cli)
        assert night["code"] == 0, night["needs_human"]
        [rebased] = night["rebases"]
        assert rebased["pull_request"]["triggered"] == ["2.5.3", "2.5.4", "2.5.5"]
        older, newer = forge.pulls
        assert (older["state"], newer["state"]) == ("closed", "open")
        assert triggers_of(newer["body"]) == ["Trigger: numpy:2.5.3", "Trigger: numpy:2.5.4",
                                              "Trigger: numpy:2.5.5"]
        assert f"Supersedes {older['html_url']}" in newer["body"]
        assert (older["number"], f"Superseded by {newer['html_url']} (numpy 2.5.5).") in \
            forge.comments
        assert rebased["pull_request"]["detail"] == f"superseded {older['html_url']}"


def test_upstream_shipping_riscv64_wheels_is_a_retirement_request(
        run_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIRRORCTL_GITHUB_TOKEN", GITHUB_TOKEN)
    with pull_forge() as forge, indexes() as index:
        site = builders_repository(tmp_path, forge, {"numpy": "2.5.1", "scipy": "1.16.0"},
                                   pypi_url=index.url, registry_url=f"{index.url}/simple/",
                                   python_versions=["3.12", "3.13"])
        forge.issues.append({"number": 7, "state": "open", "state_reason": None,
                             "title": "numpy riscv64 support", "body": "", "labels": [],
                             "html_url": f"https://github.com/{PROJECT}/issues/7"})
        index.release("numpy", "2.5.1")
        index.built("numpy", "2.5.1")
        index.release("scipy", "1.16.0")
        index.built("scipy", "1.16.0")
        site.release("numpy", "2.6.0")
        index.pypi["numpy"]["2.6.0"] = [
            "numpy-2.6.0.tar.gz", *(f"numpy-2.6.0-{py}-{py}-manylinux_2_28_riscv64.whl"
                                    for py in ("cp312", "cp313"))]
        # scipy's latest ships only pure-Python wheels, and their bot asked already.
        index.pypi["scipy"]["1.16.0"] = ["scipy-1.16.0-py3-none-any.whl"]
        forge.pulls.append(bot := {
            "number": 90, "state": "open", "title": "scipy: deprecate our wheel", "body": "",
            "draft": True, "labels": [], "html_url": f"https://github.com/{PROJECT}/pull/90",
            "head": {"ref": "github-actions/deprecate-scipy", "repo": {"full_name": PROJECT}},
            "base": {"ref": "main"}})
        night = site.night(run_cli)
        assert night["code"] == 0, night["needs_human"]
        assert night["rebases"] == []  # retired, not upgraded
        retired, theirs = night["retirements"]
        assert (retired["package"], retired["action"], retired["fixes"]) == ("numpy", "opened", 7)
        assert (theirs["package"], theirs["action"], theirs["url"]) == (
            "scipy", "unchanged", bot["html_url"])
        [pull] = [p for p in forge.pulls if p is not bot]
        branch = "mirrorctl/deprecate-numpy"
        assert (pull["title"], pull["head"]["ref"], pull["draft"]) == (
            "numpy: deprecate our wheel", branch, True)
        assert pull["body"].startswith("Automatically generated PR to deprecate numpy.")
        assert "Fixes: #7" in pull["body"]
        assert f"{index.url}/project/numpy/" in pull["body"]
        assert site.show(f"{branch}:docs/packages/numpy.yaml") == \
            "deprecated:\n" + DOCS.format(name="numpy", v="2.5.1")
        assert site.show(f"{branch}:ci_scripts/packages.txt") == \
            "# SPDX-License-Identifier: MIT\nscipy\n"
        assert site.show(f"{branch}:ci_scripts/deprecated.txt") == \
            "# Upstream ships riscv64 wheels of these.\naiohttp\nnumpy\nWrapt\n"
        mirrors = site.show(f"{branch}:mirrors.yaml")
        assert mirrors.replace("    retired: true\n", "", 1) == site.show("main:mirrors.yaml")
        message = site.bare.git("log", "-1", "--format=%B", branch)
        assert message.startswith("numpy: deprecate our wheel\n\nnumpy v2.6.0: upstream "
                                  "publishes riscv64 wheels for Python 3.12, 3.13")
        assert "Fixes: #7" in message and "Signed-off-by: mirrorctl <mirrorctl@invalid>" in \
            message
        # The next night finds it open: nothing more.
        again = site.night(run_cli)
        assert again["retirements"][0]["action"] == "unchanged" and len(forge.pulls) == 2
        # Merged: numpy is retired in mirrors.yaml, watched, and asks nothing more.
        site.merge(pull)
        after = site.night(run_cli)
        assert after["code"] == 0, after["needs_human"]
        assert [r["package"] for r in after["retirements"]] == ["scipy"]


RISCV64_PATCH = ("BLD: build the riscv64 flavour\n\n"
                 "Upstream-Status: Inappropriate [riscv64 CI only]",
                 {"src/core.c": "int riscv64 = 1;\n"})


def test_a_patched_package_carried_onto_each_release_its_request_builds(
        run_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three releases due for a package with a patch: a folder each in one request, its
    builds dispatched on its branch once (`dispatch: true`, as a request opened with
    Actions' GITHUB_TOKEN starts none); then a fourth release, while a person works on the
    older request: the new one is opened, the older left open for them, and said."""
    monkeypatch.setenv("MIRRORCTL_GITHUB_TOKEN", GITHUB_TOKEN)
    with pull_forge() as forge, indexes() as index:
        site = builders_repository(tmp_path, forge, {"ujson": "5.10.0"},
                                   patched={"ujson": [RISCV64_PATCH]},
                                   pull_requests={"dispatch": True},
                                   pypi_url=index.url, registry_url=f"{index.url}/simple/",
                                   python_versions=["3.12", "3.13"])
        due(site, index, "ujson", "5.10.0", "5.10.1", "5.10.2", "5.11.0")
        night = site.night(run_cli)
        assert night["code"] == 0, night["needs_human"]
        [rebased] = night["rebases"]
        assert rebased["pull_request"]["triggered"] == ["5.10.1", "5.10.2", "5.11.0"]
        branch = "mirrorctl/upgrade-ujson-5.11.0"
        patch = "0001-BLD-build-the-riscv64-flavour.patch"
        assert site.files(branch) - site.files("main") == {
            f"patches/ujson/{v}/{patch}" for v in ("5.10.1", "5.10.2", "5.11.0")}
        log = site.bare.git("log", "--reverse", "--format=%s", f"main..{branch}").splitlines()
        assert log == ["patches: ujson: carry 1 patch to v5.10.1",
                       "patches: ujson: carry 1 patch to v5.10.2",
                       "patches: ujson: carry 1 patch to v5.11.0",
                       "workflows: build-ujson: update for v5.11.0"]
        assert forge.dispatches == [
            {"workflow": "build-ujson.yml", "ref": branch, "inputs": {"version": v}}
            for v in ("5.10.1", "5.10.2", "5.11.0")]
        again = site.night(run_cli)
        assert again["code"] == 0 and len(forge.dispatches) == 3  # nothing new: none again
        # A person fixes something on the request's branch; then 5.11.1 is released.
        git(tmp_path, "clone", "--quiet", "--branch", branch, str(site.remote), "hand")
        hand = Repo(tmp_path / "hand")
        hand.commit("ujson: skip a flaky test", {"notes.txt": "by hand\n"})
        hand.git("push", "--quiet", "origin", f"HEAD:{branch}")
        site.release("ujson", "5.11.1")
        index.release("ujson", "5.11.1")
        night = site.night(run_cli)
        assert night["code"] == 1
        older, newer = forge.pulls
        assert (older["state"], newer["state"]) == ("open", "open")
        [rebased] = night["rebases"]
        assert rebased["pull_request"]["kept"] == [older["html_url"]]
        [need] = [n for n in night["needs"] if n["kind"] == "request-superseded-kept"]
        assert need["package"] == "ujson" and older["html_url"] in need["detail"]
        assert not [c for c in forge.comments if c[0] == older["number"]]


def test_a_package_without_a_build_workflow_gets_their_bots_request(
        run_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIRRORCTL_GITHUB_TOKEN", GITHUB_TOKEN)
    with pull_forge() as forge:
        site = builders_repository(tmp_path, forge, {"cffi": "2.0.0"},
                                   without_workflow=("cffi",))
        site.release("cffi", "2.1.0")
        night = site.night(run_cli)
        assert night["code"] == 0, night["needs_human"]
        [pull] = forge.pulls
        assert pull["title"] == "Upgrade cffi to v2.1.0"
        assert "No build workflow found at `.github/workflows/build-cffi.yml`" in pull["body"]
        assert triggers_of(pull["body"]) == ["Trigger: cffi:2.1.0"]
        branch = "mirrorctl/upgrade-cffi-2.1.0"
        [subject] = site.bare.git("log", "--format=%s", f"main..{branch}").splitlines()
        assert subject == "DO NOT MERGE: cffi: trigger builds for v2.1.0"
        assert site.files(branch) == site.files("main")


def test_from_merged_to_published(run_cli: Any, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """After the merge, the next night dispatches the build workflow from main with the
    version, once; then follows its run and the registry: a failed run, and wheels
    missing after a person's green rerun, are needs with the run's link; the wheels in
    the registry settle the upgrade as published."""
    from datetime import datetime, timezone

    monkeypatch.setenv("MIRRORCTL_GITHUB_TOKEN", GITHUB_TOKEN)
    with pull_forge() as forge, indexes() as index:
        site = builders_repository(tmp_path, forge, {"numpy": "2.5.1"},
                                   pypi_url=index.url, registry_url=f"{index.url}/simple/",
                                   python_versions=["3.12", "3.13"])
        index.release("numpy", "2.5.1")
        index.built("numpy", "2.5.1")

        def started(dispatch: dict[str, Any]) -> None:  # GitHub starts the run
            number = 100 + len(forge.runs)
            forge.runs.append({
                "id": number, "workflow": dispatch["workflow"], "event": "workflow_dispatch",
                "head_branch": dispatch["ref"], "status": "in_progress", "conclusion": None,
                "created_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "html_url": f"https://github.com/{PROJECT}/actions/runs/{number}",
                "jobs": [{"name": f"Build numpy {dispatch['inputs']['version']} cp312",
                          "conclusion": None}], "artifacts": {}})

        forge.on_dispatch = started
        site.release("numpy", "2.5.2")
        index.release("numpy", "2.5.2")
        assert site.night(run_cli)["code"] == 0
        [pull] = forge.pulls
        road = run_cli(*site.args("report", "--format", "json"))
        assert json.loads(road.out)["packages"][0]["road"]["state"] == "requested"
        site.merge(pull)
        # The night after the merge: dispatched from main, once.
        night = site.night(run_cli)
        assert night["code"] == 0, night["needs_human"]
        assert forge.dispatches == [{"workflow": "build-numpy.yml", "ref": "main",
                                     "inputs": {"version": "2.5.2"}}]
        [numpy] = night["report"]["packages"]
        assert numpy["road"]["state"] == "publishing"
        # The run fails: a person is needed, with its link; nothing is dispatched again.
        [run] = forge.runs
        run.update(status="completed", conclusion="failure")
        night = site.night(run_cli)
        assert night["code"] == 1 and len(forge.dispatches) == 1
        [need] = [n for n in night["needs"] if n["kind"] == "publish-stalled"]
        assert run["html_url"] in need["detail"] and "failure" in need["detail"]
        # A person reruns it from main; it passes, but cp313's wheel is not there.
        started({"workflow": "build-numpy.yml", "ref": "main", "inputs": {"version": "2.5.2"}})
        forge.runs[-1].update(status="completed", conclusion="success")
        index.built("numpy", "2.5.2", pythons=("cp312",))
        night = site.night(run_cli)
        assert night["code"] == 1
        [need] = [n for n in night["needs"] if n["kind"] == "publish-stalled"]
        assert "lacks the wheels of 2.5.2 3.13" in need["detail"]
        assert forge.runs[-1]["html_url"] in need["detail"]
        # The wheels arrive: published, and the upgrade settled so.
        index.built("numpy", "2.5.2", pythons=("cp313",))
        night = site.night(run_cli)
        assert night["code"] == 0, night["needs_human"]
        [numpy] = night["report"]["packages"]
        assert numpy["road"]["state"] == "published"
        record = json.loads((site.workdir / "state" / "numpy.json").read_text())
        assert "its wheels are published" in \
            record["facts"]["upgrade"]["value"]["settled"]["how"]
        assert len(forge.dispatches) == 1


def test_rebase_open_pr_delivers_a_package_without_patches(run_cli: Any,
                                                           builders: Builders) -> None:
    site = builders
    site.release("numpy", "2.5.2")
    assert run_cli(*site.args("sync")).code == 0
    done = run_cli(*site.args("rebase", "numpy", "--onto", "v2.5.2", "--open-pr",
                              "--format", "json"))
    assert done.code == 0, done.err
    data = json.loads(done.out)
    assert (data["written"], data["pull_request"]["action"]) == ("no-patches", "opened")
    [pull] = site.forge.pulls
    assert pull["title"] == "Upgrade numpy to v2.5.2"
    assert not (site.checkout.path / "patches" / "numpy").exists()
    table = run_cli(*site.args("rebase", "numpy", "--onto", "v2.5.2", "--dry-run"))
    assert table.code == 0 and "would not be written: the package carries no patch" in \
        table.out


def test_their_bots_older_request_is_superseded_and_closed(run_cli: Any,
                                                          builders: Builders) -> None:
    site = builders
    site.release("numpy", "2.5.2")
    # Their bot asked for 2.5.2: its branch, one commit by the bot, a draft request.
    git(site.root, "clone", "--quiet", str(site.remote), "bot")
    work = Repo(site.root / "bot")
    path = work.path / ".github" / "workflows" / "build-numpy.yml"
    path.write_text(path.read_text().replace("'2.5.1'", "'2.5.2'"))
    work.git("-c", "user.name=github-actions[bot]", "-c",
             "user.email=41898282+github-actions[bot]@users.noreply.github.com",
             "commit", "--quiet", "-am", "numpy: upgrade to v2.5.2")
    work.git("push", "--quiet", "origin", "HEAD:refs/heads/github-actions/upgrade-numpy-2.5.2")
    bot = {"number": 1, "state": "open", "title": "Upgrade numpy to v2.5.2",
           "body": "Trigger: numpy:2.5.2\n", "draft": True, "labels": [],
           "html_url": f"https://github.com/{PROJECT}/pull/1",
           "head": {"ref": "github-actions/upgrade-numpy-2.5.2",
                    "repo": {"full_name": PROJECT}}, "base": {"ref": "main"}}
    site.forge.pulls.append(bot)
    site.release("numpy", "2.5.3")
    night = site.night(run_cli)
    assert night["code"] == 0, night["needs_human"]
    newer = site.forge.pulls[-1]
    assert newer["head"]["ref"] == "mirrorctl/upgrade-numpy-2.5.3"
    assert bot["state"] == "closed"
    assert (1, f"Superseded by {newer['html_url']} (numpy 2.5.3).") in site.forge.comments
    assert f"Supersedes {bot['html_url']}" in newer["body"]
