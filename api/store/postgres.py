"""The shared store: PostgreSQL, for several instances on several machines (feedback from any
of them lands once; a `jti` accepted by one is refused by all).

psycopg 3 with a psycopg_pool connection pool per worker process (CDS_DB_POOL_SIZE
connections at most): connections are opened once and reused, and replaced when they come
back broken (the server restarted or closed them). Every write is one
transaction, committed (synchronous_commit as the server has it: on by default, so the
commit is on disk) and read back before it is acknowledged.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from api.store import (
    CheckCounts,
    CheckEntry,
    FeedbackConflict,
    FeedbackRecord,
    StoreError,
    conflicts,
    redacted,
    settled,
    utc_iso,
)
from api.store import checks as check_sql
from api.store.batching import BatchedFeedback, GroupCommit, Outcome
from api.store.migrate import head, upgrade

PURGE_EVERY_S = 60.0
RETRY_MIGRATION_S = 5.0
COLUMNS = (
    "received_at, service_id, card, outcome, accepted_suggestions, reason_system, "
    "reason_code, reason_display, user_comment, outcome_timestamp, client, raw"
)
TRIGGERS = {"feedback_no_update", "feedback_no_delete", "feedback_no_truncate"}
TABLES = {"feedback", "jti", "check_log", "check_alerts"}
DIALECT = check_sql.Dialect(
    "%s", lambda column: f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')", lambda t: t
)


class PostgresStore(BatchedFeedback):
    def __init__(self, url: str, pool: Any) -> None:
        self.url = url
        self.url_for_logs = redacted(url)
        self._pool = pool
        self._purged = 0.0
        self._purge_lock = threading.Lock()
        self._migrated = False
        self._migrate_lock = threading.Lock()
        self._last_try = 0.0
        self.problem: str | None = None  # why the schema could not be brought up to date
        self._group = GroupCommit(self._append_batch, "feedback-writer")

    @classmethod
    def open(cls, url: str, *, pool_size: int = 4) -> PostgresStore:
        from psycopg_pool import ConnectionPool

        # No check before each loan (a round trip per request): a connection the server has
        # closed fails its statement, the request is answered 503 (retry), and the pool
        # replaces the connection when it comes back broken.
        pool = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            open=False,
            timeout=5,
            name="baclofen-cds",
            max_idle=300,
            kwargs={"connect_timeout": 5, "application_name": "baclofen-cds"},
        )
        # Opened without waiting: a database that is down at start-up is connected to when
        # it comes back (readiness says until then), without restarting the service.
        pool.open(wait=False)
        store = cls(url, pool)
        store._migrate()
        return store

    def _migrate(self) -> None:
        """Bring the schema up to date (once; retried at most every 5 s while it fails)."""
        with self._migrate_lock:
            if self._migrated or time.monotonic() - self._last_try < RETRY_MIGRATION_S:
                return
            self._last_try = time.monotonic()
            try:
                upgrade(self.url)
            except Exception as exc:  # whatever it is, readiness names it
                self.problem = f"not usable: {type(exc).__name__}: {_first_line(exc)}"
                return
            self._migrated, self.problem = True, None

    # ---- feedback ----------------------------------------------------------------------

    def _append_batch(self, batch: list[Sequence[FeedbackRecord]]) -> list[Outcome]:
        """Each request's records under its own savepoint, one commit, then each read
        back."""
        now = datetime.now(UTC)
        inserted: list[set[tuple[str, str, str]] | FeedbackConflict] = []
        try:
            with self._connection() as conn:
                with conn.transaction():
                    for records in batch:
                        try:
                            with conn.transaction():  # a savepoint
                                inserted.append(_insert(conn, records, now))
                        except FeedbackConflict as exc:
                            inserted.append(exc)
                found = _read(
                    conn,
                    [
                        r
                        for records, result in zip(batch, inserted, strict=True)
                        if not isinstance(result, BaseException)
                        for r in records
                    ],
                )
                done = [
                    settled(records, result, found)
                    for records, result in zip(batch, inserted, strict=True)
                ]
                conn.commit()  # the reads' own transaction
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"{type(exc).__name__}: {_first_line(exc)}") from None
        return done

    def feedback(self, limit: int | None = None) -> list[dict[str, Any]]:
        try:
            with self._connection() as conn:
                cursor = conn.execute(
                    "SELECT * FROM feedback ORDER BY id" + (" LIMIT %s" if limit else ""),
                    (limit,) if limit else (),
                )
                names = [d.name for d in cursor.description or ()]
                rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
                conn.commit()
        except Exception as exc:
            raise StoreError(f"{type(exc).__name__}: {_first_line(exc)}") from None
        for row in rows:  # the same shapes as the SQLite store
            for name in ("received_at", "outcome_timestamp"):
                row[name] = utc_iso(row[name])
        return rows

    # ---- check log ----------------------------------------------------------------------

    def append_checks(self, entries: Sequence[CheckEntry]) -> None:
        """One transaction of two COPYs, PostgreSQL's bulk load: psycopg formats the rows in
        C and sends them in a few large messages. `executemany` made a round trip per row,
        and under load the writer thread then waited for the event loop's GIL after each:
        153-176 µs of its CPU per check against ~27 this way, 81-98 against 20-26 when
        quiet (bench/README.md). A row the table refuses (a repeated id) fails the whole
        batch, as before."""
        if not entries:
            return
        checks, alerts = check_sql.check_rows(entries, DIALECT.moment)
        try:
            with self._connection() as conn, conn.transaction(), conn.cursor() as cursor:
                for table, rows in (
                    (check_sql.CHECK_COLUMNS, checks),
                    (check_sql.ALERT_COLUMNS, alerts),
                ):
                    if rows:
                        with cursor.copy(f"COPY {table} FROM STDIN") as copy:
                            for row in rows:
                                copy.write_row(row)
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"{type(exc).__name__}: {_first_line(exc)}") from None

    def purge_checks(self, before: datetime) -> int:
        statements = check_sql.purge(DIALECT)
        return self._write([(statements[0], [(before,)]), (statements[1], [(before,)])])

    def _write(self, statements: list[tuple[str, list[tuple[Any, ...]]]]) -> int:
        """Statements (each run over its rows) in one transaction; the rows the last
        changed."""
        changed = 0
        try:
            with self._connection() as conn, conn.transaction(), conn.cursor() as cursor:
                for sql, rows in statements:
                    if rows:
                        cursor.executemany(sql, rows)
                        changed = cursor.rowcount
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"{type(exc).__name__}: {_first_line(exc)}") from None
        return changed

    def check_counts(self, start: datetime, end: datetime) -> CheckCounts:
        try:
            with self._connection() as conn:
                found = {
                    name: [tuple(row) for row in conn.execute(sql, (start, end)).fetchall()]
                    for name, sql in check_sql.counts(DIALECT).items()
                }
                conn.commit()
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"{type(exc).__name__}: {_first_line(exc)}") from None
        return CheckCounts(**found)

    # ---- jti ----------------------------------------------------------------------------

    def first_use(self, iss: str, jti: str, until: float) -> bool:
        now = time.time()
        try:
            with self._connection() as conn:
                with conn.transaction():
                    if now - self._purged > PURGE_EVERY_S and self._purge_lock.acquire(False):
                        try:
                            conn.execute("DELETE FROM jti WHERE until < %s", (now,))
                            self._purged = now
                        finally:
                            self._purge_lock.release()
                    row = conn.execute(
                        "INSERT INTO jti (iss, jti, until) VALUES (%s, %s, %s) "
                        "ON CONFLICT (iss, jti) DO UPDATE SET until = excluded.until "
                        "WHERE jti.until < %s RETURNING 1",
                        (iss, jti, until, now),
                    ).fetchone()
        except Exception as exc:
            raise StoreError(f"{type(exc).__name__}: {_first_line(exc)}") from None
        return row is not None

    # ---- health ---------------------------------------------------------------------------

    def health(self, thorough: bool) -> str:
        self._migrate()
        if not self._migrated:
            return self.problem or "not usable: the schema is not up to date"
        try:
            with self._connection() as conn:
                tables = {
                    name
                    for (name,) in conn.execute(
                        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                    )
                }
                triggers = (
                    {
                        name
                        for (name,) in conn.execute(
                            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'feedback'::regclass"
                        )
                    }
                    if "feedback" in tables
                    else set()
                )
                missing = sorted((TABLES - tables) | (TRIGGERS - triggers))
                if missing:
                    conn.rollback()
                    return f"not intact: missing {', '.join(missing)}"
                row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
                if row is None or row[0] != head():
                    conn.rollback()
                    return f"schema at revision {row and row[0]}, the service needs {head()}"
                conn.execute("SELECT 1 FROM feedback LIMIT 1")
                conn.rollback()
        except Exception as exc:
            return f"not usable: {type(exc).__name__}: {_first_line(exc)}"
        return "ok"

    def close(self) -> None:
        self._group.close()
        self._pool.close()

    def _connection(self) -> Any:
        if not self._migrated:
            self._migrate()
            if not self._migrated:
                raise StoreError(self.problem or "the schema is not up to date")
        return self._pool.connection()


def _insert(
    conn: Any, records: Sequence[FeedbackRecord], now: datetime
) -> set[tuple[str, str, str]]:
    rows = [r.row(now, r.outcome_timestamp) for r in records]
    row = "(" + ", ".join(["%s"] * 12) + ")"
    inserted = {
        (card, outcome, utc_iso(moment))
        for card, outcome, moment in conn.execute(
            f"INSERT INTO feedback ({COLUMNS}) VALUES "
            + ", ".join([row] * len(rows))
            + " ON CONFLICT (card, outcome, outcome_timestamp) DO NOTHING "
            "RETURNING card, outcome, outcome_timestamp",
            [v for r in rows for v in r],
        ).fetchall()
    }
    clash = conflicts(records, _read(conn, [r for r in records if r.key not in inserted]))
    if clash:
        raise FeedbackConflict(clash)  # rolls the savepoint back
    return inserted


def _read(conn: Any, records: Sequence[FeedbackRecord]) -> dict[tuple[str, str, str], str]:
    keys = list(dict.fromkeys(r.key for r in records))
    if not keys:
        return {}
    values = ", ".join(["(%s, %s, %s::timestamptz)"] * len(keys))
    return {
        (card, outcome, utc_iso(moment)): raw
        for card, outcome, moment, raw in conn.execute(
            f"WITH k (card, outcome, moment) AS (VALUES {values}) "
            "SELECT f.card, f.outcome, f.outcome_timestamp, f.raw FROM k "
            "JOIN feedback f ON f.card = k.card AND f.outcome = k.outcome "
            "AND f.outcome_timestamp = k.moment",
            [part for key in keys for part in key],
        ).fetchall()
    }


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:200]
