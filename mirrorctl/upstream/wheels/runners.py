"""Where riscv64 runs, in a drafted change: the QEMU step added or its platforms and
condition extended, a runners-only matrix turned into QEMU include entries, a native
riscv64 runner beside the arm one (and the steps its runners lack kept off it).
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Mapping
from typing import Any

from yaml.nodes import MappingNode, SequenceNode

from mirrorctl.core.yamledit import (
    Edit,
    EditError,
    child,
    extend_scalar,
    insert_step,
    item,
    node_at,
)
from mirrorctl.upstream.wheels.archlists import list_insertions
from mirrorctl.upstream.wheels.expressions import UNKNOWN, evaluate, truthy
from mirrorctl.upstream.wheels.plan import (
    QEMU_ACTION,
    Plan,
)
from mirrorctl.upstream.wheels.qemujob import ARCHS_KEY, runners_to_include
from mirrorctl.upstream.wheels.wheeljob import (
    EMULATED,
    is_linux_runner,
    native_arch,
)

__all__ = ["add_qemu_step", "and_clause", "cibuildwheel_step", "matrix_key_of", "native_beside",
           "or_clause", "qemu_off", "qemu_platforms", "qemu_step", "runners_to_qemu"]


def qemu_step(job_data: Mapping[str, Any]) -> int | None:
    return next((i for i, s in enumerate(job_data.get("steps") or []) if isinstance(s, Mapping)
                 and str(s.get("uses", "")).lower().startswith(QEMU_ACTION)), None)


def runners_to_qemu(files: Mapping[str, str], job_node: Any, job_data: Mapping[str, Any],
                     key: str, plan: Plan, where: tuple[Any, ...], *, path: str) -> bool:
    """riscv64 under QEMU where the runners are the only list of architectures (qemujob);
    False, the plan as it was, where that edit cannot be made (then riscv64 gets a
    runner of its own, and the body says why)."""
    runners = [str(v) for v in (job_data["strategy"]["matrix"].get(key) or [])]
    x86 = next((r for r in runners if is_linux_runner(r) and native_arch(r) == "x86_64"),
               None)
    index = cibuildwheel_step(job_data)
    if x86 is None or index is None:
        return False
    saved = copy.deepcopy((plan.edits, plan.allowed, plan.changes))
    try:
        runners_to_include(files[path], job_node, job_data, key, x86, index, plan.add, path,
                           where)
        add_qemu_step(files, job_node, job_data, ARCHS_KEY, plan, path, where)
    except EditError:
        plan.edits, plan.allowed, plan.changes = saved
        return False
    return True


def add_qemu_step(files: Mapping[str, str], job_node: Any, job_data: Mapping[str, Any],
                   key: str, plan: Plan, path: str, where: tuple[Any, ...]) -> None:
    """The QEMU step riscv64 needs where the job emulates nothing: before the first
    cibuildwheel step, for riscv64's jobs alone, the action as the project's other
    workflows name it (their pin kept), else its current major version."""
    index = cibuildwheel_step(job_data)
    if index is None:
        raise EditError(f"job {where[1]}: no cibuildwheel step to set QEMU up before")
    refs = [m.group(0) for text in files.values()
            for m in re.finditer(rf"{re.escape(QEMU_ACTION)}@[^\s]+(?:\s+#\s*\S+)?", text)]
    uses = refs[0] if refs else f"{QEMU_ACTION}@v3"
    plan.add(path, insert_step(files[path], node_at(job_node, "steps"), index, [
        "name: Set up QEMU", f"if: matrix.{key} == 'riscv64'", f"uses: {uses}", "with:",
        "  platforms: riscv64"]), (*where, "steps"),
             f"a QEMU step set up for riscv64 (`{uses}`), before the build")


def native_beside(text: str, job_node: Any, job_data: Mapping[str, Any], key: str,
                   plan: Plan, where: tuple[Any, ...], runner: str, *, path: str) -> None:
    """riscv64 on a riscv64 runner, beside upstream's emulated architectures: include
    entries of their own (one for each combination of the matrix's other values that
    has a riscv64 build), and the QEMU step kept off that runner."""
    matrix = job_data["strategy"]["matrix"]
    runs_on = matrix_key_of(job_data.get("runs-on"))
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
    qemu_off(text, job_node, job_data, plan, path, where, runs_on, runner,
              [{runs_on: runner, key: "riscv64", **e} for e in entries or [{}]])


def matrix_key_of(value: Any) -> str | None:
    m = re.search(r"\$\{\{\s*matrix\.([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*)\s*\}\}",
                  str(value or ""))
    return m.group(1) if m else None


def qemu_off(text: str, job_node: Any, job_data: Mapping[str, Any], plan: Plan, path: str,
              where: tuple[Any, ...], runs_on: str, runner: str,
              combos: list[dict[str, Any]]) -> None:
    """The QEMU step, which runs by a condition, kept off the riscv64 runner's jobs
    (`combos`)."""
    steps = job_data.get("steps") or []
    for index, step in enumerate(steps):
        if not (isinstance(step, Mapping)
                and str(step.get("uses", "")).lower().startswith(QEMU_ACTION)):
            continue
        condition = step.get("if")
        if condition is None:
            raise EditError("the QEMU step runs for every job, the riscv64 runner's too")
        values = [evaluate(str(condition), {"matrix": c, "runner": {"os": "Linux"}})
                  for c in combos]
        if any(v is UNKNOWN or truthy(v) for v in values):
            node = child(item(node_at(job_node, "steps"), index), "if")
            plan.add(path, and_clause(text, node, f"matrix.{runs_on} != '{runner}'"),
                     (*where, "steps", index, "if"),
                     f"the QEMU step kept off {runner}")


def and_clause(text: str, node: Any, clause: str) -> Edit:
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


def cibuildwheel_step(job_data: Mapping[str, Any]) -> int | None:
    for index, step in enumerate(job_data.get("steps") or []):
        if isinstance(step, Mapping) and (
                str(step.get("uses", "")).lower().startswith("pypa/cibuildwheel")
                or "cibuildwheel" in str(step.get("run", ""))):
            return index
    return None


def qemu_platforms(text: str, job_node: Any, job_data: Mapping[str, Any], plan: Plan, path: str,
          where: tuple[Any, ...], key: str | None) -> None:
    """The QEMU step's platforms and condition extended to riscv64, where they would
    leave it out (the proof then evaluates them for every riscv64 combination)."""
    steps = job_data.get("steps") or []
    index = next((i for i, s in enumerate(steps) if isinstance(s, Mapping)
                  and str(s.get("uses", "")).lower().startswith(QEMU_ACTION)), None)
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
        plan.add(path, or_clause(text, node, f"matrix.{key} == 'riscv64'"),
                 (*where, "steps", index, "if"), "the QEMU step's condition takes riscv64")
    elif listed:
        at, addition = listed[0]
        plan.add(path, Edit(node.start_mark.index + at, node.start_mark.index + at, addition),
                 (*where, "steps", index, "if"), "the QEMU step's condition takes riscv64")


def or_clause(text: str, node: Any, clause: str) -> Edit:
    raw = text[node.start_mark.index:node.end_mark.index]
    if "\n" in raw:
        raise EditError("a QEMU condition over several lines")
    if raw[:1] in ("'", '"'):
        raise EditError("a quoted QEMU condition")
    close = raw.rfind("}}")
    at = node.start_mark.index + len(raw[:close if close >= 0 else len(raw)].rstrip())
    return Edit(at, at, f" || {clause}")
