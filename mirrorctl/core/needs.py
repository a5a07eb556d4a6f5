"""What can need a person after mirrorctl ran: one vocabulary, each kind with its title
(what a tracking issue calls it) and the command to run next.

Every wing that finds a need names it with a NeedKind; the nightly's needs, the
report's actions, the notices and the `notices.kinds` setting all read this table, so
that a kind is spelt, titled and followed up the same way everywhere. A next command
may name `{package}` and `{version}` (the release the need is about); the test suite
checks each against the command line's real commands and options.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, get_args

__all__ = ["NEEDS", "NEED_KINDS", "NeedKind", "NeedSpec", "next_command"]

NeedKind = Literal[
    "sync-failed", "ref-needs-decision", "releases-unknown", "registry-unreadable",
    "retired-needs-building", "retired-unwatched", "conflict", "push-refused",
    "pull-request-failed", "rebase-failed", "unknown", "queue-unreadable", "carry-unknown",
    "build-failed",
    "new-test-failures", "nan-test-failures", "history-not-written", "notices-failed",
    "wheels-declined", "wheels-reverted", "wheels-shipped", "retire-request-failed",
    "request-superseded-kept", "publish-stalled", "record-lost", "night-unfinished",
    "stack-blocker-unlisted", "stack-unknown",
]


@dataclass(frozen=True)
class NeedSpec:
    title: str  # "numpy: <title>" is the notice's title
    next: str  # the command to run next; {package} and {version} are filled in
    # Whether the package's other facts are still established when it has this need (a
    # failed sync leaves its releases, its grade, its conflicts unknown: notices about
    # them must not be closed as if they cleared).
    unsettling: bool = False


NEEDS: Mapping[NeedKind, NeedSpec] = {
    "sync-failed": NeedSpec("the sync fails", "mirrorctl -v sync {package}", unsettling=True),
    "ref-needs-decision": NeedSpec("a ref needs a decision",
                                   "mirrorctl sync {package} --dry-run"),  # detail says which flag
    "releases-unknown": NeedSpec("its releases are unknown", "mirrorctl sync {package}",
                                 unsettling=True),
    "registry-unreadable": NeedSpec("the registry cannot be read",
                                    "mirrorctl releases {package}"),
    "retired-needs-building": NeedSpec("a retired package needs building again",
                                       "mirrorctl releases {package} --pypi"),
    "retired-unwatched": NeedSpec("a retired package cannot be watched",
                                  "mirrorctl releases {package} --pypi"),
    "conflict": NeedSpec("a patch conflicts",
                         "mirrorctl rebase {package} --worktree ../{package}-rebase"),
    # After a clean carry the new queue is current: applying it pushes its branch again.
    "push-refused": NeedSpec("a push was refused", "mirrorctl patches apply {package} --push"),
    "pull-request-failed": NeedSpec("the upgrade's pull request was not delivered",
                                    "mirrorctl rebase {package} --open-pr"),
    "rebase-failed": NeedSpec("the rebase failed", "mirrorctl rebase {package}",
                              unsettling=True),
    "unknown": NeedSpec("its state is unknown", "mirrorctl sync {package}", unsettling=True),
    "queue-unreadable": NeedSpec("its patch queue cannot be read", "mirrorctl validate",
                                 unsettling=True),
    # A carry killed or failed after it wrote its queue: look at the folders, then say so.
    "carry-unknown": NeedSpec("its last carry is unknown", "mirrorctl settle {package}",
                              unsettling=True),
    "build-failed": NeedSpec("the upgrade does not build", "mirrorctl classify {package}"),
    "new-test-failures": NeedSpec("the upgrade's tests newly fail",
                                  "mirrorctl classify {package}"),
    "nan-test-failures": NeedSpec("the upgrade's tests fail on NaN",
                                  "mirrorctl classify {package}"),
    "history-not-written": NeedSpec("the night's history record is not written",
                                    "mirrorctl report --record"),
    "notices-failed": NeedSpec("the notices were not delivered", "mirrorctl notices --dry-run"),
    "wheels-declined": NeedSpec("upstream declined riscv64 wheels",
                                "mirrorctl upstream wheels {package}"),
    "wheels-reverted": NeedSpec("upstream undid its riscv64 wheels",
                                "mirrorctl upstream wheels {package}"),
    # PyPI's latest has a riscv64 wheel (or only pure-Python ones): `retired: true`.
    "wheels-shipped": NeedSpec("upstream ships riscv64 wheels: retire it",
                               "mirrorctl releases {package} --pypi"),
    "retire-request-failed": NeedSpec("the retirement request was not delivered",
                                      "mirrorctl nightly {package} --push"),
    # An older upgrade request a newer release replaces, left open: a person pushed to
    # it. Once they move their work (or close it), the next delivering night says so.
    "request-superseded-kept": NeedSpec("an older upgrade request holds a person's work",
                                        "mirrorctl nightly {package} --push"),
    # A merged upgrade whose publishing run failed or never came, or whose wheels are
    # missing after a green run: a person reruns it from the default branch (the newest
    # run counts), and the next delivering night follows it again.
    "publish-stalled": NeedSpec("its wheels are not published",
                                "mirrorctl nightly {package} --push"),
    # Its record did not read: kept aside, a fresh one started; what it held (a standing
    # upgrade, a conflict) is not known until a person checks and says so.
    "record-lost": NeedSpec("its record did not read", "mirrorctl settle {package}",
                            unsettling=True),
    # A nightly started and never ended (killed): its report and history were not written.
    "night-unfinished": NeedSpec("the last nightly did not finish", "mirrorctl nightly"),
    # A package that keeps a root of defaults.stacks from installing from wheels, and
    # is not in the inventory: the entry proposed for it (its tag format read off
    # upstream's tags), for a person to add to the builders' lists.
    "stack-blocker-unlisted": NeedSpec("it blocks a stack and is not in the inventory",
                                       "mirrorctl stack --propose --probe"),
    # A stack's closure could not be established (an index or registry that did not
    # answer, a conflict, a ranking that did not read).
    "stack-unknown": NeedSpec("a stack could not be resolved", "mirrorctl stack"),
}

NEED_KINDS: tuple[NeedKind, ...] = get_args(NeedKind)


def next_command(kind: str, package: str, version: str | None = None) -> str:
    """The command to run next for a need of this kind (a kind not in the vocabulary,
    which only an old report could bring, gets the package's nightly)."""
    spec = NEEDS.get(kind)  # type: ignore[call-overload]
    template = spec.next if spec is not None else "mirrorctl nightly {package}"
    command = template.format(package=package, version=version or "")
    return " ".join(command.split())
