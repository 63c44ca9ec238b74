"""The CDS Hooks example of docs/integrators.md is real: its request returns its cards (uuids
and the ruleset version aside)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi.testclient import TestClient

from tests.cds_hooks.ehr import call, comparable

PAGE = Path(__file__).resolve().parents[2] / "docs" / "integrators.md"


def test_the_cds_hooks_example_is_what_the_service_returns(cds: TestClient) -> None:
    text = PAGE.read_text(encoding="utf-8")
    section = text.split("\n## CDS Hooks", 1)[1].split("\n## ", 1)[0]
    example = section.split("\n### Example", 1)[1]
    request, response = re.findall(r"```json\n(.*?)\n```", example, re.DOTALL)[:2]
    got = call(cds, json.loads(request))
    assert got.status_code == 200
    assert comparable(got.json()) == comparable(json.loads(response))
