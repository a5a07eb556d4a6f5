"""Every queue the builders' CI applies, mirrorctl reads (issue 13): whatever `git apply`
accepts and breaks no documented rule (Upstream-Status, paths, sizes) validates and
applies, to the same tree. Each variant is checked against `git apply --check` on the
same tree first, so the corpus cannot drift from what git does."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Site
from tests.gitrepos import Repo

# Each case on both ways to git: the same outcomes, the same messages (issue 24).
pytestmark = pytest.mark.usefixtures("both_git_paths")

STATUS = "Upstream-Status: Submitted [https://github.com/up/proj/pull/7]"


def format_patch(repo: Repo, *options: str) -> str:
    """One commit on v1.1.0 as `git format-patch` writes it with these options."""
    repo.git("checkout", "--quiet", "--detach", "v1.1.0")
    repo.commit(f"BLD: riscv64 flags\n\nWhy it is needed.\n\n{STATUS}\n"
                "Signed-off-by: Test Builder <builder@example.invalid>",
                {"setup.py": "print('build')\nprint('riscv64')\n"})
    text = repo.git("format-patch", "--stdout", *options, "-1", "HEAD") + "\n"
    repo.git("checkout", "--quiet", "main")
    return text


def plain_diff(repo: Repo, *, git_header: bool) -> str:
    repo.git("checkout", "--quiet", "--detach", "v1.1.0")
    (repo.path / "setup.py").write_text("print('build')\nprint('riscv64')\n")
    diff = repo.git("diff") + "\n"
    repo.git("checkout", "--quiet", "--", "setup.py")
    repo.git("checkout", "--quiet", "main")
    if not git_header:  # as `diff -u` writes it: no "diff --git" and no index line
        diff = "".join(line + "\n" for line in diff.splitlines()
                       if not line.startswith(("diff --git", "index ")))
    return diff


def variants(repo: Repo) -> dict[str, str]:
    default = format_patch(repo)  # numbered subject, diffstat, signature
    return {
        "format-patch-default": default,
        "format-patch-no-signature": format_patch(repo, "--no-signature"),
        "format-patch-numbered": format_patch(repo, "--numbered", "--zero-commit"),
        # Their torch 2.13.0+cpu queue: the separator lost its trailing space.
        "signature-without-its-space": default.replace("\n-- \n", "\n--\n"),
        "signature-of-two-lines": default.replace("\n-- \n", "\n-- \nA Builder\n"),
        "hand-edited-trailers": default.replace(
            f"{STATUS}\nSigned-off-by: Test Builder <builder@example.invalid>",
            f"Signed-off-by: Test Builder <builder@example.invalid>\n\n\n{STATUS}"),
        "no-subject": "\n".join(line for line in default.splitlines()
                                if not line.startswith("Subject: ")) + "\n",
        "git-diff-with-a-description": f"Why riscv64 needs it.\n\n{STATUS}\n\n"
                                       + plain_diff(repo, git_header=True),
        "diff-u-with-a-description": f"{STATUS}\n\n" + plain_diff(repo, git_header=False),
    }


def git_apply_check(site: Site, patch: Path) -> bool:
    work = site.root / "checkout"
    if not work.exists():
        subprocess.run(["git", "clone", "--quiet", "--branch", "v1.1.0",
                        str(site.upstream.path), str(work)], check=True, capture_output=True)
    return subprocess.run(["git", "apply", "--check", str(patch)], cwd=work,
                          capture_output=True).returncode == 0


@pytest.mark.parametrize("variant", ["format-patch-default", "format-patch-no-signature",
                                     "format-patch-numbered", "signature-without-its-space",
                                     "signature-of-two-lines", "hand-edited-trailers",
                                     "no-subject", "git-diff-with-a-description",
                                     "diff-u-with-a-description"])
def test_what_git_apply_takes_validates_and_applies(run_cli, site: Site, variant: str) -> None:
    queue = site.root / "patchsets" / "demo" / "1.1.0"
    queue.mkdir(parents=True)
    text = variants(site.upstream)[variant]
    # Several files may share a number: both are 0001, they apply in file-name order.
    (queue / "0001-BLD-riscv64-flags.patch").write_text(text)
    (queue / "0001-DOC-readme.patch").write_text(
        f"{STATUS}\n\n--- a/README.md\n+++ b/README.md\n@@ -1 +1,2 @@\n hello\n+riscv64\n")
    for patch in sorted(queue.glob("*.patch")):
        assert git_apply_check(site, patch), f"{variant}: git apply refuses {patch.name}"
    result = run_cli(*site.args("validate"))
    assert result.code == 0, result.out
    assert run_cli(*site.args("sync")).code == 0
    applied = run_cli(*site.args("patches", "apply", "demo", "--format", "json"))
    assert applied.code == 0, applied.err
    first = json.loads(applied.out)["commit"]
    # The branch holds the tree git apply makes of the same files.
    work = site.root / "checkout"
    for patch in sorted(queue.glob("*.patch")):
        subprocess.run(["git", "apply", str(patch)], cwd=work, check=True)
    subprocess.run(["git", "add", "-A"], cwd=work, check=True)
    expected = subprocess.run(["git", "write-tree"], cwd=work, capture_output=True, text=True,
                              check=True).stdout.strip()
    cache = Repo(site.workdir / "cache" / "demo.git", bare=True)
    assert cache.rev(f"{first}^{{tree}}") == expected
    # The same queue applied again gives the same commits (a plain diff has no date).
    again = json.loads(run_cli(*site.args("patches", "apply", "demo", "--format", "json")).out)
    assert (again["commit"], again["previous"]) == (first, first)


def test_what_git_apply_takes_but_a_rule_forbids_is_refused(run_cli, site: Site) -> None:
    queue = site.root / "patchsets" / "demo" / "1.1.0"
    queue.mkdir(parents=True)
    no_status = plain_diff(site.upstream, git_header=True)
    (queue / "0001-no-status.patch").write_text("Why.\n\n" + no_status)
    assert git_apply_check(site, queue / "0001-no-status.patch")
    result = run_cli(*site.args("validate"))
    assert result.code == 2 and "no Upstream-Status: line" in result.out


def test_a_bare_separator_hides_no_change(run_cli, site: Site) -> None:
    """A "--" line is a signature only when nothing diff-like follows it: a change hidden
    after it is still a line outside any hunk, which git apply would ignore."""
    queue = site.root / "patchsets" / "demo" / "1.1.0"
    queue.mkdir(parents=True)
    hidden = variants(site.upstream)["format-patch-default"].replace(
        "\n-- \n", "\n--\n+print('never applied')\n")
    (queue / "0001-BLD-riscv64-flags.patch").write_text(hidden)
    result = run_cli(*site.args("validate"))
    assert result.code == 2 and "a line outside any hunk" in result.out
