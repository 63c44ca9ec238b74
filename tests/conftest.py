"""Shared fixtures: one engine per test process (as in production), an API client on it.

The store's default place is the user's state directory (~/.local/state/baclofen-cds): the
tests point XDG_STATE_HOME at a temporary directory first, for themselves and for every
server they start, so that no test writes there.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from rules.checker import Checker
from tests.postgres import PostgresServer, postgres_server

_STATE = tempfile.TemporaryDirectory(prefix="baclofen-cds-test-state-")
os.environ["XDG_STATE_HOME"] = _STATE.name
os.environ.pop("CDS_DATABASE_URL", None)
os.environ.pop("STATE_DIRECTORY", None)


@pytest.fixture(scope="session")
def checker() -> Checker:
    return Checker()


@pytest.fixture(scope="session")
def client(checker: Checker) -> Iterator[TestClient]:
    with TestClient(create_app(checker)) as c:
        yield c


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server for the session (tests/postgres.py); each test that
    needs a database takes a fresh one (`postgres_url`)."""
    with postgres_server() as server:
        yield server


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> str:
    return postgres.create_database(f"t_{uuid.uuid4().hex[:16]}")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database on each backend: SQLite in a temporary file, and PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cds.sqlite3'}"
    return str(request.getfixturevalue("postgres_url"))
