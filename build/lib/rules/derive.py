"""Derivations: the facts other rules reason over, computed by rules inside the engine.

Chain: patient + order -> age -> age band; order -> daily dose (canonical mg and ug) ->
mg/kg/day (with the weight) and the step from the previous regimen; patient -> renal function;
each condition and medication -> findings. Alert rules in the other modules match these
derived facts, so the engine's trace shows how every alert was reached.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date
from typing import Any

from engine import Bindings, Derivation, c, m
from rules.code_sets import condition_findings, depressant_class, readable

UNIT_TO_MG = {"mg": 1.0, "g": 1000.0, "ug": 0.001}

# Age bands of the oral posology (000): "below 8 years" and "over 8 years" switch on the 8th
# birthday; adult rules (001) apply from the 18th birthday.
CHILD_YOUNGER_BAND_BELOW = 8
ADULT_FROM = 18


def completed_years(born: date, on: date) -> int:
    """Age in completed years; a 29 February birthday falls on 1 March in common years."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _age_from_birth_date(b: Bindings) -> Iterator[dict[str, Any]]:
    born = date.fromisoformat(b.patient.birth_date)
    on = date.fromisoformat(b.order.date)
    yield {"kind": "age", "years": completed_years(born, on),
           "exact_years": round((on - born).days / 365.25, 3), "basis": "birth_date"}


def _age_from_years(b: Bindings) -> Iterator[dict[str, Any]]:
    years = b.patient.age_years
    yield {"kind": "age", "years": math.floor(years), "exact_years": years, "basis": "age_years"}


def _band(name: str, paediatric: bool) -> Any:
    def derive(b: Bindings) -> Iterator[dict[str, Any]]:
        yield {"kind": "age_band", "band": name, "paediatric": paediatric, "years": b.age.years}

    return derive


def _with_route(fact: dict[str, Any], source: Any) -> dict[str, Any]:
    """Carry the route when known. With no route (an EHR order may lack one) the key stays
    absent, route-specific rules stay silent and missing.route says why."""
    if "route" in source:
        fact["route"] = source["route"]
    return fact


def _daily_dose(b: Bindings) -> Iterator[dict[str, Any]]:
    o = b.order
    mg_per_dose = o.dose_value * UNIT_TO_MG[o.dose_unit]
    mg = mg_per_dose * o.frequency_per_day
    yield _with_route({"kind": "daily_dose", "mg": round(mg, 6),
                       "ug": round(mg * 1000, 3), "dose_mg": round(mg_per_dose, 6),
                       "frequency_per_day": o.frequency_per_day, "unit_written": o.dose_unit}, o)


def _previous_daily_dose(b: Bindings) -> Iterator[dict[str, Any]]:
    o = b.order
    mg = o.prev_dose_value * UNIT_TO_MG[o.prev_dose_unit] * o.prev_frequency_per_day
    yield _with_route({"kind": "previous_daily_dose", "mg": round(mg, 6),
                       "ug": round(mg * 1000, 3)}, o)


def _dose_step(b: Bindings) -> Iterator[dict[str, Any]]:
    """The step from the previous regimen. A "continue" whose previous regimen differs is a
    change in all but name, so it is stepped too; an unchanged dose yields no step."""
    if b.dose.mg == b.prev.mg:
        return
    step = _with_route({"kind": "dose_step", "from_mg": b.prev.mg, "to_mg": b.dose.mg,
                        "increase_mg": round(b.dose.mg - b.prev.mg, 6),
                        "reduction_fraction": round(max(0.0, 1 - b.dose.mg / b.prev.mg), 4)},
                       b.order)
    if "prev_since" in b.order:
        since = date.fromisoformat(b.order.prev_since)
        step["since"] = b.order.prev_since
        step["days_since_change"] = (date.fromisoformat(b.order.date) - since).days
    yield step


def _weight_based(b: Bindings) -> Iterator[dict[str, Any]]:
    yield _with_route({"kind": "weight_based_dose",
                       "mg_per_kg_day": round(b.dose.mg / b.patient.weight_kg, 4),
                       "mg": b.dose.mg, "weight_kg": b.patient.weight_kg}, b.dose)


def _renal_function(b: Bindings) -> Iterator[dict[str, Any]]:
    # The lower of creatinine clearance and eGFR: the conservative reading when both exist.
    readings = [(b.patient[k], label) for k, label in
                (("crcl_ml_min", "creatinine clearance"), ("egfr_ml_min", "eGFR"))
                if k in b.patient]
    value, measure = min(readings)
    yield {"kind": "renal_function", "ml_min": value, "measure": measure}


def _unscreened(kind: str, entry: Any) -> dict[str, Any] | None:
    """An entry coded in a system we do not read, with no text: nothing can be said about it,
    which is not the same as "nothing found" (MISSING_DATA says so)."""
    if readable(entry.get("system"), entry.get("code"), entry.get("display")):
        return None
    return {"kind": "finding", "finding": "unscreened_entry", "entry_kind": kind,
            "label": f"{entry.get('system')} {entry.get('code')}"}


def _condition_findings(b: Bindings) -> Iterator[dict[str, Any]]:
    cond = b.cond
    unscreened = _unscreened("condition", cond)
    if unscreened:
        yield unscreened
        return
    label = cond.get("display") or cond.get("code")
    for finding, basis in condition_findings(cond.get("system"), cond.get("code"),
                                             cond.get("display")):
        if finding == "alcohol_use":  # alcohol is a CNS depressant for the interaction rule
            yield {"kind": "finding", "finding": "cns_depressant", "drug_class": "alcohol",
                   "basis": basis, "label": label}
        else:
            yield {"kind": "finding", "finding": finding, "basis": basis, "label": label}


def _medication_findings(b: Bindings) -> Iterator[dict[str, Any]]:
    med = b.med
    unscreened = _unscreened("medication", med)
    if unscreened:
        yield unscreened
        return
    hit = depressant_class(med.get("system"), med.get("code"), med.get("display"))
    if hit:
        drug_class, name = hit
        yield {"kind": "finding", "finding": "cns_depressant", "drug_class": drug_class,
               "label": name, "basis": med.get("display") or f"RxNorm {med.get('code')}"}


def _flag(finding: str, basis: str, label: str, **extra: str) -> Any:
    def derive(_: Bindings) -> Iterator[dict[str, Any]]:
        yield {"kind": "finding", "finding": finding, "basis": basis, "label": label, **extra}

    return derive


def _renal_end_stage(b: Bindings) -> Iterator[dict[str, Any]]:
    yield {"kind": "finding", "finding": "end_stage_renal",
           "basis": f"{b.renal.measure} {b.renal.ml_min:g} mL/min",
           "label": f"{b.renal.measure} {b.renal.ml_min:g} mL/min"}


END_STAGE_ML_MIN = 15  # terminal renal failure: CrCl/eGFR below 15 mL/min (CKD stage 5)

_patient = m.kind == "patient"
_order = m.kind == "order"

RULES = [
    Derivation(
        id="derive.age_from_birth_date",
        when=(c.patient << (_patient & +m.birth_date), c.order << _order),
        derive=_age_from_birth_date,
    ),
    Derivation(
        id="derive.age_from_age_years",
        when=(c.patient << (_patient & -m.birth_date & +m.age_years),),
        derive=_age_from_years,
    ),
    Derivation(
        id="derive.age_band_under_8",
        when=(c.age << ((m.kind == "age") & (m.years < CHILD_YOUNGER_BAND_BELOW)),),
        derive=_band("under_8", paediatric=True),
    ),
    Derivation(
        id="derive.age_band_8_to_17",
        when=(c.age << ((m.kind == "age") & (m.years >= CHILD_YOUNGER_BAND_BELOW)
                        & (m.years < ADULT_FROM)),),
        derive=_band("8_to_17", paediatric=True),
    ),
    Derivation(
        id="derive.age_band_adult",
        when=(c.age << ((m.kind == "age") & (m.years >= ADULT_FROM)),),
        derive=_band("adult", paediatric=False),
    ),
    Derivation(
        id="derive.daily_dose",
        when=(c.order << (_order & (m.action != "stop") & +m.dose_value & +m.dose_unit
                          & +m.frequency_per_day),),
        derive=_daily_dose,
    ),
    Derivation(
        id="derive.previous_daily_dose",
        when=(c.order << (_order & +m.prev_dose_value & +m.prev_dose_unit
                          & +m.prev_frequency_per_day),),
        derive=_previous_daily_dose,
    ),
    Derivation(
        id="derive.dose_step",
        when=(
            c.order << (_order & ((m.action == "change") | (m.action == "continue"))),
            c.dose << (m.kind == "daily_dose"),
            c.prev << (m.kind == "previous_daily_dose"),
        ),
        derive=_dose_step,
    ),
    Derivation(
        id="derive.weight_based_dose",
        when=(c.dose << (m.kind == "daily_dose"), c.patient << (_patient & +m.weight_kg)),
        derive=_weight_based,
    ),
    Derivation(
        id="derive.renal_function",
        when=(c.patient << (_patient & (+m.crcl_ml_min | +m.egfr_ml_min)),),
        derive=_renal_function,
    ),
    Derivation(
        id="derive.end_stage_by_renal_function",
        when=(c.renal << ((m.kind == "renal_function") & (m.ml_min < END_STAGE_ML_MIN)),),
        derive=_renal_end_stage,
    ),
    Derivation(
        id="derive.end_stage_by_dialysis_flag",
        when=(c.patient << (_patient & (m.on_dialysis == True)),),  # noqa: E712 durable DSL
        derive=_flag("end_stage_renal", "on dialysis", "on dialysis"),
    ),
    Derivation(
        id="derive.pregnancy_flag",
        when=(c.patient << (_patient & (m.pregnant == True)),),  # noqa: E712
        derive=_flag("pregnancy", "pregnant", "pregnant"),
    ),
    Derivation(
        id="derive.alcohol_use_flag",
        when=(c.patient << (_patient & (m.alcohol_use == True)),),  # noqa: E712
        derive=_flag("cns_depressant", "alcohol use", "alcohol", drug_class="alcohol"),
    ),
    Derivation(
        id="derive.condition_findings",
        when=(c.cond << (m.kind == "condition"),),
        derive=_condition_findings,
    ),
    Derivation(
        id="derive.medication_findings",
        when=(c.med << (m.kind == "medication"),),
        derive=_medication_findings,
    ),
]
