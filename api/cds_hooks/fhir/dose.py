"""The amount of one administration: a dose quantity in mg, µg or g, a count of tablets or a
volume through the product's strength, or an infusion rate (mg, µg or mL per hour or day) as
a daily amount, or a dose per kg of body weight (mg/kg, which the rules multiply by the weight).
Where an order writes its dose several ways (Epic: "ordered", "calculated" and "admin-amount"),
the one in mg is the dose.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from api.cds_hooks import terminology as t
from api.cds_hooks.fhir.elements import Dosage, DoseAndRate, Quantity
from api.cds_hooks.fhir.reading import Read, gap, read_as
from api.cds_hooks.order_check import MG_PER, PER_KG, DoseSite, Strength
from rules.case import normalise_dose_unit, normalise_unit

Kind = Literal["mass", "count", "volume", "per_kg"]


@dataclass
class Dose:
    value: float  # per administration, in `unit`
    unit: str  # mg, ug or g; or mg/kg (the rules multiply it by the weight)
    site: DoseSite | None
    # Every entry of the instruction that was read, the dose's own among them.
    entries: tuple[DoseSite, ...] = ()

    @property
    def per_kg(self) -> bool:
        return self.unit == PER_KG

    @property
    def mg(self) -> float:
        """One dose in mg; not for a dose per kg (only the rules know the weight to use)."""
        return self.value * MG_PER[self.unit]


@dataclass(frozen=True)
class Amount:
    """A dose read from one dose-and-rate entry; `daily` when it is an infusion rate's amount
    for a day (given once a day)."""

    dose: Dose
    daily: bool = False


def _ucum(q: Quantity) -> bool:
    """The quantity's code is UCUM's (or names no system, as UCUM codes often are sent)."""
    return q.system is None or q.system.rstrip("/") == t.UCUM


def unit_of(q: Quantity) -> str:
    """The unit a quantity is written in: its code when the code is UCUM (or has no system);
    the unit text when the code is from the EHR's own unit codes, or is UCUM's unity "1" and
    the text says what is counted ("tablet")."""
    code, text = (q.code or "").strip(), (q.unit or "").strip()
    if code and _ucum(q) and not (code == "1" and text):
        return code
    return text or code


def _unit_kind(unit: str) -> tuple[str, str | float] | None:
    """What a unit measures, and which one of its kind: a mass (mg, ug, g), a count of
    tablets, a volume (its mL), a dose per kg; None for a unit we do not know (UCUM's "1")."""
    key = unit.strip().lower()
    if key in t.COUNT_UNITS:
        return "count", "unit"
    if key in t.VOLUME_UNITS_ML:
        return "volume", t.VOLUME_UNITS_ML[key]
    try:
        return ("per_kg" if t.PER_KG.search(unit) else "mass"), normalise_dose_unit(unit)
    except ValueError:
        return None


def units_disagree(q: Quantity) -> tuple[str, str] | None:
    """The unit text and the UCUM code of a quantity when both name a unit we know and not
    the same one: another mass ("ug" beside the code "mg"), or another kind ("tablet" beside
    the code "mg", "mg" beside "{tbl}"). The code would be read, while the EHR shows the
    text: which one the prescriber saw is unknown."""
    code, text = (q.code or "").strip(), (q.unit or "").strip()
    if not code or not text or not _ucum(q):
        return None
    by_code, by_text = _unit_kind(code), _unit_kind(text)
    if by_code is not None and by_text is not None and by_code != by_text:
        return text, code
    return None


@dataclass(frozen=True)
class _Measure:
    value: float  # in `unit`
    unit: str  # mg, ug or g
    kind: Kind
    written: str  # the unit as written (mL for volumes)
    strength: Strength | None


def _measure(
    q: Quantity, strength: set[Strength], route: str | None, label: str, what: str = "dose"
) -> Read[_Measure]:
    """A quantity in mg, µg or g: as written, or a count or volume through the strength."""
    if q.value is None:
        return Read(
            None, (gap(f"The {what} has no number: the dose checks could not run.", "order.dose"),)
        )
    value = float(q.value)
    if not math.isfinite(value) or value <= 0:
        return Read(
            None,
            (
                gap(
                    f"The {what} value {q.value!r} is not a positive number: the "
                    "dose checks could not run.",
                    "order.dose",
                ),
            ),
        )
    disagree = units_disagree(q)
    if disagree is not None:
        text, code = disagree
        return Read(
            None,
            (
                gap(
                    f"The {what} is written {value:g} {text!r} with the unit code {code!r}: the "
                    "two disagree, and which one the prescriber saw is unknown, so the dose "
                    "checks could not run.",
                    "order.dose",
                ),
            ),
        )
    raw_unit = unit_of(q)
    unit_key = raw_unit.lower()
    try:
        mass = normalise_unit(raw_unit)
        per_tablet = {x for x in strength if x.per == "unit"}
        return Read(
            _Measure(value, mass, "mass", mass, per_tablet.pop() if len(per_tablet) == 1 else None)
        )
    except ValueError:
        pass
    if unit_key in t.COUNT_UNITS or unit_key in t.VOLUME_UNITS_ML:
        per: Literal["unit", "mL"] = "unit" if unit_key in t.COUNT_UNITS else "mL"
        factor = 1.0 if per == "unit" else t.VOLUME_UNITS_ML[unit_key]
        fitting = {s for s in strength if s.per == per}
        written = f"{value:g} {raw_unit}"
        if len(fitting) != 1:
            if fitting:
                why = "is ambiguous (" + ", ".join(sorted(x.describe() for x in fitting)) + ")"
            elif strength:
                why = (
                    "is given per "
                    + ("mL" if per == "unit" else "tablet")
                    + ", not per "
                    + ("tablet" if per == "unit" else "mL")
                )
            else:
                why = "could not be determined"
            return Read(
                None,
                (
                    gap(
                        f"The {what} is written as {written}, and the strength of '{label}' "
                        f"{why}: the dose in mg is unknown, so the dose checks could not run. "
                        "Order the dose in mg, or a product with its strength.",
                        "order.dose",
                    ),
                ),
            )
        s = fitting.pop()
        mg = round(value * factor * s.mg, 6)
        kind: Kind = "count" if per == "unit" else "volume"
        written_unit = "mL" if per == "mL" else raw_unit
        # Intrathecal doses are micrograms: converting a volume to mg would read as "written
        # in mg" to the unit checks.
        if route == "intrathecal":
            return Read(_Measure(round(mg * 1000, 3), "ug", kind, written_unit, s))
        return Read(_Measure(mg, "mg", kind, written_unit, s))
    if t.PER_KG.search(raw_unit):
        try:
            per_kg = normalise_dose_unit(raw_unit) == PER_KG
        except ValueError:
            per_kg = False
        if per_kg and what == "dose":
            return Read(_Measure(value, PER_KG, "per_kg", raw_unit, None))
        return Read(
            None,
            (
                gap(
                    f"The {what} is written per kg of body weight ({value:g} {raw_unit}), not "
                    "as one dose in mg or mg/kg: the dose checks could not run.",
                    "order.dose",
                ),
            ),
        )
    return Read(
        None,
        (
            gap(
                f"The {what} unit {raw_unit or '(none)'!r} is not one we can "
                "convert to mg: the dose checks could not run.",
                "order.dose",
            ),
        ),
    )


def quantity_dose(
    q: Quantity,
    strength: set[Strength],
    route: str | None,
    instruction: int,
    dar: int | None,
    label: str,
) -> Read[Dose]:
    read = _measure(q, strength, route, label)
    if read.value is None:
        return Read(None, read.gaps)
    m = read.value
    return Read(Dose(m.value, m.unit, DoseSite(instruction, dar, m.kind, m.written, m.strength)))


def mg_of(
    q: Quantity, strength: set[Strength], route: str | None, label: str, what: str
) -> Read[float]:
    """A stated amount (a maximum per dose or per period) in mg."""
    read = _measure(q, strength, route, label, what)
    if read.value is None:
        return Read(None, read.gaps)
    return Read(read.value.value * MG_PER[read.value.unit])  # maxima are never per kg here


_PER = re.compile(r"^\(?\s*(?P<n>\d+(?:\.\d+)?)?\s*\.?\s*(?P<unit>[a-z]+)\s*\)?$")
_TIME_WORDS = {
    "day": "d",
    "days": "d",
    "hr": "h",
    "hrs": "h",
    "hour": "h",
    "hours": "h",
    "mins": "min",
    "minute": "min",
    "minutes": "min",
    "week": "wk",
    "weeks": "wk",
}


def hours_of(per: str) -> float | None:
    """A time unit as hours: "h", "hr", "d", "day", and UCUM's "(24.h)"."""
    match = _PER.match(per.strip().lower())
    if not match:
        return None
    unit = _TIME_WORDS.get(match["unit"], match["unit"])
    hours = t.PERIOD_HOURS.get(unit)
    return hours * float(match["n"] or 1) if hours else None


def _daily_amount(
    amount: Quantity | None, per_hours: float | None, strength: set[Strength], route: str | None
) -> Dose | None:
    """An amount given every `per_hours`, as the amount of a day; mL through the strength."""
    if amount is None or amount.value is None or not per_hours or per_hours <= 0:
        return None
    value = float(amount.value)
    if not math.isfinite(value) or value <= 0:
        return None
    unit = unit_of(amount).partition("/")[0].strip()
    per_day = 24 / per_hours
    try:
        return Dose(round(value * per_day, 6), normalise_unit(unit), None)
    except ValueError:
        pass
    ml = t.VOLUME_UNITS_ML.get(unit.lower())
    per_ml = [s for s in strength if s.per == "mL"]
    if ml is None or len(per_ml) != 1:
        return None
    mg = value * ml * per_day * per_ml[0].mg
    if route == "intrathecal":
        return Dose(round(mg * 1000, 3), "ug", None)
    return Dose(round(mg, 6), "mg", None)


def rate_dose(
    dar: DoseAndRate, strength: set[Strength], route: str | None, label: str
) -> Read[Amount]:
    """An infusion rate (intrathecal pumps): the daily amount, given once a day. A rate in
    mL per hour or day is a volume of the product: its concentration gives the amount."""
    rate = dar.rateQuantity
    if rate is not None:
        _, _, per = unit_of(rate).partition("/")
        dose = _daily_amount(rate, hours_of(per) if per else None, strength, route)
        if dose is not None:
            return Read(Amount(dose, daily=True))
    ratio = dar.rateRatio
    if ratio is not None and ratio.denominator is not None:
        den = ratio.denominator
        per_value = float(den.value) if den.value is not None else 1.0
        hours = hours_of(unit_of(den))
        dose = _daily_amount(ratio.numerator, hours * per_value if hours else None, strength, route)
        if dose is not None:
            return Read(Amount(dose, daily=True))
    if rate is None and ratio is None:
        return Read()
    volume = any(
        q is not None and unit_of(q).partition("/")[0].strip().lower() in t.VOLUME_UNITS_ML
        for q in (rate, ratio.numerator if ratio else None)
    )
    if volume and len([s for s in strength if s.per == "mL"]) != 1:
        return Read(
            None,
            (
                gap(
                    f"The infusion rate is a volume, and the concentration of "
                    f"'{label}' could not be determined: the daily amount is "
                    "unknown, so the dose checks could not run.",
                    "order.dose",
                ),
            ),
        )
    return Read(
        None,
        (
            gap(
                "The infusion rate could not be converted to a daily amount: the "
                "dose checks could not run.",
                "order.dose",
            ),
        ),
    )


def zero_amount(dar: DoseAndRate) -> bool:
    """A dose or infusion rate of 0: how EHRs write a discontinuation."""
    ratio = dar.rateRatio
    for q in (dar.doseQuantity, dar.rateQuantity, ratio.numerator if ratio else None):
        if q is not None and "value" in q.model_fields_set:
            return q.value is not None and float(q.value) == 0
    return False


def _type(dar: DoseAndRate) -> str | None:
    """ "ordered", "calculated" or "admin-amount" (Epic; "Administered Amount" as text)."""
    if dar.type is None:
        return None
    for text in [*dar.type.codes(), *dar.type.texts()]:
        key = text.strip().lower().replace(" ", "-")
        key = {"administered-amount": "admin-amount", "admin-amt": "admin-amount"}.get(key, key)
        if key in t.DOSE_TYPE_PREFERENCE:
            return key
    return None


def _preference(dar: DoseAndRate) -> int:
    return t.DOSE_TYPE_PREFERENCE.index(_type(dar))


def dose_and_rates(dosage: Dosage) -> list[tuple[int | None, DoseAndRate]]:
    """The dose-and-rate entries with their place in the order; STU3 writes the dose on the
    dosage itself."""
    dars: list[tuple[int | None, DoseAndRate]] = [
        (n, d) for n, d in enumerate(dosage.doseAndRate) if d.given()
    ]
    return dars or [(None, dosage)]


def _entry_amount(
    dar: DoseAndRate,
    instruction: int,
    index: int | None,
    strength: set[Strength],
    route: str | None,
    label: str,
) -> Read[Amount]:
    if dar.doseQuantity is not None:
        dose = quantity_dose(dar.doseQuantity, strength, route, instruction, index, label)
    elif (
        dar.doseRange is not None
        and dar.doseRange.high is not None
        and (dar.doseRange.high.given())
    ):
        dose = quantity_dose(dar.doseRange.high, strength, route, instruction, None, label)
        if dose.value is not None:
            dose.value.site = None  # a corrected order would have to rewrite the range
            dose = Read(
                dose.value,
                (*dose.gaps, read_as("The dose is a range; its upper value was checked.")),
            )
    else:
        return rate_dose(dar, strength, route, label)
    return Read(Amount(dose.value), dose.gaps) if dose.value else Read(None, dose.gaps)


def _rank(amount: Amount) -> int:
    """A dose in mg first, then one in tablets or mL, then one per kg (the rules need the
    weight for it), then an infusion rate."""
    if amount.daily:
        return 3
    if amount.dose.per_kg:
        return 2
    site = amount.dose.site
    return 1 if site is not None and site.kind in ("count", "volume") else 0


def amount_of(
    dosage: Dosage,
    instruction: int,
    strength: set[Strength],
    route: str | None,
    label: str,
    stopping: bool,
) -> Read[Amount]:
    """The dose of one dosage instruction. Of several entries that can be read, the one in
    mg (then in tablets or mL, then a rate), "ordered" before "calculated" before
    "admin-amount"; when their amounts disagree, the largest, said in a gap. When none can
    be read, what stands in the way of the entry meant as the dose."""
    entries = sorted(dose_and_rates(dosage), key=lambda e: _preference(e[1]))
    if stopping and any(zero_amount(dar) for _, dar in entries):
        return Read()  # a stop written as a dose or rate of 0: "no more", not "0 mg"
    readings = [_entry_amount(dar, instruction, n, strength, route, label) for n, dar in entries]
    found = [(r.value, r) for r in readings if r.value is not None]
    if not found:
        return next((r for r in readings if r.gaps), Read())
    best = min(found, key=lambda f: _rank(f[0]))[1]
    sites = tuple(a.dose.site for a, _ in found if a.dose.site is not None and not a.daily)
    doses = [(a.dose, r) for a, r in found if not a.daily and not a.dose.per_kg]
    if len(doses) < 2:
        return _with_entries(best, sites)
    low = min(d.mg for d, _ in doses)
    high, read = max(doses, key=lambda d: d[0].mg)
    if high.mg - low <= max(0.01, high.mg * 0.01):
        return _with_entries(best, sites)
    stated = "; ".join(f"{d.mg:g} mg" for d, _ in doses)
    return Read(
        Amount(Dose(high.value, high.unit, None)),
        (
            *read.gaps,
            read_as(
                f"The order states its dose in ways that disagree ({stated}): the largest, "
                f"{high.mg:g} mg, was checked."
            ),
        ),
    )


def _with_entries(read: Read[Amount], sites: tuple[DoseSite, ...]) -> Read[Amount]:
    """The dose read, knowing every entry of its instruction that was read with it."""
    amount = read.value
    if amount is None or amount.daily:
        return read
    dose = amount.dose
    return Read(Amount(Dose(dose.value, dose.unit, dose.site, sites)), read.gaps)
