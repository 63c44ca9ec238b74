"""The real server, started the `make run` way, answering over HTTP (with concurrent clients)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.test_isolation import distinct_case

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "PORT": str(port), "WORKERS": "2", "LOG_LEVEL": "WARNING"}
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        ["make", "-s", "run"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"server did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        log.close()


def test_check_over_http(server: str) -> None:
    case, expected, _ = distinct_case(7)
    r = httpx.post(f"{server}/v1/safety-checks", json=case, timeout=10)
    assert r.status_code == 200
    assert {a["code"] for a in r.json()["alerts"]} == expected


def test_invalid_input_over_http(server: str) -> None:
    case, _, _ = distinct_case(1)
    case["patient"]["weight_kg"] = -1
    r = httpx.post(f"{server}/v1/safety-checks", json=case, timeout=10)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "patient.weight_kg"


def test_concurrent_clients_over_http(server: str) -> None:
    errors: list[str] = []

    def client(t: int) -> None:
        with httpx.Client(base_url=server, timeout=10) as http:
            for k in range(25):
                case, expected, daily = distinct_case(t * 100 + k)
                body = http.post("/v1/safety-checks", json=case).json()
                got = {a["code"] for a in body["alerts"]}
                mine = [a for a in body["alerts"] if a["code"] == "DAILY_DOSE_ABOVE_MAXIMUM"]
                if got != expected or mine[0]["evidence"]["daily_mg"] != round(daily, 6):
                    errors.append(f"client {t} case {k}: {got} != {expected}")

    threads = [threading.Thread(target=client, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors[:5]


@pytest.mark.parametrize("path", ["/livez", "/readyz", "/healthz"])
def test_health_endpoints_answer_head_probes(server: str, path: str) -> None:
    """Load balancers that probe with HEAD got 405 from the real server: the same status as
    GET, and no body."""
    with httpx.Client() as client:
        head = client.head(f"{server}{path}")
        get = client.get(f"{server}{path}")
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
