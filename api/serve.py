"""`make run`: WORKERS uvicorn processes under a small supervisor that accepts every connection
on the one listening socket, hands it to the workers in turn, and restarts a worker that dies.

Why not `uvicorn --workers N`: its workers share one listening socket and whichever polls first
accepts every connection waiting. An EHR keeps a few keep-alive connections open; measured
here, 8 connections opened together all landed on one worker (the other core idled) and 64
split 44/20, and the workers holding more connections set the latency percentiles
(bench/README.md). A socket per worker (SO_REUSEPORT) left the split to a hash of the client
addresses: 6/2 for 8 connections, up to 37/27 for 64, different every run. Handed out in
turn, as Node's cluster module does, connections split 4/4 and 32/32. A keep-alive connection
costs the supervisor one accept and one message on a Unix socket carrying its descriptor,
once. A worker that dies is skipped until its replacement has started; the connections it
held are lost (their clients reconnect and land on a live worker).

    python -m api.serve [--host 127.0.0.1] [--port 8000] [--workers N]   (HOST, PORT, WORKERS)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

APP = "api.main:app"
BACKLOG = 2048
STARTUP_FAILURE = 3  # a worker's exit code when its app did not start (as uvicorn's)
RESTART_DELAY_S = 1.0
# Send buffer of the socket that passes connections to a worker: room for 64 not yet taken
# (measured: ~770 bytes each, and Linux doubles the value set). A burst of 64 new
# connections fits while a worker finishes a check; a worker that stops reading (frozen,
# looping) gets no more than that, and the others take the rest.
CHANNEL_SNDBUF = 24576
POLL_S = 0.2  # how often the supervisor looks at its workers when no connection arrives

log = logging.getLogger("baclofen.serve")


def listening_socket(host: str, port: int) -> socket.socket:
    """The one socket clients connect to; "Address already in use" if another program holds
    the port."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


@dataclass
class Worker:
    """One worker process and the Unix socket the supervisor passes it connections on."""

    process: subprocess.Popen[bytes] | None = None
    channel: socket.socket | None = None
    ready: bool = False
    restart_at: float | None = None
    _ready_pipe: int = -1

    def start(self) -> None:
        """Spawn the worker; it writes one byte to a pipe once its app has started."""
        self.close()
        self.ready = False
        self.restart_at = None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        ours.setblocking(False)
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, CHANNEL_SNDBUF)
        read_end, write_end = os.pipe()
        os.set_blocking(read_end, False)
        self._ready_pipe = read_end
        self.channel = ours
        try:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "api.serve",
                    "--channel-fd",
                    str(theirs.fileno()),
                    "--ready-fd",
                    str(write_end),
                ],
                pass_fds=(theirs.fileno(), write_end),
            )
        finally:
            os.close(write_end)
            theirs.close()

    def poll_ready(self) -> None:
        if self.ready or self._ready_pipe < 0:
            return
        try:
            self.ready = os.read(self._ready_pipe, 1) == b"1"
        except BlockingIOError:
            return
        os.close(self._ready_pipe)  # a byte, or the end of the pipe: either way, done
        self._ready_pipe = -1

    def hand(self, conn: socket.socket) -> bool:
        """Pass one accepted connection; False if this worker cannot take it now (it died,
        or it has not read the connections passed before)."""
        if self.channel is None or not self.ready:
            return False
        try:
            socket.send_fds(self.channel, [b"c"], [conn.fileno()])
        except OSError:
            return False
        return True

    def close(self) -> None:
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        if self._ready_pipe >= 0:
            os.close(self._ready_pipe)
            self._ready_pipe = -1


class Dispatcher:
    """Hands accepted connections to the ready workers in turn. When no worker has room for
    one more (a burst faster than they take them), it waits with that connection and leaves
    the rest in the listener's backlog: backpressure, never a connection closed unanswered."""

    def __init__(self, listener: socket.socket, workers: list[Worker]) -> None:
        self.listener = listener
        self.workers = workers
        self.turn = 0
        self.waiting: socket.socket | None = None

    def dispatch(self) -> None:
        if self.waiting is not None:
            if not self._hand(self.waiting):
                return
            self.waiting.close()
            self.waiting = None
        while True:
            try:
                conn, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. EMFILE: leave the rest queued, try again later
                log.error("accept failed: %s", exc.strerror or exc)
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if not self._hand(conn):
                self.waiting = conn
                return
            conn.close()

    def close(self) -> None:
        if self.waiting is not None:
            self.waiting.close()
            self.waiting = None

    def _hand(self, conn: socket.socket) -> bool:
        count = len(self.workers)
        for step in range(count):
            worker = self.workers[(self.turn + step) % count]
            if worker.hand(conn):
                self.turn = (self.turn + step + 1) % count
                return True
        return False


def supervise(listener: socket.socket, count: int) -> int:
    """Run `count` workers until SIGTERM or SIGINT; restart a worker that exits on its own
    once it has served. A worker that exits before its app started (a ruleset that fails its
    lint, an import error) stops everything with status 1: restarting it would only fail
    again, and `make run` must say so."""
    stopping: list[int] = []

    def stop(signum: int, _: object) -> None:
        stopping.append(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    workers = [Worker() for _ in range(count)]
    for worker in workers:
        worker.start()
    dispatcher = Dispatcher(listener, workers)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    status = 0
    while not stopping:
        if dispatcher.waiting is not None:  # the workers are taking a burst: retry soon
            time.sleep(0.001)
            dispatcher.dispatch()
        elif any(w.ready for w in workers):
            if selector.select(timeout=POLL_S):
                dispatcher.dispatch()
        else:  # nobody to take a connection: leave them queued in the listener's backlog
            time.sleep(0.05)
        status = _look_after(workers, stopping)
    dispatcher.close()
    selector.close()
    listener.close()
    _stop_all(workers)
    return status


def _look_after(workers: list[Worker], stopping: list[int]) -> int:
    for worker in workers:
        if worker.process is None:
            continue
        if worker.restart_at is not None:
            if time.monotonic() >= worker.restart_at and not stopping:
                worker.start()
            continue
        worker.poll_ready()
        code = worker.process.poll()
        if code is None or stopping:
            continue
        worker.poll_ready()  # it may have started and died since the first look
        if not worker.ready:
            log.error(
                "worker %s exited with code %s at start-up: stopping", worker.process.pid, code
            )
            stopping.append(signal.SIGTERM)
            return 1
        log.error("worker %s exited with code %s: restarting it", worker.process.pid, code)
        worker.ready = False
        worker.close()
        worker.restart_at = time.monotonic() + RESTART_DELAY_S
    return 0


def _stop_all(workers: list[Worker]) -> None:
    for worker in workers:  # uvicorn shuts down gracefully on SIGTERM
        if worker.process is not None and worker.process.poll() is None:
            worker.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 30
    for worker in workers:
        worker.close()
        if worker.process is None:
            continue
        try:
            worker.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait()


def serve_worker(channel_fd: int, ready_fd: int | None) -> int:
    """One worker: uvicorn with its defaults (uvloop, httptools) and no listening socket of
    its own; it serves the connections the supervisor passes on `channel_fd`."""
    import uvicorn

    channel = socket.socket(fileno=channel_fd)
    channel.setblocking(False)
    config = uvicorn.Config(APP, access_log=False)
    server = uvicorn.Server(config)
    adopting: set[asyncio.Task[Any]] = set()

    def protocol() -> asyncio.Protocol:
        # What uvicorn's own listener builds for each connection (Server.startup).
        return config.http_protocol_class(  # type: ignore[call-arg]
            config=config, server_state=server.server_state, app_state=server.lifespan.state
        )

    async def adopt(conn: socket.socket) -> None:
        try:
            await asyncio.get_running_loop().connect_accepted_socket(protocol, conn)
        except OSError:
            conn.close()

    def take_connections() -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                message, fds, _, _ = socket.recv_fds(channel, 1, 16)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                message, fds = b"", []
            if not message and not fds:  # the supervisor is gone: so are new connections
                loop.remove_reader(channel.fileno())
                server.should_exit = True
                return
            for fd in fds:
                task = loop.create_task(adopt(socket.socket(fileno=fd)))
                adopting.add(task)
                task.add_done_callback(adopting.discard)

    async def when_started() -> None:
        while not server.started:
            await asyncio.sleep(0.05)
        asyncio.get_running_loop().add_reader(channel.fileno(), take_connections)
        if ready_fd:
            os.write(ready_fd, b"1")
            os.close(ready_fd)

    async def serve() -> None:
        # A worker that never starts exits with the pipe unwritten: the supervisor reads
        # its end and knows.
        starter = asyncio.ensure_future(when_started())
        try:
            await server.serve(sockets=[])
        finally:
            starter.cancel()

    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        runner.run(serve())
    channel.close()
    return 0 if server.started else STARTUP_FAILURE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("HOST") or "127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8000))
    parser.add_argument(
        "--workers", type=int, default=int(os.environ.get("WORKERS") or os.cpu_count() or 1)
    )
    parser.add_argument("--channel-fd", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--ready-fd", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.channel_fd is not None:
        return serve_worker(args.channel_fd, args.ready_fd)
    from api.observability import configure_logging

    configure_logging()  # JSON lines, like the workers'
    if args.workers < 1:
        parser.error(f"--workers {args.workers}: at least 1")
    try:
        listener = listening_socket(args.host, args.port)
    except OSError as exc:
        log.error("cannot listen on %s:%s: %s", args.host, args.port, exc.strerror or exc)
        return 1
    log.info(
        "serving on http://%s:%s with %s workers (connections handed out in turn)",
        args.host,
        args.port,
        args.workers,
    )
    return supervise(listener, args.workers)


if __name__ == "__main__":
    sys.exit(main())
