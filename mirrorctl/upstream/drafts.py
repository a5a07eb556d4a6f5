"""Drafts of upstream merge requests and issues, for a maintainer to read and submit.

Every patch whose Upstream-Status is Pending or To upstream is a candidate. The draft
follows the upstream's own conventions, read from the release tag's git objects: its
commit-subject prefixes (BLD, BUG, TST ...), its pull/merge request template, its issue
forms. Deciding the kind, the title and the body is pure (text in, text out); only
`upstream_conventions` reads git and `write_drafts` writes files. Nothing here talks to
a forge: numpy's policy, among others, wants a person to write and submit the request.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml

from mirrorctl.core.config import Config, Package
from mirrorctl.core.errors import UsageError
from mirrorctl.core.files import atomic_write_text
from mirrorctl.core.git import GitRunner
from mirrorctl.core.keptfile import KeptFileError
from mirrorctl.core.repository import Repository
from mirrorctl.core.urls import forge_kind, tree_url
from mirrorctl.queue.branches import checked_queue, checked_version
from mirrorctl.queue.folders import currents_of
from mirrorctl.queue.patches import PatchFile
from mirrorctl.sync.cache import open_cache, package_runner, release_tag
from mirrorctl.upstream.front import DRAFT_FRONT, DraftFront

__all__ = [
    "CANDIDATE_STATUSES",
    "Conventions",
    "Draft",
    "DraftOptions",
    "WrittenDraft",
    "draft_for",
    "draft_kind",
    "draft_title",
    "forge_of",
    "likely_duplicates",
    "upstream_conventions",
    "write_drafts",
]

Kind = Literal["mr", "issue"]
CANDIDATE_STATUSES = ("Pending", "To upstream")

_PR_TEMPLATES = (".github/PULL_REQUEST_TEMPLATE.md", ".github/pull_request_template.md",
                 "docs/pull_request_template.md", "PULL_REQUEST_TEMPLATE.md",
                 ".gitlab/merge_request_templates/Default.md")
_PREFIX = re.compile(r"^([A-Z]{2,5})(?:\([^)]*\))?:\s")
_TYPE = re.compile(r"^([a-z]{2,8})(?:\([^)]*\))?!?:\s")  # ci: ..., feat(core): ...
_SKIP = re.compile(r"skip|xfail|riscv64|platform\.machine", re.I)
_FLAG = re.compile(r"-march|-mabi|-mno-|-O[0-3s]\b|-fno-|_TARGET_CPU|NO_[A-Z]+|DISABLE|"
                   r"compiler|gcc|clang", re.I)
_NAN = re.compile(r"\bnan\b|signbit|canonical", re.I)
_BUILD_FILES = ("meson.build", "setup.py", "setup.cfg", "pyproject.toml", "CMakeLists.txt",
                "Makefile", ".cfg", "meson_options.txt", "meson.options")
_CANONICAL_NAN = (
    "RISC-V floating-point instructions return the canonical NaN instead of propagating "
    "the input NaN's sign and payload (The RISC-V Instruction Set Manual, Volume I, "
    "\"NaN Generation and Propagation\"), so checks of a NaN's sign or payload fail there.")
_TODO = "<!-- maintainer: {what} -->"


@dataclass(frozen=True, kw_only=True)
class Conventions:
    """What the upstream expects, read from its release tag."""

    prefixes: tuple[str, ...] = ()  # commit-subject prefixes in common use, most used first
    # Conventional-commit types in common use (ci, build, feat ...), most used first.
    types: tuple[str, ...] = ()
    typed: float = 0.0  # the share of its subjects that start with a conventional type
    pr_template: str | None = None
    pr_template_path: str | None = None
    issue_form: dict[str, Any] | None = None
    issue_form_path: str | None = None


@dataclass(frozen=True, kw_only=True)
class Draft:
    patch: PatchFile
    kind: Kind
    why: str  # why this kind
    title: str
    labels: tuple[str, ...]
    front: DraftFront
    body: str = ""

    @property
    def text(self) -> str:
        return DRAFT_FRONT.text(self.front, self.body)


def forge_of(url: str, apis: Mapping[str, str] | None = None) -> tuple[str, str | None]:
    """("github" | "gitlab" | "unknown", "owner/project") of a repository's URL; `apis`:
    defaults.forge_apis, which names self-hosted forges."""
    parts = urlsplit(url if "://" in url else "ssh://" + url.replace(":", "/", 1))
    path = parts.path.strip("/").removesuffix(".git") or None
    return forge_kind(parts.hostname or "", apis), path


def _added_lines(patch: PatchFile) -> list[str]:
    return [line[1:] for line in patch.diff.splitlines()
            if line.startswith("+") and not line.startswith("+++")]


def draft_kind(patch: PatchFile) -> tuple[Kind, str]:
    """An issue when the patch works around a riscv64 problem whose fix needs upstream's
    design (a test skipped, a build flag forced); a merge request otherwise."""
    added = _added_lines(patch)
    only_tests = all("test" in path.lower() for path in patch.files)
    if only_tests and any(_SKIP.search(line) for line in added):
        return "issue", "it skips or marks tests on riscv64; the fix needs upstream's design"
    touches_build = any(path.endswith(_BUILD_FILES) for path in patch.files)
    if touches_build and any(_FLAG.search(line) for line in added):
        return "issue", "it forces a build flag for riscv64 toolchains"
    return "mr", "a change upstream can take as it is"


def draft_title(patch: PatchFile, conventions: Conventions) -> str:
    """The patch subject, with a commit-subject prefix where upstream uses them."""
    subject = patch.subject.strip()
    if not conventions.prefixes or _PREFIX.match(subject):
        return subject
    files = [path.lower() for path in patch.files]
    if all("test" in path for path in files):
        wanted = ["TST", "TEST"]
    elif any(path.startswith((".github/", ".gitlab", "ci/", "tools/ci")) for path in files):
        wanted = ["CI"]
    elif any(path.endswith(_BUILD_FILES) for path in files):
        wanted = ["BLD", "BUILD"]
    else:
        wanted = ["BUG", "FIX", "MAINT"]
    prefix = next((p for p in wanted if p in conventions.prefixes), conventions.prefixes[0])
    return f"{prefix}: {subject}"


def _in_common_use(pattern: re.Pattern[str], lines: Sequence[str]) -> tuple[str, ...]:
    """The subject prefixes in common use (most used first), not one-offs in a long
    history: when they start 30% of the subjects, each used by 2% of them."""
    counts = Counter(m.group(1) for s in lines if (m := pattern.match(s)))
    if not lines or sum(counts.values()) < 0.3 * len(lines):
        return ()
    return tuple(p for p, n in counts.most_common() if n >= max(1, 0.02 * len(lines)))


def upstream_conventions(cache: Repository, rev: str) -> Conventions:
    """Read subject prefixes, a PR template and issue forms from `rev` (a release tag)."""
    subjects = cache.git("log", "-n", "400", "--no-merges", "--format=%s", rev).stdout
    lines = [s for s in subjects.splitlines() if s.strip()]
    prefixes = _in_common_use(_PREFIX, lines)
    entries = {path: oid for _, kind, oid, path in cache.tree_entries(rev) if kind == "blob"}
    template_path = next((p for p in _PR_TEMPLATES if p in entries), None)
    forms = sorted(p for p in entries if p.startswith(".github/ISSUE_TEMPLATE/")
                   and p.endswith((".yml", ".yaml")) and not p.endswith("config.yml"))
    form_path = next((p for p in forms if "bug" in p.lower()), forms[0] if forms else None)
    wanted = [entries[p] for p in (template_path, form_path) if p]
    blobs = cache.read_blobs(wanted)
    template = blobs[entries[template_path]].decode("utf-8", "replace") if template_path else None
    form = None
    if form_path:
        try:
            loaded = yaml.safe_load(blobs[entries[form_path]].decode("utf-8", "replace"))
            form = loaded if isinstance(loaded, dict) else None
        except yaml.YAMLError:
            form = None
    typed = sum(1 for s in lines if _TYPE.match(s)) / len(lines) if lines else 0.0
    return Conventions(prefixes=prefixes, types=_in_common_use(_TYPE, lines), typed=typed,
                       pr_template=template, pr_template_path=template_path,
                       issue_form=form, issue_form_path=form_path if form else None)


@dataclass(frozen=True, kw_only=True)
class DraftContext:
    package: str
    version: str
    upstream: str
    mirror: str | None  # None: the package has no mirror
    mirror_web: str | None
    target_branch: str
    patch_path: str  # as the builders' repository names it
    pythons: Sequence[str]
    # Canonical-NaN failures the builds of the release showed ("test (3.12)"), if read.
    nan_failures: Sequence[str] = ()
    # defaults.forge_apis: which self-hosted hosts are GitHub Enterprise or GitLab.
    forge_apis: Mapping[str, str] = field(default_factory=dict)


def _problem(patch: PatchFile, context: DraftContext) -> str:
    body = patch.message.split("\n", 1)[1] if "\n" in patch.message else ""
    kept = [line for line in body.strip().splitlines()
            if not re.match(r"^[A-Za-z-]+: ", line)]  # trailers: Upstream-Status, Signed-off-by
    text = "\n".join(kept).strip()
    if _NAN.search(patch.message + patch.diff):
        text = (text + "\n\n" if text else "") + _CANONICAL_NAN
        if context.nan_failures:
            text += ("\n\nThe riscv64 builds of " + context.version + " fail these tests so:\n"
                     + "\n".join(f"- `{test}`" for test in context.nan_failures))
    return text or _TODO.format(what="say what fails on riscv64, and why")


def _sections(patch: PatchFile, context: DraftContext, kind: Kind) -> dict[str, str]:
    files = "\n".join(f"- `{path}`" for path in patch.files)
    mirror_tree = _browse(context.mirror_web, context.mirror, f"riscv64/{context.version}",
                          context.forge_apis)
    pythons = ", ".join(context.pythons)
    tests = [path for path in patch.files if "test" in path.lower()]
    reproduce = (f"On riscv64 (hardware or qemu-user), run:\n\n```\npython -m pytest "
                 f"{' '.join(tests)}\n```" if tests else
                 _TODO.format(what="say how to reproduce the failure on riscv64"))
    return {
        "problem": _problem(patch, context),
        "reproduce": reproduce,
        "change": (f"{patch.subject}\n\nFiles:\n{files}" if kind == "mr" else
                   f"The riscv64 wheel builds carry this workaround: {patch.subject}\n\n"
                   f"Files:\n{files}"),
        "testing": (f"Carried in the riscv64 wheel builders' mirror for {context.package} "
                    f"{context.version}; wheels are built and tested with cibuildwheel on "
                    f"riscv64 for Python {pythons}.\n"
                    + _TODO.format(what="add the test run, and hardware or emulation used")),
        "environment": (f"riscv64 (rv64gc), manylinux riscv64 wheels, Python {pythons}.\n"
                        + _TODO.format(what="add the compiler and OS versions")),
        "links": (f"- Mirror branch: {mirror_tree}\n- Patch: `{context.patch_path}`"),
    }


def _browse(web: str | None, git_url: str | None, branch: str,
            apis: Mapping[str, str]) -> str:
    """A link to the mirror's branch: its web page (Package.mirror_web) where known."""
    if web and (page := tree_url(web, branch, apis=apis)):
        return page
    return f"{git_url} (branch {branch})" if git_url else "(no mirror: the patch file below)"


_DEFAULT_MR = ("What fails on riscv64", "problem"), ("What this change does", "change"), (
    "How it was tested", "testing"), ("Links", "links")
_DEFAULT_ISSUE = ("What fails on riscv64", "problem"), ("Workaround carried downstream",
                                                         "change"), (
    "Environment", "environment"), ("Links", "links")
# Template headings and form labels, matched by keyword to the sections we can write.
_KEYWORDS = (("reproduce", ("reproduce", "steps", "example")),
             ("problem", ("why", "motivation", "problem", "describe", "issue", "bug",
                          "what happened", "summary")),
             ("testing", ("test", "verify")),
             ("environment", ("environment", "version", "runtime", "platform", "system")),
             ("change", ("description", "change", "what does", "proposed", "solution")),
             ("links", ("link", "reference", "related")))


def _section_for(label: str) -> str | None:
    lowered = label.lower()
    return next((key for key, words in _KEYWORDS if any(w in lowered for w in words)), None)


def _fill_template(template: str, sections: dict[str, str]) -> str:
    """Fill a markdown PR template: each heading keeps its text and gets our section."""
    out, used = [], set()
    for line in template.splitlines():
        out.append(line)
        heading = re.match(r"^#{1,4}\s+(.*)", line)
        key = _section_for(heading.group(1)) if heading else None
        if key and key not in used:
            used.add(key)
            out += ["", sections[key], ""]
    if "links" not in used:
        out += ["", "## Links", "", sections["links"]]
    return "\n".join(out)


def _fill_form(form: dict[str, Any], sections: dict[str, str]) -> str:
    """An issue form's fields, as the markdown GitHub renders from a filled form."""
    out, used = [], set()
    for item in form.get("body", []) if isinstance(form.get("body"), list) else []:
        attributes = item.get("attributes", {}) if isinstance(item, dict) else {}
        label = str(attributes.get("label", "")).strip()
        if not label or item.get("type") == "markdown":
            continue
        key = _section_for(label)
        value = sections[key] if key else _TODO.format(what=f"fill in \"{label}\"")
        used.add(key)
        out += [f"### {label}", "", value, ""]
    if "change" not in used:  # what the riscv64 builds carry meanwhile
        out += ["### Workaround carried downstream", "", sections["change"], ""]
    out += ["### Links", "", sections["links"]]
    return "\n".join(out)


def draft_for(patch: PatchFile, context: DraftContext, conventions: Conventions) -> Draft:
    kind, why = draft_kind(patch)
    sections = _sections(patch, context, kind)
    labels: tuple[str, ...] = ()
    title = draft_title(patch, conventions)
    form = conventions.issue_form
    if kind == "issue" and form is not None:
        body = _fill_form(form, sections)
        raw_labels = form.get("labels", [])
        labels = tuple(str(x) for x in (raw_labels if isinstance(raw_labels, list) else
                                         [raw_labels]))
        # The form's own prefix ("BUG: <write a title>") replaces a commit prefix.
        form_prefix = str(form.get("title", "") or "").split("<", 1)[0].strip()
        if form_prefix:
            title = f"{form_prefix} {_PREFIX.sub('', title)}"
    elif kind == "mr" and conventions.pr_template:
        body = _fill_template(conventions.pr_template, sections)
    else:
        pairs = _DEFAULT_MR if kind == "mr" else _DEFAULT_ISSUE
        body = "\n\n".join(f"## {heading}\n\n{sections[key]}" for heading, key in pairs)
    forge, project = forge_of(context.upstream, context.forge_apis)
    front = DraftFront(
        package=context.package, upstream=context.upstream, forge=forge,
        host=urlsplit(context.upstream).hostname if forge != "unknown" else None,
        project=project, target_branch=context.target_branch, kind=kind, title=title,
        labels=labels, patches=(context.patch_path,),
        mirror_branch=f"riscv64/{context.version}", why=why,
        template=(conventions.issue_form_path if kind == "issue" and form is not None
                  else conventions.pr_template_path if kind == "mr" else None))
    return Draft(patch=patch, kind=kind, why=why, title=title, labels=labels, front=front,
                 body=body)


DraftStatus = Literal["written", "unchanged", "kept", "would-write"]  # the last: a dry run


@dataclass(frozen=True, kw_only=True)
class DraftOptions:
    workdir: Path
    patch: str | None = None  # one patch's file name; default: every candidate
    out: Path | None = None  # default: <workdir>/drafts/<package>/
    force: bool = False  # overwrite drafts a maintainer may have edited
    dry_run: bool = False  # each draft made and said, none written


@dataclass(frozen=True, kw_only=True)
class WrittenDraft:
    draft: Draft
    path: Path
    status: DraftStatus


def write_drafts(config: Config, package: Package, options: DraftOptions,
                 runner: GitRunner) -> list[WrittenDraft]:
    """Write a draft for each candidate patch of the package's current queue."""
    currents = currents_of(config)  # the current version, worked out once
    version = checked_version(None, package, config, currents=currents)
    # A queue with nothing left to carry (or a package without patches) drafts nothing.
    queue = checked_queue(config, package, version, empty=True, currents=currents)
    candidates = _candidates(queue.patches, options.patch)
    cache = open_cache(options.workdir, package, package_runner(runner, package))
    tag = release_tag(cache, package, version)[0]
    conventions = upstream_conventions(cache, f"refs/tags/{tag}")
    out = options.out or options.workdir / "drafts" / package.name
    context = DraftContext(
        package=package.name, version=version, upstream=package.upstream,
        mirror=package.mirror, mirror_web=package.mirror_web,
        target_branch=_target_branch(cache, package),
        patch_path="", pythons=config.python_versions,
        nan_failures=_nan_failures(options.workdir, package, version),
        forge_apis=config.forge_apis)
    written = []
    for patch in candidates:
        relative = _relative(patch.path, config.path.parent)
        draft = draft_for(patch, replace(context, patch_path=relative), conventions)
        written.append(_write(draft, out / f"{patch.path.stem}.md", force=options.force,
                              dry_run=options.dry_run))
    return written


def _nan_failures(workdir: Path, package: Package, version: str) -> tuple[str, ...]:
    """The failing tests of the release's kept build results that are canonical NaN."""
    from mirrorctl.grade.builds import classify_failure, failure_rules, kept_results

    results = kept_results(workdir, package.name, version)
    rules = failure_rules(package.failure_rules)
    return tuple(f"{case.name} ({build.python})" for build in (results.builds if results else ())
                 for case in build.cases
                 if case.failed and classify_failure(case.name, case.message, rules) == "nan")


def _candidates(patches: Sequence[PatchFile], name: str | None) -> list[PatchFile]:
    if name is None:
        return [p for p in patches if p.status.kind in CANDIDATE_STATUSES]
    chosen = [p for p in patches if p.name == name or p.path.stem == name]
    if not chosen:
        raise UsageError(f"no patch {name!r} in the queue; the patches are: "
                         + ", ".join(p.name for p in patches))
    patch = chosen[0]
    if patch.status.kind not in CANDIDATE_STATUSES:
        raise UsageError(f"{patch.name} is 'Upstream-Status: {patch.status}': only Pending "
                         "and To upstream patches are drafted")
    return [patch]


def _target_branch(cache: Repository, package: Package) -> str:
    heads = cache.refs("refs/heads")
    literal = [b for b in package.branches if not any(c in b for c in "*?[")]
    return next((b for b in literal if f"refs/heads/{b}" in heads), literal[0] if literal
                else "main")


def _relative(path: Path, base: Path) -> str:
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)


def _write(draft: Draft, path: Path, *, force: bool, dry_run: bool = False) -> WrittenDraft:
    text = draft.text
    if path.exists():
        if _same(path.read_text(encoding="utf-8", errors="replace"), text, draft, path):
            return WrittenDraft(draft=draft, path=path, status="unchanged")
        if not force:  # a maintainer's edits are never overwritten unasked
            return WrittenDraft(draft=draft, path=path, status="kept")
    if dry_run:
        return WrittenDraft(draft=draft, path=path, status="would-write")
    atomic_write_text(path, text)
    return WrittenDraft(draft=draft, path=path, status="written")


def _same(current: str, text: str, draft: Draft, path: Path) -> bool:
    """The draft on disk says what `draft` says: the same text, or the same fields and
    body as a draft written before the front matter said its format."""
    if current == text:
        return True
    try:
        front, body = DRAFT_FRONT.loads(current, path)
    except KeptFileError:
        return False
    return front == draft.front and body.rstrip() == draft.body.rstrip()


_STOPWORDS = frozenset({"riscv64", "riscv", "risc", "with", "from", "that", "this", "when",
                        "test", "tests", "skip", "the", "for", "and", "build", "fix", "add",
                        "use", "not", "bug", "tst", "bld", "enh", "maint", "doc"})


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9_]{3,}", text.lower()) if w not in _STOPWORDS}


def likely_duplicates(found: Sequence[tuple[str, str, str]], title: str,
                      files: Sequence[str]) -> list[tuple[str, str, str]]:
    """The open upstream items (url, title, body) that look like this request: they mention
    riscv64 and name one of the patched files, or share most of the title's words.
    Duplicates were the commonest way such requests went wrong."""
    ours = _words(_PREFIX.sub("", title))
    names = {path for path in files} | {path.rsplit("/", 1)[-1] for path in files
                                        if len(path.rsplit("/", 1)[-1]) >= 6}
    matches = []
    for url, their_title, body in found:
        text = f"{their_title}\n{body}".lower()
        if "riscv" not in text and "risc-v" not in text:
            continue
        theirs = _words(their_title)
        overlap = len(ours & theirs) / len(ours) if ours else 0.0
        if overlap >= 0.5 or any(name.lower() in text for name in names):
            matches.append((url, their_title, body))
    return matches
