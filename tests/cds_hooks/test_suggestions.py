"""Suggestions a clinician can accept: every corrected order a card offers is a valid R4
MedicationRequest (validated with fhir.resources' R4B classes, whose MedicationRequest is R4's),
says one dose in every place it states one, and, once accepted, answers its card.

The property: for every request of the CDS Hooks tables (the golden requests, the order shapes
as EHRs send them, the policy rows and the sandbox's request), accept each suggestion (replace
the draft with the corrected order, or remove it) and check again: the code of the card whose
suggestion was accepted is gone, and no warning or critical alert appears that was not there.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.medicationrequest import MedicationRequest

from tests.cds_hooks.ehr import call, example
from tests.cds_hooks.golden_cases import CASES
from tests.cds_hooks.test_order_shapes import CHILD_35_KG
from tests.cds_hooks.test_order_shapes import ROWS as SHAPES
from tests.cds_hooks.test_policy import ROWS as POLICY

REQUESTS: list[tuple[str, Callable[[], dict[str, Any]]]] = [
    *((f"golden:{name}", build) for name, (build, _) in sorted(CASES.items())),
    *((f"shape:{name}", build) for name, build, _ in SHAPES),
    *((f"policy:{name}", build) for name, build, _ in POLICY),
    (
        "sandbox",
        lambda: example("sandbox/SYNTHESIZED-sandbox-shaped-order-sign-baclofen.json"),
    ),
]
SERIOUS = ("warning", "critical")


def _suggested(body: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for card in body["cards"]:
        for suggestion in card.get("suggestions", []):
            for action in suggestion["actions"]:
                yield card, action


def _serious(body: dict[str, Any]) -> set[tuple[str, str]]:
    """(order, code) of every warning and critical card."""
    return {
        (c["summary"].split(":")[0], c["source"]["topic"]["code"])
        for c in body["cards"]
        if c["indicator"] in SERIOUS
    }


def _accept(request: dict[str, Any], action: dict[str, Any]) -> dict[str, Any] | None:
    """The request again with the suggestion accepted; None when no order is left to sign."""
    again = copy.deepcopy(request)
    bundle = again["context"]["draftOrders"]
    entries = bundle.get("entry") or []
    if action["type"] == "delete":
        kind, rid = action["resourceId"].split("/")
        entries = [
            e
            for e in entries
            if not (e["resource"]["resourceType"] == kind and e["resource"].get("id") == rid)
        ]
    else:
        resource = action["resource"]
        entries = [
            {**e, "resource": resource}
            if e["resource"].get("id") == resource["id"]
            and e["resource"]["resourceType"] == resource["resourceType"]
            else e
            for e in entries
        ]
    if not entries:
        return None
    bundle["entry"] = entries
    return again


@pytest.mark.parametrize("build", [b for _, b in REQUESTS], ids=[n for n, _ in REQUESTS])
def test_accepting_a_suggestion_answers_its_card(
    cds: TestClient, build: Callable[[], dict[str, Any]]
) -> None:
    request = build()
    body = call(cds, request).json()
    before = _serious(body)
    for card, action in _suggested(body):
        if action["type"] == "update":
            MedicationRequest.model_validate(action["resource"])  # a valid R4 resource
        again = _accept(request, action)
        if again is None:
            continue  # the only order was removed: nothing is left to check
        after = call(cds, again).json()
        codes = {c["source"]["topic"]["code"] for c in after["cards"]}
        assert card["source"]["topic"]["code"] not in codes, after["cards"]
        assert _serious(after) <= before, sorted(_serious(after) - before)


def test_the_table_offers_corrected_orders_and_removals(cds: TestClient) -> None:
    """The property is not vacuous: the tables hold many corrected orders, every kind of entry
    among them, and removals."""
    kinds: dict[str, int] = {}
    for _, build in REQUESTS:
        for _, action in _suggested(call(cds, build()).json()):
            kinds[action["type"]] = kinds.get(action["type"], 0) + 1
    assert kinds.get("update", 0) >= 20 and kinds.get("delete", 0) >= 3, kinds


def _quantities(resource: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        e["doseQuantity"]
        for d in resource["dosageInstruction"]
        for e in d.get("doseAndRate", [])
        if "doseQuantity" in e
    ]


def test_every_dose_entry_of_an_epic_order_says_the_new_dose(cds: TestClient) -> None:
    """Epic's three entries (calculated mg, admin-amount tablets, ordered mg/kg) all say the
    corrected dose: 20 mg, 2 tablets of 10 mg, and the mg/kg entry in mg; the text and the
    patient instruction too; a maximum a day below the old schedule, which would now allow
    more than the corrected one, goes."""
    from tests.cds_hooks.ehr_shapes import (
        EPIC_DOSE_TYPE,
        TABLET_10,
        continuing,
        mg,
        order,
        repeat,
        tablets,
        typed,
    )

    entries = [
        typed("calculated", mg(25), system=EPIC_DOSE_TYPE),
        typed("admin-amount", tablets(2.5), system=EPIC_DOSE_TYPE),
        typed(
            "ordered",
            {"value": 0.7142857, "unit": "mg/kg", "system": "http://unitsofmeasure.org"},
            system=EPIC_DOSE_TYPE,
        ),
    ]
    draft = order(
        "rx-1",
        TABLET_10,
        entries,
        repeat(3),
        text="25 mg (2.5 tablets) by mouth three times a day",
        patientInstruction="Take 2.5 tablets three times a day",
        maxDosePerPeriod={
            "numerator": mg(70),
            "denominator": {"value": 1, "unit": "d", "system": "http://unitsofmeasure.org"},
        },
    )
    body = call(cds, continuing(draft, CHILD_35_KG, kg=35)).json()
    (maximum,) = [
        c for c in body["cards"] if c["source"]["topic"]["code"] == "DAILY_DOSE_ABOVE_MAXIMUM"
    ]
    (action,) = maximum["suggestions"][0]["actions"]
    fixed = action["resource"]
    MedicationRequest.model_validate(fixed)
    assert [(q["value"], q["unit"]) for q in _quantities(fixed)] == [
        (20, "mg"),
        (2, "tablet"),
        (20, "mg"),
    ]
    dosage = fixed["dosageInstruction"][0]
    assert dosage["text"] == "Baclofen 20 mg 3 times a day (60 mg/day)"
    assert dosage["patientInstruction"] == dosage["text"]
    assert "maxDosePerPeriod" not in dosage  # 70 mg a day: it would now allow more
    assert (
        dosage["timing"]["repeat"]["boundsPeriod"]
        == draft["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"]
    )


def test_a_changed_number_of_doses_rewrites_the_timing_and_keeps_its_bounds(
    cds: TestClient,
) -> None:
    """A child on 80 mg once a day at bedtime (Oracle's code): 4 doses a day of 15 mg; the
    timing code that said "At Bedtime" goes, the start of the order stays."""
    from tests.cds_hooks.ehr_shapes import (
        TABLET_20,
        continuing,
        mg,
        oracle_timing,
        order,
        typed,
    )

    draft = order("rx-1", TABLET_20, [typed(None, mg(80))], oracle_timing("696576", "At Bedtime"))
    body = call(cds, continuing(draft, CHILD_35_KG, kg=45)).json()
    fixes = [a["resource"] for _, a in _suggested(body) if a["type"] == "update"]
    assert fixes
    timing = fixes[0]["dosageInstruction"][0]["timing"]
    assert timing == {
        "repeat": {
            "boundsPeriod": {"start": "2026-11-22T09:00:00.000-05:00"},
            "frequency": 4,
            "period": 1,
            "periodUnit": "d",
        }
    }


def test_an_stu3_dose_is_returned_in_r4s_dose_and_rate(cds: TestClient) -> None:
    from tests.cds_hooks.ehr_shapes import TABLET_20, continuing, mg, order, repeat

    draft = order("rx-1", TABLET_20, None, repeat(4), doseQuantity=mg(40))
    body = call(cds, continuing(draft)).json()
    (action,) = [a for _, a in _suggested(body)]
    fixed = action["resource"]
    MedicationRequest.model_validate(fixed)
    dosage = fixed["dosageInstruction"][0]
    assert "doseQuantity" not in dosage
    assert _quantities(fixed) == [
        {"value": 20, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}
    ]
