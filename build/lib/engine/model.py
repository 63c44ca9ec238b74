"""Rules and results of the generic forward-chaining runtime.

Nothing here knows about any drug: a rule is a condition over facts plus either a derivation
(new facts, which further rules can match) or an alert. Conditions are written with
durable-rules' `m`/`c` expressions; everything else stays in Python, outside the dict that
durable-rules registers (unknown keys there fail registration with error 105).
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr, computed_field


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.INFO: 1, Severity.WARNING: 2, Severity.CRITICAL: 3}


class Source(BaseModel):
    """The passage a rule encodes: document, verbatim excerpt, and the reviewer's note."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    document: str
    excerpt: str
    note: str | None = None


Fact = Mapping[str, Any]


class _Record:
    """A fact (or the bindings) read by attribute: `dose.mg`. The keys live in the instance
    `__dict__`, so a read is a plain attribute lookup; the profile showed a `__getattr__`
    fallback per read costing a microsecond, dozens of times a check. Mapping reads work too
    (`in`, `[]`, `get`, `items`) for rules that walk a fact; `get`, `items`, `keys` and
    `values` are properties, so a fact key with one of those names cannot hide them."""

    def __getitem__(self, key: str) -> Any:
        return self.__dict__[key]

    def __contains__(self, key: object) -> bool:
        return key in self.__dict__

    def __iter__(self) -> Any:
        return iter(self.__dict__)

    def __len__(self) -> int:
        return len(self.__dict__)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _Record):
            return self.__dict__ == other.__dict__
        return isinstance(other, Mapping) and self.__dict__ == dict(other)

    __hash__ = None  # type: ignore[assignment]

    @property
    def get(self) -> Callable[..., Any]:
        return self.__dict__.get

    @property
    def items(self) -> Callable[[], Any]:
        return self.__dict__.items

    @property
    def keys(self) -> Callable[[], Any]:
        return self.__dict__.keys

    @property
    def values(self) -> Callable[[], Any]:
        return self.__dict__.values

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.__dict__!r})"


_PLAIN = frozenset({str, int, float, bool, type(None), list})


class _Obj(_Record):
    def __init__(self, d: Mapping[str, Any]):
        if type(d) is dict and set(map(type, d.values())) <= _PLAIN:
            # Every fact so far: flat. Its dict becomes the instance's __dict__, shared, not
            # copied (rules never write through a binding); the type test runs in C.
            self.__dict__ = d
            return
        data = self.__dict__
        for key, value in d.items():
            data[key] = _Obj(value) if isinstance(value, Mapping) else value


Mapping.register(_Record)

# Attribute names a rule may not use as a condition alias or a param: Bindings needs them.
RESERVED_NAMES = frozenset({"facts", "params", "get", "items", "keys", "values"})


class Bindings(_Record):
    """The facts a rule matched, by alias, plus the rule's params.

    Supports `str.format` paths like `{dose.mg:g}` and attribute reads like `b.dose.mg`.
    `facts` (the raw matched facts) and `params` are attributes too; the start-up lint keeps
    aliases and params off those names (RESERVED_NAMES).
    """

    __slots__ = ("_raw",)  # outside __dict__, which holds only aliases and params

    def __init__(self, facts: Mapping[str, Mapping[str, Any]], params: Mapping[str, Any]):
        data = self.__dict__
        data.update(params)
        for alias, fact in facts.items():
            data[alias] = _Obj(fact)
        self._raw = (facts, params)

    @property
    def facts(self) -> Mapping[str, Mapping[str, Any]]:
        return self._raw[0]

    @property
    def params(self) -> Mapping[str, Any]:
        return self._raw[1]


Text = str | Callable[[Bindings], str]
DeriveFn = Callable[[Bindings], Iterable[Mapping[str, Any]]]


@dataclass(frozen=True)
class Derivation:
    """A rule whose action asserts new facts into the same check: the forward chaining.

    `derive` is a pure function of the matched facts; each fact it returns must carry a
    `kind` (the first, discriminating test of the rules that consume it).
    """

    id: str
    when: Sequence[Any]
    derive: DeriveFn
    params: Mapping[str, Any] = field(default_factory=dict)
    doc: str = ""


@dataclass(frozen=True)
class AlertRule:
    """A rule whose action raises an alert.

    `aggregate=True` folds every firing of the rule in one check into one alert; its
    message/suggestion/evidence callables then receive the list of bindings.
    `supersedes` names codes made redundant when this rule fires (a contraindication makes
    the milder caution about the same organ noise).
    """

    id: str
    code: str
    severity: Severity
    when: Sequence[Any]
    message: Text | Callable[[list[Bindings]], str]
    suggestion: Text | Callable[[list[Bindings]], str]
    source: Source
    params: Mapping[str, Any] = field(default_factory=dict)
    evidence: Callable[[Any], dict[str, Any]] | None = None
    aggregate: bool = False
    supersedes: tuple[str, ...] = ()
    description: str = ""


Rule = Derivation | AlertRule


def template_fields(text: Text | Callable[..., str]) -> set[str]:
    """First path component of every `{field}` in a message template (for the start-up lint)."""
    if not isinstance(text, str):
        return set()
    names = set()
    for _, name, _, _ in string.Formatter().parse(text):
        if name:
            names.add(name.split(".")[0].split("[")[0])
    return names


class Alert(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    severity: Severity
    message: str
    suggestion: str
    evidence: dict[str, Any]
    source: Source
    rule_id: str


class TraceEntry(BaseModel):
    """One rule firing: what it matched (fact ids) and what it produced."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    step: int
    rule_id: str
    matched: dict[str, str]
    derived: list[dict[str, Any]] = []
    alert_code: str | None = None
    suppressed_by: str | None = None


# One firing as the runtime records it: rule id, matched facts by alias, derived facts, alert
# code, and the rule that suppressed its alert.
Firing = tuple[str, Mapping[str, Mapping[str, Any]], list[dict[str, Any]], str | None,
               str | None]


class Outcome(BaseModel):
    """The alerts, and the trace built only when it is read: most checks never show it, and
    building a model per firing was a tenth of a check."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    alerts: list[Alert]
    _firings: Sequence[Firing] = PrivateAttr(default=())

    @classmethod
    def of(cls, alerts: list[Alert], firings: Sequence[Firing]) -> Outcome:
        outcome = cls(alerts=alerts)
        outcome._firings = firings
        return outcome

    @computed_field  # type: ignore[prop-decorator]
    @cached_property
    def trace(self) -> list[TraceEntry]:
        return [TraceEntry(step=step, rule_id=rule_id,
                           matched={alias: str(f.get("id")) for alias, f in matched.items()},
                           derived=derived, alert_code=code, suppressed_by=suppressed_by)
                for step, (rule_id, matched, derived, code, suppressed_by)
                in enumerate(self._firings, start=1)]

    @property
    def highest(self) -> Severity | None:
        return max((a.severity for a in self.alerts), key=lambda s: s.rank, default=None)
