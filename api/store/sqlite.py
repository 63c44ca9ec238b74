"""The embedded store: one SQLite file shared by one instance's worker processes.

One connection per worker, reused (opening one per request, as before, capped feedback near
400 items/s). WAL lets readers go on while a worker writes; `synchronous=FULL` fsyncs the log
at each commit, so an acknowledged item survives a power cut, not only a crash. The WAL does
not work on network file systems: several machines share PostgreSQL instead
(api/store/postgres.py), never this file.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from api.store import (
    CheckCounts,
    CheckEntry,
    FeedbackConflict,
    FeedbackRecord,
    StoreError,
    conflicts,
    settled,
    utc_iso,
)
from api.store import checks as check_sql
from api.store.batching import BatchedFeedback, GroupCommit, Outcome
from api.store.migrate import head, upgrade

TRIGGERS = {"feedback_no_update", "feedback_no_delete"}
TABLES = {"feedback", "jti", "check_log", "check_alerts"}
DIALECT = check_sql.Dialect("?", lambda column: f"substr({column}, 1, 10)", utc_iso)
PURGE_EVERY_S = 60.0
COLUMNS = (
    "received_at, service_id, card, outcome, accepted_suggestions, reason_system, "
    "reason_code, reason_display, user_comment, outcome_timestamp, client, raw"
)
ROW = "(" + ", ".join(["?"] * 12) + ")"
BATCH = 1000  # rows per INSERT: 12,000 variables, SQLite allows 32,766


def path_of(url: str) -> Path:
    """`sqlite:////var/lib/x.sqlite3` -> /var/lib/x.sqlite3, as SQLAlchemy (and so the
    migrations) read it: what follows `sqlite:///` is the path. Absolute paths only: the
    store must not follow the working directory."""
    parts = urlsplit(url)
    path = Path(unquote(parts.path[1:]))
    if (
        parts.scheme != "sqlite"
        or parts.netloc
        or parts.query
        or not path.is_absolute()
        or path.name == ""
    ):
        raise ValueError(f"{url!r} is not sqlite:///<absolute path> (four slashes before /var/...)")
    return path


class SqliteStore(BatchedFeedback):
    def __init__(self, path: Path) -> None:
        self.path = path
        self.url_for_logs = f"sqlite:///{path}"
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._identity: tuple[int, int] | None = None
        self._purged = 0.0
        self.problem: str | None = None  # set once the store is found unusable
        self._group = GroupCommit(self._append_batch, "feedback-writer")
        self._lockfile: int | None = None

    @classmethod
    def open(cls, url: str) -> SqliteStore:
        store = cls(path_of(url))
        try:
            store.path.parent.mkdir(parents=True, exist_ok=True)
            # One process at a time migrates and sets the journal mode (`_use_wal`).
            with store._writer():
                upgrade(url)
                conn = sqlite3.connect(
                    store.path, timeout=10, isolation_level=None, check_same_thread=False
                )
                store._use_wal(conn)
            conn.execute("PRAGMA synchronous=FULL")
            verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
            stat = store.path.stat()
            store._conn, store._identity = conn, (stat.st_dev, stat.st_ino)
            if verdict != "ok":
                store.problem = f"damaged: quick_check says {str(verdict)[:200]}"
        except Exception as exc:  # any failure leaves a store that says why
            store.problem = f"not usable: {type(exc).__name__}: {_first_line(exc)}"
        return store

    @staticmethod
    def _use_wal(conn: sqlite3.Connection) -> None:
        """WAL, switched on once in the database's life (the mode is stored in the file).
        Switching needs an exclusive lock, and SQLite answers "database is locked" at once,
        without the busy timeout, when another connection holds a lock it could deadlock
        with (a migration's transaction in a process starting beside this one): one worker
        in about ten starting together was left with an unusable store. The caller holds
        the writers' lock, which every process takes to migrate and to switch, and a
        database already in WAL is only read."""
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("PRAGMA journal_mode=WAL")

    # ---- feedback ----------------------------------------------------------------------

    def _append_batch(self, batch: list[Sequence[FeedbackRecord]]) -> list[Outcome]:
        """Each request's records under its own savepoint, one commit, then each read
        back."""
        now = datetime.now(UTC).isoformat(timespec="microseconds")
        outcomes: list[set[tuple[str, str, str]] | FeedbackConflict] = []
        with self._lock, self._writer():
            conn = self._usable()
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for records in batch:
                        outcomes.append(self._insert(conn, records, now))
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                # Read back after the commit, every request's items in one query.
                found = self._read_back(
                    conn,
                    [
                        r
                        for records, inserted in zip(batch, outcomes, strict=True)
                        if not isinstance(inserted, BaseException)
                        for r in records
                    ],
                )
                done = [
                    settled(records, inserted, found)
                    for records, inserted in zip(batch, outcomes, strict=True)
                ]
            except sqlite3.DatabaseError as exc:
                raise self._failed(exc) from None
        return done

    def _insert(
        self, conn: sqlite3.Connection, records: Sequence[FeedbackRecord], now: str
    ) -> set[tuple[str, str, str]] | FeedbackConflict:
        rows = [r.row(now, utc_iso(r.outcome_timestamp)) for r in records]
        conn.execute("SAVEPOINT request")
        inserted: set[tuple[str, str, str]] = set()
        for start in range(0, len(rows), BATCH):
            chunk = rows[start : start + BATCH]
            inserted.update(
                conn.execute(
                    f"INSERT INTO feedback ({COLUMNS}) VALUES "
                    + ", ".join([ROW] * len(chunk))
                    + " ON CONFLICT (card, outcome, outcome_timestamp) DO NOTHING "
                    "RETURNING card, outcome, outcome_timestamp",
                    [v for row in chunk for v in row],
                ).fetchall()
            )
        clash = conflicts(
            records, self._read_back(conn, [r for r in records if r.key not in inserted])
        )
        if clash:
            conn.execute("ROLLBACK TO request")
            conn.execute("RELEASE request")
            return FeedbackConflict(clash)
        conn.execute("RELEASE request")
        return inserted

    def _read_back(
        self, conn: sqlite3.Connection, records: Sequence[FeedbackRecord]
    ) -> dict[tuple[str, str, str], str]:
        keys = list(dict.fromkeys(r.key for r in records))
        found: dict[tuple[str, str, str], str] = {}
        for start in range(0, len(keys), 300):  # SQLite allows 32,766 variables
            chunk = keys[start : start + 300]
            values = ", ".join(["(?, ?, ?)"] * len(chunk))
            # A join on the keys: SQLite answers `(a, b, c) IN (VALUES ...)` by scanning the
            # whole table, which made every write slower as the store grew.
            for card, outcome, moment, raw in conn.execute(
                f"WITH k (card, outcome, moment) AS (VALUES {values}) "
                "SELECT f.card, f.outcome, f.outcome_timestamp, f.raw FROM k "
                "JOIN feedback f ON f.card = k.card AND f.outcome = k.outcome "
                "AND f.outcome_timestamp = k.moment",
                [part for key in chunk for part in key],
            ):
                found[(card, outcome, moment)] = raw
        return found

    def feedback(self, limit: int | None = None) -> list[dict[str, Any]]:
        with self._lock:
            conn = self._usable()
            try:
                cursor = conn.execute(
                    "SELECT * FROM feedback ORDER BY id" + (" LIMIT ?" if limit else ""),
                    (limit,) if limit else (),
                )
                names = [d[0] for d in cursor.description]
                return [dict(zip(names, row, strict=True)) for row in cursor]
            except sqlite3.DatabaseError as exc:
                raise self._failed(exc) from None

    # ---- check log ----------------------------------------------------------------------

    def append_checks(self, entries: Sequence[CheckEntry]) -> None:
        if not entries:
            return
        checks, alerts = check_sql.check_rows(entries, utc_iso)
        self._write(
            check_sql.multi_row(check_sql.insert_checks, DIALECT, checks)
            + check_sql.multi_row(check_sql.insert_alerts, DIALECT, alerts)
        )

    def purge_checks(self, before: datetime) -> int:
        statements = check_sql.purge(DIALECT)
        moment = [(utc_iso(before),)]
        return self._write([(statements[0], moment), (statements[1], moment)])

    def _write(self, statements: list[tuple[str, list[tuple[Any, ...]]]]) -> int:
        """Statements (each run over its rows) in one transaction; the rows the last
        changed."""
        changed = 0
        with self._lock, self._writer():
            conn = self._usable()
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for sql, rows in statements:
                        if rows:
                            changed = conn.executemany(sql, rows).rowcount
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            except sqlite3.DatabaseError as exc:
                raise self._failed(exc) from None
        return changed

    def check_counts(self, start: datetime, end: datetime) -> CheckCounts:
        args = (utc_iso(start), utc_iso(end))
        with self._lock:
            conn = self._usable()
            try:
                found = {
                    name: [tuple(row) for row in conn.execute(sql, args)]
                    for name, sql in check_sql.counts(DIALECT).items()
                }
            except sqlite3.DatabaseError as exc:
                raise self._failed(exc) from None
        return CheckCounts(**found)

    # ---- jti ----------------------------------------------------------------------------

    def first_use(self, iss: str, jti: str, until: float) -> bool:
        now = time.time()
        with self._lock, self._writer():
            conn = self._usable()
            try:
                if now - self._purged > PURGE_EVERY_S:
                    conn.execute("DELETE FROM jti WHERE until < ?", (now,))
                    self._purged = now
                # A remembered jti whose token has expired is replaced (its token is refused
                # by its exp anyway); a live one is not, and no row comes back.
                row = conn.execute(
                    "INSERT INTO jti (iss, jti, until) VALUES (?, ?, ?) "
                    "ON CONFLICT (iss, jti) DO UPDATE SET until = excluded.until "
                    "WHERE jti.until < ? RETURNING 1",
                    (iss, jti, until, now),
                ).fetchone()
            except sqlite3.DatabaseError as exc:
                raise self._failed(exc) from None
        return row is not None

    # ---- health ---------------------------------------------------------------------------

    def health(self, thorough: bool) -> str:
        if self.problem:
            return self.problem
        with self._lock:
            try:
                conn = self._usable()
                names = {
                    name
                    for (name,) in conn.execute(
                        "SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')"
                    )
                }
                missing = sorted((TABLES | TRIGGERS) - names)
                if missing:
                    return f"not intact: missing {', '.join(missing)}"
                (revision,) = conn.execute(
                    "SELECT version_num FROM alembic_version"
                ).fetchone() or (None,)
                if revision != head():
                    return f"schema at revision {revision}, the service needs {head()}"
                conn.execute("PRAGMA busy_timeout = 1000")  # a probe does not wait 10 s
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.execute("ROLLBACK")
                finally:
                    conn.execute("PRAGMA busy_timeout = 10000")
                if thorough:
                    verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
                    if verdict != "ok":
                        self.problem = f"damaged: quick_check says {str(verdict)[:200]}"
                        return self.problem
            except StoreError as exc:
                return str(exc)
            except sqlite3.DatabaseError as exc:
                return str(self._failed(exc))
        return "ok"

    def close(self) -> None:
        self._group.close()
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            if self._lockfile is not None:
                os.close(self._lockfile)
                self._lockfile = None

    # ---- internals ------------------------------------------------------------------------

    @contextmanager
    def _writer(self) -> Iterator[None]:
        """One writer at a time across the instance's processes, handed over at once.
        SQLite alone makes a second writer sleep and retry (1, 2, 5, 10 ms ...) while the
        first commits in half a millisecond: with two workers that halved the throughput.
        A blocking flock on a file beside the database (never the database itself, whose
        POSIX locks are SQLite's) wakes the next writer as soon as the lock is released."""
        if self._lockfile is None:
            try:
                self._lockfile = os.open(
                    f"{self.path}.writer-lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
                )
            except OSError:
                yield  # SQLite's own locking still holds
                return
        fcntl.flock(self._lockfile, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lockfile, fcntl.LOCK_UN)

    def _usable(self) -> sqlite3.Connection:
        """The connection, unless the store was found damaged, or its file was removed or
        replaced under us: writes would then go to a file nobody will read again."""
        if self.problem:
            raise StoreError(self.problem)
        assert self._conn is not None
        try:
            stat = self.path.stat()  # never open() the file: closing that descriptor would
            # drop this process's SQLite locks on it (POSIX advisory locks are per process)
        except OSError:
            stat = None
        if stat is None or (stat.st_dev, stat.st_ino) != self._identity:
            self.problem = "not usable: the database file was removed or replaced while open"
            raise StoreError(self.problem)
        return self._conn

    def _failed(self, exc: sqlite3.DatabaseError) -> StoreError:
        text = f"{type(exc).__name__}: {_first_line(exc)}"
        if "malformed" in text or "not a database" in text:
            self.problem = f"damaged: {text}"
        return StoreError(text)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:200]
