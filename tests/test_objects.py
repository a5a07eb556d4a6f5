"""git's formats read and written in-process (core/objects.py) give git's own answers,
byte for byte: commits as `git commit-tree` writes them, tags as `git for-each-ref` and
`rev-parse` read them. Each property runs git beside mirrorctl on generated inputs."""

from __future__ import annotations

import datetime
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mirrorctl.core.errors import MirrorctlError
from mirrorctl.core.git import GitRunner, GitSettings
from mirrorctl.core.objects import files_refs, git_date, plain_ident
from mirrorctl.core.repository import Repository
from tests.gitrepos import git

PROCESSES = {"MIRRORCTL_GIT_PATH": "processes"}
WHO = {"GIT_AUTHOR_NAME": "R", "GIT_AUTHOR_EMAIL": "r@x", "GIT_COMMITTER_NAME": "R",
       "GIT_COMMITTER_EMAIL": "r@x", "GIT_AUTHOR_DATE": "1700000000 +0000",
       "GIT_COMMITTER_DATE": "1700000000 +0000"}
_FIXTURES = [HealthCheck.function_scoped_fixture]


def bare(path: Path, **env: str) -> Repository:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "--quiet", "--bare")
    return Repository(path, GitRunner(GitSettings(base_env=env)))


def _rfc2822(when: datetime.datetime, weekday: bool) -> str:
    text = when.strftime("%a, %-d %b %Y %H:%M:%S %z")
    return text if weekday else text.split(", ", 1)[1]


offsets = st.integers(-12 * 60, 14 * 60).map(lambda m: datetime.timezone(
    datetime.timedelta(minutes=m)))
moments = st.builds(lambda t, z: t.replace(tzinfo=z), st.datetimes(
    datetime.datetime(1970, 1, 2), datetime.datetime(2099, 12, 30)), offsets)
dates = st.one_of(
    st.builds(_rfc2822, moments, st.booleans()),
    moments.map(lambda t: t.strftime("%Y-%m-%dT%H:%M:%S %z")),
    st.sampled_from(["1970-01-01T00:00:00 +0000", "Mon, 1 Jan 2024 00:00:00 -0000",
                     "Sat, 1 Jan 2000 00:00:00 -0001", "2000-01-01T00:00:00 -0001",
                     "Mon, 31 Feb 2024 10:00:00 +0000", "Tue, 2 Jan 2024 23:59:60 +0100",
                     "2024-01-01 00:00:00 +0000", "@1700000000 +0000", "yesterday"]))
idents = st.text(st.characters(blacklist_categories=("Cs",), max_codepoint=0x2FF),
                 min_size=1, max_size=12)
messages = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


@settings(max_examples=60, deadline=None, suppress_health_check=_FIXTURES)
@given(name=idents, email=idents, date=dates, message=messages)
def test_a_commit_written_in_process_is_byte_for_byte_the_one_commit_tree_writes(
        tmp_path_factory: pytest.TempPathFactory, name: str, email: str, date: str,
        message: str) -> None:
    """Every patch's commit skips a process where the date and identity are plain; where
    they are not, git writes it. Either way the id is git's."""
    root = tmp_path_factory.mktemp("commit")
    ours, theirs = bare(root / "ours"), bare(root / "theirs", **PROCESSES)
    assume("\0" not in name + email and "\n" not in name + email)
    commits = []
    for repo in (ours, theirs):
        tree = repo.git("mktree", input="").stdout.strip()
        parent = repo.git("commit-tree", tree, "-m", "root", env=WHO).stdout.strip()
        try:
            commits.append(repo.commit(tree, parent, message, name=name, email=email,
                                       date=date))
        except MirrorctlError as exc:  # git refuses the identity or the date: both must
            commits.append(f"refused: {type(exc).__name__}")
    assert commits[0] == commits[1]
    if not commits[0].startswith("refused"):
        assert ours.git("cat-file", "commit", commits[0]).raw_stdout == \
            theirs.git("cat-file", "commit", commits[1]).raw_stdout
        ours.git("fsck", "--strict", "--no-dangling")


@settings(max_examples=200, deadline=None)
@given(date=dates)
def test_a_date_read_in_process_is_the_one_git_records(date: str) -> None:
    seconds = git_date(date)
    if seconds is None:
        return  # git reads it itself: nothing to compare
    out = subprocess.run(["git", "var", "GIT_AUTHOR_IDENT"], capture_output=True, text=True,
                         env={"GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "b",
                              "GIT_AUTHOR_DATE": date, "GIT_CONFIG_NOSYSTEM": "1",
                              "HOME": "/nonexistent", "PATH": "/usr/bin:/bin"}, check=True)
    assert out.stdout.strip() == f"a <b> {seconds}"


def test_identities_git_would_rewrite_are_left_to_git() -> None:
    assert plain_ident("A Builder", "builder@example.invalid")
    for name in (" lead", "trail.", "<angle>", "in<side", "quote'", "tab\t"):
        assert not plain_ident(name, "a@b")


# Tag names as projects spell them, and some git refuses or reads its own way.
tag_names = st.from_regex(r"(?:[a-z]{1,3}/)?[vV]?[0-9]{1,2}(?:\.[0-9]{1,2}){0,2}"
                          r"(?:rc[0-9]|\.post1|-[a-z]{1,4})?", fullmatch=True)
kinds = st.sampled_from(["light", "annotated", "tag-of-tag", "tree", "blob"])


@settings(max_examples=30, deadline=None, suppress_health_check=_FIXTURES)
@given(tags=st.dictionaries(tag_names, st.tuples(kinds, st.integers(0, 2)), min_size=1,
                            max_size=8),
       packed=st.sets(tag_names, max_size=4), odd=st.sampled_from(
           ["", "symbolic", "lock", "broken", "packed-after"]))
def test_tags_read_from_the_ref_store_are_the_ones_git_lists(
        tmp_path_factory: pytest.TempPathFactory, tags: dict[str, tuple[str, int]],
        packed: set[str], odd: str) -> None:
    """The report reads every package's tags without a process; what it reads (each tag's
    commit and tree) is what for-each-ref and rev-parse say, whatever the mix of loose and
    packed refs, annotated tags, tags of trees and unusual files."""
    path = tmp_path_factory.mktemp("tags") / "repo.git"
    repo = bare(path)
    commits = []
    tree = repo.git("mktree", input="").stdout.strip()
    parent = None
    for n in range(3):
        blob = repo.write_blob(f"file {n}\n")
        tree = repo.git("mktree", input=f"100644 blob {blob}\tf{n}\n").stdout.strip()
        args = ["commit-tree", tree, "-m", f"c{n}", *(["-p", parent] if parent else [])]
        parent = repo.git(*args, env=WHO).stdout.strip()
        commits.append(parent)
    made = []
    for name, (kind, n) in tags.items():
        ref = f"refs/tags/{name}"
        target = {"tree": tree, "blob": repo.write_blob("b\n")}.get(kind, commits[n])
        if kind in ("annotated", "tag-of-tag"):
            target = repo.git("mktag", input=f"object {commits[n]}\ntype commit\ntag {name}\n"
                              "tagger T <t@x> 0 +0000\n\nannotated\n").stdout.strip()
        if kind == "tag-of-tag":
            target = repo.git("mktag", input=f"object {target}\ntype tag\ntag {name}\n"
                              "tagger T <t@x> 0 +0000\n\nof a tag\n").stdout.strip()
        if repo.git("update-ref", ref, target, check=False).returncode == 0:
            made.append(name)
    assume(made)
    if packed & set(made):
        repo.git("pack-refs", "--all")  # then some are loose again, moved since
        for name in sorted(packed & set(made)):
            repo.git("update-ref", f"refs/tags/{name}", commits[0])
    if odd == "symbolic":
        (path / "refs" / "tags" / "zz-sym").write_text(f"ref: refs/tags/{made[0]}\n")
    elif odd == "lock":
        (path / "refs" / "tags" / "zz.lock").write_text(f"{commits[1]}\n")
    elif odd == "broken":
        (path / "refs" / "tags" / "zz-broken").write_text("not a ref\n")
    elif odd == "packed-after":
        repo.git("pack-refs", "--all")
    listed = repo.git("for-each-ref", "--format=%(objectname) %(refname)",
                      "refs/tags").stdout.splitlines()
    read = files_refs(path, "refs/tags/")
    if odd in ("symbolic", "broken"):
        assert read is None  # not plain: git is asked
    else:
        assert read is not None
        assert [f"{oid} {ref}" for ref, oid in read.items()] == listed
    ours, theirs = (Repository(path, GitRunner(GitSettings(base_env=env)))
                    for env in ({}, PROCESSES))
    for repo_ in (ours, theirs):
        repo_.read_tags()
    assert ours.tag_names() == theirs.tag_names()
    for name in ours.tag_names():
        assert ours.tag_commit(name) == theirs.tag_commit(name) == \
            repo.resolve(f"refs/tags/{name}^{{commit}}")
        assert ours.tag_tree(name) == theirs.tag_tree(name) == \
            repo.resolve(f"refs/tags/{name}^{{tree}}")


def test_a_tag_seen_once_is_read_again_without_git(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """What a tag object peels to never changes: kept, a morning's report reads every
    package's tags without starting git; a new tag is asked of git, once."""
    path = tmp_path / "repo.git"
    repo = bare(path)
    tree = repo.git("mktree", input="").stdout.strip()
    commit = repo.git("commit-tree", tree, "-m", "c", env=WHO).stdout.strip()
    repo.git("update-ref", "refs/tags/v1.0", commit)
    Repository(path, repo.runner).read_tags()
    started: list[list[str]] = []
    real_start = GitRunner.start

    def counting(self: GitRunner, args: list[str], **kwargs: object) -> object:
        started.append(list(args))
        return real_start(self, args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(GitRunner, "start", counting)
    again = Repository(path, repo.runner)
    again.read_tags()
    assert started == []
    assert again.tag_commit("v1.0") == commit and again.tag_tree("v1.0") == tree
    newer = repo.git("commit-tree", tree, "-p", commit, "-m", "d", env=WHO).stdout.strip()
    (path / "refs" / "tags" / "v1.1").write_text(f"{newer}\n")
    (path / "refs" / "tags" / "v1.2").write_text("0" * 40 + "\n")  # not plain: git reads
    started.clear()
    third = Repository(path, repo.runner)
    third.read_tags()
    assert [args[0] for args in started] == ["for-each-ref", "cat-file"]
    assert third.tag_names() == ["v1.0", "v1.1"] and third.tag_commit("v1.1") == newer


def test_an_unknown_git_path_is_refused_by_name() -> None:
    with pytest.raises(MirrorctlError, match="MIRRORCTL_GIT_PATH=fast: it is one of "
                                             "in-process, processes") as refused:
        GitRunner(GitSettings(base_env={"MIRRORCTL_GIT_PATH": "fast"}))
    assert refused.value.exit_code == 2  # a usage error, as a bad flag is


def test_refs_read_beside_a_pack_refs_are_whole_or_left_to_git(tmp_path: Path) -> None:
    """A reader beside a sync that fetches (a loose file a new ref) and packs the refs
    (`git pack-refs` writes packed-refs, then deletes the loose files): every ref made
    before a read began is in it with its value, or the read is None (git is asked);
    never a ref missing. Packed-refs read before the loose files missed the refs
    packed in between."""
    import threading

    path = tmp_path / "cache.git"
    repo = bare(path)
    tree = repo.git("mktree", input="").stdout.strip()
    commit = repo.git("commit-tree", tree, "-m", "c", env=WHO).stdout.strip()
    made: list[str] = []  # in the order made; a name is listed once its file is whole

    def fetch_and_pack() -> None:
        for _ in range(40):
            for _ in range(25):
                name = f"refs/tags/v{len(made):05d}"
                (path / f"{name}.lock").write_text(f"{commit}\n")
                (path / f"{name}.lock").replace(path / name)
                made.append(name)
            git(path, "pack-refs", "--all")

    writer = threading.Thread(target=fetch_and_pack)
    writer.start()
    reads = []
    while writer.is_alive():
        before = list(made)
        reads.append((before, files_refs(path, "refs/tags/")))
    writer.join()
    whole = [(before, read) for before, read in reads if read is not None]
    assert len(whole) > len(reads) // 2, "the reads were left to git"
    for before, read in whole:
        missing = [name for name in before if read.get(name) != commit]
        assert not missing, f"{len(missing)} refs missing from a read, e.g. {missing[0]}"
