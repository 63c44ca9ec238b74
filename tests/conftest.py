"""Shared fixtures: one engine per test process (as in production), an API client on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from rules.checker import Checker


@pytest.fixture(scope="session")
def checker() -> Checker:
    return Checker()


@pytest.fixture(scope="session")
def client(checker: Checker) -> Iterator[TestClient]:
    with TestClient(create_app(checker)) as c:
        yield c
