"""What mirrorctl remembers about each package between syncs.

- upstream: upstream's mirrored refs at the last fetch (equal to the cache's refs),
  so that an unchanged upstream costs no fetch;
- pushed: the value mirrorctl last pushed to each mirror ref: what it owns;
- pending: what a push in flight was about to set, written before the push, so
  that a sync killed mid-push still learns on the next run what it had pushed;
- upstream_error: why the last sync could not bring upstream into the cache (None
  when it did), so that no later job shows a stale cache as "up to date".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mirrorctl.core.files import atomic_write_text

__all__ = ["PackageState", "state_path"]

_FORMAT = 1


@dataclass
class PackageState:
    upstream: dict[str, str] = field(default_factory=dict)
    pushed: dict[str, str] = field(default_factory=dict)
    pending: dict[str, str | None] = field(default_factory=dict)
    upstream_error: str | None = None
    warning: str | None = None

    @classmethod
    def load(cls, path: Path) -> PackageState:
        try:
            raw: Any = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            # Losing the state costs a full fetch and makes sync more cautious
            # (nothing counts as pushed by mirrorctl); it never loses a ref.
            return cls(warning=f"state file {path} unreadable ({exc}); starting afresh")
        if not isinstance(raw, dict) or raw.get("format") != _FORMAT:
            return cls(warning=f"state file {path} has an unknown format; starting afresh")
        error = raw.get("upstream_error")
        return cls(upstream=dict(raw.get("upstream", {})), pushed=dict(raw.get("pushed", {})),
                   pending=dict(raw.get("pending", {})),
                   upstream_error=str(error) if error is not None else None)

    def save(self, path: Path) -> None:
        data = {"format": _FORMAT, "upstream": self.upstream, "pushed": self.pushed,
                "pending": self.pending, "upstream_error": self.upstream_error}
        atomic_write_text(path, json.dumps(data, indent=1, sort_keys=True) + "\n")

    def settle_pending(self, mirror: dict[str, str]) -> bool:
        """Adopt the pending updates the mirror shows happened; forget the others.
        True when there was anything to settle (the state then needs saving)."""
        had_pending = bool(self.pending)
        for ref, value in self.pending.items():
            if value is not None and mirror.get(ref) == value:
                self.pushed[ref] = value
            elif value is None and ref not in mirror:
                self.pushed.pop(ref, None)
        self.pending = {}
        return had_pending


def state_path(workdir: Path, package: str) -> Path:
    return workdir / "state" / f"{package}.json"
