"""Intrathecal screening: the test boluses before an infusion (001, Adult Screening Phase).

001: "The usual initial test dose in adults is 25 or 50 micrograms, increasing step-wise by 25
microgram increments at intervals of not less than 24 hours until a response of approximately
4 to 8 hours duration is observed." "Patients who do not respond to a 100 micrograms test dose
should not be given further dose increments or considered for continuous intrathecal infusion."

When a test bolus is outside 25-100 ug, a first one is above 50 ug, a step is above +25 ug, one
comes less than 24 h after the previous, or a higher one follows a significant response of 4 h
or more (the goal was reached: start the infusion at twice that bolus, or at the bolus itself
when its effect lasted over 12 h), Then INTRATHECAL_SCREENING_DOSE (warning), every reason in
one alert.
When a test dose of 100 ug or more gave no significant response and a further bolus or an
infusion is ordered, Then INTRATHECAL_NON_RESPONDER (critical).
When such a test dose has no recorded response, or a significant response no recorded
duration before a higher bolus, Then MISSING_DATA names the field.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from engine import AlertRule, Derivation, Severity, c, given, m
from engine.evidence import whole
from rules.intrathecal.steps import ITB_DOSE, NOT_STOP, hours, itb_order, ug
from rules.sources import ADULT_SMPC, Passage
from rules.unit_slips import recorded_bolus_slip
from rules.vocabulary import (
    DailyDose,
    ItbBolus,
    ItbScreeningIssue,
    ItbTestDose,
    ItbTestStep,
    OrderFact,
    SuspectDose,
)

TEST_DOSE_MIN_UG = 25
TEST_DOSE_MAX_UG = 100  # a non-responder at 100 ug gets no further increments
FIRST_TEST_DOSE_MAX_UG = 50  # "usual initial test dose ... 25 or 50 micrograms"
TEST_DOSE_STEP_MAX_UG = 25
TEST_DOSE_MIN_INTERVAL_H = 24
NON_RESPONDER_TEST_DOSE_UG = 100
# "until a response of approximately 4 to 8 hours duration is observed": a significant response
# lasting 4 h or more (longer is more than enough) ends the stepping up of test doses.
SCREENING_GOAL_MIN_H = 4
PROLONGED_EFFECT_H = 12  # 001 Dose-Titration Phase: over 12 h, start with the bolus unchanged
INFUSION_FACTOR = 2  # 001: the infusion doubles the effective bolus

SCREENING_SOURCE = Passage(
    ADULT_SMPC,
    "The usual initial test dose in adults is 25 or 50 micrograms, increasing step-wise by 25 "
    "microgram increments at intervals of not less than 24 hours until a response of "
    "approximately 4 to 8 hours duration is observed.",
    note="A test bolus outside 25-100 ug, a first test dose above 50 ug, a step above +25 ug or "
    "a dose less than 24 h after the previous one. 100 ug is the top because non-responders at "
    "100 ug stop there. The stepping goes on 'until a response of approximately 4 to 8 hours "
    "duration is observed': a further, higher test dose after a significant response lasting "
    "4 h or more (longer included) is flagged too, since the screening goal was reached and "
    "the next step is the infusion. The text is for adults; 004 (tertiary) gives children the "
    "same 25-50 ug test dose, so the rule applies at any age.",
)
NON_RESPONDER_SOURCE = Passage(
    ADULT_SMPC,
    "Patients who do not respond to a 100 micrograms test dose should not be given further dose "
    "increments or considered for continuous intrathecal infusion.",
    note="'Respond' is read with 001's definition of a responder: 'a significant decrease in "
    "muscle tone and/or frequency and/or severity of muscle spasms'. A response of none or "
    "partial to a test dose of 100 ug or more is a non-response.",
)


def bolus(td: ItbTestDose) -> Iterator[ItbBolus | SuspectDose]:
    """Each test bolus in ug, unless it reads as a unit slip (rules/unit_slips.py): then it is
    said (DOSE_UNIT_SUSPECT) and nothing is measured from it, neither a step, nor a response,
    nor the infusion start."""
    amount = ug(td.dose_value, td.dose_unit)
    why = recorded_bolus_slip(amount)
    if why is not None:
        yield SuspectDose(
            field="order.intrathecal.screening_doses",
            label=f"The test bolus recorded on {td.time[:10]}",
            written=f"{td.dose_value:g} {td.dose_unit}",
            mg=round(amount / 1000, 6),
            ug=amount,
            route="intrathecal",
            reason=why,
            consequence="no test-dose step, response or infusion start is measured from it",
            bolus=True,
        )
        return
    yield ItbBolus(
        seq=td.seq,
        time=td.time,
        ug=amount,
        last=td.last,
        response=td.response,
        effect_hours=td.effect_hours,
    )


def test_step(order: OrderFact, dose: DailyDose, prev: ItbBolus) -> Iterator[ItbTestStep]:
    yield ItbTestStep(
        from_ug=prev.ug,
        to_ug=dose.ug,
        increase_ug=round(dose.ug - prev.ug, 3),
        hours_since_previous=hours(prev.time, order.time) if order.time else None,
    )


def dose_issue(dose: DailyDose, issue: str) -> Iterator[ItbScreeningIssue]:
    yield ItbScreeningIssue(issue=issue, to_ug=dose.ug)


def step_issue(step: ItbTestStep, issue: str) -> Iterator[ItbScreeningIssue]:
    yield ItbScreeningIssue(
        issue=issue,
        from_ug=step.from_ug,
        to_ug=step.to_ug,
        increase_ug=step.increase_ug,
        hours_since_previous=step.hours_since_previous,
    )


def goal_reached(dose: DailyDose, b: ItbBolus, factor: int) -> Iterator[ItbScreeningIssue]:
    """The infusion the effective bolus calls for: `factor` times it (001)."""
    yield ItbScreeningIssue(
        issue="goal_reached",
        from_ug=b.ug,
        to_ug=dose.ug,
        effect_hours=b.effect_hours,
        start_ug=round(b.ug * factor, 3),
        effect_prolonged=factor == 1,
    )


def _g(x: float | None) -> str:
    return f"{x:g}"


def _issue_text(f: ItbScreeningIssue) -> str:
    if f.issue == "outside_range":
        return (
            f"a test dose of {_g(f.to_ug)} ug is outside {TEST_DOSE_MIN_UG}-{TEST_DOSE_MAX_UG} ug"
        )
    if f.issue == "first_above_50":
        return f"a first test dose of {_g(f.to_ug)} ug is above {FIRST_TEST_DOSE_MAX_UG} ug"
    if f.issue == "step_too_large":
        return (
            f"the step from {_g(f.from_ug)} to {_g(f.to_ug)} ug (+{_g(f.increase_ug)} ug) is "
            f"above +{TEST_DOSE_STEP_MAX_UG} ug"
        )
    if f.issue == "too_soon":
        return (
            f"{_g(f.hours_since_previous)} h after the previous test dose is sooner than "
            f"{TEST_DOSE_MIN_INTERVAL_H} h"
        )
    return (
        f"a significant response lasting {_g(f.effect_hours)} h to {_g(f.from_ug)} ug was "
        "already observed (the screening goal: a response of about 4 to 8 hours), so a "
        f"further, higher test dose of {_g(f.to_ug)} ug is not needed"
    )


def issues(f: Sequence[ItbScreeningIssue]) -> list[ItbScreeningIssue]:
    """Of several earlier boluses that reached the goal, the lowest: it reached it first."""
    reached = [x for x in f if x.issue == "goal_reached"]
    if not reached:
        return list(f)
    lowest = min(reached, key=lambda x: given(x.from_ug))
    return [x for x in f if x.issue != "goal_reached" or x is lowest]


def screening_message(f: Sequence[ItbScreeningIssue]) -> str:
    texts = dict.fromkeys(_issue_text(x) for x in issues(f))
    return "Intrathecal test dose: " + "; ".join(texts) + "."


def screening_suggestion(f: Sequence[ItbScreeningIssue]) -> str:
    reached = [x for x in issues(f) if x.issue == "goal_reached"]
    if reached:
        x = reached[0]
        start = (
            f"at {_g(x.start_ug)} ug/day, the bolus unchanged (its effect lasted over "
            f"{PROLONGED_EFFECT_H} h)"
            if x.effect_prolonged
            else f"at twice it ({_g(x.start_ug)} ug/day)"
        )
        return (
            f"Do not give a higher test dose: the {_g(x.from_ug)} ug bolus was effective. "
            f"Start the infusion {start}."
        )
    return (
        f"Start with {TEST_DOSE_MIN_UG} or {FIRST_TEST_DOSE_MAX_UG} ug and step up by at "
        f"most {TEST_DOSE_STEP_MAX_UG} ug, no sooner than every {TEST_DOSE_MIN_INTERVAL_H} "
        f"h, up to {TEST_DOSE_MAX_UG} ug; give with resuscitation equipment at hand."
    )


def screening_evidence(f: Sequence[ItbScreeningIssue]) -> dict[str, object]:
    return {"findings": [whole(x, exclude=("start_ug", "effect_prolonged")) for x in issues(f)]}


def non_responder_message(f: Sequence[ItbBolus]) -> str:
    doses = ", ".join(sorted({f"{_g(x.ug)} ug ({x.response})" for x in f}))
    return (
        f"No significant response to a test dose of {doses}: a non-responder at "
        f"{NON_RESPONDER_TEST_DOSE_UG} ug should get no further test doses and no "
        "continuous infusion."
    )


def no_response_message(f: Sequence[ItbBolus]) -> str:
    return (
        "No response recorded for the test dose"
        + ("s" if len(f) > 1 else "")
        + " of "
        + ", ".join(f"{_g(x.ug)} ug" for x in f)
        + f": the non-responder check ({NON_RESPONDER_TEST_DOSE_UG} ug) could not run."
    )


def no_response_evidence(f: Sequence[ItbBolus]) -> dict[str, object]:
    return {"missing": [f"order.intrathecal.screening_doses[{x.seq}].response" for x in f]}


def no_duration_message(b: Sequence[ItbBolus]) -> str:
    return (
        "No effect duration recorded for the significant response to "
        + ", ".join(sorted({f"{_g(x.ug)} ug" for x in b}))
        + ": whether the screening goal (a response of about 4 to 8 hours) was already "
        "reached, making a higher test dose unnecessary, could not be checked."
    )


def no_duration_evidence(b: Sequence[ItbBolus]) -> dict[str, object]:
    return {"missing": [f"order.intrathecal.screening_doses[{x.seq}].effect_hours" for x in b]}


_screening = itb_order((m.it_phase == "screening") & NOT_STOP)
_test_step = m.kind == "itb_test_step"
_responded = (m.kind == "itb_bolus") & (m.response == "significant")

RULES = [
    Derivation(
        id="intrathecal.test_dose_ug",
        when=(c.td << (m.kind == "itb_test_dose"),),
        derive=bolus,
        doc="Each test bolus in ug, or a suspect dose when it reads as a unit slip.",
    ),
    Derivation(
        id="intrathecal.test_step",
        when=(
            c.order << _screening,
            c.dose << ITB_DOSE,
            c.prev << ((m.kind == "itb_bolus") & (m.last == True)),
        ),
        derive=test_step,
        doc="The ordered bolus against the last one: step and interval.",
    ),
    # Screening issues: one fact each, folded into one INTRATHECAL_SCREENING_DOSE alert.
    Derivation(
        id="intrathecal.screening_outside_range",
        when=(
            c.order << _screening,
            c.dose << (ITB_DOSE & ((m.ug < TEST_DOSE_MIN_UG) | (m.ug > TEST_DOSE_MAX_UG))),
        ),
        derive=dose_issue,
        params={"issue": "outside_range"},
        doc="A test bolus below 25 or above 100 ug.",
    ),
    Derivation(
        id="intrathecal.screening_first_above_50",
        when=(
            c.order << itb_order((m.it_phase == "screening") & NOT_STOP & (m.it_n_screening == 0)),
            c.dose << (ITB_DOSE & (m.ug > FIRST_TEST_DOSE_MAX_UG) & (m.ug <= TEST_DOSE_MAX_UG)),
        ),
        derive=dose_issue,
        params={"issue": "first_above_50"},
        doc="A first test bolus above 50 ug (and at most 100 ug).",
    ),
    Derivation(
        id="intrathecal.screening_step_above_25",
        when=(c.step << (_test_step & (m.increase_ug > TEST_DOSE_STEP_MAX_UG)),),
        derive=step_issue,
        params={"issue": "step_too_large"},
        doc="A test bolus more than 25 ug above the last one.",
    ),
    Derivation(
        id="intrathecal.screening_too_soon",
        when=(c.step << (_test_step & (m.hours_since_previous < TEST_DOSE_MIN_INTERVAL_H)),),
        derive=step_issue,
        params={"issue": "too_soon"},
        doc="A test bolus less than 24 h after the last one.",
    ),
    Derivation(
        id="intrathecal.screening_goal_reached",
        when=(
            c.order << _screening,
            c.dose << ITB_DOSE,
            c.b
            << (
                _responded
                & (m.effect_hours >= SCREENING_GOAL_MIN_H)
                & (m.effect_hours <= PROLONGED_EFFECT_H)
                & (m.ug < c.dose.ug)
            ),
        ),
        derive=goal_reached,
        params={"factor": INFUSION_FACTOR},
        doc="A higher test dose after a significant response of 4 to 12 h: the goal was "
        "reached; the infusion would be twice that bolus.",
    ),
    Derivation(
        id="intrathecal.screening_goal_reached_prolonged",
        when=(
            c.order << _screening,
            c.dose << ITB_DOSE,
            c.b << (_responded & (m.effect_hours > PROLONGED_EFFECT_H) & (m.ug < c.dose.ug)),
        ),
        derive=goal_reached,
        params={"factor": 1},
        doc="The same after a response lasting over 12 h: the infusion would be the bolus "
        "unchanged.",
    ),
    AlertRule(
        id="intrathecal.screening_dose",
        code="INTRATHECAL_SCREENING_DOSE",
        severity=Severity.WARNING,
        when=(c.f << (m.kind == "itb_screening_issue"),),
        message=screening_message,
        suggestion=screening_suggestion,
        evidence=screening_evidence,
        aggregate=True,
        source=SCREENING_SOURCE,
        description="Test bolus outside 25-100 ug, first above 50 ug, step above +25 ug, "
        "sooner than 24 h, or higher after a significant response of 4 h or more.",
    ),
    AlertRule(
        id="intrathecal.non_responder",
        code="INTRATHECAL_NON_RESPONDER",
        severity=Severity.CRITICAL,
        when=(
            c.order << itb_order(NOT_STOP),
            c.f
            << (
                (m.kind == "itb_bolus")
                & (m.ug >= NON_RESPONDER_TEST_DOSE_UG)
                & ((m.response == "none") | (m.response == "partial"))
            ),
        ),
        message=non_responder_message,
        suggestion="Do not give further test doses or start an infusion; consider other "
        "spasticity management.",
        evidence=("findings=f[].*",),
        aggregate=True,
        source=NON_RESPONDER_SOURCE,
        description="Further test dose or infusion after no response to a 100 ug test dose.",
    ),
    AlertRule(
        id="missing.intrathecal_non_responder_response",
        code="MISSING_DATA",
        severity=Severity.WARNING,
        when=(
            c.order << itb_order(NOT_STOP),
            c.f << ((m.kind == "itb_bolus") & -m.response & (m.ug >= NON_RESPONDER_TEST_DOSE_UG)),
        ),
        message=no_response_message,
        suggestion="Record the response of each test dose "
        "(order.intrathecal.screening_doses[].response: none, partial or significant).",
        evidence=no_response_evidence,
        aggregate=True,
        source=NON_RESPONDER_SOURCE,
        description="Test dose of 100 ug or more without a recorded response.",
    ),
    AlertRule(
        id="missing.intrathecal_screening_goal_effect_hours",
        code="MISSING_DATA",
        severity=Severity.WARNING,
        when=(
            c.order << itb_order((m.it_phase == "screening") & NOT_STOP),
            c.dose << ITB_DOSE,
            c.b << (_responded & -m.effect_hours & (m.ug < c.dose.ug)),
        ),
        message=no_duration_message,
        suggestion="Record effect_hours of each test dose "
        "(order.intrathecal.screening_doses[].effect_hours).",
        evidence=no_duration_evidence,
        aggregate=True,
        source=SCREENING_SOURCE,
        description="Higher test dose after a significant response of unknown duration.",
    ),
]
