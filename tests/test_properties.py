"""Property-based tests over the native API: whatever the body, the answer is a completed
check (200) or a 422 whose errors name real fields; never a 5xx, never a 503 for input that
passed validation (valid input must always be checkable).

Bodies are valid cases with one to three mutations (a value replaced by arbitrary JSON
including NaN, Infinity, huge numbers and odd text, a key removed, an unknown key added), plus
arbitrary JSON. PROPERTY_EXAMPLES scales the budget (`make fuzz` raises it).
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.cases import MIX, distinct_case
from rules.case import SafetyCheckRequest

EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES", os.environ.get("FUZZ_EXAMPLES", "150")))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

BASES = [body for body, _ in MIX.values()] + [distinct_case(i)[0] for i in range(16)]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1e-300, 5e-05, 1e16, 1e308, 0.1, 24, 25, 350.0001]),
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            " ",
            "mg",
            "MG",
            "Mcg",
            "µg",
            "oral",
            "intrathecal",
            "2024-02-29",
            "2026-11-22T09:00:00Z",
            "2026-11-22T09:00:00",
            "9999-12-31",
            "NaN",
            "\u0000",
            "\ud7ff",
            "\U0001f9e0",
            "\u202e",
            "x" * 600,
        ]
    ),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def _field_names() -> set[str]:
    """Every property name the request schema knows (the names a 422 may use)."""
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            names.update(node.get("properties", {}))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(SafetyCheckRequest.model_json_schema())
    return names


FIELDS = _field_names()


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for n, item in enumerate(value):
            out += _paths(item, (*prefix, n))
    return out


@st.composite
def mutated_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A valid body with 1-3 mutations."""
    body = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(body)
        if not paths:  # everything was deleted already
            break
        path = draw(st.sampled_from(paths))
        *parents, last = path
        holder: Any = body
        for key in parents:
            holder = holder[key]
        action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if action == "replace":
            holder[last] = draw(json_values)
        elif action == "delete":
            del holder[last]
        elif isinstance(holder, dict):
            key = draw(st.text(min_size=1, max_size=12))
            if key in holder:
                continue
            holder[key] = draw(json_values)
    return body


def _post(client: TestClient, body: Any) -> Any:
    return client.post(
        "/v1/safety-checks",
        content=json.dumps(body, allow_nan=True),
        headers={"content-type": "application/json"},
    )


def _assert_answer(response: Any, known: set[str]) -> None:
    assert response.status_code in (200, 422), (response.status_code, response.text[:500])
    body = response.json()
    if response.status_code == 200:
        assert body["outcome"] in ("critical", "warning", "info", "no_alerts")
        assert isinstance(body["alerts"], list)
        return
    assert body["error"] == "invalid_request"
    assert body["errors"], body
    for error in body["errors"]:
        assert error["problem"], error
        parts = [p for p in error["field"].replace("[", ".[").split(".") if p]
        names = [p for p in parts if not (p.startswith("[") and p.endswith("]"))]
        # "body" for the whole body; otherwise real field names, or an unknown key that was
        # sent (which may itself look like an index or contain dots: it is named verbatim).
        if not (names and all(n in FIELDS or n == "body" for n in names)):
            assert any(key and key in error["field"] for key in known), (error, known)


@SETTINGS
@given(mutated_bodies())
def test_mutated_valid_body_is_checked_or_rejected_naming_fields(
    client: TestClient, body: dict[str, Any]
) -> None:
    _assert_answer(_post(client, body), {str(p[-1]) for p in _paths(body)})


@SETTINGS
@given(json_values)
def test_arbitrary_json_is_rejected_naming_fields(client: TestClient, value: Any) -> None:
    sent = {str(p[-1]) for p in _paths(value)}  # every key sent may be named as unknown
    _assert_answer(_post(client, value), sent)


@SETTINGS
@given(mutated_bodies())
def test_models_validate_or_raise_validation_error_only(body: dict[str, Any]) -> None:
    """Below HTTP: model_validate either returns or raises pydantic's ValidationError (which
    the API maps to 422); any other exception would be a 500."""
    from pydantic import ValidationError

    try:
        SafetyCheckRequest.model_validate_json(json.dumps(body, allow_nan=True))
    except ValidationError:
        pass
