"""The ref-update planner, a pure function: each rule alone, then properties over any state."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mirrorctl.sync.refplan import RefRules, RefUpdate, plan_ref_updates

RULES = RefRules(branches=("main", "maintenance/*"), tags=("*",),
                 protected=("refs/heads/riscv64/*",))
A, B, C = "a" * 40, "b" * 40, "c" * 40


def plan(upstream: dict[str, str], mirror: dict[str, str], *, pushed: dict[str, str] | None = None,
         last: dict[str, str] | None = None, ff: set[str] | None = None,
         rules: RefRules = RULES) -> dict[str, RefUpdate]:
    updates = plan_ref_updates(upstream=upstream, mirror=mirror, pushed=pushed or {},
                               last_upstream=last or {}, fast_forwards=ff or set(), rules=rules)
    return {u.ref: u for u in updates}


def brief(update: RefUpdate) -> tuple[str, str]:
    return update.action, update.reason


def test_refs_in_sync_and_unmirrored_refs_are_left_out() -> None:
    assert plan({"refs/heads/main": A, "refs/heads/feature/x": B}, {"refs/heads/main": A}) == {}


def test_new_refs_are_created() -> None:
    got = plan({"refs/heads/main": A, "refs/tags/v1": B}, {})
    assert {r: brief(u) for r, u in got.items()} == {
        "refs/heads/main": ("create", "new"), "refs/tags/v1": ("create", "new")}
    assert got["refs/tags/v1"].old is None and got["refs/tags/v1"].new == B


def test_fast_forward_is_an_update_whoever_pushed_the_old_value() -> None:
    got = plan({"refs/heads/main": B}, {"refs/heads/main": A}, ff={"refs/heads/main"})
    assert brief(got["refs/heads/main"]) == ("update", "fast-forward")


def test_rewritten_branch_is_forced_only_when_the_mirror_holds_upstream_or_our_value() -> None:
    main = "refs/heads/main"
    assert brief(plan({main: B}, {main: A}, pushed={main: A})[main]) == (
        "force", "upstream-force-push")
    assert brief(plan({main: B}, {main: A}, last={main: A})[main]) == (
        "force", "upstream-force-push")
    assert brief(plan({main: B}, {main: C}, pushed={main: A}, last={main: A})[main]) == (
        "skip", "diverged")


def test_moved_tag_needs_force_tags_and_an_upstream_copy() -> None:
    tag = "refs/tags/v1"
    assert brief(plan({tag: B}, {tag: A}, pushed={tag: A})[tag]) == ("skip", "tag-moved")
    forcing = RefRules(branches=RULES.branches, tags=RULES.tags, protected=RULES.protected,
                       force_tags=True)
    assert brief(plan({tag: B}, {tag: A}, pushed={tag: A}, rules=forcing)[tag]) == (
        "force", "tag-moved")
    # A tag made in the mirror with upstream's name is not mirrorctl's to move.
    assert brief(plan({tag: B}, {tag: C}, rules=forcing)[tag]) == ("skip", "not-ours")


def test_protected_refs_are_reported_not_touched() -> None:
    rules = RefRules(branches=("main", "riscv64/*"), tags=("*",),
                     protected=("refs/heads/riscv64/*", "refs/tags/keep-*"))
    got = plan({"refs/heads/riscv64/2.0": A, "refs/tags/keep-me": B},
               {"refs/heads/riscv64/2.0": C}, rules=rules)
    assert {r: brief(u) for r, u in got.items()} == {
        "refs/heads/riscv64/2.0": ("skip", "protected"),
        "refs/tags/keep-me": ("skip", "protected")}


def test_deleted_upstream_branch_is_kept_and_pruned_only_if_ours() -> None:
    ref = "refs/heads/maintenance/1.x"
    assert brief(plan({}, {ref: A}, pushed={ref: A})[ref]) == ("skip", "deleted-upstream")
    pruning = RefRules(branches=RULES.branches, tags=RULES.tags, protected=RULES.protected,
                       prune=True)
    assert brief(plan({}, {ref: A}, pushed={ref: A}, rules=pruning)[ref]) == ("delete", "pruned")
    assert plan({}, {ref: A}, rules=pruning) == {}  # never pushed by mirrorctl
    assert plan({}, {ref: C}, pushed={ref: A}, rules=pruning) == {}  # moved in the mirror since
    # Tags that vanish upstream are releases people rely on: reported, never pruned.
    assert brief(plan({}, {"refs/tags/v1": A}, pushed={"refs/tags/v1": A}, rules=pruning)[
        "refs/tags/v1"]) == ("skip", "deleted-upstream")


def test_a_ref_still_upstream_but_no_longer_mirrored_is_left_alone() -> None:
    ref = "refs/heads/old-branch"
    pruning = RefRules(branches=("main",), tags=("*",), protected=(), prune=True)
    assert plan({ref: A}, {ref: A}, pushed={ref: A}, rules=pruning) == {}


# Properties over arbitrary states: refs drawn from a small pool so that upstream,
# mirror and records overlap often.
_REFS = st.sampled_from([
    "refs/heads/main", "refs/heads/maintenance/1.x", "refs/heads/riscv64/1.0",
    "refs/heads/feature", "refs/tags/v1", "refs/tags/v2", "refs/tags/keep",
])
_SHAS = st.sampled_from([A, B, C])
_STATES = st.dictionaries(_REFS, _SHAS, max_size=7)


@settings(max_examples=400, deadline=None)
@given(upstream=_STATES, mirror=_STATES, pushed=_STATES, last=_STATES,
       ff=st.sets(_REFS), force_tags=st.booleans(), prune=st.booleans())
def test_planner_invariants(upstream: dict[str, str], mirror: dict[str, str],
                            pushed: dict[str, str], last: dict[str, str], ff: set[str],
                            force_tags: bool, prune: bool) -> None:
    rules = RefRules(branches=("main", "maintenance/*", "riscv64/*"), tags=("*",),
                     protected=("refs/heads/riscv64/*", "refs/tags/keep"),
                     force_tags=force_tags, prune=prune)
    got = plan(upstream, mirror, pushed=pushed, last=last, ff=ff, rules=rules)
    for ref, update in got.items():
        assert update.old == mirror.get(ref)  # every lease is the mirror's current value
        if rules.is_protected(ref):
            assert update.action == "skip"
        if ref.startswith("refs/tags/") and update.old is not None and not force_tags:
            assert update.action == "skip"
        if update.action == "delete":
            assert prune and ref.startswith("refs/heads/") and pushed.get(ref) == mirror[ref]
            assert ref not in upstream
        if update.action in ("update", "force"):
            assert update.new == upstream[ref]
        if update.action == "force":
            assert mirror[ref] in (pushed.get(ref), last.get(ref))
    # Refs only the mirror has, and that mirrorctl never pushed, are never in the plan.
    for ref in mirror.keys() - upstream.keys():
        if ref not in pushed:
            assert ref not in got


@settings(max_examples=400, deadline=None)
@given(cache=_STATES, recorded=_STATES)
def test_a_cache_disagrees_exactly_when_the_refs_sync_follows_differ(
        cache: dict[str, str], recorded: dict[str, str]) -> None:
    """The morning's quick check (the recorded refs all there, no other followed ref)
    says what the whole comparison says: the cache agrees with the record exactly when
    the refs the package follows (riscv64 and protected ones never count) are equal."""
    from mirrorctl.core.config import Package
    from mirrorctl.core.tagformat import TagFormat
    from mirrorctl.sync.standing import cache_disagrees

    package = Package(name="demo", upstream="https://example.org/demo.git", mirror=None,
                      tag_format=TagFormat("v{version}"), version=None, pypi="demo",
                      rank=None, branches=("main", "maintenance/*"), tags=("*",),
                      protected=("refs/heads/riscv64/*", "refs/tags/keep"),
                      allowed_protocols=("https",), timeout=30.0, retries=0)
    rules = RefRules(branches=package.branches, tags=package.tags,
                     protected=package.protected)

    def followed(refs: dict[str, str]) -> dict[str, str]:
        return {r: s for r, s in refs.items() if rules.is_mirrored(r)
                and not rules.is_protected(r)}

    said = cache_disagrees(cache, recorded, package)
    assert (said is None) == (followed(cache) == followed(recorded)), (cache, recorded, said)
