"""Patch queues on disk: order, headers, Upstream-Status and hostile patches."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirrorctl.queue.patches import check_queues, read_queue
from tests.conftest import Site
from tests.gitrepos import Repo

STATUS = "Upstream-Status: Pending"


def make_queue(repo: Repo, directory: Path, changes: list[tuple[str, dict[str, str]]]) -> Path:
    """Commit each (message, files) on top of HEAD and export them with format-patch.
    The tip's tree is left in directory/../<name>.tree for tests to compare with."""
    base = repo.head()
    for message, files in changes:
        repo.commit(message, files)
    directory.mkdir(parents=True, exist_ok=True)
    (directory.parent / f"{directory.name}.tree").write_text(repo.rev("HEAD^{tree}"))
    repo.git("format-patch", "--quiet", "--zero-commit", "--no-signature", "--no-stat",
             "--full-index", "-o", str(directory), f"{base}..HEAD")
    repo.git("reset", "--quiet", "--hard", base)
    return directory


@pytest.fixture
def queue(site: Site) -> Path:
    directory = site.root / "patchsets" / "demo" / "1.1.0"
    return make_queue(site.upstream, directory, [
        (f"BLD: add riscv64 to the wheel matrix\n\n{STATUS}", {"setup.py": "riscv64 = True\n"}),
        ("TST: skip NaN sign test on riscv64\n\nCanonical NaN.\n\n"
         "Upstream-Status: Submitted [https://github.com/numpy/numpy/pull/25280]",
         {"src/core.c": "int main(void) { return 1; }\n"}),
        ("MAINT: keep the licence files\n\nUpstream-Status: Inappropriate [riscv64 CI only]",
         {"LICENSES/bundled.txt": "MIT\n"}),
    ])


def problems_of(directory: Path) -> list[str]:
    _, found = read_queue(directory.parent.parent, directory.parent.name, directory.name)
    return [str(p).replace(str(directory) + "/", "") for p in found]


def rewrite(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


def test_a_good_queue_reads_in_file_name_order(queue: Path) -> None:
    read, found = read_queue(queue.parent.parent, "demo", "1.1.0")
    assert found == []
    assert [p.subject for p in read.patches] == [
        "BLD: add riscv64 to the wheel matrix", "TST: skip NaN sign test on riscv64",
        "MAINT: keep the licence files"]
    second = read.patches[1]
    assert (second.status.kind, second.status.argument) == (
        "Submitted", "https://github.com/numpy/numpy/pull/25280")
    assert second.status.line == 8
    assert second.files == ("src/core.c",)
    assert second.author == "Test Builder <builder@example.invalid>"
    assert second.message.startswith("TST: skip NaN sign test on riscv64\n\nCanonical NaN.")


def test_series_file_decides_the_order_and_duplicate_numbers_are_fine(queue: Path) -> None:
    for path in sorted(queue.glob("*.patch")):  # as real queues have them: all 0001
        path.rename(queue / ("0001-" + path.name.split("-", 1)[1]))
    names = sorted(p.name for p in queue.glob("*.patch"))
    read, found = read_queue(queue.parent.parent, "demo", "1.1.0")
    assert found == [] and [p.name for p in read.patches] == names
    (queue / "series").write_text(
        f"# applied in this order\n{names[2]}\n\n{names[0]}  # first\n{names[1]}\n")
    read, found = read_queue(queue.parent.parent, "demo", "1.1.0")
    assert found == [] and [p.name for p in read.patches] == [names[2], names[0], names[1]]
    (queue / "series").write_text(f"{names[2]}\n{names[0]}\n")  # one left out: never applied
    read, found = read_queue(queue.parent.parent, "demo", "1.1.0")
    assert [str(p) for p in found] == [f"{queue / 'series'}: {names[1]} is in the folder but "
                                       "not in series, so nothing applies it: list it, or "
                                       "remove it"]
    (queue / "series").write_text("".join(f"{name}\n" for name in names)
                                  + "0009-missing.patch\n")
    assert problems_of(queue) == ["series:4: 0009-missing.patch: no such patch in " + str(queue)]


@pytest.mark.parametrize(("status", "expected"), [
    ("Upstream-Status: Pending", None),
    ("Upstream-Status: To upstream", None),
    ("Upstream-Status: To upstream [after the 2.3 release]", None),
    ("Upstream-Status: Backport [https://github.com/numpy/numpy/commit/abc123]", None),
    ("Upstream-Status: Issue [https://github.com/scipy/scipy/issues/1]", None),
    ("Upstream-Status: Denied", None),
    ("Upstream-Status: Inactive-Upstream [lastcommit: 2019, lastrelease: 2018]", None),
    ("Upstream-Status: pending", None),
    ("Upstream-Status: Submitted", "Upstream-Status: Submitted needs a [url]"),
    ("Upstream-Status: Inappropriate", "Upstream-Status: Inappropriate needs a [reason]"),
    ("Upstream-Status: Maybe later", "unknown Upstream-Status 'Maybe later'; use one of"),
    ("Upstream-Status: Submited [https://github.com/numpy/numpy/pull/1]",
     "unknown Upstream-Status 'Submited [https://github.com/numpy/numpy/pull/1]'; did you "
     "mean Submitted?"),
    ("Upstream-Status: Pendng", "did you mean Pending?"),
    ("Upstream-Sttus: Pending", "no Upstream-Status: line"),
])
def test_upstream_status_values(queue: Path, status: str, expected: str | None) -> None:
    patch = sorted(queue.glob("*.patch"))[0]
    rewrite(patch, STATUS, status)
    found = problems_of(queue)
    if expected is None:
        assert found == []
    else:
        assert len(found) == 1 and expected in found[0], found
        assert found[0].startswith(patch.name + ":")


def test_status_problems_name_their_line(queue: Path) -> None:
    patch = sorted(queue.glob("*.patch"))[0]
    rewrite(patch, STATUS, "Upstream-Status: Sent upstream")
    assert problems_of(queue)[0].startswith(f"{patch.name}:6: unknown Upstream-Status")


@pytest.mark.parametrize(("path", "expected"), [
    ("../etc/passwd", "8: ../etc/passwd: path leaves the source tree (..)"),
    ("src/../../etc/passwd", "8: src/../../etc/passwd: path leaves the source tree (..)"),
    (".git/hooks/post-checkout", "8: .git/hooks/post-checkout: path inside .git; a patch may "
     "only touch the source tree"),
    ("sub/.GIT/config", "8: sub/.GIT/config: path inside .git; a patch may only touch the "
     "source tree"),
    ("/etc/passwd", "8: /etc/passwd: absolute path; a patch may only touch the source tree"),
])
def test_hostile_paths(queue: Path, path: str, expected: str) -> None:
    patch = sorted(queue.glob("*.patch"))[0]
    rewrite(patch, "setup.py", path)  # consistently, as a crafted patch would
    assert problems_of(queue) == [f"{patch.name}:{expected}"]


def test_malformed_hunk_names_its_line(queue: Path) -> None:
    patch = sorted(queue.glob("*.patch"))[0]
    rewrite(patch, "-print('build')\n", "-print('build')\nzzz not a diff line\n")
    found = problems_of(queue)
    assert len(found) == 1
    assert found[0].startswith(f"{patch.name}:14: malformed diff"), found


def test_symlink_out_of_the_tree(site: Site) -> None:
    directory = site.root / "patchsets" / "demo" / "1.1.0"
    site.upstream.path.joinpath("escape").symlink_to("../../../etc/passwd")
    site.upstream.git("add", "escape")
    make_queue(site.upstream, directory, [(f"evil link\n\n{STATUS}", {"x.txt": "x\n"})])
    found = problems_of(directory)
    assert len(found) == 1
    assert "escape: symbolic link to '../../../etc/passwd' points outside the source tree" \
        in found[0]


def test_binary_patches_need_their_data_and_full_index(site: Site) -> None:
    directory = site.root / "patchsets" / "demo" / "1.1.0"
    site.upstream.path.joinpath("logo.png").write_bytes(bytes(range(256)) * 4)
    site.upstream.git("add", "logo.png")
    make_queue(site.upstream, directory, [(f"add logo\n\n{STATUS}", {"x.txt": "x\n"})])
    patch = next(directory.glob("*.patch"))
    assert problems_of(directory) == []  # --binary --full-index: fine
    text = patch.read_text()
    full = text.split("index 0000000000000000000000000000000000000000..")[1][:40]
    rewrite(patch, f"index 0000000000000000000000000000000000000000..{full}",
            f"index 0000000..{full[:7]}")
    assert "binary patch without full index" in problems_of(directory)[0]


def test_encodings_sizes_and_missing_directories(queue: Path) -> None:
    patch = sorted(queue.glob("*.patch"))[0]
    patch.write_bytes(patch.read_bytes().replace(b"\n", b"\r\n"))
    assert "CRLF line endings" in problems_of(queue)[0]
    patch.write_bytes(b"From: \xff\xfe\n")
    assert problems_of(queue)[0] == f"{patch.name}:1: is not UTF-8 text"
    patch.write_bytes(b"x" * (11 * 1024 * 1024))
    assert "is larger than 10 MB" in problems_of(queue)[0]
    _, found = read_queue(queue.parent.parent, "demo", "9.9.9")
    assert [p.message for p in found] == ["no such patch queue directory"]


def test_validate_checks_every_queue(run_cli, site: Site, queue: Path) -> None:
    ok = run_cli(*site.args("validate"))
    assert ok.code == 0, ok.out
    assert "OK, 1 package, 3 patches in the queues" in ok.out
    (queue.parent.parent / "nosuchpackage" / "1.0").mkdir(parents=True)
    rewrite(sorted(queue.glob("*.patch"))[1], "Submitted [https://github.com/numpy/numpy/pull/"
            "25280]", "Submitted")
    bad = run_cli(*site.args("validate"))
    assert bad.code == 2
    lines = bad.out.splitlines()
    assert any(line.endswith("0002-TST-skip-NaN-sign-test-on-riscv64.patch:8: "
                             "Upstream-Status: Submitted needs a [url]") for line in lines)
    assert any("nosuchpackage: not a package in mirrors.yaml" in line for line in lines)


def test_check_queues_ignores_rerere_data(queue: Path) -> None:
    (queue.parent / ".rr-cache" / "abc").mkdir(parents=True)
    count, found = check_queues(queue.parent.parent, ["demo"])
    assert (count, found) == (3, [])
