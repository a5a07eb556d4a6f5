"""mirrors.yaml: its schema, loading and validation.

The schema is data (SETTINGS, PACKAGE_KEYS, in settings.py); load_config() is the only
reader of the file and returns frozen dataclasses. Every problem names file, line and key,
and all problems are reported at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from packaging.version import InvalidVersion

from mirrorctl.core.errors import ConfigError, ConfigProblem, UsageError
from mirrorctl.core.names import canonical_name
from mirrorctl.core.parsers import Invalid, did_you_mean, package_name
from mirrorctl.core.sections import Fork, Notices, PullRequests, TopPackages, UpstreamWheels
from mirrorctl.core.settings import PACKAGE_KEYS, SETTINGS, Setting
from mirrorctl.core.tagformat import TagFormat
from mirrorctl.core.urls import (
    embedded_credentials,
    resolve_local,
    same_repository,
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
    "config_from_text",
    "load_config",
]

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
    # Upstream's web page (its forge project), from upstream_web: or its git URL.
    upstream_web: str | None = None
    pin: bool = False
    retired: bool = False  # upstream ships riscv64 wheels: watched, no nightly work
    # The cache the package reads (<workdir>/cache/<cache>.git): its own, or the one it
    # shares with the other wheels built from the same upstream (polars-runtime-32, -64).
    cache: str = ""
    # Over pull_requests.version_file: the files whose version its builds read; False: none
    # (no bump); None: as pull_requests says (or found).
    version_file: tuple[str, ...] | Literal[False] | None = None
    failure_rules: Mapping[str, tuple[str, ...]] | None = None  # over core/failures.yaml
    upstream_wheels: UpstreamWheels = field(default_factory=UpstreamWheels)

    def __post_init__(self) -> None:
        if not self.cache:
            object.__setattr__(self, "cache", self.name)


@dataclass(frozen=True, kw_only=True)
class Config:
    path: Path
    jobs: int
    credential_helper: str | None
    patchsets: Path
    pypi_url: str = "https://pypi.org"
    python_versions: tuple[str, ...] = ("3.12", "3.13", "3.14", "3.14t")
    registry_url: str | None = None
    registry_platforms: tuple[str, ...] = ()
    retries: int = 2  # defaults.retries, for what is not a package's (PyPI, forges)
    search_rate: float = 30.0  # defaults.search_rate: forge searches a minute
    # defaults.requirement_wheels: the grade asks the index about new build requirements
    requirement_wheels: bool = False
    stacks: tuple[str, ...] = ()  # defaults.stacks: the roots `stack` reads by default
    top_packages: TopPackages | None = None  # defaults.top_packages: roots from a ranking
    grades: Mapping[str, str] = field(default_factory=dict)
    status_vocabulary: str = "builders"
    # What validate holds Upstream-Status to: status_vocabulary when mirrors.yaml sets it;
    # else builders for a site laid out as theirs (queues in patches/), yocto elsewhere.
    check_vocabulary: str = "yocto"
    forge_apis: Mapping[str, str] = field(default_factory=dict)
    forks: Mapping[str, Fork] = field(default_factory=dict)
    pull_requests: PullRequests | None = None  # upgrades delivered as pull requests
    notices: Notices | None = None  # what needs a person, as tracking issues
    packages: Mapping[str, Package]
    # Where each key stands, for problems found later.
    source: LoadedYaml | None = field(default=None, compare=False, repr=False)

    def problem(self, path: KeyPath, message: str) -> ConfigProblem:
        """A problem found after loading (a queue folder a version names, ...), located at
        its key in mirrors.yaml when the file said where."""
        if self.source is None:
            return ConfigProblem(str(self.path), None, render_path(path), message)
        return self.source.problem(path, message)

    def active(self, names: Sequence[str]) -> list[Package]:
        """As select(), but with no name given, the retired packages are left out: they
        are only watched (releases), never synced, carried or graded."""
        return self.select(names) if names else [p for p in self.packages.values()
                                                 if not p.retired]

    def select(self, names: Sequence[str]) -> list[Package]:
        """The named packages (all of them when none is named), in config order. Names
        compare as PyPI compares them (PEP 503): PyYAML, pyyaml and py_yaml are one."""
        if not names:
            return list(self.packages.values())
        by_name = {canonical_name(name): package for name, package in self.packages.items()}
        unknown = [n for n in names if canonical_name(n) not in by_name]
        if unknown:
            hints = [f"{n!r}{did_you_mean(n, self.packages)}" for n in unknown]
            raise UsageError(f"unknown package {', '.join(hints)} (not in {self.path})")
        return list({id(p): p for p in (by_name[canonical_name(n)] for n in names)}.values())


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
    return config_from_text(text, path)


def config_from_text(text: str, path: Path) -> Config:
    """The config `text` would be as the file at `path` (checked before it is written)."""
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
                self._fail((*path, key), f"unknown key{did_you_mean(key, allowed)}")
        return {k: v for k, v in value.items() if k in allowed}

    def _reported(self, *paths: KeyPath) -> bool:
        """True when one of `paths` already has a problem (an invalid value, not a missing one)."""
        rendered = {render_path(path) for path in paths}
        return any(problem.path in rendered for problem in self._loaded.problems)

    def _parse(self, setting: Setting, value: Any, path: KeyPath) -> Any:
        try:
            return setting.parse(value)
        except Invalid as exc:
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
            canonical = canonical_name(name)
            if canonical in seen:
                self._fail(("packages", name), f"is the same PyPI name as {seen[canonical]!r} "
                                               "(names compare without case, '-', '_' or '.')")
                continue
            seen[canonical] = name
            packages[name] = package
        self._check_unique_mirrors(packages)
        packages = self._share_caches(packages)
        return Config(path=path, jobs=defaults["jobs"], source=self._loaded,
                      credential_helper=defaults["credential_helper"],
                      patchsets=self._base / defaults["patchsets"], packages=packages,
                      pypi_url=defaults["pypi_url"], python_versions=defaults["python_versions"],
                      registry_url=defaults["registry_url"],
                      registry_platforms=defaults["registry_platforms"],
                      retries=defaults["retries"], search_rate=defaults["search_rate"],
                      requirement_wheels=defaults["requirement_wheels"],
                      stacks=defaults["stacks"], top_packages=defaults["top_packages"],
                      grades=defaults["grades"],
                      status_vocabulary=defaults["status_vocabulary"],
                      check_vocabulary=self._check_vocabulary(raw_defaults, defaults),
                      forge_apis=defaults["forge_apis"], forks=defaults["forks"],
                      pull_requests=defaults["pull_requests"], notices=defaults["notices"])

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
            package_name(name)
        except Invalid as exc:
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
                       retired=bool(values.get("retired", False)),
                       version_file=values.get("version_file"),
                       failure_rules=values.get("failure_rules"),
                       mirror_web=values.get("mirror_web") or (web_url(has_mirror)
                                                               if has_mirror else None),
                       upstream_web=values.get("upstream_web") or web_url(upstream),
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

    def _share_caches(self, packages: dict[str, Package]) -> dict[str, Package]:
        """Wheels built from one upstream share one cache, named after the one whose name
        sorts first, so that one fetch serves them all. Its refs are one set, so they must
        select the same branches and tags."""
        groups: dict[str, list[str]] = {}
        for name, package in packages.items():
            groups.setdefault(same_repository(package.upstream), []).append(name)
        for names in groups.values():
            first = min(names, key=canonical_name)
            owner = packages[first]
            for name in names:
                package = packages[name]
                if name != first and (package.branches, package.tags) != (owner.branches,
                                                                          owner.tags):
                    self._fail(("packages", name, "upstream"),
                               f"is also {first}'s upstream, whose cache it shares: its "
                               f"branches and tags must be {first}'s")
                packages[name] = replace(package, cache=owner.name)
        return packages

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
