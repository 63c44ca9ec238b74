"""Tablets below 33 kg (000).

000: "Baclofen tablets are not suitable for use in children below 33 kg body weight."

When a child (under 18) who weighs less than 33 kg is ordered oral tablets (not stopped), Then
TABLET_BELOW_33_KG (critical): the oral solution (or granules) instead; the suggested regimen
of the check switches to the oral solution (rules/oral/regimen.py).
When such a child's order gives no dosage form, Then MISSING_DATA names order.form.
33.0 kg is not "below 33 kg".
"""

from __future__ import annotations

from collections.abc import Iterator

from engine import AlertRule, Derivation, Severity, c, m
from rules.sources import PAED_SMPC, Passage
from rules.vocabulary import RegimenLimit

TABLET_MIN_WEIGHT_KG = 33

TABLET_SOURCE = Passage(
    PAED_SMPC,
    "Baclofen tablets are not suitable for use in children below 33 kg body weight.",
    note="Applies under 18 years (000 is the paediatric text). 33.0 kg is not 'below 33 kg'.",
)

_child = (m.kind == "age_band") & (m.paediatric == True)
_tablet_ordered = (
    (m.kind == "order") & (m.route == "oral") & (m.form == "tablet") & (m.action != "stop")
)
_below_33_kg = (m.kind == "patient") & (m.weight_kg < TABLET_MIN_WEIGHT_KG)


def oral_solution(code: str) -> Iterator[RegimenLimit]:
    yield RegimenLimit(code=code, limit="oral_solution", paediatric=True)


RULES = [
    Derivation(
        id="oral_dose.limit_tablet_below_33_kg",
        when=(c.order << _tablet_ordered, c.band << _child, c.patient << _below_33_kg),
        derive=oral_solution,
        params={"code": "TABLET_BELOW_33_KG"},
        doc="The suggested regimen gives the oral solution instead of tablets.",
    ),
    AlertRule(
        id="oral_dose.tablet_below_33_kg",
        code="TABLET_BELOW_33_KG",
        severity=Severity.CRITICAL,
        when=(c.order << _tablet_ordered, c.band << _child, c.patient << _below_33_kg),
        message="Tablets ordered for a child aged {band.years} weighing "
        "{patient.weight_kg:g~limit} kg: baclofen tablets are not suitable below {limit} kg.",
        suggestion="Use the oral solution (or granules) instead of tablets.",
        params={"limit": TABLET_MIN_WEIGHT_KG},
        evidence=("patient.weight_kg", "age_years=band.years", "order.form", "min_weight_kg=limit"),
        source=TABLET_SOURCE,
        description="Tablet for a child under 18 weighing less than 33 kg.",
    ),
    AlertRule(
        id="missing.form_child_under_33_kg",
        code="MISSING_DATA",
        severity=Severity.WARNING,
        when=(
            c.band << _child,
            c.patient << _below_33_kg,
            c.order << ((m.kind == "order") & (m.action != "stop") & (m.route == "oral") & -m.form),
        ),
        message="No dosage form for a child of {patient.weight_kg:g} kg: the {limit} kg tablet "
        "limit could not be checked.",
        suggestion="State the form (order.form); below {limit} kg use the oral solution.",
        params={"limit": TABLET_MIN_WEIGHT_KG, "missing": ["order.form"]},
        evidence=("missing", "patient.weight_kg"),
        source=TABLET_SOURCE,
        description="No dosage form for a child under 33 kg.",
    ),
]
