"""`make bench`, check log: what writing every check to the check log (the console's override
analytics; api/check_log.py) costs a check, through the real server (`make run`'s gunicorn,
WORKERS workers, the embedded SQLite store), with the check log on (the default) and off
(CDS_CHECK_LOG_RETENTION_DAYS=0), in alternating rounds so that a loaded machine disturbs
both alike, then the same with a PostgreSQL store (a throwaway local server, when Debian's
postgresql is installed; `--no-postgres` skips it); the cost of queueing one entry on the
event loop, in process; and the writer thread's cost per check written, in process, with
the time-ordered ids it makes and with random uuid4s as before, into a log that already holds
tens of thousands of checks.

Every response is checked against its expected alert codes, and after the rounds with the
log on, the log must hold exactly the checks answered: a log that drops entries is a
failure, not a figure.

    python -m bench.check_log [--seconds 5] [--workers N] [--rounds 2] [--no-postgres]
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from api.settings import available_cpus
from bench import loadgen
from bench.postgres import PostgresServer, optional_server
from bench.run import _check_request
from bench.server import running

CLIENTS = (1, 8)


def offer_cost(n: int = 20_000) -> float:
    """Microseconds the event loop spends handing one check's record to the writer."""
    from api.check_log import CheckLogWriter
    from api.store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/cds.sqlite3")
        writer = CheckLogWriter(store, retention_days=400)
        record: dict[str, Any] = {
            "event": "check",
            "endpoint": "cds-hooks",
            "status": 200,
            "outcome": "critical",
            "codes": ["TABLET_BELOW_33_KG", "MISSING_DATA"],
            "severities": ["critical", "warning"],
            "card_uuids": ["3f1c0a4e-0000-4000-8000-000000000001", "3f1c0a4e-0000-4000-8000-2"],
        }
        started = time.perf_counter()
        for _ in range(n):
            writer.offer(record)
        seconds = time.perf_counter() - started
        writer.flush(60)
        writer.close()
        store.close()
    return seconds / n * 1e6


def write_cost(
    ids: str,
    existing: int = 60_000,
    batch: int = 200,
    *,
    contended: bool = False,
    url: str | None = None,
) -> tuple[float, float]:
    """Microseconds per check written (two alerts each) over a log grown from empty to
    `existing` checks in batches as the writer commits them: the wall time the batch holds
    the store, and the writer thread's own CPU time. `ids`: "ordered" (what the writer makes)
    or "random" (uuid4, as before). `contended`: with another thread busy in Python meanwhile,
    as the event loop is under load; the wall time is then mostly spent waiting for the GIL
    after each call into the driver that released it. `url`: the store (default a new SQLite
    file)."""
    from uuid import uuid4

    from api.check_log import entry_of
    from api.store import open_store

    record = {
        "endpoint": "native",
        "status": 200,
        "outcome": "critical",
        "codes": ["TABLET_BELOW_33_KG", "MISSING_DATA"],
        "severities": ["critical", "warning"],
    }
    spent = cpu = 0.0
    busy = threading.Event()
    spinner = threading.Thread(target=_spin, args=(busy,), daemon=True)
    if contended:
        spinner.start()
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(url or f"sqlite:///{tmp}/cds.sqlite3")
        for _ in range(existing // batch):
            entries = [entry_of(record) for _ in range(batch)]
            rows = [
                e if ids == "ordered" else dataclasses.replace(e, id=uuid4().hex)
                for e in entries
                if e is not None
            ]
            started, started_cpu = time.perf_counter(), time.thread_time()
            store.append_checks(rows)
            spent += time.perf_counter() - started
            cpu += time.thread_time() - started_cpu
        store.close()
    busy.set()
    return spent / existing * 1e6, cpu / existing * 1e6


def _spin(done: threading.Event) -> None:
    while not done.is_set():
        pass


# A store for one round: its URL, how many checks its check log then holds, and the CPU
# seconds its server has used so far (0 for SQLite, which runs inside the workers).
Store = tuple[str, Callable[[], int], Callable[[], float]]
NewStore = Callable[[Path], Store]


def sqlite_store(tmp: Path) -> Store:
    db = tmp / "cds.sqlite3"

    def logged() -> int:
        with sqlite3.connect(db) as conn:
            return int(conn.execute("SELECT count(*) FROM check_log").fetchone()[0])

    return f"sqlite:///{db}", logged, lambda: 0.0


def postgres_stores(server: PostgresServer) -> NewStore:
    """Each round gets a database of its own on the server."""
    numbers = itertools.count(1)

    def new(_: Path) -> Store:
        import psycopg

        url = server.create_database(f"check_log_{next(numbers)}")

        def logged() -> int:
            with psycopg.connect(url) as conn:
                row = conn.execute("SELECT count(*) FROM check_log").fetchone()
                return int(row[0]) if row else 0

        return url, logged, server.cpu_seconds

    return new


def measure(
    log_on: bool, workers: int, seconds: float, new_store: NewStore = sqlite_store
) -> tuple[list[dict[str, Any]], str]:
    """The rows of one round, and what is wrong with the log (empty when nothing)."""
    env = {} if log_on else {"CDS_CHECK_LOG_RETENTION_DAYS": "0"}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        env["CDS_DATABASE_URL"], count_logged, server_cpu = new_store(Path(tmp))
        answered = in_flight = 0
        with running(workers, log_dir=Path(tmp), log_level="WARNING", extra_env=env) as srv:
            warm = loadgen.run(srv.host, srv.port, _check_request, 8, total=300 * workers)
            answered += warm.statuses.get(200, 0)
            for clients in CLIENTS:
                before = server_cpu()
                res = loadgen.run(srv.host, srv.port, _check_request, clients, seconds=seconds)
                spent = server_cpu() - before
                answered += res.statuses.get(200, 0)
                in_flight += clients  # sent as the clock ran out, answered, not recorded
                rows.append(
                    {
                        "log": "on" if log_on else "off",
                        "clients": clients,
                        "rate": res.rate,
                        "p50": res.percentile(50),
                        "p99": res.percentile(99),
                        "failures": res.failures,
                        "server_us": spent / max(1, sum(res.statuses.values())) * 1e6,
                    }
                )
        # The workers write what is queued before they exit (SIGTERM).
        logged = count_logged()
    if not log_on:
        return rows, "" if logged == 0 else f"{logged} checks logged with the log off"
    if not answered <= logged <= answered + in_flight:
        return rows, f"{answered} checks answered, {logged} in the check log"
    return rows, ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=available_cpus())
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args(argv)
    print(f"Check log: native checks through the server, {args.workers} worker(s)\n")
    print(f"queueing one entry on the event loop: {offer_cost():.2f} µs")
    ordered, random = write_cost("ordered")[0], write_cost("random")[0]
    print(
        "writing one check (two alerts) into a log grown to 60,000 checks, per check: "
        f"{ordered:.1f} µs with time-ordered ids, {random:.1f} µs with random uuid4s"
    )
    wall, cpu = write_cost("ordered", 10_000, contended=True)
    print(
        "the same, with another thread busy in Python as the event loop is under load "
        f"(10,000 checks): the write lock held {wall:.0f} µs, the writer's CPU {cpu:.0f} µs "
        "per check\n"
    )
    failures = 0
    problems: list[str] = []
    failures += rounds("SQLite (embedded, `make run`)", sqlite_store, args, problems)
    if not args.no_postgres:
        with optional_server() as server:
            if server is not None:
                new_store = postgres_stores(server)
                quiet = write_cost("ordered", 20_000, url=new_store(Path())[0])
                busy = write_cost("ordered", 6_000, contended=True, url=new_store(Path())[0])
                print(
                    "PostgreSQL, writing one check (two alerts) in process, wall / the writer's "
                    f"CPU per check: {quiet[0]:.0f} / {quiet[1]:.0f} µs; with another thread "
                    f"busy in Python: {busy[0]:.0f} / {busy[1]:.0f} µs\n"
                )
                failures += rounds("PostgreSQL (local, throwaway)", new_store, args, problems)
    print("(medians of the rounds; figures from a shared machine need a quiet re-run)")
    for problem in problems:
        print(f"FAILED: {problem}")
    if failures:
        print(f"FAILED: {failures} responses with the wrong alerts")
    return 1 if failures or problems else 0


def rounds(label: str, new_store: NewStore, args: argparse.Namespace, problems: list[str]) -> int:
    """The rounds with the log on and off, alternating, on one kind of store: prints their
    table and returns the wrong answers; what is wrong with the log goes to `problems`."""
    results: dict[tuple[str, int], list[dict[str, Any]]] = {}
    failures = 0
    for _ in range(args.rounds):
        for log_on in (True, False):
            rows, problem = measure(log_on, args.workers, args.seconds, new_store)
            if problem:
                problems.append(f"{label}: {problem}")
            for row in rows:
                results.setdefault((row["log"], row["clients"]), []).append(row)
                failures += row["failures"]
    print(f"{label}:\n")
    print("| check log | clients | checks/s | p50 ms | p99 ms | store server's CPU per check µs |")
    print("|---|---:|---:|---:|---:|---:|")
    for (log, clients), found in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        print(
            f"| {log} | {clients} | {statistics.median(r['rate'] for r in found):,.0f} | "
            f"{statistics.median(r['p50'] for r in found):.2f} | "
            f"{statistics.median(r['p99'] for r in found):.2f} | "
            f"{statistics.median(r['server_us'] for r in found):.0f} |"
        )
    print()
    return failures


if __name__ == "__main__":
    sys.exit(main())
