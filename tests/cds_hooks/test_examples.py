"""The real example payloads (CDS Hooks 2.0.1 and 3.0 ballot specification, HL7 hooks library,
Inferno CRD test kit, CDS Hooks sandbox), sent as they are and with their medication swapped
for baclofen: their quirks (STU3 doseQuantity, doseAndRate as an object, Bundles without
`type`, `category` as an object, medicationReference, missing patientId) must not matter."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.cds_hooks.ehr import call, example, topic_codes

NON_BACLOFEN_REQUESTS = [
    "inferno-crd-test-kit/order_sign_hook_request.json",
    "inferno-crd-test-kit/order_select_hook_request.json",
    "spec-3.0.0-ballot/order-sign-request-paginated-prefetch.json",
]
NON_BACLOFEN_CONTEXTS = [
    "hooks-library/order-sign-context-R4-labelled.json",
    "hooks-library/order-sign-context-STU3-labelled.json",
    "hooks-library/order-select-context-R4-labelled.json",
    "hooks-library/order-select-context-STU3-labelled.json",
    "spec-3.0.0-ballot/order-sign-context-two-medicationrequests.json",
    "spec-2.0.1/context-draftOrders-with-medicationRequestId.json",
]


def wrap(context_file: str) -> dict[str, Any]:
    context = example(context_file)["context"]
    hook = "order-select" if "selections" in context else "order-sign"
    return {
        "hook": hook,
        "hookInstance": "5f2b8e4e-0c5e-4d8e-9a39-3b1c4b7f9d10",
        "context": context,
    }


@pytest.mark.parametrize("name", NON_BACLOFEN_REQUESTS)
def test_full_requests_without_baclofen_get_no_cards_and_cost_no_fetch(
    cds: TestClient, name: str
) -> None:
    # Two of them carry fhirServer and fhirAuthorization: the no-network transport would fail
    # the call if the service fetched patient data for orders it has nothing to say about.
    response = call(cds, example(name))
    assert response.status_code == 200, response.text
    assert response.json() == {"cards": []}


@pytest.mark.parametrize("name", NON_BACLOFEN_CONTEXTS)
def test_contexts_without_baclofen_get_no_cards(cds: TestClient, name: str) -> None:
    response = call(cds, wrap(name))
    assert response.status_code == 200, response.text
    assert response.json() == {"cards": []}


def test_sandbox_shaped_baclofen_order_sign(cds: TestClient) -> None:
    request = example("sandbox/SYNTHESIZED-sandbox-shaped-order-sign-baclofen.json")
    body = call(cds, request).json()
    # Born 1925-12-23, ordered 2026-01-15: 100 years old. 1 {pill} of "Baclofen 10 MG Oral
    # Tablet [Lioresal]" three times a day = 30 mg/day. Only the patient was prefetched and
    # there is no fhirAuthorization: conditions, medications and renal function are said to be
    # missing, and without the medication list the order counts as a start. At 100, a start
    # above 10 mg/day also gets the elderly info (004), after the warning.
    assert topic_codes(body) == [
        "ELDERLY_DOSE_ABOVE_RECOMMENDED",
        "MISSING_DATA",
        "STARTING_DOSE_ABOVE_RECOMMENDED",
    ]
    start, elderly, gap = body["cards"]
    assert (start["indicator"], elderly["indicator"]) == ("warning", "info")
    assert "suggestions" not in elderly, "an info never offers a corrected dose"
    assert start["summary"].startswith(
        "Baclofen 10 MG Oral Tablet [Lioresal]: Starting dose 30 mg/day"
    )
    action = start["suggestions"][0]["actions"][0]
    assert action["type"] == "update"
    assert action["resource"]["id"] == "request-123"
    assert action["resource"]["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"] == {
        "value": 0.5,
        "system": "http://unitsofmeasure.org",
        "code": "{pill}",
    }
    sent = request["context"]["draftOrders"]["entry"][0]["resource"]
    assert isinstance(sent["category"], dict)
    assert "category" not in action["resource"], "an element that is not R4 is not echoed"
    assert {k: action["resource"][k] for k in ("subject", "intent", "authoredOn")} == {
        k: sent[k] for k in ("subject", "intent", "authoredOn")
    }, "the rest of the order is returned untouched"
    for missing in (
        "problem list",
        "active medications",
        "renal function",
        "checked as a new course",
    ):
        assert missing in gap["detail"]


def _swap(resource: dict[str, Any], medication: dict[str, Any]) -> None:
    resource.pop("medicationReference", None)
    resource["medicationCodeableConcept"] = medication


BACLOFEN_SOLUTION = {
    "coding": [
        {
            "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
            "code": "1292",
            "display": "baclofen",
        }
    ],
    "text": "Baclofen 5 MG/5ML Oral Solution",
}


def _medication_requests(request: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        e["resource"]
        for e in request["context"]["draftOrders"]["entry"]
        if e["resource"]["resourceType"] == "MedicationRequest"
    ]


@pytest.mark.parametrize(
    "name",
    [
        "hooks-library/order-sign-context-R4-labelled.json",
        "hooks-library/order-sign-context-STU3-labelled.json",
        "hooks-library/order-select-context-R4-labelled.json",
        "hooks-library/order-select-context-STU3-labelled.json",
    ],
)
def test_hooks_library_orders_as_baclofen(cds: TestClient, name: str) -> None:
    request = wrap(name)
    for resource in _medication_requests(request):
        _swap(resource, copy.deepcopy(BACLOFEN_SOLUTION))
    request["prefetch"] = {
        "patient": {"resourceType": "Patient", "id": "1288992", "birthDate": "1990-05-05"},
        "conditions": None,
        "medications": None,
        "weight": None,
        "crcl": None,
        "egfr": None,
        "pregnancy": None,
    }
    body = call(cds, request).json()
    # "5 mL bid" of 5 mg/5 mL, STU3 or R4 shaped: 5 mg twice a day, an adult start of
    # 10 mg/day. Nothing is missing: every key came, null meaning "no data".
    assert body == {"cards": []}


def test_order_select_evaluates_only_the_selected_orders(cds: TestClient) -> None:
    request = wrap("hooks-library/order-select-context-R4-labelled.json")
    (medication_request,) = _medication_requests(request)
    _swap(medication_request, {"text": "Baclofen 20 MG Oral Tablet"})
    dosage = medication_request["dosageInstruction"][0]
    holder = dosage["doseAndRate"] if "doseAndRate" in dosage else dosage  # R4 or STU3 shape
    (holder[0] if isinstance(holder, list) else holder)["doseQuantity"] = {
        "value": 4,
        "unit": "tablet",
        "system": "http://unitsofmeasure.org",
        "code": "{tbl}",
    }
    request["prefetch"] = {"patient": {"resourceType": "Patient", "birthDate": "1970-01-01"}}
    selected = call(cds, request).json()
    # 4 x 20 mg twice a day = 160 mg/day: above the adult maximum (and the start).
    assert topic_codes(selected) == [
        "DAILY_DOSE_ABOVE_MAXIMUM",
        "MISSING_DATA",
        "STARTING_DOSE_ABOVE_RECOMMENDED",
    ]
    request["context"]["selections"] = ["NutritionOrder/pureeddiet-simple"]
    assert call(cds, request).json() == {"cards": []}


def test_epic_style_medication_reference_display_is_read(cds: TestClient) -> None:
    request = wrap("spec-3.0.0-ballot/order-sign-context-two-medicationrequests.json")
    first = _medication_requests(request)[0]
    first["medicationReference"]["display"] = "BACLOFEN 10 MG PO TABS"
    first["dosageInstruction"] = [
        {
            "timing": {"code": {"text": "TID"}},
            "doseAndRate": [{"doseQuantity": {"value": 2, "unit": "tablet"}}],
        }
    ]
    request["prefetch"] = {
        "patient": {"resourceType": "Patient", "birthDate": "2019-03-01"},
        "weight": {
            "resourceType": "Bundle",
            "entry": [
                {
                    "resource": {
                        "resourceType": "Observation",
                        "status": "final",
                        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
                        "effectiveDateTime": "2026-01-02",
                        "valueQuantity": {"value": 19, "unit": "kg"},
                    }
                }
            ],
        },
        "conditions": None,
        "medications": None,
        "crcl": None,
        "egfr": None,
        "pregnancy": None,
    }
    body = call(cds, request).json()
    # A child (born 2019) of 19 kg: tablets below 33 kg; 2 x 10 mg three times a day is
    # 60 mg/day, above the under-8 or 8-17 maximum and above 2 mg/kg/day; as a start, above
    # 0.3 mg/kg/day. The mercaptopurine order gets no card.
    codes = topic_codes(body)
    assert codes == [
        "DAILY_DOSE_ABOVE_MAXIMUM",
        "STARTING_DOSE_ABOVE_RECOMMENDED",
        "TABLET_BELOW_33_KG",
        "WEIGHT_BASED_DOSE_ABOVE_RANGE",
    ]
    assert all(c["summary"].startswith("BACLOFEN 10 MG PO TABS: ") for c in body["cards"])
