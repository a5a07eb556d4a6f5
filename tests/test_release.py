"""The release value (core.release): its public and local forms agree with
packaging's reading of the same text, its tag goes through the package's TagFormat and
back, and releases order as PEP 440 versions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.version import InvalidVersion, Version

from mirrorctl.core.release import Release
from mirrorctl.core.tagformat import TagFormat

_NUMBER = st.integers(min_value=0, max_value=300)
_LABEL = st.from_regex(r"[a-z0-9]{1,6}(\.[a-z0-9]{1,4})?", fullmatch=True)


@st.composite
def versions(draw: st.DrawFn, local: bool | None = None) -> str:
    """Texts as upstreams and the builders write them: 2.13.0, 1.2rc1, 3.0.post2,
    0.9.dev4, with or without a local label."""
    parts = draw(st.lists(_NUMBER, min_size=1, max_size=4))
    text = ".".join(map(str, parts))
    text += draw(st.sampled_from(["", "a1", "b2", "rc1", ".post2", ".dev4"]))
    if local or (local is None and draw(st.booleans())):
        text += "+" + draw(_LABEL)
    return text


@given(versions())
def test_public_and_local_are_packagings(text: str) -> None:
    release = Release(text)
    assert Version(release.public) == Version(Version(text).public)
    assert release.local == Version(text).local
    assert release.public + release.suffix == text  # as written: a folder's name
    assert release.suffix == ("" if release.local is None else text[text.index("+"):])
    assert str(release) == text and release.version == Version(text)


@given(versions(local=False), st.sampled_from(["v{version}", "{version}", "release-{version}",
                                                "py-{version}"]))
def test_a_release_is_its_tag_under_a_format_and_back(text: str, template: str) -> None:
    tag_format = TagFormat(template)
    release = Release(text)
    tag = release.tag(tag_format)
    assert tag == template.format(version=text)
    assert Release.of_tag(tag, tag_format) == release
    assert release.upstream(tag_format) == text


@given(versions(local=False), _LABEL)
def test_a_local_label_is_the_wheels_not_upstreams(text: str, label: str) -> None:
    """torch's 2.13.0+cpu is upstream's v2.13.0; its tag read back is the wheel's."""
    tag_format = TagFormat("v{version}", local=label)
    release = Release(f"{text}+{label}")
    assert release.tag(tag_format) == f"v{text}"
    assert release.upstream(tag_format) == release.public == text
    assert Release.of_tag(f"v{text}", tag_format) == release


def test_a_leading_major_is_the_wheels() -> None:
    """protobuf's wheel 7.35.1 is upstream's v35.1."""
    tag_format = TagFormat("v{version}", wheel_major=7)
    release = Release("7.35.1")
    assert release.tag(tag_format) == "v35.1" and release.upstream(tag_format) == "35.1"
    assert Release.of_tag("v35.1", tag_format) == release
    with pytest.raises(InvalidVersion):
        Release("8.1.0").tag(tag_format)  # not this wheel's major


@given(versions(), versions())
def test_releases_order_as_pep_440_versions(a: str, b: str) -> None:
    first, second = Release(a), Release(b)
    if Version(a) != Version(b):
        assert (first < second) == (Version(a) < Version(b))
        assert max(first, second).version == max(Version(a), Version(b))
    assert (first == second) == (a == b)  # the same release is the same text


def test_what_is_no_version_is_no_release() -> None:
    for text in ("main", "", "1.0.0-riscv64-wip", "riscv64/1.0"):
        assert Release.of(text) is None
    assert Release.of("v1.0") == Release("v1.0")  # PEP 440 takes a leading v
    assert Release.of(None) is None
    with pytest.raises(InvalidVersion, match="main"):
        Release("main")
    assert Release.of_tag("latest", TagFormat("v{version}")) is None
