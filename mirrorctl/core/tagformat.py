"""Release-tag formats: "v{version}", "release-{version}", "rel_{major}_{minor}_{micro}".

A format maps a PEP 440 version to the tag upstream uses for it, and back.
"""

from __future__ import annotations

import re
import string

from packaging.version import InvalidVersion, Version

__all__ = ["TagFormat", "TagFormatError"]

_FIELD_PATTERNS = {
    "version": r"(?P<version>[0-9][0-9A-Za-z.+!_-]*?)",
    "major": r"(?P<major>[0-9]+)",
    "minor": r"(?P<minor>[0-9]+)",
    "micro": r"(?P<micro>[0-9]+)",
}


class TagFormatError(ValueError):
    pass


class TagFormat:
    """A parsed tag template; construction fails on anything but the four fields."""

    def __init__(self, template: str) -> None:
        self.template = template
        self._regex = re.compile(self._compile(template))

    @staticmethod
    def _compile(template: str) -> str:
        pattern, fields = "", []
        try:
            parsed = list(string.Formatter().parse(template))
        except ValueError as exc:
            raise TagFormatError(f"{template!r} is not a valid format: {exc}") from exc
        for literal, name, spec, conversion in parsed:
            pattern += re.escape(literal)
            if name is None:
                continue
            if name not in _FIELD_PATTERNS:
                known = ", ".join("{" + f + "}" for f in _FIELD_PATTERNS)
                raise TagFormatError(f"unknown field {{{name}}} in {template!r}; use {known}")
            if spec or conversion or name in fields:
                raise TagFormatError(f"field {{{name}}} may appear once, without a format spec")
            fields.append(name)
            pattern += _FIELD_PATTERNS[name]
        if "version" not in fields and "major" not in fields:
            raise TagFormatError(f"{template!r} names no version: put {{version}} in it")
        if "version" in fields and len(fields) > 1:
            raise TagFormatError(
                f"{template!r} mixes {{version}} with {{major}}/{{minor}}/{{micro}}")
        return f"^{pattern}$"

    def tag_for(self, version: str) -> str:
        v = Version(version)
        return self.template.format(version=version, major=v.major, minor=v.minor, micro=v.micro)

    def version_of(self, tag: str) -> str | None:
        """The version a tag names, or None when the tag does not fit the format."""
        match = self._regex.match(tag)
        if not match:
            return None
        groups = match.groupdict()
        text = groups.get("version") or ".".join(
            groups[f] for f in ("major", "minor", "micro") if groups.get(f) is not None
        )
        try:
            Version(text)
        except InvalidVersion:
            return None
        return text

    def __repr__(self) -> str:
        return f"TagFormat({self.template!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TagFormat) and other.template == self.template

    def __hash__(self) -> int:
        return hash(self.template)
