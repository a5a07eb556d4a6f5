"""The only way mirrorctl runs git.

GitRunner runs git with a sealed environment (no system or user config, no
hooks, only the allowed transports, no prompts), a timeout that kills the whole
process group, and errors whose every word has been redacted. Through it,
core.repository wraps one git directory (mirrorctl works on many at once) and
core.mergetrees makes many merges in one process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO

from mirrorctl.core.errors import GitError, GitTimeout, UsageError
from mirrorctl.core.redact import Redactor
from mirrorctl.core.turns import waiting

__all__ = [
    "GIT_PATHS",
    "GitRunner",
    "GitSettings",
    "RunningGit",
    "is_auth_failure",
    "is_transient",
    "kill_group",
    "parse_ls_remote",
    "parse_ls_remote_head",
    "parse_ref_lines",
    "shown",
]

log = logging.getLogger("mirrorctl.core.git")

# How a repository's commits are written and its refs read: in git's formats here
# (core/objects.py), or each by a git process (the reference path, and 0.1's).
GIT_PATHS = ("in-process", "processes")

# Settings every git command gets. Hooks off (a cache is ours, but a hostile
# upstream must never get code run), no automatic gc in the middle of a sync,
# protocol v2 so ls-remote filters refs on the server, and a stalled HTTP
# transfer counts as failed after a minute below 1 kB/s.
_BASE_CONFIG = (
    "core.hooksPath=/dev/null",
    "protocol.version=2",
    "gc.auto=0",
    "maintenance.auto=false",
    "http.lowSpeedLimit=1000",
    "http.lowSpeedTime=60",
    "advice.detachedHead=false",
)
# The user's own SSH choice is a credential source, so it is kept; every other
# GIT_* variable is dropped, as pre-commit's no_git_env does.
_KEPT_GIT_VARS = ("GIT_SSH", "GIT_SSH_COMMAND", "GIT_SSH_VARIANT")
_DEFAULT_SSH = "ssh -o BatchMode=yes -o ConnectTimeout=30"
# The token helper reads the token from the environment at run time, so the
# token never appears in argv (visible in ps) or in any URL. The variable names
# and user names are mirrorctl's own constants, never user input.
_TOKEN_HELPER = (
    '!f() {{ test "$1" = get || exit 0; '
    'echo "username={user}"; '
    'echo "password=${variable}"; }}; f'
)
# Forge hosts whose fork pushes may use the forge tokens: (host, token variable, user).
FORGE_PUSH_TOKENS = (("github.com", "MIRRORCTL_GITHUB_TOKEN", "x-access-token"),
                     ("gitlab", "MIRRORCTL_GITLAB_TOKEN", "oauth2"))

_AUTH_MARKERS = (
    "authentication failed",
    "could not read username",
    "could not read password",
    "terminal prompts disabled",
    "returned error: 401",
    "returned error: 403",
    "http basic: access denied",
    "permission denied",
    "repository not found",
    "does not appear to be a git repository",
    "not allowed",  # transport refused by GIT_ALLOW_PROTOCOL
)
_TRANSIENT_MARKERS = (
    "connection reset",
    "connection refused",
    "connection timed out",
    "operation timed out",
    "timed out after",
    "failed to connect",
    "could not resolve host",
    "temporary failure in name resolution",
    "early eof",
    "unexpected disconnect",
    "the remote end hung up",
    "rpc failed",
    "transfer closed",
    "empty reply from server",
    "returned error: 429",
    "returned error: 500",
    "returned error: 502",
    "returned error: 503",
    "returned error: 504",
    "http/2 stream",
    "gnutls_handshake",
    "ssl_read",
    "broken pipe",
    "couldn't find remote ref",  # deleted upstream between our ls-remote and the fetch
)


# What no retry mends, whatever else the message says (a corrupt remote hangs up too).
_PERMANENT_MARKERS = (
    "possible repository corruption",
    "corrupt",
    "bad object",
    "did not send all necessary objects",
    "unable to read tree",
)


def is_auth_failure(error: GitError) -> bool:
    text = error.stderr.lower()
    return any(marker in text for marker in _AUTH_MARKERS)


def is_transient(error: Exception) -> bool:
    """Worth retrying: a network fault or overload, never an authentication failure, a
    repository that is not there, or one that is corrupt (git hangs up then too)."""
    if not isinstance(error, GitError) or is_auth_failure(error):
        return False
    if isinstance(error, GitTimeout):
        return True
    text = error.stderr.lower()
    if any(marker in text for marker in _PERMANENT_MARKERS):
        return False
    return any(marker in text for marker in _TRANSIENT_MARKERS)


class RunningProcesses:
    """The git processes in flight, so that Ctrl-C can end them all at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._procs: set[subprocess.Popen[bytes]] = set()

    def add(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._procs.add(proc)

    def discard(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._procs.discard(proc)

    def kill_all(self) -> None:
        with self._lock:
            procs = list(self._procs)
        for proc in procs:
            kill_group(proc, wait=False)


@dataclass(frozen=True, kw_only=True)
class GitSettings:
    """How git runs; resolved by the CLI, never read from the environment here."""

    base_env: Mapping[str, str]
    redactor: Redactor = field(default_factory=Redactor)
    timeout: float = 600.0
    allowed_protocols: tuple[str, ...] = ("https", "ssh")
    credential_helper: str | None = None
    # URL prefixes (scheme://host) for which MIRRORCTL_MIRROR_TOKEN is offered.
    token_urls: tuple[str, ...] = ()
    # (URL prefix, token variable, user name) offered for pushes to forks.
    push_tokens: tuple[tuple[str, str, str], ...] = ()
    # Handed to every git child: the work-directory lock's descriptor, so that the
    # lock outlives a killed mirrorctl until its orphaned git processes are gone.
    inherit_fds: tuple[int, ...] = ()
    processes: RunningProcesses = field(default_factory=RunningProcesses, compare=False)


@dataclass(frozen=True)
class Completed:
    returncode: int
    stdout: str
    stderr: str
    raw_stdout: bytes = b""  # unredacted bytes, for object contents that are never printed


class GitRunner:
    def __init__(self, settings: GitSettings) -> None:
        self.settings = settings
        self._env = self._sealed_env(settings)
        self._config = self._config_args(settings)
        # Commits written and refs read in git's formats without a process (objects.py),
        # unless MIRRORCTL_GIT_PATH=processes sends every one through git.
        path = settings.base_env.get("MIRRORCTL_GIT_PATH") or "in-process"
        if path not in GIT_PATHS:
            raise UsageError(f"MIRRORCTL_GIT_PATH={path}: it is one of "
                             f"{', '.join(GIT_PATHS)}")
        self.in_process = path == "in-process"

    def with_options(self, *, timeout: float, allowed_protocols: Sequence[str],
                     token_urls: Sequence[str] = (),
                     push_tokens: Sequence[tuple[str, str, str]] = ()) -> GitRunner:
        return GitRunner(replace(self.settings, timeout=timeout,
                                 allowed_protocols=tuple(allowed_protocols),
                                 token_urls=tuple(token_urls), push_tokens=tuple(push_tokens)))

    @staticmethod
    def _sealed_env(settings: GitSettings) -> dict[str, str]:
        env = {k: v for k, v in settings.base_env.items()
               if not k.startswith("GIT_") and k != "SSH_ASKPASS"}
        env.update({k: settings.base_env[k] for k in _KEPT_GIT_VARS if k in settings.base_env})
        env.setdefault("GIT_SSH_COMMAND", _DEFAULT_SSH)
        env.update(
            GIT_CONFIG_NOSYSTEM="1",
            GIT_CONFIG_GLOBAL=os.devnull,
            GIT_TERMINAL_PROMPT="0",
            GIT_ALLOW_PROTOCOL=":".join(settings.allowed_protocols),
            LC_ALL="C",
            LANGUAGE="C",
        )
        return env

    @staticmethod
    def _config_args(settings: GitSettings) -> list[str]:
        args: list[str] = []
        for item in _BASE_CONFIG:
            args += ["-c", item]
        if settings.credential_helper:
            args += ["-c", f"credential.helper={settings.credential_helper}"]
        if settings.base_env.get("MIRRORCTL_MIRROR_TOKEN"):
            helper = _TOKEN_HELPER.format(user="${MIRRORCTL_MIRROR_USER:-oauth2}",
                                          variable="MIRRORCTL_MIRROR_TOKEN")
            for url in settings.token_urls:
                args += ["-c", f"credential.{url}.helper={helper}"]
        for url, variable, user in settings.push_tokens:
            if settings.base_env.get(variable):
                helper = _TOKEN_HELPER.format(user=user, variable=variable)
                args += ["-c", f"credential.{url}.helper={helper}"]
        return args

    def start(self, args: Sequence[str], *, git_dir: Path | None = None,
              input: str | None = None, env: Mapping[str, str] | None = None) -> RunningGit:
        """Start git without waiting for it, so that independent commands overlap."""
        prefix = [f"--git-dir={git_dir}"] if git_dir is not None else []
        argv = ["git", *prefix, *self._config, *args]
        if log.isEnabledFor(logging.DEBUG):
            log.debug("run: %s", " ".join(shown(self.settings, args)))
        # A session of its own, so a timeout can kill git with its helpers (ssh,
        # remote-https, upload-pack) in one signal.
        proc = self._popen(argv, git_dir, env=env,
                           stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL)
        return RunningGit(proc, args, self.settings, input)

    def _popen(self, argv: Sequence[str], git_dir: Path | None, *, stdin: int | IO[bytes],
               stderr: int | IO[bytes] = subprocess.PIPE,
               env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            argv, env={**self._env, **env} if env else self._env,
            # In the repository when there is one: the current directory may be gone (a
            # rebase's worktree that --continue, started inside it, removes).
            cwd=git_dir if git_dir is not None and git_dir.is_absolute() else None,
            stdin=stdin, stdout=subprocess.PIPE, stderr=stderr, start_new_session=True,
            pass_fds=self.settings.inherit_fds,
        )
        self.settings.processes.add(proc)
        return proc

    def run(self, args: Sequence[str], *, git_dir: Path | None = None, input: str | None = None,
            check: bool = True, env: Mapping[str, str] | None = None) -> Completed:
        return self.start(args, git_dir=git_dir, input=input, env=env).wait(check=check)

    def start_ls_remote(self, url: str, *, head: bool = False) -> RunningGit:
        """Branches and tags; with `head`, also what the remote's HEAD names (its
        default branch), in the same call (parse_ls_remote_head reads it)."""
        if head:
            return self.start(["ls-remote", "--symref", "--", url, "HEAD", "refs/heads/*",
                               "refs/tags/*"])
        return self.start(["ls-remote", "--heads", "--tags", "--refs", "--", url])

    def ls_remote(self, url: str) -> dict[str, str]:
        """Branches and tags of a remote, as {full ref name: object id}, peeled tags left out."""
        return parse_ls_remote(self.start_ls_remote(url).wait().stdout)


def parse_ref_lines(text: str, *, sep: str, sha_first: bool) -> dict[str, str]:
    refs = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        first, _, second = line.partition(sep)
        sha, ref = (first, second) if sha_first else (second, first)
        refs[ref.strip()] = sha.strip()
    return refs


def parse_ls_remote(text: str) -> dict[str, str]:
    return parse_ref_lines(text, sep="\t", sha_first=True)


def parse_ls_remote_head(text: str) -> tuple[dict[str, str], str | None]:
    """What `start_ls_remote(url, head=True)` printed: (branches and tags, peeled tags
    left out; the branch HEAD names, None when the remote names none)."""
    refs, head = {}, None
    for line in text.splitlines():
        first, _, ref = line.partition("\t")
        if first.startswith("ref: ") and ref == "HEAD":
            head = first[5:].strip().removeprefix("refs/heads/") or None
        elif ref.startswith(("refs/heads/", "refs/tags/")) and not ref.endswith("^{}"):
            refs[ref] = first.strip()
    return refs, head


class RunningGit:
    """A git command in flight; wait() collects it, abandon() kills it if still running."""

    def __init__(self, proc: subprocess.Popen[bytes], args: Sequence[str],
                 settings: GitSettings, input: str | None) -> None:
        self._proc = proc
        self._args = args
        self._settings = settings
        self._input = input.encode() if input is not None else None
        self._deadline = time.monotonic() + settings.timeout

    def wait(self, *, check: bool = True) -> Completed:
        proc, settings = self._proc, self._settings
        try:
            with waiting():  # another thread's Python runs meanwhile (core.turns)
                out, err = proc.communicate(
                    self._input, timeout=max(0.0, self._deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            kill_group(proc)
            raise GitTimeout(shown(settings, self._args), settings.timeout) from None
        except BaseException:
            kill_group(proc)
            raise
        finally:
            settings.processes.discard(proc)
        redact = settings.redactor
        result = Completed(proc.returncode, redact(out.decode("utf-8", "replace")),
                           redact(err.decode("utf-8", "replace")), out)
        if check and result.returncode != 0:
            raise GitError(shown(settings, self._args), result.returncode, result.stdout,
                           result.stderr)
        return result

    def abandon(self) -> None:
        if self._proc.poll() is None:
            kill_group(self._proc)
        self._settings.processes.discard(self._proc)


def shown(settings: GitSettings, args: Sequence[str]) -> list[str]:
    """A command as it may be shown: redacted (made only when it is shown)."""
    return [settings.redactor(a) for a in ("git", *args)]


def kill_group(proc: subprocess.Popen[bytes], *, wait: bool = True) -> None:
    # git spawns helpers (remote-https, ssh, upload-pack): kill them all.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    if wait:
        proc.communicate()


