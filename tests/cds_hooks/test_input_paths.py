"""Inputs that once ended in a silent pass on CDS Hooks (issue 12), one table per path,
boundaries in pairs: duplicate JSON keys, stop orders written with a zero dose or rate, and
long medication and problem lists."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.cds_hooks.fhir import (
    INTRATHECAL,
    TABLET_20,
    crcl,
    full_prefetch,
    hook_request,
    med_request,
    quantity,
    weight,
)
from tests.cds_hooks.golden_cases import (
    ACTIVE_SINCE,
    ADULT,
    adult_epilepsy,
    child_tablet_below_33_kg,
)

SIGN = "/cds-services/baclofen-order-sign"
FEEDBACK = "/cds-services/baclofen-order-sign/feedback"
JSON = {"content-type": "application/json"}


def codes(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return sorted(c["source"]["topic"]["code"] for c in response.json()["cards"])


# ---- duplicate keys: 400 naming the key path, never "last wins" ------------------------------

def dumps_repeating(value: Any, path: tuple[Any, ...], first: Any, here: tuple[Any, ...] = ()
                    ) -> str:
    """JSON text of `value` in which the key at `path` is written twice: first with `first`,
    then with its own value (the one a "last wins" parser would keep)."""
    if isinstance(value, dict):
        items = []
        for key, item in value.items():
            if (*here, key) == path:
                items.append(f"{json.dumps(key)}: {json.dumps(first)}")
            items.append(f"{json.dumps(key)}: {dumps_repeating(item, path, first, (*here, key))}")
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(dumps_repeating(v, path, first, (*here, n))
                               for n, v in enumerate(value)) + "]"
    return json.dumps(value)


DRAFT = ("context", "draftOrders", "entry", 0, "resource")
DOSE = (*DRAFT, "dosageInstruction", 0, "doseAndRate", 0, "doseQuantity")
# The child of 20 kg on Lioresal 10 mg tablets (golden: TABLET_BELOW_33_KG).
CHILD = child_tablet_below_33_kg()
WEIGHT = ("prefetch", "weight", "entry", 0, "resource", "valueQuantity", "value")

DUPLICATES = [
    ("dose-value", (*DOSE, "value"), 0.1,
     "context.draftOrders.entry[0].resource.dosageInstruction[0].doseAndRate[0]"
     ".doseQuantity.value"),
    ("weight-value", WEIGHT, 40, "prefetch.weight.entry[0].resource.valueQuantity.value"),
    ("medication-code", (*DRAFT, "medicationCodeableConcept", "coding", 0, "code"), "1292",
     "context.draftOrders.entry[0].resource.medicationCodeableConcept.coding[0].code"),
    ("draft-status", (*DRAFT, "status"), "stopped",
     "context.draftOrders.entry[0].resource.status"),
    ("hook", ("hook",), "order-sign", "hook"),
]


@pytest.mark.parametrize(("path", "first", "expression"), [d[1:] for d in DUPLICATES],
                         ids=[d[0] for d in DUPLICATES])
def test_a_repeated_key_is_a_400_naming_its_path(cds: TestClient, path: tuple[Any, ...],
                                                 first: Any, expression: str) -> None:
    response = cds.post(SIGN, content=dumps_repeating(CHILD, path, first), headers=JSON)
    assert response.status_code == 400, response.text
    (issue,) = response.json()["issue"]
    assert issue["code"] == "structure" and issue["expression"] == [expression]
    assert f"{expression} appears 2 times" in issue["diagnostics"]


def test_the_same_request_without_the_repeat_is_answered(cds: TestClient) -> None:
    """The pair of the rows above: the body written once each is the golden case."""
    assert codes(cds.post(SIGN, content=json.dumps(CHILD), headers=JSON)) == [
        "TABLET_BELOW_33_KG"]


def test_the_same_key_in_two_objects_is_no_repeat(cds: TestClient) -> None:
    """`value` in the dose and in the weight, `code` in every coding: no object repeats one."""
    text = json.dumps(CHILD)
    assert text.count('"value"') > 2 and text.count('"code"') > 2
    assert codes(cds.post(SIGN, content=text, headers=JSON)) == ["TABLET_BELOW_33_KG"]


def test_every_repeated_key_is_named(cds: TestClient) -> None:
    text = dumps_repeating(adult_epilepsy(), ("hookInstance",), "x")
    text = text.replace('"patientId": ', '"patientId": "pat-2", "patientId": ', 1)
    (issue,) = cds.post(SIGN, content=text, headers=JSON).json()["issue"]
    assert issue["expression"] == ["hookInstance", "context.patientId"]


@pytest.mark.parametrize(("text", "status"), [
    ('{"feedback": [{"card": "4e0a3a1e-3283-4575-ab82-028d55fe2719", "outcome": "accepted", '
     '"outcome": "overridden", "outcomeTimestamp": "2021-12-11T10:05:31Z"}]}', 400),
    ('{"feedback": [{"card": "4e0a3a1e-3283-4575-ab82-028d55fe2719", "outcome": "overridden", '
     '"outcomeTimestamp": "2021-12-11T10:05:31Z"}]}', 200),
], ids=["outcome-twice", "outcome-once"])
def test_feedback_with_a_repeated_key_is_refused(cds: TestClient, text: str,
                                                 status: int) -> None:
    response = cds.post(FEEDBACK, content=text, headers=JSON)
    assert response.status_code == status, response.text
    if status == 400:
        assert response.json()["issue"][0]["expression"] == ["feedback[0].outcome"]


# ---- stop orders written with a zero dose or rate: the taper check, and no "dose unreadable" --
# A stopped MedicationRequest is how FHIR writes an EHR's discontinue order (v2 order status
# DC). Its dose or rate of 0 says "no more": nothing to read, so no note that it could not be.
ORAL_ACTIVE = med_request("rx-old", TABLET_20, quantity(20, "mg"), per_day=3, status="active",
                          authored=ACTIVE_SINCE)
ITB_ACTIVE = med_request("rx-old", INTRATHECAL, quantity(400, "ug"), per_day=1,
                         route="intrathecal", status="active", authored=ACTIVE_SINCE)


def _oral(dose: float, status: str = "stopped") -> dict[str, Any]:
    return med_request("rx-1", TABLET_20, quantity(dose, "mg"), per_day=3, status=status)


def _itb(status: str = "stopped", dose: dict[str, Any] | None = None,
         rate: dict[str, Any] | None = None) -> dict[str, Any]:
    return med_request("rx-1", INTRATHECAL, dose, per_day=1 if dose else None,
                       route="intrathecal", status=status, rate=rate)


def _ratio(numerator: float) -> dict[str, Any]:
    draft = _itb()
    draft["dosageInstruction"][0]["doseAndRate"] = [{"rateRatio": {
        "numerator": {"value": numerator, "unit": "ug", "code": "ug"},
        "denominator": {"value": 1, "unit": "h", "code": "h"}}}]
    return draft


STOPS = [
    ("oral-stopped-dose-0", _oral(0), ORAL_ACTIVE, ["ABRUPT_DISCONTINUATION"]),
    ("oral-stopped-dose-5-mg", _oral(5), ORAL_ACTIVE, ["ABRUPT_DISCONTINUATION"]),
    ("oral-stopped-dose-0-no-active-order", _oral(0), None, ["ABRUPT_DISCONTINUATION"]),
    ("oral-draft-dose-0-is-no-stop", _oral(0, "draft"), ORAL_ACTIVE, ["MISSING_DATA"]),
    ("oral-stopped-dose-minus-5", _oral(-5), ORAL_ACTIVE,
     ["ABRUPT_DISCONTINUATION", "MISSING_DATA"]),
    ("itb-stopped-dose-0-ug", _itb(dose=quantity(0, "ug")), ITB_ACTIVE,
     ["INTRATHECAL_ABRUPT_DISCONTINUATION"]),
    ("itb-stopped-dose-400-ug", _itb(dose=quantity(400, "ug")), ITB_ACTIVE,
     ["INTRATHECAL_ABRUPT_DISCONTINUATION"]),
    ("itb-stopped-rate-0-ug-per-h", _itb(rate=quantity(0, "ug/h")), ITB_ACTIVE,
     ["INTRATHECAL_ABRUPT_DISCONTINUATION"]),
    ("itb-stopped-rate-0-ml-per-h", _itb(rate=quantity(0, "mL/h")), ITB_ACTIVE,
     ["INTRATHECAL_ABRUPT_DISCONTINUATION"]),
    ("itb-stopped-rate-ratio-0", _ratio(0), ITB_ACTIVE, ["INTRATHECAL_ABRUPT_DISCONTINUATION"]),
    ("itb-stopped-rate-ratio-16", _ratio(16), ITB_ACTIVE, ["INTRATHECAL_ABRUPT_DISCONTINUATION"]),
    ("itb-draft-rate-0-is-no-stop", _itb("draft", rate=quantity(0, "ug/h")), ITB_ACTIVE,
     ["MISSING_DATA"]),
]


@pytest.mark.parametrize(("draft", "active", "expected"), [s[1:] for s in STOPS],
                         ids=[s[0] for s in STOPS])
def test_a_stop_with_a_zero_dose_or_rate_gets_the_taper_check(
        cds: TestClient, draft: dict[str, Any], active: dict[str, Any] | None,
        expected: list[str]) -> None:
    request = hook_request("order-sign", [draft], full_prefetch(
        ADULT, medications=[active] if active else [], weights=[weight(80)],
        crcls=[crcl(95)]))
    response = cds.post(SIGN, json=request)
    assert codes(response) == expected
    for card in response.json()["cards"]:
        if card["source"]["topic"]["code"] == "INTRATHECAL_ABRUPT_DISCONTINUATION":
            assert card["indicator"] == "critical"
        if card["source"]["topic"]["code"] == "MISSING_DATA" and "stopped" in draft["status"]:
            assert "0 is not a positive number" not in card["detail"]
