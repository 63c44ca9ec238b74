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


def insert_checks(d: Dialect) -> str:
    p = d.placeholder
    return (
        "INSERT INTO check_log (id, checked_at, endpoint, outcome, status, ruleset_version) "
        f"VALUES ({p}, {p}, {p}, {p}, {p}, {p})"
    )


def insert_alerts(d: Dialect) -> str:
    p = d.placeholder
    return (
        "INSERT INTO check_alerts (check_id, checked_at, code, severity, card) "
        f"VALUES ({p}, {p}, {p}, {p}, {p})"
    )


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
