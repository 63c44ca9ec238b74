"""The steps of an intrathecal infusion, which every intrathecal recommendation reads.

001: "If a programmable pump is used the dose should be increased only once every 24 hours"
(Dose-Titration Phase): an interval counts from the last regimen change.

When the history holds two regimens in a row, Then the step between them: percentage change,
direction and hours between the changes (and how long ago the earlier one ended).
When an order changes or continues an infusion, Then the step it makes from the current
regimen (`proposed`), with the hours since the last change when the order's time is known.
When an order starts an infusion that has a history (a restart), Then the restart against the
initial dose, and, when it is above that, its step from the last regimen like a change's.
When the infusion's start is known, Then its age in hours; without it the first regimen bounds
the age from below.
Reading of the input: consecutive history entries at the same daily dose are one regimen (a
refill is not a change), the reading `intrathecal.regimens` below.
When an intrathecal order lacks its details, its phase, its dose, its time or (for a change)
its history, Then MISSING_DATA names the field.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from engine import AlertRule, Derivation, Severity, c, given, m
from rules.case import UG_PER_UNIT, IntrathecalHistoryEntry
from rules.readings import Reading
from rules.sources import ADULT_SMPC, Passage
from rules.unit_slips import slip
from rules.vocabulary import (
    DailyDose,
    ItbInfusionAge,
    ItbRegimen,
    ItbResumedFrom,
    ItbResumedInfusion,
    ItbStep,
    OrderFact,
)

# Percentages are rounded to PCT_DECIMALS and hours to HOURS_DECIMALS, so that exactly +30 % or
# exactly 24 h is never pushed over a boundary by floating-point error.
PCT_DECIMALS = 1
HOURS_DECIMALS = 2
INITIAL_DOSE_TOLERANCE_PCT = 5  # pump programming steps and rounding; beyond is another dose

INTERVAL_SOURCE = Passage(
    ADULT_SMPC,
    "If a programmable pump is used the dose should be increased only once every 24 hours; for "
    "non-programmable multi-dose reservoir pumps intervals of 48 hours between dose adjustments "
    "are recommended.",
    note="Measured from the last regimen change in the history to order.time; exactly 24 h "
    "(48 h) is allowed. Applied in maintenance too.",
)
MISSING_SOURCE = Passage(
    ADULT_SMPC,
    "Prior to initiation of a chronic infusion, the patient's response to intrathecal bolus "
    "doses administered via a catheter or lumbar puncture must be assessed.",
    note="Every intrathecal check depends on the phase, the dose history and the screening "
    "response; missing data is answered with MISSING_DATA naming the field.",
)

REGIMENS = Reading(
    id="intrathecal.regimens",
    when="Two consecutive entries of order.intrathecal.history have the same daily dose (to "
    "0.001 ug)",
    then="The later entry continues the regimen of the earlier one (a refill, or re-programming "
    "at the same dose): it is not a regimen change and does not restart the interval to the "
    "next increase; the regimen's clinical effect becomes the latest recorded.",
    source=INTERVAL_SOURCE,
    where="rules.intrathecal.steps.regimens",
)


def regimens(history: list[IntrathecalHistoryEntry]) -> list[IntrathecalHistoryEntry]:
    """The history as regimen changes (the reading REGIMENS)."""
    out: list[IntrathecalHistoryEntry] = []
    for h in history:
        # Compared at the 0.001 ug the rules round to: 1.001 mg after 1001 ug is the same dose.
        if out and (
            round(h.daily_dose.value * UG_PER_UNIT[h.daily_dose.unit], 3)
            == round(out[-1].daily_dose.value * UG_PER_UNIT[out[-1].daily_dose.unit], 3)
        ):
            if h.clinical_effect is not None:
                out[-1] = out[-1].model_copy(update={"clinical_effect": h.clinical_effect})
            continue
        out.append(h)
    return out


def ug(value: float, unit: str) -> float:
    return round(value * UG_PER_UNIT[unit], 3)


def hours(start: str, end: str) -> float:
    delta = datetime.fromisoformat(end) - datetime.fromisoformat(start)
    return round(delta.total_seconds() / 3600, HOURS_DECIMALS)


def pct(before: float, after: float) -> float:
    return round((after - before) / before * 100, PCT_DECIMALS)


def _direction(before: float, after: float) -> Any:
    return "increase" if after > before else "decrease" if after < before else "unchanged"


# -- conditions every intrathecal module uses -------------------------------------------------
def itb_order(*tests: Any) -> Any:
    """An intrathecal order meeting every test given."""
    cond = (m.kind == "order") & (m.route == "intrathecal")
    for t in tests:
        cond = cond & t
    return cond


NOT_STOP = m.action != "stop"
NOT_SCREENING = -m.it_phase | (m.it_phase != "screening")
INFUSION_PHASE = (m.it_phase == "titration") | (m.it_phase == "maintenance")
ITB_DOSE = (m.kind == "daily_dose") & (m.route == "intrathecal")
PROPOSED = (m.kind == "itb_step") & (m.proposed == True)
INCREASE = PROPOSED & (m.direction == "increase")
EARLIER_STEP = (m.kind == "itb_step") & (m.proposed == False)
LAST_REGIMEN = (m.kind == "itb_history") & (m.last == True)
FIRST_REGIMEN = (m.kind == "itb_history") & (m.first == True)


# -- derivations ------------------------------------------------------------------------------
def regimen_ug(h: ItbRegimen) -> float:
    return ug(h.dose_value, h.dose_unit)


def history_slip(h: ItbRegimen) -> str | None:
    """Why a history regimen reads as a unit slip (rules/unit_slips.py): no step is measured
    from or to it (units.recorded_dose_suspect says so)."""
    mg = regimen_ug(h) / 1000
    return slip("intrathecal", h.dose_unit, mg, mg, recorded=True)


def history_step(order: OrderFact, prev: ItbRegimen, cur: ItbRegimen) -> Iterator[ItbStep]:
    if history_slip(prev) or history_slip(cur):
        return
    before, after = ug(prev.dose_value, prev.dose_unit), ug(cur.dose_value, cur.dose_unit)
    # The earlier regimen (from_ug) ended when this one started: how long before the order.
    yield ItbStep(
        seq=cur.seq,
        proposed=False,
        from_ug=before,
        to_ug=after,
        change_pct=pct(before, after),
        direction=_direction(before, after),
        hours_since_last_change=hours(prev.time, cur.time),
        at=cur.time,
        effect_after=cur.effect,
        from_ended_hours_ago=hours(cur.time, order.time) if order.time else None,
    )


def _step_from_last(order: OrderFact, dose: DailyDose, last: ItbRegimen, restart: bool) -> ItbStep:
    before, after = ug(last.dose_value, last.dose_unit), dose.ug
    return ItbStep(
        seq=last.seq + 1,
        proposed=True,
        restart=restart,
        from_ug=before,
        to_ug=after,
        change_pct=pct(before, after),
        direction=_direction(before, after),
        hours_since_last_change=hours(last.time, order.time) if order.time else None,
        at=order.time,
    )


def proposed_step(order: OrderFact, dose: DailyDose, last: ItbRegimen) -> Iterator[ItbStep]:
    if history_slip(last):
        return
    yield _step_from_last(order, dose, last, restart=False)


def resumed_infusion(dose: DailyDose, first: ItbRegimen) -> Iterator[ItbResumedInfusion]:
    if history_slip(first):
        return
    initial = ug(first.dose_value, first.dose_unit)
    yield ItbResumedInfusion(
        ordered_ug=dose.ug,
        initial_ug=initial,
        initial_since=first.time,
        change_pct=pct(initial, dose.ug),
    )


def resumed_from(r: ItbResumedInfusion, last: ItbRegimen) -> Iterator[ItbResumedFrom]:
    """The regimen before the interruption (a fact of its own: with one regimen, the first is
    the last, and one fact cannot match two conditions of a rule)."""
    if history_slip(last):
        return
    before = ug(last.dose_value, last.dose_unit)
    yield ItbResumedFrom(
        last_ug=before,
        versus_last=(
            "same" if r.ordered_ug == before else "above" if r.ordered_ug > before else "below"
        ),
    )


def restart_step(order: OrderFact, dose: DailyDose, last: ItbRegimen) -> Iterator[ItbStep]:
    """Only an increase over the last regimen: a restart below it is toward the initial dose
    001 asks for, not a cut of a running infusion."""
    if history_slip(last):
        return
    step = _step_from_last(order, dose, last, restart=True)
    if step.direction == "increase":
        yield step


def infusion_age(order: OrderFact) -> Iterator[ItbInfusionAge]:
    yield ItbInfusionAge(
        exact=True,
        hours=hours(given(order.it_infusion_started), given(order.time)),
        basis="order.intrathecal.infusion_started",
    )


def infusion_age_lower_bound(order: OrderFact, first: ItbRegimen) -> Iterator[ItbInfusionAge]:
    """Without infusion_started, the first recorded regimen only bounds the infusion's age from
    below: the infusion is at least this old."""
    yield ItbInfusionAge(
        exact=False,
        hours=hours(first.time, given(order.time)),
        basis="first entry of order.intrathecal.history",
    )


_RESTART = (c.order << itb_order((m.action == "start") & NOT_SCREENING), c.dose << ITB_DOSE)

RULES = [
    Derivation(
        id="intrathecal.history_step",
        when=(
            c.order << itb_order(),
            c.prev << (m.kind == "itb_history"),
            c.cur << ((m.kind == "itb_history") & (m.seq == c.prev.seq + 1)),
        ),
        derive=history_step,
        doc="Each regimen change in the history: percentage change and hours between changes.",
    ),
    Derivation(
        id="intrathecal.proposed_step",
        when=(
            c.order
            << itb_order(((m.action == "change") | (m.action == "continue")) & NOT_SCREENING),
            c.dose << ITB_DOSE,
            c.last << LAST_REGIMEN,
        ),
        derive=proposed_step,
        doc="The ordered dose against the current regimen: the step this order makes.",
    ),
    Derivation(
        id="intrathecal.resumed_infusion",
        when=(*_RESTART, c.first << FIRST_REGIMEN),
        derive=resumed_infusion,
        doc="A start with a dose history resumes the infusion: against the initial dose.",
    ),
    Derivation(
        id="intrathecal.resumed_from",
        when=(c.r << (m.kind == "itb_resumed_infusion"), c.last << LAST_REGIMEN),
        derive=resumed_from,
        doc="The same restart against the regimen before the interruption.",
    ),
    Derivation(
        id="intrathecal.restart_step",
        when=(
            *_RESTART,
            c.last << LAST_REGIMEN,
            c.r
            << ((m.kind == "itb_resumed_infusion") & (m.change_pct > INITIAL_DOSE_TOLERANCE_PCT)),
        ),
        derive=restart_step,
        doc="A restart above the initial dose is, against the last regimen, a step like a "
        "change's: the increment, interval and red-flag rules apply to it.",
    ),
    Derivation(
        id="intrathecal.infusion_age",
        when=(c.order << itb_order(+m.time & +m.it_infusion_started),),
        derive=infusion_age,
        doc="With the infusion's start and the order's time: the hours since the infusion started.",
    ),
    Derivation(
        id="intrathecal.infusion_age_lower_bound",
        when=(c.order << itb_order(+m.time & -m.it_infusion_started), c.first << FIRST_REGIMEN),
        derive=infusion_age_lower_bound,
        doc="Without the infusion's start: the hours since the first recorded regimen (the "
        "infusion is at least that old).",
    ),
    AlertRule(
        id="missing.intrathecal_details",
        code="MISSING_DATA",
        severity=Severity.WARNING,
        when=(c.order << itb_order(NOT_STOP & (m.has_intrathecal == False)),),
        message="No intrathecal details on an intrathecal order: the screening, first-infusion, "
        "titration and pump-malfunction checks could not run.",
        suggestion="Give order.intrathecal: phase, spasticity_origin, pump, infusion_started, "
        "history (and screening_doses during screening).",
        params={"missing": ["order.intrathecal"]},
        evidence=("missing",),
        source=MISSING_SOURCE,
        description="Intrathecal order without order.intrathecal.",
    ),
    AlertRule(
        id="missing.intrathecal_phase",
        code="MISSING_DATA",
        severity=Severity.WARNING,
        when=(c.order << itb_order(NOT_STOP & (m.has_intrathecal == True) & -m.it_phase),),
        message="No intrathecal phase: whether the dose is a test bolus or a daily infusion is "
        "unknown, so the screening checks and the phase-specific increment limits could not run.",
        suggestion="Give order.intrathecal.phase: screening, titration or maintenance.",
        params={"missing": ["order.intrathecal.phase"]},
        evidence=("missing",),
        source=MISSING_SOURCE,
        description="Intrathecal order without a phase.",
    ),
    AlertRule(
        id="missing.intrathecal_dose",
        code="MISSING_DATA",
        severity=Severity.WARNING,
        when=(c.order << itb_order(NOT_STOP & -m.dose_value),),
        message="No dose on the intrathecal order: the dose, step and red-flag checks could not "
        "run.",
        suggestion="Give order.dose: the daily infusion dose, or the test bolus during screening.",
        params={"missing": ["order.dose"]},
        evidence=("missing",),
        source=MISSING_SOURCE,
        description="Intrathecal order without a dose.",
    ),
    AlertRule(
        id="missing.intrathecal_order_time",
        code="MISSING_DATA",
        severity=Severity.WARNING,
        when=(
            c.order
            << itb_order(
                NOT_STOP
                & -m.time
                & ((m.it_n_history > 0) | (m.it_n_screening > 0) | +m.it_infusion_started)
            ),
        ),
        message="No order.time (the order is not for today): the hours since the last change, "
        "since the infusion started and since the last test dose could not be checked.",
        suggestion="Give order.time, when the order takes effect (ISO date-time with offset).",
        params={"missing": ["order.time"]},
        evidence=("missing",),
        source=MISSING_SOURCE,
        description="Intrathecal order for another day without a time: intervals not checked.",
    ),
    AlertRule(
        id="missing.intrathecal_history",
        code="MISSING_DATA",
        severity=Severity.WARNING,
        when=(
            c.order << itb_order((m.action == "change") & INFUSION_PHASE & (m.it_n_history == 0)),
        ),
        message="Intrathecal dose change without order.intrathecal.history: the size of the "
        "step, the interval since the last change and the pump red flags could not be checked.",
        suggestion="Give the regimens so far in order.intrathecal.history (time, daily_dose, "
        "clinical_effect), oldest first.",
        params={"missing": ["order.intrathecal.history"]},
        evidence=("missing",),
        source=MISSING_SOURCE,
        description="Intrathecal change without the dose history.",
    ),
    AlertRule(
        id="missing.intrathecal_history_continued",
        code="MISSING_DATA",
        severity=Severity.WARNING,
        when=(
            c.order << itb_order((m.action == "continue") & INFUSION_PHASE & (m.it_n_history == 0)),
            c.step << ((m.kind == "dose_step") & (m.route == "intrathecal")),
        ),
        message="Intrathecal order continued from a previous regimen of another dose, without "
        "order.intrathecal.history: the size of the step, the interval since the last change "
        "and the pump red flags could not be checked.",
        suggestion="Give the regimens so far in order.intrathecal.history (time, daily_dose, "
        "clinical_effect), oldest first; order.previous is not read for intrathecal orders.",
        params={"missing": ["order.intrathecal.history"]},
        evidence=("missing",),
        source=MISSING_SOURCE,
        description="Intrathecal continue whose previous regimen differs, without the dose "
        "history (a continue at the same dose needs none).",
    ),
]
