"""Authenticating the CDS client: the signed JWT every call carries when trust is configured.

Spec 2.0.1 "Trusting CDS Clients" and the cds-hooks.org best practices: the `iss` and any
`jku` must be on the allow-list; `aud` must be exactly the URL of the endpoint called; `exp`
must not be past; the signature must verify with the client's public key (a JWK Set
configured out of band, as a file or URL, or fetched from an allowed `jku`); a `jti` is
accepted once, across worker processes (api/cds_hooks/replay.py). `none` and symmetric
(HS*) algorithms are never accepted. Failures answer 401 without saying why (the reason goes
to the log, never the token itself).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import httpx
import jwt

from api.cds_hooks.replay import ReplayCache
from api.cds_hooks.settings import JwtSettings

log = logging.getLogger("api.cds_hooks.security")

JWKS_TTL_S = 300.0  # a rotating key set is re-read at most every five minutes
JWKS_REFRESH_ON_MISS_S = 30.0  # an unknown kid may re-read it sooner, but not on every call


class Unauthorized(Exception):
    """The request does not carry a token we trust. The message is for the log only."""


class JwtVerifier:
    def __init__(self, settings: JwtSettings) -> None:
        self.settings = settings
        self._replays = ReplayCache(settings.jti_db, settings.leeway_s)
        self._sets: dict[str, tuple[float, dict[str, Any]]] = {}

    async def verify(self, authorization: str | None, audience: str) -> dict[str, Any]:
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("no bearer token")
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"malformed token ({type(exc).__name__})") from None
        alg = header.get("alg")
        if alg not in self.settings.algorithms:
            raise Unauthorized(f"algorithm {alg!r} is not accepted")
        if unverified.get("iss") not in self.settings.issuers:
            raise Unauthorized(f"issuer {unverified.get('iss')!r} is not on the allow-list")
        jku = header.get("jku")
        if jku is not None and jku not in self.settings.jku_allowlist:
            raise Unauthorized(f"jku {jku!r} is not on the allow-list")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthorized("no kid in the header")
        key = await self._key(kid, alg, jku)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=audience,
                leeway=self.settings.leeway_s,
                options={"require": ["iss", "aud", "exp", "iat", "jti"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"{type(exc).__name__}: {exc}") from None
        self._once(str(claims["iss"]), str(claims["jti"]), float(claims["exp"]))
        return claims

    def _once(self, iss: str, jti: str, exp: float) -> None:
        if not self._replays.first_use(iss, jti, exp):
            raise Unauthorized(f"jti {jti!r} was already used")

    async def _key(self, kid: str, alg: str, jku: str | None) -> Any:
        sources = [s for s in (self.settings.jwks, jku) if s]
        for source in sources:
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
        raise Unauthorized(f"no key {kid!r} in the configured key sets")

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
                async with httpx.AsyncClient(
                    timeout=3.0, transport=self.settings.transport
                ) as client:
                    response = await client.get(source, headers={"Accept": "application/json"})
                    response.raise_for_status()
                    jwks = response.json()
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
