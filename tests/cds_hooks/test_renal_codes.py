"""Renal function under every LOINC code in use (issue 13): an adult starting 5 mg three times a
day whose latest result is 10 mL/min gets the end-stage card whichever creatinine-clearance or
eGFR code the laboratory recorded it under, in whichever unit spelling; 15 mL/min is the
boundary (below 15 is terminal renal failure). Each result comes as the EHR answers the
prefetch query for its kind (creatinine clearance or eGFR)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.cds_hooks import terminology as t
from tests.cds_hooks.ehr import call, topic_codes
from tests.cds_hooks.fhir import (
    TABLET_10,
    full_prefetch,
    hook_request,
    med_request,
    observation,
    patient,
    quantity,
    weight,
)

ESRD = "END_STAGE_RENAL_CONTRAINDICATION"
IMPAIRED = "RENAL_IMPAIRMENT"
# The codes issue 13 found unread, and those read before: each must count.
ISSUE_EGFR = (
    "33914-3",
    "62238-1",
    "98979-8",
    "48642-3",
    "48643-1",
    "88293-6",
    "88294-4",
    "50044-7",
    "77147-7",
)
ISSUE_CRCL = ("2164-2", "35591-7")


def _start(key: str, code: str, value: float, unit: str) -> dict[str, Any]:
    draft = med_request("rx-1", TABLET_10, quantity(5, "mg"), per_day=3)
    result = observation(
        code, t.EGFR.get(code) or t.CREATININE_CLEARANCE.get(code) or code, value, unit, unit
    )
    prefetch = full_prefetch(patient(), weights=[weight(70)])
    prefetch[key]["entry"] = [{"resource": result}]
    return hook_request("order-sign", [draft], prefetch)


ROWS = [
    *[(f"egfr-{code}-10", "egfr", code, 10.0, "mL/min/{1.73_m2}", [ESRD]) for code in ISSUE_EGFR],
    *[
        (f"egfr-{code}-10", "egfr", code, 10.0, "mL/min/{1.73_m2}", [ESRD])
        for code in t.EGFR
        if code not in ISSUE_EGFR
    ],
    *[(f"crcl-{code}-10", "crcl", code, 10.0, "mL/min", [ESRD]) for code in ISSUE_CRCL],
    ("egfr-48642-3-15-is-not-end-stage", "egfr", "48642-3", 15.0, "mL/min/{1.73_m2}", [IMPAIRED]),
    ("crcl-35591-7-15-is-not-end-stage", "crcl", "35591-7", 15.0, "mL/min", [IMPAIRED]),
    ("egfr-unit-text-ml-min-1.73m2", "egfr", "88294-4", 10.0, "mL/min/1.73m2", [ESRD]),
    (
        "egfr-unit-text-with-spaces-and-superscript",
        "egfr",
        "50044-7",
        10.0,
        "ml/min/1.73 m²",
        [ESRD],
    ),
    ("egfr-in-ml-per-second", "egfr", "77147-7", 0.16, "mL/s/{1.73_m2}", [ESRD]),
    ("crcl-cockcroft-gault-in-ml-per-second", "crcl", "35591-7", 0.16, "mL/s", [ESRD]),
    (
        "egfr-result-answering-the-creatinine-clearance-query",
        "crcl",
        "98979-8",
        10.0,
        "mL/min/{1.73_m2}",
        [ESRD],
    ),
    ("egfr-unit-not-read", "egfr", "62238-1", 10.0, "mg/dL", ["MISSING_DATA"]),
]


@pytest.mark.parametrize(
    ("key", "code", "value", "unit", "expected"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS]
)
def test_renal_result_under_its_code(
    cds: TestClient, key: str, code: str, value: float, unit: str, expected: list[str]
) -> None:
    body = call(cds, _start(key, code, value, unit)).json()
    assert topic_codes(body) == sorted(expected), [c["summary"] for c in body["cards"]]


def test_one_code_set_for_templates_queries_and_results() -> None:
    """The prefetch templates ask for exactly the codes the results are read under."""
    from api.cds_hooks.prefetch import TEMPLATES

    for key, codes in (("crcl", t.CREATININE_CLEARANCE), ("egfr", t.EGFR)):
        asked = TEMPLATES[key].split("code=")[1].split("&")[0].split(",")
        assert asked == [f"{t.LOINC}|{code}" for code in codes]
    assert set(ISSUE_EGFR) <= set(t.EGFR) and set(ISSUE_CRCL) <= set(t.CREATININE_CLEARANCE)
