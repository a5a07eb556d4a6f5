"""The keys of mirrors.yaml as data: for each, its parser, its default and what it means.

SETTINGS are the keys of `defaults:` (those marked per_package may be overridden per
package); PACKAGE_KEYS are a package's own. A parser returns the value or raises
Invalid with what is wrong; config.py locates it (file, line, key) and reports it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from packaging.version import InvalidVersion, Version

from mirrorctl.core.grades import LEVELS, default_levels
from mirrorctl.core.needs import NEED_KINDS
from mirrorctl.core.redact import Redactor
from mirrorctl.core.tagformat import TagFormat, TagFormatError
from mirrorctl.core.urls import KNOWN_PROTOCOLS, embedded_credentials

__all__ = ["PACKAGE_KEYS", "SETTINGS", "Fork", "Invalid", "Notices", "Setting",
           "TopPackages", "UpstreamWheels", "did_you_mean", "package_name"]


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class Invalid(ValueError):
    """Raised by a setting's parser; the message is shown after the key path."""


def _string(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"must be a non-empty string, not {value!r}")
    return value


def _no_option(value: str) -> str:
    if value.startswith("-"):
        raise Invalid(f"{value!r} starts with '-', which git would read as an option")
    return value


def _globs(value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise Invalid("must be a glob or a non-empty list of globs")
    return tuple(_no_option(_string(item)) for item in items)


def _ref_globs(value: Any) -> tuple[str, ...]:
    if value == []:
        return ()
    globs = _globs(value)
    for glob in globs:
        if not glob.startswith("refs/"):
            raise Invalid(f"{glob!r} must be a full ref glob, e.g. refs/heads/riscv64/*")
    return globs


def _protocols(value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise Invalid("must be a list of protocols, e.g. [https, ssh]")
    for item in items:
        if item not in KNOWN_PROTOCOLS:
            raise Invalid(f"{item!r} is not allowed; choose from {', '.join(KNOWN_PROTOCOLS)}")
    return tuple(items)


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise Invalid(f"must be a whole number of at least 1, not {value!r}")
    return value


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Invalid(f"must be a whole number of at least 0, not {value!r}")
    return value


def _rate(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise Invalid(f"must be a number above 0 (a minute), not {value!r}")
    return float(value)


def _seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise Invalid(f"must be a number of seconds above 0, not {value!r}")
    return float(value)


def _http_url(value: Any) -> str:
    text = _string(value).rstrip("/")
    if not text.startswith(("https://", "http://")) or embedded_credentials(text):
        raise Invalid(f"{Redactor()(text)!r} must be an http(s) URL without credentials")
    return text


def _platforms(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else None
    if not items or not all(isinstance(v, str) and re.fullmatch(r"[a-z0-9_]+_riscv64", v)
                            for v in items):
        raise Invalid("must be a list of riscv64 platform tags, e.g. [manylinux_2_39_riscv64]")
    return tuple(items)


def _python_versions(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else None
    if not items or not all(isinstance(v, str) and re.fullmatch(r"3\.\d+t?", v) for v in items):
        raise Invalid("must be a list of quoted Python versions, e.g. [\"3.13\", \"3.14t\"] "
                      "(t: free-threaded)")
    return tuple(items)


def _stacks(value: Any) -> tuple[str, ...]:
    """The roots of the stacks the builders serve: requirements (`vllm`,
    `haystack-ai[all]>=2`)."""
    from packaging.requirements import InvalidRequirement, Requirement

    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Invalid("must be a list of requirements, e.g. [vllm, \"haystack-ai[all]\"]")
    for item in value:
        try:
            Requirement(item)
        except InvalidRequirement as exc:
            raise Invalid(f"{item!r} is no requirement ({str(exc).splitlines()[0]})") from None
    return tuple(value)


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


def _top_packages(value: Any) -> TopPackages:
    if not isinstance(value, dict) or not set(value) <= {"count", "url", "binary"}:
        raise Invalid("must be {count: 30, url: <a top-pypi-packages JSON>, binary: true}")
    return TopPackages(count=_positive_int(value.get("count", TopPackages.count)),
                       url=_http_url(value.get("url", TopPackages.url)),
                       binary=_bool(value.get("binary", TopPackages.binary)))


def _grades(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise Invalid("must map reason codes to easy, medium or hard")
    codes = list(default_levels())
    for code, level in value.items():
        if code not in codes:
            raise Invalid(f"{code!r} is not a reason code{did_you_mean(code, codes)}")
        if level not in LEVELS:
            raise Invalid(f"{code}: {level!r} must be easy, medium or hard")
    return dict(value)


def _local_label(value: Any) -> str:
    text = _string(value)
    if not re.fullmatch(r"[a-z0-9]+(?:[.][a-z0-9]+)*", text):
        raise Invalid(f"{text!r} must be a PEP 440 local version label: lower-case letters "
                       "and digits, dot-separated (cpu, cu128)")
    return text


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid("must be true or false")
    return value


def _pin_grade(value: Any) -> tuple[str, str]:
    if not isinstance(value, dict) or set(value) != {"level", "reason"}:
        raise Invalid("must be {level: easy|medium|hard, reason: why}")
    if value["level"] not in LEVELS:
        raise Invalid(f"level {value['level']!r} must be easy, medium or hard")
    return value["level"], _string(value["reason"])


@dataclass(frozen=True, kw_only=True)
class UpstreamWheels:
    """How a package's upstream would build riscv64 wheels, in a drafted change."""

    # emulated: as upstream builds its other architectures (QEMU where they are emulated);
    # native: on a riscv64 runner, where the emulated build would be too long.
    runner: Literal["emulated", "native"] = "emulated"
    label: str = "ubuntu-24.04-riscv"  # the riscv64 runner's label (the builders' own)


def _upstream_wheels(value: Any) -> UpstreamWheels:
    if not isinstance(value, dict) or not set(value) <= {"runner", "label"}:
        raise Invalid("must be {runner: emulated|native, label: <riscv64 runner label>}")
    runner = value.get("runner", UpstreamWheels.runner)
    if runner not in ("emulated", "native"):
        raise Invalid(f"runner {runner!r} must be emulated or native")
    return UpstreamWheels(runner=runner, label=_no_option(_string(value.get(
        "label", UpstreamWheels.label))))


def _vocabulary(value: Any) -> str:
    if value not in ("builders", "yocto"):
        raise Invalid(f"{value!r} must be builders (Issue, Submitted, To upstream, "
                       "Inappropriate, Backport) or yocto (adds Pending, Denied, ...)")
    return str(value)


def _forge_apis(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise Invalid("must map a forge's web host to its API URL, e.g. "
                       "{github.com: https://api.github.com}")
    return {str(host).lower(): _http_url(url) for host, url in value.items()}


@dataclass(frozen=True)
class Fork:
    """Where the builders' fork of an upstream on one forge host lives."""

    namespace: str  # user, org or group: the fork is <namespace>/<upstream repo name>
    git_url: str | None = None  # a template with {namespace} and {repo}; default https

    def url(self, host: str, repo: str) -> str:
        template = self.git_url or "https://{host}/{namespace}/{repo}.git"
        return template.format(host=host, namespace=self.namespace, repo=repo)


def _forks(value: Any) -> dict[str, Fork]:
    if not isinstance(value, dict):
        raise Invalid("must map a forge host to {namespace: ..., git_url: ...}")
    forks = {}
    for host, spec in value.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("namespace"), str) or \
                set(spec) - {"namespace", "git_url"}:
            raise Invalid(f"{host}: must be {{namespace: owner, git_url: optional template}}")
        git_url = spec.get("git_url")
        if git_url is not None:
            _no_option(_string(git_url))
            if embedded_credentials(git_url):
                raise Invalid(f"{host}: git_url carries credentials")
        forks[str(host).lower()] = Fork(namespace=_no_option(spec["namespace"]),
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


def _keyed(value: Any, keys: tuple[str, ...], required: str, what: str) -> dict[str, Any]:
    """`value` as a mapping of only `keys`, with `required` among them."""
    if not isinstance(value, dict) or required not in value:
        raise Invalid(f"must be a mapping with at least {required}: ({what})")
    unknown = sorted(set(map(str, value)) - set(keys))
    if unknown:
        raise Invalid(f"unknown key {unknown[0]!r}{did_you_mean(unknown[0], keys)}")
    return value


def _version_files(value: Any) -> tuple[str, ...] | Literal[False]:
    """One file or a list of them, each a template of {name}; null: False (no bump)."""
    if value is None:
        return False
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise Invalid("version_file must be a file, a list of files, or null (no bump)")
    for item in items:
        try:
            _string(item).format(name="x")
        except (KeyError, IndexError, ValueError) as exc:
            raise Invalid(f"version_file {item!r} may use only {{name}} ({exc})") from None
    return tuple(items)


def _pull_requests(value: Any) -> PullRequests:
    value = _keyed(value, _PULL_REQUEST_KEYS, "repository",
                   "the web page of the repository that holds the queues")
    repository = _http_url(value["repository"]).rstrip("/").removesuffix(".git")
    remote = _no_option(_string(value.get("remote", repository + ".git")))
    if embedded_credentials(remote):
        raise Invalid("remote carries credentials; let git's credential helper or "
                      "MIRRORCTL_SITE_TOKEN provide them")
    branch = _template(_string(value.get("branch", PullRequests.branch)), "branch")
    bot_branch = value.get("bot_branch", PullRequests.bot_branch)
    if bot_branch is not None:
        bot_branch = _template(_string(bot_branch), "bot_branch")
        if bot_branch.format(name="x", version="") == branch.format(name="x", version=""):
            raise Invalid("bot_branch must differ from branch: one is their bot's, one "
                          "mirrorctl's")
    identity = _string(value.get("identity", PullRequests.identity))
    from email.utils import parseaddr  # email costs ~9 ms of every start: only here

    name, email = parseaddr(identity)
    if not name or "@" not in email or f"{name} <{email}>" != identity.strip():
        raise Invalid(f"identity {identity!r} must read \"Name <email>\"")
    choices = {"on_conflict": ("skip", "draft"), "stale": ("close", "comment"),
               "docs": ("auto", "request", "publish")}
    for key, allowed in choices.items():
        if value.get(key, allowed[0]) not in allowed:
            raise Invalid(f"{key} must be one of {', '.join(allowed)}")
    version_file = _version_files(value["version_file"]) if "version_file" in value else ()
    retire_branch = _retire_template(value.get("retire_branch", PullRequests.retire_branch))
    bot_retire = value.get("bot_retire_branch", PullRequests.bot_retire_branch)
    return PullRequests(repository=repository, remote=remote,
                        base=_no_option(_string(value.get("base", "main"))),
                        version_file=None if version_file is False else version_file,
                        branch=branch, on_conflict=value.get("on_conflict", "skip"),
                        stale=value.get("stale", "close"), bot_branch=bot_branch,
                        bot=_string(value.get("bot", PullRequests.bot)),
                        identity=identity.strip(),
                        trigger=_bool(value.get("trigger", True)),
                        docs=value.get("docs", "auto"),
                        max_versions=_positive_int(value.get("max_versions", 3)),
                        dispatch=_bool(value.get("dispatch", False)),
                        publish=_bool(value.get("publish", True)),
                        retire_branch=retire_branch,
                        bot_retire_branch=None if bot_retire is None
                        else _retire_template(bot_retire))


def _retire_template(value: Any) -> str:
    """A retirement branch's template: {name} only."""
    branch = _string(value)
    try:
        branch.format(name="x")
    except (KeyError, IndexError, ValueError) as exc:
        raise Invalid(f"{branch!r} may use only {{name}} ({exc})") from None
    return _no_option(branch)


def _template(branch: str, key: str) -> str:
    """A branch name template of {name} and {version}."""
    try:
        branch.format(name="x", version="1.0")
    except (KeyError, IndexError, ValueError) as exc:
        raise Invalid(f"{key} {branch!r} may use only {{name}} and {{version}} ({exc})") \
            from None
    return _no_option(branch)


@dataclass(frozen=True)
class Notices:
    """Where what needs a person becomes tracking issues: one issue a package and kind
    of need, found again by its marker, closed when it clears (night.notices)."""

    tracker: str  # the web page of a GitHub repository or GitLab project
    label: str = "mirrorctl-notice"  # every notice carries it; it is how they are listed
    limit: int = 20  # issues touched (opened, reopened, updated, closed) a run at most
    kinds: tuple[str, ...] | None = None  # the kinds of need that get one; None: all


_NOTICE_KEYS = ("tracker", "label", "limit", "kinds")


def _notices(value: Any) -> Notices:
    value = _keyed(value, _NOTICE_KEYS, "tracker", "the web page of the repository or "
                   "project whose issues track what needs a person")
    label = _string(value.get("label", Notices.label))
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
        limit = _positive_int(limit)
    except Invalid as exc:
        raise Invalid(f"limit {exc}") from None
    return Notices(tracker=_http_url(value["tracker"]).removesuffix(".git"), label=label,
                   limit=limit, kinds=None if kinds is None else tuple(kinds))


# The classes of a test failure (grade.builds), and the key failure_rules: checks.
FAILURE_CLASSES = ("nan", "timing", "missing-library")


def _failure_rules(value: Any) -> dict[str, tuple[str, ...]]:
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


def _mirror_template(value: Any) -> str:
    template = _no_option(_string(value))
    try:
        template.format(name="x")
    except (KeyError, IndexError, ValueError) as exc:
        raise Invalid(f"{template!r} may use only the field {{name}} ({exc})") from exc
    return template


# What git refuses in a ref name (git check-ref-format), for the tags a format makes.
_NOT_IN_REF = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//|/\.|^[/.]|[/.]$|\.lock$")


def _tag_format(value: Any) -> TagFormat:
    try:
        tag_format = TagFormat(_no_option(_string(value)))
    except TagFormatError as exc:
        raise Invalid(str(exc)) from exc
    example = tag_format.tag_for("1.2.3")
    if _NOT_IN_REF.search(example):
        raise Invalid(f"{tag_format.template!r} makes tags like {example!r}, which is not a "
                       "valid git tag name")
    return tag_format


def _version(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise Invalid(f"must be a quoted string: YAML reads {value!r} as a number "
                       f"(write version: \"{value}\")")
    text = _string(value)
    try:
        Version(text)
    except InvalidVersion as exc:
        raise Invalid(f"{text!r} is not a PEP 440 version") from exc
    return text


def package_name(value: Any) -> str:
    text = _string(value)
    if not _NAME.match(text):
        raise Invalid(f"{text!r} must be letters, digits, '.', '_' or '-', starting with a "
                       "letter or digit")
    return text


@dataclass(frozen=True)
class Setting:
    parse: Callable[[Any], Any]
    default: Any
    help: str
    per_package: bool = True


# The keys of `defaults:`; those with per_package=True may be overridden per package.
SETTINGS: Mapping[str, Setting] = {
    "mirror_url": Setting(_mirror_template, None,
                          "mirror URL template with {name}", per_package=False),
    "branches": Setting(_globs, ("main", "master"), "globs of upstream branch names to mirror"),
    "tags": Setting(_globs, ("*",), "globs of upstream tag names to mirror"),
    "protected": Setting(_ref_globs, ("refs/heads/riscv64/*",),
                         "mirror ref globs sync never touches (per package: added to defaults)"),
    "allowed_protocols": Setting(_protocols, ("https", "ssh"), "transports git may use"),
    "tag_format": Setting(_tag_format, TagFormat("v{version}"), "release tag for {version}"),
    "jobs": Setting(_positive_int, 4, "packages synced at once", per_package=False),
    "patchsets": Setting(lambda v: _no_option(_string(v)), "patchsets",
                         "folder of the patch queues, relative to this file", per_package=False),
    "pypi_url": Setting(_http_url, "https://pypi.org", "PyPI (or a mirror of its JSON API)",
                        per_package=False),
    "registry_url": Setting(_http_url, None, "the builders' package registry: a Simple "
                                             "Repository API index that says what is built",
                            per_package=False),
    "registry_platforms": Setting(_platforms, ("manylinux_2_34_riscv64",
                                               "manylinux_2_35_riscv64",
                                               "manylinux_2_39_riscv64"),
                                  "the wheel platform tags that count as built",
                                  per_package=False),
    "python_versions": Setting(_python_versions, ("3.12", "3.13", "3.14", "3.14t"),
                               "the Pythons the builders make wheels for", per_package=False),
    "grades": Setting(_grades, {}, "reason code -> grade, over grading.yaml's",
                      per_package=False),
    "status_vocabulary": Setting(_vocabulary, "builders",
                                 "the Upstream-Status values the queues' checker accepts",
                                 per_package=False),
    "forge_apis": Setting(_forge_apis, {}, "forge web host -> API URL (GitHub Enterprise, "
                                          "self-hosted GitLab)", per_package=False),
    "forks": Setting(_forks, {}, "forge host -> where the builders' forks live",
                     per_package=False),
    "pull_requests": Setting(_pull_requests, None, "deliver each upgrade as a pull request "
                                                   "in the repository holding the queues",
                             per_package=False),
    "notices": Setting(_notices, None, "what needs a person becomes one tracking issue a "
                                       "package and kind, in this tracker", per_package=False),
    "credential_helper": Setting(lambda v: _string(v), None,
                                 "git credential helper for HTTPS remotes", per_package=False),
    "upstream_wheels": Setting(_upstream_wheels, UpstreamWheels(),
                               "how a drafted change builds riscv64 wheels upstream: "
                               "{runner: emulated|native, label: ubuntu-24.04-riscv}"),
    "stacks": Setting(_stacks, (), "the roots of the stacks the builders serve "
                                   "(`mirrorctl stack` without a root reads them)",
                      per_package=False),
    "top_packages": Setting(_top_packages, None, "the top of a download ranking, whose "
                                                 "closures are stacks too: {count: 30, "
                                                 "url: ..., binary: true}",
                            per_package=False),
    "requirement_wheels": Setting(_bool, False, "grade a new build requirement by whether "
                                               "the index has riscv64 wheels of it",
                                  per_package=False),
    "search_rate": Setting(_rate, 30.0, "forge searches a minute at most (GitHub's "
                                        "search allows 30)", per_package=False),
    "timeout": Setting(_seconds, 600.0, "seconds a git command may take"),
    "retries": Setting(_count, 2, "retries after a transient network error"),
}

# Keys only a package has; `upstream` is required.
PACKAGE_KEYS: Mapping[str, Setting] = {
    "upstream": Setting(lambda v: _no_option(_string(v)), None, "upstream git URL"),
    "mirror": Setting(lambda v: v if v is False else _no_option(_string(v)), None,
                      "mirror git URL; false: no mirror, upstream read into the cache alone"),
    "version": Setting(_version, None, "version whose patch queue is current"),
    "pypi": Setting(package_name, None, "PyPI project name"),
    "rank": Setting(_positive_int, None, "download rank on PyPI"),
    "local_version": Setting(_local_label, None, "the local version label the wheel adds to "
                                                 "upstream's version (torch: cpu)"),
    "wheel_major": Setting(_positive_int, None, "a leading major the wheel's version puts "
                                                "before upstream's (protobuf: 7, for v35.1)"),
    "pin": Setting(_bool, False, "true: version's queue stays current, whatever newer queue "
                                 "folders hold (hold a package back)"),
    "retired": Setting(_bool, False, "true: upstream ships riscv64 wheels; the package is "
                                     "watched (releases --pypi), no nightly work"),
    "pin_grade": Setting(_pin_grade, None, "a grade this package always gets, with why"),
    "mirror_web": Setting(_http_url, None, "the mirror's web page, when its git URL does not "
                                           "say it (for merge requests and links)"),
    "upstream_web": Setting(_http_url, None, "upstream's web page (its project on the forge), "
                                             "when its git URL does not say it"),
    "version_file": Setting(_version_files, None, "the files whose version its builds read "
                                                  "(one, or a list; null: no bump), over "
                                                  "pull_requests'"),
    "failure_rules": Setting(_failure_rules, None, "patterns of the package's own that "
                                                   "class a test failure (nan, timing, "
                                                   "missing-library), before the shipped ones"),
    "note": Setting(lambda v: _string(v), None, "what a person wants kept with the package "
                                                "(a comment that `mirrorctl inventory` keeps)"),
}


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    import difflib  # only a config with a mistake pays for it

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f", did you mean {close[0]}?" if close else ""
