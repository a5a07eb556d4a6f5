"""The hostile-input corpus: every bad mirrors.yaml, patch and argument in
tests/data/hostile/ is refused with exit status 2 and its exact message, and
nothing is written.

tests/data/hostile/cases.yaml names each case, the commands that read it and the
exact problems they must print. Each case runs the real CLI in a copy of one synced
site (an upstream with a newer release, a mirror, a work directory holding the
package's cache, and a queue whose first patch is good), and the whole site (work
directory, patch queues, mirror, upstream) is compared byte for byte before and after.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.conftest import CliResult, Site
from tests.gitrepos import Repo, make_mirror, make_upstream

# Each case on both ways to git: the same outcomes, the same messages (issue 24).
pytestmark = pytest.mark.usefixtures("both_git_paths")

DATA = Path(__file__).resolve().parent / "data" / "hostile"
QUEUE = Path("patchsets", "demo", "1.1.0")

# Local repositories are named relative to mirrors.yaml, so that a copy of the site
# is a site of its own.
GOOD_CONFIG = """\
defaults:
  allowed_protocols: [file]
  branches: [main, "maintenance/*"]
  retries: 0
packages:
  demo:
    upstream: upstream
    mirror: mirror.git
    tag_format: "v{version}"
    version: "1.1.0"
"""

# What reads each kind of input; a case may name its own commands instead.
COMMANDS = {
    "validate": ("validate",),
    "sync": ("sync",),
    "apply": ("patches", "apply", "demo"),
    "rebase": ("rebase", "demo"),
}
DEFAULTS = {"configs": ("validate", "sync"), "patches": ("validate", "apply", "rebase")}


def _big_patch(queue: Path) -> None:
    """A 50 MB patch: a real header and one huge hunk, written at test time."""
    good = next(queue.glob("0001-*.patch")).read_text()
    line = "+" + "x" * 1023 + "\n"
    with (queue / "0002-huge.patch").open("w") as out:
        out.write(good.replace("@@ -1 +1,2 @@", f"@@ -1 +1,{50 * 1024 + 1} @@"))
        out.write(line * (50 * 1024))


def _bom_patch(queue: Path) -> None:
    """A good patch saved by an editor that puts a UTF-8 byte-order mark first: git would
    read it as a headerless diff (no author, no date)."""
    good = next(queue.glob("0001-*.patch")).read_bytes()
    (queue / "0002-bom.patch").write_bytes(b"\xef\xbb\xbf" + good)


def _fifo_patch(queue: Path) -> None:
    # Reading a FIFO blocks until someone writes to it: a queue must hold files.
    os.mkfifo(queue / "0002-fifo.patch")


def _symlinked_patch(queue: Path) -> None:
    (queue / "0002-passwd.patch").symlink_to("/etc/passwd")


def _symlinked_series(queue: Path) -> None:
    (queue / "series").symlink_to("/etc/passwd")


GENERATORS: dict[str, Callable[[Path], None]] = {
    "big-patch": _big_patch,
    "bom-patch": _bom_patch,
    "fifo-patch": _fifo_patch,
    "symlinked-patch": _symlinked_patch,
    "symlinked-series": _symlinked_series,
}


@dataclass(frozen=True)
class Case:
    id: str
    kind: str  # configs, patches or arguments
    commands: tuple[tuple[str, ...], ...]  # each must refuse the input the same way
    errors: tuple[str, ...]  # exact problem lines, paths relative to the site
    file: str | None = None  # in tests/data/hostile/<kind>/
    install_as: str | None = None  # its name in the queue (patches), default its own
    generate: str | None = None  # a GENERATORS key, for what is not committed

    def install(self, root: Path) -> None:
        if self.generate is not None:
            GENERATORS[self.generate](root / QUEUE)
        elif self.kind == "configs":
            shutil.copyfile(DATA / "configs" / str(self.file), root / "mirrors.yaml")
        elif self.kind == "patches":
            name = self.install_as or str(self.file)
            shutil.copyfile(DATA / "patches" / str(self.file), root / QUEUE / name)


def _load_cases() -> list[Case]:
    data = yaml.safe_load((DATA / "cases.yaml").read_text(encoding="utf-8"))
    cases = []
    for kind in ("configs", "patches", "arguments"):
        for entry in data[kind]:
            name = entry.get("id") or Path(entry.get("file") or entry["generate"]).stem
            if kind == "arguments":
                commands = (tuple(entry["args"]),)
            else:
                commands = tuple(COMMANDS[c] for c in entry.get("commands", DEFAULTS[kind]))
            cases.append(Case(id=f"{kind}/{name}", kind=kind, commands=commands,
                              errors=tuple(entry["errors"]), file=entry.get("file"),
                              install_as=entry.get("as"), generate=entry.get("generate")))
    return cases


CASES = _load_cases()


def _snapshot(root: Path) -> dict[str, tuple[object, ...]]:
    """Every path under root: its type, mode and bytes (or link target)."""
    found: dict[str, tuple[object, ...]] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            info = path.lstat()
            key = str(path.relative_to(root))
            if stat.S_ISLNK(info.st_mode):
                found[key] = ("link", os.readlink(path))
            elif stat.S_ISREG(info.st_mode) and key == "work/lock":
                # The lock says who holds the work directory; every command that takes
                # it rewrites it, so only its presence counts.
                found[key] = ("lock", info.st_mode)
            elif stat.S_ISREG(info.st_mode):
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                found[key] = ("file", info.st_mode, digest)
            else:
                found[key] = ("other", info.st_mode)
    return found


def _build_template(root: Path, run_cli: Callable[..., CliResult]) -> None:
    upstream = make_upstream(root / "upstream")
    upstream.checkout("v1.1.0")
    upstream.commit("BLD: build riscv64 wheels\n\nUpstream-Status: Pending",
                    {"setup.py": "print('build')\nprint('riscv64')\n"})
    upstream.git("format-patch", "--quiet", "--zero-commit", "--no-signature", "--no-stat",
                 "--no-numbered", "--full-index", "-o", str(root / QUEUE), "v1.1.0..HEAD")
    upstream.checkout("main")
    upstream.commit("third", {"src/core.c": "int main(void) { return 2; }\n"})
    upstream.tag("v1.2.0", annotated=True)  # something for `rebase` to carry the queue onto
    mirror = make_mirror(root / "mirror.git")
    upstream.git("push", "--quiet", str(mirror.path), "v1.1.0^{commit}:refs/heads/riscv64/1.1.0")
    (root / "mirrors.yaml").write_text(GOOD_CONFIG)
    site = _site(root)
    for args in (("sync",), ("validate",)):
        result = run_cli(*site.args(*args))
        assert result.code == 0, result.out + result.err
    # Every case copies the site and reads it twice: a few packs copy faster than
    # hundreds of loose objects and sample hooks.
    for repo in (root / "upstream", root / "mirror.git", root / "work" / "cache" / "demo.git"):
        Repo(repo).git("gc", "--quiet", "--prune=now")
    for sample in root.glob("**/hooks/*.sample"):
        sample.unlink()


def _site(root: Path) -> Site:
    return Site(root, Repo(root / "upstream"), Repo(root / "mirror.git"), root / "mirrors.yaml",
                root / "work")


@pytest.fixture(scope="module")
def template() -> dict[str, Path]:
    """Where the synced site every case copies is, once the first case has built it."""
    return {}


@pytest.fixture
def hostile_site(sealed_git: Path, template: dict[str, Path], run_cli: Callable[..., CliResult],
                 tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Site:
    # Built here rather than in a module fixture, so that git runs sealed (sealed_git).
    if "root" not in template:
        template["root"] = tmp_path_factory.mktemp("hostile-template")
        _build_template(template["root"], run_cli)
    shutil.copytree(template["root"], tmp_path / "site", symlinks=True)
    return _site(tmp_path / "site")


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_input_is_refused_and_nothing_is_written(
        case: Case, hostile_site: Site, run_cli: Callable[..., CliResult]) -> None:
    root = hostile_site.root
    case.install(root)
    before = _snapshot(root)
    for command in case.commands:
        result = run_cli(*hostile_site.args(*command))
        out, err = (text.replace(f"{root}/", "") for text in (result.out, result.err))
        assert (result.code, *_problems(command, out, err)) == (2, *case.errors), \
            f"mirrorctl {' '.join(command)}:\n{out}{err}"
        assert _snapshot(root) == before, f"mirrorctl {' '.join(command)} wrote something"


def _problems(command: tuple[str, ...], out: str, err: str) -> list[str]:
    """The problem lines a command printed, after checking what surrounds them."""
    if command[0] == "validate":
        assert err == ""
        *lines, summary = out.splitlines()
        count = f"{len(lines)} problem" + ("s" if len(lines) != 1 else "")
        assert summary == f"{count} in mirrors.yaml or its patch queues"
        return lines
    assert out == ""
    assert err.startswith("mirrorctl: error: ") and err.endswith("\n"), err
    return err.removeprefix("mirrorctl: error: ").removesuffix("\n").split("\n")


def test_every_corpus_file_has_its_case_and_there_are_at_least_thirty() -> None:
    named = {(case.kind, case.file) for case in CASES if case.file}
    committed = {(kind, path.name) for kind in ("configs", "patches")
                 for path in (DATA / kind).iterdir()}
    assert committed == named
    assert len(CASES) >= 30
