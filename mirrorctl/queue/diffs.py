"""What a patch's diff may do, checked as `git apply` reads it and as a queue must keep
it: hunks whole (their counts, a signature after them), paths that stay inside the
source tree (no `..`, absolute paths, .git in any spelling git refuses), symbolic links
that point inside it, binary patches git can apply, and no conflict marker left in.
Every problem is a PatchProblem with its line. It runs no git and writes nothing.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from mirrorctl.queue.status import PatchProblem

if TYPE_CHECKING:
    from unidiff.patch import PatchedFile

__all__ = ["changed_paths", "check_diff", "conflict_markers", "strip_signature"]

_HUNK_HEADER = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")
_C_ESCAPE = re.compile(rb'\\([0-7]{1,3}|[abtnvfr"\\])')
_C_ESCAPES = {b"a": b"\a", b"b": b"\b", b"t": b"\t", b"n": b"\n", b"v": b"\v", b"f": b"\f",
              b"r": b"\r", b'"': b'"', b"\\": b"\\"}
# .git as git's verify_path() refuses it: any case, and as NTFS reads it (trailing dots
# and spaces dropped, the 8.3 short name GIT~1), which git refuses everywhere.
_DOT_GIT = re.compile(r"\.git[. ]*|git~1", re.I)
_FULL_INDEX = re.compile(r"^index [0-9a-f]{40}\.\.[0-9a-f]{40}", re.M)


def strip_signature(diff: str) -> str:
    """The diff without format-patch's "-- \n<git version>\n" signature. Inside a hunk
    "-- " is a removed "- " line, so hunks are counted, not searched for the marker. The
    separator may have lost its space ("--", as an editor that trims lines leaves it,
    which git apply takes): then only when no line after it could be a diff's."""
    old = new = offset = 0
    for line in diff.split("\n"):
        if old > 0 or new > 0:
            if line.startswith("-"):
                old -= 1
            elif line.startswith("+"):
                new -= 1
            elif not line.startswith("\\"):  # "\ No newline at end of file" is not counted
                old, new = old - 1, new - 1
        elif line == "-- " or (line == "--" and _only_a_signature(diff[offset + 3:])):
            return diff[:offset]
        elif hunk := _HUNK_HEADER.match(line):
            old, new = int(hunk.group(1) or 1), int(hunk.group(2) or 1)
        offset += len(line) + 1
    return diff


def _only_a_signature(tail: str) -> bool:
    """Whether what follows a "--" line is a signature's text (a git version, a name),
    not more of a diff."""
    return not any(line.startswith(("diff --git ", "@@", "+", "-", " ", "\\"))
                   for line in tail.split("\n"))


def check_diff(diff: str, first_line: int) -> tuple[str, ...]:
    # Only commands that read queues pay for importing unidiff.
    from unidiff.errors import UnidiffParseError
    from unidiff.patch import PatchSet

    diff = strip_signature(diff)
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
