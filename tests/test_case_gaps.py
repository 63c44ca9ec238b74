"""Data an EHR may lack (age, route) and numbers at the edges of JSON never break a check:
the rules answer with MISSING_DATA, and the engine accepts any finite number."""

from __future__ import annotations

from typing import Any

import pytest

from engine.runtime import fact_json
from rules.case import Case, SafetyCheckRequest
from rules.checker import Checker
from tests.archetypes import build


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (build("adult_oral", order={"route": None}), ["MISSING_DATA"]),
        (
            build("adult_oral", order={"route": None, "dose": {"value": 60, "unit": "mg"}}),
            ["MISSING_DATA"],
        ),
        (build("adult_oral", patient={"birth_date": None}), ["MISSING_DATA"]),
        (
            build(
                "adult_oral",
                patient={"birth_date": None},
                order={"dose": {"value": 40, "unit": "mg"}},
            ),
            ["DAILY_DOSE_ABOVE_MAXIMUM", "MISSING_DATA"],
        ),
        (
            build(
                "adult_oral",
                patient={"birth_date": None},
                order={"dose": {"value": 30, "unit": "mg"}},
            ),
            ["MISSING_DATA"],
        ),
        # One alert per code: both gaps are listed in one MISSING_DATA alert.
        (
            build("adult_oral", patient={"birth_date": None}, order={"route": None}),
            ["MISSING_DATA"],
        ),
    ],
    ids=[
        "no-route",
        "no-route-with-dose",
        "no-age",
        "no-age-above-every-maximum",
        "no-age-within-adult-maximum",
        "no-age-no-route",
    ],
)
def test_lenient_case_reports_its_gaps(
    checker: Checker, case: dict[str, Any], expected: list[str]
) -> None:
    result = checker.run(Case.model_validate(case))
    assert sorted(a.code for a in result.alerts) == expected


@pytest.mark.parametrize("value", [0.00005, 1e-9, 123456.789, 999999.0])
def test_numbers_json_writes_in_exponent_form_are_evaluated(checker: Checker, value: float) -> None:
    case = build("adult_oral", order={"dose": {"value": value, "unit": "mg"}})
    result = checker.run(SafetyCheckRequest.model_validate(case))
    assert result.outcome in ("critical", "warning", "no_alerts")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (5e-05, "0.00005"),
        (1e16, "10000000000000000"),
        (1.5e-07, "0.00000015"),
        (0.1, "0.1"),
        (2, "2"),
        ({"a": [1e-5, "x\u00e9", None, True]}, '{"a":[0.00001,"x\u00e9",null,true]}'),
    ],
)
def test_fact_json_has_no_exponents(value: Any, text: str) -> None:
    assert fact_json(value) == text
