"""The one edit-and-prove module (core.yamledit): the differences a proof checks, found
at every depth and named by their path, for the builders' files and upstream's alike."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from mirrorctl.core.yamledit import MISSING, Difference, differences, unproved

_SCALARS = st.one_of(st.text(max_size=5), st.integers(), st.booleans(), st.none())
_DOCUMENTS = st.recursive(
    _SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                      st.dictionaries(st.text(max_size=4), inner, max_size=3)),
    max_leaves=12)


@given(_DOCUMENTS)
def test_a_document_differs_from_itself_nowhere(document: Any) -> None:
    assert differences(document, document) == []


@given(st.dictionaries(st.text(max_size=4), _DOCUMENTS, min_size=1, max_size=4),
       st.data())
def test_one_value_changed_is_one_difference_at_its_path(document: dict[str, Any],
                                                          data: st.DataObject) -> None:
    key = data.draw(st.sampled_from(sorted(document)))
    other = object()  # no value of a document: the difference is at the key, whole
    assert differences(document, {**document, key: other}) == [
        Difference((key,), document[key], other)]


def test_keys_items_and_lists_of_another_length() -> None:
    before = {"jobs": {"wheels": {"steps": [{"run": "a"}, {"run": "b"}],
                                  "env": {"X": "1"}}}, "on": "push"}
    after = {"jobs": {"wheels": {"steps": [{"run": "a"}], "env": {"X": "1", "Y": "2"}}},
             "on": "push", "name": "new"}
    found = differences(before, after)
    assert [d.path for d in found] == [("jobs", "wheels", "steps"),
                                       ("jobs", "wheels", "env", "Y"), ("name",)]
    assert found[1].before is MISSING and found[1].after == "2"
    assert str(found[2]) == "name: (none) -> 'new'"
    assert found[0].within(("jobs", "wheels")) and not found[2].within(("jobs",))


def test_an_edit_is_proved_or_says_why_not() -> None:
    before = "event: push\nenv:\n  VERSION: 1.0.0  # the release\nname: build 1.0.0\n"
    bumped = before.replace("1.0.0", "1.1.0")

    def bump(d: Difference) -> bool:
        return isinstance(d.before, str) and d.before.replace("1.0.0", "1.1.0") == d.after

    assert unproved(before, bumped, bump, "the version") == ""
    more = bumped.replace("event: push", "event: pull_request")
    assert unproved(before, more, bump, "the version") == (
        "the edit would change more than the version: event: 'push' -> 'pull_request'")
    assert unproved(before, bumped + "env: [\n", bump, "the version").startswith(
        "it does not parse as YAML")
