"""The parsers of mirrors.yaml's values: each returns the value, or raises Invalid with what
is wrong (config.py locates it: file, line, key). The structured sections (pull
requests, notices, forks, ...) are in sections.py; the table of keys in settings.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from packaging.version import InvalidVersion, Version

from mirrorctl.core.grades import LEVELS, default_levels
from mirrorctl.core.redact import Redactor
from mirrorctl.core.tagformat import TagFormat, TagFormatError
from mirrorctl.core.urls import KNOWN_PROTOCOLS, embedded_credentials

__all__ = ["Invalid", "did_you_mean", "keyed", "no_option", "package_name", "parse_bool",
           "parse_count", "parse_forge_apis", "parse_globs", "parse_grades", "parse_http_url",
           "parse_local_label", "parse_mirror_template", "parse_pin_grade", "parse_platforms",
           "parse_positive_int", "parse_protocols", "parse_python_versions", "parse_rate",
           "parse_ref_globs", "parse_seconds", "parse_stacks", "parse_tag_format", "parse_version",
           "parse_vocabulary", "string"]


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class Invalid(ValueError):
    """Raised by a setting's parser; the message is shown after the key path."""


def string(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"must be a non-empty string, not {value!r}")
    return value


def no_option(value: str) -> str:
    if value.startswith("-"):
        raise Invalid(f"{value!r} starts with '-', which git would read as an option")
    return value


def parse_globs(value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise Invalid("must be a glob or a non-empty list of globs")
    return tuple(no_option(string(item)) for item in items)


def parse_ref_globs(value: Any) -> tuple[str, ...]:
    if value == []:
        return ()
    globs = parse_globs(value)
    for glob in globs:
        if not glob.startswith("refs/"):
            raise Invalid(f"{glob!r} must be a full ref glob, e.g. refs/heads/riscv64/*")
    return globs


def parse_protocols(value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise Invalid("must be a list of protocols, e.g. [https, ssh]")
    for item in items:
        if item not in KNOWN_PROTOCOLS:
            raise Invalid(f"{item!r} is not allowed; choose from {', '.join(KNOWN_PROTOCOLS)}")
    return tuple(items)


def parse_positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise Invalid(f"must be a whole number of at least 1, not {value!r}")
    return value


def parse_count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Invalid(f"must be a whole number of at least 0, not {value!r}")
    return value


def parse_rate(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise Invalid(f"must be a number above 0 (a minute), not {value!r}")
    return float(value)


def parse_seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise Invalid(f"must be a number of seconds above 0, not {value!r}")
    return float(value)


def parse_http_url(value: Any) -> str:
    text = string(value).rstrip("/")
    if not text.startswith(("https://", "http://")) or embedded_credentials(text):
        raise Invalid(f"{Redactor()(text)!r} must be an http(s) URL without credentials")
    return text


def parse_platforms(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else None
    if not items or not all(isinstance(v, str) and re.fullmatch(r"[a-z0-9_]+_riscv64", v)
                            for v in items):
        raise Invalid("must be a list of riscv64 platform tags, e.g. [manylinux_2_39_riscv64]")
    return tuple(items)


def parse_python_versions(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else None
    if not items or not all(isinstance(v, str) and re.fullmatch(r"3\.\d+t?", v) for v in items):
        raise Invalid("must be a list of quoted Python versions, e.g. [\"3.13\", \"3.14t\"] "
                      "(t: free-threaded)")
    return tuple(items)


def parse_stacks(value: Any) -> tuple[str, ...]:
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


def parse_grades(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise Invalid("must map reason codes to easy, medium or hard")
    codes = list(default_levels())
    for code, level in value.items():
        if code not in codes:
            raise Invalid(f"{code!r} is not a reason code{did_you_mean(code, codes)}")
        if level not in LEVELS:
            raise Invalid(f"{code}: {level!r} must be easy, medium or hard")
    return dict(value)


def parse_local_label(value: Any) -> str:
    text = string(value)
    if not re.fullmatch(r"[a-z0-9]+(?:[.][a-z0-9]+)*", text):
        raise Invalid(f"{text!r} must be a PEP 440 local version label: lower-case letters "
                       "and digits, dot-separated (cpu, cu128)")
    return text


def parse_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid("must be true or false")
    return value


def parse_pin_grade(value: Any) -> tuple[str, str]:
    if not isinstance(value, dict) or set(value) != {"level", "reason"}:
        raise Invalid("must be {level: easy|medium|hard, reason: why}")
    if value["level"] not in LEVELS:
        raise Invalid(f"level {value['level']!r} must be easy, medium or hard")
    return value["level"], string(value["reason"])


def parse_vocabulary(value: Any) -> str:
    if value not in ("builders", "yocto"):
        raise Invalid(f"{value!r} must be builders (Issue, Submitted, To upstream, "
                       "Inappropriate, Backport) or yocto (adds Pending, Denied, ...)")
    return str(value)


def parse_forge_apis(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise Invalid("must map a forge's web host to its API URL, e.g. "
                       "{github.com: https://api.github.com}")
    return {str(host).lower(): parse_http_url(url) for host, url in value.items()}


def keyed(value: Any, keys: tuple[str, ...], required: str, what: str) -> dict[str, Any]:
    """`value` as a mapping of only `keys`, with `required` among them."""
    if not isinstance(value, dict) or required not in value:
        raise Invalid(f"must be a mapping with at least {required}: ({what})")
    unknown = sorted(set(map(str, value)) - set(keys))
    if unknown:
        raise Invalid(f"unknown key {unknown[0]!r}{did_you_mean(unknown[0], keys)}")
    return value


def parse_mirror_template(value: Any) -> str:
    template = no_option(string(value))
    try:
        template.format(name="x")
    except (KeyError, IndexError, ValueError) as exc:
        raise Invalid(f"{template!r} may use only the field {{name}} ({exc})") from exc
    return template


# What git refuses in a ref name (git check-ref-format), for the tags a format makes.
_NOT_IN_REF = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//|/\.|^[/.]|[/.]$|\.lock$")


def parse_tag_format(value: Any) -> TagFormat:
    try:
        tag_format = TagFormat(no_option(string(value)))
    except TagFormatError as exc:
        raise Invalid(str(exc)) from exc
    example = tag_format.tag_for("1.2.3")
    if _NOT_IN_REF.search(example):
        raise Invalid(f"{tag_format.template!r} makes tags like {example!r}, which is not a "
                       "valid git tag name")
    return tag_format


def parse_version(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise Invalid(f"must be a quoted string: YAML reads {value!r} as a number "
                       f"(write version: \"{value}\")")
    text = string(value)
    try:
        Version(text)
    except InvalidVersion as exc:
        raise Invalid(f"{text!r} is not a PEP 440 version") from exc
    return text


def package_name(value: Any) -> str:
    text = string(value)
    if not _NAME.match(text):
        raise Invalid(f"{text!r} must be letters, digits, '.', '_' or '-', starting with a "
                       "letter or digit")
    return text


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    import difflib  # only a config with a mistake pays for it

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f", did you mean {close[0]}?" if close else ""
