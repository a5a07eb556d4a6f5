"""Whether upstream's CI builds riscv64 wheels, and how it builds its other Linux
architectures (pure: the files of one tree in, facts out).

A wheel job is a GitHub Actions job with a step that runs cibuildwheel (its action, or
`python -m cibuildwheel` / `pipx run cibuildwheel`) or maturin (PyO3/maturin-action, or
`maturin build`). Each combination of its matrix, expanded as GitHub expands it, builds
the Linux architectures its settings resolve to: CIBW_ARCHS_LINUX or CIBW_ARCHS (the
step's env over the job's over the workflow's), else pyproject's
`[tool.cibuildwheel.linux] archs`, else `auto` (the runner's own architecture), less what
CIBW_BUILD and CIBW_SKIP leave out. A job that runs tests under emulation builds no
wheel and counts for nothing.

Here: the workflows read and each job's tool told (read_wheel_ci), into WheelCi. A job
and its shape, where riscv64 would go, are in wheeljob.py; each tool's job is read by
cibwjob.py and maturinjob.py, the cibuildwheel it pins by cibwpin.py.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from mirrorctl.upstream.wheels.cibwjob import CibwStep, cibuildwheel_job
from mirrorctl.upstream.wheels.maturinjob import MATURIN_RUN, maturin_job
from mirrorctl.upstream.wheels.wheeljob import WheelJob, env_of, tokens

__all__ = ["WheelCi", "ci_paths", "read_wheel_ci"]

# libyaml's safe loader where PyYAML has it (its wheels do): the same documents, read
# several times faster than the pure-Python one, which a thousand packages feel.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_WORKFLOW = 512 * 1024  # a workflow larger than this is not read (nor parsed)
# cibuildwheel run, not installed: python -m, pipx run, uvx (a version pinned or not).
_CIBW_RUN = re.compile(r"^(?!.*\binstall\b).*(?:python\S*\s+-m\s+|pipx\s+run\s+(?:\S+\s+)*|"
                       r"uvx\s+(?:\S+\s+)*|^\s*|[;&|]\s*)cibuildwheel(?:(?:==|[@=])[\w.*]+)?(?=\s|$)",
                       re.M)


def ci_paths() -> tuple[str, ...]:
    """The paths (git pathspecs) whose content the analysis reads (setup.cfg and setup.py:
    the Pythons a project supports, which cibuildwheel reads too; requirements files: the
    cibuildwheel version a workflow installs from one)."""
    return (".github/workflows", "pyproject.toml", "cibuildwheel.toml", ".cibuildwheel.toml",
            "setup.cfg", "setup.py",
            # where a workflow's `pip install -r` finds the cibuildwheel it pins
            ".github/requirements", ".ci", "requirements", "ci/requirements", "requirements.txt",
            "requirements-wheels.txt", "requirements-build.txt", "requirements-dev.txt")


@dataclass(frozen=True, kw_only=True)
class WheelCi:
    jobs: tuple[WheelJob, ...] = ()
    problems: tuple[str, ...] = ()  # files that could not be read, with why
    pyproject_archs: tuple[str, ...] | None = None

    @property
    def builds_riscv64(self) -> bool:
        return any("riscv64" in job.archs for job in self.jobs)

    @property
    def riscv64_jobs(self) -> tuple[WheelJob, ...]:
        return tuple(job for job in self.jobs if "riscv64" in job.archs)

    @property
    def linux_jobs(self) -> tuple[WheelJob, ...]:
        return tuple(job for job in self.jobs if job.archs or job.unresolved)

    @property
    def target(self) -> WheelJob | None:
        """The job a draft edits: the first Linux wheel job, when its shape is known."""
        jobs = self.linux_jobs
        return jobs[0] if jobs and jobs[0].shape is not None else None


def read_wheel_ci(files: Mapping[str, str]) -> WheelCi:
    """The wheel jobs of a tree's workflows (`files`: path -> text, as ci_paths reads)."""
    problems: list[str] = []
    cibw = _cibuildwheel_table(files, "pyproject.toml", problems)
    jobs: list[WheelJob] = []
    for path in sorted(p for p in files if p.startswith(".github/workflows/")
                       and p.endswith((".yml", ".yaml"))):
        if len(files[path]) > MAX_WORKFLOW:
            problems.append(f"{path}: over {MAX_WORKFLOW // 1024} KiB, not read")
            continue
        try:
            document = yaml.load(files[path], Loader=_LOADER)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{path}:{mark.line + 1}" if mark is not None else path
            problems.append(f"{where}: not YAML ({getattr(exc, 'problem', exc)})")
            continue
        if not isinstance(document, Mapping) or not isinstance(document.get("jobs"), Mapping):
            continue
        workflow_env = env_of(document.get("env"))
        for name, job in document["jobs"].items():
            if isinstance(job, Mapping):
                jobs += _wheel_jobs(path, str(name), job, workflow_env, cibw, files, problems)
    archs = cibw.get("linux", {}).get("archs", cibw.get("archs"))
    return WheelCi(jobs=tuple(jobs), problems=tuple(problems),
                   pyproject_archs=tuple(tokens(archs)) if archs is not None else None)


def _cibuildwheel_table(files: Mapping[str, str], path: str,
                        problems: list[str]) -> dict[str, Any]:
    """The [tool.cibuildwheel] table of `path` (pyproject.toml, cibuildwheel's default,
    or the file a step's `config-file` names)."""
    if path not in files:
        return {}
    try:
        data = tomllib.loads(files[path])
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"{path}: not TOML ({exc})")
        return {}
    table = data.get("tool", {}).get("cibuildwheel")
    return table if isinstance(table, dict) else {}


def _wheel_jobs(path: str, name: str, job: Mapping[str, Any], workflow_env: dict[str, str],
                cibw: dict[str, Any], files: Mapping[str, str],
                problems: list[str]) -> list[WheelJob]:
    """The wheel job a workflow's job is, by the tool its steps run: none, a
    cibuildwheel job (its cibuildwheel steps), or a maturin job (its first build)."""
    steps = [(i, s) for i, s in enumerate(job.get("steps") or []) if isinstance(s, Mapping)]
    cibuildwheel: list[CibwStep] = []
    for index, step in steps:
        uses, run = str(step.get("uses", "")), str(step.get("run", ""))
        if uses.lower().startswith("pypa/cibuildwheel") or _CIBW_RUN.search(run):
            config = str((step.get("with") or {}).get("config-file") or "") \
                if isinstance(step.get("with"), Mapping) else ""
            table = _cibuildwheel_table(files, config, problems) if config else cibw
            cibuildwheel.append(CibwStep(index, step, config or None, table))
        elif not cibuildwheel and uses.lower().startswith("pyo3/maturin-action") and str(
                (step.get("with") or {}).get("command", "build")) == "build":
            return [maturin_job(path, name, job, step, "with")]
        elif not cibuildwheel and MATURIN_RUN.search(run):
            return [maturin_job(path, name, job, step, "run")]
    if not cibuildwheel:
        return []
    # One wheel job, however many steps build: each combination runs the steps whose
    # `if:` holds for it (one keyed by an image, say), and those are the ones proved.
    return [cibuildwheel_job(path, name, job, cibuildwheel, workflow_env, files)]
