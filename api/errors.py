"""Error responses. Bad input -> 422 naming each field; an engine failure -> 503 that says the
check was not completed. Neither ever reads as an empty, reassuring result."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from engine import EngineError

log = logging.getLogger("api")

NOT_COMPLETED = (
    "The safety check could not be completed; no alerts were evaluated. Do not treat this as "
    "a pass: check the order manually or retry."
)


def field_path(loc: Sequence[Any]) -> str:
    """pydantic's loc as a path: list positions are ints ("[2]"); a dict key that happens to
    be digits stays a key (".12")."""
    out = ""
    for p in loc:
        if p == "body" and not out:
            continue
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "body"


def clean_message(msg: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            return msg[len(prefix) :]
    return msg


# Cross-field validators cannot set a loc; by convention their messages start with the
# field they blame, relative to the model that raised them ("birth_date: ...").
_BLAMED = re.compile(r"^(?P<field>[a-z_]+(?:\.[a-z_]+)*): (?P<problem>.+)$", re.DOTALL)


def validation_items(errors: Sequence[Any]) -> list[dict[str, str]]:
    items = []
    for err in errors:
        loc = list(err.get("loc", ()))
        problem = clean_message(str(err.get("msg")))
        if err.get("type") == "json_invalid":
            # FastAPI puts the character offset in loc; the field at fault is the body.
            at = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
            loc = ["body"]
            # The parser's own words ("Expecting ',' delimiter") say more than FastAPI's
            # "JSON decode error", which stands in when they are missing.
            detail = str((err.get("ctx") or {}).get("error") or problem)
            if at is not None:
                problem = f"not valid JSON ({detail[:1].lower()}{detail[1:]} at character {at})"
        blamed = _BLAMED.match(problem)
        if blamed:
            loc += blamed["field"].split(".")
            problem = blamed["problem"]
        items.append({"field": field_path(loc), "problem": problem})
    return items


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        items = validation_items(exc.errors())
        summary = "; ".join(f"{i['field']}: {i['problem']}" for i in items[:5])
        return JSONResponse(
            status_code=422,
            content={"error": "invalid_request", "message": summary, "errors": items},
        )

    @app.exception_handler(EngineError)
    async def _engine(request: Request, exc: EngineError) -> JSONResponse:
        check_id = getattr(request.state, "check_id", None)
        log.error("check %s not completed: %s", check_id, exc)
        return JSONResponse(
            status_code=503,
            content={
                "error": "check_not_completed",
                "message": NOT_COMPLETED,
                "check_id": check_id,
            },
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        check_id = getattr(request.state, "check_id", None)
        log.exception("check %s failed unexpectedly", check_id)
        return JSONResponse(
            status_code=500,
            content={
                "error": "check_not_completed",
                "message": NOT_COMPLETED,
                "check_id": check_id,
            },
        )
