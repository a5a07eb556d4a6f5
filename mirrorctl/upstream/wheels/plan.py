"""What a draft of riscv64 wheels is made of: its options, the edits gathered (the plan,
with the document paths each may change), the change it makes, and why one cannot be
drafted (CannotDraft: an issue is drafted instead). Shared by the edit (draft.py,
runners.py, configs.py) and its proof (proof.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mirrorctl.core.errors import MirrorctlError
from mirrorctl.core.yamledit import Edit
from mirrorctl.upstream.wheels.cibwtool import CibuildwheelTools
from mirrorctl.upstream.wheels.wheeljob import WheelJob

__all__ = ["COUNT", "EXPECTED", "IMAGE_KEY", "IMAGE_NAME", "QEMU_ACTION", "RISCV64_IMAGES",
           "RISCV64_TARGET", "CannotDraft", "Plan", "WheelChange", "WheelOptions"]

# The images with riscv64 builds when the cibuildwheel the workflow runs cannot say (its
# pinned_docker_images.cfg says, when it is at hand): any other manylinux or musllinux
# image named in a matrix has none.
RISCV64_IMAGES = frozenset({"manylinux_2_39", "musllinux_1_2"})
IMAGE_NAME = re.compile(r"^(?:manylinux\d+|manylinux_\d+_\d+|musllinux_\d+_\d+)$")
RISCV64_TARGET = "riscv64gc-unknown-linux-gnu"
QEMU_ACTION = "docker/setup-qemu-action"
IMAGE_KEY = re.compile(r"^CIBW_(MANY|MUSL)LINUX_([A-Z0-9_]+)_IMAGE$")
COUNT = re.compile(r"(?P<op>-eq|==|-ge|-ne|!=)\s*(?P<n>\d+)\b")
# A setting that says how many wheels (or dists) a later job must find: EXPECTED_DISTS: 78
EXPECTED = re.compile(r"^\s*[A-Z_]*(?:WHEELS|DISTS)[A-Z_]*\s*:\s*['\"]?(?P<n>\d+)['\"]?\s*$")


class CannotDraft(MirrorctlError):
    """The change cannot be written safely: an issue is drafted instead."""


@dataclass(frozen=True, kw_only=True)
class WheelOptions:
    runner: str = "ubuntu-24.04-riscv"  # the native riscv64 runner's label
    native: bool = False  # the package asks for a riscv64 runner (upstream_wheels)
    cibuildwheel: bool = True  # check with cibuildwheel, when it is installed
    # Where the cibuildwheel the workflow pins comes from (None: only the one installed
    # beside mirrorctl, or one of its major version, is used).
    tools: CibuildwheelTools | None = field(default=None, compare=False)


@dataclass(frozen=True, kw_only=True)
class WheelChange:
    job: WheelJob
    files: Mapping[str, str]  # the files changed: path -> new text
    changes: tuple[str, ...]  # what was edited, a line each
    checks: tuple[str, ...]  # what was proved, a line each
    identifiers: tuple[str, ...] = ()  # the riscv64 builds cibuildwheel lists
    native: bool = False  # on a riscv64 runner (else under QEMU)
    peers: tuple[str, ...] = ()  # the architectures it builds under QEMU, riscv64 beside
    # Which cibuildwheel listed them ("cibuildwheel 3.1.4 (pinned at wheels.yml:40)"),
    # or why none did ("not checked with cibuildwheel, so unproved: ...").
    proof: str = ""


@dataclass
class Plan:
    """Edits being gathered: per file, and the document paths they may change."""

    edits: dict[str, list[Edit]]
    allowed: dict[str, set[tuple[Any, ...]]]
    changes: list[str]
    images: frozenset[str] = RISCV64_IMAGES  # the images that have riscv64 builds
    peers: frozenset[str] = frozenset()  # the architectures it emulates, riscv64 joins

    def lacks_riscv64(self, value: Any) -> bool:
        """Whether a matrix value names an image that has no riscv64 build."""
        return bool(IMAGE_NAME.match(str(value))) and str(value) not in self.images

    def add(self, path: str, edit: Edit, where: tuple[Any, ...], what: str) -> None:
        self.edits.setdefault(path, []).append(edit)
        self.allowed.setdefault(path, set()).add(where)
        self.changes.append(f"{path}: {what}")
