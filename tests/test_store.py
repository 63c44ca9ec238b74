"""The store (api/store/) on both backends, SQLite and a real PostgreSQL (tests/postgres.py):
the same promises, tested the same way. Feedback is stored once whatever the retries and
however many processes post it; it is append-only; nothing is acknowledged that cannot be
read back; a jti is accepted once across processes; the schema is migrated once, by whoever
comes first, when many start together."""

from __future__ import annotations

import dataclasses
import multiprocessing
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from api.store import FeedbackConflict, FeedbackRecord, Store, StoreError, open_store, redacted
from api.store.migrate import current, head

RECORD = FeedbackRecord(
    service_id="baclofen-order-sign",
    card="card-1",
    outcome="overridden",
    outcome_timestamp=datetime(2026, 11, 22, 9, 31, 2, tzinfo=UTC),
    accepted_suggestions=None,
    reason_system="http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes",
    reason_code="risk-benefit-ratio",
    reason_display="Recipient assessment",
    user_comment="Specialist-supervised titration.",
    client="https://ehr.example.test/",
    raw='{"card":"card-1"}',
)


def record(n: int, **changes: object) -> FeedbackRecord:
    return dataclasses.replace(RECORD, card=f"card-{n}", raw=f'{{"card":"card-{n}"}}', **changes)  # type: ignore[arg-type]


@pytest.fixture
def url(store_url: str) -> str:
    return store_url


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    opened = open_store(url)
    yield opened
    opened.close()


def test_a_new_store_is_migrated_and_healthy(store: Store, url: str) -> None:
    assert store.health(thorough=True) == "ok"
    assert current(url) == head()


def test_feedback_is_stored_once(store: Store) -> None:
    assert store.append_feedback([RECORD]) == ["new"]
    assert store.append_feedback([RECORD]) == ["duplicate"]
    assert store.append_feedback([record(2), RECORD, record(2)]) == [
        "new",
        "duplicate",
        "duplicate",
    ]
    rows = store.feedback()
    assert [r["card"] for r in rows] == ["card-1", "card-2"]
    first = rows[0]
    assert (
        first["outcome"],
        first["reason_code"],
        first["client"],
        first["outcome_timestamp"],
    ) == (
        "overridden",
        "risk-benefit-ratio",
        "https://ehr.example.test/",
        "2026-11-22T09:31:02.000000+00:00",
    )


def test_the_same_instant_in_another_offset_is_the_same_key(store: Store) -> None:
    store.append_feedback([RECORD])
    paris = RECORD.outcome_timestamp.astimezone(timezone(timedelta(hours=1)))
    assert store.append_feedback([dataclasses.replace(RECORD, outcome_timestamp=paris)]) == [
        "duplicate"
    ]


def test_other_content_under_a_stored_key_stores_nothing(store: Store) -> None:
    store.append_feedback([RECORD])
    with pytest.raises(FeedbackConflict) as caught:
        store.append_feedback([record(7), dataclasses.replace(RECORD, raw='{"other":1}')])
    assert caught.value.keys == [RECORD.key]
    assert [r["card"] for r in store.feedback()] == ["card-1"]  # card-7 rolled back


def test_concurrent_posts_of_the_same_items_store_each_once(store: Store) -> None:
    """Eight threads post the same 50 items in different orders, as retries racing each
    other: 50 rows, and every post acknowledged."""
    items = [record(n) for n in range(50)]

    def post(k: int) -> list[str]:
        out: list[str] = []
        for n in range(50):
            out += store.append_feedback([items[(n * (k + 1)) % 50]])
        return out

    with ThreadPoolExecutor(8) as pool:
        answers = [a for answer in pool.map(post, range(8)) for a in answer]
    assert len(answers) == 400
    assert answers.count("new") == len({(n * (k + 1)) % 50 for k in range(8) for n in range(50)})
    assert len(store.feedback()) == answers.count("new")


def _post_many(url: str, start: int, count: int) -> int:
    store = open_store(url)
    try:
        return sum(
            v == "new" for n in range(count) for v in store.append_feedback([record(start + n)])
        )
    finally:
        store.close()


def test_processes_sharing_the_store_store_each_item_once(url: str) -> None:
    """Four processes (workers, or instances on PostgreSQL) post overlapping ranges."""
    open_store(url).close()
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        new = pool.starmap(_post_many, [(url, k * 25, 50) for k in range(4)])
    assert sum(new) == 125
    store = open_store(url)
    assert len(store.feedback()) == 125
    store.close()


def _open_and_say(url: str) -> str:
    store = open_store(url)
    try:
        return store.health(thorough=False)
    finally:
        store.close()


def test_sqlite_workers_starting_together_all_get_a_usable_store(tmp_path: Path) -> None:
    """Four processes opening a new SQLite store at once, twelve times: switching it to WAL
    while another was migrating answered "database is locked" without waiting, and about
    one start in ten left a worker whose store refused every write until restarted."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        for n in range(12):
            url = f"sqlite:///{tmp_path / f'fresh-{n}.sqlite3'}"
            assert pool.map(_open_and_say, [url] * 4) == ["ok"] * 4, f"round {n}"


def test_many_starting_together_migrate_once(url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        assert pool.map(_open_and_say, [url] * 4) == ["ok"] * 4
    assert current(url) == head()


def test_a_jti_is_accepted_once_across_processes(url: str) -> None:
    stores = [open_store(url) for _ in range(2)]
    until = time.time() + 60
    assert stores[0].first_use("https://ehr.example.test/", "jti-1", until)
    assert not stores[1].first_use("https://ehr.example.test/", "jti-1", until)
    assert not stores[0].first_use("https://ehr.example.test/", "jti-1", until)
    assert stores[1].first_use("https://other.example.test/", "jti-1", until)
    # A memory whose token has expired may be replaced (the token is refused by its exp).
    assert stores[0].first_use("https://ehr.example.test/", "old", time.time() - 1)
    assert stores[1].first_use("https://ehr.example.test/", "old", until)
    for store in stores:
        store.close()


def test_feedback_is_append_only_in_the_database_itself(store: Store, url: str) -> None:
    store.append_feedback([RECORD])
    statements = ["UPDATE feedback SET outcome = 'accepted'", "DELETE FROM feedback"]
    if url.startswith("postgresql"):
        import psycopg

        statements.append("TRUNCATE feedback")
        for statement in statements:
            with (
                psycopg.connect(url) as conn,
                pytest.raises(psycopg.errors.RaiseException, match="append-only"),
            ):
                conn.execute(statement)
    else:
        import sqlite3

        for statement in statements:
            with (
                sqlite3.connect(url.removeprefix("sqlite:///")) as conn,
                pytest.raises(sqlite3.IntegrityError, match="append-only"),
            ):
                conn.execute(statement)
    assert len(store.feedback()) == 1


def test_an_unreachable_database_is_a_store_error_not_an_acknowledgement() -> None:
    from tests.postgres import free_port

    store = open_store(f"postgresql://nobody:secret@127.0.0.1:{free_port()}/none")
    try:
        assert store.health(thorough=False).startswith("not usable")
        with pytest.raises(StoreError):
            store.append_feedback([RECORD])
        with pytest.raises(StoreError):
            store.first_use("iss", "jti", time.time() + 60)
    finally:
        store.close()


def test_passwords_stay_out_of_logs() -> None:
    assert (
        redacted("postgresql://cds:s3cret@db.example:5432/cds")
        == "postgresql://cds:***@db.example:5432/cds"
    )


def test_requests_that_arrive_together_share_a_commit_and_keep_their_own_answers(
    store: Store,
) -> None:
    """200 requests at once from the event loop (as the feedback route submits them): one
    conflicting request is refused alone; retries inside the crowd are duplicates."""
    import asyncio

    store.append_feedback([RECORD])
    bad = [dataclasses.replace(RECORD, raw='{"other":1}')]

    async def crowd() -> list[object]:
        requests = [[record(n)] for n in range(100, 300)]
        requests[50] = bad
        requests[60] = [record(100)]  # the same as requests[0]
        return await asyncio.gather(
            *(store.submit_feedback(r) for r in requests), return_exceptions=True
        )

    answers = asyncio.run(crowd())
    assert isinstance(answers[50], FeedbackConflict)
    assert sorted(map(str, [answers[0], answers[60]])) == ["['duplicate']", "['new']"]
    assert sum(a == ["new"] for a in answers) == 198
    assert len(store.feedback()) == 1 + 198  # card-1, and 200 requests less the two replaced


def test_the_default_place_does_not_follow_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from api.cds_hooks.settings import CdsSettings, state_directory

    monkeypatch.delenv("CDS_DATABASE_URL", raising=False)
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    for cwd in (tmp_path, Path("/")):
        monkeypatch.chdir(cwd)
        assert (
            CdsSettings().database_url
            == f"sqlite:///{tmp_path / 'state' / 'baclofen-cds' / 'cds.sqlite3'}"
        )
    monkeypatch.setenv("XDG_STATE_HOME", "relative/ignored")  # the XDG spec: absolute only
    assert state_directory() == Path.home() / ".local" / "state" / "baclofen-cds"
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/baclofen-cds")  # systemd StateDirectory=
    assert state_directory() == Path("/var/lib/baclofen-cds")
    with pytest.raises(ValueError, match="absolute path"):
        CdsSettings(database_url="sqlite:///relative.sqlite3")
    with pytest.raises(ValueError, match="postgresql"):
        CdsSettings(database_url="mysql://x")
