"""A stop written with a zero dose (tests/scenarios/stop_orders.yaml has the answers): the
zero is accepted on a stop only, and it never becomes an amount that a rule reads."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from rules.case import SafetyCheckRequest
from rules.checker import Checker
from rules.facts import case_facts
from tests.archetypes import build

# Every fact the order's dose would feed: the daily dose, its step, mg/kg, the intrathecal
# step this order makes, a restart, a test step, a first infusion, a red flag. (Steps between
# the regimens of the history, proposed: false, and the test boluses given are history.)
DOSE_FACTS = {
    "daily_dose",
    "dose_step",
    "weight_based_dose",
    "itb_resumed_infusion",
    "itb_test_step",
    "itb_initial_infusion",
    "itb_red_flag",
}

ZERO_STOPS = [
    (
        "oral-mg",
        build(
            "adult_oral",
            order={
                "action": "stop",
                "dose": {"value": 0, "unit": "mg"},
                "previous": {"dose": {"value": 20, "unit": "mg"}, "frequency_per_day": 3},
            },
        ),
    ),
    ("oral-ug", build("adult_oral", order={"action": "stop", "dose": {"value": 0, "unit": "ug"}})),
    ("child", build("child_7y_20kg", order={"action": "stop", "dose": {"value": 0, "unit": "mg"}})),
    (
        "intrathecal-ug",
        build(
            "adult_itb_maintenance", order={"action": "stop", "dose": {"value": 0, "unit": "ug"}}
        ),
    ),
    (
        "intrathecal-mg",
        build("adult_itb_titration", order={"action": "stop", "dose": {"value": 0, "unit": "mg"}}),
    ),
]


@pytest.mark.parametrize("body", [b for _, b in ZERO_STOPS], ids=[i for i, _ in ZERO_STOPS])
def test_the_zero_of_a_stop_is_no_dose_fact(checker: Checker, body: dict[str, Any]) -> None:
    case = SafetyCheckRequest.model_validate(body)
    order = next(f for f in case_facts(case) if f["kind"] == "order")
    assert "dose_value" not in order and "dose_unit" not in order
    derived = [d for t in checker.run(case).trace for d in t.derived]
    assert not {d["kind"] for d in derived} & DOSE_FACTS
    assert not [d for d in derived if d["kind"] == "itb_step" and d["proposed"]]


@pytest.mark.parametrize("body", [b for _, b in ZERO_STOPS], ids=[i for i, _ in ZERO_STOPS])
def test_the_same_stop_without_its_zero_answers_the_same(
    checker: Checker, body: dict[str, Any]
) -> None:
    """The pair: a zero-dose stop is a stop with no dose written, alert for alert."""
    without = {**body, "order": {k: v for k, v in body["order"].items() if k != "dose"}}
    with_zero = checker.run(SafetyCheckRequest.model_validate(body)).alerts
    no_dose = checker.run(SafetyCheckRequest.model_validate(without)).alerts
    assert [(a.code, a.message) for a in with_zero] == [(a.code, a.message) for a in no_dose]
    assert with_zero


@pytest.mark.parametrize("action", ["start", "change", "continue"])
def test_a_zero_dose_elsewhere_says_why(action: str) -> None:
    body = build("adult_oral", order={"action": action, "dose": {"value": 0, "unit": "mg"}})
    with pytest.raises(ValidationError) as caught:
        SafetyCheckRequest.model_validate(body)
    (error,) = caught.value.errors()
    assert error["loc"] == ("order", "dose")
    assert "accepted on a stop only" in error["msg"]
