"""The easy / medium / hard grade of an upgrade, with its reasons.

Facts come from the git objects of both release tags (buildconfig) and from a rebase
dry run of the queue (queue.engine); nothing is checked out and nothing is written.
The grading itself (grade) is a pure function; the levels of the reason codes are data
(core/grading.yaml, read by core.grades), overridable in mirrors.yaml.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from mirrorctl.core.grades import LEVELS, Grade, Level, Reason
from mirrorctl.grade.buildconfig import BuildFacts
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


def _build_reasons(old: BuildFacts, new: BuildFacts, patched: Sequence[str]) -> list[Reason]:
    reasons = [Reason("unreadable-build-config", p) for p in new.problems]
    if old.backend_family != new.backend_family:
        reasons.append(Reason("build-backend-changed", f"{old.backend} -> {new.backend}"))
    for code, kind, before, after in (
            ("build-requires-changed", "[build-system] requires", old.build_requires,
             new.build_requires),
            ("setup-requires-changed", "setup_requires", old.setup_requires,
             new.setup_requires)):
        if detail := _changed(kind, before, after):
            reasons.append(Reason(code, detail))
    for toolchain in sorted(new.toolchains - old.toolchains):
        what = {"rust": "Rust (a Cargo.toml appeared)",
                "fortran": "Fortran (Fortran sources appeared)"}[toolchain]
        reasons.append(Reason("new-toolchain", what))
    if added := sorted(new.system_packages - old.system_packages):
        reasons.append(Reason("new-system-library", "the CI now installs " + ", ".join(added)))
    if added := sorted(new.native_dependencies - old.native_dependencies):
        reasons.append(Reason("new-native-dependency", "new build dependency " +
                              ", ".join(added)))
    if old.cibuildwheel != new.cibuildwheel:
        reasons.append(Reason("cibuildwheel-changed", "[tool.cibuildwheel] settings changed"))
    for path in sorted(p for p in old.submodules.keys() | new.submodules.keys()
                       if old.submodules.get(p) != new.submodules.get(p)):
        under = [f for f in patched if f == path or f.startswith(path + "/")]
        code = "submodule-changed-under-patch" if under else "submodule-changed"
        reasons.append(Reason(code, f"submodule {path} changed"
                                    + (f" under {', '.join(under)}" if under else "")))
    return reasons


def _patch_reasons(outcomes: Sequence[PatchOutcome]) -> list[Reason]:
    reasons = []
    for code, outcome in (("patch-conflict", "conflict"), ("patch-merged", "merged"),
                          ("patch-dropped", "dropped"), ("patch-upstreamed", "upstreamed")):
        names = [o.patch.name for o in outcomes if o.outcome == outcome]
        if names:
            reasons.append(Reason(code, ", ".join(names)))
    nan = [o.patch.name for o in outcomes if _touches_nan_tests(o)]
    if nan:
        reasons.append(Reason("nan-tests-patched", "tests about NaN or floating point: "
                              + ", ".join(nan)))
    return reasons


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
          extra: Sequence[Reason] = ()) -> Grade:
    """The grade of an upgrade. `outcomes` is None when the package carries no queue;
    `extra` are reasons found elsewhere (a queue that does not apply to its release)."""
    patched = [f for o in outcomes or () for f in o.patch.files]
    reasons = [*extra, *_build_reasons(old, new, patched)]
    if outcomes is None:
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
    # Highest level first, so the first reason is the main one.
    reasons.sort(key=lambda r: -LEVELS.index(levels.get(r.code, "hard")))
    if pin is not None:
        return Grade(level=pin[0], reasons=(Reason("pinned", pin[1]), *reasons), pinned=True)
    return Grade(level=levels.get(reasons[0].code, "hard"), reasons=tuple(reasons))
