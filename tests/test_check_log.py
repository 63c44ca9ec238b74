"""The check log (api/check_log.py, api/store/checks.py) on both backends, SQLite and a real
PostgreSQL, as tests/test_store.py tests the store: what it keeps (codes, severities, card
uuids, outcome, time, API; nothing of the request), how the analytics count it with the
feedback (the latest outcome per card, feedback on unknown cards apart), the purge after
its retention, and that the per-check log line feeds it off the event loop."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.check_log import CheckLogWriter, entry_of, new_check_id, time_ordered_id
from api.console import analytics
from api.store import CheckEntry, FeedbackRecord, Store, open_store
from api.store.checks import ROWS_PER_INSERT
from api.store.migrate import current, head
from rules.checker import Checker
from tests.cds_hooks.conftest import settings

DAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday
REASON = "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes"


@pytest.fixture
def url(store_url: str) -> str:
    return store_url


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    opened = open_store(url)
    yield opened
    opened.close()


def check(n: int, when: datetime, *alerts: tuple[str, str, str | None]) -> CheckEntry:
    outcome = alerts[0][1] if alerts else "no_alerts"
    return CheckEntry(f"c{n}", when, "cds-hooks", outcome, 200, "2.1.0+test", tuple(alerts))


def feedback(card: str, outcome: str, when: datetime, reason: str | None = None) -> FeedbackRecord:
    return FeedbackRecord(
        service_id="baclofen-order-sign",
        card=card,
        outcome=outcome,
        outcome_timestamp=when,
        accepted_suggestions=None,
        reason_system=REASON if reason else None,
        reason_code=reason,
        reason_display=reason.replace("-", " ") if reason else None,
        user_comment="free text that is never shown",
        client=None,
        raw=json.dumps([card, outcome, when.isoformat(), reason]),
    )


def test_the_schema_has_the_check_log(store: Store, url: str) -> None:
    assert current(url) == head() == "0002"
    assert store.health(thorough=True) == "ok"


def seed(store: Store) -> None:
    """Two weeks: 4 TABLET_BELOW_33_KG cards (2 overridden, 1 accepted, 1 without feedback),
    one overridden and then accepted (the latest counts), a native alert, a check without
    alerts, and feedback on a card the check log never saw."""
    week2 = DAY + timedelta(days=7)
    store.append_checks(
        [
            check(1, DAY, ("TABLET_BELOW_33_KG", "critical", "k1")),
            check(
                2, DAY, ("TABLET_BELOW_33_KG", "critical", "k2"), ("MISSING_DATA", "warning", "k3")
            ),
            check(3, week2, ("TABLET_BELOW_33_KG", "critical", "k4")),
            check(4, week2, ("TABLET_BELOW_33_KG", "critical", "k5")),
            dataclasses.replace(
                check(5, week2, ("DAILY_DOSE_ABOVE_MAXIMUM", "critical", None)), endpoint="native"
            ),
            check(6, week2),
        ]
    )
    store.append_feedback(
        [
            feedback("k1", "overridden", DAY + timedelta(minutes=1), "risk-benefit-ratio"),
            feedback("k2", "overridden", DAY + timedelta(minutes=1), "expert-contradicts"),
            feedback("k2", "accepted", DAY + timedelta(minutes=5)),  # the latest: accepted
            feedback("k4", "overridden", week2 + timedelta(minutes=1), "risk-benefit-ratio"),
            feedback("k5", "accepted", week2 + timedelta(minutes=1)),
            feedback("unknown-card", "overridden", week2, "limited-time"),
        ]
    )


def test_counts_per_code_week_and_reason(store: Store) -> None:
    seed(store)
    start, end = date(2026, 11, 23), date(2026, 12, 6)
    rep = analytics.report(store.check_counts(*analytics.bounds(start, end)), start, end)
    rows = {(r.code, r.severity): r for r in rep.rows}
    tablet = rows[("TABLET_BELOW_33_KG", "critical")]
    assert (tablet.shown, tablet.cards, tablet.accepted, tablet.overridden) == (4, 4, 2, 2)
    assert tablet.override_rate == 0.5 and tablet.no_feedback == 0
    native = rows[("DAILY_DOSE_ABOVE_MAXIMUM", "critical")]
    assert (native.shown, native.cards, native.override_rate) == (1, 0, None)
    assert rows[("MISSING_DATA", "warning")].no_feedback == 1
    assert rep.checks == {"critical": 5, "no_alerts": 1}
    assert [(w.start, w.shown, w.accepted, w.overridden) for w in rep.weeks] == [
        (date(2026, 11, 23), 3, 1, 1),
        (date(2026, 11, 30), 3, 1, 1),
    ]
    assert [(r.code, r.count, dict(r.alert_codes)) for r in rep.reasons] == [
        ("risk-benefit-ratio", 2, {"TABLET_BELOW_33_KG": 2})
    ]
    assert rep.unmatched == {"overridden": 1}
    # A range that holds the first week only.
    first = analytics.report(
        store.check_counts(*analytics.bounds(start, start + timedelta(days=6))), start, end
    )
    assert first.total.shown == 3 and first.total.overridden == 1


def test_entries_are_stored_as_given(store: Store) -> None:
    """What PostgreSQL's COPY and SQLite's multi-row INSERTs write reads back the same: no
    status, no card, text a COPY would have to escape, a moment just before UTC midnight."""
    late = datetime(2026, 11, 29, 23, 59, 59, 999_999, tzinfo=UTC)
    awkward = "CODE\\ with\ttab\nnewline, comma; 'quote' \"dq\" \\N é"
    store.append_checks(
        [
            CheckEntry("e1", late, "native", "not_completed", None, "2.2.0+t", ()),
            CheckEntry(
                "e2",
                late,
                "native",
                "warning",
                200,
                "2.2.0+t",
                ((awkward, "warning", None), ("X", "info", "card-uuid-1")),
            ),
        ]
    )
    found = store.check_counts(late - timedelta(days=1), late + timedelta(seconds=1))
    assert sorted(found.checks) == [
        ("2026-11-29", "native", "not_completed", 1),
        ("2026-11-29", "native", "warning", 1),
    ]
    assert sorted(found.shown) == [
        ("2026-11-29", awkward, "warning", 1, 0),
        ("2026-11-29", "X", "info", 1, 1),
    ]
    assert (
        store.check_counts(late + timedelta(microseconds=1), late + timedelta(days=1)).checks == []
    )


def test_the_csv_says_what_the_report_says(store: Store) -> None:
    seed(store)
    start, end = date(2026, 11, 23), date(2026, 12, 6)
    rep = analytics.report(store.check_counts(*analytics.bounds(start, end)), start, end)
    lines = analytics.codes_csv(rep).splitlines()
    assert lines[0] == (
        "code,severity,shown,cds_hooks_cards,accepted,overridden,no_feedback,override_rate"
    )
    assert "TABLET_BELOW_33_KG,critical,4,4,2,2,0,0.5000" in lines
    assert analytics.weeks_csv(rep).splitlines()[1:] == [
        "2026-11-23,3,3,1,1,0.5000",
        "2026-11-30,3,2,1,1,0.5000",
    ]


@pytest.mark.parametrize("n", [1, ROWS_PER_INSERT, ROWS_PER_INSERT + 1, 2 * ROWS_PER_INSERT + 7])
def test_a_batch_is_written_whole_across_multi_row_inserts(store: Store, n: int) -> None:
    """Checks with 0-3 alerts each, on both sides of the rows one INSERT carries: every check
    and every alert arrives once, with its own values."""
    codes = ("PREGNANCY", "MISSING_DATA", "TABLET_BELOW_33_KG")
    entries = [
        check(
            i,
            DAY + timedelta(seconds=i),
            *((codes[k], "warning", f"card-{i}-{k}") for k in range(i % 4)),
        )
        for i in range(n)
    ]
    store.append_checks(entries)
    counts = store.check_counts(DAY, DAY + timedelta(days=1))
    assert sum(row[3] for row in counts.checks) == n
    shown = {row[1]: (row[3], row[4]) for row in counts.shown}
    for k, code in enumerate(codes):
        expected = sum(1 for i in range(n) if i % 4 > k)
        assert shown.get(code, (0, 0)) == (expected, expected)


def test_entries_older_than_the_retention_are_purged(store: Store) -> None:
    old, new = DAY - timedelta(days=401), DAY
    store.append_checks(
        [
            check(1, old, ("PREGNANCY", "warning", "p1")),
            check(2, new, ("PREGNANCY", "warning", "p2")),
        ]
    )
    assert store.purge_checks(DAY - timedelta(days=400)) == 1
    counts = store.check_counts(DAY - timedelta(days=500), DAY + timedelta(days=1))
    assert [row[1:] for row in counts.shown] == [("PREGNANCY", "warning", 1, 1)]
    assert len(counts.checks) == 1


def test_the_writer_batches_off_the_caller_and_purges_at_start(store: Store) -> None:
    store.append_checks(
        [check(0, datetime.now(UTC) - timedelta(days=30), ("PREGNANCY", "warning", None))]
    )
    writer = CheckLogWriter(store, retention_days=10, linger_s=0.05)
    for _ in range(500):
        writer.offer(
            {
                "event": "check",
                "endpoint": "native",
                "status": 200,
                "outcome": "warning",
                "codes": ["PREGNANCY"],
                "severities": ["warning"],
            }
        )
    assert writer.flush()
    writer.close()
    now = datetime.now(UTC)
    counts = store.check_counts(now - timedelta(days=60), now + timedelta(days=1))
    assert sum(row[3] for row in counts.checks) == 500  # the 30-day-old check was purged


def test_a_refused_or_abandoned_request_is_logged_without_alerts() -> None:
    refused = entry_of({"endpoint": "native", "status": 422, "outcome": "invalid_request"})
    assert refused is not None and refused.alerts == () and refused.status == 422
    assert entry_of({"endpoint": "native", "status": None, "outcome": "disconnected"}) is None


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        (DAY, DAY + timedelta(milliseconds=1)),  # the smallest step the id tells apart
        (DAY, DAY + timedelta(days=400)),
        (datetime(1970, 1, 1, 0, 0, 0, 1000, tzinfo=UTC), DAY),
    ],
)
def test_check_log_ids_are_uuid7_in_the_order_of_their_checks(
    earlier: datetime, later: datetime
) -> None:
    """Time-ordered ids are appended at the end of the key's B-tree instead of at a random
    page (api/check_log.py time_ordered_id)."""
    first, second = time_ordered_id(earlier), time_ordered_id(later)
    for text, moment in ((first, earlier), (second, later)):
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)
        assert len(text) == 32 and parsed.hex == text
        assert int(text[:12], 16) == int(moment.timestamp() * 1000)
    assert first < second


def test_check_log_ids_of_one_millisecond_differ() -> None:
    ids = {time_ordered_id(DAY) for _ in range(10_000)}
    assert len(ids) == 10_000
    assert len({i[:12] for i in ids}) == 1


def test_a_check_log_entry_takes_its_id_from_its_moment() -> None:
    entry = entry_of({"endpoint": "native", "status": 200, "outcome": "no_alerts"}, DAY)
    assert entry is not None and entry.checked_at == DAY
    assert int(entry.id[:12], 16) == int(DAY.timestamp() * 1000)


OWN_ID = "0190f3a1c2d37b4c8e9f0a1b2c3d4e5f"


@pytest.mark.parametrize(
    ("endpoint", "check_id", "keeps_it"),
    [
        ("native", OWN_ID, True),  # the id the response carried
        ("native", OWN_ID.upper(), False),  # not one the service makes
        ("native", OWN_ID + "0", False),
        ("native", "4f6c-not-hex", False),
        ("native", None, False),  # a 422 carries none
        ("native", 42, False),
        ("cds-hooks", OWN_ID, False),  # the EHR's hookInstance, which it may send again
    ],
)
def test_a_native_checks_entry_is_keyed_by_its_check_id(
    endpoint: str, check_id: object, keeps_it: bool
) -> None:
    record = {"endpoint": endpoint, "status": 200, "outcome": "no_alerts", "check_id": check_id}
    entry = entry_of(record, DAY)
    assert entry is not None
    assert (entry.id == check_id) is keeps_it
    if not keeps_it:
        assert int(entry.id[:12], 16) == int(DAY.timestamp() * 1000)


def test_new_check_ids_are_uuid7_of_now() -> None:
    before = datetime.now(UTC)
    made = new_check_id()
    after = datetime.now(UTC)
    parsed = uuid.UUID(made)
    assert (parsed.version, parsed.variant, parsed.hex) == (7, uuid.RFC_4122, made)
    millis = int(made[:12], 16)
    assert int(before.timestamp() * 1000) <= millis <= int(after.timestamp() * 1000)


@pytest.fixture
def client(checker: Checker, tmp_path: Path) -> Iterator[TestClient]:
    from api.main import create_app

    with TestClient(create_app(checker, cds_settings=settings(tmp_path))) as c:
        yield c


def _rows(client: TestClient, table: str) -> list[dict[str, Any]]:
    import sqlite3

    assert client.app.state.check_log.flush()  # type: ignore[attr-defined]
    path = client.app.state.store.path  # type: ignore[attr-defined]
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(f"SELECT * FROM {table}")]


def test_every_api_check_is_logged_without_patient_data(client: TestClient) -> None:
    from tests.cds_hooks.ehr import call
    from tests.cds_hooks.golden_cases import child_tablet_below_33_kg

    native = json.loads(Path("examples/child-tablet-epilepsy.json").read_text())
    assert client.post("/v1/safety-checks", json=native).status_code == 200
    cards = call(client, child_tablet_below_33_kg()).json()["cards"]
    assert client.post("/v1/safety-checks", json={"patient": {}}).status_code == 422
    checks = _rows(client, "check_log")
    assert sorted((c["endpoint"], c["outcome"], c["status"]) for c in checks) == [
        ("cds-hooks", "critical", 200),
        ("native", "critical", 200),
        ("native", "invalid_request", 422),
    ]
    alerts = _rows(client, "check_alerts")
    assert {a["card"] for a in alerts if a["card"]} == {c["uuid"] for c in cards}
    assert {(a["code"], a["severity"]) for a in alerts if a["card"] is None} == {
        ("TABLET_BELOW_33_KG", "critical"),
        ("SEIZURE_DISORDER_CONTRAINDICATION", "critical"),
        ("CNS_DEPRESSANT_COMEDICATION", "warning"),
    }
    stored = json.dumps(checks + alerts, default=str)
    for patient_data in ("2016-03-01", "28.5", "Epilepsy", "morphine", "pat-"):
        assert patient_data not in stored


def test_a_reported_check_id_finds_its_check_log_entry(client: TestClient) -> None:
    """The check_id a clinician reads off a response is the check log entry's key, with the
    alerts it was shown."""
    native = json.loads(Path("examples/child-tablet-epilepsy.json").read_text())
    answers = [client.post("/v1/safety-checks", json=native).json() for _ in range(3)]
    ids = [a["check_id"] for a in answers]
    assert len(set(ids)) == 3
    entries = {c["id"]: c for c in _rows(client, "check_log")}
    alerts = _rows(client, "check_alerts")
    for answer in answers:
        entry = entries[answer["check_id"]]
        assert (entry["endpoint"], entry["outcome"]) == ("native", answer["outcome"])
        shown = sorted((a["code"], a["severity"]) for a in answer["alerts"])
        logged = [(a["code"], a["severity"]) for a in alerts if a["check_id"] == entry["id"]]
        assert sorted(logged) == shown and shown


def test_the_console_try_out_is_not_a_check(client: TestClient) -> None:
    page = client.post(
        "/console/try",
        data={
            "mode": "form",
            "age_years": "7",
            "weight_kg": "20",
            "route": "oral",
            "form": "tablet",
            "dose_value": "10",
            "frequency_per_day": "3",
            "action": "continue",
        },
    )
    assert page.status_code == 200 and "TABLET_BELOW_33_KG" in page.text
    assert _rows(client, "check_log") == []


def test_retention_zero_keeps_no_check_log(checker: Checker, tmp_path: Path) -> None:
    from api.main import create_app

    app = create_app(checker, cds_settings=settings(tmp_path, check_log_retention_days=0))
    with TestClient(app) as c:
        assert c.app.state.check_log is None  # type: ignore[attr-defined]
        native = json.loads(Path("examples/child-over-maximum.json").read_text())
        assert c.post("/v1/safety-checks", json=native).status_code == 200
