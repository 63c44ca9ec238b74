"""Intrathecal archetypes, registered into tests.archetypes.ARCHETYPES (imported from there).

Each is an adult with nothing wrong at its order time, so that a scenario row changes one
thing and the exact expected codes show what that one thing triggers. Times are fixed, with
offsets; order.date follows order.time.
"""

from __future__ import annotations

from typing import Any

from tests.archetypes import ARCHETYPES

ADULT = {"birth_date": "1981-06-15", "weight_kg": 80, "creatinine_clearance_ml_min": 95}


def _h(time: str, ug: float, effect: str = "partial") -> dict[str, Any]:
    return {"time": time, "daily_dose": {"value": ug, "unit": "ug"}, "clinical_effect": effect}


INTRATHECAL: dict[str, dict[str, Any]] = {
    # Spinal origin, programmable pump, infusion of 100 ug/day started 48 h ago; the order is
    # the first increase, +20 % (within 10-30 %), 48 h after the start.
    "adult_itb_titration": {
        "patient": ADULT,
        "order": {
            "time": "2026-11-20T09:00:00Z",
            "action": "change",
            "route": "intrathecal",
            "form": "intrathecal",
            "dose": {"value": 120, "unit": "ug"},
            "intrathecal": {
                "phase": "titration",
                "spasticity_origin": "spinal",
                "pump": "programmable",
                "infusion_started": "2026-11-18T09:00:00Z",
                "history": [_h("2026-11-18T09:00:00Z", 100)],
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
    # Cerebral origin, maintenance on 300 ug/day for months, programmable pump; continuing.
    "adult_itb_maintenance": {
        "patient": ADULT,
        "order": {
            "time": "2026-11-20T09:00:00Z",
            "action": "continue",
            "route": "intrathecal",
            "form": "intrathecal",
            "dose": {"value": 300, "unit": "ug"},
            "intrathecal": {
                "phase": "maintenance",
                "spasticity_origin": "cerebral",
                "pump": "programmable",
                "infusion_started": "2026-03-02T09:00:00Z",
                "history": [
                    _h("2026-06-01T09:00:00Z", 250, "adequate"),
                    _h("2026-09-01T09:00:00Z", 300, "adequate"),
                ],
            },
        },
    },
    # Screening: 25 ug gave no response yesterday; today's test bolus is 50 ug, 24 h later.
    "adult_itb_screening": {
        "patient": ADULT,
        "order": {
            "time": "2026-11-20T10:00:00Z",
            "action": "start",
            "route": "intrathecal",
            "form": "intrathecal",
            "dose": {"value": 50, "unit": "ug"},
            "intrathecal": {
                "phase": "screening",
                "spasticity_origin": "spinal",
                "screening_doses": [
                    {
                        "time": "2026-11-19T10:00:00Z",
                        "dose": {"value": 25, "unit": "ug"},
                        "response": "none",
                    }
                ],
            },
        },
    },
    # First infusion after screening: 50 ug gave a significant 6 h response; 100 ug/day is
    # twice that bolus, as 001 says.
    "adult_itb_start": {
        "patient": ADULT,
        "order": {
            "time": "2026-11-20T09:00:00Z",
            "action": "start",
            "route": "intrathecal",
            "form": "intrathecal",
            "dose": {"value": 100, "unit": "ug"},
            "intrathecal": {
                "phase": "titration",
                "spasticity_origin": "spinal",
                "pump": "programmable",
                "infusion_started": "2026-11-20T09:00:00Z",
                "screening_doses": [
                    {
                        "time": "2026-11-17T10:00:00Z",
                        "dose": {"value": 25, "unit": "ug"},
                        "response": "none",
                    },
                    {
                        "time": "2026-11-18T10:00:00Z",
                        "dose": {"value": 50, "unit": "ug"},
                        "response": "significant",
                        "effect_hours": 6,
                    },
                ],
            },
        },
    },
}

ARCHETYPES.update(INTRATHECAL)
