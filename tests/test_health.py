"""/livez and /readyz in process: ready only when the engine answers its canary right, the
store can be written and is intact, and the configuration validates."""

from __future__ import annotations

import logging
import sqlite3
import time
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


def _app(checker: Checker, path: Path) -> TestClient:
    return TestClient(
        create_app(checker, cds_settings=CdsSettings(database_url=f"sqlite:///{path}"))
    )


@pytest.fixture
def app_client(checker: Checker, tmp_path: Path) -> Iterator[TestClient]:
    with _app(checker, tmp_path / "cds.sqlite3") as client:
        yield client


def _store(client: TestClient) -> Path:
    path: Path = client.app.state.store.path  # type: ignore[attr-defined]
    return path


FEEDBACK = {
    "feedback": [
        {
            "card": "card-1",
            "outcome": "overridden",
            "overrideReason": {"userComment": "known patient"},
            "outcomeTimestamp": "2026-11-22T09:31:02Z",
        }
    ]
}


def _feedback(client: TestClient) -> int:
    return client.post("/cds-services/baclofen-order-sign/feedback", json=FEEDBACK).status_code


def test_live_and_ready(app_client: TestClient) -> None:
    assert app_client.get("/livez").json() == {"status": "ok"}
    ready = app_client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": {"engine": "ok", "configuration": "ok", "store": "ok"},
    }
    assert _store(app_client).exists()  # created and migrated at start-up


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
    assert ready.json()["checks"]["store"] == "ok"


def test_not_ready_when_the_store_is_not_append_only(app_client: TestClient) -> None:
    app_client.get("/readyz")
    with sqlite3.connect(_store(app_client)) as conn:
        conn.execute("DROP TRIGGER feedback_no_delete")
    ready = app_client.get("/readyz")
    assert ready.status_code == 503
    assert "feedback_no_delete" in ready.json()["checks"]["store"]


def test_a_store_damaged_while_stopped_fails_readiness_and_refuses_writes(
    checker: Checker, tmp_path: Path
) -> None:
    """PRAGMA quick_check at start-up: a store whose pages are damaged (a crash of the disk,
    not of SQLite) is not ready, and feedback gets 503 instead of an acknowledgement."""
    path = tmp_path / "cds.sqlite3"
    with _app(checker, path) as client:
        assert _feedback(client) == 200
        for n in range(300):  # enough rows for several pages
            client.app.state.store.first_use(
                "iss",
                f"jti-{n}" + "x" * 200,  # type: ignore
                time.time() + 600,
            )
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(2 * page, len(data) - page, page):  # keep the header: damage pages
        data[offset + 8 : offset + 400] = b"\xff" * 392
    path.write_bytes(bytes(data))
    with _app(checker, path) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["store"].startswith(("damaged", "not usable"))
        assert _feedback(client) == 503


def test_a_file_that_is_not_a_database_fails_readiness(checker: Checker, tmp_path: Path) -> None:
    path = tmp_path / "cds.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with _app(checker, path) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["store"].startswith("not usable: DatabaseError")
        assert _feedback(client) == 503


def test_a_store_replaced_under_the_service_refuses_writes(app_client: TestClient) -> None:
    """The file is removed (or replaced) while the service holds it open: writes would go to
    a file nobody reads again. 503, never an acknowledgement."""
    assert _feedback(app_client) == 200
    path = _store(app_client)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    assert _feedback(app_client) == 503
    ready = app_client.get("/readyz")
    assert ready.status_code == 503
    assert "removed or replaced" in ready.json()["checks"]["store"]


def test_not_ready_when_the_store_cannot_be_written(
    checker: Checker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """And the start says so in the log, once, at ERROR: nothing else did until a probe."""
    (tmp_path / "a-file").write_text("")
    with (
        caplog.at_level(logging.INFO),
        _app(checker, tmp_path / "a-file" / "cds.sqlite3") as client,
    ):
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["store"].startswith("not usable")
        assert _feedback(client) == 503
    (line,) = [r for r in caplog.records if getattr(r, "event", None) == "store_unusable"]
    assert line.levelno == logging.ERROR
    assert ready.json()["checks"]["store"] in line.getMessage()


def test_a_usable_store_logs_no_problem_at_start(
    checker: Checker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO), _app(checker, tmp_path / "cds.sqlite3") as client:
        assert client.get("/readyz").status_code == 200
    assert not [r for r in caplog.records if getattr(r, "event", None) == "store_unusable"]


def test_not_ready_while_the_store_is_locked_for_writing(app_client: TestClient) -> None:
    app_client.get("/readyz")
    with sqlite3.connect(_store(app_client), isolation_level=None) as holder:
        holder.execute("BEGIN EXCLUSIVE")
        ready = app_client.get("/readyz")
        holder.execute("ROLLBACK")
    assert ready.status_code == 503
    assert "locked" in ready.json()["checks"]["store"]


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
