"""One baclofen draft order as the FHIR translation hands it to the cards: the Case the rules
check, what could not be read (each gap in plain words), and where the dose sits so that a
card can return the order corrected in the prescriber's own unit. The translation
(api/cds_hooks/fhir/) builds these; cards.py reads them; neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from rules.case import Case

MG_PER = {"mg": 1.0, "ug": 0.001, "g": 1000.0}


class Gap(str):
    """What the FHIR data did not let us read, in plain words for the card, and the Case field
    it leaves empty (if any): a rule's MISSING_DATA about that field is then already said, and
    better, by the gap."""

    field: str | None

    def __new__(cls, text: str, field: str | None = None) -> Gap:
        gap = super().__new__(cls, text)
        gap.field = field
        return gap


@dataclass(frozen=True)
class Strength:
    """A product's strength in mg per tablet (or other unit) or per mL."""

    mg: float
    per: Literal["unit", "mL"]

    def describe(self) -> str:
        return f"{self.mg:g} mg per {'tablet' if self.per == 'unit' else 'mL'}"


@dataclass
class DoseSite:
    """Where the dose sits in the draft order and how it was written, so that a card can
    return the corrected order in the prescriber's own unit."""

    instruction: int
    dose_and_rate: int | None  # None: STU3 `dosageInstruction.doseQuantity`
    kind: Literal["mass", "count", "volume"]
    unit: str  # mass: mg, ug or g; count: tablets; volume: mL
    strength: Strength | None  # count, volume; for mass, the tablet strength when known


@dataclass
class OrderCheck:
    """One baclofen draft order, translated. `resource` is the order exactly as the EHR sent
    it: a corrected order is a copy of it."""

    ref: str
    label: str
    resource: dict[str, Any]
    case: Case | None
    notes: list[Gap] = field(default_factory=list)
    dose_site: DoseSite | None = None


@dataclass
class Translation:
    checks: list[OrderCheck]
    unidentified: list[str]  # medication orders whose drug could not be identified


def as_list(value: Any) -> list[Any]:
    """FHIR repeats are lists; some EHRs send a single object (e.g. doseAndRate)."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
