"""Dividing a child's daily dose (000).

000: "0.3-2.0 mg/kg in 2-4 divided doses daily".

When a child's (under 18) oral order gives fewer than 2 or more than 4 doses a day (not a stop),
Then DOSING_FREQUENCY_OUTSIDE_RANGE (warning): 2-4 doses, preferably 4. Beside other orders by
mouth (order.concurrent) the child takes at least two doses a day, and whether they fall at the
same times is not known (a bedtime dose beside three a day makes four; two orders four times a
day are likely four times of two doses): the division is then not checked. The suggested regimen
of the check (rules/oral/regimen.py) uses the same usual numbers of doses.
"""

from __future__ import annotations

from engine import AlertRule, Severity, c, m
from rules.sources import PAED_SMPC, Passage

DIVIDED_DOSES_CHILD = (2, 4)
PREFERRED_DOSES_CHILD = 4  # 000: "preferably in 4 divided doses"
USUAL_DOSES_ADULT = 3  # 001: the regimen is given three times daily

DIVISION_SOURCE = Passage(PAED_SMPC, "0.3-2.0 mg/kg in 2-4 divided doses daily")

_child = (m.kind == "age_band") & (m.paediatric == True)

RULES = [
    AlertRule(
        id="oral_dose.division_child",
        code="DOSING_FREQUENCY_OUTSIDE_RANGE",
        severity=Severity.WARNING,
        when=(
            c.band << ((m.kind == "age_band") & (m.paediatric == True)),
            c.order
            << (
                (m.kind == "order")
                & (m.route == "oral")
                & (m.action != "stop")
                & -m.n_concurrent
                & (
                    (m.frequency_per_day < DIVIDED_DOSES_CHILD[0])
                    | (m.frequency_per_day > DIVIDED_DOSES_CHILD[1])
                )
            ),
        ),
        message="{order.frequency_per_day} dose{if order.frequency_per_day != 1}s{end} a day for a "
        "child aged {band.years}: a child's "
        "daily dose should be divided into 2-4 doses.",
        suggestion="Divide the daily dose into 2-4 doses (preferably 4).",
        evidence=("order.frequency_per_day", "age_years=band.years"),
        source=DIVISION_SOURCE,
        description="Child's daily dose not divided into 2-4 doses.",
    ),
    AlertRule(
        id="oral_dose.division_child_beside_other_routes",
        code="DOSING_FREQUENCY_OUTSIDE_RANGE",
        severity=Severity.WARNING,
        when=(
            c.band << _child,
            c.dose
            << (
                (m.kind == "daily_dose")
                & (m.route == "oral")
                & (m.orders == 1)
                & (
                    (m.frequency_per_day < DIVIDED_DOSES_CHILD[0])
                    | (m.frequency_per_day > DIVIDED_DOSES_CHILD[1])
                )
            ),
        ),
        message="{dose.frequency_per_day} dose{if dose.frequency_per_day != 1}s{end} a day for a "
        "child aged {band.years}: a child's "
        "daily dose should be divided into 2-4 doses.",
        suggestion="Divide the daily dose into 2-4 doses (preferably 4).",
        evidence=("dose.frequency_per_day", "age_years=band.years"),
        source=DIVISION_SOURCE,
        description="Child's daily dose not divided into 2-4 doses (other orders beside it are "
        "by another route).",
    ),
]
