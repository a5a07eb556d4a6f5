"""YAML loading that remembers where every key stands.

PyYAML's safe loader silently keeps the last of two duplicate keys, expands
aliases without limit and forgets line numbers. mirrorctl's config errors must
name file and line, so we compose the node graph ourselves and build plain data
from it, with a map from each key path to its line.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from mirrorctl.core.errors import ConfigProblem

__all__ = ["KeyPath", "LoadedYaml", "load_yaml", "render_path"]

KeyPath = tuple[str | int, ...]

try:  # libyaml is several times faster; the pure-Python loader behaves the same.
    _Loader: type[yaml.SafeLoader | yaml.CSafeLoader] = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader

# mirrors.yaml needs five levels. libyaml takes quadratic time over nested flow
# collections ("[[[[...") and overflows the C stack past some 50,000 of them, and the
# builder below recurses, so deeper documents are refused before they are composed.
_MAX_DEPTH = 20
_ALIAS = "tag:mirrorctl,2025:alias"  # an alias composed where it stands (see below)
_REFUSED_ALIAS = "anchors and aliases are not supported here; use 'defaults:'"


@dataclass
class LoadedYaml:
    file: str
    data: Any = None
    lines: dict[KeyPath, int] = field(default_factory=dict)
    problems: list[ConfigProblem] = field(default_factory=list)
    refused: set[KeyPath] = field(default_factory=set)  # values left out (None), and why said

    def line_of(self, path: KeyPath) -> int | None:
        """The line of `path`, or of its nearest located parent."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None

    def problem(self, path: KeyPath, message: str) -> ConfigProblem:
        return ConfigProblem(self.file, self.line_of(path), render_path(path), message)

    def refused_within(self, path: KeyPath) -> bool:
        """True when the value at `path`, or a part of it, was refused with a problem."""
        return any(refused[:len(path)] == path for refused in self.refused)


def render_path(path: KeyPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def load_yaml(text: str, file: str) -> LoadedYaml:
    deep = _too_deep(text)
    if deep is not None:
        problem = ConfigProblem(file, deep, "", f"nested more than {_MAX_DEPTH} levels deep")
        return LoadedYaml(file, problems=[problem])
    result = _load(text, file, _Loader)
    if any(p.message == _REFUSED_ALIAS for p in result.problems):
        # libyaml hands an alias back as the very node it names, so a refused alias is
        # only known by its anchor's line. Compose again with the pure-Python composer,
        # which keeps each alias where it stands; only a refused file pays for it.
        with contextlib.suppress(RecursionError):  # block nesting too deep for it
            result = _load(text, file, _AliasKeepingLoader)
    return result


def _load(text: str, file: str, loader: type[yaml.SafeLoader | yaml.CSafeLoader]) -> LoadedYaml:
    result = LoadedYaml(file)
    try:
        root = yaml.compose(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        result.problems.append(ConfigProblem(file, line, "", f"not valid YAML: {reason}"))
        return result
    if root is not None:
        result.data = _Builder(result).build(root, ())
    return result


def _too_deep(text: str) -> int | None:
    """The line where flow brackets first nest deeper than _MAX_DEPTH, if they do. Brackets
    in quoted strings count too: no real mirrors.yaml comes near the limit with them."""
    depth = 0
    for bracket in re.finditer(r"[][{}]", text):
        depth = depth + 1 if bracket.group() in "[{" else max(0, depth - 1)
        if depth > _MAX_DEPTH:
            return text.count("\n", 0, bracket.start()) + 1
    return None


class _AliasKeepingLoader(yaml.SafeLoader):
    """Composes an alias as a node of its own, at the alias, instead of the node it names."""

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.get_event()  # type: ignore[no-untyped-call]  # untyped in the stubs
            return yaml.ScalarNode(_ALIAS, event.anchor, event.start_mark, event.end_mark)
        return super().compose_node(parent, index)


class _Builder:
    def __init__(self, result: LoadedYaml) -> None:
        self._result = result
        self._seen: set[int] = set()
        self._constructor = yaml.constructor.SafeConstructor()

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        # The composer hands an alias back as the very node it names (_AliasKeepingLoader
        # does not), so a node met twice is an alias: refuse it, never expand it (alias bombs).
        if node.tag == _ALIAS or id(node) in self._seen:
            return self._refuse(node, path, _REFUSED_ALIAS)
        self._seen.add(id(node))
        if len(path) > _MAX_DEPTH:
            return self._refuse(node, path, f"nested more than {_MAX_DEPTH} levels deep")
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.tag not in (
                "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"):
            # A tag such as !!python/object/apply:os.system on a list must not be ignored.
            return self._refuse(node, path,
                                f"could not determine a constructor for the tag {node.tag!r}")
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self._item(child, (*path, i)) for i, child in enumerate(node.value)]
        return self._scalar(node, path)

    def _item(self, node: yaml.Node, path: KeyPath) -> Any:
        self._result.lines.setdefault(path, node.start_mark.line + 1)
        return self.build(node, path)

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self._key(key_node, path)
            if key is None:
                continue
            key_path = (*path, key)
            if key in out:
                first = self._result.lines.get(key_path)
                self._fail(key_node, key_path, f"duplicate key (first defined on line {first})")
                continue
            self._result.lines[key_path] = key_node.start_mark.line + 1
            out[key] = self.build(value_node, key_path)
        return out

    def _key(self, node: yaml.Node, path: KeyPath) -> str | None:
        """The key of a mapping entry; None, with a problem, when it cannot be one."""
        if node.tag == "tag:yaml.org,2002:merge":
            self._fail(node, path, "merge keys (<<) are not supported here; use 'defaults:'")
            return None
        if node.tag == _ALIAS or id(node) in self._seen:
            self._fail(node, path, _REFUSED_ALIAS)
            return None
        self._seen.add(id(node))
        if not isinstance(node, yaml.ScalarNode):  # never constructed: it may be an alias bomb
            kind = "a list" if isinstance(node, yaml.SequenceNode) else "a mapping"
            self._fail(node, path, f"keys must be strings, not {kind}")
            return None
        try:
            key = self._constructor.construct_object(node)
        except yaml.YAMLError as exc:
            self._fail(node, path, getattr(exc, "problem", None) or str(exc))
            return None
        if not isinstance(key, str):
            self._fail(node, path, f"keys must be strings, not {key!r}")
            return None
        return key

    def _scalar(self, node: yaml.Node, path: KeyPath) -> Any:
        try:
            return self._constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            return self._refuse(node, path, getattr(exc, "problem", None) or str(exc))

    def _refuse(self, node: yaml.Node, path: KeyPath, message: str) -> None:
        """A problem with a value, on the line of its key (or list item): the value becomes
        None, and the validator says nothing more about it."""
        self._result.refused.add(path)
        line = self._result.lines.get(path, node.start_mark.line + 1)
        self._result.problems.append(
            ConfigProblem(self._result.file, line, render_path(path), message))

    def _fail(self, node: yaml.Node, path: KeyPath, message: str) -> None:
        """A problem with a key: its value is left out."""
        self._result.problems.append(
            ConfigProblem(self._result.file, node.start_mark.line + 1, render_path(path), message)
        )
