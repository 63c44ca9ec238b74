"""Feedback (spec 2.0.1): accepted suggestions and overrides with their reasons are kept in an
append-only store; malformed feedback is a 400 naming the problem."""

from __future__ import annotations

import copy
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from api.cds_hooks.feedback import FeedbackStore
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
    client = make_client(feedback_db=tmp_path / "fb.sqlite3")
    body = example(name)
    response = client.post("/cds-services/baclofen-order-sign/feedback", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {"stored": 1}
    (row,) = FeedbackStore(tmp_path / "fb.sqlite3").rows()
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
    client = make_client(feedback_db=tmp_path / "fb.sqlite3")
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
    assert response.json() == {"stored": 2}
    accepted, overridden = FeedbackStore(tmp_path / "fb.sqlite3").rows()
    assert accepted["accepted_suggestions"] == f'["{card["suggestions"][0]["uuid"]}"]'
    assert (overridden["reason_system"], overridden["reason_code"]) == (
        "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes",
        "risk-benefit-ratio",
    )
    assert overridden["outcome_timestamp"] == "2026-11-22T09:32:40.520000+00:00"


def test_the_store_is_append_only(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    store.rows()  # creates the schema
    with sqlite3.connect(tmp_path / "fb.sqlite3") as conn:
        conn.execute(
            "INSERT INTO feedback (received_at, service_id, card, outcome, "
            "outcome_timestamp, raw) VALUES ('t', 's', 'c', 'accepted', 't', '{}')"
        )
    for statement in ("UPDATE feedback SET outcome = 'overridden'", "DELETE FROM feedback"):
        with (
            pytest.raises(sqlite3.IntegrityError, match="append-only"),
            sqlite3.connect(tmp_path / "fb.sqlite3") as conn,
        ):
            conn.execute(statement)
    assert len(store.rows()) == 1


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
            "needs a reason or a userComment",
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
    ],
)
def test_malformed_feedback_is_400(
    make_client: AppFactory, tmp_path: Path, body: dict[str, Any], says: str
) -> None:
    client = make_client(feedback_db=tmp_path / "fb.sqlite3")
    response = client.post("/cds-services/baclofen-order-sign/feedback", json=body)
    assert response.status_code == 400, response.text
    assert says in response.json()["issue"][0]["diagnostics"]
    assert (
        not (tmp_path / "fb.sqlite3").exists()
        or FeedbackStore(tmp_path / "fb.sqlite3").rows() == []
    )


def test_a_store_that_cannot_write_is_503_not_a_silent_drop(
    make_client: AppFactory, tmp_path: Path
) -> None:
    (tmp_path / "a-directory").mkdir()
    client = make_client(feedback_db=tmp_path / "a-directory")
    response = client.post(
        "/cds-services/baclofen-order-sign/feedback", json=example(SPEC_EXAMPLES[0])
    )
    assert response.status_code == 503
    assert response.json()["issue"][0]["diagnostics"].startswith("The feedback could not be stored")
