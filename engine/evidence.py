"""Declared evidence: which fact fields an alert shows as the values it checked.

Each item names a key and where its value comes from:

    "daily_mg=dose.mg"        one field of a matched fact (None when the fact lacks it)
    "weight_kg"               a param, or `alias.weight_kg` keyed by its field name when the
                              item is written `dose.weight_kg` without a key
    "p.* -seq -proposed"      every field of a matched fact except those named (a spread)
    "findings=f[].*"          aggregate rules: the whole fact of each firing, in firing order
    "doses=f[].ug"            aggregate rules: one field of each firing

The lint resolves every item against the rule's aliases, params and the declared kinds; the
evidence an alert shows is therefore always named fields, never values computed for display.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.facts import Record

HIDDEN = frozenset({"id", "kind"})
_ITEM = re.compile(
    r"^(?:(?P<key>[A-Za-z_][A-Za-z0-9_]*)=)?"
    r"(?P<alias>[a-z_][a-z0-9_]*)(?P<each>\[\])?(?:\.(?P<field>\*|[A-Za-z_][A-Za-z0-9_]*))?"
    r"(?P<exclude>(?:\s+-[A-Za-z_][A-Za-z0-9_]*)*)$"
)


@dataclass(frozen=True)
class Item:
    key: str | None  # None: a spread of the whole fact
    alias: str  # an alias, or a param when `field` is None
    field: str | None  # "*" for the whole fact
    each: bool
    exclude: tuple[str, ...]


def parse(spec: Sequence[str]) -> list[Item]:
    items = []
    for text in spec:
        match = _ITEM.match(text.strip())
        if not match:
            raise ValueError(f"unreadable evidence item {text!r}")
        key, alias, each, fld, exclude = match.group("key", "alias", "each", "field", "exclude")
        excluded = tuple(x.strip()[1:] for x in exclude.split()) if exclude else ()
        if excluded and fld != "*":
            raise ValueError(f"evidence item {text!r}: only a whole fact (.*) excludes fields")
        if fld == "*" and not each and key is not None:
            raise ValueError(f"evidence item {text!r}: a spread takes no key")
        if each and (key is None or fld is None):
            raise ValueError(
                f"evidence item {text!r}: a list over firings needs a key and a field (or .*)"
            )
        if fld is None and each:
            raise ValueError(f"evidence item {text!r}: name a field")
        items.append(
            Item(
                key=key if fld == "*" and not each else (key or fld or alias),
                alias=alias,
                field=fld,
                each=bool(each),
                exclude=excluded,
            )
        )
    return items


def whole(fact: Any, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    data = fact.__dict__ if isinstance(fact, Record) else dict(fact)
    return {k: v for k, v in data.items() if k not in HIDDEN and k not in exclude}


def _field(fact: Any, name: str) -> Any:
    if isinstance(fact, Mapping):
        return fact.get(name)
    return getattr(fact, name, None)


def gather(items: list[Item], scope: Mapping[str, Any]) -> dict[str, Any]:
    """The evidence of one alert. `scope` maps aliases to records (aggregate rules: to the
    list of records of every firing) and params to their values."""
    out: dict[str, Any] = {}
    for item in items:
        value = scope.get(item.alias)
        if item.field is None:
            out[item.key or item.alias] = value
        elif item.each:
            facts = value or []
            out[item.key or item.alias] = [
                whole(f, item.exclude) if item.field == "*" else _field(f, item.field)
                for f in facts
            ]
        elif item.field == "*":
            out.update(whole(value, item.exclude))
        else:
            out[item.key or item.field] = _field(value, item.field)
    return out
