"""Prefetch as the spec defines it: an absent key is fetched from fhirServer with the
fhirAuthorization token (only there, with a short timeout), null means no data, an
OperationOutcome is an error, pages are followed; what cannot be had is said in a card. Every
FHIR server here is a local stub (httpx MockTransport, or a server on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.cds_hooks.conftest import AppFactory
from tests.cds_hooks.ehr import call, topic_codes
from tests.cds_hooks.fhir import (
    FHIR_SERVER,
    TABLET_10,
    concept,
    condition,
    crcl,
    hook_request,
    local_fhir_server,
    med_request,
    patient,
    quantity,
    searchset,
    weight,
)

TOKEN = "opaque-fhir-access-token-7f3a"
AUTH = {
    "access_token": TOKEN,
    "token_type": "Bearer",
    "expires_in": 300,
    "scope": "user/Patient.read user/Condition.read user/Observation.read "
    "user/MedicationRequest.read user/Medication.read",
    "subject": "baclofen-cds",
}


class StubFhir:
    """A FHIR server keyed by resource type (and id for reads); records every request."""

    def __init__(self, routes: dict[str, Any]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        path = request.url.path.removeprefix("/fhir/")
        answer = self.routes.get(
            f"{path}?page={request.url.params.get('page')}", self.routes.get(path)
        )
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, int):
            return httpx.Response(answer, json={"resourceType": "OperationOutcome"})
        if answer is None:
            return httpx.Response(404, json={"resourceType": "OperationOutcome"})
        return httpx.Response(200, json=answer)

    def paths(self) -> list[str]:
        return sorted(r.url.path.removeprefix("/fhir/") for r in self.requests)


def stubbed(
    make_client: AppFactory, routes: dict[str, Any], **settings: Any
) -> tuple[Any, StubFhir]:
    """The app with FHIR_SERVER allowed (open mode's allow-list) and answered by `routes`."""
    stub = StubFhir(routes)
    settings.setdefault("fhir_server_allowlist", (FHIR_SERVER,))
    return make_client(transport=httpx.MockTransport(stub), **settings), stub


def draft() -> dict[str, Any]:
    return med_request("rx-1", TABLET_10, quantity(5, "mg"), per_day=3)


EVERYTHING = {
    "Patient/pat-1": patient(),
    "Condition": searchset(condition("G40.909", "Epilepsy, unspecified", "84757009")),
    "MedicationRequest": searchset(),
    "Observation": searchset(weight(70), crcl(95)),
}


def test_absent_keys_are_fetched_with_the_token(make_client: AppFactory) -> None:
    client, stub = stubbed(make_client, EVERYTHING)
    request = hook_request("order-sign", [draft()], None)
    request["fhirAuthorization"] = AUTH
    body = call(client, request).json()
    assert topic_codes(body) == ["SEIZURE_DISORDER_CONTRAINDICATION"]
    assert stub.paths() == [
        "Condition",
        "MedicationRequest",
        "Observation",
        "Observation",
        "Observation",
        "Observation",
        "Patient/pat-1",
    ]
    queries = sorted(
        parse_qs(urlsplit(str(r.url)).query).get("code", [""])[0].split(",")
        for r in stub.requests
        if r.url.path.endswith("Observation")
    )
    loinc = [{c.removeprefix("http://loinc.org|") for c in q} for q in queries]
    assert {"29463-7"} in loinc and {"82810-3"} in loinc
    # Renal function: every creatinine-clearance and every eGFR code in use, one query each.
    assert {"2164-2", "35591-7"} in loinc
    (egfr,) = [q for q in loinc if "33914-3" in q]
    assert {
        "33914-3",
        "62238-1",
        "98979-8",
        "48642-3",
        "48643-1",
        "88293-6",
        "88294-4",
        "50044-7",
        "77147-7",
    } <= egfr
    assert all(
        r.url.params["patient"] == "pat-1" for r in stub.requests if r.url.params.get("patient")
    )


def test_conditions_are_fetched_whatever_their_status(make_client: AppFactory) -> None:
    """A resolved epilepsy still counts (004: "a history of epilepsy"): the query must not
    leave it on the EHR's side, and the rules read the status it comes with."""
    resolved = condition("G40.909", "Epilepsy, unspecified", clinical="resolved")
    client, stub = stubbed(make_client, {**EVERYTHING, "Condition": searchset(resolved)})
    request = hook_request("order-sign", [draft()], None)
    request["fhirAuthorization"] = AUTH
    body = call(client, request).json()
    assert topic_codes(body) == ["SEIZURE_DISORDER_CONTRAINDICATION"]
    (query,) = [r.url.params for r in stub.requests if r.url.path.endswith("/Condition")]
    assert dict(query) == {"patient": "pat-1"}


def test_null_is_no_data_and_supplied_keys_are_not_fetched_again(make_client: AppFactory) -> None:
    client, stub = stubbed(make_client, EVERYTHING)
    request = hook_request(
        "order-sign",
        [draft()],
        {
            "patient": patient(),
            "conditions": None,
            "medications": searchset(),
            "weight": searchset(weight(70)),
            "crcl": None,
            "egfr": None,
            "pregnancy": None,
        },
    )
    request["fhirAuthorization"] = AUTH
    assert call(client, request).json() == {"cards": []}
    assert stub.requests == []


def test_an_operation_outcome_in_the_prefetch_is_fetched_instead(make_client: AppFactory) -> None:
    client, stub = stubbed(make_client, EVERYTHING)
    request = hook_request(
        "order-sign",
        [draft()],
        {
            "patient": patient(),
            "medications": searchset(),
            "weight": searchset(weight(70)),
            "crcl": None,
            "egfr": None,
            "pregnancy": None,
            "conditions": {
                "resourceType": "OperationOutcome",
                "issue": [
                    {
                        "severity": "error",
                        "code": "timeout",
                        "diagnostics": "Condition search timed out",
                    }
                ],
            },
        },
    )
    request["fhirAuthorization"] = AUTH
    assert topic_codes(call(client, request).json()) == ["SEIZURE_DISORDER_CONTRAINDICATION"]
    assert stub.paths() == ["Condition"]


def _paged(next_url: str) -> dict[str, Any]:
    first = searchset(
        med_request(
            "rx-a", concept("617993", "Amoxicillin"), quantity(5, "mL"), per_day=2, status="active"
        )
    )
    first["link"] = [{"relation": "next", "url": next_url}]
    return first


LORAZEPAM_PAGE = searchset(
    med_request("rx-l", concept("6470", "lorazepam"), quantity(1, "mg"), per_day=1, status="active")
)


def test_pages_of_the_prefetch_are_followed_on_the_same_server(make_client: AppFactory) -> None:
    client, stub = stubbed(make_client, {"MedicationRequest?page=2": LORAZEPAM_PAGE})
    request = hook_request(
        "order-sign",
        [draft()],
        {
            "patient": patient(),
            "conditions": None,
            "weight": None,
            "crcl": None,
            "egfr": None,
            "pregnancy": None,
            "medications": _paged(f"{FHIR_SERVER}/MedicationRequest?patient=pat-1&page=2"),
        },
    )
    request["fhirAuthorization"] = AUTH
    assert topic_codes(call(client, request).json()) == ["CNS_DEPRESSANT_COMEDICATION"]
    assert stub.paths() == ["MedicationRequest"]


@pytest.mark.parametrize(
    ("next_url", "with_auth", "reason"),
    [
        (
            "https://elsewhere.example.test/fhir/MedicationRequest?page=2",
            True,
            "a link outside the FHIR server was not followed",
        ),
        (f"{FHIR_SERVER}/MedicationRequest?page=2", False, "only the first page was supplied"),
    ],
    ids=["other-host", "no-token"],
)
def test_pages_that_cannot_be_followed_are_said(
    make_client: AppFactory, next_url: str, with_auth: bool, reason: str
) -> None:
    client, stub = stubbed(make_client, {})
    request = hook_request(
        "order-sign",
        [draft()],
        {
            "patient": patient(),
            "conditions": None,
            "weight": None,
            "crcl": None,
            "egfr": None,
            "pregnancy": None,
            "medications": _paged(next_url),
        },
    )
    if with_auth:
        request["fhirAuthorization"] = AUTH
    body = call(client, request).json()
    assert topic_codes(body) == ["MISSING_DATA"]
    assert reason in body["cards"][0]["detail"]
    assert stub.requests == []


@pytest.mark.parametrize(
    ("answer", "hidden"),
    [
        (httpx.ReadTimeout("slow"), ["time", "slow"]),
        (httpx.ConnectError("[Errno 111] Connection refused"), ["refused", "reach", "Connect"]),
        (500, ["500", "answered"]),
        (403, ["403", "answered", "Forbidden"]),
        (401, ["401", "answered"]),
        (302, ["302", "redirect"]),
    ],
    ids=["timeout", "closed-port", "server-error", "forbidden", "unauthorized", "redirect"],
)
def test_a_failed_fetch_is_a_gap_card_that_quotes_nothing(
    make_client: AppFactory, answer: Any, hidden: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    """An attack: a caller points fhirServer at hosts and ports and reads the cards to map
    them (closed, filtered, 403 from a metadata service). Every failure reads the same: it
    could not be fetched; the reason is in the log, without the patient id or the token."""
    client, _ = stubbed(make_client, {**EVERYTHING, "Condition": answer})
    request = hook_request("order-sign", [draft()], None)
    request["fhirAuthorization"] = AUTH
    with caplog.at_level(logging.DEBUG):
        body = call(client, request).json()
    assert topic_codes(body) == ["MISSING_DATA"]
    detail = body["cards"][0]["detail"]
    assert "Not available: the problem list (seizure disorder" in detail
    assert "it could not be fetched from the FHIR server" in detail
    for word in [*hidden, "ehr.example.test", "FHIR server answered"]:
        assert word not in detail
    assert TOKEN not in caplog.text, "the access token is never logged"
    assert "pat-1" not in caplog.text, "no patient id in the log"
    assert "Condition could not be fetched" in caplog.text


@pytest.mark.parametrize(
    ("settings", "with_auth", "reason"),
    [
        ({}, False, "not in the prefetch, and no fhirAuthorization to fetch it with"),
        (
            {"fhir_server_allowlist": ("https://trusted.example.test/fhir",)},
            True,
            "not in the prefetch, and this service does not fetch from that FHIR server: send it "
            "in the prefetch",
        ),
        (
            {"fhir_server_allowlist": ()},
            True,
            "not in the prefetch, and this service does not fetch from that FHIR server: send it "
            "in the prefetch",
        ),
        (
            {"fhir_server_allowlist": ("https://ehr.example.test/fhir-other",)},
            True,
            "does not fetch from that FHIR server",
        ),
        (
            {"fhir_server_allowlist": ("https://ehr.example.test/fhir/Patient",)},
            True,
            "does not fetch from that FHIR server",
        ),
    ],
    ids=[
        "no-authorization",
        "not-allowed",
        "nothing-allowed-by-default",
        "prefix-is-not-a-path",
        "allowed-path-is-deeper",
    ],
)
def test_no_fetch_without_a_token_or_outside_the_allow_list(
    make_client: AppFactory, settings: dict[str, Any], with_auth: bool, reason: str
) -> None:
    client, stub = stubbed(make_client, EVERYTHING, **settings)
    request = hook_request("order-sign", [draft()], {"patient": patient()})
    if with_auth:
        request["fhirAuthorization"] = AUTH
    body = call(client, request).json()
    assert topic_codes(body) == ["MISSING_DATA"]
    assert reason in body["cards"][0]["detail"]
    assert stub.requests == []


def _by_reference(display: str | None = None) -> dict[str, Any]:
    order = draft()
    order.pop("medicationCodeableConcept")
    order["medicationReference"] = {"reference": "Medication/med-77"}
    if display:
        order["medicationReference"]["display"] = display
    return order


def test_a_referenced_medication_is_fetched(make_client: AppFactory) -> None:
    medication = {
        "resourceType": "Medication",
        "id": "med-77",
        "code": concept("197391", "Baclofen 10 MG Oral Tablet"),
    }
    client, stub = stubbed(make_client, {**EVERYTHING, "Medication/med-77": medication})
    request = hook_request("order-sign", [_by_reference()], None)
    request["fhirAuthorization"] = AUTH
    assert topic_codes(call(client, request).json()) == ["SEIZURE_DISORDER_CONTRAINDICATION"]
    assert "Medication/med-77" in stub.paths()


def test_an_unidentifiable_medication_is_412_with_the_reason(make_client: AppFactory) -> None:
    client, _ = stubbed(make_client, {})
    response = call(client, hook_request("order-sign", [_by_reference()], {}))
    assert response.status_code == 412
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert "MedicationRequest/rx-1" in body["issue"][0]["diagnostics"]
    assert "cards" not in body


def test_an_unidentifiable_medication_next_to_baclofen_is_a_card(make_client: AppFactory) -> None:
    client, _ = stubbed(make_client, {})
    other = _by_reference()
    other["id"] = "rx-2"
    request = hook_request(
        "order-sign",
        [draft(), other],
        {
            "patient": patient(),
            "conditions": None,
            "medications": None,
            "weight": None,
            "crcl": None,
            "egfr": None,
            "pregnancy": None,
        },
    )
    body = call(client, request).json()
    assert topic_codes(body) == ["MISSING_DATA"]
    assert "MedicationRequest/rx-2 could not be identified" in body["cards"][0]["detail"]


# ---- a real FHIR server on 127.0.0.1 ----------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        path = urlsplit(self.path).path.removeprefix("/fhir/")
        authorised = self.headers["Authorization"] == f"Bearer {TOKEN}"
        body = EVERYTHING.get(path) if authorised else None
        data = json.dumps(body or {"resourceType": "OperationOutcome"}).encode()
        self.send_response(200 if body else (404 if authorised else 401))
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def local_fhir() -> Iterator[str]:
    with local_fhir_server(_Handler) as base:
        yield base


def test_fetch_from_a_real_local_server(make_client: AppFactory, local_fhir: str) -> None:
    """The real network stack (the address-pinning transport) to 127.0.0.1: a test bench."""
    client = make_client(transport=None, fhir_server_allowlist=(local_fhir,), test_bench=True)
    request = hook_request("order-sign", [draft()], None)
    request["fhirServer"] = local_fhir
    request["fhirAuthorization"] = AUTH
    body = call(client, request).json()
    assert topic_codes(body) == ["SEIZURE_DISORDER_CONTRAINDICATION"]


def _gzip(*parts: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return b"".join([*(packer.compress(part) for part in parts), packer.flush()])


CONDITIONS = json.dumps(EVERYTHING["Condition"]).encode()
# 64 MB of spaces inside a JSON string, in about 64 kB of gzip.
BOMB = _gzip(b'{"resourceType":"Bundle","type":"searchset","x":"', b" " * (64 << 20), b'"}')
HOSTILE = {  # the Condition answer: (Content-Encoding, body), and what the log says of it
    "bomb": (("gzip", BOMB), "larger than 4194304 bytes"),
    "large": ((None, b'{"resourceType":"Bundle","x":"' + b" " * (5 << 20) + b'"}'), "larger than"),
    "deep": ((None, b"[" * 200_000 + b"]" * 200_000), "more than 100000 arrays"),
    "nested": ((None, b'{"a":' * 70 + b"1" + b"}" * 70), "JSON nested deeper than 64"),
    "truncated": (("gzip", _gzip(CONDITIONS)[:-12]), "truncated gzip"),
    "not-gzip": (("gzip", CONDITIONS), "not gzip"),
    "brotli": (("br", CONDITIONS), "unsupported Content-Encoding"),
}


class _Hostile(BaseHTTPRequestHandler):
    answer: tuple[str | None, bytes] = (None, b"")

    def do_GET(self) -> None:
        path = urlsplit(self.path).path.removeprefix("/fhir/")
        encoding, data = (
            self.answer if path == "Condition" else (None, json.dumps(EVERYTHING[path]).encode())
        )
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        if encoding:
            self.send_header("Content-Encoding", encoding)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the service may stop reading past its cap
            self.wfile.write(data)

    def log_message(self, *_: Any) -> None:
        pass


def test_a_gzipped_answer_is_read(make_client: AppFactory) -> None:
    """gzip is asked for and inflated by the service itself, under its size cap."""
    _Hostile.answer = ("gzip", _gzip(CONDITIONS))
    with local_fhir_server(_Hostile) as base:
        client = make_client(transport=None, fhir_server_allowlist=(base,), test_bench=True)
        request = hook_request("order-sign", [draft()], None)
        request["fhirServer"] = base
        request["fhirAuthorization"] = AUTH
        body = call(client, request).json()
    assert topic_codes(body) == ["SEIZURE_DISORDER_CONTRAINDICATION"]


@pytest.mark.parametrize("case", HOSTILE)
def test_a_hostile_answer_is_a_fetch_failure(
    make_client: AppFactory, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A gzip bomb (64 MB from 64 kB) is inflated no further than the cap and a body over it
    is not read on; JSON nested past the parser's recursion gave a 500. Each is data that
    could not be fetched, said on the card, within the deadline."""
    _Hostile.answer, logged = HOSTILE[case]
    with local_fhir_server(_Hostile) as base:
        client = make_client(transport=None, fhir_server_allowlist=(base,), test_bench=True)
        request = hook_request("order-sign", [draft()], None)
        request["fhirServer"] = base
        request["fhirAuthorization"] = AUTH
        started = time.monotonic()
        with caplog.at_level(logging.WARNING):
            response = call(client, request)
        took = time.monotonic() - started
    assert response.status_code == 200, response.text
    body = response.json()
    assert topic_codes(body) == ["MISSING_DATA"]
    assert "problem list" in body["cards"][0]["detail"]
    assert "could not be fetched" in body["cards"][0]["detail"]
    assert f"Condition could not be fetched: {logged}" in caplog.text
    assert took < 2 * 2.0  # twice CDS_FHIR_TIMEOUT_S, its default


def test_one_deadline_bounds_all_fetching(make_client: AppFactory) -> None:
    """A FHIR server that never answers one search (a stub ignores per-request timeouts, so
    only the overall deadline can end the wait)."""
    answered = StubFhir(EVERYTHING)

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/Condition"):
            await asyncio.Event().wait()  # never set
        return answered(request)

    client = make_client(
        transport=httpx.MockTransport(handler),
        fhir_timeout_s=0.05,
        fhir_server_allowlist=(FHIR_SERVER,),
    )
    request = hook_request("order-sign", [draft()], None)
    request["fhirAuthorization"] = AUTH
    body = call(client, request).json()
    assert topic_codes(body) == ["MISSING_DATA"]
    assert "problem list" in body["cards"][0]["detail"]
    assert "could not be fetched" in body["cards"][0]["detail"]


@pytest.mark.parametrize(
    ("mutation", "said"),
    [
        ("absent", "not in the prefetch, and no fhirServer to fetch it from"),
        ("error", "the EHR reported an error prefetching it"),
        ("male", None),
        ("null", None),  # the EHR has no pregnancy status: nothing is missing
    ],
)
def test_a_pregnancy_status_not_had_is_said_unless_the_patient_is_male(
    cds: Any, mutation: str, said: str | None
) -> None:
    """Without it, a pregnancy recorded only as a status Observation gave `cards: []`."""
    from tests.cds_hooks.golden_cases import adult_pregnant

    request = adult_pregnant()
    request.pop("fhirServer", None)
    prefetch = request["prefetch"]
    if mutation == "absent":
        del prefetch["pregnancy"]
    elif mutation == "error":
        prefetch["pregnancy"] = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "exception"}],
        }
    elif mutation == "male":
        del prefetch["pregnancy"]
        prefetch["patient"]["gender"] = "male"
    else:
        prefetch["pregnancy"] = None
    body = call(cds, request).json()
    gaps = [c["detail"] for c in body["cards"] if c["source"]["topic"]["code"] == "MISSING_DATA"]
    if said is None:
        assert gaps == [], gaps
        return
    (detail,) = gaps
    assert "Not available: the pregnancy status (Observation, LOINC 82810-3), so only the " in (
        detail.replace("\n", " ")
    )
    assert said in detail


def test_an_active_medication_that_cannot_be_identified_is_said(cds: Any) -> None:
    """It was dropped silently: a lorazepam order named only by an unresolved reference was
    not screened, and nothing said so."""
    from tests.cds_hooks.golden_cases import adult_cns_depressants

    request = adult_cns_depressants()
    (entry,) = request["prefetch"]["medications"]["entry"]
    lorazepam = entry["resource"]
    lorazepam.pop("medicationCodeableConcept")
    lorazepam["medicationReference"] = {"reference": "Medication/lzp"}
    request.pop("fhirServer", None)
    body = call(cds, request).json()
    (detail,) = [
        c["detail"] for c in body["cards"] if c["source"]["topic"]["code"] == "MISSING_DATA"
    ]
    assert (
        "Not identified: 1 active medication (MedicationRequest/rx-lzp) whose drug could not be "
        "read, so it was not screened for CNS depressants or baclofen." in detail
    )


@pytest.mark.parametrize(
    ("key", "mutation", "said"),
    [
        ("conditions", "outcome-error", "the EHR reported an error in the search that returned it"),
        ("medications", "outcome-error", "the EHR reported an error in the search"),
        ("medications", "entry-not-a-list", "the EHR sent a Bundle whose entry is not a list"),
        ("conditions", "outcome-warning", None),
    ],
)
def test_a_bundle_that_says_it_is_incomplete_is_said(
    cds: Any, key: str, mutation: str, said: str | None
) -> None:
    """An OperationOutcome entry with an error ("problem list partially unavailable") was
    ignored, and an `entry` that is not a list read as an empty list: `cards: []`."""
    from tests.cds_hooks.golden_cases import adult_nothing_wrong

    request = adult_nothing_wrong()
    request.pop("fhirServer", None)
    bundle = request["prefetch"][key]
    if mutation == "entry-not-a-list":
        bundle["entry"] = "x"
    else:
        severity = "error" if mutation == "outcome-error" else "warning"
        bundle.setdefault("entry", []).append(
            {
                "resource": {
                    "resourceType": "OperationOutcome",
                    "issue": [{"severity": severity, "code": "incomplete"}],
                },
                "search": {"mode": "outcome"},
            }
        )
    body = call(cds, request).json()
    gaps = [c["detail"] for c in body["cards"] if c["source"]["topic"]["code"] == "MISSING_DATA"]
    if said is None:
        assert gaps == []
        return
    (detail,) = gaps
    assert said in detail
