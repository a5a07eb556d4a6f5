"""A GitHub Actions job's matrix, expanded as GitHub expands it, and `${{ matrix.* }}`
substituted into the job's strings (pure).

GitHub's rules (docs: "Using a matrix for your jobs"): the product of the vectors in key
order; `exclude` removes the combinations a partial object matches; each `include` object
is added to every combination of the product whose original values it does not
overwrite (values added by an earlier `include` may be), and becomes a combination of
its own when it fits none (one that no later `include` object extends).
A matrix GitHub computes at run time (`${{ fromJSON(...) }}`) cannot be expanded here,
nor one over GitHub's 256 jobs: the expansion is then None.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["Combination", "expand_matrix", "substitute"]

Combination = dict[str, Any]
MAX_JOBS = 256  # GitHub's limit of the jobs one matrix makes
_MAX_PRODUCT = 16 * MAX_JOBS  # vectors multiplied out before their exclusions, at most
# ${{ matrix.arch }}, ${{ matrix['arch'] }}, and a value of a mapping the matrix lists
# (${{ matrix.platform.target }}).
_EXPRESSION = re.compile(r"\$\{\{\s*matrix(?:\.([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*)|"
                         r"\[\s*'([^']+)'\s*\])\s*\}\}")


def expand_matrix(matrix: Any) -> list[Combination] | None:
    """Every combination the job runs with ([{}] for a job without a matrix), or None
    when the matrix is an expression GitHub evaluates at run time."""
    if matrix is None:
        return [{}]
    if not isinstance(matrix, Mapping):
        return None
    vectors = {str(k): v for k, v in matrix.items() if k not in ("include", "exclude")}
    if any(not isinstance(v, list) for v in vectors.values()):
        return None
    if math.prod(len(v) for v in vectors.values()) > _MAX_PRODUCT:
        return None  # not expanded here (a matrix of aliases can be made to explode)
    include, exclude = matrix.get("include", []), matrix.get("exclude", [])
    if not isinstance(include, list) or not isinstance(exclude, list):
        return None
    product = itertools.product(*vectors.values()) if vectors else ()
    combos = [dict(zip(vectors, values, strict=True)) for values in product]
    combos = [c for c in combos if not any(_matches(c, e) for e in exclude
                                           if isinstance(e, Mapping))]
    added: list[Combination] = []  # include entries that fit no combination
    for entry in include:
        if not isinstance(entry, Mapping):
            return None
        fitted = False
        for combo in combos:
            if all(k not in vectors or combo[k] == v for k, v in entry.items()):
                combo.update(entry)
                fitted = True
        if not fitted:
            added.append(dict(entry))
    expanded = combos + added
    return expanded if len(expanded) <= MAX_JOBS else None  # GitHub refuses it


def _matches(combo: Mapping[str, Any], partial: Mapping[str, Any]) -> bool:
    return all(k in combo and combo[k] == v for k, v in partial.items())


def lookup(combo: Mapping[str, Any], path: str) -> Any:
    """The value `matrix.<path>` names in a combination ('' when it has none, as GitHub
    says a missing property is)."""
    found: Any = combo
    for part in path.split("."):
        found = found.get(part, "") if isinstance(found, Mapping) else ""
    return found


def substitute(value: Any, combo: Mapping[str, Any]) -> Any:
    """`value` (a string, list or mapping of them) with each `${{ matrix.key }}`
    replaced by the combination's value ('' when it has none, as GitHub does); other
    expressions are left as they are."""
    if isinstance(value, str):
        def one(m: re.Match[str]) -> str:
            found = lookup(combo, m.group(1)) if m.group(1) else combo.get(m.group(2), "")
            return m.group(0) if isinstance(found, (dict, list)) else str(found)
        return _EXPRESSION.sub(one, value)
    if isinstance(value, list):
        return [substitute(v, combo) for v in value]
    if isinstance(value, Mapping):
        return {k: substitute(v, combo) for k, v in value.items()}
    return value
