"""The structured sections of mirrors.yaml, each a frozen type and its parser:
`pull_requests:` (PullRequests), `notices:` (Notices), `forks:` (Fork),
`upstream_wheels:` (UpstreamWheels), `top_packages:` (TopPackages), and a package's
`failure_rules:`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from mirrorctl.core.needs import NEED_KINDS
from mirrorctl.core.parsers import (
    Invalid,
    did_you_mean,
    keyed,
    no_option,
    parse_bool,
    parse_http_url,
    parse_positive_int,
    string,
)
from mirrorctl.core.urls import embedded_credentials

__all__ = ["FAILURE_CLASSES", "Fork", "Notices", "PullRequests", "TopPackages", "UpstreamWheels",
           "parse_failure_rules", "parse_forks", "parse_notices", "parse_pull_requests",
           "parse_top_packages", "parse_upstream_wheels", "parse_version_files"]


@dataclass(frozen=True)
class TopPackages:
    """The top of a download ranking whose closures are stacks too (the builders' monthly
    check reads hugovk/top-pypi-packages: {"rows": [{"project": ..., ...}, ...]})."""

    count: int = 30
    url: str = ("https://raw.githubusercontent.com/hugovk/top-pypi-packages/main/"
                "top-pypi-packages.min.json")
    # Only projects whose newest release ships a platform wheel count, as in the
    # builders' check ("top 30 binary-wheel packages"); false: every project.
    binary: bool = True


def parse_top_packages(value: Any) -> TopPackages:
    if not isinstance(value, dict) or not set(value) <= {"count", "url", "binary"}:
        raise Invalid("must be {count: 30, url: <a top-pypi-packages JSON>, binary: true}")
    return TopPackages(count=parse_positive_int(value.get("count", TopPackages.count)),
                       url=parse_http_url(value.get("url", TopPackages.url)),
                       binary=parse_bool(value.get("binary", TopPackages.binary)))


@dataclass(frozen=True, kw_only=True)
class UpstreamWheels:
    """How a package's upstream would build riscv64 wheels, in a drafted change."""

    # emulated: as upstream builds its other architectures (QEMU where they are emulated);
    # native: on a riscv64 runner, where the emulated build would be too long.
    runner: Literal["emulated", "native"] = "emulated"
    label: str = "ubuntu-24.04-riscv"  # the riscv64 runner's label (the builders' own)


def parse_upstream_wheels(value: Any) -> UpstreamWheels:
    if not isinstance(value, dict) or not set(value) <= {"runner", "label"}:
        raise Invalid("must be {runner: emulated|native, label: <riscv64 runner label>}")
    runner = value.get("runner", UpstreamWheels.runner)
    if runner not in ("emulated", "native"):
        raise Invalid(f"runner {runner!r} must be emulated or native")
    return UpstreamWheels(runner=runner, label=no_option(string(value.get(
        "label", UpstreamWheels.label))))


@dataclass(frozen=True)
class Fork:
    """Where the builders' fork of an upstream on one forge host lives."""

    namespace: str  # user, org or group: the fork is <namespace>/<upstream repo name>
    git_url: str | None = None  # a template with {namespace} and {repo}; default https

    def url(self, host: str, repo: str) -> str:
        template = self.git_url or "https://{host}/{namespace}/{repo}.git"
        return template.format(host=host, namespace=self.namespace, repo=repo)


def parse_forks(value: Any) -> dict[str, Fork]:
    if not isinstance(value, dict):
        raise Invalid("must map a forge host to {namespace: ..., git_url: ...}")
    forks = {}
    for host, spec in value.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("namespace"), str) or \
                set(spec) - {"namespace", "git_url"}:
            raise Invalid(f"{host}: must be {{namespace: owner, git_url: optional template}}")
        git_url = spec.get("git_url")
        if git_url is not None:
            no_option(string(git_url))
            if embedded_credentials(git_url):
                raise Invalid(f"{host}: git_url carries credentials")
        forks[str(host).lower()] = Fork(namespace=no_option(spec["namespace"]),
                                        git_url=git_url)
    return forks


@dataclass(frozen=True)
class PullRequests:
    """Where an upgrade is delivered as a pull request: the repository that holds the
    queues (the builders' python-wheels), as they would open it by hand."""

    repository: str  # its web page: https://github.com/owner/repo or a GitLab project's
    remote: str  # the git URL its branches are pushed to (default: repository + .git)
    base: str = "main"
    # The files whose version the builds read, {name} the package: () when not said (the
    # package's workflows are found), None: no bump.
    version_file: tuple[str, ...] | None = ()
    branch: str = "mirrorctl/upgrade-{name}-{version}"
    on_conflict: Literal["skip", "draft"] = "skip"  # a draft says what conflicts
    # An open request a newer release replaces: closed with a comment naming the newer
    # (unless a person pushed to it), or only commented.
    stale: Literal["comment", "close"] = "close"
    # Their bot's request of the same upgrade, completed instead of opening a second one
    # (None: not looked for), and the e-mail its commits carry.
    bot_branch: str | None = "github-actions/upgrade-{name}-{version}"
    bot: str = "41898282+github-actions[bot]@users.noreply.github.com"
    # Who mirrorctl's commits are by and signed off by ("Name <email>").
    identity: str = "mirrorctl <mirrorctl@invalid>"
    trigger: bool = True  # `Trigger: <pkg>:<version>` lines, which dispatch their builds
    # The docs entry (docs/packages/<pkg>.yaml): written by the repository's publish step
    # when it has one (auto), always in the request, or always left to the publish step.
    docs: Literal["auto", "request", "publish"] = "auto"
    max_versions: int = 3  # releases one request builds at most (their bot's cap)
    # Dispatch the builds on the request's branch: a request opened with Actions'
    # GITHUB_TOKEN starts no workflow, so their pr-trigger never runs.
    dispatch: bool = False
    # After the merge: dispatch the build workflow from `base` with the version, follow
    # that run and the registry until the wheels are published.
    publish: bool = True
    # Retiring a package whose upstream ships riscv64 (or only pure-Python) wheels.
    retire_branch: str = "mirrorctl/deprecate-{name}"
    bot_retire_branch: str | None = "github-actions/deprecate-{name}"


_PULL_REQUEST_KEYS = ("repository", "remote", "base", "version_file", "branch", "on_conflict",
                      "stale", "bot_branch", "bot", "identity", "trigger", "docs",
                      "max_versions", "dispatch", "publish", "retire_branch",
                      "bot_retire_branch")


def parse_version_files(value: Any) -> tuple[str, ...] | Literal[False]:
    """One file or a list of them, each a template of {name}; null: False (no bump)."""
    if value is None:
        return False
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise Invalid("version_file must be a file, a list of files, or null (no bump)")
    for item in items:
        try:
            string(item).format(name="x")
        except (KeyError, IndexError, ValueError) as exc:
            raise Invalid(f"version_file {item!r} may use only {{name}} ({exc})") from None
    return tuple(items)


def parse_pull_requests(value: Any) -> PullRequests:
    value = keyed(value, _PULL_REQUEST_KEYS, "repository",
                   "the web page of the repository that holds the queues")
    repository = parse_http_url(value["repository"]).rstrip("/").removesuffix(".git")
    remote = no_option(string(value.get("remote", repository + ".git")))
    if embedded_credentials(remote):
        raise Invalid("remote carries credentials; let git's credential helper or "
                      "MIRRORCTL_SITE_TOKEN provide them")
    branch = _template(string(value.get("branch", PullRequests.branch)), "branch")
    bot_branch = value.get("bot_branch", PullRequests.bot_branch)
    if bot_branch is not None:
        bot_branch = _template(string(bot_branch), "bot_branch")
        if bot_branch.format(name="x", version="") == branch.format(name="x", version=""):
            raise Invalid("bot_branch must differ from branch: one is their bot's, one "
                          "mirrorctl's")
    identity = string(value.get("identity", PullRequests.identity))
    from email.utils import parseaddr  # email costs ~9 ms of every start: only here

    name, email = parseaddr(identity)
    if not name or "@" not in email or f"{name} <{email}>" != identity.strip():
        raise Invalid(f"identity {identity!r} must read \"Name <email>\"")
    choices = {"on_conflict": ("skip", "draft"), "stale": ("close", "comment"),
               "docs": ("auto", "request", "publish")}
    for key, allowed in choices.items():
        if value.get(key, allowed[0]) not in allowed:
            raise Invalid(f"{key} must be one of {', '.join(allowed)}")
    version_file = parse_version_files(value["version_file"]) if "version_file" in value else ()
    retire_branch = _retire_template(value.get("retire_branch", PullRequests.retire_branch))
    bot_retire = value.get("bot_retire_branch", PullRequests.bot_retire_branch)
    return PullRequests(repository=repository, remote=remote,
                        base=no_option(string(value.get("base", "main"))),
                        version_file=None if version_file is False else version_file,
                        branch=branch, on_conflict=value.get("on_conflict", "skip"),
                        stale=value.get("stale", "close"), bot_branch=bot_branch,
                        bot=string(value.get("bot", PullRequests.bot)),
                        identity=identity.strip(),
                        trigger=parse_bool(value.get("trigger", True)),
                        docs=value.get("docs", "auto"),
                        max_versions=parse_positive_int(value.get("max_versions", 3)),
                        dispatch=parse_bool(value.get("dispatch", False)),
                        publish=parse_bool(value.get("publish", True)),
                        retire_branch=retire_branch,
                        bot_retire_branch=None if bot_retire is None
                        else _retire_template(bot_retire))


def _retire_template(value: Any) -> str:
    """A retirement branch's template: {name} only."""
    branch = string(value)
    try:
        branch.format(name="x")
    except (KeyError, IndexError, ValueError) as exc:
        raise Invalid(f"{branch!r} may use only {{name}} ({exc})") from None
    return no_option(branch)


def _template(branch: str, key: str) -> str:
    """A branch name template of {name} and {version}."""
    try:
        branch.format(name="x", version="1.0")
    except (KeyError, IndexError, ValueError) as exc:
        raise Invalid(f"{key} {branch!r} may use only {{name}} and {{version}} ({exc})") \
            from None
    return no_option(branch)


@dataclass(frozen=True)
class Notices:
    """Where what needs a person becomes tracking issues: one issue a package and kind
    of need, found again by its marker, closed when it clears (night.notices)."""

    tracker: str  # the web page of a GitHub repository or GitLab project
    label: str = "mirrorctl-notice"  # every notice carries it; it is how they are listed
    limit: int = 20  # issues touched (opened, reopened, updated, closed) a run at most
    kinds: tuple[str, ...] | None = None  # the kinds of need that get one; None: all


_NOTICE_KEYS = ("tracker", "label", "limit", "kinds")


def parse_notices(value: Any) -> Notices:
    value = keyed(value, _NOTICE_KEYS, "tracker", "the web page of the repository or "
                   "project whose issues track what needs a person")
    label = string(value.get("label", Notices.label))
    if "," in label:
        raise Invalid(f"label {label!r}: one label, without a comma")
    kinds = value.get("kinds")
    if kinds is not None and (not isinstance(kinds, list) or not kinds
                              or not all(isinstance(k, str) and k for k in kinds)):
        raise Invalid("kinds must be a list of kinds of need, e.g. [conflict, sync-failed]")
    for kind in kinds or ():
        if kind not in NEED_KINDS:
            raise Invalid(f"kinds: {kind!r} is no kind of need{did_you_mean(kind, NEED_KINDS)}"
                          f" (one of {', '.join(NEED_KINDS)})")
    limit = value.get("limit", Notices.limit)
    try:
        limit = parse_positive_int(limit)
    except Invalid as exc:
        raise Invalid(f"limit {exc}") from None
    return Notices(tracker=parse_http_url(value["tracker"]).removesuffix(".git"), label=label,
                   limit=limit, kinds=None if kinds is None else tuple(kinds))


# The classes of a test failure (grade.builds), and the key failure_rules: checks.
FAILURE_CLASSES = ("nan", "timing", "missing-library")


def parse_failure_rules(value: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict):
        raise Invalid("must map a failure class (nan, timing, missing-library) to a list of "
                      "regular expressions")
    rules = {}
    for kind, patterns in value.items():
        if kind not in FAILURE_CLASSES:
            raise Invalid(f"{kind!r} is no failure class"
                          f"{did_you_mean(str(kind), FAILURE_CLASSES)}")
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            raise Invalid(f"{kind}: must be a list of regular expressions")
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise Invalid(f"{kind}: {pattern!r} is no regular expression ({exc})") from None
        rules[str(kind)] = tuple(patterns)
    return rules
