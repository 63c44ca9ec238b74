"""Renal impairment on oral baclofen (and an order whose route is not yet known).

004 (consumer guide, tertiary): "CrCl 30–50 mL/min: Reduce to 5 mg/day; increase cautiously."
"CrCl <30 mL/min: Avoid oral use; use intrathecal with extreme caution."

When CrCl/eGFR (the lower of the two) is 30 to 50 mL/min and an active oral order gives more
than 5 mg/day, Then RENAL_IMPAIRMENT (warning): about 5 mg/day, titrated cautiously; at or below
5 mg/day the order already follows the advice. With the dose not (yet) known, the same warning
without the dose.
When CrCl/eGFR is 15 to < 30 mL/min on an active oral order, Then RENAL_IMPAIRMENT (warning):
avoid oral baclofen.
Below 15 mL/min the contraindication applies (rules/contraindications.py); the intrathecal
caution is rules/intrathecal/renal.py.
"""

from __future__ import annotations

from engine import AlertRule, Severity, c, m
from rules.derive import END_STAGE_ML_MIN
from rules.sources import CONSUMER_GUIDE, Passage

# Policy: exactly 50 is inside "30–50" (the warning fires at 50 mL/min, not at 50.1); exactly
# 30 belongs to it too (< 30 is "avoid oral").
RENAL_IMPAIRMENT_UP_TO_ML_MIN = 50
AVOID_ORAL_BELOW_ML_MIN = 30
RENAL_START_MG_DAY = 5

_RENAL_NOTE = (
    "Only 004 (tertiary) gives numbers; 002 (secondary) asks for a more cautious "
    "approach in renal impairment; the primary texts are silent. The lower of CrCl "
    "and eGFR is used. Policy: exactly 50 mL/min is inside 004's '30–50' (warning); "
    "50.1 is not."
)
RENAL_SOURCE = Passage(
    CONSUMER_GUIDE,
    "CrCl 30–50 mL/min: Reduce to 5 mg/day; increase cautiously.",
    note=_RENAL_NOTE,
)
RENAL_SEVERE_SOURCE = Passage(
    CONSUMER_GUIDE,
    "CrCl <30 mL/min: Avoid oral use; use intrathecal with extreme caution.",
    note=_RENAL_NOTE,
)

_oral_active = (m.kind == "order") & (m.action != "stop") & (m.route == "oral")
_moderate = (
    (m.kind == "renal_function")
    & (m.ml_min >= AVOID_ORAL_BELOW_ML_MIN)
    & (m.ml_min <= RENAL_IMPAIRMENT_UP_TO_ML_MIN)
)

RULES = [
    AlertRule(
        id="renal.impairment_moderate",
        code="RENAL_IMPAIRMENT",
        severity=Severity.WARNING,
        when=(
            c.renal << _moderate,
            c.order << _oral_active,
            c.dose << ((m.kind == "daily_dose") & (m.mg > RENAL_START_MG_DAY)),
        ),
        message="{renal.measure} {renal.ml_min:g} {renal.unit} (30–{limit} mL/min) and {dose.mg:g} "
        "mg/day (advised: about {start} mg/day): baclofen accumulates.",
        suggestion="{if order.action == start}Start at about {start} mg/day and increase "
        "cautiously, watching for sedation, confusion and weakness.{else}Check that "
        "{dose.mg:g} mg/day was reached by cautious titration at this renal function; reduce "
        "toward {start} mg/day if sedation, confusion or weakness appear.{end}",
        params={"limit": RENAL_IMPAIRMENT_UP_TO_ML_MIN, "start": RENAL_START_MG_DAY},
        evidence=("renal.measure", "renal.ml_min", "daily_mg=dose.mg", "advised_mg_day=start"),
        source=RENAL_SOURCE,
        description="CrCl/eGFR 30 to 50 mL/min and above 5 mg/day: low dose, cautious "
        "titration. At or below 5 mg/day the order already follows the advice: no alert.",
    ),
    AlertRule(
        id="renal.impairment_moderate_dose_unknown",
        code="RENAL_IMPAIRMENT",
        severity=Severity.WARNING,
        when=(
            c.renal << _moderate,
            c.order << (_oral_active & (-m.dose_value | -m.frequency_per_day)),
        ),
        message="{renal.measure} {renal.ml_min:g} {renal.unit} is within 30–{limit} mL/min: "
        "baclofen is renally excreted and accumulates.",
        suggestion="Keep the daily dose at about {start} mg/day and titrate cautiously.",
        params={"limit": RENAL_IMPAIRMENT_UP_TO_ML_MIN, "start": RENAL_START_MG_DAY},
        evidence=("renal.measure", "renal.ml_min", "advised_mg_day=start"),
        source=RENAL_SOURCE,
        description="CrCl/eGFR 30 to 50 mL/min on an order whose dose is not (yet) known.",
    ),
    AlertRule(
        id="renal.impairment_severe",
        code="RENAL_IMPAIRMENT",
        severity=Severity.WARNING,
        when=(
            c.renal
            << (
                (m.kind == "renal_function")
                & (m.ml_min >= END_STAGE_ML_MIN)
                & (m.ml_min < AVOID_ORAL_BELOW_ML_MIN)
            ),
            c.order << _oral_active,
        ),
        message="{renal.measure} {renal.ml_min:g} {renal.unit} is below {limit} mL/min: oral "
        "baclofen should be avoided.",
        suggestion="Avoid oral baclofen; if there is no alternative, specialist review and "
        "intrathecal use with extreme caution.",
        params={"limit": AVOID_ORAL_BELOW_ML_MIN},
        evidence=("renal.measure", "renal.ml_min"),
        source=RENAL_SEVERE_SOURCE,
        description="CrCl/eGFR 15 to < 30 mL/min: avoid oral baclofen.",
    ),
]
