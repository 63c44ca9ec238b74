"""Intrathecal baclofen: screening, titration, maintenance and pump-malfunction red flags.

Source: 001 (adult SmPC text, primary): Adult Screening Phase, Dose-Titration Phase, Adult
Maintenance Therapy, Paediatric population, Delivery regimen. 004 (tertiary) only for the renal
variant. Every threshold is a constant below, next to the passage it encodes; the derivations
turn the order and its dose history into steps (percentage change, hours since the last change),
infusion age and red flags, so the trace shows how each alert was reached.

Reading of the input (rules/case.py): `order.dose` is the new daily infusion dose (titration,
maintenance) or the test bolus (screening); `order.intrathecal.history` holds the regimens
before this order, oldest first, each with the clinical effect observed on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from engine import AlertRule, Bindings, Derivation, Severity, c, m
from rules.derive import UNIT_TO_MG
from rules.sources import ADULT_SMPC, CONSUMER_GUIDE, Passage

# ---------------------------------------------------------------------------------------------
# Thresholds: one reviewable place. Percentages are rounded to PCT_DECIMALS and hours to
# HOURS_DECIMALS in the derivations, so that exactly +30 % or exactly 24 h is never pushed over
# a boundary by floating-point error.
# ---------------------------------------------------------------------------------------------
PCT_DECIMALS = 1
HOURS_DECIMALS = 2

# Screening (001 Adult Screening Phase).
TEST_DOSE_MIN_UG = 25
TEST_DOSE_MAX_UG = 100  # a non-responder at 100 ug gets no further increments
FIRST_TEST_DOSE_MAX_UG = 50  # "usual initial test dose ... 25 or 50 micrograms"
TEST_DOSE_STEP_MAX_UG = 25
TEST_DOSE_MIN_INTERVAL_H = 24
NON_RESPONDER_TEST_DOSE_UG = 100

# Start of the infusion (001 Dose-Titration Phase).
PROLONGED_EFFECT_H = 12  # effect lasting more than 12 h: start with the unchanged test dose
INITIAL_DOSE_TOLERANCE_PCT = 5  # pump programming steps and rounding; beyond is another dose
NO_INCREASE_FIRST_H = 24

# Titration and maintenance steps (001 Dose-Titration Phase, Delivery regimen).
MIN_HOURS_BETWEEN_INCREASES = {"programmable": 24, "non_programmable": 48}
MAX_INCREASE_PCT_SPINAL = 30  # titration and maintenance alike
MAX_INCREASE_PCT_CEREBRAL_TITRATION = 15
MAX_INCREASE_PCT_CEREBRAL_MAINTENANCE = 20
MAX_REDUCTION_PCT = 20  # reductions for side effects are 10-20 %
LIMITED_EXPERIENCE_ABOVE_UG_DAY = 1000
MIN_AGE_YEARS = 4

# "A sudden requirement for substantial dose escalation" (001), defined here. Any one suffices:
ESCALATION_STEP_PCT = 50  # one step of +50 % or more: beyond every label increment (max 30 %)
ESCALATION_FACTOR = 2  # the new dose at least doubles a dose in effect during ...
ESCALATION_WINDOW_H = 7 * 24  # ... the 7 days before the order: in maintenance (or phase
#   unknown) always; in titration only when every increase since that dose was followed by no
#   clinical effect, since label steps of +30 % a day double a dose in three days
NO_EFFECT_STREAK = 3  # a further increase after 3 increases in a row with no clinical effect
#                      (the red_flag_no_effect_streak rule joins exactly three earlier steps)

RENAL_CAUTION_BELOW_ML_MIN = 30  # 004: CrCl < 30 "use intrathecal with extreme caution"
END_STAGE_ML_MIN = 15

SCREENING_SOURCE = Passage(
    ADULT_SMPC,
    "The usual initial test dose in adults is 25 or 50 micrograms, increasing step-wise by 25 "
    "microgram increments at intervals of not less than 24 hours until a response of "
    "approximately 4 to 8 hours duration is observed.",
    note="A test bolus outside 25-100 ug, a first test dose above 50 ug, a step above +25 ug or "
    "a dose less than 24 h after the previous one. 100 ug is the top because non-responders at "
    "100 ug stop there. The text is for adults; 004 (tertiary) gives children the same 25-50 ug "
    "test dose, so the rule applies at any age.",
)
NON_RESPONDER_SOURCE = Passage(
    ADULT_SMPC,
    "Patients who do not respond to a 100 micrograms test dose should not be given further dose "
    "increments or considered for continuous intrathecal infusion.",
    note="'Respond' is read with 001's definition of a responder: 'a significant decrease in "
    "muscle tone and/or frequency and/or severity of muscle spasms'. A response of none or "
    "partial to a test dose of 100 ug or more is a non-response.",
)
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
    ADULT_SMPC, "No dose increases should be attempted during the first 24 hours.",
    note="Measured from order.intrathecal.infusion_started; exactly 24 h is allowed.",
)
INTERVAL_SOURCE = Passage(
    ADULT_SMPC,
    "If a programmable pump is used the dose should be increased only once every 24 hours; for "
    "non-programmable multi-dose reservoir pumps intervals of 48 hours between dose adjustments "
    "are recommended.",
    note="Measured from the last regimen change in the history to order.time; exactly 24 h "
    "(48 h) is allowed. Applied in maintenance too.",
)
TITRATION_INCREMENT_SOURCE = Passage(
    ADULT_SMPC,
    "Patients with spasticity of spinal origin: 10-30% of the previous daily dose Patients with "
    "spasticity of cerebral origin: 5-15% of the previous daily dose.",
    note="Exactly +30 % (spinal) or +15 % (cerebral) is allowed. Percentages are rounded to "
    "0.1 %.",
)
MAINTENANCE_INCREMENT_SOURCE = Passage(
    ADULT_SMPC,
    "In patients with spasticity of spinal origin the daily dose may be increased gradually by "
    "10-30% to maintain adequate symptom control. Where the spasticity is of cerebral origin "
    "any increase in dose should be limited to 20% (range: 5-20%).",
    note="In maintenance the cerebral limit is 20 % (15 % in titration); the spinal limit stays "
    "30 %. With the phase unknown only steps above 20 % are flagged (and MISSING_DATA names the "
    "phase).",
)
HIGH_DOSE_SOURCE = Passage(
    ADULT_SMPC,
    "There is limited clinical experience using doses greater than 1000 micrograms/day.",
    note="Exactly 1000 ug/day is not 'greater than'. Maintenance doses of up to 2003 ug/day "
    "(spinal) and 1400 ug/day (cerebral) are reported in 001, so this is a warning.",
)
AGE_SOURCE = Passage(
    ADULT_SMPC,
    "The safety and efficacy of baclofen for the treatment of severe spasticity of cerebral or "
    "spinal origin in children younger than 4 years of age have not been established.",
    note="Younger than 4 = before the 4th birthday (completed years < 4).",
)
RESUME_SOURCE = Passage(
    ADULT_SMPC, "Baclofen should be resumed at the initial continuous infusion dose.",
    note="An intrathecal 'start' with a dose history resumes the infusion: the first regimen "
    "of order.intrathecal.history is read as the initial continuous infusion dose (a history "
    "that does not go back to the first infusion makes this conservative only if its first "
    "entry is the lowest). Beyond 5 % above it is flagged, as for a first infusion. A restart "
    "beyond that is also stepped against the last regimen exactly like a change (increment "
    "size, interval since the last change, first 24 h, pump red flags). A restart at or below "
    "the initial dose (+5 %) is not: it is what 001 asks, even where the last regimen was "
    "lower (a taper before a drug holiday ends below the initial dose); nor is a restart "
    "below the last regimen a cut of a running infusion (no reduction warning).",
)
MALFUNCTION_SOURCE = Passage(
    ADULT_SMPC,
    "A sudden requirement for substantial dose escalation is indicative of a catheter "
    "complication (i.e. a kink or dislodgement) or pump malfunction.",
    note="'Substantial escalation' is defined here (001 gives no number): one step of +50 % or "
    "more (every label increment is at most 30 %, so this is escalation, not titration); the "
    "new dose at least double a dose in effect during the previous 7 days, in maintenance, or "
    "in titration when every regimen the dose was raised to since that dose had clinical "
    "effect 'none' (001 titration: 'If the dose has been significantly increased without "
    "apparent clinical effect pump function and catheter patency should be investigated'; "
    "three label steps of +30 % double a dose in three days of titration, and with a partial "
    "effect that is titration, not escalation; an unrecorded effect is not 'none'); or a "
    "further increase after three increases in a row, each followed by no clinical effect "
    "(the same 001 titration sentence). Withdrawal signs on intrathecal therapy (pruritus, "
    "hypotension, paraesthesia, fever or hyperthermia, altered mental status, rebound "
    "spasticity, muscle rigidity, seizures) also raise it: an interrupted delivery presents "
    "as withdrawal. That list is the intrathecal withdrawal syndrome of the full SmPC; 001's "
    "excerpt here only says baclofen 'should not be discontinued suddenly', and 004 "
    "(tertiary) lists 'hallucinations, seizures, or hyperthermia'.",
)
DISCONTINUATION_SOURCE = Passage(
    ADULT_SMPC,
    "Except in overdose-related emergencies, the treatment with baclofen should always be "
    "gradually discontinued by successively reducing the dosage. Baclofen should not be "
    "discontinued suddenly.",
    note="Intrathecal withdrawal can be fatal: a stop without a taper is critical. A stop "
    "during screening (test boluses, no infusion) is not a discontinuation.",
)
REDUCTION_SOURCE = Passage(
    ADULT_SMPC,
    "In both cases the daily dose may also be reduced by 10-20% if patients suffer side "
    "effects.",
    note="A single cut of more than 20 % is a warning (exactly -20 % is allowed); taper "
    "gradually, as for a stop.",
)
RENAL_SOURCE = Passage(
    CONSUMER_GUIDE,
    "CrCl <30 mL/min: Avoid oral use; use intrathecal with extreme caution.",
    note="Intrathecal orders with CrCl/eGFR < 30 mL/min or terminal renal failure get a "
    "warning, not the oral contraindication. Disagreement: 002 (secondary) says 'Terminal renal "
    "insufficiency also precludes its use' for any route, and 004 itself also says 'avoid in "
    "end-stage renal disease'; the primary texts (000/001) are silent. We follow 004's "
    "route-specific line for intrathecal use and keep the oral contraindication critical.",
)
MISSING_SOURCE = Passage(
    ADULT_SMPC,
    "Prior to initiation of a chronic infusion, the patient's response to intrathecal bolus "
    "doses administered via a catheter or lumbar puncture must be assessed.",
    note="Every intrathecal check depends on the phase, the dose history and the screening "
    "response; missing data is answered with MISSING_DATA naming the field.",
)


# ---------------------------------------------------------------------------------------------
# Derivations
# ---------------------------------------------------------------------------------------------
def _ug(value: float, unit: str) -> float:
    return round(value * UNIT_TO_MG[unit] * 1000, 3)


def _hours(start: str, end: str) -> float:
    delta = datetime.fromisoformat(end) - datetime.fromisoformat(start)
    return round(delta.total_seconds() / 3600, HOURS_DECIMALS)


def _pct(before: float, after: float) -> float:
    return round((after - before) / before * 100, PCT_DECIMALS)


def _direction(before: float, after: float) -> str:
    return "increase" if after > before else "decrease" if after < before else "unchanged"


def _history_step(b: Bindings) -> Iterator[dict[str, Any]]:
    prev, cur = b.prev, b.cur
    before, after = _ug(prev.dose_value, prev.dose_unit), _ug(cur.dose_value, cur.dose_unit)
    step: dict[str, Any] = {
        "kind": "itb_step", "seq": cur.seq, "proposed": False, "from_ug": before,
        "to_ug": after, "change_pct": _pct(before, after), "direction": _direction(before, after),
        "hours_since_last_change": _hours(prev.time, cur.time), "at": cur.time,
    }
    if "effect" in cur:
        step["effect_after"] = cur.effect
    if "time" in b.order:
        # The earlier regimen (from_ug) ended when this one started: how long before the order.
        step["from_ended_hours_ago"] = _hours(cur.time, b.order.time)
    yield step


def _proposed_step(b: Bindings) -> Iterator[dict[str, Any]]:
    before = _ug(b.last.dose_value, b.last.dose_unit)
    after = b.dose.ug
    step: dict[str, Any] = {
        "kind": "itb_step", "seq": b.last.seq + 1, "proposed": True, "from_ug": before,
        "to_ug": after, "change_pct": _pct(before, after), "direction": _direction(before, after),
    }
    if "time" in b.order:
        step["hours_since_last_change"] = _hours(b.last.time, b.order.time)
        step["at"] = b.order.time
    yield step


def _restart_step(b: Bindings) -> Iterator[dict[str, Any]]:
    # Only an increase over the last regimen: a restart below it is toward the initial dose
    # 001 asks for, not a cut of a running infusion.
    for step in _proposed_step(b):
        if step["direction"] == "increase":
            yield step


def _resumed_infusion(b: Bindings) -> Iterator[dict[str, Any]]:
    initial = _ug(b.first.dose_value, b.first.dose_unit)
    yield {"kind": "itb_resumed_infusion", "ordered_ug": b.dose.ug, "initial_ug": initial,
           "initial_since": b.first.time, "change_pct": _pct(initial, b.dose.ug)}


def _renal_below_30(b: Bindings) -> Iterator[dict[str, Any]]:
    reading = f"{b.renal.measure} {b.renal.ml_min:g} mL/min"
    yield {"kind": "finding", "finding": "renal_below_30", "basis": reading, "label": reading}


def _infusion_age(b: Bindings) -> Iterator[dict[str, Any]]:
    yield {"kind": "itb_infusion_age", "exact": True,
           "hours": _hours(b.order.it_infusion_started, b.order.time),
           "basis": "order.intrathecal.infusion_started"}


def _infusion_age_lower_bound(b: Bindings) -> Iterator[dict[str, Any]]:
    # Without infusion_started, the first recorded regimen only bounds the infusion's age from
    # below: the infusion is at least this old.
    yield {"kind": "itb_infusion_age", "exact": False,
           "hours": _hours(b.first.time, b.order.time),
           "basis": "first entry of order.intrathecal.history"}


def _bolus(b: Bindings) -> Iterator[dict[str, Any]]:
    td = b.td
    yield {"kind": "itb_bolus", "seq": td.seq, "time": td.time,
           "ug": _ug(td.dose_value, td.dose_unit), "last": td.last,
           **{k: td[k] for k in ("response", "effect_hours") if k in td}}


def _test_step(b: Bindings) -> Iterator[dict[str, Any]]:
    step: dict[str, Any] = {"kind": "itb_test_step", "from_ug": b.prev.ug, "to_ug": b.dose.ug,
                            "increase_ug": round(b.dose.ug - b.prev.ug, 3)}
    if "time" in b.order:
        step["hours_since_previous"] = _hours(b.prev.time, b.order.time)
    yield step


def _initial_infusion(b: Bindings) -> Iterator[dict[str, Any]]:
    test, ordered = b.test.ug, b.dose.ug
    if "effect_hours" in b.test:
        prolonged = b.test.effect_hours > PROLONGED_EFFECT_H
        expected = [test if prolonged else test * 2]
    else:  # either reading may apply: the dose must fit one of them
        expected = [test * 2, test]
    deviations = [abs(_pct(e, ordered)) for e in expected]
    best = min(range(len(expected)), key=lambda i: deviations[i])
    yield {"kind": "itb_initial_infusion", "ordered_ug": ordered, "test_ug": test,
           "expected_ug": [round(e, 3) for e in expected], "nearest_ug": round(expected[best], 3),
           "deviation_pct": deviations[best], "effect_known": "effect_hours" in b.test,
           **({"effect_hours": b.test.effect_hours} if "effect_hours" in b.test else {})}


def _issue(issue: str) -> Any:
    def derive(b: Bindings) -> Iterator[dict[str, Any]]:
        fact: dict[str, Any] = {"kind": "itb_screening_issue", "issue": issue}
        if "step" in b:
            fact.update({k: b.step[k] for k in ("from_ug", "to_ug", "increase_ug",
                                                "hours_since_previous") if k in b.step})
        else:
            fact["to_ug"] = b.dose.ug
        yield fact

    return derive


def _no_effect_since(b: Bindings) -> Iterator[dict[str, Any]]:
    yield {"kind": "itb_no_effect_since", "seq": b.h.seq, "since": b.h.time}


def _red_flag_step(b: Bindings) -> Iterator[dict[str, Any]]:
    yield {"kind": "itb_red_flag", "pattern": "single_step", "from_ug": b.p.from_ug,
           "to_ug": b.p.to_ug, "change_pct": b.p.change_pct}


def _red_flag_doubling(b: Bindings) -> Iterator[dict[str, Any]]:
    yield {"kind": "itb_red_flag", "pattern": "doubled_within_7_days", "from_ug": b.s.from_ug,
           "to_ug": b.p.to_ug, "factor": round(b.p.to_ug / b.s.from_ug, 2),
           "hours_ago": b.s.from_ended_hours_ago}


def _red_flag_streak(b: Bindings) -> Iterator[dict[str, Any]]:
    yield {"kind": "itb_red_flag", "pattern": "no_effect_streak", "increases": NO_EFFECT_STREAK,
           "doses_ug": [b.s1.from_ug, b.s1.to_ug, b.s2.to_ug, b.s3.to_ug, b.p.to_ug]}


def _red_flag_withdrawal(b: Bindings) -> Iterator[dict[str, Any]]:
    yield {"kind": "itb_red_flag", "pattern": "withdrawal_sign", "sign": b.w.sign}


def _order(*tests: Any) -> Any:
    cond = (m.kind == "order") & (m.route == "intrathecal")
    for t in tests:
        cond = cond & t
    return cond


def _not_stop() -> Any:
    return m.action != "stop"


def _not_screening() -> Any:
    return -m.it_phase | (m.it_phase != "screening")


def _infusion_phase() -> Any:
    return (m.it_phase == "titration") | (m.it_phase == "maintenance")


def _proposed(*tests: Any) -> Any:
    cond = (m.kind == "itb_step") & (m.proposed == True)  # noqa: E712 durable DSL
    for t in tests:
        cond = cond & t
    return cond


def _increase() -> Any:
    return _proposed(m.direction == "increase")


def _no_effect_increase(test: Any) -> Any:
    return _earlier_step(test & (m.direction == "increase") & (m.effect_after == "none"))


def _earlier_step(*tests: Any) -> Any:
    cond = (m.kind == "itb_step") & (m.proposed == False)  # noqa: E712
    for t in tests:
        cond = cond & t
    return cond


_dose = (m.kind == "daily_dose") & (m.route == "intrathecal")

DERIVATIONS = [
    Derivation(
        id="intrathecal.history_step",
        when=(c.order << _order(),
              c.prev << (m.kind == "itb_history"),
              c.cur << ((m.kind == "itb_history") & (m.seq == c.prev.seq + 1))),
        derive=_history_step,
        doc="Each regimen change in the history: percentage change and hours between changes.",
    ),
    Derivation(
        id="intrathecal.proposed_step",
        when=(c.order << _order(((m.action == "change") | (m.action == "continue"))
                                & _not_screening()),
              c.dose << _dose,
              c.last << ((m.kind == "itb_history") & (m.last == True))),  # noqa: E712
        derive=_proposed_step,
        doc="The ordered dose against the current regimen: the step this order makes.",
    ),
    Derivation(
        id="intrathecal.resumed_infusion",
        when=(c.order << _order((m.action == "start") & _not_screening()),
              c.dose << _dose,
              c.first << ((m.kind == "itb_history") & (m.first == True))),  # noqa: E712
        derive=_resumed_infusion,
        doc="A start with a dose history resumes the infusion: against the initial dose.",
    ),
    Derivation(
        id="intrathecal.restart_step",
        when=(c.order << _order((m.action == "start") & _not_screening()),
              c.dose << _dose,
              c.last << ((m.kind == "itb_history") & (m.last == True)),  # noqa: E712
              c.r << ((m.kind == "itb_resumed_infusion")
                      & (m.change_pct > INITIAL_DOSE_TOLERANCE_PCT))),
        derive=_restart_step,
        doc="A restart above the initial dose is, against the last regimen, a step like a "
        "change's: the increment, interval and red-flag rules apply to it.",
    ),
    Derivation(
        id="intrathecal.renal_below_30",
        when=(c.order << _order(),
              c.renal << ((m.kind == "renal_function")
                          & (m.ml_min < RENAL_CAUTION_BELOW_ML_MIN))),
        derive=_renal_below_30,
        doc="004's intrathecal caution threshold, as a finding beside end-stage renal failure.",
    ),
    Derivation(
        id="intrathecal.infusion_age",
        when=(c.order << _order(+m.time & +m.it_infusion_started),),
        derive=_infusion_age,
    ),
    Derivation(
        id="intrathecal.infusion_age_lower_bound",
        when=(c.order << _order(+m.time & -m.it_infusion_started),
              c.first << ((m.kind == "itb_history") & (m.first == True))),  # noqa: E712
        derive=_infusion_age_lower_bound,
    ),
    Derivation(
        id="intrathecal.test_dose_ug",
        when=(c.td << (m.kind == "itb_test_dose"),),
        derive=_bolus,
    ),
    Derivation(
        id="intrathecal.test_step",
        when=(c.order << _order((m.it_phase == "screening") & _not_stop()),
              c.dose << _dose,
              c.prev << ((m.kind == "itb_bolus") & (m.last == True))),  # noqa: E712
        derive=_test_step,
    ),
    Derivation(
        id="intrathecal.initial_infusion",
        when=(c.order << _order((m.action == "start") & _not_screening()
                                & (m.it_n_history == 0)),
              c.dose << _dose,
              c.test << ((m.kind == "itb_bolus") & (m.last == True)  # noqa: E712
                         & (m.response == "significant"))),
        derive=_initial_infusion,
        doc="The first infusion dose the screening response calls for, and the deviation.",
    ),
    # Screening issues: one fact each, folded into one INTRATHECAL_SCREENING_DOSE alert.
    Derivation(
        id="intrathecal.screening_outside_range",
        when=(c.order << _order((m.it_phase == "screening") & _not_stop()),
              c.dose << (_dose & ((m.ug < TEST_DOSE_MIN_UG) | (m.ug > TEST_DOSE_MAX_UG)))),
        derive=_issue("outside_range"),
    ),
    Derivation(
        id="intrathecal.screening_first_above_50",
        when=(c.order << _order((m.it_phase == "screening") & _not_stop()
                                & (m.it_n_screening == 0)),
              c.dose << (_dose & (m.ug > FIRST_TEST_DOSE_MAX_UG) & (m.ug <= TEST_DOSE_MAX_UG))),
        derive=_issue("first_above_50"),
    ),
    Derivation(
        id="intrathecal.screening_step_above_25",
        when=(c.step << ((m.kind == "itb_test_step")
                         & (m.increase_ug > TEST_DOSE_STEP_MAX_UG)),),
        derive=_issue("step_too_large"),
    ),
    Derivation(
        id="intrathecal.screening_too_soon",
        when=(c.step << ((m.kind == "itb_test_step")
                         & (m.hours_since_previous < TEST_DOSE_MIN_INTERVAL_H)),),
        derive=_issue("too_soon"),
    ),
    # Red flags of catheter or pump failure: one fact each, folded into one alert.
    Derivation(
        id="intrathecal.red_flag_single_step",
        when=(c.p << (_increase() & (m.change_pct >= ESCALATION_STEP_PCT)),),
        derive=_red_flag_step,
    ),
    Derivation(
        id="intrathecal.red_flag_doubling",
        when=(c.order << _order((m.it_phase == "maintenance") | -m.it_phase),
              c.p << _increase(),
              c.s << _earlier_step((m.from_ended_hours_ago < ESCALATION_WINDOW_H)
                                   & (m.from_ug <= c.p.to_ug / ESCALATION_FACTOR))),
        derive=_red_flag_doubling,
        doc="Maintenance: a dose in effect during the last 7 days that the new dose at least "
        "doubles.",
    ),
    # "Without apparent clinical effect" (001 titration) as a run back from the current
    # regimen: itb_no_effect_since(seq) says the regimens from seq to the last all had
    # clinical effect "none".
    Derivation(
        id="intrathecal.no_effect_since_last",
        when=(c.h << ((m.kind == "itb_history") & (m.last == True)  # noqa: E712
                      & (m.effect == "none")),),
        derive=_no_effect_since,
        doc="The current regimen had no clinical effect.",
    ),
    Derivation(
        id="intrathecal.no_effect_since_earlier",
        when=(c.r << (m.kind == "itb_no_effect_since"),
              c.h << ((m.kind == "itb_history") & (m.seq == c.r.seq - 1)
                      & (m.effect == "none"))),
        derive=_no_effect_since,
        doc="The run of regimens without clinical effect reaches one regimen further back.",
    ),
    Derivation(
        id="intrathecal.red_flag_doubling_without_effect",
        when=(c.order << _order(m.it_phase == "titration"),
              c.p << _increase(),
              c.s << _earlier_step((m.from_ended_hours_ago < ESCALATION_WINDOW_H)
                                   & (m.from_ug <= c.p.to_ug / ESCALATION_FACTOR)),
              c.r << ((m.kind == "itb_no_effect_since") & (m.seq == c.s.seq))),
        derive=_red_flag_doubling,
        doc="Titration: the same doubling, when every regimen the dose was raised to since "
        "that dose had no clinical effect.",
    ),
    Derivation(
        id="intrathecal.red_flag_no_effect_streak",
        when=(c.p << _increase(),
              c.s3 << _no_effect_increase(m.seq == c.p.seq - 1),
              c.s2 << _no_effect_increase(m.seq == c.p.seq - 2),
              c.s1 << _no_effect_increase(m.seq == c.p.seq - 3)),
        derive=_red_flag_streak,
        doc=f"A further increase after {NO_EFFECT_STREAK} increases in a row without effect.",
    ),
    Derivation(
        id="intrathecal.red_flag_withdrawal_sign",
        when=(c.order << _order(), c.w << (m.kind == "itb_withdrawal_sign")),
        derive=_red_flag_withdrawal,
    ),
]


# ---------------------------------------------------------------------------------------------
# Alerts
# ---------------------------------------------------------------------------------------------
def _g(x: float) -> str:
    return f"{x:g}"


_SCREENING_TEXT = {
    "outside_range": lambda f: (f"a test dose of {_g(f.to_ug)} ug is outside "
                                f"{TEST_DOSE_MIN_UG}-{TEST_DOSE_MAX_UG} ug"),
    "first_above_50": lambda f: (f"a first test dose of {_g(f.to_ug)} ug is above "
                                 f"{FIRST_TEST_DOSE_MAX_UG} ug"),
    "step_too_large": lambda f: (f"the step from {_g(f.from_ug)} to {_g(f.to_ug)} ug "
                                 f"(+{_g(f.increase_ug)} ug) is above +{TEST_DOSE_STEP_MAX_UG} ug"),
    "too_soon": lambda f: (f"{_g(f.hours_since_previous)} h after the previous test dose is "
                           f"sooner than {TEST_DOSE_MIN_INTERVAL_H} h"),
}


def _screening_message(items: list[Bindings]) -> str:
    texts = list(dict.fromkeys(_SCREENING_TEXT[str(b.f.issue)](b.f) for b in items))
    return "Intrathecal test dose: " + "; ".join(texts) + "."


def _red_flag_text(f: Any) -> str:
    if f.pattern == "single_step":
        return (f"one step from {_g(f.from_ug)} to {_g(f.to_ug)} ug/day (+{_g(f.change_pct)} %, "
                f"threshold +{ESCALATION_STEP_PCT} %)")
    if f.pattern == "doubled_within_7_days":
        return (f"{_g(f.to_ug)} ug/day is {_g(f.factor)} times the {_g(f.from_ug)} ug/day "
                "in effect within the last 7 days")
    if f.pattern == "no_effect_streak":
        doses = " -> ".join(_g(d) for d in f.doses_ug)
        return (f"a further increase after {f.increases} increases in a row without clinical "
                f"effect ({doses} ug/day)")
    return f"withdrawal sign: {str(f.sign).replace('_', ' ')}"


_PATTERN_ORDER = ("single_step", "doubled_within_7_days", "no_effect_streak", "withdrawal_sign")


def _red_flags(items: list[Bindings]) -> list[Any]:
    """The red flags to report, in a fixed order; of several doublings within the window only
    the one from the lowest earlier dose (the others say the same)."""
    flags = [b.f for b in items]
    doubling = [f for f in flags if f.pattern == "doubled_within_7_days"]
    if doubling:
        lowest = min(doubling, key=lambda f: f.from_ug)
        flags = [f for f in flags if f.pattern != "doubled_within_7_days" or f is lowest]
    return sorted(flags, key=lambda f: _PATTERN_ORDER.index(str(f.pattern)))


def _red_flag_message(items: list[Bindings]) -> str:
    texts = list(dict.fromkeys(_red_flag_text(f) for f in _red_flags(items)))
    return ("Possible catheter complication (kink, dislodgement) or pump malfunction: "
            + "; ".join(texts) + ".")


def _red_flag_evidence(items: list[Bindings]) -> dict[str, object]:
    return {"findings": [{k: v for k, v in f.items() if k not in ("id", "kind")}
                         for f in _red_flags(items)]}


def _initial_message(b: Bindings) -> str:
    i = b.i
    if not i.effect_known:
        expected = " or ".join(_g(e) for e in i.expected_ug) + " ug/day (effect duration unknown)"
    elif i.nearest_ug == i.test_ug:
        expected = (f"{_g(i.nearest_ug)} ug/day (the bolus unchanged: effect over "
                    f"{PROLONGED_EFFECT_H} h)")
    else:
        expected = (f"{_g(i.nearest_ug)} ug/day (twice the bolus: effect not over "
                    f"{PROLONGED_EFFECT_H} h)")
    return (f"First infusion of {_g(i.ordered_ug)} ug/day does not match the effective test "
            f"dose of {_g(i.test_ug)} ug: expected {expected}.")


def _renal_message(items: list[Bindings]) -> str:
    end_stage = [str(b.f.basis) for b in items if b.f.finding == "end_stage_renal"]
    readings = [str(b.f.basis) for b in items if b.f.finding == "renal_below_30"]
    if end_stage:
        basis = "; ".join(sorted(set(end_stage + readings)))
        return (f"Terminal renal failure ({basis}): intrathecal baclofen only with extreme "
                "caution; it is renally excreted and accumulates.")
    return (f"{readings[0]} is below {RENAL_CAUTION_BELOW_ML_MIN} mL/min: intrathecal baclofen "
            "only with extreme caution.")


def _fact_evidence(items: list[Bindings]) -> dict[str, object]:
    return {"findings": [{k: v for k, v in b.f.items() if k not in ("id", "kind")}
                         for b in items]}


def _increase_message(limit: int, label: str) -> str:
    return ("Increase from {p.from_ug:g} to {p.to_ug:g} ug/day is +{p.change_pct:g} %, above the "
            f"{limit} % limit for {label}.")


def _increase_suggestion(limit: int) -> Any:
    def text(b: Bindings) -> str:
        cap = round(b.p.from_ug * (1 + limit / 100), 1)
        return f"Increase by at most {limit} % of the previous daily dose: at most {cap:g} ug/day."

    return text


def _step_evidence(b: Bindings) -> dict[str, Any]:
    return {k: v for k, v in b.p.items() if k not in ("id", "kind", "proposed", "seq")}


_cerebral_or_unknown = (m.it_origin == "cerebral") | -m.it_origin

ALERTS = [
    AlertRule(
        id="intrathecal.age_under_4",
        code="INTRATHECAL_AGE_UNDER_4",
        severity=Severity.WARNING,
        when=(c.age << ((m.kind == "age") & (m.years < MIN_AGE_YEARS)),
              c.order << _order(_not_stop())),
        message="Intrathecal baclofen for a {age.years}-year-old: safety and efficacy below "
        "{limit} years of age have not been established.",
        suggestion="Specialist decision only; document the indication and monitor closely.",
        params={"limit": MIN_AGE_YEARS},
        evidence=lambda b: {"age_years": b.age.years, "min_age_years": b.limit},
        source=AGE_SOURCE,
        description="Intrathecal order for a child younger than 4 years.",
    ),
    AlertRule(
        id="intrathecal.screening_dose",
        code="INTRATHECAL_SCREENING_DOSE",
        severity=Severity.WARNING,
        when=(c.f << (m.kind == "itb_screening_issue"),),
        message=_screening_message,
        suggestion=lambda items: (f"Start with {TEST_DOSE_MIN_UG} or {FIRST_TEST_DOSE_MAX_UG} "
                                  f"ug and step up by at most {TEST_DOSE_STEP_MAX_UG} ug, no "
                                  f"sooner than every {TEST_DOSE_MIN_INTERVAL_H} h, up to "
                                  f"{TEST_DOSE_MAX_UG} ug; give with resuscitation equipment "
                                  "at hand."),
        evidence=_fact_evidence,
        aggregate=True,
        source=SCREENING_SOURCE,
        description="Test bolus outside 25-100 ug, first above 50 ug, step above +25 ug or "
        "sooner than 24 h.",
    ),
    AlertRule(
        id="intrathecal.non_responder",
        code="INTRATHECAL_NON_RESPONDER",
        severity=Severity.CRITICAL,
        when=(c.order << _order(_not_stop()),
              c.f << ((m.kind == "itb_bolus") & (m.ug >= NON_RESPONDER_TEST_DOSE_UG)
                      & ((m.response == "none") | (m.response == "partial")))),
        message=lambda items: (
            "No significant response to a test dose of "
            + ", ".join(sorted({f"{_g(b.f.ug)} ug ({b.f.response})" for b in items}))
            + f": a non-responder at {NON_RESPONDER_TEST_DOSE_UG} ug should get no further test "
            "doses and no continuous infusion."),
        suggestion=lambda items: "Do not give further test doses or start an infusion; "
        "consider other spasticity management.",
        evidence=_fact_evidence,
        aggregate=True,
        source=NON_RESPONDER_SOURCE,
        description="Further test dose or infusion after no response to a 100 ug test dose.",
    ),
    AlertRule(
        id="intrathecal.initial_infusion_dose",
        code="INTRATHECAL_INITIAL_INFUSION_DOSE",
        severity=Severity.WARNING,
        when=(c.i << ((m.kind == "itb_initial_infusion")
                      & (m.deviation_pct > INITIAL_DOSE_TOLERANCE_PCT)),),
        message=_initial_message,
        suggestion=lambda b: (f"Start at {_g(b.i.nearest_ug)} ug/day over 24 h: twice the "
                              "effective bolus, or the bolus itself if its effect lasted over "
                              f"{PROLONGED_EFFECT_H} h."),
        evidence=lambda b: {k: v for k, v in b.i.items() if k not in ("id", "kind")},
        source=INITIAL_INFUSION_SOURCE,
        description="First daily infusion not twice the effective test dose (or the test dose "
        "when its effect lasted over 12 h), beyond 5 %.",
    ),
    AlertRule(
        id="intrathecal.initial_infusion_without_response",
        code="INTRATHECAL_INITIAL_INFUSION_DOSE",
        severity=Severity.WARNING,
        when=(c.order << _order((m.action == "start") & _not_screening()
                                & (m.it_n_history == 0)),
              c.test << ((m.kind == "itb_bolus") & (m.last == True)  # noqa: E712
                         & (m.ug < NON_RESPONDER_TEST_DOSE_UG)
                         & ((m.response == "none") | (m.response == "partial")))),
        message="Infusion started although the last test dose ({test.ug:g} ug) gave no "
        "significant response ({test.response}): there is no effective bolus to base the "
        "infusion on.",
        suggestion="Complete the screening (+25 ug steps, at least 24 h apart, up to 100 ug) "
        "until a significant response before starting the infusion.",
        evidence=lambda b: {"last_test_dose_ug": b.test.ug, "response": b.test.response},
        source=INITIAL_INFUSION_SOURCE,
        description="Infusion started without a significant response to the last test dose.",
    ),
    AlertRule(
        id="intrathecal.resumed_above_initial_dose",
        code="INTRATHECAL_INITIAL_INFUSION_DOSE",
        severity=Severity.WARNING,
        when=(c.r << ((m.kind == "itb_resumed_infusion")
                      & (m.change_pct > INITIAL_DOSE_TOLERANCE_PCT)),),
        message="Infusion resumed at {r.ordered_ug:g} ug/day, +{r.change_pct:g} % above the "
        "initial continuous infusion dose of {r.initial_ug:g} ug/day (first regimen, from "
        "{r.initial_since}).",
        suggestion="Resume at the initial continuous infusion dose, {r.initial_ug:g} ug/day, "
        "and titrate again.",
        evidence=lambda b: {k: v for k, v in b.r.items() if k not in ("id", "kind")},
        source=RESUME_SOURCE,
        description="Infusion resumed (start with a dose history) above the initial dose.",
    ),
    AlertRule(
        id="intrathecal.increase_in_first_24h",
        code="INTRATHECAL_INCREASE_IN_FIRST_24H",
        severity=Severity.WARNING,
        when=(c.p << _increase(),
              c.age << ((m.kind == "itb_infusion_age") & (m.exact == True)  # noqa: E712
                        & (m.hours < NO_INCREASE_FIRST_H))),
        message="Increase from {p.from_ug:g} to {p.to_ug:g} ug/day {age.hours:g} h after the "
        "infusion started: no increase should be attempted in the first {limit} h.",
        suggestion="Keep the initial dose for the first {limit} h, then adjust slowly.",
        params={"limit": NO_INCREASE_FIRST_H},
        evidence=lambda b: {**_step_evidence(b), "hours_since_infusion_start": b.age.hours},
        supersedes=("INTRATHECAL_INCREMENT_TOO_SOON",),
        source=FIRST_24H_SOURCE,
        description="Dose increase within 24 h of the infusion's start.",
    ),
    AlertRule(
        id="intrathecal.increment_too_large_spinal",
        code="INTRATHECAL_INCREMENT_TOO_LARGE",
        severity=Severity.WARNING,
        when=(c.order << _order(m.it_origin == "spinal"),
              c.p << (_increase() & (m.change_pct > MAX_INCREASE_PCT_SPINAL))),
        message=_increase_message(MAX_INCREASE_PCT_SPINAL, "spasticity of spinal origin"),
        suggestion=_increase_suggestion(MAX_INCREASE_PCT_SPINAL),
        evidence=_step_evidence,
        source=TITRATION_INCREMENT_SOURCE,
        description="Spinal origin: increase above 30 % of the previous daily dose.",
    ),
    AlertRule(
        id="intrathecal.increment_too_large_origin_unknown",
        code="INTRATHECAL_INCREMENT_TOO_LARGE",
        severity=Severity.WARNING,
        when=(c.order << _order(-m.it_origin),
              c.p << (_increase() & (m.change_pct > MAX_INCREASE_PCT_SPINAL))),
        message=_increase_message(MAX_INCREASE_PCT_SPINAL, "any origin (origin not given)"),
        suggestion=_increase_suggestion(MAX_INCREASE_PCT_SPINAL),
        evidence=_step_evidence,
        source=TITRATION_INCREMENT_SOURCE,
        description="Origin unknown: increase above 30 %, too large for any origin.",
    ),
    AlertRule(
        id="intrathecal.increment_too_large_cerebral_titration",
        code="INTRATHECAL_INCREMENT_TOO_LARGE",
        severity=Severity.WARNING,
        when=(c.order << _order((m.it_origin == "cerebral") & (m.it_phase == "titration")),
              c.p << (_increase() & (m.change_pct > MAX_INCREASE_PCT_CEREBRAL_TITRATION))),
        message=_increase_message(MAX_INCREASE_PCT_CEREBRAL_TITRATION,
                                  "spasticity of cerebral origin during titration"),
        suggestion=_increase_suggestion(MAX_INCREASE_PCT_CEREBRAL_TITRATION),
        evidence=_step_evidence,
        source=TITRATION_INCREMENT_SOURCE,
        description="Cerebral origin, titration: increase above 15 %.",
    ),
    AlertRule(
        id="intrathecal.increment_too_large_cerebral_maintenance",
        code="INTRATHECAL_INCREMENT_TOO_LARGE",
        severity=Severity.WARNING,
        when=(c.order << _order((m.it_origin == "cerebral")
                                & ((m.it_phase == "maintenance") | -m.it_phase)),
              c.p << (_increase() & (m.change_pct > MAX_INCREASE_PCT_CEREBRAL_MAINTENANCE))),
        message=_increase_message(MAX_INCREASE_PCT_CEREBRAL_MAINTENANCE,
                                  "spasticity of cerebral origin"),
        suggestion=_increase_suggestion(MAX_INCREASE_PCT_CEREBRAL_MAINTENANCE),
        evidence=_step_evidence,
        source=MAINTENANCE_INCREMENT_SOURCE,
        description="Cerebral origin, maintenance (or phase unknown): increase above 20 %.",
    ),
    AlertRule(
        id="intrathecal.increment_too_soon",
        code="INTRATHECAL_INCREMENT_TOO_SOON",
        severity=Severity.WARNING,
        when=(c.order << _order(),
              c.p << (_increase() & (m.hours_since_last_change
                                     < MIN_HOURS_BETWEEN_INCREASES["programmable"]))),
        message="Increase {p.hours_since_last_change:g} h after the last change: even a "
        "programmable pump allows one increase every {hours} h.",
        suggestion=lambda b: ("Wait until "
                              + str(MIN_HOURS_BETWEEN_INCREASES.get(b.order.get("it_pump", ""),
                                                                    24))
                              + " h after the last change before increasing."),
        params={"hours": MIN_HOURS_BETWEEN_INCREASES["programmable"]},
        evidence=lambda b: {**_step_evidence(b), "pump": b.order.get("it_pump")},
        source=INTERVAL_SOURCE,
        description="Increase sooner than 24 h after the last change (any pump).",
    ),
    AlertRule(
        id="intrathecal.increment_too_soon_non_programmable",
        code="INTRATHECAL_INCREMENT_TOO_SOON",
        severity=Severity.WARNING,
        when=(c.order << _order(m.it_pump == "non_programmable"),
              c.p << (_increase() & (m.hours_since_last_change
                                     >= MIN_HOURS_BETWEEN_INCREASES["programmable"])
                      & (m.hours_since_last_change
                         < MIN_HOURS_BETWEEN_INCREASES["non_programmable"]))),
        message="Increase {p.hours_since_last_change:g} h after the last change: with a "
        "non-programmable pump allow {hours} h between dose adjustments.",
        suggestion="Wait until {hours} h after the last change before increasing.",
        params={"hours": MIN_HOURS_BETWEEN_INCREASES["non_programmable"]},
        evidence=lambda b: {**_step_evidence(b), "pump": "non_programmable"},
        source=INTERVAL_SOURCE,
        description="Non-programmable pump: increase sooner than 48 h after the last change.",
    ),
    AlertRule(
        id="intrathecal.dose_above_1000_ug",
        code="INTRATHECAL_DOSE_ABOVE_1000_UG",
        severity=Severity.WARNING,
        when=(c.order << _order(_not_stop() & _not_screening()),
              c.dose << (_dose & (m.ug > LIMITED_EXPERIENCE_ABOVE_UG_DAY))),
        message="{dose.ug:g} ug/day is above {limit} ug/day, where clinical experience is "
        "limited.",
        suggestion="Confirm the dose and the concentration programmed; monitor closely for "
        "overdose (drowsiness, respiratory depression).",
        params={"limit": LIMITED_EXPERIENCE_ABOVE_UG_DAY},
        evidence=lambda b: {"daily_ug": b.dose.ug, "limit_ug_day": b.limit},
        source=HIGH_DOSE_SOURCE,
        description="Intrathecal daily dose above 1000 ug/day.",
    ),
    AlertRule(
        id="intrathecal.pump_malfunction_suspected",
        code="PUMP_MALFUNCTION_SUSPECTED",
        severity=Severity.CRITICAL,
        when=(c.f << (m.kind == "itb_red_flag"),),
        message=_red_flag_message,
        suggestion=lambda items: "Do not increase the dose until pump function and catheter "
        "patency have been checked (pump interrogation, imaging or contrast study); treat "
        "withdrawal signs urgently.",
        evidence=_red_flag_evidence,
        aggregate=True,
        # The increment is a symptom of the same finding; its limit is moot until the pump is
        # cleared, and the next check will apply it again.
        supersedes=("INTRATHECAL_INCREMENT_TOO_LARGE",),
        source=MALFUNCTION_SOURCE,
        description="Sudden substantial escalation (+50 % step, doubled in 7 days, a further "
        "increase after three without effect) or withdrawal signs.",
    ),
    AlertRule(
        id="intrathecal.abrupt_stop",
        code="INTRATHECAL_ABRUPT_DISCONTINUATION",
        severity=Severity.CRITICAL,
        when=(c.order << _order((m.action == "stop") & (m.taper == False)  # noqa: E712
                                & _not_screening()),),
        message="Intrathecal baclofen stopped without a taper: abrupt withdrawal (high fever, "
        "altered mental status, rebound spasticity, muscle rigidity) can be fatal.",
        suggestion="Reduce the daily dose gradually (10-20 % steps) instead of stopping, unless "
        "this is an overdose emergency; check the pump refill date and alarms.",
        evidence=lambda b: {"action": "stop", "taper": False},
        source=DISCONTINUATION_SOURCE,
        description="Intrathecal therapy stopped without a taper.",
    ),
    AlertRule(
        id="intrathecal.large_reduction",
        code="INTRATHECAL_ABRUPT_DISCONTINUATION",
        severity=Severity.WARNING,
        when=(c.p << _proposed((m.direction == "decrease")
                               & (m.change_pct < -MAX_REDUCTION_PCT)),),
        message="Reduction from {p.from_ug:g} to {p.to_ug:g} ug/day is {p.change_pct:g} %, more "
        "than the {limit} % cuts used for side effects: risk of withdrawal.",
        suggestion=lambda b: (f"Reduce by at most {MAX_REDUCTION_PCT} % per step (to "
                              f"{b.p.from_ug * (1 - MAX_REDUCTION_PCT / 100):g} ug/day), "
                              "unless this is an overdose emergency."),
        params={"limit": MAX_REDUCTION_PCT},
        evidence=_step_evidence,
        source=REDUCTION_SOURCE,
        description="Single intrathecal dose cut of more than 20 %.",
    ),
    AlertRule(
        id="renal.intrathecal",
        code="RENAL_IMPAIRMENT",
        severity=Severity.WARNING,
        # One aggregate over both kinds of evidence, so that dialysis with a CrCl of 20 mL/min
        # is one warning, not an end-stage one and a severe one.
        when=(c.f << ((m.kind == "finding") & ((m.finding == "end_stage_renal")
                                               | (m.finding == "renal_below_30"))),
              c.order << _order(_not_stop())),
        message=_renal_message,
        suggestion=lambda items: "Use the lowest effective intrathecal dose under specialist "
        "care, titrate cautiously and monitor for drowsiness and respiratory depression.",
        evidence=lambda items: {"findings": [
            {k: v for k, v in b.f.items() if k not in ("id", "kind")} for b in items]},
        aggregate=True,
        source=RENAL_SOURCE,
        description="Intrathecal order with CrCl/eGFR < 30 mL/min or terminal renal failure "
        "(warning, not the oral contraindication).",
    ),
]


# ---------------------------------------------------------------------------------------------
# MISSING_DATA: the intrathecal checks that could not run, naming the field.
# ---------------------------------------------------------------------------------------------
def _missing(rule_id: str, when: tuple[Any, ...], fields: list[str], message: Any,
             suggestion: str, description: str) -> AlertRule:
    return AlertRule(
        id=rule_id, code="MISSING_DATA", severity=Severity.WARNING, when=when,
        message=message, suggestion=suggestion,
        evidence=lambda _: {"missing": fields}, source=MISSING_SOURCE, description=description,
    )


MISSING = [
    _missing(
        "missing.intrathecal_details",
        (c.order << _order(_not_stop() & (m.has_intrathecal == False)),),  # noqa: E712
        ["order.intrathecal"],
        "No intrathecal details on an intrathecal order: the screening, first-infusion, "
        "titration and pump-malfunction checks could not run.",
        "Give order.intrathecal: phase, spasticity_origin, pump, infusion_started, history "
        "(and screening_doses during screening).",
        "Intrathecal order without order.intrathecal.",
    ),
    _missing(
        "missing.intrathecal_phase",
        (c.order << _order(_not_stop() & (m.has_intrathecal == True) & -m.it_phase),),  # noqa: E712
        ["order.intrathecal.phase"],
        "No intrathecal phase: whether the dose is a test bolus or a daily infusion is unknown, "
        "so the screening checks and the phase-specific increment limits could not run.",
        "Give order.intrathecal.phase: screening, titration or maintenance.",
        "Intrathecal order without a phase.",
    ),
    _missing(
        "missing.intrathecal_dose",
        (c.order << _order(_not_stop() & -m.dose_value),),
        ["order.dose"],
        "No dose on the intrathecal order: the dose, step and red-flag checks could not run.",
        "Give order.dose: the daily infusion dose, or the test bolus during screening.",
        "Intrathecal order without a dose.",
    ),
    _missing(
        "missing.intrathecal_order_time",
        (c.order << _order(_not_stop() & -m.time
                           & ((m.it_n_history > 0) | (m.it_n_screening > 0)
                              | +m.it_infusion_started)),),
        ["order.time"],
        "No order.time (the order is not for today): the hours since the last change, since "
        "the infusion started and since the last test dose could not be checked.",
        "Give order.time, when the order takes effect (ISO date-time with offset).",
        "Intrathecal order for another day without a time: intervals not checked.",
    ),
    _missing(
        "missing.intrathecal_history",
        (c.order << _order((m.action == "change") & _infusion_phase()
                           & (m.it_n_history == 0)),),
        ["order.intrathecal.history"],
        "Intrathecal dose change without order.intrathecal.history: the size of the step, the "
        "interval since the last change and the pump red flags could not be checked.",
        "Give the regimens so far in order.intrathecal.history (time, daily_dose, "
        "clinical_effect), oldest first.",
        "Intrathecal change without the dose history.",
    ),
    _missing(
        "missing.intrathecal_origin",
        (c.order << _order(-m.it_origin & ((m.it_phase == "titration") | -m.it_phase)),
         c.p << (_increase() & (m.change_pct > MAX_INCREASE_PCT_CEREBRAL_TITRATION)
                 & (m.change_pct <= MAX_INCREASE_PCT_SPINAL))),
        ["order.intrathecal.spasticity_origin"],
        lambda b: (f"No spasticity origin: the +{_g(b.p.change_pct)} % increase is within the "
                   f"{MAX_INCREASE_PCT_SPINAL} % spinal limit but above the "
                   f"{MAX_INCREASE_PCT_CEREBRAL_TITRATION} % cerebral limit."),
        "Give order.intrathecal.spasticity_origin: spinal or cerebral.",
        "Increase between the cerebral and spinal limits without the origin.",
    ),
    _missing(
        "missing.intrathecal_origin_maintenance",
        (c.order << _order(-m.it_origin & (m.it_phase == "maintenance")),
         c.p << (_increase() & (m.change_pct > MAX_INCREASE_PCT_CEREBRAL_MAINTENANCE)
                 & (m.change_pct <= MAX_INCREASE_PCT_SPINAL))),
        ["order.intrathecal.spasticity_origin"],
        lambda b: (f"No spasticity origin: the +{_g(b.p.change_pct)} % increase is within the "
                   f"{MAX_INCREASE_PCT_SPINAL} % spinal limit but above the "
                   f"{MAX_INCREASE_PCT_CEREBRAL_MAINTENANCE} % cerebral limit."),
        "Give order.intrathecal.spasticity_origin: spinal or cerebral.",
        "Maintenance increase between the cerebral and spinal limits without the origin.",
    ),
    _missing(
        "missing.intrathecal_pump",
        (c.order << _order(-m.it_pump),
         c.p << (_increase() & (m.hours_since_last_change
                                >= MIN_HOURS_BETWEEN_INCREASES["programmable"])
                 & (m.hours_since_last_change
                    < MIN_HOURS_BETWEEN_INCREASES["non_programmable"]))),
        ["order.intrathecal.pump"],
        "No pump type: an increase {p.hours_since_last_change:g} h after the last change is "
        "allowed with a programmable pump but too soon (48 h) with a non-programmable one.",
        "Give order.intrathecal.pump: programmable or non_programmable.",
        "Increase 24-48 h after the last change without the pump type.",
    ),
    _missing(
        "missing.intrathecal_infusion_started",
        (c.order << _order(m.it_phase == "titration"),
         c.p << _increase(),
         c.age << ((m.kind == "itb_infusion_age") & (m.exact == False)  # noqa: E712
                   & (m.hours < NO_INCREASE_FIRST_H))),
        ["order.intrathecal.infusion_started"],
        f"No infusion start time, and the first recorded regimen is under {NO_INCREASE_FIRST_H} h "
        "old: the no-increase-in-the-first-24-hours check could not run.",
        "Give order.intrathecal.infusion_started.",
        "Titration increase without the infusion start when it may be within 24 h.",
    ),
    _missing(
        "missing.intrathecal_screening_doses",
        (c.order << _order((m.action == "start") & (m.it_phase == "titration")
                           & (m.it_n_screening == 0) & (m.it_n_history == 0)),),
        ["order.intrathecal.screening_doses"],
        "Infusion started without the screening test doses: the first infusion dose (twice "
        "the effective bolus) and the non-responder check could not run.",
        "Give order.intrathecal.screening_doses (time, dose, response, effect_hours).",
        "First infusion without the screening doses.",
    ),
    AlertRule(
        id="missing.intrathecal_non_responder_response",
        code="MISSING_DATA",
        severity=Severity.WARNING,
        when=(c.order << _order(_not_stop()),
              c.f << ((m.kind == "itb_bolus") & -m.response
                      & (m.ug >= NON_RESPONDER_TEST_DOSE_UG))),
        message=lambda items: (
            "No response recorded for the test dose"
            + ("s" if len(items) > 1 else "") + " of "
            + ", ".join(f"{_g(b.f.ug)} ug" for b in items)
            + f": the non-responder check ({NON_RESPONDER_TEST_DOSE_UG} ug) could not run."),
        suggestion=lambda items: "Record the response of each test dose "
        "(order.intrathecal.screening_doses[].response: none, partial or significant).",
        evidence=lambda items: {"missing": [
            f"order.intrathecal.screening_doses[{b.f.seq}].response" for b in items]},
        aggregate=True,
        source=NON_RESPONDER_SOURCE,
        description="Test dose of 100 ug or more without a recorded response.",
    ),
    AlertRule(
        id="missing.intrathecal_effective_bolus_response",
        code="MISSING_DATA",
        severity=Severity.WARNING,
        when=(c.order << _order((m.action == "start") & _not_screening()
                                & (m.it_n_history == 0)),
              c.f << ((m.kind == "itb_bolus") & -m.response & (m.last == True)  # noqa: E712
                      & (m.ug < NON_RESPONDER_TEST_DOSE_UG))),
        message="No response recorded for the last test dose ({f.ug:g} ug): the first "
        "infusion dose (twice the effective bolus) could not be checked.",
        suggestion="Record its response (order.intrathecal.screening_doses[].response) and "
        "effect_hours.",
        evidence=lambda b: {"missing": [
            f"order.intrathecal.screening_doses[{b.f.seq}].response"]},
        source=INITIAL_INFUSION_SOURCE,
        description="First infusion when the last test dose has no recorded response.",
    ),
    _missing(
        "missing.intrathecal_effect_hours",
        (c.i << ((m.kind == "itb_initial_infusion") & (m.effect_known == False)  # noqa: E712
                 & (m.deviation_pct <= INITIAL_DOSE_TOLERANCE_PCT)),),
        ["order.intrathecal.screening_doses[].effect_hours"],
        lambda b: (f"No effect duration for the {_g(b.i.test_ug)} ug test dose: whether the "
                   f"first infusion should be {_g(b.i.test_ug * 2)} (effect up to "
                   f"{PROLONGED_EFFECT_H} h) or {_g(b.i.test_ug)} ug/day (longer) could not be "
                   "checked."),
        "Record effect_hours of the effective test dose.",
        "First infusion without the duration of the test dose's effect.",
    ),
]



def _effect_missing_rules() -> list[AlertRule]:
    """The no-effect streak needs the effect of the last three increases. When they were all
    increases with no effect or no effect recorded, and at least one is unrecorded, the streak
    could not be judged. One rule per unrecorded position; the engine reports the identical
    message once."""
    none_or_unknown = (m.effect_after == "none") | -m.effect_after
    rules = []
    for unknown in ("s1", "s2", "s3"):
        conds = [c.p << _increase()]
        for offset, alias in ((1, "s3"), (2, "s2"), (3, "s1")):
            effect = -m.effect_after if alias == unknown else none_or_unknown
            cond = _earlier_step((m.seq == c.p.seq - offset) & (m.direction == "increase")
                                 & effect)
            conds.append(getattr(c, alias) << cond)
        rules.append(_missing(
            f"missing.intrathecal_clinical_effect_{unknown}", tuple(conds),
            ["order.intrathecal.history[].clinical_effect"],
            "No clinical effect recorded for some of the last three increases: whether the "
            "dose keeps rising without effect (a catheter or pump red flag) could not be "
            "checked.",
            "Record order.intrathecal.history[].clinical_effect (none, partial or adequate) "
            "for each regimen.",
            "Increase after three increases whose clinical effect is partly unrecorded.",
        ))
    return rules


MISSING.extend(_effect_missing_rules())

RULES = [*DERIVATIONS, *ALERTS, *MISSING]
