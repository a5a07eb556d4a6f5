"""The vocabulary of a grade: its levels, its reasons, and the level of each reason code.

Value types shared by every wing that shows a grade (the grade wing makes them, the
queue, report and night wings carry them). The levels of the reason codes are data
(grading.yaml beside this file), overridable under `defaults: grades:` in mirrors.yaml,
which the config loader checks against the codes known here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

__all__ = ["LEVELS", "Grade", "Level", "Reason", "default_levels", "grade_from_json",
           "grade_to_json", "reason_to_json"]

Level = Literal["easy", "medium", "hard"]
LEVELS: tuple[Level, ...] = ("easy", "medium", "hard")


@dataclass(frozen=True)
class Reason:
    code: str
    detail: str
    todo: str = ""  # what a person does about it (medium and hard reasons say it)

    @property
    def text(self) -> str:
        """`code: detail`, and what to do, as people read it."""
        return f"{self.code}: {self.detail}" + (f" (to do: {self.todo})" if self.todo else "")


@dataclass(frozen=True, kw_only=True)
class Grade:
    level: Level
    reasons: tuple[Reason, ...]
    pinned: bool = False

    @property
    def main_reason(self) -> Reason:
        return self.reasons[0]


def grade_to_json(grade: Grade) -> dict[str, Any]:
    return {"level": grade.level, "pinned": grade.pinned,
            "reasons": [reason_to_json(r) for r in grade.reasons]}


def reason_to_json(reason: Reason) -> dict[str, str]:
    return {"code": reason.code, "detail": reason.detail, "todo": reason.todo}


def grade_from_json(data: Mapping[str, Any]) -> Grade:
    level = data["level"]
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}")
    return Grade(level=level, pinned=bool(data.get("pinned", False)),
                 reasons=tuple(Reason(str(r["code"]), str(r["detail"]), str(r.get("todo", "")))
                               for r in data["reasons"]))


@cache
def default_levels() -> Mapping[str, Level]:
    path = Path(__file__).with_name("grading.yaml")
    levels: dict[str, Level] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return levels
