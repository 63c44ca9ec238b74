"""The scenario rows that pin each rule, as shipped in the package (pins.json).

The scenario tables are test data (tests/scenarios/*.yaml) and an installed service has no
tests; `make pins` runs every row through the engine and writes, for each rule, the rows in
which it fires and a neighbouring row in which it does not (tests/review_sheet.py). The file
is stamped with the ruleset it was computed for, and tests/test_console_pins.py fails when
it no longer matches the tables and the rules, so that the console never shows pins of
another ruleset without saying so.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class PinRow:
    key: str  # table:id
    archetype: str
    patient: dict[str, Any] | None
    order: dict[str, Any] | None
    via: str
    expect: tuple[str, ...]

    @property
    def table(self) -> str:
        return self.key.split(":", 1)[0]

    @property
    def summary(self) -> str:
        parts = [self.archetype] + [
            f"{name} {json.dumps(value, ensure_ascii=False, separators=(', ', ': '))}"
            for name, value in (("patient", self.patient), ("order", self.order))
            if value
        ]
        if self.via != "native":
            parts.append(f"via {self.via}")
        return "; ".join(parts)

    @property
    def expected(self) -> str:
        return ", ".join(self.expect) if self.expect else "no alerts"


@dataclass(frozen=True)
class RulePins:
    fired: tuple[PinRow, ...]
    count: int  # rows in which the rule fires, in all
    neighbour: PinRow | None


@dataclass(frozen=True)
class Pins:
    ruleset_version: str
    fingerprint: str
    archetypes: dict[str, dict[str, Any]]
    rows: dict[str, PinRow]
    rules: dict[str, RulePins]

    def request(self, key: str) -> dict[str, Any] | None:
        """The native request of a row (its archetype with the row's overrides), or None for
        an unknown row or one read as CDS Hooks reads it (it lacks what the native API
        requires)."""
        row = self.rows.get(key)
        if row is None or row.via != "native":
            return None
        case = copy.deepcopy(self.archetypes[row.archetype])
        for part in ("patient", "order"):
            override = getattr(row, part)
            if override:
                case[part] = merge(case[part], override)
        return case


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`override` deep-merged into a copy of `base`; None deletes a key (as the scenario
    tables write it)."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def parse(data: dict[str, Any]) -> Pins:
    rows = {
        key: PinRow(
            key=key,
            archetype=str(row["archetype"]),
            patient=row.get("patient"),
            order=row.get("order"),
            via=str(row.get("via", "native")),
            expect=tuple(row.get("expect") or ()),
        )
        for key, row in data["rows"].items()
    }
    return Pins(
        ruleset_version=str(data["ruleset_version"]),
        fingerprint=str(data["fingerprint"]),
        archetypes=data["archetypes"],
        rows=rows,
        rules={
            rule_id: RulePins(
                fired=tuple(rows[k] for k in entry["fired"]),
                count=int(entry["count"]),
                neighbour=rows[entry["neighbour"]] if entry.get("neighbour") else None,
            )
            for rule_id, entry in data["rules"].items()
        },
    )


@cache
def shipped() -> Pins:
    """The package's pins.json (read once per process)."""
    text = resources.files("api.console").joinpath("pins.json").read_text(encoding="utf-8")
    return parse(json.loads(text))
