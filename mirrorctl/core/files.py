"""Files that are either written whole or not at all, even under kill -9."""

from __future__ import annotations

import os
from pathlib import Path

from mirrorctl.core.errors import FileSystemError

__all__ = ["atomic_write_text", "replace_dir", "same_files"]


def atomic_write_text(path: Path, text: str) -> None:
    """Write `path` whole or not at all; a file system that refuses (full, read-only, not
    allowed) raises FileSystemError naming `path`, and leaves nothing behind."""
    import tempfile  # only runs that write pay for it

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise FileSystemError(exc, path=path) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            # mkstemp makes the file 0600: give it the mode of the file it replaces, or
            # what the umask gives a new one, so that reports and drafts can be shared.
            os.fchmod(handle.fileno(), _mode_for(path))
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise FileSystemError(exc, path=path) from None
        raise


def _mode_for(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    """The process's umask, read without changing it (os.umask sets it to read it)."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def same_files(a: Path, b: Path) -> bool:
    """True when two folders hold the same file names with the same bytes."""
    if not (a.is_dir() and b.is_dir()):
        return False
    names_a = sorted(p.name for p in a.iterdir())
    if names_a != sorted(p.name for p in b.iterdir()):
        return False
    return all((a / n).is_file() and (b / n).is_file()
               and (a / n).read_bytes() == (b / n).read_bytes() for n in names_a)


def replace_dir(new: Path, target: Path) -> None:
    """Put folder `new` in place of `target`, so that `target` is always either whole old
    or whole new: a rename, or an atomic exchange where the kernel offers one."""
    import shutil

    # `new` is usually a mkdtemp() folder (mode 0700): give it the mode of the folder it
    # replaces, or of a fresh folder beside it, so that others can read the queue.
    os.chmod(new, (target if target.exists() else target.parent).stat().st_mode & 0o777)
    if not target.exists():
        os.rename(new, target)
        return
    if _exchange(new, target):
        shutil.rmtree(new)  # it now holds the old contents
        return
    backup = target.with_name(f".{target.name}.old-{os.getpid()}")
    os.rename(target, backup)
    os.rename(new, target)
    shutil.rmtree(backup)


def _exchange(a: Path, b: Path) -> bool:
    """renameat2(RENAME_EXCHANGE) on Linux; False where it is not available."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    result: int = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return result == 0
