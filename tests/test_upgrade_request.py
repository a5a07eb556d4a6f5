"""The upgrade delivered as a pull request in the builders' repository: a branch with the
new queue folder and the version bump, the rebase report as its body, labelled by grade;
found again and updated on a rerun, never opened twice; older ones told they are
replaced. GitHub through requests, GitLab through python-gitlab, both real HTTP to a
loopback forge; the branch pushed with real git to a local repository."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from mirrorctl.night.deliver.upgrade_request import bump_version
from testbed.fakepulls import GITHUB_TOKEN, GITLAB_TOKEN, PullForge, pull_forge
from tests.cliwords import check_told
from tests.gitrepos import Repo, git, write_config
from tests.test_inventory import NUMPY_WORKFLOW
from tests.test_patches import make_queue

WORKFLOW = NUMPY_WORKFLOW.replace("2.5.2", "1.0.0").replace("numpy/numpy", "demo/demo") + """\

      # Our riscv64 build fixes
      - name: Patch demo source
        run: |
          git apply python-wheels/patches/demo/${{ env.NUMPY_VERSION }}/00*.patch
"""
STATUS = "Upstream-Status: Submitted [https://github.com/demo/demo/pull/7]"
BRANCH = "mirrorctl/upgrade-demo-1.1.0"


@dataclass
class Wheels:
    root: Path
    upstream: Repo
    remote: Path  # the builders' repository, as their forge holds it
    config: Path
    workdir: Path

    def args(self, *args: str) -> list[str]:
        return ["--config", str(self.config), "--workdir", str(self.workdir), "-q", *args]

    def show(self, rev: str) -> str:
        return Repo(self.remote, bare=True).git("show", rev)

    def files(self, rev: str) -> list[str]:
        return Repo(self.remote, bare=True).git("ls-tree", "-r", "--name-only", rev).split()


def wheels_site(root: Path, forge: PullForge, *, gitlab: bool = False,
                patches: tuple[tuple[str, dict[str, str]], ...] = (),
                **pull_requests: object) -> Wheels:
    """A mirror-less package `demo` whose queue lives in a checkout of the builders'
    repository, which their forge holds at `remote`."""
    upstream = Repo(root / "upstream")
    upstream.commit("release", {"build.cfg": "".join(f"f{n} = {n}\n" for n in range(9)),
                                "README": "demo\n"})
    upstream.tag("v1.0.0", annotated=True)
    site = root / "python-wheels"
    make_queue(upstream, site / "patches" / "demo" / "1.0.0", [
        (f"BLD: riscv64\n\n{STATUS}", {"riscv.txt": "rv64\n"}), *patches])
    upstream.git("checkout", "--quiet", "main")
    upstream.commit("work", {"README": "demo, better\n"})
    upstream.tag("v1.1.0", annotated=True)
    (site / ".github" / "workflows").mkdir(parents=True)
    (site / ".github" / "workflows" / "build-demo.yml").write_text(WORKFLOW)
    (site / "patches" / "demo" / "1.0.0.tree").unlink()
    host = "gitlab.example.org" if gitlab else "github.com"
    config = write_config(site / "mirrors.yaml", {"demo": {
        "upstream": str(upstream.path), "version": "1.0.0"}}, patchsets="patches",
        forge_apis={host: forge.url}, pull_requests={
            "repository": f"https://{host}/rise/python-wheels",
            "remote": str(root / "remote.git"), **pull_requests})
    git(site, "init", "--quiet", "--initial-branch", "main")
    checkout = Repo(site)
    checkout.git("add", "-A")
    checkout.git("commit", "--quiet", "-m", "the builders' repository")
    Repo(root / "remote.git", bare=True)
    checkout.git("push", "--quiet", str(root / "remote.git"), "HEAD:refs/heads/main")
    return Wheels(root, upstream, root / "remote.git", config, root / "work")


@pytest.fixture
def tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIRRORCTL_GITHUB_TOKEN", GITHUB_TOKEN)
    monkeypatch.setenv("MIRRORCTL_GITLAB_TOKEN", GITLAB_TOKEN)


def fresh(site: Wheels) -> None:
    """As a nightly job's fresh checkout of main sees it: no new queue folder."""
    shutil.rmtree(site.root / "python-wheels" / "patches" / "demo" / "1.1.0")


def night(run_cli, site: Wheels) -> tuple[int, dict]:  # type: ignore[no-untyped-def,type-arg]
    result = run_cli(*site.args("nightly", "--push", "--format", "json"))
    return result.code, json.loads(result.out)


def test_the_nightly_opens_the_upgrade_as_a_pull_request(run_cli, tmp_path: Path,
                                                          tokens: None) -> None:
    with pull_forge() as forge:
        site = wheels_site(tmp_path, forge)
        code, data = night(run_cli, site)
        assert code == 0, data["needs_human"]
        [rebased] = data["rebases"]
        assert rebased["pull_request"]["action"] == "opened", rebased["pull_request"]
        [pull] = forge.pulls
        assert (pull["title"], pull["draft"], pull["base"]["ref"], pull["head"]["ref"]) == (
            "Upgrade demo to v1.1.0", True, "main", BRANCH)
        assert rebased["pull_request"]["url"] == pull["html_url"]
        grade = pull["body"].split("### Grade: ")[1].split()[0]
        assert [x["name"] for x in pull["labels"]] == [f"mirrorctl: {grade}"]
        assert "| `0001-BLD-riscv64.patch` | applied |" in pull["body"]
        assert "### Range-diff" in pull["body"] and "patches/demo/1.1.0/" in pull["body"]

        # Their pr-trigger dispatches the build from the body.
        assert "\nTrigger: demo:1.1.0\n" in pull["body"]

        # The branch: main, plus the new queue folder and the version bump, a commit
        # each as their people make them, signed off, marked as mirrorctl's.
        assert site.show(f"{BRANCH}~2") == site.show("main")
        log = Repo(site.remote, bare=True).git("log", "--format=%an <%ae>|%s", f"main..{BRANCH}")
        assert log.splitlines() == [
            "mirrorctl <mirrorctl@invalid>|workflows: build-demo: update for v1.1.0",
            "mirrorctl <mirrorctl@invalid>|patches: demo: carry 1 patch to v1.1.0"]
        message = Repo(site.remote, bare=True).git("log", "-1", "--format=%B", f"{BRANCH}^")
        assert "Applies as it is: 0001-BLD-riscv64.patch." in message
        assert message.rstrip().endswith("Mirrorctl-Upgrade: demo 1.1.0\n"
                                         "Signed-off-by: mirrorctl <mirrorctl@invalid>")
        added = set(site.files(BRANCH)) - set(site.files("main"))
        assert added == {"patches/demo/1.1.0/0001-BLD-riscv64.patch"}
        workflow = site.show(f"{BRANCH}:.github/workflows/build-demo.yml")
        assert "default: '1.1.0'" in workflow and "|| '1.1.0'" in workflow
        assert "1.0.0" not in workflow
        written = site.root / "python-wheels" / "patches" / "demo" / "1.1.0"
        on_branch = f"{BRANCH}:patches/demo/1.1.0/0001-BLD-riscv64.patch"
        assert Repo(site.remote, bare=True).rev(on_branch) == \
            git(written, "hash-object", "0001-BLD-riscv64.patch")  # byte for byte

        # The nightly runs again from a fresh checkout of main (the new folder lives on
        # the request's branch only): the same request is found, nothing changes.
        fresh(site)
        code, data = night(run_cli, site)
        assert code == 0 and data["rebases"][0]["pull_request"]["action"] == "unchanged"
        assert len(forge.pulls) == 1
        assert forge.requests.count("POST /repos/rise/python-wheels/pulls") == 1
        assert not [r for r in forge.requests if r.startswith(("PATCH", "PUT"))]

        # A newer release: its own request; the older one is closed (the default since
        # issue 30), with a comment naming the newer.
        site.upstream.commit("more work", {"README": "demo, best\n"})
        site.upstream.tag("v1.2.0", annotated=True)
        code, data = night(run_cli, site)
        assert code == 0, data["needs_human"]
        assert [p["head"]["ref"] for p in forge.pulls] == [BRANCH, "mirrorctl/upgrade-demo-1.2.0"]
        assert [p["state"] for p in forge.pulls] == ["closed", "open"]
        assert forge.comments == [(forge.pulls[0]["number"],
                                   f"Superseded by {forge.pulls[1]['html_url']} (demo 1.2.0).")]


def test_a_rerun_updates_never_duplicates_and_a_persons_branch_is_kept(
        run_cli, tmp_path: Path, tokens: None) -> None:
    with pull_forge() as forge:
        forge.page_size = 1  # every list is paginated: its own request is still found
        site = wheels_site(tmp_path, forge, stale="close")
        forge.pulls.append({"number": 99, "state": "open", "title": "someone's work",
                            "body": "", "draft": False, "labels": [{"name": "docs"}],
                            "html_url": "https://github.com/rise/python-wheels/pull/99",
                            "head": {"ref": "docs", "repo": {"full_name": "rise/python-wheels"}},
                            "base": {"ref": "main"}})
        code, data = night(run_cli, site)
        assert code == 0 and data["rebases"][0]["pull_request"]["action"] == "opened"
        ours = forge.pulls[-1]
        # A person relabels it and edits the body; the next delivery keeps their words
        # (an edit of the body re-dispatches their builds) and says its report in its one
        # comment, restores its grade label, and keeps the person's label.
        ours["labels"] = [{"name": "needs-review"}]
        ours["body"] = "edited"
        fresh(site)
        done = run_cli(*site.args("rebase", "demo", "--open-pr", "--format", "json"))
        assert done.code == 0, done.err
        assert json.loads(done.out)["pull_request"]["action"] == "updated"
        assert len([p for p in forge.pulls if p["head"]["ref"] == BRANCH]) == 1
        assert ours["body"] == "edited"
        person, grade = (x["name"] for x in ours["labels"])
        assert person == "needs-review" and grade.startswith("mirrorctl: ")
        [(on, comment)] = forge.comments
        assert on == ours["number"] and comment.startswith("<!-- mirrorctl:upgrade -->\n")
        assert "| `0001-BLD-riscv64.patch` | applied |" in comment
        assert not [r for r in forge.requests if r.startswith("PATCH /repos/rise/python-wheels"
                                                                "/pulls/")]
        # Again: the comment is edited in place (here: it says the same, so it stays).
        fresh(site)
        again = run_cli(*site.args("rebase", "demo", "--open-pr", "--format", "json"))
        assert json.loads(again.out)["pull_request"]["action"] == "unchanged"
        assert len(forge.comments) == 1

        # A maintainer pushes a fix to the branch: mirrorctl never overwrites it.
        git(tmp_path, "clone", "--quiet", "--branch", BRANCH, str(site.remote), "hand")
        work = Repo(tmp_path / "hand")
        work.commit("refresh by hand", {"patches/demo/1.1.0/0001-BLD-riscv64.patch": "x\n"})
        work.git("push", "--quiet", "origin", f"HEAD:{BRANCH}")
        theirs = Repo(site.remote, bare=True).rev(BRANCH)
        fresh(site)
        kept = run_cli(*site.args("rebase", "demo", "--open-pr", "--format", "json"))
        request = json.loads(kept.out)["pull_request"]
        assert request["action"] == "unchanged" and "leaves the branch as it is" in \
            request["detail"]
        assert Repo(site.remote, bare=True).rev(BRANCH) == theirs

        # A newer release: its request is opened; the older one holds the person's work,
        # so it is not closed (since issue 30) but left for a person, who is told.
        site.upstream.commit("more work", {"README": "demo, best\n"})
        site.upstream.tag("v1.2.0", annotated=True)
        code, data = night(run_cli, site)
        assert code == 1
        assert [n["kind"] for n in data["needs"]] == ["request-superseded-kept"]
        assert ours["state"] == "open" and forge.pulls[-1]["state"] == "open"
        assert forge.pulls[0]["state"] == "open"  # someone's work is not ours: untouched


def test_gitlab_merge_request_through_python_gitlab(run_cli, tmp_path: Path,
                                                   tokens: None) -> None:
    with pull_forge() as forge:
        site = wheels_site(tmp_path, forge, gitlab=True)
        code, data = night(run_cli, site)
        assert code == 0, data["needs_human"]
        [mr] = forge.mrs
        assert (mr["title"], mr["source_branch"], mr["target_branch"]) == (
            "Draft: Upgrade demo to v1.1.0", BRANCH, "main")
        assert [x for x in mr["labels"] if x.startswith("mirrorctl: ")]
        assert data["rebases"][0]["pull_request"]["url"] == mr["web_url"]
        fresh(site)
        again = run_cli(*site.args("rebase", "demo", "--open-pr", "--format", "json"))
        assert again.code == 0, again.err
        assert json.loads(again.out)["pull_request"]["action"] == "unchanged"
        assert len(forge.mrs) == 1
        # A person rewrites the description: it stays theirs, the report goes in one note,
        # edited in place after (python-gitlab's notes, listed and saved).
        mr["description"] = "ours now"
        for expected in ("updated", "unchanged"):
            fresh(site)
            done = run_cli(*site.args("rebase", "demo", "--open-pr", "--format", "json"))
            assert json.loads(done.out)["pull_request"]["action"] == expected, done.out
        [(on, note)] = forge.comments
        assert on == mr["iid"] and note.startswith("<!-- mirrorctl:upgrade -->")
        assert mr["description"] == "ours now"
        # What it last said is kept, so an unchanged night reads no comment; with that
        # lost, the comment is read and compared again, and set right.
        forge.comments[0] = (on, "<!-- mirrorctl:upgrade -->\nstale")
        (site.workdir / "site.git" / "comments.json").unlink()
        fresh(site)
        run_cli(*site.args("rebase", "demo", "--open-pr", "--format", "json"))
        [(_, note)] = forge.comments
        assert "| `0001-BLD-riscv64.patch` | applied |" in note


def test_a_conflict_opens_nothing_unless_a_draft_is_asked_for(run_cli, tmp_path: Path,
                                                              tokens: None) -> None:
    for on_conflict, opened in (("skip", 0), ("draft", 1)):
        root = tmp_path / on_conflict
        with pull_forge() as forge:
            site = wheels_site(root, forge, on_conflict=on_conflict)
            site.upstream.commit("takes the file", {"riscv.txt": "upstream's own\n"})
            site.upstream.tag("v1.2.0", annotated=True)
            code, data = night(run_cli, site)
            assert code == 1  # the conflict needs a person either way
            assert data["rebases"], (data["needs_human"], data.get("rebase_errors"))
            [rebased] = data["rebases"]
            assert rebased["status"] == "conflict"
            assert len(forge.pulls) == opened
            if opened:
                [pull] = forge.pulls
                assert "A patch conflicts" in pull["body"] and pull["draft"]
                assert not [f for f in site.files("mirrorctl/upgrade-demo-1.2.0")
                            if f.startswith("patches/demo/1.2.0/")]
            else:
                assert rebased["pull_request"]["action"] == "skipped"


def test_a_refused_token_fails_the_package_alone_and_is_never_shown(
        run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIRRORCTL_GITHUB_TOKEN", "gh-wrong-token-987654")
    with pull_forge() as forge:
        site = wheels_site(tmp_path, forge)
        result = run_cli(*site.args("nightly", "--push", "--format", "json"))
        data = json.loads(result.out)
    assert result.code == 1
    [rebased] = data["rebases"]
    assert rebased["status"] == "clean" and rebased["written"] == "written"
    assert rebased["pull_request"]["action"] == "failed"
    assert "authentication failed" in rebased["pull_request"]["detail"]
    assert [n["kind"] for n in data["needs"]] == ["pull-request-failed"]
    assert "gh-wrong-token" not in result.out + result.err
    shutil.rmtree(site.workdir)


def test_an_upgrade_whose_request_is_merged_is_settled(run_cli, tmp_path: Path,
                                                      tokens: None) -> None:
    """With `publish: false` (and on GitLab), a merged request settles the upgrade; by
    default a GitHub site follows it to its published wheels (test_every_upgrade.py)."""
    with pull_forge() as forge:
        site = wheels_site(tmp_path, forge, publish=False)
        assert run_cli(*site.args("nightly", "--push")).code == 0
        [demo] = json.loads(run_cli(*site.args("report", "--format", "json")).out)["packages"]
        assert demo["upgrade"]["to"] == "1.1.0" and demo["settled"] is None
        again = json.loads(run_cli(*site.args("nightly", "--push", "--format", "json")).out)
        [demo] = again["report"]["packages"]
        assert demo["upgrade"]["to"] == "1.1.0", "open, not merged: the upgrade stands"
        [pull] = forge.pulls
        pull.update(state="closed", merged=True, merged_at="2026-12-01T09:00:00Z")
        run_cli(*site.args("nightly", "--push"))
        [demo] = json.loads(run_cli(*site.args("report", "--format", "json")).out)["packages"]
        assert demo["upgrade"] is None and demo["reasons"][0]["code"] == "up-to-date"
        settled = json.loads((site.workdir / "state" / "demo.json").read_text())
        assert "was merged" in settled["facts"]["upgrade"]["value"]["settled"]["how"]


@pytest.mark.parametrize("how", ["the next command", "the next night"])
def test_an_undelivered_request_stays_until_it_is_delivered(
        run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    monkeypatch.setenv("MIRRORCTL_GITHUB_TOKEN", "gh-wrong-token-987654")
    with pull_forge() as forge:
        site = wheels_site(tmp_path, forge)
        assert run_cli(*site.args("nightly", "--push")).code == 1
        # The morning after: the plain report still says it, with a command that works.
        morning = run_cli(*site.args("report", "--format", "json"))
        assert morning.code == 1
        [need] = [a for a in json.loads(morning.out)["actions"]
                  if a["kind"] == "pull-request-failed"]
        check_told(f"`{need['command']}`", "report")
        assert "authentication failed" in need["detail"]
        monkeypatch.setenv("MIRRORCTL_GITHUB_TOKEN", GITHUB_TOKEN)  # the token is mended
        if how == "the next command":
            words = need["command"].split()[1:]
            done = run_cli(*site.args(*words, "--format", "json"))
            assert done.code == 0, done.err
            assert json.loads(done.out)["pull_request"]["action"] == "opened"
        else:
            night = run_cli(*site.args("nightly", "--push", "--format", "json"))
            assert night.code == 0, night.out
            [rebased] = json.loads(night.out)["rebases"]
            assert (rebased["pull_request"]["action"], rebased["written"]) == (
                "opened", "unchanged")
        [opened] = forge.pulls
        assert opened["head"]["ref"] == BRANCH
        after = run_cli(*site.args("report", "--format", "json"))
        assert after.code == 0, after.out
        [demo] = json.loads(after.out)["packages"]
        assert demo["links"]["upgrade"] == opened["html_url"]
        # Delivered, nothing more to deliver: the next night leaves it alone.
        again = json.loads(run_cli(*site.args("nightly", "--push", "--format", "json")).out)
        assert again["rebases"] == [] and len(forge.pulls) == 1


def test_bump_version_sets_the_input_default_and_its_copies() -> None:
    bumped = bump_version(WORKFLOW, "1.1.0")
    assert bumped is not None and "1.0.0" not in bumped
    assert bumped.count("'1.1.0'") == WORKFLOW.count("'1.0.0'")
    torch = WORKFLOW.replace("'1.0.0'", "'2.13.0'")
    assert "default: '2.14.0'" in (bump_version(torch, "2.14.0") or "")
    assert bump_version("on: push\njobs: {}\n", "1.1.0") is None
    assert bump_version(WORKFLOW, "1.0.0") == WORKFLOW
    double = WORKFLOW.replace("default: '1.0.0'", 'default: "1.0.0"')
    assert 'default: "1.1.0"' in (bump_version(double, "1.1.0") or "")  # their quotes kept


def test_nothing_left_to_carry_removes_the_apply_step(run_cli, tmp_path: Path,
                                                           tokens: None) -> None:
    with pull_forge() as forge:
        site = wheels_site(tmp_path, forge)
        site.upstream.commit("BLD: riscv64 (#7)", {"riscv.txt": "rv64\n"})  # upstream took it
        site.upstream.tag("v1.2.0", annotated=True)
        code, data = night(run_cli, site)
        assert code == 0, data["needs_human"]
        [rebased] = data["rebases"]
        assert rebased["written"] == "nothing-to-carry"
        [pull] = forge.pulls
        assert "`git apply` step that had nothing left to apply is removed" in pull["body"]
        added = set(site.files("mirrorctl/upgrade-demo-1.2.0")) - set(site.files("main"))
        assert added == {"patches/demo/1.2.0/series"}
        workflow = site.show("mirrorctl/upgrade-demo-1.2.0:.github/workflows/build-demo.yml")
        assert "git apply" not in workflow and "Our riscv64 build fixes" not in workflow
        assert "default: '1.2.0'" in workflow


def test_a_forge_answering_html_fails_the_delivery_not_the_night(run_cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                 tokens: None) -> None:
    html = (200, {"Content-Type": "text/html"}, b"<html>a proxy's sign-in page</html>")
    with pull_forge() as forge:
        site = wheels_site(tmp_path, forge)
        forge.throttle = [("GET", html)] * 20
        code, data = night(run_cli, site)
    assert code == 1  # something needs a person; no crash (3)
    [rebased] = data["rebases"]
    assert rebased["pull_request"]["action"] == "failed"
    assert "no JSON list" in rebased["pull_request"]["detail"]
    assert forge.pulls == []


def test_a_draft_that_changes_no_file_is_one_empty_commit(run_cli, tmp_path: Path,
                                                          tokens: None) -> None:
    with pull_forge() as forge:
        site = wheels_site(tmp_path, forge, on_conflict="draft", version_file=None)
        site.upstream.commit("takes the file", {"riscv.txt": "upstream's own\n"})
        site.upstream.tag("v1.2.0", annotated=True)
        code, data = night(run_cli, site)
        assert code == 1 and data["rebases"][0]["pull_request"]["action"] == "opened"
        branch = "mirrorctl/upgrade-demo-1.2.0"
        assert site.files(branch) == site.files("main")  # a request needs a commit: empty
        message = Repo(site.remote, bare=True).git("log", "-1", "--format=%B", branch)
        assert message.startswith("DO NOT MERGE: demo: trigger builds for v1.2.0\n")
        assert "0001-BLD-riscv64.patch is not carried: conflict" in message
        assert "version_file is null" in forge.pulls[0]["body"]
