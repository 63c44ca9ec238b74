"""The test's EHR: calls the services like a CDS client does, signing each call with a JWT
(ES384 or RS384; a fresh jti, `aud` = the exact endpoint URL) when given a key."""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient

EXAMPLES = Path(__file__).resolve().parent / "examples"
BASE_URL = "https://cds.example.test"  # CDS_PUBLIC_BASE_URL of the test apps: the JWT audience
ISSUER = "https://ehr.example.test/"


class Signer:
    """A CDS client's signing key and the public JWK Set it publishes."""

    def __init__(
        self,
        alg: str = "ES384",
        kid: str | None = None,
        iss: str = ISSUER,
        private_jwk: dict[str, Any] | None = None,
        jku: str | None = None,
    ) -> None:
        self.alg, self.iss, self.jku = alg, iss, jku
        if private_jwk is not None:
            self.kid = private_jwk["kid"]
            self.key: Any = jwt.PyJWK(private_jwk, algorithm=alg).key
        else:
            self.kid = kid or f"test-{alg.lower()}-{uuid.uuid4().hex[:8]}"
            self.key = (
                ec.generate_private_key(ec.SECP384R1())
                if alg.startswith("ES")
                else rsa.generate_private_key(public_exponent=65537, key_size=2048)
            )

    def jwks(self) -> dict[str, Any]:
        public = json.loads(
            jwt.algorithms.get_default_algorithms()[self.alg].to_jwk(self.key.public_key())
        )
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": self.alg}]}

    def token(
        self, aud: str | list[str], *, header: dict[str, Any] | None = None, **claims: Any
    ) -> str:
        now = int(time.time())
        payload = {
            "iss": self.iss,
            "aud": aud,
            "iat": now,
            "exp": now + 300,
            "jti": str(uuid.uuid4()),
            **claims,
        }
        head = {
            "kid": self.kid,
            "typ": "JWT",
            **({"jku": self.jku} if self.jku else {}),
            **(header or {}),
        }
        return jwt.encode(payload, self.key, algorithm=self.alg, headers=head)

    def headers(self, path: str, **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(BASE_URL + path, **claims)}"}


def call(
    client: TestClient,
    request: dict[str, Any],
    service: str | None = None,
    signer: Signer | None = None,
) -> httpx.Response:
    path = f"/cds-services/{service or 'baclofen-' + request['hook']}"
    return client.post(path, json=request, headers=signer.headers(path) if signer else None)


def topic_codes(body: dict[str, Any]) -> list[str]:
    return sorted(card["source"]["topic"]["code"] for card in body["cards"])


def without_uuids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_uuids(v) for k, v in value.items() if k != "uuid"}
    if isinstance(value, list):
        return [without_uuids(v) for v in value]
    return value


_VERSION_LINE = re.compile(r"(Baclofen safety checks )[0-9][^\s,_]*")
VERSION_TOKEN = "{ruleset_version}"


def comparable(value: Any) -> Any:
    """Cards (or a native response) as golden files and documentation examples hold them:
    without uuids, and with the ruleset version (in each card's detail) as a token, so that a
    new release does not rewrite every example (tests/test_release.py checks the version every
    card carries)."""
    if isinstance(value, dict):
        return {
            k: (VERSION_TOKEN if k == "ruleset_version" and isinstance(v, str) else comparable(v))
            for k, v in value.items()
            if k != "uuid"
        }
    if isinstance(value, list):
        return [comparable(v) for v in value]
    if isinstance(value, str):
        return _VERSION_LINE.sub(lambda m: f"{m[1]}{VERSION_TOKEN}", value)
    return value


def example(relative: str) -> Any:
    return json.loads((EXAMPLES / relative).read_text(encoding="utf-8"))
