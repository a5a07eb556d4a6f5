"""The keys of mirrors.yaml as data: for each, its parser, its default and what it means.

SETTINGS are the keys of `defaults:` (those marked per_package may be overridden per
package); PACKAGE_KEYS are a package's own. A parser returns the value or raises
Invalid with what is wrong; config.py locates it (file, line, key) and reports it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mirrorctl.core.parsers import (
    no_option,
    package_name,
    parse_bool,
    parse_count,
    parse_forge_apis,
    parse_globs,
    parse_grades,
    parse_http_url,
    parse_local_label,
    parse_mirror_template,
    parse_pin_grade,
    parse_platforms,
    parse_positive_int,
    parse_protocols,
    parse_python_versions,
    parse_rate,
    parse_ref_globs,
    parse_seconds,
    parse_stacks,
    parse_tag_format,
    parse_version,
    parse_vocabulary,
    string,
)
from mirrorctl.core.sections import (
    UpstreamWheels,
    parse_failure_rules,
    parse_forks,
    parse_notices,
    parse_pull_requests,
    parse_top_packages,
    parse_upstream_wheels,
    parse_version_files,
)
from mirrorctl.core.tagformat import TagFormat

__all__ = ["PACKAGE_KEYS", "SETTINGS", "Setting"]


@dataclass(frozen=True)
class Setting:
    parse: Callable[[Any], Any]
    default: Any
    help: str
    per_package: bool = True


# The keys of `defaults:`; those with per_package=True may be overridden per package.
SETTINGS: Mapping[str, Setting] = {
    "mirror_url": Setting(parse_mirror_template, None,
                          "mirror URL template with {name}", per_package=False),
    "branches": Setting(parse_globs, ("main", "master"),
                        "globs of upstream branch names to mirror"),
    "tags": Setting(parse_globs, ("*",), "globs of upstream tag names to mirror"),
    "protected": Setting(parse_ref_globs, ("refs/heads/riscv64/*",),
                         "mirror ref globs sync never touches (per package: added to defaults)"),
    "allowed_protocols": Setting(parse_protocols, ("https", "ssh"), "transports git may use"),
    "tag_format": Setting(parse_tag_format, TagFormat("v{version}"), "release tag for {version}"),
    "jobs": Setting(parse_positive_int, 4, "packages synced at once", per_package=False),
    "patchsets": Setting(lambda v: no_option(string(v)), "patchsets",
                         "folder of the patch queues, relative to this file", per_package=False),
    "pypi_url": Setting(parse_http_url, "https://pypi.org", "PyPI (or a mirror of its JSON API)",
                        per_package=False),
    "registry_url": Setting(parse_http_url, None, "the builders' package registry: a Simple "
                                             "Repository API index that says what is built",
                            per_package=False),
    "registry_platforms": Setting(parse_platforms, ("manylinux_2_34_riscv64",
                                               "manylinux_2_35_riscv64",
                                               "manylinux_2_39_riscv64"),
                                  "the wheel platform tags that count as built",
                                  per_package=False),
    "python_versions": Setting(parse_python_versions, ("3.12", "3.13", "3.14", "3.14t"),
                               "the Pythons the builders make wheels for", per_package=False),
    "grades": Setting(parse_grades, {}, "reason code -> grade, over grading.yaml's",
                      per_package=False),
    "status_vocabulary": Setting(parse_vocabulary, "builders",
                                 "the Upstream-Status values the queues' checker accepts",
                                 per_package=False),
    "forge_apis": Setting(parse_forge_apis, {}, "forge web host -> API URL (GitHub Enterprise, "
                                          "self-hosted GitLab)", per_package=False),
    "forks": Setting(parse_forks, {}, "forge host -> where the builders' forks live",
                     per_package=False),
    "pull_requests": Setting(parse_pull_requests, None, "deliver each upgrade as a pull request "
                                                   "in the repository holding the queues",
                             per_package=False),
    "notices": Setting(parse_notices, None, "what needs a person becomes one tracking issue a "
                                       "package and kind, in this tracker", per_package=False),
    "credential_helper": Setting(lambda v: string(v), None,
                                 "git credential helper for HTTPS remotes", per_package=False),
    "upstream_wheels": Setting(parse_upstream_wheels, UpstreamWheels(),
                               "how a drafted change builds riscv64 wheels upstream: "
                               "{runner: emulated|native, label: ubuntu-24.04-riscv}"),
    "stacks": Setting(parse_stacks, (), "the roots of the stacks the builders serve "
                                   "(`mirrorctl stack` without a root reads them)",
                      per_package=False),
    "top_packages": Setting(parse_top_packages, None, "the top of a download ranking, whose "
                                                 "closures are stacks too: {count: 30, "
                                                 "url: ..., binary: true}",
                            per_package=False),
    "requirement_wheels": Setting(parse_bool, False, "grade a new build requirement by whether "
                                               "the index has riscv64 wheels of it",
                                  per_package=False),
    "search_rate": Setting(parse_rate, 30.0, "forge searches a minute at most (GitHub's "
                                        "search allows 30)", per_package=False),
    "timeout": Setting(parse_seconds, 600.0, "seconds a git command may take"),
    "retries": Setting(parse_count, 2, "retries after a transient network error"),
}


# Keys only a package has; `upstream` is required.
PACKAGE_KEYS: Mapping[str, Setting] = {
    "upstream": Setting(lambda v: no_option(string(v)), None, "upstream git URL"),
    "mirror": Setting(lambda v: v if v is False else no_option(string(v)), None,
                      "mirror git URL; false: no mirror, upstream read into the cache alone"),
    "version": Setting(parse_version, None, "version whose patch queue is current"),
    "pypi": Setting(package_name, None, "PyPI project name"),
    "rank": Setting(parse_positive_int, None, "download rank on PyPI"),
    "local_version": Setting(parse_local_label, None, "the local version label the wheel adds to "
                                                 "upstream's version (torch: cpu)"),
    "wheel_major": Setting(parse_positive_int, None, "a leading major the wheel's version puts "
                                                "before upstream's (protobuf: 7, for v35.1)"),
    "pin": Setting(parse_bool, False, "true: version's queue stays current, whatever newer queue "
                                 "folders hold (hold a package back)"),
    "retired": Setting(parse_bool, False, "true: upstream ships riscv64 wheels; the package is "
                                     "watched (releases --pypi), no nightly work"),
    "pin_grade": Setting(parse_pin_grade, None, "a grade this package always gets, with why"),
    "mirror_web": Setting(parse_http_url, None, "the mirror's web page, when its git URL does not "
                                           "say it (for merge requests and links)"),
    "upstream_web": Setting(parse_http_url, None, "upstream's web page (its project on the forge), "
                                             "when its git URL does not say it"),
    "version_file": Setting(parse_version_files, None, "the files whose version its builds read "
                                                  "(one, or a list; null: no bump), over "
                                                  "pull_requests'"),
    "failure_rules": Setting(parse_failure_rules, None, "patterns of the package's own that "
                                                   "class a test failure (nan, timing, "
                                                   "missing-library), before the shipped ones"),
    "note": Setting(lambda v: string(v), None, "what a person wants kept with the package "
                                                "(a comment that `mirrorctl inventory` keeps)"),
}
