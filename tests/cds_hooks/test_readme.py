"""The README's CDS Hooks example is real: its request returns its cards (uuids aside)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi.testclient import TestClient

from tests.cds_hooks.ehr import call, comparable

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_example_is_what_the_service_returns(cds: TestClient) -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("## CDS Hooks", 1)[1].split("\n## ", 1)[0]
    example = section.split("### Example", 1)[1]
    request, response = re.findall(r"```json\n(.*?)\n```", example, re.DOTALL)[:2]
    got = call(cds, json.loads(request))
    assert got.status_code == 200
    assert comparable(got.json()) == comparable(json.loads(response))
