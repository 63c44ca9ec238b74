"""Schema-driven fuzzing of the published OpenAPI document (schemathesis), in process.

Every documented operation gets generated requests, valid and invalid, and each response
must not be a 5xx and must conform to the schema documented for its status (and content
type). `make test` runs a short budget; `make fuzz` sets FUZZ_EXAMPLES=2000.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import httpx
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.cds_hooks.settings import CdsSettings
from api.main import create_app
from api.store import open_store
from rules.checker import Checker

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))


def _no_network(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"unexpected network call to {request.url}")


def _app() -> object:
    """The real app, with one engine: schemathesis starts the app's lifespan once, on its
    first call, and the state the lifespan sets is set here too, so that no call depends on
    when that happens. CDS feedback goes to a throw-away file, FHIR fetches nowhere."""
    store = Path(tempfile.mkdtemp(prefix="fuzz-")) / "cds.sqlite3"
    settings = CdsSettings(
        database_url=f"sqlite:///{store}", transport=httpx.MockTransport(_no_network)
    )
    checker = Checker()
    app = create_app(checker, cds_settings=settings)
    app.state.checker = checker
    app.state.store = open_store(settings.database_url)
    return app


schema = schemathesis.openapi.from_asgi("/openapi.json", _app())
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    content_type_conformance,
    status_code_conformance,
]


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
def test_no_server_error_and_documented_responses(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=CHECKS)
