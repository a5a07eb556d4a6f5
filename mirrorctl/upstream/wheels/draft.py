"""The change that makes upstream's CI build riscv64 wheels, as upstream would accept
it: the smallest edit that adds riscv64 the way upstream builds its other
architectures (the shapes of upstream/wheels/ci.py), proved before anything is written.

The edit (pure: files in, files out): riscv64 appended to the arch list a matrix reads,
an include entry copied from an emulated one, riscv64 added to a literal CIBW_ARCHS or
to pyproject's `[tool.cibuildwheel.linux] archs` (through tomlkit, which keeps the rest
of the file as it is), a native riscv64 runner added beside the arm one, a riscv64
target beside maturin's others; the QEMU step's platforms and condition extended where
they would leave riscv64 out; matrix exclusions for the images that have no riscv64
build (manylinux2014, musllinux_1_1), and the image setting copied for riscv64 where
upstream sets one an architecture; a count of expected wheels raised by the wheels
riscv64 adds.

The proof (check_change): every file still parses, and the parsed documents differ only
at the places the edit meant to change; the wheel job's matrix, expanded as GitHub
expands it, has riscv64 combinations and each can run (QEMU set up for it, its
condition true, or a riscv64 runner), none on an image without riscv64; and cibuildwheel
itself, run with each riscv64 combination's CIBW_* environment on the patched files,
lists riscv64 build identifiers (skipped, and said, when cibuildwheel is not installed).
An edit that cannot be proved raises CannotDraft: the caller drafts an issue instead.
"""

from __future__ import annotations

import copy
import itertools
import re
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, SequenceNode

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from mirrorctl.core.errors import MirrorctlError
from mirrorctl.upstream.wheels.archlists import (
    extend_pyproject,
    extend_selector,
    extend_tests,
    list_insertions,
)
from mirrorctl.upstream.wheels.ci import (
    EMULATED,
    LINUX_ARCHS,
    Run,
    WheelCi,
    WheelJob,
    is_linux_runner,
    maturin_arch,
    native_arch,
    read_wheel_ci,
    target_entries,
)
from mirrorctl.upstream.wheels.cibwtool import CibuildwheelTools
from mirrorctl.upstream.wheels.expressions import UNKNOWN, evaluate, truthy
from mirrorctl.upstream.wheels.matrix import expand_matrix, substitute
from mirrorctl.upstream.wheels.qemujob import ARCHS_KEY, runners_to_include
from mirrorctl.upstream.wheels.yamledit import (
    Edit,
    EditError,
    append_item,
    apply_edits,
    child,
    compose,
    copy_entries,
    extend_scalar,
    insert_step,
    item,
    node_at,
)

__all__ = ["RISCV64_IMAGES", "CannotDraft", "WheelChange", "WheelOptions", "check_change",
           "draft_change"]

# The images with riscv64 builds when the cibuildwheel the workflow runs cannot say (its
# pinned_docker_images.cfg says, when it is at hand): any other manylinux or musllinux
# image named in a matrix has none.
RISCV64_IMAGES = frozenset({"manylinux_2_39", "musllinux_1_2"})
_IMAGE_NAME = re.compile(r"^(?:manylinux\d+|manylinux_\d+_\d+|musllinux_\d+_\d+)$")
RISCV64_TARGET = "riscv64gc-unknown-linux-gnu"
_QEMU = "docker/setup-qemu-action"
_IMAGE_KEY = re.compile(r"^CIBW_(MANY|MUSL)LINUX_([A-Z0-9_]+)_IMAGE$")
_COUNT = re.compile(r"(?P<op>-eq|==|-ge|-ne|!=)\s*(?P<n>\d+)\b")
# A setting that says how many wheels (or dists) a later job must find: EXPECTED_DISTS: 78
_EXPECTED = re.compile(r"^\s*[A-Z_]*(?:WHEELS|DISTS)[A-Z_]*\s*:\s*['\"]?(?P<n>\d+)['\"]?\s*$")


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
class _Plan:
    """Edits being gathered: per file, and the document paths they may change."""

    edits: dict[str, list[Edit]]
    allowed: dict[str, set[tuple[Any, ...]]]
    changes: list[str]
    images: frozenset[str] = RISCV64_IMAGES  # the images that have riscv64 builds
    peers: frozenset[str] = frozenset()  # the architectures it emulates, riscv64 joins

    def lacks_riscv64(self, value: Any) -> bool:
        """Whether a matrix value names an image that has no riscv64 build."""
        return bool(_IMAGE_NAME.match(str(value))) and str(value) not in self.images

    def add(self, path: str, edit: Edit, where: tuple[Any, ...], what: str) -> None:
        self.edits.setdefault(path, []).append(edit)
        self.allowed.setdefault(path, set()).add(where)
        self.changes.append(f"{path}: {what}")


def draft_change(files: Mapping[str, str], ci: WheelCi,
                 options: WheelOptions = WheelOptions()) -> WheelChange:
    """The change for the job a draft edits (ci.target), proved; raises CannotDraft."""
    job = ci.target
    if job is None or job.shape is None:
        jobs = ci.linux_jobs
        raise CannotDraft(jobs[0].why if jobs else "no job of upstream's CI builds Linux "
                          "wheels in a way mirrorctl reads")
    if options.native and job.shape not in ("native", "matrix", "include"):
        raise CannotDraft(f"the package asks for a riscv64 runner ({options.runner}), and "
                          f"upstream lists its architectures in its {job.shape}, with no "
                          "matrix a riscv64 runner could join")
    plan = _Plan({}, {}, [], _riscv64_images(job, options))
    try:
        new_files = _edit(files, job, plan, options)
    except EditError as exc:
        raise CannotDraft(f"{job.workflow}: {exc}") from None
    return check_change(files, new_files, plan, job, options)


def _riscv64_images(job: WheelJob, options: WheelOptions) -> frozenset[str]:
    """The riscv64 images of the cibuildwheel the workflow runs, as it lists them."""
    if job.tool != "cibuildwheel" or not options.cibuildwheel:
        return RISCV64_IMAGES
    tool, _ = (options.tools or CibuildwheelTools()).for_pin(job.pin)
    images = tool.images("riscv64") if tool is not None else None
    return images or RISCV64_IMAGES


def _edit(files: Mapping[str, str], job: WheelJob, plan: _Plan,
          options: WheelOptions) -> dict[str, str]:
    path, text = job.workflow, files[job.workflow]
    root, data = compose(text), yaml.safe_load(text)
    job_node, job_data = node_at(root, "jobs", job.job), data["jobs"][job.job]
    where = ("jobs", job.job)
    matrix = (job_data.get("strategy") or {}).get("matrix") or {}
    new_files: dict[str, str] = {}
    key = job.matrix_key
    if options.native and job.shape == "matrix" and key is not None:
        _native_beside(text, job_node, job_data, key, plan, where, options.runner,
                       path=path)
    elif job.shape == "native" and not options.native and key is not None and \
            _runners_to_qemu(files, job_node, job_data, key, plan, where, path=path):
        pass  # riscv64 under QEMU, as an include entry on the x86_64 runner
    elif job.shape in ("matrix", "maturin", "native") and key is not None:
        value = RISCV64_TARGET if job.shape == "maturin" else \
            options.runner if job.shape == "native" else "riscv64"
        vector = node_at(job_node, "strategy", "matrix", key) if job_node else None
        if vector is None or not isinstance(matrix.get(key), list):
            raise EditError(f"job {job.job}: no list matrix.{key}")
        plan.add(path, append_item(text, vector, value),
                 (*where, "strategy", "matrix", key), f"{value} added to matrix.{key}")
        if job.shape == "matrix":
            _exclude_images(text, job_node, matrix, key, plan, path, where)
    elif job.shape == "include" and key is not None:
        _include_entries(files, job_node, job_data, key, plan, where, options, path=path,
                         tool=job.tool)
    elif job.shape == "env":
        _extend_archs_env(text, root, job, plan)
    elif job.shape == "pyproject":
        new_files["pyproject.toml"] = _pyproject_archs(files["pyproject.toml"], plan)
    else:
        raise EditError(f"shape {job.shape} without its matrix key")
    if job.shape != "native" and job.tool == "cibuildwheel":
        _image_settings(text, job_node, job_data, plan, path, where)
        if not options.native:
            _qemu(text, job_node, job_data, plan, path, where, key)
    peers = plan.peers = frozenset() if options.native else _emulated_peers(job, text)
    if key is not None and job.shape in ("matrix", "include"):
        extend_tests(text, root, key, peers, _matrix_and_qemu_lines(text), plan.add, path)
    if job.tool == "cibuildwheel":
        _test_skips(text, root, job, peers, plan)
        _config_lists(files, new_files, job, peers, plan)
    if job.shape in ("native", "matrix", "include", "env", "pyproject"):
        _counts(files, plan)
    for name, edits in plan.edits.items():
        new_files[name] = apply_edits(new_files.get(name, files[name]), edits)
    return new_files


def _include_entries(files: Mapping[str, str], job_node: Any, job_data: Mapping[str, Any],
                     key: str, plan: _Plan, where: tuple[Any, ...], options: WheelOptions,
                     *, path: str, tool: str = "cibuildwheel") -> None:
    """riscv64's include entries, as the project builds its other Linux architectures:
    copies of the entries of an architecture it emulates (under QEMU, on their runner;
    every value that names that architecture names riscv64); where it emulates none,
    copies of its x86_64 entries, and the QEMU step set up for riscv64. With a riscv64
    runner asked for, copies of the entries built on their own runner, on it. Chosen by
    what they are, never by where they stand."""
    text = files[path]
    matrix = job_data["strategy"]["matrix"]
    # maturin's targets may be in a list of mappings of their own (matrix.platform.target)
    listed, key = target_entries(matrix, key) or ("include", key) if tool == "maturin" \
        else ("include", key)
    include = node_at(job_node, "strategy", "matrix", listed)
    entries = [e if isinstance(e, Mapping) else {} for e in matrix.get(listed) or []]
    runs_on = _matrix_key_of(job_data.get("runs-on"))
    if runs_on is not None and listed != "include":
        runs_on = runs_on.removeprefix(f"{listed}.") if runs_on.startswith(f"{listed}.") \
            else None

    def arch_of(entry: Mapping[str, Any]) -> str:
        if key not in entry and tool == "cibuildwheel":
            # `matrix.archs || 'auto'`: the runner's own, unless the entry builds for
            # another platform (pyodide, android, ios)
            other = {str(v) for v in entry.values()} & _OTHER_PLATFORMS
            return "" if other else native_arch(runner(entry))
        value = str(entry.get(key))
        return maturin_arch(value) if tool == "maturin" else value

    def runner(entry: Mapping[str, Any]) -> str:
        return str(entry[runs_on]) if runs_on is not None and runs_on in entry else \
            str(job_data.get("runs-on", ""))

    linux = [i for i, e in enumerate(entries) if arch_of(e) in LINUX_ARCHS
             and is_linux_runner(runner(e))]
    emulated = [i for i in linux if arch_of(entries[i]) in EMULATED
                and native_arch(runner(entries[i])) != arch_of(entries[i])]
    own = [i for i in linux if native_arch(runner(entries[i])) == arch_of(entries[i])]
    if options.native:
        arch = "aarch64" if any(arch_of(entries[i]) == "aarch64" for i in own) else "x86_64"
        chosen = [i for i in own if arch_of(entries[i]) == arch]
    elif emulated:
        # the architecture that is only ever emulated first: aarch64 often has an arm
        # runner, or a libc of its own, that riscv64 does not follow
        found = {arch_of(entries[i]) for i in emulated}
        arch = next(a for a in (*_FOLLOWED, *sorted(found)) if a in found)
        chosen = [i for i in emulated if arch_of(entries[i]) == arch]
    else:
        arch, chosen = "x86_64", [i for i in own if arch_of(entries[i]) == "x86_64"]
    if include is None or not chosen:
        raise EditError(f"job {where[1]}: no include entry of a Linux {key} to follow")
    # A key a step's condition reads selects that step (`manylinux_version:
    # manylinux2014`): its value stays, and the proof says which image riscv64 gets there.
    selectors = {k for k in entries[chosen[0]]
                 if re.search(rf"matrix\.{re.escape(str(k))}\b", _conditions(job_data))}
    copies = []
    for index in chosen:
        target = str(entries[index].get(key, arch))
        changes = {k: new for k, v in entries[index].items() if isinstance(v, str)
                   and (new := _riscv64_value(v, target if k == key else arch, plan,
                                              images=k not in selectors)) != v}
        if tool == "maturin":
            changes[key] = _riscv64_target(target)
        elif key not in entries[index]:
            changes[key] = "riscv64"  # the copy sets what the template leaves to auto
        if options.native:
            if runs_on is None or runs_on not in entries[index]:
                raise EditError(f"job {where[1]}: runs-on names no key of the entries a "
                                "riscv64 runner could go in")
            changes[runs_on] = options.runner
        copies.append((include.value[index], changes))
    how = (f"on {options.runner}" if options.native else
           f"{'cross-compiled' if tool == 'maturin' else 'under QEMU'}, as the "
           f"one{'s' if len(copies) > 1 else ''} for {arch}")
    # as a maintainer puts them: after the last entry of their kind (the emulated ones
    # that differ from them only by architecture); where none is emulated, after the
    # project's Linux entries
    kind = [i for i in emulated if _as_riscv64(entries[i], arch_of(entries[i]), key, tool,
                                               plan) == _as_riscv64(
        entries[chosen[-1]], arch, key, tool, plan)]
    after = max(chosen + kind) if emulated and not options.native else linux[-1]
    plan.add(path, copy_entries(text, include, copies, after=after),
             (*where, "strategy", "matrix", listed),
             f"{len(copies)} include entr{'y' if len(copies) == 1 else 'ies'} for riscv64, "
             f"{how}")
    combos = [{**entries[i], **changes} for i, (_, changes) in zip(chosen, copies,
                                                                   strict=True)]
    if options.native and runs_on is not None:
        _qemu_off(text, job_node, job_data, plan, path, where, runs_on, options.runner,
                  combos)
    elif not emulated and not _qemu_step(job_data) and tool != "maturin":
        _add_qemu_step(files, job_node, job_data, key, plan, path, where)


_FOLLOWED = ("s390x", "ppc64le", "armv7l", "aarch64")  # the template, most emulated first
_OTHER_PLATFORMS = {"pyodide", "android", "ios"}  # CIBW_PLATFORM values that are no Linux
# How a label names x86_64 (`os: linux-intel`): riscv64's copy names riscv64 there.
_X86_WORDS = r"x86_64|intel|amd64|x64"


def _as_riscv64(entry: Mapping[str, Any], arch: str, key: str, tool: str,
                plan: _Plan) -> dict[str, Any]:
    """An entry as riscv64's copy of it would be."""
    copy = {k: _riscv64_value(v, arch, plan) if isinstance(v, str) else v
            for k, v in entry.items()}
    if tool == "maturin":
        copy[key] = _riscv64_target(str(entry.get(key)))
    return copy


def _riscv64_target(target: str) -> str:
    """maturin's riscv64 target, written as the template's is: `riscv64` beside short
    names, the triple beside triples (musl where the template is musl)."""
    if "-" not in target:
        return "riscv64"
    return RISCV64_TARGET.replace("gnu", "musl") if "musl" in target else RISCV64_TARGET


def _conditions(job: Mapping[str, Any]) -> str:
    """The `if:` of each of the job's steps, one a line."""
    return "\n".join(str(step.get("if", "")) for step in job.get("steps") or []
                     if isinstance(step, Mapping))


def _riscv64_value(value: str, arch: str, plan: _Plan, *, images: bool = True) -> str:
    """A value of an entry for `arch`, as riscv64's entry has it: the architecture named
    (alone, or as a word: `qemu: s390x`, `name: manylinux s390x`) is riscv64; an image
    that has no riscv64 build is the newest of its family that has one."""
    if value == arch:
        return "riscv64"

    def image(m: re.Match[str]) -> str:
        name = m.group(0)
        newer = sorted(i for i in plan.images if i.startswith(name[:9]))  # its family
        return newer[-1] if plan.lacks_riscv64(name) and newer else name

    if images:
        value = re.sub(r"(?:many|musl)linux[\w]*", image, value)
    words = _X86_WORDS if arch == "x86_64" else re.escape(arch)
    return re.sub(rf"(?<![A-Za-z0-9])(?:{words})(?![A-Za-z0-9])", "riscv64", value)


def _qemu_step(job_data: Mapping[str, Any]) -> int | None:
    return next((i for i, s in enumerate(job_data.get("steps") or []) if isinstance(s, Mapping)
                 and str(s.get("uses", "")).lower().startswith(_QEMU)), None)


def _runners_to_qemu(files: Mapping[str, str], job_node: Any, job_data: Mapping[str, Any],
                     key: str, plan: _Plan, where: tuple[Any, ...], *, path: str) -> bool:
    """riscv64 under QEMU where the runners are the only list of architectures (qemujob);
    False, the plan as it was, where that edit cannot be made (then riscv64 gets a
    runner of its own, and the body says why)."""
    runners = [str(v) for v in (job_data["strategy"]["matrix"].get(key) or [])]
    x86 = next((r for r in runners if is_linux_runner(r) and native_arch(r) == "x86_64"),
               None)
    index = _cibuildwheel_step(job_data)
    if x86 is None or index is None:
        return False
    saved = copy.deepcopy((plan.edits, plan.allowed, plan.changes))
    try:
        runners_to_include(files[path], job_node, job_data, key, x86, index, plan.add, path,
                           where)
        _add_qemu_step(files, job_node, job_data, ARCHS_KEY, plan, path, where)
    except EditError:
        plan.edits, plan.allowed, plan.changes = saved
        return False
    return True


def _add_qemu_step(files: Mapping[str, str], job_node: Any, job_data: Mapping[str, Any],
                   key: str, plan: _Plan, path: str, where: tuple[Any, ...]) -> None:
    """The QEMU step riscv64 needs where the job emulates nothing: before the first
    cibuildwheel step, for riscv64's jobs alone, the action as the project's other
    workflows name it (their pin kept), else its current major version."""
    index = _cibuildwheel_step(job_data)
    if index is None:
        raise EditError(f"job {where[1]}: no cibuildwheel step to set QEMU up before")
    refs = [m.group(0) for text in files.values()
            for m in re.finditer(rf"{re.escape(_QEMU)}@[^\s]+(?:\s+#\s*\S+)?", text)]
    uses = refs[0] if refs else f"{_QEMU}@v3"
    plan.add(path, insert_step(files[path], node_at(job_node, "steps"), index, [
        "name: Set up QEMU", f"if: matrix.{key} == 'riscv64'", f"uses: {uses}", "with:",
        "  platforms: riscv64"]), (*where, "steps"),
             f"a QEMU step set up for riscv64 (`{uses}`), before the build")


def _native_beside(text: str, job_node: Any, job_data: Mapping[str, Any], key: str,
                   plan: _Plan, where: tuple[Any, ...], runner: str, *, path: str) -> None:
    """riscv64 on a riscv64 runner, beside upstream's emulated architectures: include
    entries of their own (one for each combination of the matrix's other values that
    has a riscv64 build), and the QEMU step kept off that runner."""
    matrix = job_data["strategy"]["matrix"]
    runs_on = _matrix_key_of(job_data.get("runs-on"))
    include = node_at(job_node, "strategy", "matrix", "include")
    if runs_on is None or runs_on == key:
        raise EditError(f"job {where[1]}: runs-on names no matrix key a riscv64 runner "
                        "could go in")
    if not isinstance(include, SequenceNode) or include.flow_style or not include.value:
        raise EditError("no block `include:` list for the riscv64 runner's entries")
    others = {k: v for k, v in matrix.items()
              if k not in (key, runs_on, "include", "exclude") and isinstance(v, list)}
    excludes = [e for e in matrix.get("exclude") or [] if isinstance(e, Mapping)
                and set(e) <= set(others)]
    entries = [dict(zip(others, values, strict=True))
               for values in itertools.product(*others.values())]
    entries = [e for e in entries if not any(plan.lacks_riscv64(v) for v in e.values())
               and not any(all(e.get(k) == v for k, v in x.items()) for x in excludes)]
    first = include.value[0]
    start = text.rfind("\n", 0, first.start_mark.index) + 1
    indent = text[start:first.start_mark.index]
    inner = " " * len(indent)
    tail = include.value[-1]
    last = tail.value[-1][1] if isinstance(tail, MappingNode) and tail.value else tail
    after = text.find("\n", last.end_mark.index)
    after = len(text) if after < 0 else after
    block = "".join(f"\n{indent}{runs_on}: {runner}\n{inner}{key}: riscv64"
                    + "".join(f"\n{inner}{k}: {v}" for k, v in e.items())
                    for e in entries or [{}])
    plan.add(path, Edit(after, after, block), (*where, "strategy", "matrix", "include"),
             f"riscv64 on {runner}: {len(entries or [{}])} include entr"
             f"{'y' if len(entries or [{}]) == 1 else 'ies'} of its own")
    _qemu_off(text, job_node, job_data, plan, path, where, runs_on, runner,
              [{runs_on: runner, key: "riscv64", **e} for e in entries or [{}]])


def _matrix_key_of(value: Any) -> str | None:
    m = re.search(r"\$\{\{\s*matrix\.([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*)\s*\}\}",
                  str(value or ""))
    return m.group(1) if m else None


def _qemu_off(text: str, job_node: Any, job_data: Mapping[str, Any], plan: _Plan, path: str,
              where: tuple[Any, ...], runs_on: str, runner: str,
              combos: list[dict[str, Any]]) -> None:
    """The QEMU step, which runs by a condition, kept off the riscv64 runner's jobs
    (`combos`)."""
    steps = job_data.get("steps") or []
    for index, step in enumerate(steps):
        if not (isinstance(step, Mapping)
                and str(step.get("uses", "")).lower().startswith(_QEMU)):
            continue
        condition = step.get("if")
        if condition is None:
            raise EditError("the QEMU step runs for every job, the riscv64 runner's too")
        values = [evaluate(str(condition), {"matrix": c, "runner": {"os": "Linux"}})
                  for c in combos]
        if any(v is UNKNOWN or truthy(v) for v in values):
            node = child(item(node_at(job_node, "steps"), index), "if")
            plan.add(path, _and_clause(text, node, f"matrix.{runs_on} != '{runner}'"),
                     (*where, "steps", index, "if"),
                     f"the QEMU step kept off {runner}")


def _and_clause(text: str, node: Any, clause: str) -> Edit:
    raw = text[node.start_mark.index:node.end_mark.index]
    if "\n" in raw or raw[:1] in ("'", '"'):
        raise EditError("a QEMU condition over several lines, or quoted")
    close = raw.rfind("}}")
    body = raw[raw.find("{{") + 2:close] if close >= 0 else raw
    at_open = node.start_mark.index + (raw.find("{{") + 2 if close >= 0 else 0)
    at_close = node.start_mark.index + len(raw[:close if close >= 0 else len(raw)].rstrip())
    # (a || b) && c: the condition as it was, then the clause.
    lead = " (" if close >= 0 else "("
    return Edit(at_open, at_close, f"{lead}{body.strip()}) && {clause}")


def _exclude_images(text: str, job_node: Any, matrix: Mapping[str, Any], key: str,
                    plan: _Plan, path: str, where: tuple[Any, ...]) -> None:
    """An exclusion for each image a matrix vector names that has no riscv64 build."""
    pairs = [(k, v) for k, values in matrix.items() if k not in (key, "include", "exclude")
             and isinstance(values, list) for v in values if plan.lacks_riscv64(v)]
    if not pairs:
        return
    exclude = node_at(job_node, "strategy", "matrix", "exclude")
    if not isinstance(exclude, SequenceNode) or exclude.flow_style or not exclude.value:
        raise EditError("a matrix with an image that has no riscv64 build, and no block "
                        "`exclude:` list to leave it out in")
    first = exclude.value[0]
    start = text.rfind("\n", 0, first.start_mark.index) + 1
    indent = text[start:first.start_mark.index]
    inner = " " * len(indent)
    last = exclude.value[-1]
    tail = last.value[-1][1] if last.value else last
    after = text.find("\n", tail.end_mark.index)
    after = len(text) if after < 0 else after
    like = first.value[0][1] if isinstance(first, MappingNode) and first.value else first
    block = "".join(f"\n{indent}{key}: {_scalar_like('riscv64', like)}\n{inner}{k}: "
                    f"{_scalar_like(str(v), like)}" for k, v in pairs)
    plan.add(path, Edit(after, after, block), (*where, "strategy", "matrix", "exclude"),
             "riscv64 left out of " + ", ".join(str(v) for _, v in pairs)
             + " (no riscv64 build)")


def _scalar_like(value: str, like: Any) -> str:
    """`value` quoted as upstream quotes its values there."""
    style = getattr(like, "style", None)
    return f"{style}{value}{style}" if style in ("'", '"') else value


def _cibuildwheel_step(job_data: Mapping[str, Any]) -> int | None:
    for index, step in enumerate(job_data.get("steps") or []):
        if isinstance(step, Mapping) and (
                str(step.get("uses", "")).lower().startswith("pypa/cibuildwheel")
                or "cibuildwheel" in str(step.get("run", ""))):
            return index
    return None


def _emulated_peers(job: WheelJob, text: str) -> frozenset[str]:
    """The architectures the job builds under emulation, which riscv64 joins: aarch64
    among them only when no runner of the workflow is an arm one."""
    labels = re.findall(r"(?<![\w.-])[a-z][a-z0-9.]*-[a-z0-9.-]+(?![\w.-])", text)
    arm = any(native_arch(label) == "aarch64" and is_linux_runner(label) for label in labels)
    return frozenset(a for a in job.archs if a in EMULATED and not (a == "aarch64" and arm))


def _test_skips(text: str, root: Any, job: WheelJob, peers: frozenset[str],
                plan: _Plan) -> None:
    """CIBW_TEST_SKIP (of the workflow, the job or its cibuildwheel steps) that skips the
    tests of the emulated architectures skips riscv64's too."""
    places: list[tuple[tuple[Any, ...], Any]] = [
        (("env",), node_at(root, "env")),
        (("jobs", job.job, "env"), node_at(root, "jobs", job.job, "env"))]
    places += [(("jobs", job.job, "steps", i, "env"),
                node_at(item(node_at(root, "jobs", job.job, "steps"), i), "env"))
               for i in job.steps]
    for where, env in places:
        edit = extend_selector(text, child(env, "CIBW_TEST_SKIP"), peers) if peers else None
        if edit is not None:
            plan.add(job.workflow, edit, where, "riscv64 joins CIBW_TEST_SKIP, as the "
                                                "emulated architectures do")


def _config_lists(files: Mapping[str, str], new_files: dict[str, str], job: WheelJob,
                  peers: frozenset[str], plan: _Plan) -> None:
    """pyproject's (or the step's config file's) test-skip and overrides that name the
    emulated architectures name riscv64 too."""
    import tomlkit

    names = {run.config_file or "pyproject.toml" for run in job.riscv64_runs} or \
        {"pyproject.toml"}
    for name in sorted(names):
        if not peers or name not in files or not name.endswith(".toml"):
            continue
        try:
            document = tomlkit.parse(new_files.get(name, files[name]))
        except tomlkit.exceptions.ParseError as exc:
            raise EditError(f"{name}: {exc}") from None
        changed = extend_pyproject(document, peers)
        if changed:
            new_files[name] = tomlkit.dumps(document)
            plan.allowed.setdefault(name, set()).add(("tool", "cibuildwheel"))
            plan.changes += [c.replace("pyproject.toml", name, 1) for c in changed]


def _image_settings(text: str, job_node: Any, job_data: Mapping[str, Any], plan: _Plan,
                    path: str, where: tuple[Any, ...]) -> None:
    """Where upstream sets an image an architecture from the matrix (in the cibuildwheel
    step's env, or the job's), riscv64's too: the same line, its architecture's name
    (in the key, and in an image reference such as quay.io/pypa/<image>_s390x) riscv64's."""
    index = _cibuildwheel_step(job_data)
    places = [] if index is None else [(job_data["steps"][index].get("env"),
                                         node_at(item(node_at(job_node, "steps"), index), "env"),
                                         (*where, "steps", index, "env"))]
    places.append((job_data.get("env"), node_at(job_node, "env"), (*where, "env")))
    for env, env_node, place in places:
        env = env if isinstance(env, Mapping) else {}
        keys = [k for k in env if (m := _IMAGE_KEY.match(str(k))) and m.group(2) != "RISCV64"
                and "matrix." in str(env[k])]
        if not keys or any(str(k).endswith("_RISCV64_IMAGE") for k in env):
            continue
        value_node = child(env_node, keys[-1])
        if not isinstance(env_node, MappingNode) or value_node is None:
            raise EditError("the env that sets the images is not a plain mapping")
        key_node = next(k for k, _ in env_node.value if k.value == keys[-1])
        start = text.rfind("\n", 0, key_node.start_mark.index) + 1
        end = text.find("\n", value_node.end_mark.index)
        end = len(text) if end < 0 else end
        m = _IMAGE_KEY.match(keys[-1])
        assert m is not None
        arch = m.group(2).lower()
        head, value = text[start:key_node.end_mark.index], text[key_node.end_mark.index:end]
        new = head.replace(keys[-1], f"CIBW_{m.group(1)}LINUX_RISCV64_IMAGE", 1) + re.sub(
            rf"(?<![A-Za-z0-9]){re.escape(arch)}(?![A-Za-z0-9])", "riscv64", value)
        plan.add(path, Edit(end, end, "\n" + new), place,
                 f"CIBW_{m.group(1)}LINUX_RISCV64_IMAGE set as {keys[-1]} is")
        return


def _qemu(text: str, job_node: Any, job_data: Mapping[str, Any], plan: _Plan, path: str,
          where: tuple[Any, ...], key: str | None) -> None:
    """The QEMU step's platforms and condition extended to riscv64, where they would
    leave it out (the proof then evaluates them for every riscv64 combination)."""
    steps = job_data.get("steps") or []
    index = next((i for i, s in enumerate(steps) if isinstance(s, Mapping)
                  and str(s.get("uses", "")).lower().startswith(_QEMU)), None)
    if index is None:
        return  # the proof says riscv64 cannot run, if it runs emulated
    step_node = item(node_at(job_node, "steps"), index)
    step = steps[index]
    platforms = (step.get("with") or {}).get("platforms")
    if platforms is not None and "${{" not in str(platforms) and not {
            "all", "riscv64", "linux/riscv64"} & set(re.split(r"[\s,]+", str(platforms))):
        plan.add(path, extend_scalar(text, node_at(step_node, "with", "platforms"),
                                     ",riscv64"), (*where, "steps", index, "with"),
                 "riscv64 added to the QEMU step's platforms")
    condition = step.get("if")
    if condition is None or key is None:
        return
    arch = re.search(rf"matrix\.{re.escape(key)}\s*==\s*'({'|'.join(EMULATED)}|arm64)'",
                     str(condition))
    riscv = evaluate(str(condition), {"matrix": {key: "riscv64"}, "runner": {"os": "Linux"}})
    if truthy(riscv):
        return
    node = child(step_node, "if")
    assert node is not None  # the step has a condition
    listed = list_insertions(text[node.start_mark.index:node.end_mark.index], key, EMULATED)
    if arch is not None:
        plan.add(path, _or_clause(text, node, f"matrix.{key} == 'riscv64'"),
                 (*where, "steps", index, "if"), "the QEMU step's condition takes riscv64")
    elif listed:
        at, addition = listed[0]
        plan.add(path, Edit(node.start_mark.index + at, node.start_mark.index + at, addition),
                 (*where, "steps", index, "if"), "the QEMU step's condition takes riscv64")


def _or_clause(text: str, node: Any, clause: str) -> Edit:
    raw = text[node.start_mark.index:node.end_mark.index]
    if "\n" in raw:
        raise EditError("a QEMU condition over several lines")
    if raw[:1] in ("'", '"'):
        raise EditError("a quoted QEMU condition")
    close = raw.rfind("}}")
    at = node.start_mark.index + len(raw[:close if close >= 0 else len(raw)].rstrip())
    return Edit(at, at, f" || {clause}")


def _extend_archs_env(text: str, root: Any, job: WheelJob, plan: _Plan) -> None:
    data = yaml.safe_load(text)
    job_data = data["jobs"][job.job]
    index = _cibuildwheel_step(job_data)
    places: list[tuple[Any, tuple[Any, ...]]] = []
    if index is not None:
        places.append((node_at(item(node_at(root, "jobs", job.job, "steps"), index), "env"),
                       ("jobs", job.job, "steps", index, "env")))
    places += [(node_at(root, "jobs", job.job, "env"), ("jobs", job.job, "env")),
               (node_at(root, "env"), ("env",))]
    for env, where in places:
        for name in ("CIBW_ARCHS_LINUX", "CIBW_ARCHS"):
            scalar = child(env, name)
            if scalar is not None:
                separator = "," if "," in str(scalar.value) else " "
                plan.add(job.workflow, extend_scalar(text, scalar, f"{separator}riscv64"),
                         where, f"riscv64 added to {name}")
                return
    raise EditError("no literal CIBW_ARCHS to add riscv64 to")


def _pyproject_archs(text: str, plan: _Plan) -> str:
    import tomlkit

    document = tomlkit.parse(text)
    linux = document.get("tool", {}).get("cibuildwheel", {}).get("linux")
    table = linux if linux is not None and "archs" in linux else \
        document["tool"]["cibuildwheel"]
    archs = table["archs"]
    if isinstance(archs, list):
        archs.append("riscv64")
    else:
        table["archs"] = f"{archs} riscv64"
    plan.allowed.setdefault("pyproject.toml", set()).add(("tool", "cibuildwheel"))
    plan.changes.append("pyproject.toml: riscv64 added to [tool.cibuildwheel"
                        + (".linux" if table is linux else "") + "] archs")
    return tomlkit.dumps(document)


def _counts(files: Mapping[str, str], plan: _Plan) -> None:
    """Lines that count the expected wheels: found now, raised by the proof once
    cibuildwheel has said how many riscv64 adds."""
    for path, text in files.items():
        if not path.startswith(".github/workflows/"):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if _EXPECTED.match(line) or (
                    re.search(r"whl|wheel", line, re.I)
                    and re.search(r"wc\s+-l|len\(|count", line, re.I) and _COUNT.search(line)):
                plan.changes.append(f"{path}:{number}: count of expected wheels")


# -- the proof ----------------------------------------------------------------------------

def check_change(old: Mapping[str, str], new: Mapping[str, str], plan: _Plan, job: WheelJob,
                 options: WheelOptions) -> WheelChange:
    checks: list[str] = []
    merged = {**old, **new}
    ci = read_wheel_ci(merged)
    for path, text in new.items():
        before, after = _parsed(path, old[path]), _parsed(path, text)
        changed = _changed_paths(before, after)
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
        skipped = _matrix_and_qemu_lines(text)
        for number, line in enumerate(text.splitlines(), 1):
            if number in skipped or line.lstrip().startswith("#") or "riscv64" in line:
                continue
            if len(set(_ARCH_WORD.findall(line))) >= 2:
                theirs = before.get(path, "").splitlines()
                number = theirs.index(line) + 1 if line in theirs else number
                raise CannotDraft(f"{path}:{number} lists the other architectures "
                                  f"({line.strip()[:80]}): riscv64 would be missing from it")


def _matrix_and_qemu_lines(text: str) -> set[int]:
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
                           _QEMU)]]:
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


def _changed_paths(a: Any, b: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        found = []
        for key in dict.fromkeys([*a, *b]):
            if key not in a or key not in b:
                found.append((*at, key))
            else:
                found += _changed_paths(a[key], b[key], (*at, key))
        return found
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [p for i, (x, y) in enumerate(zip(a, b, strict=True))
                for p in _changed_paths(x, y, (*at, i))]
    return [] if a == b else [at]


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
            if uses.startswith(_QEMU) and truthy(runs):
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
                and str(step.get("uses", "")).lower().startswith(_QEMU)):
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


def _image_ok(run: Run, plan: _Plan) -> None:
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
    m = _EXPECTED.match(text) or _COUNT.search(text)
    assert m is not None
    old = int(m.group("n"))
    lines[at] = text[:m.start("n")] + str(old + added) + text[m.end("n"):]
    files = {**files, path: "\n".join(lines)}
    before = copy.deepcopy(yaml.safe_load(merged[path]))
    if _changed_paths(before, yaml.safe_load(files[path])) == []:
        raise CannotDraft(f"{where}: the count could not be raised")
    return files, f"{where}: expected wheels {old} -> {old + added}"
