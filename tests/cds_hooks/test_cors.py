"""CORS (spec 2.0.1: "CDS Services and browser-based CDS Clients will require CORS support"):
a preflight succeeds on every endpoint, without a token even when tokens are required."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.cds_hooks.settings import JwtSettings, cors_options
from tests.cds_hooks.conftest import AppFactory
from tests.cds_hooks.ehr import ISSUER, Signer

ORIGIN = "https://sandbox.cds-hooks.org"
ENDPOINTS = [
    ("GET", "/cds-services"),
    ("POST", "/cds-services/baclofen-order-sign"),
    ("POST", "/cds-services/baclofen-order-select"),
    ("POST", "/cds-services/baclofen-order-sign/feedback"),
    ("POST", "/v1/safety-checks"),
    ("GET", "/v1/rules"),
    ("GET", "/healthz"),
]


@pytest.fixture
def secured(make_client: AppFactory, tmp_path: Path) -> TestClient:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(Signer("ES384").jwks()))
    return make_client(jwt=JwtSettings(issuers=(ISSUER,), jwks=str(jwks)))


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_preflight_on_every_endpoint(secured: TestClient, method: str, path: str) -> None:
    response = secured.options(
        path,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert method in response.headers["access-control-allow-methods"]
    allowed = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert "access-control-allow-credentials" not in response.headers


def test_responses_carry_the_allow_origin_header(cds: TestClient) -> None:
    response = cds.get("/cds-services", headers={"Origin": ORIGIN})
    assert response.headers["access-control-allow-origin"] == "*"


def test_origins_can_be_narrowed() -> None:
    options = cors_options({"CDS_CORS_ORIGINS": f"{ORIGIN}, https://ehr.example.test"})
    assert options["allow_origins"] == [ORIGIN, "https://ehr.example.test"]
