"""Upstream-Status as the builders' pull-request check reads it (builders.md): validate
refuses exactly what their check refuses, with file, line and a did-you-mean."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mirrorctl.queue.status import builders_status_problem
from tests.conftest import Site
from tests.gitrepos import write_config
from tests.test_patches import make_queue

URL_KINDS = ("Issue", "Submitted", "Backport")


def their_rules(value: str) -> bool:
    """The rules of builders.md, stated apart from mirrorctl's code: True when the value
    passes. The kind is as written (case counts); then spaces; then its argument."""
    for kind in ("To upstream", *URL_KINDS, "Inappropriate"):
        if value.startswith(kind):
            rest = value[len(kind):].lstrip(" ")
            break
    else:
        return False
    bracketed = rest.startswith("[") and rest.endswith("]") and len(rest) >= 2
    if kind in URL_KINDS:
        scheme = next((s for s in ("[https://", "[http://") if rest.startswith(s)), None)
        return (bracketed and scheme is not None and len(rest) > len(scheme) + 1
                and not any(c.isspace() for c in rest))
    if kind == "To upstream":
        return rest == "" or bracketed
    return bracketed and len(rest) > 2  # Inappropriate: a reason is mandatory


@pytest.mark.parametrize(("value", "passes"), [
    ("Issue [https://github.com/numpy/numpy/issues/1]", True),
    ("Submitted [https://github.com/numpy/numpy/pull/28000]", True),
    ("Backport [https://github.com/numpy/numpy/commit/a77fea59]", True),
    ("To upstream", True),
    ("To upstream [after the 2.3 release]", True),
    ("Inappropriate [riscv64 CI only]", True),
    ("Pending", False),  # Yocto's, refused by theirs
    ("Denied [https://github.com/x/y/pull/1]", False),
    ("Inactive-Upstream [lastcommit: 2019]", False),
    ("submitted [https://github.com/numpy/numpy/pull/1]", False),  # lower case
    ("Backport [a77fea59]", False),  # no URL
    ("Submitted [gh-28000]", False),
    ("Issue [https://github.com/a b]", False),  # a space in the URL
    ("Inappropriate", False),  # no reason
    ("Inappropriate []", False),
    ("Submitted [https://github.com/x/y/pull/1] ", False),  # trailing space
])
def test_their_examples(value: str, passes: bool) -> None:
    assert (builders_status_problem(value) is None) is passes
    assert their_rules(value) is passes


KINDS = st.sampled_from(["Issue", "Submitted", "Backport", "To upstream", "Inappropriate",
                         "Pending", "submitted", "To Upstream", "Denied", "Issues", "Toupstream",
                         "Inactive-Upstream", "Backported", ""])
ARGUMENTS = st.one_of(
    st.sampled_from(["", "[https://github.com/x/y/pull/1]", "[http://a]", "[https://]",
                     "[https://a b]", "[a77fea59]", "[comment]", "[]", "[ ]", "[ftp://x]",
                     "[https://x]]", "[https://x] ", "https://x", "[https://x", "[https://\tx]",
                     "[after 2.3]"]),
    st.text(alphabet="[]:/ htps.xa\t", max_size=12))


@settings(max_examples=600, deadline=None)
@given(kind=KINDS, spaces=st.sampled_from(["", " ", "  "]), argument=ARGUMENTS)
def test_mirrorctl_refuses_exactly_what_their_check_refuses(kind: str, spaces: str,
                                                            argument: str) -> None:
    value = f"{kind}{spaces}{argument}"
    assert (builders_status_problem(value) is None) is their_rules(value), value


def test_validate_applies_their_vocabulary_on_a_site_laid_out_as_theirs(
        run_cli, site: Site, tmp_path: Path) -> None:
    queues = site.root / "patches" / "demo" / "1.1.0"
    make_queue(site.upstream, queues, [
        ("BLD: riscv64\n\nUpstream-Status: Pending", {"a.txt": "a\n"}),
        ("TST: nan\n\nUpstream-Status: Submited [https://github.com/x/y/pull/1]",
         {"b.txt": "b\n"})])
    config = write_config(tmp_path / "mirrors.yaml", {"demo": {
        "upstream": str(site.upstream.path), "mirror": str(site.mirror.path),
        "version": "1.1.0"}}, patchsets="patches")
    result = run_cli("--config", str(config), "validate")
    assert result.code == 2
    [pending, misspelt] = sorted(queues.glob("*.patch"))
    line = pending.read_text().splitlines().index("Upstream-Status: Pending") + 1
    assert f"{pending}:{line}: 'Pending' is not a status the builders' check accepts" \
        in result.out
    assert "did you mean Submitted?" in result.out and str(misspelt) in result.out
    assert "checked as the builders' pull-request check does" in result.out
    # The same queues under patchsets/ (the talk's layout) are held to Yocto's words.
    yocto = write_config(tmp_path / "yocto.yaml", {"demo": {
        "upstream": str(site.upstream.path), "mirror": str(site.mirror.path),
        "version": "1.1.0"}}, patchsets="patches", status_vocabulary="yocto")
    result = run_cli("--config", str(yocto), "validate", "--format", "json")
    data = json.loads(result.out)
    assert data["vocabulary"] == "yocto"
    assert [e["file"] for e in data["errors"]] == [str(misspelt)]  # unknown to both
