"""Operations on a package's patch queue with git: apply it to its release tag in
the package's cache (and push the result), export a branch back into a queue.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from packaging.version import InvalidVersion, Version

from mirrorctl.config import Config, Package
from mirrorctl.errors import ConfigError, UsageError
from mirrorctl.git import GitRunner, LeasedUpdate, Repository
from mirrorctl.patches import PatchQueue, read_queue
from mirrorctl.replay import AppliedPatch, apply_queue
from mirrorctl.sync import cache_dir, package_runner

__all__ = ["ApplyOptions", "ApplyReport", "apply_package_queue", "open_cache", "release_tag"]

PushResult = Literal["not-pushed", "created", "updated", "unchanged", "refused", "rejected"]


@dataclass(frozen=True, kw_only=True)
class ApplyOptions:
    workdir: Path
    version: str | None = None
    push: bool = False
    force: bool = False


@dataclass(frozen=True, kw_only=True)
class ApplyReport:
    package: str
    version: str
    tag: str
    branch: str
    commit: str
    previous: str | None
    patches: tuple[AppliedPatch, ...]
    push: PushResult = "not-pushed"
    push_detail: str = ""

    @property
    def failed(self) -> bool:
        return self.push in ("refused", "rejected")


def open_cache(workdir: Path, package: Package, runner: GitRunner) -> Repository:
    path = cache_dir(workdir, package.name)
    if not (path / "HEAD").is_file():
        raise UsageError(f"no cache for {package.name} in {workdir}; run "
                         f"`mirrorctl sync {package.name}` first")
    return Repository(path, runner)


def release_tag(cache: Repository, package: Package, version: str) -> tuple[str, str]:
    """(tag name, commit) of `version`'s release in the cache."""
    tag = package.tag_format.tag_for(version)
    commit = cache.resolve(f"refs/tags/{tag}^{{commit}}")
    if commit is None:
        raise UsageError(f"{package.name}: tag {tag} (version {version}, tag_format "
                         f"{package.tag_format.template}) is not in the cache; run "
                         f"`mirrorctl sync {package.name}`, or check version and tag_format")
    return tag, commit


def _queue(config: Config, package: Package, version: str) -> PatchQueue:
    queue, problems = read_queue(config.patchsets, package.name, version)
    if problems:
        raise ConfigError(problems)
    if not queue.patches:
        raise UsageError(f"{queue.directory} holds no patches")
    return queue


def checked_version(version: str | None, package: Package, config: Config) -> str:
    """A version from the command line or mirrors.yaml; it becomes a path and a ref name."""
    version = version or package.version
    if version is None:
        raise UsageError(f"{package.name} has no version in {config.path}; pass --version")
    try:
        Version(version)
    except InvalidVersion:
        raise UsageError(f"--version {version!r} is not a PEP 440 version") from None
    return version


def apply_package_queue(config: Config, package: Package, options: ApplyOptions,
                        runner: GitRunner) -> ApplyReport:
    version = checked_version(options.version, package, config)
    queue = _queue(config, package, version)
    runner = package_runner(runner, package)
    cache = open_cache(options.workdir, package, runner)
    tag, base = release_tag(cache, package, version)
    applied = apply_queue(cache, base, queue.patches, base_name=tag)
    branch = f"refs/heads/riscv64/{version}"
    previous = cache.resolve(branch)
    head = applied[-1].commit
    if previous != head:
        cache.update_ref(branch, head, previous)
    report = ApplyReport(package=package.name, version=version, tag=tag, branch=branch,
                         commit=head, previous=previous, patches=tuple(applied))
    return _push(cache, package, report, force=options.force) if options.push else report


def _push(cache: Repository, package: Package, report: ApplyReport, *,
          force: bool) -> ApplyReport:
    current = cache.runner.ls_remote(package.mirror).get(report.branch)
    if current == report.commit:
        return _with_push(report, "unchanged", "the mirror already has this branch")
    if current is not None and not force:
        return _with_push(report, "refused",
                          f"the mirror's {report.branch} is at {current[:12]}, not this queue's "
                          f"result; pass --force to replace it (with a lease on {current[:12]})")
    [pushed] = cache.push(package.mirror, [LeasedUpdate(ref=report.branch, expected=current,
                                                        new=report.commit)])
    if pushed.status != "ok":
        return _with_push(report, "rejected", pushed.detail)
    return _with_push(report, "created" if current is None else "updated", pushed.detail)


def _with_push(report: ApplyReport, result: PushResult, detail: str) -> ApplyReport:
    return replace(report, push=result, push_detail=detail)

