"""/livez and /readyz in process: ready only when the engine answers its canary right, the
feedback store can be written and is intact, and the configuration validates."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api import health
from api.cds_hooks.settings import CdsSettings
from api.main import create_app
from engine import EngineError
from rules.checker import Checker


@pytest.fixture
def app_client(checker: Checker, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(checker)
    with TestClient(app) as client:
        app.state.cds_settings = CdsSettings(feedback_db=tmp_path / "feedback.sqlite3")
        yield client


def _store(client: TestClient) -> Path:
    path: Path = client.app.state.cds_settings.feedback_db  # type: ignore[attr-defined]
    return path


def test_live_and_ready(app_client: TestClient) -> None:
    assert app_client.get("/livez").json() == {"status": "ok"}
    ready = app_client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": {"engine": "ok", "configuration": "ok", "feedback_store": "ok"},
    }
    assert _store(app_client).exists()  # created as the first feedback would create it


def test_the_canary_is_a_real_check(checker: Checker) -> None:
    result = checker.run(health.CANARY)
    assert health.CANARY_CODE in [a.code for a in result.alerts]
    assert result.outcome == "critical"


class WrongAnswer:
    """An engine that answers, but not what the rules say."""

    def __init__(self, real: Checker) -> None:
        self.real = real

    def run(self, case: Any, check_id: str | None = None) -> Any:
        result = self.real.run(case, check_id)
        return result.model_copy(
            update={"alerts": [a for a in result.alerts if a.code != health.CANARY_CODE]}
        )


class Broken:
    def run(self, case: Any, check_id: str | None = None) -> Any:
        raise EngineError("the session could not be created")


@pytest.mark.parametrize(
    ("engine", "problem"),
    [
        (WrongAnswer, "expected DAILY_DOSE_ABOVE_MAXIMUM"),
        (lambda _: Broken(), "canary check not completed"),
        (lambda _: None, "no engine in this worker"),
    ],
    ids=["wrong-answer", "engine-error", "no-engine"],
)
def test_not_ready_without_a_working_engine(
    app_client: TestClient, checker: Checker, engine: Any, problem: str
) -> None:
    app_client.app.state.checker = engine(checker)  # type: ignore[attr-defined]
    ready = app_client.get("/readyz")
    assert ready.status_code == 503
    assert problem in ready.json()["checks"]["engine"]
    assert ready.json()["checks"]["feedback_store"] == "ok"


def test_not_ready_when_the_store_is_not_append_only(app_client: TestClient) -> None:
    app_client.get("/readyz")
    with sqlite3.connect(_store(app_client)) as conn:
        conn.execute("DROP TRIGGER feedback_no_delete")
    ready = app_client.get("/readyz")
    assert ready.status_code == 503
    assert "feedback_no_delete" in ready.json()["checks"]["feedback_store"]


def test_not_ready_when_the_store_is_damaged(app_client: TestClient) -> None:
    _store(app_client).write_bytes(b"this is not a database" * 100)
    ready = app_client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["feedback_store"].startswith("not usable: DatabaseError")


def test_not_ready_when_the_store_cannot_be_written(app_client: TestClient, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    app_client.app.state.cds_settings = CdsSettings(  # type: ignore[attr-defined]
        feedback_db=tmp_path / "a-file" / "feedback.sqlite3"
    )
    ready = app_client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["feedback_store"].startswith("not usable")


def test_not_ready_while_the_store_is_locked_for_writing(app_client: TestClient) -> None:
    app_client.get("/readyz")
    with sqlite3.connect(_store(app_client), isolation_level=None) as holder:
        holder.execute("BEGIN EXCLUSIVE")
        ready = app_client.get("/readyz")
        holder.execute("ROLLBACK")
    assert ready.status_code == 503
    assert "locked" in ready.json()["checks"]["feedback_store"]


@pytest.mark.parametrize(
    ("name", "value"), [("LOG_LEVEL", "verbose"), ("CDS_JWT_REQUIRED", "true"), ("KEEPALIVE", "-1")]
)
def test_not_ready_when_the_configuration_is_invalid(
    app_client: TestClient, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    ready = app_client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["configuration"].startswith("invalid")
