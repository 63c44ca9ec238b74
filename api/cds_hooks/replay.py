"""Memory of accepted JWT ids (`jti`), so that a token is accepted once (spec 2.0.1).

Kept until the token would have expired anyway (plus the clock-skew leeway). With several
worker processes an in-process set would let a replay through whenever it reached another
worker, so `make run` keeps the memory in one SQLite file the workers share
(CDS_JTI_DB, default ./var/cds-jti.sqlite3): the primary key makes "first one wins" atomic
across processes. Without a path (tests, a single process) a set in memory does the same.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

PURGE_EVERY_S = 60.0


class ReplayCache:
    def __init__(self, path: Path | None, leeway_s: float) -> None:
        self.path = path
        self.leeway_s = leeway_s
        self._lock = threading.Lock()
        self._memory: dict[tuple[str, str], float] = {}
        self._conn: sqlite3.Connection | None = None
        self._purged = 0.0

    def first_use(self, iss: str, jti: str, exp: float) -> bool:
        """Record (iss, jti) and say whether this is its first use."""
        now = time.time()
        with self._lock:
            if self.path is None:
                return self._first_in_memory(iss, jti, exp, now)
            conn = self._connection()
            with conn:
                if now - self._purged > PURGE_EVERY_S:
                    conn.execute("DELETE FROM jti WHERE until < ?", (now,))
                    self._purged = now
                try:
                    conn.execute(
                        "INSERT INTO jti (iss, jti, until) VALUES (?, ?, ?)",
                        (iss, jti, exp + self.leeway_s),
                    )
                except sqlite3.IntegrityError:
                    row = conn.execute(
                        "SELECT until FROM jti WHERE iss = ? AND jti = ?", (iss, jti)
                    ).fetchone()
                    if row and row[0] >= now:
                        return False
                    # An expired memory: the token itself is past exp and jwt.decode has
                    # refused it already, so this branch only tidies up.
                    conn.execute(
                        "UPDATE jti SET until = ? WHERE iss = ? AND jti = ?",
                        (exp + self.leeway_s, iss, jti),
                    )
            return True

    def _first_in_memory(self, iss: str, jti: str, exp: float, now: float) -> bool:
        for seen, until in list(self._memory.items()):
            if until < now:
                del self._memory[seen]
        if (iss, jti) in self._memory:
            return False
        self._memory[(iss, jti)] = exp + self.leeway_s
        return True

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            assert self.path is not None
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=5, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS jti (iss TEXT NOT NULL, jti TEXT NOT NULL, "
                "until REAL NOT NULL, PRIMARY KEY (iss, jti))"
            )
            conn.commit()
            self._conn = conn
        return self._conn
