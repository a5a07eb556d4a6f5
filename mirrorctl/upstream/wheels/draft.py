"""The change that makes upstream's CI build riscv64 wheels, as upstream would accept
it: the smallest edit that adds riscv64 the way upstream builds its other
architectures (the shapes of upstream/wheels/wheeljob.py), proved before anything is written.

The edit (pure: files in, files out): riscv64 appended to the arch list a matrix reads,
an include entry copied from an emulated one, riscv64 added to a literal CIBW_ARCHS or
to pyproject's `[tool.cibuildwheel.linux] archs` (through tomlkit, which keeps the rest
of the file as it is), a native riscv64 runner added beside the arm one, a riscv64
target beside maturin's others; the QEMU step's platforms and condition extended where
they would leave riscv64 out; matrix exclusions for the images that have no riscv64
build (manylinux2014, musllinux_1_1), and the image setting copied for riscv64 where
upstream sets one an architecture; a count of expected wheels raised by the wheels
riscv64 adds.

The edit is here and in runners.py (where riscv64 runs) and configs.py (the settings it
joins); its proof in proof.py (check_change). An edit that cannot be proved raises
CannotDraft (plan.py): the caller drafts an issue instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

from mirrorctl.core.yamledit import (
    EditError,
    append_item,
    apply_edits,
    compose,
    copy_entries,
    node_at,
)
from mirrorctl.upstream.wheels.archlists import extend_tests
from mirrorctl.upstream.wheels.ci import WheelCi
from mirrorctl.upstream.wheels.cibwtool import CibuildwheelTools
from mirrorctl.upstream.wheels.configs import (
    config_lists,
    counts,
    emulated_peers,
    exclude_images,
    extend_archs_env,
    image_settings,
    pyproject_archs,
    test_skips,
)
from mirrorctl.upstream.wheels.maturinjob import maturin_arch, target_entries
from mirrorctl.upstream.wheels.plan import (
    RISCV64_IMAGES,
    RISCV64_TARGET,
    CannotDraft,
    Plan,
    WheelChange,
    WheelOptions,
)
from mirrorctl.upstream.wheels.proof import (
    check_change,
    matrix_and_qemu_lines,
)
from mirrorctl.upstream.wheels.runners import (
    add_qemu_step,
    matrix_key_of,
    native_beside,
    qemu_off,
    qemu_platforms,
    qemu_step,
    runners_to_qemu,
)
from mirrorctl.upstream.wheels.wheeljob import (
    EMULATED,
    LINUX_ARCHS,
    WheelJob,
    is_linux_runner,
    native_arch,
)

__all__ = ["draft_change"]


def draft_change(files: Mapping[str, str], ci: WheelCi,
                 options: WheelOptions | None = None) -> WheelChange:
    """The change for the job a draft edits (ci.target), proved; raises CannotDraft."""
    options = options or WheelOptions()
    job = ci.target
    if job is None or job.shape is None:
        jobs = ci.linux_jobs
        raise CannotDraft(jobs[0].why if jobs else "no job of upstream's CI builds Linux "
                          "wheels in a way mirrorctl reads")
    if options.native and job.shape not in ("native", "matrix", "include"):
        raise CannotDraft(f"the package asks for a riscv64 runner ({options.runner}), and "
                          f"upstream lists its architectures in its {job.shape}, with no "
                          "matrix a riscv64 runner could join")
    plan = Plan({}, {}, [], _riscv64_images(job, options))
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


def _edit(files: Mapping[str, str], job: WheelJob, plan: Plan,
          options: WheelOptions) -> dict[str, str]:
    path, text = job.workflow, files[job.workflow]
    root, data = compose(text), yaml.safe_load(text)
    job_node, job_data = node_at(root, "jobs", job.job), data["jobs"][job.job]
    where = ("jobs", job.job)
    matrix = (job_data.get("strategy") or {}).get("matrix") or {}
    new_files: dict[str, str] = {}
    key = job.matrix_key
    if options.native and job.shape == "matrix" and key is not None:
        native_beside(text, job_node, job_data, key, plan, where, options.runner,
                       path=path)
    elif job.shape == "native" and not options.native and key is not None and \
            runners_to_qemu(files, job_node, job_data, key, plan, where, path=path):
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
            exclude_images(text, job_node, matrix, key, plan, path, where)
    elif job.shape == "include" and key is not None:
        _include_entries(files, job_node, job_data, key, plan, where, options, path=path,
                         tool=job.tool)
    elif job.shape == "env":
        extend_archs_env(text, root, job, plan)
    elif job.shape == "pyproject":
        new_files["pyproject.toml"] = pyproject_archs(files["pyproject.toml"], plan)
    else:
        raise EditError(f"shape {job.shape} without its matrix key")
    if job.shape != "native" and job.tool == "cibuildwheel":
        image_settings(text, job_node, job_data, plan, path, where)
        if not options.native:
            qemu_platforms(text, job_node, job_data, plan, path, where, key)
    peers = plan.peers = frozenset() if options.native else emulated_peers(job, text)
    if key is not None and job.shape in ("matrix", "include"):
        extend_tests(text, root, key, peers, matrix_and_qemu_lines(text), plan.add, path)
    if job.tool == "cibuildwheel":
        test_skips(text, root, job, peers, plan)
        config_lists(files, new_files, job, peers, plan)
    if job.shape in ("native", "matrix", "include", "env", "pyproject"):
        counts(files, plan)
    for name, edits in plan.edits.items():
        new_files[name] = apply_edits(new_files.get(name, files[name]), edits)
    return new_files


def _include_entries(files: Mapping[str, str], job_node: Any, job_data: Mapping[str, Any],
                     key: str, plan: Plan, where: tuple[Any, ...], options: WheelOptions,
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
    runs_on = matrix_key_of(job_data.get("runs-on"))
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
        qemu_off(text, job_node, job_data, plan, path, where, runs_on, options.runner,
                  combos)
    elif not emulated and not qemu_step(job_data) and tool != "maturin":
        add_qemu_step(files, job_node, job_data, key, plan, path, where)


_FOLLOWED = ("s390x", "ppc64le", "armv7l", "aarch64")  # the template, most emulated first


_OTHER_PLATFORMS = {"pyodide", "android", "ios"}  # CIBW_PLATFORM values that are no Linux


# How a label names x86_64 (`os: linux-intel`): riscv64's copy names riscv64 there.
_X86_WORDS = r"x86_64|intel|amd64|x64"


def _as_riscv64(entry: Mapping[str, Any], arch: str, key: str, tool: str,
                plan: Plan) -> dict[str, Any]:
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


def _riscv64_value(value: str, arch: str, plan: Plan, *, images: bool = True) -> str:
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
