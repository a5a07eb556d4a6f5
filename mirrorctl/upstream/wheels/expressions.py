"""GitHub Actions expressions, as far as a step's `if:` over a matrix needs them (pure):
literals, `matrix.*` and `runner.os`, `==` `!=` `<` `>` `<=` `>=` `&&` `||` `!` and
parentheses, and contains / startsWith / endsWith / fromJSON. GitHub's rules: string comparison
ignores case; `&&` and `||` return an operand; a missing property is null. Anything
else (another context, another function) makes the value unknown: evaluate() returns
UNKNOWN (not None, which is null), and the caller says it could not tell, never guesses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["UNKNOWN", "evaluate", "truthy"]

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|"
                    r"(?P<op>==|!=|<=|>=|&&|\|\||[<>!(),])|(?P<name>[A-Za-z_][\w.-]*(?:\[\s*'[^']*'\s*\])?))")
class _Unknowable:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknowable()


class _Unknown(Exception):
    pass


def truthy(value: Any) -> bool:
    return value is not UNKNOWN and value not in (None, False, 0, "")


def evaluate(text: str, context: Mapping[str, Any]) -> Any:
    """The value of an expression (with or without `${{ }}`); UNKNOWN when it cannot be
    known here. `context`: {"matrix": {...}, "runner": {"os": "Linux"}}."""
    body = text.strip()
    if body.startswith("${{") and body.endswith("}}"):
        body = body[3:-2]
    try:
        tokens = _tokens(body)
        parser = _Parser(tokens, context)
        value = parser.expression()
        if parser.position != len(tokens):
            raise _Unknown
    except _Unknown:
        return UNKNOWN
    return value


def _tokens(text: str) -> list[tuple[str, str]]:
    found, position = [], 0
    while position < len(text):
        if not text[position:].strip():
            break
        match = _TOKEN.match(text, position)
        if match is None:
            raise _Unknown
        kind = match.lastgroup or ""
        found.append((kind, match.group(kind)))
        position = match.end()
    return found


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], context: Mapping[str, Any]) -> None:
        self.tokens, self.context, self.position = tokens, context, 0

    def _peek(self) -> str | None:
        return self.tokens[self.position][1] if self.position < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        if self.position >= len(self.tokens):
            raise _Unknown
        self.position += 1
        return self.tokens[self.position - 1]

    def expression(self) -> Any:
        value = self._and()
        while self._peek() == "||":
            self._take()
            right = self._and()
            value = value if truthy(value) else right
        return value

    def _and(self) -> Any:
        value = self._comparison()
        while self._peek() == "&&":
            self._take()
            right = self._comparison()
            value = right if truthy(value) else value
        return value

    def _comparison(self) -> Any:
        left = self._unary()
        while self._peek() in ("==", "!=", "<", ">", "<=", ">="):
            op = self._take()[1]
            left = _compare(op, left, self._unary())
        return left

    def _unary(self) -> Any:
        if self._peek() == "!":
            self._take()
            return not truthy(self._unary())
        return self._primary()

    def _primary(self) -> Any:
        kind, text = self._take()
        if text == "(":
            value = self.expression()
            if self._take()[1] != ")":
                raise _Unknown
            return value
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return float(text)
        if kind != "name":
            raise _Unknown
        if self._peek() == "(":
            return self._call(text)
        return self._name(text)

    def _call(self, name: str) -> Any:
        self._take()
        args = [self.expression()]
        while self._peek() == ",":
            self._take()
            args.append(self.expression())
        if self._take()[1] != ")":
            raise _Unknown
        if name.lower() == "fromjson" and len(args) == 1:
            try:
                return json.loads(str(args[0]))
            except ValueError:
                raise _Unknown from None
        if len(args) != 2:
            raise _Unknown
        first, second = (str(a).lower() if a is not None else "" for a in args)
        functions = {"contains": lambda: second in first if not isinstance(args[0], list)
                     else any(str(a).lower() == second for a in args[0]),
                     "startswith": lambda: first.startswith(second),
                     "endswith": lambda: first.endswith(second)}
        if name.lower() not in functions:
            raise _Unknown
        return functions[name.lower()]()

    def _name(self, text: str) -> Any:
        literals = {"true": True, "false": False, "null": None}
        if text in literals:
            return literals[text]
        head, _, rest = text.partition(".")
        if m := re.match(r"^(\w+)\[\s*'([^']*)'\s*\]$", text):
            head, rest = m.group(1), m.group(2)
        if head not in self.context or not rest:
            raise _Unknown
        value: Any = self.context[head]
        for part in rest.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        return value


def _compare(op: str, left: Any, right: Any) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        left, right = left.lower(), right.lower()
    elif isinstance(left, str) != isinstance(right, str):
        left, right = _number(left), _number(right)
    if op in ("==", "!="):
        return bool((left == right) == (op == "=="))
    try:
        return bool({"<": left < right, ">": left > right, "<=": left <= right,
                     ">=": left >= right}[op])
    except TypeError:
        return False


def _number(value: Any) -> Any:
    """GitHub compares values of different types as numbers."""
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")
