"""deploy/nginx.conf, as written, with nginx from Debian in front of two instances (one
worker each, as one instance per core on a machine): TLS at the proxy, requests spread by
least_conn, an instance that goes away skipped without losing a request, and the proxy's own
limits."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from bench.cases import distinct_case, problems
from bench.proxy import Proxy, nginx
from bench.server import Server, running, stop
from tests.test_serving import metric


@pytest.fixture(scope="module")
def ca() -> object:
    import trustme

    return trustme.CA()


@pytest.fixture(scope="module")
def deployment(
    tmp_path_factory: pytest.TempPathFactory, ca: object
) -> Iterator[tuple[Proxy, list[Server], ssl.SSLContext]]:
    tmp = tmp_path_factory.mktemp("deploy")
    cert = ca.issue_cert("127.0.0.1")  # type: ignore[attr-defined]
    chain, key = tmp / "chain.pem", tmp / "key.pem"
    chain.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    key.write_bytes(cert.private_key_pem.bytes())
    context = ssl.create_default_context()
    ca.configure_trust(context)  # type: ignore[attr-defined]
    with ExitStack() as stack:
        instances = [
            stack.enter_context(running(1, log_dir=tmp / f"instance-{n}", log_level="WARNING"))
            for n in range(2)
        ]
        proxy = stack.enter_context(
            nginx(
                [f"{s.host}:{s.port}" for s in instances],
                prefix=tmp / "nginx",
                tls=(chain, key),
                verify=context,
            )
        )
        yield proxy, instances, context


def _checks(server: Server) -> float:
    text = httpx.get(server.url + "/metrics", timeout=5).text
    return sum(
        metric(text, "baclofen_checks_total", api="native", outcome=o)
        for o in ("critical", "warning", "info", "no_alerts")
    )


def test_checks_through_the_proxy_are_spread_over_the_instances(
    deployment: tuple[Proxy, list[Server], ssl.SSLContext],
) -> None:
    proxy, instances, context = deployment
    before = [_checks(s) for s in instances]
    errors: list[str] = []

    def client(k: int) -> None:
        with httpx.Client(base_url=proxy.url, verify=context, timeout=20) as http:
            for n in range(40):
                body, expected, daily = distinct_case(k + 8 * n)
                answer = http.post("/v1/safety-checks", json=body)
                problem = problems(answer.json(), expected, daily)
                if answer.status_code != 200 or problem:
                    errors.append(f"{answer.status_code} {problem}")

    threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[:5]
    served = [_checks(s) - b for s, b in zip(instances, before, strict=True)]
    assert sum(served) == 320
    assert min(served) >= 320 * 0.25, served  # both instances took a real share
    lines = proxy.access_log.read_text().splitlines()
    assert lines and all(line.startswith("{") for line in lines)  # JSON access log


def test_the_proxy_refuses_what_the_instances_would(
    deployment: tuple[Proxy, list[Server], ssl.SSLContext],
) -> None:
    proxy, _, context = deployment
    with httpx.Client(base_url=proxy.url, verify=context, timeout=20) as http:
        big = http.post(
            "/v1/safety-checks",
            content=b" " * (2 * 1024 * 1024),
            headers={"content-type": "application/json"},
        )
        assert big.status_code == 413
        assert http.get("/healthz", headers={"x-big": "a" * 20_000}).status_code in (400, 431)
        assert http.get("/metrics").status_code == 404  # scraped on the instances only
        assert http.get("/readyz").status_code == 200
    with pytest.raises(httpx.ConnectError):  # TLS only, with a certificate we trust
        httpx.get(proxy.url + "/livez", timeout=5)


def test_an_instance_that_goes_away_is_skipped(
    deployment: tuple[Proxy, list[Server], ssl.SSLContext], tmp_path: Path
) -> None:
    """Stopped (SIGTERM, as a rolling restart does): its connections are refused, and nginx
    sends those requests to the other instance; none is lost."""
    proxy, instances, context = deployment
    gone = instances[0]
    stop(gone.process)
    with httpx.Client(base_url=proxy.url, verify=context, timeout=20) as http:
        for n in range(30):
            body, expected, daily = distinct_case(1000 + n)
            answer = http.post("/v1/safety-checks", json=body)
            assert answer.status_code == 200 and problems(answer.json(), expected, daily) == ""
