"""queue.kept: each patch file's parse kept by its signature gives what parse_patch
gives, and never a parse of what the file no longer holds."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from mirrorctl.queue.kept import KeptPatches, kept_patches
from mirrorctl.queue.patches import PatchProblem, parse_patch, read_queue

DATA = Path(__file__).parent / "data"
OLD = time.time() - 60

PATCH = ("From 0 Mon Sep 17 00:00:00 2001\nFrom: =?UTF-8?q?M=C3=BCller=2C_Hans?= <h@m.de>\n"
         "Date: Mon, 1 Jan 2024 00:00:00 +0000\nSubject: [PATCH] BLD: {subject}\n\n"
         "Upstream-Status: {status}\n---\n f | 2 +-\n\ndiff --git a/f b/f\n--- a/f\n+++ b/f\n"
         "@@ -1 +1 @@\n-a\n+b\n-- \n2.39.5\n")


def write(path: Path, *, subject: str = "riscv64", status: str = "Pending",
          aged: bool = True) -> Path:
    fresh = path.with_name(".fresh")
    fresh.write_text(PATCH.format(subject=subject, status=status))
    if aged:
        os.utime(fresh, (OLD, OLD))
    os.replace(fresh, path)  # as editors save
    return path


class Settled(KeptPatches):
    """Every file counts as settled (not racily clean): what is kept is what is tested."""

    _RACY_SECONDS = -3600.0


def test_a_file_written_in_the_last_seconds_is_never_kept(tmp_path: Path) -> None:
    kept_file, patch = tmp_path / "kept" / "patches.json", tmp_path / "0001-BLD.patch"
    for aged in (False, True):  # written now, or written now with an old time put back
        write(patch, aged=aged)
        kept = KeptPatches(kept_file)
        assert kept.parse(patch).subject == "BLD: riscv64"
        kept.save()
        assert not kept_file.exists()


def test_a_changed_file_is_parsed_again(tmp_path: Path) -> None:
    kept_file, patch = tmp_path / "kept" / "patches.json", tmp_path / "0001-BLD.patch"
    write(patch)
    kept = Settled(kept_file)
    kept.parse(patch)
    kept.save()
    assert Settled(kept_file).parse(patch).subject == "BLD: riscv64"
    write(patch, subject="riscv64 again")  # saved as editors do: a new inode, an old time
    assert Settled(kept_file).parse(patch).subject == "BLD: riscv64 again"
    kept = Settled(kept_file)
    kept.parse(patch)
    kept.save()
    time.sleep(0.05)  # the next tick of the file system's clock
    with patch.open("r+") as handle:  # rewritten in place, same size, its time put back
        text = handle.read()
        handle.seek(0)
        handle.write(text.replace("again", "agaim"))
    os.utime(patch, (OLD, OLD))
    assert Settled(kept_file).parse(patch).subject == "BLD: riscv64 agaim"


def test_what_is_refused_is_refused_every_time(tmp_path: Path) -> None:
    kept_file, patch = tmp_path / "kept" / "patches.json", tmp_path / "0001-BLD.patch"
    kept = Settled(kept_file)
    write(patch)
    kept.parse(patch)
    kept.save()
    write(patch, status="Nonsense")
    for _ in range(2):
        kept = Settled(kept_file)
        with pytest.raises(PatchProblem, match="Upstream-Status"):
            kept.parse(patch)
        kept.save()
    # The builders' vocabulary checks more: a parse kept in another is not this one's.
    write(patch, status="Pending")
    kept = Settled(kept_file)
    kept.parse(patch, "yocto")
    kept.save()
    with pytest.raises(PatchProblem):
        Settled(kept_file).parse(patch, "builders")


@pytest.mark.parametrize("odd", [
    "{not json",
    json.dumps({"format": 1, "mirrorctl": "0.0.1", "files": {}}),  # another mirrorctl's
    None,  # an entry of the right signature whose parse is not as mirrorctl keeps one
])
def test_a_kept_file_not_as_mirrorctl_keeps_it_is_read_again(tmp_path: Path,
                                                             odd: str | None) -> None:
    kept_file, patch = tmp_path / "kept" / "patches.json", tmp_path / "0001-BLD.patch"
    write(patch)
    kept = Settled(kept_file)
    kept.parse(patch)
    kept.save()
    data = json.loads(kept_file.read_text())
    entry = data["files"][str(patch)]
    entry[-1]["subject"] = "a parse the file does not hold"
    if odd is None:
        entry[-1] = {**entry[-1], "date": 7, "status": ["Pending", None]}
        odd = json.dumps(data)
    elif odd.startswith('{"format"'):
        odd = json.dumps({**json.loads(odd), "files": data["files"]})
    kept_file.write_text(odd)
    assert Settled(kept_file).parse(patch) == parse_patch(patch)


def test_the_queue_read_with_kept_parses_is_the_queue(tmp_path: Path) -> None:
    folder = tmp_path / "patchsets" / "numpy" / "2.0"
    folder.mkdir(parents=True)
    write(folder / "0001-BLD-riscv64.patch")
    write(folder / "0002-BLD-other.patch", subject="other")
    (folder / "0003-broken.patch").write_text("no diff here\n")
    found = kept_patches(tmp_path, "numpy")
    assert isinstance(found, KeptPatches)
    assert found.path == tmp_path / "kept" / "patches" / "numpy.json"
    kept = Settled(found.path)
    plain = read_queue(tmp_path / "patchsets", "numpy", "2.0")
    assert read_queue(tmp_path / "patchsets", "numpy", "2.0", kept=kept) == plain
    kept.save()
    assert read_queue(tmp_path / "patchsets", "numpy", "2.0",
                      kept=kept_patches(tmp_path, "numpy")) == plain
    assert len(plain[0].patches) == 2 and len(plain[1]) == 1  # the broken one, each time
    assert kept_patches(tmp_path / "no-such-workdir", "numpy") is None
    assert not (tmp_path / "no-such-workdir").exists()


def test_a_file_that_is_gone_is_forgotten(tmp_path: Path) -> None:
    kept_file = tmp_path / "kept" / "patches.json"
    first, second = write(tmp_path / "0001-a.patch"), write(tmp_path / "0002-b.patch")
    kept = Settled(kept_file)
    kept.parse(first)
    kept.parse(second)
    kept.save()
    first.unlink()
    third = write(tmp_path / "0003-c.patch")
    kept = Settled(kept_file)
    kept.parse(third)
    kept.save()
    assert sorted(json.loads(kept_file.read_text())["files"]) == [str(second), str(third)]
