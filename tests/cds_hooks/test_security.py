"""Client authentication when configured (spec 2.0.1 "Trusting CDS Clients", cds-hooks.org best
practices): the EHR signs every call; anything but a fresh, correctly addressed token from a
trusted issuer, verified with its published key, is a 401 that says nothing more."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient

from api.cds_hooks.settings import CdsSettings, JwtSettings
from tests.cds_hooks.conftest import AppFactory
from tests.cds_hooks.ehr import BASE_URL, EXAMPLES, ISSUER, Signer, call
from tests.cds_hooks.golden_cases import adult_nothing_wrong

SERVICE = "/cds-services/baclofen-order-sign"
REQUEST = adult_nothing_wrong()
ES384 = Signer("ES384")
RS384 = Signer("RS384")
SPEC_KEY = Signer(
    "ES384",
    iss="https://fhir-ehr.example.com/",
    private_jwk=json.loads((EXAMPLES / "spec-2.0.1/jwk-private-EXAMPLE-ONLY.json").read_text()),
    jku="https://fhir-ehr.example.com/jwk_uri",
)


@pytest.fixture
def secured(make_client: AppFactory, tmp_path: Path) -> TestClient:
    jwks = tmp_path / "ehr-jwks.json"
    jwks.write_text(json.dumps({"keys": ES384.jwks()["keys"] + RS384.jwks()["keys"]}))
    return make_client(jwt=JwtSettings(issuers=(ISSUER,), jwks=str(jwks)))


def post(
    client: TestClient, token: str | None, path: str = SERVICE, scheme: str = "Bearer"
) -> httpx.Response:
    headers = {"Authorization": f"{scheme} {token}"} if token is not None else {}
    return client.post(path, json=REQUEST, headers=headers)


def rejected(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "login",
                "diagnostics": "The request could not be authenticated.",
            }
        ],
    }


@pytest.mark.parametrize("signer", [ES384, RS384], ids=["ES384", "RS384"])
def test_a_signed_call_is_accepted(secured: TestClient, signer: Signer) -> None:
    response = call(secured, REQUEST, signer=signer)
    assert response.status_code == 200
    assert response.json() == {"cards": []}


def test_discovery_and_feedback_are_authenticated_for_their_own_url(secured: TestClient) -> None:
    assert secured.get("/cds-services", headers=ES384.headers("/cds-services")).status_code == 200
    rejected(secured.get("/cds-services"))
    feedback = f"{SERVICE}/feedback"
    body = json.loads((EXAMPLES / "spec-2.0.1/feedback-overridden.json").read_text())
    assert secured.post(feedback, json=body, headers=ES384.headers(feedback)).status_code == 200
    rejected(secured.post(feedback, json=body, headers=ES384.headers(SERVICE)))


def test_aud_may_be_a_list_holding_the_endpoint(secured: TestClient) -> None:
    token = ES384.token([BASE_URL + SERVICE, "https://other.example.test"])
    assert post(secured, token).status_code == 200


def _none_token() -> str:
    header = {"alg": "none", "typ": "JWT", "kid": ES384.kid}
    payload = {
        "iss": ISSUER,
        "aud": BASE_URL + SERVICE,
        "iat": int(time.time()),
        "exp": int(time.time()) + 300,
        "jti": "n-1",
    }
    part = jwt.utils.base64url_encode  # type: ignore[attr-defined]
    return (
        part(json.dumps(header).encode()).decode()
        + "."
        + part(json.dumps(payload).encode()).decode()
        + "."
    )


def _hs(alg: str) -> str:
    now = int(time.time())
    secret = "a-shared-secret-long-enough-for-any-hmac-algorithm-0123456789"
    return jwt.encode(
        {
            "iss": ISSUER,
            "aud": BASE_URL + SERVICE,
            "iat": now,
            "exp": now + 300,
            "jti": f"hs-{alg}",
        },
        secret,
        algorithm=alg,
        headers={"kid": ES384.kid},
    )


def _tampered() -> str:
    head, payload, signature = ES384.token(BASE_URL + SERVICE).split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))  # type: ignore[attr-defined]
    claims["iss"] = ISSUER  # re-encoded, so no longer the signed bytes
    claims["tenant"] = "someone-else"
    forged = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()  # type: ignore
    return f"{head}.{forged}.{signature}"


NOW = int(time.time())
BAD_TOKENS: dict[str, Any] = {
    "missing": None,
    "empty": "",
    "not-a-jwt": "abc.def",
    "alg-none": _none_token(),
    "hs256": _hs("HS256"),
    "hs384": _hs("HS384"),
    "expired": ES384.token(BASE_URL + SERVICE, exp=NOW - 120, iat=NOW - 420),
    "issued-in-the-future": ES384.token(BASE_URL + SERVICE, iat=NOW + 600, exp=NOW + 900),
    "aud-other-service": ES384.token(BASE_URL + "/cds-services/baclofen-order-select"),
    "aud-base-url": ES384.token(BASE_URL),
    "aud-trailing-slash": ES384.token(BASE_URL + SERVICE + "/"),
    "iss-not-trusted": Signer("ES384", iss="https://rogue.example.test/").token(BASE_URL + SERVICE),
    "unknown-kid": Signer("ES384").token(BASE_URL + SERVICE),
    "kid-of-another-key": jwt.encode(
        {"iss": ISSUER, "aud": BASE_URL + SERVICE, "iat": NOW, "exp": NOW + 300, "jti": "k"},
        Signer("ES384").key,
        algorithm="ES384",
        headers={"kid": ES384.kid},
    ),
    "tampered": _tampered(),
    "no-jti": jwt.encode(
        {"iss": ISSUER, "aud": BASE_URL + SERVICE, "iat": NOW, "exp": NOW + 300},
        ES384.key,
        algorithm="ES384",
        headers={"kid": ES384.kid},
    ),
    "no-kid": jwt.encode(
        {"iss": ISSUER, "aud": BASE_URL + SERVICE, "iat": NOW, "exp": NOW + 300, "jti": "no-kid"},
        ES384.key,
        algorithm="ES384",
    ),
    "jku-not-allowed": ES384.token(
        BASE_URL + SERVICE, header={"jku": "https://rogue.example.test/jwks"}
    ),
    "spec-expired-example": (EXAMPLES / "spec-2.0.1/jwt-example-expired.txt").read_text().strip(),
}


@pytest.mark.parametrize("name", sorted(BAD_TOKENS))
def test_untrusted_tokens_are_401(secured: TestClient, name: str) -> None:
    rejected(post(secured, BAD_TOKENS[name]))


def test_the_scheme_must_be_bearer(secured: TestClient) -> None:
    rejected(post(secured, ES384.token(BASE_URL + SERVICE), scheme="Basic"))


def test_a_replayed_jti_is_401(secured: TestClient) -> None:
    token = ES384.token(BASE_URL + SERVICE)
    assert post(secured, token).status_code == 200
    rejected(post(secured, token))


def test_a_replay_to_another_worker_is_401(make_client: AppFactory, tmp_path: Path) -> None:
    """Two apps stand for two worker processes of `make run`: they share only the jti file,
    as real workers do, so a token replayed to the other one is still refused."""
    jwks = tmp_path / "ehr-jwks.json"
    jwks.write_text(json.dumps(ES384.jwks()))
    shared = tmp_path / "jti.sqlite3"
    workers = [
        make_client(jwt=JwtSettings(issuers=(ISSUER,), jwks=str(jwks), jti_db=shared))
        for _ in range(2)
    ]
    token = ES384.token(BASE_URL + SERVICE)
    assert post(workers[0], token).status_code == 200
    rejected(post(workers[1], token))
    rejected(post(workers[0], token))
    assert post(workers[1], ES384.token(BASE_URL + SERVICE)).status_code == 200


def test_the_jti_memory_forgets_only_expired_tokens(tmp_path: Path) -> None:
    from api.cds_hooks.replay import ReplayCache

    for path in (None, tmp_path / "jti.sqlite3"):
        cache = ReplayCache(path, leeway_s=0)
        now = time.time()
        assert cache.first_use(ISSUER, "a", now + 60)
        assert not cache.first_use(ISSUER, "a", now + 60)
        assert cache.first_use("https://other-ehr.example.org", "a", now + 60)
        assert cache.first_use(ISSUER, "old", now - 1)  # expired: remembered until exp only
        assert cache.first_use(ISSUER, "old", now - 1)


def test_the_default_configuration_shares_the_jti_memory() -> None:
    settings = CdsSettings.from_env(
        {
            "CDS_JWT_REQUIRED": "1",
            "CDS_JWT_ISSUERS": ISSUER,
            "CDS_JWT_JKU_ALLOWLIST": "https://ehr.example.org/jwks",
        }
    )
    assert settings.jwt is not None and settings.jwt.jti_db is not None


def test_the_spec_example_key_with_its_published_jwks(make_client: AppFactory) -> None:
    """The key pair published in the spec, its JWK Set configured out of band; the `jku` in
    its header is allowed but never fetched (offline: the no-network transport would fail)."""
    client = make_client(
        public_base_url="https://cds.example.org",
        jwt=JwtSettings(
            issuers=("https://fhir-ehr.example.com/",),
            jwks=str(EXAMPLES / "spec-2.0.1/jwks-public.json"),
            jku_allowlist=("https://fhir-ehr.example.com/jwk_uri",),
        ),
    )
    aud = "https://cds.example.org" + SERVICE
    assert post(client, SPEC_KEY.token(aud)).status_code == 200
    rejected(post(client, SPEC_KEY.token(BASE_URL + SERVICE)))  # not our public URL
    rejected(post(client, BAD_TOKENS["spec-expired-example"]))  # the spec's own, long expired


def test_keys_from_an_allowed_jku(make_client: AppFactory) -> None:
    jku = "https://ehr.example.test/.well-known/jwks.json"
    signer = Signer("ES384", jku=jku)
    fetched: list[str] = []

    def serve(request: httpx.Request) -> httpx.Response:
        fetched.append(str(request.url))
        return httpx.Response(200, json=signer.jwks())

    client = make_client(
        jwt=JwtSettings(
            issuers=(ISSUER,), jku_allowlist=(jku,), transport=httpx.MockTransport(serve)
        )
    )
    assert post(client, signer.token(BASE_URL + SERVICE)).status_code == 200
    assert post(client, signer.token(BASE_URL + SERVICE)).status_code == 200
    assert fetched == [jku], "the key set is cached"


def test_the_sandbox_public_key_is_accepted_as_an_out_of_band_key_set() -> None:
    jwks = json.loads((EXAMPLES / "sandbox/sandbox-client-jwks.json").read_text())
    (key,) = jwks["keys"]
    assert jwt.PyJWK(key, algorithm="ES384").key is not None


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ({"issuers": (ISSUER,), "jwks": "x.json", "algorithms": ("ES384", "HS256")}, "HS256"),
        ({"issuers": (ISSUER,), "jwks": "x.json", "algorithms": ("none",)}, "none"),
        ({"issuers": (), "jwks": "x.json"}, "no issuer"),
        ({"issuers": (ISSUER,)}, "no key source"),
    ],
    ids=["symmetric", "none", "no-issuer", "no-keys"],
)
def test_unsafe_jwt_settings_stop_the_boot(settings: dict[str, Any], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        JwtSettings(**settings)


def test_settings_from_the_environment(tmp_path: Path) -> None:
    assert CdsSettings.from_env({}).jwt is None
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(ES384.jwks()))
    settings = CdsSettings.from_env(
        {
            "CDS_JWT_REQUIRED": "true",
            "CDS_JWT_ISSUERS": f"{ISSUER}, https://b.example.test/",
            "CDS_JWT_JWKS": str(jwks),
            "CDS_FEEDBACK_DB": str(tmp_path / "fb.sqlite3"),
            "CDS_PUBLIC_BASE_URL": "https://cds.example.org/",
            "CDS_FHIR_TIMEOUT_S": "1.5",
        }
    )
    assert settings.jwt is not None
    assert settings.jwt.issuers == (ISSUER, "https://b.example.test/")
    assert settings.jwt.algorithms == ("ES384", "RS384")
    assert settings.public_base_url == "https://cds.example.org"
    assert settings.fhir_timeout_s == 1.5
    with pytest.raises(ValueError, match="is not a file"):
        CdsSettings.from_env(
            {
                "CDS_JWT_REQUIRED": "1",
                "CDS_JWT_ISSUERS": ISSUER,
                "CDS_JWT_JWKS": str(tmp_path / "missing.json"),
            }
        )
