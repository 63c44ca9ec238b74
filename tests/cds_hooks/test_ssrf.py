"""Server-side request forgery, tried as an attacker would (issue 16): a CDS Hooks call names
the fhirServer, so it must not make the service reach what the caller chose. Nothing is
fetched unless configured; an allowed name that resolves to this machine, the cloud metadata
service or another internal address is refused; the address checked is the address
connected to (no second lookup for DNS rebinding to exploit); no redirect is followed.

Every server here is on 127.0.0.1 or stubbed; no packet leaves the machine."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar

import httpx
import pytest

from api.cds_hooks.settings import CdsSettings, Issuer
from api.outbound import AddressPolicy, PinnedTransport, RefusedAddress
from tests.cds_hooks.conftest import AppFactory
from tests.cds_hooks.ehr import BASE_URL, ISSUER, Signer, call, topic_codes
from tests.cds_hooks.fhir import (
    TABLET_10,
    hook_request,
    local_fhir_server,
    med_request,
    quantity,
)

AUTH = {
    "access_token": "t0ken",
    "token_type": "Bearer",
    "expires_in": 300,
    "scope": "user/*.read",
    "subject": "baclofen-cds",
}


class Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str]]] = []

    def do_GET(self) -> None:
        Recorder.seen.append((self.path, self.headers["Host"]))
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = b'{"resourceType": "Bundle", "type": "searchset"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def local() -> Iterator[int]:
    Recorder.seen = []
    with local_fhir_server(Recorder) as base:
        yield int(base.split(":")[2].split("/")[0])


def resolver(answers: dict[str, list[str]], calls: list[str] | None = None) -> Any:
    async def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append(host)
        return answers[host]

    return resolve


def _get(transport: PinnedTransport, url: str) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, follow_redirects=False) as client:
            return await client.get(url)

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("127.3.2.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("2002:7f00:1::", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("64:ff9b::a9fe:a9fe", "link-local"),
        ("::ffff:169.254.169.254", "link-local"),
        ("10.0.0.5", "private"),
        ("172.16.4.4", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "private"),
        ("fd12:3456::1", "private"),
        ("198.18.0.1", "private"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
    ],
)
def test_internal_addresses_are_refused(address: str, why: str) -> None:
    refusal = AddressPolicy().refuses(address)
    assert refusal is not None and why in refusal


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert AddressPolicy().refuses(address) is None


def test_a_configured_private_network_is_allowed_and_only_it() -> None:
    policy = AddressPolicy(private_networks=(ipaddress.ip_network("10.20.0.0/16"),))
    assert policy.refuses("10.20.3.4") is None
    assert policy.refuses("10.21.3.4") is not None
    assert policy.refuses("169.254.169.254") is not None
    with pytest.raises(ValueError, match="not a private range"):
        CdsSettings(fhir_private_networks=("169.254.0.0/16",))
    with pytest.raises(ValueError, match="not a private range"):
        CdsSettings(fhir_private_networks=("127.0.0.0/8",))


def test_a_name_resolving_to_loopback_is_refused_before_connecting(local: int) -> None:
    transport = PinnedTransport(AddressPolicy(), resolver({"ehr.test": ["127.0.0.1"]}))
    with pytest.raises(RefusedAddress, match="loopback"):
        _get(transport, f"http://ehr.test:{local}/fhir/Patient/1")
    assert Recorder.seen == []


def test_one_bad_address_among_good_ones_is_refused(local: int) -> None:
    """A name with a public and an internal address: the OS could pick either."""
    transport = PinnedTransport(
        AddressPolicy(), resolver({"ehr.test": ["93.184.215.14", "169.254.169.254"]})
    )
    with pytest.raises(RefusedAddress, match="link-local"):
        _get(transport, "https://ehr.test/fhir/metadata")


def test_the_connection_goes_to_the_address_checked(local: int) -> None:
    """DNS rebinding: the name is resolved once, by us, and the connection is made to that
    address (here 127.0.0.1 on a test bench; `ehr-rebind.test` resolves nowhere else), with
    the name kept in the Host header. A second lookup by the HTTP stack could have returned
    another address; there is none."""
    calls: list[str] = []
    transport = PinnedTransport(
        AddressPolicy(test_bench=True), resolver({"ehr-rebind.test": ["127.0.0.1"]}, calls)
    )
    response = _get(transport, f"http://ehr-rebind.test:{local}/fhir/Patient/1")
    assert response.status_code == 200
    assert Recorder.seen == [("/fhir/Patient/1", f"ehr-rebind.test:{local}")]
    assert calls == ["ehr-rebind.test"]


def test_a_redirect_is_not_followed(local: int) -> None:
    transport = PinnedTransport(AddressPolicy(test_bench=True))
    response = _get(transport, f"http://127.0.0.1:{local}/redirect")
    assert response.status_code == 302
    assert [path for path, _ in Recorder.seen] == ["/redirect"]


def draft() -> dict[str, Any]:
    return med_request("rx-1", TABLET_10, quantity(5, "mg"), per_day=3)


def _request(server: str) -> dict[str, Any]:
    request = hook_request("order-sign", [draft()], None)
    request["fhirServer"] = server
    request["fhirAuthorization"] = AUTH
    return request


def test_by_default_nothing_is_fetched(make_client: AppFactory, local: int) -> None:
    """No allow-list: a call naming any fhirServer (this machine here) fetches nothing, and
    the card asks for the data in the prefetch."""
    client = make_client(transport=None)
    body = call(client, _request(f"http://127.0.0.1:{local}/fhir")).json()
    assert Recorder.seen == []
    assert topic_codes(body) == ["MISSING_DATA"]
    assert "send it in the prefetch" in body["cards"][0]["detail"]


def test_an_allowed_name_that_resolves_to_the_metadata_service_is_refused(
    make_client: AppFactory,
) -> None:
    transport = PinnedTransport(
        AddressPolicy(), resolver({"ehr.example.test": ["169.254.169.254"]})
    )
    client = make_client(
        transport=transport, fhir_server_allowlist=("https://ehr.example.test/fhir",)
    )
    body = call(client, _request("https://ehr.example.test/fhir")).json()
    detail = body["cards"][0]["detail"]
    assert "it could not be fetched from the FHIR server" in detail
    assert "169.254" not in detail and "link-local" not in detail


def test_a_redirect_to_the_metadata_service_reads_could_not_be_fetched(
    make_client: AppFactory, local: int
) -> None:
    base = f"http://127.0.0.1:{local}/redirect"
    client = make_client(transport=None, fhir_server_allowlist=(base,), test_bench=True)
    body = call(client, _request(base)).json()
    assert "could not be fetched" in body["cards"][0]["detail"]
    assert "302" not in body["cards"][0]["detail"]
    assert all(path.startswith("/redirect") for path, _ in Recorder.seen)


def test_each_issuer_reaches_only_its_own_fhir_servers(
    make_client: AppFactory, tmp_path: Any
) -> None:
    """With JWT on, a call from issuer A naming issuer B's FHIR server fetches nothing."""
    import json

    a, b = Signer("ES384"), Signer("ES384", iss="https://b.example.test/")
    fetched: list[str] = []

    def serve(request: httpx.Request) -> httpx.Response:
        fetched.append(str(request.url))
        return httpx.Response(404)

    (tmp_path / "a.json").write_text(json.dumps(a.jwks()))
    (tmp_path / "b.json").write_text(json.dumps(b.jwks()))
    client = make_client(
        auth="required",
        public_base_url=BASE_URL,
        transport=httpx.MockTransport(serve),
        jwt_issuers=(
            Issuer(
                iss=ISSUER,
                jwks=str(tmp_path / "a.json"),
                fhir_servers=("https://a.example.test/fhir",),
            ),
            Issuer(
                iss="https://b.example.test/",
                jwks=str(tmp_path / "b.json"),
                fhir_servers=("https://b.example.test/fhir",),
            ),
        ),
    )
    body = call(client, _request("https://b.example.test/fhir"), signer=a).json()
    assert fetched == []
    assert "does not fetch from that FHIR server" in body["cards"][0]["detail"]
    call(client, _request("https://a.example.test/fhir"), signer=a)
    assert fetched and all(u.startswith("https://a.example.test/fhir/") for u in fetched)
