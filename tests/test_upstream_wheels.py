"""`mirrorctl upstream wheels`: each package's road to upstream riscv64 wheels, from
local upstreams in real shapes, a local GitHub with requests open, closed, merged and
reverted, and a local PyPI whose riscv64 wheel appears in a later release."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from mirrorctl.upstream.wheels.search import batches
from testbed import wheelshapes as shapes
from testbed.fakeforge import FakeForge, fake_forge
from testbed.httpserver import Recorded, http_server
from tests.gitrepos import Repo

TOKEN = "gh-test-token-123456"


def pypi_answer(releases: dict[str, list[str]]) -> bytes:
    return json.dumps({"info": {}, "releases": {
        v: [{"filename": f, "yanked": False} for f in files] for v, files in releases.items()
    }}).encode()


def sdist(name: str, version: str) -> list[str]:
    return [f"{name}-{version}.tar.gz", f"{name}-{version}-cp312-cp312-manylinux_2_28_x86_64.whl"]


def riscv64(name: str, version: str) -> list[str]:
    return [*sdist(name, version), f"{name}-{version}-cp312-cp312-manylinux_2_28_riscv64.whl"]


def upstream(root: Path, name: str, files: dict[str, str], *, tag: str = "v1.0.0") -> Repo:
    repo = Repo(root / name)
    repo.commit("initial", {"README.md": f"{name}\n", **files})
    repo.tag(tag, annotated=True)
    return repo


@dataclass
class Campaign:
    root: Path
    config: Path
    workdir: Path
    forge: FakeForge
    pypi: dict[str, bytes]  # /pypi/<name>/json (and the registry's /simple/<name>/) -> answer
    repos: dict[str, Repo]
    index: str  # where that server is

    def args(self, *args: str) -> list[str]:
        return ["--config", str(self.config), "--workdir", str(self.workdir), "-q", *args]


def ask(forge: FakeForge, project: str, number: int, title: str, *, pr: bool, state: str,
        merged: bool = False, body: str = "") -> dict[str, Any]:
    item: dict[str, Any] = {
        "number": number, "title": title, "body": body, "state": state,
        "html_url": f"https://github.com/{project}/{'pull' if pr else 'issues'}/{number}"}
    if pr:
        item["pull_request"] = {"merged_at": "2026-06-01T10:00:00Z" if merged else None}
    (forge.open_items if state == "open" else forge.closed_items).setdefault(
        project, []).append(item)
    return item


@pytest.fixture
def campaign(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Campaign]:
    repos: dict[str, Repo] = {}
    # draft: the emulated matrix, with an open issue that asks for riscv64 wheels.
    repos["zstd"] = upstream(tmp_path, "zstd", shapes.EMULATED_MATRIX)
    # requested: the same shape, an open pull request.
    repos["yarl"] = upstream(tmp_path, "yarl", shapes.EMULATED_MATRIX)
    # declined: include entries, a pull request closed over the emulated build time.
    repos["fonts"] = upstream(tmp_path, "fonts", shapes.INCLUDE_ENTRIES)
    # reverted: riscv64 merged, then undone.
    repos["spiece"] = upstream(tmp_path, "spiece", shapes.EMULATED_MATRIX)
    repos["spiece"].commit("ci: add riscv64 wheels", shapes.with_riscv64(
        shapes.EMULATED_MATRIX))
    repos["spiece"].git("revert", "--no-edit", "HEAD")
    # merged: riscv64 on main since the last release.
    repos["msgspec"] = upstream(tmp_path, "msgspec", shapes.EMULATED_MATRIX)
    repos["msgspec"].commit("ci: add riscv64 to the wheel build matrix",
                            shapes.with_riscv64(shapes.EMULATED_MATRIX))
    # released: a release has it; PyPI's latest has no riscv64 wheel yet.
    repos["chardet"] = upstream(tmp_path, "chardet", shapes.EMULATED_MATRIX)
    repos["chardet"].commit("ci: build riscv64 wheels", shapes.with_riscv64(
        shapes.EMULATED_MATRIX))
    repos["chardet"].commit("more work", {"src.c": "int x;\n"})
    repos["chardet"].tag("v2.0.0", annotated=True)
    repos["chardet"].commit("after the release", {"src.c": "int y;\n"})
    repos["chardet"].tag("v2.1.0rc1", annotated=True)
    # unknown-shape: a matrix computed at run time.
    repos["planned"] = upstream(tmp_path, "planned", shapes.COMPUTED_MATRIX)
    # pure-python, and one PyPI does not know.
    repos["purepy"] = upstream(tmp_path, "purepy", {"pyproject.toml": "[project]\n"})
    repos["gone"] = upstream(tmp_path, "gone", shapes.EMULATED_MATRIX)

    pypi = {f"/pypi/{name}/json": pypi_answer({"1.0.0": sdist(name, "1.0.0")})
            for name in repos}
    pypi["/pypi/chardet/json"] = pypi_answer({"1.0.0": sdist("chardet", "1.0.0"),
                                              "2.0.0": sdist("chardet", "2.0.0")})
    pypi["/pypi/purepy/json"] = pypi_answer({"1.0.0": ["purepy-1.0.0-py3-none-any.whl"]})
    del pypi["/pypi/gone/json"]

    def respond(request: Recorded, index: int):  # type: ignore[no-untyped-def]
        path = request.path.partition("?")[0]
        answer = pypi.get(path)
        kind = "application/vnd.pypi.simple.v1+json" if path.startswith("/simple/") \
            else "application/json"
        return (200, {"Content-Type": kind}, answer) if answer else (404, {})

    with fake_forge() as forge, http_server(respond) as server:
        ask(forge, "org/zstd", 288, "Add riscv64 (linux_riscv64) wheel to PyPI releases",
            pr=False, state="open", body="cibuildwheel supports riscv64 now")
        ask(forge, "org/zstd", 12, "BLD: fix riscv64 detection in setup.py", pr=True,
            state="closed", merged=True)  # a riscv64 fix, not wheels: no state of the road
        ask(forge, "org/yarl", 1625, "ci: add riscv64 wheels", pr=True, state="open")
        ask(forge, "org/fonts", 4069, "Build riscv64 wheels", pr=True, state="closed")
        forge.comments[("org/fonts", 4069)] = [
            {"body": "Thanks! I will try it."},
            {"body": "> Build riscv64 wheels\n\nClosing: the CI took over four hours under "
                     "QEMU. We will revisit with native runners."}]
        ask(forge, "org/spiece", 1196, "Add riscv64 to cibuildwheel matrix", pr=True,
            state="closed", merged=True)
        packages = {name: {"upstream": str(repo.path), "mirror": False,
                           "upstream_web": f"https://github.com/org/{name}",
                           "tag_format": "v{version}", "version": "1.0.0"}
                    for name, repo in repos.items()}
        config = tmp_path / "mirrors.yaml"
        config.write_text(yaml.safe_dump({"defaults": {
            "allowed_protocols": ["file"], "retries": 0, "pypi_url": server.url,
            "search_rate": 6000,
            "forge_apis": {"github.com": forge.url}}, "packages": packages}, sort_keys=False))
        monkeypatch.setenv("MIRRORCTL_GITHUB_TOKEN", TOKEN)
        yield Campaign(tmp_path, config, tmp_path / "work", forge, pypi, repos, server.url)


def roads(run_cli, campaign: Campaign, *names: str) -> tuple[int, dict[str, Any]]:  # type: ignore[no-untyped-def]
    result = run_cli(*campaign.args("upstream", "wheels", "--format", "json", *names))
    assert result.out.startswith("{"), result.err
    data = json.loads(result.out)
    return result.code, {p["name"]: p for p in data["packages"]}


def test_every_state_of_the_road_from_the_facts(run_cli, campaign: Campaign) -> None:
    assert run_cli(*campaign.args("sync")).code == 0
    code, found = roads(run_cli, campaign)
    assert code == 1  # gone is unknown
    states = {name: p["state"] for name, p in found.items()}
    assert states == {"zstd": "draft", "yarl": "requested", "fonts": "declined",
                      "spiece": "reverted", "msgspec": "merged", "chardet": "released",
                      "planned": "unknown-shape", "purepy": "pure-python", "gone": "unknown"}

    zstd = found["zstd"]
    assert zstd["requests"] == [{"url": "https://github.com/org/zstd/issues/288",
                                 "kind": "issue", "state": "open",
                                 "title": "Add riscv64 (linux_riscv64) wheel to PyPI releases"}]
    assert "matrix.arch" in zstd["reasons"][0]
    assert any("refers to https://github.com/org/zstd/issues/288" in r for r in zstd["reasons"])
    assert zstd["next"] == "mirrorctl upstream wheels zstd --draft"
    assert zstd["draft"] is None and zstd["default_branch"] == "main"

    assert "https://github.com/org/yarl/pull/1625" in found["yarl"]["reasons"][0]
    assert "no second request" in found["yarl"]["reasons"][0]
    declined = found["fonts"]["reasons"][0]
    assert "pull/4069 was closed without merging" in declined
    assert "over four hours under QEMU" in declined and "> Build" not in declined

    reverted = found["spiece"]
    revert = campaign.repos["spiece"].head()
    assert reverted["reverted_by"] == revert
    assert reverted["enabled_by"] == campaign.repos["spiece"].rev("HEAD~1")
    assert "pull/1196 was merged" in reverted["reasons"][0]
    assert f"undone by {revert[:12]} ('Revert " in reverted["reasons"][0]

    merged = found["msgspec"]
    assert merged["enabled_by"] == campaign.repos["msgspec"].head()
    assert "no release has it yet (newest: v1.0.0)" in merged["reasons"][0]
    assert merged["next"] == "mirrorctl releases msgspec"
    chardet = found["chardet"]
    assert chardet["released_in"] == "v2.0.0" and chardet["pypi_latest"] == "2.0.0"
    assert "PyPI's latest release 2.0.0 has no riscv64 wheel" in chardet["reasons"][0]

    assert "computed at run time" in found["planned"]["reasons"][0]
    assert "an issue is drafted, not a patch" in found["planned"]["reasons"][0]
    assert "no project 'gone'" in found["gone"]["reasons"][0]
    # The others were decided before the forge was needed: no search for them; the
    # declined request's comments are read for its quote alone. One search a batch of
    # projects (GitHub ORs repo: qualifiers).
    searched = sorted(p for batch in campaign.forge.searches for p in batch)
    assert sorted(campaign.forge.requests) == sorted(
        ["/search/issues"] * len(batches(searched))
        + ["/repos/org/fonts/issues/4069/comments"])


def test_the_state_moves_release_after_release_and_is_recorded(run_cli,
                                                               campaign: Campaign) -> None:
    assert run_cli(*campaign.args("sync")).code == 0
    _, first = roads(run_cli, campaign, "chardet", "msgspec")
    assert (first["chardet"]["state"], first["chardet"]["previous"]) == ("released", None)

    # PyPI gets 2.0.0's riscv64 wheel; msgspec releases 1.1.0.
    campaign.pypi["/pypi/chardet/json"] = pypi_answer({"2.0.0": riscv64("chardet", "2.0.0")})
    campaign.repos["msgspec"].tag("v1.1.0", annotated=True)
    assert run_cli(*campaign.args("sync")).code == 0
    code, second = roads(run_cli, campaign, "chardet", "msgspec")
    assert code == 0
    assert (second["chardet"]["state"], second["chardet"]["previous"],
            second["chardet"]["changed"]) == ("shipped", "released", True)
    assert "retired: true" in second["chardet"]["reasons"][0]
    assert (second["msgspec"]["state"], second["msgspec"]["released_in"]) == ("released",
                                                                            "v1.1.0")
    record = json.loads((campaign.workdir / "state" / "chardet.json").read_text())
    wheels = record["facts"]["wheels"]["value"]
    assert wheels["state"] == "shipped"
    assert [h["state"] for h in wheels["history"]] == ["released"]

    # Unchanged the next night: the state keeps the time it was reached.
    _, third = roads(run_cli, campaign, "chardet")
    assert third["chardet"]["since"] == second["chardet"]["since"]
    assert third["chardet"]["changed"] is False


def test_what_could_not_be_established_is_unknown_never_good_news(
        run_cli, campaign: Campaign) -> None:
    # Never synced: no default branch recorded.
    code, found = roads(run_cli, campaign, "zstd")
    assert code == 1 and found["zstd"]["state"] == "unknown"
    assert found["zstd"]["next"] == "mirrorctl sync zstd"
    assert "run `mirrorctl sync zstd`" in found["zstd"]["reasons"][0]

    assert run_cli(*campaign.args("sync")).code == 0
    _, found = roads(run_cli, campaign, "zstd")
    assert found["zstd"]["state"] == "draft"
    # The forge refuses the token: the state is unknown, the record keeps the last one.
    campaign.forge.github_token = "another-token-000000"
    code, found = roads(run_cli, campaign, "zstd")
    assert code == 1 and found["zstd"]["state"] == "unknown"
    assert "authentication failed: set MIRRORCTL_GITHUB_TOKEN" in found["zstd"]["reasons"][0]
    assert TOKEN not in json.dumps(found)
    record = json.loads((campaign.workdir / "state" / "zstd.json").read_text())
    wheels = record["facts"]["wheels"]["value"]
    assert wheels["state"] == "draft" and "authentication failed" in wheels["unknown"]

    # Upstream renames its default branch to one sync does not mirror.
    campaign.repos["zstd"].git("branch", "-m", "main", "trunk")
    assert run_cli(*campaign.args("sync", "zstd")).code == 0
    campaign.forge.github_token = TOKEN
    code, found = roads(run_cli, campaign, "zstd")
    assert code == 1 and found["zstd"]["state"] == "unknown"
    assert "default branch trunk is not in the cache" in found["zstd"]["reasons"][0]


def test_the_table_says_each_state_its_reasons_and_what_to_run(run_cli,
                                                              campaign: Campaign) -> None:
    assert run_cli(*campaign.args("sync")).code == 0
    result = run_cli(*campaign.args("upstream", "wheels", "yarl", "zstd"))
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].split() == ["yarl", "requested"]
    assert "next: mirrorctl upstream wheels zstd --draft" in result.out
    assert "issue open: https://github.com/org/zstd/issues/288" not in result.out  # in reasons
    assert lines[-1] == "2 packages: 1 requested, 1 draft; nothing was sent upstream"
    assert not [r for r in campaign.forge.requests if not r.startswith("/search")]


def test_drafts_the_change_proved_and_never_a_second_request(run_cli, campaign: Campaign,
                                                             tmp_path: Path) -> None:
    assert run_cli(*campaign.args("sync")).code == 0
    records = sorted((campaign.workdir / "state").glob("*.json"))
    kept = {p: p.read_bytes() for p in records}
    code, dry = roads(run_cli, campaign, "zstd", "planned", "--draft", "--dry-run")
    assert code == 0 and dry["zstd"]["draft"]["status"] == "would-write"
    assert dry["planned"]["draft"]["status"] == "would-write"
    assert not (campaign.workdir / "drafts").exists()  # nothing written, nothing recorded
    assert {p: p.read_bytes() for p in sorted((campaign.workdir / "state").glob("*.json"))} \
        == kept
    code, found = roads(run_cli, campaign, "zstd", "planned", "fonts", "yarl", "--draft")
    assert code == 0
    zstd = found["zstd"]["draft"]
    assert (zstd["kind"], zstd["status"], zstd["title"]) == ("pr", "written",
                                                             "Add riscv64 wheels")
    patch = Path(zstd["patch"])
    assert patch.parent == campaign.workdir / "drafts" / "zstd"
    assert "riscv64 added to matrix.arch" in " ".join(zstd["changes"])
    assert any(c.startswith("cibuildwheel ") and " riscv64 builds: " in c
               for c in zstd["checks"]), zstd["checks"]
    # The pinned cibuildwheel went into the shared tool cache (MIRRORCTL_TOOLS), not the
    # work directory.
    assert list(Path(os.environ["MIRRORCTL_TOOLS"]).glob("cibuildwheel-3.1.4"))
    assert not (campaign.workdir / "tools").exists()
    # The patch applies to upstream's default branch, as upstream would take it.
    clone = Repo(tmp_path / "clone")
    clone.git("fetch", "--quiet", str(campaign.repos["zstd"].path), "main")
    clone.git("checkout", "--quiet", "FETCH_HEAD")
    clone.git("apply", "--check", str(patch))
    clone.git("am", "--quiet", str(patch))
    workflow = (clone.path / ".github/workflows/wheels.yml").read_text()
    assert "arch: [x86_64, aarch64, ppc64le, s390x, riscv64]" in workflow
    body = Path(zstd["body"]).read_text()
    assert body.startswith("---\n") and "request: riscv64-wheels" in body
    assert "Closes #288" in body and "integrated in the same way as the other emulated " \
        "architectures (aarch64, ppc64le, s390x)" in body
    assert found["zstd"]["next"] == (f"read and edit {zstd['body']}, then: mirrorctl "
                                     f"upstream submit {zstd['body']}")

    planned = found["planned"]["draft"]
    assert (planned["kind"], planned["patch"]) == ("issue", None)
    assert "computed at run time" in Path(planned["body"]).read_text()
    assert found["fonts"]["draft"]["kind"] == "pr"  # declined: a new draft, for a person
    fonts_body = found["fonts"]["draft"]["body"]
    assert found["fonts"]["next"] == (
        "read why upstream said no (https://github.com/org/fonts/pull/4069), edit "
        f"{fonts_body}, then: mirrorctl upstream submit {fonts_body} --force")
    assert found["yarl"]["draft"] is None  # an open request: never a second
    assert not (campaign.workdir / "drafts" / "yarl").exists()
    # Nothing was sent: the forge was only read.
    assert all(r.startswith(("/search/", "/repos/org/fonts/issues/4069/comments"))
               for r in campaign.forge.requests)

    # Again: unchanged. A person's edit is kept, unless --force.
    _, again = roads(run_cli, campaign, "zstd", "--draft")
    assert again["zstd"]["draft"]["status"] == "unchanged"
    Path(zstd["body"]).write_text(body + "\nTested on a VisionFive 2 too.\n")
    _, kept = roads(run_cli, campaign, "zstd", "--draft")
    assert kept["zstd"]["draft"]["status"] == "kept"
    assert "VisionFive" in Path(zstd["body"]).read_text()
    _, forced = roads(run_cli, campaign, "zstd", "--draft", "--force")
    assert forced["zstd"]["draft"]["status"] == "written"

    # Upstream opens a request meanwhile: no draft from now on.
    ask(campaign.forge, "org/zstd", 300, "ci: build riscv64 wheels", pr=True, state="open")
    _, later = roads(run_cli, campaign, "zstd", "--draft")
    assert (later["zstd"]["state"], later["zstd"]["draft"]) == ("requested", None)


def test_submit_searches_again_pushes_the_change_to_the_fork_and_opens_it(
        run_cli, campaign: Campaign) -> None:
    fork = Repo(campaign.root / "forks" / "zstd.git", bare=True)
    Repo(campaign.root / "forks" / "fonts.git", bare=True)
    text = campaign.config.read_text()
    campaign.config.write_text(text.replace("defaults:\n", (
        "defaults:\n  forks:\n    github.com:\n      namespace: builders\n"
        f"      git_url: '{campaign.root}/forks/{{repo}}.git'\n"), 1))
    assert run_cli(*campaign.args("sync")).code == 0
    _, found = roads(run_cli, campaign, "zstd", "fonts", "--draft")
    body = found["zstd"]["draft"]["body"]
    start = len(campaign.forge.requests)
    done = run_cli(*campaign.args("upstream", "submit", body, "--format", "json"))
    assert done.code == 0, done.err
    submitted = json.loads(done.out)
    assert (submitted["status"], submitted["url"]) == ("submitted",
                                                       "https://github.com/org/zstd/pull/100")
    assert campaign.forge.requests[start:] == ["/search/issues", "POST /repos/org/zstd/pulls"]
    [(project, opened)] = campaign.forge.created
    assert (project, opened["head"], opened["base"], opened["draft"]) == (
        "org/zstd", "builders:riscv64/wheels", "main", True)
    assert opened["title"] == "Add riscv64 wheels" and "Closes #288" in opened["body"]
    pushed = fork.git("show", "riscv64/wheels:.github/workflows/wheels.yml")
    assert "arch: [x86_64, aarch64, ppc64le, s390x, riscv64]" in pushed
    assert fork.git("rev-parse", "riscv64/wheels^") == campaign.repos["zstd"].head()
    assert fork.git("log", "-1", "--format=%s|%an|%b", "riscv64/wheels").startswith(
        "Add riscv64 wheels|riscv64 wheel builders|- .github/workflows/wheels.yml: riscv64 "
        "added to matrix.arch")
    assert "submitted: https://github.com/org/zstd/pull/100" in Path(body).read_text()
    again = run_cli(*campaign.args("upstream", "submit", body))
    assert again.code == 2 and "already submitted as https://github.com/org/zstd/pull/100" \
        in again.err

    # The declined one: the closed request stops it until a person says --force.
    fonts = found["fonts"]["draft"]["body"]
    refused = run_cli(*campaign.args("upstream", "submit", fonts, "--format", "json"))
    assert refused.code == 1
    stopped = json.loads(refused.out)
    assert stopped["status"] == "refused-duplicate"
    assert stopped["duplicates"] == [{"url": "https://github.com/org/fonts/pull/4069",
                                      "title": "Build riscv64 wheels (closed)"}]


def test_the_nightly_follows_the_road_and_the_page_shows_it(run_cli, campaign: Campaign,
                                                            tmp_path: Path) -> None:
    night = run_cli(*campaign.args("nightly", "--wheels", "--format", "json"))
    data = json.loads(night.out)
    states = {r["name"]: r["state"] for r in data["wheels"]}
    assert states["yarl"] == "requested" and states["chardet"] == "released"
    kinds = {(n["package"], n["kind"]) for n in data["needs"] if n["kind"].startswith("wheels")}
    assert kinds == {("purepy", "wheels-shipped")}  # retire it; nothing changed yet
    campaign_json = data["report"]["campaign"]
    assert campaign_json["counts"]["requested"] == 1
    assert {p["name"]: p["state"] for p in campaign_json["packages"]}["gone"] == "unknown"

    # Overnight: yarl's request is closed unmerged, chardet's riscv64 wheel reaches PyPI.
    [item] = campaign.forge.open_items.pop("org/yarl")
    campaign.forge.closed_items.setdefault("org/yarl", []).append({**item, "state": "closed"})
    campaign.pypi["/pypi/chardet/json"] = pypi_answer({"2.0.0": riscv64("chardet", "2.0.0")})
    night = run_cli(*campaign.args("nightly", "--wheels", "--format", "json"))
    assert night.code == 1
    data = json.loads(night.out)
    changed = {r["name"]: (r["previous"], r["state"]) for r in data["wheels"] if r["changed"]}
    assert changed == {"yarl": ("requested", "declined"), "chardet": ("released", "shipped")}
    kinds = {(n["package"], n["kind"]) for n in data["needs"] if n["kind"].startswith("wheels")}
    assert kinds == {("purepy", "wheels-shipped"), ("chardet", "wheels-shipped"),
                     ("yarl", "wheels-declined")}
    table = run_cli(*campaign.args("nightly", "--wheels"))
    assert "- yarl: declined -> declined" not in table.out  # a third night: no change
    assert "== upstream riscv64 wheels ==" in table.out

    # The morning page: counts by state, each package's next action and its request.
    page = tmp_path / "report.html"
    assert run_cli(*campaign.args("report", "-o", str(page))).code in (0, 1)
    html = page.read_text()
    assert "The road to upstream riscv64 wheels" in html
    assert 'href="https://github.com/org/yarl/pull/1625"' in html
    assert "<code>mirrorctl upstream wheels zstd --draft</code>" in html
    assert "<code>mirrorctl releases --pypi chardet</code>" in html


def test_a_gitlab_upstream_is_searched_through_its_merge_requests_and_issues(
        run_cli, campaign: Campaign, monkeypatch: pytest.MonkeyPatch) -> None:
    """GitLab's side of the forge door: merge requests and issues, open and closed."""
    data = yaml.safe_load(campaign.config.read_text())
    data["defaults"]["forge_apis"]["gitlab.example.org"] = campaign.forge.url
    data["packages"]["zstd"]["upstream_web"] = "https://gitlab.example.org/libs/zstd"
    data["packages"]["yarl"]["upstream_web"] = "https://gitlab.example.org/libs/yarl"
    campaign.config.write_text(yaml.safe_dump(data, sort_keys=False))
    web = "https://gitlab.example.org/libs"
    campaign.forge.open_items["libs/zstd"] = [
        {"iid": 7, "title": "Ship riscv64 wheels on PyPI", "state": "opened", "kind": "issues",
         "description": "cibuildwheel can build them", "web_url": f"{web}/zstd/-/issues/7"}]
    campaign.forge.closed_items["libs/yarl"] = [
        {"iid": 3, "title": "ci: add riscv64 wheels", "state": "merged",
         "kind": "merge_requests", "description": "", "source_branch": "rv",
         "web_url": f"{web}/yarl/-/merge_requests/3"}]
    monkeypatch.setenv("MIRRORCTL_GITLAB_TOKEN", campaign.forge.gitlab_token)
    assert run_cli(*campaign.args("sync", "zstd", "yarl")).code == 0
    code, found = roads(run_cli, campaign, "zstd", "yarl")
    assert code == 0
    assert found["zstd"]["state"] == "draft"
    assert found["zstd"]["requests"] == [{"url": f"{web}/zstd/-/issues/7", "kind": "issue",
                                          "state": "open",
                                          "title": "Ship riscv64 wheels on PyPI"}]
    # Merged, and main does not build them: undone (no revert commit to name).
    assert found["yarl"]["state"] == "reverted"
    assert f"{web}/yarl/-/merge_requests/3 was merged, then main no longer builds them" in \
        found["yarl"]["reasons"][0]
    # Two requests a package at most: the issues only when no merge request decides.
    assert [r for r in campaign.forge.requests if r.startswith("/api/v4/")] == [
        "/api/v4/projects/libs%2Fzstd/merge_requests", "/api/v4/projects/libs%2Fzstd/issues",
        "/api/v4/projects/libs%2Fyarl/merge_requests"]


def test_the_builders_tracking_issue_is_kept_current_in_one_comment(
        run_cli, campaign: Campaign) -> None:
    data = yaml.safe_load(campaign.config.read_text())
    data["defaults"]["notices"] = {"tracker": "https://github.com/rise/python-wheels"}
    campaign.config.write_text(yaml.safe_dump(data, sort_keys=False))
    theirs = {"number": 5, "title": "zstd riscv64 support", "state": "open", "body": "",
              "html_url": "https://github.com/rise/python-wheels/issues/5", "labels": []}
    campaign.forge.open_items["rise/python-wheels"] = [theirs]
    run_cli(*campaign.args("nightly", "zstd", "yarl", "--wheels", "--notify"))
    [comment] = campaign.forge.comments[("rise/python-wheels", 5)]
    assert comment["body"].startswith("<!-- mirrorctl-wheels zstd -->\n**Upstream riscv64 "
                                      "wheels: draft**")
    assert "Next: `mirrorctl upstream wheels zstd --draft`" in comment["body"]
    assert "https://github.com/org/zstd/issues/288" in comment["body"]

    # Nothing new: the forge is not asked about the tracking issue again.
    start = len(campaign.forge.requests)
    run_cli(*campaign.args("nightly", "zstd", "yarl", "--wheels", "--notify"))
    night = campaign.forge.requests[start:]
    assert not [r for r in night if "python-wheels/issues/5" in r]
    # the roads' own searches (one a batch of projects), no issue looked up
    assert night.count("/search/issues") == len(batches(["org/zstd", "org/yarl"]))
    assert len(campaign.forge.comments[("rise/python-wheels", 5)]) == 1

    # Upstream opens a request: the one comment is edited, never a second.
    ask(campaign.forge, "org/zstd", 300, "ci: build riscv64 wheels", pr=True, state="open")
    run_cli(*campaign.args("nightly", "zstd", "yarl", "--wheels", "--notify"))
    [comment] = campaign.forge.comments[("rise/python-wheels", 5)]
    assert "wheels: requested**" in comment["body"]
    assert "PATCH /repos/rise/python-wheels/issues/comments/9000" in campaign.forge.requests


def test_the_title_follows_upstreams_conventional_commits(run_cli, campaign: Campaign) -> None:
    repo = campaign.repos["zstd"]
    for n in range(4):
        repo.commit(f"ci: bump an action {n}", {f"ci-{n}.txt": "x\n"})
    repo.commit("feat: faster frames", {"f.txt": "x\n"})
    assert run_cli(*campaign.args("sync", "zstd")).code == 0
    _, found = roads(run_cli, campaign, "zstd", "--draft")
    assert found["zstd"]["draft"]["title"] == "ci: add riscv64 wheels"
    patch = Path(found["zstd"]["draft"]["patch"]).read_text()
    assert "Subject: [PATCH] ci: add riscv64 wheels" in patch


def test_the_request_claims_the_registry_only_where_it_holds_the_wheels(
        run_cli, campaign: Campaign) -> None:
    data = yaml.safe_load(campaign.config.read_text())
    data["defaults"]["registry_url"] = f"{campaign.index}/simple/"
    campaign.config.write_text(yaml.safe_dump(data, sort_keys=False))
    campaign.pypi["/simple/zstd/"] = json.dumps({
        "meta": {"api-version": "1.1"}, "name": "zstd", "files": [
            {"filename": "zstd-1.0.0-cp312-cp312-manylinux_2_39_riscv64.whl", "url": "/f",
             "hashes": {}}]}).encode()
    from mirrorctl.grade.builds import Build, Case, Results, keep_results

    keep_results(campaign.workdir, "fonts", Results(version="1.0.0", builds=(
        Build("3.12", True, (Case("tests.test_nan", "failed", "sign"),), tested=True),)))
    keep_results(campaign.workdir, "zstd", Results(version="1.0.0", builds=(
        Build("3.12", True, (Case("tests.test_ok", "passed"),), tested=True),
        Build("3.13", True, (Case("tests.test_ok", "passed"),), tested=True))))
    assert run_cli(*campaign.args("sync", "zstd", "fonts")).code == 0
    _, found = roads(run_cli, campaign, "zstd", "fonts", "--draft")
    zstd = Path(found["zstd"]["draft"]["body"]).read_text()
    assert "Their riscv64 builds of 1.0.0 passed the test suite (Python 3.12, 3.13)." in zstd
    assert "fail 1 test(s): `tests.test_nan`" in Path(found["fonts"]["draft"]["body"]).read_text()
    assert (f"The riscv64 wheel builders' registry has zstd 1.0.0's riscv64 wheels: "
            f"{campaign.index}/simple/zstd/") in zstd
    assert "registry" not in Path(found["fonts"]["draft"]["body"]).read_text()


def test_an_unknown_road_names_what_changes_it(run_cli, campaign: Campaign) -> None:
    """Without `upstream_web:` the requests cannot be searched: the next step is that
    setting, never the same command again (issue 31)."""
    data = yaml.safe_load(campaign.config.read_text())
    del data["packages"]["yarl"]["upstream_web"]
    campaign.config.write_text(yaml.safe_dump(data, sort_keys=False))
    assert run_cli(*campaign.args("sync", "yarl")).code == 0
    code, found = roads(run_cli, campaign, "yarl")
    assert code == 1 and found["yarl"]["state"] == "unknown"
    assert "upstream_web" in found["yarl"]["reasons"][0]
    assert found["yarl"]["next"] == \
        "set `upstream_web:` for yarl in mirrors.yaml (upstream's web page)"


def test_the_body_says_how_riscv64_joins_a_project_that_emulates_nothing(
        run_cli, campaign: Campaign) -> None:
    """Entries each on its own runner: under QEMU on the x86_64 runner, said so; runners
    as the only list of architectures: the same, the list made include entries; where it
    cannot be (the runners multiplied by another list), a runner of riscv64's own, and
    why."""
    data = yaml.safe_load(campaign.config.read_text())
    path = ".github/workflows/release.yml"
    crossed = {**shapes.NATIVE_RUNNERS, path: shapes.NATIVE_RUNNERS[path].replace(
        "        os: [ubuntu-24.04,", "        python: ['3.12']\n        os: [ubuntu-24.04,")}
    for name, shape in (("ownrun", shapes.NATIVE_INCLUDE), ("listed", shapes.NATIVE_RUNNERS),
                        ("runners", crossed)):
        campaign.repos[name] = upstream(campaign.root, name, shape)
        campaign.pypi[f"/pypi/{name}/json"] = pypi_answer({"1.0.0": sdist(name, "1.0.0")})
        data["packages"][name] = {**data["packages"]["zstd"],
                                  "upstream": str(campaign.repos[name].path),
                                  "upstream_web": f"https://github.com/org/{name}"}
    campaign.config.write_text(yaml.safe_dump(data, sort_keys=False))
    assert run_cli(*campaign.args("sync", "ownrun", "listed", "runners")).code == 0
    code, found = roads(run_cli, campaign, "ownrun", "listed", "runners", "--draft")
    assert code == 0, found
    for name in ("ownrun", "listed"):
        body = Path(found[name]["draft"]["body"]).read_text()
        assert "under QEMU on the x86_64 runner, set up for the riscv64 jobs alone." in body
        assert "RISE GitHub App" not in body
    runners = Path(found["runners"]["draft"]["body"]).read_text()
    assert "lists its architectures by their runners alone" in runners
    assert "the project installs the app" in runners
