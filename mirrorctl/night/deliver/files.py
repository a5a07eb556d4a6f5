"""The files of the builders' repository an upgrade changes besides its queue folder,
as a person changes them: every line of the package's workflows that names the
version (the `version` input's default, its description's example, `|| 'V'`
fallbacks, env, job names, concurrency groups), and its docs entry
(docs/packages/<pkg>.yaml) gaining the new version.

Each edit is exact: only those lines change, and the file is parsed before and after
to prove the documents differ only in the values that held the version (an edit that
cannot be proved is not made, and says why). Pure: texts in, texts out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from packaging.utils import canonicalize_name

from mirrorctl.core.buildsite import VERSION_DEFAULT, input_default

__all__ = ["Bump", "DocsEntry", "StepEdit", "add_apply_step", "add_docs_version",
           "bump_workflow",
           "carry_apply_steps", "comment_from", "input_default", "remove_apply_step",
           "workflows_of"]

def workflows_of(package: str, texts: Mapping[str, str], *, old: str) -> list[str]:
    """The workflow files (path -> text, from .github/workflows) that carry `package`'s
    version: build-/test-<package>.yml (or the common stem wheels of one upstream share),
    and any other whose `version` input defaults to `old` and which names the package."""
    wanted = canonicalize_name(package)
    found = []
    for path in sorted(texts):
        kind, _, stem = path.rsplit("/", 1)[-1].split(".")[0].partition("-")
        named = kind in ("build", "test") and stem and (
            canonicalize_name(stem) == wanted or wanted.startswith(canonicalize_name(stem) + "-"))
        carries = input_default(texts[path]) == old and package.lower() in texts[path].lower()
        if named or carries:
            found.append(path)
    return found


@dataclass(frozen=True)
class Bump:
    text: str  # the workflow, bumped (the same text when nothing was to change)
    lines: tuple[int, ...]  # the lines changed (1-based)
    problem: str = ""  # why it was not bumped (then text is the old one)
    # Comments that name the old version for a reason of their own: (line, text), left as
    # they are for a person to check, never claimed bumped.
    left: tuple[tuple[int, str], ...] = ()


def _token(version: str) -> re.Pattern[str]:
    """The version as a whole token: not inside 13.11.0, 3.11.0.1 or 3.11.0rc1."""
    return re.compile(rf"(?<![\w.]){re.escape(version)}(?![\w.]|[-+][0-9a-z])")


def bump_workflow(text: str, old: str, new: str) -> Bump:
    """Every spelling of `old` on the lines that speak of the version (the input's
    `default:`, and any line that says "version", as descriptions, `|| '3.11.0'`
    fallbacks, *_VERSION env, names and groups do), set to `new`; proved by parsing. A
    comment that only restates the version its line sets (on that line, or just above it,
    saying "version" or "default") is bumped with it; any other comment naming `old` is
    left, and said in `left`."""
    if old == new:
        return Bump(text, ())
    token = _token(old)
    default = VERSION_DEFAULT.search(text)
    default_line = text.count("\n", 0, default.end()) if default else -1
    lines = text.split("\n")
    changed: list[int] = []
    for number, line in enumerate(lines):
        said = _code(line)
        if (number == default_line or "version" in said.lower()) and token.search(said):
            lines[number] = token.sub(new, said) + line[len(said):]
            changed.append(number)
    left = []
    for number, line in enumerate(lines):
        remark = line[len(_code(line)):]
        if not token.search(remark):
            continue
        if _restates(lines, number, set(changed)):
            lines[number] = line[:len(line) - len(remark)] + token.sub(new, remark)
            changed.append(number)
        else:
            left.append((number + 1, line.strip()))
    bumped = "\n".join(lines)
    if not changed:
        return Bump(text, (), f"no line names the version {old}")
    problem = _proved(text, bumped, old, new)
    return Bump(text, (), problem) if problem else \
        Bump(bumped, tuple(sorted(n + 1 for n in changed)), left=tuple(left))


def _code(line: str) -> str:
    """What a line says, its comment aside (a full-line comment says nothing)."""
    if line.lstrip().startswith("#"):
        return line[:len(line) - len(line.lstrip())]
    return line.split(" #", 1)[0]


def _restates(lines: list[str], number: int, bumped: set[int]) -> bool:
    """Whether the comment of line `number` speaks of the version that its line, or the
    line its comment block stands above, sets: on a bumped line, or above one."""
    remark = lines[number][len(_code(lines[number])):].lower()
    if "version" not in remark and "default" not in remark:
        return False
    if number in bumped:
        return True
    below = number + 1
    while below < len(lines) and lines[below].lstrip().startswith("#"):
        below += 1
    return lines[number].lstrip().startswith("#") and below in bumped


def _proved(before: str, after: str, old: str, new: str) -> str:
    """"" when the parsed documents differ only in values where `old` became `new`."""
    try:
        a, b = yaml.safe_load(before), yaml.safe_load(after)
    except yaml.YAMLError as exc:
        return f"it does not parse as YAML ({type(exc).__name__}), so no edit can be proved"
    token = _token(old)
    differences = list(_differences(a, b))
    wrong = [f"{where}: {x!r} -> {y!r}" for where, x, y in differences
             if not (isinstance(x, str) and isinstance(y, str) and token.sub(new, x) == y)]
    if wrong:
        return "the edit would change more than the version: " + "; ".join(wrong[:3])
    return ""


def _differences(a: Any, b: Any, where: str = "") -> Iterable[tuple[str, Any, Any]]:
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            yield where or "/", sorted(map(str, a)), sorted(map(str, b))
            return
        for key in a:
            yield from _differences(a[key], b[key], f"{where}/{key}")
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for n, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from _differences(x, y, f"{where}[{n}]")
    elif a != b:
        yield where or "/", a, b


@dataclass(frozen=True)
class DocsEntry:
    text: str  # the docs page with the new version (the same when it had it already)
    added: bool
    problem: str = ""


def add_docs_version(text: str, version: str, *, patched: bool, comment: str | None) -> DocsEntry:
    """The docs page (docs/packages/<pkg>.yaml) with `version` appended to its `versions`
    list as they write it (`- version: V`, `patched:` when it carries patches, a
    `comment:`), the rest of the file as it was; proved by parsing."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return DocsEntry(text, False, f"it does not parse ({type(exc).__name__})")
    versions = data.get("versions") if isinstance(data, dict) else None
    if not isinstance(versions, list):
        return DocsEntry(text, False, "it has no `versions:` list")
    if any(isinstance(v, dict) and str(v.get("version")) == version for v in versions):
        return DocsEntry(text, False)
    indent = _item_indent(text)
    lines = [f"{indent}- version: {version}"]
    if patched:
        lines.append(f"{indent}  patched:")
    if comment:
        lines += _comment_lines(comment, f"{indent}  ")
    new = _after_versions(text, "\n".join(lines))
    try:
        after = yaml.safe_load(new)
    except yaml.YAMLError:
        after = None
    entry: dict[str, Any] = {"version": _parsed(version)}
    if patched:
        entry["patched"] = None
    if comment:
        entry["comment"] = comment
    if not isinstance(after, dict) or after.get("versions") != [*versions, entry] \
            or {k: v for k, v in after.items() if k != "versions"} != \
            {k: v for k, v in data.items() if k != "versions"}:
        return DocsEntry(text, False, "the new entry could not be added without changing "
                                      "the rest of the file")
    return DocsEntry(new, True)


def _item_indent(text: str) -> str:
    found = re.search(r"^versions:\s*\n(\s*)-\s", text, re.M)
    return found.group(1) if found else "  "


def _after_versions(text: str, entry: str) -> str:
    """`text` with `entry` at the end of its versions list (the list's last item ends at
    the next top-level key, or the end of the file)."""
    lines = text.rstrip("\n").split("\n")
    start = next(n for n, line in enumerate(lines) if re.match(r"^versions:\s*$", line))
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or lines[end][:1] in (" ", "-", "\t")):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return "\n".join([*lines[:end], entry, *lines[end:]]) + "\n"


def _comment_lines(comment: str, pad: str) -> list[str]:
    """`comment:` as they write it: plain on one line, a `|` block over several."""
    body = comment.rstrip("\n")
    if "\n" not in body or comment.endswith("\n\n") or body[:1].isspace():
        return [f"{pad}comment: {_scalar(comment)}"]
    chomp = "|" if comment.endswith("\n") else "|-"
    return [f"{pad}comment: {chomp}",
            *(f"{pad}  {line}" if line else "" for line in body.split("\n"))]


def _scalar(text: str) -> str:
    """A comment as a YAML scalar that reads back as it is (quoted when it must be)."""
    dumped = yaml.safe_dump(text, default_flow_style=True, width=10_000, allow_unicode=True)
    return dumped.removesuffix("\n...\n").rstrip("\n")


def _parsed(version: str) -> Any:
    """How YAML reads a version written bare (3.11 is a float to it)."""
    return yaml.safe_load(version)


def comment_from(subjects: Sequence[str], package: str) -> str | None:
    """A docs comment drawn from the queue, in their words: "We patch <pkg> to <what its
    patches do>." (each subject without its `TST:`-style prefix)."""
    parts = [re.sub(r"^[A-Za-z0-9_.-]+:\s+", "", s).rstrip(".") for s in subjects]
    parts = [p[:1].lower() + p[1:] if p[1:2].islower() or len(p) == 1 else p
             for p in parts if p]
    if not parts:
        return None
    said = parts[0] if len(parts) == 1 else ", to ".join(parts[:-1]) + f", and to {parts[-1]}"
    return f"We patch {package} to {said}."


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
    try:
        proved = yaml.safe_load(after)
    except yaml.YAMLError:
        proved = None
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
    try:
        a, b = yaml.safe_load(before), yaml.safe_load(after)
    except yaml.YAMLError as exc:
        return f"it does not parse as YAML ({type(exc).__name__}), so no edit can be proved"

    def applying(step: Any) -> bool:
        return isinstance(step, dict) and f"patches/{package}/" in str(step.get("run", ""))

    def without_steps(data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("jobs"), dict):
            return data
        jobs = {name: {k: v for k, v in job.items() if k != "steps"} if isinstance(job, dict)
                else job for name, job in data["jobs"].items()}
        return {**data, "jobs": jobs}

    def others(data: Any) -> list[list[Any]]:
        jobs = data.get("jobs") if isinstance(data, dict) else None
        return [[step for step in job.get("steps") or () if not applying(step)]
                for job in (jobs.values() if isinstance(jobs, dict) else ())
                if isinstance(job, dict)]

    def runs(data: Any) -> list[str]:
        return [line.strip() for step in _all_steps(data) if applying(step)
                for line in str(step["run"]).splitlines()
                if "git apply" not in line and line.strip()]

    if without_steps(a) != without_steps(b) or others(a) != others(b) or runs(a) != runs(b):
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
