"""Every alert code the CDS Hooks path can raise, replayed as a realistic FHIR R4 request
through the endpoint; the cards must equal the golden file (without uuids)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.cds_hooks.models import CdsResponse, HookRequest
from rules.catalog import catalogue
from tests.cds_hooks.ehr import call, comparable, topic_codes
from tests.cds_hooks.golden_cases import CASES, NEEDS_INTRATHECAL_DETAILS

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def _file(path: Path, value: Any) -> Any:
    if UPDATE:
        path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_case(cds: TestClient, name: str) -> None:
    build, expected = CASES[name]
    request = _file(GOLDEN / f"{name}.request.json", build())
    assert request == build(), "the request file is not what golden_cases.py builds"
    response = call(cds, request)
    assert response.status_code == 200, response.text
    body = response.json()
    assert topic_codes(body) == sorted(expected)
    cards = comparable(body["cards"])
    assert cards == _file(GOLDEN / f"{name}.cards.json", cards)


def test_every_alert_code_is_replayed_or_needs_what_fhir_does_not_carry() -> None:
    codes = {entry["code"] for entry in catalogue()}
    replayed = {code for _, expected in CASES.values() for code in expected}
    assert replayed <= codes
    assert codes - replayed == NEEDS_INTRATHECAL_DETAILS


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_files_round_trip(name: str) -> None:
    request = json.loads((GOLDEN / f"{name}.request.json").read_text(encoding="utf-8"))
    parsed = HookRequest.model_validate(request)
    assert HookRequest.model_validate(parsed.model_dump(exclude_none=True)) == parsed
    cards = json.loads((GOLDEN / f"{name}.cards.json").read_text(encoding="utf-8"))
    for card in cards:  # uuids were stripped for the comparison: restore one to validate
        card["uuid"] = "x"
        for suggestion in card.get("suggestions", []):
            suggestion["uuid"] = "y"
    response = CdsResponse.model_validate({"cards": cards})
    assert response.model_dump(exclude_none=True) == {"cards": cards}
