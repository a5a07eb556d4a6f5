"""The files a package's retirement changes in the builders' repository, as their bot
changes them (ci_scripts/check_versions.py, "<pkg>: deprecate our wheel"): its docs page
marked `deprecated:`, its line gone from packages.txt, its name added to deprecated.txt
(kept sorted, case aside, after the file's leading comments); and, where mirrors.yaml
lives in that repository, its entry marked `retired: true`, so that `inventory --check`
stays in line.

Each edit is exact: only what retires the package changes, and YAML is parsed before and
after to prove it (an edit that cannot be proved is not made, and says why). Pure:
texts in, texts out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml
from packaging.utils import canonicalize_name

__all__ = ["Edit", "add_to_list", "deprecate_docs", "remove_from_list", "retire_entry"]


@dataclass(frozen=True)
class Edit:
    text: str  # the file edited (the same text when nothing was to change)
    changed: bool = False
    problem: str = ""  # why it was not edited (then text is the old one)


def deprecate_docs(text: str) -> Edit:
    """The docs page with `deprecated:` on top, as their bot writes it."""
    if text.startswith("deprecated:"):
        return Edit(text)
    return Edit(f"deprecated:\n{text}", True)


def _listed(line: str) -> str:
    return line.split("#", 1)[0].strip()


def remove_from_list(text: str, package: str) -> Edit:
    """packages.txt without the package's line (its name compared as PyPI compares it)."""
    wanted = canonicalize_name(package)
    lines = text.splitlines()
    kept = [line for line in lines if not _listed(line) or canonicalize_name(
        _listed(line)) != wanted]
    if kept == lines:
        return Edit(text)
    return Edit("\n".join(kept) + "\n", True)


def add_to_list(text: str, package: str) -> Edit:
    """deprecated.txt with the package added: the file's leading comments first, then its
    names sorted case aside, as their bot keeps it."""
    lines = text.splitlines()
    if any(_listed(line) and canonicalize_name(_listed(line)) == canonicalize_name(package)
           for line in lines):
        return Edit(text)
    first = next((n for n, line in enumerate(lines)
                  if line.strip() and not line.lstrip().startswith("#")), len(lines))
    names = sorted([*lines[first:], package], key=str.lower)
    return Edit("\n".join([*lines[:first], *(n for n in names if n.strip())]) + "\n", True)


_KEY = re.compile(r"^(?P<indent>\s+)(?P<quote>['\"]?)(?P<name>[^'\":#\s]+)(?P=quote):\s*(#.*)?$")


def retire_entry(text: str, package: str) -> Edit:
    """mirrors.yaml with the package's entry marked `retired: true`, the rest as it was
    (comments and layout kept); proved by parsing."""
    try:
        before = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return Edit(text, problem=f"it does not parse ({type(exc).__name__})")
    entry = (before.get("packages") or {}).get(package) if isinstance(before, dict) else None
    if not isinstance(entry, dict):
        return Edit(text, problem=f"it has no entry for {package} to mark retired")
    if entry.get("retired") is True:
        return Edit(text)
    lines = text.split("\n")
    at = _entry_line(lines, package)
    if at is None:
        return Edit(text, problem=f"its entry for {package} is not written one key a line")
    indent = _key_indent(lines, at)
    if indent is None:
        return Edit(text, problem=f"its entry for {package} is not written one key a line")
    end = at + 1
    while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) >= len(indent)):
        end += 1
    flag = next((n for n in range(at + 1, end)
                 if re.match(rf"^{indent}retired:\s*(false|no)\s*(#.*)?$", lines[n])), None)
    if flag is not None:
        lines[flag] = f"{indent}retired: true"
    else:  # last, as `inventory` writes it
        last = max(n for n in range(at, end) if lines[n].strip())
        lines.insert(last + 1, f"{indent}retired: true")
    after_text = "\n".join(lines)
    return _proved(before, text, after_text, package)


def _entry_line(lines: list[str], package: str) -> int | None:
    """The line of the package's key under the top-level `packages:`."""
    start = next((n for n, line in enumerate(lines) if re.match(r"^packages:\s*(#.*)?$", line)),
                 None)
    if start is None:
        return None
    for n in range(start + 1, len(lines)):
        if lines[n].strip() and not lines[n][:1].isspace() and not lines[n].startswith("#"):
            return None  # the next top-level key: not found
        match = _KEY.match(lines[n])
        if match and match.group("name") == package:
            return n
    return None


def _key_indent(lines: list[str], at: int) -> str | None:
    """The indent of the entry's keys (its first key's), None for a flow-style entry."""
    own = _indent(lines[at])
    for line in lines[at + 1:]:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        return line[:_indent(line)] if _indent(line) > own else None
    return None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _proved(before: Any, text: str, after_text: str, package: str) -> Edit:
    try:
        after = yaml.safe_load(after_text)
    except yaml.YAMLError:
        after = None
    wanted = dict(before)
    wanted["packages"] = {**before["packages"],
                          package: {**before["packages"][package], "retired": True}}
    if after != wanted:
        return Edit(text, problem="the entry could not be marked without changing the rest "
                                  "of the file")
    return Edit(after_text, True)
