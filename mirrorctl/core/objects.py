"""git's own formats, read and written without starting git: the one other door to a
repository beside core/git.py, and as narrow.

A carry makes a commit a patch and a report reads every package's tags; a process for
each costs more than the work. What is here does that work in git's formats:
- loose commit objects, as `git commit-tree` writes them (zlib, then a rename);
- the dates and identities `git format-patch` writes, as git reads them;
- the files ref store (loose refs under refs/, packed-refs), as `git for-each-ref` lists it.

Each answers only where the format is plain: any date, name, ref or file it is not sure
of gives None, and the caller asks git. tests/test_objects.py compares every answer with
git's own, byte for byte, on generated inputs; MIRRORCTL_GIT_PATH=processes sends all of
it through git instead (the reference path the corpora are compared against).
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

__all__ = ["commit_data", "files_refs", "git_date", "has_loose_refs", "plain_ident",
           "write_loose"]

_MONTHS = {name: number for number, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
# What format-patch writes (RFC 2822, "Mon, 1 Jan 2024 00:00:00 +0000"), and the ISO
# form mirrorctl gives a patch without a date.
_RFC2822 = re.compile(r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(\d{1,2}) ([A-Z][a-z]{2}) "
                      r"(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})")
# git strips these from both ends of a name and an address (ident.c, "crud").
_CRUD = frozenset(".,:;<>\"\\'")
_HEX40 = re.compile(r"[0-9a-f]{40}")
# A ref name component git takes as it is: no "..", "@{", control or special characters,
# no leading dot, no ".lock" ending (check_refname_format accepts more; those ask git).
_COMPONENT = re.compile(r"[A-Za-z0-9_+-][A-Za-z0-9._+-]*")


def git_date(text: str) -> str | None:
    """"<seconds> <+hhmm>" as git records `text` (GIT_AUTHOR_DATE), for the two forms
    mirrorctl writes; None for any other, which git parses itself."""
    import calendar  # what writes commits pays for it; a sync does not
    if match := _RFC2822.fullmatch(text):
        day, month_name, year, hour, minute, second, sign, tz_h, tz_m = match.groups()
        month = _MONTHS.get(month_name)
    elif match := _ISO.fullmatch(text):
        year, month_text, day, hour, minute, second, sign, tz_h, tz_m = match.groups()
        month = int(month_text)
    else:
        return None
    fields = int(year), month or 0, int(day), int(hour), int(minute), int(second)
    offset = int(tz_h) * 60 + int(tz_m)
    if not (1970 <= fields[0] <= 2099 and 1 <= fields[1] <= 12
            and 1 <= fields[2] <= calendar.monthrange(fields[0], fields[1])[1]
            and fields[3] < 24 and fields[4] < 60 and fields[5] < 60
            and int(tz_m) < 60 and int(tz_h) < 24 and (sign == "+" or offset > 1)):
        # git's answers for these are its own: a leap second, "-0000", and "-0001", the
        # -1 git's date parser takes for "no zone given" (then the local one).
        return None
    seconds = calendar.timegm((*fields, 0, 0, 0)) - (offset if sign == "+" else -offset) * 60
    return f"{seconds} {sign}{tz_h}{tz_m}" if seconds >= 0 else None


def plain_ident(name: str, email: str) -> bool:
    """Whether git writes "name <email>" unchanged: nothing to strip, nothing refused."""
    return all(part and part[0] not in _CRUD and part[-1] not in _CRUD
               and part.isprintable() and not part[0].isspace() and not part[-1].isspace()
               and "<" not in part and ">" not in part for part in (name, email))


def commit_data(tree: str, parent: str, message: str, *, author: str,
                committer: str) -> bytes | None:
    """A commit object's body as commit-tree writes it, or None where git might change
    the message (not UTF-8, a NUL) and must write it itself."""
    if "\0" in message:
        return None
    try:
        encoded = message.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return (f"tree {tree}\nparent {parent}\nauthor {author}\ncommitter {committer}\n\n"
            .encode() + encoded)


def write_loose(git_dir: Path, kind: bytes, data: bytes) -> str:
    """Store an object as a loose file (SHA-1 repositories); its id. Written to a
    temporary file in the object's folder and renamed, as git does: never half there."""
    import hashlib
    import tempfile
    import zlib
    raw = kind + b" " + str(len(data)).encode() + b"\0" + data
    oid = hashlib.sha1(raw).hexdigest()
    folder = git_dir / "objects" / oid[:2]
    target = folder / oid[2:]
    if target.exists():
        return oid
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="tmp_obj_", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(zlib.compress(raw))
        os.chmod(tmp, 0o444)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return oid


def files_refs(git_dir: Path, prefix: str | tuple[str, ...]) -> dict[str, str] | None:
    """{ref: object id} of every ref under `prefix` ("refs/tags/", or several), sorted as
    for-each-ref lists them, read from the files ref store; None when anything is not
    plain (another ref store, a symbolic or broken ref, an unusual name, a file that
    moved while it was read): git answers those."""
    root = os.fspath(git_dir)
    if os.path.exists(os.path.join(root, "reftable")):
        return None
    # Loose refs first, then packed-refs, as git reads them: a `git pack-refs` meanwhile
    # writes packed-refs before it deletes the loose files, so nothing is missed (a
    # file gone between the listing and its read is an OSError: git answers).
    refs: dict[str, str] = {}
    try:
        for one in (prefix,) if isinstance(prefix, str) else prefix:
            loose = _loose_refs(root, one)
            if loose is None:
                return None
            refs.update(loose)
    except (OSError, UnicodeDecodeError):
        return None
    try:
        with open(os.path.join(root, "packed-refs"), encoding="ascii") as handle:
            packed = handle.read()
    except FileNotFoundError:
        packed = ""
    except (OSError, UnicodeDecodeError):
        return None
    for line in packed.splitlines():
        if line.startswith(("#", "^")):
            continue
        oid, _, ref = line.partition(" ")
        if not _HEX40.fullmatch(oid) or not ref:
            return None
        if ref.startswith(prefix):
            if not _plain_ref(ref):
                return None
            refs.setdefault(ref, oid)  # a loose ref is newer than its packed value
    return dict(sorted(refs.items()))


def has_loose_refs(git_dir: Path, prefix: str) -> bool:
    """Whether any ref under `prefix` ("refs/tags/") is a loose file (a fetch writes one
    a ref; reading a thousand of them costs more than one packed-refs)."""
    pending = [os.path.join(os.fspath(git_dir), prefix.rstrip("/"))]
    while pending:
        try:
            with os.scandir(pending.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(entry.path)
                    else:
                        return True
        except OSError:
            continue
    return False


def _loose_refs(root: str, prefix: str) -> dict[str, str] | None:
    refs: dict[str, str] = {}
    pending = [prefix.rstrip("/")]
    while pending:
        folder = pending.pop()
        try:
            entries = list(os.scandir(os.path.join(root, folder)))
        except FileNotFoundError:
            continue
        for entry in entries:
            ref = f"{folder}/{entry.name}"
            if entry.name.endswith(".lock") and entry.is_file(follow_symlinks=False):
                continue  # a ref being written: git reads the one beside it
            if entry.is_dir(follow_symlinks=False):
                pending.append(ref)
                continue
            if not entry.is_file(follow_symlinks=False) or not _plain_ref(ref):
                return None
            with open(entry.path, encoding="ascii") as handle:
                content = handle.read()
            if not _HEX40.fullmatch(content.rstrip("\n")) or content.count("\n") > 1 \
                    or content.startswith("0" * 40):
                return None  # a symbolic ref, or not a ref git would read as it is
            refs[ref] = content[:40]
    return refs


@functools.lru_cache(maxsize=65536)
def _plain_ref(ref: str) -> bool:
    return all(_COMPONENT.fullmatch(part) and not part.endswith((".lock", "."))
               and ".." not in part for part in ref.split("/"))
