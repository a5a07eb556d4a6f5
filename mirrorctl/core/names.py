"""A package's name as PyPI compares it (PEP 503: runs of '-', '_' and '.' are one '-',
case does not count), without importing packaging.utils on every start: that module
pulls in packaging.tags (about 10 ms), and a no-op nightly sync starts once a night for
every batch. tests/test_config.py checks it against packaging's canonicalize_name.
"""

from __future__ import annotations

import re

__all__ = ["canonical_name"]

_SEPARATORS = re.compile(r"[-_.]+")


def canonical_name(name: str) -> str:
    return _SEPARATORS.sub("-", name).lower()
