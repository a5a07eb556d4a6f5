"""mirrors.yaml's packages brought in line with the builders' own lists: packages.txt
(the active packages), deprecated.txt (the retired ones), and what their build workflows
say of each upstream (`actions/checkout` of the upstream at a tag made of the version).

Pure: the lists and workflows come in as text and the new packages as data; reading and
writing files is the command's edge. Nothing known is dropped: an entry keeps every key
it has, a package in neither list stays (and is named), and a workflow fills in what an
entry lacks rather than overwriting what a person wrote.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from mirrorctl.core.buildsite import dispatch_default
from mirrorctl.core.config import config_from_text, load_config
from mirrorctl.core.errors import ConfigError, ConfigProblem, FileSystemError
from mirrorctl.core.files import atomic_write_text
from mirrorctl.core.implied import implied_defaults, infer_tag_format
from mirrorctl.core.parsers import Invalid, package_name

__all__ = ["Checkout", "InventoryChange", "InventoryResult", "bring_in_line",
           "leading_comments", "read_list", "read_package_doc", "read_workflow",
           "render_inventory", "update_inventory"]

_EXPRESSION = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")
# What stands for the version in a workflow: its input, or an env variable named for it.
_VERSION_EXPRESSION = re.compile(r"^(?:inputs\.version|env\.[A-Z0-9_]*VERSION)"
                                 r"(?:\s*\|\|\s*'[^']*')?$")


def read_list(text: str, file: str) -> tuple[list[str], list[ConfigProblem]]:
    """The package names of a packages.txt / deprecated.txt (one a line, `#` comments)."""
    names: list[str] = []
    problems: list[ConfigProblem] = []
    for number, line in enumerate(text.splitlines(), start=1):
        name = line.split("#", 1)[0].strip()
        if not name:
            continue
        try:
            names.append(package_name(name))
        except Invalid as exc:
            problems.append(ConfigProblem(file, number, "", f"package name {exc}"))
    return names, problems


@dataclass(frozen=True)
class Checkout:
    """What a build workflow says of its package's upstream; None where it does not say."""

    upstream: str | None = None
    tag_format: str | None = None
    version: str | None = None  # the workflow's default version: the one built now
    local_version: str | None = None  # torch: the queue folder is <version>+cpu
    computed_tag: bool = False  # its workflow checks out a ref not made of the version
    inferred: str | None = None  # the tag format was read off upstream's tags: on what


def read_workflow(text: str) -> Checkout:
    """The upstream checkout of a build workflow: the `actions/checkout` step whose
    repository is not the builders' own, its ref as a tag format, and the default of
    the `version` input. A ref made of something other than the version (protobuf
    computes its tag in a step) leaves tag_format unknown."""
    data = _mapping(text)
    if data is None:
        return Checkout()
    upstream = tag_format = None
    for step in _steps(data):
        uses, given = step.get("uses"), step.get("with")
        if not (isinstance(uses, str) and uses.startswith("actions/checkout@")
                and isinstance(given, dict)):
            continue
        repository, ref = given.get("repository"), given.get("ref")
        if not isinstance(repository, str) or "${{" in repository \
                or repository.endswith("/python-wheels"):
            continue
        upstream = f"https://github.com/{repository}.git"
        tag_format = _tag_format(ref) if isinstance(ref, str) else None
        break
    local = re.search(r"patches/[^/\s]+/\$\{\{[^}]*\}\}\+([A-Za-z0-9.]+)/", text)
    return Checkout(upstream=upstream, tag_format=tag_format, version=dispatch_default(data),
                    local_version=local.group(1) if local else None,
                    computed_tag=upstream is not None and tag_format is None)


def read_package_doc(text: str) -> Checkout:
    """What the builders' docs/packages/<package>.yaml says: the upstream (source-code, a
    GitHub page) and the newest version built (the highest of `versions`)."""
    data = _mapping(text)
    if data is None:
        return Checkout()
    source = data.get("source-code")
    upstream = None
    if isinstance(source, str) and re.match(r"^https://github\.com/[\w.-]+/[\w.-]+/?$", source):
        upstream = source.rstrip("/").removesuffix(".git") + ".git"
    elif isinstance(source, str) and re.match(r"^https?://[\w.:-]+/[\w.-]+/[\w./-]+$", source):
        upstream = source.rstrip("/")  # another forge's page: its git URL, as far as git goes
    built = [str(v["version"]) for v in data.get("versions") or ()
             if isinstance(v, dict) and v.get("version") is not None]
    return Checkout(upstream=upstream, version=_newest(built))


def _mapping(text: str) -> dict[Any, Any] | None:
    """The YAML mapping `text` holds; None when it holds none (what it says is unknown)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


def _newest(versions: list[str]) -> str | None:
    parsed = []
    for text in versions:
        try:
            parsed.append((Version(text), text))
        except InvalidVersion:
            continue
    return max(parsed)[1] if parsed else None


def _steps(data: dict[Any, Any]) -> Iterable[dict[Any, Any]]:
    jobs = data.get("jobs")
    for job in jobs.values() if isinstance(jobs, dict) else ():
        steps = job.get("steps") if isinstance(job, dict) else None
        yield from (s for s in steps or () if isinstance(s, dict))


def _tag_format(ref: str) -> str | None:
    expressions = _EXPRESSION.findall(ref)
    if len(expressions) != 1 or not _VERSION_EXPRESSION.match(expressions[0]):
        return None
    return _EXPRESSION.sub("{version}", ref)


@dataclass(frozen=True)
class InventoryChange:
    added: tuple[str, ...] = ()  # active, new to mirrors.yaml
    retired: tuple[str, ...] = ()  # now in deprecated.txt: retired: true
    reactivated: tuple[str, ...] = ()  # back in packages.txt: retired no longer
    versions: tuple[tuple[str, str, str], ...] = ()  # (name, old, new) from a workflow
    filled: tuple[tuple[str, str], ...] = ()  # (name, key) a workflow said, the entry lacked
    disagreements: tuple[str, ...] = ()  # a workflow says otherwise than the entry: kept
    unlisted: tuple[str, ...] = ()  # in mirrors.yaml, in neither list: kept
    no_upstream: tuple[str, ...] = ()  # active, but no upstream known: not added
    # Active, its tag format unknown (protobuf's workflow computes its tag; no workflow
    # or docs page says it): not added, a person says it (or --probe reads it).
    tag_unknown: tuple[str, ...] = ()
    tag_unknown_why: tuple[tuple[str, str], ...] = ()  # (name, why)
    # (name, tag format, what it rests on): read off upstream's tags by --probe.
    inferred: tuple[tuple[str, str, str], ...] = ()
    defaults: tuple[str, ...] = ()  # the defaults a new mirrors.yaml was given
    untracked: tuple[str, ...] = ()  # retired, never in mirrors.yaml: nothing to watch

    @property
    def changes(self) -> bool:
        return bool(self.added or self.retired or self.reactivated or self.versions
                    or self.filled)


def update_inventory(packages: Mapping[str, Any], active: list[str], retired: list[str],
                     workflows: Mapping[str, Checkout]) -> tuple[dict[str, Any],
                                                                  InventoryChange]:
    """mirrors.yaml's `packages:` brought in line with the lists; `workflows` maps a
    package's name (as the lists spell it) to what its build workflow says."""
    by_canonical = {canonicalize_name(name): name for name in packages}
    result = {name: dict(entry or {}) for name, entry in packages.items()}
    change: dict[str, list[Any]] = {k: [] for k in InventoryChange.__dataclass_fields__}
    retiring = {canonicalize_name(n) for n in retired}
    for listed in active:
        if canonicalize_name(listed) in retiring:
            continue  # in both lists: deprecated.txt is the later word
        name = by_canonical.get(canonicalize_name(listed))
        checkout = workflows.get(listed, Checkout())
        if name is None:
            if checkout.upstream is None or checkout.tag_format is None:
                # Never a guess: added, its tags would be read with a tag format it lacks.
                change["no_upstream" if checkout.upstream is None else "tag_unknown"].append(
                    listed)
                if checkout.upstream is not None:
                    change["tag_unknown_why"].append((listed, _tag_unknown_why(checkout)))
                continue
            name = listed
            result[name] = {}
            change["added"].append(name)
        entry = result[name]
        if entry.pop("retired", False):
            change["reactivated"].append(name)
        _take_workflow(name, entry, checkout, change, new=name in change["added"])
    for listed in retired:
        name = by_canonical.get(canonicalize_name(listed))
        if name is None:
            change["untracked"].append(listed)
        elif result[name].get("retired") is not True:
            result[name]["retired"] = True
            change["retired"].append(name)
    known = {canonicalize_name(n) for n in [*active, *retired]}
    change["unlisted"] = [n for n in packages if canonicalize_name(n) not in known]
    ordered = dict(sorted(result.items(), key=lambda item: canonicalize_name(item[0])))
    return ordered, InventoryChange(**{k: tuple(v) for k, v in change.items()})


def _tag_unknown_why(checkout: Checkout) -> str:
    if checkout.computed_tag:
        return "its workflow computes the tag"
    return "no build workflow says its tag (a docs page gives its upstream)"


def _take_workflow(name: str, entry: dict[str, Any], checkout: Checkout,
                   change: dict[str, list[Any]], *, new: bool) -> None:
    """Fill in what the workflow says and the entry lacks; a version only forward. What
    a new entry got is said by its being added. A tag format read off upstream's tags
    says so in the entry's note, for a person to check."""
    for key in ("upstream", "tag_format", "local_version"):
        said = getattr(checkout, key)
        if said is None:
            continue
        if key not in entry:
            entry[key] = said
            if key == "tag_format" and checkout.inferred is not None:
                change["inferred"].append((name, said, checkout.inferred))
                entry.setdefault("note", f"tag_format inferred by `mirrorctl inventory "
                                         f"--probe` ({checkout.inferred}): check it")
            if not new:
                change["filled"].append((name, key))
        elif key != "upstream" and entry[key] != said:
            change["disagreements"].append(
                f"{name}: its workflow says {key} {said!r}, mirrors.yaml {entry[key]!r} (kept)")
    if checkout.version is None:
        return
    local = entry.get("local_version")
    built = f"{checkout.version}+{local}" if local else checkout.version
    old = entry.get("version")
    try:
        newer = old is None or Version(built) > Version(str(old))
    except InvalidVersion:
        change["disagreements"].append(f"{name}: its workflow's version {built!r} is no "
                                       "version (kept mirrors.yaml's)")
        return
    if newer:
        entry["version"] = built
        if not new:
            change["versions"].append((name, "" if old is None else str(old), built))


def render_inventory(header: str, defaults: Mapping[str, Any],
                     packages: Mapping[str, Any]) -> str:
    """mirrors.yaml as text: the header comment kept, then defaults and packages (a
    package a block, in name order). Comments inside entries are not kept: a package's
    `note:` says in data what a comment would."""
    parts = [header.rstrip("\n") + "\n\n"] if header.strip() else []
    if defaults:
        parts.append(_dump({"defaults": dict(defaults)}) + "\n")
    parts.append("packages:\n")
    for name, entry in packages.items():
        parts.extend(f"  {line}\n" for line in _dump({name: entry or None}).splitlines())
    return "".join(parts)


class _Dumper(yaml.SafeDumper):
    """Mappings as blocks, lists of scalars on one line ([main, master])."""

    def flow_scalars(self, data: Any) -> yaml.SequenceNode:
        flow = all(isinstance(item, str | int | float | bool) for item in data)
        return self.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _Dumper.flow_scalars)
_Dumper.add_representer(tuple, _Dumper.flow_scalars)


def _dump(data: Mapping[str, Any]) -> str:
    return yaml.dump(dict(data), Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=96)


def leading_comments(text: str) -> str:
    """The comment block at the top of a YAML file (kept when it is rewritten)."""
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line)
    return "\n".join(lines) + "\n" if lines else ""


@dataclass(frozen=True)
class InventoryResult:
    config: str
    change: InventoryChange
    current: bool  # the file already said what the lists say
    written: bool
    # Lines of the lists that are no package name (prose without `#`, a typo): named
    # with their file and line, skipped; the other lines are read.
    skipped: tuple[ConfigProblem, ...] = ()


def bring_in_line(config_path: Path, packages_txt: Path, deprecated_txt: Path | None,
                  workflows: Path | None, *, docs: Path | None = None,
                  check: bool, probe: Callable[[str], Iterable[str]] | None = None,
                  ) -> InventoryResult:
    """Rewrite mirrors.yaml so that its packages are the lists' (with --check, only say
    whether it would change). The new text is checked as `validate` checks a config
    before it replaces the file, whole. A mirrors.yaml that does not exist yet gets the
    defaults the repository implies. `probe(upstream)`: upstream's tag names, to infer
    the tag format of a package nothing else says it of (inventory --probe)."""
    active, problems = read_list(_read(packages_txt), str(packages_txt))
    retired: list[str] = []
    if deprecated_txt is not None:
        retired, more = read_list(_read(deprecated_txt), str(deprecated_txt))
        problems += more
    skipped = tuple(problems)
    old = _read(config_path) if config_path.exists() else ""
    raw: dict[str, Any] = {}
    if old:
        load_config(config_path)  # a config with problems is fixed first, by a person
        raw = yaml.safe_load(old) or {}
    said = _documented(docs, active) if docs is not None else {}
    if workflows is not None:  # the workflow says what builds now; the docs what was built
        for name, checkout in _workflows(workflows, active).items():
            said[name] = _combined(checkout, said.get(name, Checkout()))
    if probe is not None:
        said.update(_probed(said, set(raw.get("packages") or {}), probe))
    defaults = raw.get("defaults") or {}
    header = leading_comments(old)
    if not old:  # from zero: what the repository implies, and where it came from
        texts = [_read(w) for w in sorted(workflows.glob("*.y*ml"))] if workflows else []
        defaults = implied_defaults(config_path.parent, texts)
        header = _NEW_HEADER.format(command=" ".join(_command(packages_txt, deprecated_txt,
                                                              workflows, docs)))
    packages, change = update_inventory(raw.get("packages") or {}, active, retired, said)
    if not old:
        change = replace(change, defaults=tuple(defaults))
    text = render_inventory(header, defaults, packages)
    if text == old:
        return InventoryResult(str(config_path), change, current=True, written=False,
                               skipped=skipped)
    if not check:
        config_from_text(text, config_path)  # ConfigError: nothing is written
        atomic_write_text(config_path, text)
    return InventoryResult(str(config_path), change, current=False, written=not check,
                           skipped=skipped)


_NEW_HEADER = """\
# The package inventory, made by `mirrorctl inventory` from the builders' own lists:
#   {command}
# `mirrorctl validate` checks it; the README explains every key. The defaults are what
# the repository implies (its queues in patches/, the registry and Pythons its workflows
# name): check them. Run the same command again to bring it in line with the lists.
"""


def _command(packages_txt: Path, deprecated_txt: Path | None, workflows: Path | None,
             docs: Path | None) -> list[str]:
    words = ["mirrorctl", "inventory", str(packages_txt)]
    words += [str(deprecated_txt)] if deprecated_txt else []
    words += ["--workflows", str(workflows)] if workflows else []
    return words + (["--docs", str(docs)] if docs else [])


def _probed(said: Mapping[str, Checkout], known: set[str],
            probe: Callable[[str], Iterable[str]]) -> dict[str, Checkout]:
    """What upstream's own tags say of the tag formats nothing else says: for each new
    package whose upstream is known and whose tag is not computed by its workflow."""
    from mirrorctl.core.errors import MirrorctlError

    found = {}
    known_names = {canonicalize_name(n) for n in known}
    for name, checkout in said.items():
        if checkout.upstream is None or checkout.tag_format is not None \
                or checkout.computed_tag or canonicalize_name(name) in known_names:
            continue
        try:
            tags = [t.removeprefix("refs/tags/") for t in probe(checkout.upstream)
                    if t.startswith("refs/tags/") and not t.endswith("^{}")]
        except MirrorctlError:
            continue  # unreadable upstream: the tag stays unknown, and is said so
        inferred = infer_tag_format(tags, checkout.version, name)
        if inferred is not None:
            found[name] = replace(checkout, tag_format=inferred.template,
                                  inferred=inferred.evidence)
    return found


def _workflows(folder: Path, active: list[str]) -> dict[str, Checkout]:
    """What each build workflow (build-<package>.yml) says, by the name the list gives:
    build-polars-runtime.yml builds polars-runtime-32 and -64 alike."""
    said: dict[str, Checkout] = {}
    for workflow in sorted(folder.glob("build-*.y*ml")):
        stem = canonicalize_name(workflow.name.split(".")[0].removeprefix("build-"))
        checkout = read_workflow(_read(workflow))
        for name in active:
            canonical = canonicalize_name(name)
            if canonical == stem or (canonical.startswith(stem + "-") and name not in said):
                said[name] = checkout
    return said


def _documented(folder: Path, active: list[str]) -> dict[str, Checkout]:
    """What docs/packages/<package>.yaml says, by the name the list gives (the file may
    spell it otherwise: outlines_core.yaml for outlines-core)."""
    files = {canonicalize_name(f.name.split(".")[0]): f for f in sorted(folder.glob("*.y*ml"))}
    return {name: read_package_doc(_read(files[canonicalize_name(name)]))
            for name in active if canonicalize_name(name) in files}


def _combined(first: Checkout, then: Checkout) -> Checkout:
    return Checkout(**{key: getattr(first, key) if getattr(first, key) is not None
                       else getattr(then, key) for key in Checkout.__dataclass_fields__})


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError([ConfigProblem(str(path), None, "", "is not UTF-8 text")]) from None
    except OSError as exc:
        raise FileSystemError(exc, path=path) from None
