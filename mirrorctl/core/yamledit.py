"""Exact edits of YAML that people wrote, and their proof (pure), for every edit
mirrorctl makes of a file a person keeps: the builders' workflows and docs pages (a
version bumped, an apply step carried), upstream's wheel workflows (riscv64 added).

The edits: a value appended to a list, a list entry copied with one value changed, a
step inserted, text added to a scalar, each at the place PyYAML's composer says the
node stands, so every other byte of the file stays as it was (its comments, quoting,
indentation and order): reviewers see the lines concerned change, and nothing else.

The proof: the file is parsed before and after (`parsed`), and the documents'
`differences` are each checked against what the edit meant to change; an edit that
cannot be proved is not made, and says why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = [
    "MISSING",
    "Difference",
    "Edit",
    "EditError",
    "append_item",
    "apply_edits",
    "both_parsed",
    "child",
    "compose",
    "copy_entries",
    "copy_entry",
    "differences",
    "extend_scalar",
    "insert_step",
    "item",
    "node_at",
    "parsed",
    "unproved",
]


class EditError(ValueError):
    """The text is not in a form these edits keep exact."""


@dataclass(frozen=True)
class Edit:
    start: int  # character offsets in the text
    end: int
    text: str


def compose(text: str) -> Node:
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    if node is None:
        raise EditError("the file is empty")
    return node


def child(node: Node | None, key: str) -> Node | None:
    if not isinstance(node, MappingNode):
        return None
    for k, v in node.value:
        if isinstance(k, ScalarNode) and k.value == key:
            found: Node = v
            return found
    return None


def item(node: Node | None, index: int) -> Node | None:
    """The `index`th item of a list node, or None."""
    if isinstance(node, SequenceNode) and 0 <= index < len(node.value):
        found: Node = node.value[index]
        return found
    return None


def node_at(root: Node | None, *keys: str) -> Node | None:
    node: Node | None = root
    for key in keys:
        node = child(node, key)
    return node


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _line_end(text: str, index: int) -> int:
    end = text.find("\n", index)
    return len(text) if end < 0 else end


def _scalar_text(value: str, like: Node) -> str:
    style = like.style if isinstance(like, ScalarNode) else None
    return f"{style}{value}{style}" if style in ("'", '"') else value


def append_item(text: str, sequence: Node, value: str) -> Edit:
    """`value` as the last item of a list, in the list's style (flow or block) and its
    last item's quoting."""
    if not isinstance(sequence, SequenceNode) or not sequence.value:
        raise EditError("not a list with items")
    last = sequence.value[-1]
    if not isinstance(last, ScalarNode):
        raise EditError("its items are not plain values")
    item = _scalar_text(value, last)
    if sequence.flow_style:
        return Edit(last.end_mark.index, last.end_mark.index, f", {item}")
    start = _line_start(text, last.start_mark.index)
    prefix = text[start:last.start_mark.index]
    if prefix.strip() != "-":
        raise EditError("a list item that does not start its line")
    end = _line_end(text, last.end_mark.index)
    return Edit(end, end, f"\n{prefix}{item}")


def copy_entry(text: str, sequence: Node, template: Node, changes: dict[str, str]) -> Edit:
    """A copy of a block list's mapping entry `template`, inserted after the list's last
    entry, with the values of `changes` (keys of the entry) replaced."""
    return copy_entries(text, sequence, [(template, changes)])


def copy_entries(text: str, sequence: Node, copies: list[tuple[Node, dict[str, str]]],
                 after: int = -1) -> Edit:
    """Copies of a block list's mapping entries, in order, after its entry `after` (the
    last by default), each with the values of its `changes` replaced. An entry is a block
    mapping, or a flow mapping on its line (`- { os: ubuntu-latest, arch: ppc64le }`),
    kept so."""
    if not isinstance(sequence, SequenceNode) or sequence.flow_style:
        raise EditError("not a block list of mappings")
    blocks = [_entry_copy(text, template, changes) for template, changes in copies]
    last_entry = sequence.value[after]
    tail = last_entry.value[-1][1] if isinstance(last_entry, MappingNode) and \
        last_entry.value and not last_entry.flow_style else last_entry
    after = _line_end(text, tail.end_mark.index)
    return Edit(after, after, "".join("\n" + block for block in blocks))


def _entry_copy(text: str, template: Node, changes: dict[str, str]) -> str:
    if not isinstance(template, MappingNode) or not template.value:
        raise EditError("an entry that is no mapping")
    start = _line_start(text, template.start_mark.index)
    if text[start:template.start_mark.index].strip() != "-":
        raise EditError("an entry that does not start its line")
    if template.flow_style:
        end = template.end_mark.index
        if "\n" in text[start:end]:
            raise EditError("a flow mapping entry over several lines")
        end = _line_end(text, end)
    else:
        end = _line_end(text, template.value[-1][1].end_mark.index)
    replaced = []
    added = []
    for key, value in changes.items():
        node = child(template, key)
        if node is None:
            added.append(f"{key}: {value}")  # a key the template lacks: the copy sets it
            continue
        if not isinstance(node, ScalarNode):
            raise EditError(f"the entry has no plain {key}")
        replaced.append((node.start_mark.index - start, node.end_mark.index - start,
                         _scalar_text(value, node)))
    block = text[start:end]
    if added and template.flow_style:
        close = block.rfind("}")
        at = len(block[:close].rstrip())  # `{ a: 1 }` and `{a: 1}` alike
        block = block[:at] + "".join(f", {a}" for a in added) + block[at:]
    elif added:
        indent = " " * template.value[0][0].start_mark.column
        block += "".join(f"\n{indent}{a}" for a in added)
    for a, b, new in sorted(replaced, reverse=True):
        grown = len(new) - (b - a)
        if template.flow_style and grown > 0:
            # aligned columns (`target: s390x,   manylinux: auto`) stay aligned: the
            # padding after the value gives up what the value grew, down to one space
            pad = re.match(r",( +)", block[b:])
            if pad is not None and len(pad.group(1)) > 1:
                take = min(grown, len(pad.group(1)) - 1)
                block = block[:b + 1] + block[b + 1 + take:]
        block = block[:a] + new + block[b:]
    return block


def insert_step(text: str, steps: Node | None, before: int, lines: list[str]) -> Edit:
    """A new step (its lines: `name: ...`, `if: ...`, `uses: ...`, `with:`, `  key: ...`)
    inserted before the `before`th of a block list of steps, indented as that step is."""
    target = item(steps, before)
    if not isinstance(steps, SequenceNode) or steps.flow_style or target is None:
        raise EditError("not a block list of steps")
    start = _line_start(text, target.start_mark.index)
    prefix = text[start:target.start_mark.index]
    if prefix.strip() != "-":
        raise EditError("a step that does not start its line")
    inner = " " * len(prefix)
    block = "".join(f"{prefix if n == 0 else inner}{line}\n" for n, line in enumerate(lines))
    # The comment lines just above a step are that step's: the new one goes above them.
    while start > 0:
        above = _line_start(text, start - 1)
        if not text[above:start].strip().startswith("#"):
            break
        start = above
    return Edit(start, start, block)


def extend_scalar(text: str, scalar: Node | None, addition: str) -> Edit:
    """`addition` at the end of a scalar's value, inside its quotes."""
    if not isinstance(scalar, ScalarNode) or scalar.style in ("|", ">"):
        raise EditError("not a one-line value")
    end = scalar.end_mark.index - (1 if scalar.style in ("'", '"') else 0)
    if text[scalar.start_mark.index:scalar.end_mark.index].count("\n"):
        raise EditError("a value over several lines")
    return Edit(end, end, addition)


def apply_edits(text: str, edits: list[Edit]) -> str:
    for edit in sorted(edits, key=lambda e: (e.start, e.end), reverse=True):
        text = text[:edit.start] + edit.text + text[edit.end:]
    return text


def parsed(text: str) -> Any:
    """The document, for a proof (yaml.YAMLError when it is not YAML: the caller says
    why nothing can be proved)."""
    return yaml.safe_load(text)


def both_parsed(before: str, after: str) -> tuple[Any, Any] | str:
    """The documents before and after an edit, or why no edit of them can be proved."""
    try:
        return parsed(before), parsed(after)
    except yaml.YAMLError as exc:
        return f"it does not parse as YAML ({type(exc).__name__}), so no edit can be proved"


def unproved(before: str, after: str, allowed: Callable[[Difference], bool],
             what: str) -> str:
    """"" when both parse and every difference between them is one `allowed` takes (what
    the edit meant to change: `what`, for the message); else why the edit is not made."""
    pair = both_parsed(before, after)
    if isinstance(pair, str):
        return pair
    wrong = [d for d in differences(*pair) if not allowed(d)]
    if wrong:
        return f"the edit would change more than {what}: " + "; ".join(map(str, wrong[:3]))
    return ""


class _Missing:
    def __repr__(self) -> str:
        return "(none)"


MISSING: Any = _Missing()  # the side of a difference where a key is not


@dataclass(frozen=True)
class Difference:
    """One place where two parsed documents differ: a key or an item only one has
    (MISSING on the other side), a list of another length, or two other values."""

    path: tuple[Any, ...]
    before: Any
    after: Any

    def within(self, place: tuple[Any, ...]) -> bool:
        return self.path[:len(place)] == place

    def __str__(self) -> str:
        where = ".".join(str(p) for p in self.path) or "the whole document"
        return f"{where}: {self.before!r} -> {self.after!r}"


def differences(before: Any, after: Any, at: tuple[Any, ...] = ()) -> list[Difference]:
    """Every place where the parsed documents differ, outermost first: mappings are
    compared key by key, lists of one length item by item, anything else whole."""
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        found = []
        for key in dict.fromkeys([*before, *after]):
            if key not in before or key not in after:
                found.append(Difference((*at, key), before.get(key, MISSING),
                                        after.get(key, MISSING)))
            else:
                found += differences(before[key], after[key], (*at, key))
        return found
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [d for i, (x, y) in enumerate(zip(before, after, strict=True))
                for d in differences(x, y, (*at, i))]
    return [] if before == after else [Difference(at, before, after)]
