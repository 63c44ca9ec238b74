"""Stopping or cutting an intrathecal infusion (001).

001: "Except in overdose-related emergencies, the treatment with baclofen should always be
gradually discontinued by successively reducing the dosage. Baclofen should not be
discontinued suddenly." "In both cases the daily dose may also be reduced by 10-20% if patients
suffer side effects."

When intrathecal therapy is stopped without a taper (not during screening: test boluses are no
infusion), Then INTRATHECAL_ABRUPT_DISCONTINUATION (critical): withdrawal can be fatal.
When the daily dose is cut by more than 20 % in one step, Then the same code as a warning,
naming the lowest dose one step may go to.
"""

from __future__ import annotations

from collections.abc import Iterator

from engine import AlertRule, Derivation, Severity, c, m
from rules.intrathecal.steps import NOT_SCREENING, PROPOSED, itb_order
from rules.sources import ADULT_SMPC, Passage
from rules.vocabulary import ItbStep, ItbStepLimit

MAX_REDUCTION_PCT = 20  # reductions for side effects are 10-20 %

DISCONTINUATION_SOURCE = Passage(
    ADULT_SMPC,
    "Except in overdose-related emergencies, the treatment with baclofen should always be "
    "gradually discontinued by successively reducing the dosage. Baclofen should not be "
    "discontinued suddenly.",
    note="Intrathecal withdrawal can be fatal: a stop without a taper is critical. A stop "
    "during screening (test boluses, no infusion) is not a discontinuation.",
)
REDUCTION_SOURCE = Passage(
    ADULT_SMPC,
    "In both cases the daily dose may also be reduced by 10-20% if patients suffer side effects.",
    note="A single cut of more than 20 % is a warning (exactly -20 % is allowed); taper "
    "gradually, as for a stop.",
)


def reduction_floor(p: ItbStep, limit: int) -> Iterator[ItbStepLimit]:
    yield ItbStepLimit(direction="decrease", limit_pct=limit, to_ug=p.from_ug * (1 - limit / 100))


_LARGE_REDUCTION = (
    c.p << (PROPOSED & (m.direction == "decrease") & (m.change_pct < -MAX_REDUCTION_PCT)),
)

RULES = [
    Derivation(
        id="intrathecal.reduction_floor",
        when=_LARGE_REDUCTION,
        derive=reduction_floor,
        params={"limit": MAX_REDUCTION_PCT},
        doc="The lowest dose one cut may go to: 20 % below the current dose.",
    ),
    AlertRule(
        id="intrathecal.abrupt_stop",
        code="INTRATHECAL_ABRUPT_DISCONTINUATION",
        severity=Severity.CRITICAL,
        when=(c.order << itb_order((m.action == "stop") & (m.taper == False) & NOT_SCREENING),),
        message="Intrathecal baclofen stopped without a taper: abrupt withdrawal (high fever, "
        "altered mental status, rebound spasticity, muscle rigidity) can be fatal.",
        suggestion="Reduce the daily dose gradually (10-20 % steps) instead of stopping, unless "
        "this is an overdose emergency; check the pump refill date and alarms.",
        evidence=("order.action", "order.taper"),
        source=DISCONTINUATION_SOURCE,
        description="Intrathecal therapy stopped without a taper.",
    ),
    AlertRule(
        id="intrathecal.large_reduction",
        code="INTRATHECAL_ABRUPT_DISCONTINUATION",
        severity=Severity.WARNING,
        when=(
            *_LARGE_REDUCTION,
            c.floor << ((m.kind == "itb_step_limit") & (m.direction == "decrease")),
        ),
        message="Reduction from {p.from_ug:g} to {p.to_ug:g} ug/day is {p.change_pct:g} %, more "
        "than the {limit} % cuts used for side effects: risk of withdrawal.",
        suggestion="Reduce by at most {limit} % per step (to {floor.to_ug:g} ug/day), unless "
        "this is an overdose emergency.",
        params={"limit": MAX_REDUCTION_PCT},
        evidence=("p.* -proposed -seq -restart",),
        source=REDUCTION_SOURCE,
        description="Single intrathecal dose cut of more than 20 %.",
    ),
]
