"""`make run`'s supervisor (api/serve.py): connections spread over the workers, a dead worker is
replaced without refusing anyone, and a server that cannot start says so."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from bench.server import ROOT, Server, free_port, running


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(2, log_dir=tmp_path_factory.mktemp("serve"), log_level="WARNING") as srv:
        yield srv


def _wait(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.1)


@pytest.mark.parametrize("count", [8, 32, 5])
def test_connections_are_handed_to_the_workers_in_turn(server: Server, count: int) -> None:
    """uvicorn's shared socket gave all 8 connections of a burst to one worker, and a socket
    per worker left the split to a hash (6/2, 37/27). Handed out in turn, keep-alive
    connections split evenly, opened together or one after another."""
    clients = [httpx.Client(base_url=server.url, timeout=10) for _ in range(count)]
    try:
        for client in clients:
            assert client.get("/healthz").status_code == 200  # keep-alive: stays open
        split = server.connection_split()
        assert len(split) == 2 and sum(split) == count, split
        assert split[0] - split[1] <= 1, split
    finally:
        for client in clients:
            client.close()
    _wait(lambda: sum(server.connection_split()) == 0)


def test_a_killed_worker_is_replaced_and_no_request_is_refused(server: Server) -> None:
    before = set(server.workers())
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    # New connections keep being answered meanwhile: the supervisor skips the dead worker
    # until its replacement has started.
    for _ in range(20):
        r = httpx.get(f"{server.url}/healthz", timeout=30)
        assert r.status_code == 200
    _wait(lambda: len(server.workers()) == 2 and victim not in server.workers())
    assert "exited with code -9: restarting it" in server.log.read_text()
    # The replacement takes its turn again.
    _wait(lambda: _split_of(server, 4) == [2, 2])


def _split_of(server: Server, count: int) -> list[int]:
    clients = [httpx.Client(base_url=server.url, timeout=10) for _ in range(count)]
    try:
        for client in clients:
            client.get("/healthz")
        return server.connection_split()
    finally:
        for client in clients:
            client.close()


def test_a_worker_that_stops_reading_is_skipped(server: Server) -> None:
    """A worker frozen mid-check (SIGSTOP) is passed at most 64 connections it has not taken
    (api/serve.py, CHANNEL_SNDBUF); the other worker answers every client after those, a
    burst faster than it takes them waits instead of being closed, and the frozen worker's
    clients are answered once it resumes."""
    victim = min(server.workers())
    count = 200
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    os.kill(victim, signal.SIGSTOP)
    conns: list[socket.socket] = []
    try:
        for _ in range(count):
            conn = socket.create_connection((server.host, server.port), timeout=5)
            conn.sendall(request)
            conns.append(conn)
        late = []
        deadline = time.monotonic() + 3
        for conn in conns:
            conn.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                assert conn.recv(12) == b"HTTP/1.1 200"
            except TimeoutError:  # passed to the frozen worker
                late.append(conn)
        assert 0 < len(late) <= 64
    finally:
        os.kill(victim, signal.SIGCONT)
    try:
        for conn in late:
            conn.settimeout(10)
            assert conn.recv(12) == b"HTTP/1.1 200"
    finally:
        for conn in conns:
            conn.close()


def _make_run(port: int, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["make", "-s", "run"],
        cwd=ROOT,
        start_new_session=True,
        env={**os.environ, "PORT": str(port), "WORKERS": "2", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def test_a_worker_that_cannot_start_stops_the_server_with_an_error() -> None:
    proc = _make_run(free_port(), THREADS="0")  # the lifespan refuses THREADS=0
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert b"at start-up: stopping" in out


def test_a_port_in_use_is_refused_not_shared() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        proc = _make_run(taken.getsockname()[1])
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert b"Address already in use" in out


def test_sigterm_stops_every_worker_and_exits_cleanly(tmp_path: Path) -> None:
    port = free_port()
    proc = _make_run(port)
    try:
        _wait(lambda: _healthy(port), timeout=90)
        cmdlines = {
            p: Path(f"/proc/{p}/cmdline").read_bytes()
            for p in Server("127.0.0.1", port, proc.pid, tmp_path).processes()
        }
        supervisor = next(
            p for p, cmd in cmdlines.items() if b"api.serve" in cmd and b"--channel-fd" not in cmd
        )
        workers = [p for p, cmd in cmdlines.items() if b"--channel-fd" in cmd]
        assert len(workers) == 2
        os.kill(supervisor, signal.SIGTERM)
        proc.communicate(timeout=60)
        assert proc.returncode == 0
        assert not [p for p in workers if Path(f"/proc/{p}").exists()]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False
