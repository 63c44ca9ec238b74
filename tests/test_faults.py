"""Fail-safe under injected faults: a rule action that raises, an engine that is unavailable,
a check over its time budget, a worker without its checker. Every one must answer "the check
could not be completed" (native: 503/500 with an explicit body; CDS Hooks: an OperationOutcome
error, never a 200 with no cards), and the very next request must be answered normally.

Faults are injected into the app's one Checker (the session fixture) and undone by
monkeypatch, so the rest of the suite is unaffected.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import engine.runtime as runtime
from api.errors import NOT_COMPLETED
from api.main import create_app
from bench.cases import MIX
from engine import Derivation, EngineError
from rules.checker import Checker

GOLDEN = Path(__file__).parent / "golden"
HOOK = json.loads((GOLDEN / "adult-daily-dose-above-maximum.request.json").read_text())
HOOK_CODES = ["DAILY_DOSE_ABOVE_MAXIMUM"]
NATIVE, NATIVE_CODES = MIX["five alerts"]


@pytest.fixture(scope="module")
def app_client(checker: Checker) -> Iterator[TestClient]:
    # raise_server_exceptions=False: a 500 must be an answer to the client, not a test crash.
    with TestClient(create_app(checker), raise_server_exceptions=False) as client:
        yield client


def _native(client: TestClient) -> Any:
    return client.post("/v1/safety-checks", json=NATIVE)


def _hook(client: TestClient) -> Any:
    return client.post(f"/cds-services/baclofen-{HOOK['hook']}", json=HOOK)


def _assert_works(client: TestClient) -> None:
    native = _native(client)
    assert native.status_code == 200, native.text
    assert {a["code"] for a in native.json()["alerts"]} == NATIVE_CODES
    hook = _hook(client)
    assert hook.status_code == 200, hook.text
    assert sorted(c["source"]["topic"]["code"] for c in hook.json()["cards"]) == HOOK_CODES


def _assert_not_completed(client: TestClient, status: int) -> None:
    native = _native(client)
    assert native.status_code == status, native.text
    body = native.json()
    assert body["error"] == "check_not_completed"
    assert body["message"] == NOT_COMPLETED
    assert "alerts" not in body and "outcome" not in body
    hook = _hook(client)
    assert hook.status_code == status, hook.text
    outcome = hook.json()
    assert "cards" not in outcome
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["severity"] in ("error", "fatal")
    assert outcome["issue"][0]["diagnostics"] == NOT_COMPLETED


def _raising_derivation(_: TestClient, checker: Checker, monkeypatch: pytest.MonkeyPatch) -> None:
    """The daily-dose derivation (which every oral check needs) raises inside its action."""
    rule = checker.engine.rules["derive.daily_dose"]
    assert isinstance(rule, Derivation)

    def broken(**_: Any) -> list[dict[str, Any]]:
        raise ZeroDivisionError("injected fault")

    broken_rule = dataclasses.replace(rule, derive=broken)
    monkeypatch.setitem(checker.engine._actions, rule.id, checker.engine._action(broken_rule))


def _raising_sentinel(_: TestClient, checker: Checker, monkeypatch: pytest.MonkeyPatch) -> None:
    """An action raising outside the per-rule guard (here the end sentinel): the agenda
    loop abandons the action and the check fails instead of returning what it had."""

    def boom(*_: Any) -> None:
        raise RuntimeError("injected fault")

    monkeypatch.setitem(checker.engine._actions, runtime._SENTINEL_END, boom)


def _engine_unavailable(_: TestClient, checker: Checker, monkeypatch: pytest.MonkeyPatch) -> None:
    """The C engine refuses every call (as it does when its state is broken)."""

    class Unavailable:
        def __getattr__(self, name: str) -> Callable[..., Any]:
            def refuse(*_: Any) -> Any:
                raise RuntimeError(f"injected fault: durable_rules_engine.{name} unavailable")

            return refuse

    monkeypatch.setattr(runtime, "_native", Unavailable())


def _no_end_sentinel(_: TestClient, checker: Checker, monkeypatch: pytest.MonkeyPatch) -> None:
    """The agenda stops early: the $end sentinel never fires, so the result is incomplete."""
    monkeypatch.setitem(checker.engine._actions, runtime._SENTINEL_END, lambda *_: None)


def _budget_exceeded(_: TestClient, checker: Checker, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every check is already past its time budget when its first rule fires."""
    monkeypatch.setattr(checker.engine, "budget_s", -1.0)


def _no_checker(client: TestClient, _: Checker, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker whose engine was never built (or was torn down): the route has no checker."""
    monkeypatch.delattr(client.app.state, "checker")  # type: ignore[attr-defined]


Inject = Callable[[TestClient, Checker, pytest.MonkeyPatch], None]
FAULTS: dict[str, tuple[Inject, int]] = {
    "rule-action-raises": (_raising_derivation, 503),
    "action-raises-outside-rule-guard": (_raising_sentinel, 503),
    "engine-unavailable": (_engine_unavailable, 503),
    "agenda-incomplete": (_no_end_sentinel, 503),
    "time-budget-exceeded": (_budget_exceeded, 503),
    "no-checker-in-worker": (_no_checker, 503),
}


@pytest.mark.parametrize("fault", FAULTS, ids=list(FAULTS))
def test_fault_says_not_completed_then_next_request_works(
    fault: str, app_client: TestClient, checker: Checker, monkeypatch: pytest.MonkeyPatch
) -> None:
    inject, status = FAULTS[fault]
    _assert_works(app_client)  # control: the same requests pass before the fault
    with monkeypatch.context() as patch:
        inject(app_client, checker, patch)
        _assert_not_completed(app_client, status)
        _assert_not_completed(app_client, status)  # and keeps failing safely, no crash
    _assert_works(app_client)


def test_engine_state_is_released_after_every_fault(
    app_client: TestClient, checker: Checker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the 1024-session cap of durable-rules: 1,100 failed checks leave nothing behind
    (a leaked session each would make later checks fail with MemoryError)."""
    with monkeypatch.context() as patch:
        _raising_derivation(app_client, checker, patch)
        for _ in range(1100):
            with pytest.raises(EngineError):
                checker.engine.evaluate(_facts())
    _assert_works(app_client)


def _facts() -> list[dict[str, Any]]:
    from rules.case import SafetyCheckRequest
    from rules.facts import case_facts

    return case_facts(SafetyCheckRequest.model_validate(NATIVE))


def _check_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [
        {
            k: v
            for k, v in vars(r).items()
            if k
            in (
                "event",
                "endpoint",
                "status",
                "check_id",
                "outcome",
                "codes",
                "card_uuids",
                "error",
                "fields",
                "duration_ms",
            )
        }
        for r in caplog.records
        if r.name == "baclofen.checks"
    ]


def test_every_check_is_logged_with_its_outcome_and_no_patient_data(
    app_client: TestClient,
    checker: Checker,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """One structured line per check: completed, not completed, refused. The refused one
    names the field but not the value, which may be a patient's data."""
    caplog.set_level("INFO", logger="baclofen.checks")
    _assert_works(app_client)
    with monkeypatch.context() as patch:
        _budget_exceeded(app_client, checker, patch)
        _native(app_client)
    bad = {**NATIVE, "patient": {**NATIVE["patient"], "birth_date": "1981-13-45"}}
    app_client.post("/v1/safety-checks", json=bad)
    native, hook, failed, refused = _check_lines(caplog)
    assert native["outcome"] == "critical" and set(native["codes"]) == NATIVE_CODES
    assert native["status"] == 200 and len(native["check_id"]) == 32
    assert hook == {
        **hook,
        "endpoint": "cds-hooks",
        "status": 200,
        "outcome": "critical",
        "codes": HOOK_CODES,
        "check_id": HOOK["hookInstance"],
    }
    assert len(hook["card_uuids"]) == len(HOOK_CODES) and all(hook["card_uuids"])
    assert failed["outcome"] == "not_completed" and failed["status"] == 503
    assert failed["error"] == "check_not_completed" and failed["check_id"]
    assert refused == {
        **refused,
        "outcome": "invalid_request",
        "status": 422,
        "fields": ["patient.birth_date"],
    }
    text = json.dumps([native, hook, failed, refused])
    for secret in ("1981", "morphine", "Epilepsy", "84757009", "mg"):
        assert secret not in text
    assert all(line["duration_ms"] > 0 for line in (native, hook, failed, refused))


def test_log_level_is_validated() -> None:
    from api.observability import configure_logging

    with pytest.raises(ValueError, match="LOG_LEVEL"):
        configure_logging("LOUD")
