"""Prefetched data of another patient than the call's (`context.patientId`) is never checked as
this patient's: an EHR that prefetched the wrong record, or merged two, must not have another
patient's epilepsy, weight or birth date decide this order's cards. What is set aside is said on
the missing-data card; a resource that names no patient is kept."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.cds_hooks.prefetch import Prefetched, keep_own
from tests.cds_hooks.ehr import call, topic_codes
from tests.cds_hooks.fhir import condition, patient, searchset, weight
from tests.cds_hooks.golden_cases import adult_epilepsy, child_tablet_below_33_kg

SEIZURES = "SEIZURE_DISORDER_CONTRAINDICATION"


def _subject(resource: dict[str, Any], reference: str | None) -> dict[str, Any]:
    out = copy.deepcopy(resource)
    if reference is None:
        out.pop("subject", None)
    else:
        out["subject"] = {"reference": reference}
    return out


OWN = weight(20, pid="pat-2")


@pytest.mark.parametrize(
    ("value", "kept", "set_aside"),
    [
        (patient("pat-2"), True, []),
        (patient("someone-else"), False, ["Patient"]),
        ({**patient("x"), "id": None}, True, []),
        (searchset(OWN), True, []),
        (searchset(_subject(OWN, "https://ehr.example.test/fhir/Patient/pat-2")), True, []),
        (searchset(_subject(OWN, "Patient/pat-3")), False, ["Observation/obs-29463-7"]),
        (
            searchset(_subject(OWN, "https://other.test/fhir/Patient/pat-3/_history/2")),
            False,
            ["Observation/obs-29463-7"],
        ),
        (searchset(_subject(OWN, "Patient/pat-2/_history/5")), True, []),
        (searchset(_subject(OWN, "Group/ward-4")), True, []),
        (searchset(_subject(OWN, None)), True, []),
        (searchset(condition("G40.909", "Epilepsy", pid="pat-7")), False, ["Condition/cond-1"]),
    ],
    ids=[
        "patient-of-the-call",
        "patient-of-another",
        "patient-without-id",
        "observation-of-the-call",
        "absolute-reference-of-the-call",
        "observation-of-another",
        "versioned-reference-of-another",
        "versioned-reference-of-the-call",
        "group-subject",
        "no-subject",
        "condition-of-another",
    ],
)
def test_what_names_another_patient_is_set_aside(
    value: dict[str, Any], kept: bool, set_aside: list[str]
) -> None:
    out = Prefetched(data={"key": copy.deepcopy(value)})
    keep_own(out, "pat-2")
    if kept:
        assert out.data["key"] == value
    elif value["resourceType"] == "Bundle":
        assert out.data["key"] == {**value, "entry": []}
    else:
        assert out.data["key"] is None
    assert out.foreign == ({"key": set_aside} if set_aside else {})


def test_without_a_patient_in_the_call_nothing_is_set_aside() -> None:
    value = searchset(_subject(OWN, "Patient/pat-3"))
    out = Prefetched(data={"key": copy.deepcopy(value)})
    keep_own(out, None)
    assert out.data["key"] == value and out.foreign == {}


def test_another_patients_epilepsy_does_not_contraindicate_and_is_said(cds: TestClient) -> None:
    request = adult_epilepsy()
    assert SEIZURES in topic_codes(call(cds, request).json())
    (entry,) = request["prefetch"]["conditions"]["entry"]
    entry["resource"]["subject"] = {"reference": "Patient/pat-7"}
    body = call(cds, request).json()
    assert SEIZURES not in topic_codes(body)
    (card,) = [c for c in body["cards"] if c["source"]["topic"]["code"] == "MISSING_DATA"]
    assert (
        "Not used: Condition/cond-1 in 'conditions', of another patient than the one in the "
        "call's context" in card["detail"]
    )


def test_another_patients_record_gives_no_age_and_no_weight(cds: TestClient) -> None:
    request = child_tablet_below_33_kg()
    request["prefetch"]["patient"]["id"] = "pat-7"
    (entry,) = request["prefetch"]["weight"]["entry"]
    entry["resource"]["subject"] = {"reference": "Patient/pat-7"}
    body = call(cds, request).json()
    assert topic_codes(body) == ["MISSING_DATA"]
    (card,) = body["cards"]
    assert "Not used: Patient in 'patient'" in card["detail"]
    assert "Not used: Observation/" in card["detail"] and "in 'weight'" in card["detail"]
    assert "pat-7" not in card["detail"]


def _draft_for(request: dict[str, Any], reference: str) -> dict[str, Any]:
    out = copy.deepcopy(request)
    out["context"]["draftOrders"]["entry"][0]["resource"]["subject"] = {"reference": reference}
    return out


@pytest.mark.parametrize(
    "reference",
    ["Patient/pat-7", "https://ehr.example.test/fhir/Patient/pat-7", "Patient/pat-7/_history/2"],
)
def test_a_baclofen_order_for_another_patient_is_refused(cds: TestClient, reference: str) -> None:
    # Checked anyway, it would be judged on pat-1's epilepsy, age and weight.
    response = call(cds, _draft_for(adult_epilepsy(), reference))
    assert response.status_code == 400, response.text
    (issue,) = response.json()["issue"]
    field = "context.draftOrders.entry.0.resource.subject"
    assert issue["expression"] == [field]
    assert issue["diagnostics"].startswith(
        f"{field}: the baclofen order names another patient than context.patientId"
    )
    assert "pat-7" not in response.text and "pat-1" not in response.text


def test_an_order_that_names_the_calls_patient_or_none_is_checked(cds: TestClient) -> None:
    request = adult_epilepsy()
    for reference in ("Patient/pat-1", "https://ehr.example.test/fhir/Patient/pat-1"):
        body = call(cds, _draft_for(request, reference)).json()
        assert SEIZURES in topic_codes(body)
    unnamed = copy.deepcopy(request)
    unnamed["context"]["draftOrders"]["entry"][0]["resource"].pop("subject")
    assert SEIZURES in topic_codes(call(cds, unnamed).json())


def test_without_patient_id_the_orders_patient_is_the_calls(cds: TestClient) -> None:
    # The specification's own context examples leave patientId out: the first order's
    # subject stands in, and another patient's data is still set aside.
    request = adult_epilepsy()
    del request["context"]["patientId"]
    assert SEIZURES in topic_codes(call(cds, request).json())
    (entry,) = request["prefetch"]["conditions"]["entry"]
    entry["resource"]["subject"] = {"reference": "Patient/pat-7"}
    body = call(cds, request).json()
    assert SEIZURES not in topic_codes(body)
    assert "MISSING_DATA" in topic_codes(body)
