"""The native API contract: response shape, explain trace, catalogue, and 422s naming the field."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.archetypes import build, merge

EXAMPLE = build(
    "child_8y_35kg",
    patient={
        "weight_kg": 28.5,
        "conditions": [
            {
                "system": "http://hl7.org/fhir/sid/icd-10-cm",
                "code": "G40.909",
                "display": "Epilepsy",
            }
        ],
        "medications": [
            {
                "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                "code": "7052",
                "display": "morphine",
            }
        ],
    },
)


def post(client: TestClient, body: Any, query: str = "") -> Any:
    return client.post(
        f"/v1/safety-checks{query}",
        content=json.dumps(body),
        headers={"content-type": "application/json"},
    )


def test_response_shape(client: TestClient) -> None:
    r = post(client, EXAMPLE)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"check_id", "ruleset_version", "outcome", "alerts"}
    assert body["outcome"] == "critical"
    codes = [a["code"] for a in body["alerts"]]
    assert codes == [
        "TABLET_BELOW_33_KG",
        "SEIZURE_DISORDER_CONTRAINDICATION",
        "CNS_DEPRESSANT_COMEDICATION",
    ]
    for alert in body["alerts"]:
        assert set(alert) == {"code", "severity", "message", "suggestion", "evidence", "source"}
        assert alert["message"] and alert["suggestion"]
        assert alert["source"]["document"].endswith(".txt") and alert["source"]["excerpt"]
    tablet = body["alerts"][0]
    assert tablet["evidence"] == {
        "weight_kg": 28.5,
        "age_years": 8,
        "form": "tablet",
        "min_weight_kg": 33,
    }


def test_no_alerts_is_explicit(client: TestClient) -> None:
    body = post(client, build("adult_oral")).json()
    assert body["outcome"] == "no_alerts" and body["alerts"] == []


def test_explain_adds_the_trace_in_firing_order(client: TestClient) -> None:
    body = post(client, EXAMPLE, "?explain=true").json()
    trace = body["trace"]
    assert [t["step"] for t in trace] == list(range(1, len(trace) + 1))
    by_rule = {t["rule_id"]: t for t in trace}
    band = by_rule["derive.age_band_8_to_17"]
    age = by_rule["derive.age_from_birth_date"]
    # The band was derived from the age fact the earlier rule produced: real chaining.
    assert band["matched"]["age"] == age["derived"][0]["id"]
    assert band["step"] > age["step"]
    tablet = by_rule["oral_dose.tablet_below_33_kg"]
    assert tablet["alert_code"] == "TABLET_BELOW_33_KG"
    assert tablet["matched"]["band"] == band["derived"][0]["id"]
    assert "trace" not in post(client, EXAMPLE).json()


def test_rule_catalogue(client: TestClient) -> None:
    catalogue = client.get("/v1/rules").json()
    assert catalogue["ruleset_version"] == post(client, EXAMPLE).json()["ruleset_version"]
    assert catalogue["released"] is True
    assert {r["id"] for r in catalogue["rules"]} >= {
        "oral_dose.max_under_8",
        "derive.age_band_adult",
    }
    entries = catalogue["codes"]
    codes = {e["code"] for e in entries}
    assert {"SEIZURE_DISORDER_CONTRAINDICATION", "MISSING_DATA", "TABLET_BELOW_33_KG"} <= codes
    for e in entries:
        assert e["severity"] in ("critical", "warning", "info")
        for rule in e["rules"]:
            assert rule["description"] and rule["source"]["excerpt"]


def test_healthz_and_docs(client: TestClient) -> None:
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["ruleset_version"]
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    assert "/v1/safety-checks" in schema["paths"]


def _set(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Set a dotted path ('patient.weight_kg'); the value '<delete>' removes the key."""
    out = merge(body, {})
    *parents, leaf = path.split(".")
    node = out
    for p in parents:
        node = node.setdefault(p, {})
    if value == "<delete>":
        node.pop(leaf, None)
    else:
        node[leaf] = value
    return out


NAN = float("nan")
INF = float("inf")

# (id, dotted path, value, field named in the 422)
INVALID = [
    ("weight-zero", "patient.weight_kg", 0, "patient.weight_kg"),
    ("weight-negative", "patient.weight_kg", -3, "patient.weight_kg"),
    ("weight-nan", "patient.weight_kg", NAN, "patient.weight_kg"),
    ("weight-infinite", "patient.weight_kg", INF, "patient.weight_kg"),
    ("weight-string", "patient.weight_kg", "heavy", "patient.weight_kg"),
    ("weight-500-kg", "patient.weight_kg", 500, "patient.weight_kg"),
    ("weight-in-grams-by-mistake", "patient.weight_kg", 0.00001, "patient.weight_kg"),
    ("dose-zero", "order.dose.value", 0, "order.dose.value"),
    ("dose-negative", "order.dose.value", -10, "order.dose.value"),
    ("dose-nan", "order.dose.value", NAN, "order.dose.value"),
    ("dose-infinite", "order.dose.value", INF, "order.dose.value"),
    ("dose-1e12", "order.dose.value", 1e12, "order.dose.value"),
    ("unknown-unit", "order.dose.unit", "tsp", "order.dose.unit"),
    ("unit-not-a-string", "order.dose.unit", 5, "order.dose.unit"),
    ("birth-date-future", "patient.birth_date", "2027-01-01", "patient.birth_date"),
    ("birth-date-malformed", "patient.birth_date", "2016-02-30", "patient.birth_date"),
    ("birth-date-not-iso", "patient.birth_date", "01/03/2016", "patient.birth_date"),
    ("birth-date-number", "patient.birth_date", 1456790400, "patient.birth_date"),
    ("birth-date-131-years-ago", "patient.birth_date", "1895-01-01", "patient.birth_date"),
    ("age-131", "patient.age_years", 131, "patient.age_years"),
    ("age-negative", "patient.age_years", -1, "patient.age_years"),
    ("no-age-at-all", "patient.birth_date", "<delete>", "patient.birth_date"),
    ("frequency-zero", "order.frequency_per_day", 0, "order.frequency_per_day"),
    ("frequency-25", "order.frequency_per_day", 25, "order.frequency_per_day"),
    ("frequency-fraction", "order.frequency_per_day", 2.5, "order.frequency_per_day"),
    ("order-missing", "order", "<delete>", "order"),
    ("patient-missing", "patient", "<delete>", "patient"),
    ("route-missing", "order.route", "<delete>", "order.route"),
    ("route-unknown", "order.route", "nasal", "order.route"),
    ("action-unknown", "order.action", "pause", "order.action"),
    ("form-not-oral", "order.form", "intrathecal", "order.form"),
    ("order-date-malformed", "order.date", "yesterday", "order.date"),
    ("unknown-field", "patient.height_cm", 120, "patient.height_cm"),
    (
        "crcl-negative",
        "patient.creatinine_clearance_ml_min",
        -5,
        "patient.creatinine_clearance_ml_min",
    ),
    ("condition-empty", "patient.conditions", [{}], "patient.conditions[0].code"),
    (
        "previous-since-after-order",
        "order.previous",
        {"dose": {"value": 5, "unit": "mg"}, "frequency_per_day": 3, "since": "2026-12-01"},
        "order.previous.since",
    ),
]


@pytest.mark.parametrize(
    ("path", "value", "field"), [r[1:] for r in INVALID], ids=[r[0] for r in INVALID]
)
def test_invalid_input_is_a_422_naming_the_field(
    client: TestClient, path: str, value: Any, field: str
) -> None:
    r = post(client, _set(EXAMPLE, path, value))
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "invalid_request"
    fields = [e["field"] for e in body["errors"]]
    assert field in fields, body
    assert all(e["problem"] for e in body["errors"])


def test_malformed_json_is_a_422(client: TestClient) -> None:
    r = client.post(
        "/v1/safety-checks", content=b'{"patient": ', headers={"content-type": "application/json"}
    )
    assert r.status_code == 422


def test_unit_spellings_are_accepted(client: TestClient) -> None:
    for unit in ("MG", "Mg", "mcg", "Mcg", "µg", "μg", "ug", "g"):
        value = 0.01 if unit == "g" else (10000 if unit.lower() != "mg" else 10)
        r = post(client, _set(EXAMPLE, "order.dose", {"value": value, "unit": unit}))
        assert r.status_code == 200, (unit, r.text)


def test_bad_input_leaves_the_service_working(client: TestClient) -> None:
    assert post(client, _set(EXAMPLE, "patient.weight_kg", -1)).status_code == 422
    assert post(client, EXAMPLE).json()["outcome"] == "critical"


def test_a_started_worker_has_frozen_its_startup_heap() -> None:
    """A full collection over the ~70,000 start-up objects paused a worker ~17 ms in the middle
    of checks; frozen, they are never walked again (api/worker.py)."""
    import gc

    from api.main import create_app

    gc.unfreeze()
    try:
        with TestClient(create_app()) as started:
            assert gc.get_freeze_count() > 10_000
            assert started.get("/healthz").status_code == 200
    finally:
        gc.unfreeze()


# --- the route reads its own body (api/safety_checks.py) ------------------------------------
# One parse (duplicate keys refused), one validation, the same errors FastAPI gave for a
# `SafetyCheckRequest` body and an `explain: bool` query.


def _comparable(response: Any) -> tuple[int, Any]:
    body = response.json()
    body.pop("check_id", None)
    return response.status_code, body


def _scenario_cases() -> list[tuple[str, Any]]:
    from tests.scenarios import all_tables, case_of, load

    return [
        (f"{t.removesuffix('.yaml')}:{r['id']}", case_of(r))
        for t in all_tables()
        for r in load(t)
        if r.get("via", "native") == "native"
    ]


SCENARIO_CASES = _scenario_cases()


@pytest.mark.parametrize("case", [c for _, c in SCENARIO_CASES], ids=[i for i, _ in SCENARIO_CASES])
def test_every_scenario_row_answers_over_http_as_in_process(
    client: TestClient, checker: Any, case: Any
) -> None:
    """The HTTP answer, trace included, is the engine's answer for the validated case: the
    route adds and loses nothing."""
    from api.models import SafetyCheckResponse
    from rules.case import SafetyCheckRequest

    response = post(client, case, "?explain=true")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    direct = SafetyCheckResponse.from_result(
        checker.run(SafetyCheckRequest.model_validate(case)), explain=True
    )
    expected = json.loads(direct.model_dump_json(exclude_none=True))
    expected.pop("check_id")
    assert _comparable(response) == (200, expected)


JSON_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "application/JSON",
    "application/fhir+json",
    "application/json;charset=UTF-8",
    'application/fhir+json; charset="utf-8"',
]
# What a web page can send cross-origin without a preflight, and other non-JSON bodies.
NOT_JSON = [
    None,
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "application/vnd.baclofen+json",
    "application/json; charset=latin-1",
    "application/json; boundary=x",
    "application/jsonx",
    "text/json",
]


@pytest.mark.parametrize(("path", "value"), [r[1:3] for r in INVALID], ids=[r[0] for r in INVALID])
def test_every_json_content_type_gets_the_same_error(
    client: TestClient, path: str, value: Any
) -> None:
    content = json.dumps(_set(EXAMPLE, path, value))
    answers = [
        _comparable(client.post("/v1/safety-checks", content=content, headers={"content-type": t}))
        for t in JSON_TYPES
    ]
    assert answers[0][0] == 422
    assert all(a == answers[0] for a in answers)


@pytest.mark.parametrize("content_type", JSON_TYPES)
def test_a_json_content_type_is_read(client: TestClient, content_type: str) -> None:
    r = client.post(
        "/v1/safety-checks", content=json.dumps(EXAMPLE), headers={"content-type": content_type}
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("content_type", NOT_JSON)
@pytest.mark.parametrize(
    "path",
    [
        "/v1/safety-checks",
        "/cds-services/baclofen-order-sign",
        "/cds-services/baclofen-order-sign/feedback",
    ],
)
def test_anything_but_json_is_415_on_both_apis(
    client: TestClient, content_type: str | None, path: str
) -> None:
    """An attack: a web page posts a form or text/plain (no preflight) with a JSON body."""
    headers = {"content-type": content_type} if content_type else {}
    r = client.post(path, content=json.dumps(EXAMPLE), headers=headers)
    assert r.status_code == 415, r.text
    body = r.json()
    if path.startswith("/cds-services"):
        assert body["resourceType"] == "OperationOutcome"
        assert body["issue"][0]["code"] == "not-supported"
    else:
        assert body["error"] == "unsupported_media_type"
    assert "application/json or application/fhir+json" in r.text


@pytest.mark.parametrize(
    ("query", "trace"),
    [
        ("", False),
        ("?explain=true", True),
        ("?explain=false", False),
        ("?explain=1", True),
        ("?explain=TRUE", True),
        ("?explain=no", False),
        ("?explain=true&x=1", True),
        ("?explain=true&explain=false", False),
        ("?x=1", False),
    ],
)
def test_explain_is_read_as_a_boolean(client: TestClient, query: str, trace: bool) -> None:
    r = post(client, EXAMPLE, query)
    assert r.status_code == 200 and r.json()["outcome"] == "critical"
    assert ("trace" in r.json()) == trace


@pytest.mark.parametrize("query", ["?explain=maybe", "?explain=", "?explain=%20true"])
def test_an_unreadable_explain_is_a_422_beside_the_bodys_errors(
    client: TestClient, query: str
) -> None:
    r = post(client, EXAMPLE, query)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["query.explain"]
    r = post(client, _set(EXAMPLE, "patient.weight_kg", -1), query)
    assert [e["field"] for e in r.json()["errors"]] == ["query.explain", "patient.weight_kg"]


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        (b"", "body", "Field required"),
        (
            b"{",
            "body",
            "not valid JSON (expecting property name enclosed in double quotes at character 1)",
        ),
        (
            b'{"patient": {}, "order": {}',
            "body",
            "not valid JSON (expecting ',' delimiter at character 27)",
        ),
        (
            b'{"patient": {"weight_kg": ' + b"9" * 4301 + b"}}",
            "body",
            "not valid JSON (number with more than 4300 digits at character 26)",
        ),
        (b"[]", "body", "Input should be a valid dictionary or object to extract fields from"),
        (b"null", "body", "Input should be a valid dictionary or object to extract fields from"),
        (
            b'{"patient": NaN, "order": {}}',
            "patient",
            "Input should be a valid dictionary or object to extract fields from",
        ),
    ],
    ids=["empty", "truncated", "unclosed", "4301-digit-integer", "array", "null", "nan-token"],
)
def test_bodies_that_are_not_a_request(
    client: TestClient, body: bytes, field: str, problem: str
) -> None:
    r = client.post("/v1/safety-checks", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert {"field": field, "problem": problem} in r.json()["errors"]


@pytest.mark.parametrize(
    ("ahead", "status"),
    [(0, 200), (366, 200), (367, 422), (-365, 200)],
    ids=["today", "a-year-ahead", "a-year-and-a-day-ahead", "a-year-ago"],
)
def test_an_order_is_dated_at_most_a_year_ahead(
    client: TestClient, ahead: int, status: int
) -> None:
    # The service takes today's date itself: a request that crossed midnight between the two
    # readings is sent again, on the new day.
    for _ in range(2):
        today = dt.date.today()
        on = (today + dt.timedelta(days=ahead)).isoformat()
        r = post(client, _set(EXAMPLE, "order.date", on))
        if dt.date.today() == today:
            break
    assert r.status_code == status, r.json()
    if status == 422:
        assert [e["field"] for e in r.json()["errors"]] == ["order.date"]


@pytest.mark.parametrize(
    ("path", "value", "field", "problem"),
    [
        ("order.dose.value", None, "order.dose.value", "must be a JSON number, not null"),
        ("order.dose.value", [5], "order.dose.value", "must be a JSON number, not a list"),
        (
            "patient.birth_date",
            "20180101",
            "patient.birth_date",
            "'20180101' is not a date written YYYY-MM-DD",
        ),
        (
            "patient.birth_date",
            "2018-W01-1",
            "patient.birth_date",
            "'2018-W01-1' is not a date written YYYY-MM-DD",
        ),
        (
            "order.date",
            "1900-01-01",
            "patient.birth_date",
            "2018-05-01 is after the order date 1900-01-01 (one of the two is wrong)",
        ),
        (
            "order.date",
            "2100-01-01",
            "order.date",
            f"2100-01-01 is more than a year after today ({dt.date.today()}): give the date "
            "the order takes effect",
        ),
    ],
    ids=[
        "dose-null",
        "dose-a-list",
        "birth-date-without-dashes",
        "birth-date-as-a-week",
        "order-before-birth",
        "order-in-2100",
    ],
)
def test_a_refused_value_is_named_as_it_was_sent(
    client: TestClient, path: str, value: Any, field: str, problem: str
) -> None:
    body = _set(_set(EXAMPLE, "patient.birth_date", "2018-05-01"), "patient.age_years", "<delete>")
    r = post(client, _set(body, path, value))
    assert r.status_code == 422
    assert {"field": field, "problem": problem} in r.json()["errors"], r.json()


def test_a_bom_before_the_json_is_accepted(client: TestClient) -> None:
    r = client.post(
        "/v1/safety-checks",
        content=b"\xef\xbb\xbf" + json.dumps(EXAMPLE).encode(),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 200 and r.json()["outcome"] == "critical"


def test_the_openapi_document_describes_the_body_and_the_query(client: TestClient) -> None:
    """The route reads its own body; the document still gives its schema (for integrators
    and the schemathesis fuzzing) and the `explain` parameter."""
    document = client.get("/openapi.json").json()
    operation = document["paths"]["/v1/safety-checks"]["post"]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/SafetyCheckRequest"
    schemas = document["components"]["schemas"]
    assert set(schemas["SafetyCheckRequest"]["properties"]) == {"patient", "order"}
    patient = schemas[
        schemas["SafetyCheckRequest"]["properties"]["patient"]["$ref"].rsplit("/", 1)[1]
    ]
    coding = patient["properties"]["conditions"]["items"]["$ref"].rsplit("/", 1)[1]
    # The native Coding, not the CDS Hooks card's Coding of the same name.
    assert schemas[coding]["additionalProperties"] is False
    assert [p["name"] for p in operation["parameters"]] == ["explain"]
