"""`make run`: WORKERS uvicorn processes, each accepting on its own socket bound to the same
port (SO_REUSEPORT), under a small supervisor that restarts a worker that dies.

Why not `uvicorn --workers N`: its workers share one listening socket and whichever polls first
accepts every connection waiting. An EHR keeps a few keep-alive connections open; measured
here, 8 connections opened together all landed on one worker (the other core idled) and 64
split 44/20, and the workers holding more connections set the latency percentiles
(bench/README.md). With a socket per worker the kernel spreads connections by a hash of their
addresses: no burst lands on one worker. A worker that dies (the C engine can take its process
down) is restarted on the same socket, which the supervisor keeps open: connections that
arrive meanwhile wait in its queue instead of being refused.

    python -m api.serve [--host 127.0.0.1] [--port 8000] [--workers N]   (HOST, PORT, WORKERS)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

APP = "api.main:app"
BACKLOG = 2048
STARTUP_FAILURE = 3  # a worker's exit code when its app did not start (as uvicorn's)
RESTART_DELAY_S = 1.0

log = logging.getLogger("baclofen.serve")


def listening_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """`count` sockets listening on host:port with SO_REUSEPORT. A port another program
    already holds is refused here, as uvicorn would: with SO_REUSEPORT alone, a second
    server of the same user could silently share it."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(address)  # OSError "Address already in use" when taken
    sockets = []
    for _ in range(count):
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
        sock.set_inheritable(True)
        sockets.append(sock)
    return sockets


@dataclass
class Worker:
    sock: socket.socket
    process: subprocess.Popen[bytes] | None = None
    ready: bool = False
    _ready_pipe: int = -1

    def start(self) -> None:
        """Spawn the worker; it writes one byte to a pipe once its app has started."""
        fd = self.sock.fileno()
        self.ready = False
        read_end, write_end = os.pipe()
        os.set_blocking(read_end, False)
        self._ready_pipe = read_end
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "api.serve", "--worker-fd", str(fd),
                 "--ready-fd", str(write_end)], pass_fds=(fd, write_end))
        finally:
            os.close(write_end)

    def poll_ready(self) -> None:
        if self.ready or self._ready_pipe < 0:
            return
        try:
            self.ready = os.read(self._ready_pipe, 1) == b"1"
        except BlockingIOError:
            return
        os.close(self._ready_pipe)  # a byte, or the end of the pipe: either way, done
        self._ready_pipe = -1


def supervise(sockets: list[socket.socket]) -> int:
    """Run one worker per socket until SIGTERM or SIGINT; restart a worker that exits on its
    own once it has served. A worker that exits before its app started (a ruleset that fails
    its lint, an import error) stops everything with status 1: restarting it would only fail
    again, and `make run` must say so."""
    stopping: list[int] = []

    def stop(signum: int, _: object) -> None:
        stopping.append(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    workers = [Worker(sock) for sock in sockets]
    for worker in workers:
        worker.start()
    status = 0
    while not stopping:
        time.sleep(0.2)
        for worker in workers:
            assert worker.process is not None
            worker.poll_ready()
            code = worker.process.poll()
            if code is None or stopping:
                continue
            worker.poll_ready()  # it may have started and died since the first look
            if not worker.ready:
                log.error("worker %s exited with code %s at start-up: stopping",
                          worker.process.pid, code)
                stopping.append(signal.SIGTERM)
                status = 1
                break
            log.error("worker %s exited with code %s: restarting it", worker.process.pid, code)
            time.sleep(RESTART_DELAY_S)
            worker.start()
    for worker in workers:  # uvicorn shuts down gracefully on SIGTERM
        if worker.process is not None and worker.process.poll() is None:
            worker.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 30
    for worker in workers:
        if worker.process is None:
            continue
        try:
            worker.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait()
    return status


def serve_worker(fd: int, ready_fd: int | None) -> int:
    """One worker: uvicorn with its defaults (uvloop, httptools) on the inherited socket."""
    import uvicorn

    sock = socket.socket(fileno=fd)
    config = uvicorn.Config(APP, access_log=False)
    server = uvicorn.Server(config)

    async def announce_ready(fd: int) -> None:
        while not server.started:
            await asyncio.sleep(0.05)
        os.write(fd, b"1")
        os.close(fd)

    async def serve() -> None:
        # A worker that never starts exits with the pipe unwritten: the supervisor reads
        # its end and knows.
        announcer = asyncio.ensure_future(announce_ready(ready_fd)) if ready_fd else None
        try:
            await server.serve(sockets=[sock])
        finally:
            if announcer is not None:
                announcer.cancel()

    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        runner.run(serve())
    return 0 if server.started else STARTUP_FAILURE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("HOST") or "127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8000))
    parser.add_argument("--workers", type=int,
                        default=int(os.environ.get("WORKERS") or os.cpu_count() or 1))
    parser.add_argument("--worker-fd", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--ready-fd", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker_fd is not None:
        return serve_worker(args.worker_fd, args.ready_fd)
    from api.observability import configure_logging

    configure_logging()  # JSON lines, like the workers'
    if args.workers < 1:
        parser.error(f"--workers {args.workers}: at least 1")
    try:
        sockets = listening_sockets(args.host, args.port, args.workers)
    except OSError as exc:
        log.error("cannot listen on %s:%s: %s", args.host, args.port, exc.strerror or exc)
        return 1
    log.info("serving on http://%s:%s with %s workers (one socket each)", args.host,
             args.port, args.workers)
    return supervise(sockets)


if __name__ == "__main__":
    sys.exit(main())
