"""Markdown that forges render as people wrote it: what a request or an issue quotes
(patch names, error messages, a workflow's line) as a code span, never a mention, a
cross-reference or markup."""

from __future__ import annotations

import re

__all__ = ["code_span"]


def code_span(text: str, *, limit: int = 400) -> str:
    """`text` on one line as a code span, fenced with one backtick more than its longest
    run of them, cut after `limit` characters."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[:limit] + " …"
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    return f"{fence} {text} {fence}"
