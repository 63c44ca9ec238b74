"""The starting dose of a new oral course (000 for children, 001 for adults).

001: "5mg three times daily for three days" (the start of the adult regime: 15 mg/day).
000: "Treatment should usually be started with a very low dose (corresponding to approximately
0.3 mg/kg a day), in 2-4 divided doses (preferably in 4 divided doses)."

When an adult's new oral course starts above 15 mg/day, Then STARTING_DOSE_ABOVE_RECOMMENDED
(warning): 5 mg three times daily; the suggested regimen keeps to 15 mg/day.
When a child's new course starts above 0.5 mg/kg/day (the top of 004's 0.3-0.5), Then the same
warning: about 0.3 mg/kg/day, never above the adult start; the suggested regimen keeps to it.
When it starts within 0.5 mg/kg/day but above the adult 15 mg/day (a heavy child), Then the
same code as info: by weight the start is right, the adult start is the more cautious choice.
When a child of unknown weight starts above 15 mg/day, Then the warning: mg/kg/day cannot be
checked (more than 0.3 mg/kg/day for any child under 50 kg).
The info and the unknown weight give no number to correct to: no regimen is suggested then.
A start beside an active order by mouth is read as an added order (the reading
oral.start_beside_active, rules/oral/concurrent.py): no new course, none of these fire.
"""

from __future__ import annotations

from collections.abc import Iterator

from engine import AlertRule, Derivation, Severity, c, m
from rules.sources import ADULT_SMPC, PAED_SMPC, Passage
from rules.vocabulary import ChildStart, RegimenLimit, WeightBasedDose

START_MAX_MG_DAY_ADULT = 15
CHILD_START_MG_PER_KG_DAY = 0.3  # 000: "approximately 0.3 mg/kg a day"
# 000: "started with a very low dose (corresponding to approximately 0.3 mg/kg a day)". We flag
# a start clearly above that: > 0.5 mg/kg/day, the top of 004's 0.3–0.5 initial range, which
# leaves room for rounding to whole tablets or 2.5 mg steps.
START_MAX_MG_PER_KG_DAY_CHILD = 0.5

START_ADULT_SOURCE = Passage(
    ADULT_SMPC,
    "5mg three times daily for three days",
    note="001's regimen starts at 15 mg/day (5 mg three times daily); 002 agrees (15 mg/day).",
)
START_CHILD_SOURCE = Passage(
    PAED_SMPC,
    "Treatment should usually be started with a very low dose (corresponding to approximately "
    "0.3 mg/kg a day), in 2-4 divided doses (preferably in 4 divided doses).",
    note="Threshold > 0.5 mg/kg/day: the top of 004's 'Initial: 0.3–0.5 mg/kg/day'. 003's "
    "'2.5 mg three times daily' for any child over 2 is secondary and can exceed it in small "
    "children.",
)
START_CHILD_ADULT_CAP_SOURCE = Passage(
    PAED_SMPC,
    "Treatment should usually be started with a very low dose (corresponding to approximately "
    "0.3 mg/kg a day)",
    note="Policy: a child's start of about 0.3 to 0.5 mg/kg/day is what 000 (primary) asks for "
    "and is not a warning just because it exceeds the 15 mg/day an adult starts on (001: 5 mg "
    "three times daily); a heavy adolescent gets it at 0.3 mg/kg/day from 50 kg. The signal "
    "is kept as info, so that a 90 kg 17-year-old started on 45 mg/day (0.5 mg/kg/day) is "
    "told that the adult start is lower. Above 0.5 mg/kg/day it is a warning (the rule "
    "above). Without a weight mg/kg/day cannot be known: a start above 15 mg/day then stays a "
    "warning, since for a child under 50 kg it is above 0.3 mg/kg/day and for a small child "
    "several times the recommended start (missing data is never safe).",
)


def child_start(wbd: WeightBasedDose) -> Iterator[ChildStart]:
    """About 0.3 mg/kg/day (000), never above what an adult starts on (001)."""
    weight = wbd.weight_kg
    by_weight = round(CHILD_START_MG_PER_KG_DAY * weight, 1)
    yield ChildStart(
        mg_day=min(by_weight, START_MAX_MG_DAY_ADULT),
        by_weight_mg_day=by_weight,
        weight_kg=weight,
        limited_by_adult_start=by_weight >= START_MAX_MG_DAY_ADULT,
    )


def start_limit(code: str, mg_day: float | None, paediatric: bool) -> Iterator[RegimenLimit]:
    yield RegimenLimit(
        code=code,
        limit="daily_ceiling" if mg_day else "no_number",
        max_mg_day=mg_day,
        paediatric=paediatric,
    )


def child_start_limit(start: ChildStart) -> Iterator[RegimenLimit]:
    yield RegimenLimit(
        code="STARTING_DOSE_ABOVE_RECOMMENDED",
        limit="daily_ceiling",
        max_mg_day=start.mg_day,
        paediatric=True,
    )


_CODE = "STARTING_DOSE_ABOVE_RECOMMENDED"
_new_oral_course = (m.kind == "order") & (m.route == "oral") & (m.action == "start")
_adult = (m.kind == "age_band") & (m.band == "adult")
_child = (m.kind == "age_band") & (m.paediatric == True)
_oral_dose = (m.kind == "daily_dose") & (m.route == "oral")
_child_weight_dose = (m.kind == "weight_based_dose") & (m.route == "oral")
_ADULT_START = (
    c.order << _new_oral_course,
    c.band << _adult,
    c.dose << (_oral_dose & (m.mg > START_MAX_MG_DAY_ADULT)),
)
_CHILD_START_ABOVE = (
    c.order << _new_oral_course,
    c.band << _child,
    c.wbd << (_child_weight_dose & (m.mg_per_kg_day > START_MAX_MG_PER_KG_DAY_CHILD)),
)
_CHILD_START_ABOVE_ADULT = (
    c.order << _new_oral_course,
    c.band << _child,
    c.wbd
    << (
        _child_weight_dose
        & (m.mg_per_kg_day <= START_MAX_MG_PER_KG_DAY_CHILD)
        & (m.mg > START_MAX_MG_DAY_ADULT)
    ),
)
_CHILD_START_NO_WEIGHT = (
    c.order << _new_oral_course,
    c.band << _child,
    c.patient << ((m.kind == "patient") & -m.weight_kg),
    c.dose << (_oral_dose & (m.mg > START_MAX_MG_DAY_ADULT)),
)

RULES = [
    Derivation(
        id="oral_dose.child_start",
        when=_CHILD_START_ABOVE,
        derive=child_start,
        doc="A child started above 0.5 mg/kg/day: the recommended start, 0.3 mg/kg/day, at "
        "most the adult 15 mg/day.",
    ),
    Derivation(
        id="oral_dose.limit_start_adult",
        when=_ADULT_START,
        derive=start_limit,
        params={"code": _CODE, "mg_day": START_MAX_MG_DAY_ADULT, "paediatric": False},
        doc="The suggested regimen keeps to the adult start.",
    ),
    Derivation(
        id="oral_dose.limit_start_child",
        when=(*_CHILD_START_ABOVE, c.start << (m.kind == "child_start")),
        derive=child_start_limit,
        doc="The suggested regimen keeps to the child's recommended start.",
    ),
    Derivation(
        id="oral_dose.limit_start_child_no_number",
        when=_CHILD_START_ABOVE_ADULT,
        derive=start_limit,
        params={"code": _CODE, "mg_day": None, "paediatric": True},
        doc="Within 0.5 mg/kg/day: no dose to correct to, so no regimen is suggested.",
    ),
    Derivation(
        id="oral_dose.limit_start_child_no_weight",
        when=_CHILD_START_NO_WEIGHT,
        derive=start_limit,
        params={"code": _CODE, "mg_day": None, "paediatric": True},
        doc="Without the weight there is no recommended start: no regimen is suggested.",
    ),
    AlertRule(
        id="oral_dose.start_adult",
        code=_CODE,
        severity=Severity.WARNING,
        when=_ADULT_START,
        message="Starting dose {dose.mg:g} mg/day is above the recommended {limit} mg/day "
        "(5 mg three times daily).",
        suggestion="Start with 5 mg three times daily and step up by 5 mg per dose every 3 days.",
        params={"limit": START_MAX_MG_DAY_ADULT},
        evidence=("daily_mg=dose.mg", "recommended_start_mg_day=limit"),
        source=START_ADULT_SOURCE,
        description="Adult course started above 15 mg/day.",
    ),
    AlertRule(
        id="oral_dose.start_child",
        code=_CODE,
        severity=Severity.WARNING,
        when=(*_CHILD_START_ABOVE, c.start << (m.kind == "child_start")),
        message="Starting dose {wbd.mg:g} mg/day is {wbd.mg_per_kg_day:.2f~limit} mg/kg/day for "
        "{wbd.weight_kg:g} kg, above the recommended start of about {per_kg:g} mg/kg/day "
        "(threshold {limit:g} mg/kg/day).",
        suggestion="Start at about {start.mg_day:g} mg/day ({if start.limited_by_adult_start}"
        "the adult start; {per_kg:g} mg/kg/day would be {start.by_weight_mg_day:.1f} mg/day"
        "{else}{per_kg:g} mg/kg/day{end}) in 2-4 divided doses; increase at about weekly "
        "intervals.",
        params={"limit": START_MAX_MG_PER_KG_DAY_CHILD, "per_kg": CHILD_START_MG_PER_KG_DAY},
        evidence=(
            "daily_mg=wbd.mg",
            "wbd.weight_kg",
            "wbd.mg_per_kg_day",
            "recommended_start_mg_day=start.mg_day",
            "threshold_mg_per_kg_day=limit",
        ),
        source=START_CHILD_SOURCE,
        description="Child's course started clearly above 0.3 mg/kg/day (threshold 0.5).",
    ),
    AlertRule(
        id="oral_dose.start_child_above_adult_start",
        code=_CODE,
        severity=Severity.INFO,
        when=_CHILD_START_ABOVE_ADULT,
        message="Starting dose {wbd.mg:g} mg/day ({wbd.mg_per_kg_day:.2f~threshold} mg/kg/day for "
        "{wbd.weight_kg:g} kg) for a child aged {band.years} is within the recommended "
        "start of about 0.3-{threshold:g} mg/kg/day but above the {limit} mg/day an adult "
        "starts on.",
        suggestion="By weight this is the start 000 recommends; the adult start, {limit} "
        "mg/day (5 mg three times daily), is the more cautious choice. Increase at about "
        "weekly intervals.",
        params={"limit": START_MAX_MG_DAY_ADULT, "threshold": START_MAX_MG_PER_KG_DAY_CHILD},
        # No recommended start: by weight the start is acceptable, so no dose is suggested.
        evidence=(
            "daily_mg=wbd.mg",
            "wbd.weight_kg",
            "wbd.mg_per_kg_day",
            "adult_start_mg_day=limit",
        ),
        source=START_CHILD_ADULT_CAP_SOURCE,
        description="Heavy child's course started within 0.5 mg/kg/day but above the adult "
        "start of 15 mg/day (info).",
    ),
    AlertRule(
        id="oral_dose.start_child_above_adult_start_no_weight",
        code=_CODE,
        severity=Severity.WARNING,
        when=_CHILD_START_NO_WEIGHT,
        message="Starting dose {dose.mg:g} mg/day for a child aged {band.years} is above the "
        "{limit} mg/day an adult starts on; without a weight, whether it is near the "
        "recommended 0.3 mg/kg/day cannot be checked (it is more for any child under 50 kg).",
        suggestion="Start at about 0.3 mg/kg/day, never above {limit} mg/day, in 2-4 divided "
        "doses; record the weight to check it.",
        params={"limit": START_MAX_MG_DAY_ADULT},
        # No recommended start: without the weight there is none (15 mg/day would be
        # 1.5 mg/kg/day for a 10 kg child), so no dose is suggested.
        evidence=("daily_mg=dose.mg", "max_start_mg_day=limit"),
        source=START_CHILD_ADULT_CAP_SOURCE,
        description="Child of unknown weight started above the adult start of 15 mg/day.",
    ),
]
