"""The only module that runs git.

GitRunner runs git with a sealed environment (no system or user config, no
hooks, only the allowed transports, no prompts), a timeout that kills the whole
process group, and errors whose every word has been redacted. Repository wraps
one git directory; mirrorctl works on many at once.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Literal

from mirrorctl.core.errors import FileSystemError, GitError, GitTimeout, UsageError
from mirrorctl.core.files import atomic_write_text
from mirrorctl.core.objects import commit_data, files_refs, git_date, plain_ident, write_loose
from mirrorctl.core.redact import Redactor
from mirrorctl.core.turns import waiting

__all__ = [
    "GIT_PATHS",
    "GitRunner",
    "GitSettings",
    "LeasedUpdate",
    "MergeTrees",
    "Merged",
    "PushedRef",
    "Repository",
    "RunningGit",
    "is_auth_failure",
    "is_transient",
    "parse_ls_remote",
    "parse_ls_remote_head",
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
            _kill_group(proc, wait=False)


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
            log.debug("run: %s", " ".join(_shown(self.settings, args)))
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


def parse_ls_remote(text: str) -> dict[str, str]:
    return _parse_ref_lines(text, sep="\t", sha_first=True)


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
            _kill_group(proc)
            raise GitTimeout(_shown(settings, self._args), settings.timeout) from None
        except BaseException:
            _kill_group(proc)
            raise
        finally:
            settings.processes.discard(proc)
        redact = settings.redactor
        result = Completed(proc.returncode, redact(out.decode("utf-8", "replace")),
                           redact(err.decode("utf-8", "replace")), out)
        if check and result.returncode != 0:
            raise GitError(_shown(settings, self._args), result.returncode, result.stdout,
                           result.stderr)
        return result

    def abandon(self) -> None:
        if self._proc.poll() is None:
            _kill_group(self._proc)
        self._settings.processes.discard(self._proc)


def _shown(settings: GitSettings, args: Sequence[str]) -> list[str]:
    """A command as it may be shown: redacted (made only when it is shown)."""
    return [settings.redactor(a) for a in ("git", *args)]


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
            raise GitError(_shown(self.repo.runner.settings, [*self._ARGS, branch1, branch2]),
                           result.returncode, result.stdout, result.stderr)
        tokens = iter(result.raw_stdout.split(b"\0"))
        try:
            return self._answer(lambda: next(tokens, b""), clean=result.returncode == 0)
        except ValueError as exc:
            raise GitError(_shown(self.repo.runner.settings, [*self._ARGS, branch1, branch2]),
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
                _kill_group(proc)
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


def _kill_group(proc: subprocess.Popen[bytes], *, wait: bool = True) -> None:
    # git spawns helpers (remote-https, ssh, upload-pack): kill them all.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    if wait:
        proc.communicate()


def _parse_ref_lines(text: str, *, sep: str, sha_first: bool) -> dict[str, str]:
    refs = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        first, _, second = line.partition(sep)
        sha, ref = (first, second) if sha_first else (second, first)
        refs[ref.strip()] = sha.strip()
    return refs


@dataclass(frozen=True, kw_only=True)
class LeasedUpdate:
    """Set `ref` in a remote to `new` (None deletes it) only if it still holds `expected`."""

    ref: str
    expected: str | None
    new: str | None


@dataclass(frozen=True, kw_only=True)
class PushedRef:
    ref: str
    status: Literal["ok", "rejected"]
    detail: str


_PUSH_BATCH = 500  # refs a push: keeps argv well under ARG_MAX on the first sync of a big repo


class Repository:
    """One git directory (bare, for caches), run through a GitRunner."""

    def __init__(self, git_dir: Path, runner: GitRunner) -> None:
        self.git_dir = git_dir
        self.runner = runner
        self._tags: dict[str, str | None] | None = None  # read_tags(): tag -> commit
        # read_tags(): every branch and tag as read, {ref: object id} (None: not read).
        self.read_refs: dict[str, str] | None = None
        self._trees: dict[str, str] = {}  # commit -> tree, as they are learnt
        self._unkept: dict[str, tuple[str, str] | None] | None = None  # peeled, not kept yet

    def read_tags(self, *, keep: bool = True) -> None:
        """Read every tag, the commit it names and that commit's tree; tag_commit,
        tag_tree, tag_names and tree_of answer from it until this repository object is
        dropped. Only for work that moves no tag (grading, reporting). The refs are read
        from git's files ref store without a process where it is plain, and what each tag
        object peels to is kept beside the repository (an object never changes): a report
        of 1,000 packages starts git only for tags it has not seen. Else one
        `for-each-ref`. `keep=False`: what was peeled is kept only by keep_tags() (work
        that may yet refuse its input writes nothing)."""
        both = files_refs(self.git_dir, ("refs/heads/", "refs/tags/")) \
            if self.runner.in_process else None
        if both is None:
            both = self.refs("refs/heads", "refs/tags")
        self.read_refs = both
        refs = {ref: oid for ref, oid in both.items() if ref.startswith("refs/tags/")}
        peeled = self._peeled(set(refs.values()), keep=keep)
        self._tags = {}
        for ref, oid in refs.items():
            commit, tree = peeled.get(oid) or (None, None)
            self._tags[ref.removeprefix("refs/tags/")] = commit
            if commit is not None and tree is not None:
                self._trees[commit] = tree

    def keep_tags(self) -> None:
        """Keep what read_tags(keep=False) peeled that was not kept yet."""
        if self._unkept is not None:
            kept, self._unkept = self._unkept, None
            with contextlib.suppress(FileSystemError):  # read-only: asked again next time
                atomic_write_text(self.git_dir / "mirrorctl" / "peeled.json",
                                  json.dumps(kept, sort_keys=True))

    def _peeled(self, oids: set[str], *, keep: bool) -> dict[str, tuple[str, str] | None]:
        """{object: (the commit it peels to, its tree), or None (a tag of a tree or a
        blob)}: kept in mirrorctl/peeled.json, the objects not kept yet asked of one
        `cat-file --batch-check`."""
        kept_file = self.git_dir / "mirrorctl" / "peeled.json"
        kept: dict[str, tuple[str, str] | None] = {}
        if self.runner.in_process:
            with contextlib.suppress(OSError, ValueError, TypeError):
                kept = {oid: ((str(pair[0]), str(pair[1])) if pair else None)
                        for oid, pair in json.loads(kept_file.read_text("utf-8")).items()
                        if pair is None or len(pair) == 2}
        unknown = sorted(oids - kept.keys())
        if unknown:
            out = self.git("cat-file", "--batch-check=%(objectname)", input="".join(
                f"{oid}^{{commit}}\n{oid}^{{tree}}\n" for oid in unknown)).stdout.split("\n")
            for number, oid in enumerate(unknown):
                commit, tree = out[2 * number], out[2 * number + 1]
                kept[oid] = ((commit, tree) if not commit.endswith(" missing")
                             and not tree.endswith(" missing") else None)
            if self.runner.in_process:
                self._unkept = kept
                if keep:
                    self.keep_tags()
        return kept

    def tag_names(self) -> list[str]:
        if self._tags is not None:
            return list(self._tags)
        return [ref.removeprefix("refs/tags/") for ref in self.refs("refs/tags")]

    def tag_commit(self, tag: str) -> str | None:
        """The commit tag `tag` names, or None (no such tag, or not a commit's)."""
        if self._tags is not None:
            return self._tags.get(tag)
        return self.resolve(f"refs/tags/{tag}^{{commit}}")

    def tag_tree(self, tag: str) -> str | None:
        """The tree of the commit tag `tag` names, or None."""
        commit = self.tag_commit(tag)
        if commit is not None and commit in self._trees:
            return self._trees[commit]
        return self.resolve(f"refs/tags/{tag}^{{tree}}")

    def tree_of(self, commit: str) -> str:
        """The tree of `commit` (a tag's, known from read_tags, is not asked again)."""
        if commit not in self._trees:
            self._trees[commit] = self.git("rev-parse", "--verify", "--end-of-options",
                                           f"{commit}^{{tree}}").stdout.strip()
        return self._trees[commit]

    def git(self, *args: str, input: str | None = None, check: bool = True,
            env: Mapping[str, str] | None = None) -> Completed:
        return self.runner.run(args, git_dir=self.git_dir, input=input, check=check, env=env)

    @classmethod
    def open_or_init_bare(cls, git_dir: Path, runner: GitRunner) -> Repository:
        repo = cls(git_dir, runner)
        if not (git_dir / "HEAD").is_file():
            git_dir.parent.mkdir(parents=True, exist_ok=True)
            runner.run(["init", "--bare", "--quiet", str(git_dir)])
        return repo

    def remove_stale_locks(self) -> list[Path]:
        """Delete *.lock files a killed git left behind. Safe only under mirrorctl's work-
        directory lock, which every git child holds too (GitSettings.inherit_fds): when we
        have it, no git that could own these files is still running."""
        candidates = [*self.git_dir.glob("*.lock"), *(self.git_dir / "refs").rglob("*.lock")]
        for path in candidates:
            path.unlink(missing_ok=True)
        return candidates

    def has_refs(self) -> bool:
        """Whether the repository holds any branch or tag, read from git's files ref store
        (loose refs under refs/, packed-refs) without starting git: a sync asks this of
        every cache, every night. Another ref store asks git."""
        if (self.git_dir / "reftable").exists():
            return bool(self.git("for-each-ref", "--count=1", "refs/heads",
                                 "refs/tags").stdout.strip())
        packed = self.git_dir / "packed-refs"
        with contextlib.suppress(OSError):
            if any(line and line[0] not in "#^" for line in
                   packed.read_text(encoding="utf-8", errors="replace").splitlines()):
                return True
        for kind in ("heads", "tags"):
            for _, _, files in os.walk(self.git_dir / "refs" / kind):
                if any(not name.endswith(".lock") for name in files):
                    return True
        return False

    def refs(self, *patterns: str) -> dict[str, str]:
        out = self.git("for-each-ref", "--format=%(objectname) %(refname)",
                       *(patterns or ("refs/heads", "refs/tags"))).stdout
        return _parse_ref_lines(out, sep=" ", sha_first=True)

    def pack_refs(self) -> None:
        """Every loose ref into packed-refs: one file to read instead of one a ref."""
        self.git("pack-refs", "--all")

    def fetch(self, url: str, refs: Iterable[str]) -> None:
        """Fetch `refs` from `url` into the same names here, all or nothing."""
        self.fetch_refspecs(url, [f"+{ref}:{ref}" for ref in refs])

    def fetch_refspecs(self, url: str, refspecs: Iterable[str]) -> None:
        self.git("fetch", "--atomic", "--no-tags", "--no-write-fetch-head", "--quiet",
                 "--stdin", "--", url, input="".join(f"{spec}\n" for spec in refspecs))

    def resolve(self, ref: str) -> str | None:
        """The object id `ref` names here, or None."""
        result = self.git("rev-parse", "--verify", "--quiet", "--end-of-options", ref,
                          check=False)
        return result.stdout.strip() or None

    def update_ref(self, ref: str, new: str, expected: str | None) -> None:
        """Set `ref` to `new` if it still holds `expected` (None: must not exist)."""
        self.git("update-ref", "--no-deref", "--", ref, new, expected or "0" * 40)

    def delete_refs(self, refs: Mapping[str, str]) -> None:
        """Delete {ref: expected value} in one transaction."""
        if refs:
            self.git("update-ref", "--stdin", input="".join(
                f"delete {ref} {old}\n" for ref, old in refs.items()))

    def missing_objects(self, oids: Iterable[str]) -> set[str]:
        """The objects of `oids` this repository lacks. An object whose loose file is
        there is there: only the others (packed, or gone) are asked of
        `cat-file --batch-check`."""
        wanted = sorted(set(oids))
        if self.runner.in_process:
            objects = self.git_dir / "objects"
            wanted = [oid for oid in wanted
                      if len(oid) != 40 or not (objects / oid[:2] / oid[2:]).is_file()]
        if not wanted:
            return set()
        out = self.git("cat-file", "--batch-check", input="\n".join(wanted) + "\n").stdout
        return {line.split()[0] for line in out.splitlines() if line.endswith(" missing")}

    def tree_entries(self, rev: str) -> list[tuple[str, str, str, str]]:
        """(mode, type, object id, path) of every entry in `rev`'s tree, recursively."""
        out = self.git("ls-tree", "-r", "-z", "--full-tree", "--end-of-options", rev).raw_stdout
        entries = []
        for record in out.split(b"\0"):
            if record:
                meta, _, path = record.partition(b"\t")
                mode, kind, oid = meta.decode().split()
                entries.append((mode, kind, oid, path.decode("utf-8", "surrogateescape")))
        return entries

    def files_at(self, rev: str, pathspecs: Sequence[str]) -> dict[str, str]:
        """The text of the files under `pathspecs` in `rev`'s tree (two git commands);
        a file that is no UTF-8 text is left out."""
        out = self.git("ls-tree", "-r", "-z", "--full-tree", "--end-of-options", rev, "--",
                       *pathspecs).raw_stdout
        wanted = {}
        for record in out.split(b"\0"):
            meta, _, raw = record.partition(b"\t")
            if record and meta.split()[1:2] == [b"blob"]:
                wanted[raw.decode("utf-8", "surrogateescape")] = meta.split()[2].decode()
        blobs = self.read_blobs(wanted.values())
        files: dict[str, str] = {}
        for name, oid in wanted.items():
            try:
                files[name] = blobs[oid].decode("utf-8")
            except (KeyError, UnicodeDecodeError):
                continue
        return files

    def write_commit_object(self, tree: str, parent: str, message: str, *, name: str,
                            email: str) -> str:
        """A throwaway commit of `tree` on `parent`, by `name` <`email`> at the epoch:
        what `git commit-tree -m` writes."""
        return self.commit(tree, parent, message.rstrip("\n") + "\n", name=name, email=email,
                           date="1970-01-01T00:00:00 +0000")

    def commit(self, tree: str, parent: str, message: str, *, name: str, email: str,
               date: str) -> str:
        """A commit of `tree` on `parent` with `message` as it is, authored and committed
        by `name` <`email`> at `date`: what `git commit-tree -F -` writes, byte for byte,
        its object written here directly where objects.py knows the formats
        (tests/test_objects.py compares); else by commit-tree."""
        when = git_date(date) if self.runner.in_process and plain_ident(name, email) \
            and len(tree) == len(parent) == 40 else None
        who = f"{name} <{email}> {when}"
        data = commit_data(tree, parent, message, author=who, committer=who) if when else None
        if data is not None:
            return write_loose(self.git_dir, b"commit", data)
        return self.git("commit-tree", tree, "-p", parent, "-F", "-", input=message, env={
            "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_AUTHOR_DATE": date,
            "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email,
            "GIT_COMMITTER_DATE": date}).stdout.strip()

    def write_blob(self, text: str) -> str:
        """Store `text` as a blob; its object id."""
        return self.git("hash-object", "-w", "--stdin", input=text).stdout.strip()

    def read_blobs(self, oids: Iterable[str]) -> dict[str, bytes]:
        """The contents of blobs, read through one `git cat-file --batch`."""
        wanted = list(dict.fromkeys(oids))
        if not wanted:
            return {}
        out = self.git("cat-file", "--batch", input="\n".join(wanted) + "\n").raw_stdout
        blobs, position = {}, 0
        for oid in wanted:
            header_end = out.index(b"\n", position)
            header = out[position:header_end].decode().split()
            position = header_end + 1
            if len(header) == 3:
                size = int(header[2])
                blobs[oid] = out[position:position + size]
                position += size + 1
        return blobs

    def is_ancestor(self, old: str, new: str) -> bool:
        result = self.git("merge-base", "--is-ancestor", old, new, check=False)
        if result.returncode not in (0, 1):
            raise GitError(["git", "merge-base", "--is-ancestor", old, new], result.returncode,
                           result.stdout, result.stderr)
        return result.returncode == 0

    def push(self, url: str, updates: Sequence[LeasedUpdate]) -> list[PushedRef]:
        """Push each update with its own lease. Rejections are results, not exceptions."""
        results: list[PushedRef] = []
        for start in range(0, len(updates), _PUSH_BATCH):
            results += self._push_batch(url, updates[start:start + _PUSH_BATCH])
        return results

    def _push_batch(self, url: str, updates: Sequence[LeasedUpdate]) -> list[PushedRef]:
        leases = [f"--force-with-lease={u.ref}:{u.expected or ''}" for u in updates]
        refspecs = [f"{u.new or ''}:{u.ref}" for u in updates]
        result = self.git("push", "--porcelain", *leases, "--", url, *refspecs,
                          check=False)
        pushed = _parse_porcelain(result.stdout)
        if result.returncode != 0 and not pushed:
            # Nothing was reported ref by ref: the push as a whole failed.
            raise GitError(["git", "push", "--", url], result.returncode, result.stdout,
                           result.stderr)
        missing = [u.ref for u in updates if u.ref not in pushed]
        for ref in missing:
            pushed[ref] = PushedRef(ref=ref, status="rejected",
                                    detail="git reported nothing for this ref")
        return [pushed[u.ref] for u in updates]


def _parse_porcelain(text: str) -> dict[str, PushedRef]:
    pushed = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) != 3 or len(parts[0]) != 1:
            continue
        flag, spec, summary = parts
        ref = spec.rpartition(":")[2]
        status: Literal["ok", "rejected"] = "rejected" if flag == "!" else "ok"
        pushed[ref] = PushedRef(ref=ref, status=status, detail=summary.strip())
    return pushed
