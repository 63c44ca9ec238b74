"""The amount of one administration: a dose quantity in mg, µg or g, a count of tablets or a
volume through the product's strength, or an infusion rate as a daily amount.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from api.cds_hooks import terminology as t
from api.cds_hooks.fhir.elements import Dosage, DoseAndRate, Quantity
from api.cds_hooks.fhir.reading import Read, gap
from api.cds_hooks.order_check import DoseSite, Strength
from rules.case import normalise_unit


@dataclass
class Dose:
    value: float  # per administration, in `unit`
    unit: str  # mg, ug or g
    site: DoseSite | None


def dose_and_rates(dosage: Dosage) -> list[tuple[int | None, DoseAndRate]]:
    """The dose-and-rate entries to read, with their place in the order: those typed
    "ordered" when there are, else all; STU3 writes the dose on the dosage itself."""
    dars = [(n, d) for n, d in enumerate(dosage.doseAndRate) if d.given()]
    if not dars:
        return [(None, dosage)]
    ordered = [(n, d) for n, d in dars
               if any(c.code == "ordered" for c in (d.type.coding if d.type else ()))]
    return ordered or dars


def zero_amount(dar: DoseAndRate) -> bool:
    """A dose or infusion rate of 0: how EHRs write a discontinuation."""
    ratio = dar.rateRatio
    for q in (dar.doseQuantity, dar.rateQuantity, ratio.numerator if ratio else None):
        if q is not None and "value" in q.model_fields_set:
            return q.value is not None and float(q.value) == 0
    return False


def quantity_dose(q: Quantity, strength: set[Strength], route: str | None, instruction: int,
                  dar: int | None, label: str) -> Read[Dose]:
    if q.value is None:
        return Read(None, (gap("The dose has no number: the dose checks could not run.",
                               "order.dose"),))
    value = float(q.value)
    if not math.isfinite(value) or value <= 0:
        return Read(None, (gap(f"The dose value {q.value!r} is not a positive number: the "
                               "dose checks could not run.", "order.dose"),))
    raw_unit = (q.code or q.unit or "").strip()
    unit_key = raw_unit.lower()
    try:
        mass = normalise_unit(raw_unit)
        per_tablet = {x for x in strength if x.per == "unit"}
        return Read(Dose(value, mass, DoseSite(
            instruction, dar, "mass", mass, per_tablet.pop() if len(per_tablet) == 1 else None)))
    except ValueError:
        pass
    if unit_key in t.COUNT_UNITS or unit_key in t.VOLUME_UNITS_ML:
        per: Literal["unit", "mL"] = "unit" if unit_key in t.COUNT_UNITS else "mL"
        kind: Literal["count", "volume"] = "count" if per == "unit" else "volume"
        factor = 1.0 if per == "unit" else t.VOLUME_UNITS_ML[unit_key]
        fitting = {s for s in strength if s.per == per}
        written = f"{value:g} {raw_unit}"
        if len(fitting) != 1:
            if fitting:
                why = "is ambiguous (" + ", ".join(sorted(x.describe() for x in fitting)) + ")"
            elif strength:
                why = "is given per " + ("mL" if per == "unit" else "tablet") + ", not per " + (
                    "tablet" if per == "unit" else "mL")
            else:
                why = "could not be determined"
            return Read(None, (gap(
                f"The dose is written as {written}, and the strength of '{label}' {why}: the "
                "dose in mg is unknown, so the dose checks could not run. Order the dose in "
                "mg, or a product with its strength.", "order.dose"),))
        s = fitting.pop()
        mg = round(value * factor * s.mg, 6)
        site = DoseSite(instruction, dar, kind, "mL" if per == "mL" else raw_unit, s)
        # Intrathecal doses are micrograms: converting a volume to mg would read as "written
        # in mg" to the unit checks.
        if route == "intrathecal":
            return Read(Dose(round(mg * 1000, 3), "ug", site))
        return Read(Dose(mg, "mg", site))
    return Read(None, (gap(f"The dose unit {raw_unit or '(none)'!r} is not one we can convert "
                           "to mg: the dose checks could not run.", "order.dose"),))


def rate_dose(dar: DoseAndRate) -> Read[tuple[Dose, int]]:
    """An infusion rate (intrathecal pumps): the daily amount, given once a day."""
    rate = dar.rateQuantity
    if rate is not None:
        unit = rate.code or rate.unit or ""
        mass, _, per = unit.partition("/")
        hours = t.PERIOD_HOURS.get(per.strip().lower().replace("day", "d").replace("hr", "h"))
        try:
            mass_unit = normalise_unit(mass)
        except ValueError:
            mass_unit = ""
        value = float(rate.value) if rate.value is not None else 0.0
        if not mass_unit:
            value = 0.0
        if mass_unit and hours and value > 0:
            return Read((Dose(round(value * 24 / hours, 6), mass_unit, None), 1))
    ratio = dar.rateRatio
    if ratio is not None and ratio.denominator is not None:
        den, num = ratio.denominator, ratio.numerator
        hours = t.PERIOD_HOURS.get((den.code or den.unit or "").lower())
        try:
            if num is None or num.value is None:
                raise ValueError
            amount = float(num.value) / float(den.value if den.value is not None else 1)
            mass_unit = normalise_unit(num.code or num.unit)
        except (ValueError, ZeroDivisionError):
            hours = None
        if hours and amount > 0:
            return Read((Dose(round(amount * 24 / hours, 6), mass_unit, None), 1))
    if rate is not None or ratio is not None:
        return Read(None, (gap("The infusion rate could not be converted to a daily amount: "
                               "the dose checks could not run.", "order.dose"),))
    return Read()
