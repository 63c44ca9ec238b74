"""What the rules find in one problem-list or medication entry, cached: the translation asks
it to keep a long list's entries that matter and to choose which coding names a drug."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from rules.derive import findings_of_entry


@lru_cache(maxsize=1 << 14)
def entry_findings(
    kind: Literal["condition", "medication"], entry: tuple[tuple[str, str], ...]
) -> frozenset[str]:
    """The findings the rules derive from one entry (a pure function of it): a problem or a
    drug recorded across many patients is read once per process."""
    return frozenset(f["finding"] for f in findings_of_entry(kind, dict(entry)))
