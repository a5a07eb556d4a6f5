"""The campaign for upstream riscv64 wheels, as the morning report shows it: each
package's state on the road (from its record, as `upstream wheels` last established
it), its next action and its request, and the counts by state. The report's own type:
whoever reads the records (the nightly, `mirrorctl report`) fills it in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mirrorctl.core.stamps import stamp_text

__all__ = ["Campaign", "RoadRow", "campaign_from_json", "campaign_to_json"]

# The order the page lists the states in: what needs a person first.
ORDER = ("unknown", "declined", "reverted", "draft", "unknown-shape", "requested", "merged",
         "released", "shipped", "pure-python")


@dataclass(frozen=True, kw_only=True)
class RoadRow:
    package: str
    state: str
    next: str
    request: str | None = None  # the request upstream has open (or had), its URL
    since: str | None = None  # when the package entered its state
    unknown: str | None = None  # why the last run could not establish the state

    @property
    def shown_state(self) -> str:
        return "unknown" if self.unknown else self.state

    @property
    def since_text(self) -> str:
        return stamp_text(self.since) if self.since else "-"


@dataclass(frozen=True, kw_only=True)
class Campaign:
    rows: tuple[RoadRow, ...]

    @property
    def counts(self) -> Counter[str]:
        return Counter(row.shown_state for row in self.rows)

    @property
    def ordered(self) -> tuple[RoadRow, ...]:
        def key(row: RoadRow) -> tuple[int, str]:
            state = row.shown_state
            return (ORDER.index(state) if state in ORDER else len(ORDER), row.package.lower())
        return tuple(sorted(self.rows, key=key))


def campaign_to_json(campaign: Campaign | None) -> dict[str, Any] | None:
    if campaign is None:
        return None
    return {"counts": {s: campaign.counts[s] for s in ORDER if campaign.counts[s]},
            "packages": [{"name": r.package, "state": r.shown_state, "next": r.next,
                          "request": r.request, "since": r.since, "unknown": r.unknown,
                          "recorded_state": r.state}
                         for r in campaign.ordered]}


def campaign_from_json(data: Mapping[str, Any] | None) -> Campaign | None:
    if not isinstance(data, Mapping):
        return None
    return Campaign(rows=tuple(
        RoadRow(package=str(p["name"]), state=str(p.get("recorded_state", p["state"])),
                next=str(p["next"]), request=p.get("request"), since=p.get("since"),
                unknown=p.get("unknown")) for p in data.get("packages", [])))
