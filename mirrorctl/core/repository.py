"""One git directory (bare, for caches), run through a GitRunner (core.git): its refs and
tags, its objects and trees, commits written, pushes with a lease.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mirrorctl.core.errors import FileSystemError, GitError
from mirrorctl.core.git import Completed, GitRunner, parse_ref_lines
from mirrorctl.core.keptfile import KeptFile, KeptFileError, want
from mirrorctl.core.objects import commit_data, files_refs, git_date, plain_ident, write_loose

__all__ = ["PEELED_FILE", "LeasedUpdate", "PushedRef", "Repository"]

log = logging.getLogger("mirrorctl.core.git")  # every git command is logged there


@dataclass(frozen=True, kw_only=True)
class LeasedUpdate:
    """Set `ref` in a remote to `new` (None deletes it) only if it still holds `expected`."""

    ref: str
    expected: str | None
    new: str | None


@dataclass(frozen=True, kw_only=True)
class PushedRef:
    ref: str
    status: Literal["ok", "rejected"]
    detail: str


_PUSH_BATCH = 500  # refs a push: keeps argv well under ARG_MAX on the first sync of a big repo

# {object: (the commit it peels to, its tree), or None: a tag of a tree or a blob}
Peeled = dict[str, tuple[str, str] | None]


def _peeled_from_json(data: dict[str, object]) -> Peeled:
    return {str(oid): (str(pair[0]), str(pair[1])) if pair else None
            for oid, pair in want(data, "peeled", dict).items()
            if pair is None or len(pair) == 2}


# What each tag object peels to, kept beside the repository (an object never changes).
# Format 1 was the mapping alone, without a format.
PEELED_FILE = KeptFile[Peeled](
    what="the tags' commits and trees, kept", format=2, unformatted=1, indent=None,
    sort_keys=True, migrations={1: lambda peeled: {"peeled": peeled}},
    encode=lambda peeled: {"peeled": {oid: list(pair) if pair else None
                                      for oid, pair in peeled.items()}},
    decode=_peeled_from_json)


class Repository:
    """One git directory (bare, for caches), run through a GitRunner."""

    def __init__(self, git_dir: Path, runner: GitRunner) -> None:
        self.git_dir = git_dir
        self.runner = runner
        self._tags: dict[str, str | None] | None = None  # read_tags(): tag -> commit
        # read_tags(): every branch and tag as read, {ref: object id} (None: not read).
        self.read_refs: dict[str, str] | None = None
        self._trees: dict[str, str] = {}  # commit -> tree, as they are learnt
        self._unkept: Peeled | None = None  # peeled, not kept yet

    def read_tags(self, *, keep: bool = True) -> None:
        """Read every tag, the commit it names and that commit's tree; tag_commit,
        tag_tree, tag_names and tree_of answer from it until this repository object is
        dropped. Only for work that moves no tag (grading, reporting). The refs are read
        from git's files ref store without a process where it is plain, and what each tag
        object peels to is kept beside the repository (an object never changes): a report
        of 1,000 packages starts git only for tags it has not seen. Else one
        `for-each-ref`. `keep=False`: what was peeled is kept only by keep_tags() (work
        that may yet refuse its input writes nothing)."""
        both = files_refs(self.git_dir, ("refs/heads/", "refs/tags/")) \
            if self.runner.in_process else None
        if both is None:
            both = self.refs("refs/heads", "refs/tags")
        self.read_refs = both
        refs = {ref: oid for ref, oid in both.items() if ref.startswith("refs/tags/")}
        peeled = self._peeled(set(refs.values()), keep=keep)
        self._tags = {}
        for ref, oid in refs.items():
            commit, tree = peeled.get(oid) or (None, None)
            self._tags[ref.removeprefix("refs/tags/")] = commit
            if commit is not None and tree is not None:
                self._trees[commit] = tree

    def keep_tags(self) -> None:
        """Keep what read_tags(keep=False) peeled that was not kept yet."""
        if self._unkept is not None:
            kept, self._unkept = self._unkept, None
            with contextlib.suppress(FileSystemError):  # read-only: asked again next time
                PEELED_FILE.write(self.git_dir / "mirrorctl" / "peeled.json", kept)

    def _peeled(self, oids: set[str], *, keep: bool) -> Peeled:
        """{object: (the commit it peels to, its tree), or None (a tag of a tree or a
        blob)}: kept in mirrorctl/peeled.json, the objects not kept yet asked of one
        `cat-file --batch-check`."""
        kept_file = self.git_dir / "mirrorctl" / "peeled.json"
        kept: Peeled = {}
        if self.runner.in_process:
            with contextlib.suppress(KeptFileError):  # a cache: what does not read is asked
                kept = PEELED_FILE.read(kept_file) or {}
        unknown = sorted(oids - kept.keys())
        if unknown:
            out = self.git("cat-file", "--batch-check=%(objectname)", input="".join(
                f"{oid}^{{commit}}\n{oid}^{{tree}}\n" for oid in unknown)).stdout.split("\n")
            for number, oid in enumerate(unknown):
                commit, tree = out[2 * number], out[2 * number + 1]
                kept[oid] = ((commit, tree) if not commit.endswith(" missing")
                             and not tree.endswith(" missing") else None)
            if self.runner.in_process:
                self._unkept = kept
                if keep:
                    self.keep_tags()
        return kept

    def tag_names(self) -> list[str]:
        if self._tags is not None:
            return list(self._tags)
        return [ref.removeprefix("refs/tags/") for ref in self.refs("refs/tags")]

    def tag_commit(self, tag: str) -> str | None:
        """The commit tag `tag` names, or None (no such tag, or not a commit's)."""
        if self._tags is not None:
            return self._tags.get(tag)
        return self.resolve(f"refs/tags/{tag}^{{commit}}")

    def tag_tree(self, tag: str) -> str | None:
        """The tree of the commit tag `tag` names, or None."""
        commit = self.tag_commit(tag)
        if commit is not None and commit in self._trees:
            return self._trees[commit]
        return self.resolve(f"refs/tags/{tag}^{{tree}}")

    def tree_of(self, commit: str) -> str:
        """The tree of `commit` (a tag's, known from read_tags, is not asked again)."""
        if commit not in self._trees:
            self._trees[commit] = self.git("rev-parse", "--verify", "--end-of-options",
                                           f"{commit}^{{tree}}").stdout.strip()
        return self._trees[commit]

    def git(self, *args: str, input: str | None = None, check: bool = True,
            env: Mapping[str, str] | None = None) -> Completed:
        return self.runner.run(args, git_dir=self.git_dir, input=input, check=check, env=env)

    @classmethod
    def open_or_init_bare(cls, git_dir: Path, runner: GitRunner) -> Repository:
        repo = cls(git_dir, runner)
        if not (git_dir / "HEAD").is_file():
            git_dir.parent.mkdir(parents=True, exist_ok=True)
            runner.run(["init", "--bare", "--quiet", str(git_dir)])
        return repo

    def remove_stale_locks(self) -> list[Path]:
        """Delete *.lock files a killed git left behind. Safe only under mirrorctl's work-
        directory lock, which every git child holds too (GitSettings.inherit_fds): when we
        have it, no git that could own these files is still running."""
        candidates = [*self.git_dir.glob("*.lock"), *(self.git_dir / "refs").rglob("*.lock")]
        for path in candidates:
            path.unlink(missing_ok=True)
        return candidates

    def has_refs(self) -> bool:
        """Whether the repository holds any branch or tag, read from git's files ref store
        (loose refs under refs/, packed-refs) without starting git: a sync asks this of
        every cache, every night. Another ref store asks git."""
        if (self.git_dir / "reftable").exists():
            return bool(self.git("for-each-ref", "--count=1", "refs/heads",
                                 "refs/tags").stdout.strip())
        packed = self.git_dir / "packed-refs"
        with contextlib.suppress(OSError):
            if any(line and line[0] not in "#^" for line in
                   packed.read_text(encoding="utf-8", errors="replace").splitlines()):
                return True
        for kind in ("heads", "tags"):
            for _, _, files in os.walk(self.git_dir / "refs" / kind):
                if any(not name.endswith(".lock") for name in files):
                    return True
        return False

    def refs(self, *patterns: str) -> dict[str, str]:
        out = self.git("for-each-ref", "--format=%(objectname) %(refname)",
                       *(patterns or ("refs/heads", "refs/tags"))).stdout
        return parse_ref_lines(out, sep=" ", sha_first=True)

    def pack_refs(self) -> None:
        """Every loose ref into packed-refs: one file to read instead of one a ref."""
        self.git("pack-refs", "--all")

    def fetch(self, url: str, refs: Iterable[str]) -> None:
        """Fetch `refs` from `url` into the same names here, all or nothing."""
        self.fetch_refspecs(url, [f"+{ref}:{ref}" for ref in refs])

    def fetch_refspecs(self, url: str, refspecs: Iterable[str]) -> None:
        self.git("fetch", "--atomic", "--no-tags", "--no-write-fetch-head", "--quiet",
                 "--stdin", "--", url, input="".join(f"{spec}\n" for spec in refspecs))

    def resolve(self, ref: str) -> str | None:
        """The object id `ref` names here, or None."""
        result = self.git("rev-parse", "--verify", "--quiet", "--end-of-options", ref,
                          check=False)
        return result.stdout.strip() or None

    def update_ref(self, ref: str, new: str, expected: str | None) -> None:
        """Set `ref` to `new` if it still holds `expected` (None: must not exist)."""
        self.git("update-ref", "--no-deref", "--", ref, new, expected or "0" * 40)

    def delete_refs(self, refs: Mapping[str, str]) -> None:
        """Delete {ref: expected value} in one transaction."""
        if refs:
            self.git("update-ref", "--stdin", input="".join(
                f"delete {ref} {old}\n" for ref, old in refs.items()))

    def missing_objects(self, oids: Iterable[str]) -> set[str]:
        """The objects of `oids` this repository lacks. An object whose loose file is
        there is there: only the others (packed, or gone) are asked of
        `cat-file --batch-check`."""
        wanted = sorted(set(oids))
        if self.runner.in_process:
            objects = self.git_dir / "objects"
            wanted = [oid for oid in wanted
                      if len(oid) != 40 or not (objects / oid[:2] / oid[2:]).is_file()]
        if not wanted:
            return set()
        out = self.git("cat-file", "--batch-check", input="\n".join(wanted) + "\n").stdout
        return {line.split()[0] for line in out.splitlines() if line.endswith(" missing")}

    def tree_entries(self, rev: str) -> list[tuple[str, str, str, str]]:
        """(mode, type, object id, path) of every entry in `rev`'s tree, recursively."""
        out = self.git("ls-tree", "-r", "-z", "--full-tree", "--end-of-options", rev).raw_stdout
        entries = []
        for record in out.split(b"\0"):
            if record:
                meta, _, path = record.partition(b"\t")
                mode, kind, oid = meta.decode().split()
                entries.append((mode, kind, oid, path.decode("utf-8", "surrogateescape")))
        return entries

    def files_at(self, rev: str, pathspecs: Sequence[str]) -> dict[str, str]:
        """The text of the files under `pathspecs` in `rev`'s tree (two git commands);
        a file that is no UTF-8 text is left out."""
        out = self.git("ls-tree", "-r", "-z", "--full-tree", "--end-of-options", rev, "--",
                       *pathspecs).raw_stdout
        wanted = {}
        for record in out.split(b"\0"):
            meta, _, raw = record.partition(b"\t")
            if record and meta.split()[1:2] == [b"blob"]:
                wanted[raw.decode("utf-8", "surrogateescape")] = meta.split()[2].decode()
        blobs = self.read_blobs(wanted.values())
        files: dict[str, str] = {}
        for name, oid in wanted.items():
            try:
                files[name] = blobs[oid].decode("utf-8")
            except (KeyError, UnicodeDecodeError):
                continue
        return files

    def write_commit_object(self, tree: str, parent: str, message: str, *, name: str,
                            email: str) -> str:
        """A throwaway commit of `tree` on `parent`, by `name` <`email`> at the epoch:
        what `git commit-tree -m` writes."""
        return self.commit(tree, parent, message.rstrip("\n") + "\n", name=name, email=email,
                           date="1970-01-01T00:00:00 +0000")

    def commit(self, tree: str, parent: str, message: str, *, name: str, email: str,
               date: str) -> str:
        """A commit of `tree` on `parent` with `message` as it is, authored and committed
        by `name` <`email`> at `date`: what `git commit-tree -F -` writes, byte for byte,
        its object written here directly where objects.py knows the formats
        (tests/test_objects.py compares); else by commit-tree."""
        when = git_date(date) if self.runner.in_process and plain_ident(name, email) \
            and len(tree) == len(parent) == 40 else None
        who = f"{name} <{email}> {when}"
        data = commit_data(tree, parent, message, author=who, committer=who) if when else None
        if data is not None:
            return write_loose(self.git_dir, b"commit", data)
        return self.git("commit-tree", tree, "-p", parent, "-F", "-", input=message, env={
            "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_AUTHOR_DATE": date,
            "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email,
            "GIT_COMMITTER_DATE": date}).stdout.strip()

    def write_blob(self, text: str) -> str:
        """Store `text` as a blob; its object id."""
        return self.git("hash-object", "-w", "--stdin", input=text).stdout.strip()

    def read_blobs(self, oids: Iterable[str]) -> dict[str, bytes]:
        """The contents of blobs, read through one `git cat-file --batch`."""
        wanted = list(dict.fromkeys(oids))
        if not wanted:
            return {}
        out = self.git("cat-file", "--batch", input="\n".join(wanted) + "\n").raw_stdout
        blobs, position = {}, 0
        for oid in wanted:
            header_end = out.index(b"\n", position)
            header = out[position:header_end].decode().split()
            position = header_end + 1
            if len(header) == 3:
                size = int(header[2])
                blobs[oid] = out[position:position + size]
                position += size + 1
        return blobs

    def is_ancestor(self, old: str, new: str) -> bool:
        result = self.git("merge-base", "--is-ancestor", old, new, check=False)
        if result.returncode not in (0, 1):
            raise GitError(["git", "merge-base", "--is-ancestor", old, new], result.returncode,
                           result.stdout, result.stderr)
        return result.returncode == 0

    def push(self, url: str, updates: Sequence[LeasedUpdate]) -> list[PushedRef]:
        """Push each update with its own lease. Rejections are results, not exceptions."""
        results: list[PushedRef] = []
        for start in range(0, len(updates), _PUSH_BATCH):
            results += self._push_batch(url, updates[start:start + _PUSH_BATCH])
        return results

    def _push_batch(self, url: str, updates: Sequence[LeasedUpdate]) -> list[PushedRef]:
        leases = [f"--force-with-lease={u.ref}:{u.expected or ''}" for u in updates]
        refspecs = [f"{u.new or ''}:{u.ref}" for u in updates]
        result = self.git("push", "--porcelain", *leases, "--", url, *refspecs,
                          check=False)
        pushed = _parse_porcelain(result.stdout)
        if result.returncode != 0 and not pushed:
            # Nothing was reported ref by ref: the push as a whole failed.
            raise GitError(["git", "push", "--", url], result.returncode, result.stdout,
                           result.stderr)
        missing = [u.ref for u in updates if u.ref not in pushed]
        for ref in missing:
            pushed[ref] = PushedRef(ref=ref, status="rejected",
                                    detail="git reported nothing for this ref")
        return [pushed[u.ref] for u in updates]


def _parse_porcelain(text: str) -> dict[str, PushedRef]:
    pushed = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) != 3 or len(parts[0]) != 1:
            continue
        flag, spec, summary = parts
        ref = spec.rpartition(":")[2]
        status: Literal["ok", "rejected"] = "rejected" if flag == "!" else "ok"
        pushed[ref] = PushedRef(ref=ref, status=status, detail=summary.strip())
    return pushed
