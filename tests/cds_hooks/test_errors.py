"""Errors are explicit: 400 with an OperationOutcome naming what is malformed, 404 for an
unknown service, 503/500 when a check could not be completed. Never an empty `cards` list
that would read as "nothing wrong"."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient

from engine import EngineError
from rules.case import Case
from rules.checker import CheckResult
from tests.cds_hooks.conftest import AppFactory
from tests.cds_hooks.ehr import call
from tests.cds_hooks.golden_cases import adult_epilepsy

VALID = adult_epilepsy()


def _without(path: str) -> dict[str, Any]:
    request = copy.deepcopy(VALID)
    *parents, last = path.split(".")
    node = request
    for key in parents:
        node = node[key]
    del node[last]
    return request


def _with(path: str, value: Any) -> dict[str, Any]:
    request = copy.deepcopy(VALID)
    *parents, last = path.split(".")
    node = request
    for key in parents:
        node = node[key]
    node[last] = value
    return request


def outcome(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert "cards" not in body
    (issue,) = body["issue"]
    assert issue["severity"] == "error" and issue["diagnostics"]
    return issue


@pytest.mark.parametrize(
    ("request_body", "expression", "says"),
    [
        (_without("hook"), "hook", "Field required"),
        (_without("hookInstance"), "hookInstance", "Field required"),
        (_with("hookInstance", "  "), "hookInstance", "at least 1 character"),
        (_without("context"), "context", "Field required"),
        (_with("context", ["not", "an", "object"]), "context", "valid dictionary"),
        (_with("hook", "order-select"), "hook", "'order-select' was sent to the order-sign"),
        (_without("context.draftOrders"), "context.draftOrders", "Field required"),
        (
            _with("context.draftOrders", {"resourceType": "MedicationRequest"}),
            "context.draftOrders",
            "must be a FHIR Bundle",
        ),
        (
            _with("context.draftOrders", {"resourceType": "Bundle", "entry": [{"fullUrl": "x"}]}),
            "context.draftOrders.entry.0",
            "has no resource object",
        ),
        (
            _with("fhirAuthorization", {"access_token": "t", "token_type": "Bearer"})
            | {"fhirServer": None},
            "fhirServer",
            "required when fhirAuthorization is given",
        ),
        (_with("fhirServer", "ftp://ehr.example.test"), "fhirServer", "absolute http(s) URL"),
        (
            _with("fhirAuthorization", {"token_type": "Bearer"}),
            "fhirAuthorization.access_token",
            "Field required",
        ),
    ],
    ids=[
        "no-hook",
        "no-hookInstance",
        "blank-hookInstance",
        "no-context",
        "context-not-object",
        "hook-not-this-service",
        "no-draftOrders",
        "draftOrders-not-bundle",
        "entry-without-resource",
        "authorization-without-server",
        "server-not-url",
        "authorization-without-token",
    ],
)
def test_malformed_requests_are_400_naming_the_field(
    cds: TestClient, request_body: Any, expression: str, says: str
) -> None:
    if request_body.get("fhirServer") is None:
        request_body.pop("fhirServer", None)
    issue = outcome(cds.post("/cds-services/baclofen-order-sign", json=request_body), 400)
    assert expression in issue["expression"]
    assert says in issue["diagnostics"]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"hook": "order-sign"', "not valid JSON"),
        (b'{"hook": NaN}', "NaN is not a JSON number"),
        (
            b'{"hook": "order-sign", "n": ' + b"9" * 4301 + b"}",
            "not valid JSON: Number with more than 4300 digits: line 1 column 29 (char 28)",
        ),
    ],
    ids=["garbage", "empty", "array", "truncated", "nan", "4301-digit-integer"],
)
def test_bodies_that_are_not_a_json_object_are_400(cds: TestClient, body: bytes, says: str) -> None:
    response = cds.post(
        "/cds-services/baclofen-order-sign",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert says in outcome(response, 400)["diagnostics"]


def test_order_select_needs_selections_that_name_draft_orders(cds: TestClient) -> None:
    request = copy.deepcopy(VALID) | {"hook": "order-select"}
    issue = outcome(call(cds, request), 400)
    assert issue["expression"] == ["context.selections"]
    request["context"]["selections"] = ["MedicationRequest/not-there"]
    issue = outcome(call(cds, request), 400)
    assert (
        "'MedicationRequest/not-there' is not an order in context.draftOrders"
        in (issue["diagnostics"])
    )


@pytest.mark.parametrize(
    "path", ["/cds-services/no-such-service", "/cds-services/no-such-service/feedback"]
)
def test_unknown_service_is_404(cds: TestClient, path: str) -> None:
    issue = outcome(cds.post(path, json=VALID), 404)
    assert issue["code"] == "not-found"


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/cds-services/baclofen-order-sign", 405, "not-supported"),
        ("PUT", "/cds-services/baclofen-order-sign/feedback", 405, "not-supported"),
        ("GET", "/cds-services/no-such-service", 405, "not-supported"),
        ("GET", "/cds-services/baclofen-order-sign/nothing/here", 404, "not-found"),
    ],
)
def test_http_errors_under_cds_services_are_operation_outcomes(
    cds: TestClient, method: str, path: str, status: int, code: str
) -> None:
    """They were FastAPI's {"detail": "Method Not Allowed"}, which an EHR does not read."""
    response = cds.request(method, path, json={} if method == "PUT" else None)
    issue = outcome(response, status)
    assert issue["code"] == code
    assert issue["diagnostics"].startswith(f"{response.reason_phrase}: {method} {path}")
    if status == 405:
        assert "POST" in response.headers["allow"] and "(allowed: " in issue["diagnostics"]


def test_http_errors_elsewhere_keep_fastapis_answer(cds: TestClient) -> None:
    response = cds.get("/v1/safety-checks")
    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed"}


class BrokenChecker:
    """The engine failing mid-check (durable-rules parked an exception)."""

    def run(self, case: Case, check_id: str | None = None) -> CheckResult:
        raise EngineError("action raised in rule x")


class CrashingChecker:
    def run(self, case: Case, check_id: str | None = None) -> CheckResult:
        raise RuntimeError("a bug")


@pytest.mark.parametrize(
    ("checker", "status"),
    [(BrokenChecker(), 503), (CrashingChecker(), 500)],
    ids=["engine-error", "unexpected"],
)
def test_a_check_that_could_not_complete_is_an_error_never_no_cards(
    make_client: AppFactory, checker: Any, status: int
) -> None:
    client = make_client(checker_override=checker)
    issue = outcome(call(client, VALID), status)
    assert "could not be completed" in issue["diagnostics"]
    assert "Do not treat this as a pass" in issue["diagnostics"]


def test_a_non_baclofen_call_never_reaches_the_engine(make_client: AppFactory) -> None:
    client = make_client(checker_override=BrokenChecker())
    request = copy.deepcopy(VALID)
    request["context"]["draftOrders"]["entry"][0]["resource"]["medicationCodeableConcept"] = {
        "text": "Paracetamol 500 mg tablet"
    }
    assert call(client, request).json() == {"cards": []}


def test_lenient_about_what_it_does_not_read(cds: TestClient) -> None:
    request = copy.deepcopy(VALID)
    request["extension"] = {"com.example.timestamp": "2017-11-27T22:13:25Z"}
    request["context"]["com.example.extra"] = {"anything": [1, 2]}
    resource = request["context"]["draftOrders"]["entry"][0]["resource"]
    resource["extension"] = [{"url": "http://example.org/x", "valueString": "y"}]
    resource["category"] = resource["category"][0]  # an object, as the sandbox sends it
    del request["context"]["draftOrders"]["type"]  # a Bundle without type
    response = call(cds, request)
    assert response.status_code == 200
    assert [c["source"]["topic"]["code"] for c in response.json()["cards"]] == [
        "SEIZURE_DISORDER_CONTRAINDICATION"
    ]
