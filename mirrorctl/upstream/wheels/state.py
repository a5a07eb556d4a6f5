"""The `wheels` fact of a package's record: its state on the road to upstream riscv64
wheels, since when, the states before it, and upstream's requests; light (no HTTP
client), so that the nightly and the report read it without paying for the forges.
upstream/wheels/road.py establishes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from mirrorctl.core.record import FactKind

__all__ = ["DRAFTED", "STATES", "WHEELS", "AskState", "WheelAsk", "WheelState",
           "WheelsRecord", "wheels_words"]

AskState = Literal["open", "merged", "closed"]


@dataclass(frozen=True, kw_only=True)
class WheelAsk:
    """One request or issue of upstream's that asks for riscv64 wheels."""

    url: str
    kind: Literal["pr", "issue"]
    state: AskState
    title: str
    number: int
    closed_at: str | None = None  # when it was merged or closed (ISO 8601)


WheelState = Literal["unknown", "shipped", "pure-python", "released", "merged", "requested",
                     "reverted", "declined", "draft", "unknown-shape"]
STATES: tuple[WheelState, ...] = ("unknown", "shipped", "pure-python", "released", "merged",
                                  "requested", "reverted", "declined", "draft",
                                  "unknown-shape")
# The states whose next step is a draft (never one with an open request).
DRAFTED: tuple[WheelState, ...] = ("draft", "unknown-shape", "declined", "reverted")

@dataclass(frozen=True, kw_only=True)
class WheelsRecord:
    """The `wheels` fact: the last state established, since when, and the states before
    it; `unknown` says why the last run could not establish one (the state is then the
    one before, and no reader may show it as current)."""

    state: WheelState
    since: str | None
    reasons: tuple[str, ...]
    requests: tuple[WheelAsk, ...]
    history: tuple[tuple[WheelState, str | None], ...] = ()  # (state, since), oldest first
    unknown: str | None = None
    # The digest of what the builders' tracking issue "<pkg> riscv64 support" was last
    # told (its one comment), so that a night with nothing new asks the forge nothing.
    told: str | None = None


def _ask_json(ask: WheelAsk) -> dict[str, Any]:
    return {"url": ask.url, "kind": ask.kind, "state": ask.state, "title": ask.title,
            "number": ask.number, "closed_at": ask.closed_at}


def _ask_of(data: Any) -> WheelAsk:
    return WheelAsk(url=str(data["url"]), kind=data["kind"], state=data["state"],
                    title=str(data["title"]), number=int(data["number"]),
                    closed_at=data.get("closed_at"))


def _state(value: Any) -> WheelState:
    if value not in STATES:
        raise ValueError(f"no such state {value!r}")
    return value  # type: ignore[no-any-return]


WHEELS = FactKind[WheelsRecord](
    "wheels",
    lambda r: {"state": r.state, "since": r.since, "reasons": list(r.reasons),
               "requests": [_ask_json(a) for a in r.requests],
               "history": [{"state": s, "since": at} for s, at in r.history],
               "unknown": r.unknown, "told": r.told},
    lambda d: WheelsRecord(state=_state(d["state"]), since=d.get("since"),
                           reasons=tuple(map(str, d["reasons"])),
                           requests=tuple(_ask_of(a) for a in d["requests"]),
                           history=tuple((_state(h["state"]), h.get("since"))
                                         for h in d.get("history", [])),
                           unknown=d.get("unknown"), told=d.get("told")))


def wheels_words(record: WheelsRecord) -> tuple[str, str | None]:
    """The fact in words (`mirrorctl status`), and why it is not current (None if it is)."""
    since = f" since {record.since}" if record.since else ""
    asks = "".join(f"; {a.kind} #{a.number} {a.state}: {a.url}" for a in record.requests)
    return f"{record.state}{since}{asks}", record.unknown
