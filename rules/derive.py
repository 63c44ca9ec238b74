"""Derivations every family reads: the facts other rules reason over, computed by rules inside
the engine so that the trace shows how every alert was reached.

When a birth date (or an age) is known, Then the age in completed years and its band: under 8,
8 to 17, adult from the 18th birthday (000 for children, 001 for adults).
When the order has a dose and a frequency, Then the daily dose in mg and ug (a dose written per kg
of body weight, times the patient's weight); with the previous regimen, the previous daily dose
and the step between them; with the weight, mg/kg/day. Beside other baclofen orders
(order.concurrent) the daily dose is their total: rules/oral/concurrent.py.
When a creatinine clearance or an eGFR is known, Then the renal function (the lower of the two),
and below 15 mL/min terminal renal failure (CKD stage 5).
When a flag or a problem-list or medication entry says so, Then a finding: end-stage renal
disease, CKD stage 4, other renal impairment, pregnancy, a CNS depressant, a seizure disorder,
or an entry that could not be read (code sets: rules/code_sets.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any, Literal

from engine import Derivation, c, given, m
from engine.facts import read_as
from rules.case import PER_KG, completed_years
from rules.code_sets import (
    NOT_THE_PATIENTS,
    PAST_STATUSES,
    SYSTEM_NAMES,
    UNCONFIRMED_STATUSES,
    Entry,
    entry_depressant,
    entry_findings,
    read_entry,
)
from rules.unit_slips import slip
from rules.vocabulary import (
    Age,
    AgeBand,
    ConditionEntry,
    DailyDose,
    DoseStep,
    Finding,
    MedicationEntry,
    OrderFact,
    PatientFact,
    PreviousDailyDose,
    RenalFunction,
    SuspectDose,
    WeightBasedDose,
)

UNIT_TO_MG = {"mg": 1.0, "g": 1000.0, "ug": 0.001}


# Age bands of the oral posology (000): "below 8 years" and "over 8 years" switch on the 8th
# birthday; adult rules (001) apply from the 18th birthday.
CHILD_YOUNGER_BAND_BELOW_YEARS = 8  # years
ADULT_FROM_YEARS = 18  # years
END_STAGE_ML_MIN = 15  # terminal renal failure: CrCl/eGFR below 15 mL/min (CKD stage 5)


def age_from_birth_date(patient: PatientFact, order: OrderFact) -> Iterator[Age]:
    born = date.fromisoformat(given(patient.birth_date))
    on = date.fromisoformat(order.date)
    yield Age(
        years=completed_years(born, on),
        exact_years=round((on - born).days / 365.25, 3),
        basis="birth_date",
    )


def age_from_years(patient: PatientFact) -> Iterator[Age]:
    years = given(patient.age_years)
    yield Age(years=math.floor(years), exact_years=years, basis="age_years")


def age_band(
    age: Age, band: Literal["under_8", "8_to_17", "adult"], paediatric: bool
) -> Iterator[AgeBand]:
    yield AgeBand(band=band, paediatric=paediatric, years=age.years)


def one_dose_mg(order: OrderFact, patient: PatientFact) -> float:
    """One dose of the order in mg: as written, or per kg times the weight."""
    unit, value = given(order.dose_unit), given(order.dose_value)
    return value * (given(patient.weight_kg) if unit == PER_KG else UNIT_TO_MG[unit])


def order_daily_dose(
    order: OrderFact, patient: PatientFact, total_mg: float | None = None
) -> DailyDose:
    """The order's daily dose (or `total_mg`, the total with other orders, as its mg), with
    one dose of it and the dose as written."""
    unit, value = given(order.dose_unit), given(order.dose_value)
    per_kg = unit == PER_KG
    dose_mg = one_dose_mg(order, patient)
    freq = given(order.frequency_per_day)
    mg = dose_mg * freq if total_mg is None else total_mg
    return DailyDose(
        mg=round(mg, 6),
        ug=round(mg * 1000, 3),
        dose_mg=round(dose_mg, 6),
        frequency_per_day=freq,
        unit_written=unit,
        route=order.route,
        written=f"{value:g} {unit}",
        per_kg_mg=value if per_kg else None,
        weight_kg=patient.weight_kg if per_kg else None,
    )


def daily_dose(order: OrderFact, patient: PatientFact) -> Iterator[DailyDose]:
    """With no route (an EHR order may lack one) the route stays absent, route-specific rules
    stay silent and missing.route says why."""
    yield order_daily_dose(order, patient)


def daily_dose_per_kg(order: OrderFact, patient: PatientFact) -> Iterator[DailyDose]:
    """A dose written per kg of body weight (EHRs write a child's order so, often with no mg
    beside it): one dose is the mg/kg times the recorded weight."""
    yield order_daily_dose(order, patient)


def previous_slip(order: OrderFact, patient: PatientFact) -> tuple[float, str] | None:
    """The regimen the order replaces, when it reads as a unit slip (rules/unit_slips.py): its
    mg a day as written and why. No step, taper or total is measured from such a regimen."""
    value, unit, freq = order.prev_dose_value, order.prev_dose_unit, order.prev_frequency_per_day
    if value is None or unit is None or freq is None:
        return None
    if unit == PER_KG:
        if patient.weight_kg is None:
            return None
        dose_mg = value * patient.weight_kg
    else:
        dose_mg = value * UNIT_TO_MG[unit]
    why = slip(order.route, unit, dose_mg, dose_mg * freq, recorded=True)
    return (round(dose_mg * freq, 6), why) if why else None


def previous_suspect(order: OrderFact, read: tuple[float, str]) -> SuspectDose:
    mg, why = read
    freq = given(order.prev_frequency_per_day)
    times = "once a day" if freq == 1 else f"{freq} times a day"
    return SuspectDose(
        field="order.previous",
        label="The regimen this order replaces",
        written=f"{given(order.prev_dose_value):g} {order.prev_dose_unit} {times}",
        mg=mg,
        ug=round(mg * 1000, 3),
        route=given(order.route),
        reason=why,
        consequence="the step from it to this order (titration, taper) was not checked",
    )


def previous_daily_dose(
    order: OrderFact, patient: PatientFact
) -> Iterator[PreviousDailyDose | SuspectDose]:
    """The previous regimen's daily dose; when it reads as a unit slip, the slip instead
    (units.recorded_dose_suspect_*), and no step is measured from it."""
    read = previous_slip(order, patient)
    if read:
        yield previous_suspect(order, read)
        return
    mg = (
        given(order.prev_dose_value)
        * UNIT_TO_MG[given(order.prev_dose_unit)]
        * given(order.prev_frequency_per_day)
    )
    yield PreviousDailyDose(mg=round(mg, 6), ug=round(mg * 1000, 3), route=order.route)


def previous_daily_dose_per_kg(
    order: OrderFact, patient: PatientFact
) -> Iterator[PreviousDailyDose | SuspectDose]:
    """The previous regimen written per kg of body weight: times the weight."""
    read = previous_slip(order, patient)
    if read:
        yield previous_suspect(order, read)
        return
    mg = (
        given(order.prev_dose_value)
        * given(patient.weight_kg)
        * given(order.prev_frequency_per_day)
    )
    yield PreviousDailyDose(mg=round(mg, 6), ug=round(mg * 1000, 3), route=order.route)


def step(order: OrderFact, from_mg: float, to_mg: float, since: str | None) -> DoseStep:
    """The step between two daily doses, and the days since the last change."""
    days = None
    if since is not None:
        days = (date.fromisoformat(order.date) - date.fromisoformat(since)).days
    return DoseStep(
        from_mg=from_mg,
        to_mg=to_mg,
        increase_mg=round(to_mg - from_mg, 6),
        reduction_fraction=round(max(0.0, 1 - to_mg / from_mg), 4),
        route=order.route,
        since=since,
        days_since_change=days,
    )


def dose_step(order: OrderFact, dose: DailyDose, prev: PreviousDailyDose) -> Iterator[DoseStep]:
    """A "continue" whose previous regimen differs is a change in all but name, so it is
    stepped too; an unchanged dose yields no step."""
    if dose.mg != prev.mg:
        yield step(order, prev.mg, dose.mg, order.prev_since)


def weight_based_dose(dose: DailyDose, patient: PatientFact) -> Iterator[WeightBasedDose]:
    weight = given(patient.weight_kg)
    yield WeightBasedDose(
        mg_per_kg_day=round(dose.mg / weight, 4), mg=dose.mg, weight_kg=weight, route=dose.route
    )


def renal_function(patient: PatientFact) -> Iterator[RenalFunction]:
    """The lower of creatinine clearance and eGFR: the conservative reading when both exist."""
    readings = [
        (value, label)
        for value, label in (
            (patient.crcl_ml_min, "creatinine clearance"),
            (patient.egfr_ml_min, "eGFR"),
        )
        if value is not None
    ]
    value, measure = min(readings)
    # An eGFR is per 1.73 m² of body surface; the thresholds (004's CrCl) are read on either.
    unit = "mL/min/1.73 m²" if measure == "eGFR" else "mL/min"
    yield RenalFunction(ml_min=value, measure=measure, unit=unit)


def end_stage_by_renal_function(renal: RenalFunction) -> Iterator[Finding]:
    reading = f"{renal.measure} {renal.ml_min:g} {renal.unit}"
    yield Finding(finding="end_stage_renal", basis=reading, label=reading)


def flag(finding: str, basis: str, label: str, drug_class: str | None) -> Iterator[Finding]:
    """A finding a yes/no field of the patient states (params say which)."""
    yield Finding(finding=finding, drug_class=drug_class, basis=basis, label=label)


def _unread(kind: str, raw: ConditionEntry | MedicationEntry, entry: Entry) -> Finding | None:
    """An entry whose code cannot be read: in a system we do not read and with no text, or
    malformed in one we do read. Nothing can be said from that code, which is not the same as
    "nothing found" (MISSING_DATA says so). A malformed code beside readable text is still
    reported: the entry is screened by its text alone, and the code may say more."""
    if entry.problem:
        return Finding(
            finding="unscreened_entry",
            entry_kind=kind,
            reason="malformed_code",
            label=f"{SYSTEM_NAMES.get(entry.named or '', 'code')} {entry.given!r}",
            problem=entry.problem,
            screened_by_text=bool(entry.text),
        )
    if entry.screenable:
        return None
    label = f"{raw.system} {raw.code}" if raw.system else f"{raw.code} (no system)"
    return Finding(
        finding="unscreened_entry",
        entry_kind=kind,
        reason="system_not_read",
        label=label,
        screened_by_text=False,
    )


def _label(entry: Entry, clinical: str | None, verification: str | None) -> str:
    label = entry.text or entry.code_label
    statuses = [
        s
        for s in (
            clinical if clinical in PAST_STATUSES else None,
            verification if verification in UNCONFIRMED_STATUSES else None,
        )
        if s
    ]
    return f"{label} ({', '.join(statuses)})" if statuses else label


def condition_findings(cond: ConditionEntry) -> Iterator[Finding]:
    clinical, verification = cond.clinical_status, cond.verification_status
    if verification in NOT_THE_PATIENTS:
        return  # refuted or entered in error: not the patient's, nothing to read or report
    entry = read_entry("condition", cond.system, cond.code, cond.display)
    unread = _unread("condition", cond, entry)
    if unread:
        yield unread
    label = _label(entry, clinical, verification)
    for finding, basis in entry_findings(entry, clinical, verification):
        if finding == "alcohol_use":  # alcohol is a CNS depressant for the interaction rule
            yield Finding(finding="cns_depressant", drug_class="alcohol", basis=basis, label=label)
        else:
            yield Finding(finding=finding, basis=basis, label=label)


def medication_findings(med: MedicationEntry) -> Iterator[Finding]:
    entry = read_entry("medication", med.system, med.code, med.display)
    unread = _unread("medication", med, entry)
    if unread:
        yield unread
    hit = entry_depressant(entry)
    if hit:
        drug_class, name = hit
        yield Finding(
            finding="cns_depressant",
            drug_class=drug_class,
            label=name,
            basis=entry.text or entry.code_label,
        )


def findings_of_entry(
    kind: Literal["condition", "medication"], entry: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The findings the engine derives from one problem-list or medication entry
    ({system, code, display}), by the same derivations: an empty list means the rules have
    nothing to say about it. A caller that must cut a long list keeps every entry with a
    finding (one that cannot be screened is a finding too) and drops only the others."""
    fact = {k: v for k, v in entry.items() if v is not None}
    if kind == "condition":
        found = condition_findings(read_as(ConditionEntry, fact))
    else:
        found = medication_findings(read_as(MedicationEntry, fact))
    return [f.as_fact() for f in found]


_patient = m.kind == "patient"
_order = m.kind == "order"

RULES = [
    Derivation(
        id="derive.age_from_birth_date",
        when=(c.patient << (_patient & +m.birth_date), c.order << _order),
        derive=age_from_birth_date,
        doc="The age in completed years on the order date, from the birth date.",
    ),
    Derivation(
        id="derive.age_from_age_years",
        when=(c.patient << (_patient & -m.birth_date & +m.age_years),),
        derive=age_from_years,
        doc="Without a birth date, the age given in years (rounded down).",
    ),
    Derivation(
        id="derive.age_band_under_8",
        when=(c.age << ((m.kind == "age") & (m.years < CHILD_YOUNGER_BAND_BELOW_YEARS)),),
        derive=age_band,
        params={"band": "under_8", "paediatric": True},
        doc="Before the 8th birthday: the under-8 band (000).",
    ),
    Derivation(
        id="derive.age_band_8_to_17",
        when=(
            c.age
            << (
                (m.kind == "age")
                & (m.years >= CHILD_YOUNGER_BAND_BELOW_YEARS)
                & (m.years < ADULT_FROM_YEARS)
            ),
        ),
        derive=age_band,
        params={"band": "8_to_17", "paediatric": True},
        doc="From the 8th to the 18th birthday: the 8-to-17 band (000).",
    ),
    Derivation(
        id="derive.age_band_adult",
        when=(c.age << ((m.kind == "age") & (m.years >= ADULT_FROM_YEARS)),),
        derive=age_band,
        params={"band": "adult", "paediatric": False},
        doc="From the 18th birthday: adult (001).",
    ),
    Derivation(
        id="derive.daily_dose",
        when=(
            c.order
            << (
                _order
                & (m.action != "stop")
                & +m.dose_value
                & +m.dose_unit
                & (m.dose_unit != PER_KG)
                & +m.frequency_per_day
                & -m.n_concurrent
            ),
            c.patient << _patient,
        ),
        derive=daily_dose,
        doc="An order with a dose and a number of doses a day (not a stop), alone by its "
        "route: the daily dose in mg and ug, and one dose in mg.",
    ),
    Derivation(
        id="derive.daily_dose_per_kg",
        when=(
            c.order
            << (
                _order
                & (m.action != "stop")
                & +m.dose_value
                & (m.dose_unit == PER_KG)
                & +m.frequency_per_day
                & -m.n_concurrent
            ),
            c.patient << (_patient & +m.weight_kg),
        ),
        derive=daily_dose_per_kg,
        doc="A dose written per kg of body weight: one dose is the mg/kg times the weight; the "
        "daily dose in mg and ug.",
    ),
    Derivation(
        id="derive.previous_daily_dose",
        when=(
            c.order
            << (
                _order
                & +m.prev_dose_value
                & +m.prev_dose_unit
                & (m.prev_dose_unit != PER_KG)
                & +m.prev_frequency_per_day
            ),
            c.patient << _patient,
        ),
        derive=previous_daily_dose,
        doc="The previous regimen's daily dose in mg and ug (when it reads as a unit slip, "
        "rules/unit_slips.py, the slip instead).",
    ),
    Derivation(
        id="derive.previous_daily_dose_per_kg",
        when=(
            c.order
            << (
                _order
                & +m.prev_dose_value
                & (m.prev_dose_unit == PER_KG)
                & +m.prev_frequency_per_day
            ),
            c.patient << (_patient & +m.weight_kg),
        ),
        derive=previous_daily_dose_per_kg,
        doc="The previous regimen written per kg: its daily dose in mg and ug, by the weight.",
    ),
    Derivation(
        id="derive.dose_step",
        when=(
            c.order
            << (_order & ((m.action == "change") | (m.action == "continue")) & -m.n_concurrent),
            c.dose << (m.kind == "daily_dose"),
            c.prev << (m.kind == "previous_daily_dose"),
        ),
        derive=dose_step,
        doc="A change (or a continue that differs): the step from the previous daily dose, "
        "the reduction as a fraction and the days since the last change.",
    ),
    Derivation(
        id="derive.weight_based_dose",
        when=(c.dose << (m.kind == "daily_dose"), c.patient << (_patient & +m.weight_kg)),
        derive=weight_based_dose,
        doc="With the weight: the daily dose in mg/kg/day.",
    ),
    Derivation(
        id="derive.renal_function",
        when=(c.patient << (_patient & (+m.crcl_ml_min | +m.egfr_ml_min)),),
        derive=renal_function,
        doc="With a creatinine clearance or an eGFR: the lower of the two, in mL/min.",
    ),
    Derivation(
        id="derive.end_stage_by_renal_function",
        when=(c.renal << ((m.kind == "renal_function") & (m.ml_min < END_STAGE_ML_MIN)),),
        derive=end_stage_by_renal_function,
        doc="CrCl/eGFR below 15 mL/min: terminal renal failure.",
    ),
    Derivation(
        id="derive.end_stage_by_dialysis_flag",
        when=(c.patient << (_patient & (m.on_dialysis == True)),),
        derive=flag,
        params={
            "finding": "end_stage_renal",
            "basis": "on dialysis",
            "label": "on dialysis",
            "drug_class": None,
        },
        doc="On dialysis: terminal renal failure.",
    ),
    Derivation(
        id="derive.pregnancy_flag",
        when=(c.patient << (_patient & (m.pregnant == True)),),
        derive=flag,
        params={
            "finding": "pregnancy",
            "basis": "pregnant",
            "label": "pregnant",
            "drug_class": None,
        },
        doc="Marked pregnant: pregnancy.",
    ),
    Derivation(
        id="derive.alcohol_use_flag",
        when=(c.patient << (_patient & (m.alcohol_use == True)),),
        derive=flag,
        params={
            "finding": "cns_depressant",
            "basis": "alcohol use",
            "label": "alcohol",
            "drug_class": "alcohol",
        },
        doc="Alcohol use recorded: a CNS depressant (alcohol).",
    ),
    Derivation(
        id="derive.condition_findings",
        when=(c.cond << (m.kind == "condition"),),
        derive=condition_findings,
        doc="Each problem-list entry, read by its code set or text (rules/code_sets.py): "
        "seizure disorder, terminal renal failure, CKD stage 4, other renal impairment, "
        "pregnancy, alcohol use, or an entry that could not be read.",
    ),
    Derivation(
        id="derive.medication_findings",
        when=(c.med << (m.kind == "medication"),),
        derive=medication_findings,
        doc="Each medication entry, read by RxNorm, ATC or its text (rules/drug_classes.py): "
        "a CNS depressant, or an entry that could not be read.",
    ),
]
