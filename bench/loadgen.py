"""A lean HTTP/1.1 load generator: N keep-alive connections on one asyncio loop.

The server and the client share this machine's two cores, so the client must cost as little
CPU as possible: requests are pre-built bytes, responses are parsed by hand (status line,
Content-Length, body) and the loop is uvloop's (the server's own loop: about half the CPU of
asyncio's per request). An httpx client would spend more CPU per request than the server's
check itself and the figures would measure the client. Only for 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import uvloop

# verifier of (status, body bytes): '' when the response is right, else the problem
Verify = Callable[[int, bytes], str]
# (request number, client number) -> (request bytes, verifier or None)
MakeRequest = Callable[[int, int], tuple[bytes, Verify | None]]


def post(path: str, body: Any, host: str = "127.0.0.1") -> bytes:
    data = json.dumps(body).encode()
    return (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n").encode() + data


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


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        key = name.strip().lower()
        if key == b"content-length":
            length = int(value)
        elif key == b"transfer-encoding":
            raise RuntimeError("chunked responses are not expected from this service")
    body = await reader.readexactly(length) if length else b""
    return status, body


async def _connection(client: int, host: str, port: int, make: MakeRequest, counter: list[int],
                      limit: int | None, stop_at: float, result: Result,
                      record_from: float) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while True:
            if limit is not None and counter[0] >= limit:
                return
            now = time.perf_counter()
            if now >= stop_at:
                return
            n = counter[0]
            counter[0] += 1
            request, verify = make(n, client)
            writer.write(request)
            status, body = await _read_response(reader)
            done = time.perf_counter()
            if done >= record_from:
                result.latencies.append(done - now)
                result.statuses[status] = result.statuses.get(status, 0) + 1
            if verify is not None:
                problem = verify(status, body)
                if problem:
                    result.failures += 1
                    if len(result.problems) < 20:
                        result.problems.append(f"request {n}: {problem}")
    finally:
        writer.close()
        with suppress(OSError):
            await writer.wait_closed()


async def _run(host: str, port: int, make: MakeRequest, clients: int, *,
               total: int | None, seconds: float | None, warmup: float) -> Result:
    result = Result(clients=clients)
    counter = [0]
    start = time.perf_counter()
    record_from = start + warmup
    stop_at = start + warmup + seconds if seconds is not None else float("inf")
    await asyncio.gather(*(
        _connection(client, host, port, make, counter, total, stop_at, result, record_from)
        for client in range(clients)))
    end = time.perf_counter()
    result.seconds = end - max(start, record_from) if seconds is not None else end - start
    result.requests = len(result.latencies)
    return result


def run(host: str, port: int, make: MakeRequest, clients: int, *, total: int | None = None,
        seconds: float | None = None, warmup: float = 0.0) -> Result:
    """Drive `clients` connections until `total` requests were sent or `seconds` (after
    `warmup`, whose requests are not recorded) have passed."""
    if total is None and seconds is None:
        raise ValueError("give total or seconds")
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(_run(host, port, make, clients, total=total, seconds=seconds,
                               warmup=warmup))
