"""The FastAPI application: native safety checks, the CDS Hooks service, health and metrics.

The engine is built in the lifespan hook, once per worker process, so that a ruleset that
fails its lint stops the boot instead of a patient's check. The API documentation (/docs,
/redoc) is served with its Swagger UI and ReDoc assets from the fastapi-offline package, so
it works on a network without internet access.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from api import errors, health, limits, metrics, observability, safety_checks, worker
from api.cds_hooks import routes as cds_hooks
from rules.checker import Checker
from rules.release import RULESET_VERSION


def create_app(checker: Checker | None = None) -> FastAPI:
    observability.configure_logging()  # JSON lines at LOG_LEVEL

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.checker = checker or Checker()
        limits.limit_threads()  # one thread by default: the engine runs one check at a time
        worker.freeze_startup_heap()  # no full-heap GC pause in the middle of a check
        metrics.WORKERS_READY.set(1)
        try:
            yield
        finally:
            metrics.WORKERS_READY.set(0)

    app = FastAPIOffline(
        title="Baclofen prescribing safety checks",
        version=RULESET_VERSION,
        description="Rule-based clinical decision support for baclofen orders. Decision "
        "support only: it does not replace the prescriber's or pharmacist's judgment.",
        lifespan=lifespan,
        # Swagger UI would fetch a validity badge from validator.swagger.io.
        swagger_ui_parameters={"validatorUrl": None},
    )
    errors.install(app)
    app.add_middleware(limits.RequestLimits)  # 413 / 4xx before parsing; inside CORS
    safety_checks.install(app)  # the native routes and their body in the OpenAPI document
    app.include_router(health.router)
    app.include_router(metrics.router)
    cds_hooks.install(app)  # CDS Hooks router, its errors, CORS on every endpoint
    app.add_middleware(observability.CheckLog)  # outermost: logs what the client got
    return app


app = create_app()
