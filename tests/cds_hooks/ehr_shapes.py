"""Baclofen orders as EHRs really write them, for the order-shape tables.

Epic: every dose three ways in `doseAndRate` (HL7 dose-rate-type "ordered" and "calculated",
Epic's own "admin-amount": the tablets or mL to give), route codes in SNOMED CT and Epic's
own code system, a timing repeat with its text ("every 6 (six) hours"), unit codes from its
own code system beside a unit text. Oracle Health (Cerner Millennium): the frequency as a
code of its code set 4003 with the display as text ("Daily", "At Bedtime", "q4hr") and a
repeat holding only the start, untyped doseAndRate, "tab" quantities, a PRN reason from code
set 4005. Shapes taken from Epic's and Oracle Health's published R4 examples and from
EHR-derived examples in HL7 implementation guides (NHSN dQM).
"""

from __future__ import annotations

import copy
from typing import Any

from tests.cds_hooks.fhir import (
    AUTHORED,
    RXNORM,
    SNOMED,
    UCUM,
    concept,
    crcl,
    full_prefetch,
    hook_request,
    patient,
    weight,
)

HL7_DOSE_TYPE = "http://terminology.hl7.org/CodeSystem/dose-rate-type"
EPIC_DOSE_TYPE = "http://epic.com/CodeSystem/dose-rate-type"
EPIC_ROUTE = "urn:oid:1.2.840.114350.1.13.301.3.7.4.798268.7025"
EPIC_UNIT = "urn:oid:1.2.840.114350.1.13.301.3.7.4.698288.201"  # an EHR's own unit codes
ORACLE = "https://fhir.cerner.com/ec2458f2-1e24-41c8-b71b-0e701af7583d/codeSet"
ACTIVE_SINCE = "2026-10-01T10:00:00+01:00"
ADULT = patient("pat-1", "1981-06-15")

TABLET_10 = concept("197391", "Baclofen 10 MG Oral Tablet")
TABLET_20 = concept("197392", "Baclofen 20 MG Oral Tablet")


def mg(value: float) -> dict[str, Any]:
    return {"value": value, "unit": "mg", "system": UCUM, "code": "mg"}


def tablets(value: float, code: str = "{tbl}", unit: str = "tablet") -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


def ml(value: float) -> dict[str, Any]:
    return {"value": value, "unit": "mL", "system": UCUM, "code": "mL"}


def typed(
    kind: str | None,
    quantity: dict[str, Any] | None = None,
    *,
    system: str = HL7_DOSE_TYPE,
    dose_range: dict[str, Any] | None = None,
    rate: dict[str, Any] | None = None,
    text_only: bool = False,
) -> dict[str, Any]:
    """One doseAndRate entry; `kind` "ordered", "calculated", "admin-amount" or None."""
    entry: dict[str, Any] = {}
    if kind and text_only:
        entry["type"] = {"text": kind}
    elif kind:
        entry["type"] = {
            "coding": [{"system": system, "code": kind, "display": kind}],
            "text": kind,
        }
    if quantity is not None:
        entry["doseQuantity"] = quantity
    if dose_range is not None:
        entry["doseRange"] = dose_range
    if rate is not None:
        entry["rateQuantity"] = rate
    return entry


def epic(
    dose_mg: float, tablets_: float | None = None, ordered: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Epic's three entries: calculated mg, admin-amount tablets, ordered (mg, or mg/kg)."""
    out = [typed("calculated", mg(dose_mg), system=EPIC_DOSE_TYPE)]
    if tablets_ is not None:
        out.append(typed("admin-amount", tablets(tablets_), system=EPIC_DOSE_TYPE))
    out.append(typed("ordered", ordered or mg(dose_mg), system=EPIC_DOSE_TYPE))
    return out


def repeat(
    frequency: float = 1,
    period: float = 1,
    unit: str = "d",
    *,
    frequency_max: float | None = None,
    period_max: float | None = None,
    text: str | None = None,
) -> dict[str, Any]:
    rep: dict[str, Any] = {
        "boundsPeriod": {"start": "2026-11-22T09:00:00Z"},
        "frequency": frequency,
        "period": period,
        "periodUnit": unit,
    }
    if frequency_max is not None:
        rep["frequencyMax"] = frequency_max
    if period_max is not None:
        rep["periodMax"] = period_max
    timing: dict[str, Any] = {"repeat": rep}
    if text:
        timing["code"] = {"text": text}
    return timing


def oracle_timing(code: str, display: str) -> dict[str, Any]:
    """Oracle Health: the start only in the repeat, the frequency as a code set 4003 code."""
    return {
        "repeat": {"boundsPeriod": {"start": "2026-11-22T09:00:00.000-05:00"}},
        "code": {
            "coding": [
                {"system": f"{ORACLE}/4003", "code": code, "display": display, "userSelected": True}
            ],
            "text": display,
        },
    }


def gts_timing(code: str) -> dict[str, Any]:
    return {
        "code": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation", "code": code}
            ]
        }
    }


ORAL = {
    "coding": [
        {"system": SNOMED, "code": "26643006", "display": "Oral route (qualifier value)"},
        {"system": EPIC_ROUTE, "code": "15", "display": "Oral"},
    ],
    "text": "Oral",
}
INTRATHECAL_ROUTE = {
    "coding": [
        {"system": SNOMED, "code": "72607000", "display": "Intrathecal route (qualifier value)"}
    ],
    "text": "Intrathecal",
}


def order(
    rid: str,
    medication: dict[str, Any],
    dose_and_rate: list[dict[str, Any]] | None,
    timing: dict[str, Any] | None,
    *,
    status: str = "draft",
    authored: str = AUTHORED,
    route: dict[str, Any] | None = None,
    **dosage: Any,
) -> dict[str, Any]:
    """A MedicationRequest; `dosage` adds Dosage elements (asNeededBoolean, maxDosePerPeriod,
    maxDosePerAdministration, text...)."""
    instruction: dict[str, Any] = {"route": copy.deepcopy(route or ORAL), **dosage}
    if timing is not None:
        instruction["timing"] = copy.deepcopy(timing)
    if dose_and_rate is not None:
        instruction["doseAndRate"] = copy.deepcopy(dose_and_rate)
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
                        "code": "community",
                        "display": "Community",
                    }
                ],
                "text": "Community",
            }
        ],
        "subject": {"reference": "Patient/pat-1"},
        "authoredOn": authored,
        "requester": {"reference": "Practitioner/prac-1", "display": "Physician, MD"},
        "dosageInstruction": [instruction],
    }
    if medication.get("resourceType") == "Medication":
        res["contained"] = [copy.deepcopy(medication)]
        res["medicationReference"] = {
            "reference": f"#{medication['id']}",
            "display": medication["code"]["text"],
        }
    else:
        res["medicationCodeableConcept"] = copy.deepcopy(medication)
    return res


def contained_medication(
    text: str, numerator: dict[str, Any], denominator: dict[str, Any], form: str
) -> dict[str, Any]:
    return {
        "resourceType": "Medication",
        "id": "med-1",
        "code": {
            "coding": [{"system": RXNORM, "code": "1292", "display": "baclofen"}],
            "text": text,
        },
        "form": {"text": form},
        "ingredient": [
            {
                "itemCodeableConcept": {"text": "baclofen"},
                "strength": {"numerator": numerator, "denominator": denominator},
            }
        ],
    }


def ratio(amount: dict[str, Any], value: float, unit: str) -> dict[str, Any]:
    return {
        "numerator": amount,
        "denominator": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }


def continuing(
    draft: dict[str, Any], who: dict[str, Any] = ADULT, kg: float = 80, **prefetch: Any
) -> dict[str, Any]:
    """The draft renews the patient's active order written the same way (its priorPrescription,
    as an EHR links a renewal): every limit applies, no start or step does."""
    subject = {"reference": f"Patient/{who['id']}"}
    active = copy.deepcopy(draft)
    active.update(id="rx-old", status="active", authoredOn=ACTIVE_SINCE, subject=subject)
    draft = {
        **draft,
        "subject": subject,
        "priorPrescription": {"reference": "MedicationRequest/rx-old"},
    }
    return hook_request(
        "order-sign",
        [draft],
        full_prefetch(
            who,
            medications=[active],
            weights=[weight(kg, pid=who["id"])],
            **{"crcls": [crcl(95, pid=who["id"])], **prefetch},
        ),
        pid=who["id"],
    )


def starting(
    draft: dict[str, Any], who: dict[str, Any] = ADULT, kg: float = 80, **prefetch: Any
) -> dict[str, Any]:
    draft = {**draft, "subject": {"reference": f"Patient/{who['id']}"}}
    return hook_request(
        "order-sign",
        [draft],
        full_prefetch(
            who,
            weights=[weight(kg, pid=who["id"])],
            **{"crcls": [crcl(95, pid=who["id"])], **prefetch},
        ),
        pid=who["id"],
    )
