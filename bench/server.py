"""Start the real server as `make run` does (gunicorn with api/gunicorn.conf.py, WORKERS uvicorn
workers) on 127.0.0.1 and a free port, and find its processes so that their memory can be
read. The gunicorn is the one of the running interpreter's environment (.venv under `make
test`; the throwaway one of `make lowest`)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
BIN = Path(sys.executable).parent  # this environment's console scripts
GUNICORN = [str(BIN / "gunicorn"), "-c", str(ROOT / "api" / "gunicorn.conf.py")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    pid: int  # the head of the process group: gunicorn's arbiter, or `make`
    log: Path
    scheme: str = "http"
    verify: Any = True  # for https: an ssl.SSLContext trusting the server's CA
    process: Any = field(default=None, compare=False)  # `make`'s Popen, when we started it

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def processes(self) -> list[int]:
        """Every process of the server (the gunicorn arbiter and its workers, under `make`
        when started through it)."""
        return descendants(self.pid)

    def arbiter(self) -> int:
        """gunicorn's master process: the topmost one running gunicorn."""
        workers = set(self.workers())
        return next(p for p in self.processes() if p not in workers and b"gunicorn" in _cmdline(p))

    def workers(self) -> list[int]:
        """The processes that serve requests: the leaves of the server's process tree."""
        procs = self.processes()
        parents = {_parent(p) for p in procs}
        return [p for p in procs if p not in parents and p != self.pid]

    def ready_workers(self) -> int:
        """Workers whose engine is built, as /metrics adds them up; -1 if it did not answer."""
        try:
            text = httpx.get(f"{self.url}/metrics", timeout=2, verify=self.verify).text
        except httpx.TransportError:
            return -1
        found = re.search(r"^baclofen_workers_ready (\S+)$", text, re.MULTILINE)
        return int(float(found.group(1))) if found else -1

    def connection_split(self) -> list[int]:
        """Established client connections each worker holds, most first. With keep-alive
        clients the worker holding more connections sets the latency percentiles under load
        (the workers share one listening socket: whichever accepts first takes a connection;
        deploy/'s least_conn proxy spreads requests instead)."""
        established = _established_inodes(self.port)
        counts = []
        for pid in self.workers():
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            held = 0
            for fd in fds:
                try:
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if target.startswith("socket:[") and target[8:-1] in established:
                    held += 1
            counts.append(held)
        return sorted(counts, reverse=True)


def _established_inodes(port: int) -> set[str]:
    """Inodes of the server side of established TCP connections on `port` (/proc/net/tcp:
    local address is field 1 as HEX_IP:HEX_PORT, state field 3 is 01 for ESTABLISHED, the
    inode is field 9)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if (
                len(fields) > 9
                and fields[3] == "01"
                and int(fields[1].rsplit(":", 1)[1], 16) == port
            ):
                inodes.add(fields[9])
    return inodes


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _parent(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return -1
    return int(stat.rsplit(")", 1)[1].split()[1])


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            children.setdefault(_parent(int(entry)), []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


@contextmanager
def running(
    workers: int,
    *,
    log_dir: Path,
    log_level: str = "INFO",
    extra_env: dict[str, str] | None = None,
    preexec_fn: Callable[[], None] | None = None,
    verify: Any = None,
) -> Iterator[Server]:
    """What `make run` runs (GUNICORN), with PORT, WORKERS and LOG_LEVEL (INFO, as `make
    run`: one JSON line per check goes to the log file), a store of its own in `log_dir`,
    and any other setting in `extra_env`; stopped (SIGTERM to the process group) on exit.
    `verify`: the SSL context to reach a TLS server with."""
    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PORT": str(port),
        "HOST": HOST,
        "WORKERS": str(workers),
        "LOG_LEVEL": log_level,
        # Its own store, beside its log, unless the caller shares one.
        "CDS_DATABASE_URL": f"sqlite:///{log_dir.resolve() / f'cds-{port}.sqlite3'}",
        **(extra_env or {}),
    }
    log_path = log_dir / f"server-{port}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            GUNICORN,
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=preexec_fn,
        )
        server = Server(
            HOST,
            port,
            proc.pid,
            log_path,
            "https" if verify else "http",
            verify if verify else True,
            proc,
        )
        try:
            wait_ready(server, workers, proc)
            yield server
        finally:
            stop(proc)


def stop(proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def wait_ready(
    server: Server, workers: int, proc: subprocess.Popen[bytes] | None = None, timeout: float = 120
) -> None:
    """Until every worker has built its engine (not only the first one to accept)."""
    deadline = time.monotonic() + timeout
    while server.ready_workers() != workers:
        if (proc is not None and proc.poll() is not None) or time.monotonic() > deadline:
            tail = server.log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"server did not start {workers} workers:\n{tail}")
        time.sleep(0.2)
