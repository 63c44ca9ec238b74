"""The benchmark's load generator: it counts and verifies what it is sent, and a server that
hangs up mid-run fails the run instead of shortening it silently."""

from __future__ import annotations

import gc
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from itertools import pairwise
from pathlib import Path

import pytest

from bench import loadgen
from bench.run import (
    block_medians,
    cpu_ticks,
    http_verdicts,
    interpreter_build,
    measure_with_split,
    print_http,
)

OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
LAST = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"


@contextmanager
def tiny_server(
    answers: int, *, split: bool = False, say_close: bool = False, delay: float = 0.0
) -> Iterator[int]:
    """Answers `answers` requests per connection (head and body in two writes if `split`;
    each after `delay` seconds), then closes the connection (saying so on the last answer if
    `say_close`, as nginx does after keepalive_requests)."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve(conn: socket.socket) -> None:
        # A client that has what it needs may reset the connection rather than close it
        # (the load generator drops a connection the server said it closes): not a failure.
        with conn, suppress(ConnectionResetError, BrokenPipeError):
            for n in range(answers):
                if not conn.recv(65536):
                    return
                time.sleep(delay)
                if say_close and n == answers - 1:
                    conn.sendall(LAST)
                elif split:
                    conn.sendall(OK[:-2])
                    conn.sendall(OK[-2:])
                else:
                    conn.sendall(OK)

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield port
    finally:
        listener.close()


def _make(seen: list[bytes]) -> loadgen.MakeRequest:
    def make(n: int, client: int) -> tuple[bytes, loadgen.Verify]:
        def verify(status: int, body: bytes) -> str:
            seen.append(body)
            return "" if status == 200 and body == b"ok" else f"{status} {body!r}"

        return loadgen.get(f"/{n}"), verify

    return make


@pytest.mark.parametrize("split", [False, True], ids=["one-write", "head-then-body"])
def test_every_response_is_counted_and_verified(split: bool) -> None:
    seen: list[bytes] = []
    with tiny_server(answers=100, split=split) as port:
        result = loadgen.run("127.0.0.1", port, _make(seen), 4, total=40)
    assert result.requests == 40 and result.statuses == {200: 40}
    assert result.failures == 0 and seen == [b"ok"] * 40


def test_a_wrong_answer_is_a_failure_not_a_figure() -> None:
    def make(n: int, client: int) -> tuple[bytes, loadgen.Verify]:
        return loadgen.get("/"), lambda status, body: "" if body == b"no" else "wrong body"

    with tiny_server(answers=100) as port:
        result = loadgen.run("127.0.0.1", port, make, 2, total=10)
    assert result.failures == 10 and result.problems[0].endswith("wrong body")


def test_a_server_that_hangs_up_fails_the_run() -> None:
    with tiny_server(answers=3) as port, pytest.raises(ConnectionError):
        loadgen.run("127.0.0.1", port, _make([]), 2, total=20)


def test_a_connection_the_server_says_it_closes_is_replaced() -> None:
    seen: list[bytes] = []
    with tiny_server(answers=3, say_close=True) as port:
        result = loadgen.run("127.0.0.1", port, _make(seen), 2, total=20)
    assert result.requests == 20 and result.failures == 0 and len(seen) == 20


def test_the_client_does_not_collect_garbage_while_it_measures() -> None:
    """A collection in the client pauses every connection at once and reads as the server's
    tail latency (~50 ms, once or twice a run, in bench.run's process)."""
    collections: list[int] = []
    seen_at: list[int] = []  # how many collections had run, at each request and answer

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    def make(n: int, client: int) -> tuple[bytes, loadgen.Verify]:
        seen_at.append(len(collections))
        for _ in range(100):  # cyclic garbage: 2,000 requests would trigger collections
            cycle: list[object] = []
            cycle.append(cycle)

        def verify(status: int, body: bytes) -> str:
            seen_at.append(len(collections))
            return "" if body == b"ok" else "wrong"

        return loadgen.get("/"), verify

    gc.callbacks.append(count)
    try:
        with tiny_server(answers=2000) as port:
            result = loadgen.run("127.0.0.1", port, make, 2, total=2000)
    finally:
        gc.callbacks.remove(count)
    assert result.requests == 2000 and result.failures == 0
    # a full collection before the first request, so that none is pending; none after it
    assert collections[0] == 2 and seen_at[0] == seen_at[-1] >= 1, (collections, seen_at)
    assert gc.isenabled()


def test_a_fixed_rate_sends_what_is_due_and_no_more() -> None:
    """400 requests/s over 4 connections for 1 s, to a server that keeps up: about 400
    requests (a Poisson count: 400 ± 20), answered at once. A request falls due while its
    connection's previous one is in flight only when their gap is shorter than a round trip
    (~1 ms here; 1 - exp(-0.1) = 10 % of gaps at 100 requests/s per connection; a machine
    busy with other work stretches the round trip, and 3 ms makes it 26 %: at most half, or
    the client is not sending at the rate)."""
    seen: list[bytes] = []
    with tiny_server(answers=10_000) as port:
        result = loadgen.run("127.0.0.1", port, _make(seen), 4, seconds=1.0, rate=400)
    assert 320 <= result.requests <= 480, result.requests
    assert result.offered == 400 and result.failures == 0 and len(seen) == result.requests
    assert result.late <= result.requests // 2
    assert min(result.latencies) > 0 and result.percentile(50) < 10


def test_a_fixed_rate_counts_latency_from_when_a_request_was_due() -> None:
    """A server that answers in 50 ms cannot keep up with 100 requests/s on one connection:
    the requests pile up behind each other, and their latency grows through the run. Counted
    from when each request went, every answer would read 50 ms, as in the closed loop."""
    with tiny_server(answers=1000, delay=0.05) as port:
        closed = loadgen.run("127.0.0.1", port, _make([]), 1, seconds=0.6)
        fixed = loadgen.run("127.0.0.1", port, _make([]), 1, seconds=0.6, rate=100)
    assert closed.percentile(99) < 100
    assert fixed.late >= fixed.requests - 1 >= 5
    assert fixed.percentile(99) > 300, fixed.latencies  # ~60 due, 12 answered in 0.6 s


def test_the_same_seed_gives_the_same_arrivals() -> None:
    def due_times(seed: int) -> list[float]:
        sent: list[float] = []

        def make(n: int, client: int) -> tuple[bytes, loadgen.Verify]:
            sent.append(time.perf_counter())
            return loadgen.get("/"), lambda status, body: ""

        with tiny_server(answers=1000) as port:
            loadgen.run("127.0.0.1", port, make, 1, total=30, rate=50, seed=seed)
        return [b - a for a, b in pairwise(sent)]

    first, again, other = due_times(1), due_times(1), due_times(2)
    assert sum(abs(a - b) for a, b in zip(first, again, strict=True)) / 29 < 0.005
    assert sum(abs(a - b) for a, b in zip(first, other, strict=True)) / 29 > 0.010


@pytest.mark.parametrize("rate", [0, -5.0])
def test_a_rate_must_be_positive(rate: float) -> None:
    with pytest.raises(ValueError, match="rate"):
        loadgen.run("127.0.0.1", 1, _make([]), 1, seconds=1, rate=rate)


@pytest.mark.parametrize(
    ("samples", "blocks", "medians"),
    [
        ([1.0, 1.0, 3.0, 3.0], 2, [1.0, 3.0]),
        ([1.0, 2.0, 3.0, 10.0, 20.0, 30.0], 2, [2.0, 20.0]),
        ([1.0, 2.0, 3.0, 4.0, 5.0], 2, [1.5, 3.5]),  # the remainder is left out
        ([4.0, 2.0], 5, [4.0, 2.0]),  # fewer samples than blocks: one each
    ],
)
def test_block_medians_show_how_the_same_work_moved(
    samples: list[float], blocks: int, medians: list[float]
) -> None:
    assert block_medians(samples, blocks) == medians


def test_cpu_ticks_count_steal_within_all_time() -> None:
    steal, ticks = cpu_ticks()
    assert 0 <= steal <= ticks
    assert ticks > 0 or not Path("/proc/stat").exists()


@pytest.mark.parametrize(
    ("maps", "build"),
    [
        (
            "7f8ac3600000-7f8ac3700000 r-xp 00000000 08:01 42 "
            "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0\n",
            "linked to a shared libpython",
        ),
        (
            "55d0c0000000-55d0c0100000 r-xp 00000000 08:01 7 /usr/bin/python3.11\n"
            "7f00c0000000-7f00c0100000 r-xp 00000000 08:01 9 /usr/lib/libc.so.6\n",
            "one static binary",
        ),
        (None, "linked how is not known"),
    ],
)
def test_the_header_says_how_the_interpreter_is_linked(
    tmp_path: Path, maps: str | None, build: str
) -> None:
    path = tmp_path / "maps"
    if maps is not None:
        path.write_text(maps)
    assert interpreter_build(str(path)) == build


def _result(rate: float, p99_ms: float, *, offered: float | None = None) -> loadgen.Result:
    """100 requests over 100 / rate seconds, 98 of them answered in 1 ms and two in p99."""
    latencies = [0.001] * 98 + [p99_ms / 1000] * 2
    return loadgen.Result(
        clients=64, requests=100, seconds=100 / rate, latencies=latencies, offered=offered
    )


@pytest.mark.parametrize(
    ("checks", "closed_p99", "fixed_p99", "healthz", "met"),
    [
        (1283, 80.4, 36.1, 5325, [True, False, True, False, True]),  # make bench, 01:07
        (1372, 44.5, 49.9, 5100, [True, True, True, True, True]),
        (999, 44.5, 50.0, 3996, [False, True, True, True, True]),  # exactly 25 %, 50 ms
        (1000, 50.1, 50.1, 4001, [True, False, False, False, True]),
    ],
)
def test_the_verdicts_read_each_target_from_its_own_run(
    checks: float, closed_p99: float, fixed_p99: float, healthz: float, met: list[bool]
) -> None:
    """The p99 target is read twice: at 64 clients in a closed loop (which by Little's law
    is 64 / throughput, whatever the server's latency at lower load) and with 1,000
    checks/s due from 64 clients."""
    rows = [
        {
            "clients": 64,
            "check": _result(checks, closed_p99),
            "healthz": _result(healthz, 1.0),
            "check at rate": _result(1000, fixed_p99, offered=1000),
        }
    ]
    verdicts = http_verdicts("gunicorn", rows, 0)
    assert [ok for _, ok in verdicts] == met
    assert f"({closed_p99:.1f})" in verdicts[1][0] and f"({fixed_p99:.1f})" in verdicts[2][0]
    assert "1,000 checks/s due from 64 clients" in verdicts[2][0]


def _slow(seconds: float) -> loadgen.Result:
    time.sleep(seconds)
    return _result(1000, 10.0, offered=1000)


@pytest.mark.parametrize(
    ("lasts", "read_at", "shown"),
    [(0.3, 0.05, "40/24"), (0.0, 0.5, "?")],  # read during the run; a run over before that
)
def test_a_run_records_how_its_connections_were_split(
    lasts: float, read_at: float, shown: str
) -> None:
    """At a fixed rate a worker's share of the checks is its share of the connections: the
    split is read during the run itself, never taken from another run's connections."""
    row: dict[str, object] = {}
    measure_with_split(row, "check at rate", lambda: [40, 24], read_at, lambda: _slow(lasts))
    assert row["check at rate split"] == shown


def test_the_fixed_rate_table_shows_its_own_split(capsys: pytest.CaptureFixture[str]) -> None:
    row = {
        "clients": 64,
        "check": _result(1200, 80.0),
        "hook": _result(500, 120.0),
        "healthz": _result(5000, 20.0),
        "check split": "32/32",
        "check at rate": _result(1000, 65.0, offered=1000),
        "check at rate split": "42/22",
    }
    print_http("## HTTP", [row], "connections per worker")
    table = capsys.readouterr().out.split("At a fixed rate")[1]
    assert "| connections per worker |" in table
    assert table.rstrip().splitlines()[-1].endswith("| 42/22 |")
