"""Rules and results of the generic forward-chaining runtime.

Nothing here knows about any drug: a rule is a condition over facts plus either a derivation
(new facts, which further rules can match) or an alert. Conditions are written with
durable-rules' `m`/`c` expressions; everything else stays in Python, outside the dict that
durable-rules registers (unknown keys there fail registration with error 105).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict

from engine.evidence import Item, parse
from engine.template import Template


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


# A rule's text: a template (engine.template) or a function of the matched facts. Functions are
# called with keyword arguments named by the rule's aliases (each the record of the matched
# fact, typed as its kind; for aggregate rules and folds the list of the records of every
# firing), its params and its attached results: `def message(dose: DailyDose, cap: int) -> str`.
Text = str | Callable[..., str]
Evidence = Sequence[str] | Callable[..., Mapping[str, Any]]

# Names a rule may not give an alias, a param or an attached result: the engine's own keys.
RESERVED_NAMES = frozenset({"id", "kind", "sid"})


@dataclass(frozen=True)
class Derivation:
    """A rule whose action asserts new facts into the same check: the forward chaining.

    `derive` is a pure function of the matched facts (keyword arguments by alias, see `Text`)
    returning the new facts, each an instance of its declared kind (in an untyped ruleset, a
    mapping with a `kind`). A `fold` runs once per check, after every other rule has fired,
    over all of its firings (each argument is then a list): it concludes the check, and may
    produce result kinds only (which no rule matches).
    """

    id: str
    when: Sequence[Any]
    derive: Callable[..., Iterable[Any]]
    params: Mapping[str, Any] = field(default_factory=dict)
    doc: str = ""
    fold: bool = False


@dataclass(frozen=True)
class AlertRule:
    """A rule whose action raises an alert.

    `message` and `suggestion` are templates or functions (see `Text`); `evidence` declares
    the fields the alert shows (engine.evidence), or is a function of the matched facts; None
    shows every matched fact whole. `aggregate=True` folds every firing of the rule in one
    check into one alert; its texts and evidence then read lists. `supersedes` names codes
    made redundant when this rule fires (a contraindication makes the milder caution about the
    same organ noise); `supersedes_rules` names rules instead, for when only some of the rules
    raising a code are made redundant. `attach` binds a result of the check (alias -> result
    kind) when the alert is rendered, None when the check has none, so that the alert can
    quote what the check concluded. `withholds` names result kinds the check does not give
    when this alert is reported (the conclusion cannot be trusted beside it).
    """

    id: str
    code: str
    severity: Severity
    when: Sequence[Any]
    message: Text
    suggestion: Text
    source: Source
    params: Mapping[str, Any] = field(default_factory=dict)
    evidence: Evidence | None = None
    aggregate: bool = False
    supersedes: tuple[str, ...] = ()
    supersedes_rules: tuple[str, ...] = ()
    attach: Mapping[str, str] = field(default_factory=dict)
    withholds: tuple[str, ...] = ()
    description: str = ""

    @cached_property
    def templates(self) -> dict[str, Template]:
        """The compiled templates among message and suggestion (a bad one raises here, at
        start-up: the lint reports it)."""
        return {
            name: Template.compile(text)
            for name, text in (("message", self.message), ("suggestion", self.suggestion))
            if isinstance(text, str)
        }

    @cached_property
    def evidence_items(self) -> list[Item] | None:
        if self.evidence is None or callable(self.evidence):
            return None
        return parse(self.evidence)


Rule = Derivation | AlertRule


def aliases(rule: Rule) -> list[str]:
    return [str(getattr(cond, "alias", "")) for cond in rule.when]


def arguments(fn: Callable[..., Any]) -> tuple[str, ...] | None:
    """The keyword arguments a rule function takes: its parameter names; None for a function
    that takes `**kwargs` (it is given everything the rule has)."""
    params = inspect.signature(fn).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return tuple(p.name for p in params if p.kind is not inspect.Parameter.VAR_POSITIONAL)


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
    """One rule firing: what it matched (fact ids) and what it produced. An alert not
    reported as such says why: `suppressed_by` the rule whose alert made it redundant (a
    superseding rule, or the kept alert of the same code), or `merged_into` the rule whose
    alert now carries it (codes whose alerts are merged, one per check)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    step: int
    rule_id: str
    matched: dict[str, str]
    derived: list[dict[str, Any]] = []
    alert_code: str | None = None
    suppressed_by: str | None = None
    merged_into: str | None = None


# One firing as the runtime records it: rule id, matched facts by alias, derived facts, alert
# code, the rule that suppressed its alert and the rule its alert was merged into.
Firing = tuple[
    str, Mapping[str, Mapping[str, Any]], list[dict[str, Any]], str | None, str | None, str | None
]

# Merges the alerts several rules raised under one code into the one alert reported.
Merge = Callable[[list["Alert"]], "Alert"]


@dataclass(frozen=True, eq=False)
class Outcome:
    """The alerts, the results the check concluded (by kind, each fact without its engine
    keys), and the trace, built only when it is read: most checks never show it, and building
    a model per firing was a tenth of a check.

    A dataclass, not a model: the runtime makes every part of it (alerts as Alert models,
    results from facts their kinds validated), the API reads its attributes into its own
    response models, and building it as a pydantic model without validation
    (`model_construct`) cost ~9 µs a check."""

    alerts: list[Alert]
    results: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _firings: Sequence[Firing] = ()

    @classmethod
    def of(
        cls,
        alerts: list[Alert],
        firings: Sequence[Firing],
        results: dict[str, list[dict[str, Any]]] | None = None,
    ) -> Outcome:
        return cls(alerts, results or {}, firings)

    @cached_property
    def trace(self) -> list[TraceEntry]:
        return [
            TraceEntry(
                step=step,
                rule_id=rule_id,
                matched={alias: str(f.get("id")) for alias, f in matched.items()},
                derived=derived,
                alert_code=code,
                suppressed_by=suppressed_by,
                merged_into=merged_into,
            )
            for step, (rule_id, matched, derived, code, suppressed_by, merged_into) in enumerate(
                self._firings, start=1
            )
        ]

    @property
    def highest(self) -> Severity | None:
        return max((a.severity for a in self.alerts), key=lambda s: s.rank, default=None)

    def result(self, kind: str) -> dict[str, Any] | None:
        """The one result of a kind, or None; EngineError-worthy ambiguity is the runtime's
        to catch (a kind concluded once per check)."""
        found = self.results.get(kind) or []
        return found[0] if found else None
