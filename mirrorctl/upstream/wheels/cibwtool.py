"""The cibuildwheel a draft is proved with: the version upstream's workflow pins, as its
CI will run it (4.x refuses options 3.x takes, and lists other builds).

In order: the cibuildwheel installed beside mirrorctl when it is that version; one
installed before into the work directory's tool cache (<workdir>/tools/cibuildwheel-<v>/,
kept: a pinned version never changes); one installed there now (`pip install --target`,
with the index settings the command line passes, a time limit); else an installed
cibuildwheel of the same major version, named; else none, and the proof is unknown
(the draft says so). The one I/O here is pip, through core.tools.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mirrorctl.core.tools import ToolResult, has_tool, run_tool
from mirrorctl.upstream.wheels.cibwpin import Pin

__all__ = ["Cibuildwheel", "CibuildwheelTools"]


@dataclass(frozen=True)
class Cibuildwheel:
    """One cibuildwheel to run: its version, where it is installed (None: beside
    mirrorctl), and how it was chosen, in words for the draft."""

    version: str
    path: Path | None
    said: str

    def images(self, arch: str) -> frozenset[str] | None:
        """The images this cibuildwheel has for `arch` (manylinux_2_39, musllinux_1_2 for
        riscv64 in 3.1 to 4.3), as its pinned_docker_images.cfg lists them; None when
        the file cannot be read."""
        import configparser

        if self.path is not None:
            folder = self.path / "cibuildwheel"
        else:
            import importlib.util

            spec = importlib.util.find_spec("cibuildwheel")
            if spec is None or spec.origin is None:
                return None
            folder = Path(spec.origin).parent
        parser = configparser.ConfigParser()
        try:
            parser.read_string((folder / "resources" / "pinned_docker_images.cfg").read_text(
                encoding="utf-8"))
        except (OSError, configparser.Error):
            return None
        return frozenset(parser[arch]) if parser.has_section(arch) else frozenset()

    def run(self, args: list[str], *, env: Mapping[str, str], cwd: Path) -> ToolResult:
        full = dict(env)
        if self.path is not None:  # first on the path: its own packages, not mirrorctl's
            full["PYTHONPATH"] = str(self.path)
        return run_tool("cibuildwheel", args, env=full, cwd=cwd)


@dataclass
class CibuildwheelTools:
    """Finds (and installs once) the cibuildwheel a pin asks for. `root`: the tool cache
    (None: nothing is installed); `install_env`: pip's environment (its index settings),
    from the command line (None: nothing is installed)."""

    root: Path | None = None
    install_env: Mapping[str, str] | None = None
    timeout: float = 300.0
    _chosen: dict[str, Cibuildwheel | None] = field(default_factory=dict)
    _why: dict[str, str] = field(default_factory=dict)

    def for_pin(self, pin: Pin | None) -> tuple[Cibuildwheel | None, str]:
        """The cibuildwheel to prove a workflow with, and why none when there is none."""
        key = f"{pin.version} {pin.where}" if pin is not None else ""  # its words name it
        if key not in self._chosen:
            self._chosen[key] = self._find(pin, key)
        return self._chosen[key], self._why.get(key, "")

    def _find(self, pin: Pin | None, key: str) -> Cibuildwheel | None:
        here = _installed()
        if pin is None:
            if here is None:
                self._why[key] = "cibuildwheel is not installed (pip install 'mirrorctl[campaign]')"
                return None
            return Cibuildwheel(here, None, f"cibuildwheel {here} (the workflow pins none)")
        if here is not None and _fits(here, pin.version):
            return Cibuildwheel(here, None, f"cibuildwheel {here} (pinned at {pin.where})")
        cached = self._cached(pin)
        if cached is not None:
            return cached
        failed = self._install(pin)
        cached = self._cached(pin) if failed is None else None
        if cached is not None:
            return cached
        if here is not None and here.split(".")[0] == pin.major:
            return Cibuildwheel(here, None, (
                f"cibuildwheel {here}, of the major version of the {pin.version} pinned at "
                f"{pin.where}, which could not be installed ({failed})"))
        kept = self._kept_of_major(pin.major)
        if kept is not None:
            version, folder = kept
            return Cibuildwheel(version, folder, (
                f"cibuildwheel {version} (in the tool cache), of the major version of the "
                f"{pin.version} pinned at {pin.where}, which could not be installed "
                f"({failed})"))
        self._why[key] = (f"cibuildwheel {pin.version} (pinned at {pin.where}) could not "
                          f"be installed ({failed}), and no cibuildwheel {pin.major}.x is "
                          "installed here")
        return None

    def _kept_of_major(self, major: str) -> tuple[str, Path] | None:
        """The newest cibuildwheel of that major version the tool cache holds."""
        if self.root is None or not self.root.is_dir():
            return None
        found = [(version, folder) for folder in self.root.glob("cibuildwheel-*")
                 if (version := _version_in(folder)) is not None
                 and version.split(".")[0] == major]
        return max(found, key=lambda f: _sort_key(f[0])) if found else None

    def _folder(self, pin: Pin) -> Path | None:
        return self.root / f"cibuildwheel-{pin.version}" if self.root is not None else None

    def _cached(self, pin: Pin) -> Cibuildwheel | None:
        folder = self._folder(pin)
        version = _version_in(folder) if folder is not None else None
        if folder is None or version is None:
            return None
        return Cibuildwheel(version, folder, f"cibuildwheel {version} (pinned at {pin.where})")

    def _install(self, pin: Pin) -> str | None:
        """Install the pinned version into the tool cache; why not, or None."""
        folder = self._folder(pin)
        if folder is None or self.install_env is None:
            return "nothing is installed by this run"
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".installing-", dir=folder.parent))
        try:
            done = run_tool("pip", ["install", "--quiet", "--disable-pip-version-check",
                                    "--no-input", "--target", str(staging), pin.requirement],
                            env=self.install_env, cwd=folder.parent, timeout=self.timeout)
            if done.returncode != 0 or _version_in(staging) is None:
                lines = (done.stderr or done.stdout).strip().splitlines()
                return f"pip: {lines[-1][:200] if lines else 'it failed'}"
            os.replace(staging, folder)  # whole, or not at all
            return None
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _installed() -> str | None:
    if not has_tool("cibuildwheel"):
        return None
    try:
        return importlib.metadata.version("cibuildwheel")
    except importlib.metadata.PackageNotFoundError:
        return None


def _fits(version: str, wanted: str) -> bool:
    """Whether `version` is `wanted`, or in it when `wanted` is a prefix (3, 3.1)."""
    mine, theirs = version.split("."), wanted.split(".")
    return mine[:len(theirs)] == theirs


def _version_in(folder: Path) -> str | None:
    """The cibuildwheel version a --target folder holds (its dist-info), or None."""
    try:
        names = [p.name for p in folder.iterdir()]
    except OSError:
        return None
    for name in names:
        if name.startswith("cibuildwheel-") and name.endswith(".dist-info"):
            return name.removeprefix("cibuildwheel-").removesuffix(".dist-info")
    return None


def _sort_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in version.split("."))
