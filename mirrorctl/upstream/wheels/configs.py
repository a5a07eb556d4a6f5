"""The settings riscv64 joins, in a drafted change: the architecture lists of config
files and of CIBW_ARCHS, pyproject's `[tool.cibuildwheel.linux] archs` (through tomlkit),
the image settings and the exclusions of images with no riscv64 build, the tests
skipped on emulated architectures, and a count of expected wheels raised.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml
from yaml.nodes import MappingNode, SequenceNode

from mirrorctl.core.yamledit import (
    Edit,
    EditError,
    child,
    extend_scalar,
    item,
    node_at,
)
from mirrorctl.upstream.wheels.archlists import (
    extend_pyproject,
    extend_selector,
)
from mirrorctl.upstream.wheels.plan import (
    COUNT,
    EXPECTED,
    IMAGE_KEY,
    Plan,
)
from mirrorctl.upstream.wheels.runners import cibuildwheel_step
from mirrorctl.upstream.wheels.wheeljob import (
    EMULATED,
    WheelJob,
    is_linux_runner,
    native_arch,
)

__all__ = ["config_lists", "counts", "emulated_peers", "exclude_images", "extend_archs_env",
           "image_settings", "pyproject_archs", "scalar_like", "test_skips"]


def exclude_images(text: str, job_node: Any, matrix: Mapping[str, Any], key: str,
                    plan: Plan, path: str, where: tuple[Any, ...]) -> None:
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
    block = "".join(f"\n{indent}{key}: {scalar_like('riscv64', like)}\n{inner}{k}: "
                    f"{scalar_like(str(v), like)}" for k, v in pairs)
    plan.add(path, Edit(after, after, block), (*where, "strategy", "matrix", "exclude"),
             "riscv64 left out of " + ", ".join(str(v) for _, v in pairs)
             + " (no riscv64 build)")


def scalar_like(value: str, like: Any) -> str:
    """`value` quoted as upstream quotes its values there."""
    style = getattr(like, "style", None)
    return f"{style}{value}{style}" if style in ("'", '"') else value


def emulated_peers(job: WheelJob, text: str) -> frozenset[str]:
    """The architectures the job builds under emulation, which riscv64 joins: aarch64
    among them only when no runner of the workflow is an arm one."""
    labels = re.findall(r"(?<![\w.-])[a-z][a-z0-9.]*-[a-z0-9.-]+(?![\w.-])", text)
    arm = any(native_arch(label) == "aarch64" and is_linux_runner(label) for label in labels)
    return frozenset(a for a in job.archs if a in EMULATED and not (a == "aarch64" and arm))


def test_skips(text: str, root: Any, job: WheelJob, peers: frozenset[str],
                plan: Plan) -> None:
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


def config_lists(files: Mapping[str, str], new_files: dict[str, str], job: WheelJob,
                  peers: frozenset[str], plan: Plan) -> None:
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


def image_settings(text: str, job_node: Any, job_data: Mapping[str, Any], plan: Plan,
                    path: str, where: tuple[Any, ...]) -> None:
    """Where upstream sets an image an architecture from the matrix (in the cibuildwheel
    step's env, or the job's), riscv64's too: the same line, its architecture's name
    (in the key, and in an image reference such as quay.io/pypa/<image>_s390x) riscv64's."""
    index = cibuildwheel_step(job_data)
    places = [] if index is None else [(job_data["steps"][index].get("env"),
                                         node_at(item(node_at(job_node, "steps"), index), "env"),
                                         (*where, "steps", index, "env"))]
    places.append((job_data.get("env"), node_at(job_node, "env"), (*where, "env")))
    for env, env_node, place in places:
        env = env if isinstance(env, Mapping) else {}
        keys = [k for k in env if (m := IMAGE_KEY.match(str(k))) and m.group(2) != "RISCV64"
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
        m = IMAGE_KEY.match(keys[-1])
        assert m is not None
        arch = m.group(2).lower()
        head, value = text[start:key_node.end_mark.index], text[key_node.end_mark.index:end]
        new = head.replace(keys[-1], f"CIBW_{m.group(1)}LINUX_RISCV64_IMAGE", 1) + re.sub(
            rf"(?<![A-Za-z0-9]){re.escape(arch)}(?![A-Za-z0-9])", "riscv64", value)
        plan.add(path, Edit(end, end, "\n" + new), place,
                 f"CIBW_{m.group(1)}LINUX_RISCV64_IMAGE set as {keys[-1]} is")
        return


def extend_archs_env(text: str, root: Any, job: WheelJob, plan: Plan) -> None:
    data = yaml.safe_load(text)
    job_data = data["jobs"][job.job]
    index = cibuildwheel_step(job_data)
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


def pyproject_archs(text: str, plan: Plan) -> str:
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


def counts(files: Mapping[str, str], plan: Plan) -> None:
    """Lines that count the expected wheels: found now, raised by the proof once
    cibuildwheel has said how many riscv64 adds."""
    for path, text in files.items():
        if not path.startswith(".github/workflows/"):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if EXPECTED.match(line) or (
                    re.search(r"whl|wheel", line, re.I)
                    and re.search(r"wc\s+-l|len\(|count", line, re.I) and COUNT.search(line)):
                plan.changes.append(f"{path}:{number}: count of expected wheels")
