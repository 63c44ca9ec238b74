"""The policy decisions of issue 12 where their input comes through FHIR, replayed through the
CDS Hooks endpoint, one row per case, boundaries in pairs: terminal renal failure on an
intrathecal start (critical) or on a running infusion (warning), renal function of exactly 50,
the elderly info, and a heavy child's start of 0.3-0.5 mg/kg/day (info). Each row gives the
exact card codes and the indicator of each card. Intrathecal phase and dose history are not
readable over FHIR, so the intrathecal red flags are tested on the native API only
(tests/scenarios/intrathecal_red_flags.yaml).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.cds_hooks.ehr import call
from tests.cds_hooks.fhir import (
    INTRATHECAL,
    TABLET_10,
    TABLET_20,
    condition,
    crcl,
    egfr,
    full_prefetch,
    hook_request,
    med_request,
    patient,
    quantity,
    weight,
)

ACTIVE_SINCE = "2026-10-01T10:00:00+01:00"  # the order is authored on 2026-11-22


def _mg(value: float) -> dict[str, Any]:
    return quantity(value, "mg")


def _oral(
    birth: str = "1981-06-15",
    per_dose_mg: float = 20,
    per_day: int = 3,
    start: bool = False,
    kg: float = 80,
    **prefetch: Any,
) -> dict[str, Any]:
    """An oral order: continuing the same regimen, or (start) a new course."""
    draft = med_request(
        "rx-1",
        TABLET_20 if per_dose_mg >= 20 else TABLET_10,
        _mg(per_dose_mg),
        per_day=per_day,
        prior=None if start else "rx-old",
    )
    medications = (
        []
        if start
        else [
            med_request(
                "rx-old",
                TABLET_20 if per_dose_mg >= 20 else TABLET_10,
                _mg(per_dose_mg),
                per_day=per_day,
                status="active",
                authored=ACTIVE_SINCE,
            )
        ]
    )
    return hook_request(
        "order-sign",
        [draft],
        full_prefetch(
            patient("pat-1", birth),
            medications=medications,
            weights=[weight(kg)],
            **{"crcls": [crcl(95)], **prefetch},
        ),
    )


def _intrathecal(running: bool, **prefetch: Any) -> dict[str, Any]:
    """300 ug/day by intrathecal pump: a new infusion, or the running one continued."""
    draft = med_request("rx-1", INTRATHECAL, quantity(300, "ug"), per_day=1, route="intrathecal")
    medications = (
        [
            med_request(
                "rx-old",
                INTRATHECAL,
                quantity(300, "ug"),
                per_day=1,
                route="intrathecal",
                status="active",
                authored=ACTIVE_SINCE,
            )
        ]
        if running
        else []
    )
    return hook_request(
        "order-sign",
        [draft],
        full_prefetch(
            patient("pat-1", "1981-06-15"),
            medications=medications,
            weights=[weight(80)],
            **prefetch,
        ),
    )


N18_6 = condition("N18.6", "End stage renal disease", "46177005")
W, INFO, C = "warning", "info", "critical"

# (id, request builder, {card code: indicator})
ROWS: list[tuple[str, Callable[[], dict[str, Any]], dict[str, str]]] = [
    # Terminal renal failure: an intrathecal start is contraindicated (policy); a running
    # infusion keeps the warning, since stopping it abruptly is the greater danger.
    (
        "intrathecal-start-egfr-12",
        lambda: _intrathecal(False, egfrs=[egfr(12)]),
        {"END_STAGE_RENAL_CONTRAINDICATION": C, "MISSING_DATA": W},
    ),
    (
        "intrathecal-start-egfr-15",
        lambda: _intrathecal(False, egfrs=[egfr(15)]),
        {"RENAL_IMPAIRMENT": W, "MISSING_DATA": W},
    ),
    (
        "intrathecal-start-n18-6",
        lambda: _intrathecal(False, conditions=[N18_6], crcls=[crcl(60)]),
        {"END_STAGE_RENAL_CONTRAINDICATION": C, "MISSING_DATA": W},
    ),
    (
        # A running infusion continued, its record in the prefetch: nothing is missing.
        "intrathecal-running-egfr-12",
        lambda: _intrathecal(True, egfrs=[egfr(12)]),
        {"RENAL_IMPAIRMENT": W},
    ),
    (
        "intrathecal-running-n18-6",
        lambda: _intrathecal(True, conditions=[N18_6], crcls=[crcl(60)]),
        {"RENAL_IMPAIRMENT": W},
    ),
    (
        "oral-start-egfr-12",
        lambda: _oral(per_dose_mg=5, start=True, crcls=[], egfrs=[egfr(12)]),
        {"END_STAGE_RENAL_CONTRAINDICATION": C},
    ),
    # Renal function of exactly 50 mL/min is inside 004's "30-50".
    ("oral-crcl-50", lambda: _oral(crcls=[crcl(50)]), {"RENAL_IMPAIRMENT": W}),
    ("oral-crcl-50.1", lambda: _oral(crcls=[crcl(50.1)]), {}),
    ("oral-egfr-50", lambda: _oral(crcls=[], egfrs=[egfr(50)]), {"RENAL_IMPAIRMENT": W}),
    ("oral-egfr-50.1", lambda: _oral(crcls=[], egfrs=[egfr(50.1)]), {}),
    # Elderly (65 from the 65th birthday): info above 30 mg/day or a start above 10 mg/day.
    ("elderly-day-before-65th-birthday-60-mg", lambda: _oral("1961-11-23"), {}),
    (
        "elderly-65th-birthday-60-mg",
        lambda: _oral("1961-11-22"),
        {"ELDERLY_DOSE_ABOVE_RECOMMENDED": INFO},
    ),
    ("elderly-30-mg", lambda: _oral("1950-04-04", per_dose_mg=10), {}),
    (
        "elderly-31.5-mg",
        lambda: _oral("1950-04-04", per_dose_mg=10.5),
        {"ELDERLY_DOSE_ABOVE_RECOMMENDED": INFO},
    ),
    ("elderly-start-10-mg", lambda: _oral("1950-04-04", per_dose_mg=5, per_day=2, start=True), {}),
    (
        "elderly-start-15-mg",
        lambda: _oral("1950-04-04", per_dose_mg=5, start=True),
        {"ELDERLY_DOSE_ABOVE_RECOMMENDED": INFO},
    ),
    (
        "elderly-120-mg",
        lambda: _oral("1950-04-04", per_dose_mg=40),
        {"DAILY_DOSE_ABOVE_MAXIMUM": C, "ELDERLY_DOSE_ABOVE_RECOMMENDED": INFO},
    ),
    # A heavy 17-year-old started at 0.5 mg/kg/day: above the adult 15 mg/day, info only.
    (
        "teen-90-kg-start-45-mg",
        lambda: _oral("2009-06-01", per_dose_mg=15, start=True, kg=90),
        {"STARTING_DOSE_ABOVE_RECOMMENDED": INFO},
    ),
    (
        "teen-60-kg-start-36-mg",
        lambda: _oral("2009-06-01", per_dose_mg=12, start=True, kg=60),
        {"STARTING_DOSE_ABOVE_RECOMMENDED": W},
    ),
]


@pytest.mark.parametrize(
    ("build", "expected"), [(b, e) for _, b, e in ROWS], ids=[r[0] for r in ROWS]
)
def test_policy_row(
    cds: TestClient, build: Callable[[], dict[str, Any]], expected: dict[str, str]
) -> None:
    response = call(cds, build())
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    got = {c["source"]["topic"]["code"]: c["indicator"] for c in cards}
    assert got == expected, [c["summary"] for c in cards]
    assert len(got) == len(cards), "one card per code"
    for card in cards:
        if card["indicator"] == "info":
            assert "suggestions" not in card, "an info never offers a corrected order"
        if card["source"]["topic"]["code"] == "END_STAGE_RENAL_CONTRAINDICATION":
            (suggestion,) = card["suggestions"]  # a new course: remove the order
            assert suggestion["actions"][0]["type"] == "delete"
