"""A season in one package's life: four upstream releases, each carried from the one before.

1.1.0 is a clean carry; 1.2.0 conflicts and is resolved by hand (a first --continue with
the markers still in is refused, then a good one), its remembered resolution is reused
and then forgotten; 1.3.0 is aborted with its worktree gone, then resolved; 1.4.0 took
every patch upstream. A downgrade is refused. At every step classify, report (markdown,
JSON, HTML) and nightly agree on where the package stands.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import Site
from tests.gitrepos import Repo, make_mirror, write_config
from tests.test_kill import export_each

pytestmark = pytest.mark.e2e

CORE = "".join(f"int f{n}(void) {{ return {n}; }}\n" for n in range(1, 13))
STATUS = "Upstream-Status: Submitted [https://github.com/up/proj/pull/{}]"


@pytest.fixture
def season(tmp_path: Path) -> Site:
    return season_site(tmp_path)


def season_site(tmp_path: Path) -> Site:
    """proj 1.0.0 with two patches, one on the line later releases rework; a mirror."""
    up = Repo(tmp_path / "upstream")
    up.commit("release 1.0.0", {"setup.py": "flags = []\n", "src/core.c": CORE,
                                "README": "Proj.\n"})
    up.tag("v1.0.0", annotated=True)
    export_each(up, "v1.0.0", tmp_path / "patchsets" / "proj" / "1.0.0", [
        ("0001-BLD-riscv64-flags.patch", f"BLD: riscv64 flags\n\n{STATUS.format(1)}",
         {"setup.py": "flags = ['-march=rv64gc']\n"}),
        ("0002-MAINT-core-riscv64.patch", f"MAINT: core on riscv64\n\n{STATUS.format(2)}",
         {"src/core.c": CORE.replace("return 6;", "return 6 /* rv64 */;")}),
    ])
    mirror = make_mirror(tmp_path / "mirror.git")
    config = write_config(tmp_path / "mirrors.yaml", {"proj": {
        "upstream": str(up.path), "mirror": str(mirror.path), "version": "1.0.0"}})
    return Site(tmp_path, up, mirror, config, tmp_path / "work")


def json_of(run_cli, site: Site, *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    result = run_cli(*site.args(*args, "--format", "json"))
    assert result.out.startswith("{"), result.err
    return result.code, json.loads(result.out)


def standing(run_cli, site: Site) -> tuple[str | None, str | None, str | None]:  # type: ignore[no-untyped-def]
    """(current, latest, level) as classify, report (md, json, html) and a nightly say it;
    they must agree."""
    code, classified = json_of(run_cli, site, "classify")
    [c] = classified["packages"]
    _, reported = json_of(run_cli, site, "report")
    [r] = reported["packages"]
    markdown = run_cli(*site.args("report")).out
    page = run_cli(*site.args("report", "--format", "html")).out
    # An upgrade carried and not yet settled is graded as carried: from where it came.
    assert c["from"] == (r["upgrade"]["from"] if r["upgrade"] else r["current"])
    assert (c["to"], c["level"]) == (r["latest"], r["level"])
    assert (f"| proj | {r['current']} | {r['mirrored'] or '-'} | {r['latest']} | "
            f"{r['level']} |") in markdown
    assert f">{r['level']}<" in page and r["current"] in page
    night_code, night = json_of(run_cli, site, "nightly")
    [n] = night["report"]["packages"]
    assert (n["current"], n["latest"], n["level"]) == (r["current"], r["latest"], r["level"])
    assert night["rebases"] == [], "a nightly after the person's work has nothing to carry"
    assert night_code == code == 0, night["needs_human"]
    return r["current"], r["latest"], r["level"]


def release(site: Site, version: str, files: dict[str, str]) -> None:
    site.upstream.commit(f"release {version}", files)
    site.upstream.tag(f"v{version}", annotated=True)
    assert not queue_of(site, version).exists()


def queue_of(site: Site, version: str) -> Path:
    return site.root / "patchsets" / "proj" / version


def test_a_season_of_four_releases(run_cli, season: Site, tmp_path: Path) -> None:
    site = season
    assert run_cli(*site.args("sync")).code == 0
    assert standing(run_cli, site) == ("1.0.0", "1.0.0", "easy")

    # 1.1.0: a clean carry, written by the nightly; the next standing carries from it.
    release(site, "1.1.0", {"README": "Proj, now faster.\n"})
    code, night = json_of(run_cli, site, "nightly")
    assert code == 0 and [r["status"] for r in night["rebases"]] == ["clean"]
    assert sorted(p.name for p in queue_of(site, "1.1.0").iterdir()) == [
        "0001-BLD-riscv64-flags.patch", "0002-MAINT-core-riscv64.patch"]
    assert standing(run_cli, site) == ("1.1.0", "1.1.0", "easy")

    # 1.2.0 changes the line the core patch changes: it waits for a person.
    release(site, "1.2.0", {"src/core.c": CORE.replace("return 6;", "return 6 + 0;")})
    assert run_cli(*site.args("sync")).code == 0
    worktree = tmp_path / "resolve"
    code, waiting = json_of(run_cli, site, "rebase", "proj", "--worktree", str(worktree))
    assert code == 1 and waiting["waiting_patch"] == "0002-MAINT-core-riscv64.patch"
    _, classified = json_of(run_cli, site, "classify")
    assert classified["packages"][0]["level"] == "hard"  # still from 1.1.0, conflicting
    # A resolution that still holds the markers is refused, file and line, nothing kept.
    core = worktree / "src" / "core.c"
    marked = core.read_text()
    assert "<<<<<<<" in marked
    Repo(worktree).git("add", "src/core.c")
    early = run_cli(*site.args("rebase", "proj", "--continue"))
    line = marked.splitlines().index(next(x for x in marked.splitlines()
                                          if x.startswith("<<<<<<<"))) + 1
    assert early.code == 1 and f"{core}:{line}: <<<<<<<" in early.err, early.err
    assert not queue_of(site, "1.2.0").exists()
    rr_cache = site.root / "patchsets" / "proj" / ".rr-cache"
    assert not list(rr_cache.glob("*/postimage"))
    core.write_text(CORE.replace("return 6;", "return 6 + 0 /* rv64 */;"))
    Repo(worktree).git("add", "src/core.c")
    code, done = json_of(run_cli, site, "rebase", "proj", "--continue")
    assert code == 0 and done["status"] == "clean", done
    assert "/* rv64 */" in (queue_of(site, "1.2.0") / "0002-MAINT-core-riscv64.patch").read_text()
    assert list(rr_cache.glob("*/postimage"))
    # The person's resolution is a refreshed patch: medium, until the upgrade is settled.
    assert standing(run_cli, site) == ("1.2.0", "1.2.0", "medium")
    assert run_cli(*site.args("settle", "proj", "--note", "built by hand")).code == 0
    assert standing(run_cli, site) == ("1.2.0", "1.2.0", "easy")

    # Carried again (the folder removed), the remembered resolution settles the conflict;
    # forgotten, the conflict waits for a person again.
    shutil.rmtree(queue_of(site, "1.2.0"))
    code, again = json_of(run_cli, site, "rebase", "proj")
    assert code == 0 and "remembered resolution" in again["patches"][1]["detail"]
    code, forgot = json_of(run_cli, site, "rebase", "proj", "--forget",
                           "0002-MAINT-core-riscv64.patch")
    assert code == 0 and forgot["forgotten"] == 1
    assert not list(rr_cache.glob("*/postimage"))
    shutil.rmtree(queue_of(site, "1.2.0"))
    code, conflict = json_of(run_cli, site, "rebase", "proj")
    assert code == 1 and conflict["patches"][1]["outcome"] == "conflict"
    assert not queue_of(site, "1.2.0").exists()
    assert run_cli(*site.args("rebase", "proj", "--worktree", str(worktree))).code == 1
    core.write_text(CORE.replace("return 6;", "return 6 + 0 /* rv64 */;"))
    Repo(worktree).git("add", "src/core.c")
    assert run_cli(*site.args("rebase", "proj", "--continue")).code == 0
    assert standing(run_cli, site) == ("1.2.0", "1.2.0", "medium")

    # 1.3.0: a conflict whose worktree is deleted: --continue cannot go on, --abort ends it
    # and leaves the queues as they were.
    release(site, "1.3.0", {"setup.py": "flags = ['-O2']\n"})
    assert run_cli(*site.args("sync")).code == 0
    assert run_cli(*site.args("rebase", "proj", "--worktree", str(worktree))).code == 1
    shutil.rmtree(worktree)
    stuck = run_cli(*site.args("rebase", "proj", "--continue"))
    assert stuck.code == 2 and "`mirrorctl rebase proj --abort`" in stuck.err
    before = sorted(p.name for p in (site.root / "patchsets" / "proj").iterdir())
    code, aborted = json_of(run_cli, site, "rebase", "proj", "--abort")
    assert code == 0 and aborted["aborted"] is True
    assert sorted(p.name for p in (site.root / "patchsets" / "proj").iterdir()) == before
    assert not (site.workdir / "rebase" / "proj.json").exists()
    nothing = run_cli(*site.args("rebase", "proj", "--abort"))
    assert nothing.code == 2 and "nothing to abort" in nothing.err
    assert run_cli(*site.args("rebase", "proj", "--worktree", str(worktree))).code == 1
    (worktree / "setup.py").write_text("flags = ['-O2', '-march=rv64gc']\n")
    Repo(worktree).git("add", "setup.py")
    # From inside the worktree, where no mirrors.yaml is: the rebase knows its site.
    (worktree / "src").mkdir(exist_ok=True)
    here = os.getcwd()
    os.chdir(worktree / "src")
    try:
        inside = run_cli("-q", "rebase", "proj", "--continue")
    finally:
        os.chdir(here)
    assert inside.code == 0, inside.err
    assert not (worktree / ".mirrorctl").exists()  # no second work directory made there
    assert standing(run_cli, site) == ("1.3.0", "1.3.0", "medium")

    # A downgrade is refused.
    older = run_cli(*site.args("rebase", "proj", "--onto", "1.1.0"))
    assert older.code == 2 and "older than proj's current queue 1.3.0" in older.err

    # 1.4.0: upstream took both patches; the folder still says where the package is.
    release(site, "1.4.0", {
        "setup.py": "flags = ['-O2', '-march=rv64gc']\n",
        "src/core.c": CORE.replace("return 6;", "return 6 + 0 /* rv64 */;")})
    code, night = json_of(run_cli, site, "nightly")
    assert code == 0, night["needs_human"]
    [rebased] = night["rebases"]
    assert [p["outcome"] for p in rebased["patches"]] == ["upstreamed", "upstreamed"]
    assert rebased["written"] == "nothing-to-carry"
    assert [p.name for p in queue_of(site, "1.4.0").iterdir()] == ["series"]
    accepted = {c["patch"] for c in night["report"]["accepted"]}
    assert accepted == {"0001-BLD-riscv64-flags.patch", "0002-MAINT-core-riscv64.patch"}
    assert standing(run_cli, site) == ("1.4.0", "1.4.0", "easy")
    _, report = json_of(run_cli, site, "report")
    assert report["packages"][0]["patches"] == [] and report["dropped"] == []
    assert run_cli(*site.args("validate")).code == 0
