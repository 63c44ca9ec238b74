"""The input case as facts for the engine: one fact per patient, order, concurrent order,
condition, medication, intrathecal regimen, test bolus and withdrawal sign, and one of every
spasticity score (kinds in rules/vocabulary.py).

Facts are the raw data stripped of None values (durable-rules matches a None only via
`== None`; absence is `-m.field`). Everything clinical is derived by rules. The readings of
the input that happen before the engine are declared with their reasons and listed in the rule
catalogue: the folding of same-dose intrathecal history entries into the regimen they continue
(rules/intrathecal/steps.py), a start by mouth beside an active order read as an added order
(rules/oral/concurrent.py), and, for an order that states neither, its phase from the record
(rules/intrathecal/phase.py) and its pump type from the implanted device
(rules/intrathecal/pump.py): every intrathecal rule reads those two from the order.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rules.case import (
    UG_PER_UNIT,
    Case,
    Coding,
    Condition,
    Intrathecal,
    IntrathecalHistoryEntry,
)
from rules.intrathecal.phase import phase_of
from rules.intrathecal.pump import pump_of
from rules.intrathecal.steps import regimens
from rules.oral.concurrent import action_of


def _clean(fact: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fact.items() if v is not None}


def _coding(kind: str, n: int, entry: Coding) -> dict[str, Any]:
    fact = {
        "kind": kind,
        "id": f"{kind}{n}",
        "system": entry.system,
        "code": entry.code,
        "display": entry.display,
    }
    if isinstance(entry, Condition):
        fact.update(
            clinical_status=entry.clinical_status, verification_status=entry.verification_status
        )
    return _clean(fact)


def _utc(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def _intrathecal_facts(
    it: Intrathecal, history: list[IntrathecalHistoryEntry]
) -> list[dict[str, Any]]:
    """One fact per regimen, test bolus and withdrawal sign. Raw values only: doses in µg,
    intervals and steps are derived by rules in rules/intrathecal/."""
    facts: list[dict[str, Any]] = []
    last = len(history) - 1
    for n, h in enumerate(history):
        facts.append(
            _clean(
                {
                    "kind": "itb_history",
                    "id": f"itb_history{n}",
                    "seq": n,
                    "time": _utc(h.time),
                    "dose_value": h.daily_dose.value,
                    "dose_unit": h.daily_dose.unit,
                    "effect": h.clinical_effect,
                    "first": n == 0,
                    "last": n == last,
                }
            )
        )
    last = len(it.screening_doses) - 1
    for n, sd in enumerate(it.screening_doses):
        facts.append(
            _clean(
                {
                    "kind": "itb_test_dose",
                    "id": f"itb_test_dose{n}",
                    "seq": n,
                    "time": _utc(sd.time),
                    "dose_value": sd.dose.value,
                    "dose_unit": sd.dose.unit,
                    "response": sd.response,
                    "effect_hours": sd.effect_hours,
                    "last": n == last,
                }
            )
        )
    for n, (sign, time) in enumerate(_signs(it).items()):
        facts.append(
            _clean(
                {"kind": "itb_withdrawal_sign", "id": f"itb_sign{n}", "sign": sign, "time": time}
            )
        )
    scores = sorted(it.spasticity_scores, key=lambda s: s.time)
    facts.append(
        {
            "kind": "itb_scores",
            "id": "itb_scores",
            "times": [_utc(s.time) for s in scores],
            "instruments": [s.instrument for s in scores],
            "sites": [(s.site or "").lower() for s in scores],
            "values": [float(s.value) for s in scores],
        }
    )
    return facts


def _signs(it: Intrathecal) -> dict[str, str | None]:
    """Each sign once: given as current (no time), else the latest time a record dates it."""
    out: dict[str, str | None] = dict.fromkeys(it.withdrawal_signs)
    for entry in sorted(it.dated_withdrawal_signs, key=lambda d: d.time):
        if entry.sign not in out or out[entry.sign] is not None:
            out[entry.sign] = _utc(entry.time)
    return out


def case_facts(case: Case) -> list[dict[str, Any]]:
    p, o = case.patient, case.order
    patient = _clean(
        {
            "kind": "patient",
            "id": "patient",
            "birth_date": p.birth_date.isoformat() if p.birth_date else None,
            "age_years": p.age_years,
            "weight_kg": p.weight_kg,
            "crcl_ml_min": p.creatinine_clearance_ml_min,
            "egfr_ml_min": p.egfr_ml_min_1_73m2,
            "on_dialysis": p.on_dialysis,
            "pregnant": p.pregnant,
            "hospital_supervised": p.hospital_supervised,
            "alcohol_use": p.alcohol_use,
        }
    )
    prev = o.previous
    # The zero dose of a stop ("no more") is no amount: no rule may read it as 0 mg a day.
    dose = o.dose if o.has_dose() else None
    strength = o.strength
    order = _clean(
        {
            "kind": "order",
            "id": "order",
            "date": o.date.isoformat(),
            "time": _utc(o.time),
            "action": action_of(o),
            "route": o.route,
            "form": o.form,
            "dose_value": dose.value if dose else None,
            "dose_unit": dose.unit if dose else None,
            "frequency_per_day": o.frequency_per_day,
            "strength_mg": (
                round(strength.value * UG_PER_UNIT[strength.unit] / 1000, 6) if strength else None
            ),
            "strength_per": strength.per if strength else None,
            "taper": o.taper,
            "n_concurrent": len(o.concurrent) or None,
            "prev_dose_value": prev.dose.value if prev and prev.dose else None,
            "prev_dose_unit": prev.dose.unit if prev and prev.dose else None,
            "prev_frequency_per_day": prev.frequency_per_day if prev else None,
            "prev_since": prev.since.isoformat() if prev and prev.since else None,
            "has_previous": prev is not None,
            "has_intrathecal": o.intrathecal is not None,
        }
    )
    it = o.intrathecal
    facts = [patient, order]
    for n, other in enumerate(o.concurrent):
        facts.append(
            _clean(
                {
                    "kind": "concurrent_order",
                    "id": f"concurrent_order{n}",
                    "seq": n,
                    "dose_value": other.dose.value if other.dose else None,
                    "dose_unit": other.dose.unit if other.dose else None,
                    "frequency_per_day": other.frequency_per_day,
                    "route": other.route,
                    "status": other.status,
                    "relation": other.relation,
                    "since": other.since.isoformat() if other.since else None,
                }
            )
        )
    if it is not None:
        history = regimens(it.history)
        phase, phase_basis = it.phase, "order" if it.phase else None
        if phase is None and it.derive_phase:
            phase = phase_of(it, history, o.time)
            phase_basis = "record" if phase else None
        pump, pump_basis = it.pump, "order" if it.pump else None
        if pump is None and it.devices:
            read = pump_of(it.devices)
            pump, pump_basis = read if read else (None, None)
        order.update(
            _clean(
                {
                    "it_phase": phase,
                    "it_phase_basis": phase_basis,
                    "it_origin": it.spasticity_origin,
                    "it_pump": pump,
                    "it_pump_basis": pump_basis,
                    "it_infusion_started": _utc(it.infusion_started),
                    "it_n_history": len(history),
                    "it_n_screening": len(it.screening_doses),
                }
            )
        )
        facts += _intrathecal_facts(it, history)
    # Duplicated entries would only repeat the same finding: send each distinct entry once.
    seen: set[tuple[Any, ...]] = set()
    entries: list[tuple[str, list[Condition] | list[Coding]]] = [
        ("condition", p.conditions),
        ("medication", p.medications),
    ]
    for kind, items in entries:
        for n, entry in enumerate(items):
            key = (kind, *entry.model_dump().values())
            if key not in seen:
                seen.add(key)
                facts.append(_coding(kind, n, entry))
    return facts
