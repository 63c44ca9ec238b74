"""Prefetch templates and what to do when the EHR sends less than they ask for.

Spec 2.0.1 ("Prefetch Template"): an absent key means the client did not satisfy it; a null
value means it has no data; an OperationOutcome reports an error. An absent or failed key is
fetched from `fhirServer` with the `fhirAuthorization` token when both are given and the server
is allowed for the caller (its issuer's `fhir_servers`, or CDS_FHIR_SERVER_ALLOWLIST in open
mode; none by default), with a short timeout, through the address-checking transport
(api/outbound.py: no loopback, link-local or private address; no redirects); whatever still
cannot be had is returned as a gap, which becomes a card. A card never quotes why a fetch
failed (a status, an error, a host: an attacker's port scanner otherwise), only that it could
not be fetched; the reason goes to the log, without the URL (it carries the patient id).
Templates use only `{{context.patientId}}`, token equality searches, `_sort` and `_count`
(spec "Prefetch query restrictions"); `draftOrders` and `selections` are never tokens (hooks
library).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Collection, Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from api.cds_hooks.intrathecal_terminology import (
    SPASTICITY_SCORE_CODES,
    SYMPTOM,
    WITHDRAWAL_SIGN_CODES,
)
from api.cds_hooks.models import HookRequest, OrderContext
from api.cds_hooks.settings import CdsSettings
from api.cds_hooks.subjects import patient_named
from api.cds_hooks.terminology import (
    BODY_WEIGHT,
    CREATININE_CLEARANCE,
    EGFR,
    LOINC,
    PREGNANCY_STATUS,
    SNOMED,
)
from api.limits import MAX_CONTAINERS, MAX_DEPTH, json_depth
from api.outbound import PinnedTransport, UnreadableBody, policy_from, read_capped

log = logging.getLogger("api.cds_hooks")

PATIENT = "{{context.patientId}}"


def _observation(*codes: str) -> str:
    return (
        f"Observation?patient={PATIENT}&code="
        + ",".join(f"{LOINC}|{code}" for code in codes)
        + "&_sort=-date&_count=1"
    )


def _observations(codes: list[tuple[str, str]]) -> str:
    return (
        f"Observation?patient={PATIENT}&code="
        + ",".join(f"{system}|{code}" for system, code in codes)
        + f"&_sort=-date&_count={HISTORY_COUNT}"
    )


# Enough for 30 days of an intrathecal record: the reading keeps the last 30 days or the last
# 10 regimens, whichever reaches further back (fhir/intrathecal.py); more pages are followed.
HISTORY_COUNT = 100

TEMPLATES: dict[str, str] = {
    "patient": f"Patient/{PATIENT}",
    # Every clinical status: a resolved epilepsy still counts (004: "a history of epilepsy"),
    # and the statuses are read by the rules (rules/code_sets.py), not filtered by the EHR.
    "conditions": f"Condition?patient={PATIENT}",
    "medications": f"MedicationRequest?patient={PATIENT}&status=active",
    "weight": _observation(BODY_WEIGHT),
    "crcl": _observation(*CREATININE_CLEARANCE),
    "egfr": _observation(*EGFR),
    "pregnancy": _observation(PREGNANCY_STATUS),
    # Intrathecal orders only (INTRATHECAL_KEYS): the dose history, pump programming, the
    # implanted pump, spasticity scores and recent withdrawal signs.
    "intrathecal_history": f"MedicationRequest?patient={PATIENT}&status=active,completed,"
    f"stopped&_sort=-authoredon&_count={HISTORY_COUNT}",
    "pump_programming": f"MedicationAdministration?patient={PATIENT}&_sort=-effective-time"
    f"&_count={HISTORY_COUNT}",
    "devices": f"Device?patient={PATIENT}",
    "spasticity_scores": _observations(sorted(SPASTICITY_SCORE_CODES)),
    "withdrawal_signs": _observations(
        [SYMPTOM, *((SNOMED, code) for code in WITHDRAWAL_SIGN_CODES)]
    ),
}
INTRATHECAL_KEYS = frozenset(
    {"intrathecal_history", "pump_programming", "devices", "spasticity_scores", "withdrawal_signs"}
)

# What each key feeds, for the gap card. Patient and weight are absent from the gap list on
# purpose: without them the rules themselves answer MISSING_DATA (age; a child's weight).
CHECKS_FED = {
    "conditions": "the problem list (seizure disorder, end-stage renal disease, pregnancy, "
    "alcohol use)",
    "medications": "the active medications (CNS-depressant co-medication; whether this order "
    "starts, changes or continues baclofen)",
}

MAX_PAGES = 5  # a patient's active list beyond five pages is not fetched within the deadline
MAX_REFERENCES = 20
DEADLINE_TIMEOUTS = 2  # all fetching of one call ends within two request timeouts


NOT_FETCHED = "it could not be fetched from the FHIR server"


class FetchError(Exception):
    """The FHIR server did not give us the data (status, timeout, not JSON, a refused
    address). The message is for the log; cards say NOT_FETCHED."""


@dataclass
class Prefetched:
    data: dict[str, Any] = field(default_factory=dict)  # key -> resource, or None: no data
    gaps: dict[str, str] = field(default_factory=dict)  # key -> why we do not have it
    fetched: list[str] = field(default_factory=list)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)  # "Medication/x" -> res
    # Resources set aside because they name another patient (`keep_own`), by key.
    foreign: dict[str, list[str]] = field(default_factory=dict)

    def gap_notes(self) -> list[str]:
        notes = [
            f"Not used: {', '.join(refs)} in '{key}', of another patient than the one in the "
            "call's context: an EHR error, or another patient's record in this one."
            for key, refs in self.foreign.items()
        ]
        for key in ("conditions", "medications"):
            if key in self.gaps:
                notes.append(f"Not available: {CHECKS_FED[key]}; {self.gaps[key]}.")
        # Renal limits use the lower of CrCl and eGFR: one of them is enough.
        missing = [k for k in ("crcl", "egfr") if k in self.gaps]
        if len(missing) == 2 or (
            missing and not _has_entries(self.data.get("egfr" if missing[0] == "crcl" else "crcl"))
        ):
            notes.append(
                "Not available: renal function (creatinine clearance or eGFR), so the "
                f"renal dose limits could not be checked; {self.gaps[missing[0]]}."
            )
        return notes


def _has_entries(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    return bool(value.get("entry")) if value.get("resourceType") == "Bundle" else True


class FhirClient:
    """Reads from the CDS client's FHIR server with the token it handed us. The token is never
    logged (cds-hooks.org best practices, "FHIR Access")."""

    def __init__(self, base: str, token: str, settings: CdsSettings) -> None:
        self.base = base.rstrip("/")
        transport = settings.transport or PinnedTransport(
            policy_from(settings.fhir_private_networks, settings.test_bench)
        )
        self.max_bytes = settings.fhir_max_response_bytes
        self._client = httpx.AsyncClient(
            # gzip only: it is inflated here under the size cap (_read), not by httpx, which
            # would inflate a gzip bomb whole.
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/fhir+json",
                "Accept-Encoding": "gzip",
            },
            timeout=settings.fhir_timeout_s,
            transport=transport,
            follow_redirects=False,
            trust_env=False,
        )

    async def __aenter__(self) -> FhirClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._client.aclose()

    def owns(self, url: str) -> bool:
        return url == self.base or url.startswith(self.base + "/")

    async def get(self, relative_or_url: str) -> Any:
        if relative_or_url.startswith(("https://", "http://")):
            url = relative_or_url
        else:
            url = f"{self.base}/{relative_or_url.lstrip('/')}"
        if not self.owns(url):  # the token goes only to the server it was issued for
            raise FetchError("a link outside the FHIR server was not followed")
        resource = url[len(self.base) :].lstrip("/").split("?")[0].split("/")[0] or "base"
        try:
            async with self._client.stream("GET", url) as response:
                if response.status_code in (404, 410):
                    return None
                if response.status_code != 200:  # redirects included: never followed
                    raise self._failed(resource, f"HTTP {response.status_code}")
                raw = await self._read(response, resource)
        except httpx.TimeoutException:
            raise self._failed(resource, "timeout") from None
        except httpx.HTTPError as exc:
            raise self._failed(resource, f"{type(exc).__name__}: {exc}") from None
        body = self._parse(raw, resource)
        if not isinstance(body, dict) or "resourceType" not in body:
            raise self._failed(resource, "not a FHIR resource")
        if body["resourceType"] == "OperationOutcome":
            raise self._failed(resource, "an OperationOutcome")
        return body

    async def _read(self, response: httpx.Response, resource: str) -> bytes:
        """The body, never more than `max_bytes` of it (api/outbound.py `read_capped`)."""
        try:
            return await read_capped(response, self.max_bytes)
        except UnreadableBody as exc:
            raise self._failed(resource, str(exc)) from None

    def _parse(self, raw: bytes, resource: str) -> Any:
        """JSON under the limits of request bodies (api/limits.py): nesting deep enough to
        exhaust the parser's recursion (RecursionError), or too many containers to measure
        cheaply, is a fetch failure like any other unreadable answer."""
        containers = raw.count(b"[") + raw.count(b"{")
        if containers > MAX_CONTAINERS:
            raise self._failed(resource, f"more than {MAX_CONTAINERS} arrays and objects")
        if containers > MAX_DEPTH and json_depth(raw) > MAX_DEPTH:
            raise self._failed(resource, f"JSON nested deeper than {MAX_DEPTH} levels")
        try:
            return json.loads(raw)
        except (ValueError, RecursionError):
            raise self._failed(resource, "not JSON") from None

    def _failed(self, resource: str, why: str) -> FetchError:
        # The resource type only: the URL carries the patient id. The reason may name the
        # host (a refused address), which the log may say and the card never does.
        log.warning(
            "FHIR %s could not be fetched: %s", resource, why, extra={"event": "fhir_fetch_failed"}
        )
        return FetchError(NOT_FETCHED)


def patient_id(ctx: OrderContext) -> str | None:
    """The call's patient: `context.patientId`, which order-sign and order-select require,
    or else the patient the first draft order names (some EHRs' and the specification's own
    examples leave it out)."""
    if ctx.patientId:
        return ctx.patientId
    for resource in ctx.resources():
        named = patient_named(resource)
        if named is not None:
            return named
    return None


def fill(template: str, pid: str) -> str:
    return template.replace(PATIENT, quote(pid, safe=""))


def allowed_server(server: str, allowed: tuple[str, ...]) -> bool:
    """fhirServer is one of the allowed base URLs or under one (scheme and host compared
    case-insensitively, default ports omitted, no credentials, query or fragment)."""
    candidate = _normalised(server)
    if candidate is None:
        return False
    for base in allowed:
        wanted = _normalised(base)
        if wanted and (candidate == wanted or candidate.startswith(wanted + "/")):
            return True
    return False


def _normalised(url: str) -> str | None:
    parts = urlsplit(url.strip())
    if (
        parts.scheme not in ("https", "http")
        or not parts.hostname
        or parts.username
        or parts.password
        or parts.query
        or parts.fragment
    ):
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    default = 443 if parts.scheme == "https" else 80
    host = parts.hostname.lower() + (f":{port}" if port and port != default else "")
    if ":" in parts.hostname:
        host = f"[{parts.hostname.lower()}]" + (f":{port}" if port and port != default else "")
    return f"{parts.scheme}://{host}{parts.path.rstrip('/')}"


def fhir_client(
    req: HookRequest, settings: CdsSettings, allowed: tuple[str, ...]
) -> FhirClient | None:
    """Only with both fhirServer and fhirAuthorization (spec "FHIR Resource Access"), and only
    to a server allowed for this caller: none is allowed unless configured."""
    if not (req.fhirServer and req.fhirAuthorization):
        return None
    if not allowed_server(req.fhirServer, allowed):
        # The host alone (what an operator needs to allow it): the URL's path and query are
        # the caller's to fill, a patient's id included.
        try:
            host = urlsplit(req.fhirServer.strip()).hostname or "?"
        except ValueError:
            host = "?"
        log.warning(
            "fhirServer on host %s is not allowed for this caller: nothing fetched",
            host[:100],
            extra={"event": "fhir_server_not_allowed"},
        )
        return None
    return FhirClient(
        _normalised(req.fhirServer) or req.fhirServer, req.fhirAuthorization.access_token, settings
    )


def _why_not_fetched(req: HookRequest, client: FhirClient | None) -> str:
    if client is not None:
        return "no patient id in the context"
    if not req.fhirServer:
        return "not in the prefetch, and no fhirServer to fetch it from: send it in the prefetch"
    if not req.fhirAuthorization:
        return (
            "not in the prefetch, and no fhirAuthorization to fetch it with: send it in "
            "the prefetch"
        )
    return (
        "not in the prefetch, and this service does not fetch from that FHIR server: "
        "send it in the prefetch"
    )


def _entries(bundle: dict[str, Any]) -> list[Any]:
    entries = bundle.get("entry")
    return list(entries) if isinstance(entries, list) else []


def _next_link(bundle: dict[str, Any]) -> str | None:
    links = bundle.get("link")
    for link in links if isinstance(links, list) else ():
        if isinstance(link, dict) and link.get("relation") == "next" and link.get("url"):
            return str(link["url"])
    return None


def _incomplete(bundle: dict[str, Any]) -> str | None:
    """Why a Bundle's entries are not the whole list, as the Bundle itself says: an `entry`
    that is not a list, or an OperationOutcome entry (`search.mode: outcome`) with an error
    (a search that could not return everything, spec 2.0 prefetch and FHIR search)."""
    entries = bundle.get("entry")
    if entries is not None and not isinstance(entries, list):
        return "the EHR sent a Bundle whose entry is not a list"
    for entry in entries or ():
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not _is_error(resource):
            continue
        issues = resource.get("issue")
        if any(
            isinstance(i, dict) and i.get("severity") in ("error", "fatal")
            for i in (issues if isinstance(issues, list) else ())
        ):
            return "the EHR reported an error in the search that returned it"
    return None


async def _all_pages(
    client: FhirClient | None, bundle: dict[str, Any]
) -> tuple[dict[str, Any], str | None]:
    """Follow `next` links (spec 3.0 allows paginated prefetch). Returns the merged bundle and,
    when part of the list is missing (pages left behind, or the Bundle says so), why."""
    said = _incomplete(bundle)
    if said is not None:
        return bundle, said
    next_url = _next_link(bundle)
    if next_url is None:
        return bundle, None
    entries = _entries(bundle)
    for _ in range(MAX_PAGES):
        if client is None:
            return {**bundle, "entry": entries}, "only the first page was supplied"
        try:
            page = await client.get(next_url)
        except FetchError as exc:
            return {**bundle, "entry": entries}, f"only part was retrieved: {exc}"
        if not isinstance(page, dict) or page.get("resourceType") != "Bundle":
            return {**bundle, "entry": entries}, "only part was retrieved"
        entries += _entries(page)
        said = _incomplete(page)
        if said is not None:
            return {**bundle, "entry": entries}, said
        next_url = _next_link(page)
        if next_url is None:
            return {**bundle, "entry": entries}, None
    return {**bundle, "entry": entries}, f"more than {MAX_PAGES} pages: the rest was not read"


def _is_error(value: Any) -> bool:
    return isinstance(value, dict) and value.get("resourceType") == "OperationOutcome"


async def _one(
    key: str, req: HookRequest, pid: str | None, client: FhirClient | None, out: Prefetched
) -> None:
    supplied = req.prefetch or {}
    why = None
    if key in supplied:
        value = supplied[key]
        if value is None:
            out.data[key] = None  # the client has no data: nothing is missing
            return
        if _is_error(value):
            why = "the EHR reported an error prefetching it"
        elif not isinstance(value, dict) or "resourceType" not in value:
            why = "the EHR sent something that is not a FHIR resource"
        else:
            if value["resourceType"] == "Bundle":
                value, partial = await _all_pages(client, value)
                if partial:
                    out.gaps[key] = partial
            out.data[key] = value
            return
    if client is None or pid is None:
        out.gaps[key] = why or _why_not_fetched(req, client)
        return
    try:
        value = await client.get(fill(TEMPLATES[key], pid))
    except FetchError:
        out.gaps[key] = f"{why + '; ' if why else ''}{NOT_FETCHED}"
        return
    out.fetched.append(key)
    if isinstance(value, dict) and value.get("resourceType") == "Bundle":
        value, partial = await _all_pages(client, value)
        if partial:
            out.gaps[key] = partial
    out.data[key] = value


async def fetch_references(
    req: HookRequest, settings: CdsSettings, refs: list[str], allowed: tuple[str, ...]
) -> dict[str, dict[str, Any]]:
    """Medication resources that orders reference but nobody sent, when we may fetch them."""
    client = fhir_client(req, settings, allowed)
    if client is None or not refs:
        return {}
    found: dict[str, dict[str, Any]] = {}
    async with client:
        wanted = refs[:MAX_REFERENCES]
        results = await asyncio.gather(*(client.get(ref) for ref in wanted), return_exceptions=True)
    for ref, res in zip(wanted, results, strict=True):
        if isinstance(res, dict) and res.get("resourceType") == "Medication":
            found[ref] = res
    return found


async def _bounded(
    key: str, work: Coroutine[Any, Any, None], deadline: float, out: Prefetched
) -> None:
    try:
        await asyncio.wait_for(work, deadline)
    except TimeoutError:
        out.data.pop(key, None)
        log.warning(
            "FHIR %s could not be fetched: the deadline passed",
            key,
            extra={"event": "fhir_fetch_failed"},
        )
        out.gaps[key] = NOT_FETCHED


async def resolve(
    req: HookRequest,
    ctx: OrderContext,
    settings: CdsSettings,
    allowed: tuple[str, ...],
    references: Callable[[Prefetched], list[str]] | None = None,
    known: dict[str, dict[str, Any]] | None = None,
    keys: Collection[str] | None = None,
) -> Prefetched:
    """Gather the prefetch keys the orders need (`keys`, default all; in parallel when
    fetching) and then the Medication resources that the orders in the data reference
    (`references` names them)."""
    out = Prefetched(resources=dict(known or {}))
    pid = patient_id(ctx)
    client = fhir_client(req, settings, allowed)
    wanted = [key for key in TEMPLATES if keys is None or key in keys]
    if client is None:
        for key in wanted:
            await _one(key, req, pid, None, out)
        keep_own(out, pid)
        return out
    # One deadline for the whole gathering (pages included): a slow EHR costs a card about
    # the data, never a call the EHR itself gives up on.
    deadline = settings.fhir_timeout_s * DEADLINE_TIMEOUTS
    started = time.monotonic()
    async with client:
        await asyncio.gather(
            *(_bounded(key, _one(key, req, pid, client, out), deadline, out) for key in wanted)
        )
    keep_own(out, pid)
    wanted = [r for r in (references(out) if references else []) if r not in out.resources]
    if wanted:  # within what is left of the same deadline (a server may drip its answer)
        left = deadline - (time.monotonic() - started)
        try:
            found = await asyncio.wait_for(
                fetch_references(req, settings, wanted, allowed), max(left, 0.001)
            )
        except TimeoutError:
            log.warning(
                "FHIR Medication could not be fetched: the deadline passed",
                extra={"event": "fhir_fetch_failed"},
            )
            found = {}
        out.resources.update(found)
    return out


def keep_own(out: Prefetched, pid: str | None) -> None:
    """Set aside every prefetched resource that names another patient than the call's: an
    EHR that prefetched the wrong record (or merged two) must not have another patient's
    epilepsy, weight or birth date checked as this one's. What was set aside is said
    (`Prefetched.foreign`); a resource that names no patient is kept."""
    if pid is None:
        return
    for key, value in list(out.data.items()):
        if not isinstance(value, dict):
            continue
        if value.get("resourceType") != "Bundle":
            other = patient_named(value)
            if other is not None and other != pid:
                out.foreign.setdefault(key, []).append(_label(value))
                out.data[key] = None
            continue
        entries = value.get("entry")
        if not isinstance(entries, list):
            continue
        kept = []
        for entry in entries:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            other = patient_named(resource) if isinstance(resource, dict) else None
            if other is not None and other != pid:
                out.foreign.setdefault(key, []).append(_label(resource))
            else:
                kept.append(entry)
        if len(kept) != len(entries):
            out.data[key] = {**value, "entry": kept}


def _label(resource: Any) -> str:
    """The resource by its type and id; a Patient by its type alone (its id identifies
    someone else)."""
    kind = str(resource.get("resourceType") or "a resource")
    rid = resource.get("id")
    return f"{kind}/{rid}" if isinstance(rid, str) and rid and kind != "Patient" else kind
