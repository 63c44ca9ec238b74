"""Whatever JSON an EHR puts where FHIR expects something else, the service answers 200 with
valid cards or a 4xx naming the problem: never a 500, never an invalid card."""

from __future__ import annotations

import copy
import json
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from api.cds_hooks.models import CdsResponse
from tests.cds_hooks.golden_cases import child_under_8_above_maximum_and_range

BASE = child_under_8_above_maximum_and_range()  # an order-select with every prefetch key

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "mg",
            "ug",
            "{pill}",
            "mL",
            "tablet",
            "d",
            "h",
            "BID",
            "1292",
            "2019-05-01",
            "2026-11-22T09:30:00+01:00",
            "#m",
            "Medication/x",
        ]
    ),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "value",
                    "unit",
                    "code",
                    "system",
                    "text",
                    "coding",
                    "display",
                    "reference",
                    "repeat",
                    "frequency",
                    "period",
                    "periodUnit",
                    "doseQuantity",
                    "entry",
                    "resource",
                    "resourceType",
                    "birthDate",
                    "valueQuantity",
                    "numerator",
                    "denominator",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)

DRAFT = ("context", "draftOrders", "entry", 0, "resource")
DOSAGE = (*DRAFT, "dosageInstruction", 0)
PATHS = [
    (*DRAFT, "medicationCodeableConcept"),
    (*DRAFT, "medicationReference"),
    (*DRAFT, "dosageInstruction"),
    (*DRAFT, "authoredOn"),
    (*DRAFT, "status"),
    (*DRAFT, "subject"),
    (*DRAFT, "contained"),
    (*DRAFT, "priorPrescription"),
    (*DRAFT, "id"),
    (*DOSAGE, "timing"),
    (*DOSAGE, "route"),
    (*DOSAGE, "doseAndRate"),
    (*DOSAGE, "sequence"),
    (*DOSAGE, "doseAndRate", 0, "doseQuantity"),
    (*DOSAGE, "doseAndRate", 0, "doseQuantity", "value"),
    (*DOSAGE, "timing", "repeat", "period"),
    ("prefetch", "patient"),
    ("prefetch", "weight"),
    ("prefetch", "medications"),
    ("prefetch", "conditions"),
    ("prefetch", "egfr"),
    ("prefetch", "pregnancy"),
    ("prefetch", "patient", "birthDate"),
    ("context", "patientId"),
    ("context", "draftOrders", "entry"),
    ("prefetch",),
]


def _set(request: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    node: Any = request
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


@settings(max_examples=300, deadline=None)
@given(changes=st.lists(st.tuples(st.sampled_from(PATHS), json_values), min_size=1, max_size=3))
def test_any_json_in_fhir_places_is_answered(
    cds: TestClient, changes: list[tuple[tuple[Any, ...], Any]]
) -> None:
    request = copy.deepcopy(BASE)
    for path, value in changes:
        try:
            _set(request, path, value)
        except (KeyError, IndexError, TypeError):
            pass  # an earlier change replaced the parent
    # NaN and Infinity are written as Python writes them: not JSON, so a 400 is right.
    response = cds.post(
        f"/cds-services/baclofen-{request['hook']}",
        content=json.dumps(request),
        headers={"content-type": "application/json"},
    )
    assert response.status_code in (200, 400, 412), response.text
    body = response.json()
    if response.status_code == 200:
        CdsResponse.model_validate(body)
    else:
        assert body["resourceType"] == "OperationOutcome"
