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


def settings(tmp_path: Path, **values: Any) -> CdsSettings:
    """CDS settings for a test app: the store in `tmp_path`, no network unless a transport
    is given."""
    values.setdefault("database_url", f"sqlite:///{tmp_path / 'cds.sqlite3'}")
    values.setdefault("transport", NO_NETWORK)
    return CdsSettings(**values)


@pytest.fixture
def make_client(checker: Checker, tmp_path: Path) -> Iterator[AppFactory]:
    """A client on a fresh app whose CDS settings are the given ones."""
    clients: list[TestClient] = []

    def make(checker_override: Any = None, **values: Any) -> TestClient:
        app = create_app(checker_override or checker, cds_settings=settings(tmp_path, **values))
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture(scope="module")
def cds(checker: Checker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The default client: open mode, no network, the store in a temporary file."""
    app = create_app(checker, cds_settings=settings(tmp_path_factory.mktemp("cds")))
    with TestClient(app) as client:
        yield client
