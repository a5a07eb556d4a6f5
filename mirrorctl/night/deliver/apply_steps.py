"""The steps of the package's workflows that apply its queue (`git apply ...
patches/<package>/...`), edited as a person edits them when the queue changes: the
patches named one by one follow the new queue (carry_apply_steps), the steps go when
nothing is left to carry (remove_apply_step), and one comes back, in the form of theirs,
when patches come back to a package whose workflows lost it (add_apply_step).

Each edit is exact, and the workflow is parsed before and after to prove that only those
steps differ (an edit that cannot be proved is not made, and says why). Pure: texts in,
texts out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from mirrorctl.core.yamledit import Difference, both_parsed, differences

__all__ = ["StepEdit", "add_apply_step", "carry_apply_steps", "remove_apply_step"]


@dataclass(frozen=True)
class StepEdit:
    text: str
    changed: int = 0  # the steps edited or removed
    removed: int = 0  # of them, the steps removed
    problem: str = ""  # why an edit was not made (then text is the old one)


_STEP_KEYS = {"name", "run", "working-directory", "shell", "if", "env", "continue-on-error"}


def carry_apply_steps(text: str, package: str, kept: Sequence[str]) -> StepEdit:
    """The workflow's steps that apply the package's queue (`git apply ...
    patches/<package>/...`) following the new queue `kept` (its file names, in order):
    a step that names the patches one by one loses the lines of those gone and gains a
    line, in the form of its own, for each new one; a step that applies a glob
    (`00*.patch`) stays. With nothing left to carry every apply step goes, the comment
    above it too. Proved by parsing: only those steps' `run` lines differ."""
    lines = text.split("\n")
    steps = _apply_steps(lines, package)
    if not steps:
        return StepEdit(text)
    changed = removed = 0
    for start, end, applies in reversed(steps):
        if not kept:
            problem = _only_applies(lines[start:end], package)
            if problem:
                return StepEdit(text, problem=problem)
            first = start
            while first > 0 and lines[first - 1].strip().startswith("#") and \
                    _indent(lines[first - 1]) == _indent(lines[start]):
                first -= 1
            del lines[first:end]
            if 0 < first < len(lines) and not lines[first - 1].strip() \
                    and not lines[first].strip():
                del lines[first]
            changed, removed = changed + 1, removed + 1
            continue
        names = [_named(lines[n], package) for n in applies]
        if any(name is None or "*" in name or "?" in name for name in names):
            continue  # a glob applies whatever the folder holds
        if names == list(kept):
            continue
        if applies != list(range(applies[0], applies[-1] + 1)) or \
                lines[applies[-1]].lstrip().startswith("- "):
            return StepEdit(text, problem="its apply lines are not one block of a `run: |`, "
                                          "so they cannot follow the queue")
        template, last = lines[applies[-1]], names[-1] or ""
        by_name = dict(zip(names, (lines[n] for n in applies), strict=True))
        block = [by_name.get(name) or template.replace(last, name) for name in kept]
        lines[applies[0]:applies[-1] + 1] = block
        changed += 1
    new = "\n".join(lines)
    problem = _steps_proved(text, new, package, kept)
    return StepEdit(text, problem=problem) if problem else StepEdit(new, changed, removed)


def remove_apply_step(text: str, package: str) -> StepEdit:
    """The workflow without its steps that apply the package's queue: for a queue left
    with nothing to carry, whose folder holds no patch `git apply 00*.patch` could take."""
    return carry_apply_steps(text, package, ())


def add_apply_step(text: str, package: str, *, patchsets: str = "patches",
                   local: str = "") -> StepEdit:
    """The workflow with a step applying the package's queue, for patches coming back to
    a package whose workflows lost it: in each job that checks out upstream and the
    builders' repository, right after the latter, in the form of theirs (`git apply
    python-wheels/<patchsets>/<package>/${{ env.<VERSION> }}<local>/00*.patch`, in
    upstream's folder when it has one). Proved by parsing: one step more a job."""
    lines = text.split("\n")
    if _apply_steps(lines, package):
        return StepEdit(text)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return StepEdit(text, problem=f"it does not parse ({type(exc).__name__})")
    env = data.get("env") if isinstance(data, dict) else None
    carriers = sorted((not str(k).endswith("VERSION"), str(k)) for k, v in
                      (env.items() if isinstance(env, dict) else ()) if "inputs.version" in str(v))
    if not carriers:
        return StepEdit(text, problem="no variable of its `env:` carries the version "
                                      "(`inputs.version`), so the step's path cannot be written")
    variable = carriers[0][1]
    places = []
    for job, steps in _job_steps(data):
        site = next((n for n, step in enumerate(steps) if _checks_out(step, "python-wheels")),
                    None)
        upstream = next((step for step in steps if _checks_out(step, None)), None)
        if site is None or upstream is None:
            continue
        starts = _step_starts(lines, job)
        if len(starts) != len(steps):
            return StepEdit(text, problem=f"the steps of job {job} could not be told apart")
        where, ours = str(steps[site]["with"]["path"]), upstream["with"].get("path")
        indent = " " * _indent(lines[starts[site]])
        new = [f"{indent}- name: Patch {package} source"]
        if ours:
            new.append(f"{indent}  working-directory: {ours}")
        prefix = f"../{where}" if ours else where
        new += [f"{indent}  run: |", f"{indent}    git apply {prefix}/{patchsets}/{package}/"
                f"${{{{ env.{variable} }}}}{local}/00*.patch"]
        end = _step_end(lines, starts[site])
        places.append((end, [""] * (end < len(lines) and not lines[end].strip()) + new))
    if not places:
        return StepEdit(text, problem="no job checks out both upstream and the builders' "
                                      "repository, so no step can apply the queue")
    for end, new in sorted(places, reverse=True):
        lines[end:end] = new
    after = "\n".join(lines)
    pair = both_parsed(text, after)
    proved = pair[1] if not isinstance(pair, str) else None
    expected = [[step for step in steps if not _applies(step, package)]
                for _, steps in _job_steps(proved)] if proved else None
    if proved is None or expected != [steps for _, steps in _job_steps(data)] or \
            _steps_proved(text, after, package, ()) or \
            sum(map(len, (s for _, s in _job_steps(proved)))) != \
            sum(map(len, (s for _, s in _job_steps(data)))) + len(places):
        return StepEdit(text, problem="adding its apply step would change more than it")
    return StepEdit(after, len(places))


def _job_steps(data: Any) -> list[tuple[str, list[Any]]]:
    jobs = data.get("jobs") if isinstance(data, dict) else None
    return [(str(name), list(job.get("steps") or ())) for name, job in
            (jobs.items() if isinstance(jobs, dict) else ()) if isinstance(job, dict)]


def _checks_out(step: Any, path: str | None) -> bool:
    """The step checks out the builders' repository into `path`, or (None) upstream."""
    if not isinstance(step, dict) or "actions/checkout" not in str(step.get("uses", "")):
        return False
    given = step.get("with")
    if not isinstance(given, dict):
        given = {}
    if path is not None:
        return str(given.get("path", "")).rstrip("/").rsplit("/", 1)[-1] == path
    return bool(given.get("repository")) and "python-wheels" not in str(given.get("path", ""))


def _applies(step: Any, package: str) -> bool:
    return isinstance(step, dict) and "git apply" in str(step.get("run", "")) and \
        f"/{package}/" in str(step.get("run", ""))


def _step_starts(lines: list[str], job: str) -> list[int]:
    """The first line of each step of `job`, in order (block style, as theirs are)."""
    head = next((n for n, line in enumerate(lines) if re.match(
        rf"^\s+{re.escape(job)}:\s*$", line)), None)
    if head is None:
        return []
    steps = next((n for n in range(head + 1, len(lines)) if re.match(r"^\s+steps:\s*$",
                                                                    lines[n])), None)
    if steps is None:
        return []
    starts, indent = [], None
    for n in range(steps + 1, len(lines)):
        line = lines[n]
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if _indent(line) <= _indent(lines[steps]) and not line.lstrip().startswith("- "):
            break
        if line.lstrip().startswith("- ") and indent in (None, _indent(line)):
            indent = _indent(line)
            starts.append(n)
        elif indent is not None and _indent(line) < indent:
            break
    return starts


def _step_end(lines: list[str], start: int) -> int:
    """The line after the step starting at `start`, its trailing blank lines left out."""
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or
                                _indent(lines[end]) > _indent(lines[start])):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return end


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _apply_steps(lines: list[str], package: str) -> list[tuple[int, int, list[int]]]:
    """(first line, line after, the apply lines) of each step applying the queue."""
    found: dict[int, tuple[int, list[int]]] = {}
    for number, line in enumerate(lines):
        if "git apply" not in line or f"patches/{package}/" not in line:
            continue
        start = next((n for n in range(number, -1, -1) if re.match(r"^\s*- ", lines[n])
                      and (n == number or _indent(lines[n]) < _indent(line))), None)
        if start is None:
            continue
        if start not in found:
            found[start] = (_step_end(lines, start), [])
        found[start][1].append(number)
    return [(start, end, applies) for start, (end, applies) in sorted(found.items())]


def _only_applies(step_lines: list[str], package: str) -> str:
    """"" when the step does nothing but apply the queue (so it can go whole)."""
    try:
        [step] = yaml.safe_load("\n".join(line[_indent(step_lines[0]):]
                                          for line in step_lines)) or [None]
    except (yaml.YAMLError, ValueError):
        return "its apply step does not parse on its own"
    run = step.get("run") if isinstance(step, dict) else None
    if not isinstance(run, str) or not set(step) <= _STEP_KEYS or any(
            not (line.strip().startswith("git apply") and f"patches/{package}/" in line)
            for line in run.splitlines() if line.strip()):
        return "its apply step does more than apply the queue, so it is left for a person"
    return ""


def _named(line: str, package: str) -> str | None:
    """The patch file an apply line names (the last part of its path), or None."""
    marker = f"patches/{package}/"
    words = [w.strip("'\"") for w in re.split(r"\s+(?![^{]*}})", line) if marker in w]
    return words[-1].rsplit("/", 1)[-1] if words else None


def _steps_proved(before: str, after: str, package: str, kept: Sequence[str]) -> str:
    """"" when the documents differ only in the package's apply steps: steps gone that
    only applied, and `run` lines that are apply lines."""
    pair = both_parsed(before, after)
    if isinstance(pair, str):
        return pair
    a, b = pair

    def applying(step: Any) -> bool:
        return isinstance(step, dict) and f"patches/{package}/" in str(step.get("run", ""))

    def in_steps(difference: Difference) -> bool:
        path = difference.path
        return len(path) >= 3 and path[0] == "jobs" and path[2] == "steps"

    def others(data: Any) -> list[list[Any]]:
        jobs = data.get("jobs") if isinstance(data, dict) else None
        return [[step for step in job.get("steps") or () if not applying(step)]
                for job in (jobs.values() if isinstance(jobs, dict) else ())
                if isinstance(job, dict)]

    def runs(data: Any) -> list[str]:
        return [line.strip() for step in _all_steps(data) if applying(step)
                for line in str(step["run"]).splitlines()
                if "git apply" not in line and line.strip()]

    if not all(map(in_steps, differences(a, b))) or others(a) != others(b) \
            or runs(a) != runs(b):
        return "the edit of its apply steps would change more than them"
    named = [[_named(line, package) for line in str(step["run"]).splitlines()
              if "git apply" in line] for step in _all_steps(b) if applying(step)]
    if kept and any(names != list(kept) for names in named
                    if not any(n is None or "*" in n or "?" in n for n in names)):
        return "its apply lines would not name the new queue's patches"
    return ""


def _all_steps(data: Any) -> list[Any]:
    jobs = data.get("jobs") if isinstance(data, dict) else None
    return [step for job in (jobs.values() if isinstance(jobs, dict) else ())
            if isinstance(job, dict) for step in job.get("steps") or ()]
