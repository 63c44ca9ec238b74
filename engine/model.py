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
from typing import Any

from pydantic import BaseModel, ConfigDict


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


class Bindings(Mapping[str, Any]):
    """The facts a rule matched, by alias, plus the rule's params.

    Supports `str.format` paths like `{dose.mg:g}`: attribute access reads dict keys.
    """

    def __init__(self, facts: Mapping[str, Mapping[str, Any]], params: Mapping[str, Any]):
        self._data: dict[str, Any] = {**params, **{k: _Obj(v) for k, v in facts.items()}}
        self.facts = facts
        self.params = params

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Any:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(name) from None


class _Obj(Mapping[str, Any]):
    __slots__ = ("_d",)

    def __init__(self, d: Mapping[str, Any]):
        self._d = d

    def __getattr__(self, name: str) -> Any:
        try:
            v = self._d[name]
        except KeyError:
            raise AttributeError(name) from None
        return _Obj(v) if isinstance(v, Mapping) else v

    def __getitem__(self, key: str) -> Any:
        return self._d[key]

    def __iter__(self) -> Any:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)


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


class Outcome(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    alerts: list[Alert]
    trace: list[TraceEntry]

    @property
    def highest(self) -> Severity | None:
        return max((a.severity for a in self.alerts), key=lambda s: s.rank, default=None)
