"""`mirrorctl demo`: the README's first command builds its sandbox and runs the nightly."""

from __future__ import annotations

import json
from pathlib import Path

from tests.gitrepos import Repo


def test_demo_builds_a_sandbox_and_runs_the_nightly(run_cli, tmp_path: Path) -> None:
    root = tmp_path / "sandbox"
    result = run_cli("-q", "demo", "--dir", str(root), "--format", "json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert [p["status"] for p in data["first_sync"]["packages"]] == ["updated"] * 4
    night = data["nightly"]
    refs = {p["name"]: {r["ref"]: r for r in p["refs"]} for p in night["sync"]["packages"]}
    assert refs["numpy"]["refs/tags/v1.25.1"]["reason"] == "tag-moved"
    assert refs["pyyaml"]["refs/heads/main"]["action"] == "force"
    assert refs["scipy"]["refs/heads/maintenance/1.14.x"]["reason"] == "deleted-upstream"
    rebases = {r["package"]: r for r in night["rebases"]}
    assert [p["outcome"] for p in rebases["numpy"]["patches"]] == ["applied", "applied"]
    assert [p["outcome"] for p in rebases["pyyaml"]["patches"]] == ["upstreamed"]
    assert rebases["pyyaml"]["written"] == "nothing-to-carry"
    # Upstream took the whole queue: the new release is current, and its folder says so.
    carried = root / "patchsets" / "pyyaml" / "6.0.2"
    assert [p.name for p in carried.iterdir()] == ["series"]
    assert (carried / "series").read_text().startswith("# Nothing left to carry")
    assert [p["outcome"] for p in rebases["scipy"]["patches"]] == ["conflict"]
    # cffi carries no patch: its upgrade is carried (graded) and writes no folder.
    assert (rebases["cffi"]["written"], rebases["cffi"]["patches"]) == ("no-patches", [])
    assert not (root / "patchsets" / "cffi").exists()
    assert night["needs_human"] == [
        "numpy: refs/tags/v1.25.1: upstream moved the tag; run with --force-tags to follow it",
        "scipy: 0001-MAINT-return-a-quiet-NaN-on-riscv64.patch conflicts on v1.15.0"]
    grades = {p["name"]: p for p in night["report"]["packages"]}
    assert grades["numpy"]["level"] == "hard"
    assert grades["numpy"]["reasons"][0]["code"] == "build-backend-changed"
    assert Path(data["report"]).read_text().startswith("# riscv64 upstreaming report")
    page = Path(data["html"]).read_text()
    assert page.startswith("<!DOCTYPE html>") and night["report"]["summary"]["line"] in page
    # The mirrors kept their riscv64 branches, on the release they patch.
    numpy = Repo(root / "mirrors" / "numpy.git")
    assert numpy.rev("refs/heads/riscv64/1.25.2^") == numpy.rev("refs/tags/v1.25.2^{commit}")
    # The sandbox's own config and queues work as they are from inside it.
    check = run_cli("--config", str(root / "mirrors.yaml"), "--workdir", str(root / ".mirrorctl"),
                    "-q", "validate")
    assert check.code == 0, check.out
    # And the night's own report is there again.
    last = run_cli("--config", str(root / "mirrors.yaml"), "--workdir", str(root / ".mirrorctl"),
                   "report", "--last", "--format", "json")
    assert last.code == 1 and json.loads(last.out) == night["report"]  # a person is needed


def test_demo_replaces_its_own_sandbox_but_no_other_folder(run_cli, tmp_path: Path) -> None:
    root = tmp_path / "sandbox"
    assert run_cli("-q", "demo", "--dir", str(root)).code == 0
    assert run_cli("-q", "demo", "--dir", str(root)).code == 0
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    result = run_cli("-q", "demo", "--dir", str(precious))
    assert result.code == 2
    assert "is not a mirrorctl demo directory" in result.err
    assert (precious / "thesis.tex").read_text() == "years of work"


def test_the_morning_after_the_demo_agrees_with_its_night(run_cli, tmp_path: Path) -> None:
    """A plain report, the next morning, tells what the night told: every package's grade,
    every need; classify grades the same upgrades; settling one changes that alone."""
    root = tmp_path / "sandbox"
    assert run_cli("-q", "demo", "--dir", str(root)).code == 0
    args = ["--config", str(root / "mirrors.yaml"), "--workdir", str(root / ".mirrorctl"), "-q"]

    def morning(*more: str) -> tuple[int, dict]:  # type: ignore[type-arg]
        result = run_cli(*args, "report", *more, "--format", "json")
        return result.code, json.loads(result.out)

    def grades(report: dict) -> dict[str, tuple[str, str]]:  # type: ignore[type-arg]
        return {p["name"]: (p["level"], p["reasons"][0]["code"]) for p in report["packages"]}

    def needs(report: dict) -> set[tuple[str, str]]:  # type: ignore[type-arg]
        return {(a["package"], a["kind"]) for a in report["actions"]}

    (code, now), (last_code, night) = morning(), morning("--last")
    assert code == last_code == 1
    assert grades(now) == grades(night) == {
        "numpy": ("hard", "build-backend-changed"), "pyyaml": ("easy", "patch-upstreamed"),
        "scipy": ("hard", "patch-conflict"), "cffi": ("easy", "no-patches")}
    assert needs(now) == needs(night) == {("numpy", "ref-needs-decision"),
                                          ("scipy", "conflict")}
    # The same counts and the same patch debt (they disagreed before issue 31: the night
    # counted pyyaml's patch its carry left behind, and left its own record out).
    assert now["summary"] == night["summary"] and now["debt"] == night["debt"]
    assert {a["detail"] for a in now["actions"]} == {a["detail"] for a in night["actions"]}
    by_name = {p["name"]: p for p in now["packages"]}
    assert by_name["numpy"]["upgrade"]["from"] == "1.25.2"
    assert (by_name["numpy"]["current"], by_name["numpy"]["mirrored"]) == ("1.26.0", "1.25.2")
    classified = json.loads(run_cli(*args, "classify", "--format", "json").out)
    assert {p["name"]: (p["level"], p["reasons"][0]["code"]) for p in classified["packages"]} \
        == grades(now)
    assert run_cli(*args, "settle", "numpy", "--note", "built by hand").code == 0
    assert grades(morning()[1])["numpy"] == ("easy", "up-to-date")
    # The person's note is where a person reads the package (it was kept nowhere seen).
    settled = {p["name"]: p for p in morning()[1]["packages"]}["numpy"]
    assert "a person said so: built by hand" in settled["reasons"][0]["detail"]
    assert settled["settled"] == "a person said so: built by hand"
    assert grades(morning()[1])["scipy"] == ("hard", "patch-conflict")
    # Nothing left to carry (pyyaml) and no patch at all (cffi): nothing to draft, and
    # nothing newer to carry: both said, exit 0 (they exited 2 before issue 31).
    for package in ("pyyaml", "cffi"):
        drafted = run_cli(*args, "upstream", "draft", package)
        assert drafted.code == 0 and "nothing to draft" in drafted.out, drafted.err
    newest = run_cli(*args, "rebase", "pyyaml", "--dry-run")
    assert newest.code == 0 and "nothing newer to carry: 6.0.2" in newest.out, newest.err
