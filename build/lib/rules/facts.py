"""The input case as facts for the engine: one fact per patient, order, condition, medication.

Facts are the raw data, typed by `kind` and stripped of None values (durable-rules matches a
None only via `== None`; absence is `-m.field`). Everything clinical is derived by rules; the
one reading done here is of the input's own shape: an intrathecal history entry at an unchanged
dose is not a regimen change and joins the regimen it continues (`regimens`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rules.case import UG_PER_UNIT, Case, Coding, Intrathecal, IntrathecalHistoryEntry


def _clean(fact: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fact.items() if v is not None}


def _coding(kind: str, n: int, entry: Coding) -> dict[str, Any]:
    return _clean({"kind": kind, "id": f"{kind}{n}", "system": entry.system,
                   "code": entry.code, "display": entry.display})


def _utc(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def regimens(history: list[IntrathecalHistoryEntry]) -> list[IntrathecalHistoryEntry]:
    """The history as regimen changes. An entry at the same daily dose as the one before (a
    refill, or re-programming at the same dose) continues that regimen: it is not a change,
    so it must not restart the interval to the next increase. It is folded into the regimen
    it continues, whose clinical effect becomes the latest one recorded."""
    out: list[IntrathecalHistoryEntry] = []
    for h in history:
        # Compared at the 0.001 ug the rules round to: 1.001 mg after 1001 ug is the same dose.
        if out and (round(h.daily_dose.value * UG_PER_UNIT[h.daily_dose.unit], 3)
                    == round(out[-1].daily_dose.value * UG_PER_UNIT[out[-1].daily_dose.unit],
                             3)):
            if h.clinical_effect is not None:
                out[-1] = out[-1].model_copy(update={"clinical_effect": h.clinical_effect})
            continue
        out.append(h)
    return out


def _intrathecal_facts(it: Intrathecal, history: list[IntrathecalHistoryEntry]
                       ) -> list[dict[str, Any]]:
    """One fact per regimen, test bolus and withdrawal sign. Raw values only: doses in µg,
    intervals and steps are derived by rules in rules/intrathecal.py."""
    facts: list[dict[str, Any]] = []
    last = len(history) - 1
    for n, h in enumerate(history):
        facts.append(_clean({
            "kind": "itb_history", "id": f"itb_history{n}", "seq": n, "time": _utc(h.time),
            "dose_value": h.daily_dose.value, "dose_unit": h.daily_dose.unit,
            "effect": h.clinical_effect, "first": n == 0, "last": n == last,
        }))
    last = len(it.screening_doses) - 1
    for n, sd in enumerate(it.screening_doses):
        facts.append(_clean({
            "kind": "itb_test_dose", "id": f"itb_test_dose{n}", "seq": n, "time": _utc(sd.time),
            "dose_value": sd.dose.value, "dose_unit": sd.dose.unit, "response": sd.response,
            "effect_hours": sd.effect_hours, "last": n == last,
        }))
    for sign in dict.fromkeys(it.withdrawal_signs):  # distinct, in the order given
        facts.append({"kind": "itb_withdrawal_sign", "id": f"itb_sign_{sign}", "sign": sign})
    return facts


def case_facts(case: Case) -> list[dict[str, Any]]:
    p, o = case.patient, case.order
    patient = _clean({
        "kind": "patient", "id": "patient",
        "birth_date": p.birth_date.isoformat() if p.birth_date else None,
        "age_years": p.age_years,
        "weight_kg": p.weight_kg,
        "crcl_ml_min": p.creatinine_clearance_ml_min,
        "egfr_ml_min": p.egfr_ml_min_1_73m2,
        "on_dialysis": p.on_dialysis,
        "pregnant": p.pregnant,
        "hospital_supervised": p.hospital_supervised,
        "alcohol_use": p.alcohol_use,
    })
    prev = o.previous
    order = _clean({
        "kind": "order", "id": "order",
        "date": o.date.isoformat(),
        "time": _utc(o.time),
        "action": o.action,
        "route": o.route,
        "form": o.form,
        "dose_value": o.dose.value if o.dose else None,
        "dose_unit": o.dose.unit if o.dose else None,
        "frequency_per_day": o.frequency_per_day,
        "taper": o.taper,
        "prev_dose_value": prev.dose.value if prev and prev.dose else None,
        "prev_dose_unit": prev.dose.unit if prev and prev.dose else None,
        "prev_frequency_per_day": prev.frequency_per_day if prev else None,
        "prev_since": prev.since.isoformat() if prev and prev.since else None,
        "has_previous": prev is not None,
        "has_intrathecal": o.intrathecal is not None,
    })
    it = o.intrathecal
    facts = [patient, order]
    if it is not None:
        history = regimens(it.history)
        order.update(_clean({
            "it_phase": it.phase, "it_origin": it.spasticity_origin, "it_pump": it.pump,
            "it_infusion_started": _utc(it.infusion_started),
            "it_n_history": len(history), "it_n_screening": len(it.screening_doses),
        }))
        facts += _intrathecal_facts(it, history)
    # Duplicated entries would only repeat the same finding: send each distinct entry once.
    seen: set[tuple[str, str | None, str | None, str | None]] = set()
    for kind, entries in (("condition", p.conditions), ("medication", p.medications)):
        for n, entry in enumerate(entries):
            key = (kind, entry.system, entry.code, entry.display)
            if key not in seen:
                seen.add(key)
                facts.append(_coding(kind, n, entry))
    return facts
