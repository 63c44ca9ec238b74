"""Shared fixtures: one engine per test process (as in production), an API client on it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from rules.checker import Checker
from tests.postgres import PostgresServer, postgres_server


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
