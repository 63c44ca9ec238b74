"""The ruleset: every recommendation module, in the order the engine registers them, and the
public catalogue of alert codes.

The order is part of the behaviour: durable-rules fires the lowest-registered rule first, and
alerts of equal severity are reported in the order they fired (the first to fire is kept, and
MISSING_DATA lists its checks in that order). Three groups are registered one after the other,
oral and general first, then intrathecal, then route and units; within each group every
derivation comes first, then the alerts, then the MISSING_DATA siblings, each in module order.
"""

from __future__ import annotations

import json
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
    phase,
    pump,
    red_flags,
    response,
    screening,
    steps,
    titration,
)
from rules.intrathecal import discontinuation as itb_discontinuation
from rules.intrathecal import renal as itb_renal
from rules.oral import (
    caps,
    concurrent,
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
from rules.sources import LABELS, PRECEDENCE

RULESET_NAME = "baclofen"

GROUPS: tuple[tuple[ModuleType, ...], ...] = (
    (
        derive,
        contraindications,
        renal,
        pregnancy,
        interactions,
        concurrent,
        tablet,
        caps,
        weight_based,
        missing_data,
        starting_dose,
        elderly,
        oral_titration,
        frequency,
        discontinuation,
        regimen,
    ),
    (
        steps,
        response,
        age,
        screening,
        titration,
        maintenance,
        red_flags,
        itb_discontinuation,
        itb_renal,
    ),
    (route_and_units,),
)
MODULES: tuple[ModuleType, ...] = tuple(module for group in GROUPS for module in group)
READINGS: tuple[Reading, ...] = (steps.REGIMENS, phase.PHASE, pump.PUMP, concurrent.ADDED)

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
        entry = by_code.setdefault(
            rule.code, {"code": rule.code, "severity": rule.severity, "rules": []}
        )
        if rule.severity.rank > entry["severity"].rank:
            entry["severity"] = rule.severity
        entry["rules"].append(
            {
                "id": rule.id,
                "severity": rule.severity,
                "description": rule.description,
                "source": rule.source,
            }
        )
    return sorted(by_code.values(), key=lambda e: e["code"])


# -- the catalogue as structured data (the endpoint, the review sheet, the console) -------------
# A constant's unit, from its name: the longest of these words it contains.
_UNITS = (
    ("_DECIMALS", "decimal places"),
    ("_MG_PER_KG_DAY", "mg/kg/day"),
    ("_MG_DAY", "mg/day"),
    ("_UG_DAY", "ug/day"),
    ("_ML_MIN", "mL/min"),
    ("_UG", "ug"),
    ("_MG", "mg"),
    ("_KG", "kg"),
    ("_PCT", "%"),
    ("_H", "h"),
    ("_HOURS", "h"),
    ("_DAYS", "days"),
    ("_YEARS", "years"),
    ("_FRACTION", "fraction"),
    ("_FACTOR", "times"),
    ("_REGIMENS", "regimens"),
    ("_DOSES", "doses a day"),
)
_OPS = {
    "$gt": ">",
    "$gte": ">=",
    "$lt": "<",
    "$lte": "<=",
    "$neq": "!=",
    "$add": "+",
    "$sub": "-",
    "$mul": "*",
    "$div": "/",
    "$mt": "matches",
}


def unit_of(name: str) -> str:
    padded = f"_{name}_"
    found = [(len(word), unit) for word, unit in _UNITS if word + "_" in padded]
    return max(found)[1] if found else ""


def _number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    if isinstance(value, tuple | list):
        return bool(value) and all(_number(v) for v in value)
    if isinstance(value, dict):
        return bool(value) and all(_number(v) for v in value.values())
    return False


def thresholds(module: ModuleType) -> list[dict[str, Any]]:
    """The module's named numeric constants, with the unit their name gives."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(module))
    names = [
        t.id
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(t, ast.Name) and t.id.isupper()
    ]
    return [
        {"name": name, "value": getattr(module, name), "unit": unit_of(name)}
        for name in names
        if _number(getattr(module, name, None))
    ]


def _value(value: Any) -> str:
    if isinstance(value, dict) and len(value) == 1:
        ((key, inner),) = value.items()
        if key in _OPS:
            return f"{_value(inner['$l'])} {_OPS[key]} {_value(inner['$r'])}"
        if isinstance(inner, str):
            return f"{key}.{inner}"
    return json.dumps(value)


def describe(expr: Any) -> str:
    """A condition as a reviewer reads it: `mg > 40 and route = "oral"`."""
    ((op, arg),) = expr.items()
    if op == "$and":
        return " and ".join(describe(part) for part in arg)
    if op == "$or":
        return "(" + " or ".join(describe(part) for part in arg) + ")"
    if op in ("$ex", "$nex"):
        (field,) = arg
        return f"{field} {'given' if op == '$ex' else 'absent'}"
    if op in _OPS:
        ((field, compared),) = arg.items()
        return f"{field} {_OPS[op]} {_value(compared)}"
    return f"{op} = {_value(arg)}"


def _conditions(rule: Rule) -> list[dict[str, str]]:
    out = []
    for cond in rule.when:
        expr = cond.define()
        parts = expr["$and"] if "$and" in expr else [expr]
        kind = parts[0].get("kind", "?")
        rest = [describe(p) for p in parts[1:]]
        out.append({"alias": str(cond.alias), "kind": str(kind), "test": " and ".join(rest)})
    return out


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return f"(function {value.__module__}.{value.__qualname__})"


def _derives(fn: Any) -> str:
    """The kind a derivation function yields, from its return annotation."""
    import typing

    try:
        returned = typing.get_type_hints(fn).get("return")
    except Exception:
        return "facts"
    for arg in typing.get_args(returned):
        kind = getattr(arg, "KIND", "")
        if kind:
            return str(kind)
    return "facts"


def rule_entry(rule: Rule) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": rule.id,
        "module": module_of(rule.id),
        "conditions": _conditions(rule),
        "params": {
            k: v
            for k, v in rule.params.items()
            if isinstance(v, int | float | str | list | tuple) or v is None
        },
    }
    if isinstance(rule, Derivation):
        entry.update(
            type="fold" if rule.fold else "derivation",
            when=rule.doc,
            then=f"derives {_derives(rule.derive)} ({_text(rule.derive)[1:-1]})",
        )
        return entry
    evidence = (
        list(rule.evidence)
        if rule.evidence is not None and not callable(rule.evidence)
        else _text(rule.evidence)
        if rule.evidence is not None
        else "the matched facts"
    )
    entry.update(
        type="alert",
        code=rule.code,
        severity=rule.severity.value,
        when=rule.description,
        then=f"{rule.code} ({rule.severity.value})",
        message=_text(rule.message),
        suggestion=_text(rule.suggestion),
        evidence=evidence,
        source={
            "document": rule.source.document,
            "label": LABELS.get(rule.source.document, rule.source.document),
            "precedence": PRECEDENCE.get(rule.source.document, "cited"),
            "excerpt": rule.source.excerpt,
            "note": rule.source.note,
        },
        supersedes=list(rule.supersedes),
        supersedes_rules=list(rule.supersedes_rules),
        attach=dict(rule.attach),
        withholds=list(rule.withholds),
        aggregate=rule.aggregate,
    )
    return entry


def document() -> dict[str, Any]:
    """The whole catalogue: its version, every module (its When/Then and thresholds with
    units), every rule (conditions, texts, evidence, source with passage and note), the
    readings and the alert codes. The pinning scenario rows are added by the review sheet."""
    from rules import release

    return {
        "ruleset_version": release.RULESET_VERSION,
        "version": release.VERSION,
        "fingerprint": release.fingerprint(),
        "released": release.released(),
        "modules": [
            {
                "module": m.__name__,
                "doc": (m.__doc__ or "").strip(),
                "thresholds": thresholds(m),
                "rules": [r.id for r in m.RULES],
            }
            for m in MODULES
        ],
        "rules": [rule_entry(r) for r in all_rules()],
        "readings": [
            {
                "id": r.id,
                "when": r.when,
                "then": r.then,
                "where": r.where,
                "source": {
                    "document": r.source.document,
                    "excerpt": r.source.excerpt,
                    "note": r.source.note,
                },
            }
            for r in READINGS
        ],
        "codes": [
            {
                **e,
                "severity": e["severity"].value,
                "rules": [
                    {**r, "severity": r["severity"].value, "source": r["source"].model_dump()}
                    for r in e["rules"]
                ],
            }
            for e in catalogue()
        ],
    }
