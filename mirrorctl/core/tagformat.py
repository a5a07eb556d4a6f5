"""Release-tag formats: "v{version}", "release-{version}", "rel_{major}_{minor}_{micro}".

A format maps a wheel's PEP 440 version to the tag upstream uses for it, and back. The
wheel's version is upstream's, unless the package says how they differ: a local
version label the wheel adds (torch's 2.13.0+cpu is upstream's v2.13.0), or a leading
major the wheel puts before upstream's number (protobuf's wheel 7.35.1 is v35.1).
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

    def __init__(self, template: str, *, local: str | None = None,
                 wheel_major: int | None = None) -> None:
        self.template = template
        self.local = local  # the wheel's local version label, e.g. "cpu"
        self.wheel_major = wheel_major  # the wheel's leading major, e.g. 7 for protobuf
        self._regex = re.compile(self._compile(template))
        if local is not None and not re.fullmatch(r"[a-z0-9]+(?:[.][a-z0-9]+)*", local):
            raise TagFormatError(f"local version label {local!r} must be letters and digits "
                                 "separated by dots, e.g. cpu or cu128")

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
        """The tag of the wheel version `version` (InvalidVersion when it is none, or does
        not fit the package's local label or leading major)."""
        upstream = self.upstream_version(version)
        v = Version(upstream)
        return self.template.format(version=upstream, major=v.major, minor=v.minor,
                                    micro=v.micro)

    def upstream_version(self, version: str) -> str:
        """Upstream's version of a wheel version."""
        v = Version(version)
        if self.local is not None:
            if v.local != Version(f"0+{self.local}").local:  # as PEP 440 reads both
                raise InvalidVersion(f"{version!r} has not the local label +{self.local}")
            version = version.split("+", 1)[0]
        elif v.local is not None:
            raise InvalidVersion(f"{version!r} has a local label; set local_version for it")
        if self.wheel_major is not None:
            head, _, rest = version.partition(".")
            if head != str(self.wheel_major) or not rest:
                raise InvalidVersion(f"{version!r} does not start with the wheel's major "
                                     f"{self.wheel_major}")
            version = rest
        return version

    def wheel_version(self, upstream: str) -> str:
        """The wheel version built from upstream's version `upstream`."""
        if self.wheel_major is not None:
            upstream = f"{self.wheel_major}.{upstream}"
        return f"{upstream}+{self.local}" if self.local is not None else upstream

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
            if Version(text).local is not None and self.local is not None:
                return None  # a tag with its own label is not one of this wheel's releases
            wheel = self.wheel_version(text)
            Version(wheel)
        except InvalidVersion:
            return None
        return wheel

    def __repr__(self) -> str:
        return (f"TagFormat({self.template!r}, local={self.local!r}, "
                f"wheel_major={self.wheel_major!r})")

    def _key(self) -> tuple[str, str | None, int | None]:
        return self.template, self.local, self.wheel_major

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TagFormat) and other._key() == self._key()

    def __hash__(self) -> int:
        return hash(self._key())
