"""The files of the builders' repository an upgrade changes besides its queue folder,
as a person changes them: every line of the package's workflows that names the
version (the `version` input's default, its description's example, `|| 'V'`
fallbacks, env, job names, concurrency groups), and its docs entry
(docs/packages/<pkg>.yaml) gaining the new version.

Each edit is exact: only those lines change, and the file is parsed before and after
to prove the documents differ only in the values that held the version (an edit that
cannot be proved is not made, and says why). Pure: texts in, texts out. The workflows'
steps that apply the queue are edited in apply_steps.py.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from packaging.utils import canonicalize_name

from mirrorctl.core.buildsite import VERSION_DEFAULT, input_default
from mirrorctl.core.yamledit import both_parsed, differences, unproved

__all__ = ["Bump", "DocsEntry", "add_docs_version", "bump_workflow", "comment_from",
           "input_default", "workflows_of"]

def workflows_of(package: str, texts: Mapping[str, str], *, old: str) -> list[str]:
    """The workflow files (path -> text, from .github/workflows) that carry `package`'s
    version: build-/test-<package>.yml (or the common stem wheels of one upstream share),
    and any other whose `version` input defaults to `old` and which names the package."""
    wanted = canonicalize_name(package)
    found = []
    for path in sorted(texts):
        kind, _, stem = path.rsplit("/", 1)[-1].split(".")[0].partition("-")
        named = kind in ("build", "test") and stem and (
            canonicalize_name(stem) == wanted or wanted.startswith(canonicalize_name(stem) + "-"))
        carries = input_default(texts[path]) == old and package.lower() in texts[path].lower()
        if named or carries:
            found.append(path)
    return found


@dataclass(frozen=True)
class Bump:
    text: str  # the workflow, bumped (the same text when nothing was to change)
    lines: tuple[int, ...]  # the lines changed (1-based)
    problem: str = ""  # why it was not bumped (then text is the old one)
    # Comments that name the old version for a reason of their own: (line, text), left as
    # they are for a person to check, never claimed bumped.
    left: tuple[tuple[int, str], ...] = ()


def _token(version: str) -> re.Pattern[str]:
    """The version as a whole token: not inside 13.11.0, 3.11.0.1 or 3.11.0rc1."""
    return re.compile(rf"(?<![\w.]){re.escape(version)}(?![\w.]|[-+][0-9a-z])")


def bump_workflow(text: str, old: str, new: str) -> Bump:
    """Every spelling of `old` on the lines that speak of the version (the input's
    `default:`, and any line that says "version", as descriptions, `|| '3.11.0'`
    fallbacks, *_VERSION env, names and groups do), set to `new`; proved by parsing. A
    comment that only restates the version its line sets (on that line, or just above it,
    saying "version" or "default") is bumped with it; any other comment naming `old` is
    left, and said in `left`."""
    if old == new:
        return Bump(text, ())
    token = _token(old)
    default = VERSION_DEFAULT.search(text)
    default_line = text.count("\n", 0, default.end()) if default else -1
    lines = text.split("\n")
    changed: list[int] = []
    for number, line in enumerate(lines):
        said = _code(line)
        if (number == default_line or "version" in said.lower()) and token.search(said):
            lines[number] = token.sub(new, said) + line[len(said):]
            changed.append(number)
    left = []
    for number, line in enumerate(lines):
        remark = line[len(_code(line)):]
        if not token.search(remark):
            continue
        if _restates(lines, number, set(changed)):
            lines[number] = line[:len(line) - len(remark)] + token.sub(new, remark)
            changed.append(number)
        else:
            left.append((number + 1, line.strip()))
    bumped = "\n".join(lines)
    if not changed:
        return Bump(text, (), f"no line names the version {old}")
    problem = _proved(text, bumped, old, new)
    return Bump(text, (), problem) if problem else \
        Bump(bumped, tuple(sorted(n + 1 for n in changed)), left=tuple(left))


def _code(line: str) -> str:
    """What a line says, its comment aside (a full-line comment says nothing)."""
    if line.lstrip().startswith("#"):
        return line[:len(line) - len(line.lstrip())]
    return line.split(" #", 1)[0]


def _restates(lines: list[str], number: int, bumped: set[int]) -> bool:
    """Whether the comment of line `number` speaks of the version that its line, or the
    line its comment block stands above, sets: on a bumped line, or above one."""
    remark = lines[number][len(_code(lines[number])):].lower()
    if "version" not in remark and "default" not in remark:
        return False
    if number in bumped:
        return True
    below = number + 1
    while below < len(lines) and lines[below].lstrip().startswith("#"):
        below += 1
    return lines[number].lstrip().startswith("#") and below in bumped


def _proved(before: str, after: str, old: str, new: str) -> str:
    """"" when the parsed documents differ only in values where `old` became `new`."""
    token = _token(old)
    return unproved(before, after, lambda d: isinstance(d.before, str)
                    and isinstance(d.after, str) and token.sub(new, d.before) == d.after,
                    "the version")


@dataclass(frozen=True)
class DocsEntry:
    text: str  # the docs page with the new version (the same when it had it already)
    added: bool
    problem: str = ""


def add_docs_version(text: str, version: str, *, patched: bool, comment: str | None) -> DocsEntry:
    """The docs page (docs/packages/<pkg>.yaml) with `version` appended to its `versions`
    list as they write it (`- version: V`, `patched:` when it carries patches, a
    `comment:`), the rest of the file as it was; proved by parsing."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return DocsEntry(text, False, f"it does not parse ({type(exc).__name__})")
    versions = data.get("versions") if isinstance(data, dict) else None
    if not isinstance(versions, list):
        return DocsEntry(text, False, "it has no `versions:` list")
    if any(isinstance(v, dict) and str(v.get("version")) == version for v in versions):
        return DocsEntry(text, False)
    indent = _item_indent(text)
    lines = [f"{indent}- version: {version}"]
    if patched:
        lines.append(f"{indent}  patched:")
    if comment:
        lines += _comment_lines(comment, f"{indent}  ")
    new = _after_versions(text, "\n".join(lines))
    pair = both_parsed(text, new)
    after = pair[1] if not isinstance(pair, str) else None
    entry: dict[str, Any] = {"version": _parsed(version)}
    if patched:
        entry["patched"] = None
    if comment:
        entry["comment"] = comment
    if not isinstance(after, dict) or after.get("versions") != [*versions, entry] \
            or not all(d.within(("versions",)) for d in differences(data, after)):
        return DocsEntry(text, False, "the new entry could not be added without changing "
                                      "the rest of the file")
    return DocsEntry(new, True)


def _item_indent(text: str) -> str:
    found = re.search(r"^versions:\s*\n(\s*)-\s", text, re.M)
    return found.group(1) if found else "  "


def _after_versions(text: str, entry: str) -> str:
    """`text` with `entry` at the end of its versions list (the list's last item ends at
    the next top-level key, or the end of the file)."""
    lines = text.rstrip("\n").split("\n")
    start = next(n for n, line in enumerate(lines) if re.match(r"^versions:\s*$", line))
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or lines[end][:1] in (" ", "-", "\t")):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return "\n".join([*lines[:end], entry, *lines[end:]]) + "\n"


def _comment_lines(comment: str, pad: str) -> list[str]:
    """`comment:` as they write it: plain on one line, a `|` block over several."""
    body = comment.rstrip("\n")
    if "\n" not in body or comment.endswith("\n\n") or body[:1].isspace():
        return [f"{pad}comment: {_scalar(comment)}"]
    chomp = "|" if comment.endswith("\n") else "|-"
    return [f"{pad}comment: {chomp}",
            *(f"{pad}  {line}" if line else "" for line in body.split("\n"))]


def _scalar(text: str) -> str:
    """A comment as a YAML scalar that reads back as it is (quoted when it must be)."""
    dumped = yaml.safe_dump(text, default_flow_style=True, width=10_000, allow_unicode=True)
    return dumped.removesuffix("\n...\n").rstrip("\n")


def _parsed(version: str) -> Any:
    """How YAML reads a version written bare (3.11 is a float to it)."""
    return yaml.safe_load(version)


def comment_from(subjects: Sequence[str], package: str) -> str | None:
    """A docs comment drawn from the queue, in their words: "We patch <pkg> to <what its
    patches do>." (each subject without its `TST:`-style prefix)."""
    parts = [re.sub(r"^[A-Za-z0-9_.-]+:\s+", "", s).rstrip(".") for s in subjects]
    parts = [p[:1].lower() + p[1:] if p[1:2].islower() or len(p) == 1 else p
             for p in parts if p]
    if not parts:
        return None
    said = parts[0] if len(parts) == 1 else ", to ".join(parts[:-1]) + f", and to {parts[-1]}"
    return f"We patch {package} to {said}."
