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
from fastapi.telemetry import TelemetryConfig
from fastapi_offline import FastAPIOffline

from api import auth, console, errors, health, limits, metrics, observability, safety_checks, worker
from api.cds_hooks import routes as cds_hooks
from api.cds_hooks.settings import CdsSettings
from api.check_log import CheckLogWriter
from api.store import open_store
from rules.checker import Checker
from rules.release import RULESET_VERSION, fingerprint, released

# FastAPI's own OpenTelemetry (0.142+), off. Its logs record validation failures with their
# messages, which quote the request (birth dates, doses), and would reach whichever exporter
# the environment configures (FASTAPI_OTEL_AUTO_CONFIGURE, OTEL_*), past the scrubbing of our
# JSON lines; the service's metrics are Prometheus (/metrics) and its logs those JSON lines.
# Off, it also skips a look-up of three OpenTelemetry providers on every request.
TELEMETRY_OFF: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
    "auto_configure": False,
}


def create_app(checker: Checker | None = None, cds_settings: CdsSettings | None = None) -> FastAPI:
    """The app; `cds_settings` (tests) instead of the CDS_* environment."""
    observability.configure_logging()  # JSON lines at LOG_LEVEL

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.checker = checker or Checker()
        settings: CdsSettings = app.state.cds_settings
        # Migrated (under a lock) and integrity-checked once per worker; a store that cannot
        # be opened fails readiness and refuses writes, but checks are still answered.
        app.state.store = open_store(settings.database_url, pool_size=settings.db_pool_size)
        observability.log_store_problem(getattr(app.state.store, "problem", None))
        # The check log of the console's analytics, written off the event loop (0 days: none).
        app.state.check_log = (
            CheckLogWriter(app.state.store, settings.check_log_retention_days)
            if settings.check_log_retention_days
            else None
        )
        limits.limit_threads()  # one thread by default: the engine runs one check at a time
        worker.freeze_startup_heap()  # no full-heap GC pause in the middle of a check
        metrics.initialise()  # the documented counters at 0 before their first event
        metrics.RULESET.labels(RULESET_VERSION, fingerprint(), str(released()).lower()).set(1)
        observability.log_ruleset(RULESET_VERSION, fingerprint(), released())
        metrics.WORKERS_READY.set(1)
        try:
            yield
        finally:
            metrics.WORKERS_READY.set(0)
            if app.state.check_log is not None:
                app.state.check_log.close()  # what is queued is written first
            app.state.store.close()

    app = FastAPIOffline(
        title="Baclofen prescribing safety checks",
        version=RULESET_VERSION,
        description="Rule-based clinical decision support for baclofen orders. Decision "
        "support only: it does not replace the prescriber's or pharmacist's judgment.",
        lifespan=lifespan,
        # Swagger UI would fetch a validity badge from validator.swagger.io.
        swagger_ui_parameters={"validatorUrl": None},
        telemetry=TELEMETRY_OFF,
    )
    errors.install(app)
    app.add_middleware(limits.RequestLimits)  # 413 / 415 / 4xx before parsing
    app.add_middleware(auth.Authenticate)  # 401 before the body is read; inside CORS
    safety_checks.install(app)  # the native routes and their body in the OpenAPI document
    app.include_router(health.router)
    app.include_router(metrics.router)
    cds_hooks.install(app, cds_settings)  # CDS Hooks router, its errors, settings, CORS
    console.install(app)  # /console/: catalogue, try a case, override analytics
    app.add_middleware(observability.CheckLog)  # outermost: logs what the client got
    return app


app = create_app()
