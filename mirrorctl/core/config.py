"""mirrors.yaml: its schema, loading and validation.

The schema is data (SETTINGS, PACKAGE_KEYS); load_config() is the only reader of
the file and returns frozen dataclasses. Every problem names file, line and key,
and all problems are reported at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from mirrorctl.core.errors import ConfigError, ConfigProblem, UsageError
from mirrorctl.core.grades import LEVELS, default_levels
from mirrorctl.core.tagformat import TagFormat, TagFormatError
from mirrorctl.core.urls import (
    KNOWN_PROTOCOLS,
    embedded_credentials,
    resolve_local,
    url_protocol,
    web_url,
)
from mirrorctl.core.yamlfile import KeyPath, LoadedYaml, load_yaml, render_path

__all__ = [
    "PACKAGE_KEYS",
    "SETTINGS",
    "Config",
    "Fork",
    "Package",
    "load_config",
]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class _Invalid(ValueError):
    """Raised by a setting's parser; the message is shown after the key path."""


def _string(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Invalid(f"must be a non-empty string, not {value!r}")
    return value


def _no_option(value: str) -> str:
    if value.startswith("-"):
        raise _Invalid(f"{value!r} starts with '-', which git would read as an option")
    return value


def _globs(value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise _Invalid("must be a glob or a non-empty list of globs")
    return tuple(_no_option(_string(item)) for item in items)


def _ref_globs(value: Any) -> tuple[str, ...]:
    if value == []:
        return ()
    globs = _globs(value)
    for glob in globs:
        if not glob.startswith("refs/"):
            raise _Invalid(f"{glob!r} must be a full ref glob, e.g. refs/heads/riscv64/*")
    return globs


def _protocols(value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise _Invalid("must be a list of protocols, e.g. [https, ssh]")
    for item in items:
        if item not in KNOWN_PROTOCOLS:
            raise _Invalid(f"{item!r} is not allowed; choose from {', '.join(KNOWN_PROTOCOLS)}")
    return tuple(items)


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _Invalid(f"must be a whole number of at least 1, not {value!r}")
    return value


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Invalid(f"must be a whole number of at least 0, not {value!r}")
    return value


def _seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise _Invalid(f"must be a number of seconds above 0, not {value!r}")
    return float(value)


def _http_url(value: Any) -> str:
    text = _string(value).rstrip("/")
    if not text.startswith(("https://", "http://")) or embedded_credentials(text):
        raise _Invalid(f"{text!r} must be an http(s) URL without credentials")
    return text


def _python_versions(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else None
    if not items or not all(isinstance(v, str) and re.fullmatch(r"3\.\d+", v) for v in items):
        raise _Invalid("must be a list of quoted Python versions, e.g. [\"3.10\", \"3.13\"]")
    return tuple(items)


def _grades(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise _Invalid("must map reason codes to easy, medium or hard")
    codes = list(default_levels())
    for code, level in value.items():
        if code not in codes:
            raise _Invalid(f"{code!r} is not a reason code{_did_you_mean(code, codes)}")
        if level not in LEVELS:
            raise _Invalid(f"{code}: {level!r} must be easy, medium or hard")
    return dict(value)


def _local_label(value: Any) -> str:
    text = _string(value)
    if not re.fullmatch(r"[a-z0-9]+(?:[.][a-z0-9]+)*", text):
        raise _Invalid(f"{text!r} must be a PEP 440 local version label: lower-case letters "
                       "and digits, dot-separated (cpu, cu128)")
    return text


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Invalid("must be true or false")
    return value


def _pin_grade(value: Any) -> tuple[str, str]:
    if not isinstance(value, dict) or set(value) != {"level", "reason"}:
        raise _Invalid("must be {level: easy|medium|hard, reason: why}")
    if value["level"] not in LEVELS:
        raise _Invalid(f"level {value['level']!r} must be easy, medium or hard")
    return value["level"], _string(value["reason"])


def _vocabulary(value: Any) -> str:
    if value not in ("builders", "yocto"):
        raise _Invalid(f"{value!r} must be builders (Issue, Submitted, To upstream, "
                       "Inappropriate, Backport) or yocto (adds Pending, Denied, ...)")
    return str(value)


def _forge_apis(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise _Invalid("must map a forge's web host to its API URL, e.g. "
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
        raise _Invalid("must map a forge host to {namespace: ..., git_url: ...}")
    forks = {}
    for host, spec in value.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("namespace"), str) or \
                set(spec) - {"namespace", "git_url"}:
            raise _Invalid(f"{host}: must be {{namespace: owner, git_url: optional template}}")
        git_url = spec.get("git_url")
        if git_url is not None:
            _no_option(_string(git_url))
            if embedded_credentials(git_url):
                raise _Invalid(f"{host}: git_url carries credentials")
        forks[str(host).lower()] = Fork(namespace=_no_option(spec["namespace"]),
                                        git_url=git_url)
    return forks


def _mirror_template(value: Any) -> str:
    template = _no_option(_string(value))
    try:
        template.format(name="x")
    except (KeyError, IndexError, ValueError) as exc:
        raise _Invalid(f"{template!r} may use only the field {{name}} ({exc})") from exc
    return template


# What git refuses in a ref name (git check-ref-format), for the tags a format makes.
_NOT_IN_REF = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//|/\.|^[/.]|[/.]$|\.lock$")


def _tag_format(value: Any) -> TagFormat:
    try:
        tag_format = TagFormat(_no_option(_string(value)))
    except TagFormatError as exc:
        raise _Invalid(str(exc)) from exc
    example = tag_format.tag_for("1.2.3")
    if _NOT_IN_REF.search(example):
        raise _Invalid(f"{tag_format.template!r} makes tags like {example!r}, which is not a "
                       "valid git tag name")
    return tag_format


def _version(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise _Invalid(f"must be a quoted string: YAML reads {value!r} as a number "
                       f"(write version: \"{value}\")")
    text = _string(value)
    try:
        Version(text)
    except InvalidVersion as exc:
        raise _Invalid(f"{text!r} is not a PEP 440 version") from exc
    return text


def _package_name(value: Any) -> str:
    text = _string(value)
    if not _NAME.match(text):
        raise _Invalid(f"{text!r} must be letters, digits, '.', '_' or '-', starting with a "
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
    "python_versions": Setting(_python_versions, ("3.10", "3.11", "3.12", "3.13"),
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
    "credential_helper": Setting(lambda v: _string(v), None,
                                 "git credential helper for HTTPS remotes", per_package=False),
    "timeout": Setting(_seconds, 600.0, "seconds a git command may take"),
    "retries": Setting(_count, 2, "retries after a transient network error"),
}

# Keys only a package has; `upstream` is required.
PACKAGE_KEYS: Mapping[str, Setting] = {
    "upstream": Setting(lambda v: _no_option(_string(v)), None, "upstream git URL"),
    "mirror": Setting(lambda v: v if v is False else _no_option(_string(v)), None,
                      "mirror git URL; false: no mirror, upstream read into the cache alone"),
    "version": Setting(_version, None, "version whose patch queue is current"),
    "pypi": Setting(_package_name, None, "PyPI project name"),
    "rank": Setting(_positive_int, None, "download rank on PyPI"),
    "local_version": Setting(_local_label, None, "the local version label the wheel adds to "
                                                 "upstream's version (torch: cpu)"),
    "wheel_major": Setting(_positive_int, None, "a leading major the wheel's version puts "
                                                "before upstream's (protobuf: 7, for v35.1)"),
    "pin": Setting(_bool, False, "true: version's queue stays current, whatever newer queue "
                                 "folders hold (hold a package back)"),
    "pin_grade": Setting(_pin_grade, None, "a grade this package always gets, with why"),
    "mirror_web": Setting(_http_url, None, "the mirror's web page, when its git URL does not "
                                           "say it (for merge requests and links)"),
}

_TOP_KEYS = ("defaults", "packages")
_NO_MIRROR = "\0no mirror"  # what _mirror says for a package read without a mirror
_INVALID = "\0invalid"  # and for a mirror URL it refused (a problem says why)


@dataclass(frozen=True, kw_only=True)
class Package:
    name: str
    upstream: str
    mirror: str | None  # None: no mirror; upstream is read into the cache alone
    tag_format: TagFormat
    version: str | None
    pypi: str
    rank: int | None
    branches: tuple[str, ...]
    tags: tuple[str, ...]
    protected: tuple[str, ...]
    allowed_protocols: tuple[str, ...]
    timeout: float
    retries: int
    pin_grade: tuple[str, str] | None = None
    mirror_web: str | None = None
    pin: bool = False


@dataclass(frozen=True, kw_only=True)
class Config:
    path: Path
    jobs: int
    credential_helper: str | None
    patchsets: Path
    pypi_url: str = "https://pypi.org"
    python_versions: tuple[str, ...] = ("3.10", "3.11", "3.12", "3.13")
    retries: int = 2  # defaults.retries, for what is not a package's (PyPI, forges)
    grades: Mapping[str, str] = field(default_factory=dict)
    status_vocabulary: str = "builders"
    # What validate holds Upstream-Status to: status_vocabulary when mirrors.yaml sets it;
    # else builders for a site laid out as theirs (queues in patches/), yocto elsewhere.
    check_vocabulary: str = "yocto"
    forge_apis: Mapping[str, str] = field(default_factory=dict)
    forks: Mapping[str, Fork] = field(default_factory=dict)
    packages: Mapping[str, Package]
    # Where each key stands, for problems found later.
    source: LoadedYaml | None = field(default=None, compare=False, repr=False)

    def problem(self, path: KeyPath, message: str) -> ConfigProblem:
        """A problem found after loading (a queue folder a version names, ...), located at
        its key in mirrors.yaml when the file said where."""
        if self.source is None:
            return ConfigProblem(str(self.path), None, render_path(path), message)
        return self.source.problem(path, message)

    def select(self, names: Sequence[str]) -> list[Package]:
        """The named packages (all of them when none is named), in config order. Names
        compare as PyPI compares them (PEP 503): PyYAML, pyyaml and py_yaml are one."""
        if not names:
            return list(self.packages.values())
        by_name = {canonicalize_name(name): package for name, package in self.packages.items()}
        unknown = [n for n in names if canonicalize_name(n) not in by_name]
        if unknown:
            hints = [f"{n!r}{_did_you_mean(n, self.packages)}" for n in unknown]
            raise UsageError(f"unknown package {', '.join(hints)} (not in {self.path})")
        return list({id(p): p for p in (by_name[canonicalize_name(n)] for n in names)}.values())


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    import difflib  # only a config with a mistake pays for it

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f", did you mean {close[0]}?" if close else ""


def load_config(path: Path) -> Config:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(
            str(path), None, "", "file not found; pass --config FILE or set MIRRORCTL_CONFIG"
        )]) from None
    except OSError as exc:
        raise ConfigError([ConfigProblem(str(path), None, "", f"cannot read: {exc}")]) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError([ConfigProblem(str(path), line, "", "is not UTF-8 text")]) from exc
    loaded = load_yaml(text, str(path))
    config = _Validator(loaded, path.resolve().parent).config(path)
    if loaded.problems:
        raise ConfigError(sorted(loaded.problems, key=lambda p: (p.line or 0, p.path)))
    assert config is not None
    return config


class _Validator:
    def __init__(self, loaded: LoadedYaml, base: Path) -> None:
        self._loaded = loaded
        self._base = base

    def _fail(self, path: KeyPath, message: str) -> None:
        self._loaded.problems.append(self._loaded.problem(path, message))

    def _mapping(self, value: Any, path: KeyPath, keys: Iterable[str]) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self._fail(path, f"must be a mapping of keys to values, not {type(value).__name__}")
            return {}
        allowed = list(keys)
        for key in value:
            if key not in allowed:
                self._fail((*path, key), f"unknown key{_did_you_mean(key, allowed)}")
        return {k: v for k, v in value.items() if k in allowed}

    def _reported(self, *paths: KeyPath) -> bool:
        """True when one of `paths` already has a problem (an invalid value, not a missing one)."""
        rendered = {render_path(path) for path in paths}
        return any(problem.path in rendered for problem in self._loaded.problems)

    def _parse(self, setting: Setting, value: Any, path: KeyPath) -> Any:
        try:
            return setting.parse(value)
        except _Invalid as exc:
            if not self._loaded.refused_within(path):  # else the loader has said why
                self._fail(path, str(exc))
            return None

    def config(self, path: Path) -> Config | None:
        root = self._loaded.data
        if self._loaded.problems and root is None:
            return None
        if not isinstance(root, dict):
            self._fail((), "must be a mapping with 'defaults:' and 'packages:'")
            return None
        top = self._mapping(root, (), _TOP_KEYS)
        raw_defaults = top.get("defaults")
        defaults = self._defaults(raw_defaults)
        raw_packages = top.get("packages")
        if not isinstance(raw_packages, dict) or not raw_packages:
            self._fail(("packages",), "must map each package name to its settings")
            raw_packages = {}
        packages: dict[str, Package] = {}
        seen: dict[str, str] = {}  # PEP 503 name -> the name as written
        for name, raw in raw_packages.items():
            package = self._package(name, raw, defaults)
            if package is None:
                continue
            canonical = canonicalize_name(name)
            if canonical in seen:
                self._fail(("packages", name), f"is the same PyPI name as {seen[canonical]!r} "
                                               "(names compare without case, '-', '_' or '.')")
                continue
            seen[canonical] = name
            packages[name] = package
        self._check_unique_mirrors(packages)
        return Config(path=path, jobs=defaults["jobs"], source=self._loaded,
                      credential_helper=defaults["credential_helper"],
                      patchsets=self._base / defaults["patchsets"], packages=packages,
                      pypi_url=defaults["pypi_url"], python_versions=defaults["python_versions"],
                      retries=defaults["retries"], grades=defaults["grades"],
                      status_vocabulary=defaults["status_vocabulary"],
                      check_vocabulary=self._check_vocabulary(raw_defaults, defaults),
                      forge_apis=defaults["forge_apis"], forks=defaults["forks"])

    @staticmethod
    def _check_vocabulary(raw: Any, defaults: dict[str, Any]) -> str:
        if isinstance(raw, dict) and raw.get("status_vocabulary") in ("builders", "yocto"):
            return str(raw["status_vocabulary"])
        return "builders" if Path(defaults["patchsets"]).name == "patches" else "yocto"

    def _defaults(self, raw: Any) -> dict[str, Any]:
        given = self._mapping(raw, ("defaults",), SETTINGS)
        resolved = {}
        for key, setting in SETTINGS.items():
            if key in given:
                resolved[key] = self._parse(setting, given[key], ("defaults", key))
            if resolved.get(key) is None:
                resolved[key] = setting.default
        return resolved

    def _package(self, name: Any, raw: Any, defaults: dict[str, Any]) -> Package | None:
        path: KeyPath = ("packages", name)
        try:
            _package_name(name)
        except _Invalid as exc:
            self._fail(path, f"package name {exc}")
            return None
        overridable = [k for k, setting in SETTINGS.items() if setting.per_package]
        given = self._mapping(raw, path, [*PACKAGE_KEYS, *overridable])
        if raw is not None and not isinstance(raw, dict):
            return None
        values = {k: self._parse(s, given[k], (*path, k))
                  for k, s in {**PACKAGE_KEYS, **SETTINGS}.items() if k in given}
        if "upstream" not in given:
            self._fail(path, "missing required key 'upstream' (the upstream git URL)")
        if values.get("pin") and "version" not in given:
            self._fail((*path, "pin"), "pin: true holds the package at its version: set one")
        settings = {k: defaults[k] if values.get(k) is None else values[k] for k in overridable}
        # Per-package protected globs add to the defaults: a package cannot drop
        # the protection of the riscv64 branches by naming its own.
        if values.get("protected"):
            settings["protected"] = tuple(dict.fromkeys([*defaults["protected"],
                                                         *values["protected"]]))
        if values.get("local_version") or values.get("wheel_major"):
            settings["tag_format"] = TagFormat(settings["tag_format"].template,
                                               local=values.get("local_version"),
                                               wheel_major=values.get("wheel_major"))
            try:
                if values.get("version"):
                    settings["tag_format"].tag_for(values["version"])
            except InvalidVersion as exc:
                self._fail((*path, "version"), f"is no wheel version of this package: {exc}")
        upstream = self._url(values.get("upstream"), (*path, "upstream"), settings)
        mirror = self._mirror(name, values.get("mirror"), defaults["mirror_url"], path, settings)
        if upstream is None or mirror is _INVALID or None in values.values():
            return None
        has_mirror = mirror if mirror is not _NO_MIRROR else None
        return Package(name=name, upstream=upstream, mirror=has_mirror,
                       version=values.get("version"),
                       pypi=values.get("pypi") or name, rank=values.get("rank"),
                       pin_grade=values.get("pin_grade"), pin=bool(values.get("pin", False)),
                       mirror_web=values.get("mirror_web") or (web_url(has_mirror)
                                                               if has_mirror else None),
                       **settings)

    def _mirror(self, name: str, url: str | bool | None, template: str | None, path: KeyPath,
                settings: dict[str, Any]) -> str:
        """The mirror's URL; _NO_MIRROR (mirror: false, or no mirror_url template: upstream
        is read into the cache alone), or _INVALID (a problem is reported)."""
        if url is False:
            return _NO_MIRROR
        if isinstance(url, str):
            return self._url(url, (*path, "mirror"), settings) or _INVALID
        if template is None:
            return _INVALID if self._reported((*path, "mirror"), ("defaults", "mirror_url")) \
                else _NO_MIRROR
        return self._url(template.format(name=name), ("defaults", "mirror_url"),
                         settings) or _INVALID

    def _url(self, url: str | None, path: KeyPath, settings: dict[str, Any]) -> str | None:
        if url is None:
            return None
        protocol = url_protocol(url)
        if embedded_credentials(url):
            self._fail(path, "the URL carries credentials; remove them and let git's credential "
                             "helper or MIRRORCTL_MIRROR_TOKEN provide them")
            return None
        if protocol not in settings["allowed_protocols"]:
            allowed = ", ".join(settings["allowed_protocols"])
            self._fail(path, f"protocol {protocol!r} is not allowed (allowed_protocols: {allowed})")
            return None
        return resolve_local(url, self._base)

    def _check_unique_mirrors(self, packages: Mapping[str, Package]) -> None:
        owners: dict[str, str] = {}
        for name, package in packages.items():
            if package.mirror is None:
                continue
            if package.mirror in owners:
                self._fail(("packages", name),
                           f"mirror {package.mirror} is also the mirror of "
                           f"{owners[package.mirror]}")
            owners.setdefault(package.mirror, name)
