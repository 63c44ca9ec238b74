"""Stopping oral baclofen (001).

001: "Except in overdose-related emergencies, the treatment with baclofen should always be
gradually discontinued by successively reducing the dosage. Baclofen should not be
discontinued suddenly."

When an oral course is stopped without a taper, Then ABRUPT_DISCONTINUATION (warning): taper over
1-2 weeks. Stopping one of several orders by mouth that leaves another in effect is a cut of
their total (rules/oral/concurrent.py), not a stop.
When more than half of an established daily dose (above 15 mg/day) is cut in one step, Then the
same warning (a stop in all but name): cut by at most half at a time.
"""

from __future__ import annotations

from collections.abc import Iterator

from engine import AlertRule, Derivation, Severity, c, m
from rules.oral.starting_dose import START_MAX_MG_DAY_ADULT
from rules.sources import ADULT_SMPC, Passage
from rules.vocabulary import CutFloor, DoseStep

# Our threshold for a step-down that is a stop in all but name: more than half of an
# established dose cut at once. Not from below the adult start (15 mg/day), where the next
# step of any taper is the stop itself.
ABRUPT_CUT_FRACTION = 0.5
ABRUPT_CUT_FROM_ABOVE_MG_DAY = START_MAX_MG_DAY_ADULT

DISCONTINUATION_SOURCE = Passage(
    ADULT_SMPC,
    "Except in overdose-related emergencies, the treatment with baclofen should always be "
    "gradually discontinued by successively reducing the dosage. Baclofen should not be "
    "discontinued suddenly.",
    note="004: taper over 1-2 weeks to prevent withdrawal seizures, hallucinations, hyperthermia.",
)
ABRUPT_CUT_SOURCE = Passage(
    ADULT_SMPC,
    DISCONTINUATION_SOURCE.excerpt,
    note="001 asks for successive reductions; neither it nor 000 sizes a step. Our threshold: a "
    "single cut of more than half of an established dose above 15 mg/day is a sudden "
    "discontinuation in all but name. 004 tapers over 1-2 weeks.",
)


def cut_floor(step: DoseStep, limit: float) -> Iterator[CutFloor]:
    yield CutFloor(min_mg_day=step.from_mg * (1 - limit))


_ABRUPT_CUT = (
    c.step
    << (
        (m.kind == "dose_step")
        & (m.route == "oral")
        & (m.from_mg > ABRUPT_CUT_FROM_ABOVE_MG_DAY)
        & (m.reduction_fraction > ABRUPT_CUT_FRACTION)
    ),
)

_STOP = (m.kind == "order") & (m.route == "oral") & (m.action == "stop") & (m.taper == False)
_STOP_MESSAGE = (
    "Baclofen stopped without a taper{if order.prev_frequency_per_day}"
    "{if order.prev_dose_value} (current regimen {order.prev_dose_value:g} "
    "{order.prev_dose_unit} {order.prev_frequency_per_day} times a day){end}{end}: sudden "
    "withdrawal can cause hallucinations, seizures and hyperthermia."
)
_STOP_SUGGESTION = (
    "Taper by successive dose reductions over 1-2 weeks instead of stopping, unless this is an "
    "overdose emergency."
)

RULES = [
    Derivation(
        id="oral_dose.cut_floor",
        when=_ABRUPT_CUT,
        derive=cut_floor,
        params={"limit": ABRUPT_CUT_FRACTION},
        doc="The lowest daily dose one step may cut to: half the established dose.",
    ),
    AlertRule(
        id="oral_dose.abrupt_stop",
        code="ABRUPT_DISCONTINUATION",
        severity=Severity.WARNING,
        when=(c.order << (_STOP & -m.n_concurrent),),
        message=_STOP_MESSAGE,
        suggestion=_STOP_SUGGESTION,
        evidence=("order.action", "order.taper"),
        source=DISCONTINUATION_SOURCE,
        description="Established course stopped without a taper.",
    ),
    AlertRule(
        id="oral_dose.abrupt_stop_of_last_order",
        code="ABRUPT_DISCONTINUATION",
        severity=Severity.WARNING,
        when=(
            c.order << (_STOP & +m.n_concurrent),
            c.total
            << (
                (m.kind == "regimen_total")
                & (m.upto == c.order.n_concurrent)
                & (m.orders == 0)
                & (m.concurrent_unknown == 0)
            ),
        ),
        message=_STOP_MESSAGE,
        suggestion=_STOP_SUGGESTION,
        evidence=("order.action", "order.taper"),
        source=DISCONTINUATION_SOURCE,
        description="Stopped without a taper, leaving no other baclofen order by mouth.",
    ),
    AlertRule(
        id="oral_dose.abrupt_cut",
        code="ABRUPT_DISCONTINUATION",
        severity=Severity.WARNING,
        when=(*_ABRUPT_CUT, c.floor << (m.kind == "cut_floor")),
        message="Daily dose cut from {step.from_mg:g} to {step.to_mg:g} mg/day in one step "
        "({step.reduction_fraction:.0%~limit} less): sudden withdrawal of most of an established "
        "dose can cause hallucinations, seizures and hyperthermia.",
        suggestion="Reduce by at most half at a time (to no less than {floor.min_mg_day:g} "
        "mg/day now), in successive steps over 1-2 weeks, unless this is an overdose "
        "emergency.",
        params={"limit": ABRUPT_CUT_FRACTION},
        evidence=("step.*", "max_reduction_fraction=limit"),
        source=ABRUPT_CUT_SOURCE,
        description="More than half of an established dose (above 15 mg/day) cut in one step.",
    ),
    AlertRule(
        id="missing.stopped_regimen",
        code="MISSING_DATA",
        severity=Severity.WARNING,
        when=(
            c.order << (_STOP & +m.n_concurrent & (m.has_previous == False)),
            c.total
            << ((m.kind == "regimen_total") & (m.upto == c.order.n_concurrent) & (m.orders > 0)),
        ),
        message="Order stopped without order.previous beside {total.orders} other baclofen "
        "order{if total.orders != 1}s{end} by mouth ({total.mg:g} mg/day remain): whether the "
        "stop cuts more than half of the daily dose could not be checked.",
        suggestion="Give order.previous (the dose and frequency of the regimen this order "
        "stops), or check by hand that the cut is at most half.",
        params={"missing": ["order.previous"]},
        evidence=("missing",),
        source=ABRUPT_CUT_SOURCE,
        description="One of several orders by mouth stopped without the regimen it stops: the "
        "cut could not be sized.",
    ),
]
