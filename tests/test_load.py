"""Isolation and memory under load, against one real server process started the `make run` way
(gunicorn, WORKERS=1: every check shares one engine, one lock and one thread pool).

- Distinct patients in sequence and in parallel: every answer carries exactly its own
  patient's alerts, down to the daily dose in the evidence, and no check fails. Far more
  checks than durable-rules' 1,024 live sessions: a session leaked per check would fail.
- 16 clients at once, each with its own patient and its own alert set (native API), plus
  CDS Hooks requests interleaved: nobody gets another's alerts or cards.
- Memory stays flat: the worker's RSS at the end is within 10 % of its RSS after the
  first tenth of the run.

`make test` runs a shortened version; `make soak` (SOAK=1) the full one: 100,000 distinct
checks (RSS after 100,000 vs after 10,000) and 10,000 checks from the 16 clients.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import loadgen
from bench.cases import card_problems, cds_cases, distinct_case, problems
from bench.server import Server, rss_kib, running

SOAK = os.environ.get("SOAK") == "1"
DISTINCT = 100_000 if SOAK else 5_000
CLIENTS = 16
PER_CLIENT_TOTAL = 10_000 if SOAK else 1_600
RSS_TOLERANCE = 0.10


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(1, log_dir=tmp_path_factory.mktemp("load"), log_level="INFO") as srv:
        yield srv


def _distinct(offset: int) -> loadgen.MakeRequest:
    def make(n: int, _: int) -> tuple[bytes, loadgen.Verify]:
        body, expected, daily = distinct_case(offset + n)

        def verify(status: int, raw: bytes) -> str:
            if status != 200:
                return f"HTTP {status}: {raw[:200]!r}"
            return problems(json.loads(raw), expected, daily)

        return loadgen.post("/v1/safety-checks", body), verify

    return make


def test_distinct_patients_through_one_process_memory_flat(server: Server) -> None:
    """Warm-up and first tenth, RSS; the other nine tenths, RSS again."""
    (worker,) = server.workers()
    first = loadgen.run(server.host, server.port, _distinct(0), 8, total=DISTINCT // 10)
    rss_first = rss_kib(worker)
    rest = loadgen.run(
        server.host, server.port, _distinct(DISTINCT // 10), 8, total=DISTINCT - DISTINCT // 10
    )
    rss_end = rss_kib(worker)
    for part in (first, rest):
        assert part.failures == 0, part.problems[:5]
        assert part.statuses == {200: part.requests}
    assert first.requests + rest.requests == DISTINCT
    growth = (rss_end - rss_first) / rss_first
    # The figure `make soak` reports (it runs pytest -s).
    figure = (
        f"\nRSS after {DISTINCT // 10:,} checks: {rss_first / 1024:.1f} MiB; after "
        f"{DISTINCT:,}: {rss_end / 1024:.1f} MiB ({growth:+.1%})"
    )
    print(figure)  # noqa: T201
    assert abs(growth) <= RSS_TOLERANCE, f"RSS {rss_first} KiB -> {rss_end} KiB"


def test_16_clients_each_get_exactly_their_own_alerts(server: Server) -> None:
    """Client k sends patients k, k+16, k+32, ...: always the same alert set (one of 16, all
    different), never the same daily dose twice. Every fifth request is a CDS Hooks call
    with its own expected cards."""
    hooks = list(cds_cases().values())
    assert len({tuple(sorted(distinct_case(k)[1])) for k in range(CLIENTS)}) == CLIENTS

    def make(n: int, client: int) -> tuple[bytes, loadgen.Verify]:
        if n % 5 == 4:
            request, cards = hooks[n % len(hooks)]

            def verify_hook(status: int, raw: bytes) -> str:
                if status != 200:
                    return f"hook HTTP {status}: {raw[:200]!r}"
                return card_problems(json.loads(raw), cards)

            return loadgen.post(f"/cds-services/baclofen-{request['hook']}", request), verify_hook
        body, expected, daily = distinct_case(client + CLIENTS * (500_000 + n))

        def verify(status: int, raw: bytes) -> str:
            if status != 200:
                return f"client {client}: HTTP {status}: {raw[:200]!r}"
            problem = problems(json.loads(raw), expected, daily)
            return f"client {client}: {problem}" if problem else ""

        return loadgen.post("/v1/safety-checks", body), verify

    result = loadgen.run(server.host, server.port, make, CLIENTS, total=PER_CLIENT_TOTAL)
    assert result.requests == PER_CLIENT_TOTAL
    assert result.failures == 0, result.problems[:5]
    assert result.statuses == {200: PER_CLIENT_TOTAL}


def test_check_log_lines_carry_no_patient_data(server: Server) -> None:
    """The server's log: one JSON line per check, with its codes and timing, and nothing
    from the requests (no dates, doses or condition text)."""
    marker = 900_000  # patients of this test only
    result = loadgen.run(server.host, server.port, _distinct(marker), 2, total=20)
    assert result.failures == 0, result.problems[:5]
    lines = [
        json.loads(line)
        for line in Path(server.log).read_text().splitlines()
        if line.startswith("{")
    ]
    checks = [line for line in lines if line.get("event") == "check"]
    assert len(checks) >= 20
    for line in checks[-2000:]:
        assert set(line) <= {
            "ts",
            "level",
            "logger",
            "message",
            "event",
            "endpoint",
            "status",
            "check_id",
            "outcome",
            "codes",
            "severities",
            "card_uuids",
            "error",
            "fields",
            "duration_ms",
        }
        text = json.dumps(line)
        for secret in ("1981-06-15", "morphine", "84757009", "mg"):
            assert secret not in text, line
    # A check's line is written once its answer is sent, so the previous test's last CDS
    # Hooks line can land after this test's first check: look at the native checks only.
    last = [line for line in checks if line["endpoint"] == "native"][-20:]
    assert all(
        line["status"] == 200
        and line["outcome"] in ("critical", "warning")
        and "DAILY_DOSE_ABOVE_MAXIMUM" in line["codes"]
        and line["duration_ms"] > 0
        for line in last
    ), last[:3]


def test_server_stack_sets_tcp_nodelay() -> None:
    """The gunicorn worker (api/gunicorn_worker.py) runs uvicorn's "auto" loop, which picks
    uvloop when installed, and a protocol built on httptools. uvloop sets TCP_NODELAY on
    every connection; without it, a listening socket made with socket.socket() (gunicorn's,
    uvicorn's own with `--workers N`) is one that asyncio leaves with Nagle's algorithm on,
    and every response waits ~40 ms for the client's delayed ACK (p50 44 ms at one client,
    measured). So both must stay dependencies, and "auto" must still choose uvloop."""
    import uvicorn.config
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    from api.gunicorn_worker import Worker
    from api.protocol import GuardedHttpToolsProtocol

    assert Worker.CONFIG_KWARGS["loop"] == "auto"
    config = uvicorn.config.Config("api.main:app", loop="auto")
    config.load()
    factory = config.get_loop_factory()
    assert factory is not None and factory.__module__.startswith("uvloop")
    assert issubclass(GuardedHttpToolsProtocol, HttpToolsProtocol)


def test_thread_pool_is_limited(monkeypatch: pytest.MonkeyPatch) -> None:
    """One blocking thread per worker by default (see api/limits.py), THREADS overrides it,
    and a nonsense value stops the boot instead of serving with AnyIO's default."""
    import anyio

    from api.limits import DEFAULT_THREADS, limit_threads

    async def tokens() -> float:
        limit_threads()
        return anyio.to_thread.current_default_thread_limiter().total_tokens

    monkeypatch.delenv("THREADS", raising=False)
    assert anyio.run(tokens) == DEFAULT_THREADS == 1
    monkeypatch.setenv("THREADS", "3")
    assert anyio.run(tokens) == 3
    monkeypatch.setenv("THREADS", "0")
    with pytest.raises(ValueError, match="THREADS"):
        anyio.run(tokens)


def test_real_server_refuses_a_large_body_at_once(server: Server) -> None:
    """Through uvicorn: a declared 2 MiB body is refused with 413 before it is read, the
    connection is closed (the unread body cannot be taken for the next request), and the
    server goes on answering."""
    import httpx

    with httpx.Client(base_url=server.url, timeout=10) as http:
        big = http.post(
            "/v1/safety-checks",
            content=b" " * (2 * 1024 * 1024),
            headers={"content-type": "application/json"},
        )
        assert big.status_code == 413
        assert big.json()["error"] == "request_too_large"
        body, expected, daily = distinct_case(7)
        after = http.post("/v1/safety-checks", json=body)
        assert after.status_code == 200
        assert problems(after.json(), expected, daily) == ""
