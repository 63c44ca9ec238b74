"""nginx (from Debian) with deploy/nginx.conf in front of running instances, on 127.0.0.1 and a
free port, in a temporary prefix: what tests/test_deploy.py tests and `make bench` measures.

deploy/nginx.conf is used as written; only its machine-specific lines change: the upstream
`server` lines (the instances started here), the `listen` line, the certificate paths (a
throwaway CA's, or no TLS for the benchmark) and the access log path.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.server import HOST, ROOT, free_port

SITE = ROOT / "deploy" / "nginx.conf"


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if not found:
        raise RuntimeError("nginx is not installed: `apt-get install nginx` (.ci/run does)")
    return found


@dataclass(frozen=True)
class Proxy:
    host: str
    port: int
    scheme: str
    pid: int
    access_log: Path
    error_log: Path

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


def render(upstreams: list[str], listen: str, prefix: Path, tls: tuple[Path, Path] | None) -> str:
    site = SITE.read_text()
    servers = "".join(f"    server {u} max_fails=2 fail_timeout=10s;\n" for u in upstreams)
    site, count = re.subn(
        r"(?m)^    server \S+:\d+ [^\n]*\n(?:    server [^\n]*\n)*", servers, site, count=1
    )
    assert count == 1, "no upstream server lines in deploy/nginx.conf"
    listen_line = f"listen {listen} ssl;" if tls else f"listen {listen};"
    site = re.sub(r"listen 443 ssl;", listen_line, site, count=1)
    if tls:
        site = re.sub(r"ssl_certificate \S+;", f"ssl_certificate {tls[0]};", site)
        site = re.sub(r"ssl_certificate_key \S+;", f"ssl_certificate_key {tls[1]};", site)
    else:
        site = re.sub(r"(?m)^    ssl_[^\n]*\n", "", site)
    site = re.sub(r"access_log \S+ ", f"access_log {prefix / 'access.log'} ", site)
    temp = "\n".join(
        f"    {kind}_temp_path {prefix / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"worker_processes 1;\nuser root;\npid {prefix / 'nginx.pid'};\n"
        f"error_log {prefix / 'error.log'} warn;\n"
        "events { worker_connections 4096; }\n"
        f"http {{\n{temp}\n{site}\n}}\n"
    )


@contextmanager
def nginx(
    upstreams: list[str],
    *,
    prefix: Path,
    tls: tuple[Path, Path] | None = None,
    verify: object = True,
) -> Iterator[Proxy]:
    """nginx in the foreground (its own process group), stopped with SIGQUIT (graceful)."""
    prefix.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(render(upstreams, f"{HOST}:{port}", prefix, tls))
    binary = nginx_binary()
    base = [binary, "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(conf)]
    check = subprocess.run([*base, "-t", "-q"], capture_output=True, text=True, check=False)
    if check.returncode != 0:
        raise RuntimeError(f"nginx refused deploy/nginx.conf:\n{check.stderr}")
    proc = subprocess.Popen(
        [*base, "-g", "daemon off;"],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    proxy = Proxy(
        HOST,
        port,
        "https" if tls else "http",
        proc.pid,
        prefix / "access.log",
        prefix / "error.log",
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{proxy.url}/livez", timeout=2, verify=verify).status_code == 200:  # type: ignore[arg-type]
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "nginx did not start:\n" + proxy.error_log.read_text(errors="replace")[-2000:]
                )
            time.sleep(0.1)
        yield proxy
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGQUIT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
