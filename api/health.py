"""Liveness and readiness, for process supervisors and load balancers.

- `GET /livez`: the worker's event loop answers. Restart the process when it does not.
- `GET /readyz`: send it traffic. 200 only when the engine is loaded and a canary check (a
  real case with a known answer) returns its expected alert, the store (feedback and the JWT
  replay memory: SQLite or PostgreSQL, api/store/) is reachable, migrated, writable and
  intact (SQLite's quick_check at start-up and at most every 5 minutes here), and the
  configuration in the environment still validates; otherwise 503 naming what failed.
- `GET /healthz` (api/safety_checks.py) is unchanged: the ruleset version, for humans and for
  the benchmark's HTTP floor.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.cds_hooks.settings import CdsSettings
from api.settings import ServingSettings
from api.store import Store
from engine import EngineError
from rules.case import SafetyCheckRequest
from rules.checker import Checker

log = logging.getLogger("baclofen.health")

# A 7-year-old of 21 kg on 11 mg four times a day (44 mg/day): above the 40 mg/day maximum
# below 8 years (examples/child-over-maximum.json). The date is fixed, so the answer is too.
CANARY = SafetyCheckRequest.model_validate(
    {
        "patient": {"birth_date": "2019-05-01", "weight_kg": 21},
        "order": {
            "date": "2026-11-22",
            "action": "change",
            "route": "oral",
            "form": "oral_solution",
            "dose": {"value": 11, "unit": "mg"},
            "frequency_per_day": 4,
            "previous": {
                "dose": {"value": 10, "unit": "mg"},
                "frequency_per_day": 4,
                "since": "2026-11-10",
            },
        },
    }
)
CANARY_CODE = "DAILY_DOSE_ABOVE_MAXIMUM"
# A full integrity check reads the whole store: at most this often per worker.
INTEGRITY_EVERY_S = 300.0

router = APIRouter(tags=["meta"])
_integrity: dict[int, float] = {}


# Load balancers and orchestrators often probe with HEAD: the same answer, without a body
# (uvicorn sends none for HEAD). Not in the schema: the GET operations document them.
@router.head("/livez", include_in_schema=False)
@router.get("/livez")
async def livez() -> dict[str, str]:
    return {"status": "ok"}


@router.head("/readyz", include_in_schema=False)
@router.get("/readyz", responses={503: {"description": "Not ready: the failing checks"}})
async def readyz(request: Request) -> JSONResponse:
    checks = {"engine": _engine(request), "configuration": _configuration()}
    store: Store | None = getattr(request.app.state, "store", None)
    checks["store"] = (
        await run_in_threadpool(store_health, store)
        if store is not None
        else "no store in this worker"
    )
    failed = {name: problem for name, problem in checks.items() if problem != "ok"}
    if failed:
        log.warning("not ready", extra={"event": "readyz", "failed": failed})
        return JSONResponse({"status": "not_ready", "checks": checks}, status_code=503)
    return JSONResponse({"status": "ready", "checks": checks})


def _engine(request: Request) -> str:
    checker: Checker | None = getattr(request.app.state, "checker", None)
    if checker is None:
        return "no engine in this worker"
    try:
        result = checker.run(CANARY, check_id="readyz-canary")
    except EngineError as exc:
        return f"canary check not completed: {exc}"
    codes = [alert.code for alert in result.alerts]
    if CANARY_CODE not in codes:
        return f"canary check answered {codes}, expected {CANARY_CODE}"
    return "ok"


def _configuration() -> str:
    try:
        ServingSettings()
        CdsSettings.load()
    except (ValidationError, ValueError) as exc:
        return f"invalid: {_first_line(exc)}"
    return "ok"


def store_health(store: Store) -> str:
    """The store's own verdict; the integrity check that reads all of it at most every
    INTEGRITY_EVERY_S per worker."""
    now = time.monotonic()
    thorough = now - _integrity.get(id(store), -INTEGRITY_EVERY_S) >= INTEGRITY_EVERY_S
    verdict = store.health(thorough)
    if thorough and verdict == "ok":
        _integrity[id(store)] = now
    return verdict


def _first_line(exc: Any) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:200]
