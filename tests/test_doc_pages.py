"""The claims of the README and docs/ stay true: their examples are what the service answers,
their tables list what the code holds, and their links lead somewhere."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from engine import AlertRule
from rules.catalog import MODULES
from tests.cds_hooks.ehr import comparable

ROOT = Path(__file__).resolve().parents[1]
PAGES = [
    ROOT / "README.md",
    ROOT / "CHANGELOG.md",
    ROOT / "docs" / "integrators.md",
    ROOT / "docs" / "pharmacists.md",
    ROOT / "docs" / "operators.md",
]


def _blocks(text: str) -> list[Any]:
    return [json.loads(b) for b in re.findall(r"```json\n(.*?)\n```", text, re.DOTALL)]


def _section(text: str, heading: str) -> str:
    return text.split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]


def _answer(client: TestClient, request: Any) -> Any:
    response = client.post("/v1/safety-checks", json=request)
    assert response.status_code == 200, response.text
    body = response.json()
    body.pop("check_id")
    return comparable(body)


def test_the_readme_example_is_what_the_service_returns(client: TestClient) -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    request, response = _blocks(_section(text, "## Example"))
    example = json.loads((ROOT / "examples" / "child-over-maximum.json").read_text())
    assert request == example, "the README shows examples/child-over-maximum.json"
    response.pop("check_id")
    assert _answer(client, request) == comparable(response)


def test_the_intrathecal_example_is_what_the_service_returns(client: TestClient) -> None:
    """Its sources are shortened on the page ("..."): each is the start of the real one."""
    text = (ROOT / "docs" / "integrators.md").read_text(encoding="utf-8")
    example = text.split("\n#### Example\n", 1)[1].split("\n## ", 1)[0]
    request, shown = _blocks(example)
    got = _answer(client, request)
    assert got["outcome"] == shown["outcome"]
    assert len(got["alerts"]) == len(shown["alerts"])
    for real, page in zip(got["alerts"], shown["alerts"], strict=True):
        for key in ("code", "severity", "message", "suggestion", "evidence"):
            assert real[key] == page[key], key
        for key, value in page["source"].items():
            assert real["source"][key].startswith(value.removesuffix("...").rstrip(" ."))


def test_the_pharmacists_page_lists_every_module_with_its_codes() -> None:
    text = (ROOT / "docs" / "pharmacists.md").read_text(encoding="utf-8")
    for module in MODULES:
        path = module.__name__.replace(".", "/") + ".py"
        row = next(line for line in text.splitlines() if line.startswith(f"| `{path}` |"))
        codes = {r.code for r in module.RULES if isinstance(r, AlertRule)}
        assert set(re.findall(r"`([A-Z][A-Z0-9_]+)`", row)) == codes, path


def test_the_rule_shown_on_the_pharmacists_page_is_the_rule_in_its_module() -> None:
    text = (ROOT / "docs" / "pharmacists.md").read_text(encoding="utf-8")
    shown = text.split("(`rules/oral/caps.py`):\n\n```python\n", 1)[1].split("\n```", 1)[0]
    as_in_module = textwrap.indent(shown, "    ") + ","  # an item of the module's RULES list
    assert as_in_module in (ROOT / "rules" / "oral" / "caps.py").read_text(encoding="utf-8")


def _anchors(text: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    return {
        re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
        for h in re.findall(r"^#+ (.*)$", text, re.MULTILINE)
    }


def test_every_link_of_the_pages_leads_somewhere() -> None:
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)]+)\)", text):
            if target.startswith(("http://", "https://")):
                continue
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            assert file.exists(), f"{page.name}: {target}"
            if anchor:
                assert anchor in _anchors(file.read_text(encoding="utf-8")), (
                    f"{page.name}: {target}"
                )
