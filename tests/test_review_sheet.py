"""The review sheet covers every rule, and every rule is pinned by the scenario rows: it fires
in at least one and does not fire in a neighbouring one (coverage per rule, not per code)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rules.catalog import all_rules, catalogue, document
from rules.checker import Checker
from rules.review_sheet import Pins
from tests.review_sheet import pins, write


@pytest.fixture(scope="module")
def pinned(checker: Checker) -> dict[str, Pins]:
    return pins(checker)


def test_every_rule_fires_in_a_row_and_not_in_a_neighbouring_one(pinned: dict[str, Pins]) -> None:
    never = [rule.id for rule in all_rules() if not pinned[rule.id].fired]
    assert not never, f"rules no scenario row fires: {never}"
    alone = [rule.id for rule in all_rules() if pinned[rule.id].neighbour is None]
    assert not alone, f"rules with no row of the same archetype where they do not fire: {alone}"


def test_the_sheet_covers_every_rule_code_threshold_and_passage(tmp_path: Path) -> None:
    markdown_path, html_path, json_path = write(tmp_path)
    markdown = markdown_path.read_text(encoding="utf-8")
    html = html_path.read_text(encoding="utf-8")
    doc = document()
    for rule in all_rules():
        assert f"`{rule.id}`" in markdown, rule.id
        assert f'id="{rule.id}"' in html, rule.id
    for entry in catalogue():
        assert entry["code"] in markdown
    for module in doc["modules"]:
        for threshold in module["thresholds"]:
            assert f"`{threshold['name']}`" in markdown
    for rule in doc["rules"]:
        if rule["type"] == "alert":
            assert rule["source"]["excerpt"] in markdown
    assert doc["ruleset_version"] in markdown and doc["fingerprint"] in html
    assert "no scenario row (a gap)" not in markdown
    data = json.loads(json_path.read_text(encoding="utf-8"))
    by_id = {r["id"]: r for r in data["rules"]}
    assert by_id["oral_dose.max_under_8"]["pinned_by"]
    assert by_id["oral_dose.max_under_8"]["does_not_fire_in"]


def test_every_rule_says_when_it_applies() -> None:
    """Plain-language When for every rule (alerts: description; derivations: doc)."""
    for rule in document()["rules"]:
        assert rule["when"], rule["id"]
