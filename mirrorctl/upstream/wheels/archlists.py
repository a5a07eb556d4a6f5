"""Where upstream lists the architectures it builds under emulation, beside the matrix:
expressions (`matrix.arch == 'ppc64le' || matrix.arch == 's390x'`,
`contains(fromJSON('["ppc64le", "s390x"]'), matrix.arch)`), the builds whose tests it
skips (`test-skip = "*-*linux_{ppc64le,s390x}"`, CIBW_TEST_SKIP) and the overrides it
selects by architecture (`select = "*-musllinux_s390x"`). riscv64, joining as one of
them, joins each list, at its place, every other character kept."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from mirrorctl.core.yamledit import Edit, EditError

# plan.add of the draft: (file, edit, the document path it changes, what it does)
Add = Callable[[str, Edit, tuple[Any, ...], str], None]

_TEST = r"matrix\.{key}\s*==\s*'([\w-]+)'"
_IN_LIST = re.compile(r"contains\(\s*fromJSON\(\s*'\[(?P<items>[^\]]*)\]'\s*\)\s*,\s*"
                      r"matrix\.(?P<key>[\w-]+)\s*\)")
_BRACES = re.compile(r"\{(?P<items>[\w,\s-]*)\}")


def extend_tests(text: str, root: Any, key: str, peers: Iterable[str], skipped: set[int],
                 add: Add, path: str) -> None:
    """Each expression that enumerates the emulated architectures (only them), outside
    the lines in `skipped` (the matrices and the QEMU step, edited on their own), takes
    riscv64."""
    peers = set(peers)
    test = _TEST.format(key=re.escape(key))
    chain = re.compile(rf"{test}(?:\s*\|\|\s*{test})+")
    offset = 0
    for number, line in enumerate(text.splitlines(keepends=True), 1):
        if number not in skipped and "riscv64" not in line:
            for found in chain.finditer(line):
                if set(re.findall(test, found.group(0))) <= peers:
                    _or_riscv64(text, root, add, path, offset + found.end(),
                                f" || matrix.{key} == 'riscv64'")
            for at, addition in list_insertions(line, key, peers):
                _or_riscv64(text, root, add, path, offset + at, addition)
        offset += len(line)


def list_insertions(text: str, key: str, peers: Iterable[str]) -> list[tuple[int, str]]:
    """Where riscv64 goes into each `contains(fromJSON('[...]'), matrix.<key>)` of `text`
    that lists emulated architectures: (offset, what to insert)."""
    found = []
    for m in _IN_LIST.finditer(text):
        items = re.findall(r"['\"]?([\w-]+)['\"]?", m.group("items"))
        if m.group("key") == key and set(items) & set(peers) and "riscv64" not in items:
            quote = '"' if '"' in m.group("items") else ""
            found.append((m.end("items"), f", {quote}riscv64{quote}"))
    return found


def with_riscv64(value: str, peers: Iterable[str]) -> str:
    """A build selector that names emulated architectures, riscv64 beside them:
    `*-*linux_{ppc64le,s390x}` -> `*-*linux_{ppc64le,s390x,riscv64}`,
    `*_ppc64le *_s390x` -> `*_ppc64le *_s390x *_riscv64`. Unchanged when it names none
    (or names riscv64 already)."""
    names = "|".join(re.escape(p) for p in sorted(set(peers)))
    if not names or "riscv64" in value:
        return value

    def braces(m: re.Match[str]) -> str:
        items = m.group("items")
        if not re.search(rf"(?<![\w-])(?:{names})(?![\w-])", items):
            return m.group(0)
        return "{" + items.rstrip() + ",riscv64" + items[len(items.rstrip()):] + "}"

    braced = _BRACES.sub(braces, value)
    if braced != value:
        return braced
    words = list(re.finditer(r"\S+", value))
    named = [w for w in words if re.search(rf"_(?:{names})(?![\w-])", w.group(0))]
    if not named:
        return value
    last = named[-1]
    copy = re.sub(rf"_(?:{names})(?![\w-])", "_riscv64", last.group(0))
    return value[:last.end()] + " " + copy + value[last.end():]


def extend_selector(text: str, node: Any, peers: Iterable[str]) -> Edit | None:
    """The edit that puts riscv64 into a one-line YAML build selector (CIBW_TEST_SKIP),
    or None when it names none of the peers."""
    if not isinstance(node, ScalarNode) or node.style in ("|", ">"):
        return None
    quoted = 1 if node.style in ("'", '"') else 0
    start, end = node.start_mark.index + quoted, node.end_mark.index - quoted
    raw = text[start:end]
    new = with_riscv64(raw, peers)
    if new == raw:
        return None
    if "\n" in raw:
        raise EditError(f"line {node.start_mark.line + 1}: a build selector over several "
                        "lines")
    return Edit(start, end, new)


def extend_pyproject(document: Any, peers: Iterable[str]) -> list[str]:
    """riscv64 into pyproject's `test-skip` (of [tool.cibuildwheel] and its .linux) and
    the `select` of each override that names the emulated architectures; what changed."""
    peers = set(peers)
    tool = document.get("tool", {}).get("cibuildwheel")
    if tool is None:
        return []
    changed = []
    tables = [("[tool.cibuildwheel]", tool)]
    if "linux" in tool:
        tables.append(("[tool.cibuildwheel.linux]", tool["linux"]))
    for name, table in tables:
        if "test-skip" in table and _extend_value(table, "test-skip", peers):
            changed.append(f"pyproject.toml: riscv64 joins {name} test-skip, as the "
                           "emulated architectures do")
    for number, override in enumerate(tool.get("overrides", []), 1):
        if "select" in override and _extend_value(override, "select", peers):
            changed.append(f"pyproject.toml: riscv64 selected by override {number} "
                           f"({override.get('select')!s}), as the emulated architectures are")
    return changed


def _extend_value(table: Any, key: str, peers: set[str]) -> bool:
    value = table[key]
    if isinstance(value, str):
        new = with_riscv64(value, peers)
        if new != value:
            table[key] = new
        return new != value
    if isinstance(value, list) and all(isinstance(v, str) for v in value) \
            and not any("riscv64" in v for v in value):
        extended = with_riscv64(" ".join(value), peers).split()
        if len(extended) > len(value):
            value.append(extended[-1])
            return True
        updated = [with_riscv64(v, peers) for v in value]
        if updated != list(value):
            for index, selector in enumerate(updated):
                value[index] = selector
            return True
    return False


def _or_riscv64(text: str, root: Any, add: Add, path: str, at: int, addition: str) -> None:
    number = text.count("\n", 0, at) + 1
    where = _path_at(root, at)
    if where is None:
        raise EditError(f"line {number}: an expression outside any value")
    add(path, Edit(at, at, addition), where,
        f"riscv64 joins the architectures tested at line {number}")


def _path_at(node: Any, at: int, where: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
    """The document path of the value that holds the character at `at`."""
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if value.start_mark.index <= at <= value.end_mark.index:
                return _path_at(value, at, (*where, key.value))
        return None
    if isinstance(node, SequenceNode):
        for index, value in enumerate(node.value):
            if value.start_mark.index <= at <= value.end_mark.index:
                return _path_at(value, at, (*where, index))
        return None
    return where
