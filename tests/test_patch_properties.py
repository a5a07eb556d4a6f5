"""Properties of patch files over generated ones: what git format-patch writes, mirrorctl
reads back exactly; re-exporting a parsed patch gives the same bytes; rewriting the
Upstream-Status changes that line and nothing else; applying a patch gives the tree
its author made.

Each example is a real commit (made with `git fast-import` from generated files,
message, author and date) exported with the options mirrorctl exports with.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, fields
from email.utils import parseaddr
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from mirrorctl.core.git import GitRunner, GitSettings
from mirrorctl.core.repository import Repository
from mirrorctl.queue.branches import FORMAT_PATCH_STABLE, rewrite_statuses
from mirrorctl.queue.kept import KeptPatches
from mirrorctl.queue.patches import (
    PatchFile,
    parse_patch,
    patch_status,
    plain_mail_body,
    read_queue,
)
from mirrorctl.queue.replay import apply_queue
from mirrorctl.queue.status import STATUS_KINDS

# Every example runs git (two to eight commands): a few dozen examples a property, and
# no deadline, since a busy machine turns milliseconds into tenths of a second.
GIT_EXAMPLES = settings(max_examples=40, deadline=None,
                        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# --- what a patch is made of -------------------------------------------------------

# Characters that trip line-based parsers: form feed and vertical tab (in C and Python
# sources), Unicode line and paragraph separators, NEL, file separators, non-breaking
# and other Unicode spaces, and text that looks like diff or mail syntax.
_TRICKY_CHARS = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\xa0\u3000\t é🙂-+@\\[]<>\"',;:."
_TEXT_CHARS = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\r\n")
_LINE_CHARS = st.one_of(_TEXT_CHARS, st.sampled_from(_TRICKY_CHARS))
_TRICKY_LINES = ["", " ", "-", "- ", "-- ", "--", "---", "+", "+++ b/x", "--- a/x",
                 "@@ -1 +1 @@", "\\ No newline at end of file", "diff --git a/x b/x",
                 "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001",
                 "Upstream-Status: Pending", "index 0000000..1111111 100644", "\f", "\x0b"]
_CONTENT_LINE = st.one_of(st.text(_LINE_CHARS, max_size=12), st.sampled_from(_TRICKY_LINES))

_PATHS = ["setup.py", "README", "src/core.c", "src/naïve.c", "docs/read me.txt", 'say "hi".txt',
          "numpy/_core/tests/test_nan.py", "ci/riscv64.yml", "a", "empty.txt"]


@dataclass(frozen=True)
class FileChange:
    path: str
    before: str | None  # None: the patch adds the file
    after: str | None  # None: the patch deletes it
    executable: bool = False  # after the patch


@dataclass(frozen=True)
class Example:
    subject: str
    body: str  # paragraphs between the subject and the status line ("" for none)
    status_line: str  # "Upstream-Status: ..." as written
    status: tuple[str, str | None]  # what it means: (kind, argument)
    name: str
    email: str
    timestamp: int
    offset: str  # +HHMM
    changes: tuple[FileChange, ...]

    @property
    def message(self) -> str:
        middle = f"{self.body}\n\n" if self.body else ""
        return f"{self.subject}\n\n{middle}{self.status_line}\n"


def _lines_to_text(lines: list[str], final_newline: bool) -> str:
    text = "\n".join(lines)
    return text + "\n" if lines and final_newline else text


@st.composite
def edited(draw: st.DrawFn, before: list[str]) -> list[str]:
    """`before` with a few lines replaced, inserted and deleted, far apart or close."""
    after = list(before)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(after)))
        what = draw(st.sampled_from(["insert", "replace", "delete"]))
        if what == "insert" or at == len(after):
            after.insert(at, draw(_CONTENT_LINE))
        elif what == "replace":
            after[at] = draw(_CONTENT_LINE)
        else:
            del after[at]
    return after


@st.composite
def file_changes(draw: st.DrawFn) -> tuple[FileChange, ...]:
    paths = draw(st.lists(st.sampled_from(_PATHS), min_size=1, max_size=4, unique=True))
    changes = []
    for path in paths:
        kind = draw(st.sampled_from(["modify", "modify", "add", "delete", "rename"]))
        lines = draw(st.lists(_CONTENT_LINE, max_size=25))
        text = _lines_to_text(lines, draw(st.booleans()))
        executable = draw(st.booleans()) if kind != "delete" else False
        if kind == "add":
            changes.append(FileChange(path, None, text, executable))
        elif kind == "delete":
            changes.append(FileChange(path, text, None))
        elif kind == "rename":  # a delete and an add that git pairs when they are alike
            after = _lines_to_text(draw(edited(lines)), draw(st.booleans()))
            changes += [FileChange(path, text, None),
                        FileChange(f"moved/{path}", None, draw(st.sampled_from([text, after])))]
        else:
            after = _lines_to_text(draw(edited(lines)), draw(st.booleans()))
            changes.append(FileChange(path, text, after, executable))
    result = tuple(changes)
    # A patch changes something (else it is no patch, and mirrorctl says so).
    assume(any(c.before != c.after or c.executable for c in result))
    return result


def _words() -> st.SearchStrategy[str]:
    """Text on one line, without runs of ASCII white space or white space at its ends
    (git am folds those), and without a leading "[...PATCH...]" (that is the prefix)."""
    letters = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters=" ")
    word = st.text(st.one_of(letters, st.sampled_from("é🙂[]:,;\"'\xa0\u3000")),
                   min_size=1, max_size=10)
    return st.lists(word, min_size=1, max_size=8).map(" ".join).filter(
        lambda s: s == s.strip() and "patch" not in s.lower() and s.strip())


# The commit message's own lines: nothing git am would take for the start of the diff
# ("---", "diff ", "Index: ") or for a second status line, and no white space at the
# end (format-patch drops it).
_BODY_LINE = st.text(_LINE_CHARS, min_size=1, max_size=30).map(str.rstrip).filter(
    lambda s: s and not s.startswith(("---", "diff ", "Index: ", "From "))
    and "Upstream-Status" not in s)


@st.composite
def statuses(draw: st.DrawFn) -> tuple[str, tuple[str, str | None]]:
    """An Upstream-Status line in either vocabulary, spelt the ways people spell it."""
    kind = draw(st.sampled_from(sorted(STATUS_KINDS)))
    rule = STATUS_KINDS[kind].argument
    argument = None
    if rule == "required" or (rule == "optional" and draw(st.booleans())):
        argument = draw(st.one_of(
            st.sampled_from(["https://github.com/numpy/numpy/pull/25280",
                             "https://gitlab.com/x/y/-/merge_requests/7",
                             "lastcommit: 2019, lastrelease: 2018", "riscv64 [CI] only"]),
            _words()))
    spelt = draw(st.sampled_from([kind, kind.lower(), kind.upper()]))
    gap, inner = draw(st.sampled_from(["", " ", "  ", "\t"])), draw(st.sampled_from(["", " "]))
    value = spelt + (f"{' ' if gap == '' else gap}[{inner}{argument}{inner}]" if argument
                     else "")
    colon_gap = draw(st.sampled_from([" ", "", "  "]))
    return f"Upstream-Status:{colon_gap}{value}", (kind, argument)


@st.composite
def examples(draw: st.DrawFn) -> Example:
    line, status = draw(statuses())
    paragraphs = draw(st.lists(st.lists(_BODY_LINE, min_size=1, max_size=3), max_size=3))
    name = draw(_words().filter(lambda n: n == n.strip(".,:;<>\"\\' ") and "<" not in n
                                and ">" not in n))
    minutes = 15 * draw(st.integers(-12 * 4, 14 * 4))  # real zones: Nepal +0545, Chatham +1245
    return Example(
        subject=draw(_words()),
        body="\n\n".join("\n".join(p) for p in paragraphs),
        status_line=line, status=status, name=name,
        email=draw(st.sampled_from(["dev@example.org", "a.b+riscv@rise.dev", "x@y.z"])),
        # Local time from 1970 to 2099: git reads no dates outside.
        timestamp=draw(st.integers(86_400, 4_102_358_400)),
        offset=f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}",
        changes=draw(file_changes()))


# --- making the example with git ----------------------------------------------------

_serial = itertools.count()


def _data(text: str) -> str:
    return f"data {len(text.encode())}\n{text}\n"


def commit_example(repo: Repository, example: Example) -> tuple[str, str]:
    """(base commit, patch commit): the files before, and the example's commit on top."""
    n = next(_serial)
    ident = f"{example.name} <{example.email}> {example.timestamp} {example.offset}"
    base = [f"M 100644 inline {c.path}\n{_data(c.before)}" for c in example.changes
            if c.before is not None]
    patch = [f"D {c.path}\n" if c.after is None else
             f"M {'100755' if c.executable else '100644'} inline {c.path}\n{_data(c.after)}"
             for c in example.changes]
    stream = (f"commit refs/heads/base-{n}\nmark :1\n"
              f"committer Base <base@example.org> 0 +0000\n{_data('base')}{''.join(base)}\n"
              f"commit refs/heads/patch-{n}\nmark :2\nauthor {ident}\ncommitter {ident}\n"
              f"{_data(example.message)}from :1\n{''.join(patch)}\n")
    repo.git("fast-import", "--quiet", input=stream)
    return repo.resolve(f"refs/heads/base-{n}") or "", repo.resolve(f"refs/heads/patch-{n}") or ""


def export(repo: Repository, commit: str) -> bytes:
    return repo.git("format-patch", "--stdout", *FORMAT_PATCH_STABLE, "-1", commit).raw_stdout


def parsed(data: bytes, folder: Path, name: str = "0001-example.patch") -> PatchFile:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    return parse_patch(folder / name)


def same_patch(a: PatchFile, b: PatchFile) -> bool:
    """Equal in everything but the file it was read from."""
    return all(getattr(a, f.name) == getattr(b, f.name) for f in fields(PatchFile)
               if f.name != "path")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Repository:
    path = tmp_path_factory.mktemp("examples") / "repo.git"
    # The runner seals git's environment itself (no user or system config), as in use.
    runner = GitRunner(GitSettings(base_env=dict(os.environ)))
    runner.run(["init", "--bare", "--quiet", str(path)])
    return Repository(path, runner)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("patches")


# --- the properties ------------------------------------------------------------------


@GIT_EXAMPLES
@given(example=examples())
def test_reading_a_patch_gives_what_its_author_wrote(repo: Repository, scratch: Path,
                                                    example: Example) -> None:
    _, commit = commit_example(repo, example)
    patch = parsed(export(repo, commit), scratch / "read")
    assert patch.subject == example.subject
    assert patch.message == example.message
    assert parseaddr(patch.author) == (example.name, example.email)
    quoted = any(c in '()<>[]:;@,."\\' for c in example.name)  # as git quotes names
    assert patch.author.startswith('"') == quoted
    assert (patch.status.kind, patch.status.argument) == example.status
    changed = {c.path for c in example.changes if c.before != c.after or c.executable}
    assert set(patch.files) == changed
    # The patch debt's reader (no diff, no email parser for plain headers) agrees.
    path = scratch / "read" / "0001-example.patch"
    assert patch_status(path) == patch.status
    head = path.read_text().split("\ndiff --git ", 1)[0]
    assert plain_mail_body(head) is not None  # format-patch's headers take the fast path
    event(f"hunks: {min(3, patch.diff.count(chr(10) + '@@ '))}, "
          f"renames: {min(1, patch.diff.count(chr(10) + 'rename from '))}")


@settings(GIT_EXAMPLES, max_examples=25)
@given(example=examples())
def test_applying_and_exporting_a_parsed_patch_gives_the_same_tree_and_bytes(
        repo: Repository, scratch: Path, example: Example) -> None:
    base, commit = commit_example(repo, example)
    original = export(repo, commit)
    patch = parsed(original, scratch / "apply")
    [applied] = apply_queue(repo, base, [patch], base_name="base")
    # The tree the author made, file for file; and the same commit, since a patch
    # keeps its author, date and message.
    assert applied.tree == repo.resolve(f"{commit}^{{tree}}")
    assert applied.commit == commit
    again = export(repo, applied.commit)
    assert again == original
    assert same_patch(parsed(again, scratch / "again"), patch)


@GIT_EXAMPLES
@given(example=examples(), new=statuses())
def test_rewriting_the_status_changes_that_line_and_nothing_else(
        repo: Repository, scratch: Path, example: Example,
        new: tuple[str, tuple[str, str | None]]) -> None:
    _, commit = commit_example(repo, example)
    original = export(repo, commit)
    queue_dir = scratch / "patchsets" / "demo" / f"1.{next(_serial)}"
    before = parsed(original, queue_dir)
    queue, problems = read_queue(queue_dir.parent.parent, "demo", queue_dir.name)
    assert problems == []
    value = new[0].removeprefix("Upstream-Status:").strip()
    rewrite_statuses(queue, {before.name: value})
    after = parse_patch(queue_dir / before.name)
    assert (after.status.kind, after.status.argument) == new[1]
    assert after.status.line == before.status.line
    for name in ("author", "date", "subject", "diff", "files"):
        assert getattr(after, name) == getattr(before, name), name
    assert after.message == before.message.replace(example.status_line,
                                                   f"Upstream-Status: {value}")
    old_lines = original.split(b"\n")
    new_lines = (queue_dir / before.name).read_bytes().split(b"\n")
    at = before.status.line - 1
    assert new_lines[:at] + new_lines[at + 1:] == old_lines[:at] + old_lines[at + 1:]
    assert new_lines[at] == f"Upstream-Status: {value}".encode()


_HEADER_NAMES = st.sampled_from(["From", "Subject", "Date", "Content-Type", "X-Y", "MIME-Version",
                                 "Content-Transfer-Encoding", "from", ":", "Bad Header", ""])


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(st.one_of(
    st.tuples(_HEADER_NAMES, st.text(_LINE_CHARS, max_size=20)).map(lambda h: f"{h[0]}: {h[1]}"),
    st.text(_LINE_CHARS, max_size=20).map(lambda t: " " + t),  # a folded continuation
    _CONTENT_LINE), max_size=8),
       mbox=st.booleans(), blank=st.booleans(), body=st.lists(_CONTENT_LINE, max_size=6))
def test_the_fast_mail_body_is_what_the_email_parser_reads_or_none(
        lines: list[str], mbox: bool, blank: bool, body: list[str]) -> None:
    import email
    import email.policy

    head = "\n".join([*(["From 0123 Mon Sep 17 00:00:00 2001"] if mbox else []), *lines,
                      *([""] if blank else []), *body]) + "\n"
    fast = plain_mail_body(head)
    if fast is not None:
        payload = email.message_from_string(head, policy=email.policy.compat32).get_payload()
        assert fast == payload
    event("fast" if fast is not None else "parser")


class _Settled(KeptPatches):
    _RACY_SECONDS = -3600.0  # every file counts as settled: what is kept is tested


@settings(GIT_EXAMPLES, max_examples=30)
@given(example=examples())
def test_a_parse_kept_between_commands_is_the_parse(repo: Repository, scratch: Path,
                                                    example: Example) -> None:
    """What the report reads from kept/patches.json is what parse_patch reads from the
    file: every field, the author's name, the message, the status and its line."""
    _, commit = commit_example(repo, example)
    folder = scratch / f"kept-{next(_serial)}"
    patch = parsed(export(repo, commit), folder)
    kept = _Settled(folder / "patches.json")
    assert kept.parse(patch.path) == patch
    kept.save()
    assert _Settled(folder / "patches.json").parse(patch.path) == patch
