"""Red flags of a failing pump or catheter (001, Dose-Titration Phase).

001: "A sudden requirement for substantial dose escalation is indicative of a catheter
complication (i.e. a kink or dislodgement) or pump malfunction." "If the dose has been
significantly increased without apparent clinical effect pump function and catheter patency
should be investigated."

"Substantial escalation" is defined here (001 gives no number). When the ordered step
- is +50 % or more (every label increment is at most 30 %), or
- at least doubles a dose in effect during the 7 days before the order, in maintenance (or
  phase unknown), or in titration when every regimen raised to since that dose had no clinical
  effect, or
- in maintenance (or phase unknown) is 40 % or more above a dose in effect during the 7 days
  before the order, while every regimen raised to since had no effect, or
- is the third increase in a row without effect (the last three regimens had no effect, each
  reached from the one before by an increase),
Then PUMP_MALFUNCTION_SUSPECTED (critical), which supersedes INTRATHECAL_INCREMENT_TOO_LARGE. A
restart's step and a suspect dose unit (DOSE_UNIT_SUSPECT supersedes the step's flags) raise
none of them.
When a withdrawal sign is given on intrathecal therapy (pruritus, hypotension,
paraesthesia, fever or hyperthermia, altered mental status, rebound spasticity, muscle
rigidity, seizures), or a record dates one within the 72 hours before the order on a running
infusion, Then the same alert: interrupted delivery presents as withdrawal.
"Without effect" is the effect of each regimen as recorded or read from spasticity scores
(rules/intrathecal/response.py); when the scores showed it, the alert names the scale and
how long the doses were tried.
When the third-increase check needs a clinical effect that is neither recorded nor readable
from scores, Then MISSING_DATA.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from engine import Alert, AlertRule, Derivation, Severity, c, given, m
from engine.evidence import whole
from rules.intrathecal.steps import (
    EARLIER_STEP,
    MISSING_SOURCE,
    NOT_SCREENING,
    PROPOSED,
    hours,
    itb_order,
    pct,
)
from rules.sources import ADULT_SMPC, Passage
from rules.vocabulary import (
    ItbCumulativeRise,
    ItbEffect,
    ItbNoEffectSince,
    ItbRedFlag,
    ItbRegimen,
    ItbSignAge,
    ItbStep,
    ItbWithdrawalSign,
    OrderFact,
)

ESCALATION_STEP_PCT = 50  # one step of +50 % or more: beyond every label increment (max 30 %)
ESCALATION_FACTOR = 2  # the new dose at least doubles a dose in effect during ...
ESCALATION_WINDOW_H = 7 * 24  # ... the 7 days before the order
NO_EFFECT_REGIMENS = 3  # the third increase in a row without effect
CUMULATIVE_RISE_PCT = 40  # maintenance: +40 % over a dose of the last 7 days without effect
WITHDRAWAL_WINDOW_H = 72  # a sign the record dates counts when observed this recently

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
    "effect that is titration, not escalation; an unrecorded effect is not 'none'); in "
    "maintenance, the new dose 40 % or more above a dose in effect during the previous 7 "
    "days while every regimen raised to since showed no effect (the same sentence; "
    "maintenance increases are gradual, 10-30 %); or the third increase in a row without "
    "effect: the last three regimens all had no effect, each reached from the one before by "
    "an increase, and this order raises the dose again (the run counts from the first "
    "regimen without effect). Only the ordered step raises these, and a step whose unit is "
    "suspect (DOSE_UNIT_SUSPECT) or that restarts an interrupted infusion raises none of "
    "them: a unit slip or a restart dose is not a failing pump. Withdrawal signs on "
    "intrathecal therapy (pruritus, "
    "hypotension, paraesthesia, fever or hyperthermia, altered mental status, rebound "
    "spasticity, muscle rigidity, seizures) also raise it: an interrupted delivery presents "
    "as withdrawal. That list is the intrathecal withdrawal syndrome of the full SmPC; 001's "
    "excerpt here only says baclofen 'should not be discontinued suddenly', and 004 "
    "(tertiary) lists 'hallucinations, seizures, or hyperthermia'. A sign given without a "
    "time is taken as current; one a record dates counts when observed within the 72 hours "
    "before the order (or since) on a running infusion (a regimen or an infusion start on "
    "record): older signs are history, and without an infusion they are not withdrawal. "
    "'Without effect' is a regimen's effect as recorded or as its spasticity scores show it "
    "(rules/intrathecal/response.py); an unknown effect is never 'none'.",
)

# An increase that can be read as escalation: not the step of a restart (a resumed infusion's
# dose is the prescriber's choice, checked against the initial dose).
_ESCALATION = PROPOSED & (m.direction == "increase") & (m.restart == False)
_within_window = (m.from_ended_hours_ago < ESCALATION_WINDOW_H) & (
    m.from_ug <= c.p.to_ug / ESCALATION_FACTOR
)
_maintenance_or_unknown = itb_order((m.it_phase == "maintenance") | -m.it_phase)


# -- derivations --------------------------------------------------------------------------------
def single_step(p: ItbStep) -> Iterator[ItbRedFlag]:
    yield ItbRedFlag(
        from_step=True,
        pattern="single_step",
        from_ug=p.from_ug,
        to_ug=p.to_ug,
        change_pct=p.change_pct,
    )


def doubling(p: ItbStep, s: ItbStep) -> Iterator[ItbRedFlag]:
    yield ItbRedFlag(
        from_step=True,
        pattern="doubled_within_7_days",
        from_ug=s.from_ug,
        to_ug=p.to_ug,
        factor=round(p.to_ug / s.from_ug, 2),
        hours_ago=s.from_ended_hours_ago,
    )


def _scales(e: ItbEffect) -> list[str]:
    return list(e.instruments or []) if e.basis == "scores" else []


def no_effect_since_last(h: ItbRegimen, e: ItbEffect) -> Iterator[ItbNoEffectSince]:
    yield ItbNoEffectSince(seq=h.seq, since=h.time, read_from=_scales(e) or None)


def no_effect_since(r: ItbNoEffectSince, h: ItbRegimen, e: ItbEffect) -> Iterator[ItbNoEffectSince]:
    scales = list(dict.fromkeys(_scales(e) + list(r.read_from or [])))
    yield ItbNoEffectSince(seq=h.seq, since=h.time, read_from=scales or None)


def cumulative_rise(p: ItbStep, s: ItbStep, r: ItbNoEffectSince) -> Iterator[ItbCumulativeRise]:
    yield ItbCumulativeRise(
        from_ug=s.from_ug,
        to_ug=p.to_ug,
        change_pct=pct(s.from_ug, p.to_ug),
        hours_ago=given(s.from_ended_hours_ago),
        regimens_without_effect=p.seq - s.seq,
        read_from=r.read_from,
    )


def cumulative(x: ItbCumulativeRise) -> Iterator[ItbRedFlag]:
    yield ItbRedFlag(
        from_step=True,
        pattern="raised_without_effect_within_7_days",
        from_ug=x.from_ug,
        to_ug=x.to_ug,
        change_pct=x.change_pct,
        hours_ago=x.hours_ago,
        regimens_without_effect=x.regimens_without_effect,
        effect_read_from=x.read_from,
    )


def streak(
    order: OrderFact, p: ItbStep, s2: ItbStep, s3: ItbStep, r: ItbNoEffectSince
) -> Iterator[ItbRedFlag]:
    """When scores showed the lack of effect, the alert names the scales and how long the
    doses were tried: from the first regimen without effect to the order."""
    days = None
    if r.read_from and order.time:
        days = round(hours(r.since, order.time) / 24, 1)
    yield ItbRedFlag(
        from_step=True,
        pattern="no_effect_streak",
        increases=NO_EFFECT_REGIMENS,
        doses_ug=[s2.from_ug, s2.to_ug, s3.to_ug, p.to_ug],
        effect_read_from=r.read_from,
        over_days=days,
    )


def withdrawal(w: ItbWithdrawalSign) -> Iterator[ItbRedFlag]:
    yield ItbRedFlag(from_step=False, pattern="withdrawal_sign", sign=w.sign)


def sign_age(order: OrderFact, w: ItbWithdrawalSign) -> Iterator[ItbSignAge]:
    yield ItbSignAge(
        sign=w.sign, time=given(w.time), hours_ago=hours(given(w.time), given(order.time))
    )


def recent_withdrawal(a: ItbSignAge) -> Iterator[ItbRedFlag]:
    yield ItbRedFlag(from_step=False, pattern="withdrawal_sign", sign=a.sign, hours_ago=a.hours_ago)


# -- the alert: the red flags said once, in a fixed order -------------------------------------
def _g(x: Any) -> str:
    return f"{x:g}"


def _ordinal(n: int) -> str:
    return {2: "second", 3: "third", 4: "fourth"}.get(n, f"{n}th")


# Red flags are read by key, so that the merge below can render them from an alert's evidence
# as well as from the matched facts.
def _text(f: dict[str, Any]) -> str:
    pattern = f["pattern"]
    if pattern == "single_step":
        return (
            f"one step from {_g(f['from_ug'])} to {_g(f['to_ug'])} ug/day "
            f"(+{_g(f['change_pct'])} %, threshold +{ESCALATION_STEP_PCT} %)"
        )
    if pattern == "doubled_within_7_days":
        return (
            f"{_g(f['to_ug'])} ug/day is {_g(f['factor'])} times the {_g(f['from_ug'])} "
            "ug/day in effect within the last 7 days"
        )
    if pattern == "raised_without_effect_within_7_days":
        raised = f["regimens_without_effect"]
        return (
            f"{_g(f['to_ug'])} ug/day is +{_g(f['change_pct'])} % over the "
            f"{_g(f['from_ug'])} ug/day in effect within the last 7 days, and the "
            f"{raised} regimen{'' if raised == 1 else 's'} raised to since showed no clinical "
            f"effect (threshold +{CUMULATIVE_RISE_PCT} %)" + _read_from(f)
        )
    if pattern == "no_effect_streak":
        doses = " -> ".join(_g(d) for d in f["doses_ug"])
        tried = f["doses_ug"][:-1]
        text = (
            f"the {_ordinal(f['increases'])} increase in a row without clinical effect "
            f"({doses} ug/day; no effect at " + ", ".join(_g(d) for d in tried) + " ug/day)"
        )
        if f.get("effect_read_from"):
            over = f" over {_g(f['over_days'])} days" if f.get("over_days") is not None else ""
            text += ": " + " -> ".join(_g(d) for d in tried) + f" ug/day{over}" + _read_from(f)
        return text
    sign = f"withdrawal sign: {str(f['sign']).replace('_', ' ')}"
    if f.get("hours_ago") is not None:
        ago = f["hours_ago"]
        sign += f" (recorded {_g(ago)} h before the order)" if ago >= 0 else " (recorded since)"
    return sign


def _read_from(f: dict[str, Any]) -> str:
    scales = f.get("effect_read_from")
    return f", no improvement in the {' or the '.join(scales)}" if scales else ""


_PATTERN_ORDER = (
    "single_step",
    "doubled_within_7_days",
    "raised_without_effect_within_7_days",
    "no_effect_streak",
    "withdrawal_sign",
)


def _lowest_base(flags: list[dict[str, Any]], pattern: str) -> list[dict[str, Any]]:
    """Of several flags of one pattern from different earlier doses, the one from the lowest
    (the others say the same, less)."""
    same = [f for f in flags if f["pattern"] == pattern]
    if not same:
        return flags
    lowest = min(same, key=lambda f: f["from_ug"])
    return [f for f in flags if f["pattern"] != pattern or f is lowest]


def _ordered(flags: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The red flags to report, in a fixed order, each said once. A doubling within the
    window already says what a rise of 40 % without effect says: the rise is then left out."""
    flags = _lowest_base(
        _lowest_base(flags, "doubled_within_7_days"), "raised_without_effect_within_7_days"
    )
    if any(f["pattern"] == "doubled_within_7_days" for f in flags):
        flags = [f for f in flags if f["pattern"] != "raised_without_effect_within_7_days"]
    return sorted(flags, key=lambda f: _PATTERN_ORDER.index(str(f["pattern"])))


def _summary(flags: list[dict[str, Any]]) -> str:
    texts = dict.fromkeys(_text(f) for f in flags)
    return (
        "Possible catheter complication (kink, dislodgement) or pump malfunction: "
        + "; ".join(texts)
        + "."
    )


def _shown(f: Sequence[ItbRedFlag]) -> list[dict[str, Any]]:
    return _ordered([whole(x, exclude=("from_step",)) for x in f])


def red_flag_message(f: Sequence[ItbRedFlag]) -> str:
    return _summary(_shown(f))


def red_flag_evidence(f: Sequence[ItbRedFlag]) -> dict[str, object]:
    return {"findings": _shown(f)}


SUGGESTION = (
    "Do not increase the dose until pump function and catheter patency have been "
    "checked (pump interrogation, imaging or contrast study); treat withdrawal signs "
    "urgently."
)


def merge_red_flags(alerts: list[Alert]) -> Alert:
    """The red flags of the ordered step and the withdrawal signs, raised by two rules (so
    that a unit slip can supersede the first alone), reported as one alert."""
    flags = _ordered([f for a in alerts for f in a.evidence.get("findings", [])])
    return alerts[0].model_copy(
        update={
            "message": _summary(flags),
            "suggestion": SUGGESTION,
            "evidence": {"findings": flags},
        }
    )


# The rule of the step-derived red flags: DOSE_UNIT_SUSPECT supersedes it (rules/route_and_units).
PUMP_STEP_RULE = "intrathecal.pump_malfunction_suspected"


# The clinical effect of a regimen (rules/intrathecal/response.py): unknown, or none or unknown.
_UNKNOWN = m.effect == "unknown"
_NONE_OR_UNKNOWN = (m.effect == "none") | (m.effect == "unknown")
_STREAK_EFFECT_MESSAGE = (
    "No clinical effect recorded for some of the last three regimens, each raised from the one "
    "before, and no spasticity score (Modified Ashworth, Ashworth or Penn Spasm Frequency "
    "Scale) before and after its change: whether this is the third increase in a row without "
    "effect (a catheter or pump red flag) could not be checked."
)
_STREAK_EFFECT_SUGGESTION = (
    "Record order.intrathecal.history[].clinical_effect (none, partial "
    "or adequate) for each regimen, or spasticity scores before and after each change."
)
_STREAK_EFFECT_DESCRIPTION = (
    "Third increase in a row over regimens whose clinical effect is partly unknown."
)
_STREAK_MISSING = [
    "order.intrathecal.history[].clinical_effect",
    "order.intrathecal.spasticity_scores",
]
_previous_increase = EARLIER_STEP & (m.seq == c.p.seq - 1) & (m.direction == "increase")
_increase_before = EARLIER_STEP & (m.seq == c.p.seq - 2) & (m.direction == "increase")


def _effect(back: int, test: Any) -> Any:
    """The effect of the regimen `back` regimens before the ordered one."""
    return (m.kind == "itb_effect") & (m.seq == c.p.seq - back) & test


def _streak_effect_unknown(position: int) -> AlertRule:
    """The streak could not be judged: the regimen `position` (1: the first of the three) has
    no known effect, the other two none or no known effect."""
    tests = {n: _UNKNOWN if n == position else _NONE_OR_UNKNOWN for n in (1, 2, 3)}
    return AlertRule(
        id=f"missing.intrathecal_clinical_effect_r{position}",
        code="MISSING_DATA",
        severity=Severity.WARNING,
        when=(
            c.p << _ESCALATION,
            c.s3 << _previous_increase,
            c.s2 << _increase_before,
            c.e1 << _effect(NO_EFFECT_REGIMENS, tests[1]),
            c.e2 << _effect(NO_EFFECT_REGIMENS - 1, tests[2]),
            c.e3 << _effect(NO_EFFECT_REGIMENS - 2, tests[3]),
        ),
        message=_STREAK_EFFECT_MESSAGE,
        suggestion=_STREAK_EFFECT_SUGGESTION,
        params={"missing": _STREAK_MISSING},
        evidence=("missing",),
        source=MISSING_SOURCE,
        description=_STREAK_EFFECT_DESCRIPTION,
    )


RULES = [
    Derivation(
        id="intrathecal.red_flag_single_step",
        when=(c.p << (_ESCALATION & (m.change_pct >= ESCALATION_STEP_PCT)),),
        derive=single_step,
        doc="The ordered step (not a restart) is +50 % or more: a red flag.",
    ),
    Derivation(
        id="intrathecal.red_flag_doubling",
        when=(
            c.order << _maintenance_or_unknown,
            c.p << _ESCALATION,
            c.s << (EARLIER_STEP & _within_window),
        ),
        derive=doubling,
        doc="Maintenance: a dose in effect during the last 7 days that the new dose at least "
        "doubles.",
    ),
    # "Without apparent clinical effect" (001 titration) as a run back from the current
    # regimen: itb_no_effect_since(seq) says the regimens from seq to the last all had
    # clinical effect "none".
    Derivation(
        id="intrathecal.no_effect_since_last",
        when=(
            c.h << ((m.kind == "itb_history") & (m.last == True)),
            c.e << ((m.kind == "itb_effect") & (m.seq == c.h.seq) & (m.effect == "none")),
        ),
        derive=no_effect_since_last,
        doc="The current regimen had no clinical effect (recorded, or read from scores).",
    ),
    Derivation(
        id="intrathecal.no_effect_since_earlier",
        when=(
            c.r << (m.kind == "itb_no_effect_since"),
            c.h << ((m.kind == "itb_history") & (m.seq == c.r.seq - 1)),
            c.e << ((m.kind == "itb_effect") & (m.seq == c.r.seq - 1) & (m.effect == "none")),
        ),
        derive=no_effect_since,
        doc="The run of regimens without clinical effect reaches one regimen further back.",
    ),
    Derivation(
        id="intrathecal.red_flag_doubling_without_effect",
        when=(
            c.order << itb_order(m.it_phase == "titration"),
            c.p << _ESCALATION,
            c.s << (EARLIER_STEP & _within_window),
            c.r << ((m.kind == "itb_no_effect_since") & (m.seq == c.s.seq)),
        ),
        derive=doubling,
        doc="Titration: the same doubling, when every regimen the dose was raised to since "
        "that dose had no clinical effect.",
    ),
    Derivation(
        id="intrathecal.cumulative_rise_without_effect",
        when=(
            c.order << _maintenance_or_unknown,
            c.p << _ESCALATION,
            c.s
            << (
                EARLIER_STEP
                & (m.direction == "increase")
                & (m.from_ended_hours_ago < ESCALATION_WINDOW_H)
            ),
            c.r << ((m.kind == "itb_no_effect_since") & (m.seq == c.s.seq)),
        ),
        derive=cumulative_rise,
        doc="Maintenance: the rise over a dose in effect during the last 7 days, when every "
        "regimen the dose was raised to since that dose had no clinical effect.",
    ),
    Derivation(
        id="intrathecal.red_flag_cumulative_rise",
        when=(c.x << ((m.kind == "itb_cumulative_rise") & (m.change_pct >= CUMULATIVE_RISE_PCT)),),
        derive=cumulative,
        doc="The rise without effect over a dose of the last 7 days is 40 % or more: a red flag.",
    ),
    Derivation(
        id="intrathecal.red_flag_no_effect_streak",
        when=(
            c.order << itb_order(),
            c.p << _ESCALATION,
            c.s3 << _previous_increase,
            c.s2 << _increase_before,
            c.r << ((m.kind == "itb_no_effect_since") & (m.seq == c.p.seq - NO_EFFECT_REGIMENS)),
        ),
        derive=streak,
        doc=f"The last {NO_EFFECT_REGIMENS} regimens had no clinical effect, each reached by "
        "an increase from the one before, and this order increases the dose again: the third "
        "increase in a row without effect.",
    ),
    Derivation(
        id="intrathecal.red_flag_withdrawal_sign",
        when=(
            c.order
            << itb_order(
                # Exclusive alternatives (durable fires once for each that holds): any order
                # but a start, or a restart with regimens on record.
                NOT_SCREENING
                & ((m.action != "start") | ((m.action == "start") & (m.it_n_history > 0)))
            ),
            c.w << ((m.kind == "itb_withdrawal_sign") & -m.time),
        ),
        derive=withdrawal,
        doc="A withdrawal sign given as current on intrathecal therapy that has an infusion to "
        "withdraw from (not a screening bolus, not a first infusion): a red flag. Before any "
        "infusion, a fever points to an infection (001: infection-free before screening).",
    ),
    Derivation(
        id="intrathecal.withdrawal_sign_age",
        when=(
            c.order << itb_order(+m.time & ((m.it_n_history > 0) | +m.it_infusion_started)),
            c.w << ((m.kind == "itb_withdrawal_sign") & +m.time),
        ),
        derive=sign_age,
        doc="A withdrawal sign the record dates, on a running infusion: how long before the "
        "order it was observed.",
    ),
    Derivation(
        id="intrathecal.red_flag_recent_withdrawal_sign",
        when=(c.a << ((m.kind == "itb_sign_age") & (m.hours_ago <= WITHDRAWAL_WINDOW_H)),),
        derive=recent_withdrawal,
        doc=f"A withdrawal sign observed within the {WITHDRAWAL_WINDOW_H} hours before the order "
        "(or since), on a running infusion: a red flag.",
    ),
    # Two rules under one code, so that a unit slip can supersede the step's red flags alone;
    # when both fire their alerts are merged into one (rules/catalog.py MERGES).
    AlertRule(
        id=PUMP_STEP_RULE,
        code="PUMP_MALFUNCTION_SUSPECTED",
        severity=Severity.CRITICAL,
        when=(c.f << ((m.kind == "itb_red_flag") & (m.from_step == True)),),
        message=red_flag_message,
        suggestion=SUGGESTION,
        evidence=red_flag_evidence,
        aggregate=True,
        # The increment is a symptom of the same finding; its limit is moot until the pump is
        # cleared, and the next check will apply it again.
        supersedes=("INTRATHECAL_INCREMENT_TOO_LARGE",),
        source=MALFUNCTION_SOURCE,
        description="Sudden substantial escalation of the ordered step (+50 % step, doubled in "
        "7 days, +40 % in 7 days without effect in maintenance, the third increase in a row "
        "without effect). A unit slip (DOSE_UNIT_SUSPECT) supersedes it.",
    ),
    AlertRule(
        id="intrathecal.withdrawal_sign",
        code="PUMP_MALFUNCTION_SUSPECTED",
        severity=Severity.CRITICAL,
        when=(c.f << ((m.kind == "itb_red_flag") & (m.from_step == False)),),
        message=red_flag_message,
        suggestion=SUGGESTION,
        evidence=red_flag_evidence,
        aggregate=True,
        supersedes=("INTRATHECAL_INCREMENT_TOO_LARGE",),
        source=MALFUNCTION_SOURCE,
        description="Withdrawal signs on intrathecal therapy: interrupted delivery (not read "
        "from the step: it stays beside a unit slip).",
    ),
    # The third increase in a row needs the effect of the last three regimens. When each was
    # raised from the one before and had no effect or none known, and at least one is
    # unknown, the streak could not be judged: one rule per unknown position; the engine
    # reports the identical message once.
    *(_streak_effect_unknown(n) for n in (1, 2, 3)),
]
