"""riscv64 under QEMU in a workflow whose only list of architectures is its runners
(`os: [ubuntu-24.04, ubuntu-24.04-arm, windows-latest, macos-14]`, cibuildwheel's
`auto` on each), as the maintainers of msgpack and argon2-cffi-bindings wrote it:

- the runner list becomes `include:` entries, one a runner, and one more on the x86_64
  Linux runner with `cibw_archs: riscv64` and `name_suffix: "-riscv64"` (an include
  entry that only adds keys would merge into the x86_64 job instead of adding one);
- the cibuildwheel step builds `CIBW_ARCHS: ${{ matrix.cibw_archs || 'auto' }}`;
- the job's name and its artifacts' names gain `${{ matrix.name_suffix || '' }}`, so
  that the riscv64 job's artifact never takes the x86_64 one's name;
- a QEMU step for that entry alone (the caller's: runners.add_qemu_step).

Every other byte stays; what cannot be edited so is an EditError.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from mirrorctl.core.yamledit import Edit, EditError, child, item, node_at

__all__ = ["ARCHS_KEY", "SUFFIX", "runners_to_include"]

ARCHS_KEY = "cibw_archs"
SUFFIX = "${{ matrix.name_suffix || '' }}"
_ARCHS = "${{ matrix.cibw_archs || 'auto' }}"

Add = Callable[[str, Edit, tuple[Any, ...], str], None]


def runners_to_include(text: str, job_node: Any, job_data: Mapping[str, Any], key: str,
                       runner: str, step: int, add: Add, path: str,
                       where: tuple[Any, ...]) -> None:
    """The edits above, `key` the matrix key of the runners, `runner` the x86_64 Linux
    one riscv64's entry goes on, `step` the cibuildwheel step's index."""
    matrix_node = node_at(job_node, "strategy", "matrix")
    matrix = (job_data.get("strategy") or {}).get("matrix") or {}
    if set(matrix) != {key}:
        raise EditError(f"job {where[1]}: its matrix has more than its runners "
                        f"({', '.join(sorted(map(str, matrix)))})")
    key_node = next((k for k, _ in matrix_node.value if k.value == key), None) \
        if isinstance(matrix_node, MappingNode) else None
    vector = child(matrix_node, key)
    if key_node is None or not isinstance(vector, SequenceNode) or not all(
            isinstance(v, ScalarNode) for v in vector.value):
        raise EditError(f"job {where[1]}: matrix.{key} is no list of runners")
    # a block list ends with its last item (its end mark is the next line's start)
    end = vector.end_mark.index if vector.flow_style else vector.value[-1].end_mark.index
    raw = text[key_node.start_mark.index:end]
    if "#" in raw:
        raise EditError(f"job {where[1]}: matrix.{key} holds comments")
    indent = " " * key_node.start_mark.column
    lines = ["include:"] + [f"{indent}- {key}: {text[v.start_mark.index:v.end_mark.index]}"
                            for v in vector.value]
    lines += [f"{indent}- {key}: {runner}", f"{indent}  {ARCHS_KEY}: riscv64",
              f'{indent}  name_suffix: "-riscv64"']
    add(path, Edit(key_node.start_mark.index, end, "\n".join(lines)),
        (*where, "strategy", "matrix"),
        f"matrix.{key} as include entries, one more on {runner} for riscv64 under QEMU")
    _archs_env(text, job_node, job_data, step, add, path, where)
    _suffixes(text, job_node, job_data, add, path, where)


def _archs_env(text: str, job_node: Any, job_data: Mapping[str, Any], step: int, add: Add,
               path: str, where: tuple[Any, ...]) -> None:
    step_data = job_data["steps"][step]
    env = step_data.get("env")
    settings = {**(job_data.get("env") or {}), **(env if isinstance(env, Mapping) else {})}
    if any(str(k).startswith("CIBW_ARCHS") for k in settings) \
            or "archs" in (step_data.get("with") or {}):
        raise EditError(f"job {where[1]}: its cibuildwheel step sets its architectures")
    step_node = item(node_at(job_node, "steps"), step)
    env_node = child(step_node, "env")
    if isinstance(env_node, MappingNode) and env_node.value and not env_node.flow_style:
        last_key = env_node.value[-1][0]
        at = text.find("\n", env_node.value[-1][1].end_mark.index)
        at = len(text) if at < 0 else at
        line = " " * last_key.start_mark.column + f"CIBW_ARCHS: {_ARCHS}"
    elif env_node is None and isinstance(step_node, MappingNode) and not step_node.flow_style:
        first_key = step_node.value[0][0]
        at = text.find("\n", step_node.value[-1][1].end_mark.index)
        at = len(text) if at < 0 else at
        column = first_key.start_mark.column
        line = " " * column + "env:\n" + " " * (column + 2) + f"CIBW_ARCHS: {_ARCHS}"
    else:
        raise EditError(f"job {where[1]}: its cibuildwheel step's env is no block mapping")
    add(path, Edit(at, at, "\n" + line), (*where, "steps", step),
        "the cibuildwheel step builds matrix.cibw_archs, else auto")


def _suffixes(text: str, job_node: Any, job_data: Mapping[str, Any], add: Add, path: str,
              where: tuple[Any, ...]) -> None:
    """The job's name and each artifact's name that reads the matrix, suffixed."""
    places: list[tuple[Any, tuple[Any, ...]]] = []
    if "matrix." in str(job_data.get("name", "")):
        places.append((child(job_node, "name"), (*where, "name")))
    for index, step in enumerate(job_data.get("steps") or []):
        uses = str(step.get("uses", "")) if isinstance(step, Mapping) else ""
        name = (step.get("with") or {}).get("name") if isinstance(step, Mapping) else None
        if uses.startswith("actions/upload-artifact") and "matrix." in str(name or ""):
            node = child(item(node_at(job_node, "steps"), index), "with")
            places.append((child(node, "name"), (*where, "steps", index, "with")))
    for node, place in places:
        if not isinstance(node, ScalarNode) or node.style in ("|", ">") \
                or "\n" in text[node.start_mark.index:node.end_mark.index]:
            raise EditError(f"job {where[1]}: a name to suffix that is no one-line value")
        end = node.end_mark.index - (1 if node.style in ("'", '"') else 0)
        suffix = SUFFIX if node.style != "'" else SUFFIX.replace("'", "''")
        add(path, Edit(end, end, suffix), place, f"{_what(place)} named with the suffix")


def _what(place: tuple[Any, ...]) -> str:
    return "the job" if place[-1] == "name" else "its artifact"

