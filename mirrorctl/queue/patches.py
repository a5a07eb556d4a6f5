"""Patch queues on disk: patchsets/<package>/<version>/NNNN-subject.patch.

A queue is an ordered list of `git format-patch` files. This module reads them
(headers with the email module, diffs with unidiff), checks them (Upstream-Status,
paths that stay inside the tree, binary patches that can be applied) and reports
every problem with its file and line. It runs no git and writes nothing.
"""

from __future__ import annotations

import email
import email.header
import email.policy
import email.utils
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mirrorctl.core.errors import ConfigProblem
from mirrorctl.queue.folders import queue_dir
from mirrorctl.queue.status import (
    PatchProblem,
    UpstreamStatus,
    check_builders_status,
    parse_upstream_status,
)

if TYPE_CHECKING:
    from unidiff.patch import PatchedFile

__all__ = [
    "PatchFile",
    "PatchQueue",
    "changed_paths",
    "check_queues",
    "conflict_markers",
    "parse_patch",
    "patch_status",
    "plain_mail_body",
    "queue_statuses",
    "read_queue",
]

MAX_PATCH_BYTES = 10 * 1024 * 1024  # a 50 MB "patch" is an accident or an attack


_PATCH_PREFIX = re.compile(r"^(\[[^\]]*PATCH[^\]]*\]\s*)+", re.I)
_RFC822_SPECIALS = frozenset('()<>[]:;@,."\\')  # names with these are quoted (git's pretty.c)
_HUNK_HEADER = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")
_C_ESCAPE = re.compile(rb'\\([0-7]{1,3}|[abtnvfr"\\])')
_C_ESCAPES = {b"a": b"\a", b"b": b"\b", b"t": b"\t", b"n": b"\n", b"v": b"\v", b"f": b"\f",
              b"r": b"\r", b'"': b'"', b"\\": b"\\"}
# .git as git's verify_path() refuses it: any case, and as NTFS reads it (trailing dots
# and spaces dropped, the 8.3 short name GIT~1), which git refuses everywhere.
_DOT_GIT = re.compile(r"\.git[. ]*|git~1", re.I)
_FULL_INDEX = re.compile(r"^index [0-9a-f]{40}\.\.[0-9a-f]{40}", re.M)


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
    files = _check_diff(diff, first_diff_line)
    return PatchFile(path=path, author=author or "Unknown <unknown@invalid>", date=date or "",
                     subject=subject, message=message + "\n", diff=_strip_signature(diff),
                     files=files, status=status)


def patch_status(path: Path) -> UpstreamStatus:
    """The Upstream-Status of a patch file, read as parse_patch reads it, without
    checking its diff: what the patch debt asks of every version folder kept."""
    head, _ = _split_diff(_read_text(path))
    _, message_body, body_line = _message(head, headers=False)
    return parse_upstream_status(message_body, first_line=body_line)


def _read_text(path: Path) -> str:
    _check_plain_file(path)
    if path.stat().st_size > MAX_PATCH_BYTES:
        raise PatchProblem(f"is larger than {MAX_PATCH_BYTES // (1024 * 1024)} MB")
    raw = path.read_bytes()
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


def _check_plain_file(path: Path) -> None:
    if path.is_symlink():
        raise PatchProblem("is a symbolic link; a queue holds plain files")
    if not path.is_file():  # reading a FIFO or a device would never end
        raise PatchProblem("is not a regular file; a queue holds plain files")


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
    parts = email.header.decode_header(value)
    return "".join(p.decode(c or "utf-8", "replace") if isinstance(p, bytes) else p
                   for p, c in parts)


def _author(mail: email.message.Message) -> str:
    """The From header as a mailbox that email.utils.parseaddr reads back: a name that
    git wrote RFC 2047-encoded ("Müller, Hans") is quoted as git quotes ASCII names."""
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


def _strip_signature(diff: str) -> str:
    """The diff without format-patch's "-- \n<git version>\n" signature. Inside a hunk
    "-- " is a removed "- " line, so hunks are counted, not searched for the marker."""
    old = new = offset = 0
    for line in diff.split("\n"):
        if old > 0 or new > 0:
            if line.startswith("-"):
                old -= 1
            elif line.startswith("+"):
                new -= 1
            elif not line.startswith("\\"):  # "\ No newline at end of file" is not counted
                old, new = old - 1, new - 1
        elif line == "-- ":
            return diff[:offset]
        elif hunk := _HUNK_HEADER.match(line):
            old, new = int(hunk.group(1) or 1), int(hunk.group(2) or 1)
        offset += len(line) + 1
    return diff


def _check_diff(diff: str, first_line: int) -> tuple[str, ...]:
    # Only commands that read queues pay for importing unidiff.
    from unidiff.errors import UnidiffParseError
    from unidiff.patch import PatchSet

    diff = _strip_signature(diff)
    _check_hunks(diff, first_line)
    if markers := conflict_markers(diff, first_line):
        line, marker = markers[0]
        raise PatchProblem(f"adds a conflict marker ({marker}): a conflict left unresolved; "
                       "resolve it and export the patch again", line)
    try:
        patch_set = PatchSet(diff)
    except UnidiffParseError as exc:
        message = str(exc).strip()
        raise PatchProblem(f"malformed diff: {message}",
                           _line_of_error(diff, message, first_line)) \
            from exc
    files: list[str] = []
    for patched in patch_set:
        info = str(patched.patch_info)
        header_line = first_line + diff.count("\n", 0, diff.find(info)) if info else first_line
        for name in _paths_of(patched.source_file, patched.target_file, info):
            _check_path(name, header_line)
            files.append(name)
        if patched.is_symlink:  # made, turned into one, or retargeted
            _check_symlink(patched, header_line)
        if patched.is_binary_file and not _FULL_INDEX.search(info):
            raise PatchProblem(f"{patched.path}: binary patch without full index; re-export with "
                           "git format-patch --binary --full-index", header_line)
        if "Binary files " in info and "differ" in info:
            raise PatchProblem(f"{patched.path}: binary change without its data; re-export with "
                           "git format-patch --binary", header_line)
    if not files:
        raise PatchProblem("changes no file")
    return tuple(dict.fromkeys(files))


def _check_hunks(diff: str, first_line: int) -> None:
    """Every hunk has the lines its header counts, and nothing that looks like a diff line
    stands outside one: unidiff skips what it does not know, and git apply ignores such
    lines or fails, so a patch could show a change that is never applied."""
    old = new = 0
    header = file_header = 0  # the lines of the open hunk's header, of the file's +++
    lines = diff.split("\n")
    for number, line in enumerate(lines[:-1] if diff.endswith("\n") else lines, first_line):
        if old > 0 or new > 0:
            if line.startswith(("diff --git ", "@@")):
                break  # the hunk ended early
            if line and line[0] not in " -+\\":
                return  # not a diff line at all: unidiff names it
            # An empty line is empty context; "\ No newline at end of file" counts for neither.
            old -= line[:1] in ("", " ", "-")
            new -= line[:1] in ("", " ", "+")
            if old < 0 or new < 0:
                break
        elif line.startswith("@@"):
            hunk = _HUNK_HEADER.match(line)
            if hunk is None:
                raise PatchProblem("malformed diff: a hunk header must read "
                               "'@@ -start,count +start,count @@'", number)
            if not file_header:
                raise PatchProblem("malformed diff: a hunk without its file's --- and +++ lines",
                               number)
            header, old, new = number, int(hunk.group(1) or 1), int(hunk.group(2) or 1)
        elif line.startswith("diff --git "):
            file_header = 0
        elif line.startswith("+++ "):
            file_header = number
        elif line[:1] in ("+", "-", " ") and not line.startswith("--- "):
            raise PatchProblem("malformed diff: a line outside any hunk, which git apply would "
                           "ignore", number)
    if old != 0 or new != 0:
        raise PatchProblem("malformed diff: the hunk's lines do not match the counts in its header",
                       header)


_MARKER = re.compile(r"^(<{7}|>{7}|\|{7})(?: |$)|^={7}$")


def conflict_markers(diff: str, first_line: int = 1) -> list[tuple[int, str]]:
    """(line, marker) of every added line of `diff` that is a leftover conflict marker:
    <<<<<<<, ||||||| and >>>>>>> wherever they are added, ======= only in a file where one of
    those is added too (alone it is an underline in reStructuredText)."""
    found: list[tuple[int, str]] = []
    in_file: list[tuple[int, str]] = []

    def close_file() -> None:
        if any(marker != "=======" for _, marker in in_file):
            found.extend(in_file)
        in_file.clear()

    for number, line in enumerate(diff.split("\n"), first_line):
        if line.startswith("diff --git "):
            close_file()
        elif line.startswith("+") and not line.startswith("+++ "):
            match = _MARKER.match(line[1:])
            if match:
                in_file.append((number, line[1:8]))
    close_file()
    return found


def changed_paths(diff: str) -> tuple[str, ...]:
    """Every path a git diff touches (both sides of renames and copies), unquoted, in
    order: what `files` holds for a patch, for a diff git has just made."""
    from unidiff.patch import PatchSet

    return tuple(dict.fromkeys(
        name for patched in PatchSet(diff)
        for name in _paths_of(patched.source_file, patched.target_file,
                              str(patched.patch_info))))


def _paths_of(source: str, target: str, info: str) -> Iterable[str]:
    for name in (source, target):
        if name != "/dev/null":
            name = _unquoted(name)
            yield name[2:] if name[:2] in ("a/", "b/") else name
    for line in info.splitlines():
        for prefix in ("rename from ", "rename to ", "copy from ", "copy to "):
            if line.startswith(prefix):
                yield _unquoted(line[len(prefix):])


def _unquoted(name: str) -> str:
    """A path as git writes it in a diff: quoted C-style when it has bytes other than
    printable ASCII ("a/na\\303\\257ve.c" for a/naïve.c), else as it is."""
    if len(name) < 2 or name[0] != '"' or name[-1] != '"':
        return name
    return _C_ESCAPE.sub(_unescaped, name[1:-1].encode()).decode("utf-8", "replace")


def _unescaped(escape: re.Match[bytes]) -> bytes:
    code = escape.group(1)
    return _C_ESCAPES.get(code) or bytes([int(code, 8) & 0xFF])


def _check_path(name: str, line: int) -> None:
    parts = name.split("/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise PatchProblem(f"{name}: absolute path; a patch may only touch the source tree", line)
    if ".." in parts:
        raise PatchProblem(f"{name}: path leaves the source tree (..)", line)
    if any(_DOT_GIT.fullmatch(part) for part in parts):
        raise PatchProblem(f"{name}: path inside .git; a patch may only touch the source tree",
                           line)


def _check_symlink(patched: PatchedFile, line: int) -> None:
    target = "".join(str(added.value) for hunk in patched for added in hunk
                     if added.line_type == "+").strip()
    link = str(patched.path)
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(link), target))
    if target.startswith("/") or resolved == ".." or resolved.startswith("../"):
        raise PatchProblem(f"{link}: symbolic link to {target!r} points outside the source tree",
                       line)
    if any(_DOT_GIT.fullmatch(part) for part in resolved.split("/")):
        raise PatchProblem(f"{link}: symbolic link to {target!r} points inside .git", line)


def _line_of_error(diff: str, message: str, first_line: int) -> int | None:
    fragment = message.rsplit(": ", 1)[-1].strip()
    if fragment:
        for number, line in enumerate(diff.splitlines()):
            if line.strip() == fragment:
                return first_line + number
    return None


def _order(directory: Path) -> tuple[list[Path], list[ConfigProblem]]:
    """The queue's files in order: the series file's, else file-name order."""
    series = directory / "series"
    if not (series.exists() or series.is_symlink()):
        return sorted(p for p in directory.glob("*.patch")), []
    try:  # a series linked to /etc/passwd must not show its lines as "no such patch"
        _check_plain_file(series)
        lines = _utf8(series.read_bytes()).splitlines()
    except PatchProblem as exc:
        return [], [ConfigProblem(str(series), exc.line, "", str(exc))]
    problems, files = [], []
    for number, raw in enumerate(lines, 1):
        name = raw.split("#", 1)[0].strip()
        if not name:
            continue
        path = directory / name
        if "/" in name or name.startswith(".") or not path.is_file():
            problems.append(ConfigProblem(str(series), number, "",
                                          f"{name}: no such patch in {directory}"))
            continue
        files.append(path)
    listed = {p.name for p in files}
    problems += [ConfigProblem(str(series), None, "", f"{patch.name} is in the folder but not "
                               "in series, so nothing applies it: list it, or remove it")
                 for patch in sorted(directory.glob("*.patch")) if patch.name not in listed]
    return files, problems


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


def queue_statuses(patchsets: Path, package: str, version: str) -> dict[str, str]:
    """{patch name: its Upstream-Status kind} of a queue folder, its patches in order;
    a patch that cannot be read is left out (read_queue names it)."""
    paths, _ = _order(queue_dir(patchsets, package, version))
    statuses = {}
    for path in paths:
        try:
            statuses[path.name] = patch_status(path).kind
        except (PatchProblem, OSError):
            continue
    return statuses


def read_queue(patchsets: Path, package: str, version: str, *,
               vocabulary: str = "yocto") -> tuple[PatchQueue, list[ConfigProblem]]:
    """The queue of `package` at `version`, and every problem found in it."""
    directory = queue_dir(patchsets, package, version)
    if not directory.is_dir():
        problem = ConfigProblem(str(directory), None, "", "no such patch queue directory")
        return PatchQueue(package=package, version=version, directory=directory, patches=()), \
            [problem]
    paths, problems = _order(directory)
    patches = []
    for path in paths:
        try:
            patches.append(parse_patch(path, vocabulary))
        except PatchProblem as exc:
            problems.append(ConfigProblem(str(path), exc.line, "", str(exc)))
        except OSError as exc:
            problems.append(ConfigProblem(str(path), None, "", f"cannot read: {exc}"))
    queue = PatchQueue(package=package, version=version, directory=directory,
                       patches=tuple(patches))
    return queue, problems
