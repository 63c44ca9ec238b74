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
        case["patient"]["conditions"] = [{"display": f"healed fracture {n}"}
                                         for n in range(row["conditions"])]
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
    marks = [pytest.mark.xfail(strict=True, reason=row["known_defect"])] \
        if "known_defect" in row else []
    return pytest.param(row, id=row["id"], marks=marks)


@pytest.mark.parametrize("row", [_param(r) for r in ROWS])
def test_nasty_input(row: dict[str, Any], client: TestClient) -> None:
    response = client.post("/v1/safety-checks", content=body_of(row),
                           headers={"content-type": "application/json"})
    expect = row["expect"]
    assert response.status_code == expect["status"], response.text[:500]
    body = response.json()
    if expect["status"] == 200:
        assert sorted(a["code"] for a in body["alerts"]) == sorted(expect["codes"])
    else:
        assert body["error"] == "invalid_request"
        assert sorted({e["field"] for e in body["errors"]}) == sorted(expect["fields"])
        assert all(e["problem"] for e in body["errors"])
