"""The one exception hierarchy of mirrorctl; each class carries its exit status.

The CLI catches MirrorctlError once, prints its message and exits with its code:
2 for bad usage or configuration, 1 for an operational failure, 75 when another run
holds the work directory, 3 (set by the CLI) for anything unexpected.
"""

from __future__ import annotations

import errno
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "EXIT_FAILURE",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_LOCKED",
    "EXIT_OK",
    "EXIT_TERMINATED",
    "EXIT_USAGE",
    "ConfigError",
    "ConfigProblem",
    "FileSystemError",
    "GitError",
    "GitTimeout",
    "LockHeldError",
    "MirrorctlError",
    "UsageError",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
# Another run holds the work directory: try again later (sysexits' EX_TEMPFAIL), told apart
# from 1 ("a person must look") by a wrapper that retries. It was 1 before issue 31.
EXIT_LOCKED = 75
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
EXIT_TERMINATED = 143  # SIGTERM (128 + 15)


class MirrorctlError(Exception):
    """A failure mirrorctl understands; its message is advice for the user."""

    exit_code = EXIT_FAILURE


class UsageError(MirrorctlError):
    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class ConfigProblem:
    """One problem in a configuration file, located as precisely as we can."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        prefix = f"{self.path}: " if self.path else ""
        return f"{where}: {prefix}{self.message}"


class ConfigError(MirrorctlError):
    exit_code = EXIT_USAGE

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


# What to do when the file system refuses a write, by errno.
_FS_ADVICE = {
    errno.ENOSPC: "free space on that file system, or write elsewhere",
    errno.EDQUOT: "the disk quota is spent: free space, or write elsewhere",
    errno.EROFS: "that file system is mounted read-only: write elsewhere (--workdir, -o, "
                 "--out, `patchsets:` in mirrors.yaml)",
    errno.EACCES: "mirrorctl may not write there: fix the permissions, or write elsewhere",
    errno.EPERM: "mirrorctl may not write there: fix the permissions, or write elsewhere",
    errno.ENOENT: "a folder on that path does not exist: create it, or write elsewhere",
    errno.ENOTDIR: "a part of that path is a file, not a folder",
    errno.EISDIR: "that path is a folder: name a file",
}


class FileSystemError(MirrorctlError):
    """The file system refused to read or write a file: full, read-only, not allowed,
    missing. One line with the path and what to do; exit 1 (2 when the path was an
    argument that cannot work, such as a folder given as a file)."""

    def __init__(self, error: OSError, *, path: object = None) -> None:
        self.errno = error.errno
        where = path if path is not None else error.filename
        if error.errno in (errno.EISDIR, errno.ENOTDIR):
            self.exit_code = EXIT_USAGE
        advice = _FS_ADVICE.get(error.errno or 0, "")
        super().__init__((f"{where}: " if where is not None else "")
                         + f"{error.strerror or error}" + (f"; {advice}" if advice else ""))

    @staticmethod
    def is_file_system(error: OSError) -> bool:
        """An error of the file system (not of a socket or a bug)."""
        return error.filename is not None or error.errno in _FS_ADVICE


class LockHeldError(MirrorctlError):
    """Another mirrorctl run holds the work directory."""

    exit_code = EXIT_LOCKED


class GitError(MirrorctlError):
    """A git command failed. Everything in it has already been redacted."""

    def __init__(self, argv: Sequence[str], status: int, stdout: str, stderr: str) -> None:
        self.argv = tuple(argv)
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
        super().__init__(self._describe())

    def _describe(self) -> str:
        lines = [f"git failed (exit {self.status}): {' '.join(self.argv)}"]
        if self.stderr.strip():
            lines.append(self.stderr.strip())
        return "\n".join(lines)

    @property
    def summary(self) -> str:
        """The most telling line of git's complaint, for one-line reports."""
        for line in reversed(self.stderr.strip().splitlines()):
            line = line.strip()
            if line.startswith(("fatal:", "error:")) or "error" in line.lower():
                return line
        lines = self.stderr.strip().splitlines()
        return lines[-1].strip() if lines else f"git exited with status {self.status}"


class GitTimeout(GitError):
    def __init__(self, argv: Sequence[str], seconds: float) -> None:
        self.seconds = seconds
        super().__init__(argv, -9, "", f"fatal: timed out after {seconds:g}s and was killed "
                                       "(a slow server needs a larger `timeout:` in mirrors.yaml)")
