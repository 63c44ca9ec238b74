"""The check log's SQL, written once for both backends: only the placeholder (`?` or `%s`)
and how a timestamp is cut to its UTC day differ. SQLite keeps instants as ISO 8601 text in
UTC (api/store/__init__.py utc_iso), which sorts as time does; PostgreSQL as timestamptz.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from api.store import CheckEntry


@dataclass(frozen=True)
class Dialect:
    placeholder: str
    day: Callable[[str], str]  # SQL for the UTC day (YYYY-MM-DD) of a timestamp column
    moment: Callable[[datetime], Any]  # a datetime as the driver should bind it


def check_rows(
    entries: Sequence[CheckEntry], moment: Callable[[datetime], Any]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The rows of check_log and of check_alerts."""
    checks = [
        (e.id, moment(e.checked_at), e.endpoint, e.outcome, e.status, e.ruleset_version)
        for e in entries
    ]
    alerts = [
        (e.id, moment(e.checked_at), code, severity, card)
        for e in entries
        for code, severity, card in e.alerts
    ]
    return checks, alerts


CHECK_COLUMNS = "check_log (id, checked_at, endpoint, outcome, status, ruleset_version)"
ALERT_COLUMNS = "check_alerts (check_id, checked_at, code, severity, card)"
# Rows per multi-row INSERT: within SQLite's oldest limit of 999 bound values (6 columns).
ROWS_PER_INSERT = 150


def insert_checks(d: Dialect, rows: int) -> str:
    return _insert(CHECK_COLUMNS, 6, d.placeholder, rows)


def insert_alerts(d: Dialect, rows: int) -> str:
    return _insert(ALERT_COLUMNS, 5, d.placeholder, rows)


def _insert(table: str, width: int, placeholder: str, rows: int) -> str:
    values = f"({', '.join([placeholder] * width)})"
    return f"INSERT INTO {table} VALUES {', '.join([values] * rows)}"


def multi_row(
    insert: Callable[[Dialect, int], str], d: Dialect, rows: Sequence[tuple[Any, ...]]
) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """The rows as multi-row INSERTs of up to ROWS_PER_INSERT rows, each one statement with
    one flat row of values. A driver that releases the GIL around every statement it steps
    (Python's sqlite3) hands it to the event loop once per statement instead of once per
    row: under load, `executemany` of a 200-check batch waited for the GIL ~600 times and
    held the write lock ~375 ms; ~50 ms this way (bench/README.md)."""
    return [
        (insert(d, len(chunk)), [tuple(value for row in chunk for value in row)])
        for chunk in (rows[i : i + ROWS_PER_INSERT] for i in range(0, len(rows), ROWS_PER_INSERT))
    ]


def purge(d: Dialect) -> list[str]:
    p = d.placeholder
    return [
        f"DELETE FROM check_alerts WHERE checked_at < {p}",
        f"DELETE FROM check_log WHERE checked_at < {p}",
    ]


def counts(d: Dialect) -> dict[str, str]:
    """The four queries of CheckCounts; each takes (start, end) and returns its rows."""
    p = d.placeholder
    return {
        "checks": f"SELECT {d.day('checked_at')}, endpoint, outcome, COUNT(*) FROM check_log "
        f"WHERE checked_at >= {p} AND checked_at < {p} GROUP BY 1, 2, 3",
        "shown": f"SELECT {d.day('checked_at')}, code, severity, COUNT(*), COUNT(card) "
        f"FROM check_alerts WHERE checked_at >= {p} AND checked_at < {p} GROUP BY 1, 2, 3",
        # The latest feedback on each card shown in the range (an EHR may send an override
        # and later an acceptance of the same card).
        "outcomes": "WITH shown AS (SELECT card, checked_at, code, severity FROM check_alerts "
        f"WHERE checked_at >= {p} AND checked_at < {p} AND card IS NOT NULL), "
        "latest AS (SELECT f.card, f.outcome, f.reason_system, f.reason_code, "
        "f.reason_display, ROW_NUMBER() OVER (PARTITION BY f.card "
        "ORDER BY f.outcome_timestamp DESC, f.id DESC) AS n "
        "FROM feedback f JOIN shown s ON s.card = f.card) "
        f"SELECT {d.day('s.checked_at')}, s.code, s.severity, l.outcome, l.reason_system, "
        "l.reason_code, l.reason_display, COUNT(*) FROM shown s "
        "JOIN latest l ON l.card = s.card AND l.n = 1 GROUP BY 1, 2, 3, 4, 5, 6, 7",
        "unmatched": f"SELECT {d.day('f.outcome_timestamp')}, f.outcome, f.reason_system, "
        "f.reason_code, f.reason_display, COUNT(DISTINCT f.card) FROM feedback f "
        f"WHERE f.outcome_timestamp >= {p} AND f.outcome_timestamp < {p} AND NOT EXISTS "
        "(SELECT 1 FROM check_alerts a WHERE a.card = f.card) GROUP BY 1, 2, 3, 4, 5",
    }
