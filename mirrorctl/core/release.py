"""A release of a package as its wheels name it, one value end to end.

torch's wheel 2.13.0+cpu is built from upstream's v2.13.0: its queue folder is
`2.13.0+cpu`, the builders' workflow input takes `2.13.0` (the public version), the
wheel carries the local label `cpu`, and upstream tags it `v2.13.0` (its tag under the
package's format). A Release says each once, from the text as written (a folder and a
ref name are made of it, so it is never normalized): `Release("2.13.0+cpu").public`,
`.local`, `.tag(tag_format)`; releases compare as PEP 440 versions.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from mirrorctl.core.tagformat import TagFormat

__all__ = ["Release"]


@functools.total_ordering
@dataclass(frozen=True)
class Release:
    """The text as written, checked once to be a PEP 440 version (InvalidVersion
    otherwise). Equal texts are equal releases; order is PEP 440's."""

    text: str

    def __post_init__(self) -> None:
        _parsed(self.text)  # raises InvalidVersion naming the text

    @classmethod
    def of(cls, text: str | None) -> Release | None:
        """The release a text names, or None for none (no text, or no version)."""
        if text is None:
            return None
        try:
            return cls(text)
        except InvalidVersion:
            return None

    @classmethod
    def of_tag(cls, tag: str, tag_format: TagFormat) -> Release | None:
        """The release an upstream tag is under the package's format, or None."""
        return cls.of(tag_format.version_of(tag))

    @property
    def version(self) -> Version:
        return _parsed(self.text)

    @property
    def public(self) -> str:
        """The version without its local label, as written: what a workflow's input
        takes and a registry's index lists (torch's 2.13.0+cpu builds from 2.13.0)."""
        return self.text.partition("+")[0]

    @property
    def local(self) -> str | None:
        """The local label (`cpu` of 2.13.0+cpu), normalized as PEP 440 says; None
        without one."""
        return self.version.local

    @property
    def suffix(self) -> str:
        """The local label as written, with its `+` ("+cpu"), or "": what follows the
        public version in a folder's name."""
        return self.text[len(self.public):]

    def tag(self, tag_format: TagFormat) -> str:
        """Upstream's tag of this release (InvalidVersion when the release does not fit
        the format's local label or leading major)."""
        return tag_format.tag_for(self.text)

    def upstream(self, tag_format: TagFormat) -> str:
        """Upstream's version of this release (protobuf's wheel 7.35.1 is upstream's 35.1)."""
        return tag_format.upstream_version(self.text)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Release):
            return NotImplemented
        return (self.version, self.text) < (other.version, other.text)

    def __str__(self) -> str:
        return self.text


@functools.lru_cache(maxsize=8192)
def _parsed(text: str) -> Version:
    """A text as a version (a night parses the same few hundred names many times)."""
    return Version(text)
