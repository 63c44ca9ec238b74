"""Oral daily maxima by age (000 for children, 001 for adults).

000: "The total daily dose should not exceed a maximum of 40 mg/day in children below 8 years
of age. In children over 8 years of age, a maximum daily dose of 60 mg/day may be given."
001: "... a maximum daily dose of not more than 100mg unless the patient is in hospital under
careful medical supervision."

When the oral daily dose (the total of every order by mouth: rules/oral/concurrent.py) is
above 40 mg/day before the 8th birthday, above 60 mg/day from the 8th to the 18th birthday, or
above 100 mg/day for an adult (or at an unknown age), Then
DAILY_DOSE_ABOVE_MAXIMUM: critical, or a warning for an adult in hospital under careful
supervision. The suggestion names the ceiling that applies to the patient (for a child of known
weight 2 mg/kg/day when that is lower: rules/oral/weight_based.py) and the regimen the check
suggests under every limit that fired (rules/oral/regimen.py).
"""

from __future__ import annotations

from collections.abc import Iterator

from engine import AlertRule, Derivation, Severity, c, m
from rules.sources import ADULT_SMPC, PAED_SMPC, Passage
from rules.vocabulary import AgeBand, DailyCeiling, DailyDose, RegimenLimit, WeightBasedDose

MAX_MG_DAY_UNDER_8 = 40
MAX_MG_DAY_8_TO_17 = 60
MAX_MG_DAY_ADULT = 100
MAX_MG_DAY_BY_BAND = {
    "under_8": MAX_MG_DAY_UNDER_8,
    "8_to_17": MAX_MG_DAY_8_TO_17,
    "adult": MAX_MG_DAY_ADULT,
}
MAX_MG_PER_KG_DAY_CHILD = 2.0  # 000: "between 0.75 and 2 mg/kg body weight"

MAX_CHILD_SOURCE = Passage(
    PAED_SMPC,
    "The total daily dose should not exceed a maximum of 40 mg/day in children below 8 years of "
    "age. In children over 8 years of age, a maximum daily dose of 60 mg/day may be given.",
    note="The 60 mg/day cap applies from the 8th birthday. 003 (secondary, unreviewed) quotes "
    "up to 80 mg/day and more in children; 000 is primary and wins.",
)
MAX_ADULT_SOURCE = Passage(
    ADULT_SMPC,
    "Dosage may be slowly increased where necessary to a maximum daily dose of not more than "
    "100mg unless the patient is in hospital under careful medical supervision.",
    note="Above 100 mg/day in hospital under careful supervision is allowed by 001: warning, "
    "not critical. 002 ('commonly ... 30 to 75 mg') and 004 ('maximum 80 mg/day') are lower; "
    "001 is primary and wins.",
)


def ceiling_by_age(band: AgeBand) -> Iterator[DailyCeiling]:
    cap = MAX_MG_DAY_BY_BAND[band.band]
    yield DailyCeiling(mg_day=cap, age_max_mg_day=cap, weight_lower=False, age_lower=False)


def ceiling_child_by_weight(band: AgeBand, wbd: WeightBasedDose) -> Iterator[DailyCeiling]:
    """The lower of the age maximum and 2 mg/kg/day (rounded to 0.1 mg)."""
    cap = MAX_MG_DAY_BY_BAND[band.band]
    weight = wbd.weight_kg
    by_weight = round(MAX_MG_PER_KG_DAY_CHILD * weight, 1)
    yield DailyCeiling(
        mg_day=min(cap, by_weight),
        age_max_mg_day=cap,
        weight_lower=by_weight < cap,
        age_lower=cap < by_weight,
        mg_per_kg_day=MAX_MG_PER_KG_DAY_CHILD,
        weight_kg=weight,
        weight_mg_day=by_weight,
    )


def above_maximum(band: AgeBand, ceiling: DailyCeiling) -> Iterator[RegimenLimit]:
    yield RegimenLimit(
        code="DAILY_DOSE_ABOVE_MAXIMUM",
        limit="daily_ceiling",
        max_mg_day=ceiling.age_max_mg_day,
        paediatric=band.paediatric,
    )


def above_maximum_age_unknown(dose: DailyDose) -> Iterator[RegimenLimit]:
    yield RegimenLimit(
        code="DAILY_DOSE_ABOVE_MAXIMUM", limit="daily_ceiling", max_mg_day=MAX_MG_DAY_ADULT
    )


_adult = (m.kind == "age_band") & (m.band == "adult")
_under_8 = (m.kind == "age_band") & (m.band == "under_8")
_8_to_17 = (m.kind == "age_band") & (m.band == "8_to_17")
_no_weight = (m.kind == "patient") & -m.weight_kg
_oral_dose = (m.kind == "daily_dose") & (m.route == "oral")
_oral_wbd = (m.kind == "weight_based_dose") & (m.route == "oral")
_age_unknown = (m.kind == "patient") & -m.birth_date & -m.age_years
_REDUCE = (
    "reduce to at most {ceiling.mg_day:g} mg/day{if ceiling.weight_lower} "
    "({ceiling.mg_per_kg_day:g} mg/kg/day for {ceiling.weight_kg:g} kg, below the "
    "{cap} mg/day age maximum){end}{if dose.concurrent_mg} in all, counting the "
    "{dose.concurrent_mg:g} mg/day of the other baclofen orders{end}{if rx}, e.g. "
    "{rx.per_dose_mg:g} mg {rx.doses_per_day} times a day ({rx.daily_mg:g} mg/day{if "
    "rx.total_mg_day}, {rx.total_mg_day:g} mg/day with the other orders{end}){end}."
)
_SUGGESTION = _REDUCE[0].upper() + _REDUCE[1:]
# 001 allows more than 100 mg/day in hospital under careful supervision: not an order to cut.
_SUPERVISED_SUGGESTION = (
    "Keep a dose above {cap} mg/day only under the careful medical supervision of the hospital "
    "stay; before discharge, " + _REDUCE
)
_EVIDENCE = (
    "daily_mg=dose.mg",
    "max_mg_day=cap",
    "age_years=band.years",
    "dose_mg=dose.dose_mg",
    "dose.frequency_per_day",
)
# How the daily dose was made up, when not of one dose in mg: per kg, or several orders.
_MADE_OF = (
    "{if dose.per_kg_mg} ({dose.per_kg_mg:g} mg/kg a dose for {dose.weight_kg:g} kg){end}"
    "{if dose.concurrent_mg} ({dose.order_mg:g} mg/day of this order and "
    "{dose.concurrent_mg:g} mg/day of the other baclofen orders){end}"
)

RULES = [
    # The ceiling is derived when a limit is exceeded (the dose alerts and the suggested
    # regimen read it): above the age maximum, or, for a child of known weight, above
    # 2 mg/kg/day within it.
    Derivation(
        id="oral_dose.ceiling_adult",
        when=(c.band << _adult, c.dose << (_oral_dose & (m.mg > MAX_MG_DAY_ADULT))),
        derive=ceiling_by_age,
        doc="An adult above 100 mg/day: the ceiling is 100 mg/day.",
    ),
    Derivation(
        id="oral_dose.ceiling_under_8",
        when=(
            c.band << _under_8,
            c.patient << _no_weight,
            c.dose << (_oral_dose & (m.mg > MAX_MG_DAY_UNDER_8)),
        ),
        derive=ceiling_by_age,
        doc="A child under 8 of unknown weight above 40 mg/day: the ceiling is 40 mg/day.",
    ),
    Derivation(
        id="oral_dose.ceiling_8_to_17",
        when=(
            c.band << _8_to_17,
            c.patient << _no_weight,
            c.dose << (_oral_dose & (m.mg > MAX_MG_DAY_8_TO_17)),
        ),
        derive=ceiling_by_age,
        doc="A child aged 8 to 17 of unknown weight above 60 mg/day: the ceiling is 60 mg/day.",
    ),
    Derivation(
        id="oral_dose.ceiling_under_8_by_weight",
        when=(c.band << _under_8, c.wbd << (_oral_wbd & (m.mg > MAX_MG_DAY_UNDER_8))),
        derive=ceiling_child_by_weight,
        doc="A child under 8 of known weight above 40 mg/day: the ceiling is the lower of "
        "40 mg/day and 2 mg/kg/day.",
    ),
    Derivation(
        id="oral_dose.ceiling_under_8_by_weight_within_cap",
        when=(
            c.band << _under_8,
            c.wbd
            << (
                _oral_wbd
                & (m.mg <= MAX_MG_DAY_UNDER_8)
                & (m.mg_per_kg_day > MAX_MG_PER_KG_DAY_CHILD)
            ),
        ),
        derive=ceiling_child_by_weight,
        doc="A child under 8 within 40 mg/day but above 2 mg/kg/day: the ceiling is 2 mg/kg/day.",
    ),
    Derivation(
        id="oral_dose.ceiling_8_to_17_by_weight",
        when=(c.band << _8_to_17, c.wbd << (_oral_wbd & (m.mg > MAX_MG_DAY_8_TO_17))),
        derive=ceiling_child_by_weight,
        doc="A child aged 8 to 17 of known weight above 60 mg/day: the ceiling is the lower "
        "of 60 mg/day and 2 mg/kg/day.",
    ),
    Derivation(
        id="oral_dose.ceiling_8_to_17_by_weight_within_cap",
        when=(
            c.band << _8_to_17,
            c.wbd
            << (
                _oral_wbd
                & (m.mg <= MAX_MG_DAY_8_TO_17)
                & (m.mg_per_kg_day > MAX_MG_PER_KG_DAY_CHILD)
            ),
        ),
        derive=ceiling_child_by_weight,
        doc="A child aged 8 to 17 within 60 mg/day but above 2 mg/kg/day: the ceiling is "
        "2 mg/kg/day.",
    ),
    Derivation(
        id="oral_dose.limit_above_maximum",
        when=(
            c.band << (m.kind == "age_band"),
            c.ceiling << (m.kind == "daily_ceiling"),
            c.dose << (_oral_dose & (m.mg > c.ceiling.age_max_mg_day)),
        ),
        derive=above_maximum,
        doc="Above the age maximum: the suggested regimen keeps to it.",
    ),
    Derivation(
        id="oral_dose.limit_above_maximum_age_unknown",
        when=(c.patient << _age_unknown, c.dose << (_oral_dose & (m.mg > MAX_MG_DAY_ADULT))),
        derive=above_maximum_age_unknown,
        doc="Age unknown and above 100 mg/day: the suggested regimen keeps to 100 mg/day.",
    ),
    AlertRule(
        id="oral_dose.max_under_8",
        code="DAILY_DOSE_ABOVE_MAXIMUM",
        severity=Severity.CRITICAL,
        when=(
            c.band << ((m.kind == "age_band") & (m.band == "under_8")),
            c.dose << (_oral_dose & (m.mg > MAX_MG_DAY_UNDER_8)),
            c.ceiling << (m.kind == "daily_ceiling"),
        ),
        message="{dose.mg:g} mg/day"
        + _MADE_OF
        + " exceeds the {cap} mg/day maximum for children below 8 years.",
        suggestion=_SUGGESTION,
        params={"cap": MAX_MG_DAY_UNDER_8},
        evidence=_EVIDENCE,
        attach={"rx": "suggested_regimen"},
        source=MAX_CHILD_SOURCE,
        description="Oral daily dose above 40 mg/day for children below 8 years.",
    ),
    AlertRule(
        id="oral_dose.max_8_to_17",
        code="DAILY_DOSE_ABOVE_MAXIMUM",
        severity=Severity.CRITICAL,
        when=(
            c.band << ((m.kind == "age_band") & (m.band == "8_to_17")),
            c.dose << (_oral_dose & (m.mg > MAX_MG_DAY_8_TO_17)),
            c.ceiling << (m.kind == "daily_ceiling"),
        ),
        message="{dose.mg:g} mg/day"
        + _MADE_OF
        + " exceeds the {cap} mg/day maximum for children aged 8 and over.",
        suggestion=_SUGGESTION,
        params={"cap": MAX_MG_DAY_8_TO_17},
        evidence=_EVIDENCE,
        attach={"rx": "suggested_regimen"},
        source=MAX_CHILD_SOURCE,
        description="Oral daily dose above 60 mg/day for children aged 8 and over.",
    ),
    AlertRule(
        id="oral_dose.max_adult",
        code="DAILY_DOSE_ABOVE_MAXIMUM",
        severity=Severity.CRITICAL,
        when=(
            c.band << ((m.kind == "age_band") & (m.band == "adult")),
            c.dose << (_oral_dose & (m.mg > MAX_MG_DAY_ADULT)),
            c.patient << ((m.kind == "patient") & (m.hospital_supervised == False)),
            c.ceiling << (m.kind == "daily_ceiling"),
        ),
        message="{dose.mg:g} mg/day"
        + _MADE_OF
        + " exceeds the {cap} mg/day maximum for adults outside "
        "hospital supervision.",
        suggestion=_SUGGESTION,
        params={"cap": MAX_MG_DAY_ADULT},
        evidence=_EVIDENCE,
        attach={"rx": "suggested_regimen"},
        source=MAX_ADULT_SOURCE,
        description="Oral daily dose above 100 mg/day for adults outside hospital supervision.",
    ),
    AlertRule(
        id="oral_dose.max_adult_supervised",
        code="DAILY_DOSE_ABOVE_MAXIMUM",
        severity=Severity.WARNING,
        when=(
            c.band << ((m.kind == "age_band") & (m.band == "adult")),
            c.dose << (_oral_dose & (m.mg > MAX_MG_DAY_ADULT)),
            c.patient << ((m.kind == "patient") & (m.hospital_supervised == True)),
            c.ceiling << (m.kind == "daily_ceiling"),
        ),
        message="{dose.mg:g} mg/day"
        + _MADE_OF
        + " exceeds the {cap} mg/day maximum for adults (allowed only "
        "in hospital under careful supervision).",
        suggestion=_SUPERVISED_SUGGESTION,
        params={"cap": MAX_MG_DAY_ADULT},
        evidence=_EVIDENCE,
        attach={"rx": "suggested_regimen"},
        source=MAX_ADULT_SOURCE,
        description="Oral daily dose above 100 mg/day for adults (allowed only in hospital "
        "under careful supervision).",
    ),
    AlertRule(
        id="oral_dose.max_unknown_age",
        code="DAILY_DOSE_ABOVE_MAXIMUM",
        severity=Severity.CRITICAL,
        when=(c.patient << _age_unknown, c.dose << (_oral_dose & (m.mg > MAX_MG_DAY_ADULT))),
        message="{dose.mg:g} mg/day"
        + _MADE_OF
        + " exceeds the {cap} mg/day maximum for any age (age unknown).",
        suggestion="Reduce to at most {cap} mg/day, and record the patient's age.",
        params={"cap": MAX_MG_DAY_ADULT},
        evidence=("daily_mg=dose.mg", "max_mg_day=cap"),
        source=MAX_ADULT_SOURCE,
        description="Oral daily dose above 100 mg/day when the age is unknown.",
    ),
]
