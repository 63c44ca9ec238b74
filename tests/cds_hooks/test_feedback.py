"""Feedback (spec 2.0.1): accepted suggestions and overrides with their reasons are kept in an
append-only store, once each (idempotent on card, outcome and outcomeTimestamp); malformed
feedback is a 400 naming the problem. The store itself, on both backends: test_store.py."""

from __future__ import annotations

import copy
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.cds_hooks.conftest import AppFactory
from tests.cds_hooks.ehr import call, example
from tests.cds_hooks.golden_cases import adult_daily_dose_above_maximum

SPEC_EXAMPLES = [
    "spec-2.0.1/feedback-accepted.json",
    "spec-2.0.1/feedback-overridden.json",
    "spec-2.0.1/feedback-overridden-with-reason.json",
]


@pytest.mark.parametrize("name", SPEC_EXAMPLES)
def test_spec_examples_are_stored(make_client: AppFactory, tmp_path: Path, name: str) -> None:
    client = make_client()
    body = example(name)
    response = client.post("/cds-services/baclofen-order-sign/feedback", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {"stored": 1, "duplicates": 0}
    (row,) = rows(client)
    item = body["feedback"][0]
    assert (row["service_id"], row["card"], row["outcome"]) == (
        "baclofen-order-sign",
        item["card"],
        item["outcome"],
    )
    reason = item.get("overrideReason", {})
    assert row["reason_code"] == reason.get("reason", {}).get("code")
    assert row["user_comment"] == reason.get("userComment")


def test_feedback_on_cards_we_returned(make_client: AppFactory, tmp_path: Path) -> None:
    """The EHR's round trip: sign, show the card, the clinician accepts the corrected order
    on one card and overrides another with a coded reason from the card."""
    client = make_client()
    (card,) = call(client, adult_daily_dose_above_maximum()).json()["cards"]
    reason = card["overrideReasons"][0]
    feedback = {
        "feedback": [
            {
                "card": card["uuid"],
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}],
                "outcomeTimestamp": "2026-11-22T09:31:02Z",
            },
            {
                "card": card["uuid"],
                "outcome": "overridden",
                "overrideReason": {
                    "reason": {k: reason[k] for k in ("system", "code", "display")},
                    "userComment": "Specialist-supervised inpatient titration.",
                },
                "outcomeTimestamp": "2026-11-22T09:32:40.52Z",
            },
        ]
    }
    response = client.post("/cds-services/baclofen-order-sign/feedback", json=feedback)
    assert response.json() == {"stored": 2, "duplicates": 0}
    accepted, overridden = rows(client)
    assert accepted["accepted_suggestions"] == f'["{card["suggestions"][0]["uuid"]}"]'
    assert (overridden["reason_system"], overridden["reason_code"]) == (
        "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes",
        "risk-benefit-ratio",
    )
    assert overridden["outcome_timestamp"] == "2026-11-22T09:32:40.520000+00:00"


def rows(client: TestClient) -> list[dict[str, Any]]:
    stored: list[dict[str, Any]] = client.app.state.store.feedback()  # type: ignore
    return stored


def post(client: TestClient, body: dict[str, Any]) -> Any:
    return client.post("/cds-services/baclofen-order-sign/feedback", json=body)


def test_a_retry_is_stored_once(make_client: AppFactory) -> None:
    """The EHR did not get our answer and sends the same feedback again (the attack: a
    client replaying feedback to inflate an override rate)."""
    client = make_client()
    body = example("spec-2.0.1/feedback-overridden-with-reason.json")
    assert post(client, body).json() == {"stored": 1, "duplicates": 0}
    for _ in range(3):
        assert post(client, body).json() == {"stored": 1, "duplicates": 1}
    assert len(rows(client)) == 1


def test_the_same_instant_written_another_way_is_the_same_item(make_client: AppFactory) -> None:
    client = make_client()
    item = copy.deepcopy(ACCEPTED)
    item["outcomeTimestamp"] = "2026-11-22T10:31:02+01:00"
    assert post(client, {"feedback": [item]}).json()["duplicates"] == 0
    item["outcomeTimestamp"] = "2026-11-22T09:31:02.000Z"
    # Another spelling of the same instant, with the same content otherwise: a retry.
    assert post(client, {"feedback": [item]}).json() == {"stored": 1, "duplicates": 1}
    assert len(rows(client)) == 1


def test_the_same_key_with_other_content_is_409_and_stores_nothing(make_client: AppFactory) -> None:
    client = make_client()
    first = _item(
        outcome="overridden",
        acceptedSuggestions=None,
        overrideReason={"userComment": "patient tolerates it"},
    )
    assert post(client, first).status_code == 200
    changed = copy.deepcopy(first)
    changed["feedback"][0]["overrideReason"]["userComment"] = "rewritten"
    fresh = _item(card="another-card")["feedback"][0]
    response = post(client, {"feedback": [fresh, changed["feedback"][0]]})
    assert response.status_code == 409
    assert response.json()["issue"][0]["expression"] == ["feedback[1]"]
    assert [r["card"] for r in rows(client)] == [first["feedback"][0]["card"]]


def test_different_outcomes_and_times_are_different_items(make_client: AppFactory) -> None:
    client = make_client()
    later = _item(outcomeTimestamp="2026-11-22T09:31:03Z")
    overridden = _item(
        outcome="overridden", acceptedSuggestions=None, overrideReason={"userComment": "no"}
    )
    for body in (_item(), later, overridden):
        assert post(client, body).json() == {"stored": 1, "duplicates": 0}
    assert len(rows(client)) == 3


def test_the_store_is_append_only(make_client: AppFactory) -> None:
    client = make_client()
    assert post(client, _item()).status_code == 200
    path = client.app.state.store.path  # type: ignore[attr-defined]
    for statement in ("UPDATE feedback SET outcome = 'overridden'", "DELETE FROM feedback"):
        with (
            pytest.raises(sqlite3.IntegrityError, match="append-only"),
            sqlite3.connect(path) as conn,
        ):
            conn.execute(statement)
    assert len(rows(client)) == 1


ACCEPTED = example("spec-2.0.1/feedback-accepted.json")["feedback"][0]


def _item(**changes: Any) -> dict[str, Any]:
    item = copy.deepcopy(ACCEPTED)
    for key, value in changes.items():
        if value is None:
            item.pop(key, None)
        else:
            item[key] = value
    return {"feedback": [item]}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({}, "feedback: Field required"),
        ({"feedback": []}, "at least 1 item"),
        ({"feedback": {"card": "x"}}, "valid list"),
        (_item(card=None), "card: Field required"),
        (_item(card=""), "at least 1 character"),
        (_item(outcome="ignored"), "'accepted' or 'overridden'"),
        (_item(acceptedSuggestions=None), "acceptedSuggestions: is required for an accepted"),
        (_item(acceptedSuggestions=[{"uuid": "x"}]), "acceptedSuggestions.0.id: Field required"),
        (
            _item(outcome="overridden", acceptedSuggestions=None, overrideReason={}),
            "feedback.0.overrideReason: needs a reason or a userComment",
        ),
        (
            _item(
                outcome="overridden",
                acceptedSuggestions=None,
                overrideReason={"reason": {"code": "x"}},
            ),
            "reason.system: Field required",
        ),
        (_item(outcomeTimestamp=None), "outcomeTimestamp: Field required"),
        (_item(outcomeTimestamp="yesterday"), "outcomeTimestamp"),
        (_item(outcomeTimestamp="2021-12-11T10:05:31"), "needs a time zone"),
        (_item(outcomeTimestamp=1795000000), "outcomeTimestamp: must be an ISO 8601 date-time"),
    ],
    ids=[
        "empty",
        "no-items",
        "not-a-list",
        "no-card",
        "blank-card",
        "bad-outcome",
        "accepted-without-suggestions",
        "suggestion-without-id",
        "empty-override-reason",
        "reason-without-system",
        "no-timestamp",
        "bad-timestamp",
        "naive-timestamp",
        "number-timestamp",
    ],
)
def test_malformed_feedback_is_400(
    make_client: AppFactory, body: dict[str, Any], says: str
) -> None:
    client = make_client()
    response = client.post("/cds-services/baclofen-order-sign/feedback", json=body)
    assert response.status_code == 400, response.text
    assert says in response.json()["issue"][0]["diagnostics"]
    assert rows(client) == []


def test_a_store_that_cannot_write_is_503_not_a_silent_drop(
    make_client: AppFactory, tmp_path: Path
) -> None:
    (tmp_path / "a-directory").mkdir()
    client = make_client(database_url=f"sqlite:///{tmp_path / 'a-directory'}")
    response = client.post(
        "/cds-services/baclofen-order-sign/feedback", json=example(SPEC_EXAMPLES[0])
    )
    assert response.status_code == 503
    assert response.json()["issue"][0]["diagnostics"].startswith("The feedback could not be stored")
