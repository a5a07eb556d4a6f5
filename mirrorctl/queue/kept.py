"""What was read from queue files, kept from one command to the next by each file's
signature, in the work directory's kept/ folder.

A report reads every queue folder the builders keep, every morning, and they almost
never change: a file is parsed again only when its signature (size, modification and
change times, inode) is not the one kept. A file modified in the last seconds is never
kept, as git's index is wary of "racily clean" files: its times may not yet tell a
rewrite apart. Only what read is kept; a file that is refused is refused again, with
its problem, every time. A kept file that does not read, or was kept by another
version of mirrorctl, is read again whole. Nothing here is ever the only copy of
anything: losing kept/ costs one slower morning.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any, ClassVar

from mirrorctl import __version__
from mirrorctl.core.errors import FileSystemError
from mirrorctl.core.keptfile import KeptFile, KeptFileError, want
from mirrorctl.queue.patches import PatchFile, parse_patch, patch_status
from mirrorctl.queue.status import UpstreamStatus

__all__ = ["KeptPatches", "KeptStatuses", "kept_patches"]

# The shape of what parse_patch gives, kept: bumped whenever it changes, so that a kept
# file never hands back a parse the code would no longer make.
_PARSE_FORMAT = 1


Entries = dict[str, object]  # a file's path -> [its signature..., the value kept]


def _entries(data: dict[str, Any]) -> Entries:
    return {str(path): entry for path, entry in want(data, "files", dict).items()}


def _parses(data: dict[str, Any]) -> Entries:
    """The parses kept by this mirrorctl: another version may parse otherwise."""
    if data.get("mirrorctl") != __version__:
        raise ValueError(f"kept by mirrorctl {data.get('mirrorctl')}, not {__version__}")
    return _entries(data)


class _Kept:
    """One JSON file of {path: [signature..., value]}, loaded once, saved once."""

    _RACY_SECONDS = 2.0
    # The file's codec: one that does not read (damaged, of another format or version)
    # is read again whole.
    _FILE: ClassVar[KeptFile[Entries]]

    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: Entries = {}
        self._changed = False
        # Nothing here is the only copy: what does not read is read again from the files.
        with contextlib.suppress(KeptFileError):
            self._entries = self._FILE.read(path) or {}

    def _get(self, path: str) -> tuple[list[object], object | None]:
        """(the file's signature now, the value kept for it or None)."""
        info = os.lstat(path)
        signature: list[object] = [info.st_size, info.st_mtime_ns, info.st_ctime_ns,
                                   info.st_ino]
        kept = self._entries.get(path)
        if isinstance(kept, list) and len(kept) == 5 and kept[:4] == signature:
            return signature, kept[4]
        return signature, None

    def _put(self, path: str, signature: list[object], value: object) -> None:
        # The change time too: a modification time put back (touch -d, an unpacked
        # archive) must not make a file written just now look settled.
        mtime_ns, ctime_ns = signature[1], signature[2]
        assert isinstance(mtime_ns, int) and isinstance(ctime_ns, int)
        if time.time() - max(mtime_ns, ctime_ns) / 1e9 > self._RACY_SECONDS:
            self._entries[path] = [*signature, value]
            self._changed = True

    def save(self) -> None:
        """Keep what was read (a full or read-only disk: read again next time), and
        forget the files that are gone."""
        if self._changed:
            self._entries = {path: entry for path, entry in self._entries.items()
                             if os.path.lexists(path)}
            with contextlib.suppress(FileSystemError):
                self._FILE.write(self.path, self._entries)


class KeptStatuses(_Kept):
    """The Upstream-Status kind of each patch file read: what the patch debt asks of
    every folder kept."""

    _FILE = KeptFile[Entries](what="the Upstream-Status kinds kept", format=2,
                              encode=lambda entries: {"files": entries}, decode=_entries,
                              indent=None)

    def kind(self, path: Path | str) -> str:
        signature, kept = self._get(str(path))
        if isinstance(kept, str):
            return kept  # anything else kept there: read the file
        kind = patch_status(Path(path)).kind  # raises for a file that does not read
        self._put(str(path), signature, kind)
        return kind


class KeptPatches(_Kept):
    """Each patch file as parse_patch read it, with the vocabulary it was checked in:
    what classify and the report read of every current queue."""

    _FILE = KeptFile[Entries](what="the patch parses kept", format=_PARSE_FORMAT,
                              encode=lambda entries: {"mirrorctl": __version__,
                                                      "files": entries},
                              decode=_parses, indent=None)

    def parse(self, path: Path, vocabulary: str = "yocto") -> PatchFile:
        signature, kept = self._get(str(path))
        if isinstance(kept, dict) and kept.get("vocabulary") == vocabulary:
            with contextlib.suppress(KeyError, TypeError, ValueError):
                return _patch_from_json(path, kept)
        patch = parse_patch(path, vocabulary)  # raises PatchProblem for one that does not read
        self._put(str(path), signature, {"vocabulary": vocabulary, **_patch_to_json(patch)})
        return patch


def kept_patches(workdir: Path | None, package: str) -> KeptPatches | None:
    """The parses of a package's queue files kept in a work directory (a file a package:
    a carry of one reads only its own); None without a work directory that exists (a
    report merged from CI's artifacts, in a checkout, must make none)."""
    if workdir is None or not workdir.is_dir():
        return None
    return KeptPatches(workdir / "kept" / "patches" / f"{package}.json")


def _patch_to_json(patch: PatchFile) -> dict[str, object]:
    return {"author": patch.author, "date": patch.date, "subject": patch.subject,
            "message": patch.message, "diff": patch.diff, "files": list(patch.files),
            "status": [patch.status.kind, patch.status.argument, patch.status.line]}


def _patch_from_json(path: Path, data: dict[str, object]) -> PatchFile:
    status, files = data["status"], data["files"]
    texts = [data[name] for name in ("author", "date", "subject", "message", "diff")]
    if not isinstance(status, list) or len(status) != 3 or not isinstance(files, list):
        raise ValueError("not as mirrorctl keeps a patch")
    kind, argument, line = status
    author, date, subject, message, diff = (_text(value) for value in texts)
    if not isinstance(line, int) or not (argument is None or isinstance(argument, str)):
        raise ValueError("not as mirrorctl keeps a patch")
    return PatchFile(path=path, author=author, date=date, subject=subject, message=message,
                     diff=diff, files=tuple(_text(f) for f in files),
                     status=UpstreamStatus(kind=_text(kind), argument=argument, line=line))


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("not as mirrorctl keeps a patch")
    return value
