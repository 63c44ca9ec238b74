"""Native safety-check API. Clinical judgment lives in rules/; this only translates."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any
from uuid import uuid4

from fastapi import APIRouter, Query, Request, Response
from fastapi.routing import APIRoute

from api.deps import CheckerDep, get_checker
from api.models import CatalogueEntry, ErrorResponse, Health, SafetyCheckResponse
from rules.case import SafetyCheckRequest
from rules.catalog import RULESET_VERSION, catalogue

_JSON_TYPES = frozenset({"application/json", "application/json; charset=utf-8"})
_EXPLAIN = {b"": False, b"explain=false": False, b"explain=true": True}


class CheckRoute(APIRoute):
    """FastAPI's handler, with a shortcut for the request almost every caller sends.

    FastAPI spent ~140 us of a ~1.1 ms check resolving the body, the query and the checker
    dependency, around a 45 us validation. A request with a JSON content type, a plain or no
    `explain` and a body that parses and validates skips that machinery: the same
    `json.loads` and the same model validation FastAPI would run, then the same endpoint.
    Anything else (another content type, an odd query, a body that does not parse or
    validate) goes through FastAPI's own handler, so every error keeps FastAPI's shape, and
    the OpenAPI document is FastAPI's, built from the endpoint's signature.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        general = super().get_route_handler()

        async def handler(request: Request) -> Response:
            explain = _EXPLAIN.get(request.scope["query_string"])
            body = None
            if explain is not None and request.headers.get("content-type") in _JSON_TYPES:
                body = _valid_body(await request.body())
            if body is None:
                return await general(request)
            checker = await get_checker(request)
            return await create_safety_check(body, checker, request, explain)

        return handler


def _valid_body(raw: bytes) -> SafetyCheckRequest | None:
    """The validated request, or None to let FastAPI's handler read it and say what is wrong
    (its error, not a second one written here)."""
    try:
        return SafetyCheckRequest.model_validate(json.loads(raw), from_attributes=True)
    except Exception:  # any failure is reported by the general handler
        return None


router = APIRouter()

_ERRORS: dict[int | str, dict[str, object]] = {
    413: {"model": ErrorResponse, "description": "Body over the size limit (1 MiB)"},
    422: {"model": ErrorResponse, "description": "Invalid input: each field and its problem"},
    500: {"model": ErrorResponse, "description": "The check could not be completed "
          "(unexpected failure)"},
    503: {"model": ErrorResponse, "description": "The check could not be completed"},
}


async def create_safety_check(
    body: SafetyCheckRequest,
    checker: CheckerDep,
    request: Request,
    explain: bool = Query(False, description="Add the trace of the rules that fired"),
) -> Response:
    """Check one baclofen order for one patient and return the alerts.

    Runs on the event loop, blocking it for the check (~0.3-0.7 ms): the engine holds the
    GIL and runs one check at a time per process anyway, so a thread-pool hop would only add
    hand-offs (measured: +20 % checks/s at 64 clients without it; bench/README.md). The
    response is built and validated once and sent as it is: returning the model would make
    FastAPI validate and serialise it a second time.
    """
    request.state.check_id = uuid4().hex
    result = checker.run(body, check_id=request.state.check_id)
    payload = SafetyCheckResponse.from_result(result, explain=explain)
    return Response(payload.model_dump_json(exclude_none=True), media_type="application/json")


router.add_api_route("/v1/safety-checks", create_safety_check, methods=["POST"],
                     response_model=SafetyCheckResponse, response_model_exclude_none=True,
                     responses=_ERRORS, tags=["safety-checks"], route_class_override=CheckRoute)


@router.get("/v1/rules", response_model=list[CatalogueEntry], response_model_exclude_none=True,
            tags=["rules"])
async def list_rules() -> list[dict[str, object]]:
    """The rule catalogue: every alert code, its rules, severities and sources."""
    return catalogue()


@router.get("/healthz", response_model=Health, tags=["meta"])
async def healthz() -> Health:
    return Health(status="ok", ruleset_version=RULESET_VERSION)
