"""The one exception hierarchy of mirrorctl; each class carries its exit status.

The CLI catches MirrorctlError once, prints its message and exits with its code:
2 for bad usage or configuration, 1 for an operational failure, 3 (set by the CLI)
for anything unexpected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "EXIT_FAILURE",
    "EXIT_INTERNAL",
    "EXIT_OK",
    "EXIT_USAGE",
    "ConfigError",
    "ConfigProblem",
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


class LockHeldError(MirrorctlError):
    """Another mirrorctl run holds the work directory."""


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
