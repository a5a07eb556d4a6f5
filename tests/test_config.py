"""mirrors.yaml: every problem is reported with file, line and advice; exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mirrorctl.core.config import load_config
from mirrorctl.core.errors import ConfigError, UsageError

ROOT = Path(__file__).resolve().parent.parent

GOOD = """\
defaults:
  mirror_url: "https://gitlab.example.org/mirrors/{name}.git"
  branches: [main, "maintenance/*"]
packages:
  numpy:
    upstream: https://github.com/numpy/numpy.git
    tag_format: "v{version}"
    version: "2.2.4"
    pypi: numpy
    rank: 2
  sqlalchemy:
    upstream: https://github.com/sqlalchemy/sqlalchemy.git
    tag_format: "rel_{major}_{minor}_{micro}"
    protected: ["refs/heads/keep/*"]
"""


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "mirrors.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.exit_code == 2
    return [str(p).replace(str(path), "mirrors.yaml") for p in info.value.problems]


def test_good_config_resolves_defaults_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "mirrors.yaml"
    path.write_text(GOOD)
    config = load_config(path)
    numpy, sqla = config.packages["numpy"], config.packages["sqlalchemy"]
    assert numpy.mirror == "https://gitlab.example.org/mirrors/numpy.git"
    assert numpy.branches == ("main", "maintenance/*")
    assert numpy.protected == ("refs/heads/riscv64/*",)
    assert numpy.tag_format.tag_for("2.2.4") == "v2.2.4"
    assert numpy.version == "2.2.4" and numpy.rank == 2
    assert sqla.pypi == "sqlalchemy" and sqla.version is None
    # A package's protected globs add to the defaults, never replace them.
    assert sqla.protected == ("refs/heads/riscv64/*", "refs/heads/keep/*")
    assert sqla.tag_format.version_of("rel_2_0_40") == "2.0.40"
    assert config.jobs == 4


def test_unknown_key_names_line_and_closest_key(tmp_path: Path) -> None:
    text = GOOD.replace('    tag_format: "v{version}"', '    tagformat: "v{version}"')
    assert problems(tmp_path, text) == [
        "mirrors.yaml:7: packages.numpy.tagformat: unknown key, did you mean tag_format?"]


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    text = GOOD.replace("rank: 2", "rank: -1").replace('version: "2.2.4"', "version: 1.10")
    found = problems(tmp_path, text)
    assert found[0].startswith("mirrors.yaml:8: packages.numpy.version: must be a quoted string")
    assert found[1].startswith("mirrors.yaml:10: packages.numpy.rank: must be a whole number")


@pytest.mark.parametrize(("snippet", "expected"), [
    ("upstream: https://user:secret@github.com/numpy/numpy.git",
     "mirrors.yaml:6: packages.numpy.upstream: the URL carries credentials"),
    ("upstream: https://glpat-abcdef123@github.com/numpy/numpy.git",
     "mirrors.yaml:6: packages.numpy.upstream: the URL carries credentials"),
    ("upstream: ext::sh -c touch% /tmp/pwned",
     "mirrors.yaml:6: packages.numpy.upstream: protocol 'ext' is not allowed"),
    ("upstream: /srv/git/numpy",
     "mirrors.yaml:6: packages.numpy.upstream: protocol 'file' is not allowed"),
    ("upstream: --upload-pack=touch /tmp/pwned",
     "mirrors.yaml:6: packages.numpy.upstream: '--upload-pack=touch /tmp/pwned' starts with '-'"),
    ('tag_format: "v{ver}"',
     "mirrors.yaml:7: packages.numpy.tag_format: unknown field {ver}"),
    ('version: "two"', "mirrors.yaml:8: packages.numpy.version: 'two' is not a PEP 440 version"),
])
def test_bad_values(tmp_path: Path, snippet: str, expected: str) -> None:
    # Replace the numpy entry's line for this key (numpy's block comes first).
    key = snippet.split(":")[0]
    start = GOOD.index(f"    {key}:")
    end = GOOD.index("\n", start)
    text = GOOD[:start] + "    " + snippet + GOOD[end:]
    found = problems(tmp_path, text)
    assert found and found[0].startswith(expected), found


def test_missing_upstream(tmp_path: Path) -> None:
    text = GOOD.replace("    upstream: https://github.com/numpy/numpy.git\n", "")
    assert problems(tmp_path, text) == [
        "mirrors.yaml:5: packages.numpy: missing required key 'upstream' (the upstream git URL)"]


def test_malformed_yaml(tmp_path: Path) -> None:
    found = problems(tmp_path, "packages:\n  numpy: [unclosed\n")
    assert len(found) == 1 and found[0].startswith("mirrors.yaml:3: not valid YAML")


def test_duplicate_keys_and_aliases_are_refused(tmp_path: Path) -> None:
    text = GOOD + "  numpy:\n    upstream: https://github.com/other/numpy.git\n"
    assert problems(tmp_path, text) == [
        "mirrors.yaml:15: packages.numpy: duplicate key (first defined on line 5)"]
    bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\npackages: *c\n"
    assert any("aliases are not supported" in p for p in problems(tmp_path, bomb))


def test_bad_package_names_and_a_package_without_a_mirror(tmp_path: Path) -> None:
    text = ("packages:\n  -rf:\n    upstream: https://github.com/a/b.git\n"
            "  ok:\n    upstream: https://github.com/a/c.git\n")
    assert problems(tmp_path, text) == [
        "mirrors.yaml:2: packages.-rf: package name '-rf' must be letters, digits, '.', '_' or "
        "'-', starting with a letter or digit",
    ]
    # No mirror and no mirror_url: upstream is read into the cache alone.
    path = tmp_path / "alone.yaml"
    path.write_text("packages:\n  ok:\n    upstream: https://github.com/a/c.git\n")
    assert load_config(path).packages["ok"].mirror is None


def test_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found; pass --config FILE"):
        load_config(tmp_path / "nope.yaml")


def test_unknown_package_on_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "mirrors.yaml"
    path.write_text(GOOD)
    with pytest.raises(UsageError, match="unknown package 'nunpy', did you mean numpy"):
        load_config(path).select(["nunpy"])


def test_local_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "mirrors.yaml"
    path.parent.mkdir()
    path.write_text("defaults:\n  allowed_protocols: [file]\npackages:\n  a:\n"
                    "    upstream: ./up\n    mirror: ../mirror.git\n")
    package = load_config(path).packages["a"]
    assert package.upstream == str(tmp_path / "sub" / "up")
    assert package.mirror == str(tmp_path / "mirror.git")


def test_shipped_inventory_is_valid() -> None:
    """The builders' active list, mirror-less, and the talk's top-30 they retired."""
    config = load_config(ROOT / "mirrors.yaml")
    active = [p for p in config.packages.values() if not p.retired]
    retired = sorted(p.name for p in config.packages.values() if p.retired)
    assert len(active) == 42 and len(retired) == 11
    assert {"numpy", "PyYAML", "torch", "polars-runtime-32", "polars-runtime-64"} <= \
        {p.name for p in active}
    assert all(p.mirror is None and p.upstream.startswith("https://")
               for p in config.packages.values())
    packages = config.packages
    assert packages["torch"].tag_format.tag_for(packages["torch"].version or "") == "v2.13.0"
    assert packages["protobuf"].tag_format.tag_for("7.35.1") == "v35.1"
    assert packages["psutil"].tag_format.tag_for("7.1.0") == "release-7.1.0"
    assert packages["polars-runtime-64"].cache == "polars-runtime-32"
    assert config.check_vocabulary == "builders" and config.patchsets == ROOT / "patches"
    assert "3.14t" in config.python_versions


def test_shipped_inventory_is_what_the_import_of_their_lists_gives(run_cli) -> None:
    """mirrors.yaml is regenerated from the builders' packages.txt / deprecated.txt: the
    pair as builders.md lists them leaves it exactly as it is."""
    lists = ROOT / "tests" / "data" / "builders"
    result = run_cli("--config", str(ROOT / "mirrors.yaml"), "inventory", "--check",
                     str(lists / "packages.txt"), str(lists / "deprecated.txt"))
    assert result.code == 0, result.out
    assert result.out.strip().endswith("already in line with the lists")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="abcXYZ019-_.", min_size=1, max_size=12))
def test_names_compare_as_packaging_compares_them(name: str) -> None:
    from packaging.utils import canonicalize_name

    from mirrorctl.core.names import canonical_name

    assert canonical_name(name) == canonicalize_name(name)
