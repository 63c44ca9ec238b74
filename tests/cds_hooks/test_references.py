"""References between orders, however the EHR writes them: relative, absolute, versioned, or
a business identifier (a logical reference). A renewal taken for a second order beside the
one it renews doubled the daily dose, and the card offered to halve a stable regimen."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.cds_hooks.fhir.resources import same_resource
from tests.cds_hooks.ehr import call, topic_codes
from tests.cds_hooks.golden_cases import adult_nothing_wrong

RX_OLD_ID = {"system": "urn:oid:2.16.840.1.113883.3.1.1", "value": "order-4711"}


@pytest.mark.parametrize(
    ("prior", "cards"),
    [
        ({"reference": "MedicationRequest/rx-old"}, []),
        ({"reference": "MedicationRequest/rx-old/_history/2"}, []),
        ({"reference": "https://ehr.example.test/fhir/MedicationRequest/rx-old/_history/2"}, []),
        ({"identifier": RX_OLD_ID}, []),
        # Another order's identifier, or another system's: not this renewal's.
        (
            {"identifier": {**RX_OLD_ID, "value": "order-9"}},
            ["DAILY_DOSE_ABOVE_MAXIMUM", "DUPLICATE_BACLOFEN_ORDER", "TITRATION_TOO_FAST"],
        ),
        (
            {"identifier": {**RX_OLD_ID, "system": "urn:other"}},
            ["DAILY_DOSE_ABOVE_MAXIMUM", "DUPLICATE_BACLOFEN_ORDER", "TITRATION_TOO_FAST"],
        ),
    ],
    ids=["relative", "versioned", "absolute-versioned", "identifier", "other-id", "other-system"],
)
def test_a_renewal_names_the_order_it_renews_however_its_reference_is_written(
    cds: TestClient, prior: dict[str, Any], cards: list[str]
) -> None:
    request = adult_nothing_wrong()
    (draft,) = [e["resource"] for e in request["context"]["draftOrders"]["entry"]]
    draft["priorPrescription"] = prior
    (active,) = [e["resource"] for e in request["prefetch"]["medications"]["entry"]]
    active["identifier"] = [RX_OLD_ID]
    body = call(cds, request).json()
    assert topic_codes(body) == cards


@pytest.mark.parametrize(
    ("reference", "names"),
    [
        ("MedicationRequest/rx-1", True),
        ("MedicationRequest/rx-1/_history/7", True),
        ("https://ehr.example.test/fhir/MedicationRequest/rx-1", True),
        ("MedicationRequest/rx-10", False),
        ("MedicationRequest/xrx-1", False),
        ("https://ehr.example.test/fhir/MedicationRequest/xrx-1", False),
        ("Medication/rx-1", False),
    ],
)
def test_same_resource(reference: str, names: bool) -> None:
    assert same_resource(reference, "MedicationRequest/rx-1") is names
