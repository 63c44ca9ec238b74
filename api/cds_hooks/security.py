"""Verifying a CDS client's signed JWT (spec 2.0.1 "Trusting CDS Clients", cds-hooks.org best
practices; SMART Backend Services for the lifetime cap).

- `iss` must be a configured issuer, and the signature must verify with *that issuer's* keys:
  its JWK Set configured out of band, or the key set at a `jku` its entry allows. A key of
  issuer A never verifies a token that says it is from B.
- `typ` is JWT; `alg` one of CDS_JWT_ALGORITHMS (never `none`, never HS*); a `kid` names the
  key.
- `aud` is exactly CDS_PUBLIC_BASE_URL plus the path called (never the Host header).
- `exp` is not past, `iat` not in the future (both within CDS_JWT_LEEWAY_S), and `exp - iat`
  is at most CDS_JWT_MAX_LIFETIME_S (5 minutes by default): a token valid for years is
  refused, however well signed.
- `jti` is accepted once per issuer, in the store every instance shares (api/store/), until
  the token would have expired.
- Key sets are fetched over https only (plain http from loopback on a test bench), through
  the address-checking transport (api/outbound.py), never following redirects.

Failures raise Unauthorized, whose message is for the log only (never the token): clients get
a 401 that says nothing more.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
from starlette.concurrency import run_in_threadpool

from api.cds_hooks.settings import CdsSettings, Issuer
from api.outbound import PinnedTransport, policy_from, read_capped
from api.store import Store, StoreError

log = logging.getLogger("api.auth")

JWKS_TTL_S = 300.0  # a rotating key set is re-read at most every five minutes
JWKS_REFRESH_ON_MISS_S = 30.0  # an unknown kid may re-read it sooner, but not on every call
MAX_JWKS_BYTES = 256 * 1024


class Unauthorized(Exception):
    """The request does not carry a credential we trust. The message is for the log only."""


class StoreUnavailable(Exception):
    """The replay memory cannot be consulted: the request cannot be authenticated now (503),
    which is not the client's fault (401)."""


class JwtVerifier:
    def __init__(self, settings: CdsSettings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self._sets: dict[str, tuple[float, dict[str, Any]]] = {}

    async def verify(self, token: str, audience: str) -> dict[str, Any]:
        settings = self.settings
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"malformed token ({type(exc).__name__})") from None
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.upper() != "JWT":
            raise Unauthorized(f"typ {typ!r} is not JWT")
        alg = header.get("alg")
        if alg not in settings.jwt_algorithms:
            raise Unauthorized(f"algorithm {alg!r} is not accepted")
        iss = unverified.get("iss")
        issuer = settings.issuer(iss) if isinstance(iss, str) else None
        if issuer is None:
            raise Unauthorized(f"issuer {str(unverified.get('iss'))[:100]!r} is not trusted")
        jku = header.get("jku")
        if jku is not None and jku not in issuer.jku:
            raise Unauthorized(f"jku {str(jku)[:200]!r} is not allowed for {issuer.iss}")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthorized("no kid in the header")
        key = await self._key(issuer, kid, alg, jku)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=audience,
                issuer=issuer.iss,
                leeway=settings.jwt_leeway_s,
                options={"require": ["iss", "aud", "exp", "iat", "jti"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"{type(exc).__name__}: {exc}") from None
        lifetime = float(claims["exp"]) - float(claims["iat"])
        if lifetime > settings.jwt_max_lifetime_s:
            raise Unauthorized(
                f"lifetime {lifetime:.0f} s is over the {settings.jwt_max_lifetime_s} s allowed"
            )
        jti = claims["jti"]
        if not isinstance(jti, str) or not jti or len(jti) > 256:
            raise Unauthorized("jti is not a string of 1 to 256 characters")
        until = float(claims["exp"]) + settings.jwt_leeway_s
        try:
            first = await run_in_threadpool(self.store.first_use, issuer.iss, jti, until)
        except StoreError as exc:
            raise StoreUnavailable(str(exc)) from None
        if not first:
            raise Unauthorized(f"jti {jti[:100]!r} was already used")
        return claims

    async def _key(self, issuer: Issuer, kid: str, alg: str, jku: str | None) -> Any:
        for source in [s for s in (issuer.jwks, jku) if s]:
            for refresh in (False, True):
                jwks = await self._load(source, refresh)
                for jwk in jwks.get("keys", []):
                    if isinstance(jwk, dict) and jwk.get("kid") == kid:
                        if jwk.get("alg") not in (None, alg):
                            raise Unauthorized(f"key {kid!r} is for {jwk.get('alg')}, not {alg}")
                        try:
                            return jwt.PyJWK(jwk, algorithm=alg).key
                        except jwt.PyJWTError as exc:
                            raise Unauthorized(f"key {kid!r} unusable: {exc}") from None
        raise Unauthorized(f"no key {kid!r} in the key sets of {issuer.iss}")

    async def _load(self, source: str, refresh: bool) -> dict[str, Any]:
        cached = self._sets.get(source)
        age = time.monotonic() - cached[0] if cached else None
        if (
            cached
            and age is not None
            and (age < JWKS_TTL_S and not (refresh and age > JWKS_REFRESH_ON_MISS_S))
        ):
            return cached[1]
        try:
            if source.startswith(("https://", "http://")):
                jwks = await self._fetch(source)
            else:
                jwks = json.loads(Path(source).read_text(encoding="utf-8"))
        except (httpx.HTTPError, OSError, ValueError) as exc:
            log.error("JWK Set %s could not be read: %s", source, type(exc).__name__)
            if cached:
                return cached[1]
            raise Unauthorized(f"JWK Set {source} could not be read") from None
        if not isinstance(jwks, dict):
            raise Unauthorized(f"JWK Set {source} is not a JWK Set")
        self._sets[source] = (time.monotonic(), jwks)
        return jwks

    async def _fetch(self, url: str) -> Any:
        transport = self.settings.transport or PinnedTransport(
            policy_from(self.settings.fhir_private_networks, self.settings.test_bench)
        )
        async with httpx.AsyncClient(
            timeout=3.0, transport=transport, follow_redirects=False, trust_env=False
        ) as client:
            # Streamed and read under the cap: a key set is a few KB, and the whole body used
            # to be read (and inflated) into memory before its size was looked at.
            async with client.stream(
                "GET", url, headers={"Accept": "application/json"}
            ) as response:
                if response.status_code != 200:
                    raise httpx.HTTPStatusError(
                        f"HTTP {response.status_code}", request=response.request, response=response
                    )
                return json.loads(await read_capped(response, MAX_JWKS_BYTES))
