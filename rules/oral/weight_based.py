"""A child's oral dose by body weight (000).

000: "The usual daily dosage for maintenance therapy ranges between 0.75 and 2 mg/kg body
weight."

When a child's (under 18) oral daily dose is above 2 mg/kg/day, Then
WEIGHT_BASED_DOSE_ABOVE_RANGE (warning), naming the lower of 2 mg/kg/day and the age maximum
(the daily ceiling: rules/oral/caps.py) and applied to the suggested regimen.
When a child on an oral order has no recorded weight, Then MISSING_DATA names
patient.weight_kg: the mg/kg/day range, the starting dose (and, for tablets or an unknown form,
the 33 kg tablet limit) could not be checked.
"""

from __future__ import annotations

from collections.abc import Iterator

from engine import AlertRule, Derivation, Severity, c, given, m
from rules.oral.caps import MAX_MG_PER_KG_DAY_CHILD
from rules.oral.tablet import TABLET_MIN_WEIGHT_KG
from rules.sources import PAED_SMPC, Passage
from rules.vocabulary import DailyCeiling, RegimenLimit

WEIGHT_RANGE_SOURCE = Passage(
    PAED_SMPC,
    "The usual daily dosage for maintenance therapy ranges between 0.75 and 2 mg/kg body weight.",
    note="003 (secondary) targets ~2 mg/kg/day too; above 2 mg/kg/day is outside the "
    "authorised 0.3-2.0 mg/kg range of 000.",
)


def above_range(ceiling: DailyCeiling) -> Iterator[RegimenLimit]:
    yield RegimenLimit(
        code="WEIGHT_BASED_DOSE_ABOVE_RANGE",
        limit="daily_ceiling",
        max_mg_day=given(ceiling.weight_mg_day),
        paediatric=True,
    )


_child = (m.kind == "age_band") & (m.paediatric == True)
_above_range = (
    (m.kind == "weight_based_dose")
    & (m.route == "oral")
    & (m.mg_per_kg_day > MAX_MG_PER_KG_DAY_CHILD)
)

RULES = [
    Derivation(
        id="oral_dose.limit_weight_based",
        when=(c.band << _child, c.wbd << _above_range, c.ceiling << (m.kind == "daily_ceiling")),
        derive=above_range,
        doc="Above 2 mg/kg/day: the suggested regimen keeps to it.",
    ),
    AlertRule(
        id="oral_dose.weight_based_above_range",
        code="WEIGHT_BASED_DOSE_ABOVE_RANGE",
        severity=Severity.WARNING,
        when=(c.band << _child, c.wbd << _above_range, c.ceiling << (m.kind == "daily_ceiling")),
        message="{wbd.mg:g} mg/day for {wbd.weight_kg:g} kg is {wbd.mg_per_kg_day:.2f~limit} "
        "mg/kg/day, above the {limit:g} mg/kg/day maximum for children.",
        suggestion="{if ceiling.age_lower}Reduce to at most {ceiling.age_max_mg_day:g} mg/day: "
        "the age maximum, below {limit:g} mg/kg/day for {wbd.weight_kg:g} kg "
        "({ceiling.weight_mg_day:g} mg/day).{else}Reduce to at most {ceiling.weight_mg_day:g} "
        "mg/day ({limit:g} mg/kg/day for {wbd.weight_kg:g} kg).{end}",
        params={"limit": MAX_MG_PER_KG_DAY_CHILD},
        evidence=(
            "daily_mg=wbd.mg",
            "wbd.weight_kg",
            "wbd.mg_per_kg_day",
            "max_mg_per_kg_day=limit",
        ),
        source=WEIGHT_RANGE_SOURCE,
        description="Under 18 and above 2 mg/kg/day.",
    ),
    AlertRule(
        id="missing.weight_child",
        code="MISSING_DATA",
        severity=Severity.WARNING,
        when=(
            c.band << _child,
            c.patient << ((m.kind == "patient") & -m.weight_kg),
            c.order << ((m.kind == "order") & (m.action != "stop") & (m.route == "oral")),
        ),
        message="No body weight for a child aged {band.years}: the mg/kg/day range"
        "{if order.form in oral_solution|granules} and the starting dose{else}, the starting "
        "dose and the {tablet_kg} kg tablet limit{end} could not be checked.",
        suggestion="Record the child's current weight (patient.weight_kg) and re-run the check.",
        params={"tablet_kg": TABLET_MIN_WEIGHT_KG, "missing": ["patient.weight_kg"]},
        evidence=("missing", "age_years=band.years"),
        source=WEIGHT_RANGE_SOURCE,
        description="No weight for a child: weight-based checks could not run.",
    ),
]
