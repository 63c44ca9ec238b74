"""Intrathecal baclofen under 4 years (001, Paediatric population).

001: "The safety and efficacy of baclofen for the treatment of severe spasticity of cerebral or
spinal origin in children younger than 4 years of age have not been established."

When an intrathecal order (not a stop) is for a child younger than 4 (before the 4th
birthday), Then INTRATHECAL_AGE_UNDER_4 (warning): a specialist decision only.
"""

from __future__ import annotations

from engine import AlertRule, Severity, c, m
from rules.intrathecal.steps import NOT_STOP, itb_order
from rules.sources import ADULT_SMPC, Passage

MIN_AGE_YEARS = 4

AGE_SOURCE = Passage(
    ADULT_SMPC,
    "The safety and efficacy of baclofen for the treatment of severe spasticity of cerebral or "
    "spinal origin in children younger than 4 years of age have not been established.",
    note="Younger than 4 = before the 4th birthday (completed years < 4).",
)

RULES = [
    AlertRule(
        id="intrathecal.age_under_4",
        code="INTRATHECAL_AGE_UNDER_4",
        severity=Severity.WARNING,
        when=(
            c.age << ((m.kind == "age") & (m.years < MIN_AGE_YEARS)),
            c.order << itb_order(NOT_STOP),
        ),
        message="Intrathecal baclofen for a {age.years}-year-old: safety and efficacy below "
        "{limit} years of age have not been established.",
        suggestion="Specialist decision only; document the indication and monitor closely.",
        params={"limit": MIN_AGE_YEARS},
        evidence=("age_years=age.years", "min_age_years=limit"),
        source=AGE_SOURCE,
        description="Intrathecal order for a child younger than 4 years.",
    ),
]
