"""What an order gives: the dose of one administration and how many a day, from all its
dosage instructions (sequential steps, concurrent instructions such as a morning and a night
dose), read at the most the order allows: the top of a dose range, the most frequent end of a
schedule range, and the maxima the order states.

The maxima (Dosage.maxDosePerAdministration, maxDosePerPeriod) are read as a worst case, and
each use of one is said in a gap:
- a maximum per dose above the dose is the dose checked;
- a maximum per period is the daily dose checked when the order is taken as needed (the most
  it lets the patient take in a day), or when it is above what the schedule gives (the order
  lets the dose go up to it); a maximum below a regular schedule leaves the schedule checked;
- an order taken as needed without a maximum is checked at the most its schedule allows
  ("every 4 hours as needed": 6 doses a day, as the schedule itself says); with no schedule
  either, its daily dose is unknown, and a gap says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from api.cds_hooks.fhir.dose import Dose, amount_of, hours_of, mg_of, unit_of
from api.cds_hooks.fhir.elements import Dosage
from api.cds_hooks.fhir.medication import Product
from api.cds_hooks.fhir.reading import Read, gap, read_as
from api.cds_hooks.fhir.resources import MedicationRequest
from api.cds_hooks.fhir.timing import as_needed, per_day
from api.cds_hooks.order_check import MG_PER, Gap, Strength


@dataclass
class Regimen:
    dose: Dose | None
    per_day: int | None

    def daily_mg(self) -> float | None:
        """The daily dose in mg; None when unknown here (a dose per kg: the rules have the
        weight)."""
        if self.dose is None or self.per_day is None or self.dose.per_kg:
            return None
        return round(self.dose.value * MG_PER[self.dose.unit] * self.per_day, 6)


def _shown(mg: float, unit: str) -> str:
    return f"{mg / MG_PER[unit]:g} {unit}"


def _period_max_mg(
    dosage: Dosage, strength: set[Strength], route: str | None, label: str
) -> Read[float]:
    """Dosage.maxDosePerPeriod as the most it allows in a day: over a period of a day or
    less, scaled to a day; over a longer period, all of it (it may all fall on one day)."""
    ratio = dosage.maxDosePerPeriod
    if ratio is None or ratio.numerator is None:
        return Read()
    amount = mg_of(ratio.numerator, strength, route, label, "maximum per period")
    den = ratio.denominator
    hours = hours_of(unit_of(den)) if den is not None else None
    per = float(den.value) if den is not None and den.value is not None else 1.0
    if amount.value is None or not hours or per <= 0:
        return Read(
            None, (gap("The order's maximum per period could not be read: it was not checked."),)
        )
    return Read(round(amount.value * 24 / min(hours * per, 24), 6))


def _dose_max_mg(
    dosage: Dosage, strength: set[Strength], route: str | None, label: str
) -> Read[float]:
    if dosage.maxDosePerAdministration is None:
        return Read()
    amount = mg_of(dosage.maxDosePerAdministration, strength, route, label, "maximum per dose")
    if amount.value is None:
        return Read(
            None, (gap("The order's maximum per dose could not be read: it was not checked."),)
        )
    return amount


def _worst_case(
    dosage: Dosage,
    dose: Dose,
    freq: int | None,
    strength: set[Strength],
    route: str | None,
    label: str,
) -> Read[tuple[Dose, int | None]]:
    """The dose and doses a day to check for one instruction, given its maxima."""
    gaps: list[Gap] = []
    if dose.per_kg:
        # Its mg needs the weight, which only the rules apply: a maximum in mg beside it
        # cannot be compared here.
        if dosage.maxDosePerAdministration is not None or dosage.maxDosePerPeriod is not None:
            gaps.append(
                gap(
                    "The order states a maximum beside a dose per kg of body weight: the "
                    "maximum was not checked (the dose per kg and its schedule were)."
                )
            )
        if as_needed(dosage) and freq is None:
            gaps.append(_PRN_UNKNOWN)
        return Read((dose, freq), tuple(gaps))
    unit = dose.unit
    per_dose = dose.mg
    dose_max = _dose_max_mg(dosage, strength, route, label)
    gaps += dose_max.gaps
    if dose_max.value is not None and dose_max.value > per_dose + 1e-9:
        per_dose = dose_max.value
        gaps.append(
            read_as(
                f"The order allows up to {_shown(per_dose, unit)} per dose: the dose "
                "checks were run on that maximum."
            )
        )
    period_max = _period_max_mg(dosage, strength, route, label)
    gaps += period_max.gaps
    scheduled = per_dose * freq if freq is not None else None
    prn = as_needed(dosage)
    daily = period_max.value
    if daily is not None and (prn or scheduled is None or daily > scheduled + 1e-9):
        count = freq or max(1, min(24, math.ceil(daily / per_dose - 1e-9)))
        gaps.append(
            read_as(
                f"The order allows up to {_shown(daily, unit)} a day (its maximum "
                "per period): the daily-dose checks were run on that maximum."
            )
        )
        return Read((Dose(round(daily / count / MG_PER[unit], 6), unit, None), count), tuple(gaps))
    if prn and freq is None:
        gaps.append(_PRN_UNKNOWN)
    if per_dose != dose.mg:
        dose = Dose(round(per_dose / MG_PER[unit], 6), unit, None)
    return Read((dose, freq), tuple(gaps))


_FREQUENCY = "order.frequency_per_day"
_PRN_UNKNOWN = gap(
    "The order is taken as needed, with no schedule and no maximum per day: how much may be "
    "taken in a day is unknown, so the daily-dose checks could not run. State a maximum per "
    "day.",
    "order.frequency_per_day",
)


def regimen_of(
    request: MedicationRequest, product: Product, route: str | None, label: str
) -> Read[Regimen]:
    """The regimen of the order: of its first step when its instructions are sequential
    (dosageInstruction.sequence), the later steps named with their daily dose, for the
    check has one regimen (the start, the step from the current dose, the maxima)."""
    # A stopped (discontinued: v2 order status DC) order written with a dose or rate of 0
    # says "no more", not "0 mg": no dose to read, and no gap for not reading it.
    stopping = request.status == "stopped"
    strength = product.strengths()
    dosages = list(enumerate(request.dosages))
    total = len(dosages)
    sequences = sorted({d.sequence for _, d in dosages if d.sequence is not None})
    if len(sequences) <= 1:
        return _combined(dosages, total, strength, route, label, stopping)
    first = sequences[0]
    unsequenced = [n for n, d in dosages if d.sequence is None]
    checked = _combined(
        [(n, d) for n, d in dosages if d.sequence in (first, None)],
        total,
        strength,
        route,
        label,
        stopping,
    )
    later = []
    for step in sequences[1:]:
        # Only its daily dose is said: what stands in the way of reading it is not.
        regimen = _combined(
            [(n, d) for n, d in dosages if d.sequence == step],
            total,
            strength,
            route,
            label,
            stopping,
        ).value
        later.append(f"step {step} ({_daily_text(regimen)})")
    gaps = [
        *checked.gaps,
        gap(
            f"The order has {len(sequences)} sequential dosage steps; only the first "
            f"(sequence {first}) was checked. Not checked: {', '.join(later)}. Check the "
            "later steps against the maxima by hand."
        ),
    ]
    if unsequenced:
        # Beside sequential steps, an instruction without a sequence belongs to none of them
        # for sure: added to the step checked, the most it can add there, and said.
        which = ", ".join(str(n + 1) for n in unsequenced)
        many = len(unsequenced) > 1
        gaps.append(
            gap(
                f"Dosage instruction{'s' if many else ''} {which} of {total} "
                f"{'have' if many else 'has'} no sequence beside sequential steps: "
                f"{'they were' if many else 'it was'} counted with the first step, the one "
                "checked."
            )
        )
    return Read(checked.value, tuple(gaps))


def _daily_text(regimen: Regimen | None) -> str:
    """A step as the card names it: its dose and doses a day as read from the order (what
    they come to a day is the rules' to say, and they check only the first step), or that it
    could not be read."""
    if regimen is None or regimen.dose is None or regimen.per_day is None:
        return "dose or doses a day not read"
    times = "once a day" if regimen.per_day == 1 else f"{regimen.per_day} times a day"
    return f"{regimen.dose.value:g} {regimen.dose.unit} {times}"


def _combined(
    dosages: list[tuple[int, Dosage]],
    total: int,
    strength: set[Strength],
    route: str | None,
    label: str,
    stopping: bool,
) -> Read[Regimen]:
    """One regimen of concurrent instructions (10 mg morning, 20 mg night): their sum.
    `total` is how many instructions the order has, for naming one."""
    gaps: list[Gap] = []
    parts: list[tuple[Dose, int | None]] = []
    undosed: list[int] = []  # instructions with no dose at all, said when others have one
    # Instructions with a dose but no number of doses a day, and the gaps that say why: when
    # others have one, they are left out of the sum and named, not said to stop every check.
    unscheduled: list[tuple[int, Dose, bool, list[Gap]]] = []
    for n, dosage in dosages:
        amount = amount_of(dosage, n, strength, route, label, stopping)
        gaps += amount.gaps
        if amount.value is None:
            if not amount.gaps:
                undosed.append(n)
            continue
        if amount.value.daily:
            parts.append((amount.value.dose, 1))
            continue
        frequency = per_day(dosage)
        worst = _worst_case(dosage, amount.value.dose, frequency.value, strength, route, label)
        if worst.value is not None and worst.value[1] is None and len(dosages) > 1:
            said = (*frequency.gaps, *worst.gaps)
            gaps += [g for g in said if g.field != _FREQUENCY]
            reasons = [g for g in said if g.field == _FREQUENCY]
            unscheduled.append((n, worst.value[0], as_needed(dosage), reasons))
            continue
        gaps += frequency.gaps
        gaps += worst.gaps
        if worst.value is not None:
            parts.append(worst.value)
    if unscheduled and any(f is not None for _, f in parts):
        # 20 mg four times a day plus "1 tablet extra if needed" with no schedule: the
        # scheduled instructions are at least what the order gives, and are checked.
        for n, dose, prn, _ in unscheduled:
            gaps.append(
                gap(
                    f"Dosage instruction {n + 1} of {total} ({dose.value:g} "
                    f"{dose.unit}{' as needed' if prn else ''}) "
                    "has no number of doses a day that could be read (no readable schedule, "
                    "no maximum per day): the daily dose was checked without it, as the least "
                    "the order gives. State its schedule or a maximum per day."
                )
            )
    else:
        for _, dose, _, reasons in unscheduled:
            gaps += reasons
            parts.append((dose, None))
    if parts and undosed:
        # A bedtime dose written as a timing or a text alone ("plus 40 mg at night") would
        # otherwise be left out of the daily dose without a word.
        which = ", ".join(str(n + 1) for n in undosed)
        many = len(undosed) > 1
        gaps.append(
            gap(
                f"Dosage instruction{'s' if many else ''} {which} of {total} "
                f"{'have' if many else 'has'} no dose that could be read: the daily dose was "
                f"checked without {'them' if many else 'it'}, as the least the order gives."
            )
        )
    if not parts:
        # The schedule is still worth knowing (division checks) when the amount is not.
        freq = per_day(dosages[0][1]).value if len(dosages) == 1 else None
        return Read(Regimen(None, freq), tuple(gaps))
    if len(parts) == 1:
        dose, freq = parts[0]
        return Read(Regimen(dose, freq), tuple(gaps))
    # Concurrent instructions (e.g. 10 mg morning, 20 mg night): one regimen of their sum.
    if any(f is None for _, f in parts):
        return Read(Regimen(None, None), tuple(gaps))
    if any(d.per_kg for d, _ in parts):
        gaps.append(
            gap(
                "The order writes its dose per kg of body weight in several dosage "
                "instructions: their daily dose could not be added up, so the daily-dose "
                "checks could not run.",
                "order.dose",
            )
        )
        return Read(Regimen(None, None), tuple(gaps))
    total_mg = sum(d.value * MG_PER[d.unit] * (f or 1) for d, f in parts)
    count = sum(f or 1 for _, f in parts)
    if count > 24:
        gaps.append(
            gap(
                "The dosage instructions add up to more than 24 doses a day: the "
                "daily-dose checks could not run.",
                "order.dose",
            )
        )
        return Read(Regimen(None, None), tuple(gaps))
    return Read(Regimen(Dose(round(total_mg / count, 6), "mg", None), count), tuple(gaps))
