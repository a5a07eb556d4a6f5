"""A cibuildwheel job read (cibuildwheel_job): for each combination of its matrix, the
cibuildwheel steps it runs (their `if:` true for it), the settings each builds with
(CIBW_ARCHS_LINUX or CIBW_ARCHS, the step's env over the job's over the workflow's, else
the `[tool.cibuildwheel.linux] archs` of its config file, else `auto`: the runner's own
architecture), the Linux architectures those leave after CIBW_BUILD and CIBW_SKIP, the
runs that build riscv64, and the job's shape: where riscv64 would join (pure).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from mirrorctl.upstream.wheels.cibwpin import cibuildwheel_pin
from mirrorctl.upstream.wheels.expressions import UNKNOWN, evaluate, truthy
from mirrorctl.upstream.wheels.matrix import Combination, substitute
from mirrorctl.upstream.wheels.wheeljob import (
    EMULATED,
    KEY_OR_DEFAULT,
    LINUX_ARCHS,
    Run,
    Shape,
    WheelJob,
    combinations,
    computed,
    env_of,
    job_runner,
    lists_arm_runner,
    lists_emulated,
    matrix_key,
    native_arch,
    says_linux,
    tokens,
)

__all__ = ["CibwStep", "cibuildwheel_job"]

# The build identifiers' Pythons a selector may name (cibuildwheel's, 3.9 to 3.15).
_PYTHONS = (*(f"cp3{m}" for m in range(9, 16)), *(f"cp3{m}t" for m in range(13, 16)),
            "pp310", "pp311")


@dataclass(frozen=True)
class CibwStep:
    """A cibuildwheel step of a job: its index, the step, its config file and table."""

    index: int
    step: Mapping[str, Any]
    config: str | None
    table: Mapping[str, Any]


@dataclass(frozen=True)
class _Settings:
    """What one cibuildwheel step builds with: its environment over the job's and the
    workflow's, and its [tool.cibuildwheel] table."""

    env: Mapping[str, str]
    linux: Mapping[str, Any]
    table: Mapping[str, Any]

    @classmethod
    def of(cls, step: CibwStep, job: Mapping[str, Any],
           workflow_env: dict[str, str]) -> _Settings:
        table = step.table
        linux = table.get("linux", {}) if isinstance(table.get("linux"), dict) else {}
        return cls({**workflow_env, **env_of(job.get("env")), **env_of(step.step.get("env"))},
                   linux, table)

    @property
    def arch_setting(self) -> str | None:
        return self.env.get("CIBW_ARCHS_LINUX", self.env.get("CIBW_ARCHS"))

    @property
    def archs_source(self) -> Any:
        setting = self.arch_setting
        return setting if setting is not None else self.linux.get("archs",
                                                                  self.table.get("archs"))


def _steps_run(steps: list[CibwStep], combo: Combination) -> list[CibwStep] | None:
    """The cibuildwheel steps a combination runs (their `if:` true for it, or none); None
    when a condition cannot be evaluated here and no step is known to run."""
    context = {"matrix": combo, "runner": {"os": "Linux"}}
    running, unknown = [], False
    for step in steps:
        condition = step.step.get("if")
        value = True if condition is None else evaluate(str(condition), context)
        if value is UNKNOWN:
            unknown = True
        elif truthy(value):
            running.append(step)
    return None if unknown and not running else running


def cibuildwheel_job(path: str, name: str, job: Mapping[str, Any], steps: list[CibwStep],
                     workflow_env: dict[str, str], files: Mapping[str, str]) -> WheelJob:
    """The cibuildwheel job of `path` whose `steps` run cibuildwheel: what each
    combination builds, its shape and its pin."""
    matrix, combos = combinations(job)
    if combos is None:
        return computed(path, name, "cibuildwheel")
    archs: set[str] = set()
    unresolved = emulated = False
    runs: list[Run] = []
    shown: _Settings | None = None  # the settings of the first step a Linux job runs
    for combo in combos:
        runner = job_runner(job, combo)
        running = _steps_run(steps, combo)
        if running is None:
            unresolved = True
            continue
        for step in running:
            settings = _Settings.of(step, job, workflow_env)
            linux_runner = says_linux(runner) if runner is not None else None
            platform = str(_resolved(settings.env.get("CIBW_PLATFORM", ""), combo)).strip()
            if platform == "linux":
                linux_runner = True
            elif platform not in ("", "auto") and "${{" not in platform:
                continue  # pyodide, android, ios: no Linux wheel
            if linux_runner is False:
                continue
            shown = shown or settings
            source = settings.archs_source
            text = _resolved(" ".join(tokens(source)) if source is not None else "auto",
                             combo)
            if runner is None or linux_runner is None or "${{" in text:
                unresolved = True
                continue
            native = native_arch(runner)
            built = {a for a in _archs(text, native) if _selected(
                a, substitute(settings.env.get("CIBW_BUILD", settings.table.get("build")),
                              combo),
                substitute(settings.env.get("CIBW_SKIP", settings.table.get("skip")), combo))}
            emulated |= bool(built - {native, "i686"})
            archs |= built
            if "riscv64" in built:
                runs.append(Run(combination=combo, runner=runner, config_file=step.config,
                                step=step.index, env={
                                    k: str(_resolved(v, combo))
                                    for k, v in settings.env.items() if k.startswith("CIBW_")}))
    shown = shown or _Settings.of(steps[0], job, workflow_env)
    shape, key, why = _cibuildwheel_shape(path, name, job, matrix, shown.arch_setting,
                                          shown.linux, shown.table, archs)
    return WheelJob(workflow=path, job=name, tool="cibuildwheel", archs=frozenset(archs),
                    shape=shape, why=why, unresolved=unresolved, matrix_key=key,
                    emulated=emulated, riscv64_runs=tuple(runs),
                    steps=tuple(s.index for s in steps),
                    pin=cibuildwheel_pin(job, [s.step for s in steps], files, path))


def _resolved(value: Any, combo: Combination) -> Any:
    """A setting with the matrix substituted, and each expression left that reads the
    matrix alone evaluated (`${{ matrix.cibw_archs || 'auto' }}`); one that reads more
    stays as it is (unresolved)."""
    value = substitute(value, combo)
    if not isinstance(value, str) or "${{" not in value:
        return value

    def one(m: re.Match[str]) -> str:
        found = evaluate(m.group(0), {"matrix": combo})
        if found is UNKNOWN or isinstance(found, (dict, list)):
            return m.group(0)
        return "" if found is None else str(found).lower() if isinstance(found, bool) \
            else str(found)

    return re.sub(r"\$\{\{.*?\}\}", one, value)


def _archs(text: str, native: str) -> set[str]:
    found: set[str] = set()
    for token in tokens(text):
        if token in ("auto", "native", "auto64"):
            found.add(native)
        elif token == "all":
            found.update(LINUX_ARCHS)
        elif token in LINUX_ARCHS:
            found.add(token)
    return found


def _selected(arch: str, build: Any, skip: Any) -> bool:
    """Whether cibuildwheel's build and skip selectors leave this architecture in."""
    ids = [f"{python}-{libc}_{arch}" for python in _PYTHONS
           for libc in ("manylinux", "musllinux")]
    if build is not None and str(build).strip():
        if "${{" in str(build):
            return True  # an expression: the selector is not what leaves it out
        ids = [i for i in ids if any(fnmatchcase(i, p) for p in tokens(build))]
    if skip is not None and "${{" not in str(skip):
        ids = [i for i in ids if not any(fnmatchcase(i, p) for p in tokens(skip))]
    return bool(ids)


def _cibuildwheel_shape(path: str, name: str, job: Mapping[str, Any], matrix: Any,
                        setting: str | None, linux: Mapping[str, Any], cibw: Mapping[str, Any],
                        archs: set[str]) -> tuple[Shape | None, str | None, str]:
    where = f"{path}: job {name}"
    if "riscv64" in archs:
        return None, None, f"{where} builds riscv64 wheels"
    key = matrix_key(setting)
    if key is not None and isinstance(matrix, Mapping):
        if lists_emulated(matrix.get(key)):
            return "matrix", key, f"{where}: riscv64 joins matrix.{key}"
        if any(isinstance(e, Mapping) and str(e.get(key)) in EMULATED
               for e in matrix.get("include") or []):
            return "include", key, f"{where}: riscv64 joins the include entries of {key}"
        if KEY_OR_DEFAULT.search(str(setting)) and not lists_emulated(matrix.get(key)) \
                and isinstance(matrix.get("include"), list) and matrix.get(key) is None:
            # entries on their runners, `matrix.archs || 'auto'` read where one sets it
            return "include", key, (f"{where}: riscv64 joins the include entries, "
                                    f"matrix.{key} set for it")
    if setting is not None and key is None and set(tokens(setting)) & set(EMULATED):
        return "env", None, f"{where}: riscv64 joins its CIBW_ARCHS"
    if setting is None and set(tokens(linux.get("archs", cibw.get("archs", "")))) & set(
            EMULATED):
        return "pyproject", None, "riscv64 joins [tool.cibuildwheel.linux] archs"
    runner_key = matrix_key(job.get("runs-on"))
    if (setting is None or set(tokens(setting)) <= {"auto", "native", "auto64"}) \
            and runner_key is not None and isinstance(matrix, Mapping) \
            and lists_arm_runner(matrix, runner_key):
        return "native", runner_key, f"{where}: a riscv64 runner joins matrix.{runner_key}"
    return None, None, (f"{where} builds {', '.join(sorted(archs)) or 'no Linux wheel'} and "
                        "lists no other architecture where riscv64 could join")
