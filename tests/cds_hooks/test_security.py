"""Authentication, as an attacker tries it (spec 2.0.1 "Trusting CDS Clients", cds-hooks.org
best practices, issue 16). Each test is an attack that must fail: anything but a fresh,
correctly addressed, short-lived token of a trusted issuer, signed by that issuer's own key,
or a known system key where one is allowed, is a 401 that says nothing more."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
import tracemalloc
import zlib
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api.auth import new_system_key
from api.cds_hooks.settings import CdsSettings, Issuer, SystemKey, problems
from tests.cds_hooks.conftest import AppFactory
from tests.cds_hooks.ehr import BASE_URL, EXAMPLES, ISSUER, Signer, call, example
from tests.cds_hooks.fhir import local_fhir_server
from tests.cds_hooks.golden_cases import adult_nothing_wrong

SERVICE = "/cds-services/baclofen-order-sign"
FEEDBACK = f"{SERVICE}/feedback"
NATIVE = "/v1/safety-checks"
REQUEST = adult_nothing_wrong()
NATIVE_BODY = json.loads(
    (Path(__file__).resolve().parents[2] / "examples" / "child-over-maximum.json").read_text()
)
ES384 = Signer("ES384")
RS384 = Signer("RS384")
OTHER_ISSUER = "https://other-ehr.example.test/"
OTHER = Signer("ES384", iss=OTHER_ISSUER)
SPEC_KEY = Signer(
    "ES384",
    iss="https://fhir-ehr.example.com/",
    private_jwk=json.loads((EXAMPLES / "spec-2.0.1/jwk-private-EXAMPLE-ONLY.json").read_text()),
    jku="https://fhir-ehr.example.com/jwk_uri",
)
SYSTEM_KEY = new_system_key()
KEY_ENTRY = SystemKey.parse(f"lab-system:{hashlib.sha256(SYSTEM_KEY.encode()).hexdigest()}")


def _jwks(tmp_path: Path, name: str, *signers: Signer) -> str:
    path = tmp_path / f"{name}-jwks.json"
    path.write_text(json.dumps({"keys": [k for s in signers for k in s.jwks()["keys"]]}))
    return str(path)


@pytest.fixture
def secured(make_client: AppFactory, tmp_path: Path) -> TestClient:
    """Two trusted EHRs, each with its own key set, and one system key."""
    return make_client(
        auth="required",
        public_base_url=BASE_URL,
        system_keys=(KEY_ENTRY,),
        jwt_issuers=(
            Issuer(iss=ISSUER, jwks=_jwks(tmp_path, "a", ES384, RS384)),
            Issuer(iss=OTHER_ISSUER, jwks=_jwks(tmp_path, "b", OTHER)),
        ),
    )


def post(
    client: TestClient,
    token: str | None,
    path: str = SERVICE,
    scheme: str = "Bearer",
    body: Any = None,
) -> httpx.Response:
    headers = {"Authorization": f"{scheme} {token}"} if token is not None else {}
    return client.post(path, json=REQUEST if body is None else body, headers=headers)


def rejected(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    if response.json().get("resourceType"):
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
    else:
        assert response.json() == {
            "error": "unauthorized",
            "message": "The request could not be authenticated.",
        }


@pytest.mark.parametrize("signer", [ES384, RS384, OTHER], ids=["ES384", "RS384", "issuer-b"])
def test_a_signed_call_is_accepted(secured: TestClient, signer: Signer) -> None:
    response = call(secured, REQUEST, signer=signer)
    assert response.status_code == 200
    assert response.json() == {"cards": []}


def test_discovery_and_feedback_are_authenticated_for_their_own_url(secured: TestClient) -> None:
    assert secured.get("/cds-services", headers=ES384.headers("/cds-services")).status_code == 200
    rejected(secured.get("/cds-services"))
    body = example("spec-2.0.1/feedback-overridden.json")
    assert secured.post(FEEDBACK, json=body, headers=ES384.headers(FEEDBACK)).status_code == 200
    rejected(secured.post(FEEDBACK, json=body, headers=ES384.headers(SERVICE)))
    rejected(secured.post(FEEDBACK, json=body))


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
        headers={"kid": ES384.kid, "typ": "JWT"},
    )


def _tampered() -> str:
    head, payload, signature = ES384.token(BASE_URL + SERVICE).split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))  # type: ignore[attr-defined]
    claims["tenant"] = "someone-else"  # re-encoded, so no longer the signed bytes
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
    # A token that never expires in practice: well signed, but its lifetime is capped.
    "valid-for-ten-years": ES384.token(BASE_URL + SERVICE, exp=NOW + 10 * 365 * 86400),
    "lifetime-301-s": ES384.token(BASE_URL + SERVICE, iat=NOW, exp=NOW + 301),
    "no-iat": jwt.encode(
        {"iss": ISSUER, "aud": BASE_URL + SERVICE, "exp": NOW + 60, "jti": "no-iat"},
        ES384.key,
        algorithm="ES384",
        headers={"kid": ES384.kid, "typ": "JWT"},
    ),
    "typ-missing": jwt.encode(
        {"iss": ISSUER, "aud": BASE_URL + SERVICE, "iat": NOW, "exp": NOW + 60, "jti": "t"},
        ES384.key,
        algorithm="ES384",
        headers={"kid": ES384.kid, "typ": None},
    ),
    "typ-access-token": ES384.token(BASE_URL + SERVICE, header={"typ": "at+jwt"}),
    "aud-other-service": ES384.token(BASE_URL + "/cds-services/baclofen-order-select"),
    "aud-base-url": ES384.token(BASE_URL),
    "aud-trailing-slash": ES384.token(BASE_URL + SERVICE + "/"),
    "aud-another-cds-service": ES384.token("https://another-cds.example.org" + SERVICE),
    "aud-of-the-test-host": ES384.token("http://testserver" + SERVICE),
    "iss-not-trusted": Signer("ES384", iss="https://rogue.example.test/").token(BASE_URL + SERVICE),
    "unknown-kid": Signer("ES384").token(BASE_URL + SERVICE),
    "kid-of-another-key": jwt.encode(
        {"iss": ISSUER, "aud": BASE_URL + SERVICE, "iat": NOW, "exp": NOW + 300, "jti": "k"},
        Signer("ES384").key,
        algorithm="ES384",
        headers={"kid": ES384.kid, "typ": "JWT"},
    ),
    # Issuer B's own key and kid, but the token says it is from A: keys are per issuer.
    "issuer-b-key-signing-as-a": jwt.encode(
        {"iss": ISSUER, "aud": BASE_URL + SERVICE, "iat": NOW, "exp": NOW + 300, "jti": "cross"},
        OTHER.key,
        algorithm="ES384",
        headers={"kid": OTHER.kid, "typ": "JWT"},
    ),
    "tampered": _tampered(),
    "no-jti": jwt.encode(
        {"iss": ISSUER, "aud": BASE_URL + SERVICE, "iat": NOW, "exp": NOW + 300},
        ES384.key,
        algorithm="ES384",
        headers={"kid": ES384.kid, "typ": "JWT"},
    ),
    "no-kid": jwt.encode(
        {"iss": ISSUER, "aud": BASE_URL + SERVICE, "iat": NOW, "exp": NOW + 300, "jti": "no-kid"},
        ES384.key,
        algorithm="ES384",
        headers={"typ": "JWT"},
    ),
    "jku-not-allowed": ES384.token(
        BASE_URL + SERVICE, header={"jku": "https://rogue.example.test/jwks"}
    ),
    "a-system-key-on-a-hook-call": SYSTEM_KEY,
    "unknown-system-key": new_system_key(),
    "spec-expired-example": (EXAMPLES / "spec-2.0.1/jwt-example-expired.txt").read_text().strip(),
}


@pytest.mark.parametrize("name", sorted(BAD_TOKENS))
def test_untrusted_tokens_are_401(secured: TestClient, name: str) -> None:
    rejected(post(secured, BAD_TOKENS[name]))


def test_a_lifetime_of_exactly_the_cap_is_accepted(secured: TestClient) -> None:
    now = int(time.time())
    assert post(secured, ES384.token(BASE_URL + SERVICE, iat=now, exp=now + 300)).status_code == 200


def test_the_host_header_never_sets_the_audience(secured: TestClient) -> None:
    """A token minted for another CDS service (its own host in `aud`), sent with that host
    in the Host header: the audience is CDS_PUBLIC_BASE_URL, so it is refused."""
    token = ES384.token("https://evil.example.test" + SERVICE)
    response = secured.post(
        SERVICE,
        json=REQUEST,
        headers={
            "Authorization": f"Bearer {token}",
            "Host": "evil.example.test",
            "X-Forwarded-Host": "evil.example.test",
            "X-Forwarded-Proto": "https",
        },
    )
    rejected(response)


def test_the_scheme_must_be_bearer(secured: TestClient) -> None:
    rejected(post(secured, ES384.token(BASE_URL + SERVICE), scheme="Basic"))
    rejected(post(secured, SYSTEM_KEY, path=NATIVE, scheme="Basic", body=NATIVE_BODY))


def test_a_replayed_jti_is_401(secured: TestClient) -> None:
    token = ES384.token(BASE_URL + SERVICE)
    assert post(secured, token).status_code == 200
    rejected(post(secured, token))


def test_a_replay_to_another_worker_is_401(make_client: AppFactory, tmp_path: Path) -> None:
    """Two apps stand for two worker processes: they share only the store, as real workers
    do (and instances do, through PostgreSQL: tests/test_scale_out.py), so a token replayed
    to the other one is still refused."""
    issuers = (Issuer(iss=ISSUER, jwks=_jwks(tmp_path, "a", ES384)),)
    workers = [
        make_client(auth="required", public_base_url=BASE_URL, jwt_issuers=issuers)
        for _ in range(2)
    ]
    token = ES384.token(BASE_URL + SERVICE)
    assert post(workers[0], token).status_code == 200
    rejected(post(workers[1], token))
    rejected(post(workers[0], token))
    assert post(workers[1], ES384.token(BASE_URL + SERVICE)).status_code == 200


def test_the_same_jti_of_another_issuer_is_its_own(secured: TestClient) -> None:
    assert post(secured, ES384.token(BASE_URL + SERVICE, jti="shared-id")).status_code == 200
    assert post(secured, OTHER.token(BASE_URL + SERVICE, jti="shared-id")).status_code == 200


def test_a_replay_memory_that_cannot_be_read_is_503_not_401(secured: TestClient) -> None:
    store = secured.app.state.store  # type: ignore[attr-defined]
    store.problem = "not usable: the disk is gone"
    response = post(secured, ES384.token(BASE_URL + SERVICE))
    assert response.status_code == 503
    assert response.json()["issue"][0]["code"] == "transient"


def test_the_spec_example_key_with_its_published_jwks(make_client: AppFactory) -> None:
    """The key pair published in the spec, its JWK Set configured out of band; the `jku` in
    its header is allowed for that issuer but never fetched (the no-network transport would
    fail)."""
    client = make_client(
        auth="required",
        public_base_url="https://cds.example.org",
        jwt_issuers=(
            Issuer(
                iss="https://fhir-ehr.example.com/",
                jwks=str(EXAMPLES / "spec-2.0.1/jwks-public.json"),
                jku=("https://fhir-ehr.example.com/jwk_uri",),
            ),
        ),
    )
    assert post(client, SPEC_KEY.token("https://cds.example.org" + SERVICE)).status_code == 200
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
        auth="required",
        public_base_url=BASE_URL,
        jwt_issuers=(Issuer(iss=ISSUER, jku=(jku,)),),
        transport=httpx.MockTransport(serve),
    )
    assert post(client, signer.token(BASE_URL + SERVICE)).status_code == 200
    assert post(client, signer.token(BASE_URL + SERVICE)).status_code == 200
    assert fetched == [jku], "the key set is cached"


def test_a_jku_allowed_for_one_issuer_is_not_for_another(
    make_client: AppFactory, tmp_path: Path
) -> None:
    """Issuer B may publish keys at its jku; a token that says it is from A and points at
    B's jku (where the attacker, or B, holds the key) is refused before anything is
    fetched."""
    jku = "https://other-ehr.example.test/jwks.json"
    attacker = Signer("ES384", iss=ISSUER, jku=jku)
    client = make_client(
        auth="required",
        public_base_url=BASE_URL,
        jwt_issuers=(
            Issuer(iss=ISSUER, jwks=_jwks(tmp_path, "a", ES384)),
            Issuer(iss=OTHER_ISSUER, jku=(jku,)),
        ),
    )
    rejected(post(client, attacker.token(BASE_URL + SERVICE)))


def test_key_sets_are_fetched_over_https_only() -> None:
    for url in ("http://ehr.example.test/jwks.json", "http://127.0.0.1:8080/jwks.json"):
        for field in ("jwks", "jku"):
            value: Any = url if field == "jwks" else (url,)
            with pytest.raises(ValidationError, match="must use https"):
                CdsSettings(
                    auth="required",
                    public_base_url=BASE_URL,
                    jwt_issuers=(Issuer(iss=ISSUER, **{field: value}),),
                )
    # A loopback test bench may serve its key set over http; nothing else may.
    CdsSettings(
        auth="required",
        public_base_url=BASE_URL,
        test_bench=True,
        jwt_issuers=(Issuer(iss=ISSUER, jku=("http://127.0.0.1:8080/jwks.json",)),),
    )
    with pytest.raises(ValidationError, match="must use https"):
        CdsSettings(
            auth="required",
            public_base_url=BASE_URL,
            test_bench=True,
            jwt_issuers=(Issuer(iss=ISSUER, jku=("http://ehr.example.test/j",)),),
        )


def test_a_key_set_url_that_redirects_is_not_followed(make_client: AppFactory) -> None:
    jku = "https://ehr.example.test/jwks.json"
    signer = Signer("ES384", jku=jku)
    seen: list[str] = []

    def serve(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(302, headers={"location": "https://attacker.example/jwks"})

    client = make_client(
        auth="required",
        public_base_url=BASE_URL,
        jwt_issuers=(Issuer(iss=ISSUER, jku=(jku,)),),
        transport=httpx.MockTransport(serve),
    )
    rejected(post(client, signer.token(BASE_URL + SERVICE)))
    assert set(seen) == {jku}


def _gzip(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


class _KeySetServer(BaseHTTPRequestHandler):
    answer: tuple[str | None, bytes] = (None, b"")

    def do_GET(self) -> None:
        encoding, data = self.answer
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if encoding:
            self.send_header("Content-Encoding", encoding)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the service stops reading past its cap
            self.wfile.write(data)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.mark.parametrize(
    ("case", "accepted"),
    [("gzipped", True), ("large", False), ("bomb", False), ("truncated", False)],
)
def test_a_key_set_is_read_under_its_size_cap(
    make_client: AppFactory, case: str, accepted: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """A key set is a few KB. Its whole body used to be read (and inflated) into memory
    before its size was looked at: a 64 MB gzip bomb from a trusted issuer's jku grew the
    worker by as much. Now it is read as the FHIR answers are, under a cap (256 KiB)."""
    signer = Signer("ES384")
    keys = json.dumps(signer.jwks()).encode()
    _KeySetServer.answer = {
        "gzipped": ("gzip", _gzip(keys)),
        "large": (None, keys[:-1] + b', "pad": "' + b" " * (300 << 10) + b'"}'),
        "bomb": ("gzip", _gzip(b'{"keys": [], "pad": "' + b" " * (64 << 20) + b'"}')),
        "truncated": ("gzip", _gzip(keys)[:-12]),
    }[case]
    with local_fhir_server(_KeySetServer) as base:
        jku = f"{base}/jwks.json"
        signer.jku = jku
        client = make_client(
            auth="required",
            public_base_url=BASE_URL,
            jwt_issuers=(Issuer(iss=ISSUER, jku=(jku,)),),
            transport=None,
            test_bench=True,
        )
        started = time.monotonic()
        tracemalloc.start()
        try:
            with caplog.at_level(logging.ERROR):
                response = post(client, signer.token(BASE_URL + SERVICE))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < 16 << 20, f"{peak} bytes at the peak"
    if accepted:
        assert response.status_code == 200, response.text
    else:
        rejected(response)
        assert "could not be read: UnreadableBody" in caplog.text
    assert time.monotonic() - started < 3.0


# ---- the native API, feedback and the documentation -------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", NATIVE),
        ("GET", "/v1/rules"),
        ("GET", "/docs"),
        ("GET", "/redoc"),
        ("GET", "/openapi.json"),
        ("POST", FEEDBACK),
        ("GET", "/cds-services"),
    ],
)
def test_every_api_and_the_docs_need_a_credential(
    secured: TestClient, method: str, path: str
) -> None:
    body = NATIVE_BODY if path == NATIVE else example("spec-2.0.1/feedback-accepted.json")
    response = secured.request(method, path, json=body if method == "POST" else None)
    rejected(response)
    response = secured.request(
        method,
        path,
        json=body if method == "POST" else None,
        headers={"Authorization": f"Bearer {SYSTEM_KEY}"},
    )
    assert response.status_code == 200, response.text


def test_the_native_api_takes_the_same_jwts(secured: TestClient) -> None:
    assert (
        post(secured, ES384.token(BASE_URL + NATIVE), path=NATIVE, body=NATIVE_BODY).status_code
        == 200
    )
    rejected(post(secured, ES384.token(BASE_URL + SERVICE), path=NATIVE, body=NATIVE_BODY))


def test_feedback_records_who_sent_it(secured: TestClient) -> None:
    body = example("spec-2.0.1/feedback-overridden.json")
    assert post(secured, SYSTEM_KEY, path=FEEDBACK, body=body).status_code == 200
    (row,) = secured.app.state.store.feedback()  # type: ignore[attr-defined]
    assert row["client"] == "system-key:lab-system"


@pytest.mark.parametrize("path", ["/livez", "/readyz", "/healthz", "/metrics"])
def test_probes_stay_open(secured: TestClient, path: str) -> None:
    assert secured.get(path).status_code == 200


def test_a_key_is_stored_as_its_digest_only() -> None:
    key = new_system_key()
    assert key.startswith("bcds_") and len(key) >= 45  # 256 random bits
    entry = SystemKey.parse(f"x:{hashlib.sha256(key.encode()).hexdigest()}")
    assert entry.matches(key) and not entry.matches(key + "x")
    assert key not in repr(entry)


# ---- the setting itself --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"CDS_AUTH": "enabled"}, "CDS_AUTH='enabled': Input should be 'open' or 'required'"),
        ({"CDS_AUTH": "yes"}, "CDS_AUTH='yes'"),
        ({"CDS_JWT_REQUIRED": "enabled"}, "CDS_JWT_REQUIRED is no longer read"),
        ({"CDS_JWT_REQUIRED": "true"}, "CDS_JWT_REQUIRED is no longer read"),
        # the settings are read whatever the case, and so are the retired ones
        ({"cds_jwt_required": "true"}, "cds_jwt_required is no longer read"),
        ({"CDS_AUTH": "required"}, "configure CDS_JWT_ISSUERS"),
        (
            {
                "CDS_AUTH": "required",
                "CDS_JWT_ISSUERS": json.dumps(
                    [{"iss": ISSUER, "jku": ["https://ehr.example.test/jwks"]}]
                ),
            },
            "CDS_PUBLIC_BASE_URL: required",
        ),
        (
            {"CDS_JWT_ISSUERS": json.dumps([{"iss": ISSUER, "jku": ["https://e.example/j"]}])},
            "but CDS_AUTH is open",
        ),
        ({"HOST": "0.0.0.0"}, "cannot default to open"),
        ({"HOST": "10.1.2.3", "CDS_AUTH": ""}, "cannot default to open"),
        ({"CDS_JWT_ALGORITHMS": "ES384,HS256"}, "HS256 not allowed"),
        ({"CDS_JWT_ALGORITHMS": "none"}, "none not allowed"),
        ({"CDS_JWT_MAX_LIFETIME_S": "86400"}, "CDS_JWT_MAX_LIFETIME_S"),
        ({"CDS_SYSTEM_KEYS": "lab:plaintext-key"}, "sha256"),
        ({"CDS_TEST_BENCH": "sometimes"}, "CDS_TEST_BENCH"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_unknown_or_unsafe_settings_refuse_to_start(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], says: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises((ValidationError, ValueError)) as caught:
        CdsSettings.load()
    assert says in "; ".join(problems(caught.value))


def test_open_mode_is_the_default_on_loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    for host in ("127.0.0.1", "::1", "localhost", "127.0.0.2"):
        monkeypatch.setenv("HOST", host)
        assert CdsSettings.load().auth_mode == "open"
    monkeypatch.setenv("HOST", "0.0.0.0")
    monkeypatch.setenv("CDS_AUTH", "open")
    assert CdsSettings.load().auth_mode == "open"  # asked for: allowed, with a warning


def test_the_mode_is_logged_at_start_up(
    make_client: AppFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="api.cds_hooks"):
        make_client()
        make_client(auth="open", bind_host="0.0.0.0")
        make_client(auth="required", system_keys=(KEY_ENTRY,))
    modes = [r.getMessage() for r in caplog.records if getattr(r, "event", "") == "auth_mode"]
    assert modes == ["authentication open: no authentication"] * 2 + [
        "authentication required: 0 JWT issuer(s), 1 system key(s)"
    ]
    (warning,) = [r for r in caplog.records if getattr(r, "event", "") == "auth_open_exposed"]
    assert warning.levelno == logging.WARNING and "0.0.0.0" in warning.getMessage()


@pytest.mark.parametrize("how", ["HOST", "GUNICORN_CMD_ARGS"])
def test_a_server_on_another_address_does_not_start_without_cds_auth(how: str) -> None:
    """The real start-up (gunicorn's configuration): exit status 2, the variable named,
    whether the address comes from HOST or from gunicorn's own options."""
    import subprocess

    from bench.server import GUNICORN, ROOT, free_port

    env = {k: v for k, v in os.environ.items() if not k.startswith("CDS_") and k != "HOST"}
    port = str(free_port())
    env.update(
        {"HOST": "0.0.0.0", "PORT": port}
        if how == "HOST"
        else {"GUNICORN_CMD_ARGS": f"--bind 0.0.0.0:{port}"}
    )
    done = subprocess.run(
        GUNICORN,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "WORKERS": "1"},
        check=False,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "CDS_AUTH" in done.stderr and "cannot default to open" in done.stderr
