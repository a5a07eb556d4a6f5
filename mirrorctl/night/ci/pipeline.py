"""`mirrorctl ci generate`: the nightly as a GitLab CI pipeline that spreads over runners.

One job a package (a `parallel: matrix` over PACKAGE) runs `mirrorctl nightly PACKAGE
--format json` with that package's cache kept in a GitLab cache (beyond --max-jobs
packages, one job a batch of packages: BATCH and PACKAGES), and leaves its JSON
result and any new patch queue as artifacts; then one report job merges the results
(`mirrorctl report --merge`), appends the run to the history (kept in a GitLab cache of
its own) and keeps the report as markdown, JSON and HTML.

A package that needs a person exits 1, which the pipeline allows (the job shows a
warning); anything worse fails that job alone, and the report still runs and names the
package whose result is missing. The pipeline is built as data and written with PyYAML.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mirrorctl.core.config import Config, Package
from mirrorctl.core.errors import UsageError

__all__ = ["DISTRIBUTION", "PipelineOptions", "generate_pipeline", "pinned_install",
           "report_command",
           "repository_path", "spread"]

MATRIX_LIMIT = 200  # GitLab runs at most 200 jobs from one parallel:matrix
# mirrorctl's distribution name: "mirrorctl" on PyPI is someone else's project, and a job
# that installed it would run a stranger's code with the mirror and forge tokens.
DISTRIBUTION = "riscv64-mirrorctl"
RESULTS = "results"


@dataclass(frozen=True, kw_only=True)
class PipelineOptions:
    root: Path  # the repository's root, where .gitlab-ci.yml lives and the jobs start
    config: Path  # mirrors.yaml
    image: str | None
    install: str  # the shell command that puts mirrorctl on the runner's PATH
    push: bool = False
    workdir: str = ".mirrorctl"
    expire_in: str = "30 days"
    max_jobs: int = 100  # package jobs at most: beyond, packages go in batches
    notify: bool = False  # the report job files the notices (defaults.notices is set)


def report_command(options: PipelineOptions, results: str) -> str:
    """The report job's mirrorctl command: merge, record, write, and notify if asked."""
    return (f"mirrorctl report --merge {results} --record -o report.html -o report.md "
            "-o report.json" + (" --notify" if options.notify else ""))


def spread(packages: Sequence[Package], max_jobs: int) -> list[tuple[str, list[str]]]:
    """(batch, its packages): one job a package while they fit in `max_jobs`; beyond,
    `max_jobs` batches, each package placed by a stable hash of its cache's name, so
    that adding a package moves no other (a batch's CI cache stays its own) and wheels
    sharing a cache share a batch. Empty batches are left out."""
    if len(packages) <= max_jobs:
        return [(p.name, [p.name]) for p in packages]
    width = len(str(max_jobs - 1))
    placed: dict[int, list[str]] = {}
    for package in packages:
        placed.setdefault(zlib.crc32(package.cache.encode()) % max_jobs, []).append(
            package.name)
    return [(f"batch-{index:0{width}d}", names) for index, names in sorted(placed.items())]


def generate_pipeline(config: Config, packages: Sequence[Package],
                      options: PipelineOptions) -> str:
    if not packages:
        raise UsageError("no packages to put in the pipeline")
    if not 1 <= options.max_jobs <= MATRIX_LIMIT:
        raise UsageError(f"--max-jobs {options.max_jobs}: GitLab runs 1 to {MATRIX_LIMIT} "
                         "jobs from one parallel:matrix")
    batches = spread(packages, options.max_jobs)
    patchsets = repository_path(config.patchsets, options.root, "the patch queues")
    one_each = len(batches) == len(packages)
    # One job a package (PACKAGE), or batches of packages (BATCH and PACKAGES).
    names = '"$PACKAGE"' if one_each else "$PACKAGES"
    nightly = f"mirrorctl nightly {names} --format json" + (" --push" if options.push
                                                            else "")
    result = f'{RESULTS}/"$PACKAGE"' if one_each else f'{RESULTS}/"$BATCH"'
    matrix: list[dict[str, Any]] = [{"PACKAGE": [p.name for p in packages]}] if one_each \
        else [{"BATCH": batch, "PACKAGES": " ".join(members)} for batch, members in batches]
    default: dict[str, Any] = {"before_script": [options.install]}
    if options.image:
        default = {"image": options.image, **default}
    pipeline: dict[str, Any] = {
        "workflow": {"rules": [{"if": '$CI_PIPELINE_SOURCE == "schedule"'},
                               {"if": '$CI_PIPELINE_SOURCE == "web"'},
                               {"if": '$CI_PIPELINE_SOURCE == "api"'}]},
        "stages": ["packages", "report"],
        "variables": {"MIRRORCTL_CONFIG": repository_path(options.config, options.root,
                                                    "the configuration"),
                      "MIRRORCTL_WORKDIR": options.workdir,
                      "GIT_DEPTH": "1"},
        "default": default,
        "nightly": {
            "stage": "packages",
            "parallel": {"matrix": matrix},
            "cache": {"key": "mirrorctl-$PACKAGE" if one_each else "mirrorctl-$BATCH",
                      "paths": [f"{options.workdir}/cache/", f"{options.workdir}/state/"],
                      "when": "always"},
            "script": [
                f"mkdir -p {RESULTS}",
                # The result is kept only when whole: a crash leaves no half JSON behind.
                f"status=0; {nightly} > {result}.part || status=$?",
                f"if [ -s {result}.part ]; then mv {result}.part {result}.json; "
                f"else rm -f {result}.part; fi",
                'exit "$status"'],
            "allow_failure": {"exit_codes": [1]},  # 1: something needs a person
            "artifacts": {"when": "always", "expire_in": options.expire_in,
                          "paths": [f"{RESULTS}/", f"{patchsets}/",
                                    f"{options.workdir}/logs/"]},
        },
        "report": {
            "stage": "report",
            "needs": [{"job": "nightly", "artifacts": True}],
            "when": "always",
            "allow_failure": {"exit_codes": [1]},  # 1: something needs a person (it says what)
            "cache": {"key": "mirrorctl-history", "paths": [f"{options.workdir}/history/"],
                      "when": "always"},
            "script": [report_command(options, RESULTS)],
            "artifacts": {"when": "always", "expire_in": "1 year", "expose_as": "report",
                          "paths": ["report.html", "report.md", "report.json", f"{RESULTS}/"]},
        },
    }
    header = ("# The nightly mirror sync, rebases and upstreaming report, one job a package.\n"
              "# Generated by `mirrorctl ci generate`; generate it again when the packages "
              "change.\n# Runs on schedules, and by hand from the web or the API. The sync "
              "pushes to the\n# mirrors: set MIRRORCTL_MIRROR_TOKEN as a masked CI/CD "
              "variable" + (", and the forge\n# tokens for the riscv64 branches and merge "
                            "requests.\n" if options.push else ".\n")
              + ("# The report job files the notices (defaults.notices): set the forge "
                 "token of its tracker.\n" if options.notify else ""))
    return header + yaml.safe_dump(pipeline, sort_keys=False, width=1000)


def pinned_install(direct_url: Mapping[str, Any] | None, version: str) -> str | None:
    """The pip command that installs exactly this mirrorctl on a runner, from how it was
    installed here (PEP 610's direct_url.json; None: from an index): the source at its
    commit, a wheel or sdist by its hash, or this version from the index (PyPI's files
    never change). None when it cannot be pinned (a local folder or file)."""
    pip = "python3 -m pip install --quiet"
    if direct_url is None:
        return f'{pip} "{DISTRIBUTION}=={version}"'
    url = str(direct_url.get("url", ""))
    remote = url.startswith(("https://", "http://", "ssh://", "git+"))
    vcs = direct_url.get("vcs_info")
    if isinstance(vcs, dict) and vcs.get("vcs") == "git" and vcs.get("commit_id") and remote:
        source = url if url.startswith("git+") else f"git+{url}"
        return f'{pip} "{DISTRIBUTION} @ {source}@{vcs["commit_id"]}"'
    archive = direct_url.get("archive_info")
    if isinstance(archive, dict) and remote:
        hashes = archive.get("hashes") or {}
        if "sha256" in hashes:
            return f'{pip} "{DISTRIBUTION} @ {url}#sha256={hashes["sha256"]}"'
    return None


def repository_path(path: Path, root: Path, what: str) -> str:
    """`path` as the jobs see it: relative to the repository's root, and inside it."""
    relative = os.path.relpath(path.resolve(), root.resolve())
    if relative == ".." or relative.startswith(".." + os.sep):
        raise UsageError(f"{what} ({path}) lie outside {root}, where the pipeline file goes; "
                         "the CI jobs only see the repository that holds the pipeline")
    return relative
