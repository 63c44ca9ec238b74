"""The table of nasty inputs (tests/data/nasty_inputs.yaml): each row gets exactly its expected
answer, an accepted check with its exact codes or a 422 naming exactly the fields at fault.
Never a 5xx: bad input is the sender's error and must say where it is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from tests.archetypes import build

TABLE = Path(__file__).parent / "data" / "nasty_inputs.yaml"
ROWS: list[dict[str, Any]] = yaml.safe_load(TABLE.read_text(encoding="utf-8"))


def body_of(row: dict[str, Any]) -> bytes:
    if "raw" in row:
        return str(row["raw"]).encode()
    if "raw_nested" in row:
        return b'{"patient": ' + b"[" * row["raw_nested"] + b"]" * row["raw_nested"] + b"}"
    case = build(row["archetype"], row.get("patient"), row.get("order"))
    if "conditions" in row:  # n distinct conditions no rule cares about
        case["patient"]["conditions"] = [
            {"display": f"healed fracture {n}"} for n in range(row["conditions"])
        ]
    if "long_display" in row:
        case["patient"]["conditions"][0]["display"] = "x" * row["long_display"]
    # allow_nan: NaN and Infinity go out as the bare tokens clients really send.
    return json.dumps(case, allow_nan=True, ensure_ascii=False).encode()


def test_table_is_well_formed() -> None:
    ids = [r["id"] for r in ROWS]
    assert len(ids) == len(set(ids)), "duplicate row ids"
    for row in ROWS:
        assert set(row["expect"]) in ({"status", "codes"}, {"status", "fields"}), row["id"]
        assert row["expect"]["status"] in (200, 422), row["id"]


def _param(row: dict[str, Any]) -> Any:
    # A row may carry `known_defect`: the expectation stands, the current answer differs; it
    # runs as a strict xfail, so fixing the defect turns it green (and forgetting to remove the
    # mark turns the suite red).
    marks = (
        [pytest.mark.xfail(strict=True, reason=row["known_defect"])]
        if "known_defect" in row
        else []
    )
    return pytest.param(row, id=row["id"], marks=marks)


@pytest.mark.parametrize("row", [_param(r) for r in ROWS])
def test_nasty_input(row: dict[str, Any], client: TestClient) -> None:
    response = client.post(
        "/v1/safety-checks", content=body_of(row), headers={"content-type": "application/json"}
    )
    expect = row["expect"]
    assert response.status_code == expect["status"], response.text[:500]
    body = response.json()
    if expect["status"] == 200:
        assert sorted(a["code"] for a in body["alerts"]) == sorted(expect["codes"])
    else:
        assert body["error"] == "invalid_request"
        assert sorted({e["field"] for e in body["errors"]}) == sorted(expect["fields"])
        assert all(e["problem"] for e in body["errors"])


# -- limits before parsing (api/limits.py) ----------------------------------------------------
MIB = 1024 * 1024
CDS = "/cds-services/baclofen-order-sign"


def _padded(size: int) -> bytes:
    """A valid request padded with trailing spaces to exactly `size` bytes."""
    body = json.dumps(build("adult_oral")).encode()
    return body + b" " * (size - len(body))


@pytest.mark.parametrize(
    ("size", "status"),
    [(MIB, 200), (MIB + 1, 413)],
    ids=["exactly-1-MiB-accepted", "1-MiB-plus-1-byte-refused"],
)
def test_body_size_limit(client: TestClient, size: int, status: int) -> None:
    response = client.post(
        "/v1/safety-checks", content=_padded(size), headers={"content-type": "application/json"}
    )
    assert response.status_code == status, response.text[:300]
    if status == 413:
        assert response.json()["error"] == "request_too_large"
        assert response.headers["connection"] == "close"


def test_streamed_body_over_the_limit_is_refused(client: TestClient) -> None:
    """No Content-Length (chunked): counted as it arrives, refused past 1 MiB."""

    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"patient": {"conditions": ['
        for _ in range(200):
            yield b'{"display": "' + b"x" * 10_000 + b'"},'
        yield b"]}}"

    response = client.post(
        "/v1/safety-checks", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"patient": ' + b"[" * 64 + b"]" * 64 + b"}", "nested deeper than 64"),  # 65 levels
        (b'{"patient": [' + b"{}," * 100_000 + b"{}]}", "more than 100,000"),
        (b'{"patient": "\xff\xfe"}', "not UTF-8"),
    ],
    ids=["nested-65-deep", "100001-objects", "not-utf-8"],
)
def test_hostile_bodies_get_each_apis_error(client: TestClient, body: bytes, problem: str) -> None:
    native = client.post(
        "/v1/safety-checks", content=body, headers={"content-type": "application/json"}
    )
    assert native.status_code == 422
    assert native.json()["errors"] == [
        {"field": "body", "problem": native.json()["errors"][0]["problem"]}
    ]
    assert problem in native.json()["message"]
    hook = client.post(CDS, content=body, headers={"content-type": "application/json"})
    assert hook.status_code == 400
    issue = hook.json()["issue"][0]
    assert hook.json()["resourceType"] == "OperationOutcome" and problem in issue["diagnostics"]


def test_nesting_up_to_64_levels_reaches_the_models(client: TestClient) -> None:
    """The pair of the 65-level row: 64 levels pass the limit and the model names the field."""
    body = b'{"patient": ' + b"[" * 63 + b"]" * 63 + b', "order": {}}'
    response = client.post(
        "/v1/safety-checks", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} >= {"patient", "order.action"}


def test_cds_hooks_body_over_the_limit_is_413(client: TestClient) -> None:
    response = client.post(
        CDS, content=b" " * (MIB + 1), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["issue"][0]["code"] == "too-costly"
