"""The ruleset: every recommendation module, in the order the engine registers them, and the
public catalogue of alert codes.

The order is part of the behaviour: durable-rules fires the lowest-registered rule first, and
alerts of equal severity are reported in the order they fired (the first to fire is kept, and
MISSING_DATA lists its checks in that order). Three groups are registered one after the other,
oral and general first, then intrathecal, then route and units; within each group every
derivation comes first, then the alerts, then the MISSING_DATA siblings, each in module order.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import Any

from engine import AlertRule, Derivation, Merge, Rule
from rules import (
    contraindications,
    derive,
    interactions,
    missing_data,
    pregnancy,
    renal,
    route_and_units,
)
from rules.intrathecal import (
    age,
    maintenance,
    red_flags,
    screening,
    steps,
    titration,
)
from rules.intrathecal import discontinuation as itb_discontinuation
from rules.intrathecal import renal as itb_renal
from rules.oral import (
    caps,
    discontinuation,
    elderly,
    frequency,
    regimen,
    starting_dose,
    tablet,
    weight_based,
)
from rules.oral import (
    titration as oral_titration,
)
from rules.readings import Reading
from rules.release import RULESET_VERSION  # noqa: F401  (api imports it from here)

RULESET_NAME = "baclofen"

GROUPS: tuple[tuple[ModuleType, ...], ...] = (
    (derive, contraindications, renal, pregnancy, interactions, tablet, caps, weight_based,
     missing_data, starting_dose, elderly, oral_titration, frequency, discontinuation, regimen),
    (steps, age, screening, titration, maintenance, red_flags, itb_discontinuation, itb_renal),
    (route_and_units,),
)
MODULES: tuple[ModuleType, ...] = tuple(module for group in GROUPS for module in group)
READINGS: tuple[Reading, ...] = (steps.REGIMENS,)

# Codes whose alerts, when several rules raise them in one check, are merged into one (the
# engine otherwise keeps the most severe): every check that could not run, every red flag.
MERGES: dict[str, Merge] = {
    "MISSING_DATA": missing_data.merge,
    "PUMP_MALFUNCTION_SUSPECTED": red_flags.merge_red_flags,
}


def _phase(rule: Rule) -> int:
    if isinstance(rule, Derivation):
        return 0
    return 2 if rule.code == "MISSING_DATA" else 1


def all_rules() -> list[Rule]:
    out: list[Rule] = []
    for group in GROUPS:
        rules = [rule for module in group for rule in module.RULES]
        out += sorted(rules, key=_phase)  # stable: module order within each phase
    return out


def module_of(rule_id: str) -> str:
    for module in MODULES:
        if any(r.id == rule_id for r in module.RULES):
            return module.__name__
    raise KeyError(rule_id)


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
