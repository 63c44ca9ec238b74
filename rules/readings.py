"""Readings: knowledge applied to the input while it becomes facts, before any rule runs.

Nearly everything clinical is a rule in the engine. A reading is the exception, kept for what
rules cannot express over facts (an ordered list folded into its changes), and declared here
so that the catalogue and the review sheet list it beside the rules, with its When/Then and the
passage it serves.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine import Source


@dataclass(frozen=True)
class Reading:
    id: str
    when: str
    then: str
    source: Source
    where: str  # the function that applies it
