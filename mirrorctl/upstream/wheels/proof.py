"""The proof of a drafted change (check_change), before anything is written: every file
still parses, and the parsed documents differ only at the places the edit meant to
change; the wheel job's matrix, expanded as GitHub expands it, has riscv64 combinations
and each can run (QEMU set up for it, its condition true, or a riscv64 runner), none on
an image without riscv64; and cibuildwheel itself, run with each riscv64 combination's
CIBW_* environment on the patched files, lists riscv64 build identifiers (skipped, and
said, when cibuildwheel is not installed). What cannot be proved raises CannotDraft.
"""

from __future__ import annotations

import copy
import re
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from mirrorctl.core.yamledit import (
    EditError,
    child,
    compose,
    differences,
    node_at,
)
from mirrorctl.upstream.wheels.ci import WheelCi, read_wheel_ci
from mirrorctl.upstream.wheels.cibwtool import CibuildwheelTools
from mirrorctl.upstream.wheels.expressions import UNKNOWN, evaluate, truthy
from mirrorctl.upstream.wheels.matrix import expand_matrix, substitute
from mirrorctl.upstream.wheels.plan import (
    COUNT,
    EXPECTED,
    QEMU_ACTION,
    CannotDraft,
    Plan,
    WheelChange,
    WheelOptions,
)
from mirrorctl.upstream.wheels.wheeljob import Run, WheelJob

__all__ = ["check_change", "evaluate_names", "matrix_and_qemu_lines"]


def check_change(old: Mapping[str, str], new: Mapping[str, str], plan: Plan, job: WheelJob,
                 options: WheelOptions) -> WheelChange:
    checks: list[str] = []
    merged = {**old, **new}
    ci = read_wheel_ci(merged)
    for path, text in new.items():
        before, after = _parsed(path, old[path]), _parsed(path, text)
        changed = [d.path for d in differences(before, after)]
        allowed = plan.allowed.get(path, set())
        stray = [p for p in changed if not any(p[:len(a)] == a for a in allowed)]
        # An anchored node edited changes each of its aliases: allowed where the alias is
        # the same place of another Linux wheel job, which then builds riscv64 too.
        sharing = {p[1] for p in stray if _same_place_of_a_wheel_job(p, job, allowed, ci,
                                                                      path)}
        stray = [p for p in stray if p[:1] != ("jobs",) or p[1] not in sharing]
        if stray:
            alias = " (a YAML alias of the node edited)" if _has_aliases(old[path]) else ""
            raise CannotDraft(f"{path}: the edit would change {_show(stray[0])} too{alias}")
        checks.append(f"{path} parses, and differs only where riscv64 was added"
                      + "".join(f"; job {name} shares the edited node (a YAML alias) and "
                                "builds riscv64 too" for name in sorted(sharing)))
    found = next((j for j in ci.jobs if (j.workflow, j.job) == (job.workflow, job.job)), None)
    if found is None or not found.riscv64_runs:
        left_out = [c for c in plan.changes if "(no riscv64 build)" in c]
        raise CannotDraft(f"{job.workflow}: after the edit job {job.job} still builds no "
                          "riscv64 wheel" + (
                              f": {left_out[0].split(': ', 1)[1]}, and none of its other "
                              "images has one (those that do: "
                              f"{', '.join(sorted(plan.images))})" if left_out else ""))
    data = yaml.safe_load(merged[job.workflow])["jobs"][job.job]
    native = all(_is_riscv_runner(run.runner) for run in found.riscv64_runs)
    for run in found.riscv64_runs:
        _can_run(run, data, job)
        _image_ok(run, plan)
    _no_list_left_behind(merged, old)
    _artifacts_apart(data, found, job)
    how = ("on a riscv64 runner" if native else "cross-compiled by maturin-action"
           if job.tool == "maturin" else "with QEMU set up for riscv64")
    checks.append(f"{len(found.riscv64_runs)} riscv64 job(s) in the expanded matrix, each "
                  f"{how}, none on an image without riscv64")
    identifiers: tuple[str, ...] = ()
    said = ""
    if job.tool == "cibuildwheel":
        identifiers, said = _cibuildwheel(found, merged, options)
        checks.append(said)
    new_files = dict(new)
    counted = [c for c in plan.changes if c.endswith("count of expected wheels")]
    changes = [c for c in plan.changes if not c.endswith("count of expected wheels")]
    for line in counted:
        new_files, what = _raise_count(line, new_files, merged, len(identifiers), old)
        changes.append(what)
    return WheelChange(job=found, files=new_files, changes=tuple(changes), checks=tuple(checks),
                       identifiers=identifiers, native=native,
                       peers=() if native else tuple(sorted(plan.peers)),
                       proof=said.split(" lists ")[0] if identifiers else said)


_ARCH_WORD = re.compile(r"(?<![\w-])(x86_64|aarch64|ppc64le|s390x|armv7l|i686)(?![\w-])")


def _no_list_left_behind(files: Mapping[str, str], before: Mapping[str, str]) -> None:
    """No line of upstream's workflows outside a matrix or a QEMU step lists the other
    Linux architectures without riscv64: such a list (of expected wheels, artifacts, a
    check) would be wrong once riscv64 builds, and where its riscv64 would go is not
    known here: no patch is guessed. The line is named as upstream's file has it."""
    for path, text in sorted(files.items()):
        if not path.startswith(".github/workflows/"):
            continue
        skipped = matrix_and_qemu_lines(text)
        for number, line in enumerate(text.splitlines(), 1):
            if number in skipped or line.lstrip().startswith("#") or "riscv64" in line:
                continue
            if len(set(_ARCH_WORD.findall(line))) >= 2:
                theirs = before.get(path, "").splitlines()
                number = theirs.index(line) + 1 if line in theirs else number
                raise CannotDraft(f"{path}:{number} lists the other architectures "
                                  f"({line.strip()[:80]}): riscv64 would be missing from it")


def matrix_and_qemu_lines(text: str) -> set[int]:
    """The lines (1-based) of every job's strategy and of every QEMU step."""
    try:
        root = compose(text)
    except (EditError, yaml.YAMLError):
        return set()
    lines: set[int] = set()
    jobs = node_at(root, "jobs")
    for _, job in jobs.value if isinstance(jobs, MappingNode) else []:
        for node in [child(job, "strategy"),
                     *[step for step in getattr(child(job, "steps"), "value", [])
                       if str(getattr(child(step, "uses"), "value", "")).lower().startswith(
                           QEMU_ACTION)]]:
            if node is not None:  # an end mark at a line's start ends the line before
                end = node.end_mark.line + (0 if node.end_mark.column == 0 else 1)
                lines.update(range(node.start_mark.line + 1, end + 1))
    return lines


def _has_aliases(text: str) -> bool:
    try:
        return any(isinstance(t, (yaml.AliasToken, yaml.AnchorToken))
                   for t in yaml.scan(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError:
        return False


def _same_place_of_a_wheel_job(changed: tuple[Any, ...], job: WheelJob,
                               allowed: set[tuple[Any, ...]], ci: WheelCi, path: str) -> bool:
    """Whether `changed` is, in another job of the workflow, a place the edit may change
    in the target job, and that job builds Linux wheels riscv64 joins (after the edit)."""
    if len(changed) < 2 or changed[0] != "jobs" or changed[1] == job.job:
        return False
    same = ("jobs", job.job, *changed[2:])
    other = next((j for j in ci.jobs if (j.workflow, j.job) == (path, changed[1])), None)
    return any(same[:len(a)] == a for a in allowed) and other is not None \
        and bool(other.riscv64_runs)


def _parsed(path: str, text: str) -> Any:
    try:
        if path.endswith(".toml"):
            return tomllib.loads(text)
        return yaml.safe_load(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        raise CannotDraft(f"{path} would not parse after the edit ({exc})") from None


def _show(path: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in path) or "the whole document"


def _is_riscv_runner(runner: str) -> bool:
    return "riscv" in runner.lower()


def _can_run(run: Run, job: Mapping[str, Any], target: WheelJob) -> None:
    context = {"matrix": run.combination, "runner": {"os": "Linux"}}
    if _is_riscv_runner(run.runner):
        for step in job.get("steps") or []:  # and no emulator set up where none is wanted
            if not isinstance(step, Mapping):
                continue
            runs = evaluate(str(step.get("if", "true")), context)
            uses = str(step.get("uses", "")).lower()
            if uses.startswith(QEMU_ACTION) and truthy(runs):
                raise CannotDraft(f"{target.workflow}: the QEMU step would run on the "
                                  f"riscv64 runner {run.runner}")
            lacking = _lacking_on_riscv64(step)
            if lacking is not None and (runs is UNKNOWN or truthy(runs)):
                raise CannotDraft(f"{target.workflow}: job {target.job} runs {uses} on the "
                                  f"riscv64 runner {run.runner}: {lacking}; riscv64 joins "
                                  "under QEMU instead, or once that step is kept off it")
        return
    if target.tool == "maturin":
        return  # maturin-action cross-compiles in its riscv64 cross image
    for step in job.get("steps") or []:
        if not (isinstance(step, Mapping)
                and str(step.get("uses", "")).lower().startswith(QEMU_ACTION)):
            continue
        condition = step.get("if")
        value = True if condition is None else evaluate(str(condition), context)
        if value is UNKNOWN:
            raise CannotDraft(f"{target.workflow}: the QEMU step's condition {condition!r} "
                              "cannot be evaluated here")
        platforms = re.split(r"[\s,]+", str(substitute(
            str((step.get("with") or {}).get("platforms", "all")), run.combination)))
        if truthy(value) and {"all", "riscv64", "linux/riscv64"} & set(platforms):
            return
    raise CannotDraft(f"{target.workflow}: job {target.job} would build riscv64 on "
                      f"{run.runner} with no QEMU step set up for it")


# Steps that need what the riscv64 runners lack (a Python of theirs to download).
_LACKING_ON_RISCV64 = {
    "actions/setup-python": "it has no riscv64 Python to install (actions/setup-python#1288)",
    "astral-sh/setup-uv": "uv has no riscv64 Python build to download for it",
}


def _lacking_on_riscv64(step: Mapping[str, Any]) -> str | None:
    """What a step needs that the riscv64 runners lack, or None (setup-uv needs nothing
    of them unless it installs a Python)."""
    action = str(step.get("uses", "")).lower().split("@")[0]
    given = step.get("with")
    given = given if isinstance(given, Mapping) else {}
    if action == "astral-sh/setup-uv" and "python-version" not in given:
        return None
    return _LACKING_ON_RISCV64.get(action)


def _artifacts_apart(job_data: Mapping[str, Any], found: WheelJob, target: WheelJob) -> None:
    """No riscv64 job uploads its wheels under the name another job of the matrix uses
    (actions/upload-artifact refuses a second artifact of one name, and the run fails)."""
    combos = expand_matrix((job_data.get("strategy") or {}).get("matrix")) or []
    riscv = [dict(r.combination) for r in found.riscv64_runs]
    for step in job_data.get("steps") or []:
        if not (isinstance(step, Mapping) and str(step.get("uses", "")).startswith(
                "actions/upload-artifact")):
            continue
        name = str((step.get("with") or {}).get("name", "artifact"))
        if "strategy.job-index" in name:
            continue  # each job its own index
        named = [(c, evaluate_names(name, c)) for c in combos]
        for combo, value in named:
            if combo in riscv and value is not None and "${{" not in value and any(
                    other == value and c not in riscv for c, other in named):
                raise CannotDraft(f"{target.workflow}: a riscv64 job of {target.job} would "
                                  f"upload its wheels as {value!r}, the name another job "
                                  "uploads under")


def evaluate_names(name: str, combo: Mapping[str, Any]) -> str | None:
    """An artifact's name for one combination, or None where it cannot be told."""
    value = substitute(name, combo)

    def one(m: re.Match[str]) -> str:
        found = evaluate(m.group(0), {"matrix": combo})
        return m.group(0) if found is UNKNOWN else "" if found is None else str(found)

    value = re.sub(r"\$\{\{.*?\}\}", one, str(value))
    return None if "${{" in value else value


def _image_ok(run: Run, plan: Plan) -> None:
    for key in ("CIBW_MANYLINUX_RISCV64_IMAGE", "CIBW_MUSLLINUX_RISCV64_IMAGE"):
        image = run.env.get(key, "")  # a name, or quay.io/pypa/<name>_riscv64:latest
        names = re.findall(r"(?:many|musl)linux[\w]*?(?=_riscv64|$|[:@\s])", image)
        bad = [n for n in names if plan.lacks_riscv64(n)]
        if bad:
            raise CannotDraft(f"a riscv64 job would use {image}: {bad[0]} has no riscv64 "
                              f"build (the images that do: {', '.join(sorted(plan.images))})")


def _cibuildwheel(job: WheelJob, files: Mapping[str, str],
                  options: WheelOptions) -> tuple[tuple[str, ...], str]:
    """The riscv64 builds the cibuildwheel the workflow pins lists for each riscv64
    combination, with the settings of the step that combination runs."""
    if not options.cibuildwheel:
        return (), "not checked with cibuildwheel: asked not to"
    tool, why = (options.tools or CibuildwheelTools()).for_pin(job.pin)
    if tool is None:
        return (), f"not checked with cibuildwheel, so unproved: {why}"
    runs: Sequence[Run] = job.riscv64_runs
    found: dict[str, None] = {}
    with tempfile.TemporaryDirectory(prefix="mirrorctl-cibw-") as folder:
        for name in ("pyproject.toml", "cibuildwheel.toml", ".cibuildwheel.toml", "setup.cfg",
                     "setup.py"):
            if name in files:
                (Path(folder) / name).write_text(files[name], encoding="utf-8")
        for run in runs:
            env = dict(run.env)
            if _is_riscv_runner(run.runner) and env.get("CIBW_ARCHS_LINUX", env.get(
                    "CIBW_ARCHS", "auto")) in ("auto", "native", "auto64", ""):
                env["CIBW_ARCHS_LINUX"] = "riscv64"  # auto, on the riscv64 runner
            config: list[str] = []
            if run.config_file is not None:  # the step's own file (a path in the tree)
                if run.config_file not in files:
                    raise CannotDraft(f"the cibuildwheel step reads {run.config_file}, which "
                                      "the tree does not hold where mirrorctl reads it")
                target = Path(folder) / run.config_file
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(files[run.config_file], encoding="utf-8")
                config = ["--config-file", run.config_file]
            done = tool.run(["--print-build-identifiers", "--platform", "linux", *config,
                             "."], env=env, cwd=Path(folder))
            if done.returncode != 0:
                raise CannotDraft(f"cibuildwheel {tool.version} refuses the riscv64 job's "
                                  "settings: "
                                  + (done.stderr.strip().splitlines() or ["no reason"])[-1])
            ids = [i for i in done.stdout.split() if i.endswith("_riscv64")]
            if not ids:
                raise CannotDraft("cibuildwheel lists no riscv64 build for the riscv64 job "
                                  f"({' '.join(f'{k}={v}' for k, v in env.items())})")
            found.update(dict.fromkeys(ids))
    return tuple(found), (f"{tool.said} lists {len(found)} riscv64 builds: "
                          + ", ".join(found))


def _raise_count(line: str, files: dict[str, str], merged: Mapping[str, str],
                 added: int, original: Mapping[str, str]) -> tuple[dict[str, str], str]:
    where = line.removesuffix(": count of expected wheels")
    path, _, number = where.rpartition(":")
    if added == 0:
        raise CannotDraft(f"{where} counts the expected wheels, and without cibuildwheel "
                          "the number riscv64 adds is not known")
    # The line found in upstream's file, where the edits above it moved it.
    before = original[path].split("\n")
    text = before[int(number) - 1]
    nth = before[:int(number) - 1].count(text)
    lines = merged[path].split("\n")
    at = [i for i, other in enumerate(lines) if other == text][nth]
    m = EXPECTED.match(text) or COUNT.search(text)
    assert m is not None
    old = int(m.group("n"))
    lines[at] = text[:m.start("n")] + str(old + added) + text[m.end("n"):]
    files = {**files, path: "\n".join(lines)}
    before = copy.deepcopy(yaml.safe_load(merged[path]))
    if not differences(before, yaml.safe_load(files[path])):
        raise CannotDraft(f"{where}: the count could not be raised")
    return files, f"{where}: expected wheels {old} -> {old + added}"
