"""One way to keep a small file: a typed codec with a format number.

mirrorctl keeps small files of its own (the night's mark, the history, a waiting
rebase, the package records, what git and the forges said, kept to be asked once).
Each is read and written through a KeptFile: what the file is (for messages), its
format number (written in the file as "format"), and the two halves of its codec. A
file that cannot be taken is refused with one error, KeptFileError, naming the file
and why: the file system refused it, it is not UTF-8 or not JSON, it is not the shape
mirrorctl writes (and which key), or a newer mirrorctl wrote it. An older format reads
through the migrations its codec is given, or is refused.

What a file that does not read means is its reader's to say: a cache takes it as
absent (nothing in a cache is the only copy), a record makes what it held unknown,
a person's file is a usage error.

Drafts a person reads and edits keep their fields as YAML front matter above a
markdown body: FrontMatter is the same codec for them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from mirrorctl.core.errors import MirrorctlError
from mirrorctl.core.files import atomic_write_text

if TYPE_CHECKING:  # only drafts load YAML
    import yaml

__all__ = ["FrontMatter", "KeptFile", "KeptFileError", "Problem", "text_mapping", "want"]

T = TypeVar("T")
V = TypeVar("V")
Data = dict[str, Any]

# unreadable: the file system refused it, or it is not UTF-8, JSON or YAML; shape: it
# is, but not as mirrorctl writes this file; newer: a newer mirrorctl's format; older:
# a format this mirrorctl no longer reads.
Problem = Literal["unreadable", "shape", "newer", "older"]


class KeptFileError(MirrorctlError):
    """A kept file that does not read: "<path> (<what>) does not read: <why>"."""

    def __init__(self, path: Path, what: str, why: str, *, problem: Problem,
                 format: int | None = None, writer: str | None = None) -> None:
        self.path = path
        self.what = what
        self.why = why
        self.problem = problem
        self.format = format  # the format the file says it is, where it says one
        self.writer = writer  # the mirrorctl that wrote it, where the file says so
        super().__init__(f"{path} ({what}) does not read: {why}")


def want(data: Mapping[str, Any], key: str, kind: type[V]) -> V:
    """`data[key]`, which must be a `kind`: for decoders, so that a wrong shape names its
    key (KeyError for a key missing, TypeError for one of another type)."""
    value = data[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise TypeError(f"{key!r} is not {_kind_name(kind)} but {value!r}")
    return value


def _kind_name(kind: type) -> str:
    return {str: "text", int: "a number", float: "a number", bool: "true or false",
            list: "a list", dict: "a mapping"}.get(kind, kind.__name__)


@dataclass(frozen=True, kw_only=True)
class KeptFile(Generic[T]):
    """The codec of one kind of kept JSON file: {"format": N, **encode(value)}."""

    what: str  # what the file is, for messages: "the night's mark"
    format: int  # the format this mirrorctl writes, and the newest it reads
    encode: Callable[[T], Mapping[str, Any]]  # to JSON-able data (no "format" key)
    # Back from the data of the current format; KeyError, TypeError or ValueError (or
    # AttributeError) when it is not as mirrorctl writes it.
    decode: Callable[[Data], T]
    # A file of an older format: migrations[n] makes format n's data into format
    # n + 1's. A format without one is refused (problem "older").
    migrations: Mapping[int, Callable[[Any], Any]] = field(default_factory=dict)
    # The format of a file written before it said one (an object without "format", or
    # any other JSON value); None: such a file is not one of these (refused).
    unformatted: int | None = None
    indent: int | None = 1  # None: compact, for files that can be large
    sort_keys: bool = False

    def read(self, path: Path) -> T | None:
        """The value kept in `path`; None when there is no such file. KeptFileError when
        it cannot be taken."""
        data = self.read_data(path)
        return None if data is None else self._shaped(path, self.decode, data)

    def read_data(self, path: Path) -> Data | None:
        """What `path` holds, as the current format's data (checked, older ones migrated)
        but not decoded: for a reader that takes what it can of a file that may not
        decode whole. None when there is no such file."""
        text = self.read_text(path)
        return None if text is None else self._current(self._parsed(text, path), path)

    def read_text(self, path: Path) -> str | None:
        """The file's text; None when there is no such file (KeptFileError when the file
        system refuses it or it is not UTF-8)."""
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self.error(path, exc.strerror or str(exc), "unreadable") from None
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self.error(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                             "unreadable") from None

    def write(self, path: Path, value: T) -> None:
        """Keep `value` in `path`, whole or not at all (FileSystemError when the file
        system refuses it)."""
        atomic_write_text(path, self.dumps(value))

    def dumps(self, value: T) -> str:
        return json.dumps(self.to_data(value), indent=self.indent,
                          sort_keys=self.sort_keys) + "\n"

    def to_data(self, value: T) -> Data:
        data = dict(self.encode(value))
        assert "format" not in data, f"{self.what}: 'format' is the codec's own key"
        return {"format": self.format, **data}

    def loads(self, raw: bytes | str, path: Path) -> T:
        """The value `raw` (the file's bytes or text) holds; `path` names it in errors."""
        return self.from_data(self._parsed(raw, path), path)

    def from_data(self, data: Any, path: Path) -> T:
        """The value of data read from `path` (its format checked, older ones migrated)."""
        return self._shaped(path, self.decode, self._current(data, path))

    def _parsed(self, raw: bytes | str, path: Path) -> Any:
        try:
            text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        except UnicodeDecodeError as exc:
            raise self.error(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                             "unreadable") from None
        try:
            return json.loads(text)
        except ValueError as exc:
            raise self.error(path, f"not JSON ({exc})", "unreadable") from None

    def _current(self, data: Any, path: Path) -> Data:
        """The current format's data of what a file holds."""
        found, data = self._format_of(data, path)
        while found < self.format:
            step = self.migrations.get(found)
            if step is None:
                raise self.error(path, f"format {found}, which this mirrorctl no longer "
                                       f"reads (it reads format {self.format})", "older",
                                 format=found)
            data = self._shaped(path, step, data)
            found += 1
        if not isinstance(data, dict):
            raise self.error(path, "not as mirrorctl writes it (not a JSON object)", "shape")
        return data

    def _format_of(self, data: Any, path: Path) -> tuple[int, Any]:
        if isinstance(data, dict) and "format" in data:
            data = dict(data)
            found = data.pop("format")
            if not isinstance(found, int) or isinstance(found, bool):
                raise self.error(path, f"its format {found!r} is not a number", "shape")
        elif self.unformatted is not None:
            found = self.unformatted
        else:
            raise self.error(path, "it says no format (not a file mirrorctl wrote)", "shape")
        if found > self.format:
            writer = data.get("mirrorctl") if isinstance(data, dict) else None
            writer = writer if isinstance(writer, str) else None
            by = f"a newer mirrorctl ({writer})" if writer else "a newer mirrorctl"
            raise self.error(path, f"written by {by}: format {found}, this one reads up to "
                                   f"{self.format}; upgrade mirrorctl", "newer",
                             format=found, writer=writer)
        return found, data

    def _shaped(self, path: Path, step: Callable[[Any], V], data: Any) -> V:
        """`step(data)`, a wrong shape refused naming the key it lacks or the problem."""
        try:
            return step(data)
        except KeyError as exc:
            key = exc.args[0] if exc.args else "?"
            raise self.error(path, f"not as mirrorctl writes it (no {key!r})",
                             "shape") from None
        except (TypeError, ValueError, AttributeError) as exc:
            raise self.error(path, f"not as mirrorctl writes it ({exc})", "shape") from None

    def error(self, path: Path, why: str, problem: Problem, *, format: int | None = None,
              writer: str | None = None) -> KeptFileError:
        return KeptFileError(path, self.what, why, problem=problem, format=format,
                             writer=writer)


def text_mapping(what: str, key: str) -> KeptFile[dict[str, str]]:
    """The codec of a kept mapping of texts (a branch to a head, a URL to a digest): at
    `key` beside the format (2); format 1 was the mapping alone, and still reads."""

    def decode(data: Data) -> dict[str, str]:
        return {str(k): str(v) for k, v in want(data, key, dict).items()}

    return KeptFile[dict[str, str]](what=what, format=2, unformatted=1, sort_keys=True,
                                    migrations={1: lambda mapping: {key: mapping}},
                                    encode=lambda mapping: {key: mapping}, decode=decode)


@dataclass(frozen=True, kw_only=True)
class FrontMatter(Generic[T]):
    """A markdown file a person reads and edits, its fields kept as YAML front matter
    ("---\\n<fields>---\\n\\n<body>") through the codec of its fields. The format is
    written last: a person reads what the file is about first."""

    fields: KeptFile[T]

    def read(self, path: Path) -> tuple[T, str] | None:
        """(the fields, the body) of `path`; None when there is no such file."""
        text = self.fields.read_text(path)
        return None if text is None else self.loads(text, path)

    def loads(self, text: str, path: Path) -> tuple[T, str]:
        import yaml

        # Between the first two lines that are "---" (inside the fields a value's lines
        # are indented, so no line of theirs is one).
        lines = text.split("\n")
        marks = [n for n, line in enumerate(lines) if line.rstrip("\r") == "---"][:2]
        if len(marks) != 2 or marks[0] != 0:  # the fields open the file
            raise self.fields.error(path, "no front matter (a '---' line above and below "
                                          "its fields)", "unreadable")
        try:
            data = yaml.safe_load("\n".join(lines[marks[0] + 1:marks[1]]))
        except yaml.YAMLError as exc:
            raise self.fields.error(path, f"its front matter is not YAML ({exc})",
                                    "unreadable") from None
        if not isinstance(data, dict):
            raise self.fields.error(path, "its front matter is no mapping of fields",
                                    "shape")
        body = lines[marks[1] + 1:]  # below the blank line the text puts after the fields
        body = body[1:] if body[:1] == [""] else body
        return self.fields.from_data(data, path), "\n".join(body)

    def text(self, value: T, body: str) -> str:
        import yaml

        data = self.fields.to_data(value)
        data["format"] = data.pop("format")
        header = yaml.dump(data, Dumper=_front_dumper(), sort_keys=False, allow_unicode=True)
        return f"---\n{header}---\n\n{body.rstrip()}\n"

    def write(self, path: Path, value: T, body: str) -> None:
        atomic_write_text(path, self.text(value, body))


@cache
def _front_dumper() -> type[yaml.SafeDumper]:
    """PyYAML's safe dumper, but text with a line break other than "\\n" (NEL, the
    Unicode line and paragraph separators) double-quoted: PyYAML folds a NEL written in
    a single-quoted scalar into a space, so that it would not read back."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        style = '"' if any(c in value for c in "\x85\u2028\u2029") else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    return Dumper
