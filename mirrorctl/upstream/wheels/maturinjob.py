"""A maturin job read (maturin_job): PyO3/maturin-action's `target`, or a `maturin build
--target`, for each combination of its matrix; the Linux architecture each target
builds (maturin_arch), the runs that build riscv64, and where riscv64 would join: a
vector of targets, or entries that each name one (target_entries) (pure).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mirrorctl.upstream.wheels.matrix import substitute
from mirrorctl.upstream.wheels.wheeljob import (
    Run,
    WheelJob,
    combinations,
    computed,
    job_runner,
    lists_emulated,
    matrix_key,
    native_arch,
    says_linux,
)

__all__ = ["MATURIN_RUN", "maturin_arch", "maturin_job", "target_entries"]

MATURIN_RUN = re.compile(r"\bmaturin\s+build\b[^\n]*?--target[= ](\S+)")


def maturin_job(path: str, name: str, job: Mapping[str, Any], step: Mapping[str, Any],
                how: str) -> WheelJob:
    """The maturin job of `path` whose `step` builds (`how`: its action's `with`, or a
    `run` of maturin build)."""
    if how == "with":
        target_source: Any = (step.get("with") or {}).get("target")
    else:
        found = MATURIN_RUN.search(str(step.get("run", "")))
        target_source = found.group(1) if found else None
    matrix, combos = combinations(job)
    if combos is None:
        return computed(path, name, "maturin")
    archs: set[str] = set()
    unresolved = False
    runs: list[Run] = []
    for combo in combos:
        runner = job_runner(job, combo)
        target = str(substitute(target_source, combo) or "")
        if runner is None or "${{" in target:
            unresolved = True
            continue
        if re.search(r"apple|darwin|windows|msvc", target) or says_linux(runner) is False or (
                not target and says_linux(runner) is not True):
            continue
        arch = _maturin_arch(target) if target else native_arch(runner)
        archs.add(arch)
        if arch == "riscv64":
            runs.append(Run(combination=combo, runner=runner, env={}))
    key = matrix_key(target_source)
    where = f"{path}: job {name}"
    if "riscv64" in archs:
        return WheelJob(workflow=path, job=name, tool="maturin", archs=frozenset(archs),
                        shape=None, why=f"{where} builds riscv64 wheels", unresolved=unresolved,
                        riscv64_runs=tuple(runs))
    lists = key is not None and isinstance(matrix, Mapping) and (
        lists_emulated([_maturin_arch(str(v)) for v in matrix.get(key) or []
                        if isinstance(matrix.get(key), list)]))
    if not lists and key is not None and isinstance(matrix, Mapping) \
            and target_entries(matrix, key) is not None:
        # Entries that each name a target: `include:` ones, or a list of mappings
        # (`matrix.platform.target`): riscv64 joins as an entry of its own.
        return WheelJob(workflow=path, job=name, tool="maturin", archs=frozenset(archs),
                        shape="include", matrix_key=key, unresolved=unresolved,
                        why=f"{where}: riscv64 joins the entries of matrix.{key}")
    return WheelJob(workflow=path, job=name, tool="maturin", archs=frozenset(archs),
                    shape="maturin" if lists else None, matrix_key=key if lists else None,
                    unresolved=unresolved,
                    why=f"{where}: riscv64 joins matrix.{key}" if lists else
                    f"{where} lists no target list where riscv64 could join")


def target_entries(matrix: Mapping[str, Any], key: str) -> tuple[str, str] | None:
    """Where the entries that name `matrix.<key>` are: ("include", key) for include
    entries, (list, leaf) for a list of mappings (`platform.target`); None if nowhere
    a Linux target is."""
    head, _, leaf = key.rpartition(".")
    where = head or "include"
    entries = matrix.get(where)
    if "." in head or not isinstance(entries, list):
        return None
    if any(isinstance(e, Mapping) and isinstance(e.get(leaf or key), str)
           and not re.search(r"apple|darwin|windows|msvc", e[leaf or key]) for e in entries):
        return where, leaf or key
    return None


def maturin_arch(target: str) -> str:
    """The architecture a maturin target builds (`armv7` -> armv7l, a triple's head)."""
    return _maturin_arch(target)


def _maturin_arch(target: str) -> str:
    head = target.split("-")[0]
    return {"riscv64gc": "riscv64", "armv7": "armv7l", "powerpc64le": "ppc64le",
            "x64": "x86_64", "x86": "i686", "arm64": "aarch64"}.get(head, head)
