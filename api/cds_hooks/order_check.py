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
PER_KG = "mg/kg"  # a dose per kg of body weight: the rules multiply it by the weight


class Gap(str):
    """What the FHIR data did not let us read, in plain words for the card, and the Case field
    it leaves empty (if any): a rule's MISSING_DATA about that field is then already said, and
    better, by the gap."""

    field: str | None

    def __new__(cls, text: str, field: str | None = None) -> Gap:
        gap = super().__new__(cls, text)
        gap.field = field
        return gap


class ReadAs(Gap):
    """Not a gap but how a value was read where the order allows a range (a dose range, a
    schedule range, a stated maximum, entries that disagree): the most it allows was checked.
    Said on the order's alert cards, beside the numbers it explains; an order without alerts
    passed at that worst case, so nothing needs saying.

    With a `field` (`patient.weight_kg`), it is which of the record's values was taken and
    when it was recorded: said on the cards whose checked values include that field only."""


@dataclass(frozen=True)
class Strength:
    """A product's strength in mg per tablet (or other unit) or per mL."""

    mg: float
    per: Literal["unit", "mL"]

    def describe(self) -> str:
        return f"{self.mg:g} mg per {'tablet' if self.per == 'unit' else 'mL'}"


@dataclass
class DoseSite:
    """Where a dose sits in the draft order and how it was written, so that a card can
    return the corrected order in the prescriber's own unit."""

    instruction: int
    dose_and_rate: int | None  # None: STU3 `dosageInstruction.doseQuantity`
    kind: Literal["mass", "count", "volume", "per_kg"]
    unit: str  # mass: mg, ug or g; count: tablets; volume: mL; per_kg: mg/kg
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
    # Every dose entry of that instruction that was read (Epic's ordered, calculated and
    # admin-amount): a corrected order rewrites each of them, and drops the others.
    dose_entries: tuple[DoseSite, ...] = ()

    @property
    def readings(self) -> list[ReadAs]:
        """How the order's data were read where it took a judgement (a range at its top end):
        said on the order's alert cards."""
        return [n for n in self.notes if isinstance(n, ReadAs)]

    @property
    def gaps(self) -> list[Gap]:
        """What could not be read: said on the order's missing-data card."""
        return [n for n in self.notes if not isinstance(n, ReadAs)]


@dataclass
class Translation:
    checks: list[OrderCheck]
    unidentified: list[str]  # medication orders whose drug could not be identified
    # Baclofen orders that say doNotPerform (reference, label): not checked as a dose to give.
    forbidding: list[tuple[str, str]] = field(default_factory=list)


def as_list(value: Any) -> list[Any]:
    """FHIR repeats are lists; some EHRs send a single object (e.g. doseAndRate)."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
