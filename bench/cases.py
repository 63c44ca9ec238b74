"""Requests the benchmark and the load tests send, each with the alert codes it must produce.

A benchmark that measured wrong answers would be worthless, so every case carries its
expected codes and the runs check them. Self-contained (no import from tests/) so that
`make bench` depends only on the service.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

ORDER_DATE = "2026-11-22"

ADULT = {"birth_date": "1981-06-15", "weight_kg": 80, "creatinine_clearance_ml_min": 95}


def _history(time: str, ug: float, effect: str) -> dict[str, Any]:
    return {"time": time, "daily_dose": {"value": ug, "unit": "ug"}, "clinical_effect": effect}


# The realistic mix of the engine benchmark: name -> (request body, expected codes).
MIX: dict[str, tuple[dict[str, Any], frozenset[str]]] = {
    # 7 years, 20 kg, continuing 5 mg x4 oral solution: within every limit.
    "oral child": (
        {
            "patient": {"birth_date": "2019-05-01", "weight_kg": 20},
            "order": {
                "date": ORDER_DATE,
                "action": "continue",
                "route": "oral",
                "form": "oral_solution",
                "dose": {"value": 5, "unit": "mg"},
                "frequency_per_day": 4,
            },
        },
        frozenset(),
    ),
    # 45 years, continuing 20 mg x3 tablets, normal renal function.
    "oral adult": (
        {
            "patient": dict(ADULT),
            "order": {
                "date": ORDER_DATE,
                "action": "continue",
                "route": "oral",
                "form": "tablet",
                "dose": {"value": 20, "unit": "mg"},
                "frequency_per_day": 3,
            },
        },
        frozenset(),
    ),
    # Intrathecal titration with a screening bolus and three regimens so far; the order is a
    # +20 % step two days after the last change.
    "intrathecal titration": (
        {
            "patient": dict(ADULT),
            "order": {
                "time": "2026-11-24T09:00:00Z",
                "action": "change",
                "route": "intrathecal",
                "form": "intrathecal",
                "dose": {"value": 173, "unit": "ug"},
                "intrathecal": {
                    "phase": "titration",
                    "spasticity_origin": "spinal",
                    "pump": "programmable",
                    "infusion_started": "2026-11-18T09:00:00Z",
                    "history": [
                        _history("2026-11-18T09:00:00Z", 100, "partial"),
                        _history("2026-11-20T09:00:00Z", 120, "partial"),
                        _history("2026-11-22T09:00:00Z", 144, "partial"),
                    ],
                    "screening_doses": [
                        {
                            "time": "2026-11-16T10:00:00Z",
                            "dose": {"value": 50, "unit": "ug"},
                            "response": "significant",
                            "effect_hours": 6,
                        }
                    ],
                },
            },
        },
        frozenset(),
    ),
    # Pregnant adult with epilepsy, alcohol and morphine, CrCl 40, on 40 mg x3: five alerts.
    "five alerts": (
        {
            "patient": {
                **ADULT,
                "creatinine_clearance_ml_min": 40,
                "pregnant": True,
                "alcohol_use": True,
                "conditions": [
                    {"system": "http://snomed.info/sct", "code": "84757009", "display": "Epilepsy"}
                ],
                "medications": [{"display": "morphine"}],
            },
            "order": {
                "date": ORDER_DATE,
                "action": "continue",
                "route": "oral",
                "form": "tablet",
                "dose": {"value": 40, "unit": "mg"},
                "frequency_per_day": 3,
            },
        },
        frozenset(
            {
                "DAILY_DOSE_ABOVE_MAXIMUM",
                "SEIZURE_DISORDER_CONTRAINDICATION",
                "PREGNANCY",
                "CNS_DEPRESSANT_COMEDICATION",
                "RENAL_IMPAIRMENT",
            }
        ),
    ),
}


def distinct_case(i: int) -> tuple[dict[str, Any], frozenset[str], float]:
    """Patient i: its own daily dose (so every message differs from every other check's) and
    one of 16 alert sets, chosen by the four low bits of i.

    Returns the body, the exact codes expected, and the daily dose in mg that the
    DAILY_DOSE_ABOVE_MAXIMUM alert must report.
    """
    # Above the adult maximum (100 mg/day), below any unit-slip threshold, never repeated
    # within a million patients.
    daily = round(101 + (i % 1_000_000) / 10_000, 4)
    patient: dict[str, Any] = {**ADULT, "weight_kg": 50 + i % 40}
    expected = {"DAILY_DOSE_ABOVE_MAXIMUM"}
    if i & 1:
        patient["pregnant"] = True
        expected.add("PREGNANCY")
    if i & 2:
        patient["medications"] = [{"display": "morphine"}]
        expected.add("CNS_DEPRESSANT_COMEDICATION")
    if i & 4:
        patient["conditions"] = [{"system": "http://snomed.info/sct", "code": "84757009"}]
        expected.add("SEIZURE_DISORDER_CONTRAINDICATION")
    if i & 8:
        patient["creatinine_clearance_ml_min"] = 40
        expected.add("RENAL_IMPAIRMENT")
    body = {
        "patient": patient,
        "order": {
            "date": ORDER_DATE,
            "action": "continue",
            "route": "oral",
            "form": "tablet",
            "dose": {"value": daily, "unit": "mg"},
            "frequency_per_day": 1,
        },
    }
    return body, frozenset(expected), daily


def mix_body(name: str) -> dict[str, Any]:
    return copy.deepcopy(MIX[name][0])


def problems(body: dict[str, Any], expected: frozenset[str], daily: float | None = None) -> str:
    """Why a native response body is not exactly the expected answer ('' when it is)."""
    alerts = body.get("alerts")
    if not isinstance(alerts, list):
        return f"no alerts list in {str(body)[:200]}"
    got = {a["code"] for a in alerts}
    if got != expected:
        return f"codes {sorted(got)} != expected {sorted(expected)}"
    if daily is not None:
        top = [a for a in alerts if a["code"] == "DAILY_DOSE_ABOVE_MAXIMUM"]
        if top[0]["evidence"].get("daily_mg") != daily:
            return f"daily_mg {top[0]['evidence'].get('daily_mg')} != {daily} (another patient's?)"
    return ""


GOLDEN = Path(__file__).resolve().parents[1] / "tests" / "golden"


def cds_cases() -> dict[str, tuple[dict[str, Any], list[str]]]:
    """CDS Hooks requests with the sorted card topic codes each must get: the golden files
    of the CDS Hooks tests (one EHR request per case, prefetch included, no FHIR server)."""
    cases = {}
    for request in sorted(GOLDEN.glob("*.request.json")):
        cards = request.with_name(request.name.replace(".request.json", ".cards.json"))
        if cards.exists():
            expected = sorted(c["source"]["topic"]["code"] for c in json.loads(cards.read_text()))
            cases[request.name.removesuffix(".request.json")] = (
                json.loads(request.read_text()),
                expected,
            )
    return cases


def card_problems(body: dict[str, Any], expected: list[str]) -> str:
    """Why a CDS Hooks response is not exactly the expected cards ('' when it is)."""
    cards = body.get("cards")
    if not isinstance(cards, list):
        return f"no cards list in {str(body)[:200]}"
    got = sorted(c["source"]["topic"]["code"] for c in cards)
    return "" if got == expected else f"cards {got} != expected {expected}"
