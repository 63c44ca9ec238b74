"""Route and unit plausibility: a route baclofen is not given by, and a dose whose size fits
another unit better (micrograms written as milligrams and back, the classic 1000-fold error).

001 (primary) gives posology for oral use (mg) and intrathecal use (micrograms) only; 004
(tertiary): "it is available as oral tablets (10 mg, 20 mg) or intrathecal injection."

When baclofen is ordered intravenously, intramuscularly, subcutaneously or epidurally (not a
stop), Then ROUTE_NOT_PERMITTED (critical), and the order is better removed.
When a dose outside its expected range (intrathecal 12-2003 ug/day, oral 1-200 mg/day) fits it
once divided or multiplied by 1000, or an intrathecal dose written in mg comes to 2 mg/day or
more, or an oral dose written in ug is under 1 mg per dose, or a test bolus written in mg is
above 100 ug or written in ug above 200 ug, Then DOSE_UNIT_SUSPECT (critical). It withholds the
suggested regimen (which dose was meant is unknown) and supersedes the red flags read from the
ordered step (a unit slip is not a failing pump).
When the order has no route, Then MISSING_DATA names order.route.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from engine import AlertRule, Derivation, Severity, c, m
from rules.case import NOT_PERMITTED_ROUTES
from rules.contraindications import removal
from rules.intrathecal.red_flags import PUMP_STEP_RULE
from rules.intrathecal.screening import (
    FIRST_TEST_DOSE_MAX_UG,
    SCREENING_SOURCE,
    TEST_DOSE_MAX_UG,
    TEST_DOSE_MIN_UG,
)
from rules.intrathecal.steps import history_slip, regimen_ug
from rules.missing_data import AGE_SOURCE
from rules.sources import ADULT_SMPC, CONSUMER_GUIDE, Passage
from rules.unit_slips import (
    IT_EXPECTED_UG_DAY,
    IT_MG_WRITTEN_SUSPECT_FROM_UG,
    ORAL_EXPECTED_MG_DAY,
    ORAL_UG_WRITTEN_SUSPECT_BELOW_MG,
    UNIT_FACTOR,
    intrathecal_daily_bounds,
)
from rules.vocabulary import DailyDose, DoseRatio, ItbRegimen, OrderFact, SuspectDose

# The thresholds a dose is read as a unit slip by (rules/unit_slips.py, shared with the doses
# recorded beside the order).
# A screening test bolus (001: 25-100 ug) written in mg above 100 ug, or written in ug above
# twice the largest test dose: no step of the screening gets there, so a unit or decimal slip.
UNIT_SLIP_TEST_DOSE_FACTOR = 2

ROUTE_SOURCE = Passage(
    CONSUMER_GUIDE,
    "it is available as oral tablets (10 mg, 20 mg) or intrathecal injection.",
    note="001 (primary) gives posology for two routes only: oral (15-100 mg in 3 divided doses) "
    "and intrathecal (25-1,400 ug/day by pump or bolus). Intravenous, intramuscular, "
    "subcutaneous or epidural baclofen has no authorised dose; the intrathecal solution given "
    "epidurally or intravenously is a wrong-route error.",
)
IT_RANGE_SOURCE = Passage(
    ADULT_SMPC,
    "In patients with spasticity of spinal origin maintenance dosing for long-term continuous "
    "infusions of baclofen has been found to range from 12 to 2003 micrograms/day, with most "
    "patients being adequately maintained on 300 to 800 micrograms/day.",
    note="Intrathecal doses are micrograms (001: 25-1,400 ug; ampoules of 50 ug/ml, 500 ug/ml, "
    "2 mg/ml). A dose written in mg that comes to 2 mg/day or more, or any dose outside "
    "12-2003 ug/day that fits it after a 1000-fold correction, is flagged: on the order, and "
    "in the regimens recorded beside it (order.previous, the history), from which no step is "
    "then measured (a step from a slipped dose is off by a thousandfold). Policy: a test bolus "
    "recorded beside the order (order.intrathecal.screening_doses) larger than 2003 ug, more "
    "than any reported day's dose, or at most 2 ug, a thousandth of it, is flagged too, and "
    "no test-dose step, response or infusion start (twice the effective bolus, 001) is "
    "measured from it.",
)
ORAL_RANGE_SOURCE = Passage(
    ADULT_SMPC,
    "15-100 mg in 3 divided doses daily",
    note="Oral doses are milligrams (000: children from about 0.3 mg/kg/day). Expected range "
    "1-200 mg/day; outside it and inside after a 1000-fold correction, or written in ug and "
    "under 1 mg per dose, is flagged: on the order, and in the doses recorded beside it "
    "(order.previous, order.concurrent), from which no step or total is then computed (a "
    "taper target or total from a slipped dose is off by a thousandfold).",
)
UNIT_SLIP_SOURCE = Passage(
    ADULT_SMPC,
    "Signs of severe overdose (coma) have been observed in an adult after a single test dose "
    "of 25 micrograms.",
    note="Test doses run from 25 or 50 ug in +25 ug steps to at most 100 ug (no increments "
    "after a non-response at 100 ug). A test bolus written in ug above 200 ug, more than twice "
    "the largest test dose, is no step of that scheme: a unit or decimal slip (0.25 mg typed "
    "as 250 ug, 25 as 250) until proved otherwise, and an overdose if given as written. A "
    "bolus written in mg (or g) above 100 ug has its own rule beside this one. No corrected "
    "dose is offered: which dose was meant cannot be known from the order.",
)


def _any_route(routes: tuple[str, ...]) -> Any:
    cond = m.route == routes[0]
    for route in routes[1:]:
        cond = cond | (m.route == route)
    return cond


def test_bolus_ratio(dose: DailyDose, max_ug: int) -> Iterator[DoseRatio]:
    yield DoseRatio(times_max_test_dose=dose.ug / max_ug)


def history_suspect(order: OrderFact, h: ItbRegimen) -> Iterator[SuspectDose]:
    """An intrathecal history regimen that reads as a unit slip (rules/unit_slips.py)."""
    why = history_slip(h)
    if why is None:
        return
    ug = regimen_ug(h)
    when = f" from {h.time[:10]}" if h.time else ""
    yield SuspectDose(
        field="order.intrathecal.history",
        label=f"The intrathecal regimen recorded{when}",
        written=f"{h.dose_value:g} {h.dose_unit} a day",
        mg=round(ug / 1000, 6),
        ug=ug,
        route="intrathecal",
        reason=why,
        consequence="no step is measured from it (titration limits, pump red flags, reductions)",
    )


def _slipped_written_in(unit: str) -> Any:
    """A condition for the regimens written in `unit` that `slip` may call unit slips: at
    least those (a bound under 0.0001 reaches durable-rules in exponent form, which it
    refuses, so grams are picked from 0.0001 g; `history_suspect` decides)."""
    at_most, at_least = intrathecal_daily_bounds(unit)
    at_most = max(at_most, 0.0001)
    return (m.dose_unit == unit) & ((m.dose_value <= at_most) | (m.dose_value >= at_least))


# The history regimens `slip` calls unit slips, picked out by their condition: the others
# fire nothing (a derivation per regimen was a tenth of an intrathecal check).
_slipped_history = (m.kind == "itb_history") & (
    _slipped_written_in("ug") | _slipped_written_in("mg") | _slipped_written_in("g")
)
_not_permitted = (m.kind == "order") & _any_route(NOT_PERMITTED_ROUTES) & (m.action != "stop")
_it_order = (m.kind == "order") & (m.route == "intrathecal")
_oral_order = (m.kind == "order") & (m.route == "oral")
_it_dose = (m.kind == "daily_dose") & (m.route == "intrathecal")
_oral_dose = (m.kind == "daily_dose") & (m.route == "oral")
_test_bolus = _it_order & (m.it_phase == "screening") & (m.action != "stop")
# A unit slip is not a pump malfunction: the step an intrathecal order with a suspect unit
# makes is the slip itself, so the red flags read from that step (a +50 % step, a doubling,
# a rise without effect) are superseded. A withdrawal sign is not read from the step
# (intrathecal.withdrawal_sign) and still shows.
_NOT_A_PUMP_MALFUNCTION = (PUMP_STEP_RULE,)
# Which dose was meant is unknown: the check suggests no corrected regimen.
_NO_REGIMEN = ("suggested_regimen",)
_UNIT_SUGGESTION = (
    "Check the unit and the number against the intended regimen and the pump or "
    "product concentration; re-enter the dose in {unit}."
)
_RECORDED_SUGGESTION = (
    "Check that dose's unit and number against the record and correct it ({s.field}); until "
    "then, check this order against the regimen actually given by hand."
)
_EVIDENCE = (
    "written=dose.written",
    "daily_mg=dose.mg",
    "daily_ug=dose.ug",
    "dose.frequency_per_day",
)

RULES = [
    Derivation(
        id="route.remove_not_permitted",
        when=(c.order << _not_permitted,),
        derive=removal,
        params={"code": "ROUTE_NOT_PERMITTED"},
        doc="A route baclofen is not given by: remove the order.",
    ),
    Derivation(
        id="units.test_bolus_ratio",
        when=(c.order << _test_bolus, c.dose << (_it_dose & (m.ug > TEST_DOSE_MAX_UG))),
        derive=test_bolus_ratio,
        params={"max_ug": TEST_DOSE_MAX_UG},
        doc="A test bolus above 100 ug as a multiple of the largest test dose.",
    ),
    AlertRule(
        id="route.not_permitted",
        code="ROUTE_NOT_PERMITTED",
        severity=Severity.CRITICAL,
        when=(c.order << _not_permitted,),
        message="Baclofen ordered by the {order.route} route: it is given only orally or "
        "intrathecally (implanted pump or lumbar puncture).",
        suggestion="Cancel this order; prescribe oral baclofen, or intrathecal baclofen through "
        "the specialist pump service.",
        params={"permitted": ["oral", "intrathecal"]},
        evidence=("order.route", "permitted"),
        source=ROUTE_SOURCE,
        description="Route other than oral or intrathecal (intravenous, intramuscular, "
        "subcutaneous, epidural).",
    ),
    AlertRule(
        id="units.intrathecal_mg_written",
        code="DOSE_UNIT_SUSPECT",
        severity=Severity.CRITICAL,
        # Not a screening bolus: the test-bolus rule below says it better (one unit alert).
        when=(
            c.order
            << (
                _it_order
                & ((m.dose_unit == "mg") | (m.dose_unit == "g"))
                & (-m.it_phase | (m.it_phase != "screening"))
            ),
            c.dose << (_it_dose & (m.ug >= IT_MG_WRITTEN_SUSPECT_FROM_UG)),
        ),
        message="Intrathecal dose written as {dose.written} comes to {dose.ug:g} ug/day, at or "
        "beyond the top of any reported intrathecal dose: were micrograms meant?",
        suggestion=_UNIT_SUGGESTION,
        params={"unit": "micrograms (ug)"},
        evidence=_EVIDENCE,
        supersedes=("INTRATHECAL_DOSE_ABOVE_1000_UG",),
        supersedes_rules=_NOT_A_PUMP_MALFUNCTION,
        withholds=_NO_REGIMEN,
        source=IT_RANGE_SOURCE,
        description="Intrathecal dose written in mg that comes to 2 mg/day (2000 ug) or more.",
    ),
    AlertRule(
        id="units.intrathecal_test_bolus_mg_written",
        code="DOSE_UNIT_SUSPECT",
        severity=Severity.CRITICAL,
        when=(
            c.order << (_test_bolus & ((m.dose_unit == "mg") | (m.dose_unit == "g"))),
            c.dose << (_it_dose & (m.ug > TEST_DOSE_MAX_UG)),
            c.ratio << (m.kind == "dose_ratio"),
        ),
        message="Intrathecal test bolus written as {dose.written} is {dose.ug:g} ug, "
        "{ratio.times_max_test_dose:.3g} times the {max_ug} ug maximum test dose (usual first "
        "dose 25-50 ug): were micrograms meant?",
        suggestion=_UNIT_SUGGESTION,
        params={"unit": "micrograms (ug)", "max_ug": TEST_DOSE_MAX_UG},
        evidence=(*_EVIDENCE, "max_test_dose_ug=max_ug"),
        supersedes_rules=_NOT_A_PUMP_MALFUNCTION,
        withholds=_NO_REGIMEN,
        source=SCREENING_SOURCE,
        description="Screening test bolus written in mg (or g) that comes to more than 100 ug: "
        "a bolus that size is an overdose, and micrograms were likely meant.",
    ),
    AlertRule(
        id="units.intrathecal_test_bolus_ug_written",
        code="DOSE_UNIT_SUSPECT",
        severity=Severity.CRITICAL,
        # Written in ug only: a bolus written in mg (or g) is the rule above, and one order
        # must not get two unit alerts.
        when=(
            c.order << (_test_bolus & (m.dose_unit == "ug")),
            c.dose << (_it_dose & (m.ug > TEST_DOSE_MAX_UG * UNIT_SLIP_TEST_DOSE_FACTOR)),
            c.ratio << (m.kind == "dose_ratio"),
        ),
        message="Intrathecal test bolus of {dose.ug:g} ug ({dose.mg:g} mg) is "
        "{ratio.times_max_test_dose:.3g} times the {max_ug} ug ({max_mg:g} mg) maximum test "
        "dose (usual first dose {first_min}-{first_max} ug): a unit or decimal slip?",
        suggestion="Do not give this bolus as written: confirm the intended test dose and its "
        "unit with the prescriber and re-enter it in micrograms (ug).",
        params={
            "max_ug": TEST_DOSE_MAX_UG,
            "max_mg": TEST_DOSE_MAX_UG / UNIT_FACTOR,
            "first_min": TEST_DOSE_MIN_UG,
            "first_max": FIRST_TEST_DOSE_MAX_UG,
            "suspect_above_ug": TEST_DOSE_MAX_UG * UNIT_SLIP_TEST_DOSE_FACTOR,
        },
        evidence=(
            "written=dose.written",
            "bolus_ug=dose.ug",
            "bolus_mg=dose.mg",
            "max_test_dose_ug=max_ug",
            "suspect_above_ug",
        ),
        supersedes_rules=_NOT_A_PUMP_MALFUNCTION,
        withholds=_NO_REGIMEN,
        source=UNIT_SLIP_SOURCE,
        description="Screening test bolus written in ug above 200 ug, twice the 100 ug maximum "
        "test dose: a unit or decimal slip.",
    ),
    AlertRule(
        id="units.intrathecal_1000_fold_low",
        code="DOSE_UNIT_SUSPECT",
        severity=Severity.CRITICAL,
        when=(
            c.order << _it_order,
            c.dose
            << (
                _it_dose
                & (m.ug < IT_EXPECTED_UG_DAY[0])
                & (m.ug <= IT_EXPECTED_UG_DAY[1] / UNIT_FACTOR)
            ),
        ),
        message="Intrathecal dose written as {dose.written} is {dose.ug:g} ug/day, below the "
        "usual {low:g}-{high:g} ug/day and at most a thousandth of its top: were milligrams "
        "meant?",
        suggestion=_UNIT_SUGGESTION,
        params={
            "unit": "micrograms (ug)",
            "low": IT_EXPECTED_UG_DAY[0],
            "high": IT_EXPECTED_UG_DAY[1],
        },
        evidence=_EVIDENCE,
        supersedes_rules=_NOT_A_PUMP_MALFUNCTION,
        withholds=_NO_REGIMEN,
        source=IT_RANGE_SOURCE,
        description="Intrathecal dose 1000-fold below the expected 12-2003 ug/day.",
    ),
    AlertRule(
        id="units.intrathecal_1000_fold_high",
        code="DOSE_UNIT_SUSPECT",
        severity=Severity.CRITICAL,
        when=(
            c.order << (_it_order & (m.dose_unit == "ug")),
            c.dose
            << (
                _it_dose
                & (m.ug > IT_EXPECTED_UG_DAY[1])
                & (m.ug >= IT_EXPECTED_UG_DAY[0] * UNIT_FACTOR)
            ),
        ),
        message="Intrathecal dose written as {dose.written} is {dose.ug:g} ug/day, above the "
        "usual {low:g}-{high:g} ug/day and at least 1000 times its bottom: was a unit "
        "converted twice?",
        suggestion=_UNIT_SUGGESTION,
        params={
            "unit": "micrograms (ug)",
            "low": IT_EXPECTED_UG_DAY[0],
            "high": IT_EXPECTED_UG_DAY[1],
        },
        evidence=_EVIDENCE,
        supersedes=("INTRATHECAL_DOSE_ABOVE_1000_UG",),
        supersedes_rules=_NOT_A_PUMP_MALFUNCTION,
        withholds=_NO_REGIMEN,
        source=IT_RANGE_SOURCE,
        description="Intrathecal dose 1000-fold above the expected 12-2003 ug/day.",
    ),
    AlertRule(
        id="units.oral_ug_written",
        code="DOSE_UNIT_SUSPECT",
        severity=Severity.CRITICAL,
        when=(
            c.order << (_oral_order & (m.dose_unit == "ug")),
            c.dose << (_oral_dose & (m.dose_mg < ORAL_UG_WRITTEN_SUSPECT_BELOW_MG)),
        ),
        message="Oral dose written as {dose.written} is {dose.dose_mg:g} mg per dose: oral "
        "baclofen is dosed in milligrams; were mg meant?",
        suggestion=_UNIT_SUGGESTION,
        params={"unit": "milligrams (mg)"},
        evidence=_EVIDENCE,
        withholds=_NO_REGIMEN,
        source=ORAL_RANGE_SOURCE,
        description="Oral dose written in ug that comes to under 1 mg per dose.",
    ),
    AlertRule(
        id="units.oral_1000_fold_high",
        code="DOSE_UNIT_SUSPECT",
        severity=Severity.CRITICAL,
        when=(
            c.order << _oral_order,
            c.dose
            << (
                _oral_dose
                & (m.mg > ORAL_EXPECTED_MG_DAY[1])
                & (m.mg >= ORAL_EXPECTED_MG_DAY[0] * UNIT_FACTOR)
            ),
        ),
        message="Oral dose written as {dose.written} comes to {dose.mg:g} mg/day, above the "
        "usual {low:g}-{high:g} mg/day and at least 1000 times its bottom: was the unit "
        "mixed up?",
        suggestion=_UNIT_SUGGESTION,
        params={
            "unit": "milligrams (mg)",
            "low": ORAL_EXPECTED_MG_DAY[0],
            "high": ORAL_EXPECTED_MG_DAY[1],
        },
        evidence=_EVIDENCE,
        withholds=_NO_REGIMEN,
        source=ORAL_RANGE_SOURCE,
        description="Oral daily dose 1000-fold above the expected 1-200 mg/day.",
    ),
    AlertRule(
        id="units.oral_1000_fold_low",
        code="DOSE_UNIT_SUSPECT",
        severity=Severity.CRITICAL,
        when=(
            c.order << (_oral_order & (m.dose_unit != "ug")),
            c.dose
            << (
                _oral_dose
                & (m.mg < ORAL_EXPECTED_MG_DAY[0])
                & (m.mg <= ORAL_EXPECTED_MG_DAY[1] / UNIT_FACTOR)
            ),
        ),
        message="Oral dose written as {dose.written} comes to {dose.mg:g} mg/day, below the "
        "usual {low:g}-{high:g} mg/day and at most a thousandth of its top: were micrograms "
        "meant as mg?",
        suggestion=_UNIT_SUGGESTION,
        params={
            "unit": "milligrams (mg)",
            "low": ORAL_EXPECTED_MG_DAY[0],
            "high": ORAL_EXPECTED_MG_DAY[1],
        },
        evidence=_EVIDENCE,
        withholds=_NO_REGIMEN,
        source=ORAL_RANGE_SOURCE,
        description="Oral daily dose 1000-fold below the expected 1-200 mg/day (written in mg "
        "or g).",
    ),
    Derivation(
        id="units.history_suspect",
        when=(c.order << _it_order, c.h << _slipped_history),
        derive=history_suspect,
        doc="Each intrathecal history regimen whose dose reads as a unit slip.",
    ),
    AlertRule(
        id="units.recorded_dose_suspect_oral",
        code="DOSE_UNIT_SUSPECT",
        severity=Severity.CRITICAL,
        when=(c.s << ((m.kind == "suspect_dose") & (m.route == "oral")),),
        message="{s.label} is written as {s.written}, {s.mg:g} mg/day: {s.reason} As "
        "written, {s.consequence}.",
        suggestion=_RECORDED_SUGGESTION,
        evidence=("s.field", "written=s.written", "daily_mg=s.mg"),
        source=ORAL_RANGE_SOURCE,
        description="An oral dose recorded beside the order (the regimen it replaces, another "
        "order by mouth) that reads as a unit slip: nothing is measured from it.",
    ),
    AlertRule(
        id="units.recorded_dose_suspect_intrathecal",
        code="DOSE_UNIT_SUSPECT",
        severity=Severity.CRITICAL,
        when=(c.s << ((m.kind == "suspect_dose") & (m.route == "intrathecal")),),
        message="{s.label} is written as {s.written}, {s.ug:g} ug{if s.bolus}{else}/day{end}: "
        "{s.reason} As written, {s.consequence}.",
        suggestion=_RECORDED_SUGGESTION,
        evidence=("s.field", "written=s.written", "daily_ug=s.ug"),
        source=IT_RANGE_SOURCE,
        description="An intrathecal dose recorded beside the order (the regimen it replaces, "
        "a history regimen, a test bolus) that reads as a unit slip: nothing is measured from "
        "it.",
    ),
    AlertRule(
        id="missing.route",
        code="MISSING_DATA",
        severity=Severity.WARNING,
        when=(c.order << ((m.kind == "order") & -m.route),),
        message="No route on the order: the route-specific checks (oral maxima, tablet limit, "
        "intrathecal titration) could not run.",
        suggestion="State the route (oral or intrathecal).",
        params={"missing": ["order.route"]},
        evidence=("missing",),
        source=AGE_SOURCE,
        description="No route: route-specific checks could not run.",
    ),
]
