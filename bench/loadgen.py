"""A lean HTTP/1.1 load generator: N keep-alive connections on one asyncio loop.

Two ways to drive them:
- **Closed loop** (the default): each connection sends its next request as soon as the last
  is answered, so N requests are always in flight. This finds the most the server can do;
  its latency is then N / throughput by Little's law, a function of the throughput alone.
- **Fixed rate** (`rate=`): requests are due at the times of a Poisson process of that rate,
  spread over the N connections (each its own process of rate / N), as independent
  prescribers send them. A request whose connection is still waiting for the previous answer
  at its due time goes when that answer comes, and its latency is counted from its due time,
  not from when it went (as wrk2 does): a server that falls behind shows it in the latency
  instead of slowing the client down ("coordinated omission"). This answers "at this rate,
  how long do answers take", which the closed loop cannot. (The loop's timers fire up to a
  millisecond after their time, which the latency then includes.) With one request at a
  time per connection, some requests fall due while their connection's previous answer is
  still on its way ("late": ~1 - exp(-latency x rate / N) of them) and wait for it.

The server and the client share this machine's two cores, so the client must cost as little
CPU as possible: requests are pre-built bytes, responses are parsed by hand (status line,
Content-Length, body) and the loop is uvloop's (the server's own loop: about half the CPU of
asyncio's per request). An httpx client would spend more CPU per request than the server's
check itself and the figures would measure the client. Only for 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import gc
import json
import math
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import uvloop

# verifier of (status, body bytes): '' when the response is right, else the problem
Verify = Callable[[int, bytes], str]
# (request number, client number) -> (request bytes, verifier or None)
MakeRequest = Callable[[int, int], tuple[bytes, Verify | None]]


def post(path: str, body: Any, host: str = "127.0.0.1") -> bytes:
    data = json.dumps(body).encode()
    return (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    ).encode() + data


def get(path: str, host: str = "127.0.0.1") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()


@dataclass
class Result:
    clients: int
    requests: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, one per request
    statuses: dict[int, int] = field(default_factory=dict)
    failures: int = 0  # responses the verifier rejected (wrong status, wrong alerts)
    problems: list[str] = field(default_factory=list)  # the first 20 of them
    offered: float | None = None  # requests/s due, in a fixed-rate run
    late: int = 0  # fixed rate: requests that waited for their connection's previous answer

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile in milliseconds."""
        return percentile(self.latencies, p) * 1000


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p % of the values at or below it."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(p / 100 * len(ordered)))) - 1]


class _Connection(asyncio.Protocol):
    """One keep-alive connection: send a request, read its response, send the next.

    A protocol, not asyncio streams: the stream reader's buffering and futures cost the
    client about as much CPU per request as parsing the answer, on the cores the server
    needs. Responses are read by hand: status line, Content-Length, body."""

    def __init__(self, client: int, make: MakeRequest, run: _Run) -> None:
        self.client = client
        self.make = make
        self.run = run
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.verify: Verify | None = None
        self.n = 0
        self.sent_at = 0.0  # when the request in flight went, or in a fixed-rate run was due
        self.finished = False
        self.due = run.start  # fixed rate: when the last request was due
        self.arrivals = random.Random(f"{run.seed}:{client}") if run.rate else None
        self.timer: asyncio.TimerHandle | None = None
        self.successor: _Connection | None = None
        self._handing_over: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._guarded(self._send_next)

    def _send_next(self) -> None:
        assert self.transport is not None
        run = self.run
        now = time.perf_counter()
        if self.arrivals is not None:  # fixed rate: the next request is due at its time
            assert run.rate is not None
            self.due += self.arrivals.expovariate(run.rate / run.clients)
            if self.due >= run.stop_at or (run.limit is not None and run.counter >= run.limit):
                self._finish()
            elif self.due > now:
                self.timer = asyncio.get_running_loop().call_later(
                    self.due - now, self._guarded, self._send_due
                )
            else:  # due while the previous answer was still on its way
                run.result.late += int(self.due >= run.record_from)
                self._send(self.due)
            return
        if (run.limit is not None and run.counter >= run.limit) or now >= run.stop_at:
            self._finish()
            return
        self._send(now)

    def _send_due(self) -> None:
        """The loop's timers are kept in whole milliseconds of a clock read once per
        iteration, so one may fire a little before its time: the latency is then counted
        from when the request went, never from a time before it did."""
        self.timer = None
        self._send(min(self.due, time.perf_counter()))

    def _send(self, counted_from: float) -> None:
        assert self.transport is not None
        self.n = self.run.counter
        self.run.counter += 1
        request, self.verify = self.make(self.n, self.client)
        self.sent_at = counted_from
        self.transport.write(request)

    def _finish(self) -> None:
        assert self.transport is not None
        self.finished = True
        self.transport.close()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._guarded(self._on_data)

    def _guarded(self, step: Callable[[], None]) -> None:
        """An exception in a protocol callback is only logged by the loop, and the run would
        wait for this connection forever: it fails the run instead."""
        try:
            step()
        except Exception as exc:
            self._fail(exc)

    def _on_data(self) -> None:
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return
        status, length, close = _head(bytes(self.buffer[:head_end]))
        if len(self.buffer) < head_end + 4 + length:
            return
        if len(self.buffer) > head_end + 4 + length:
            self._fail(RuntimeError("bytes after the response: this client does not pipeline"))
            return
        body = bytes(self.buffer[head_end + 4 :])
        self.buffer.clear()
        done = time.perf_counter()
        result = self.run.result
        # Only requests sent after the warm-up count. Counting those that merely finished after
        # it recorded the connections' first requests: opened all at once against a saturated
        # server, the k-th connection's first answer comes ~k rounds later (up to 2.7 s for
        # the 64th CDS Hooks connection), a ramp, not the steady state measured here.
        if self.sent_at >= self.run.record_from:
            result.latencies.append(done - self.sent_at)
            result.statuses[status] = result.statuses.get(status, 0) + 1
        if self.verify is not None:
            problem = self.verify(status, body)
            if problem:
                result.failures += 1
                if len(result.problems) < 20:
                    result.problems.append(f"request {self.n}: {problem}")
        if close:  # the server (nginx after keepalive_requests) ends this connection
            self._hand_over()
            return
        self._send_next()

    def _hand_over(self) -> None:
        """Go on, as a client does, on a new connection; this one's `closed` resolves with
        its successor's."""
        assert self.transport is not None
        self.finished = True
        self.transport.close()
        run = self.run

        async def go_on() -> None:
            try:
                _, successor = await asyncio.get_running_loop().create_connection(
                    self._successor, run.host, run.port
                )
                self.successor = successor
                await self.successor.closed
            except Exception as exc:
                self._fail(exc)
                return
            if not self.closed.done():
                self.closed.set_result(None)

        self._handing_over = asyncio.get_running_loop().create_task(go_on())

    def _successor(self) -> _Connection:
        """The same client on a new connection: in a fixed-rate run its requests stay due
        where they were."""
        successor = _Connection(self.client, self.make, self.run)
        successor.due, successor.arrivals = self.due, self.arrivals
        return successor

    def stop(self) -> None:
        self.finished = True
        if self.timer is not None:
            self.timer.cancel()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.abort()
        if self.successor is not None:
            self.successor.stop()

    def _fail(self, exc: Exception) -> None:
        if self.timer is not None:
            self.timer.cancel()
        if not self.closed.done():
            self.closed.set_exception(exc)
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.closed.done() or self._handing_over is not None:
            return
        if self.finished:
            self.closed.set_result(None)
        else:
            self.closed.set_exception(
                exc
                or ConnectionError(f"the server closed connection {self.client} before answering")
            )


def _head(head: bytes) -> tuple[int, int, bool]:
    """Status, Content-Length, and whether the server closes the connection after it."""
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    close = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        key = name.strip().lower()
        if key == b"content-length":
            length = int(value)
        elif key == b"connection":
            close = value.strip().lower() == b"close"
        elif key == b"transfer-encoding":
            raise RuntimeError("chunked responses are not expected from this service")
    return status, length, close


@dataclass
class _Run:
    """What the connections of one run share (one event loop, so no locking)."""

    result: Result
    limit: int | None
    start: float
    stop_at: float
    record_from: float
    host: str
    port: int
    clients: int
    rate: float | None = None  # fixed rate, requests/s over all connections
    seed: int = 0
    counter: int = 0


async def _run(
    host: str,
    port: int,
    make: MakeRequest,
    clients: int,
    *,
    total: int | None,
    seconds: float | None,
    warmup: float,
    rate: float | None,
    seed: int,
) -> Result:
    loop = asyncio.get_running_loop()
    result = Result(clients=clients, offered=rate)
    start = time.perf_counter()
    run = _Run(
        result=result,
        limit=total,
        start=start,
        record_from=start + warmup,
        stop_at=start + warmup + seconds if seconds is not None else float("inf"),
        host=host,
        port=port,
        clients=clients,
        rate=rate,
        seed=seed,
    )
    connections: list[_Connection] = []
    try:
        for client in range(clients):

            def protocol_for(client: int = client) -> _Connection:
                return _Connection(client, make, run)

            _, protocol = await loop.create_connection(protocol_for, host, port)
            connections.append(protocol)
        await asyncio.gather(*(c.closed for c in connections))
    finally:  # one connection failed: close the others before the loop goes
        for connection in connections:
            connection.stop()
        await asyncio.sleep(0)
    end = time.perf_counter()
    result.seconds = end - max(start, run.record_from) if seconds is not None else end - start
    result.requests = len(result.latencies)
    return result


def run(
    host: str,
    port: int,
    make: MakeRequest,
    clients: int,
    *,
    total: int | None = None,
    seconds: float | None = None,
    warmup: float = 0.0,
    rate: float | None = None,
    seed: int = 0,
) -> Result:
    """Drive `clients` connections until `total` requests were sent or `seconds` (after
    `warmup`, whose requests are not recorded) have passed: in a closed loop, or with
    requests due at `rate` per second in all (a Poisson process drawn from `seed`)."""
    if total is None and seconds is None:
        raise ValueError("give total or seconds")
    if rate is not None and not rate > 0:
        raise ValueError("rate must be a positive number of requests per second")
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner, _no_collection():
        return runner.run(
            _run(
                host,
                port,
                make,
                clients,
                total=total,
                seconds=seconds,
                warmup=warmup,
                rate=rate,
                seed=seed,
            )
        )


@contextmanager
def _no_collection() -> Iterator[None]:
    """No garbage collection in the client while it measures.

    The client is one process holding every connection, and `bench.run` has imported the
    whole service and run the engine in it: a full collection there paused all 64
    connections for ~50 ms, once or twice in a 5 s run. Every request in flight then took
    50 ms longer, and 64 of ~6,000 requests is the p99: the client's pause, not the
    server's. What the client allocates while it runs is freed by reference counting, or
    collected once the run is over."""
    was_enabled = gc.isenabled()
    gc.collect()  # start with nothing pending
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
