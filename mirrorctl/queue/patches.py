"""Patch queues on disk: patchsets/<package>/<version>/NNNN-subject.patch.

A queue is an ordered list of `git format-patch` files. This module reads them
(headers with the email module; diffs checked by diffs.py, with unidiff), checks their
Upstream-Status and the files themselves (plain, UTF-8, LF, not huge), and reports
every problem with its file and line. It runs no git and writes nothing.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from mirrorctl.core.errors import ConfigProblem
from mirrorctl.queue.diffs import check_diff, strip_signature
from mirrorctl.queue.folders import queue_dir
from mirrorctl.queue.status import (
    PatchProblem,
    UpstreamStatus,
    check_builders_status,
    parse_upstream_status,
)

if TYPE_CHECKING:  # the email parser is imported where a mail is parsed: kept parses
    import email.message  # (queue.kept) and the patch debt's reader need none of it


# What was read of queue files before, by their signatures (queue.kept keeps it in the
# work directory): each file's parse, and each file's Upstream-Status kind.
class KeptParses(Protocol):
    def parse(self, path: Path, vocabulary: str) -> PatchFile: ...


class KeptKinds(Protocol):
    def kind(self, path: str) -> str: ...

__all__ = [
    "KeptKinds",
    "KeptParses",
    "PatchFile",
    "PatchQueue",
    "check_queues",
    "parse_patch",
    "patch_status",
    "plain_mail_body",
    "queue_statuses",
    "read_queue",
]

MAX_PATCH_BYTES = 10 * 1024 * 1024  # a 50 MB "patch" is an accident or an attack


_PATCH_PREFIX = re.compile(r"^(\[[^\]]*PATCH[^\]]*\]\s*)+", re.I)
_RFC822_SPECIALS = frozenset('()<>[]:;@,."\\')  # names with these are quoted (git's pretty.c)


@dataclass(frozen=True, kw_only=True)
class PatchFile:
    path: Path
    author: str  # "Name <email>"
    date: str  # as the patch says, kept verbatim so that re-applying is reproducible
    subject: str  # without the [PATCH n/m] prefix
    message: str  # the whole commit message: subject, blank line, body with its trailers
    diff: str  # everything from the first "diff --git" line
    files: tuple[str, ...]  # paths touched, after the change (renames: both)
    status: UpstreamStatus

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True, kw_only=True)
class PatchQueue:
    package: str
    version: str
    directory: Path
    patches: tuple[PatchFile, ...]

    @property
    def digest(self) -> str:
        """What the queue carries, as one hash: each patch's name, author, date, message
        and diff, in order. A carry recorded for this digest still describes the queue."""
        import hashlib

        hashed = hashlib.sha256()
        for patch in self.patches:
            for part in (patch.name, patch.author, patch.date, patch.message, patch.diff):
                hashed.update(part.encode("utf-8", "surrogateescape") + b"\0")
        return hashed.hexdigest()


def parse_patch(path: Path, vocabulary: str = "yocto") -> PatchFile:
    """Read one format-patch file; raises PatchProblem (with a line where there is one).
    With the builders' vocabulary, Upstream-Status is checked as their CI checks it."""
    text = _read_text(path)
    head, diff_start = _split_diff(text)
    mail, message_body, body_line = _message(head)
    if mail is not None:
        author, date, subject = _author(mail), _header(mail, "Date"), _header(mail, "Subject")
        # As git am does: runs of ASCII white space are one space; others (a no-break
        # space, an ideographic space) are the author's.
        subject = _PATCH_PREFIX.sub("", re.sub(r"[ \t\r\n]+", " ", subject).strip(" "))
    else:  # a plain diff with its description above it, as `git apply` takes it
        author, date, subject = "", "", ""
    subject = subject or _subject_of(path)
    status = parse_upstream_status(message_body, first_line=body_line)
    if vocabulary == "builders":
        check_builders_status(text)
    message = subject + ("\n\n" + message_body.strip("\n") if message_body.strip() else "")
    diff = text[diff_start:]
    first_diff_line = text.count("\n", 0, diff_start) + 1
    files = check_diff(diff, first_diff_line)
    return PatchFile(path=path, author=author or "Unknown <unknown@invalid>", date=date or "",
                     subject=subject, message=message + "\n", diff=strip_signature(diff),
                     files=files, status=status)


def patch_status(path: Path) -> UpstreamStatus:
    """The Upstream-Status of a patch file, read as parse_patch reads it, without
    checking its diff: what the patch debt asks of every version folder kept."""
    head, _ = _split_diff(_read_text(path))
    _, message_body, body_line = _message(head, headers=False)
    return parse_upstream_status(message_body, first_line=body_line)


def _read_text(path: Path) -> str:
    size = _check_plain_file(path)
    if size > MAX_PATCH_BYTES:
        raise PatchProblem(f"is larger than {MAX_PATCH_BYTES // (1024 * 1024)} MB")
    with open(path, "rb") as handle:
        raw = handle.read()
    if raw.startswith(b"\xef\xbb\xbf"):
        # git reads a patch that opens with one as a headerless diff: no author, no date,
        # a subject without its colon. Refused as CRLF is, with where it is.
        raise PatchProblem("starts with a UTF-8 byte-order mark, which git does not read as "
                           "part of a mail: remove it (git format-patch writes none)", 1)
    if (crlf := raw.find(b"\r\n")) != -1:
        raise PatchProblem("has CRLF line endings; git format-patch writes LF",
                           raw.count(b"\n", 0, crlf) + 1)
    return _utf8(raw)


def _message(head: str, *, headers: bool = True,
             ) -> tuple[email.message.Message | None, str, int]:
    """(the mail, when it is one and `headers` are wanted; the commit message's body; its
    first line)."""
    if _is_mail(head):  # git format-patch, or git am's input as people edit it
        body = None if headers else plain_mail_body(head)
        mail = None
        if body is None:
            import email
            import email.policy

            mail = email.message_from_string(head, policy=email.policy.compat32)
            body = _mail_body(mail)
        message_body = body.split("\n---\n", 1)[0].rstrip("\n")
        body_line = head.count("\n", 0, head.find("\n\n") + 2) + 1 if "\n\n" in head else 1
        return mail, message_body, body_line
    return None, head.strip("\n"), 1 + len(head) - len(head.lstrip("\n"))


# A header line as Python's email parser knows one (email.feedparser's headerRE, with a
# name of one character at least): a name and a colon, or a folded continuation.
_HEADER_LINE = re.compile(r"[\041-\071\073-\176]+:|[\t ]")


def plain_mail_body(head: str) -> str | None:
    """The body of a mail whose headers are plain, as git format-patch writes them: the
    text after the first empty line, which is what Python's email parser gives for such
    a mail, without its cost. None when the email parser must decide (a line that is no
    header, MIME parts)."""
    end = head.find("\n\n")
    if end == -1:
        return None
    lines = head[:end].split("\n")
    if lines[0].startswith("From "):  # the mbox From line
        lines = lines[1:]
    if not lines or not all(_HEADER_LINE.match(line) for line in lines) \
            or "multipart" in head[:end].lower():
        return None
    return head[end + 2:]


def _check_plain_file(path: str | Path) -> int:
    """The size of a plain file (one lstat: a report reads thousands); else PatchProblem."""
    try:
        info = os.lstat(path)
    except OSError:
        info = None
    if info is not None and stat.S_ISLNK(info.st_mode):
        raise PatchProblem("is a symbolic link; a queue holds plain files")
    if info is None or not stat.S_ISREG(info.st_mode):  # a FIFO or a device never ends
        raise PatchProblem("is not a regular file; a queue holds plain files")
    return info.st_size


def _utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PatchProblem("is not UTF-8 text", raw.count(b"\n", 0, exc.start) + 1) from exc


def _split_diff(text: str) -> tuple[str, int]:
    """(what stands before the diff, where the diff starts): a git diff, or a plain
    unified diff (--- then +++), which git apply takes too."""
    match = re.search(r"^diff --git |^--- [^\n]*\n\+\+\+ ", text, re.M)
    if match is None:
        raise PatchProblem("contains no 'diff --git' section; is it a git format-patch file?")
    return text[:match.start()], match.start()


def _is_mail(head: str) -> bool:
    """A mail (format-patch's From line, or mail headers), not a plain description."""
    return head.startswith("From ") or bool(
        re.match(r"(From|Subject|Date): ", head))


def _subject_of(path: Path) -> str:
    """A subject where the patch has none: its file name, as format-patch made it from
    the subject (0002-TST-skip-nan.patch: TST skip nan)."""
    name = re.sub(r"^\d+-", "", path.name.removesuffix(".patch"))
    return name.replace("-", " ").strip() or path.name


def _mail_body(mail: email.message.Message) -> str:
    payload = mail.get_payload()
    return payload if isinstance(payload, str) else ""


def _header(mail: email.message.Message, name: str) -> str:
    value = mail.get(name)
    return "" if value is None else _decoded(_unfolded(str(value))).strip(" \t")


def _unfolded(value: str) -> str:
    # A folded header continues after a newline and white space; the newline goes, the
    # white space stays (RFC 5322), so "=?UTF-8?q?...?=\n <a@b>" keeps its space.
    return re.sub(r"\r?\n(?=[ \t])", "", value)


def _decoded(value: str) -> str:
    import email.header

    parts = email.header.decode_header(value)
    return "".join(p.decode(c or "utf-8", "replace") if isinstance(p, bytes) else p
                   for p, c in parts)


def _author(mail: email.message.Message) -> str:
    """The From header as a mailbox that email.utils.parseaddr reads back: a name that
    git wrote RFC 2047-encoded ("Müller, Hans") is quoted as git quotes ASCII names."""
    import email.utils

    value = mail.get("From")
    if value is None:
        return ""
    name, address = email.utils.parseaddr(_unfolded(str(value)))
    if not address:
        return _header(mail, "From")
    name = _decoded(name)
    if any(c in _RFC822_SPECIALS for c in name):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{address}>" if name else f"<{address}>"


def _order(directory: str) -> tuple[list[str], list[ConfigProblem]]:
    """The queue's files in order, as paths: the series file's, else file-name order.
    Strings, not Paths: the patch debt orders every folder kept, every morning."""
    series = os.path.join(directory, "series")
    try:
        os.lstat(series)
    except OSError:  # no series: file-name order
        return _patch_files(directory), []
    try:  # a series linked to /etc/passwd must not show its lines as "no such patch"
        _check_plain_file(series)
        with open(series, "rb") as handle:
            lines = _utf8(handle.read()).splitlines()
    except PatchProblem as exc:
        return [], [ConfigProblem(series, exc.line, "", str(exc))]
    problems, files = [], []
    for number, raw in enumerate(lines, 1):
        name = raw.split("#", 1)[0].strip()
        if not name:
            continue
        path = os.path.join(directory, name)
        if "/" in name or name.startswith(".") or not os.path.isfile(path):
            problems.append(ConfigProblem(series, number, "",
                                          f"{name}: no such patch in {directory}"))
            continue
        files.append(path)
    listed = {os.path.basename(p) for p in files}
    problems += [ConfigProblem(series, None, "", f"{os.path.basename(patch)} is in the folder "
                               "but not in series, so nothing applies it: list it, or remove it")
                 for patch in _patch_files(directory) if os.path.basename(patch) not in listed]
    return files, problems


def _patch_files(directory: str) -> list[str]:
    """The folder's *.patch entries in name order (as sorted(glob("*.patch")), without
    pathlib's globbing)."""
    try:
        with os.scandir(directory) as entries:
            names = sorted(entry.name for entry in entries if entry.name.endswith(".patch"))
    except OSError:
        return []
    return [os.path.join(directory, name) for name in names]


def check_queues(patchsets: Path, packages: Iterable[str],
                 vocabulary: str = "yocto") -> tuple[int, list[ConfigProblem]]:
    """Read every queue under `patchsets`: (patches read, problems found)."""
    known = set(packages)
    count, problems = 0, []
    if not patchsets.is_dir():
        return 0, []
    for package_dir in sorted(p for p in patchsets.iterdir() if p.is_dir()):
        if package_dir.name.startswith("."):
            continue
        if package_dir.name not in known:
            problems.append(ConfigProblem(str(package_dir), None, "",
                                          "not a package in mirrors.yaml"))
            continue
        for version_dir in sorted(p for p in package_dir.iterdir() if p.is_dir()):
            if version_dir.name.startswith("."):
                continue  # .rr-cache: remembered conflict resolutions
            queue, found = read_queue(patchsets, package_dir.name, version_dir.name,
                                      vocabulary=vocabulary)
            count += len(queue.patches)
            problems += found
    return count, problems


def queue_statuses(patchsets: Path, package: str, version: str,
                   kept: KeptKinds | None = None) -> dict[str, str]:
    """{patch name: its Upstream-Status kind} of a queue folder, its patches in order;
    a patch that cannot be read is left out (read_queue names it). `kept`: the kinds
    of files read before, by their signatures."""
    paths, _ = _order(str(queue_dir(patchsets, package, version)))
    statuses = {}
    for path in paths:
        try:
            statuses[os.path.basename(path)] = kept.kind(path) if kept is not None else \
                patch_status(Path(path)).kind
        except (PatchProblem, OSError):
            continue
    return statuses


def read_queue(patchsets: Path, package: str, version: str, *, vocabulary: str = "yocto",
               kept: KeptParses | None = None) -> tuple[PatchQueue, list[ConfigProblem]]:
    """The queue of `package` at `version`, and every problem found in it. `kept`: the
    files parsed before, by their signatures."""
    directory = queue_dir(patchsets, package, version)
    if not directory.is_dir():
        problem = ConfigProblem(str(directory), None, "", "no such patch queue directory")
        return PatchQueue(package=package, version=version, directory=directory, patches=()), \
            [problem]
    names, problems = _order(str(directory))
    if not names and not problems and not (directory / "series").is_file():
        # A queue holds patches, or a series that says it is empty (what a carry writes
        # when nothing is left): a folder of neither (a .gitkeep, a renamed folder) is
        # no queue, never one that carries nothing.
        problems.append(ConfigProblem(str(directory), None, "", (
            "holds no patch and no `series` saying nothing is left to carry: not a queue "
            "(put the patches back, or remove the folder)")))
    patches = []
    for path in map(Path, names):
        try:
            patches.append(kept.parse(path, vocabulary) if kept is not None
                           else parse_patch(path, vocabulary))
        except PatchProblem as exc:
            problems.append(ConfigProblem(str(path), exc.line, "", str(exc)))
        except OSError as exc:
            problems.append(ConfigProblem(str(path), None, "", f"cannot read: {exc}"))
    queue = PatchQueue(package=package, version=version, directory=directory,
                       patches=tuple(patches))
    return queue, problems
