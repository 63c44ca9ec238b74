"""Oral dosing: tablet weight limit, daily maxima by age band, mg/kg/day range, starting dose,
titration pace, dose division and discontinuation.

Sources: 000 (paediatric SmPC text, primary), 001 (adult SmPC text, primary). Thresholds are
the constants below; each threshold rule that needs data has a MISSING_DATA sibling in
rules/missing_data.py.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

from engine import AlertRule, Bindings, Severity, c, m
from rules.sources import ADULT_SMPC, PAED_SMPC, Passage

TABLET_MIN_WEIGHT_KG = 33  # 000: tablets not suitable below 33 kg; 33.0 kg itself is allowed
MAX_MG_DAY_UNDER_8 = 40
MAX_MG_DAY_8_TO_17 = 60
MAX_MG_DAY_ADULT = 100
MAX_MG_PER_KG_DAY_CHILD = 2.0
START_MAX_MG_DAY_ADULT = 15
CHILD_START_MG_PER_KG_DAY = 0.3  # 000: "approximately 0.3 mg/kg a day"
# 000: "started with a very low dose (corresponding to approximately 0.3 mg/kg a day)". We flag
# a start clearly above that: > 0.5 mg/kg/day, the top of 004's 0.3–0.5 initial range, which
# leaves room for rounding to whole tablets or 2.5 mg steps.
START_MAX_MG_PER_KG_DAY_CHILD = 0.5
STEP_MAX_MG_DAY_ADULT = 15  # 001: 5 mg three times daily more every three days
STEP_MIN_DAYS_ADULT = 3
STEP_MIN_DAYS_CHILD = 7  # 000: "at about 1 week intervals"
DIVIDED_DOSES_CHILD = (2, 4)
PREFERRED_DOSES_CHILD = 4  # 000: "preferably in 4 divided doses"
USUAL_DOSES_ADULT = 3  # 001: the regimen is given three times daily
# Our threshold for a step-down that is a stop in all but name: more than half of an
# established dose cut at once. Not from below the adult start (15 mg/day), where the next
# step of any taper is the stop itself.
ABRUPT_CUT_FRACTION = 0.5
ABRUPT_CUT_FROM_ABOVE_MG_DAY = START_MAX_MG_DAY_ADULT

TABLET_SOURCE = Passage(
    PAED_SMPC, "Baclofen tablets are not suitable for use in children below 33 kg body weight.",
    note="Applies under 18 years (000 is the paediatric text). 33.0 kg is not 'below 33 kg'.",
)
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
WEIGHT_RANGE_SOURCE = Passage(
    PAED_SMPC,
    "The usual daily dosage for maintenance therapy ranges between 0.75 and 2 mg/kg body weight.",
    note="003 (secondary) targets ~2 mg/kg/day too; above 2 mg/kg/day is outside the "
    "authorised 0.3-2.0 mg/kg range of 000.",
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
    note="Our threshold: a child's 'very low' start never exceeds what an adult starts on, "
    "15 mg/day (001: 5 mg three times daily). Without it 0.5 mg/kg/day lets a 90 kg "
    "17-year-old start on 45 mg/day.",
)
START_ADULT_SOURCE = Passage(
    ADULT_SMPC, "5mg three times daily for three days",
    note="001's regimen starts at 15 mg/day (5 mg three times daily); 002 agrees (15 mg/day).",
)
TITRATION_ADULT_SOURCE = Passage(
    ADULT_SMPC,
    "The following gradually incremented dosage regime is suggested but may need adjustment to "
    "suit individual patient requirements.",
    note="The regime that follows: 5, 10, 15, 20 mg three times daily, each for three days, "
    "i.e. steps of 15 mg/day at intervals of three days. 002's 'gradual increases of 5 to 15 "
    "mg' agrees on the step.",
)
TITRATION_CHILD_SOURCE = Passage(
    PAED_SMPC,
    "The dosage should be raised cautiously, at about 1 week intervals, until it becomes "
    "sufficient for the child's individual requirements.",
    note="'About 1 week' is read as at least 7 days. 003 (secondary) titrates over 10-12 weeks.",
)
DIVISION_SOURCE = Passage(PAED_SMPC, "0.3-2.0 mg/kg in 2-4 divided doses daily")
DISCONTINUATION_SOURCE = Passage(
    ADULT_SMPC,
    "Except in overdose-related emergencies, the treatment with baclofen should always be "
    "gradually discontinued by successively reducing the dosage. Baclofen should not be "
    "discontinued suddenly.",
    note="004: taper over 1-2 weeks to prevent withdrawal seizures, hallucinations, "
    "hyperthermia.",
)
ABRUPT_CUT_SOURCE = Passage(
    ADULT_SMPC, DISCONTINUATION_SOURCE.excerpt,
    note="001 asks for successive reductions; neither it nor 000 sizes a step. Our threshold: a "
    "single cut of more than half of an established dose above 15 mg/day is a sudden "
    "discontinuation in all but name. 004 tapers over 1-2 weeks.",
)



def _oral_order(*tests: object) -> object:
    cond = (m.kind == "order") & (m.route == "oral")
    for t in tests:
        cond = cond & t
    return cond


def weight_ceiling(weight_kg: float) -> float:
    """A child's daily maximum by weight; one rounding for every suggestion that quotes it."""
    return round(MAX_MG_PER_KG_DAY_CHILD * weight_kg, 1)


def suggested_frequency(freq: int, paediatric: bool) -> int:
    """The ordered number of doses a day when it is a usual one, else the usual one: a
    suggestion must never carry an odd regimen (once daily, 24 times a day) forward."""
    if DIVIDED_DOSES_CHILD[0] <= freq <= DIVIDED_DOSES_CHILD[1]:
        return freq
    if freq > DIVIDED_DOSES_CHILD[1]:
        return DIVIDED_DOSES_CHILD[1]
    return PREFERRED_DOSES_CHILD if paediatric else USUAL_DOSES_ADULT


def _child_start(wbd_test: object) -> tuple[object, ...]:
    """A child's new oral course, with its mg/kg/day fact meeting `wbd_test`."""
    return (c.order << _oral_order(m.action == "start"),
            c.band << ((m.kind == "age_band") & (m.paediatric == True)),  # noqa: E712
            c.wbd << ((m.kind == "weight_based_dose") & (m.route == "oral") & wbd_test))


def _child_start_evidence(b: Bindings) -> dict[str, object]:
    return {"daily_mg": b.wbd.mg, "weight_kg": b.wbd.weight_kg,
            "mg_per_kg_day": b.wbd.mg_per_kg_day,
            "recommended_start_mg_day": child_start_mg_day(b.wbd.weight_kg)}


def _cap_suggestion(b: Bindings) -> str:
    """A practical regimen under every ceiling that applies (the age cap and, for a child of
    known weight, 2 mg/kg/day), so two alerts never suggest two different maxima. Per-dose
    amounts are rounded down to 0.5 mg."""
    paediatric = b.band.get("paediatric", False) is True
    cap, why = float(b.cap), ""
    weight = b.patient.get("weight_kg")
    if paediatric and weight is not None:
        by_weight = weight_ceiling(weight)
        if by_weight < cap:
            cap, why = by_weight, (f" ({MAX_MG_PER_KG_DAY_CHILD:g} mg/kg/day for {weight:g} kg, "
                                   f"below the {b.cap} mg/day age maximum)")
    freq = suggested_frequency(int(b.dose.frequency_per_day), paediatric)
    per_dose = math.floor(cap / freq * 2) / 2
    return (f"Reduce to at most {cap:g} mg/day{why}, e.g. {per_dose:g} mg {freq} times a day "
            f"({per_dose * freq:g} mg/day).")


MAX_MG_DAY_BY_BAND = {"under_8": MAX_MG_DAY_UNDER_8, "8_to_17": MAX_MG_DAY_8_TO_17}


def _weight_suggestion(b: Bindings) -> str:
    """Never suggest more than the age-band maximum: two alerts must not give two ceilings."""
    by_weight = weight_ceiling(b.wbd.weight_kg)
    cap = MAX_MG_DAY_BY_BAND.get(b.band.band, by_weight)
    if cap < by_weight:
        return (f"Reduce to at most {cap:g} mg/day: the age maximum, below "
                f"{b.limit:g} mg/kg/day for {b.wbd.weight_kg:g} kg ({by_weight:g} mg/day).")
    return (f"Reduce to at most {by_weight:g} mg/day ({b.limit:g} mg/kg/day for "
            f"{b.wbd.weight_kg:g} kg).")


def _max_rule(rule_id: str, band: str, cap: int, label: str, source: object,
              severity: Severity = Severity.CRITICAL, supervised: bool | None = None
              ) -> AlertRule:
    patient = m.kind == "patient"
    if supervised is not None:
        patient = patient & (m.hospital_supervised == supervised)
    conds = [c.band << ((m.kind == "age_band") & (m.band == band)),
             c.dose << ((m.kind == "daily_dose") & (m.route == "oral") & (m.mg > cap)),
             c.patient << patient]  # the weight, when known, also bounds the suggestion
    return AlertRule(
        id=rule_id, code="DAILY_DOSE_ABOVE_MAXIMUM", severity=severity, when=tuple(conds),
        message="{dose.mg:g} mg/day exceeds the {cap} mg/day maximum " + label + ".",
        suggestion=_cap_suggestion, params={"cap": cap},
        evidence=lambda b: {"daily_mg": b.dose.mg, "max_mg_day": b.cap, "age_years": b.band.years,
                            "dose_mg": b.dose.dose_mg,
                            "frequency_per_day": b.dose.frequency_per_day},
        source=source,  # type: ignore[arg-type]
        description=f"Oral daily dose above {cap} mg/day {label}.",
    )


RULES = [
    AlertRule(
        id="oral_dose.tablet_below_33_kg",
        code="TABLET_BELOW_33_KG",
        severity=Severity.CRITICAL,
        when=(
            c.order << _oral_order((m.form == "tablet") & (m.action != "stop")),
            c.band << ((m.kind == "age_band") & (m.paediatric == True)),  # noqa: E712
            c.patient << ((m.kind == "patient") & (m.weight_kg < TABLET_MIN_WEIGHT_KG)),
        ),
        message="Tablets ordered for a child aged {band.years} weighing {patient.weight_kg:g} kg: "
        "baclofen tablets are not suitable below {limit} kg.",
        suggestion="Use the oral solution (or granules) instead of tablets.",
        params={"limit": TABLET_MIN_WEIGHT_KG},
        evidence=lambda b: {"weight_kg": b.patient.weight_kg, "age_years": b.band.years,
                            "form": "tablet", "min_weight_kg": b.limit},
        source=TABLET_SOURCE,
        description="Tablet for a child under 18 weighing less than 33 kg.",
    ),
    _max_rule("oral_dose.max_under_8", "under_8", MAX_MG_DAY_UNDER_8,
              "for children below 8 years", MAX_CHILD_SOURCE),
    _max_rule("oral_dose.max_8_to_17", "8_to_17", MAX_MG_DAY_8_TO_17,
              "for children aged 8 and over", MAX_CHILD_SOURCE),
    _max_rule("oral_dose.max_adult", "adult", MAX_MG_DAY_ADULT,
              "for adults outside hospital supervision", MAX_ADULT_SOURCE, supervised=False),
    _max_rule("oral_dose.max_adult_supervised", "adult", MAX_MG_DAY_ADULT,
              "for adults (allowed only in hospital under careful supervision)",
              MAX_ADULT_SOURCE, severity=Severity.WARNING, supervised=True),
    AlertRule(
        id="oral_dose.max_unknown_age",
        code="DAILY_DOSE_ABOVE_MAXIMUM",
        severity=Severity.CRITICAL,
        when=(
            c.patient << ((m.kind == "patient") & -m.birth_date & -m.age_years),
            c.dose << ((m.kind == "daily_dose") & (m.route == "oral")
                       & (m.mg > MAX_MG_DAY_ADULT)),
        ),
        message="{dose.mg:g} mg/day exceeds the {cap} mg/day maximum for any age (age unknown).",
        suggestion="Reduce to at most {cap} mg/day, and record the patient's age.",
        params={"cap": MAX_MG_DAY_ADULT},
        evidence=lambda b: {"daily_mg": b.dose.mg, "max_mg_day": b.cap},
        source=MAX_ADULT_SOURCE,
        description="Oral daily dose above 100 mg/day when the age is unknown.",
    ),
    AlertRule(
        id="oral_dose.weight_based_above_range",
        code="WEIGHT_BASED_DOSE_ABOVE_RANGE",
        severity=Severity.WARNING,
        when=(
            c.band << ((m.kind == "age_band") & (m.paediatric == True)),  # noqa: E712
            c.wbd << ((m.kind == "weight_based_dose") & (m.route == "oral")
                      & (m.mg_per_kg_day > MAX_MG_PER_KG_DAY_CHILD)),
        ),
        message="{wbd.mg:g} mg/day for {wbd.weight_kg:g} kg is {wbd.mg_per_kg_day:.2f} "
        "mg/kg/day, above the {limit:g} mg/kg/day maximum for children.",
        suggestion=_weight_suggestion,
        params={"limit": MAX_MG_PER_KG_DAY_CHILD},
        evidence=lambda b: {"daily_mg": b.wbd.mg, "weight_kg": b.wbd.weight_kg,
                            "mg_per_kg_day": b.wbd.mg_per_kg_day, "max_mg_per_kg_day": b.limit},
        source=WEIGHT_RANGE_SOURCE,
        description="Under 18 and above 2 mg/kg/day.",
    ),
    AlertRule(
        id="oral_dose.start_adult",
        code="STARTING_DOSE_ABOVE_RECOMMENDED",
        severity=Severity.WARNING,
        when=(
            c.order << _oral_order(m.action == "start"),
            c.band << ((m.kind == "age_band") & (m.band == "adult")),
            c.dose << ((m.kind == "daily_dose") & (m.route == "oral")
                       & (m.mg > START_MAX_MG_DAY_ADULT)),
        ),
        message="Starting dose {dose.mg:g} mg/day is above the recommended {limit} mg/day "
        "(5 mg three times daily).",
        suggestion="Start with 5 mg three times daily and step up by 5 mg per dose every 3 days.",
        params={"limit": START_MAX_MG_DAY_ADULT},
        evidence=lambda b: {"daily_mg": b.dose.mg, "recommended_start_mg_day": b.limit},
        source=START_ADULT_SOURCE,
        description="Adult course started above 15 mg/day.",
    ),
    AlertRule(
        id="oral_dose.start_child",
        code="STARTING_DOSE_ABOVE_RECOMMENDED",
        severity=Severity.WARNING,
        when=_child_start(m.mg_per_kg_day > START_MAX_MG_PER_KG_DAY_CHILD),
        message="Starting dose {wbd.mg:g} mg/day is {wbd.mg_per_kg_day:.2f} mg/kg/day for "
        "{wbd.weight_kg:g} kg, above the recommended start of about 0.3 mg/kg/day (threshold "
        "{limit:g} mg/kg/day).",
        suggestion=lambda b: _child_start_suggestion(b.wbd.weight_kg),
        params={"limit": START_MAX_MG_PER_KG_DAY_CHILD},
        evidence=lambda b: _child_start_evidence(b) | {"threshold_mg_per_kg_day": b.limit},
        source=START_CHILD_SOURCE,
        description="Child's course started clearly above 0.3 mg/kg/day (threshold 0.5).",
    ),
    AlertRule(
        id="oral_dose.start_child_above_adult_start",
        code="STARTING_DOSE_ABOVE_RECOMMENDED",
        severity=Severity.WARNING,
        when=_child_start((m.mg_per_kg_day <= START_MAX_MG_PER_KG_DAY_CHILD)
                          & (m.mg > START_MAX_MG_DAY_ADULT)),
        message="Starting dose {wbd.mg:g} mg/day ({wbd.mg_per_kg_day:.2f} mg/kg/day for "
        "{wbd.weight_kg:g} kg) for a child aged {band.years} is above the {limit} mg/day an "
        "adult starts on.",
        suggestion=lambda b: _child_start_suggestion(b.wbd.weight_kg),
        params={"limit": START_MAX_MG_DAY_ADULT},
        evidence=_child_start_evidence,
        source=START_CHILD_ADULT_CAP_SOURCE,
        description="Heavy child's course started above the adult start of 15 mg/day.",
    ),
    AlertRule(
        id="oral_dose.start_child_above_adult_start_no_weight",
        code="STARTING_DOSE_ABOVE_RECOMMENDED",
        severity=Severity.WARNING,
        when=(
            c.order << _oral_order(m.action == "start"),
            c.band << ((m.kind == "age_band") & (m.paediatric == True)),  # noqa: E712
            c.patient << ((m.kind == "patient") & -m.weight_kg),
            c.dose << ((m.kind == "daily_dose") & (m.route == "oral")
                       & (m.mg > START_MAX_MG_DAY_ADULT)),
        ),
        message="Starting dose {dose.mg:g} mg/day for a child aged {band.years} is above the "
        "{limit} mg/day an adult starts on, whatever the child weighs.",
        suggestion="Start at about 0.3 mg/kg/day, never above {limit} mg/day, in 2-4 divided "
        "doses; record the weight to check it.",
        params={"limit": START_MAX_MG_DAY_ADULT},
        # No recommended_start_mg_day: without the weight there is none (15 mg/day would be
        # 1.5 mg/kg/day for a 10 kg child), so CDS Hooks offers no corrected dose.
        evidence=lambda b: {"daily_mg": b.dose.mg, "max_start_mg_day": b.limit},
        source=START_CHILD_ADULT_CAP_SOURCE,
        description="Child of unknown weight started above the adult start of 15 mg/day.",
    ),
    AlertRule(
        id="oral_dose.titration_adult",
        code="TITRATION_TOO_FAST",
        severity=Severity.WARNING,
        when=(
            c.band << ((m.kind == "age_band") & (m.band == "adult")),
            c.step << ((m.kind == "dose_step") & (m.route == "oral") & (m.increase_mg > 0)
                       & ((m.increase_mg > STEP_MAX_MG_DAY_ADULT)
                          | (m.days_since_change < STEP_MIN_DAYS_ADULT))),
        ),
        message=lambda b: _titration_message(b, STEP_MAX_MG_DAY_ADULT, STEP_MIN_DAYS_ADULT),
        suggestion=lambda b: _titration_suggestion(b, STEP_MAX_MG_DAY_ADULT, STEP_MIN_DAYS_ADULT),
        evidence=lambda b: _step_evidence(b, STEP_MAX_MG_DAY_ADULT, STEP_MIN_DAYS_ADULT),
        source=TITRATION_ADULT_SOURCE,
        description="Adult step-up above 15 mg/day or sooner than 3 days after the last change.",
    ),
    AlertRule(
        id="oral_dose.titration_child",
        code="TITRATION_TOO_FAST",
        severity=Severity.WARNING,
        when=(
            c.band << ((m.kind == "age_band") & (m.paediatric == True)),  # noqa: E712
            c.step << ((m.kind == "dose_step") & (m.route == "oral") & (m.increase_mg > 0)
                       & (m.days_since_change < STEP_MIN_DAYS_CHILD)),
        ),
        message=lambda b: _titration_message(b, None, STEP_MIN_DAYS_CHILD),
        suggestion=lambda b: _titration_suggestion(b, None, STEP_MIN_DAYS_CHILD),
        evidence=lambda b: _step_evidence(b, None, STEP_MIN_DAYS_CHILD),
        source=TITRATION_CHILD_SOURCE,
        description="Child's dose increased sooner than about a week after the last change.",
    ),
    AlertRule(
        id="oral_dose.division_child",
        code="DOSING_FREQUENCY_OUTSIDE_RANGE",
        severity=Severity.WARNING,
        when=(
            c.band << ((m.kind == "age_band") & (m.paediatric == True)),  # noqa: E712
            c.order << _oral_order((m.action != "stop")
                                   & ((m.frequency_per_day < DIVIDED_DOSES_CHILD[0])
                                      | (m.frequency_per_day > DIVIDED_DOSES_CHILD[1]))),
        ),
        message="{order.frequency_per_day} dose(s) a day for a child aged {band.years}: a child's "
        "daily dose should be divided into 2-4 doses.",
        suggestion="Divide the daily dose into 2-4 doses (preferably 4).",
        evidence=lambda b: {"frequency_per_day": b.order.frequency_per_day,
                            "age_years": b.band.years},
        source=DIVISION_SOURCE,
        description="Child's daily dose not divided into 2-4 doses.",
    ),
    AlertRule(
        id="oral_dose.abrupt_stop",
        code="ABRUPT_DISCONTINUATION",
        severity=Severity.WARNING,
        when=(c.order << _oral_order((m.action == "stop") & (m.taper == False)),),  # noqa: E712
        message=lambda b: ("Baclofen stopped without a taper"
                           + (f" (current regimen {b.order.prev_dose_value:g} "
                              f"{b.order.prev_dose_unit} {b.order.prev_frequency_per_day} times a "
                              "day)" if "prev_frequency_per_day" in b.order
                              and "prev_dose_value" in b.order else "")
                           + ": sudden withdrawal can cause hallucinations, seizures and "
                           "hyperthermia."),
        suggestion="Taper by successive dose reductions over 1-2 weeks instead of stopping, "
        "unless this is an overdose emergency.",
        evidence=lambda b: {"action": "stop", "taper": False},
        source=DISCONTINUATION_SOURCE,
        description="Established course stopped without a taper.",
    ),
    AlertRule(
        id="oral_dose.abrupt_cut",
        code="ABRUPT_DISCONTINUATION",
        severity=Severity.WARNING,
        when=(c.step << ((m.kind == "dose_step") & (m.route == "oral")
                         & (m.from_mg > ABRUPT_CUT_FROM_ABOVE_MG_DAY)
                         & (m.reduction_fraction > ABRUPT_CUT_FRACTION)),),
        message=lambda b: (f"Daily dose cut from {b.step.from_mg:g} to {b.step.to_mg:g} mg/day "
                           f"in one step ({b.step.reduction_fraction:.0%} less): sudden "
                           "withdrawal of most of an established dose can cause "
                           "hallucinations, seizures and hyperthermia."),
        suggestion=lambda b: (f"Reduce by at most half at a time (to no less than "
                              f"{b.step.from_mg * (1 - ABRUPT_CUT_FRACTION):g} mg/day now), "
                              "in successive steps over 1-2 weeks, unless this is an overdose "
                              "emergency."),
        evidence=lambda b: {k: v for k, v in b.step.items() if k not in ("id", "kind")}
        | {"max_reduction_fraction": ABRUPT_CUT_FRACTION},
        source=ABRUPT_CUT_SOURCE,
        description="More than half of an established dose (above 15 mg/day) cut in one step.",
    ),
]


def child_start_mg_day(weight_kg: float) -> float:
    """About 0.3 mg/kg/day (000), never above what an adult starts on (001)."""
    return min(round(CHILD_START_MG_PER_KG_DAY * weight_kg, 1), START_MAX_MG_DAY_ADULT)


def _child_start_suggestion(weight_kg: float) -> str:
    start = child_start_mg_day(weight_kg)
    basis = (f"{CHILD_START_MG_PER_KG_DAY:g} mg/kg/day" if start < START_MAX_MG_DAY_ADULT
             else f"the adult start; {CHILD_START_MG_PER_KG_DAY:g} mg/kg/day would be "
             f"{CHILD_START_MG_PER_KG_DAY * weight_kg:.1f} mg/day")
    return (f"Start at about {start:g} mg/day ({basis}) in 2-4 divided doses; increase at "
            "about weekly intervals.")


_STEP_INTERNALS = ("id", "kind", "reduction_fraction")


def _step_evidence(b: Bindings, max_step: float | None, min_days: int) -> dict[str, object]:
    out = {k: v for k, v in b.step.items() if k not in _STEP_INTERNALS}
    if max_step is not None:
        out["max_step_mg_day"] = max_step
    out["min_days_between_steps"] = min_days
    return out


def _titration_suggestion(b: Bindings, max_step: float | None, min_days: int) -> str:
    """Too soon: keep the current dose until the date the next step is due. Too large: the
    largest step allowed now."""
    s = b.step
    step_text = (f"by at most {max_step:g} mg/day (to at most "
                 f"{min(s.to_mg, s.from_mg + max_step):g} mg/day)" if max_step is not None
                 else "cautiously")
    if "days_since_change" in s and s.days_since_change < min_days:
        due = date.fromisoformat(s.since) + timedelta(days=min_days)
        return (f"Keep {s.from_mg:g} mg/day until {due.isoformat()} ({min_days} days after the "
                f"last change on {s.since}), then increase {step_text}.")
    return f"Increase {step_text} now, and no sooner than every {min_days} days."


def _titration_message(b: Bindings, max_step: float | None, min_days: int) -> str:
    s = b.step
    reasons = []
    if max_step is not None and s.increase_mg > max_step:
        reasons.append(f"a step of +{s.increase_mg:g} mg/day exceeds {max_step:g} mg/day")
    if "days_since_change" in s and s.days_since_change < min_days:
        reasons.append(f"{s.days_since_change} day(s) after the last change is sooner than "
                       f"{min_days} days")
    return (f"Dose raised from {s.from_mg:g} to {s.to_mg:g} mg/day: " + " and ".join(reasons)
            + ".")
