"""The serving stack as an operator meets it: gunicorn (api/gunicorn.conf.py) with uvicorn
workers, started as `make run` starts it on a free port, and hurt on purpose.

Workers killed (and a replacement killed while it starts), a frozen worker, oversized headers,
slow and idle clients, 2,000 idle connections under `ulimit -n 1024`, SIGTERM under load,
settings that must refuse to start. Timeouts are set short through the environment so that
each test takes seconds; deadlines are generous and polled, for a loaded 2-core machine.
"""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from bench.cases import distinct_case, problems
from bench.server import BIN, GUNICORN, ROOT, Server, free_port, running, stop, wait_ready

T = TypeVar("T")
WORKER_TIMEOUT = 6
REQUEST_TIMEOUT = 2
SHORT = {
    "WORKER_TIMEOUT": str(WORKER_TIMEOUT),
    "GRACEFUL_TIMEOUT": "10",
    "REQUEST_TIMEOUT": str(REQUEST_TIMEOUT),
    "KEEPALIVE": "2",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(
        2, log_dir=tmp_path_factory.mktemp("serving"), log_level="WARNING", extra_env=SHORT
    ) as srv:
        yield srv


def wait_for(probe: Callable[[], T], timeout: float = 60.0, every: float = 0.05) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout} s")
        time.sleep(every)


def fresh_get(server: Server, path: str = "/healthz", timeout: float = 5) -> httpx.Response:
    """One request on a new connection (httpx.get opens and closes its own)."""
    return httpx.get(server.url + path, timeout=timeout, verify=server.verify)


def all_answered(server: Server, count: int = 20) -> None:
    for _ in range(count):
        assert fresh_get(server).status_code == 200


def test_killed_worker_and_its_replacement_killed_while_starting(server: Server) -> None:
    """api/serve.py exited when a worker was killed during its own restart, and nothing
    restarted it. gunicorn's arbiter replaces both, and the other worker answers meanwhile."""
    arbiter = server.arbiter()
    before = set(server.workers())
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    newcomer = wait_for(lambda: next(iter(set(server.workers()) - before), None), every=0.01)
    starting = server.ready_workers() < 2
    os.kill(newcomer, signal.SIGKILL)  # while it builds its engine
    all_answered(server)
    wait_for(lambda: server.ready_workers() == 2 and not {victim, newcomer} & set(server.workers()))
    all_answered(server)
    assert server.arbiter() == arbiter
    assert starting, "the replacement was already serving when it was killed"


def test_each_worker_says_which_ruleset_it_serves(tmp_path: Path) -> None:
    """A replaced worker loads whatever ruleset is on disk (an editable install): each
    worker's start says which one and whether it is the release, a replacement whose ruleset
    is not the one the server started with warns, and /metrics counts the workers per
    ruleset. The first worker's is recorded in the server's metrics directory; here it is
    rewritten, as if the rules had changed on disk since."""
    from rules.release import RULESET_VERSION, fingerprint, released

    with running(1, log_dir=tmp_path, log_level="INFO") as srv:
        labels = {
            "version": RULESET_VERSION,
            "fingerprint": fingerprint(),
            "released": str(released()).lower(),
        }
        assert metric(fresh_get(srv, "/metrics").text, "baclofen_ruleset_info", **labels) == 1
        arbiter = srv.arbiter()
        (recorded,) = Path(tempfile.gettempdir()).glob(f"baclofen-cds-metrics-{arbiter}-*/ruleset")
        assert recorded.read_text() == RULESET_VERSION
        recorded.write_text("2.2.0+000000000000")
        (victim,) = srv.workers()
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: srv.workers() not in ([], [victim]) and srv.ready_workers() == 1)
        assert metric(fresh_get(srv, "/metrics").text, "baclofen_ruleset_info", **labels) == 1
        assert readyz_status(srv) == 200  # a development tree is still ready
        # A reload (HUP) is deliberate: its workers' ruleset is the server's from then on.
        (replacement,) = srv.workers()
        os.kill(arbiter, signal.SIGHUP)
        wait_for(lambda: srv.workers() not in ([], [replacement]) and srv.ready_workers() == 1)
        wait_for(lambda: recorded.exists())
        assert recorded.read_text() == RULESET_VERSION
    lines = [json.loads(line) for line in srv.log.read_text().splitlines()]
    starts = [line for line in lines if line.get("event") == "ruleset"]
    assert len(starts) == 3, starts
    assert "started_with" not in starts[2]
    for line in starts:
        assert line["ruleset_version"] == RULESET_VERSION
        assert line["fingerprint"] == fingerprint() and line["released"] is released()
    assert starts[0]["level"] == ("INFO" if released() else "WARNING")
    assert starts[1]["level"] == "WARNING"
    assert starts[1]["started_with"] == "2.2.0+000000000000"


def readyz_status(srv: Server) -> int:
    return fresh_get(srv, "/readyz").status_code


def test_a_frozen_worker_is_bypassed_then_replaced(server: Server) -> None:
    """SIGSTOP: the workers share one listening socket and a stopped worker accepts nothing,
    so fresh connections all go to the other; after WORKER_TIMEOUT the arbiter kills the
    frozen one (it stopped reporting) and starts another."""
    victim = min(server.workers())
    os.kill(victim, signal.SIGSTOP)
    try:
        started = time.monotonic()
        all_answered(server, 30)
        assert time.monotonic() - started < WORKER_TIMEOUT
        wait_for(lambda: victim not in server.workers(), timeout=WORKER_TIMEOUT + 60)
    finally:
        if Path(f"/proc/{victim}").exists():
            os.kill(victim, signal.SIGCONT)
    wait_for(lambda: server.ready_workers() == 2)
    all_answered(server)


def raw_exchange(server: Server, request: bytes, timeout: float = 10) -> bytes:
    """Send `request` (from a thread: the server may answer before it has all of it) and
    read until the server closes the connection."""
    with socket.create_connection((server.host, server.port), timeout=timeout) as conn:

        def send() -> None:
            try:
                conn.sendall(request)
            except OSError:
                pass

        sender = threading.Thread(target=send)
        sender.start()
        received = b""
        try:
            while chunk := conn.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
        sender.join()
        return received


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1024 * 1024) + b"\r\n\r\n", 431),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", 431),
        (
            b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
            + b"".join(b"X-%d: 1\r\n" % i for i in range(101))
            + b"\r\n",
            431,
        ),
        (b"GET /healthz?" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    ],
    ids=["1-MiB-header", "header-over-field-size", "101-fields", "long-request-line"],
)
def test_oversized_heads_get_4xx(server: Server, request_bytes: bytes, status: int) -> None:
    """An 8 MB header got a 200 before; gunicorn's limit_request_* now hold."""
    answer = raw_exchange(server, request_bytes)
    assert answer.startswith(b"HTTP/1.1 %d " % status), answer[:200]
    assert fresh_get(server).status_code == 200


def test_slowloris_and_idle_clients_are_cut_off(server: Server) -> None:
    """A byte every 0.3 s keeps resetting uvicorn's keep-alive timer; the request deadline
    (REQUEST_TIMEOUT) ends it with 408. A connection that sends nothing and a body that stops
    halfway are closed too."""
    addr = (server.host, server.port)
    slow = socket.create_connection(addr, timeout=30)
    silent = socket.create_connection(addr, timeout=30)
    stalled = socket.create_connection(addr, timeout=30)
    started = time.monotonic()
    try:
        stalled.sendall(
            b"POST /v1/safety-checks HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
            b'{"patient": '
        )
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        answer = b""
        slow.settimeout(0.3)
        for byte in b"X-Slow: " + b"a" * 100:
            try:
                slow.send(bytes([byte]))
                if chunk := slow.recv(4096):
                    answer += chunk
                    break
            except TimeoutError:
                continue
            except OSError:
                break
        assert answer.startswith(b"HTTP/1.1 408 "), answer
        for conn, expected in ((silent, b"HTTP/1.1 408 "), (stalled, b"")):
            conn.settimeout(REQUEST_TIMEOUT + 10)
            assert until_closed(conn).startswith(expected)
        assert time.monotonic() - started < REQUEST_TIMEOUT + 10
    finally:
        for conn in (slow, silent, stalled):
            conn.close()
    assert fresh_get(server).status_code == 200


def until_closed(conn: socket.socket) -> bytes:
    received = b""
    while chunk := conn.recv(4096):
        received += chunk
    return received


def metric(text: str, name: str, **labels: str) -> float:
    """The sample `name` whose labels are exactly `labels` (in any order), 0 if absent."""
    for line in text.splitlines():
        head, _, value = line.rpartition(" ")
        sample, _, rest = head.partition("{")
        found = dict(re.findall(r'(\w+)="([^"]*)"', rest))
        if sample == name and found == labels:
            return float(value)
    return 0.0


def test_metrics_add_up_every_worker(server: Server) -> None:
    """Multiprocess mode: whichever worker is scraped, the counters are the sums over all of
    them. Checks by API and outcome, alerts by code, latency, feedback by outcome and code."""
    from tests.cds_hooks.fhir import (
        TABLET_10,
        condition,
        full_prefetch,
        hook_request,
        med_request,
        patient,
        quantity,
    )

    before = fresh_get(server, "/metrics").text
    for n in range(20):  # new connections: both workers take some
        body, expected, daily = distinct_case(n)
        r = httpx.post(server.url + "/v1/safety-checks", json=body, timeout=10)
        assert problems(r.json(), expected, daily) == ""
    bad = httpx.post(server.url + "/v1/safety-checks", json={"patient": {}}, timeout=10)
    assert bad.status_code == 422
    hook = hook_request(
        "order-sign",
        [med_request("rx-1", TABLET_10, quantity(5, "mg"), 3)],
        full_prefetch(patient(), [condition("G40.909", "Epilepsy")]),
    )
    with httpx.Client(base_url=server.url, timeout=10) as ehr:  # one connection, one worker
        cards = ehr.post("/cds-services/baclofen-order-sign", json=hook).json()["cards"]
        seizure = next(
            c for c in cards if c["source"]["topic"]["code"] == "SEIZURE_DISORDER_CONTRAINDICATION"
        )
        stored = ehr.post(
            "/cds-services/baclofen-order-sign/feedback",
            json={
                "feedback": [
                    {
                        "card": seizure["uuid"],
                        "outcome": "accepted",
                        "acceptedSuggestions": [
                            {"id": s["uuid"]} for s in seizure.get("suggestions", [])
                        ],
                        "outcomeTimestamp": "2026-11-22T10:00:00Z",
                    }
                ]
            },
        )
        assert stored.status_code == 200, stored.text
    scrapes = [fresh_get(server, "/metrics").text for _ in range(4)]
    for after in scrapes:

        def delta(name: str, **labels: str) -> float:
            return metric(after, name, **labels) - metric(before, name, **labels)  # noqa: B023

        codes = sum(
            delta("baclofen_checks_total", api="native", outcome=o)
            for o in ("critical", "warning", "info", "no_alerts")
        )
        assert codes == 20
        assert delta("baclofen_checks_total", api="native", outcome="invalid_request") == 1
        assert (
            delta("baclofen_check_alerts_total", api="native", code="DAILY_DOSE_ABOVE_MAXIMUM")
            == 20
        )
        assert delta("baclofen_check_duration_seconds_count", api="native") == 21
        assert delta("baclofen_checks_total", api="cds-hooks", outcome="critical") == 1
        assert (
            delta(
                "baclofen_check_alerts_total",
                api="cds-hooks",
                code="SEIZURE_DISORDER_CONTRAINDICATION",
            )
            == 1
        )
        assert (
            delta(
                "baclofen_feedback_total",
                outcome="accepted",
                code="SEIZURE_DISORDER_CONTRAINDICATION",
            )
            == 1
        )
        assert delta("baclofen_engine_failures_total", api="native") == 0
        assert metric(after, "baclofen_workers_ready") == 2


def test_documented_counters_are_scraped_at_zero_before_any_event(server: Server) -> None:
    """A dashboard or an absent() alert cannot tell "none yet" from "not scraped": the label
    sets known in advance are there, at 0, with no engine failure, feedback on an unknown
    card or dropped check-log entry ever having happened."""
    text = fresh_get(server, "/metrics").text
    expected = [
        ("baclofen_engine_failures_total", {"api": "native"}),
        ("baclofen_engine_failures_total", {"api": "cds-hooks"}),
        ("baclofen_feedback_total", {"outcome": "accepted", "code": "unknown"}),
        ("baclofen_feedback_total", {"outcome": "overridden", "code": "unknown"}),
        ("baclofen_check_log_dropped_total", {"reason": "queue_full"}),
        ("baclofen_check_log_dropped_total", {"reason": "store_error"}),
    ]
    for name, labels in expected:
        pattern = re.escape(name) + r"\{([^}]*)\} 0\.0$"
        found = [dict(re.findall(r'(\w+)="([^"]*)"', m)) for m in re.findall(pattern, text, re.M)]
        assert labels in found, (name, labels, found)


def test_health_endpoints_over_http(server: Server) -> None:
    assert fresh_get(server, "/livez").json() == {"status": "ok"}
    ready = fresh_get(server, "/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"engine": "ok", "configuration": "ok", "store": "ok"}
    assert fresh_get(server, "/healthz").json()["status"] == "ok"


def test_every_line_is_json_at_the_level_set(server: Server) -> None:
    """LOG_LEVEL=WARNING reaches gunicorn's, uvicorn's and our loggers: no INFO line, and
    the lines that are there (the refusals above, the frozen worker's) are JSON."""
    lines = server.log.read_text().splitlines()
    assert lines
    records = [json.loads(line) for line in lines]
    assert {r["level"] for r in records} <= {"WARNING", "ERROR", "CRITICAL"}, records[:5]


# A server of its own for each of the following.


def test_2000_idle_connections_under_ulimit_1024(tmp_path: Path) -> None:
    """With 1,024 descriptors a worker accepted idle sockets until EMFILE, and then libuv
    drops every queued connection: every healthy request failed. Now a worker keeps at most
    LIMIT_CONCURRENCY (1,024 - 64) connections and closes the idle ones longest quiet; the
    healthy clients are served at once, well before the idle ones' REQUEST_TIMEOUT."""

    def limit_files() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2300:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    with running(
        1,
        log_dir=tmp_path,
        log_level="WARNING",
        preexec_fn=limit_files,
        extra_env={"REQUEST_TIMEOUT": "60"},
    ) as srv:
        idle: list[socket.socket] = []
        try:
            for _ in range(2000):
                conn = socket.socket()
                conn.setblocking(False)
                conn.connect_ex((srv.host, srv.port))
                idle.append(conn)
            time.sleep(0.5)  # let the worker accept what it can
            started = time.monotonic()
            for n in range(20):
                body, expected, daily = distinct_case(n)
                r = httpx.post(srv.url + "/v1/safety-checks", json=body, timeout=20)
                assert r.status_code == 200 and problems(r.json(), expected, daily) == ""
            assert time.monotonic() - started < 30
            assert srv.ready_workers() == 1
        finally:
            for conn in idle:
                conn.close()
        assert "idle longest" in srv.log.read_text()


def test_sigterm_under_load_resets_nothing(tmp_path: Path) -> None:
    """16 keep-alive clients sending checks back to back; SIGTERM to the arbiter. Every
    request sent is answered whole, the last answer on each connection says `Connection:
    close`, nobody is reset, and the server exits 0 within GRACEFUL_TIMEOUT, removing its
    metrics directory."""
    with running(2, log_dir=tmp_path, log_level="WARNING", extra_env=SHORT) as srv:
        arbiter = srv.arbiter()
        (metrics_dir,) = Path(tempfile.gettempdir()).glob(f"baclofen-cds-metrics-{arbiter}-*")
        assert list(metrics_dir.glob("*.db"))  # the workers' samples
        clients = [KeepAliveClient(srv, k) for k in range(16)]
        for client in clients:
            client.start()
        wait_for(lambda: all(c.answered >= 5 for c in clients), timeout=60)
        os.kill(arbiter, signal.SIGTERM)
        stopped = time.monotonic()
        for client in clients:
            client.join(timeout=30)
        problems_seen = [p for c in clients for p in c.problems]
        assert not problems_seen, problems_seen[:5]
        assert all(c.closed_cleanly for c in clients), [c.history[-3:] for c in clients]
        assert srv.process is not None
        assert srv.process.wait(timeout=30) == 0
        assert time.monotonic() - stopped < 10 + 5  # GRACEFUL_TIMEOUT, and some slack
        assert not metrics_dir.exists()


class KeepAliveClient(threading.Thread):
    """Checks back to back on one keep-alive connection until the server says close."""

    def __init__(self, server: Server, k: int) -> None:
        super().__init__(daemon=True)
        self.server, self.k = server, k
        self.answered = 0
        self.problems: list[str] = []
        self.history: list[str] = []
        self.closed_cleanly = False

    def run(self) -> None:
        conn = socket.create_connection((self.server.host, self.server.port), timeout=20)
        reader = conn.makefile("rb")
        try:
            for n in range(100_000):
                body, expected, daily = distinct_case(self.k + 16 * n)
                data = json.dumps(body).encode()
                conn.sendall(
                    b"POST /v1/safety-checks HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                    % (len(data), data)
                )
                status_line = reader.readline()
                if not status_line:
                    self.problems.append(
                        f"client {self.k}: request {n} sent, connection closed without an answer"
                    )
                    return
                headers = {}
                while (line := reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode().partition(":")
                    headers[name.strip().lower()] = value.strip()
                answer = reader.read(int(headers["content-length"]))
                problem = problems(json.loads(answer), expected, daily)
                if not status_line.startswith(b"HTTP/1.1 200") or problem:
                    self.problems.append(f"client {self.k}: {status_line!r} {problem}")
                self.answered += 1
                self.history.append(headers.get("connection", "keep-alive"))
                if headers.get("connection") == "close":
                    self.closed_cleanly = reader.read(1) == b""
                    return
        except OSError as exc:
            self.problems.append(f"client {self.k}: {type(exc).__name__}: {exc}")
        finally:
            conn.close()


def test_tls_from_the_environment(tmp_path: Path) -> None:
    """TLS_CERT_FILE and TLS_KEY_FILE: served over HTTPS with a certificate from a throwaway
    CA; plain HTTP on that port gets nothing."""
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.private_key_pem.write_to_path(str(key_file))
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    for blob in cert.cert_chain_pems[1:]:
        blob.write_to_path(str(cert_file), append=True)
    context = ssl.create_default_context()
    ca.configure_trust(context)
    with running(
        1,
        log_dir=tmp_path,
        log_level="WARNING",
        verify=context,
        extra_env={"TLS_CERT_FILE": str(cert_file), "TLS_KEY_FILE": str(key_file)},
    ) as srv:
        assert srv.url.startswith("https://")
        body, expected, daily = distinct_case(3)
        with httpx.Client(base_url=srv.url, verify=context, timeout=10) as client:
            assert client.get("/livez").status_code == 200
            assert (
                problems(client.post("/v1/safety-checks", json=body).json(), expected, daily) == ""
            )
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://{srv.host}:{srv.port}/livez", timeout=5)
        with pytest.raises(httpx.ConnectError):  # nor a certificate nobody vouched for
            httpx.get(srv.url + "/livez", timeout=5)


def gunicorn(env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        GUNICORN,
        cwd=ROOT,
        env={**os.environ, "PORT": str(free_port()), **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"LOG_LEVEL": "verbose"}, "LOG_LEVEL"),
        ({"WORKERS": "many"}, "WORKERS"),
        ({"THREADS": "0"}, "THREADS"),
        ({"PORT": "http"}, "PORT"),
        ({"ACCESS_LOG": "maybe"}, "ACCESS_LOG"),
        (
            {"TLS_CERT_FILE": "/nonexistent/cert.pem", "TLS_KEY_FILE": "/nonexistent/key.pem"},
            "TLS_CERT_FILE",
        ),
        ({"TLS_CERT_FILE": __file__}, "TLS_KEY_FILE"),
        ({"LIMIT_CONCURRENCY": "100000000"}, "LIMIT_CONCURRENCY"),
        ({"REQUEST_TIMEOUT": "soon"}, "REQUEST_TIMEOUT"),
    ],
    ids=lambda v: next(iter(v)) if isinstance(v, dict) else None,
)
def test_a_setting_with_an_unknown_value_refuses_to_start(env: dict[str, str], named: str) -> None:
    done = gunicorn(env)
    assert done.returncode != 0
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    assert any(named in line["message"] and line["level"] == "CRITICAL" for line in lines), (
        done.stderr
    )
    # shaped as every log line, with its time
    assert all(datetime.fromisoformat(line["ts"]).tzinfo is not None for line in lines)
    assert "Traceback" not in done.stderr and not done.stdout


@pytest.mark.parametrize("case", ["key-of-another-certificate", "garbage-cert", "garbage-key"])
def test_a_certificate_or_key_that_cannot_serve_refuses_to_start(tmp_path: Path, case: str) -> None:
    """Loaded once before anything listens: otherwise every worker dies on it and is
    replaced for ever while the arbiter keeps the port open, and nothing sees a failed
    start. One JSON line names the variable at fault; exit status 2."""
    import trustme

    ca = trustme.CA()
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    ca.issue_cert("127.0.0.1").cert_chain_pems[0].write_to_path(str(cert_file))
    ca.issue_cert("127.0.0.1").private_key_pem.write_to_path(str(key_file))  # another's key
    named = "TLS_KEY_FILE"
    if case == "garbage-cert":
        cert_file.write_text("garbage\n")
        named = "TLS_CERT_FILE"
    elif case == "garbage-key":
        key_file.write_text("garbage\n")
    done = gunicorn(
        {"TLS_CERT_FILE": str(cert_file), "TLS_KEY_FILE": str(key_file), "WORKERS": "1"}
    )
    assert done.returncode == 2, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    assert [line["level"] for line in lines] == ["CRITICAL"], done.stderr
    assert lines[0]["message"].startswith(f"invalid setting: {named}="), lines
    assert "Listening" not in done.stderr and "Traceback" not in done.stderr


def listening_addresses(port: int) -> set[str]:
    """The local addresses of the TCP sockets listening on `port` (/proc/net/tcp{,6}: state
    0A is LISTEN), as the kernel's hex: 0100007F is 127.0.0.1, 00000000 every interface."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].rsplit(":", 1)
            if fields[3] == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


def test_an_empty_host_listens_on_loopback_only(tmp_path: Path) -> None:
    """`HOST=` (an empty line in an EnvironmentFile) counts as unset, as documented: gunicorn
    took it for every interface, where open mode would then serve the network."""
    with running(1, log_dir=tmp_path, log_level="INFO", extra_env={"HOST": ""}) as srv:
        assert listening_addresses(srv.port) == {"0100007F"}
        assert fresh_get(srv, "/livez").status_code == 200
    assert f"Listening at: http://127.0.0.1:{srv.port}" in srv.log.read_text()


def test_no_control_socket(tmp_path: Path) -> None:
    """gunicorn's control socket (a channel that adds and kills workers) is off: none is
    created where gunicorn would put it, and no line says it failed to be."""
    home, runtime = tmp_path / "home", tmp_path / "run"
    home.mkdir()
    runtime.mkdir()
    env = {"HOME": str(home), "XDG_RUNTIME_DIR": str(runtime)}
    with running(1, log_dir=tmp_path / "log", log_level="DEBUG", extra_env=env) as srv:
        assert fresh_get(srv, "/livez").status_code == 200
        assert sorted(p.name for p in [*home.rglob("*"), *runtime.rglob("*")]) == []
    log = srv.log.read_text()
    assert "Control socket disabled" in log  # gunicorn's own word, at DEBUG
    assert "Control socket listening" not in log and "Control server error" not in log


def test_a_port_in_use_is_refused_not_shared() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        done = gunicorn(
            {"HOST": "127.0.0.1", "PORT": str(taken.getsockname()[1]), "WORKERS": "1"}, timeout=120
        )
    assert done.returncode != 0
    assert "Address already in use" in done.stderr or "in use" in done.stderr


def test_serve_command_runs_gunicorn(tmp_path: Path) -> None:
    """`baclofen-cds serve --port N` is the same server (gunicorn replaces the CLI process)."""
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [str(BIN / "baclofen-cds"), "serve", "--port", str(port), "--workers", "1"],
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "LOG_LEVEL": "WARNING"},
    )
    try:
        srv = Server("127.0.0.1", port, proc.pid, tmp_path / "serve.log")
        wait_ready(srv, 1, proc)  # type: ignore[arg-type]
        assert "gunicorn" in Path(f"/proc/{proc.pid}/cmdline").read_text()
        assert fresh_get(srv, "/livez").status_code == 200
    finally:
        stop(proc)  # type: ignore[arg-type]
        log.close()
    assert proc.returncode == 0
