"""CORS (spec 2.0.1: "CDS Services and browser-based CDS Clients will require CORS support"),
from configuration: a preflight succeeds on every endpoint for an allowed origin, without a
token even when tokens are required; `*` only in the open local mode; a web page of any
other origin cannot read an answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api.cds_hooks.settings import CdsSettings, Issuer, cors_options
from tests.cds_hooks.conftest import AppFactory
from tests.cds_hooks.ehr import BASE_URL, ISSUER, Signer

SANDBOX = "https://sandbox.cds-hooks.org"
EVIL = "https://evil.example.test"
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
    return make_client(
        auth="required",
        public_base_url=BASE_URL,
        cors_origins=(SANDBOX,),
        jwt_issuers=(Issuer(iss=ISSUER, jwks=str(jwks)),),
    )


def _preflight(client: TestClient, method: str, path: str, origin: str) -> object:
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_preflight_on_every_endpoint(secured: TestClient, method: str, path: str) -> None:
    response = _preflight(secured, method, path, SANDBOX)
    assert response.status_code == 200  # type: ignore[attr-defined]
    headers = response.headers  # type: ignore[attr-defined]
    assert headers["access-control-allow-origin"] == SANDBOX
    assert method in headers["access-control-allow-methods"]
    allowed = headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert "access-control-allow-credentials" not in headers


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_another_origin_is_not_let_in(secured: TestClient, method: str, path: str) -> None:
    """An attack: a page on another site, opened by a clinician, calls the service."""
    response = _preflight(secured, method, path, EVIL)
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "access-control-allow-origin" not in response.headers  # type: ignore[attr-defined]
    simple = secured.get("/healthz", headers={"Origin": EVIL})
    assert "access-control-allow-origin" not in simple.headers


def test_the_open_local_mode_lets_any_origin_in(cds: TestClient) -> None:
    response = cds.get("/cds-services", headers={"Origin": SANDBOX})
    assert response.headers["access-control-allow-origin"] == "*"


def test_no_cross_origin_access_by_default_outside_the_open_local_mode() -> None:
    for settings in (
        CdsSettings(auth="open", bind_host="0.0.0.0"),
        CdsSettings(
            auth="required",
            public_base_url=BASE_URL,
            jwt_issuers=(Issuer(iss=ISSUER, jku=("https://ehr.example.test/jwks",)),),
        ),
    ):
        assert cors_options(settings)["allow_origins"] == []


@pytest.mark.parametrize(
    "values",
    [
        {"auth": "open", "bind_host": "0.0.0.0"},
        {
            "auth": "required",
            "public_base_url": BASE_URL,
            "jwt_issuers": (Issuer(iss=ISSUER, jku=("https://ehr.example.test/jwks",)),),
        },
    ],
    ids=["open-on-the-network", "authenticated"],
)
def test_a_wildcard_refuses_to_start_outside_the_open_local_mode(values: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="only in the open local mode"):
        CdsSettings(cors_origins=("*",), **values)


@pytest.mark.parametrize(
    "origin",
    [
        "sandbox.cds-hooks.org",
        "https://a.example/path",
        "ftp://a.example",
        "https://user@a.example",
    ],
)
def test_an_origin_must_be_an_origin(origin: str) -> None:
    with pytest.raises(ValidationError, match="is not an origin"):
        CdsSettings(cors_origins=(origin,))


def test_origins_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDS_CORS_ORIGINS", f"{SANDBOX}, https://ehr.example.test")
    assert cors_options(CdsSettings.load())["allow_origins"] == [
        SANDBOX,
        "https://ehr.example.test",
    ]
