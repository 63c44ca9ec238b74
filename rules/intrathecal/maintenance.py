"""Intrathecal maintenance: increments, the interval between increases, high doses (001, Adult
Maintenance Therapy, Delivery regimen).

001: "In patients with spasticity of spinal origin the daily dose may be increased gradually by
10-30% to maintain adequate symptom control. Where the spasticity is of cerebral origin any
increase in dose should be limited to 20% (range: 5-20%)." "If a programmable pump is used the
dose should be increased only once every 24 hours; for non-programmable multi-dose reservoir
pumps intervals of 48 hours between dose adjustments are recommended." "There is limited
clinical experience using doses greater than 1000 micrograms/day."

When an increase of cerebral origin in maintenance (or phase unknown) is above +20 %, Then
INTRATHECAL_INCREMENT_TOO_LARGE (warning); spinal and unknown origin:
rules/intrathecal/titration.py.
When an increase comes less than 24 h after the last change (any pump), or less than 48 h with a
non-programmable pump, Then INTRATHECAL_INCREMENT_TOO_SOON (warning).
When the daily dose is above 1000 ug/day (not a screening bolus), Then
INTRATHECAL_DOSE_ABOVE_1000_UG (warning).
When the origin or the pump type would decide an increase, Then MISSING_DATA names it.
"""

from __future__ import annotations

from engine import AlertRule, Derivation, Severity, c, m
from rules.intrathecal.steps import (
    INCREASE,
    INTERVAL_SOURCE,
    ITB_DOSE,
    MISSING_SOURCE,
    NOT_SCREENING,
    NOT_STOP,
    itb_order,
)
from rules.intrathecal.titration import MAX_INCREASE_PCT_SPINAL, increment_limit
from rules.sources import ADULT_SMPC, Passage

MAX_INCREASE_PCT_CEREBRAL_MAINTENANCE = 20
MIN_HOURS_BETWEEN_INCREASES_PROGRAMMABLE = 24
MIN_HOURS_BETWEEN_INCREASES_NON_PROGRAMMABLE = 48
LIMITED_EXPERIENCE_ABOVE_UG_DAY = 1000

MAINTENANCE_INCREMENT_SOURCE = Passage(
    ADULT_SMPC,
    "In patients with spasticity of spinal origin the daily dose may be increased gradually by "
    "10-30% to maintain adequate symptom control. Where the spasticity is of cerebral origin "
    "any increase in dose should be limited to 20% (range: 5-20%).",
    note="In maintenance the cerebral limit is 20 % (15 % in titration); the spinal limit stays "
    "30 %. With the phase unknown only steps above 20 % are flagged (and MISSING_DATA names the "
    "phase).",
)
HIGH_DOSE_SOURCE = Passage(
    ADULT_SMPC,
    "There is limited clinical experience using doses greater than 1000 micrograms/day.",
    note="Exactly 1000 ug/day is not 'greater than'. Maintenance doses of up to 2003 ug/day "
    "(spinal) and 1400 ug/day (cerebral) are reported in 001, so this is a warning.",
)

_CEREBRAL_MAINTENANCE = (
    c.order
    << itb_order((m.it_origin == "cerebral") & ((m.it_phase == "maintenance") | -m.it_phase)),
    c.p << (INCREASE & (m.change_pct > MAX_INCREASE_PCT_CEREBRAL_MAINTENANCE)),
)
_STEP_EVIDENCE = ("p.* -proposed -seq -restart",)

RULES = [
    Derivation(
        id="intrathecal.increment_limit_cerebral_maintenance",
        when=_CEREBRAL_MAINTENANCE,
        derive=increment_limit,
        params={"limit": MAX_INCREASE_PCT_CEREBRAL_MAINTENANCE},
        doc="Cerebral origin in maintenance (or phase unknown), an increase above 20 %: the "
        "largest dose allowed, +20 %.",
    ),
    AlertRule(
        id="intrathecal.increment_too_large_cerebral_maintenance",
        code="INTRATHECAL_INCREMENT_TOO_LARGE",
        severity=Severity.WARNING,
        when=(
            *_CEREBRAL_MAINTENANCE,
            c.cap
            << (
                (m.kind == "itb_step_limit")
                & (m.direction == "increase")
                & (m.limit_pct == MAX_INCREASE_PCT_CEREBRAL_MAINTENANCE)
            ),
        ),
        message="Increase from {p.from_ug:g} to {p.to_ug:g} ug/day is +{p.change_pct:g} %, "
        "above the {limit} % limit for spasticity of cerebral origin.",
        suggestion="Increase by at most {limit} % of the previous daily dose: at most "
        "{cap.to_ug:g} ug/day.",
        params={"limit": MAX_INCREASE_PCT_CEREBRAL_MAINTENANCE},
        evidence=_STEP_EVIDENCE,
        source=MAINTENANCE_INCREMENT_SOURCE,
        description="Cerebral origin, maintenance (or phase unknown): increase above 20 %.",
    ),
    AlertRule(
        id="intrathecal.increment_too_soon",
        code="INTRATHECAL_INCREMENT_TOO_SOON",
        severity=Severity.WARNING,
        when=(
            c.order << itb_order(),
            c.p
            << (INCREASE & (m.hours_since_last_change < MIN_HOURS_BETWEEN_INCREASES_PROGRAMMABLE)),
        ),
        message="Increase {p.hours_since_last_change:g} h after the last change: even a "
        "programmable pump allows one increase every {hours} h.",
        suggestion="Wait until {if order.it_pump == non_programmable}{np_hours}{else}{hours}"
        "{end} h after the last change before increasing.",
        params={
            "hours": MIN_HOURS_BETWEEN_INCREASES_PROGRAMMABLE,
            "np_hours": MIN_HOURS_BETWEEN_INCREASES_NON_PROGRAMMABLE,
        },
        evidence=(*_STEP_EVIDENCE, "pump=order.it_pump"),
        source=INTERVAL_SOURCE,
        description="Increase sooner than 24 h after the last change (any pump).",
    ),
    AlertRule(
        id="intrathecal.increment_too_soon_non_programmable",
        code="INTRATHECAL_INCREMENT_TOO_SOON",
        severity=Severity.WARNING,
        when=(
            c.order << itb_order(m.it_pump == "non_programmable"),
            c.p
            << (
                INCREASE
                & (m.hours_since_last_change >= MIN_HOURS_BETWEEN_INCREASES_PROGRAMMABLE)
                & (m.hours_since_last_change < MIN_HOURS_BETWEEN_INCREASES_NON_PROGRAMMABLE)
            ),
        ),
        message="Increase {p.hours_since_last_change:g} h after the last change: with a "
        "non-programmable pump allow {hours} h between dose adjustments.",
        suggestion="Wait until {hours} h after the last change before increasing.",
        params={"hours": MIN_HOURS_BETWEEN_INCREASES_NON_PROGRAMMABLE},
        evidence=(*_STEP_EVIDENCE, "pump=order.it_pump"),
        source=INTERVAL_SOURCE,
        description="Non-programmable pump: increase sooner than 48 h after the last change.",
    ),
    AlertRule(
        id="intrathecal.dose_above_1000_ug",
        code="INTRATHECAL_DOSE_ABOVE_1000_UG",
        severity=Severity.WARNING,
        when=(
            c.order << itb_order(NOT_STOP & NOT_SCREENING),
            c.dose << (ITB_DOSE & (m.ug > LIMITED_EXPERIENCE_ABOVE_UG_DAY)),
        ),
        message="{dose.ug:g} ug/day is above {limit} ug/day, where clinical experience is limited.",
        suggestion="Confirm the dose and the concentration programmed; monitor closely for "
        "overdose (drowsiness, respiratory depression).",
        params={"limit": LIMITED_EXPERIENCE_ABOVE_UG_DAY},
        evidence=("daily_ug=dose.ug", "limit_ug_day=limit"),
        source=HIGH_DOSE_SOURCE,
        description="Intrathecal daily dose above 1000 ug/day.",
    ),
    AlertRule(
        id="missing.intrathecal_origin_maintenance",
        code="MISSING_DATA",
        severity=Severity.WARNING,
        when=(
            c.order << itb_order(-m.it_origin & (m.it_phase == "maintenance")),
            c.p
            << (
                INCREASE
                & (m.change_pct > MAX_INCREASE_PCT_CEREBRAL_MAINTENANCE)
                & (m.change_pct <= MAX_INCREASE_PCT_SPINAL)
            ),
        ),
        message="No spasticity origin: the +{p.change_pct:g} % increase is within the {spinal} "
        "% spinal limit but above the {cerebral} % cerebral limit.",
        suggestion="Give order.intrathecal.spasticity_origin: spinal or cerebral.",
        params={
            "spinal": MAX_INCREASE_PCT_SPINAL,
            "cerebral": MAX_INCREASE_PCT_CEREBRAL_MAINTENANCE,
            "missing": ["order.intrathecal.spasticity_origin"],
        },
        evidence=("missing",),
        source=MISSING_SOURCE,
        description="Maintenance increase between the cerebral and spinal limits without the "
        "origin.",
    ),
    AlertRule(
        id="missing.intrathecal_pump",
        code="MISSING_DATA",
        severity=Severity.WARNING,
        when=(
            c.order << itb_order(-m.it_pump),
            c.p
            << (
                INCREASE
                & (m.hours_since_last_change >= MIN_HOURS_BETWEEN_INCREASES_PROGRAMMABLE)
                & (m.hours_since_last_change < MIN_HOURS_BETWEEN_INCREASES_NON_PROGRAMMABLE)
            ),
        ),
        message="No pump type: an increase {p.hours_since_last_change:g} h after the last "
        "change is allowed with a programmable pump but too soon (48 h) with a "
        "non-programmable one.",
        suggestion="Give order.intrathecal.pump: programmable or non_programmable.",
        params={"missing": ["order.intrathecal.pump"]},
        evidence=("missing",),
        source=MISSING_SOURCE,
        description="Increase 24-48 h after the last change without the pump type.",
    ),
]
