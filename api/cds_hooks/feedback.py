"""Append-only store of card feedback (accepted suggestions, overrides and their reasons).

SQLite, one file (CDS_FEEDBACK_DB, default ./var/cds-feedback.sqlite3). Rows are only ever
inserted: triggers make UPDATE and DELETE fail, so the record of what clinicians did with
the cards cannot be rewritten by this service. WAL mode lets several worker processes append
at once.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from api.cds_hooks.models import Feedback

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at TEXT NOT NULL,
    service_id TEXT NOT NULL,
    card TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('accepted', 'overridden')),
    accepted_suggestions TEXT,
    reason_system TEXT,
    reason_code TEXT,
    reason_display TEXT,
    user_comment TEXT,
    outcome_timestamp TEXT NOT NULL,
    client TEXT,
    raw TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS feedback_no_update BEFORE UPDATE ON feedback
BEGIN SELECT RAISE(ABORT, 'feedback is append-only'); END;
CREATE TRIGGER IF NOT EXISTS feedback_no_delete BEFORE DELETE ON feedback
BEGIN SELECT RAISE(ABORT, 'feedback is append-only'); END;
"""


class FeedbackStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=5)) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)
            with conn:  # one transaction: a batch is stored whole or not at all
                yield conn

    def ensure(self) -> None:
        """Create the store (directory, file, schema) if it is not there yet."""
        with self._connect():
            pass

    def append(self, service_id: str, items: list[Feedback], client: str | None) -> int:
        now = datetime.now(UTC).isoformat()
        rows = []
        for f in items:
            reason = f.overrideReason.reason if f.overrideReason else None
            rows.append(
                (
                    now,
                    service_id,
                    f.card,
                    f.outcome,
                    json.dumps([s.id for s in f.acceptedSuggestions])
                    if f.acceptedSuggestions
                    else None,
                    reason.system if reason else None,
                    reason.code if reason else None,
                    reason.display if reason else None,
                    f.overrideReason.userComment if f.overrideReason else None,
                    f.outcomeTimestamp.isoformat(),
                    client,
                    f.model_dump_json(exclude_none=True),
                )
            )
        with self._connect() as conn:
            conn.executemany(
                "INSERT INTO feedback (received_at, service_id, card, outcome, "
                "accepted_suggestions, reason_system, reason_code, reason_display, "
                "user_comment, outcome_timestamp, client, raw) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        return len(rows)

    def rows(self) -> list[dict[str, Any]]:
        with self._connect() as conn:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute("SELECT * FROM feedback ORDER BY id")]
