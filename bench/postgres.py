"""A throwaway PostgreSQL server for the tests and `make bench`: Debian's postgresql (which
.ci/run installs), initdb into a temporary directory and started on 127.0.0.1 and a free
port, stopped and removed at the end. initdb and postgres refuse to run as root: as root the
server runs as the `postgres` system user that Debian's package creates.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "baclofen"


class Unavailable(RuntimeError):
    """No PostgreSQL server can be started here (not installed, no user to run it as)."""


def unavailable(reason: str) -> None:
    raise Unavailable(reason)


def binaries() -> Path | None:
    """The newest installed server's bin directory (Debian: /usr/lib/postgresql/N/bin)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class PostgresServer:
    port: int
    directory: Path
    process: subprocess.Popen[bytes]

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def cpu_seconds(self) -> float:
        """User and system CPU time of the server: the postmaster, its live children
        (backends and helpers, each in a session of its own) and those that have exited
        (autovacuum workers, closed connections), which the postmaster has reaped."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # gone meanwhile
            if int(stat.parent.name) == self.process.pid:  # utime, stime, cutime, cstime
                total += sum(int(f) for f in fields[11:15])
            elif int(fields[1]) == self.process.pid:  # a child: utime, stime
                total += int(fields[11]) + int(fields[12])
        return total / tick

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextmanager
def optional_server() -> Iterator[PostgresServer | None]:
    """For the benchmarks: a throwaway server, or None, with the reason printed, where none
    can be started here (the figures for SQLite still come)."""
    try:
        with postgres_server() as server:
            yield server
            return
    except Unavailable as exc:
        print(f"(PostgreSQL not measured: {exc})\n")
    yield None


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    bindir = binaries()
    if bindir is None:
        unavailable("no PostgreSQL server installed (apt-get install postgresql)")
    assert bindir is not None
    user: pwd.struct_passwd | None = None
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            unavailable("running as root, and there is no `postgres` user to run the server as")
    directory = Path(tempfile.mkdtemp(prefix="baclofen-pg-"))
    if user is not None:
        os.chown(directory, user.pw_uid, user.pw_gid)
    # As root, the server runs as `postgres` (it refuses to run as root); otherwise as we are.
    uid, gid = (user.pw_uid, user.pw_gid) if user else (None, None)
    groups: list[int] | None = [] if user else None
    data, log = directory / "data", directory / "server.log"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"}
    initdb = subprocess.run(
        [
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=directory,
        check=False,
        user=uid,
        group=gid,
        extra_groups=groups,
    )
    if initdb.returncode != 0:
        shutil.rmtree(directory, ignore_errors=True)
        unavailable(f"initdb failed: {initdb.stderr.strip()[-500:]}")
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(bindir / "postgres"),
                "-D",
                str(data),
                "-p",
                str(port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"unix_socket_directories={directory}",
                "-c",
                "max_connections=200",
                "-c",
                "fsync=on",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=directory,
            start_new_session=True,
            user=uid,
            group=gid,
            extra_groups=groups,
        )
    server = PostgresServer(port, directory, process)
    try:
        _wait(server, log)
        yield server
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)  # fast shutdown
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


def _wait(server: PostgresServer, log: Path, timeout: float = 60) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg.connect(server.url(), connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if server.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "PostgreSQL did not start:\n" + log.read_text(errors="replace")[-2000:]
                ) from None
            time.sleep(0.1)
