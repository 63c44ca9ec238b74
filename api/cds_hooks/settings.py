"""Security, storage and FHIR settings (CDS_*): one pydantic-settings model, read once at
start-up, in the style of api/settings.py.

Every value is parsed strictly and checked against the others before anything listens: an
unknown authentication mode (`CDS_AUTH=enabled`), a boolean that is not one
(`CDS_TEST_BENCH=sometimes`), JWT on without a public base URL, a wildcard CORS origin on a
server that is not open and local, or a variable of an earlier release that no longer
means anything (CDS_JWT_REQUIRED) stops the start-up with a message naming the variable,
instead of a service that runs on a guess. docs/operators.md lists every variable.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import httpx
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

AuthMode = Literal["open", "required"]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# Asymmetric JWS algorithms only (CDS Hooks 2.0.1: never `none`, never a shared secret).
ASYMMETRIC = (
    "ES256",
    "ES384",
    "ES512",
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "EdDSA",
)
LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")
# Variables of earlier releases: set, they would be ignored silently, so they stop the start.
REPLACED = {
    "CDS_JWT_REQUIRED": "CDS_AUTH=required (with CDS_JWT_ISSUERS)",
    "CDS_JWT_JWKS": "the `jwks` of each issuer in CDS_JWT_ISSUERS",
    "CDS_JWT_JKU_ALLOWLIST": "the `jku` list of each issuer in CDS_JWT_ISSUERS",
    "CDS_FEEDBACK_DB": "CDS_DATABASE_URL",
    "CDS_JTI_DB": "CDS_DATABASE_URL",
}
STORE_FILE = "cds.sqlite3"
MIN_SECRET = 32
SECRET_SETTINGS = frozenset({"CDS_CONSOLE_SECRET"})
_SHA256 = re.compile(r"[0-9a-f]{64}")
_KEY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def state_directory(env: Mapping[str, str] | None = None) -> Path:
    """Where the embedded store lives when CDS_DATABASE_URL is not set, whatever the working
    directory: systemd's STATE_DIRECTORY (StateDirectory=), else $XDG_STATE_HOME, else
    ~/.local/state (the XDG Base Directory default), each + /baclofen-cds."""
    env = os.environ if env is None else env
    systemd = (env.get("STATE_DIRECTORY") or "").split(":")[0]
    if systemd and Path(systemd).is_absolute():
        return Path(systemd)
    xdg = env.get("XDG_STATE_HOME") or ""
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "state"
    return base / "baclofen-cds"


def default_database_url() -> str:
    return f"sqlite:///{state_directory() / STORE_FILE}"


@functools.lru_cache(maxsize=64)
def is_loopback_host(host: str) -> bool:
    """A bind address or URL host that only this machine can reach. Cached: the API gate
    asks for the bind address on every request (`auth_mode`), and parsing it was ~6 µs."""
    host = host.strip().strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _split(value: object) -> object:
    """A comma-separated environment value as a list ("" is an empty one)."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def check_https(url: str, what: str, test_bench: bool) -> str:
    """An absolute https URL (http only to a loopback host on a test bench), without
    credentials, query or fragment; returned without a trailing slash."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{what}: {url!r} is not an absolute http(s) URL")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError(f"{what}: {url!r} must not carry credentials, a query or a fragment")
    if parts.scheme == "http" and not (test_bench and is_loopback_host(parts.hostname)):
        raise ValueError(
            f"{what}: {url!r} must use https (plain http only to a loopback "
            "address with CDS_TEST_BENCH=true)"
        )
    return url.rstrip("/")


class Issuer(BaseModel):
    """A CDS client (an EHR) we trust: its `iss`, where its public keys are, and the FHIR
    servers its calls may make us fetch from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    iss: Annotated[str, Field(min_length=1)]
    # A JWK Set configured out of band: a file path or an https URL.
    jwks: str | None = None
    # `jku` header values whose key sets may be fetched for this issuer's tokens.
    jku: tuple[str, ...] = ()
    # FHIR base URLs this issuer's calls may name as fhirServer; none: nothing is fetched.
    fhir_servers: tuple[str, ...] = ()


class SystemKey(BaseModel):
    """A system-to-system caller's key, as `name:sha256hex` (the SHA-256 of the key: the key
    itself is never configured, logged or stored)."""

    model_config = ConfigDict(frozen=True)

    name: str
    sha256: str

    @classmethod
    def parse(cls, text: str) -> SystemKey:
        name, _, digest = text.partition(":")
        digest = digest.strip().lower().removeprefix("sha256:")
        if not _KEY_NAME.fullmatch(name.strip()) or not _SHA256.fullmatch(digest):
            raise ValueError(
                f"{text[:80]!r} is not name:<sha256 of the key, 64 hex digits> "
                "(`baclofen-cds system-key NAME` makes one)"
            )
        return cls(name=name.strip(), sha256=digest)

    def matches(self, key: str) -> bool:
        import hmac

        return hmac.compare_digest(hashlib.sha256(key.encode()).hexdigest(), self.sha256)


class CdsSettings(BaseSettings):
    """CDS_AUTH, CDS_JWT_ISSUERS, CDS_DATABASE_URL, ... (docs/operators.md)."""

    model_config = SettingsConfigDict(
        env_prefix="CDS_",
        case_sensitive=False,
        extra="ignore",
        env_ignore_empty=True,
        arbitrary_types_allowed=True,
        populate_by_name=True,
        frozen=True,
    )

    # ---- who may call ---------------------------------------------------------------------
    # open: nobody is authenticated (the default only while HOST is a loopback address);
    # required: every API call carries a bearer JWT of a trusted issuer or a system key.
    auth: AuthMode | None = None
    # The address clients use (behind a proxy, its https address): a JWT's `aud` must be it
    # plus the path called. Required when issuers are configured; never the Host header.
    public_base_url: str | None = None
    jwt_issuers: tuple[Issuer, ...] = ()
    jwt_algorithms: Annotated[tuple[str, ...], NoDecode] = ("ES384", "RS384")
    jwt_leeway_s: float = Field(30.0, ge=0, le=300)
    # exp - iat at most this (SMART Backend Services: 5 minutes for a signed assertion).
    jwt_max_lifetime_s: int = Field(300, ge=1, le=3600)
    system_keys: Annotated[tuple[SystemKey, ...], NoDecode] = ()
    # The address the service listens on (HOST, api/settings.py): open mode is a default
    # only on loopback.
    bind_host: str = Field("127.0.0.1", validation_alias=AliasChoices("HOST", "bind_host"))

    # ---- browsers -------------------------------------------------------------------------
    # None: "*" in the open local mode, no cross-origin access otherwise.
    cors_origins: Annotated[tuple[str, ...] | None, NoDecode] = None

    # ---- FHIR fetches ---------------------------------------------------------------------
    # Open mode: the FHIR base URLs a call may name as fhirServer (issuers have their own).
    # Empty: nothing is ever fetched; the cards ask for the data in the prefetch.
    fhir_server_allowlist: Annotated[tuple[str, ...], NoDecode] = ()
    # Private ranges (RFC 1918, unique-local IPv6) a FHIR server or key set may resolve to:
    # a hospital's own network. Loopback and link-local (cloud metadata) never, except on a
    # test bench.
    fhir_private_networks: Annotated[tuple[Network, ...], NoDecode] = ()
    fhir_timeout_s: float = Field(2.0, gt=0, le=30)
    # The most a FHIR response may hold once decompressed (a gzip bomb inflates a few hundred
    # kB into gigabytes): a larger one is a fetch failure. A page of 100 resources is a few
    # hundred kB.
    fhir_max_response_bytes: int = Field(4 * 1024 * 1024, ge=64 * 1024, le=256 * 1024 * 1024)
    # A test bench: FHIR servers and key sets on this machine (loopback, private ranges) are
    # allowed, and key sets over plain http from loopback. Never in production.
    test_bench: bool = False

    # ---- state ----------------------------------------------------------------------------
    # sqlite:///<absolute path> (one machine) or postgresql://... (shared by many).
    database_url: str = Field(default_factory=default_database_url)
    db_pool_size: int = Field(4, ge=1, le=64)
    # The check log of the console's analytics (alert codes, outcome, time; no patient data):
    # entries older than this are purged; 0 keeps no check log at all.
    check_log_retention_days: int = Field(400, ge=0, le=3660)

    # ---- the pharmacist console (/console/) ------------------------------------------------
    # Signs the console's session cookie (CDS_AUTH=required): 32 characters or more, the same
    # on every worker and instance (`baclofen-cds console-secret` makes one). Unset: the
    # console's sign-in is off; its pages still take a bearer credential.
    console_secret: SecretStr | None = None
    console_session_hours: float = Field(8.0, gt=0, le=24 * 7)

    # Tests hand in an httpx transport (no network); production resolves and pins addresses
    # itself (api/outbound.py).
    transport: httpx.AsyncBaseTransport | None = Field(None, exclude=True)

    # ---- parsing ---------------------------------------------------------------------------

    @field_validator("auth", mode="before")
    @classmethod
    def _mode(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("public_base_url")
    @classmethod
    def _base(cls, value: str | None) -> str | None:
        return value.rstrip("/") or None if value else None

    @field_validator(
        "jwt_algorithms",
        "cors_origins",
        "fhir_server_allowlist",
        "fhir_private_networks",
        mode="before",
    )
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _split(value)

    @field_validator("system_keys", mode="before")
    @classmethod
    def _keys(cls, value: object) -> object:
        value = _split(value)
        if isinstance(value, list | tuple):
            return [SystemKey.parse(v) if isinstance(v, str) else v for v in value]
        return value

    @field_validator("jwt_algorithms")
    @classmethod
    def _algorithms(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [a for a in value if a not in ASYMMETRIC]
        if bad:
            raise ValueError(
                f"{', '.join(bad)} not allowed: JWTs are signed with an "
                f"asymmetric algorithm ({', '.join(ASYMMETRIC)}), never none "
                "or a shared secret"
            )
        if not value:
            raise ValueError("at least one algorithm")
        return value

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str) -> str:
        if value.startswith("sqlite:"):
            from api.store.sqlite import path_of

            path_of(value)
        elif not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be sqlite:///<absolute path> or postgresql://...")
        return value

    @field_validator("console_secret")
    @classmethod
    def _secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().strip()) < MIN_SECRET:
            raise ValueError(
                f"at least {MIN_SECRET} characters (`baclofen-cds console-secret` makes one)"
            )
        return value

    @field_validator("fhir_private_networks")
    @classmethod
    def _private(cls, value: tuple[Network, ...]) -> tuple[Network, ...]:
        for net in value:
            if net.is_loopback or net.is_link_local or not net.is_private:
                raise ValueError(
                    f"{net} is not a private range (loopback and link-local are "
                    "only allowed on a test bench, CDS_TEST_BENCH)"
                )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> CdsSettings:
        bench = self.test_bench
        open_mode = self.auth_mode == "open"  # raises for a non-loopback bind without CDS_AUTH
        if open_mode and (self.jwt_issuers or self.system_keys):
            raise ValueError(
                "CDS_AUTH: issuers or system keys are configured but CDS_AUTH is "
                "open, so nothing would check them: set CDS_AUTH=required"
            )
        if not open_mode and not (self.jwt_issuers or self.system_keys):
            raise ValueError(
                "CDS_AUTH=required: configure CDS_JWT_ISSUERS (EHRs) and/or "
                "CDS_SYSTEM_KEYS (system-to-system callers)"
            )
        if self.public_base_url:  # JWT audiences and the cards' links to the catalogue
            check_https(self.public_base_url, "CDS_PUBLIC_BASE_URL", bench)
        if self.jwt_issuers:
            if not self.public_base_url:
                raise ValueError(
                    "CDS_PUBLIC_BASE_URL: required with CDS_JWT_ISSUERS (a JWT's "
                    "aud must be it; the Host header is never trusted)"
                )
            if self.fhir_server_allowlist:
                raise ValueError(
                    "CDS_FHIR_SERVER_ALLOWLIST: with JWT issuers each issuer "
                    "lists its own FHIR servers (`fhir_servers`)"
                )
            seen: set[str] = set()
            for issuer in self.jwt_issuers:
                if issuer.iss in seen:
                    raise ValueError(f"CDS_JWT_ISSUERS: {issuer.iss!r} is listed twice")
                seen.add(issuer.iss)
                _check_issuer(issuer, bench)
        for url in self.fhir_server_allowlist:
            check_https(url, "CDS_FHIR_SERVER_ALLOWLIST", bench)
        if self.cors_origins is not None:
            for origin in self.cors_origins:
                _check_origin(origin, wildcard_ok=self.open_local)
        return self

    # ---- derived ---------------------------------------------------------------------------

    @property
    def auth_mode(self) -> AuthMode:
        if self.auth is not None:
            return self.auth
        if is_loopback_host(self.bind_host):
            return "open"
        raise ValueError(
            f"CDS_AUTH: the service listens on {self.bind_host} (HOST), not only "
            "on loopback, so authentication cannot default to open: set "
            "CDS_AUTH=required (with CDS_JWT_ISSUERS and/or CDS_SYSTEM_KEYS), or "
            "CDS_AUTH=open to serve without authentication on purpose"
        )

    @property
    def open_local(self) -> bool:
        return self.auth_mode == "open" and is_loopback_host(self.bind_host)

    @property
    def allowed_origins(self) -> tuple[str, ...]:
        if self.cors_origins is not None:
            return self.cors_origins
        return ("*",) if self.open_local else ()

    def issuer(self, iss: str) -> Issuer | None:
        return next((i for i in self.jwt_issuers if i.iss == iss), None)

    def fhir_servers_for(self, iss: str | None) -> tuple[str, ...]:
        """Where a call may make us fetch from: its issuer's servers (JWT), or the open
        mode's allow-list."""
        if self.jwt_issuers:
            issuer = self.issuer(iss) if iss else None
            return issuer.fhir_servers if issuer else ()
        return self.fhir_server_allowlist

    def describe_auth(self) -> str:
        """The mode, as logged at start-up."""
        if self.auth_mode == "open":
            return "open: no authentication"
        return (
            f"required: {len(self.jwt_issuers)} JWT issuer(s), {len(self.system_keys)} "
            "system key(s)"
        )

    @classmethod
    def load(cls) -> CdsSettings:
        """From the environment, refusing the variables of earlier releases."""
        # Matched as the settings are, whatever the case: `cds_jwt_required=true` is the same
        # retired variable, and must not start a service that silently ignores it.
        given = {name.upper(): name for name in os.environ}
        for name, instead in REPLACED.items():
            if name in given:
                raise ValueError(
                    f"{given[name]} is no longer read: use {instead} (docs/operators.md)"
                )
        return cls()


def _check_issuer(issuer: Issuer, bench: bool) -> None:
    what = f"CDS_JWT_ISSUERS ({issuer.iss})"
    if not (issuer.jwks or issuer.jku):
        raise ValueError(f"{what}: no key source: give `jwks` (a file or https URL) or `jku`")
    if issuer.jwks:
        if issuer.jwks.startswith(("https://", "http://")):
            check_https(issuer.jwks, f"{what} jwks", bench)
        elif not Path(issuer.jwks).is_file():
            raise ValueError(f"{what}: jwks {issuer.jwks} is not a file")
    for jku in issuer.jku:
        check_https(jku, f"{what} jku", bench)
    for url in issuer.fhir_servers:
        check_https(url, f"{what} fhir_servers", bench)


def _check_origin(origin: str, wildcard_ok: bool) -> None:
    if origin == "*":
        if not wildcard_ok:
            raise ValueError(
                "CDS_CORS_ORIGINS: `*` is allowed only in the open local mode "
                "(CDS_AUTH open, HOST on loopback); list the origins"
            )
        return
    parts = urlsplit(origin)
    if (
        parts.scheme not in ("https", "http")
        or not parts.hostname
        or parts.path
        or parts.query
        or parts.fragment
        or parts.username
    ):
        raise ValueError(
            f"CDS_CORS_ORIGINS: {origin!r} is not an origin "
            "(scheme://host[:port], e.g. https://sandbox.cds-hooks.org)"
        )


def cors_options(settings: CdsSettings) -> dict[str, object]:
    """CORS for browser-based CDS clients (spec 2.0.1 "Cross-Origin Resource Sharing").
    Bearer tokens travel in the Authorization header: credentials (cookies) are never
    allowed."""
    return {
        "allow_origins": list(settings.allowed_origins),
        "allow_methods": ["GET", "POST", "OPTIONS"],
        "allow_headers": ["Authorization", "Content-Type", "Accept"],
        "allow_credentials": False,
        "max_age": 600,
    }


def problems(exc: ValidationError | ValueError) -> list[str]:
    """One line per bad setting, naming the environment variable."""
    if not isinstance(exc, ValidationError):
        return [str(exc)]
    out = []
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        name = ("CDS_" + "_".join(loc).upper()) if loc else ""
        if loc and loc[0] in ("HOST", "bind_host"):
            name = "HOST"
        message = str(error["msg"]).removeprefix("Value error, ")
        value = error.get("input")
        secret = name in SECRET_SETTINGS  # never echoed, not even when it is refused
        shown = (
            f"={value!r}" if isinstance(value, str | int | float) and name and not secret else ""
        )
        out.append(f"{name}{shown}: {message}" if name else message)
    return out


def load_or_explain() -> CdsSettings:
    """For start-up: the settings, or ValueError with every problem on its own line."""
    try:
        return CdsSettings.load()
    except ValidationError as exc:
        raise ValueError("; ".join(problems(exc))) from None
