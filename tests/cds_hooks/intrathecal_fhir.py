"""Intrathecal records as an EHR sends them over CDS Hooks, and the converter from a native
scenario row (tests/scenarios/intrathecal_*.yaml) to the order-sign request that carries the
same data: the dose history as MedicationRequests, test doses as MedicationAdministrations,
each regimen's effect as Modified Ashworth scores before and after its change, withdrawal
signs as symptom Observations, the pump as a Device, the origin as the order's reason and an
explicit phase in the dosage text.

A row has a FHIR form only when everything that decides its outcome can be carried; `fhir_form`
says why not otherwise (a response to a test dose, a taper, a phase left to the prescriber's
judgement...): there is no FHIR element for those, and the CDS Hooks service reads the phase
from the record instead.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rules.case import UG_PER_UNIT, Case, Intrathecal, IntrathecalHistoryEntry
from tests.cds_hooks.fhir import (
    INTRATHECAL,
    LOINC,
    RXNORM,
    SNOMED,
    UCUM,
    condition,
    crcl,
    egfr,
    full_prefetch,
    hook_request,
    patient,
    pregnancy_status,
    weight,
)

PID = "pat-itb"
ROUTE = {"coding": [{"system": SNOMED, "code": "72607000", "display": "Intrathecal route"}]}
MAS = {
    "coding": [
        {
            "system": SNOMED,
            "code": "765771006",
            "display": "Modified Ashworth Scale (assessment scale)",
        }
    ],
    "text": "Modified Ashworth Scale",
}
# A local flowsheet row, as Epic exports it: read by its words.
PENN = {
    "coding": [{"system": "urn:oid:1.2.840.114350.1.13.0.1.7.2.707679", "code": "3040102"}],
    "text": "Penn Spasm Frequency Scale",
}
SIGN_CODES = {
    "pruritus": ("418290006", "Itching"),
    "fever": ("386661006", "Fever"),
    "hypotension": ("45007003", "Low blood pressure"),
    "paraesthesia": ("91019004", "Paresthesia"),
    "altered_mental_status": ("419284004", "Altered mental status"),
    "seizures": ("91175000", "Seizure"),
}
PUMPS = {
    "programmable": "Programmable implantable infusion pump (SynchroMed II)",
    "non_programmable": "Constant flow implantable infusion pump (non-programmable)",
}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _ug(value: float, unit: str) -> float:
    return round(value * UG_PER_UNIT[unit], 3)


def _amount(value: float, unit: str) -> dict[str, Any]:
    code = {"ug": "ug", "mg": "mg", "g": "g"}[unit]
    return {"value": value, "unit": "mcg" if code == "ug" else code, "system": UCUM, "code": code}


def itb_request(
    rid: str,
    dose: dict[str, Any] | None,
    start: str,
    status: str,
    *,
    bolus: bool = False,
    prior: str | None = None,
    text: str | None = None,
    reason: str | None = None,
    pid: str = PID,
) -> dict[str, Any]:
    """An intrathecal baclofen order: a daily dose (timing once a day from its start), or one
    bolus (timing ONCE)."""
    dosage: dict[str, Any] = {"sequence": 1, "route": ROUTE}
    if bolus:
        dosage["timing"] = {"code": {"text": "ONCE"}, "repeat": {"boundsPeriod": {"start": start}}}
    else:
        dosage["timing"] = {
            "repeat": {
                "boundsPeriod": {"start": start},
                "frequency": 1,
                "period": 1,
                "periodUnit": "d",
            }
        }
    if dose is not None:
        dosage["doseAndRate"] = [{"doseQuantity": dose}]
    if text:
        dosage["text"] = text
    res: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": INTRATHECAL,
        "subject": {"reference": f"Patient/{pid}"},
        "authoredOn": start,
        "dosageInstruction": [dosage],
    }
    if prior:
        res["priorPrescription"] = {"reference": f"MedicationRequest/{prior}"}
    if reason:
        res["reasonCode"] = [{"text": reason}]
    return res


def _administration(aid: str, pid: str, **elements: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationAdministration",
        "id": aid,
        "status": "completed",
        "medicationCodeableConcept": INTRATHECAL,
        "subject": {"reference": f"Patient/{pid}"},
        **elements,
    }


def bolus_given(aid: str, dose_ug: float, time: str, pid: str = PID) -> dict[str, Any]:
    """A test dose given: a MedicationAdministration of an amount."""
    dosage = {"route": ROUTE, "dose": _amount(dose_ug, "ug")}
    return _administration(aid, pid, effectiveDateTime=time, dosage=dosage)


def pump_programmed(aid: str, rate: dict[str, Any], time: str, pid: str = PID) -> dict[str, Any]:
    """Pump programming recorded as a MedicationAdministration with a rate."""
    dosage = {"route": ROUTE, "rateQuantity": rate}
    return _administration(aid, pid, effectivePeriod={"start": time}, dosage=dosage)


def score(
    oid: str,
    time: str,
    value: float,
    scale: dict[str, Any] = MAS,
    site: str | None = None,
    pid: str = PID,
) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "exam",
                    }
                ]
            }
        ],
        "code": scale,
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": time,
        "valueQuantity": {"value": value, "unit": "{score}", "system": UCUM, "code": "{score}"},
    }
    if site:
        res["bodySite"] = {"text": site}
    return res


def symptom(oid: str, sign: str, time: str, pid: str = PID) -> dict[str, Any]:
    """A symptom Observation (FHIR Symptoms IG: LOINC 75325-1, the finding as its value)."""
    code = SIGN_CODES.get(sign)
    value = (
        {"coding": [{"system": SNOMED, "code": code[0], "display": code[1]}], "text": code[1]}
        if code
        else {"text": sign.replace("_", " ")}
    )
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "75325-1", "display": "Symptom"}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": time,
        "valueCodeableConcept": value,
    }


def pump_device(text: str, did: str = "pump-1", pid: str = PID) -> dict[str, Any]:
    return {
        "resourceType": "Device",
        "id": did,
        "status": "active",
        "type": {"text": text},
        "patient": {"reference": f"Patient/{pid}"},
    }


# ---- the converter --------------------------------------------------------------------------


def _groups(history: list[IntrathecalHistoryEntry]) -> list[list[IntrathecalHistoryEntry]]:
    """Consecutive entries at the same dose (a refill continues a regimen)."""
    out: list[list[IntrathecalHistoryEntry]] = []
    for h in history:
        if out and _ug(h.daily_dose.value, h.daily_dose.unit) == _ug(
            out[-1][-1].daily_dose.value, out[-1][-1].daily_dose.unit
        ):
            out[-1].append(h)
        else:
            out.append([h])
    return out


def effect_scores(
    history: list[IntrathecalHistoryEntry], until: datetime | None
) -> list[dict[str, Any]]:
    """Each recorded effect as Modified Ashworth scores: grade 3 at the regimen's change, and
    after it (before the next change) 3 again for no effect, 2 for an effect. A regimen
    without a recorded effect gets no score after its change: unknown."""
    out: list[dict[str, Any]] = []
    groups = _groups(history)
    for n, group in enumerate(groups):
        recorded = [h for h in group if h.clinical_effect is not None]
        if not recorded:
            continue
        start = group[0].time
        last = recorded[-1]
        end = groups[n + 1][0].time if n + 1 < len(groups) else until
        step = timedelta(hours=1) if end is None else min(timedelta(hours=1), (end - last.time) / 2)
        out.append(score(f"mas-{n}-before", _iso(start), 3))
        after = 3 if last.clinical_effect == "none" else 2
        out.append(score(f"mas-{n}-after", _iso(last.time + step), after))
    return out


def _why_not(case: Case) -> str | None:
    p, o, it = case.patient, case.order, case.order.intrathecal
    if p.birth_date is None:
        return "an age without a birth date"
    if p.on_dialysis or p.hospital_supervised or p.alcohol_use:
        return "a flag of the native API (dialysis, supervision, alcohol)"
    if o.taper:
        return "a taper: no FHIR element says that a stop ends one"
    if it is None:
        return None if o.action == "stop" else "no intrathecal details: a record always has some"
    if it.phase is None and o.action != "stop":
        return "no phase: over CDS Hooks the phase is read from the record"
    history = it.history
    if o.action == "change" and not history:
        return "a change without a dose history: without a current regimen it is a start"
    if o.action == "continue" and not history and it.phase != "maintenance":
        return "a continuation without a dose history (a start over CDS Hooks) outside maintenance"
    if o.action == "continue" and not history and o.previous is not None:
        return "a previous regimen without a dose history: over CDS Hooks the record holds both"
    if it.spasticity_scores and any(h.clinical_effect for h in history):
        return "a recorded clinical effect beside scores"
    if it.pump and it.devices:
        return "a pump type beside devices"
    if _response_matters(case):
        return "the response to a test dose: no FHIR element carries it"
    if (it.withdrawal_signs or it.dated_withdrawal_signs) and not history:
        return "withdrawal signs without an infusion on record"
    started, at = it.infusion_started, o.time
    first = history[0].time if history else None
    if started is not None and at is not None and at - started < timedelta(hours=24):
        if started != first:
            return "an infusion start within 24 h that is not the first regimen's"
    elif first is not None and at is not None and at - first < timedelta(hours=24):
        if started is not None and started != first:
            return "an infusion start that is not the first regimen's"
    if it.withdrawal_signs and o.time is None:
        return "withdrawal signs given as current on an order without a time"
    return None


def _response_matters(case: Case) -> bool:
    """Whether a test dose's response or effect duration decides the row: in screening, a
    significant response (the goal) or one at 100 ug or more (a non-responder); before a first
    infusion, the last test dose's."""
    o = case.order
    it = o.intrathecal or Intrathecal()
    doses = it.screening_doses
    if it.phase == "screening":
        return any(
            d.response == "significant"
            or d.effect_hours is not None
            or (d.response and _ug(d.dose.value, d.dose.unit) >= 100)
            for d in doses
        )
    if o.action == "start" and not it.history and doses:
        last = doses[-1]
        return last.response is not None or last.effect_hours is not None
    return False


def fhir_form(case: Case) -> tuple[dict[str, Any] | None, str | None]:
    """(the order-sign request carrying the row's data, None) or (None, why it has none)."""
    why = _why_not(case)
    if why:
        return None, why
    p, o = case.patient, case.order
    it = o.intrathecal or Intrathecal()
    history = it.history
    at = o.time
    when = _iso(at) if at else o.date.isoformat()
    meds: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    running = o.action in ("change", "continue", "stop")
    for n, h in enumerate(history):
        last = n == len(history) - 1
        status = ("active" if running else "stopped") if last else "completed"
        res = itb_request(
            f"itb-{n}",
            _amount(h.daily_dose.value, h.daily_dose.unit),
            _iso(h.time),
            status,
            prior=f"itb-{n - 1}" if n else None,
        )
        (meds if status == "active" else records).append(res)
    # Test doses: when they matter (screening, a first infusion), or to show where the
    # infusion started.
    given = [(d.time, _ug(d.dose.value, d.dose.unit)) for d in it.screening_doses]
    relevant = it.phase == "screening" or (o.action == "start" and not history)
    programming: list[dict[str, Any]] = []
    if relevant:
        programming += [bolus_given(f"test-{n}", ug, _iso(t)) for n, (t, ug) in enumerate(given)]
    elif history and it.infusion_started == history[0].time:
        # The test dose before the first regimen says where the infusion started.
        first = history[0].time
        programming.append(bolus_given("test-0", 50, _iso(first - timedelta(days=1))))
    scores = effect_scores(history, at)
    for n, s in enumerate(it.spasticity_scores):
        scale = MAS if s.instrument == "modified_ashworth" else PENN
        if s.instrument == "ashworth":
            scale = {"text": "Ashworth Scale"}
        scores.append(score(f"score-{n}", _iso(s.time), s.value, scale, s.site))
    signs_at = (at or datetime.combine(o.date, datetime.min.time(), UTC)) - timedelta(hours=2)
    signs = [
        symptom(f"sign-{n}", sign, _iso(signs_at)) for n, sign in enumerate(it.withdrawal_signs)
    ]
    signs += [
        symptom(f"dated-sign-{n}", d.sign, _iso(d.time))
        for n, d in enumerate(it.dated_withdrawal_signs)
    ]
    devices = [pump_device(PUMPS[it.pump])] if it.pump else []
    devices += [
        {
            **pump_device(d.display or d.code or "device", f"device-{n}"),
            "type": {
                "coding": [{"system": d.system, "code": d.code}] if d.code else [],
                "text": d.display,
            },
        }
        for n, d in enumerate(it.devices)
    ]
    dose = None
    if o.dose is not None and o.dose.value > 0:
        dose = _amount(o.dose.value, o.dose.unit)
    elif o.action == "stop" and history:
        dose = _amount(history[-1].daily_dose.value, history[-1].daily_dose.unit)
    bolus = it.phase == "screening" or it.delivery == "bolus"
    phase_text = {"screening": "Test dose", "titration": "Titration", "maintenance": "Maintenance"}
    origin = it.spasticity_origin
    draft = itb_request(
        "rx-itb",
        dose,
        when,
        "stopped" if o.action == "stop" else "draft",
        bolus=bolus,
        prior=f"itb-{len(history) - 1}" if running and history else None,
        text=f"{phase_text[it.phase]} phase" if it.phase else None,
        reason=f"Spasticity of {origin} origin" if origin else None,
    )
    draft["authoredOn"] = when
    born = p.birth_date.isoformat() if p.birth_date else None
    conditions = [
        _condition(n, c.system, c.code, c.display, c.clinical_status, c.verification_status)
        for n, c in enumerate(p.conditions)
    ]
    co_meds = [
        {
            "resourceType": "MedicationRequest",
            "id": f"co-{n}",
            "status": "active",
            "intent": "order",
            "medicationCodeableConcept": {
                "coding": [{"system": m.system or RXNORM, "code": m.code, "display": m.display}]
                if m.code
                else [],
                "text": m.display or m.code,
            },
            "subject": {"reference": f"Patient/{PID}"},
            "authoredOn": "2026-09-01",
        }
        for n, m in enumerate(p.medications)
    ]
    prefetch = full_prefetch(
        patient(PID, born),
        conditions=conditions,
        medications=meds + co_meds,
        weights=[weight(p.weight_kg, pid=PID)] if p.weight_kg else [],
        crcls=[crcl(p.creatinine_clearance_ml_min, pid=PID)]
        if p.creatinine_clearance_ml_min is not None
        else [],
        egfrs=[egfr(p.egfr_ml_min_1_73m2, pid=PID)] if p.egfr_ml_min_1_73m2 is not None else [],
        pregnancy=[pregnancy_status(pid=PID)] if p.pregnant else [],
        history=meds + records,
        programming=programming,
        devices=devices,
        scores=scores,
        signs=signs,
    )
    return hook_request("order-sign", [draft], prefetch, pid=PID), None


def _condition(
    n: int,
    system: str | None,
    code: str | None,
    display: str | None,
    clinical: str | None,
    verification: str | None,
) -> dict[str, Any]:
    res = condition("X", display or code or "condition", pid=PID, cid=f"cond-{n}")
    res["code"] = {
        "coding": [{"system": system, "code": code, "display": display}] if code else [],
        "text": display or code,
    }
    if clinical:
        res["clinicalStatus"]["coding"][0]["code"] = clinical
    if verification:
        res["verificationStatus"]["coding"][0]["code"] = verification
    return res
