"""Shared state for many machines (issue 16): two service instances, as on two machines,
behind nginx with deploy/nginx.conf (Debian's nginx, as tests/test_deploy.py), sharing one
PostgreSQL (a throwaway server, tests/postgres.py), with JWT authentication on.

- Feedback posted through either instance, or the proxy, lands once.
- A JWT accepted by one instance is refused by the other (the jti memory is shared).
- Killing an instance (SIGKILL, mid-traffic) loses no feedback that was acknowledged.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import psycopg
import pytest

from bench.proxy import Proxy, nginx
from bench.server import Server, running
from tests.cds_hooks.ehr import Signer
from tests.postgres import PostgresServer

PUBLIC = "https://cds.example.test"  # CDS_PUBLIC_BASE_URL: what the EHR calls; the JWT `aud`
FEEDBACK = "/cds-services/baclofen-order-sign/feedback"
EHR = Signer("ES384", iss="https://ehr.example.test/")


@pytest.fixture(scope="module")
def shared(
    postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, list[Server], Proxy]]:
    tmp = tmp_path_factory.mktemp("scale-out")
    url = postgres.create_database("scale_out")
    jwks = tmp / "ehr-jwks.json"
    jwks.write_text(json.dumps(EHR.jwks()))
    env = {
        "CDS_DATABASE_URL": url,
        "CDS_AUTH": "required",
        "CDS_PUBLIC_BASE_URL": PUBLIC,
        "CDS_JWT_ISSUERS": json.dumps([{"iss": EHR.iss, "jwks": str(jwks)}]),
    }
    with ExitStack() as stack:
        instances = [
            stack.enter_context(
                running(1, log_dir=tmp / f"instance-{n}", log_level="WARNING", extra_env=env)
            )
            for n in range(2)
        ]
        proxy = stack.enter_context(
            nginx([f"{s.host}:{s.port}" for s in instances], prefix=tmp / "nginx")
        )
        yield url, instances, proxy


def _headers(path: str = FEEDBACK, token: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token or EHR.token(PUBLIC + path)}"}


def _item(card: str, when: str = "2026-11-22T09:31:02Z") -> dict[str, Any]:
    return {
        "card": card,
        "outcome": "overridden",
        "outcomeTimestamp": when,
        "overrideReason": {"userComment": "supervised titration"},
    }


def _rows(url: str, card_prefix: str) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        return [
            (c, str(t))
            for c, t in conn.execute(
                "SELECT card, outcome_timestamp FROM feedback WHERE card LIKE %s ORDER BY id",
                (card_prefix + "%",),
            ).fetchall()
        ]


def test_feedback_through_either_instance_lands_once(
    shared: tuple[str, list[Server], Proxy],
) -> None:
    url, instances, proxy = shared
    body = {"feedback": [_item("once-1"), _item("once-2")]}
    answers = []
    for base in [s.url for s in instances] + [proxy.url] * 4:
        answers.append(httpx.post(base + FEEDBACK, json=body, headers=_headers(), timeout=20))
    assert [a.status_code for a in answers] == [200] * 6, [a.text for a in answers]
    assert answers[0].json() == {"stored": 2, "duplicates": 0}
    assert all(a.json() == {"stored": 2, "duplicates": 2} for a in answers[1:])
    assert sorted(c for c, _ in _rows(url, "once-")) == ["once-1", "once-2"]


def test_a_jwt_replayed_to_the_other_instance_is_refused(
    shared: tuple[str, list[Server], Proxy],
) -> None:
    _, (first, second), proxy = shared
    path = "/cds-services"
    token = EHR.token(PUBLIC + path)
    assert httpx.get(first.url + path, headers=_headers(path, token), timeout=20).status_code == 200
    replayed = httpx.get(second.url + path, headers=_headers(path, token), timeout=20)
    assert replayed.status_code == 401
    assert httpx.get(proxy.url + path, headers=_headers(path, token), timeout=20).status_code == 401
    fresh = EHR.token(PUBLIC + path)
    assert httpx.get(proxy.url + path, headers=_headers(path, fresh), timeout=20).status_code == 200


def test_killing_an_instance_loses_no_acknowledged_feedback(
    shared: tuple[str, list[Server], Proxy],
) -> None:
    """Eight clients post feedback through the proxy while one instance is killed with
    SIGKILL (no graceful anything). Every item answered 200 is in PostgreSQL; the others
    (the proxy's 502 for the requests in flight on the dead instance) may be retried, and
    a retry is stored once."""
    url, instances, proxy = shared
    acknowledged: list[str] = []
    failed: list[str] = []
    lock = threading.Lock()
    killed = threading.Event()

    def client(k: int) -> None:
        with httpx.Client(base_url=proxy.url, timeout=20) as http:
            for n in range(60):
                card = f"kill-{k}-{n}"
                try:
                    answer = http.post(
                        FEEDBACK, json={"feedback": [_item(card)]}, headers=_headers()
                    )
                    ok = answer.status_code == 200
                except httpx.TransportError:
                    ok = False
                with lock:
                    (acknowledged if ok else failed).append(card)
                if k == 0 and n == 15:
                    victim = instances[0]
                    os.killpg(victim.pid, signal.SIGKILL)
                    killed.set()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert killed.is_set()
    stored = {c for c, _ in _rows(url, "kill-")}
    assert set(acknowledged) <= stored, sorted(set(acknowledged) - stored)[:10]
    assert len(acknowledged) >= 400  # the other instance took the rest
    # Whatever was not acknowledged is sent again, as an EHR retries: stored once each.
    with httpx.Client(base_url=proxy.url, timeout=20) as http:
        for card in failed + acknowledged[:20]:
            answer = http.post(FEEDBACK, json={"feedback": [_item(card)]}, headers=_headers())
            assert answer.status_code == 200, answer.text
    rows = _rows(url, "kill-")
    assert len(rows) == len({c for c, _ in rows}) == 480
