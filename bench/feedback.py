"""`make bench`, feedback: CDS Hooks feedback items stored per second through the real server
(`make run`'s gunicorn, WORKERS workers), on the embedded SQLite store and on a throwaway
PostgreSQL (when Debian's postgresql is installed), one item and ten items per POST, at 1,
16 and 64 clients.

Every item is new (a unique card), every answer must be 200 with all items stored, and at
the end the store must hold exactly the items acknowledged: a fast store that drops or
doubles items is a failure, not a figure. Target (issue 16): ≥ 2,000 items/s.

    python -m bench.feedback [--seconds 5] [--workers N] [--no-postgres]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

from api.settings import available_cpus
from bench import loadgen
from bench.figures import beside
from bench.postgres import optional_server
from bench.server import running

PATH = "/cds-services/baclofen-order-sign/feedback"
FLOOR_PATH = "/cds-services/no-such-service/feedback"
CLIENTS = (1, 16, 64)
BATCHES = (1, 10)
TARGET_ITEMS_PER_S = 2000.0


def _maker(run: str, batch: int, path: str = PATH) -> loadgen.MakeRequest:
    """Unique items; `path` to an unknown service gives the floor: the same POST through
    the same stack, answered 404 before the body is parsed or anything is stored."""
    floor = path != PATH
    expected = orjson.dumps({"stored": batch, "duplicates": 0})

    def make(n: int, client: int) -> tuple[bytes, loadgen.Verify]:
        items = [
            {
                "card": f"{run}-{n}-{i}",
                "outcome": "overridden",
                "overrideReason": {"userComment": "bench"},
                "outcomeTimestamp": "2026-11-22T09:31:02Z",
            }
            for i in range(batch)
        ]
        payload = loadgen.post(path, {"feedback": items})

        def verify(status: int, raw: bytes) -> str:
            if floor:
                return "" if status == 404 else f"HTTP {status}"
            if status != 200 or raw != expected:
                return f"HTTP {status} {raw[:200]!r}"
            return ""

        return payload, verify

    return make


def _count(url: str, run: str) -> int:
    if url.startswith("sqlite:"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            return int(
                conn.execute(
                    "SELECT count(*) FROM feedback WHERE card LIKE ?", (run + "-%",)
                ).fetchone()[0]
            )
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM feedback WHERE card LIKE %s", (run + "-%",)
        ).fetchone()
        return int(row[0]) if row else 0


def measure(label: str, url: str, workers: int, seconds: float) -> list[dict[str, Any]]:
    rows = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        running(
            workers, log_dir=Path(tmp), log_level="WARNING", extra_env={"CDS_DATABASE_URL": url}
        ) as srv,
    ):
        loadgen.run(srv.host, srv.port, _maker("warm", 1), 8, total=200 * workers)
        for clients in CLIENTS:
            result = loadgen.run(
                srv.host, srv.port, _maker("floor", 1, FLOOR_PATH), clients, seconds=seconds
            )
            rows.append(
                {
                    "store": f"{label}: floor (the same POST, 404 before the store)",
                    "batch": 1,
                    "clients": clients,
                    "items_per_s": result.rate,
                    "p50": result.percentile(50),
                    "p99": result.percentile(99),
                    "failures": result.failures,
                    "problems": result.problems[:3],
                    "acknowledged": 0,
                    "stored": 0,
                }
            )
        for batch in BATCHES:
            for clients in CLIENTS:
                run = f"b{uuid.uuid4().hex[:8]}"
                result = loadgen.run(
                    srv.host, srv.port, _maker(run, batch), clients, seconds=seconds, warmup=0.0
                )
                time.sleep(0.2)  # the last answers' rows are committed before they are sent
                stored = _count(url, run)
                answered = sum(n for status, n in result.statuses.items() if status == 200)
                rows.append(
                    {
                        "store": label,
                        "batch": batch,
                        "clients": clients,
                        "items_per_s": result.rate * batch,
                        "p50": result.percentile(50),
                        "p99": result.percentile(99),
                        "failures": result.failures,
                        "problems": result.problems[:3],
                        "acknowledged": answered * batch,
                        "stored": stored,
                    }
                )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--workers", type=int, default=int(os.environ.get("WORKERS", 0)) or available_cpus()
    )
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args(argv)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"## Feedback stored, through the server ({args.workers} workers, "
        f"{args.seconds:g} s per measurement; load average before: {load})\n"
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows += measure(
            "SQLite (embedded, `make run`)",
            f"sqlite:///{Path(tmp) / 'cds.sqlite3'}",
            args.workers,
            args.seconds,
        )
    if not args.no_postgres:
        with optional_server() as server:
            if server is not None:
                url = server.create_database("bench")
                rows += measure("PostgreSQL (local, throwaway)", url, args.workers, args.seconds)
    print(
        "| store | items per POST | clients | items/s | p50 ms | p99 ms | acknowledged "
        "| in the store |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    bad = 0
    for row in rows:
        print(
            f"| {row['store']} | {row['batch']} | {row['clients']} | "
            f"{row['items_per_s']:,.0f} | {row['p50']:.1f} | {row['p99']:.1f} | "
            f"{row['acknowledged']:,} | {row['stored']:,} |"
        )
        if row["failures"] or row["stored"] != row["acknowledged"]:
            bad += 1
            print(
                f"  WRONG: {row['failures']} bad answers {row['problems']}; "
                f"{row['acknowledged']} acknowledged, {row['stored']} stored"
            )
    print()
    best_single = max(
        (
            r["items_per_s"]
            for r in rows
            if r["batch"] == 1 and r["store"].startswith("SQLite") and "floor" not in r["store"]
        ),
        default=0.0,
    )
    verdict = "met" if best_single >= TARGET_ITEMS_PER_S else "NOT MET"
    best_batch = max(
        (r["items_per_s"] for r in rows if r["batch"] > 1 and r["store"].startswith("SQLite")),
        default=0.0,
    )
    print(
        f"- {verdict}: ≥ {TARGET_ITEMS_PER_S:,.0f} feedback items/s, one item per POST, "
        f"SQLite ({beside(best_single, TARGET_ITEMS_PER_S)})"
    )
    print(
        f"- {'met' if best_batch >= TARGET_ITEMS_PER_S else 'NOT MET'}: "
        f"≥ {TARGET_ITEMS_PER_S:,.0f} feedback items/s, {BATCHES[-1]} items per POST, "
        f"SQLite ({beside(best_batch, TARGET_ITEMS_PER_S)})"
    )
    print(
        f"- {'met' if not bad else 'NOT MET'}: every acknowledged item stored, once ({bad} wrong)"
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
