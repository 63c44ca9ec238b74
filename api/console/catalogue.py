"""The catalogue as the console shows it: rules.catalog.document() (what GET /v1/rules
serves), grouped by module, each rule with the values it compares against (with their units)
and the scenario rows that pin it; and the search over all of it.

Search: every word of the query must occur in a rule's text (its id, code, severity,
When/Then, conditions, message, suggestion, source, passage, note, module and values); a
number matches as a number (33 finds 33 and 33.0, not 330), so that a threshold can be
searched for with or without its unit ("33 kg").
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from api.console.pins import Pins, RulePins, shipped
from rules.catalog import document, unit_of

_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")


@dataclass(frozen=True)
class Value:
    """A number a rule compares against, with its unit and the named threshold it is."""

    name: str
    value: Any
    unit: str
    threshold: str | None  # the module's constant of the same value, if any

    @property
    def text(self) -> str:
        return f"{_plain(self.value)} {self.unit}".strip()


@dataclass(frozen=True)
class RuleView:
    rule: Mapping[str, Any]
    values: tuple[Value, ...]
    pins: RulePins | None
    search_text: str

    @property
    def id(self) -> str:
        return str(self.rule["id"])


@dataclass(frozen=True)
class ModuleView:
    module: Mapping[str, Any]
    rules: tuple[RuleView, ...]
    search_text: str


@dataclass(frozen=True)
class Catalogue:
    doc: Mapping[str, Any]
    modules: tuple[ModuleView, ...]
    rules: Mapping[str, RuleView]
    codes: Mapping[str, Mapping[str, Any]]
    pins: Pins
    pins_current: bool  # computed for the running ruleset
    readers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # kind -> rule ids


def _plain(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    return str(value)


def _values(rule: Mapping[str, Any], thresholds: Sequence[Mapping[str, Any]]) -> tuple[Value, ...]:
    out = []
    for name, value in rule.get("params", {}).items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        same = [t for t in thresholds if t["value"] == value]
        named = next((t for t in same if t["unit"]), same[0] if same else None)
        unit = unit_of(name.upper()) or (named["unit"] if named else "")
        out.append(Value(name, value, unit, named["name"] if named else None))
    return tuple(out)


def _search_text(parts: Sequence[Any]) -> str:
    return " ".join(_plain(p) for p in parts if p not in (None, "", [], {})).lower()


def matches(text: str, query: str) -> bool:
    """Every word of `query` in `text` (numbers as numbers)."""
    for word in query.lower().split():
        if _NUMBER.match(word):
            number = re.escape(word.rstrip("0").rstrip(".") if "." in word else word)
            if not re.search(rf"(?<![\d.]){number}(?:\.0+)?(?![\d]|\.\d)", text):
                return False
        elif word not in text:
            return False
    return True


@cache
def catalogue() -> Catalogue:
    doc = document()
    pins = shipped()
    rules_by_id = {r["id"]: r for r in doc["rules"]}
    views: dict[str, RuleView] = {}
    modules = []
    readers: dict[str, list[str]] = {}
    for module in doc["modules"]:
        thresholds = module["thresholds"]
        threshold_text = [f"{t['name']} {_plain(t['value'])} {t['unit']}" for t in thresholds]
        rule_views = []
        for rule_id in module["rules"]:
            rule = rules_by_id[rule_id]
            values = _values(rule, thresholds)
            for cond in rule["conditions"]:
                readers.setdefault(cond["kind"], []).append(rule_id)
            source = rule.get("source") or {}
            text = _search_text(
                [
                    rule_id,
                    rule.get("code"),
                    rule.get("severity"),
                    rule.get("when"),
                    rule.get("then"),
                    [f"{c['kind']} {c['test']}" for c in rule["conditions"]],
                    rule.get("message"),
                    rule.get("suggestion"),
                    source.get("document"),
                    source.get("excerpt"),
                    source.get("note"),
                    module["module"],
                    [f"{v.name} {v.text} {v.threshold or ''}" for v in values],
                ]
            )
            view = RuleView(rule, values, pins.rules.get(rule_id), text)
            views[rule_id] = view
            rule_views.append(view)
        modules.append(
            ModuleView(
                module,
                tuple(rule_views),
                _search_text([module["module"], module["doc"], threshold_text]),
            )
        )
    return Catalogue(
        doc=doc,
        modules=tuple(modules),
        rules=views,
        codes={c["code"]: c for c in doc["codes"]},
        pins=pins,
        pins_current=pins.fingerprint == doc["fingerprint"],
        readers={k: tuple(dict.fromkeys(v)) for k, v in readers.items()},
    )


def search(cat: Catalogue, query: str) -> list[RuleView]:
    query = query.strip()
    if not query:
        return list(cat.rules.values())
    return [view for view in cat.rules.values() if matches(view.search_text, query)]
