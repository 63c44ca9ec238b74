"""Native safety-check API. Clinical judgment lives in rules/; this only translates."""

from __future__ import annotations

from uuid import uuid4

from fastapi import APIRouter, Query, Request

from api.deps import CheckerDep
from api.models import CatalogueEntry, ErrorResponse, Health, SafetyCheckResponse
from rules.case import SafetyCheckRequest
from rules.catalog import RULESET_VERSION, catalogue

router = APIRouter()

_ERRORS: dict[int | str, dict[str, object]] = {
    422: {"model": ErrorResponse, "description": "Invalid input: each field and its problem"},
    503: {"model": ErrorResponse, "description": "The check could not be completed"},
}


@router.post("/v1/safety-checks", response_model=SafetyCheckResponse,
             response_model_exclude_none=True, responses=_ERRORS, tags=["safety-checks"])
def create_safety_check(
    body: SafetyCheckRequest,
    checker: CheckerDep,
    request: Request,
    explain: bool = Query(False, description="Add the trace of the rules that fired"),
) -> SafetyCheckResponse:
    """Check one baclofen order for one patient and return the alerts.

    A plain `def`: the engine is blocking C, so FastAPI runs it in the thread pool.
    """
    request.state.check_id = uuid4().hex
    result = checker.run(body, check_id=request.state.check_id)
    return SafetyCheckResponse.from_result(result, explain=explain)


@router.get("/v1/rules", response_model=list[CatalogueEntry], response_model_exclude_none=True,
            tags=["rules"])
def list_rules() -> list[dict[str, object]]:
    """The rule catalogue: every alert code, its rules, severities and sources."""
    return catalogue()


@router.get("/healthz", response_model=Health, tags=["meta"])
def healthz() -> Health:
    return Health(status="ok", ruleset_version=RULESET_VERSION)
