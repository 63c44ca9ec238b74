"""The service's durable state: CDS Hooks feedback, the JWT replay memory (`jti`) and the check
log (what every check answered, for the console's override analytics), in one database named
by CDS_DATABASE_URL.

- `sqlite:///<absolute path>`: the embedded default (`make run`, one machine): one file that
  the worker processes of one instance share (WAL; a write is fsynced before it is
  acknowledged).
- `postgresql://…`: shared by many instances on many machines (psycopg 3 with a connection
  pool per worker).

Both hold the same tables, created and upgraded by versioned alembic migrations
(api/store/migrations/, run at start-up under a lock, so that instances starting together
migrate once). A later feature adds its tables by adding a migration (0002 added the check
log) and its methods here, beside the two implementations.

The repository's promises, tested against both backends (tests/test_store.py):
- feedback is append-only and idempotent: (card, outcome, outcome timestamp) is stored once,
  a retry is acknowledged again, and the same key with other content is a conflict that
  stores nothing of its request;
- nothing is acknowledged that cannot be read back after its commit;
- a store found damaged (SQLite's quick_check at start-up or in readiness; its file replaced
  or removed under the running service) refuses writes until it is repaired and restarted;
- a `jti` is accepted once per issuer across every process sharing the database, until its
  token would have expired;
- the check log holds no patient data (alert codes, severities, card uuids, outcome, time,
  API, ruleset version), is written in batches off the event loop (api/check_log.py) and is
  purged after its retention.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

Stored = Literal["new", "duplicate"]


class StoreError(Exception):
    """The store cannot take or give this data now (unreachable, damaged, not read back).
    Answer 503: the caller may retry; never an acknowledgement."""


@dataclass(frozen=True)
class FeedbackRecord:
    """One feedback item as stored. `outcome_timestamp` is timezone-aware; `raw` is the
    item's canonical JSON, compared when the same key arrives again."""

    service_id: str
    card: str
    outcome: str
    outcome_timestamp: datetime
    accepted_suggestions: tuple[str, ...] | None
    reason_system: str | None
    reason_code: str | None
    reason_display: str | None
    user_comment: str | None
    client: str | None
    raw: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.card, self.outcome, utc_iso(self.outcome_timestamp))

    def row(self, received: object, outcome_timestamp: object) -> tuple[object, ...]:
        """The values in the feedback table's column order, for both stores: each passes the
        times as its driver takes them (SQLite text, PostgreSQL timestamptz)."""
        accepted = self.accepted_suggestions
        return (
            received,
            self.service_id,
            self.card,
            self.outcome,
            json.dumps(list(accepted)) if accepted is not None else None,
            self.reason_system,
            self.reason_code,
            self.reason_display,
            self.user_comment,
            outcome_timestamp,
            self.client,
            self.raw,
        )


def utc_iso(moment: datetime) -> str:
    """The instant in UTC, ISO 8601 with microseconds: the same instant written with another
    offset is the same key."""
    from datetime import UTC

    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class CheckEntry:
    """One check as the check log keeps it: what the clinician was shown, never what was
    sent. `alerts` holds (code, severity, card uuid or None for a native alert)."""

    id: str
    checked_at: datetime
    endpoint: str
    outcome: str
    status: int | None
    ruleset_version: str
    alerts: tuple[tuple[str, str, str | None], ...]


@dataclass(frozen=True)
class CheckCounts:
    """The check log and feedback of a date range, counted per UTC day (YYYY-MM-DD), for
    analytics: every row ends with its count.

    - `checks`: (day, endpoint, outcome, n)
    - `shown`: (day, code, severity, n alerts and cards, n of them CDS Hooks cards)
    - `outcomes`: (day shown, code, severity, outcome, reason system, code, display, n): the
      latest feedback on each card shown in the range
    - `unmatched`: (day of the feedback, outcome, reason system, code, display, n): feedback
      in the range on cards the check log does not hold (older than its retention, or
      answered before the check log existed)
    """

    checks: list[tuple[str, str, str, int]]
    shown: list[tuple[str, str, str, int, int]]
    outcomes: list[tuple[str, str, str, str, str | None, str | None, str | None, int]]
    unmatched: list[tuple[str, str, str | None, str | None, str | None, int]]


class Store(Protocol):
    url_for_logs: str

    def append_feedback(self, records: Sequence[FeedbackRecord]) -> list[Stored]:
        """Store each record once (one transaction), read them back after the commit, and say
        for each whether it is new or was stored before with the same content. Raises
        FeedbackConflict, storing nothing, when a key is stored with other content."""
        ...

    async def submit_feedback(self, records: Sequence[FeedbackRecord]) -> list[Stored]:
        """append_feedback from the event loop, sharing its commit with the requests that
        arrive together (api/store/batching.py)."""
        ...

    def feedback(self, limit: int | None = None) -> list[dict[str, object]]:
        """Stored feedback, oldest first (for analytics and tests)."""
        ...

    def first_use(self, iss: str, jti: str, until: float) -> bool:
        """Record (iss, jti) until `until` (epoch seconds) and say whether this is its first
        use."""
        ...

    def append_checks(self, entries: Sequence[CheckEntry]) -> None:
        """Write checks to the check log, in one transaction."""
        ...

    def purge_checks(self, before: datetime) -> int:
        """Delete the check log's entries older than `before`; how many checks went."""
        ...

    def check_counts(self, start: datetime, end: datetime) -> CheckCounts:
        """The check log and feedback from `start` (inclusive) to `end` (exclusive)."""
        ...

    def health(self, thorough: bool) -> str:
        """ "ok", or what is wrong (unreachable, damaged, not migrated, not writable).
        `thorough`: also the integrity check that reads the whole store (SQLite)."""
        ...

    def close(self) -> None: ...


def conflicts(
    records: Sequence[FeedbackRecord], existing: dict[tuple[str, str, str], str]
) -> list[tuple[str, str, str]]:
    """Keys whose content differs from what is stored, or from another record of the same
    request."""
    first: dict[tuple[str, str, str], str] = dict(existing)
    out = []
    for record in records:
        raw = first.setdefault(record.key, record.raw)
        if raw != record.raw:
            out.append(record.key)
    return out


def verdicts(
    records: Sequence[FeedbackRecord],
    inserted: set[tuple[str, str, str]],
    found: dict[tuple[str, str, str], str],
) -> list[Stored]:
    """Per record: inserted now, or already there with the same content. Raises StoreError
    when a record is not in what was read back after the commit."""
    out: list[Stored] = []
    seen: set[tuple[str, str, str]] = set()
    for record in records:
        key = record.key
        if found.get(key) != record.raw:
            raise StoreError("feedback not read back after its commit")
        out.append("new" if key in inserted and key not in seen else "duplicate")
        seen.add(key)
    return out


def settled(
    records: Sequence[FeedbackRecord],
    inserted: set[tuple[str, str, str]] | BaseException,
    found: dict[tuple[str, str, str], str],
) -> list[Stored] | BaseException:
    """One request's answer in a group commit: its conflict, or its verdicts, or the
    StoreError of an item not read back."""
    if isinstance(inserted, BaseException):
        return inserted
    try:
        return verdicts(records, inserted, found)
    except StoreError as exc:
        return exc


class FeedbackConflict(Exception):
    """Feedback with a stored key but other content: nothing of the request was stored."""

    def __init__(self, keys: list[tuple[str, str, str]]) -> None:
        super().__init__(f"{len(keys)} item(s) already stored with other content")
        self.keys = keys


def open_store(url: str, *, pool_size: int = 4) -> Store:
    """Migrate the database to the current schema (under a lock) and open it. A store that
    cannot be opened is returned broken (every call raises StoreError, health says why), so
    that the service still answers checks and readiness can name the problem."""
    if url.startswith("sqlite:"):
        from api.store.sqlite import SqliteStore

        return SqliteStore.open(url)
    from api.store.postgres import PostgresStore

    return PostgresStore.open(url, pool_size=pool_size)


def redacted(url: str) -> str:
    """The URL without its password, for logs and readiness."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))
