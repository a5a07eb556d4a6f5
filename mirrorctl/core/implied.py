"""What a site and its upstreams imply for mirrors.yaml where nobody wrote it yet: the
defaults of a repository built like the builders' (inventory from zero), and a
package's tag format read off the tags its upstream has (inventory --probe).

Inferred, never silently: each inference says what it rests on, for the person who
checks it. Pure: the texts and tag names come in; reading them is the command's edge.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from mirrorctl.core.release import Release
from mirrorctl.core.tagformat import TagFormat, TagFormatError

__all__ = ["Inferred", "implied_defaults", "infer_tag_format"]

# A Simple Repository API index a workflow installs from or publishes to.
_INDEX = re.compile(r"https://[^\s\"'`]+/simple/?(?=[\s\"'`]|$)", re.M)
# A CPython a cibuildwheel selector names: cp312, cp314t.
_CPYTHON = re.compile(r"\bcp3(\d{1,2})(t?)(?=[-\s\"'*_,\]]|$)", re.M)
# Tag formats upstreams use, most common first ({name}: the package's own name).
_CANDIDATES = ("v{version}", "{version}", "release-{version}", "version-{version}",
               "py-{version}", "{name}-{version}", "{name}-v{version}", "{name}_{version}",
               "rel_{major}_{minor}_{micro}", "release_{major}_{minor}_{micro}")


def implied_defaults(root: Path, workflow_texts: Sequence[str]) -> dict[str, Any]:
    """The `defaults:` a repository built like the builders' implies: its queues in
    patches/ (and their Upstream-Status vocabulary), the registry its workflows name
    most, the Pythons their cibuildwheel selectors build."""
    defaults: dict[str, Any] = {}
    if (root / "patches").is_dir():
        defaults.update(patchsets="patches", status_vocabulary="builders")
    indexes = Counter(m.group(0).rstrip("/") + "/" for text in workflow_texts
                      for m in _INDEX.finditer(text))
    if indexes:
        defaults["registry_url"] = indexes.most_common(1)[0][0]
    pythons = {f"3.{minor}{free}" for text in workflow_texts
               for minor, free in _CPYTHON.findall(text)}
    if pythons:
        defaults["python_versions"] = sorted(pythons, key=_python_order)
    return defaults


def _python_order(python: str) -> tuple[int, bool]:
    return int(python[2:].rstrip("t")), python.endswith("t")


@dataclass(frozen=True)
class Inferred:
    template: str
    evidence: str  # what it rests on, for the person who checks it


def infer_tag_format(tags: Iterable[str], version: str | None, name: str) -> Inferred | None:
    """The tag format upstream's tags say: the one whose tag of `version` (the version
    built now, its local label dropped) upstream has; with no version, the one that reads
    the most of upstream's tags as final releases (at least three). None when no format
    is clear."""
    names = set(tags)
    formats = [_format(c, name) for c in _CANDIDATES]
    release = Release.of(version)
    public = release.public if release is not None else None
    if public is not None:
        for tag_format in filter(None, formats):
            try:
                tag = tag_format.tag_for(public)
            except (InvalidVersion, TagFormatError, ValueError):
                continue
            if tag in names:
                return Inferred(tag_format.template, f"upstream's tag {tag} is version {public}")
        return None
    counted = [(sum(_is_release(f, t) for t in names), n, f) for n, f in enumerate(formats) if f]
    best = max(counted, key=lambda c: (c[0], -c[1]), default=None)
    if best is None or best[0] < 3:
        return None
    return Inferred(best[2].template, f"{best[0]} of upstream's tags read as releases with it")


def _format(candidate: str, name: str) -> TagFormat | None:
    try:
        return TagFormat(candidate.replace("{name}", name))
    except TagFormatError:
        return None


def _is_release(tag_format: TagFormat, tag: str) -> bool:
    text = tag_format.version_of(tag)
    try:
        return text is not None and not Version(text).is_prerelease
    except InvalidVersion:
        return False
