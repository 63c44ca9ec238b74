"""Who may open the console when CDS_AUTH=required: the same credentials as the APIs.

A browser cannot attach `Authorization: Bearer` to a page it navigates to, so the console
signs it in once: the sign-in form takes a system key (`bcds_...`) or a JWT of a trusted
issuer whose `aud` is CDS_PUBLIC_BASE_URL + /console/login (its jti is used up, as on the
APIs), checks it with the APIs' own code (api/auth.py), and sets a session cookie: signed
with CDS_CONSOLE_SECRET (Starlette's SessionMiddleware, itsdangerous), `Secure`, `HttpOnly`,
`SameSite=Strict`, path /console, ending after CDS_CONSOLE_SESSION_HOURS. The cookie holds the
caller's name and the session's end, never the credential. Without CDS_CONSOLE_SECRET there
is no sign-in; a page still opens for a request that carries a bearer credential itself (a
script fetching the CSV with a system key).

The console's forms post urlencoded (api/limits.py lets them through): a post that a
browser says came from another site is refused (Sec-Fetch-Site, else Origin), on top of the
SameSite cookie. In the open mode the console is open, as the APIs are.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request

from api import auth
from api.cds_hooks.security import StoreUnavailable, Unauthorized
from api.cds_hooks.settings import CdsSettings

log = logging.getLogger("api.console")

COOKIE = "bcds_console"
LOGIN = "/console/login"


class NeedsSignIn(Exception):
    """The page needs a signed-in browser (or a bearer credential)."""


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def main_app(request: Request) -> Any:
    return request.app.state.main


def settings_of(request: Request) -> CdsSettings:
    settings: CdsSettings = main_app(request).state.cds_settings
    return settings


def session_of(request: Request) -> dict[str, Any] | None:
    session = request.scope.get("session")
    return session if isinstance(session, dict) else None


def signed_in_as(request: Request) -> str | None:
    session = session_of(request)
    if session and isinstance(session.get("who"), str):
        until = session.get("until")
        if isinstance(until, int | float) and until > time.time():
            return str(session["who"])
        session.clear()
    return None


async def require(request: Request) -> str | None:
    """The caller's name (None in the open mode); raises NeedsSignIn."""
    settings = settings_of(request)
    if settings.auth_mode == "open":
        return None
    who = signed_in_as(request)
    if who:
        return who
    try:
        token = auth.bearer(request.scope)
    except Unauthorized:
        raise NeedsSignIn() from None
    audience = f"{settings.public_base_url}{request.url.path}"
    try:
        principal = await auth.verify(main_app(request), settings, token, audience)
    except Unauthorized as exc:
        log.warning("console refused", extra={"event": "unauthenticated", "reason": str(exc)})
        raise NeedsSignIn() from None
    except StoreUnavailable:
        raise Refused(503, "The credential could not be checked now; retry later.") from None
    return principal.label


async def sign_in(request: Request, credential: str) -> str:
    """Check the credential as the APIs would and start the session; the caller's name.
    Raises Unauthorized (the reason is logged, never the credential) or Refused."""
    settings = settings_of(request)
    session = session_of(request)
    if session is None or settings.console_secret is None:
        raise Refused(503, "Sign-in is not configured on this server (CDS_CONSOLE_SECRET).")
    audience = f"{settings.public_base_url}{LOGIN}"
    try:
        principal = await auth.verify(main_app(request), settings, credential.strip(), audience)
    except Unauthorized as exc:
        log.warning(
            "console sign-in refused", extra={"event": "unauthenticated", "reason": str(exc)}
        )
        raise
    except StoreUnavailable:
        raise Refused(503, "The credential could not be checked now; retry later.") from None
    session.clear()
    session.update(who=principal.label, until=time.time() + settings.console_session_hours * 3600)
    log.info("console sign-in", extra={"event": "console_sign_in", "who": principal.label})
    return principal.label


def sign_out(request: Request) -> None:
    session = session_of(request)
    if session is not None:
        session.clear()


def same_origin(request: Request) -> bool:
    """Whether a form post comes from the console itself, as far as the browser says."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    own = {f"{request.url.scheme}://{request.headers.get('host', '')}"}
    base = settings_of(request).public_base_url
    if base:
        parts = urlsplit(base)
        own.add(f"{parts.scheme}://{parts.netloc}")
    return origin in own


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a console page, never another site."""
    if target and target.startswith("/console/") and not target.startswith("//"):
        return target
    return "/console/"
