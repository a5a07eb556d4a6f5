"""Where a package's road stands, decided from the facts (pure): the first state of
STATES' order that holds, with the reasons and the command that moves it on. A fact the
state needs that could not be established makes it `unknown`, with why, never a good
state.
"""

from __future__ import annotations

from dataclasses import dataclass

from mirrorctl.core.record import Fact
from mirrorctl.grade.pypi import WheelKind
from mirrorctl.upstream.wheels.asks import WheelAsk
from mirrorctl.upstream.wheels.cihistory import CiFinding
from mirrorctl.upstream.wheels.state import WheelState

__all__ = ["PypiFinding", "Verdict", "decide"]


@dataclass(frozen=True, kw_only=True)
class PypiFinding:
    version: str | None  # PyPI's latest release; None: no release
    kind: WheelKind


@dataclass(frozen=True, kw_only=True)
class Verdict:
    state: WheelState
    reasons: tuple[str, ...]
    next: str


def decide(name: str, pypi: Fact[PypiFinding], ci: Fact[CiFinding] | None,
           asks: Fact[tuple[WheelAsk, ...]] | None,
           declined_note: str | None = None) -> Verdict:
    """The first state that holds, in STATES' order. `ci` and `asks` are None when they
    were not read (the state was decided before they were needed)."""
    again = f"mirrorctl upstream wheels {name}"
    if not pypi.is_known or pypi.value is None:
        return Verdict(state="unknown", reasons=(f"PyPI: {pypi.unknown}",), next=again)
    if (shipped := _from_pypi(name, pypi.value)) is not None:
        return shipped
    if ci is None or not ci.is_known or ci.value is None:
        why = ci.unknown if ci is not None else "upstream's CI was not read"
        return Verdict(state="unknown", reasons=(str(why),), next=_next(name, str(why), again))
    if (built := _from_ci(name, pypi.value, ci.value)) is not None:
        return built
    if asks is None or not asks.is_known or asks.value is None:
        why = asks.unknown if asks is not None else "not read"
        return Verdict(state="unknown", next=_next(name, str(why), again),
                       reasons=(f"upstream's requests: {why}",))
    return _from_asks(again, ci.value, asks.value, declined_note)


def _next(name: str, why: str, again: str) -> str:
    """What changes an unknown answer: the setting it lacks, a sync, or asking again (a
    forge or an index that did not answer)."""
    if "upstream_web" in why:
        return f"set `upstream_web:` for {name} in mirrors.yaml (upstream's web page)"
    if "forge_apis" in why:
        return "name the forge's API under `defaults.forge_apis` in mirrors.yaml"
    if "sync" in why:
        return f"mirrorctl sync {name}"
    return again


def _from_pypi(name: str, latest: PypiFinding) -> Verdict | None:
    """shipped or pure-python: the builders retire the package."""
    if latest.kind == "riscv64":
        return Verdict(state="shipped", next=f"mirrorctl releases --pypi {name}", reasons=(
            f"PyPI's latest release {latest.version} has a riscv64 wheel: set `retired: "
            "true` for it in mirrors.yaml",))
    if latest.kind == "pure-python":
        return Verdict(state="pure-python", next=f"mirrorctl releases --pypi {name}",
                       reasons=(f"PyPI's latest release {latest.version} has only "
                                "pure-Python wheels: nothing to build for riscv64",))
    return None


def _from_ci(name: str, latest: PypiFinding, found: CiFinding) -> Verdict | None:
    """released or merged: upstream builds them already."""
    pypi_says = (f"PyPI's latest release {latest.version} has no riscv64 wheel"
                 if latest.version else "PyPI has no release of it yet")
    if found.released_in is not None:
        return Verdict(state="released", next=f"mirrorctl releases --pypi {name}", reasons=(
            f"{found.released_in} builds riscv64 wheels{_by(found.enabled_by)}; {pypi_says} "
            "yet: it ships with the release's upload",))
    if found.ci.builds_riscv64:
        job = found.ci.riscv64_jobs[0]
        return Verdict(state="merged", next=f"mirrorctl releases {name}", reasons=(
            f"{found.branch} builds riscv64 wheels ({job.workflow}, job {job.job})"
            f"{_by(found.enabled_by)}; no release has it yet"
            + (f" (newest: {found.newest_release})" if found.newest_release else ""),))
    return None


def _from_asks(again: str, found: CiFinding, requests: tuple[WheelAsk, ...],
               declined_note: str | None) -> Verdict:
    """requested, reverted, declined, draft or unknown-shape: what upstream said, and
    what mirrorctl can write."""
    pulls = [a for a in requests if a.kind == "pr"]
    if open_pr := next((a for a in pulls if a.state == "open"), None):
        return Verdict(state="requested", next=again, reasons=(
            f"{open_pr.url} asks for them ({open_pr.title!r}): no second request is drafted",))
    merged = next((a for a in pulls if a.state == "merged"), None)
    if found.reverted_by is not None or merged is not None:
        undone = (f"undone by {found.reverted_by[0][:12]} ({found.reverted_by[1]!r})"
                  if found.reverted_by else f"{found.branch} no longer builds them")
        merged_what = f"{merged.url} was merged" if merged else \
            f"{found.enabled_by[0][:12] if found.enabled_by else 'a change'} built them"
        return Verdict(state="reverted", next=f"{again} --draft", reasons=(
            f"{merged_what}, then {undone}: a person reads why before a new request",))
    if declined := next((a for a in pulls if a.state == "closed"), None):
        why = f': "{declined_note}"' if declined_note else " (no comment says why)"
        return Verdict(state="declined", next=f"{again} --draft", reasons=(
            f"{declined.url} was closed without merging{why}",))
    issue = next((a for a in requests if a.kind == "issue" and a.state == "open"), None)
    refers = (f"the draft refers to {issue.url}, which asks for them",) if issue else ()
    target = found.ci.target
    if target is not None:
        return Verdict(state="draft", next=f"{again} --draft",
                       reasons=(f"{target.why}", *refers))
    jobs = found.ci.linux_jobs
    why = jobs[0].why if jobs else f"{found.branch} builds no Linux wheel mirrorctl can read"
    return Verdict(state="unknown-shape", next=f"{again} --draft",
                   reasons=(f"{why}: an issue is drafted, not a patch", *refers))


def _by(commit: tuple[str, str] | None) -> str:
    return f" since {commit[0][:12]} ({commit[1]!r})" if commit else ""
