"""The front matter of a draft: what a draft upstream request is about and where it goes,
above the markdown a maintainer reads and edits.

`upstream draft` writes one a candidate patch (an "mr" or an "issue"), `upstream wheels
--draft` one a package's riscv64-wheels request (a "pr" or an "issue"; `request:
riscv64-wheels`), and `upstream submit` reads them back, a maintainer's edits
included: the fields are typed here (DraftFront) and go through one codec (DRAFT_FRONT),
whose format is written last, below the fields a person reads. Drafts written before it
said a format are format 1; keys a person added are kept as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from mirrorctl.core.errors import UsageError
from mirrorctl.core.keptfile import FrontMatter, KeptFile, KeptFileError

__all__ = ["DRAFT_FRONT", "DraftFront", "read_front"]


@dataclass(frozen=True, kw_only=True)
class DraftFront:
    """A draft's fields; "" or None where the draft does not say (a person may have
    removed it: `upstream submit` says what it lacks)."""

    package: str
    upstream: str  # its git URL
    kind: str  # a patch's: mr or issue; a riscv64-wheels request's: pr or issue
    title: str
    host: str | None = None  # the forge's host; None: not a forge mirrorctl knows
    project: str | None = None  # owner/name on it
    target_branch: str | None = None
    patches: tuple[str, ...] = ()  # a patch's: its file in patchsets/; a wheels pr's: beside
    labels: tuple[str, ...] = ()
    request: str | None = None  # "riscv64-wheels" for `upstream wheels --draft`'s
    # A patch's draft:
    forge: str | None = None  # github, gitlab or unknown
    mirror_branch: str | None = None
    why: str | None = None  # why this kind
    template: str | None = None  # the upstream's template or issue form it fills
    # A riscv64-wheels draft:
    upstream_web: str | None = None
    refers_to: tuple[str, ...] = ()  # upstream's open issues asking for the wheels
    submitted: str | None = None  # where it went, once submitted
    others: Mapping[str, Any] = field(default_factory=dict)  # keys a person added


# The keys each kind of draft always writes, in the order a person reads them; any other
# field is written after them where it says something.
_PATCH_KEYS = ("package", "upstream", "forge", "host", "project", "target_branch", "kind",
               "title", "labels", "patches", "mirror_branch", "why", "template")
_WHEELS_KEYS = ("package", "upstream", "upstream_web", "host", "project", "target_branch",
                "kind", "title", "request", "patches", "refers_to")
_FIELDS = tuple(f.name for f in fields(DraftFront) if f.name != "others")
_LISTS = frozenset({"patches", "labels", "refers_to"})


def _encode(front: DraftFront) -> dict[str, Any]:
    values = {name: getattr(front, name) for name in _FIELDS}
    keys = _PATCH_KEYS if front.request is None else _WHEELS_KEYS
    said = [name for name in _FIELDS if name not in keys and values[name] not in (None, ())]
    data = {name: list(values[name]) if name in _LISTS else values[name]
            for name in (*keys, *said)}
    return {**data, **front.others}


def _decode(data: dict[str, Any]) -> DraftFront:
    def text(key: str) -> str | None:
        return _text(data, key)

    return DraftFront(
        package=text("package") or "", upstream=text("upstream") or "",
        kind=text("kind") or "", title=text("title") or "", host=text("host"),
        project=text("project"), target_branch=text("target_branch"),
        patches=_texts(data, "patches"), labels=_texts(data, "labels"),
        request=text("request"), forge=text("forge"), mirror_branch=text("mirror_branch"),
        why=text("why"), template=text("template"), upstream_web=text("upstream_web"),
        refers_to=_texts(data, "refers_to"), submitted=text("submitted"),
        others={str(k): v for k, v in data.items() if k not in _FIELDS})


def _text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # `project: 123` as YAML reads it
    raise TypeError(f"{key} is not text: {value!r}")


def _texts(data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise TypeError(f"{key} is not a list: {value!r}")
    return tuple(str(item) for item in value)


DRAFT_FRONT = FrontMatter(fields=KeptFile[DraftFront](
    what="a mirrorctl draft", format=1, unformatted=1, encode=_encode, decode=_decode))


def read_front(path: Path) -> tuple[DraftFront, str]:
    """(the front matter, the body) of the draft a person names; a usage error when it
    is not a draft mirrorctl wrote (or one it can read)."""
    try:
        found = DRAFT_FRONT.read(path)
    except KeptFileError as exc:
        raise UsageError(f"{path}: not a mirrorctl draft ({exc.why})") from None
    if found is None:
        raise UsageError(f"{path}: not a mirrorctl draft (no such file)")
    return found
