"""The ruleset: every rule family, its version, and the public catalogue of alert codes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine import AlertRule, Rule
from rules import (
    contraindications,
    derive,
    intrathecal,
    missing_data,
    oral_dose,
    route_and_units,
)

RULESET_VERSION = "2026.11.1"
RULESET_NAME = "baclofen"

FAMILIES = (derive, contraindications, oral_dose, missing_data, intrathecal, route_and_units)


def all_rules() -> list[Rule]:
    return [rule for family in FAMILIES for rule in family.RULES]


def catalogue(rules: Sequence[Rule] | None = None) -> list[dict[str, Any]]:
    """One entry per alert code, with each rule that can raise it (codes are public API)."""
    by_code: dict[str, dict[str, Any]] = {}
    for rule in rules if rules is not None else all_rules():
        if not isinstance(rule, AlertRule):
            continue
        entry = by_code.setdefault(rule.code, {"code": rule.code, "severity": rule.severity,
                                               "rules": []})
        if rule.severity.rank > entry["severity"].rank:
            entry["severity"] = rule.severity
        entry["rules"].append({"id": rule.id, "severity": rule.severity,
                               "description": rule.description, "source": rule.source})
    return sorted(by_code.values(), key=lambda e: e["code"])
