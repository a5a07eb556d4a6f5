"""Many three-way merges of trees in one long-running `git merge-tree --stdin` process
(git 2.40 and later), or one process a merge before: what a carry of many patches asks
of git without a checkout.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

from mirrorctl.core.errors import GitError, GitTimeout
from mirrorctl.core.git import kill_group, shown
from mirrorctl.core.repository import Repository
from mirrorctl.core.turns import waiting

__all__ = ["MergeTrees", "Merged"]

log = logging.getLogger("mirrorctl.core.git")  # every git command is logged there


@dataclass(frozen=True)
class Merged:
    """One merge as `git merge-tree --write-tree -z --name-only --messages` tells it."""

    clean: bool
    tree: str
    conflicted: tuple[str, ...]  # paths, as they are (-z: never quoted)
    messages: tuple[str, ...]  # the informational messages, e.g. "Auto-merging setup.py"


class MergeTrees:
    """The merges of one repository. On the in-process path, all through one long-lived
    `git merge-tree --stdin` (git 2.39 has it): a merge is a line written and an answer
    read, not a process. Its answer's last NUL comes only with the next answer, so each
    merge is followed by a merge of a commit with itself, whose answer is known. On the
    processes path, and from the first thing the session does not expect (git gone, an
    answer out of shape, a timeout), one `git merge-tree --write-tree` a merge, whose
    failure says what went wrong. close() ends the session."""

    _ARGS = ("merge-tree", "--write-tree", "-z", "--name-only", "--messages")

    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self._proc: subprocess.Popen[bytes] | None = None
        self._usable = repo.runner.in_process
        self._buffer, self._read = b"", 0  # what git wrote, and how far it is read
        self._pending = False  # the last merge-with-itself's NUL has not come yet

    def merge(self, branch1: str, branch2: str) -> Merged:
        """Merge `branch2` into `branch1` (their merge base is git's); GitError when git
        fails rather than merges."""
        if self._usable:
            try:
                return self._in_session(branch1, branch2)
            except (OSError, ValueError, GitTimeout):
                self.close()  # whatever it was, the one-process merge tells it
                self._usable = False
        result = self.repo.git(*self._ARGS, branch1, branch2, check=False)
        if result.returncode not in (0, 1):
            raise GitError(shown(self.repo.runner.settings, [*self._ARGS, branch1, branch2]),
                           result.returncode, result.stdout, result.stderr)
        tokens = iter(result.raw_stdout.split(b"\0"))
        try:
            return self._answer(lambda: next(tokens, b""), clean=result.returncode == 0)
        except ValueError as exc:
            raise GitError(shown(self.repo.runner.settings, [*self._ARGS, branch1, branch2]),
                           result.returncode, result.stdout, str(exc)) from None

    def _in_session(self, branch1: str, branch2: str) -> Merged:
        if self._proc is None:
            runner = self.repo.runner
            log.debug("start: git merge-tree --stdin, for the merges that follow")
            # Its complaints are not read (a merge it fails is merged again in a process
            # of its own, whose stderr says why), and a pipe nobody reads would fill.
            self._proc = runner._popen(["git", *runner._config, "merge-tree", "--stdin",
                                        "--name-only", "--messages"], self.repo.git_dir,
                                       stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)
        proc = self._proc
        assert proc.stdin is not None
        if log.isEnabledFor(logging.DEBUG):
            log.debug("run: git merge-tree --write-tree %s %s (through merge-tree --stdin)",
                      branch1, branch2)
        proc.stdin.write(f"{branch1} {branch2}\n{branch2} {branch2}\n".encode())
        proc.stdin.flush()
        deadline = time.monotonic() + self.repo.runner.settings.timeout
        token = functools.partial(self._token, deadline)
        if self._pending and token() != b"":
            raise ValueError("git merge-tree --stdin: an answer out of shape")
        status = token()
        if status not in (b"0", b"1"):
            raise ValueError("git merge-tree --stdin: an answer out of shape")
        merged = self._answer(token, clean=status == b"1")  # up to its last NUL
        # The merge of branch2 with itself: clean, its tree, the messages' NUL; the
        # answer's own last NUL comes with the next answer.
        if (token(), len(token()), token()) != (b"1", len(merged.tree), b""):
            raise ValueError("git merge-tree --stdin: an answer out of shape")
        self._pending = True
        return merged

    def _answer(self, token: Callable[[], bytes], *, clean: bool) -> Merged:
        """<tree> NUL, <path> NUL ..., NUL, then (<count> NUL <path> NUL ... <type> NUL
        <message> NUL) ...: what -z writes for one merge, up to its messages' end."""
        redact = self.repo.runner.settings.redactor
        tree = token().decode()
        if not _OID.fullmatch(tree):
            raise ValueError("git merge-tree: no tree in its answer")
        conflicted = []
        while name := token():
            conflicted.append(redact(name.decode("utf-8", "replace")))
        messages = []
        while count := token():  # the session's answer ends with a NUL, the other's ends
            for _ in range(int(count)):
                token()  # a path the message is about
            token()  # its type ("Auto-merging", "CONFLICT (contents)")
            messages.append(redact(token().decode("utf-8", "replace")))
        return Merged(clean=clean, tree=tree, conflicted=tuple(conflicted),
                      messages=tuple(messages))

    def _token(self, deadline: float) -> bytes:
        """The next NUL-ended field git writes, waiting for it until `deadline`."""
        import select

        assert self._proc is not None and self._proc.stdout is not None
        out = self._proc.stdout.fileno()
        while (end := self._buffer.find(b"\0", self._read)) == -1:
            left = deadline - time.monotonic()
            if left <= 0:
                raise GitTimeout(["git", "merge-tree", "--stdin"],
                                 self.repo.runner.settings.timeout)
            with waiting():
                ready, _, _ = select.select([out], [], [], left)
            if ready:
                chunk = os.read(out, 65536)
                if not chunk:
                    raise ValueError("git merge-tree --stdin ended")
                self._buffer = self._buffer[self._read:] + chunk
                self._read = 0
        field, self._read = self._buffer[self._read:end], end + 1
        return field

    def close(self) -> None:
        if self._proc is not None:
            proc, self._proc = self._proc, None
            with contextlib.suppress(OSError):
                assert proc.stdin is not None
                proc.stdin.close()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                kill_group(proc)
            finally:
                self.repo.runner.settings.processes.discard(proc)
                if proc.stdout is not None:
                    proc.stdout.close()
        self._buffer, self._read, self._pending = b"", 0, False

    def __enter__(self) -> MergeTrees:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_OID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
