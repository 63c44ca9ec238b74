"""Several baclofen orders by mouth at once: one daily dose, and duplicate orders (000, 001).

000: "The total daily dose should not exceed a maximum of 40 mg/day in children below 8 years of
age." 001: "... a maximum daily dose of not more than 100mg ...": the limits are on what the
patient takes in a day, whatever the number of orders it is written in.

When an oral order has other baclofen orders beside it (order.concurrent: active orders it does
not replace, other drafts signed with it), Then those of the same route add up with it to one
daily dose (for example three times a day plus a bedtime dose), which every daily-dose check
reads (maxima, mg/kg/day, starting dose, renal, elderly, unit plausibility); the regimen before
the order is the one it replaces plus the active orders beside it, so that an added order is a
step up of the regimen (titration), never a cut, and stopping one of several orders is a cut of
the total, not a stop; a child's division counts the doses of every order.
When another order of the route has no readable dose or frequency, Then the orders that are
known are added (a limit they already exceed is exceeded), no corrected regimen is offered, and
MISSING_DATA says the total could not be known; so when its route is unknown.
When an order and another order of the same route are in effect with nothing linking them (not
the same prescription, neither replacing the other), Then DUPLICATE_BACLOFEN_ORDER (warning),
beside the checks of their total; when the draft repeats an active order dose for dose, removing
the draft is the suggestion.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from engine import AlertRule, Derivation, Severity, c, given, m
from rules.case import PER_KG, Order
from rules.derive import UNIT_TO_MG, one_dose_mg, order_daily_dose, previous_slip, step
from rules.readings import Reading
from rules.sources import PAED_SMPC, Passage
from rules.unit_slips import slip
from rules.vocabulary import (
    ConcurrentDailyDose,
    ConcurrentOrderFact,
    DailyDose,
    DoseStep,
    OrderFact,
    OrderRemoval,
    PatientFact,
    RegimenTotal,
    SuspectDose,
)

TOTAL_SOURCE = Passage(
    PAED_SMPC,
    "The total daily dose should not exceed a maximum of 40 mg/day in children below 8 years of "
    "age.",
    note="The maxima of 000 and 001 limit the total a patient takes in a day: every order by the "
    "same route counts toward it (oral mg and intrathecal ug are not added).",
)
DUPLICATE_SOURCE = Passage(
    PAED_SMPC,
    TOTAL_SOURCE.excerpt,
    note="Policy: no seed document speaks of duplicate orders. Two orders of baclofen by the same "
    "route that nothing links (not one prescription, neither replacing the other) are the "
    "classic duplication error that doubles a dose unnoticed; the warning asks whether one "
    "should replace the other. A split regimen written as one prescription (linked) is not "
    "a duplicate; its total is still checked.",
)


ADDED = Reading(
    id="oral.start_beside_active",
    when="An order by mouth with action start has an active order of the same route beside it "
    "(order.concurrent, status active)",
    then="It is read as an added order (action add): the patient already takes baclofen, so it "
    "is no new course. Its total is checked against the maxima and its step by the titration "
    "rules; the advice for a new course (the starting dose, the renal and elderly starts, "
    "removing a contraindicated new course) does not apply, and the contraindications say not "
    "to stop abruptly.",
    source=TOTAL_SOURCE,
    where="rules.oral.concurrent.action_of",
)


def action_of(order: Order) -> str:
    """The order's action as the rules read it (the reading ADDED). A start beside an active
    order by mouth was advised as a new course: 20 mg three times a day beside the same order
    held since June read "Starting dose 120 mg/day ... Start with 5 mg three times daily", a
    cut of the established 60 mg/day."""
    if (
        order.action == "start"
        and order.route == "oral"
        and any(o.status == "active" and o.route == order.route for o in order.concurrent)
    ):
        return "add"
    return order.action


def _written(other: ConcurrentOrderFact) -> str | None:
    if other.dose_value is None or other.dose_unit is None:
        return None
    times = f" {other.frequency_per_day} times a day" if other.frequency_per_day else ""
    return f"{other.dose_value:g} {other.dose_unit}{times}"


def concurrent_dose(
    other: ConcurrentOrderFact, order: OrderFact, patient: PatientFact
) -> Iterator[ConcurrentDailyDose | SuspectDose]:
    """What another order adds: its mg a day (mg/kg times the weight), when its route is this
    order's and its dose, frequency (and weight, for mg/kg) are known. A dose that reads as a
    unit slip (rules/unit_slips.py) adds nothing known: the total is unknown, and the slip is
    said."""
    same = other.route is not None and other.route == order.route
    mg = None
    dose_mg = None
    if other.dose_value is not None and other.dose_unit is not None and other.frequency_per_day:
        if other.dose_unit == PER_KG:
            if patient.weight_kg is not None:
                dose_mg = other.dose_value * patient.weight_kg
        else:
            dose_mg = other.dose_value * UNIT_TO_MG[other.dose_unit]
        if dose_mg is not None:
            mg = dose_mg * other.frequency_per_day
    why = (
        slip(other.route, given(other.dose_unit), given(dose_mg), mg, recorded=True)
        if same and mg is not None
        else None
    )
    if why is not None and mg is not None:
        yield SuspectDose(
            field=f"order.concurrent[{other.seq}]",
            label=f"Another baclofen order by mouth ({other.status})",
            written=_written(other) or "",
            mg=round(mg, 6),
            ug=round(mg * 1000, 3),
            route=given(other.route),
            reason=why,
            consequence="it is not added to this order's daily dose, so the checks of the "
            "total (maxima, mg/kg/day, titration, taper) read only the orders that are "
            "known, and no corrected dose is offered",
        )
        mg = None
    yield ConcurrentDailyDose(
        seq=other.seq,
        same_route=same,
        known=mg is not None,
        mg=round(mg, 6) if mg is not None else None,
        frequency_per_day=other.frequency_per_day,
        status=other.status,
        relation=other.relation,
        since=other.since,
        written=_written(other),
        suspect=why,
    )


def _before(order: OrderFact, patient: PatientFact) -> tuple[float, int, bool, str | None]:
    """The regimen this order replaces (order.previous): mg a day, orders, known, since.
    Without order.previous a start or an added order replaces none, and a continue is taken
    as a new order beside the current ones; a change or a stop replaces a regimen that is not
    given, so no step is measured from it (missing.previous_regimen and
    missing.stopped_regimen say so)."""
    if not order.has_previous:
        return 0.0, 0, order.action not in ("change", "stop"), None
    value, unit, freq = order.prev_dose_value, order.prev_dose_unit, order.prev_frequency_per_day
    per_kg = unit == PER_KG
    if value is None or unit is None or freq is None or (per_kg and patient.weight_kg is None):
        return 0.0, 1, False, order.prev_since
    if previous_slip(order, patient):  # a unit slip: no step is measured from it
        return 0.0, 1, False, order.prev_since
    mg = value * (given(patient.weight_kg) if per_kg else UNIT_TO_MG[unit]) * freq
    return round(mg, 6), 1, True, order.prev_since


def total_from_order(order: OrderFact, patient: PatientFact, dose_mg: float) -> RegimenTotal:
    before_mg, before_orders, before_known, since = _before(order, patient)
    freq = given(order.frequency_per_day)
    return RegimenTotal(
        upto=0,
        mg=round(dose_mg * freq, 6),
        orders=1,
        doses_per_day=freq,
        concurrent_mg=0.0,
        concurrent_unknown=0,
        before_mg=before_mg,
        before_orders=before_orders,
        before_known=before_known,
        since=since,
    )


def total_start(order: OrderFact, patient: PatientFact) -> Iterator[RegimenTotal]:
    """This order's own daily dose (per kg: times the weight), the first term of the sum."""
    yield total_from_order(order, patient, one_dose_mg(order, patient))


def total_start_stop(order: OrderFact, patient: PatientFact) -> Iterator[RegimenTotal]:
    """A stop gives nothing more: the sum starts from nothing, the regimen before from the
    order it stops."""
    before_mg, before_orders, before_known, since = _before(order, patient)
    yield RegimenTotal(
        upto=0,
        mg=0.0,
        orders=0,
        doses_per_day=0,
        concurrent_mg=0.0,
        concurrent_unknown=0,
        before_mg=before_mg,
        before_orders=before_orders,
        before_known=before_known,
        since=since,
    )


def _later(a: str | None, b: str | None) -> str | None:
    return max(a, b) if a is not None and b is not None else a or b


def total_next(total: RegimenTotal, other: ConcurrentDailyDose) -> Iterator[RegimenTotal]:
    """The sum with one more order: its mg a day when it is of the same route (an active one
    counts in the regimen before the order too); an order of the route whose dose is unknown
    leaves the sum a lower bound."""
    added = other.same_route and other.known
    unknown = other.same_route and not other.known
    mg = (other.mg or 0.0) if added else 0.0
    active = other.same_route and other.status == "active"
    yield RegimenTotal(
        upto=total.upto + 1,
        mg=round(total.mg + mg, 6),
        orders=total.orders + (1 if added else 0),
        doses_per_day=total.doses_per_day + ((other.frequency_per_day or 0) if added else 0),
        concurrent_mg=round(total.concurrent_mg + mg, 6),
        concurrent_unknown=total.concurrent_unknown + (1 if unknown else 0),
        before_mg=round(total.before_mg + (mg if active else 0.0), 6),
        before_orders=total.before_orders + (1 if active else 0),
        before_known=total.before_known and not (active and unknown),
        since=_later(total.since, other.since) if active else total.since,
    )


def total_daily_dose(
    order: OrderFact, total: RegimenTotal, patient: PatientFact
) -> Iterator[DailyDose]:
    """The daily dose by the order's route: this order's and the other orders' of the route."""
    own = order_daily_dose(order, patient, total.mg)
    yield own.model_copy(
        update={
            "orders": total.orders + total.concurrent_unknown,
            "order_mg": round(own.dose_mg * own.frequency_per_day, 6),
            "concurrent_mg": total.concurrent_mg,
            "concurrent_unknown": total.concurrent_unknown or None,
            "doses_per_day": total.doses_per_day,
        }
    )


def total_step(order: OrderFact, total: RegimenTotal) -> Iterator[DoseStep]:
    """The step of the regimen, from what the patient took in a day before this order to what
    they take with it; none when a dose on either side is unknown."""
    if not total.before_known or total.before_orders == 0 or total.concurrent_unknown:
        return
    if total.orders == 0:
        return  # a stop that leaves no other order of the route: a stop, not a cut
    if total.mg != total.before_mg:
        yield step(order, total.before_mg, total.mg, total.since)


def exact_duplicate(code: str) -> Iterator[OrderRemoval]:
    yield OrderRemoval(code=code)


def duplicate_message(order: Sequence[OrderFact], other: Sequence[ConcurrentDailyDose]) -> str:
    described = []
    for o in other:
        status = (
            "an active order" + (f" since {o.since}" if o.since else "")
            if o.status == "active"
            else "another draft order"
        )
        described.append(f"{status} ({o.written or 'dose unknown'})")
    route = order[0].route or "the same route"
    many = len(other) > 1
    return (
        f"This order and {'; '.join(described)} of baclofen by the {route} route are in effect "
        f"together, and nothing links {'them' if many else 'the two'} (not one prescription, "
        "neither replacing the other): the daily doses add up."
    )


def duplicate_evidence(
    order: Sequence[OrderFact], other: Sequence[ConcurrentDailyDose]
) -> dict[str, object]:
    return {
        "other_orders": [
            {
                "status": o.status,
                "dose": o.written,
                "mg_per_day": o.mg,
                "since": o.since,
            }
            for o in other
        ]
    }


_order = m.kind == "order"
_oral_beside_others = _order & (m.route == "oral") & +m.n_concurrent
_not_stop = _oral_beside_others & (m.action != "stop")
_with_dose = _not_stop & +m.dose_value & +m.dose_unit & +m.frequency_per_day
_last = (m.kind == "regimen_total") & (m.upto == c.order.n_concurrent)
_other_of_route = (m.kind == "concurrent_daily_dose") & (m.same_route == True)

RULES = [
    Derivation(
        id="concurrent.daily_dose_of_other_order",
        when=(
            c.other << (m.kind == "concurrent_order"),
            c.order << _oral_beside_others,
            c.patient << (m.kind == "patient"),
        ),
        derive=concurrent_dose,
        doc="Each other order: whether it is of this order's route, and its mg a day when its "
        "dose and frequency (and, per kg, the weight) are known.",
    ),
    Derivation(
        id="concurrent.total_start",
        when=(
            c.order << (_with_dose & (m.dose_unit != PER_KG)),
            c.patient << (m.kind == "patient"),
        ),
        derive=total_start,
        doc="The sum starts from this order's daily dose.",
    ),
    Derivation(
        id="concurrent.total_start_per_kg",
        when=(
            c.order << (_with_dose & (m.dose_unit == PER_KG)),
            c.patient << ((m.kind == "patient") & +m.weight_kg),
        ),
        derive=total_start,
        doc="The sum starts from this order's daily dose, written per kg: times the weight.",
    ),
    Derivation(
        id="concurrent.total_start_stop",
        when=(
            c.order << (_oral_beside_others & (m.action == "stop")),
            c.patient << (m.kind == "patient"),
        ),
        derive=total_start_stop,
        doc="A stop adds nothing: the sum starts from zero, the regimen before from the order "
        "it stops.",
    ),
    Derivation(
        id="concurrent.total_next",
        when=(
            c.total << (m.kind == "regimen_total"),
            c.other << ((m.kind == "concurrent_daily_dose") & (m.seq == c.total.upto)),
        ),
        derive=total_next,
        doc="One more order into the sum: of the same route, its mg a day (an active one in "
        "the regimen before too); of another route, nothing.",
    ),
    Derivation(
        id="concurrent.daily_dose",
        when=(
            c.order << _with_dose,
            c.total << _last,
            c.patient << (m.kind == "patient"),
        ),
        derive=total_daily_dose,
        doc="Every order summed: the daily dose by this route, which the daily-dose checks read.",
    ),
    Derivation(
        id="concurrent.dose_step",
        when=(
            c.order
            << (
                _oral_beside_others
                & (
                    (m.action == "change")
                    | (m.action == "continue")
                    | (m.action == "add")
                    | (m.action == "stop")
                )
            ),
            c.total << _last,
        ),
        derive=total_step,
        doc="A change, an added order or a stop beside other orders: the step from the daily "
        "dose before (the order replaced and the active orders) to the total after.",
    ),
    Derivation(
        id="concurrent.remove_exact_duplicate",
        when=(
            c.order << (_not_stop & (m.action == "add")),
            c.dose << ((m.kind == "daily_dose") & +m.order_mg),
            c.other
            << (
                _other_of_route
                & (m.relation == "unlinked")
                & (m.status == "active")
                & (m.mg == c.dose.order_mg)
                & (m.frequency_per_day == c.dose.frequency_per_day)
            ),
        ),
        derive=exact_duplicate,
        params={"code": "DUPLICATE_BACLOFEN_ORDER"},
        doc="A draft that repeats an active order dose for dose, unlinked: remove the draft "
        "(the active order goes on).",
    ),
    AlertRule(
        id="concurrent.duplicate_order",
        code="DUPLICATE_BACLOFEN_ORDER",
        severity=Severity.WARNING,
        when=(
            c.order << _not_stop,
            c.other << (_other_of_route & (m.relation == "unlinked")),
        ),
        message=duplicate_message,
        suggestion="If this order replaces the other, discontinue that one (or link this order "
        "to it as its prior prescription); if both are meant, write them as one prescription. "
        "The daily-dose checks read their total.",
        evidence=duplicate_evidence,
        aggregate=True,
        source=DUPLICATE_SOURCE,
        description="Another baclofen order of the same route in effect, with nothing linking "
        "it to this one.",
    ),
    AlertRule(
        id="missing.concurrent_dose",
        code="MISSING_DATA",
        severity=Severity.WARNING,
        when=(
            c.order << _oral_beside_others,
            c.other << (_other_of_route & (m.known == False) & -m.suspect),
        ),
        message="Another baclofen order by mouth ({other.status}) has no dose, frequency (or, "
        "per kg, weight) that could be read: the total daily dose is unknown, so the checks "
        "of the total (maxima, mg/kg/day, titration, taper) read only the orders that are "
        "known (a limit they exceed is exceeded) and no corrected dose is offered.",
        suggestion="Check the other baclofen orders by mouth and the total daily dose by hand.",
        params={"missing": ["order.concurrent.dose"]},
        evidence=("missing",),
        source=TOTAL_SOURCE,
        description="Another order of the route whose daily dose is unknown: the total is not "
        "known.",
    ),
    AlertRule(
        id="missing.concurrent_route",
        code="MISSING_DATA",
        severity=Severity.WARNING,
        when=(
            c.order << _oral_beside_others,
            c.other << ((m.kind == "concurrent_order") & -m.route),
        ),
        message="Another baclofen order ({other.status}) has no route: whether it adds to "
        "this order's daily dose could not be checked.",
        suggestion="State the route of every baclofen order.",
        params={"missing": ["order.concurrent.route"]},
        evidence=("missing",),
        source=TOTAL_SOURCE,
        description="Another order whose route is unknown: the total may be higher.",
    ),
    AlertRule(
        id="missing.added_order_since",
        code="MISSING_DATA",
        severity=Severity.WARNING,
        when=(
            c.order << (_not_stop & (m.action == "add")),
            c.step << ((m.kind == "dose_step") & -m.since),
        ),
        message="Order added to the current ones without the date of their last change: the "
        "titration interval could not be checked.",
        suggestion="Give order.concurrent[].since of the active orders.",
        params={"missing": ["order.concurrent.since"]},
        evidence=("missing",),
        source=TOTAL_SOURCE,
        description="Added order without the date of the current orders' last change.",
    ),
    AlertRule(
        id="missing.continued_order_since",
        code="MISSING_DATA",
        severity=Severity.WARNING,
        when=(
            c.order << (_oral_beside_others & (m.action == "continue")),
            c.step << ((m.kind == "dose_step") & (m.increase_mg > 0) & -m.since),
        ),
        message="Order continued beside the current ones raises the daily dose from "
        "{step.from_mg:g} to {step.to_mg:g} mg/day, without the date of their last change: "
        "the titration interval could not be checked.",
        suggestion="Give order.concurrent[].since of the active orders (or, if this order "
        "continues one of them, that order as order.previous).",
        params={"missing": ["order.concurrent.since"]},
        evidence=("missing", "step.from_mg", "step.to_mg"),
        source=TOTAL_SOURCE,
        description="Continued order that raises the total, without the date of the current "
        "orders' last change.",
    ),
]
