"""Native safety-check API. Clinical judgment lives in rules/; this only translates."""

from __future__ import annotations

import email.message
from functools import lru_cache
from typing import Any, NoReturn

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError

from api import openapi, strict_json
from api.check_log import new_check_id
from api.deps import get_checker
from api.models import Catalogue, ErrorResponse, Health, SafetyCheckResponse
from rules.case import SafetyCheckRequest
from rules.catalog import document
from rules.release import RULESET_VERSION

router = APIRouter()

_UNAUTHORIZED: dict[int | str, dict[str, object]] = {
    401: {
        "model": ErrorResponse,
        "description": "No trusted credential (CDS_AUTH=required): a bearer JWT or system key",
    }
}
_ERRORS: dict[int | str, dict[str, object]] = {
    **_UNAUTHORIZED,
    413: {"model": ErrorResponse, "description": "Body over the size limit (1 MiB)"},
    415: {
        "model": ErrorResponse,
        "description": "The body is not declared JSON "
        "(application/json or application/fhir+json, charset utf-8)",
    },
    422: {
        "model": ErrorResponse,
        "description": "Invalid input: each field and its problem "
        "(also a key repeated in any object)",
    },
    500: {
        "model": ErrorResponse,
        "description": "The check could not be completed (unexpected failure)",
    },
    503: {"model": ErrorResponse, "description": "The check could not be completed"},
}
_EXPLAIN_PARAMETER = {
    "name": "explain",
    "in": "query",
    "required": False,
    "description": "Add the trace of the rules that fired",
    "schema": {
        "type": "boolean",
        "default": False,
        "title": "Explain",
        "description": "Add the trace of the rules that fired",
    },
}
_PLAIN_QUERIES = {b"": False, b"explain=false": False, b"explain=true": True}
_BOOL = TypeAdapter(bool)


async def create_safety_check(request: Request) -> Response:
    """Check one baclofen order for one patient and return the alerts.

    The route reads its own body: one parse that refuses repeated keys (strict_json), one
    model validation; every failure becomes FastAPI's RequestValidationError with the usual
    locations, so the 422 handler answers it as for any route. Runs on the event loop,
    blocking it for the check (~0.3-0.7 ms): the engine holds the GIL and runs one check at a
    time per process anyway, so a thread-pool hop would only add hand-offs (measured: +20 %
    checks/s at 64 clients without it; bench/README.md). The response is built and
    validated once and sent as it is.
    """
    case, explain = _read(request, await request.body())
    checker = await get_checker(request)
    request.state.check_id = new_check_id()
    result = checker.run(case, check_id=request.state.check_id)
    payload = SafetyCheckResponse.from_result(result, explain=explain)
    return Response(payload.model_dump_json(exclude_none=True), media_type="application/json")


def _read(request: Request, raw: bytes) -> tuple[SafetyCheckRequest, bool]:
    """The validated case and `explain`, or RequestValidationError with the errors FastAPI
    gave for a `SafetyCheckRequest` body and an `explain: bool` query: a body that does not
    parse, alone; otherwise the query's error, then the body's."""
    data: Any = raw  # a body that is not JSON is validated as it is, and refused
    if raw and _is_json(request.headers.get("content-type")):
        try:
            data = strict_json.loads(raw)
        except strict_json.DuplicateKeys as exc:
            _invalid(
                [
                    {
                        "type": "duplicate_key",
                        "loc": ("body", *path),
                        "msg": f"repeated key: it appears {n} times in the same object, so "
                        "which value counts is ambiguous; send it once",
                        "input": None,
                    }
                    for path, n in exc.found
                ]
            )
        except ValueError as exc:  # json.JSONDecodeError
            _invalid(
                [
                    {
                        "type": "json_invalid",
                        "loc": ("body", getattr(exc, "pos", 0)),
                        "msg": "JSON decode error",
                        "input": {},
                        "ctx": {"error": getattr(exc, "msg", str(exc))},
                    }
                ]
            )
    errors: list[Any] = []
    explain = _explain(request, errors)
    if not raw:
        _invalid(
            [*errors, {"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
        )
    try:
        case = SafetyCheckRequest.model_validate(data, from_attributes=True)
    except ValidationError as exc:
        _invalid([*errors, *({**e, "loc": ("body", *e["loc"])} for e in exc.errors())])
    if errors:
        _invalid(errors)
    return case, explain


def _explain(request: Request, errors: list[Any]) -> bool:
    plain = _PLAIN_QUERIES.get(request.scope["query_string"])
    if plain is not None:
        return plain
    values = request.query_params.getlist("explain")
    if not values:
        return False
    try:
        return _BOOL.validate_python(values[-1])  # the last, as FastAPI reads a scalar
    except ValidationError as exc:
        errors += [{**e, "loc": ("query", "explain")} for e in exc.errors()]
        return False


@lru_cache(maxsize=64)
def _is_json(content_type: str | None) -> bool:
    """application/json or application/*+json, any parameters; no content type is not JSON
    (FastAPI's strict reading, kept)."""
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def _invalid(errors: list[Any]) -> NoReturn:
    raise RequestValidationError(errors)


router.add_api_route(
    "/v1/safety-checks",
    create_safety_check,
    methods=["POST"],
    response_model=SafetyCheckResponse,
    response_model_exclude_none=True,
    responses=_ERRORS,
    tags=["safety-checks"],
    summary="Create Safety Check",
    description="Check one baclofen order for one patient and return the alerts. "
    "`?explain=true` adds the trace of the rules that fired. Invalid input is a 422 naming "
    "each field and its problem; so is a key repeated in any object of the body.",
    openapi_extra={**openapi.body("SafetyCheckRequest"), "parameters": [_EXPLAIN_PARAMETER]},
)


def install(app: FastAPI) -> None:
    """The native routes, and the request body in the OpenAPI document."""
    app.include_router(router)
    openapi.document(app, SafetyCheckRequest)


@lru_cache(maxsize=1)
def _catalogue() -> Catalogue:
    return Catalogue.model_validate(document())


@router.get(
    "/v1/rules",
    response_model=Catalogue,
    response_model_exclude_none=True,
    tags=["rules"],
    responses=_UNAUTHORIZED,
)
async def list_rules() -> Catalogue:
    """The rule catalogue of the running version: every alert code with its rules, severities
    and sources, and every rule with its conditions, texts, evidence and passage, by module
    with the module's When/Then and thresholds."""
    return _catalogue()


@router.head("/healthz", include_in_schema=False)  # probes that use HEAD (api/health.py)
@router.get("/healthz", response_model=Health, tags=["meta"])
async def healthz() -> Health:
    return Health(status="ok", ruleset_version=RULESET_VERSION)
