"""Who may call: one gate in front of both APIs and their documentation (CDS_AUTH).

- `open`: nobody is authenticated. The default only while the service listens on a
  loopback address; on any other address it must be asked for (CDS_AUTH=open), and a
  warning is logged at every start.
- `required`: every call to the native API (/v1/...), the CDS Hooks service (/cds-services...)
  and the documentation (/docs, /redoc, /openapi.json) carries `Authorization: Bearer <x>`,
  where x is
  - a JWT of a trusted issuer (api/cds_hooks/security.py), whose `aud` is the public base
    URL plus the path called; the CDS Hooks services themselves (POST /cds-services/<id>)
    take only these, since the issuer decides which FHIR servers the call may reach;
  - or a system key (`bcds_...`, made by `baclofen-cds system-key NAME`) of a
    system-to-system caller: the native API, feedback, discovery and the documentation.

Keys are stored as SHA-256 digests (CDS_SYSTEM_KEYS=name:sha256hex) and compared in
constant time. A key is 256 random bits, so a fast hash is enough: no dictionary or guess
reaches it, and a slow password hash (argon2, scrypt) would only add ~50 ms to every call
for nothing; a leaked configuration reveals no key.

The console (/console/) has its own gate (api/console/session.py): a browser signs in once
with the same credentials and gets a session cookie. The liveness, readiness, /healthz and
/metrics endpoints stay open (probes and scrapers
reach them on the instance, not through the proxy). CORS preflight is answered before this
gate (browsers send no credentials on it). A refusal is 401 with `WWW-Authenticate: Bearer`
and no reason (the reason is logged, never the credential); when the replay memory cannot
be consulted, 503.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from api.cds_hooks.security import JwtVerifier, StoreUnavailable, Unauthorized
from api.cds_hooks.settings import CdsSettings

log = logging.getLogger("api.auth")

KEY_PREFIX = "bcds_"
PROTECTED = ("/v1/", "/cds-services", "/docs", "/redoc", "/openapi.json")


@dataclass(frozen=True)
class Principal:
    kind: str  # "jwt" or "system-key"
    name: str  # the JWT's iss, or the key's name

    @property
    def label(self) -> str:
        return self.name if self.kind == "jwt" else f"system-key:{self.name}"


def new_system_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def _protected(path: str) -> bool:
    return path.startswith(PROTECTED)


def _jwt_only(scope: Scope) -> bool:
    """A CDS Hooks service call (not discovery, not feedback)."""
    path = str(scope.get("path", ""))
    return (
        scope.get("method") == "POST"
        and path.startswith("/cds-services/")
        and not path.endswith("/feedback")
    )


class Authenticate:
    """Pure ASGI, outside the body-reading middlewares: a caller without a credential is
    refused before its body is read."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _protected(str(scope.get("path", ""))):
            await self.app(scope, receive, send)
            return
        app: Any = scope["app"]
        settings: CdsSettings = app.state.cds_settings
        if settings.auth_mode == "open":
            await self.app(scope, receive, send)
            return
        try:
            principal = await self._principal(app, settings, scope)
        except Unauthorized as exc:
            log.warning(
                "call refused",
                extra={"event": "unauthenticated", "path": scope.get("path"), "reason": str(exc)},
            )
            await _refuse(scope, send, 401)
            return
        except StoreUnavailable as exc:
            log.error("call not authenticated: the replay memory is unavailable: %s", exc)
            await _refuse(scope, send, 503)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)

    async def _principal(self, app: Any, settings: CdsSettings, scope: Scope) -> Principal:
        audience = f"{settings.public_base_url}{scope.get('path', '')}"
        return await verify(app, settings, _bearer(scope), audience, jwt_only=_jwt_only(scope))


async def verify(
    app: Any, settings: CdsSettings, token: str, audience: str, *, jwt_only: bool = False
) -> Principal:
    """The caller a credential names: a system key (unless `jwt_only`), or a JWT of a trusted
    issuer for `audience` (its jti is used up). Raises Unauthorized. The API gate and the
    console's sign-in (api/console/session.py) both call this."""
    if token.startswith(KEY_PREFIX):
        if jwt_only:
            raise Unauthorized("a system key on a CDS Hooks service call (JWT only)")
        for key in settings.system_keys:
            if key.matches(token):
                return Principal("system-key", key.name)
        raise Unauthorized("unknown system key")
    if not settings.jwt_issuers:
        raise Unauthorized("a JWT, but no issuer is trusted")
    verifier: JwtVerifier | None = getattr(app.state, "jwt_verifier", None)
    if (
        verifier is None
        or verifier.settings is not settings
        or verifier.store is not app.state.store
    ):
        verifier = app.state.jwt_verifier = JwtVerifier(settings, app.state.store)
    claims = await verifier.verify(token, audience)
    return Principal("jwt", str(claims["iss"]))


def bearer(scope: Scope) -> str:
    """The bearer credential of a request; raises Unauthorized."""
    return _bearer(scope)


def _bearer(scope: Scope) -> str:
    values = [v for k, v in scope.get("headers", ()) if k == b"authorization"]
    if len(values) != 1:
        raise Unauthorized(
            "no Authorization header" if not values else "more than one Authorization header"
        )
    header: bytes = values[0]
    scheme, _, token = header.decode("latin-1").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("not a bearer credential")
    return token


def principal_of(scope_state: Any) -> Principal | None:
    found = getattr(scope_state, "principal", None)
    return found if isinstance(found, Principal) else None


async def _refuse(scope: Scope, send: Send, status: int) -> None:
    cds = str(scope.get("path", "")).startswith("/cds-services")
    if status == 401:
        message = "The request could not be authenticated."
        body: dict[str, Any] = (
            {
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "error", "code": "login", "diagnostics": message}],
            }
            if cds
            else {"error": "unauthorized", "message": message}
        )
    else:
        message = "The request could not be authenticated now; retry later."
        body = (
            {
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "error", "code": "transient", "diagnostics": message}],
            }
            if cds
            else {"error": "unavailable", "message": message}
        )
    data = orjson.dumps(body)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    else:
        headers.append((b"retry-after", b"5"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})
