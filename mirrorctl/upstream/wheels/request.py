"""The request that asks upstream to build riscv64 wheels, written for a person to read
and submit: the change as a git format-patch file, made on upstream's default branch in
the cache (no checkout), and the request's text in upstream's conventions (its commit
prefixes, its pull request template), short, with the evidence: the builders' registry
has this version's riscv64 wheels, their tests passed or which failed, the builds
cibuildwheel lists. Where the change cannot be written safely, an issue draft with the
facts instead of a guessed patch. Nothing is sent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from email.utils import parseaddr
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from mirrorctl.core.config import Config, Package
from mirrorctl.core.files import atomic_write_text
from mirrorctl.core.git import GitRunner
from mirrorctl.core.repository import Repository
from mirrorctl.grade.builds import kept_results
from mirrorctl.queue.replay import ScratchIndex
from mirrorctl.sync.cache import cache_dir, package_runner
from mirrorctl.upstream.drafts import Conventions, upstream_conventions
from mirrorctl.upstream.front import DRAFT_FRONT, DraftFront
from mirrorctl.upstream.wheels.ci import ci_paths
from mirrorctl.upstream.wheels.draft import draft_change
from mirrorctl.upstream.wheels.plan import CannotDraft, WheelChange, WheelOptions
from mirrorctl.upstream.wheels.road import DRAFTED, DraftWritten, Road

__all__ = ["WheelDraft", "WheelDraftOptions", "draft_roads", "write_wheel_draft"]

Status = Literal["written", "unchanged", "kept", "would-write"]  # the last: a dry run
_IDENTITY = "riscv64 wheel builders <riscv64-wheels@invalid>"


@dataclass(frozen=True, kw_only=True)
class WheelDraftOptions:
    workdir: Path
    out: Path | None = None  # a folder a package in it; default <workdir>/drafts/
    force: bool = False  # replace drafts edited since they were written
    wheels: WheelOptions = field(default_factory=WheelOptions)
    dry_run: bool = False  # each draft made and said, none written


@dataclass(frozen=True, kw_only=True)
class WheelDraft:
    package: str
    kind: Literal["pr", "issue"]
    title: str
    body: Path  # the request's text (markdown, with front matter)
    patch: Path | None  # the change, for a pull request
    status: Status
    why: str  # what the change does, or why an issue and not a patch
    change: WheelChange | None = None


def draft_roads(config: Config, roads: Sequence[Road], runner: GitRunner,
                options: WheelDraftOptions) -> list[Road]:
    """The roads, each whose state calls for a request with its drafts written."""
    done = []
    for road in roads:
        if road.state not in DRAFTED or road.ci is None:
            done.append(road)
            continue
        package = config.packages[road.name]
        wheels = package.upstream_wheels
        written = write_wheel_draft(config, package, road, runner, replace(
            options, wheels=replace(options.wheels, runner=wheels.label,
                                    native=wheels.runner == "native")))
        change = written.change
        done.append(replace(road, draft=DraftWritten(
            kind=written.kind, title=written.title, body=written.body, patch=written.patch,
            status=written.status, changes=change.changes if change else (written.why,),
            checks=change.checks if change else ()),
            next=_next_after(road, written.body)))
    return done


def _next_after(road: Road, body: Path) -> str:
    """What a person does with the drafts: read and edit them, then submit; after a
    request upstream declined or undid, read why first, and say --force."""
    if road.state in ("declined", "reverted"):
        before = next((a.url for a in road.requests if a.kind == "pr"), None)
        why = f"read why upstream said no ({before}), " if before else "read why, "
        return f"{why}edit {body}, then: mirrorctl upstream submit {body} --force"
    return f"read and edit {body}, then: mirrorctl upstream submit {body}"


def write_wheel_draft(config: Config, package: Package, road: Road, runner: GitRunner,
                      options: WheelDraftOptions) -> WheelDraft:
    """The draft of the request `road` calls for (its state draft, unknown-shape,
    declined or reverted)."""
    found = road.ci
    assert found is not None, "a road without its CI is decided before a draft"
    cache = Repository(cache_dir(options.workdir, package), package_runner(runner, package))
    files = cache.files_at(found.commit, ci_paths())
    conventions = upstream_conventions(cache, found.commit)
    folder = (options.out or options.workdir / "drafts") / package.name
    try:
        change = draft_change(files, found.ci, options.wheels)
    except CannotDraft as exc:
        return _issue(config, package, road, folder, str(exc), options)
    title = _title(conventions, change)
    body = _body(config, package, road, change, conventions, options)
    commit = _commit(cache, found.commit, change, title, body, config)
    patch_text = cache.git("format-patch", "--stdout", "-1", "--no-signature", commit).stdout
    patch_path = folder / f"0001-{_slug(title)}.patch"
    front = _front(package, road, "pr", title, patch_path.name)
    body_path = folder / "riscv64-wheels.md"
    statuses = [_write(patch_path, patch_text, options.force, options.dry_run),
                _write(body_path, _markdown(front, body), options.force, options.dry_run)]
    status: Status = next((s for s in ("kept", "would-write", "written") if s in statuses),
                          "unchanged")
    return WheelDraft(package=package.name, kind="pr", title=title, body=body_path,
                      patch=patch_path, status=status, why="; ".join(change.changes),
                      change=change)


SUBJECT_MAX = 72  # a commit subject git shows whole


def wheel_title(conventions: Conventions, *, native: bool) -> str:
    """The commit subject, as the project writes its own: a conventional-commit type
    where most of its subjects have one (`ci`, or the type it gives its CI and build
    changes), or where some do and its CI changes are typed; an upper-case prefix where
    those are its way (BLD:); none where almost none have one. At most 72 characters."""
    subject = "add riscv64 wheels" if not native else \
        "build riscv64 wheels on native riscv64 runners"
    typed_ci = next((t for t in ("ci", "build") if t in conventions.types), None)
    if conventions.typed >= 0.5 or (typed_ci and conventions.typed >= 0.1):
        title = f"{typed_ci or 'ci'}: {subject}"
    elif conventions.prefixes:
        prefix = next((p for p in conventions.prefixes if p.lower() in ("ci", "build", "bld")),
                      conventions.prefixes[0])
        title = f"{prefix}: {subject}"
    else:
        title = subject[0].upper() + subject[1:]
    return title if len(title) <= SUBJECT_MAX else title[:SUBJECT_MAX - 3].rstrip() + "..."


def _title(conventions: Conventions, change: WheelChange) -> str:
    return wheel_title(conventions, native=change.native)


def _evidence(config: Config, package: Package, road: Road, workdir: Path) -> list[str]:
    lines = []
    version = package.version
    if config.registry_url and version and _registry_has(config, package.pypi, version):
        link = f"{config.registry_url.rstrip('/')}/{canonicalize_name(package.pypi)}/"
        lines.append(f"The riscv64 wheel builders' registry has {package.pypi} {version}'s "
                     f"riscv64 wheels: {link}")
    results = kept_results(workdir, package.name, version)
    if results is not None:
        failed = sorted({c.name for b in results.builds for c in b.cases if c.failed})
        built = [b.python for b in results.builds if b.built]
        tested = [b for b in results.builds if b.tested]
        if tested and not failed:
            lines.append(f"Their riscv64 builds of {version} passed the test suite "
                         f"(Python {', '.join(built)}).")
        elif failed:
            lines.append(f"Their riscv64 builds of {version} fail {len(failed)} test(s): "
                         + ", ".join(f"`{t}`" for t in failed[:5]))
    return lines


def _registry_has(config: Config, project: str, version: str) -> bool:
    """Whether the builders' registry holds a riscv64 wheel of this version: said only
    when it does (a registry that cannot be read says nothing)."""
    from mirrorctl.grade.registry import RegistryClient, RegistryError, built_for

    assert config.registry_url is not None
    try:
        files = RegistryClient(config.registry_url, retries=config.retries).files(project)
    except RegistryError:
        return False
    for name in files:
        try:
            _, found, _, tags = parse_wheel_filename(name)
        except (InvalidWheelFilename, InvalidVersion):
            continue
        if found == Version(version) and any(
                built_for(tag, config.registry_platforms, config.python_versions)
                for tag in tags):
            return True
    return False


def _body(config: Config, package: Package, road: Road, change: WheelChange,
          conventions: Conventions, options: WheelDraftOptions) -> str:
    others = change.peers
    how = (f"on a native riscv64 runner (`{options.wheels.runner}`, the RISE RISC-V "
           "runners, free for open-source projects)" if change.native else
           "under QEMU, integrated in the same way as the other emulated architectures"
           f" ({', '.join(others)})" if others else
           "under QEMU on the x86_64 runner, set up for the riscv64 jobs alone")
    text = [f"This adds riscv64 Linux wheels to the wheel builds, {how}.", "",
            *[f"- {c}" for c in change.changes], ""]
    if change.native and not options.wheels.native:
        text += ["The workflow lists its architectures by their runners alone, so riscv64 "
                 "gets a runner of its own rather than a QEMU job merged into another.", ""]
    if change.native:
        text += ["The riscv64 jobs run on the RISE RISC-V runners, which come from the RISE "
                 "GitHub App: the project installs the app for the jobs to be picked up; "
                 "until then they wait in the queue.", ""]
    builds = ([f"{change.proof} lists {len(change.identifiers)} riscv64 builds for the "
               f"changed jobs ({', '.join(change.identifiers[:3])}"
               + (f" and {len(change.identifiers) - 3} more" if len(change.identifiers) > 3
                  else "") + ")"] if change.identifiers else
              [f"Not proved: {change.proof}"] if change.proof.startswith("not checked")
              else [])
    evidence = _evidence(config, package, road, options.workdir) + builds
    if evidence:
        text += ["Evidence:", "", *[f"- {e}" for e in evidence], ""]
    issue = next((a for a in road.requests if a.kind == "issue" and a.state == "open"), None)
    if issue is not None:
        text += [f"Closes #{issue.number}", ""]
    body = "\n".join(text).rstrip() + "\n"
    template = conventions.pr_template
    if template:
        return _into_template(template, body)
    return body


def _into_template(template: str, body: str) -> str:
    """The project's pull request template, its first section holding the text."""
    lines = template.rstrip().splitlines()
    heading = next((i for i, line in enumerate(lines) if re.match(r"^#{1,4}\s", line)), None)
    if heading is None:
        return body + "\n" + template
    return "\n".join([*lines[:heading + 1], "", body.rstrip(), "", *lines[heading + 1:]]) + "\n"


def _commit(cache: Repository, parent: str, change: WheelChange, title: str, body: str,
            config: Config) -> str:
    identity = config.pull_requests.identity if config.pull_requests else _IDENTITY
    name, email = parseaddr(identity)
    # Dated as the commit it goes onto: the same change drafts the same patch, every run.
    date = cache.git("show", "-s", "--format=%cI", parent).stdout.strip()
    env = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": name,
           "GIT_COMMITTER_EMAIL": email, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    with ScratchIndex.create(cache) as index:
        index.read(parent)
        index.put({path: cache.write_blob(text) for path, text in change.files.items()})
        tree = index.write()
    message = f"{title}\n\n" + "\n".join(f"- {c}" for c in change.changes) + "\n"
    return cache.git("commit-tree", tree, "-p", parent, "-F", "-", input=message,
                     env=env).stdout.strip()


def _issue(config: Config, package: Package, road: Road, folder: Path, why: str,
           options: WheelDraftOptions) -> WheelDraft:
    found = road.ci
    assert found is not None
    jobs = found.ci.linux_jobs
    title = "Build riscv64 (linux_riscv64) wheels for PyPI releases"
    facts = [f"- PyPI's latest release ({road.pypi_latest or 'none'}) has no riscv64 wheel.",
             *[f"- {job.workflow}, job {job.job} ({job.tool}): builds "
               f"{', '.join(sorted(job.archs))} wheels for Linux"
               for job in jobs if not job.unresolved],
             f"- {why[0].upper() + why[1:]}: mirrorctl proposes no patch for it."]
    evidence = _evidence(config, package, road, options.workdir)
    body = "\n".join([
        "PyPI and cibuildwheel (3.1 and later) take riscv64 wheels, and native riscv64 "
        "runners are free for open-source projects on GitHub (the RISE RISC-V runners). "
        "Would you build riscv64 wheels for your releases?", "", *facts, "",
        *([*[f"- {e}" for e in evidence], ""] if evidence else []),
        "The usual change adds riscv64 where the other Linux architectures are listed "
        "(an arch list or include entry in the wheel matrix, CIBW_ARCHS_LINUX, or "
        "[tool.cibuildwheel.linux] archs), with QEMU set up for it, or a job on a riscv64 "
        "runner.", ""])
    body_path = folder / "riscv64-wheels.md"
    front = _front(package, road, "issue", title, None)
    status = _write(body_path, _markdown(front, body), options.force, options.dry_run)
    return WheelDraft(package=package.name, kind="issue", title=title, body=body_path,
                      patch=None, status=status, why=why)


def _front(package: Package, road: Road, kind: str, title: str,
           patch: str | None) -> DraftFront:
    web = package.upstream_web or ""
    parts = urlsplit(web)
    return DraftFront(package=package.name, upstream=package.upstream,
                      upstream_web=web or None, host=parts.hostname,
                      project=parts.path.strip("/") or None,
                      target_branch=road.default_branch, kind=kind, title=title,
                      request="riscv64-wheels", patches=(patch,) if patch else (),
                      refers_to=tuple(a.url for a in road.requests if a.kind == "issue"
                                      and a.state == "open"))


def _markdown(front: DraftFront, body: str) -> str:
    return DRAFT_FRONT.text(front, body)


def _slug(title: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", title).strip("-")[:52]


def _write(path: Path, text: str, force: bool, dry_run: bool = False) -> Status:
    if path.exists():
        current = path.read_text(encoding="utf-8", errors="replace")
        if current == text:
            return "unchanged"
        if not force and _edited_since(path):
            return "kept"
    if dry_run:
        return "would-write"
    atomic_write_text(path, text)
    _remember(path, text)
    return "written"


def _stamp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.written")


def _edited_since(path: Path) -> bool:
    """A draft a person edited since mirrorctl wrote it (the copy kept beside differs)."""
    stamp = _stamp_path(path)
    try:
        return stamp.read_text(encoding="utf-8") != path.read_text(encoding="utf-8")
    except OSError:
        return True  # no copy kept: treat it as a person's


def _remember(path: Path, text: str) -> None:
    atomic_write_text(_stamp_path(path), text)

