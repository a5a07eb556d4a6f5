"""The easy / medium / hard grade of an upgrade, with its reasons.

Facts come from the git objects of both release tags (buildconfig) and from a rebase
dry run of the queue (queue.engine); nothing is checked out and nothing is written.
The grading itself (grade) is a pure function; the levels of the reason codes are data
(core/grading.yaml, read by core.grades), overridable in mirrors.yaml.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Protocol

from mirrorctl.core.errors import MirrorctlError
from mirrorctl.core.grades import LEVELS, Grade, Level, Reason
from mirrorctl.grade.buildconfig import BuildFacts, cibuildwheel_changes
from mirrorctl.queue.engine import PatchOutcome

__all__ = ["grade", "nan_tests_patched"]

# Reasons that say the builds of the release ran (grade.builds).
_BUILDS_RAN = frozenset({"build-failed", "new-test-failures", "nan-test-failures",
                         "nan-test-failures-covered", "tests-fixed", "built-and-tested"})
_NAN = re.compile(r"\b(nan|isnan|signbit|copysign|canonical|floating[- ]point|fpe?)\b", re.I)


def _changed(kind: str, old: Mapping[str, str], new: Mapping[str, str]) -> str | None:
    parts = [f"+ {new[k]}" for k in sorted(new.keys() - old.keys())]
    parts += [f"- {old[k]}" for k in sorted(old.keys() - new.keys())]
    parts += [f"{old[k]} -> {new[k]}" for k in sorted(old.keys() & new.keys())
              if old[k] != new[k]]
    return f"{kind}: {'; '.join(parts)}" if parts else None


# cibuildwheel options whose value carries what a build needs: a workflow that sets one
# itself replaces upstream's, so a change of upstream's is lost to the builders' build.
_CARRIES_NEEDS = frozenset({"environment", "environment-pass", "before-all", "before-build",
                            "config-settings", "dependency-versions", "build-frontend",
                            "repair-wheel-command", "manylinux-riscv64-image",
                            "musllinux-riscv64-image"})


class WheelCheck(Protocol):
    """Whether a requirement has a riscv64 wheel (grade.stack.RequirementWheels)."""

    def lacking(self, line: str, pythons: Sequence[str]) -> list[str]: ...


def _requires_reasons(code: str, kind: str, old: Mapping[str, str], new: Mapping[str, str],
                      wheels: WheelCheck | None = None,
                      pythons: Sequence[str] = (), *, new_needs: bool = True) -> list[Reason]:
    """The builders' builds take binary wheels. Without the index (`wheels` None): a new
    requirement needs a person (`new_needs`; a runtime one, which the tests install,
    is a note), a pin that moved is a note the builds confirm. With it: a requirement
    added or moved needs a person only when it has no riscv64 wheel for a Python they
    build (and when that could not be told); otherwise it is a note."""
    detail = _changed(kind, old, new)
    if detail is None:
        return []
    noted = code.replace("-changed", "-noted")
    changed = [new[k] for k in sorted(new) if old.get(k) != new[k]]
    if wheels is None or not changed:
        if new.keys() - old.keys() and new_needs:
            return [Reason(code, detail)]
        return [Reason(noted, detail + ": the builds will confirm")]
    needing: list[Reason] = []
    for line in changed:
        try:
            lacking = wheels.lacking(line, pythons)
        except MirrorctlError as exc:
            needing.append(Reason(code, f"{detail}; whether {line} has riscv64 wheels is "
                                        f"not known ({exc})"))
            continue
        if lacking:
            tags = ", ".join("cp" + p.replace(".", "") for p in lacking)
            needing.append(Reason(code, f"{line} has no riscv64 wheel for {tags}: build it "
                                        "first, or pre-install it"))
    return needing or [Reason(noted, f"{detail}: each has a riscv64 wheel (or is pure "
                                     f"Python) for {', '.join(pythons)}")]


def _cibuildwheel_reasons(old: BuildFacts, new: BuildFacts,
                          overrides: frozenset[str] | None,
                          pythons: Sequence[str]) -> list[Reason]:
    """Upstream's [tool.cibuildwheel] changes that reach a riscv64 Linux build: one the
    builders' own CIBW_ setting replaces, where upstream's carries what the build needs,
    needs a person; the others are notes the builds confirm."""
    changes = cibuildwheel_changes(old.cibuildwheel, new.cibuildwheel, pythons)
    if not changes:
        return []
    lost = [where for where, option in changes
            if overrides is not None and option in overrides and option in _CARRIES_NEEDS]
    if lost:
        return [Reason("cibuildwheel-changed", f"upstream's [tool.cibuildwheel] "
                       f"{', '.join(lost)} changed, and the build workflow's own CIBW_ "
                       "setting replaces it")]
    set_here = [where for where, option in changes if overrides and option in overrides]
    return [Reason("cibuildwheel-noted", f"[tool.cibuildwheel] "
                   f"{', '.join(where for where, _ in changes)} changed: the builds will "
                   "confirm" + (f" ({', '.join(set_here)}: the build workflow sets its own)"
                                if set_here else ""))]


def _build_reasons(old: BuildFacts, new: BuildFacts, patched: Sequence[str],
                   overrides: frozenset[str] | None, pythons: Sequence[str],
                   wheels: WheelCheck | None = None) -> list[Reason]:
    reasons = [Reason("unreadable-build-config", p) for p in new.problems]
    if old.backend_family != new.backend_family:
        reasons.append(Reason("build-backend-changed", f"{old.backend} -> {new.backend}"))
    reasons += _requires_reasons("build-requires-changed", "[build-system] requires",
                                 old.build_requires, new.build_requires, wheels, pythons)
    reasons += _requires_reasons("setup-requires-changed", "setup_requires",
                                 old.setup_requires, new.setup_requires, wheels, pythons)
    reasons += _requires_reasons("runtime-requires-changed", "[project] dependencies",
                                 old.runtime_requires, new.runtime_requires, wheels, pythons,
                                 new_needs=False)
    for toolchain in sorted(new.toolchains - old.toolchains):
        what = {"rust": "Rust (a Cargo.toml appeared)",
                "fortran": "Fortran (Fortran sources appeared)"}[toolchain]
        reasons.append(Reason("new-toolchain", what))
    if added := sorted(new.system_packages - old.system_packages):
        reasons.append(Reason("new-system-library", "the CI now installs " + ", ".join(added)))
    if added := sorted(new.native_dependencies - old.native_dependencies):
        reasons.append(Reason("new-native-dependency", "new build dependency " +
                              ", ".join(added)))
    reasons += _cibuildwheel_reasons(old, new, overrides, pythons)
    for path in sorted(p for p in old.submodules.keys() | new.submodules.keys()
                       if old.submodules.get(p) != new.submodules.get(p)):
        under = [f for f in patched if f == path or f.startswith(path + "/")]
        code = "submodule-changed-under-patch" if under else "submodule-changed"
        reasons.append(Reason(code, f"submodule {path} changed"
                                    + (f" under {', '.join(under)}" if under else "")))
    return reasons


def _patch_reasons(outcomes: Sequence[PatchOutcome]) -> list[Reason]:
    reasons = []
    for code, outcome in (("patch-conflict", "conflict"), ("patch-reverted", "reverted"),
                          ("patch-merged", "merged"), ("patch-dropped", "dropped"),
                          ("patch-upstreamed", "upstreamed")):
        names = [o.patch.name for o in outcomes if o.outcome == outcome]
        if names:
            reasons.append(Reason(code, ", ".join(names)))
    reasons += [Reason("backport-undone", f"{o.patch.name}: {o.detail}") for o in outcomes
                if o.outcome == "undone"]
    nan = [o.patch.name for o in outcomes if _touches_nan_tests(o)]
    if nan:
        reasons.append(Reason("nan-tests-patched", "tests about NaN or floating point: "
                              + ", ".join(nan)))
    return reasons


# What a person does about each reason that needs one.
TO_DO = {
    "build-backend-changed": "port the build workflow to the new backend (its build "
                             "requirements, config settings and CIBW_ options)",
    "new-toolchain": "give the build that toolchain for riscv64 (Rust: the target "
                     "riscv64gc-unknown-linux-gnu)",
    "patch-conflict": "resolve it: rebase --worktree, then --continue",
    "patch-reverted": "decide, in rebase --worktree: carry it again, or drop it (and say "
                      "why in its Upstream-Status)",
    "nan-tests-patched": "review the test outputs for canonical-NaN failures the queue "
                         "does not skip",
    "submodule-changed-under-patch": "check the patched files in the moved submodule",
    "unreadable-build-config": "read the file by hand: its build facts are not known",
    "queue-broken": "mend the queue: it does not apply to its own release",
    "build-requires-changed": "check the registry has riscv64 wheels of what is new (the "
                              "builds take binary wheels only)",
    "setup-requires-changed": "check the registry has riscv64 wheels of what is new",
    "runtime-requires-changed": "build it (or have it built) first: the wheel's tests "
                                "install it on riscv64",
    "new-system-library": "install it in the build (CIBW_BEFORE_ALL)",
    "new-native-dependency": "install it in the build (CIBW_BEFORE_ALL)",
    "cibuildwheel-changed": "carry what upstream's setting now does into the workflow's own",
    "patch-merged": "review the refreshed patch (the range-diff shows it)",
    "patch-dropped": "check that riscv64 no longer needs what the patch did",
    "backport-undone": "confirm with the builds that the release builds and passes without "
                       "the backport upstream undid (if riscv64 still needs it, put it back "
                       "in the new queue folder)",
    "build-failed": "read the failed job's log",
    "new-test-failures": "review the new failures: fix, skip with a patch, or report them",
    "nan-test-failures": "skip or fix the canonical-NaN tests for riscv64 (a patch)",
    "nan-test-failures-covered": "check the queue's NaN skips cover the new failures",
}


def _with_to_do(reason: Reason) -> Reason:
    todo = TO_DO.get(reason.code)
    return reason if todo is None or reason.todo else replace(reason, todo=todo)


def nan_tests_patched(outcomes: Sequence[PatchOutcome]) -> bool:
    """Whether the queue carries a patch about NaN or floating-point tests."""
    return any(_touches_nan_tests(o) for o in outcomes)


def _touches_nan_tests(outcome: PatchOutcome) -> bool:
    if not any("test" in path.lower() for path in outcome.patch.files):
        return False
    changed = [line for line in outcome.patch.diff.splitlines()
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    return any(_NAN.search(line) for line in changed) or bool(
        _NAN.search(outcome.patch.message))


def grade(old: BuildFacts, new: BuildFacts, outcomes: Sequence[PatchOutcome] | None, *,
          levels: Mapping[str, Level], pin: tuple[Level, str] | None = None,
          extra: Sequence[Reason] = (), overrides: frozenset[str] | None = None,
          pythons: Sequence[str] = ("3.12", "3.13", "3.14", "3.14t"),
          wheels: WheelCheck | None = None) -> Grade:
    """The grade of an upgrade. `outcomes` is None when the package carries no queue;
    `extra` are reasons found elsewhere (a queue that does not apply to its release);
    `overrides`: the cibuildwheel options the builders' own workflow sets (None: no
    workflow known); `pythons`: those they build; `wheels`: whether a requirement has a
    riscv64 wheel, read from the index (None: not asked). Every medium or hard reason
    says what a person must do."""
    patched = [f for o in outcomes or () for f in o.patch.files]
    reasons = [*extra, *_build_reasons(old, new, patched, overrides, pythons, wheels)]
    if not outcomes:  # no queue, or an empty one (a package that carries no patch)
        reasons.append(Reason("no-patches", "no riscv64 patches to carry"))
    else:
        reasons += _patch_reasons(outcomes)
    if any(r.code in _BUILDS_RAN for r in extra):
        # The builds ran the tests that patched NaN tests leave in doubt: their own
        # reasons say what came of it, so the doubt itself no longer grades.
        reasons = [Reason("nan-tests-patched-checked", r.detail + "; the builds ran them")
                   if r.code == "nan-tests-patched" else r for r in reasons]
    if not [r for r in reasons if levels.get(r.code, "hard") != "easy"]:
        reasons.append(Reason("nothing-changed", "no patch needs work and the build set-up "
                                                 "did not change"))
    reasons = [_with_to_do(r) if levels.get(r.code, "hard") != "easy" else r for r in reasons]
    # Highest level first, so the first reason is the main one.
    reasons.sort(key=lambda r: -LEVELS.index(levels.get(r.code, "hard")))
    if pin is not None:
        return Grade(level=pin[0], reasons=(Reason("pinned", pin[1]), *reasons), pinned=True)
    return Grade(level=levels.get(reasons[0].code, "hard"), reasons=tuple(reasons))
