"""One safety check: case -> facts -> engine -> result. Used by the API, CDS Hooks and CLI."""

from __future__ import annotations

from typing import Literal
from uuid import uuid4

from pydantic import BaseModel, ConfigDict, PrivateAttr, computed_field

from engine import Alert, Engine, Severity, TraceEntry
from engine import Outcome as EngineOutcome
from rules.case import Case
from rules.catalog import MERGES, RULESET_NAME, all_rules
from rules.facts import case_facts
from rules.release import RULESET_VERSION
from rules.vocabulary import VOCABULARY, OrderRemoval, SuggestedRegimen

Outcome = Literal["critical", "warning", "info", "no_alerts"]


class CheckResult(BaseModel):
    """The alerts of one check and what the rules concluded about the order: the one
    suggested regimen (every dose alert quotes it; CDS Hooks offers it as the corrected order)
    and the alert codes on which the order is better removed than given."""

    model_config = ConfigDict(frozen=True)

    check_id: str
    ruleset_version: str
    outcome: Outcome
    alerts: list[Alert]
    suggested_regimen: SuggestedRegimen | None = None
    remove_order: list[str] = []
    _engine_outcome: EngineOutcome | None = PrivateAttr(default=None)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def trace(self) -> list[TraceEntry]:
        """Built on first read (the engine's Outcome caches it): only ?explain shows it."""
        return self._engine_outcome.trace if self._engine_outcome is not None else []


def build_engine() -> Engine:
    """Register and lint the whole ruleset. Call once per process, at start-up."""
    return Engine(RULESET_NAME, all_rules(), merges=MERGES, vocabulary=VOCABULARY)


class Checker:
    def __init__(self, engine: Engine | None = None) -> None:
        self.engine = engine or build_engine()

    def run(self, case: Case, check_id: str | None = None) -> CheckResult:
        outcome = self.engine.evaluate(case_facts(case))
        highest: Severity | None = outcome.highest
        regimen = outcome.result(SuggestedRegimen.KIND)
        removals = outcome.results.get(OrderRemoval.KIND, [])
        result = CheckResult(
            check_id=check_id or uuid4().hex,
            ruleset_version=RULESET_VERSION,
            outcome=highest.value if highest else "no_alerts",
            alerts=outcome.alerts,
            suggested_regimen=SuggestedRegimen(**regimen) if regimen else None,
            remove_order=list(dict.fromkeys(str(r["code"]) for r in removals)),
        )
        result._engine_outcome = outcome
        return result
