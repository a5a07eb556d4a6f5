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
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Literal

import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from mirrorctl.upstream.wheels.expressions import UNKNOWN, evaluate, truthy
from mirrorctl.upstream.wheels.matrix import Combination, expand_matrix, substitute

__all__ = ["EMULATED", "LINUX_ARCHS", "Pin", "Run", "Shape", "WheelCi", "WheelJob", "ci_paths",
           "cibuildwheel_pin", "is_linux_runner", "native_arch", "read_wheel_ci"]

Shape = Literal["matrix", "include", "env", "pyproject", "native", "maturin"]
LINUX_ARCHS = ("x86_64", "i686", "aarch64", "ppc64le", "s390x", "armv7l", "riscv64")
EMULATED = ("aarch64", "ppc64le", "s390x", "armv7l")  # how upstreams list the others
# libyaml's safe loader where PyYAML has it (its wheels do): the same documents, read
# several times faster than the pure-Python one, which a thousand packages feel.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_WORKFLOW = 512 * 1024  # a workflow larger than this is not read (nor parsed)
# cibuildwheel run, not installed: python -m, pipx run, uvx (a version pinned or not).
_CIBW_RUN = re.compile(r"^(?!.*\binstall\b).*(?:python\S*\s+-m\s+|pipx\s+run\s+(?:\S+\s+)*|"
                       r"uvx\s+(?:\S+\s+)*|^\s*|[;&|]\s*)cibuildwheel(?:(?:==|[@=])[\w.*]+)?(?=\s|$)",
                       re.M)
_MATURIN_RUN = re.compile(r"\bmaturin\s+build\b[^\n]*?--target[= ](\S+)")
_MATRIX_KEY = re.compile(r"\$\{\{\s*matrix(?:\.([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*)|"
                         r"\[\s*'([^']+)'\s*\])\s*\}\}")
_ARM_RUNNER = re.compile(r"arm|aarch64", re.I)
# The build identifiers' Pythons a selector may name (cibuildwheel's, 3.9 to 3.15).
_PYTHONS = (*(f"cp3{m}" for m in range(9, 16)), *(f"cp3{m}t" for m in range(13, 16)),
            "pp310", "pp311")
_RISCV_RUNNER = re.compile(r"riscv", re.I)


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


@dataclass(frozen=True, kw_only=True)
class Pin:
    """The cibuildwheel the workflow runs: a version ("3.1.4"), or a prefix of one ("3",
    "3.1": the newest of those); `where` says which line pins it."""

    version: str
    where: str

    @property
    def requirement(self) -> str:
        """What pip installs: cibuildwheel==3.1.4, or cibuildwheel==3.1.* for a prefix."""
        exact = self.version.count(".") >= 2
        return f"cibuildwheel=={self.version}" + ("" if exact else ".*")

    @property
    def major(self) -> str:
        return self.version.split(".")[0]


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
        workflow_env = _env(document.get("env"))
        for name, job in document["jobs"].items():
            if isinstance(job, Mapping):
                jobs += _wheel_jobs(path, str(name), job, workflow_env, cibw, files, problems)
    archs = cibw.get("linux", {}).get("archs", cibw.get("archs"))
    return WheelCi(jobs=tuple(jobs), problems=tuple(problems),
                   pyproject_archs=tuple(_tokens(archs)) if archs is not None else None)


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


def _env(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


def _tokens(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [t for t in re.split(r"[\s,]+", str(value)) if t]


@dataclass(frozen=True)
class _Step:
    """A cibuildwheel step of a job: its index, the step, its config file and table."""

    index: int
    step: Mapping[str, Any]
    config: str | None
    table: Mapping[str, Any]


def _wheel_jobs(path: str, name: str, job: Mapping[str, Any], workflow_env: dict[str, str],
                cibw: dict[str, Any], files: Mapping[str, str],
                problems: list[str]) -> list[WheelJob]:
    steps = [(i, s) for i, s in enumerate(job.get("steps") or []) if isinstance(s, Mapping)]
    cibuildwheel: list[_Step] = []
    for index, step in steps:
        uses, run = str(step.get("uses", "")), str(step.get("run", ""))
        if uses.lower().startswith("pypa/cibuildwheel") or _CIBW_RUN.search(run):
            config = str((step.get("with") or {}).get("config-file") or "") \
                if isinstance(step.get("with"), Mapping) else ""
            table = _cibuildwheel_table(files, config, problems) if config else cibw
            cibuildwheel.append(_Step(index, step, config or None, table))
        elif not cibuildwheel and uses.lower().startswith("pyo3/maturin-action") and str(
                (step.get("with") or {}).get("command", "build")) == "build":
            return [_maturin_job(path, name, job, step, "with")]
        elif not cibuildwheel and _MATURIN_RUN.search(run):
            return [_maturin_job(path, name, job, step, "run")]
    if not cibuildwheel:
        return []
    # One wheel job, however many steps build: each combination runs the steps whose
    # `if:` holds for it (one keyed by an image, say), and those are the ones proved.
    return [_cibuildwheel_job(path, name, job, cibuildwheel, workflow_env, files)]


def _combinations(job: Mapping[str, Any]) -> tuple[Any, list[Combination] | None]:
    matrix = (job.get("strategy") or {}).get("matrix") if isinstance(
        job.get("strategy"), Mapping) else None
    return matrix, expand_matrix(matrix)


def _computed(path: str, name: str, tool: Literal["cibuildwheel", "maturin"]) -> WheelJob:
    """A wheel job whose matrix GitHub computes at run time (or will not expand)."""
    return WheelJob(workflow=path, job=name, tool=tool, archs=frozenset(), shape=None,
                    unresolved=True, why=f"{path}: job {name}'s matrix is computed at run "
                                         "time")


def _runner(job: Mapping[str, Any], combo: Combination) -> str | None:
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
    return _native(runner)


def is_linux_runner(runner: str) -> bool:
    """Whether a runner's labels say Linux (a self-hosted label that says nothing: no)."""
    return _is_linux(runner) is True


def _native(runner: str) -> str:
    if _RISCV_RUNNER.search(runner):
        return "riscv64"
    if _ARM_RUNNER.search(runner):
        return "aarch64"
    return "x86_64"


def _is_linux(runner: str) -> bool | None:
    low = runner.lower()
    if re.search(r"windows|macos|mac-|osx", low):
        return False
    if re.search(r"ubuntu|linux|riscv", low):
        return True
    return None  # a self-hosted label that does not say


@dataclass(frozen=True)
class _Settings:
    """What one cibuildwheel step builds with: its environment over the job's and the
    workflow's, and its [tool.cibuildwheel] table."""

    env: Mapping[str, str]
    linux: Mapping[str, Any]
    table: Mapping[str, Any]

    @classmethod
    def of(cls, step: _Step, job: Mapping[str, Any],
           workflow_env: dict[str, str]) -> _Settings:
        table = step.table
        linux = table.get("linux", {}) if isinstance(table.get("linux"), dict) else {}
        return cls({**workflow_env, **_env(job.get("env")), **_env(step.step.get("env"))},
                   linux, table)

    @property
    def arch_setting(self) -> str | None:
        return self.env.get("CIBW_ARCHS_LINUX", self.env.get("CIBW_ARCHS"))

    @property
    def archs_source(self) -> Any:
        setting = self.arch_setting
        return setting if setting is not None else self.linux.get("archs",
                                                                  self.table.get("archs"))


def _steps_run(steps: list[_Step], combo: Combination) -> list[_Step] | None:
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


def _cibuildwheel_job(path: str, name: str, job: Mapping[str, Any], steps: list[_Step],
                      workflow_env: dict[str, str], files: Mapping[str, str]) -> WheelJob:
    matrix, combos = _combinations(job)
    if combos is None:
        return _computed(path, name, "cibuildwheel")
    archs: set[str] = set()
    unresolved = emulated = False
    runs: list[Run] = []
    shown: _Settings | None = None  # the settings of the first step a Linux job runs
    for combo in combos:
        runner = _runner(job, combo)
        running = _steps_run(steps, combo)
        if running is None:
            unresolved = True
            continue
        for step in running:
            settings = _Settings.of(step, job, workflow_env)
            linux_runner = _is_linux(runner) if runner is not None else None
            platform = str(_resolved(settings.env.get("CIBW_PLATFORM", ""), combo)).strip()
            if platform == "linux":
                linux_runner = True
            elif platform not in ("", "auto") and "${{" not in platform:
                continue  # pyodide, android, ios: no Linux wheel
            if linux_runner is False:
                continue
            shown = shown or settings
            source = settings.archs_source
            text = _resolved(" ".join(_tokens(source)) if source is not None else "auto",
                             combo)
            if runner is None or linux_runner is None or "${{" in text:
                unresolved = True
                continue
            native = _native(runner)
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
    for token in _tokens(text):
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
        ids = [i for i in ids if any(fnmatchcase(i, p) for p in _tokens(build))]
    if skip is not None and "${{" not in str(skip):
        ids = [i for i in ids if not any(fnmatchcase(i, p) for p in _tokens(skip))]
    return bool(ids)


def _matrix_key(text: Any) -> str | None:
    m = _MATRIX_KEY.search(str(text or "")) or _KEY_OR_DEFAULT.search(str(text or ""))
    return (m.group(1) or m.group(2)) if m else None


# ${{ matrix.archs || 'auto' }}: the key, where an entry sets it
_KEY_OR_DEFAULT = re.compile(r"\$\{\{\s*matrix\.([A-Za-z_][\w-]*)()\s*\|\|\s*'[^']*'\s*\}\}")


def _cibuildwheel_shape(path: str, name: str, job: Mapping[str, Any], matrix: Any,
                        setting: str | None, linux: Mapping[str, Any], cibw: Mapping[str, Any],
                        archs: set[str]) -> tuple[Shape | None, str | None, str]:
    where = f"{path}: job {name}"
    if "riscv64" in archs:
        return None, None, f"{where} builds riscv64 wheels"
    key = _matrix_key(setting)
    if key is not None and isinstance(matrix, Mapping):
        if _lists_emulated(matrix.get(key)):
            return "matrix", key, f"{where}: riscv64 joins matrix.{key}"
        if any(isinstance(e, Mapping) and str(e.get(key)) in EMULATED
               for e in matrix.get("include") or []):
            return "include", key, f"{where}: riscv64 joins the include entries of {key}"
        if _KEY_OR_DEFAULT.search(str(setting)) and not _lists_emulated(matrix.get(key)) \
                and isinstance(matrix.get("include"), list) and matrix.get(key) is None:
            # entries on their runners, `matrix.archs || 'auto'` read where one sets it
            return "include", key, (f"{where}: riscv64 joins the include entries, "
                                    f"matrix.{key} set for it")
    if setting is not None and key is None and set(_tokens(setting)) & set(EMULATED):
        return "env", None, f"{where}: riscv64 joins its CIBW_ARCHS"
    if setting is None and set(_tokens(linux.get("archs", cibw.get("archs", "")))) & set(
            EMULATED):
        return "pyproject", None, "riscv64 joins [tool.cibuildwheel.linux] archs"
    runner_key = _matrix_key(job.get("runs-on"))
    if (setting is None or set(_tokens(setting)) <= {"auto", "native", "auto64"}) \
            and runner_key is not None and isinstance(matrix, Mapping) \
            and _lists_arm_runner(matrix, runner_key):
        return "native", runner_key, f"{where}: a riscv64 runner joins matrix.{runner_key}"
    return None, None, (f"{where} builds {', '.join(sorted(archs)) or 'no Linux wheel'} and "
                        "lists no other architecture where riscv64 could join")


def _lists_emulated(values: Any) -> bool:
    return isinstance(values, list) and any(str(v) in EMULATED for v in values)


def _lists_arm_runner(matrix: Mapping[str, Any], key: str) -> bool:
    values = [*(matrix.get(key) or [])] if isinstance(matrix.get(key), list) else []
    values += [e.get(key) for e in matrix.get("include") or [] if isinstance(e, Mapping)]
    return any(isinstance(v, str) and _ARM_RUNNER.search(v) and _is_linux(v) for v in values)


def _maturin_job(path: str, name: str, job: Mapping[str, Any], step: Mapping[str, Any],
                 how: str) -> WheelJob:
    if how == "with":
        target_source: Any = (step.get("with") or {}).get("target")
    else:
        found = _MATURIN_RUN.search(str(step.get("run", "")))
        target_source = found.group(1) if found else None
    matrix, combos = _combinations(job)
    if combos is None:
        return _computed(path, name, "maturin")
    archs: set[str] = set()
    unresolved = False
    runs: list[Run] = []
    for combo in combos:
        runner = _runner(job, combo)
        target = str(substitute(target_source, combo) or "")
        if runner is None or "${{" in target:
            unresolved = True
            continue
        if re.search(r"apple|darwin|windows|msvc", target) or _is_linux(runner) is False or (
                not target and _is_linux(runner) is not True):
            continue
        arch = _maturin_arch(target) if target else _native(runner)
        archs.add(arch)
        if arch == "riscv64":
            runs.append(Run(combination=combo, runner=runner, env={}))
    key = _matrix_key(target_source)
    where = f"{path}: job {name}"
    if "riscv64" in archs:
        return WheelJob(workflow=path, job=name, tool="maturin", archs=frozenset(archs),
                        shape=None, why=f"{where} builds riscv64 wheels", unresolved=unresolved,
                        riscv64_runs=tuple(runs))
    lists = key is not None and isinstance(matrix, Mapping) and (
        _lists_emulated([_maturin_arch(str(v)) for v in matrix.get(key) or []
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



_ACTION_REF = re.compile(r"pypa/cibuildwheel@(\S+)", re.I)
_VERSION = r"v?(\d+(?:\.\d+){0,2})"
_PINNED = (re.compile(rf"cibuildwheel\s*==\s*{_VERSION}\b"),  # pip, uv pip, pipx run, uvx --from
           re.compile(rf"cibuildwheel@{_VERSION}\b"),  # uvx cibuildwheel@3.2
           re.compile(rf"cibuildwheel\s*~=\s*{_VERSION}\b"))  # ~=3.1: the newest 3.x
_REQUIREMENTS = re.compile(r"(?:pip|uv\s+pip)\s+install\b[^\n]*?(?:-r|--requirement)[= ]\s*"
                           r"['\"]?([^\s'\"]+)")


def cibuildwheel_pin(job: Mapping[str, Any], steps: list[Mapping[str, Any]],
                     files: Mapping[str, str], path: str) -> Pin | None:
    """The cibuildwheel version the job runs, as its workflow pins it: the action's ref
    (`@v3.1.4`, `@v3`, a commit with its `# v3.1.4` comment), an install or a run of a
    version (`pip install cibuildwheel==X`, `uvx cibuildwheel@X`, `uvx --from
    'cibuildwheel==X' cibuildwheel`), or a requirements file the job installs. None when
    nothing says (the newest, then)."""
    lines = files.get(path, "").splitlines()
    for step in steps:
        found = _ACTION_REF.match(str(step.get("uses", "")).strip())
        if found is None:
            continue
        ref = found.group(1)
        version = re.fullmatch(_VERSION, ref)
        if version is not None:
            return Pin(version=version.group(1), where=_line_of(lines, ref, path))
        for number, line in enumerate(lines, 1):  # a commit: its comment says the version
            comment = re.search(rf"{re.escape(ref)}\s*#\s*{_VERSION}\b", line)
            if comment is not None:
                return Pin(version=comment.group(1), where=f"{path}:{number}")
    runs = [str(s.get("run", "")) for s in job.get("steps") or [] if isinstance(s, Mapping)]
    for run in runs:
        for kind, pattern in enumerate(_PINNED):
            pinned = pattern.search(run)
            if pinned is not None:
                said = pinned.group(1)
                if kind == 2:  # compatible release: its last part is a floor
                    said = said.rsplit(".", 1)[0] if "." in said else said
                return Pin(version=said, where=_line_of(lines, pinned.group(0), path))
    for run in runs:
        for wanted in _REQUIREMENTS.findall(run):
            text = files.get(wanted.removeprefix("./"))
            found = _PINNED[0].search(text or "")
            if found is not None:
                return Pin(version=found.group(1),
                           where=_line_of(text.splitlines() if text else [], found.group(0),
                                          wanted.removeprefix("./")))
    return None


def _line_of(lines: list[str], text: str, path: str) -> str:
    number = next((n for n, line in enumerate(lines, 1) if text in line), None)
    return f"{path}:{number}" if number is not None else path
