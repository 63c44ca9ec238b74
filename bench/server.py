"""Start the real server the `make run` way (uvicorn, WORKERS processes) on 127.0.0.1 and a
free port, and find its processes so that their memory can be read."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    pid: int  # `make`, the head of the process group
    log: Path

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def processes(self) -> list[int]:
        """Every process of the server (make, uvicorn and its worker processes)."""
        return descendants(self.pid)

    def workers(self) -> list[int]:
        """The processes that serve requests: the leaves of the server's process tree (uvicorn
        itself with one worker, its spawned children with more), less multiprocessing's
        resource tracker."""
        procs = self.processes()
        parents = {_parent(p) for p in procs}
        return [
            p
            for p in procs
            if p not in parents and p != self.pid and "resource_tracker" not in _cmdline(p)
        ]

    def connection_split(self) -> list[int]:
        """Established client connections each worker holds, most first. With keep-alive
        clients the worker holding more connections sets the latency percentiles under load
        (api/serve.py hands them out in turn; uvicorn's shared socket and a socket per worker
        did not split them evenly)."""
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


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


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
    workers: int, *, log_dir: Path, log_level: str = "INFO", extra_env: dict[str, str] | None = None
) -> Iterator[Server]:
    """`make -s run` with PORT, WORKERS and LOG_LEVEL (INFO, as `make run`: one JSON line
    per check goes to the log file); stopped (process group) on exit."""
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "HOST": HOST,
        "WORKERS": str(workers),
        "LOG_LEVEL": log_level,
        **(extra_env or {}),
    }
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"server-{port}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            ["make", "-s", "run"],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        server = Server(HOST, port, proc.pid, log_path)
        try:
            _wait_ready(server, proc, workers)
            yield server
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


def _wait_ready(server: Server, proc: subprocess.Popen[bytes], workers: int) -> None:
    deadline = time.monotonic() + 90
    while True:
        try:
            # Every worker must be up (its engine built), not only the first one to accept.
            started = server.log.read_text(errors="replace").count("Application startup complete")
            if (
                httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200
                and started >= workers
            ):
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = server.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"server did not start:\n{tail}")
        time.sleep(0.2)
