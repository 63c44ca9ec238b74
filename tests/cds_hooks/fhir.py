"""Builders of realistic FHIR R4 resources and CDS Hooks requests, shaped like what EHRs send
(identifiers, narrative-free but complete codings, UCUM units, statuses, categories)."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
FHIR_SERVER = "https://ehr.example.test/fhir"
ORDER_DATE = "2026-11-22"
AUTHORED = "2026-11-22T09:30:00+01:00"

ROUTES = {
    "oral": ("26643006", "Oral route"),
    "intrathecal": ("72607000", "Intrathecal route"),
    "intravenous": ("47625008", "Intravenous route"),
}


def concept(
    code: str, display: str, system: str = RXNORM, text: str | None = None
) -> dict[str, Any]:
    return {
        "coding": [{"system": system, "code": code, "display": display}],
        "text": text or display,
    }


TABLET_10 = concept("197391", "Baclofen 10 MG Oral Tablet")
TABLET_20 = concept("197392", "Baclofen 20 MG Oral Tablet")
LIORESAL_10 = concept("202109", "Baclofen 10 MG Oral Tablet [Lioresal]")
SOLUTION_5_PER_5 = {"text": "Baclofen 5 MG/5ML Oral Solution"}
INTRATHECAL = {
    "coding": [{"system": RXNORM, "code": "1292", "display": "baclofen"}],
    "text": "Baclofen 2 MG/ML Intrathecal Solution",
}


def patient(
    pid: str = "pat-1", birth: str | None = "1981-06-15", gender: str = "female"
) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [
            {"use": "usual", "system": "urn:oid:2.16.840.1.113883.19.5", "value": f"MRN-{pid}"}
        ],
        "active": True,
        "name": [{"use": "official", "family": "Example", "given": ["Alex"]}],
        "gender": gender,
    }
    if birth:
        res["birthDate"] = birth
    return res


def condition(
    icd: str,
    display: str,
    snomed: str | None = None,
    pid: str = "pat-1",
    clinical: str = "active",
    verification: str = "confirmed",
    cid: str = "cond-1",
) -> dict[str, Any]:
    coding = [{"system": ICD10CM, "code": icd, "display": display}]
    if snomed:
        coding.append({"system": SNOMED, "code": snomed, "display": display})
    return {
        "resourceType": "Condition",
        "id": cid,
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": clinical,
                }
            ]
        },
        "verificationStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": verification,
                }
            ]
        },
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                        "code": "problem-list-item",
                        "display": "Problem List Item",
                    }
                ]
            }
        ],
        "code": {"coding": coding, "text": display},
        "subject": {"reference": f"Patient/{pid}"},
        "recordedDate": "2020-03-01",
    }


def observation(
    loinc: str,
    display: str,
    value: float | None,
    unit: str,
    code: str,
    when: str = "2026-11-20T08:00:00+01:00",
    pid: str = "pat-1",
    category: str = "laboratory",
    oid: str | None = None,
    comparator: str | None = None,
) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Observation",
        "id": oid or f"obs-{loinc}",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": category,
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": LOINC, "code": loinc, "display": display}], "text": display},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": when,
    }
    if value is not None:
        quantity: dict[str, Any] = {"value": value, "unit": unit, "system": UCUM, "code": code}
        if comparator:
            quantity["comparator"] = comparator
        res["valueQuantity"] = quantity
    return res


def weight(kg: float, **kw: Any) -> dict[str, Any]:
    return observation("29463-7", "Body weight", kg, "kg", "kg", category="vital-signs", **kw)


def crcl(ml_min: float, **kw: Any) -> dict[str, Any]:
    return observation(
        "2164-2",
        "Creatinine renal clearance in 24 hour Urine and Serum",
        ml_min,
        "mL/min",
        "mL/min",
        **kw,
    )


def egfr(value: float, **kw: Any) -> dict[str, Any]:
    return observation(
        "33914-3",
        "Glomerular filtration rate/1.73 sq M.predicted [Volume "
        "Rate/Area] in Serum or Plasma by Creatinine-based formula (MDRD)",
        value,
        "mL/min/{1.73_m2}",
        "mL/min/{1.73_m2}",
        **kw,
    )


def pregnancy_status(
    snomed: str = "77386006", display: str = "Pregnant", pid: str = "pat-1"
) -> dict[str, Any]:
    res = observation(
        "82810-3", "Pregnancy status", None, "", "", category="social-history", pid=pid
    )
    res["valueCodeableConcept"] = {
        "coding": [{"system": SNOMED, "code": snomed, "display": display}],
        "text": display,
    }
    return res


def timing(per_day: int | None = None, code: str | None = None) -> dict[str, Any]:
    if code:
        return {
            "code": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation",
                        "code": code,
                    }
                ],
                "text": code,
            }
        }
    return {"repeat": {"frequency": per_day, "period": 1, "periodUnit": "d"}}


def quantity(value: float, unit: str, code: str | None = None) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": code or unit}


def med_request(
    rid: str,
    medication: dict[str, Any],
    dose: dict[str, Any] | None = None,
    per_day: int | None = None,
    route: str | None = "oral",
    status: str = "draft",
    authored: str = AUTHORED,
    pid: str = "pat-1",
    timing_code: str | None = None,
    text: str | None = None,
    rate: dict[str, Any] | None = None,
    prior: str | None = None,
) -> dict[str, Any]:
    """A MedicationRequest; `prior` names the order it replaces (priorPrescription), as an EHR
    links a renewal or a change of an active order."""
    dosage: dict[str, Any] = {"sequence": 1}
    if text:
        dosage["text"] = text
    if per_day or timing_code:
        dosage["timing"] = timing(per_day, timing_code)
    if route:
        code, display = ROUTES[route]
        dosage["route"] = {"coding": [{"system": SNOMED, "code": code, "display": display}]}
    if dose or rate:
        dar: dict[str, Any] = {
            "type": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/dose-rate-type",
                        "code": "ordered",
                        "display": "Ordered",
                    }
                ]
            }
        }
        if dose:
            dar["doseQuantity"] = dose
        if rate:
            dar["rateQuantity"] = rate
        dosage["doseAndRate"] = [dar]
    res: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": status,
        "intent": "order",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/medicationrequest-category",
                        "code": "outpatient",
                        "display": "Outpatient",
                    }
                ]
            }
        ],
        "medicationCodeableConcept": copy.deepcopy(medication),
        "subject": {"reference": f"Patient/{pid}"},
        "authoredOn": authored,
        "requester": {"reference": "Practitioner/prac-1", "display": "Dr. Example"},
        "dosageInstruction": [dosage],
    }
    if prior:
        res["priorPrescription"] = {"reference": f"MedicationRequest/{prior}"}
    return res


def searchset(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [
            {
                "fullUrl": f"{FHIR_SERVER}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }


def hook_request(
    hook: str,
    drafts: list[dict[str, Any]],
    prefetch: dict[str, Any] | None,
    selections: list[str] | None = None,
    pid: str = "pat-1",
    instance: str = "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "userId": "Practitioner/prac-1",
        "patientId": pid,
        "encounterId": "enc-1",
        "draftOrders": {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": d} for d in drafts],
        },
    }
    if hook == "order-select":
        context["selections"] = selections or [f"MedicationRequest/{drafts[0]['id']}"]
    req: dict[str, Any] = {
        "hookInstance": instance,
        "fhirServer": FHIR_SERVER,
        "hook": hook,
        "context": context,
    }
    if prefetch is not None:
        req["prefetch"] = prefetch
    return req


def full_prefetch(
    pat: dict[str, Any],
    conditions: list[dict[str, Any]] | None = None,
    medications: list[dict[str, Any]] | None = None,
    weights: list[dict[str, Any]] | None = None,
    crcls: list[dict[str, Any]] | None = None,
    egfrs: list[dict[str, Any]] | None = None,
    pregnancy: list[dict[str, Any]] | None = None,
    history: list[dict[str, Any]] | None = None,
    programming: list[dict[str, Any]] | None = None,
    devices: list[dict[str, Any]] | None = None,
    scores: list[dict[str, Any]] | None = None,
    signs: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Every key the discovery asks for: an empty searchset where the patient has no data."""
    return {
        "patient": pat,
        "conditions": searchset(*(conditions or [])),
        "medications": searchset(*(medications or [])),
        "weight": searchset(*(weights or [])),
        "crcl": searchset(*(crcls or [])),
        "egfr": searchset(*(egfrs or [])),
        "pregnancy": searchset(*(pregnancy or [])),
        "intrathecal_history": searchset(*(history or [])),
        "pump_programming": searchset(*(programming or [])),
        "devices": searchset(*(devices or [])),
        "spasticity_scores": searchset(*(scores or [])),
        "withdrawal_signs": searchset(*(signs or [])),
    }


@contextmanager
def local_fhir_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A FHIR server on 127.0.0.1 and a free port, answering with `handler`; its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/fhir"
    finally:
        server.shutdown()
        server.server_close()
