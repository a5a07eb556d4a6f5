"""core.mergetrees.MergeTrees: the merges of a carry through one `git merge-tree --stdin`
answer as one `git merge-tree --write-tree` a merge does, and a session that cannot
go on hands over to the one-process merge without a wrong answer."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from mirrorctl.core.errors import GitError
from mirrorctl.core.git import GitRunner, GitSettings
from mirrorctl.core.mergetrees import Merged, MergeTrees
from mirrorctl.core.repository import Repository
from tests.gitrepos import Repo


def runner(path: str) -> GitRunner:
    return GitRunner(GitSettings(base_env={**os.environ, "MIRRORCTL_GIT_PATH": path}))


@pytest.fixture
def merges(tmp_path: Path, sealed_git: Path) -> tuple[Repo, list[tuple[str, str]]]:
    """A repository whose branches, each off `base`, make every kind of merge answer:
    clean, contents merged, conflicts (a path with a space and one not ASCII), a
    rename, a delete against a change."""
    repo = Repo(tmp_path / "work")
    base = repo.commit("base", {"setup.py": "a\nb\nc\nd\ne\n", "café notes.txt": "1\n",
                                "old.txt": "x\ny\nz\n", "gone.txt": "g\n"})
    sides = {
        "ours": {"setup.py": "A\nb\nc\nd\ne\n", "café notes.txt": "ours\n"},
        "theirs": {"setup.py": "a\nb\nc\nd\nE\n", "café notes.txt": "theirs\n"},
        "clean": {"new.txt": "new\n"},
        "edit-old": {"old.txt": "x\ny\nZ\n"},
    }
    for name, files in sides.items():
        repo.checkout(base)
        repo.git("checkout", "--quiet", "-b", name)
        repo.commit(name, files)
    repo.checkout(base)
    repo.git("checkout", "--quiet", "-b", "moved")
    repo.git("mv", "old.txt", "new-home.txt")
    repo.git("rm", "--quiet", "gone.txt")
    repo.git("commit", "--quiet", "-m", "moved")
    repo.checkout(base)
    repo.git("checkout", "--quiet", "-b", "edit-gone")
    repo.commit("edit-gone", {"gone.txt": "still here\n"})
    pairs = [("ours", "theirs"), ("ours", "clean"), ("moved", "edit-old"),
             ("moved", "edit-gone"), ("clean", "clean"), ("theirs", "ours"),
             ("ours", "theirs")]
    return repo, [(repo.rev(a), repo.rev(b)) for a, b in pairs]


def one_by_one(repo: Repo, pairs: list[tuple[str, str]]) -> list[Merged]:
    with MergeTrees(Repository(repo.path / ".git", runner("processes"))) as trees:
        return [trees.merge(a, b) for a, b in pairs]


def test_a_session_answers_as_a_process_a_merge_does(
        merges: tuple[Repo, list[tuple[str, str]]]) -> None:
    repo, pairs = merges
    expected = one_by_one(repo, pairs)
    assert [m.clean for m in expected] == [False, True, True, False, True, False, False]
    assert expected[0].conflicted == ("café notes.txt",)  # as it is: never quoted
    assert any("Auto-merging setup.py" in m for m in expected[0].messages)
    assert any("CONFLICT (modify/delete)" in m for m in expected[3].messages)
    started: list[list[str]] = []
    real = GitRunner._popen

    def counting(self: GitRunner, argv: list[str], *args: object, **kwargs: object) -> object:
        started.append(argv)
        return real(self, argv, *args, **kwargs)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(GitRunner, "_popen", counting)
        with MergeTrees(Repository(repo.path / ".git", runner("in-process"))) as trees:
            assert [trees.merge(a, b) for a, b in pairs] == expected
    assert len(started) == 1 and "--stdin" in started[0]


def test_a_session_that_dies_hands_over_and_answers_the_same(
        merges: tuple[Repo, list[tuple[str, str]]]) -> None:
    repo, pairs = merges
    expected = one_by_one(repo, pairs)
    with MergeTrees(Repository(repo.path / ".git", runner("in-process"))) as trees:
        answers = [trees.merge(*pairs[0])]
        assert trees._proc is not None
        os.killpg(trees._proc.pid, signal.SIGKILL)  # killed between two merges
        answers += [trees.merge(a, b) for a, b in pairs[1:]]
        assert trees._proc is None  # no session started again: one process a merge
    assert answers == expected


def test_a_merge_git_refuses_says_what_git_said(
        merges: tuple[Repo, list[tuple[str, str]]]) -> None:
    repo, pairs = merges
    for path in ("in-process", "processes"):
        with MergeTrees(Repository(repo.path / ".git", runner(path))) as trees:
            with pytest.raises(GitError) as refused:
                trees.merge(pairs[0][0], "0" * 40)
            assert "merge-tree" in str(refused.value) and refused.value.stderr.strip()
            assert trees.merge(*pairs[1]) == one_by_one(repo, pairs[1:2])[0]  # and goes on


def test_an_answer_longer_than_one_read_is_read_whole(tmp_path: Path, sealed_git: Path) -> None:
    """3,000 conflicted paths (more than one 64 KiB read of git's answer)."""
    repo = Repo(tmp_path / "work")
    names = [f"vendor/dir-{n // 100}/a-long-file-name-{n:05}.txt" for n in range(3000)]

    def side(mark: int, text: str) -> str:
        files = "".join(f"M 100644 inline {name}\ndata {len(text)}\n{text}" for name in names)
        return (f"commit refs/heads/side-{mark}\nmark :{mark}\ncommitter A <a@b> 0 +0000\n"
                f"data 1\n{mark}\nfrom :1\n{files}\n")

    base = "".join(f"M 100644 inline {name}\ndata 5\nbase\n" for name in names)
    repo.git("fast-import", "--quiet", input=(
        f"commit refs/heads/base\nmark :1\ncommitter A <a@b> 0 +0000\ndata 4\nbase\n{base}\n"
        + side(2, "ours\n") + side(3, "theirs\n")))
    pairs = [(repo.rev("side-2"), repo.rev("side-3"))] * 2
    expected = one_by_one(repo, pairs)
    assert len(expected[0].conflicted) == 3000
    with MergeTrees(Repository(repo.path / ".git", runner("in-process"))) as trees:
        assert [trees.merge(a, b) for a, b in pairs] == expected
        assert trees._proc is not None  # the session answered both
