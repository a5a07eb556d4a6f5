"""Upstream-Status: the line every riscv64 patch carries, read as Yocto words it, and
checked, where a site asks, as the builders' own pull-request check does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["STATUS_KINDS", "PatchProblem", "UpstreamStatus", "builders_status_problem",
           "check_builders_status", "parse_upstream_status"]


class PatchProblem(ValueError):
    """A problem in a patch file, at a line of it where there is one."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class _Kind:
    argument: str  # "required", "optional" or "none"
    what: str  # what the argument is, for messages


# The builders' own vocabulary (Issue, Submitted, Backport, To upstream, Inappropriate)
# and Yocto's (Pending, Denied, Inactive-Upstream).
STATUS_KINDS: dict[str, _Kind] = {
    "Pending": _Kind("optional", "comment"),
    "To upstream": _Kind("optional", "comment"),
    "Submitted": _Kind("required", "url"),
    "Issue": _Kind("required", "url"),
    "Backport": _Kind("required", "url"),
    "Inappropriate": _Kind("required", "reason"),
    "Denied": _Kind("optional", "url"),
    "Inactive-Upstream": _Kind("optional", "lastcommit: ..., lastrelease: ..."),
}


_STATUS_LINE = re.compile(r"^Upstream-Status:[ \t]*(?P<value>.*?)[ \t]*$", re.M)
_STATUS_VALUE = re.compile(r"^(?P<kind>[A-Za-z][A-Za-z -]*?)[ \t]*(?:\[(?P<arg>.*)\])?$")


@dataclass(frozen=True, kw_only=True)
class UpstreamStatus:
    kind: str  # a key of STATUS_KINDS
    argument: str | None
    line: int  # in the patch file

    def __str__(self) -> str:
        return self.kind + (f" [{self.argument}]" if self.argument else "")


def parse_upstream_status(message: str, *, first_line: int = 1) -> UpstreamStatus:
    matches = list(_STATUS_LINE.finditer(message))
    if not matches:
        raise PatchProblem("no Upstream-Status: line; add one, e.g. 'Upstream-Status: Pending'")
    if len(matches) > 1:
        line = first_line + message.count("\n", 0, matches[1].start())
        raise PatchProblem("more than one Upstream-Status: line", line)
    match = matches[0]
    line = first_line + message.count("\n", 0, match.start())
    value = _STATUS_VALUE.match(match.group("value"))
    known = {k.lower(): k for k in STATUS_KINDS}
    kind = known.get(value.group("kind").strip().lower()) if value else None
    if value is None or kind is None:
        import difflib  # only a queue with a mistake pays for it

        choices = ", ".join(STATUS_KINDS)
        written = value.group("kind").strip() if value else match.group("value")
        close = difflib.get_close_matches(written.lower(), list(known), n=1, cutoff=0.6)
        hint = f"did you mean {known[close[0]]}? " if close else ""
        raise PatchProblem(f"unknown Upstream-Status {match.group('value')!r}; {hint}use one of "
                       f"{choices}", line)
    argument = (value.group("arg") or "").strip() or None
    rule = STATUS_KINDS[kind]
    if rule.argument == "required" and argument is None:
        raise PatchProblem(f"Upstream-Status: {kind} needs a [{rule.what}]", line)
    return UpstreamStatus(kind=kind, argument=argument, line=line)


# The builders' pull-request check (builders.md): the kind as written (case counts), then
# its argument: a URL in brackets for three of them, an optional comment, a reason.
_BUILDERS_KIND = re.compile(r"(Issue|Submitted|To upstream|Inappropriate|Backport|\w+) *(.*)",
                            re.S)
_BUILDERS_ARGUMENT = {
    "Issue": (re.compile(r"\[https?://\S+\]"), "[url], an http(s) URL without spaces"),
    "Submitted": (re.compile(r"\[https?://\S+\]"), "[url], an http(s) URL without spaces"),
    "Backport": (re.compile(r"\[https?://\S+\]"), "[url], an http(s) URL without spaces"),
    "To upstream": (re.compile(r"(\[.*\])?"), "nothing, or a [comment]"),
    "Inappropriate": (re.compile(r"\[.+\]"), "a [reason]"),
}


def builders_status_problem(value: str) -> str | None:
    """Why the builders' pull-request check refuses `value` (what follows
    "Upstream-Status:" and its spaces, as written), or None when it passes."""
    match = _BUILDERS_KIND.fullmatch(value)
    kind = match.group(1) if match else value.split(" ", 1)[0]
    if match is None or kind not in _BUILDERS_ARGUMENT:
        import difflib  # only a queue with a mistake pays for it

        close = difflib.get_close_matches(kind, list(_BUILDERS_ARGUMENT), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close and close[0] != kind else ""
        return (f"{kind or value!r} is not a status the builders' check accepts{hint} "
                f"(theirs: {', '.join(_BUILDERS_ARGUMENT)})")
    pattern, wanted = _BUILDERS_ARGUMENT[kind]
    if not pattern.fullmatch(match.group(2)):
        return f"Upstream-Status: {kind} takes {wanted}, not {match.group(2)!r}"
    return None


def check_builders_status(text: str) -> None:
    """The first Upstream-Status line, as the builders' check reads it."""
    for number, line in enumerate(text.split("\n"), 1):
        if line.startswith("Upstream-Status:"):
            problem = builders_status_problem(line.removeprefix("Upstream-Status:").lstrip(" "))
            if problem:
                raise PatchProblem(f"{problem} (status_vocabulary: builders)", number)
            return
