"""CDS Hooks endpoints: discovery, the two services, feedback. Translation lives in fhir/ and
cards.py, clinical judgment in rules/; this module only wires them and answers errors.

Errors are OperationOutcomes and never an empty `cards` list: 400 names the malformed field,
404 an unknown service, 401 an untrusted client, 412 only when the service cannot even tell
whether an order is baclofen (spec 2.0.1: required data not obtainable), 503 when the engine
could not complete a check.
"""

from __future__ import annotations

import logging
import re
from typing import Any, TypeVar

from fastapi import APIRouter, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import metrics, openapi, strict_json
from api.auth import principal_of
from api.cds_hooks import cards, fhir, prefetch
from api.cds_hooks.feedback import records
from api.cds_hooks.models import (
    CdsResponse,
    Discovery,
    FeedbackRequest,
    FeedbackStored,
    HookRequest,
    Issue,
    OperationOutcome,
    OrderContext,
    OrderSelectContext,
    Service,
)
from api.cds_hooks.order_check import OrderCheck
from api.cds_hooks.settings import CdsSettings, cors_options, load_or_explain
from api.errors import NOT_COMPLETED, clean_message
from api.store import FeedbackConflict, Store, StoreError
from engine import EngineError
from rules.checker import Checker, CheckResult

log = logging.getLogger("api.cds_hooks")

_DESCRIPTION = (
    "Checks baclofen orders (oral and intrathecal) against the baclofen rule base: daily "
    "maxima by age, mg/kg/day, tablets below 33 kg, starting dose and titration, "
    "contraindications (seizure disorder, terminal renal failure), renal function, pregnancy, "
    "CNS-depressant co-medication, route and unit errors. Cards cite the source passage; a "
    "check that lacks data says so in a card. Other orders get no cards."
)
_USAGE = (
    "Send the prefetch keys, or fhirServer with fhirAuthorization so the service can "
    "fetch them; without conditions, active medications or renal function, a card names "
    "the checks that could not run."
)

SERVICES = {
    s.id: s
    for s in (
        Service(
            hook="order-select",
            id="baclofen-order-select",
            title="Baclofen prescribing safety (order-select)",
            description="When baclofen is selected: " + _DESCRIPTION,
            prefetch=prefetch.TEMPLATES,
            usageRequirements=_USAGE,
        ),
        Service(
            hook="order-sign",
            id="baclofen-order-sign",
            title="Baclofen prescribing safety (order-sign)",
            description="Before a baclofen order is signed: " + _DESCRIPTION,
            prefetch=prefetch.TEMPLATES,
            usageRequirements=_USAGE,
        ),
    )
}

router = APIRouter(prefix="/cds-services", tags=["cds-hooks"])


class CdsHooksError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        diagnostics: str,
        expression: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(diagnostics)
        self.status, self.headers = status, headers
        self.outcome = OperationOutcome(
            issue=[Issue(code=code, diagnostics=diagnostics, expression=expression or None)]
        )


# OperationOutcome issue codes for the HTTP errors Starlette raises itself.
_HTTP_CODES = {404: "not-found", 405: "not-supported"}


def install(app: FastAPI, settings: CdsSettings | None = None) -> None:
    """Router, error handler, CORS (preflight on every endpoint) and settings from the
    environment: a bad setting stops the boot. The authentication mode is logged."""
    settings = settings or load_or_explain()
    app.state.cds_settings = settings
    log.info(
        "authentication %s",
        settings.describe_auth(),
        extra={"event": "auth_mode", "auth": settings.auth_mode},
    )
    if settings.auth_mode == "open" and not settings.open_local:
        log.warning(
            "authentication is OFF (CDS_AUTH=open) while the service listens on %s, "
            "not only on loopback: anyone who reaches it may call both APIs",
            settings.bind_host,
            extra={"event": "auth_open_exposed"},
        )
    if settings.test_bench:
        log.warning(
            "CDS_TEST_BENCH is on: FHIR servers and key sets on loopback and private "
            "addresses are reachable. Never in production."
        )
    app.include_router(router)

    @app.exception_handler(CdsHooksError)
    async def _cds_error(_: Request, exc: CdsHooksError) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status,
            headers=exc.headers,
            content=exc.outcome.model_dump(exclude_none=True),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """Under /cds-services an EHR reads OperationOutcomes (a GET on a service is a 405
        naming the methods allowed); elsewhere FastAPI's own answer."""
        if not request.url.path.startswith("/cds-services"):
            return await http_exception_handler(request, exc)
        allowed = next((v for k, v in (exc.headers or {}).items() if k.lower() == "allow"), None)
        said = f"{exc.detail}: {request.method} {request.url.path}"
        error = CdsHooksError(
            exc.status_code,
            _HTTP_CODES.get(exc.status_code, "processing"),
            f"{said} (allowed: {allowed})" if allowed else said,
            headers=dict(exc.headers or {}),
        )
        return await _cds_error(request, error)

    app.add_middleware(CORSMiddleware, **cors_options(settings))  # type: ignore[arg-type]
    # The hook and feedback routes read their bodies themselves (to answer malformed ones
    # with the spec's 400 OperationOutcome, not FastAPI's 422): document the body models.
    openapi.document(app, HookRequest, FeedbackRequest)


def _settings(request: Request) -> CdsSettings:
    settings: CdsSettings = request.app.state.cds_settings
    return settings


def _client(request: Request) -> str | None:
    """The authenticated caller (a JWT's iss, or system-key:<name>), or None in open mode."""
    principal = principal_of(request.state)
    return principal.label if principal else None


def _service(service_id: str) -> Service:
    service = SERVICES.get(service_id)
    if service is None:
        raise CdsHooksError(
            404,
            "not-found",
            f"No CDS service {service_id!r}; see GET /cds-services for the services offered.",
        )
    return service


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON number")


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = strict_json.loads(await request.body(), parse_constant=_not_json)
    except strict_json.DuplicateKeys as exc:
        raise CdsHooksError(
            400,
            "structure",
            "A key is repeated in the same object, so which "
            f"value counts is ambiguous: {exc}. Send each key once.",
            expression=[strict_json.dotted(p) for p in exc.paths],
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise CdsHooksError(400, "structure", f"The body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise CdsHooksError(400, "structure", "The body must be a JSON object.")
    return body


M = TypeVar("M", bound=BaseModel)


# Cross-field validators cannot set a location: their messages start with the field they
# blame ("draftOrders: must be a FHIR Bundle"), in the wire's camelCase.
_BLAMED = re.compile(
    r"^(?P<field>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*): (?P<problem>.+)$", re.DOTALL
)


def _parse(model: type[M], data: Any, prefix: str = "") -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields, problems = [], []
        for err in exc.errors():
            loc = [str(part) for part in err["loc"]]
            problem = clean_message(str(err["msg"]))
            blamed = _BLAMED.match(problem)
            if blamed:
                loc += blamed["field"].split(".")
                problem = blamed["problem"]
            field = prefix + ".".join(loc) if loc else prefix.rstrip(".") or "body"
            fields.append(field)
            problems.append(f"{field}: {problem}")
        raise CdsHooksError(
            400, "invalid", "; ".join(problems), expression=list(dict.fromkeys(fields))
        ) from None


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the OperationOutcomes a route can answer."""
    meaning = {
        400: "Malformed request: the issue's expression names the field",
        401: "No trusted JWT (when client authentication is configured)",
        404: "Unknown service",
        409: "Feedback already stored with other content (nothing stored)",
        415: "The body is not JSON (application/json or application/fhir+json)",
        412: "An order's medication could not be identified",
        413: "Body over the size limit",
        500: "The check could not be completed (unexpected failure)",
        503: "The check could not be completed, or the feedback not stored",
    }
    return {s: {"model": OperationOutcome, "description": meaning[s]} for s in statuses}


@router.get("", response_model=Discovery, response_model_exclude_none=True, responses=_errors(401))
async def discovery(request: Request) -> Discovery:
    """The services this server offers (spec 2.0.1 "Discovery")."""
    return Discovery(services=list(SERVICES.values()))


@router.post(
    "/{service_id}",
    response_model=CdsResponse,
    response_model_exclude_none=True,
    responses=_errors(400, 401, 404, 412, 413, 415, 500, 503),
    openapi_extra=openapi.body("HookRequest"),
)
async def call_service(service_id: str, request: Request) -> JSONResponse:
    """Evaluate every baclofen order (order-sign) or the selected ones (order-select)."""
    service = _service(service_id)
    body = await _json(request)
    checker = getattr(request.app.state, "checker", None)  # None: answered 503 after parsing
    response = await answer(checker, service, body, _settings(request), _client(request))
    return JSONResponse(response.model_dump(exclude_none=True))


async def answer(
    checker: Checker | None,
    service: Service,
    body: dict[str, Any],
    settings: CdsSettings,
    client: str | None,
    explain: list[tuple[OrderCheck, CheckResult]] | None = None,
) -> CdsResponse:
    """The cards for one hook request: the service call itself, and the console's try-out
    (which hands in `explain` to get each order's check and result, for its trace)."""
    hook = _parse(HookRequest, body)
    if hook.hook != service.hook:
        raise CdsHooksError(
            400,
            "invalid",
            f"hook: {hook.hook!r} was sent to the {service.hook} service {service.id!r}",
            expression=["hook"],
        )
    context_model = OrderSelectContext if service.hook == "order-select" else OrderContext
    ctx = _parse(context_model, hook.context, "context.")
    try:
        selected = fhir.selections(ctx)
    except fhir.SelectionError as exc:
        raise CdsHooksError(400, "invalid", str(exc), expression=["context.selections"]) from None
    if checker is None:  # the lifespan never ran or the engine was torn down: fail loudly
        log.error("hook %s: check not completed: no engine in this worker", hook.hookInstance)
        raise CdsHooksError(503, "exception", NOT_COMPLETED)
    try:
        translator = fhir.Translator(ctx, selected)
        prefetched = await _gather(hook, ctx, translator, settings, client)
    except CdsHooksError:
        raise
    except Exception:
        log.exception("hook %s: gathering the data failed unexpectedly", hook.hookInstance)
        raise CdsHooksError(500, "exception", NOT_COMPLETED) from None
    if prefetched.fetched:
        log.info(
            "hook %s: fetched %s from the FHIR server",
            hook.hookInstance,
            ", ".join(prefetched.fetched),
        )
    # On the event loop, like the native checks: the engine serialises checks per process.
    return _evaluate(
        checker,
        hook.hookInstance,
        translator,
        prefetched,
        service.hook,
        settings.public_base_url,
        explain,
    )


async def _gather(
    hook: HookRequest,
    ctx: OrderContext,
    translator: fhir.Translator,
    settings: CdsSettings,
    client: str | None,
) -> prefetch.Prefetched:
    """Patient data only when some order is baclofen: other calls cost no FHIR request.
    FHIR servers allowed for this caller only (its issuer's, or the open mode's list)."""
    allowed = settings.fhir_servers_for(client)
    relevant, refs = translator.triage(hook.prefetch, {})
    known = await prefetch.fetch_references(hook, settings, refs, allowed) if refs else {}
    if refs:
        relevant, _ = translator.triage(hook.prefetch, known)
    if not relevant:
        return prefetch.Prefetched(resources=known)
    # No id in the message: refusals are logged.
    foreign = translator.for_another_patient(hook.prefetch, known, prefetch.patient_id(ctx))
    if foreign:
        raise CdsHooksError(
            400,
            "invalid",
            "; ".join(
                f"{field}: the baclofen order names another patient than context.patientId,"
                " so it cannot be checked against this patient's data"
                for field in foreign
            ),
            expression=foreign,
        )
    return await prefetch.resolve(
        hook,
        ctx,
        settings,
        allowed,
        references=translator.wanted_references,
        known=known,
        keys=translator.keys(hook.prefetch, known),
    )


def _evaluate(
    checker: Checker,
    hook_instance: str,
    translator: fhir.Translator,
    prefetched: prefetch.Prefetched,
    hook: str,
    base_url: str | None = None,
    explain: list[tuple[OrderCheck, CheckResult]] | None = None,
) -> CdsResponse:
    """Blocking (the engine is C, ~0.5 ms per order). One check per order, each in its own
    engine state. Cards link to the published catalogue on `base_url`, the configured public
    address (never one taken from the request)."""
    try:
        translation = translator.translate(prefetched)
        if translation.unidentified and not translation.checks and not translation.forbidding:
            raise CdsHooksError(
                412,
                "processing",
                "The medication of "
                + ", ".join(translation.unidentified)
                + " could not be identified (no code or "
                "text, and the referenced Medication was neither sent nor retrievable from the "
                "fhirServer): whether it is baclofen is unknown.",
                expression=["context.draftOrders"],
            )
        out: list[Any] = []
        for n, check in enumerate(translation.checks):
            if check.case is None:
                out += [c for c in [cards.gap_card(check, [], base_url=base_url)] if c]
                continue
            result = checker.run(check.case, check_id=f"{hook_instance}.{n}")
            if explain is not None:
                explain.append((check, result))
            out += cards.cards_for(check, result, hook=hook, base_url=base_url)
        out += [cards.not_given_card(ref, label, base_url) for ref, label in translation.forbidding]
        if translation.unidentified:
            out.append(cards.unidentified_card(translation.unidentified, base_url))
        return CdsResponse(cards=out)
    except CdsHooksError:
        raise
    except EngineError as exc:
        log.error("hook %s: check not completed: %s", hook_instance, exc)
        raise CdsHooksError(503, "exception", NOT_COMPLETED) from None
    except Exception:
        log.exception("hook %s: failed unexpectedly", hook_instance)
        raise CdsHooksError(500, "exception", NOT_COMPLETED) from None


@router.post(
    "/{service_id}/feedback",
    response_model=FeedbackStored,
    responses=_errors(400, 401, 404, 409, 413, 415, 503),
    openapi_extra=openapi.body("FeedbackRequest"),
)
async def feedback(service_id: str, request: Request) -> FeedbackStored:
    """Accepted and overridden cards, kept in an append-only store (spec 2.0.1 "Feedback").
    Idempotent: an item whose card, outcome and outcomeTimestamp are already stored is not
    stored again (a retry is answered as the first post was); the same key with other
    content is a 409 that stores nothing. 200 only once every item is read back from the
    store after its commit."""
    _service(service_id)
    body = _parse(FeedbackRequest, await _json(request))
    store: Store = request.app.state.store
    items = records(service_id, body.feedback, _client(request))
    try:
        stored = await store.submit_feedback(items)
    except FeedbackConflict as exc:
        raise CdsHooksError(
            409,
            "conflict",
            "Feedback with the same card, outcome and "
            "outcomeTimestamp was already stored with other content; nothing "
            "of this request was stored.",
            expression=[f"feedback[{n}]" for n, item in enumerate(items) if item.key in exc.keys],
        ) from None
    except StoreError as exc:
        log.error("feedback not stored: %s", exc)
        raise CdsHooksError(
            503, "exception", "The feedback could not be stored; send it again later."
        ) from None
    metrics.record_feedback(
        (item.card, item.outcome)
        for item, verdict in zip(items, stored, strict=True)
        if verdict == "new"
    )
    return FeedbackStored(
        stored=len(stored), duplicates=sum(1 for verdict in stored if verdict == "duplicate")
    )
