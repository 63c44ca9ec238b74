"""Every line the server writes is JSON and none carries a patient identifier, with the most
talkative settings (LOG_LEVEL=DEBUG, ACCESS_LOG=true) and a CDS Hooks call whose data the
service fetches from a FHIR server (a local one, on 127.0.0.1).

httpx logs each request's URL at INFO (`Observation?patient=<id>&code=...`) and httpcore
its headers at DEBUG (the bearer token): both are held at WARNING, and every line is scrubbed
as a last net (api/observability.py).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from opentelemetry import _logs, metrics, trace

from api.main import create_app
from api.observability import JsonFormatter, scrub
from bench.cases import MIX
from bench.server import running
from rules.checker import Checker
from tests.cds_hooks.fhir import (
    TABLET_10,
    condition,
    crcl,
    hook_request,
    local_fhir_server,
    med_request,
    patient,
    quantity,
    searchset,
    weight,
)

PATIENT_ID = f"pat-{uuid.uuid4().hex[:12]}"
TOKEN = f"token-{uuid.uuid4().hex}"


class Fhir(BaseHTTPRequestHandler):
    """Patient, Condition (epilepsy), MedicationRequest and Observation for PATIENT_ID."""

    seen: list[str] = []  # noqa: RUF012  (the request paths, shared by the handler threads)

    def do_GET(self) -> None:
        self.seen.append(self.path)
        path = urlsplit(self.path).path.removeprefix("/fhir/")
        bodies: dict[str, Any] = {
            f"Patient/{PATIENT_ID}": patient(PATIENT_ID),
            "Condition": searchset(condition("G40.909", "Epilepsy", "84757009", pid=PATIENT_ID)),
            "MedicationRequest": searchset(),
            "Observation": searchset(weight(70, pid=PATIENT_ID), crcl(95, pid=PATIENT_ID)),
        }
        if self.headers.get("authorization") != f"Bearer {TOKEN}" or path not in bodies:
            self.send_response(404)
            self.end_headers()
            return
        data = json.dumps(bodies[path]).encode()
        self.send_response(200)
        self.send_header("content-type", "application/fhir+json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture(scope="module")
def fhir() -> Iterator[str]:
    with local_fhir_server(Fhir) as base:
        yield base


def test_no_patient_identifier_in_any_line(fhir: str, tmp_path: Path) -> None:
    with running(
        1,
        log_dir=tmp_path,
        log_level="DEBUG",
        extra_env={
            "ACCESS_LOG": "true",
            "CDS_FHIR_SERVER_ALLOWLIST": fhir,
            "CDS_TEST_BENCH": "true",
        },
    ) as srv:
        request = hook_request(
            "order-sign",
            [med_request("rx-1", TABLET_10, quantity(5, "mg"), per_day=3, pid=PATIENT_ID)],
            None,
            pid=PATIENT_ID,
        )
        request["fhirServer"] = fhir
        request["fhirAuthorization"] = {
            "access_token": TOKEN,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "user/*.read",
            "subject": "baclofen-cds",
        }
        answer = httpx.post(f"{srv.url}/cds-services/baclofen-order-sign", json=request, timeout=20)
        assert answer.status_code == 200, answer.text
        codes = [c["source"]["topic"]["code"] for c in answer.json()["cards"]]
        assert "SEIZURE_DISORDER_CONTRAINDICATION" in codes  # fetched, not sent
        assert any(f"patient={PATIENT_ID}" in path for path in Fhir.seen)
        # A query naming the patient, in any spelling, never reaches the access log.
        for query in (
            f"patient={PATIENT_ID}",
            f"patientId={PATIENT_ID}",
            f"subject=Patient%2F{PATIENT_ID}",
            f"patient_id={PATIENT_ID}",
            f"mrn={PATIENT_ID}",
        ):
            assert httpx.get(f"{srv.url}/livez?{query}", timeout=10).status_code == 200
        # Nor a path, a service id, a JSON key, a hookInstance or a FHIR server URL that the
        # caller chose.
        assert httpx.get(f"{srv.url}/Patient/{PATIENT_ID}", timeout=10).status_code == 404
        unknown = httpx.post(f"{srv.url}/cds-services/{PATIENT_ID}", json={}, timeout=10)
        assert unknown.status_code == 404
        case = MIX["oral child"][0]
        native = {**case, "patient": {**case["patient"], f"MRN {PATIENT_ID}": 1}}
        refused = httpx.post(f"{srv.url}/v1/safety-checks", json=native, timeout=10)
        assert refused.status_code == 422
        elsewhere = {
            **request,
            "hookInstance": PATIENT_ID,
            "fhirServer": f"https://ehr.example.org/fhir/Patient/{PATIENT_ID}",
        }
        answer = httpx.post(
            f"{srv.url}/cds-services/baclofen-order-sign", json=elsewhere, timeout=20
        )
        assert answer.status_code == 200, answer.text
    lines = srv.log.read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line is JSON
    loggers = {r["logger"] for r in records}
    assert {"gunicorn.error", "uvicorn.error", "uvicorn.access", "baclofen.checks"} <= loggers
    assert "DEBUG" in {r["level"] for r in records}  # LOG_LEVEL reached them
    for line in lines:
        assert PATIENT_ID not in line, line
        assert TOKEN not in line, line
    access = [r for r in records if r.get("event") == "access"]
    assert any(r["path"].startswith("/cds-services/") and r["status"] == 200 for r in access)
    paths = {r["path"] for r in access}
    assert {"/livez", "<unknown>", "/v1/safety-checks"} <= paths, paths
    checks = [r for r in records if r.get("event") == "check"]
    assert any(r.get("fields") == ["patient.<extra>"] for r in checks), checks
    assert any(r["status"] == 200 and r["check_id"] is None for r in checks), checks
    assert any(r.get("event") == "fhir_server_not_allowed" for r in records)


@pytest.mark.parametrize(
    ("text", "clean"),
    [
        ("GET https://ehr/fhir/Observation?patient=pat-1&code=x", "patient=<redacted>&code=x"),
        ("read https://ehr/fhir/Patient/pat-1 200", "Patient/<redacted> 200"),
        ("Condition?subject=Patient/123,Patient/456", "Patient/<redacted>,Patient/<redacted>"),
        ("fetched Patient, Condition from the FHIR server", "fetched Patient, Condition"),
    ],
)
def test_scrub(text: str, clean: str) -> None:
    assert clean in scrub(text)
    assert "pat-1" not in scrub(text) and "123" not in scrub(text)


def test_formatter_scrubs_messages_and_exceptions() -> None:
    import logging

    try:
        raise ValueError("no Patient/pat-9 here")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "x",
            logging.ERROR,
            __file__,
            1,
            "url %s",
            ("https://ehr/Observation?patient=pat-9",),
            sys.exc_info(),
        )
    line = JsonFormatter().format(record)
    assert "pat-9" not in line and json.loads(line)["level"] == "ERROR"


class _Recorder:
    """An OpenTelemetry provider (tracer, meter or logger) that records being asked for
    anything: FastAPI's own telemetry asks its providers for a tracer, meter or logger as
    soon as it records a request."""

    def __init__(self, asked: list[str]) -> None:
        self._asked = asked

    def __getattr__(self, name: str) -> Any:
        def record(*args: Any, **kwargs: Any) -> Any:
            self._asked.append(name)
            raise RuntimeError(f"FastAPI's telemetry asked for {name}")

        return record


def test_fastapi_own_telemetry_records_nothing(
    checker: Checker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FastAPI (0.142+) records requests, and validation failures with the values they quote,
    to whatever OpenTelemetry providers the environment configures, past our scrubbing. With
    providers configured, a check and a refused request reach none of them."""
    asked: list[str] = []
    for module, getter in (
        (trace, "get_tracer_provider"),
        (metrics, "get_meter_provider"),
        (_logs, "get_logger_provider"),
    ):
        monkeypatch.setattr(module, getter, lambda: _Recorder(asked))
    with TestClient(create_app(checker)) as client:
        body = MIX["oral child"][0]
        assert client.post("/v1/safety-checks", json=body).status_code == 200
        refused = {**body, "patient": {**body["patient"], "weight_kg": -30}}
        assert client.post("/v1/safety-checks", json=refused).status_code == 422
    assert asked == []
