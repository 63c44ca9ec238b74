"""CDS Hooks test apps: the real app on the session's Checker, with a feedback store in a
temporary directory and no network: a FHIR fetch nobody stubbed fails the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.cds_hooks.settings import CdsSettings
from api.main import create_app
from rules.checker import Checker


def _no_network(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"unexpected network call to {request.url}")


NO_NETWORK = httpx.MockTransport(_no_network)

AppFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(checker: Checker, tmp_path: Path) -> Iterator[AppFactory]:
    """A client on a fresh app whose CDS settings are the given ones."""
    clients: list[TestClient] = []

    def make(checker_override: Any = None, **settings: Any) -> TestClient:
        app = create_app(checker_override or checker)
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        settings.setdefault("feedback_db", tmp_path / "feedback.sqlite3")
        settings.setdefault("transport", NO_NETWORK)
        app.state.cds_settings = CdsSettings(**settings)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture(scope="module")
def cds(checker: Checker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The default client: no JWT, no network, feedback in a temporary file."""
    app = create_app(checker)
    with TestClient(app) as client:
        app.state.cds_settings = CdsSettings(
            feedback_db=tmp_path_factory.mktemp("cds") / "feedback.sqlite3", transport=NO_NETWORK
        )
        yield client
