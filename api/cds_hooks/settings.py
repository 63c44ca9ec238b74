"""Configuration of the CDS Hooks service, read once from the environment at start-up.

Read at app creation so that a bad setting (JWT on without a key set, an unparsable number)
stops the boot instead of rejecting a clinician's order later.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

DEFAULT_FEEDBACK_DB = Path("var") / "cds-feedback.sqlite3"
DEFAULT_JTI_DB = Path("var") / "cds-jti.sqlite3"


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _list(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


@dataclass(frozen=True)
class JwtSettings:
    """Trust in CDS clients (spec 2.0.1 "Trusting CDS Clients"; cds-hooks.org best practices)."""

    issuers: tuple[str, ...]
    jwks: str | None = None  # a JWK Set file path or an https URL, configured out of band
    jku_allowlist: tuple[str, ...] = ()
    algorithms: tuple[str, ...] = ("ES384", "RS384")
    leeway_s: float = 30.0  # clock skew between EHR and service
    # Accepted jti values, shared by the worker processes; None keeps them in this process.
    jti_db: Path | None = None
    # Tests pass a MockTransport; production uses the network.
    transport: httpx.AsyncBaseTransport | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        bad = [a for a in self.algorithms if a.lower() == "none" or a.upper().startswith("HS")]
        if bad:
            # Spec: JWTs SHALL NOT be signed with none or a symmetric algorithm.
            raise ValueError(f"CDS_JWT_ALGORITHMS: {', '.join(bad)} is not allowed")
        if not self.issuers:
            raise ValueError("CDS_JWT_ISSUERS: JWT verification is on but no issuer is trusted")
        if not (self.jwks or self.jku_allowlist):
            raise ValueError(
                "CDS_JWT_JWKS or CDS_JWT_JKU_ALLOWLIST: JWT verification is on "
                "but no key source is configured"
            )


@dataclass(frozen=True)
class CdsSettings:
    feedback_db: Path = DEFAULT_FEEDBACK_DB
    jwt: JwtSettings | None = None  # None: no client authentication (local use)
    # The externally visible base URL (behind a proxy); the JWT `aud` is checked against it.
    public_base_url: str | None = None
    fhir_timeout_s: float = 2.0
    # When set, the service fetches only from FHIR servers under these base URLs.
    fhir_server_allowlist: tuple[str, ...] = ()
    transport: httpx.AsyncBaseTransport | None = field(default=None, compare=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> CdsSettings:
        env = os.environ if env is None else env
        jwt = None
        if _flag(env.get("CDS_JWT_REQUIRED")):
            jwt = JwtSettings(
                issuers=_list(env.get("CDS_JWT_ISSUERS")),
                jwks=env.get("CDS_JWT_JWKS") or None,
                jku_allowlist=_list(env.get("CDS_JWT_JKU_ALLOWLIST")),
                algorithms=_list(env.get("CDS_JWT_ALGORITHMS")) or ("ES384", "RS384"),
                leeway_s=float(env.get("CDS_JWT_LEEWAY_S", "30")),
                jti_db=Path(env.get("CDS_JTI_DB") or DEFAULT_JTI_DB),
            )
            if jwt.jwks and not jwt.jwks.startswith(("https://", "http://")):
                if not Path(jwt.jwks).is_file():
                    raise ValueError(f"CDS_JWT_JWKS: {jwt.jwks} is not a file")
        return cls(
            feedback_db=Path(env.get("CDS_FEEDBACK_DB") or DEFAULT_FEEDBACK_DB),
            jwt=jwt,
            public_base_url=(env.get("CDS_PUBLIC_BASE_URL") or "").rstrip("/") or None,
            fhir_timeout_s=float(env.get("CDS_FHIR_TIMEOUT_S", "2")),
            fhir_server_allowlist=_list(env.get("CDS_FHIR_SERVER_ALLOWLIST")),
        )


def cors_options(env: Mapping[str, str] | None = None) -> dict[str, object]:
    """CORS for browser-based CDS clients (spec 2.0.1 "Cross-Origin Resource Sharing").

    Bearer tokens travel in the Authorization header, so credentials (cookies) are never
    allowed; origins default to any and can be narrowed with CDS_CORS_ORIGINS.
    """
    env = os.environ if env is None else env
    return {
        "allow_origins": list(_list(env.get("CDS_CORS_ORIGINS")) or ("*",)),
        "allow_methods": ["GET", "POST", "OPTIONS"],
        "allow_headers": ["Authorization", "Content-Type", "Accept"],
        "allow_credentials": False,
        "max_age": 600,
    }
