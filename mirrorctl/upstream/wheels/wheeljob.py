"""One wheel job of upstream's CI, as read (WheelJob: the Linux architectures its
combinations build, the runs that build riscv64, the shape, the cibuildwheel it pins),
and what the readers of its two tools (cibwjob, maturinjob) share: the job's matrix
expanded into combinations, the runner of each and what its labels say, the matrix key
a setting reads (pure).

The shape says how the job's other architectures are listed, which is where riscv64
would go (upstream/wheels/draft.py edits it): `matrix` (a vector of the matrix that the
arch setting reads), `include` (include entries carrying that key), `env` (a literal
CIBW_ARCHS), `pyproject` (the archs of `[tool.cibuildwheel.linux]`), `native` (a runner
a combination, arm among them), `maturin` (a vector of targets). None: a shape mirrorctl
does not edit (a matrix computed at run time, a reusable workflow, an arch written only
in an expression it cannot read); an issue is drafted instead of a guessed patch.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from mirrorctl.upstream.wheels.cibwpin import Pin
from mirrorctl.upstream.wheels.expressions import evaluate
from mirrorctl.upstream.wheels.matrix import Combination, expand_matrix, substitute

__all__ = ["EMULATED", "KEY_OR_DEFAULT", "LINUX_ARCHS", "Run", "Shape", "WheelJob",
           "combinations", "computed", "env_of", "is_linux_runner", "job_runner",
           "lists_arm_runner", "lists_emulated", "matrix_key", "native_arch", "says_linux",
           "tokens"]

Shape = Literal["matrix", "include", "env", "pyproject", "native", "maturin"]
LINUX_ARCHS = ("x86_64", "i686", "aarch64", "ppc64le", "s390x", "armv7l", "riscv64")
EMULATED = ("aarch64", "ppc64le", "s390x", "armv7l")  # how upstreams list the others
_MATRIX_KEY = re.compile(r"\$\{\{\s*matrix(?:\.([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*)|"
                         r"\[\s*'([^']+)'\s*\])\s*\}\}")
_ARM_RUNNER = re.compile(r"arm|aarch64", re.I)
_RISCV_RUNNER = re.compile(r"riscv", re.I)


@dataclass(frozen=True, kw_only=True)
class WheelJob:
    workflow: str  # its path in the tree
    job: str  # the job's id
    tool: Literal["cibuildwheel", "maturin"]
    archs: frozenset[str]  # the Linux architectures its combinations build
    shape: Shape | None
    why: str  # how it builds riscv64, or where riscv64 would go, or why not known
    unresolved: bool = False  # some combination's architectures could not be read
    matrix_key: str | None = None  # the matrix key the shape's edit goes into
    emulated: bool = False  # it builds architectures its runners are not
    # The combinations that build riscv64: (matrix values, runner labels, the CIBW_*
    # environment with the matrix substituted).
    riscv64_runs: tuple[Run, ...] = ()
    steps: tuple[int, ...] = ()  # the indexes of its cibuildwheel steps
    pin: Pin | None = None  # the cibuildwheel version it runs, when the workflow says


@dataclass(frozen=True, kw_only=True)
class Run:
    combination: Combination
    runner: str
    env: Mapping[str, str]
    config_file: str | None = None  # the step's config-file (default: pyproject.toml)
    step: int | None = None  # the index of the cibuildwheel step it runs


def env_of(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


def tokens(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [t for t in re.split(r"[\s,]+", str(value)) if t]


def combinations(job: Mapping[str, Any]) -> tuple[Any, list[Combination] | None]:
    matrix = (job.get("strategy") or {}).get("matrix") if isinstance(
        job.get("strategy"), Mapping) else None
    return matrix, expand_matrix(matrix)


def computed(path: str, name: str, tool: Literal["cibuildwheel", "maturin"]) -> WheelJob:
    """A wheel job whose matrix GitHub computes at run time (or will not expand)."""
    return WheelJob(workflow=path, job=name, tool=tool, archs=frozenset(), shape=None,
                    unresolved=True, why=f"{path}: job {name}'s matrix is computed at run "
                                         "time")


def job_runner(job: Mapping[str, Any], combo: Combination) -> str | None:
    """The runner's labels as one string (`runs-on` may pick them by an expression over
    the matrix), or None while an expression is left in them."""
    labels = job.get("runs-on", "")
    if isinstance(labels, str) and labels.strip().startswith("${{") and \
            labels.strip().endswith("}}") and _MATRIX_KEY.fullmatch(labels.strip()) is None:
        value = evaluate(labels, {"matrix": combo, "runner": {"os": "Linux"}})
        return value if isinstance(value, str) and value else None
    labels = substitute(labels, combo)
    text = " ".join(map(str, labels)) if isinstance(labels, list) else str(labels)
    return None if "${{" in text else text


def native_arch(runner: str) -> str:
    """The architecture a runner's labels say it is (x86_64 unless they say otherwise)."""
    if _RISCV_RUNNER.search(runner):
        return "riscv64"
    if _ARM_RUNNER.search(runner):
        return "aarch64"
    return "x86_64"


def is_linux_runner(runner: str) -> bool:
    """Whether a runner's labels say Linux (a self-hosted label that says nothing: no)."""
    return says_linux(runner) is True


def says_linux(runner: str) -> bool | None:
    """Whether a runner's labels say Linux, or another system; None when they do not say."""
    low = runner.lower()
    if re.search(r"windows|macos|mac-|osx", low):
        return False
    if re.search(r"ubuntu|linux|riscv", low):
        return True
    return None  # a self-hosted label that does not say


def lists_arm_runner(matrix: Mapping[str, Any], key: str) -> bool:
    values = [*(matrix.get(key) or [])] if isinstance(matrix.get(key), list) else []
    values += [e.get(key) for e in matrix.get("include") or [] if isinstance(e, Mapping)]
    return any(isinstance(v, str) and _ARM_RUNNER.search(v) and says_linux(v) for v in values)


def lists_emulated(values: Any) -> bool:
    return isinstance(values, list) and any(str(v) in EMULATED for v in values)


def matrix_key(text: Any) -> str | None:
    m = _MATRIX_KEY.search(str(text or "")) or KEY_OR_DEFAULT.search(str(text or ""))
    return (m.group(1) or m.group(2)) if m else None


# ${{ matrix.archs || 'auto' }}: the key, where an entry sets it
KEY_OR_DEFAULT = re.compile(r"\$\{\{\s*matrix\.([A-Za-z_][\w-]*)()\s*\|\|\s*'[^']*'\s*\}\}")
