"""Patient archetypes: one builder per typical patient; scenario rows override single fields.

Dates are fixed (no date.today()) so that boundaries such as a birthday stay exact.
"""

from __future__ import annotations

import copy
from typing import Any

from api.console.pins import merge

ORDER_DATE = "2026-11-22"

ARCHETYPES: dict[str, dict[str, Any]] = {
    # 7 years old (8th birthday on 2027-05-01), 20 kg, continuing oral solution.
    "child_7y_20kg": {
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
    # Turns 8 on the order date; 35 kg; continuing tablets.
    "child_8y_35kg": {
        "patient": {"birth_date": "2018-11-22", "weight_kg": 35},
        "order": {
            "date": ORDER_DATE,
            "action": "continue",
            "route": "oral",
            "form": "tablet",
            "dose": {"value": 10, "unit": "mg"},
            "frequency_per_day": 3,
        },
    },
    # Turns 18 on the order date; 60 kg; continuing tablets.
    "teen_18th_birthday": {
        "patient": {"birth_date": "2008-11-22", "weight_kg": 60},
        "order": {
            "date": ORDER_DATE,
            "action": "continue",
            "route": "oral",
            "form": "tablet",
            "dose": {"value": 20, "unit": "mg"},
            "frequency_per_day": 3,
        },
    },
    # 45-year-old adult on an established oral regimen with nothing wrong.
    "adult_oral": {
        "patient": {"birth_date": "1981-06-15", "weight_kg": 80, "creatinine_clearance_ml_min": 95},
        "order": {
            "date": ORDER_DATE,
            "action": "continue",
            "route": "oral",
            "form": "tablet",
            "dose": {"value": 20, "unit": "mg"},
            "frequency_per_day": 3,
        },
    },
    "adult_epilepsy": {
        "patient": {
            "birth_date": "1970-01-10",
            "weight_kg": 70,
            "conditions": [
                {
                    "system": "http://hl7.org/fhir/sid/icd-10-cm",
                    "code": "G40.909",
                    "display": "Epilepsy, unspecified",
                }
            ],
        },
        "order": {
            "date": ORDER_DATE,
            "action": "start",
            "route": "oral",
            "form": "tablet",
            "dose": {"value": 5, "unit": "mg"},
            "frequency_per_day": 3,
        },
    },
    "adult_dialysis": {
        # 56 years old: under 65, so the rows on dialysis do not also meet the elderly advice.
        "patient": {"birth_date": "1970-03-03", "weight_kg": 75, "on_dialysis": True},
        "order": {
            "date": ORDER_DATE,
            "action": "start",
            "route": "oral",
            "form": "tablet",
            "dose": {"value": 5, "unit": "mg"},
            "frequency_per_day": 3,
        },
    },
}


def build(
    archetype: str, patient: dict[str, Any] | None = None, order: dict[str, Any] | None = None
) -> dict[str, Any]:
    case = copy.deepcopy(ARCHETYPES[archetype])
    if patient:
        case["patient"] = merge(case["patient"], patient)
    if order:
        case["order"] = merge(case["order"], order)
    return case


import tests.archetypes_intrathecal  # noqa: E402, F401  registers the intrathecal archetypes
