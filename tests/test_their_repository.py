"""Their own upgrades, replayed: a local copy built like the builders' repository (their
layout; a build and a test workflow naming the version in every spelling; pr-trigger's
`Trigger:` convention; a docs entry; their bot's request already open on the local
GitHub), taken through the upgrades one package lives through, release after release,
each request merged as they merge it: a backport upstream took dropped while their bot's
request is completed, every patch carried, nothing left to carry, and a change upstream
took and undid. For each, the golden tree (the branch's files equal what a person would
commit, the diff touches only the lines that carry the version, the queue and the docs),
and one request."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from testbed.fakepulls import GITHUB_TOKEN, PullForge, pull_forge
from tests.gitrepos import Repo, git, write_config
from tests.test_build_results import PASSED, junit_zip
from tests.test_patches import make_queue

# Each case on both ways to git: the same outcomes, the same messages (issue 24).
pytestmark = pytest.mark.usefixtures("both_git_paths")

PROJECT = "rise/python-wheels"

# Their matplotlib workflow's shape: the version in the input's default and its
# description's example, the concurrency group, the env fallback, the job names; a
# `git apply` step of the queue's patches (a glob).
BUILD = """\
---
name: Build plotlib wheels (riscv64)

on:
  workflow_dispatch:
    inputs:
      version:
        description: 'plotlib version to build (git tag without leading v, e.g. 3.11.0)'
        required: true
        default: '3.11.0'
  pull_request:
    paths:
      - '.github/workflows/build-plotlib.yml'
      - 'patches/plotlib/**'

concurrency:
  group: ${{ github.workflow }}-${{ inputs.version || '3.11.0' }}-${{ github.run_id }}
  cancel-in-progress: true

env:
  PLOT_VERSION: ${{ inputs.version || '3.11.0' }}

jobs:
  build_wheels:
    name: Build plotlib ${{ inputs.version || '3.11.0' }} ${{ matrix.python }}
    runs-on: ubuntu-24.04-riscv
    strategy:
      matrix:
        python: ["cp312", "cp313"]
    steps:
      - name: Checkout plotlib v${{ env.PLOT_VERSION }}
        uses: actions/checkout@v7
        with:
          repository: up/plotlib
          ref: v${{ env.PLOT_VERSION }}

      - name: Checkout python-wheels
        uses: actions/checkout@v7
        with:
          path: python-wheels

      # Longer timeouts for the native runners
      - name: patch plotlib source
        run: |
          git apply python-wheels/patches/plotlib/${{ env.PLOT_VERSION }}/00*.patch

      - name: Build wheels
        uses: pypa/cibuildwheel@v4
"""
TEST = BUILD.replace("Build plotlib", "Test plotlib").replace("build-plotlib", "test-plotlib") \
    .replace("build_wheels", "test_wheels").replace("Build wheels", "Run tests")
PR_TRIGGER = """\
name: PR package build trigger
on:
  pull_request:
    types: [opened, edited, synchronize, reopened]
jobs:
  dispatch-triggers:
    runs-on: ubuntu-latest
    if: contains(github.event.pull_request.body, 'Trigger:')
    steps:
      - run: printf '%s\\n' "$PR_BODY" | grep -oE '^Trigger:[[:space:]]*[^[:space:]]+'
"""
DOCS = """\
package-name: plotlib
source-code: https://github.com/up/plotlib
license: PSF
versions:
  - version: 3.10.9
  - version: 3.11.0
    patched:
    comment: We patch plotlib to lengthen its font cache timeout, and backport a pin of pytest.
"""
PIN = "Upstream-Status: Backport [https://github.com/up/plotlib/pull/31/changes/{sha}]"
TIMEOUT = "Upstream-Status: Submitted [https://github.com/up/plotlib/pull/40]"


class TheirRemote:
    """What a copy of their repository offers a test: mirrorctl's arguments, and the
    branches of its remote (mirrors.yaml's `config`, the `workdir`, the `remote`)."""

    config: Path
    workdir: Path
    remote: Path

    def args(self, *args: str) -> list[str]:
        return ["--config", str(self.config), "--workdir", str(self.workdir), "-q", *args]

    @property
    def bare(self) -> Repo:
        return Repo(self.remote, bare=True)

    def show(self, rev: str) -> str:
        """A file of a branch, byte for byte."""
        return subprocess.run(["git", "cat-file", "blob", rev], cwd=self.remote, check=True,
                              capture_output=True, text=True).stdout

    def files(self, rev: str) -> set[str]:
        return set(self.bare.git("ls-tree", "-r", "--name-only", rev).split())


@dataclass
class Theirs(TheirRemote):
    root: Path
    upstream: Repo
    checkout: Repo  # the builders' repository, as a nightly job checks out main
    remote: Path
    config: Path
    workdir: Path
    forge: PullForge
    pin: str  # upstream's commit the pytest pin backports

    def release(self, version: str, files: dict[str, str] | None = None) -> None:
        self.upstream.commit(f"release {version}", {"README": f"plotlib {version}\n",
                                                    **(files or {})})
        self.upstream.tag(f"v{version}", annotated=True)

    def bot_request(self, version: str) -> dict[str, object]:
        """Their bot's request, as check_versions.py opens it: a branch from main whose
        one commit (by the bot) bumps every quoted copy of the version, a draft with
        `Trigger:` lines."""
        old = yaml.safe_load(self.show("main:.github/workflows/build-plotlib.yml"))[
            True]["workflow_dispatch"]["inputs"]["version"]["default"]  # YAML 1.1: on is True
        git(self.root, "clone", "--quiet", str(self.remote), f"bot-{version}")
        work = Repo(self.root / f"bot-{version}")
        for name in ("build", "test"):
            path = work.path / ".github" / "workflows" / f"{name}-plotlib.yml"
            path.write_text(path.read_text().replace(f"'{old}'", f"'{version}'"))
        work.git("add", "-A")
        work.git("-c", "user.name=github-actions[bot]", "-c",
                 "user.email=41898282+github-actions[bot]@users.noreply.github.com",
                 "commit", "--quiet", "-m", f"plotlib: upgrade to v{version}")
        branch = f"github-actions/upgrade-plotlib-{version}"
        work.git("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}")
        number = len(self.forge.pulls) + 1
        pull: dict[str, object] = {
            "number": number, "state": "open", "title": f"Upgrade plotlib to v{version}",
            "body": (f"Automatically generated PR to upgrade plotlib — new versions detected: "
                     f"v{version}.\n\nTrigger directives (re-dispatch by editing the PR body):"
                     f"\n\nTrigger: plotlib:{version}\n"),
            "draft": True, "labels": [],
            "html_url": f"https://github.com/{PROJECT}/pull/{number}",
            "head": {"ref": branch, "repo": {"full_name": PROJECT}}, "base": {"ref": "main"}}
        self.forge.pulls.append(pull)
        return pull

    def merge(self, pull: dict[str, object]) -> None:
        """They squash-merge the request, and the next nightly checks out main."""
        branch = pull["head"]["ref"]  # type: ignore[index]
        self.checkout.git("fetch", "--quiet", str(self.remote), "main")
        self.checkout.git("reset", "--quiet", "--hard", "FETCH_HEAD")
        self.checkout.git("clean", "-fdq")
        self.checkout.git("fetch", "--quiet", str(self.remote), str(branch))
        self.checkout.git("merge", "--squash", "--quiet", "FETCH_HEAD")
        self.checkout.git("commit", "--quiet", "-m", str(pull["title"]))
        self.checkout.git("push", "--quiet", str(self.remote), "HEAD:refs/heads/main")
        pull.update(state="closed", merged=True, merged_at="2026-12-01T09:00:00Z")

    def night(self, run_cli) -> dict:  # type: ignore[no-untyped-def,type-arg]
        result = run_cli(*self.args("nightly", "--push", "--format", "json"))
        data = json.loads(result.out)
        data["code"] = result.code
        return data  # type: ignore[no-any-return]


def their_repository(root: Path, forge: PullForge, *,
                     pin_message: str = "TST: pin pytest below 9.1 (#31)",
                     pin_status: str = PIN) -> Theirs:
    up = Repo(root / "upstream")
    up.commit("release 3.11.0", {"README": "plotlib 3.11.0\n", "lib/fonts.py": "TIMEOUT = 10\n",
                                 "tests/conftest.py": "PIN = None\n"})
    up.tag("v3.11.0", annotated=True)
    pin = up.commit(pin_message, {"tests/conftest.py": "PIN = '<9.1'\n"})
    up.git("checkout", "--quiet", "--detach", "v3.11.0")
    site = root / "python-wheels"
    make_queue(up, site / "patches" / "plotlib" / "3.11.0", [
        (f"TST: temporarily pin pytest\n\n{pin_status.format(sha=pin)}",
         {"tests/conftest.py": "PIN = '<9.1'\n"}),
        (f"TST: lengthen the font cache timeout\n\n{TIMEOUT}", {"lib/fonts.py": "TIMEOUT = 60\n"}),
    ])
    (site / "patches" / "plotlib" / "3.11.0.tree").unlink()
    up.git("checkout", "--quiet", "main")
    for path, text in {".github/workflows/build-plotlib.yml": BUILD,
                       ".github/workflows/test-plotlib.yml": TEST,
                       ".github/workflows/pr-trigger.yml": PR_TRIGGER,
                       "docs/packages/plotlib.yaml": DOCS}.items():
        (site / path).parent.mkdir(parents=True, exist_ok=True)
        (site / path).write_text(text)
    config = write_config(site / "mirrors.yaml", {"plotlib": {
        "upstream": str(up.path), "version": "3.11.0"}}, patchsets="patches",
        forge_apis={"github.com": forge.url}, pull_requests={
            "repository": f"https://github.com/{PROJECT}", "remote": str(root / "remote.git")})
    git(site, "init", "--quiet", "--initial-branch", "main")
    checkout = Repo(site)
    checkout.git("add", "-A")
    checkout.git("commit", "--quiet", "-m", "the builders' repository")
    Repo(root / "remote.git", bare=True)
    checkout.git("push", "--quiet", str(root / "remote.git"), "HEAD:refs/heads/main")
    return Theirs(root, up, checkout, root / "remote.git", config, root / "work", forge, pin)


@pytest.fixture
def theirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MIRRORCTL_GITHUB_TOKEN", GITHUB_TOKEN)
    with pull_forge() as forge:
        yield their_repository(tmp_path, forge)


def bumped(text: str, old: str, new: str) -> str:
    """What a person commits: every copy of the version in the workflow, the new one."""
    return text.replace(old, new)


def changed_lines(site: Theirs, base: str, branch: str) -> dict[str, tuple[int, int]]:
    """path -> (lines added, lines removed) of the branch against base."""
    numstat = site.bare.git("diff", "--numstat", f"{base}...{branch}")
    return {path: (int(a), int(r)) for a, r, path in
            (line.split("\t") for line in numstat.splitlines())}


def triggers_of(body: str) -> list[str]:
    """The directives their pr-trigger workflow takes from a body (its own grep)."""
    return subprocess.run(["grep", "-oE", "^Trigger:[[:space:]]*[^[:space:]]+"], input=body,
                          capture_output=True, text=True, check=False).stdout.splitlines()


def test_one_package_release_after_release_in_their_repository(run_cli, theirs: Theirs) -> None:
    site = theirs
    # 3.11.1 takes upstream's pytest pin; their bot's request is already open.
    site.release("3.11.1")
    bot_pull = site.bot_request("3.11.1")
    bot_head = site.bare.rev("refs/heads/github-actions/upgrade-plotlib-3.11.1")
    # The bot dispatched the builds on its branch: their results grade the upgrade.
    site.forge.runs.append({
        "id": 5, "run_attempt": 1, "updated_at": "2026-12-01T03:00:00Z",
        "head_branch": "github-actions/upgrade-plotlib-3.11.1", "status": "completed",
        "conclusion": "success", "html_url": f"https://github.com/{PROJECT}/actions/runs/5",
        "jobs": [{"name": "Build plotlib 3.11.1 cp312", "conclusion": "success"}],
        "artifacts": {"junit-cp312": junit_zip(PASSED)}})
    night = site.night(run_cli)
    assert night["code"] == 0, night["needs_human"]
    [rebased] = night["rebases"]
    assert rebased["pull_request"]["action"] == "updated", rebased["pull_request"]
    assert rebased["pull_request"]["url"] == bot_pull["html_url"]
    assert len(site.forge.pulls) == 1  # one request: theirs, completed
    branch = "github-actions/upgrade-plotlib-3.11.1"
    # The bot's commit stays as it was, mirrorctl's go on top of it.
    log = site.bare.git("log", "--format=%an|%s", f"main..{branch}").splitlines()
    assert log == ["mirrorctl|docs: update plotlib",
                   "mirrorctl|workflows: build-plotlib, test-plotlib: update for v3.11.1",
                   "mirrorctl|patches: plotlib: carry 1 patch to v3.11.1",
                   "github-actions[bot]|plotlib: upgrade to v3.11.1"]
    assert site.bare.rev(f"{branch}~3") == bot_head
    message = site.bare.git("log", "-1", "--format=%B", f"{branch}~2")
    assert "We don't need 0001-TST-temporarily-pin-pytest.patch, since upstream has it" in \
        message and f"v3.11.1 contains {site.pin}" in message
    # The golden tree: what a person commits.
    files = site.files(branch)
    assert files - site.files("main") == {"patches/plotlib/3.11.1/0002-TST-lengthen-the-font-"
                                          "cache-timeout.patch"}
    assert site.show(f"{branch}:.github/workflows/build-plotlib.yml") == \
        bumped(BUILD, "3.11.0", "3.11.1")
    assert site.show(f"{branch}:.github/workflows/test-plotlib.yml") == \
        bumped(TEST, "3.11.0", "3.11.1")
    assert site.show(f"{branch}:docs/packages/plotlib.yaml") == DOCS + (
        "  - version: 3.11.1\n    patched:\n    comment: We patch plotlib to lengthen the "
        "font cache timeout.\n")
    assert changed_lines(site, "main", branch) == {
        ".github/workflows/build-plotlib.yml": (5, 5), ".github/workflows/test-plotlib.yml": (5, 5),
        "docs/packages/plotlib.yaml": (3, 0),
        "patches/plotlib/3.11.1/0002-TST-lengthen-the-font-cache-timeout.patch": (
            len(site.show(f"{branch}:patches/plotlib/3.11.1/0002-TST-lengthen-the-font-cache-"
                          "timeout.patch").splitlines()), 0)}
    # Their body stays as the bot wrote it (an edit re-dispatches the builds); the report
    # is mirrorctl's one comment, and the grade its label.
    assert bot_pull["body"].endswith("Trigger: plotlib:3.11.1\n")  # type: ignore[union-attr]
    [(on, comment)] = site.forge.comments
    assert on == bot_pull["number"] and "| `0001-TST-temporarily-pin-pytest.patch` | " \
        "upstreamed |" in comment
    assert "`built-and-tested`" in comment and "`not-built-yet`" not in comment
    assert [x["name"] for x in bot_pull["labels"]] == ["mirrorctl: easy"]  # type: ignore[union-attr]
    requests = list(site.forge.requests)
    # The next night finds it done: nothing is written.
    again = site.night(run_cli)
    assert again["code"] == 0 and again["rebases"] == []
    assert not [r for r in site.forge.requests[len(requests):] if not r.startswith("GET")]
    # Nor from a fresh checkout of main (where the new folder is not): the same delivery,
    # found done.
    site.checkout.git("clean", "-fdq", "patches")
    before = list(site.forge.comments)
    again = site.night(run_cli)
    assert again["code"] == 0 and again["rebases"][0]["pull_request"]["action"] == "unchanged"
    assert site.forge.comments == before
    site.merge(bot_pull)

    # 3.12.0: every patch carried; no bot request, so mirrorctl opens its own.
    site.release("3.12.0")
    night = site.night(run_cli)
    assert night["code"] == 0, night["needs_human"]
    [rebased] = night["rebases"]
    assert rebased["pull_request"]["action"] == "opened", rebased["pull_request"]
    own = site.forge.pulls[-1]
    branch = "mirrorctl/upgrade-plotlib-3.12.0"
    assert (own["title"], own["draft"], own["head"]["ref"]) == (
        "Upgrade plotlib to v3.12.0", True, branch)
    assert triggers_of(own["body"]) == ["Trigger: plotlib:3.12.0"]
    assert site.show(f"{branch}:.github/workflows/build-plotlib.yml") == \
        bumped(BUILD, "3.11.0", "3.12.0")
    assert site.show(f"{branch}:docs/packages/plotlib.yaml").endswith(
        "  - version: 3.12.0\n    patched:\n    comment: We patch plotlib to lengthen the "
        "font cache timeout.\n")  # the queue carried whole: the last comment, as it was
    assert site.files(branch) - site.files("main") == {
        "patches/plotlib/3.12.0/0002-TST-lengthen-the-font-cache-timeout.patch"}
    assert len([p for p in site.forge.pulls if p["state"] == "open"]) == 1
    site.merge(own)

    # 3.13.0: upstream merges the timeout (#40): nothing left to carry, so the apply step
    # of both workflows goes with its comment.
    site.upstream.commit("TST: lengthen the font cache timeout (#40)",
                         {"lib/fonts.py": "TIMEOUT = 60\n"})
    site.release("3.13.0")
    night = site.night(run_cli)
    assert night["code"] == 0, night["needs_human"]
    [rebased] = night["rebases"]
    assert rebased["written"] == "nothing-to-carry"
    own = site.forge.pulls[-1]
    branch = "mirrorctl/upgrade-plotlib-3.13.0"
    without = bumped(BUILD, "3.11.0", "3.13.0").replace(
        "      # Longer timeouts for the native runners\n      - name: patch plotlib source\n"
        "        run: |\n          git apply python-wheels/patches/plotlib/${{ env.PLOT_VERSION "
        "}}/00*.patch\n\n", "")
    assert site.show(f"{branch}:.github/workflows/build-plotlib.yml") == without
    assert "git apply" not in site.show(f"{branch}:.github/workflows/test-plotlib.yml")
    assert site.show(f"{branch}:docs/packages/plotlib.yaml").endswith(
        "  - version: 3.13.0\n")  # not patched: no `patched:`, no comment
    assert site.files(branch) - site.files("main") == {"patches/plotlib/3.13.0/series"}
    assert "`git apply` step that had nothing left to apply is removed" in own["body"]
    assert len([p for p in site.forge.pulls if p["state"] == "open"]) == 1


def test_a_change_upstream_took_and_undid_delivers_nothing_and_needs_a_person(
        run_cli, theirs: Theirs) -> None:
    site = theirs
    taken = site.upstream.commit("TST: lengthen the font cache timeout (#40)",
                                 {"lib/fonts.py": "TIMEOUT = 60\n"})
    site.upstream.git("revert", "--no-edit", taken)
    site.release("3.11.1")
    night = site.night(run_cli)
    assert night["code"] == 1
    [rebased] = night["rebases"]
    timeout = next(p for p in rebased["patches"] if p["patch"].startswith("0002"))
    assert timeout["outcome"] == "reverted" and taken[:12] in timeout["detail"]
    assert rebased["pull_request"]["action"] == "skipped"
    assert site.forge.pulls == [] and "mirrorctl/upgrade-plotlib-3.11.1" not in \
        site.bare.git("branch", "--list")
    report = run_cli(*site.args("report", "--format", "json"))
    assert report.code == 1  # the morning says a person is needed, and what to run
    [action] = json.loads(report.out)["actions"]
    assert action["kind"] == "conflict" and "taken and undone upstream" in action["detail"]
    assert action["command"].startswith("mirrorctl rebase plotlib --worktree ")


def test_their_bot_opening_after_mirrorctl_leaves_one_request(run_cli, theirs: Theirs) -> None:
    site = theirs
    site.release("3.11.1")
    first = site.night(run_cli)
    assert first["rebases"][0]["pull_request"]["action"] == "opened"
    [own] = site.forge.pulls
    # Their bot's nightly check opens its own request for the same release after.
    bot_pull = site.bot_request("3.11.1")
    site.checkout.git("clean", "-fdq", "patches")  # the next night's fresh checkout
    night = site.night(run_cli)
    assert night["code"] == 0, night["needs_human"]
    done = night["rebases"][0]["pull_request"]
    assert done["url"] == bot_pull["html_url"] and done["action"] == "updated"
    assert own["state"] == "closed" and bot_pull["state"] == "open"
    assert (own["number"], f"Completed in {bot_pull['html_url']} instead, their bot's request "
            "for plotlib 3.11.1.") in site.forge.comments
    branch = "github-actions/upgrade-plotlib-3.11.1"
    assert site.show(f"{branch}:.github/workflows/build-plotlib.yml") == \
        bumped(BUILD, "3.11.0", "3.11.1")
