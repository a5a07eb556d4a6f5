"""Notices that never pile up: what needs a person as one tracking issue a package and
kind, found again by its marker, updated when it changes, reopened with a comment when
it comes back, closed when it clears, never two; a limit a run and the forges' rate
limits honoured. The plan is unit-tested; the delivery runs real HTTP against the
loopback GitHub (requests) and GitLab (python-gitlab), and the nightly end to end."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from mirrorctl.core.sections import Notices
from mirrorctl.night.notices import (
    ALL,
    Notice,
    deliver_notices,
    marker,
    marker_of,
    notices_from,
    plan_notices,
)
from mirrorctl.report.report import Action
from mirrorctl.upstream.forges.api import forge_api
from mirrorctl.upstream.forges.forge import ForgeSettings
from mirrorctl.upstream.forges.tracker import Pace, TrackedIssue, rate_limit_wait
from testbed.fakepulls import GITHUB_TOKEN, GITLAB_TOKEN, PullForge, pull_forge
from tests.test_upgrade_request import Wheels, tokens, wheels_site  # noqa: F401 (a fixture)

STAMP = "20261126T030000.000000Z"


def conflict(package: str, patch: str = "0001-x.patch", on: str = "2.0") -> Action:
    return Action(package, "conflict", f"{patch} conflicts on {on}",
                  f"mirrorctl rebase {package} --worktree ../{package}-rebase")


def sync_failed(package: str, why: str = "upstream unreachable") -> Action:
    return Action(package, "sync-failed", f"sync failed: {why}", f"mirrorctl -v sync {package}")


def issue(number: int, package: str, kind: str, *, state: str = "open", body: str = "",
          title: str = "", not_planned: bool = False) -> TrackedIssue:
    return TrackedIssue(number=number, url=f"https://github.com/o/r/issues/{number}",
                        title=title, body=body or f"{marker(package, kind)}\nold",
                        state="open" if state == "open" else "closed", not_planned=not_planned)


def everything_settled(package: str, kind: str) -> bool:
    return True


# The vocabulary


def test_the_marker_is_found_again_whatever_surrounds_it() -> None:
    body = f"A person's words above.\n{marker('numpy', 'conflict')}\nand below"
    assert marker_of(body) == ("numpy", "conflict")
    assert marker_of("<!-- mirrorctl-notice numpy -->") is None
    assert marker_of("no marker") is None


# The notices a run wants


def test_one_notice_a_package_and_kind_listing_every_detail() -> None:
    notices = notices_from([conflict("numpy", "0001-a.patch"), conflict("numpy", "0002-b.patch"),
                            sync_failed("scipy"), Action("", "history-not-written", "x", "y")],
                           limit=20)
    assert [n.key for n in notices] == [("numpy", "conflict"), ("scipy", "sync-failed")]
    numpy = notices[0]
    assert numpy.title == "numpy: a patch conflicts"
    assert marker_of(numpy.body) == ("numpy", "conflict")
    assert "- ` 0001-a.patch conflicts on 2.0 `" in numpy.body
    assert "- ` 0002-b.patch conflicts on 2.0 `" in numpy.body
    assert numpy.body.count("mirrorctl rebase numpy --worktree") == 1


def test_a_kind_more_packages_share_than_the_limit_is_one_notice() -> None:
    actions = [sync_failed(f"pkg{n:02}", "github.com unreachable") for n in range(25)]
    notices = notices_from([*actions, conflict("numpy")], limit=20)
    assert [n.key for n in notices] == [("numpy", "conflict"), (ALL, "sync-failed")]
    shared = notices[1]
    assert shared.title == "25 packages: the sync fails"
    assert shared.packages == tuple(f"pkg{n:02}" for n in range(25))
    assert "**pkg24**: ` sync failed: github.com unreachable `" in shared.body


def test_a_notice_stays_within_what_an_issue_body_holds() -> None:
    actions = [sync_failed(f"pkg{n:04}", "x" * 5000) for n in range(1000)]
    [shared] = notices_from(actions, limit=20)
    assert len(shared.body) < 65536 and "… and 900 more" in shared.body
    assert shared.title == "1000 packages: the sync fails"


def test_what_a_failed_sync_leaves_unknown_is_that_syncs_notice() -> None:
    notices = notices_from([sync_failed("numpy"), Action("numpy", "releases-unknown",
                                                         "no cache yet", "mirrorctl sync numpy")],
                           limit=20)
    assert [n.key for n in notices] == [("numpy", "sync-failed")]
    assert "- ` no cache yet `" in notices[0].body


def test_what_patches_and_errors_say_is_text_not_a_mention_or_markup() -> None:
    [notice] = notices_from([conflict("numpy", "0001-thanks-@octocat-fix-#12.patch"),
                             conflict("numpy", "0002-`tick`<b>x</b>.patch")], limit=20)
    assert "- ` 0001-thanks-@octocat-fix-#12.patch conflicts on 2.0 `" in notice.body
    assert "- `` 0002-`tick`<b>x</b>.patch conflicts on 2.0 ``" in notice.body
    outside = [line for line in notice.body.splitlines() if not line.startswith("- `")]
    assert not any("@" in line or "<b>" in line for line in outside)


def test_kinds_choose_which_needs_get_a_notice() -> None:
    notices = notices_from([conflict("numpy"), sync_failed("scipy")], limit=20,
                           kinds=("conflict",))
    assert [n.key for n in notices] == [("numpy", "conflict")]


# The plan


def plan(wanted: list[Notice], filed: list[TrackedIssue],
         settled: Callable[[str, str], bool] = everything_settled) -> list[tuple[str, str, int]]:
    return [(s.action, f"{s.package} {s.kind}", s.issue.number if s.issue else 0)
            for s in plan_notices(wanted, filed, settled=settled)]


def test_the_plan_opens_updates_reopens_and_closes() -> None:
    numpy, scipy, pandas = notices_from([conflict("numpy"), sync_failed("scipy"),
                                         conflict("pandas")], limit=20)
    same = issue(3, "scipy", "sync-failed", body=scipy.body, title=scipy.title)
    filed = [issue(1, "numpy", "conflict"),  # open, its text changed
             same,  # open and says what it should
             issue(4, "pandas", "conflict", state="closed"),  # cleared before, back now
             issue(5, "torch", "conflict"),  # open, cleared now
             issue(6, "no marker", "x", body="a person's issue with the label")]
    assert plan([numpy, scipy, pandas], filed) == [
        ("reopen", "pandas conflict", 4), ("update", "numpy conflict", 1),
        ("close", "torch conflict", 5)]
    assert plan([numpy], [issue(1, "numpy", "conflict", body=numpy.body,
                                title=numpy.title)]) == []


def test_a_second_open_issue_of_one_marker_is_closed_as_its_duplicate() -> None:
    [numpy] = notices_from([conflict("numpy")], limit=20)
    filed = [issue(9, "numpy", "conflict", body=numpy.body, title=numpy.title),
             issue(7, "numpy", "conflict", body=numpy.body, title=numpy.title)]
    steps = plan_notices([numpy], filed, settled=everything_settled)
    assert [(s.action, s.issue.number if s.issue else 0,
             s.duplicate_of.number if s.duplicate_of else 0) for s in steps] == [
        ("close-duplicate", 9, 7)]


def test_what_the_run_could_not_establish_is_never_closed() -> None:
    filed = [issue(1, "numpy", "conflict"), issue(2, ALL, "sync-failed")]
    # numpy was not in the run (or is unknown), and the run did not cover every package.
    assert plan([], filed, settled=lambda package, kind: False) == []
    assert plan([], filed) == [("close", "numpy conflict", 1), ("close", "* sync-failed", 2)]


def test_a_person_closing_it_as_not_planned_is_respected() -> None:
    [numpy] = notices_from([conflict("numpy")], limit=20)
    filed = [issue(1, "numpy", "conflict", state="closed", not_planned=True)]
    assert plan([numpy], filed) == []


def test_packages_inside_a_shared_notice_keep_their_own_issues() -> None:
    actions = [sync_failed(f"pkg{n:02}") for n in range(3)]
    [shared] = notices_from(actions, limit=2)
    filed = [issue(1, "pkg00", "sync-failed")]
    assert plan([shared], filed) == [("open", "* sync-failed", 0)]


# GitHub's rate limits


def test_rate_limit_waits_as_github_documents_them() -> None:
    assert rate_limit_wait(403, {"Retry-After": "7"}, "", 1000.0, 0) == 7.0
    assert rate_limit_wait(429, {"Retry-After": "3"}, "", 1000.0, 0) == 3.0
    assert rate_limit_wait(403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1030"},
                           "", 1000.0, 0) == 31.0
    secondary = '{"message": "You have exceeded a secondary rate limit."}'
    assert rate_limit_wait(403, {}, secondary, 0.0, 0) == 60.0
    assert rate_limit_wait(403, {}, secondary, 0.0, 2) == 240.0
    assert rate_limit_wait(403, {"X-RateLimit-Remaining": "4000"},
                           '{"message": "Resource not accessible by integration"}', 0.0, 0) \
        is None
    assert rate_limit_wait(404, {"Retry-After": "7"}, "", 0.0, 0) is None


# Delivered, against the loopback forges


class Clock:
    """The run's clock and sleep: sleeping moves the clock, and is recorded."""

    def __init__(self) -> None:
        self.now, self.slept = 1_000_000.0, []  # type: ignore[var-annotated]

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds

    def pace(self, patience: float = 900.0) -> Pace:
        return Pace(sleep=self.sleep, clock=lambda: self.now, patience=patience)


def settings(forge: PullForge, host: str = "github.com") -> ForgeSettings:
    return ForgeSettings(apis={host: forge.url}, github_token=GITHUB_TOKEN,
                         gitlab_token=GITLAB_TOKEN, timeout=10, retries=1)


NOTICES = Notices(tracker="https://github.com/rise/python-wheels")


def deliver(forge: PullForge, actions: list[Action], clock: Clock, *,
            notices: Notices = NOTICES, gitlab: bool = False,
            scope: Callable[[str, str], bool] = lambda package, kind: True,
            patience: float = 900.0):  # type: ignore[no-untyped-def]
    host = "gitlab.example.org" if gitlab else "github.com"
    tracker = forge_api("gitlab" if gitlab else "github", host, settings(forge, host)).tracker(
        "rise/python-wheels", clock.pace(patience))
    return deliver_notices(actions, notices, tracker, scope=scope, stamp=STAMP,
                           redact=lambda text: text)


def writes(forge: PullForge) -> list[str]:
    return [r for r in forge.requests if not r.startswith("GET")]


@pytest.mark.parametrize("gitlab", [False, True], ids=["github", "gitlab"])
def test_nights_open_update_close_and_reopen_never_two(gitlab: bool) -> None:
    clock = Clock()
    with pull_forge() as forge:
        state = "opened" if gitlab else "open"
        # Night 1: two needs, two issues, labelled, with their markers.
        first = deliver(forge, [conflict("numpy"), sync_failed("scipy")], clock, gitlab=gitlab)
        assert [o.step.action for o in first.done] == ["open", "open"]
        assert len(forge.issues) == 2 and not first.failed
        for filed in forge.issues:
            labels = filed["labels"] if gitlab else [x["name"] for x in filed["labels"]]
            assert labels == ["mirrorctl-notice"] and filed["state"] == state
        body = "description" if gitlab else "body"
        numpy = next(i for i in forge.issues if marker_of(i[body]) == ("numpy", "conflict"))
        assert numpy["title"] == "numpy: a patch conflicts"
        assert first.done[0].url == numpy["web_url" if gitlab else "html_url"]
        # Writes a second apart, as GitHub asks.
        assert clock.slept and all(s <= 1.0 for s in clock.slept)

        # Night 2: the same needs: nothing written.
        forge.requests.clear()
        second = deliver(forge, [conflict("numpy"), sync_failed("scipy")], clock, gitlab=gitlab)
        assert writes(forge) == [] and not second.done and second.unchanged == 2

        # Night 3: numpy conflicts on a newer release, scipy syncs again.
        third = deliver(forge, [conflict("numpy", on="2.1")], clock, gitlab=gitlab)
        assert sorted(o.step.action for o in third.done) == ["close", "update"]
        assert "conflicts on 2.1" in numpy[body]
        scipy = next(i for i in forge.issues if i is not numpy)
        assert scipy["state"] == "closed" and numpy["state"] == state
        number = "iid" if gitlab else "number"
        assert [c for n, c in forge.comments if n == scipy[number]][-1].startswith("Cleared")

        # Night 4: scipy fails again: its issue comes back, with a comment; still two.
        fourth = deliver(forge, [conflict("numpy", on="2.1"), sync_failed("scipy")], clock,
                         gitlab=gitlab)
        assert [o.step.action for o in fourth.done] == ["reopen"]
        assert scipy["state"] == state and len(forge.issues) == 2
        assert [c for n, c in forge.comments if n == scipy[number]][-1].startswith(
            "Back in the nightly of 2026-11-26 03:00 UTC")


@pytest.mark.parametrize("gitlab", [False, True], ids=["github", "gitlab"])
def test_issues_are_found_again_across_pages(gitlab: bool) -> None:
    clock = Clock()
    with pull_forge() as forge:
        forge.page_size = 2
        actions = [conflict(f"pkg{n}") for n in range(5)]
        assert len(deliver(forge, actions, clock, gitlab=gitlab).done) == 5
        again = deliver(forge, actions, clock, gitlab=gitlab)
        assert (again.done, again.unchanged, len(forge.issues)) == ((), 5, 5)
        listed = [r for r in forge.requests if r.startswith("GET") and r.endswith("issues")]
        assert len(listed) == 1 + 3  # the empty tracker, then five issues in three pages


def test_a_person_edit_of_the_title_is_put_back_and_the_marker_finds_it() -> None:
    clock = Clock()
    with pull_forge() as forge:
        deliver(forge, [conflict("numpy")], clock)
        forge.issues[0]["title"] = "renamed by a person"
        again = deliver(forge, [conflict("numpy")], clock)
        assert [o.step.action for o in again.done] == ["update"]
        assert forge.issues[0]["title"] == "numpy: a patch conflicts" and len(forge.issues) == 1


def test_issues_of_packages_the_run_did_not_establish_stay_open() -> None:
    clock = Clock()
    with pull_forge() as forge:
        deliver(forge, [conflict("numpy"), conflict("scipy")], clock)
        forge.requests.clear()
        # Only scipy was in this run: numpy's issue is not the run's to close.
        result = deliver(forge, [], clock, scope=lambda package, kind: package == "scipy")
        assert [(o.step.action, o.step.package) for o in result.done] == [("close", "scipy")]
        assert [i["state"] for i in forge.issues] == ["open", "closed"]


def test_a_package_failing_to_sync_keeps_its_other_issues() -> None:
    clock = Clock()
    with pull_forge() as forge:
        deliver(forge, [conflict("numpy")], clock)
        # Tonight numpy cannot be synced: its conflict is not known gone.
        result = deliver(forge, [sync_failed("numpy")], clock)
        assert [o.step.action for o in result.done] == ["open"]
        assert [i["state"] for i in forge.issues] == ["open", "open"]


def test_the_limit_defers_the_rest_to_the_next_run() -> None:
    clock = Clock()
    with pull_forge() as forge:
        actions = [conflict("a"), conflict("b"), sync_failed("c"), sync_failed("d")]
        limited = Notices(tracker=NOTICES.tracker, limit=2)
        first = deliver(forge, actions, clock, notices=limited)
        assert (len(first.done), len(first.deferred)) == (2, 2)
        assert "past the limit of 2" in first.deferred[0].error
        second = deliver(forge, actions, clock, notices=limited)
        assert (len(second.done), len(second.deferred)) == (2, 0)
        assert sorted(marker_of(i["body"]) for i in forge.issues) == [  # type: ignore[type-var]
            ("a", "conflict"), ("b", "conflict"), ("c", "sync-failed"), ("d", "sync-failed")]


def test_a_forge_outage_is_one_issue_not_a_thousand() -> None:
    clock = Clock()
    with pull_forge() as forge:
        actions = [sync_failed(f"pkg{n:03}", "github.com unreachable") for n in range(300)]
        result = deliver(forge, actions, clock)
        assert [o.step.action for o in result.done] == ["open"]
        [only] = forge.issues
        assert only["title"] == "300 packages: the sync fails"
        # Over: the shared issue closes (the run covered every package).
        cleared = deliver(forge, [], clock)
        assert [o.step.action for o in cleared.done] == ["close"] and only["state"] == "closed"


def answer(status: int, headers: dict[str, str], message: str):  # type: ignore[no-untyped-def]
    return status, {"Content-Type": "application/json", **headers}, \
        json.dumps({"message": message}).encode()


def test_github_rate_limits_are_waited_out_and_nothing_is_opened_twice() -> None:
    clock = Clock()
    with pull_forge() as forge:
        forge.throttle = [
            ("POST", answer(403, {"Retry-After": "7"}, "secondary rate limit")),
            ("POST", answer(403, {"X-RateLimit-Remaining": "0",
                                  "X-RateLimit-Reset": str(int(clock.now) + 30)},
                            "API rate limit exceeded")),
            ("POST", answer(403, {}, "You have exceeded a secondary rate limit.")),
        ]
        result = deliver(forge, [conflict("numpy")], clock)
        assert [o.step.action for o in result.done] == ["open"] and not result.failed
        assert len(forge.issues) == 1
        # Retry-After; then until the reset (30 s from the start, 7 s of them gone, and a
        # second to spare); then a secondary limit that says nothing, the third time.
        assert [s for s in clock.slept if s > 1.0] == [7.0, 24.0, 240.0]


def test_a_rate_limit_past_the_runs_patience_defers_the_rest() -> None:
    clock = Clock()
    with pull_forge() as forge:
        forge.throttle = [("POST", answer(429, {"Retry-After": "3600"}, "slow down"))]
        result = deliver(forge, [conflict("numpy"), conflict("scipy")], clock, patience=600)
        assert not result.done and not result.failed and len(result.deferred) == 2
        assert "rate limited by github" in result.deferred[0].error
        assert forge.issues == [] and 3600.0 not in clock.slept
        # The next run delivers them.
        later = deliver(forge, [conflict("numpy"), conflict("scipy")], clock)
        assert len(later.done) == 2 and len(forge.issues) == 2


def test_a_tracker_that_drops_the_label_stops_the_notices_loudly() -> None:
    clock = Clock()
    with pull_forge() as forge:
        forge.drop_labels = True  # a token without triage rights on GitHub
        result = deliver(forge, [conflict("numpy"), conflict("scipy")], clock)
        assert not result.done and len(result.failed) == 1 and len(result.deferred) == 1
        assert "without the label 'mirrorctl-notice'" in result.failed[0].error
        assert result.problems
        # The one it opened is closed, saying why: the next run cannot pile them up.
        [lost] = forge.issues
        assert lost["state"] == "closed"
        assert "could not label this issue" in forge.comments[-1][1]


def test_an_answer_that_is_no_json_is_a_clear_failure_not_a_crash() -> None:
    clock = Clock()
    with pull_forge() as forge:
        forge.throttle = [("GET", (200, {"Content-Type": "text/html"}, b"<html>proxy</html>"))]
        result = deliver(forge, [conflict("numpy")], clock)
        assert result.error.startswith("listing the tracking issues: the forge answered "
                                       "200 with something that is no JSON list")
        assert result.problems and forge.issues == []


def test_a_forge_that_asks_for_no_wait_forever_is_given_up_on() -> None:
    clock = Clock()
    with pull_forge() as forge:
        forge.throttle = [("POST", answer(429, {"Retry-After": "0"}, "slow down"))] * 50
        result = deliver(forge, [conflict("numpy")], clock)
        assert not result.done and "still refuses after 6 tries" in result.deferred[0].error
        assert len([r for r in forge.requests if r.startswith("POST")]) == 6
        assert forge.issues == []


def test_gitlab_429_is_waited_out_by_python_gitlab_and_opens_once() -> None:
    clock = Clock()
    with pull_forge() as forge:
        forge.throttle = [("POST", answer(429, {"Retry-After": "1"}, "429 Too Many Requests"))]
        result = deliver(forge, [conflict("numpy")], clock, gitlab=True)
        assert [o.step.action for o in result.done] == ["open"] and len(forge.issues) == 1
        assert [r for r in forge.requests if r.startswith("POST")] == [
            "POST /api/v4/projects/rise%2Fpython-wheels/issues"] * 2


def test_a_refused_token_fails_the_notices_and_says_so_without_the_token() -> None:
    clock = Clock()
    with pull_forge() as forge:
        tracker = forge_api("github", "github.com", ForgeSettings(
            apis={"github.com": forge.url}, github_token="wrong-token-123")).tracker(
            "rise/python-wheels", clock.pace())
        result = deliver_notices([conflict("numpy")], NOTICES, tracker, scope=lambda p, kind: True,
                                 stamp=STAMP, redact=lambda text: text)
        assert result.error.startswith("listing the tracking issues: authentication failed")
        assert "wrong-token" not in result.error and result.problems


# The nightly, end to end


def noticed_site(root: Path, forge: PullForge, more: str = "") -> Wheels:
    """The builders' site of test_upgrade_request, its notices kept in its GitHub."""
    site = wheels_site(root, forge)
    site.config.write_text(site.config.read_text().replace(
        "defaults:\n", "defaults:\n  notices:\n    tracker: "
                       f"https://github.com/rise/python-wheels\n{more}", 1))
    return site


def test_the_nightly_notifies_and_a_clear_night_closes_it(run_cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                          tokens: None) -> None:  # noqa: F811
    with pull_forge() as forge:
        site = noticed_site(tmp_path, forge)
        upstream = site.upstream.path
        moved = upstream.with_name("moved")
        upstream.rename(moved)  # tonight upstream cannot be reached
        result = run_cli(*site.args("nightly", "--notify", "--format", "json"))
        assert result.code == 1
        data = json.loads(result.out)
        notices = data["notices"]
        assert notices["tracker"] == "https://github.com/rise/python-wheels/issues"
        assert [(d["action"], d["package"], d["kind"]) for d in notices["done"]] == [
            ("open", "demo", "sync-failed")]
        [filed] = forge.issues
        assert filed["title"] == "demo: the sync fails" and "mirrorctl -v sync demo" in \
            filed["body"]
        assert GITHUB_TOKEN not in json.dumps(forge.issues)

        moved.rename(upstream)  # upstream is back
        result = run_cli(*site.args("nightly", "--notify", "--format", "json"))
        data = json.loads(result.out)
        assert [(d["action"], d["issue"]) for d in data["notices"]["done"]] == [
            ("close", filed["number"])]
        assert filed["state"] == "closed"


def test_notify_without_notices_configured_names_the_key(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pull_forge() as forge:
        site = wheels_site(tmp_path, forge)
        result = run_cli(*site.args("nightly", "--notify"))
        assert result.code == 2 and "no notices: under defaults" in result.err
        result = run_cli(*site.args("report", "--notify"))
        assert result.code == 2 and "no notices: under defaults" in result.err


def test_the_pipelines_report_job_notifies_from_the_merged_results(run_cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                   tokens: None) -> None:  # noqa: F811
    import yaml

    with pull_forge() as forge:
        site = noticed_site(tmp_path, forge, "    limit: 5\n")
        # The pipelines run the report job with --notify, and GitHub's gets the tokens.
        for forge_name in ("gitlab", "github"):
            out = site.root / "python-wheels" / f"{forge_name}.yml"
            generated = run_cli(*site.args("ci", "generate", "--forge", forge_name, "-o",
                                           str(out), "--install", "pip install mirrorctl"))
            assert generated.code == 0, generated.err
            text = out.read_text()
            assert "report --merge results --record -o report.html -o report.md " \
                   "-o report.json --notify" in text
        workflow = yaml.safe_load(out.read_text())
        [report_step] = [s for s in workflow["jobs"]["report"]["steps"]
                         if s.get("name") == "Report"]
        assert report_step["env"]["MIRRORCTL_GITHUB_TOKEN"] == \
            "${{ secrets.MIRRORCTL_GITHUB_TOKEN }}"

        # A package job whose sync failed; its run action survives the merge.
        site.upstream.path.rename(site.upstream.path.with_name("moved"))
        results = tmp_path / "results"
        results.mkdir()
        job = run_cli(*site.args("nightly", "demo", "--format", "json"))
        (results / "demo.json").write_text(job.out)
        merged = run_cli(*site.args("report", "--merge", str(results), "--notify", "--format",
                                    "json"))
        actions = json.loads(merged.out)["actions"]
        assert ("demo", "sync-failed") in [(a["package"], a["kind"]) for a in actions]
        [filed] = forge.issues
        assert filed["title"] == "demo: the sync fails"


@pytest.mark.parametrize(("notices", "message"), [
    ("{tracker: https://github.com/o/r, lmit: 3}", "unknown key 'lmit', did you mean limit?"),
    ("{tracker: https://github.com/o/r, kinds: [conflicts]}",
     "'conflicts' is no kind of need, did you mean conflict?"),
    ("{tracker: https://github.com/o/r, limit: 0}", "limit must be a whole number"),
    ("{label: x}", "at least tracker:"),
    ("{tracker: https://tok:en@github.com/o/r}", "without credentials"),
])
def test_the_notices_setting_is_checked_where_it_is_written(tmp_path: Path, notices: str,
                                                            message: str) -> None:
    from mirrorctl.core.config import config_from_text
    from mirrorctl.core.errors import ConfigError

    text = f"defaults:\n  notices: {notices}\npackages:\n  numpy:\n" \
           "    upstream: https://github.com/numpy/numpy\n"
    with pytest.raises(ConfigError) as raised:
        config_from_text(text, tmp_path / "mirrors.yaml")
    assert message in str(raised.value) and ":2:" in str(raised.value)
    assert "tok:en" not in str(raised.value)


def test_notices_settings_read_whole(tmp_path: Path) -> None:
    from mirrorctl.core.config import config_from_text

    config = config_from_text(
        "defaults:\n  notices: {tracker: 'https://github.com/o/r/', limit: 5, label: nightly,"
        " kinds: [conflict, sync-failed]}\npackages:\n  numpy:\n"
        "    upstream: https://github.com/numpy/numpy\n", tmp_path / "mirrors.yaml")
    assert config.notices == Notices(tracker="https://github.com/o/r", label="nightly",
                                     limit=5, kinds=("conflict", "sync-failed"))


def test_self_hosted_forges_are_known_by_their_api(tmp_path: Path) -> None:
    from mirrorctl.core.urls import forge_kind, tree_url
    from mirrorctl.upstream.forges.forge import parse_request_url

    apis = {"git.example.org": "https://git.example.org",
            "ghe.example.org": "https://ghe.example.org/api/v3/"}
    assert [forge_kind(h, apis) for h in ("github.com", "gitlab.com", "gitlab.corp",
                                          "git.example.org", "ghe.example.org",
                                          "elsewhere.org")] == [
        "github", "gitlab", "gitlab", "gitlab", "github", "unknown"]
    assert tree_url("https://git.example.org/riscv/numpy", "riscv64/2.3.0", apis=apis) == \
        "https://git.example.org/riscv/numpy/-/tree/riscv64/2.3.0"
    assert tree_url("https://ghe.example.org/riscv/numpy", "main", "patches", apis) == \
        "https://ghe.example.org/riscv/numpy/tree/main/patches"
    assert tree_url("https://elsewhere.org/riscv/numpy", "main") is None
    ghe = parse_request_url("https://ghe.example.org/numpy/numpy/pull/12", apis=apis)
    assert ghe is not None and (ghe.forge, ghe.kind, ghe.number) == ("github", "mr", 12)
    assert parse_request_url("https://ghe.example.org/numpy/numpy/pull/12") is None


def test_notices_in_a_self_hosted_gitlab() -> None:
    clock = Clock()
    with pull_forge() as forge:
        forges = ForgeSettings(apis={"git.example.org": forge.url}, gitlab_token=GITLAB_TOKEN,
                               timeout=10)
        from mirrorctl.night.notices import notify
        from mirrorctl.report.report import Report

        result = notify(Report(packages=(), run_actions=(sync_failed("numpy"),)),
                        Notices(tracker="https://git.example.org/rise/python-wheels"), forges,
                        every_package=True, stamp=STAMP, pace=clock.pace())
        assert not result.error and [o.step.action for o in result.done] == ["open"]
        assert forge.issues[0]["title"] == "numpy: the sync fails"


def test_notices_from_the_last_night_with_a_dry_run_first(run_cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                           tokens: None) -> None:  # noqa: F811
    with pull_forge() as forge:
        site = noticed_site(tmp_path, forge)
        none_yet = run_cli(*site.args("notices", "--dry-run"))
        assert none_yet.code == 2 and "no nightly has kept its report" in none_yet.err
        site.upstream.path.rename(site.upstream.path.with_name("moved"))
        assert run_cli(*site.args("nightly")).code == 1  # without --notify: nothing filed
        assert forge.issues == []

        dry = run_cli(*site.args("notices", "--dry-run"))
        assert dry.code == 0, dry.err
        assert dry.out.splitlines() == [
            "https://github.com/rise/python-wheels/issues: a dry run, nothing written: 1 to "
            "do, 0 unchanged", '- would open "demo: the sync fails"']
        assert forge.issues == [] and not writes(forge)

        delivered = json.loads(run_cli(*site.args("notices", "--format", "json")).out)
        assert (delivered["dry_run"], [d["action"] for d in delivered["done"]]) == (
            False, ["open"])
        again = json.loads(run_cli(*site.args("notices", "--dry-run", "--format",
                                              "json")).out)
        assert (again["dry_run"], again["planned"], again["unchanged"]) == (True, [], 1)
        assert len(forge.issues) == 1


@pytest.mark.e2e
def test_a_conflict_notice_lives_through_releases(run_cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                  tokens: None) -> None:  # noqa: F811
    """One package's releases with notices on: a conflict opens its issue, a person
    settles it and the next night closes it, the next release's conflict reopens it."""
    import yaml

    from tests.gitrepos import Repo
    from tests.test_season import CORE, release, season_site

    site = season_site(tmp_path)
    with pull_forge() as forge:
        data = yaml.safe_load(site.config.read_text())
        data["defaults"].update(forge_apis={"github.com": forge.url}, notices={
            "tracker": "https://github.com/rise/python-wheels"})
        site.config.write_text(yaml.safe_dump(data, sort_keys=False))

        def night() -> dict:  # type: ignore[type-arg]
            result = run_cli(*site.args("nightly", "--notify", "--format", "json"))
            return json.loads(result.out)["notices"]  # type: ignore[no-any-return]

        assert night()["done"] == [] and forge.issues == []  # nothing needs a person

        release(site, "1.1.0", {"src/core.c": CORE.replace("return 6;", "return 6 + 0;")})
        assert [d["action"] for d in night()["done"]] == ["open"]
        [issue] = forge.issues
        assert issue["title"] == "proj: a patch conflicts"
        assert "0002-MAINT-core-riscv64.patch conflicts on 1.1.0" in issue["body"]
        forge.requests.clear()
        assert night()["unchanged"] == 1 and not writes(forge)  # the same night again

        # A person settles it; the next night finds nothing, and closes the issue.
        worktree = tmp_path / "resolve"
        assert run_cli(*site.args("rebase", "proj", "--worktree", str(worktree))).code == 1
        (worktree / "src" / "core.c").write_text(
            CORE.replace("return 6;", "return 6 + 0 /* rv64 */;"))
        Repo(worktree).git("add", "src/core.c")
        assert run_cli(*site.args("rebase", "proj", "--continue")).code == 0
        assert [d["action"] for d in night()["done"]] == ["close"]
        assert issue["state"] == "closed" and forge.comments[-1][1].startswith("Cleared")

        # 1.2.0 reworks the line again: the same issue comes back, says so, is updated.
        release(site, "1.2.0", {"src/core.c": CORE.replace("return 6;", "return 6 - 0;")})
        assert [d["action"] for d in night()["done"]] == ["reopen"]
        assert issue["state"] == "open" and len(forge.issues) == 1
        assert "conflicts on 1.2.0" in issue["body"]
        assert forge.comments[-1][1].startswith("Back in the nightly")
