"""Real git repositories for tests, built in temporary directories.

Everything here runs under the sealed environment set up by conftest.py
(own HOME, no system config, fixed identity and dates).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml


def git(cwd: Path, *args: str, input: str | None = None) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True,
                            text=True, check=False)
    if result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed in {cwd}:\n{result.stderr}")
    return result.stdout.strip()


class Repo:
    """A repository the test scripts: an upstream with a work tree, or a bare mirror."""

    def __init__(self, path: Path, *, bare: bool = False) -> None:
        self.path = path
        if not path.exists():
            path.mkdir(parents=True)
            git(path, "init", "--quiet", *(["--bare"] if bare else []))

    def git(self, *args: str, input: str | None = None) -> str:
        return git(self.path, *args, input=input)

    def commit(self, message: str, files: dict[str, str] | None = None) -> str:
        for name, text in (files or {message.replace(" ", "_") + ".txt": message}).items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            self.git("add", name)
        self.git("commit", "--quiet", "-m", message)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def tag(self, name: str, at: str = "HEAD", *, annotated: bool = False,
            force: bool = False) -> str:
        flags = [*(["-a", "-m", name] if annotated else []), *(["-f"] if force else [])]
        self.git("tag", *flags, name, at)
        return self.rev(f"refs/tags/{name}")

    def branch(self, name: str, at: str = "HEAD") -> str:
        self.git("branch", "--force", name, at)
        return self.rev(f"refs/heads/{name}")

    def checkout(self, name: str) -> None:
        self.git("checkout", "--quiet", name)

    def rev(self, ref: str) -> str:
        return self.git("rev-parse", ref)

    def refs(self) -> dict[str, str]:
        out = self.git("for-each-ref", "--format=%(objectname) %(refname)",
                       "refs/heads", "refs/tags")
        return {ref: sha for sha, ref in (line.split(" ", 1) for line in out.splitlines())}


def make_upstream(path: Path) -> Repo:
    """main with two commits, a maintenance branch, a feature branch that is not
    mirrored, a lightweight and an annotated release tag."""
    repo = Repo(path)
    repo.commit("initial", {"README.md": "hello\n", "setup.py": "print('build')\n"})
    repo.tag("v1.0.0")
    repo.branch("maintenance/1.0.x")
    repo.commit("second", {"src/core.c": "int main(void) { return 0; }\n"})
    repo.tag("v1.1.0", annotated=True)
    repo.branch("feature/wip")
    return repo


def make_mirror(path: Path) -> Repo:
    return Repo(path, bare=True)


def write_config(path: Path, packages: dict[str, dict[str, object]],
                 **defaults: object) -> Path:
    data = {"defaults": {"allowed_protocols": ["file"], "branches": ["main", "maintenance/*"],
                         "retries": 0, **defaults},
            "packages": packages}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def make_big_upstream(path: Path, *, commits: int = 400, tags: int = 200,
                      branches: int = 10) -> Repo:
    """An upstream with many refs, written in one `git fast-import` (fast even for thousands)."""
    repo = Repo(path)
    stream = []
    for n in range(1, commits + 1):
        stream += ["commit refs/heads/main", f"mark :{n}",
                   f"committer Test Builder <builder@example.invalid> {1700000000 + n} +0000",
                   "data <<EOT", f"change {n}", "EOT",
                   *([f"from :{n - 1}"] if n > 1 else []),
                   f"M 644 inline src/file{n % 50}.c", "data <<EOT", f"int v{n} = {n};", "EOT",
                   ""]
    for t in range(tags):
        mark = 1 + t * (commits - 1) // max(1, tags - 1)
        stream += [f"tag v1.{t}.0", f"from :{mark}",
                   "tagger Test Builder <builder@example.invalid> 1700000000 +0000",
                   "data <<EOT", f"release 1.{t}.0", "EOT", ""]
    for b in range(branches):
        stream += [f"reset refs/heads/maintenance/1.{b}.x", f"from :{1 + b * commits // branches}",
                   ""]
    repo.git("fast-import", "--quiet", input="\n".join(stream) + "\n")
    repo.git("reset", "--quiet", "--hard", "main")
    return repo
