"""The check log: what every check answered (alert codes and severities, the CDS Hooks cards'
uuids, the outcome, the API, the time, the ruleset version; never anything of the request),
kept in the store for the console's override analytics.

The per-check log line (api/observability.py) is built from the response; the same record
is offered here and queued with the time. A thread per worker takes what has queued up,
after a short linger so that one commit carries many checks, builds the entries and writes
them in one transaction: the event loop only appends to a queue (about a microsecond). The
queue is bounded: when the store is slow or down, checks beyond it are left out of the log
(counted in `baclofen_check_log_dropped_total`) rather than held in memory or delaying an
answer. The same thread deletes entries older than CDS_CHECK_LOG_RETENTION_DAYS at start and
hourly (0 turns the check log off).
"""

from __future__ import annotations

import logging
import os
import queue
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from api import metrics
from api.queue_thread import QueueThread
from api.store import CheckEntry, Store, StoreError
from rules.release import RULESET_VERSION

log = logging.getLogger("api.check_log")

MAX_QUEUED = 20_000
MAX_BATCH = 2_000
LINGER_S = 0.2  # one commit per worker at most every 0.2 s under load
PURGE_EVERY_S = 3600.0
_CHECK_ID = re.compile(r"[0-9a-f]{32}")


def time_ordered_id(moment: datetime) -> str:
    """A UUIDv7 (RFC 9562) as 32 hex digits: the moment's Unix milliseconds, then 74 random
    bits. Ids that grow with time are appended at the end of the primary key's and the
    alerts' `check_id` B-trees, where a random uuid4 lands on a random page of each: the
    writer's time per check on SQLite, the log grown to 60,000 checks, was 35-43 µs against
    82-95 (`python -m bench.check_log`), and the gap widens as the log grows. PostgreSQL's
    B-trees gain alike. Two ids collide only if made in the same millisecond with the same
    74 random bits."""
    return _uuid7(int(moment.timestamp() * 1000))


def new_check_id() -> str:
    """The id of a native check, made as its request is answered: the response, the log line
    and the check log entry all carry it, so the check a clinician reports by the id on their
    screen is found in the check log."""
    return _uuid7(time.time_ns() // 1_000_000)


def _uuid7(millis: int) -> str:
    rand = int.from_bytes(os.urandom(10))
    value = (
        (millis & (1 << 48) - 1) << 80
        | 0x7 << 76  # version 7
        | (rand >> 64 & 0xFFF) << 64  # rand_a, 12 bits
        | 0b10 << 62  # the RFC 9562 variant
        | rand & (1 << 62) - 1  # rand_b, 62 bits
    )
    return f"{value:032x}"


def entry_of(record: Mapping[str, Any], now: datetime | None = None) -> CheckEntry | None:
    """The check log's entry for one check line's record; None for a request that never
    became a check (the client went away)."""
    outcome = record.get("outcome")
    if not isinstance(outcome, str) or outcome == "disconnected":
        return None
    codes = record.get("codes") or []
    severities = record.get("severities") or []
    cards = record.get("card_uuids") or [None] * len(codes)
    alerts = tuple(
        (str(code), str(severity or "unknown"), card if isinstance(card, str) else None)
        for code, severity, card in zip(
            codes, severities or [None] * len(codes), cards, strict=False
        )
        if isinstance(code, str)
    )
    status = record.get("status")
    moment = now or datetime.now(UTC)
    # A native check's own id (`new_check_id`). CDS Hooks lines carry the EHR's hookInstance,
    # which the EHR chooses and may repeat: such an entry gets an id of its own.
    check_id = record.get("check_id")
    if not (
        record.get("endpoint") == "native"
        and isinstance(check_id, str)
        and _CHECK_ID.fullmatch(check_id)
    ):
        check_id = time_ordered_id(moment)
    return CheckEntry(
        id=check_id,
        checked_at=moment,
        endpoint=str(record.get("endpoint")),
        outcome=outcome,
        status=status if isinstance(status, int) else None,
        ruleset_version=RULESET_VERSION,
        alerts=alerts,
    )


class CheckLogWriter(QueueThread[tuple[float, Mapping[str, Any]]]):
    """Queue on the event loop, write from a thread; see the module's docstring. The queue is
    bounded by its size (MAX_QUEUED)."""

    def __init__(self, store: Store, retention_days: int, linger_s: float = LINGER_S) -> None:
        super().__init__("check-log")
        self.store = store
        self.retention = timedelta(days=retention_days)
        self.linger_s = linger_s
        self._offered = 0  # only the event loop's thread adds to it
        self._done = 0  # only the writer's thread adds to it
        self._purged = 0.0
        self._warned = 0.0

    def offer(self, record: Mapping[str, Any]) -> None:
        """On the event loop: the record and the time, queued; the entry is built and
        written by the thread."""
        if record.get("outcome") in (None, "disconnected"):
            return
        if self._thread is None:
            self._ensure_thread()
        if self._queue.qsize() >= MAX_QUEUED:
            metrics.CHECK_LOG_DROPPED.labels("queue_full").inc()
            return
        self._offered += 1
        self._queue.put((time.time(), record))

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything offered so far is written (tests, benchmarks)."""
        target = self._offered
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._done >= target:
                return True
            time.sleep(0.01)
        return False

    def _loop(self) -> None:
        self._purge_when_due()
        while True:
            try:
                first = self._queue.get(timeout=60)
            except queue.Empty:
                self._purge_when_due()
                continue
            stop = first is None
            batch = [] if first is None else [first]
            if not stop:
                time.sleep(self.linger_s)  # let more checks join this commit
            while len(batch) < MAX_BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    continue
                batch.append(more)
            entries = [
                entry
                for moment, record in batch
                for entry in [entry_of(record, datetime.fromtimestamp(moment, UTC))]
                if entry is not None
            ]
            self._write(entries)
            self._done += len(batch)
            self._purge_when_due()
            if stop and self._queue.empty():
                return

    def _write(self, batch: list[CheckEntry]) -> None:
        if not batch:
            return
        try:
            self.store.append_checks(batch)
        except StoreError as exc:
            metrics.CHECK_LOG_DROPPED.labels("store_error").inc(len(batch))
            self._warn(f"{len(batch)} check(s) not written to the check log: {exc}")
        except Exception:  # the thread must live on: the log is not worth a dead writer
            metrics.CHECK_LOG_DROPPED.labels("store_error").inc(len(batch))
            log.exception("check log: a batch of %d failed unexpectedly", len(batch))

    def _purge_when_due(self) -> None:
        now = time.monotonic()
        if self._purged and now - self._purged < PURGE_EVERY_S:
            return
        self._purged = now
        try:
            gone = self.store.purge_checks(datetime.now(UTC) - self.retention)
        except Exception as exc:
            self._warn(f"check log not purged: {exc}")
            return
        if gone:
            log.info("check log: %d check(s) older than %s purged", gone, self.retention)

    def _warn(self, message: str) -> None:
        """At most one warning a minute: a store that is down would otherwise log per batch."""
        if time.monotonic() - self._warned > 60:
            self._warned = time.monotonic()
            log.warning(message)
