"""The throwaway PostgreSQL server of bench/postgres.py, for the tests: in CI (CI set, as
.ci/run is run) a server that cannot be started fails the tests that need it; elsewhere they
are skipped, saying why."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bench.postgres import PostgresServer, Unavailable, free_port
from bench.postgres import postgres_server as _server

__all__ = ["PostgresServer", "free_port", "in_ci", "postgres_server"]


def in_ci() -> bool:
    return bool(os.environ.get("CI"))


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    try:
        server = _server()
        started = server.__enter__()
    except Unavailable as exc:
        if in_ci():
            pytest.fail(f"PostgreSQL tests cannot run in CI: {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    try:
        yield started
    finally:
        server.__exit__(None, None, None)
