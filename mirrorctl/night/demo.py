"""A self-contained sandbox for trying mirrorctl: local upstreams with real-looking
release history, mirrors that carry riscv64 patch branches, and a mirrors.yaml.

No network: every repository is a local bare repository built with git fast-import.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from mirrorctl.core.errors import UsageError
from mirrorctl.core.git import GitRunner

__all__ = ["DemoSite", "build_demo", "evolve_upstreams"]

_MARKER = ".mirrorctl-demo"
_IDENT = "Upstream Maintainer <maintainer@example.invalid>"


@dataclass(frozen=True)
class _Project:
    name: str
    tag_format: str
    releases: tuple[str, ...]
    current: str  # the release whose riscv64 patch queue the mirror carries
    maintenance: str | None
    files: dict[str, str]
    queue: tuple[tuple[str, dict[str, str]], ...]  # (commit message, files) a patch


_PYYAML_FIX = "__version__ = '6.0'\n# riscv64: the C loader needs -fsigned-char\n"
_SCIPY_OLD = "double cephes_nan(void) { return 0.0 / 0.0; }\n"
_PROJECTS = (
    # Most of the builders' packages carry no patch: their upgrade is a version bump.
    _Project("cffi", "v{version}", ("1.17.0", "1.17.1"), "1.17.1", None,
             {"setup.py": "from setuptools import setup\nsetup(name='cffi')\n",
              "src/c/_cffi_backend.c": "/* the backend */\n"}, ()),
    _Project("numpy", "v{version}", ("1.25.0", "1.25.1", "1.25.2"), "1.25.2", "maintenance/1.25.x",
             {"setup.py": "from setuptools import setup\nsetup(name='numpy')\n",
              "numpy/core/src/npymath.c": "double npy_nan(void) { return 0.0 / 0.0; }\n"},
             (("BLD: riscv64 build flags\n\nUpstream-Status: Pending\n",
               {"numpy/core/src/npymath.c":
                "double npy_nan(void) { return 0.0 / 0.0; }  /* rv64gc */\n"}),
              ("TST: skip the NaN payload test on riscv64\n\nriscv64 returns the canonical "
               "NaN.\n\nUpstream-Status: To upstream\n",
               {"numpy/core/tests/test_nan.py":
                "import platform, pytest\n\n@pytest.mark.skipif(platform.machine() == "
                "'riscv64', reason='canonical NaN')\ndef test_nan_payload(): pass\n"}))),
    _Project("pyyaml", "{version}", ("6.0", "6.0.1"), "6.0.1", None,
             {"setup.py": "from setuptools import setup\nsetup(name='PyYAML')\n",
              "yaml/__init__.py": "__version__ = '6.0'\n"},
             (("Build the C loader with signed char on riscv64\n\nUpstream-Status: Submitted "
               "[https://github.com/yaml/pyyaml/pull/1]\n", {"yaml/__init__.py": _PYYAML_FIX}),)),
    _Project("scipy", "v{version}", ("1.14.0", "1.14.1"), "1.14.1", "maintenance/1.14.x",
             {"pyproject.toml": "[build-system]\nbuild-backend = 'mesonpy'\n",
              "scipy/special/cephes.c": _SCIPY_OLD},
             (("MAINT: return a quiet NaN on riscv64\n\nUpstream-Status: Pending\n",
               {"scipy/special/cephes.c":
                "double cephes_nan(void) { return __builtin_nan(\"\"); }\n"}),)),
)


@dataclass(frozen=True)
class DemoSite:
    root: Path
    config: Path
    workdir: Path

    def upstream(self, name: str) -> Path:
        return self.root / "upstreams" / f"{name}.git"

    def mirror(self, name: str) -> Path:
        return self.root / "mirrors" / f"{name}.git"


class _History:
    """Builds a fast-import stream: commits with deterministic dates, tags, branches."""

    def __init__(self, start_time: int) -> None:
        self.parts: list[str] = []
        self.time = start_time
        self.marks = 0

    @staticmethod
    def _data(text: str) -> str:
        return f"data {len(text.encode())}\n{text}\n"

    def commit(self, ref: str, message: str, files: dict[str, str], parent: str | None,
               deleted: tuple[str, ...] = ()) -> str:
        self.marks += 1
        self.time += 86400
        self.parts += [f"commit {ref}\nmark :{self.marks}\n",
                       f"author {_IDENT} {self.time} +0000\n",
                       f"committer {_IDENT} {self.time} +0000\n", self._data(message)]
        if parent:
            self.parts.append(f"from {parent}\n")
        self.parts += [f"D {path}\n" for path in deleted]
        for path, text in files.items():
            self.parts += [f"M 644 inline {path}\n", self._data(text)]
        return f":{self.marks}"

    def tag(self, name: str, target: str) -> None:
        self.parts += [f"tag {name}\nfrom {target}\ntagger {_IDENT} {self.time} +0000\n",
                       self._data(f"Release {name}")]

    def branch(self, ref: str, target: str) -> None:
        self.parts.append(f"reset {ref}\nfrom {target}\n")

    def stream(self) -> str:
        return "".join(self.parts)


def _prepare(root: Path) -> None:
    if root.exists() and any(root.iterdir()):
        if not (root / _MARKER).exists():
            raise UsageError(f"{root} exists and is not a mirrorctl demo directory; "
                             "pass --dir with a new or empty folder")
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / _MARKER).write_text("made by `mirrorctl demo`; safe to delete\n")


def build_demo(root: Path, runner: GitRunner) -> DemoSite:
    """Upstreams, mirrors carrying riscv64/<current> branches, and a mirrors.yaml."""
    _prepare(root)
    site = DemoSite(root=root, config=root / "mirrors.yaml", workdir=root / ".mirrorctl")
    for project in _PROJECTS:
        upstream = site.upstream(project.name)
        # Its default branch is main, as a real upstream's HEAD says.
        runner.run(["init", "--bare", "--quiet", "--initial-branch", "main", str(upstream)])
        history = _History(start_time=1_700_000_000)
        head = None
        for release in project.releases:
            files = {**project.files, "VERSION": f"{release}\n"}
            head = history.commit("refs/heads/main", f"Bump version to {release}", files, head)
            history.tag(project.tag_format.format(version=release), head)
            if project.maintenance and release == project.releases[1]:
                history.branch(f"refs/heads/{project.maintenance}", head)
        assert head is not None
        history.commit("refs/heads/main", "Start the next development cycle",
                       {"VERSION": "dev\n"}, head)
        runner.run(["fast-import", "--quiet"], git_dir=upstream, input=history.stream())
        _make_mirror(site, project, runner)
        if project.queue:
            _make_queue(site, project, runner)
    site.config.write_text(_config_text(site))
    return site


def _make_queue(site: DemoSite, project: _Project, runner: GitRunner) -> None:
    """patchsets/<name>/<current>/: the riscv64 queue, as git format-patch writes it."""
    upstream = site.upstream(project.name)
    tag = project.tag_format.format(version=project.current)
    history = _History(start_time=1_712_000_000)
    head = f"refs/tags/{tag}^0"
    for message, files in project.queue:
        head = history.commit("refs/demo/queue", message, files, head)
    runner.run(["fast-import", "--quiet"], git_dir=upstream, input=history.stream())
    out = site.root / "patchsets" / project.name / project.current
    runner.run(["format-patch", "--quiet", "--zero-commit", "--no-signature", "--no-stat",
                "--full-index", "-o", str(out), f"refs/tags/{tag}..refs/demo/queue"],
               git_dir=upstream)
    runner.run(["update-ref", "-d", "refs/demo/queue"], git_dir=upstream)


def _make_mirror(site: DemoSite, project: _Project, runner: GitRunner) -> None:
    """A mirror as the builders keep it: only their own riscv64 branch, on the current release."""
    mirror = site.mirror(project.name)
    runner.run(["init", "--bare", "--quiet", str(mirror)])
    tag = project.tag_format.format(version=project.current)
    branch = f"refs/heads/riscv64/{project.current}"
    # The release tag is annotated: fetch it, branch from the commit it names, and
    # leave the tag itself for sync to bring.
    runner.run(["fetch", "--quiet", "--no-tags", str(site.upstream(project.name)),
                f"refs/tags/{tag}:refs/tags/{tag}"], git_dir=mirror)
    runner.run(["update-ref", branch, f"refs/tags/{tag}^{{commit}}"], git_dir=mirror)
    runner.run(["update-ref", "-d", f"refs/tags/{tag}"], git_dir=mirror)
    history = _History(start_time=1_710_000_000)
    history.commit(branch, "BLD: build riscv64 wheels\n\nUpstream-Status: Pending\n",
                   {".gitlab-ci.yml": "build:\n  script: cibuildwheel --archs riscv64\n"},
                   f"{branch}^0")
    runner.run(["fast-import", "--quiet"], git_dir=mirror, input=history.stream())


def _config_text(site: DemoSite) -> str:
    lines = ["# Made by `mirrorctl demo`: local upstreams and mirrors, no network.",
             "defaults:",
             "  mirror_url: \"mirrors/{name}.git\"",
             "  branches: [main, \"maintenance/*\"]",
             "  allowed_protocols: [file]",
             "  retries: 0",
             "packages:"]
    for project in _PROJECTS:
        lines += [f"  {project.name}:",
                  f"    upstream: upstreams/{project.name}.git",
                  f"    tag_format: \"{project.tag_format}\"",
                  f"    version: \"{project.current}\""]
    return "\n".join(lines) + "\n"


def evolve_upstreams(site: DemoSite, runner: GitRunner) -> list[str]:
    """Move the upstreams on the way real ones do between two nightly runs."""
    changes = []
    numpy = site.upstream("numpy")
    history = _History(start_time=1_720_000_000)
    head = history.commit("refs/heads/main", "BLD: move to meson-python; release 1.26.0",
                          {"VERSION": "1.26.0\n", "meson.build": "project('numpy', 'c')\n"
                           "blas = dependency('openblas')\n",
                           "pyproject.toml": "[build-system]\nbuild-backend = 'mesonpy'\n"
                           "requires = ['meson-python>=0.13.1', 'Cython>=3.0']\n"},
                          "refs/heads/main^0", deleted=("setup.py",))
    history.tag("v1.26.0", head)
    runner.run(["fast-import", "--quiet"], git_dir=numpy, input=history.stream())
    changes.append("numpy released v1.26.0, built with meson-python instead of setup.py")
    runner.run(["tag", "--force", "v1.25.1", "refs/heads/main"], git_dir=numpy)
    changes.append("numpy moved its v1.25.1 tag (a re-tag the mirror must not follow blindly)")

    pyyaml = site.upstream("pyyaml")
    history = _History(start_time=1_720_000_000)
    rewritten = history.commit("refs/heads/main", "Build the C loader with signed char "
                               "(#1); release 6.0.2", {"VERSION": "6.0.2\n",
                                                       "yaml/__init__.py": _PYYAML_FIX},
                               "refs/heads/main^0^")
    history.tag("6.0.2", rewritten)
    runner.run(["fast-import", "--quiet", "--force"], git_dir=pyyaml, input=history.stream())
    changes.append("pyyaml force-pushed main and released 6.0.2, with the riscv64 fix merged")

    cffi = site.upstream("cffi")
    history = _History(start_time=1_720_000_000)
    head = history.commit("refs/heads/main", "Release 1.17.2", {"VERSION": "1.17.2\n"},
                          "refs/heads/main^0")
    history.tag("v1.17.2", head)
    runner.run(["fast-import", "--quiet"], git_dir=cffi, input=history.stream())
    changes.append("cffi released v1.17.2: it carries no riscv64 patch, so its upgrade is "
                   "the version alone (most of the builders' packages are so)")

    scipy = site.upstream("scipy")
    history = _History(start_time=1_720_000_000)
    head = history.commit("refs/heads/main", "MAINT: rework cephes NaN; release 1.15.0",
                          {"VERSION": "1.15.0\n", "scipy/special/cephes.c":
                           "double cephes_nan(void) { return NAN; }\n"}, "refs/heads/main^0")
    history.tag("v1.15.0", head)
    runner.run(["fast-import", "--quiet"], git_dir=scipy, input=history.stream())
    runner.run(["update-ref", "-d", "refs/heads/maintenance/1.14.x"], git_dir=scipy)
    changes.append("scipy released v1.15.0, reworking the line its riscv64 patch changes, "
                   "and deleted its maintenance/1.14.x branch")
    return changes
