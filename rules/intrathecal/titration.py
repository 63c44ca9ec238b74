"""Intrathecal titration: the first infusion, a restart, and the increments (001, Dose-Titration
Phase).

001: "The initial total daily infused dose is determined by doubling the bolus dose which gave
a significant response in the initial screening phase and administering it over a 24 hour
period. However, if a prolonged effect (i.e. lasting more than 12 hours) is observed during
screening the starting dose should be the unchanged screening dose delivered over 24 hours."
"No dose increases should be attempted during the first 24 hours." "Patients with spasticity of
spinal origin: 10-30% of the previous daily dose Patients with spasticity of cerebral origin:
5-15% of the previous daily dose." "Baclofen should be resumed at the initial continuous
infusion dose."

When a first infusion (a start without history) is more than 5 % away from twice the last,
effective bolus (effect up to 12 h) or from the bolus itself (effect over 12 h), Then
INTRATHECAL_INITIAL_INFUSION_DOSE (warning); with the effect's duration unknown either fits.
When the last bolus gave no significant response, Then the same warning: no bolus to base it on.
When a restart (a start with history) is more than 5 % above the first regimen, Then the same
warning: tolerance is lost during an interruption.
When the dose is raised within 24 h of the infusion's start, Then INTRATHECAL_INCREASE_IN_FIRST_24H.
When an increase is above +30 % (spinal origin, or origin unknown) or +15 % (cerebral, in
titration), Then INTRATHECAL_INCREMENT_TOO_LARGE (warning), naming the largest dose allowed.
When the origin, the infusion's start, the screening doses or a response or duration they need
is not recorded, Then MISSING_DATA names the field. The maintenance limits and the interval
between increases are rules/intrathecal/maintenance.py.
"""

from __future__ import annotations

from collections.abc import Iterator

from engine import AlertRule, Derivation, Severity, c, m
from rules.intrathecal.screening import (
    INFUSION_FACTOR,
    NON_RESPONDER_TEST_DOSE_UG,
    PROLONGED_EFFECT_H,
)
from rules.intrathecal.steps import (
    INCREASE,
    INITIAL_DOSE_TOLERANCE_PCT,
    ITB_DOSE,
    MISSING_SOURCE,
    NOT_SCREENING,
    itb_order,
    pct,
)
from rules.sources import ADULT_SMPC, Passage
from rules.vocabulary import DailyDose, ItbBolus, ItbInitialInfusion, ItbStep, ItbStepLimit

NO_INCREASE_FIRST_H = 24
MAX_INCREASE_PCT_SPINAL = 30  # titration and maintenance alike
MAX_INCREASE_PCT_CEREBRAL_TITRATION = 15

INITIAL_INFUSION_SOURCE = Passage(
    ADULT_SMPC,
    "The initial total daily infused dose is determined by doubling the bolus dose which gave a "
    "significant response in the initial screening phase and administering it over a 24 hour "
    "period. However, if a prolonged effect (i.e. lasting more than 12 hours) is observed "
    "during screening the starting dose should be the unchanged screening dose delivered over "
    "24 hours.",
    note="The effective bolus is the last test dose, which must have a significant response. "
    "An effect of exactly 12 h is not 'more than 12 hours' (double it). A first infusion more "
    "than 5 % away from the expected dose is flagged; 5 % absorbs pump programming steps.",
)
FIRST_24H_SOURCE = Passage(
    ADULT_SMPC,
    "No dose increases should be attempted during the first 24 hours.",
    note="Measured from order.intrathecal.infusion_started; exactly 24 h is allowed.",
)
TITRATION_INCREMENT_SOURCE = Passage(
    ADULT_SMPC,
    "Patients with spasticity of spinal origin: 10-30% of the previous daily dose Patients with "
    "spasticity of cerebral origin: 5-15% of the previous daily dose.",
    note="Exactly +30 % (spinal) or +15 % (cerebral) is allowed. Percentages are rounded to 0.1 %.",
)
RESUME_SOURCE = Passage(
    ADULT_SMPC,
    "Baclofen should be resumed at the initial continuous infusion dose.",
    note="An intrathecal 'start' with a dose history resumes the infusion after an "
    "interruption (a drug holiday for tolerance, a pump or catheter problem): the first "
    "regimen of order.intrathecal.history is read as the initial continuous infusion dose (a "
    "history that does not go back to the first infusion makes this conservative only if its "
    "first entry is the lowest). A restart more than 5 % above it is an overdose hazard, "
    "above all at the old, higher dose: the tolerance that made the old dose necessary is "
    "lost during the interruption (001: signs of severe overdose after a single test dose of "
    "25 micrograms), so the alert says that and asks for the initial dose. Such a restart is "
    "also stepped against the last regimen for the increment size, the interval since the "
    "last change and the first 24 h, but raises no pump or catheter red flag: the jump from "
    "the last regimen is the prescriber's choice, not a sign of failing delivery. A restart "
    "at or below the initial dose (+5 %) is what 001 asks, even where the last regimen was "
    "lower (a taper before a drug holiday ends below the initial dose); nor is a restart "
    "below the last regimen a cut of a running infusion (no reduction warning).",
)


def initial_infusion(
    dose: DailyDose, test: ItbBolus, factors: tuple[int, ...]
) -> Iterator[ItbInitialInfusion]:
    """The first infusion each reading of the screening response calls for (`factors` times
    the effective bolus), and how far the ordered dose is from the nearest."""
    expected = [round(test.ug * f, 3) for f in factors]
    deviations = [abs(pct(e, dose.ug)) for e in expected]
    best = min(range(len(expected)), key=lambda i: deviations[i])
    yield ItbInitialInfusion(
        ordered_ug=dose.ug,
        test_ug=test.ug,
        expected_ug=expected,
        nearest_ug=expected[best],
        deviation_pct=deviations[best],
        effect_known=test.effect_hours is not None,
        effect_hours=test.effect_hours,
        doubled_ug=round(test.ug * INFUSION_FACTOR, 3),
        effect_prolonged=None if test.effect_hours is None else factors == (1,),
    )


def increment_limit(p: ItbStep, limit: int) -> Iterator[ItbStepLimit]:
    yield ItbStepLimit(
        direction="increase", limit_pct=limit, to_ug=round(p.from_ug * (1 + limit / 100), 1)
    )


_first_infusion = itb_order((m.action == "start") & NOT_SCREENING & (m.it_n_history == 0))
_effective = (m.kind == "itb_bolus") & (m.last == True) & (m.response == "significant")
_STEP_EVIDENCE = ("p.* -proposed -seq -restart",)
_INCREASE_SUGGESTION = (
    "Increase by at most {limit} % of the previous daily dose: at most {cap.to_ug:g} ug/day."
)
_SPINAL = (
    c.order << itb_order(m.it_origin == "spinal"),
    c.p << (INCREASE & (m.change_pct > MAX_INCREASE_PCT_SPINAL)),
)
_ORIGIN_UNKNOWN = (
    c.order << itb_order(-m.it_origin),
    c.p << (INCREASE & (m.change_pct > MAX_INCREASE_PCT_SPINAL)),
)
_CEREBRAL_TITRATION = (
    c.order << itb_order((m.it_origin == "cerebral") & (m.it_phase == "titration")),
    c.p << (INCREASE & (m.change_pct > MAX_INCREASE_PCT_CEREBRAL_TITRATION)),
)


def _cap(limit: int) -> object:
    return c.cap << (
        (m.kind == "itb_step_limit") & (m.direction == "increase") & (m.limit_pct == limit)
    )


RULES = [
    Derivation(
        id="intrathecal.initial_infusion",
        when=(
            c.order << _first_infusion,
            c.dose << ITB_DOSE,
            c.test << (_effective & (m.effect_hours <= PROLONGED_EFFECT_H)),
        ),
        derive=initial_infusion,
        params={"factors": (INFUSION_FACTOR,)},
        doc="Effect up to 12 h: the first infusion doubles the effective bolus.",
    ),
    Derivation(
        id="intrathecal.initial_infusion_prolonged",
        when=(
            c.order << _first_infusion,
            c.dose << ITB_DOSE,
            c.test << (_effective & (m.effect_hours > PROLONGED_EFFECT_H)),
        ),
        derive=initial_infusion,
        params={"factors": (1,)},
        doc="Effect over 12 h: the first infusion is the effective bolus unchanged.",
    ),
    Derivation(
        id="intrathecal.initial_infusion_effect_unknown",
        when=(
            c.order << _first_infusion,
            c.dose << ITB_DOSE,
            c.test << (_effective & -m.effect_hours),
        ),
        derive=initial_infusion,
        params={"factors": (INFUSION_FACTOR, 1)},
        doc="Duration unknown: either reading may apply, the dose must fit one of them.",
    ),
    Derivation(
        id="intrathecal.increment_limit_spinal",
        when=_SPINAL,
        derive=increment_limit,
        params={"limit": MAX_INCREASE_PCT_SPINAL},
        doc="Spinal origin, an increase above 30 %: the largest dose allowed, +30 %.",
    ),
    Derivation(
        id="intrathecal.increment_limit_origin_unknown",
        when=_ORIGIN_UNKNOWN,
        derive=increment_limit,
        params={"limit": MAX_INCREASE_PCT_SPINAL},
        doc="Origin unknown, an increase above 30 %: the largest dose allowed, +30 %.",
    ),
    Derivation(
        id="intrathecal.increment_limit_cerebral_titration",
        when=_CEREBRAL_TITRATION,
        derive=increment_limit,
        params={"limit": MAX_INCREASE_PCT_CEREBRAL_TITRATION},
        doc="Cerebral origin in titration, an increase above 15 %: the largest dose allowed, "
        "+15 %.",
    ),
    AlertRule(
        id="intrathecal.initial_infusion_dose",
        code="INTRATHECAL_INITIAL_INFUSION_DOSE",
        severity=Severity.WARNING,
        when=(
            c.i
            << (
                (m.kind == "itb_initial_infusion") & (m.deviation_pct > INITIAL_DOSE_TOLERANCE_PCT)
            ),
        ),
        message="First infusion of {i.ordered_ug:g} ug/day does not match the effective test "
        "dose of {i.test_ug:g} ug: expected {if not i.effect_known}{i.doubled_ug:g} or "
        "{i.test_ug:g} ug/day (effect duration unknown){else}{i.nearest_ug:g} ug/day "
        "({if i.effect_prolonged}the bolus unchanged: effect over {hours} h{else}twice the "
        "bolus: effect not over {hours} h{end}){end}.",
        suggestion="Start at {i.nearest_ug:g} ug/day over 24 h: twice the effective bolus, or "
        "the bolus itself if its effect lasted over {hours} h.",
        params={"hours": PROLONGED_EFFECT_H},
        evidence=("i.* -doubled_ug -effect_prolonged",),
        source=INITIAL_INFUSION_SOURCE,
        description="First daily infusion not twice the effective test dose (or the test dose "
        "when its effect lasted over 12 h), beyond 5 %.",
    ),
    AlertRule(
        id="intrathecal.initial_infusion_without_response",
        code="INTRATHECAL_INITIAL_INFUSION_DOSE",
        severity=Severity.WARNING,
        when=(
            c.order << _first_infusion,
            c.test
            << (
                (m.kind == "itb_bolus")
                & (m.last == True)
                & (m.ug < NON_RESPONDER_TEST_DOSE_UG)
                & ((m.response == "none") | (m.response == "partial"))
            ),
        ),
        message="Infusion started although the last test dose ({test.ug:g} ug) gave no "
        "significant response ({test.response}): there is no effective bolus to base the "
        "infusion on.",
        suggestion="Complete the screening (+25 ug steps, at least 24 h apart, up to 100 ug) "
        "until a significant response before starting the infusion.",
        evidence=("last_test_dose_ug=test.ug", "test.response"),
        source=INITIAL_INFUSION_SOURCE,
        description="Infusion started without a significant response to the last test dose.",
    ),
    AlertRule(
        id="intrathecal.resumed_above_initial_dose",
        code="INTRATHECAL_INITIAL_INFUSION_DOSE",
        severity=Severity.WARNING,
        when=(
            c.r
            << ((m.kind == "itb_resumed_infusion") & (m.change_pct > INITIAL_DOSE_TOLERANCE_PCT)),
            c.last << (m.kind == "itb_resumed_from"),
        ),
        message="Infusion resumed at {r.ordered_ug:g} ug/day, +{r.change_pct:g} % above the "
        "initial continuous infusion dose of {r.initial_ug:g} ug/day (first regimen, from "
        "{r.initial_since}){if last.versus_last == same}, the dose before the interruption"
        "{end}{if last.versus_last == above}, above the {last.last_ug:g} ug/day before the "
        "interruption{end}: tolerance is lost during an interruption, and restarting above "
        "the initial dose risks overdose (drowsiness, respiratory depression, coma).",
        suggestion="Resume at the initial continuous infusion dose, {r.initial_ug:g} ug/day, "
        "and titrate again from there; monitor breathing and consciousness closely after the "
        "restart.",
        evidence=("r.*", "last.last_ug"),
        # The step from the last regimen is not the finding: the restart dose is.
        supersedes=("INTRATHECAL_INCREMENT_TOO_LARGE",),
        source=RESUME_SOURCE,
        description="Infusion resumed (start with a dose history) above the initial dose: an "
        "overdose hazard after an interruption.",
    ),
    AlertRule(
        id="intrathecal.increase_in_first_24h",
        code="INTRATHECAL_INCREASE_IN_FIRST_24H",
        severity=Severity.WARNING,
        when=(
            c.p << INCREASE,
            c.age
            << (
                (m.kind == "itb_infusion_age") & (m.exact == True) & (m.hours < NO_INCREASE_FIRST_H)
            ),
        ),
        message="Increase from {p.from_ug:g} to {p.to_ug:g} ug/day {age.hours:g} h after the "
        "infusion started: no increase should be attempted in the first {limit} h.",
        suggestion="Keep the initial dose for the first {limit} h, then adjust slowly.",
        params={"limit": NO_INCREASE_FIRST_H},
        evidence=(*_STEP_EVIDENCE, "hours_since_infusion_start=age.hours"),
        supersedes=("INTRATHECAL_INCREMENT_TOO_SOON",),
        source=FIRST_24H_SOURCE,
        description="Dose increase within 24 h of the infusion's start.",
    ),
    AlertRule(
        id="intrathecal.increment_too_large_spinal",
        code="INTRATHECAL_INCREMENT_TOO_LARGE",
        severity=Severity.WARNING,
        when=(*_SPINAL, _cap(MAX_INCREASE_PCT_SPINAL)),
        message="Increase from {p.from_ug:g} to {p.to_ug:g} ug/day is +{p.change_pct:g} %, "
        "above the {limit} % limit for spasticity of spinal origin.",
        suggestion=_INCREASE_SUGGESTION,
        params={"limit": MAX_INCREASE_PCT_SPINAL},
        evidence=_STEP_EVIDENCE,
        source=TITRATION_INCREMENT_SOURCE,
        description="Spinal origin: increase above 30 % of the previous daily dose.",
    ),
    AlertRule(
        id="intrathecal.increment_too_large_origin_unknown",
        code="INTRATHECAL_INCREMENT_TOO_LARGE",
        severity=Severity.WARNING,
        when=(*_ORIGIN_UNKNOWN, _cap(MAX_INCREASE_PCT_SPINAL)),
        message="Increase from {p.from_ug:g} to {p.to_ug:g} ug/day is +{p.change_pct:g} %, "
        "above the {limit} % limit for any origin (origin not given).",
        suggestion=_INCREASE_SUGGESTION,
        params={"limit": MAX_INCREASE_PCT_SPINAL},
        evidence=_STEP_EVIDENCE,
        source=TITRATION_INCREMENT_SOURCE,
        description="Origin unknown: increase above 30 %, too large for any origin.",
    ),
    AlertRule(
        id="intrathecal.increment_too_large_cerebral_titration",
        code="INTRATHECAL_INCREMENT_TOO_LARGE",
        severity=Severity.WARNING,
        when=(*_CEREBRAL_TITRATION, _cap(MAX_INCREASE_PCT_CEREBRAL_TITRATION)),
        message="Increase from {p.from_ug:g} to {p.to_ug:g} ug/day is +{p.change_pct:g} %, "
        "above the {limit} % limit for spasticity of cerebral origin during titration.",
        suggestion=_INCREASE_SUGGESTION,
        params={"limit": MAX_INCREASE_PCT_CEREBRAL_TITRATION},
        evidence=_STEP_EVIDENCE,
        source=TITRATION_INCREMENT_SOURCE,
        description="Cerebral origin, titration: increase above 15 %.",
    ),
    AlertRule(
        id="missing.intrathecal_origin",
        code="MISSING_DATA",
        severity=Severity.WARNING,
        when=(
            c.order << itb_order(-m.it_origin & ((m.it_phase == "titration") | -m.it_phase)),
            c.p
            << (
                INCREASE
                & (m.change_pct > MAX_INCREASE_PCT_CEREBRAL_TITRATION)
                & (m.change_pct <= MAX_INCREASE_PCT_SPINAL)
            ),
        ),
        message="No spasticity origin: the +{p.change_pct:g} % increase is within the {spinal} "
        "% spinal limit but above the {cerebral} % cerebral limit.",
        suggestion="Give order.intrathecal.spasticity_origin: spinal or cerebral.",
        params={
            "spinal": MAX_INCREASE_PCT_SPINAL,
            "cerebral": MAX_INCREASE_PCT_CEREBRAL_TITRATION,
            "missing": ["order.intrathecal.spasticity_origin"],
        },
        evidence=("missing",),
        source=MISSING_SOURCE,
        description="Increase between the cerebral and spinal limits without the origin.",
    ),
    AlertRule(
        id="missing.intrathecal_infusion_started",
        code="MISSING_DATA",
        severity=Severity.WARNING,
        when=(
            c.order << itb_order(m.it_phase == "titration"),
            c.p << INCREASE,
            c.age
            << (
                (m.kind == "itb_infusion_age")
                & (m.exact == False)
                & (m.hours < NO_INCREASE_FIRST_H)
            ),
        ),
        message="No infusion start time, and the first recorded regimen is under {limit} h "
        "old: the no-increase-in-the-first-24-hours check could not run.",
        suggestion="Give order.intrathecal.infusion_started.",
        params={"limit": NO_INCREASE_FIRST_H, "missing": ["order.intrathecal.infusion_started"]},
        evidence=("missing",),
        source=MISSING_SOURCE,
        description="Titration increase without the infusion start when it may be within 24 h.",
    ),
    AlertRule(
        id="missing.intrathecal_screening_doses",
        code="MISSING_DATA",
        severity=Severity.WARNING,
        when=(
            c.order
            << itb_order(
                (m.action == "start")
                & (m.it_phase == "titration")
                & (m.it_n_screening == 0)
                & (m.it_n_history == 0)
            ),
        ),
        message="Infusion started without the screening test doses: the first infusion dose "
        "(twice the effective bolus) and the non-responder check could not run.",
        suggestion="Give order.intrathecal.screening_doses (time, dose, response, effect_hours).",
        params={"missing": ["order.intrathecal.screening_doses"]},
        evidence=("missing",),
        source=MISSING_SOURCE,
        description="First infusion without the screening doses.",
    ),
    AlertRule(
        id="missing.intrathecal_effective_bolus_response",
        code="MISSING_DATA",
        severity=Severity.WARNING,
        when=(
            c.order << _first_infusion,
            c.f
            << (
                (m.kind == "itb_bolus")
                & -m.response
                & (m.last == True)
                & (m.ug < NON_RESPONDER_TEST_DOSE_UG)
            ),
        ),
        message="No response recorded for the last test dose ({f.ug:g} ug): the first "
        "infusion dose (twice the effective bolus) could not be checked.",
        suggestion="Record its response (order.intrathecal.screening_doses[].response) and "
        "effect_hours.",
        evidence=lambda f: {"missing": [f"order.intrathecal.screening_doses[{f.seq}].response"]},
        source=INITIAL_INFUSION_SOURCE,
        description="First infusion when the last test dose has no recorded response.",
    ),
    AlertRule(
        id="missing.intrathecal_effect_hours",
        code="MISSING_DATA",
        severity=Severity.WARNING,
        when=(
            c.i
            << (
                (m.kind == "itb_initial_infusion")
                & (m.effect_known == False)
                & (m.deviation_pct <= INITIAL_DOSE_TOLERANCE_PCT)
            ),
        ),
        message="No effect duration for the {i.test_ug:g} ug test dose: whether the first "
        "infusion should be {i.doubled_ug:g} (effect up to {hours} h) or {i.test_ug:g} ug/day "
        "(longer) could not be checked.",
        suggestion="Record effect_hours of the effective test dose.",
        params={
            "hours": PROLONGED_EFFECT_H,
            "missing": ["order.intrathecal.screening_doses[].effect_hours"],
        },
        evidence=("missing",),
        source=MISSING_SOURCE,
        description="First infusion without the duration of the test dose's effect.",
    ),
]
