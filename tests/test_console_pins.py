"""The pins the console ships (api/console/pins.json) are the scenario tables' and the running
ruleset's: `make pins` rewrites the file after any change to rules/ or tests/scenarios/."""

from __future__ import annotations

import json

from api.console.pins import shipped
from rules.catalog import all_rules
from rules.checker import Checker
from rules.release import fingerprint
from tests.review_sheet import PINS, pins_text


def test_the_shipped_pins_are_current(checker: Checker) -> None:
    fresh = pins_text(checker)
    assert PINS.read_text(encoding="utf-8") == fresh, (
        "api/console/pins.json is stale (a rule or a scenario row changed): run `make pins`"
    )


def test_every_rule_has_its_pins_and_every_native_row_can_be_tried() -> None:
    pins = shipped()
    assert pins.fingerprint == fingerprint()
    assert set(pins.rules) == {r.id for r in all_rules()}
    assert all(p.count >= len(p.fired) > 0 for p in pins.rules.values())
    row = pins.rows["tablet:child-32.9-kg-tablet"]
    assert row.expect == ("TABLET_BELOW_33_KG",)
    assert pins.request(row.key) == {
        "patient": {"birth_date": "2018-11-22", "weight_kg": 32.9},
        "order": {
            "date": "2026-11-22",
            "action": "continue",
            "route": "oral",
            "form": "tablet",
            "dose": {"value": 10, "unit": "mg"},
            "frequency_per_day": 3,
        },
    }
    assert json.loads(PINS.read_text())["rows"][row.key]["archetype"] == "child_8y_35kg"
