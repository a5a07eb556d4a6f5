"""`mirrorctl demo`: the README's first command builds its sandbox and shows every rule."""

from __future__ import annotations

import json
from pathlib import Path

from tests.gitrepos import Repo


def test_demo_builds_a_sandbox_and_syncs_it_twice(run_cli, tmp_path: Path) -> None:
    root = tmp_path / "sandbox"
    result = run_cli("-q", "demo", "--dir", str(root), "--format", "json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    first, second = data["syncs"]
    assert [p["status"] for p in first["packages"]] == ["updated"] * 3
    refs = {p["name"]: {r["ref"]: r for r in p["refs"]} for p in second["packages"]}
    assert refs["numpy"]["refs/tags/v1.25.2"]["reason"] == "tag-moved"
    assert refs["numpy"]["refs/tags/v1.26.0"]["action"] == "create"
    assert refs["pyyaml"]["refs/heads/main"]["action"] == "force"
    assert refs["scipy"]["refs/heads/maintenance/1.14.x"]["reason"] == "deleted-upstream"
    # The mirrors kept their riscv64 branches, on the release they patch.
    numpy = Repo(root / "mirrors" / "numpy.git")
    # (v1.25.2 moved upstream, but the mirror kept the tag it had.)
    assert numpy.rev("refs/heads/riscv64/1.25.2^") == numpy.rev("refs/tags/v1.25.2^{commit}")
    assert numpy.git("log", "-1", "--format=%s", "refs/heads/riscv64/1.25.2") == \
        "BLD: build riscv64 wheels"
    # The sandbox's own config works as is from inside it.
    check = run_cli("--config", str(root / "mirrors.yaml"), "--workdir", str(root / ".mirrorctl"),
                    "-q", "sync", "--dry-run")
    assert check.code == 0 and "dry run: nothing was pushed" in check.out


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
