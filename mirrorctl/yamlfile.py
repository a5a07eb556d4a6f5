"""YAML loading that remembers where every key stands.

PyYAML's safe loader silently keeps the last of two duplicate keys, expands
aliases without limit and forgets line numbers. mirrorctl's config errors must
name file and line, so we compose the node graph ourselves and build plain data
from it, with a map from each key path to its line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from mirrorctl.errors import ConfigProblem

__all__ = ["KeyPath", "LoadedYaml", "load_yaml", "render_path"]

KeyPath = tuple[str | int, ...]

try:  # libyaml is several times faster; the pure-Python loader behaves the same.
    _Loader: type[yaml.SafeLoader | yaml.CSafeLoader] = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader


@dataclass
class LoadedYaml:
    file: str
    data: Any = None
    lines: dict[KeyPath, int] = field(default_factory=dict)
    problems: list[ConfigProblem] = field(default_factory=list)

    def line_of(self, path: KeyPath) -> int | None:
        """The line of `path`, or of its nearest located parent."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None

    def problem(self, path: KeyPath, message: str) -> ConfigProblem:
        return ConfigProblem(self.file, self.line_of(path), render_path(path), message)


def render_path(path: KeyPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def load_yaml(text: str, file: str) -> LoadedYaml:
    result = LoadedYaml(file)
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        result.problems.append(ConfigProblem(file, line, "", f"not valid YAML: {reason}"))
        return result
    if root is not None:
        result.data = _Builder(result).build(root, ())
    return result


class _Builder:
    def __init__(self, result: LoadedYaml) -> None:
        self._result = result
        self._seen: set[int] = set()
        self._constructor = yaml.constructor.SafeConstructor()

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        # The composer hands an alias back as the very node it names, so a node
        # met twice is an alias: refuse it rather than expand it (alias bombs).
        if id(node) in self._seen:
            line = self._result.lines.get(path, node.start_mark.line + 1)
            self._result.problems.append(ConfigProblem(
                self._result.file, line, render_path(path),
                "anchors and aliases are not supported here; use 'defaults:'"))
            return None
        self._seen.add(id(node))
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
            key = self._scalar(key_node, path)
            if key_node.tag == "tag:yaml.org,2002:merge":
                self._fail(key_node, path,
                           "merge keys (<<) are not supported here; use 'defaults:'")
                continue
            if not isinstance(key, str):
                self._fail(key_node, path, f"keys must be strings, not {key!r}")
                continue
            key_path = (*path, key)
            if key in out:
                first = self._result.lines.get(key_path)
                self._fail(key_node, key_path, f"duplicate key (first defined on line {first})")
                continue
            self._result.lines[key_path] = key_node.start_mark.line + 1
            out[key] = self.build(value_node, key_path)
        return out

    def _scalar(self, node: yaml.Node, path: KeyPath) -> Any:
        try:
            return self._constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            self._fail(node, path, getattr(exc, "problem", None) or str(exc))
            return None

    def _fail(self, node: yaml.Node, path: KeyPath, message: str) -> None:
        self._result.problems.append(
            ConfigProblem(self._result.file, node.start_mark.line + 1, render_path(path), message)
        )
