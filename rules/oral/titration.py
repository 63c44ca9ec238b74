"""Titration of an oral course (001 for adults, 000 for children).

001: "The following gradually incremented dosage regime is suggested but may need adjustment to
suit individual patient requirements." (5, 10, 15, 20 mg three times daily, each for three
days: steps of 15 mg/day at intervals of three days.)
000: "The dosage should be raised cautiously, at about 1 week intervals, until it becomes
sufficient for the child's individual requirements."

When an adult's daily dose is raised by more than 15 mg/day, or sooner than 3 days after the
last change, Then TITRATION_TOO_FAST (warning): keep the current dose until the next step is
due, then at most +15 mg/day.
When a child's daily dose is raised sooner than 7 days after the last change, Then the same
warning: keep the current dose until the week is over.
When either is raised where oral baclofen is to be avoided (CrCl/eGFR 15 to < 30 mL/min, CKD
stage 4 with no value: rules/renal.py) or contraindicated (terminal renal failure:
rules/contraindications.py), Then the same warning and message, but the suggestion advises no
further step: keep at most the dose before the step, and seek specialist review.
When a dose change gives no previous regimen (or no dose or frequency in it), or no date of the
last change, Then MISSING_DATA names the field: the step or the interval could not be checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from engine import AlertRule, Derivation, Severity, c, m
from rules.oral.caps import MAX_MG_DAY_ADULT
from rules.renal import AVOID_ORAL_ADVICE_NOTE, AVOID_ORAL_EXCERPT, ORAL_AVOIDED
from rules.sources import ADULT_SMPC, CONSUMER_GUIDE, PAED_SMPC, Passage
from rules.vocabulary import DoseStep, TitrationNext

STEP_MAX_MG_DAY_ADULT = 15  # 001: 5 mg three times daily more every three days
STEP_MIN_DAYS_ADULT = 3
STEP_MIN_DAYS_CHILD = 7  # 000: "at about 1 week intervals"

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

TITRATION_AVOID_ORAL_SOURCE = Passage(
    CONSUMER_GUIDE,
    AVOID_ORAL_EXCERPT,
    note=AVOID_ORAL_ADVICE_NOTE
    + "The step was still too fast (001, primary: steps of 15 mg/day every three days for "
    "adults; 000, primary: about weekly for children), so TITRATION_TOO_FAST keeps its "
    "message; its suggestion no longer gives the next step and its date, since there is to be "
    "no next oral step: keep at most the dose before the step, and seek specialist review. "
    "000/001 give the regime without regard to renal function, so they do not contradict 004 "
    "here; 002 (secondary) asks for 'a more cautious approach' in renal impairment.",
)


def next_step(
    step: DoseStep, max_step: float | None, min_days: int, cap: float | None
) -> Iterator[TitrationNext]:
    """Which limit the step broke, the largest step allowed now and the date the next one is
    due (the last change plus the interval). The step suggested never passes the daily
    maximum (`cap`) from below it: "to at most 105 mg/day" beside "reduce to at most 100"
    contradicted itself."""
    too_large = max_step is not None and step.increase_mg > max_step
    too_soon = step.days_since_change is not None and step.days_since_change < min_days
    due = (
        (date.fromisoformat(step.since) + timedelta(days=min_days)).isoformat()
        if (too_soon and step.since is not None)
        else None
    )
    yield TitrationNext(
        too_large=too_large,
        too_soon=too_soon,
        max_to_mg=(
            min(
                step.to_mg,
                step.from_mg + max_step,
                cap if cap is not None and step.from_mg < cap else step.to_mg,
            )
            if max_step is not None
            else None
        ),
        due=due,
    )


_adult = (m.kind == "age_band") & (m.band == "adult")
_child = (m.kind == "age_band") & (m.paediatric == True)
_increase = (m.kind == "dose_step") & (m.route == "oral") & (m.increase_mg > 0)
_ADULT_TOO_FAST = (
    c.band << _adult,
    c.step
    << (
        _increase
        & ((m.increase_mg > STEP_MAX_MG_DAY_ADULT) | (m.days_since_change < STEP_MIN_DAYS_ADULT))
    ),
)
_CHILD_TOO_SOON = (
    c.band << _child,
    c.step << (_increase & (m.days_since_change < STEP_MIN_DAYS_CHILD)),
)
# The message states what the step broke; the variants where oral baclofen is to be avoided keep
# it and change only the advice.
_ADULT_MESSAGE = (
    "Dose raised from {step.from_mg:g} to {step.to_mg:g} mg/day: {if next.too_large}"
    "a step of +{step.increase_mg:g} mg/day exceeds {max_step:g} mg/day{if next.too_soon} "
    "and {end}{end}{if next.too_soon}{step.days_since_change} "
    "day{if step.days_since_change != 1}s{end} after the last change "
    "is sooner than {min_days} days{end}."
)
_CHILD_MESSAGE = (
    "Dose raised from {step.from_mg:g} to {step.to_mg:g} mg/day: "
    "{step.days_since_change} day{if step.days_since_change != 1}s{end} after the last change "
    "is sooner than {min_days} days."
)
_AVOID_ORAL_ADVICE = (
    "Do not raise oral baclofen: with {avoid.reason} it is {if avoid.contraindicated}"
    "contraindicated{else}to be avoided{end} (see the renal alert). Keep at most "
    "{step.from_mg:g} mg/day, the dose before this step, and seek specialist review."
)
_change = (m.kind == "order") & (m.action == "change") & ((m.route == "oral") | -m.route)

RULES = [
    Derivation(
        id="oral_dose.titration_next_adult",
        when=_ADULT_TOO_FAST,
        derive=next_step,
        params={
            "max_step": STEP_MAX_MG_DAY_ADULT,
            "min_days": STEP_MIN_DAYS_ADULT,
            "cap": MAX_MG_DAY_ADULT,
        },
        doc="The largest step allowed now (within the adult maximum) and the date the next "
        "one is due.",
    ),
    Derivation(
        id="oral_dose.titration_next_child",
        when=_CHILD_TOO_SOON,
        derive=next_step,
        params={"max_step": None, "min_days": STEP_MIN_DAYS_CHILD, "cap": None},
        doc="The date the next step is due.",
    ),
    AlertRule(
        id="oral_dose.titration_adult",
        code="TITRATION_TOO_FAST",
        severity=Severity.WARNING,
        when=(*_ADULT_TOO_FAST, c.next << (m.kind == "titration_next")),
        message=_ADULT_MESSAGE,
        suggestion="{if next.too_soon}Keep {step.from_mg:g} mg/day until {next.due} ({min_days} "
        "days after the last change on {step.since}), then increase by at most {max_step:g} "
        "mg/day (to at most {next.max_to_mg:g} mg/day).{else}Increase by at most {max_step:g} "
        "mg/day (to at most {next.max_to_mg:g} mg/day) now, and no sooner than every "
        "{min_days} days.{end}",
        params={"max_step": STEP_MAX_MG_DAY_ADULT, "min_days": STEP_MIN_DAYS_ADULT},
        evidence=(
            "step.* -reduction_fraction",
            "max_step_mg_day=max_step",
            "min_days_between_steps=min_days",
        ),
        source=TITRATION_ADULT_SOURCE,
        description="Adult step-up above 15 mg/day or sooner than 3 days after the last change.",
    ),
    AlertRule(
        id="oral_dose.titration_adult_avoid_oral",
        code="TITRATION_TOO_FAST",
        severity=Severity.WARNING,
        when=(*_ADULT_TOO_FAST, c.next << (m.kind == "titration_next"), c.avoid << ORAL_AVOIDED),
        message=_ADULT_MESSAGE,
        suggestion=_AVOID_ORAL_ADVICE,
        params={"max_step": STEP_MAX_MG_DAY_ADULT, "min_days": STEP_MIN_DAYS_ADULT},
        evidence=(
            "step.* -reduction_fraction",
            "max_step_mg_day=max_step",
            "min_days_between_steps=min_days",
            "oral_avoided=avoid.reason",
        ),
        supersedes_rules=("oral_dose.titration_adult",),
        source=TITRATION_AVOID_ORAL_SOURCE,
        description="Adult step-up too large or too soon where oral baclofen is to be avoided "
        "(CrCl/eGFR < 30 mL/min, CKD stage 4) or contraindicated: no further step is advised.",
    ),
    AlertRule(
        id="oral_dose.titration_child",
        code="TITRATION_TOO_FAST",
        severity=Severity.WARNING,
        when=(*_CHILD_TOO_SOON, c.next << (m.kind == "titration_next")),
        message=_CHILD_MESSAGE,
        suggestion="Keep {step.from_mg:g} mg/day until {next.due} ({min_days} days after the "
        "last change on {step.since}), then increase cautiously.",
        params={"min_days": STEP_MIN_DAYS_CHILD},
        evidence=("step.* -reduction_fraction", "min_days_between_steps=min_days"),
        source=TITRATION_CHILD_SOURCE,
        description="Child's dose increased sooner than about a week after the last change.",
    ),
    AlertRule(
        id="oral_dose.titration_child_avoid_oral",
        code="TITRATION_TOO_FAST",
        severity=Severity.WARNING,
        when=(*_CHILD_TOO_SOON, c.next << (m.kind == "titration_next"), c.avoid << ORAL_AVOIDED),
        message=_CHILD_MESSAGE,
        suggestion=_AVOID_ORAL_ADVICE,
        params={"min_days": STEP_MIN_DAYS_CHILD},
        evidence=(
            "step.* -reduction_fraction",
            "min_days_between_steps=min_days",
            "oral_avoided=avoid.reason",
        ),
        supersedes_rules=("oral_dose.titration_child",),
        source=TITRATION_AVOID_ORAL_SOURCE,
        description="Child's dose increased sooner than about a week after the last change "
        "where oral baclofen is to be avoided or contraindicated: no further step is advised.",
    ),
    AlertRule(
        id="missing.previous_regimen",
        code="MISSING_DATA",
        severity=Severity.WARNING,
        when=(c.order << (_change & (m.has_previous == False)),),
        message="Dose change without order.previous: the titration step could not be checked.",
        suggestion="Give the regimen being changed: order.previous.dose, frequency_per_day and "
        "since.",
        params={"missing": ["order.previous"]},
        evidence=("missing",),
        source=TITRATION_ADULT_SOURCE,
        description="Dose change without the previous regimen: titration could not be checked.",
    ),
    AlertRule(
        id="missing.previous_dose",
        code="MISSING_DATA",
        severity=Severity.WARNING,
        when=(
            c.order
            << (
                _change & (m.has_previous == True) & -m.prev_dose_value & +m.prev_frequency_per_day
            ),
        ),
        message="Dose change without order.previous.dose: the titration step could not be checked.",
        suggestion="Give the regimen being changed: order.previous.dose, frequency_per_day and "
        "since.",
        params={"missing": ["order.previous.dose"]},
        evidence=("missing",),
        source=TITRATION_ADULT_SOURCE,
        description="Dose change whose previous regimen has no dose.",
    ),
    AlertRule(
        id="missing.previous_frequency",
        code="MISSING_DATA",
        severity=Severity.WARNING,
        when=(
            c.order
            << (
                _change & (m.has_previous == True) & +m.prev_dose_value & -m.prev_frequency_per_day
            ),
        ),
        message="Dose change without order.previous.frequency_per_day: the titration step "
        "could not be checked.",
        suggestion="Give the regimen being changed: order.previous.dose, frequency_per_day and "
        "since.",
        params={"missing": ["order.previous.frequency_per_day"]},
        evidence=("missing",),
        source=TITRATION_ADULT_SOURCE,
        description="Dose change whose previous regimen has no frequency.",
    ),
    AlertRule(
        id="missing.previous_dose_and_frequency",
        code="MISSING_DATA",
        severity=Severity.WARNING,
        when=(
            c.order
            << (
                _change & (m.has_previous == True) & -m.prev_dose_value & -m.prev_frequency_per_day
            ),
        ),
        message="Dose change without order.previous.dose, order.previous.frequency_per_day: "
        "the titration step could not be checked.",
        suggestion="Give the regimen being changed: order.previous.dose, frequency_per_day and "
        "since.",
        params={"missing": ["order.previous.dose", "order.previous.frequency_per_day"]},
        evidence=("missing",),
        source=TITRATION_ADULT_SOURCE,
        description="Dose change whose previous regimen has neither dose nor frequency.",
    ),
    AlertRule(
        id="missing.previous_since",
        code="MISSING_DATA",
        severity=Severity.WARNING,
        when=(c.order << (_change & (m.has_previous == True) & -m.prev_since),),
        message="Dose change without the date of the last change: the titration interval could "
        "not be checked.",
        suggestion="Give order.previous.since (the date the current regimen started).",
        params={"missing": ["order.previous.since"]},
        evidence=("missing",),
        source=TITRATION_ADULT_SOURCE,
        description="Dose change without previous.since: interval not checked.",
    ),
    AlertRule(
        id="missing.continued_step_since",
        code="MISSING_DATA",
        severity=Severity.WARNING,
        when=(
            c.order
            << (
                (m.kind == "order")
                & (m.action == "continue")
                & ((m.route == "oral") | -m.route)
                & (m.has_previous == True)
            ),
            c.step << ((m.kind == "dose_step") & -m.since),
        ),
        message="Order continued at {step.to_mg:g} mg/day where the regimen before it gave "
        "{step.from_mg:g} mg/day, without the date of the last change: the titration interval "
        "could not be checked.",
        suggestion="Give order.previous.since (the date the current regimen started).",
        params={"missing": ["order.previous.since"]},
        evidence=("missing",),
        source=TITRATION_ADULT_SOURCE,
        description="A continue whose previous regimen differs, without previous.since: a step "
        "in all but name, interval not checked.",
    ),
]
