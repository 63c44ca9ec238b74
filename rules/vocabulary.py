"""The fact vocabulary: every kind of fact the baclofen rules read or derive, with its fields.

The start-up lint resolves every field a rule condition, template or declared evidence names
against these declarations (a misspelt field refuses to start), and rule functions read their
facts typed as these kinds, so mypy checks what they read. A field that may be absent is
`X | None = None`: rules test its absence with `-m.field`. Field order is the order evidence
shows them in (cards print "Checked values" in that order).

Units are in the field names (`mg`, `ug`, `_kg`, `_ml_min`, `_hours`, `_pct`). Times are ISO
date-times in UTC, dates ISO dates.
"""

from __future__ import annotations

from typing import Literal

from engine import Fact, Vocabulary

# -- input: the case as facts (rules/facts.py) -----------------------------------------------


class PatientFact(Fact, kind="patient"):
    birth_date: str | None = None
    age_years: float | None = None
    weight_kg: float | None = None
    crcl_ml_min: float | None = None
    egfr_ml_min: float | None = None
    on_dialysis: bool | None = None
    pregnant: bool | None = None
    hospital_supervised: bool | None = None
    alcohol_use: bool | None = None


class OrderFact(Fact, kind="order"):
    """The order, with its previous regimen and its intrathecal details flattened in."""

    date: str
    time: str | None = None
    action: str
    route: str | None = None
    form: str | None = None
    dose_value: float | None = None
    dose_unit: str | None = None
    frequency_per_day: int | None = None
    strength_mg: float | None = None  # mg per `strength_per` of the product, when known
    strength_per: Literal["tablet", "mL"] | None = None
    taper: bool | None = None
    n_concurrent: int | None = None  # order.concurrent: how many other orders (absent: none)
    prev_dose_value: float | None = None
    prev_dose_unit: str | None = None
    prev_frequency_per_day: int | None = None
    prev_since: str | None = None
    has_previous: bool | None = None
    has_intrathecal: bool | None = None
    it_phase: str | None = None
    it_phase_basis: str | None = None  # "order", or how the record showed it (phase.py)
    it_origin: str | None = None
    it_pump: str | None = None
    it_pump_basis: str | None = None  # "order", or the device that names it (pump.py)
    it_infusion_started: str | None = None
    it_n_history: int | None = None
    it_n_screening: int | None = None


class ConcurrentOrderFact(Fact, kind="concurrent_order"):
    """Another baclofen order in effect beside this one (order.concurrent), raw."""

    seq: int
    dose_value: float | None = None
    dose_unit: str | None = None
    frequency_per_day: int | None = None
    route: str | None = None
    status: Literal["active", "draft"]
    relation: Literal["linked", "unlinked"]
    since: str | None = None


class ItbRegimen(Fact, kind="itb_history"):
    """One regimen of the infusion (order.intrathecal.history, same-dose entries folded:
    rules/intrathecal/regimens.py)."""

    seq: int
    time: str
    dose_value: float
    dose_unit: str
    effect: str | None = None
    first: bool
    last: bool


class ItbTestDose(Fact, kind="itb_test_dose"):
    seq: int
    time: str
    dose_value: float
    dose_unit: str
    response: str | None = None
    effect_hours: float | None = None
    last: bool


class ItbWithdrawalSign(Fact, kind="itb_withdrawal_sign"):
    sign: str
    time: str | None = None  # when the record observed it; absent: given as current


class ItbScores(Fact, kind="itb_scores"):
    """Every spasticity score of the case, oldest first, as parallel lists (one fact, so that
    a rule can look for the latest before and after a regimen change)."""

    times: list[str]
    instruments: list[str]
    sites: list[str]  # "" when the record names no site
    values: list[float]


class ConditionEntry(Fact, kind="condition"):
    system: str | None = None
    code: str | None = None
    display: str | None = None
    clinical_status: str | None = None
    verification_status: str | None = None


class MedicationEntry(Fact, kind="medication"):
    system: str | None = None
    code: str | None = None
    display: str | None = None


# -- derived: shared (rules/derive.py) -------------------------------------------------------


class Age(Fact, kind="age"):
    years: int
    exact_years: float
    basis: str


class AgeBand(Fact, kind="age_band"):
    band: Literal["under_8", "8_to_17", "adult"]
    paediatric: bool
    years: int


class DailyDose(Fact, kind="daily_dose"):
    """The daily dose the patient gets by the order's route: this order's, plus the other
    orders of the same route when there are (rules/oral/concurrent.py). `dose_mg` and
    `frequency_per_day` are this order's."""

    mg: float
    ug: float
    dose_mg: float  # one dose of this order
    frequency_per_day: int
    unit_written: str
    route: str | None = None
    written: str  # the dose as the order wrote it ("20 g", "0.5 mg/kg")
    per_kg_mg: float | None = None  # a dose written per kg: mg per kg, and the weight used
    weight_kg: float | None = None
    orders: int | None = None  # with other orders of the same route: how many are summed
    order_mg: float | None = None  # this order's daily dose, when others are added to it
    concurrent_mg: float | None = None  # the other orders' daily dose (those that are known)
    concurrent_unknown: int | None = None  # other orders of the route whose dose is unknown
    doses_per_day: int | None = None  # administrations a day across the orders


class PreviousDailyDose(Fact, kind="previous_daily_dose"):
    mg: float
    ug: float
    route: str | None = None


class DoseStep(Fact, kind="dose_step"):
    """The step from the previous regimen to the ordered one (oral and any route)."""

    from_mg: float
    to_mg: float
    increase_mg: float
    reduction_fraction: float
    route: str | None = None
    since: str | None = None
    days_since_change: int | None = None


class ConcurrentDailyDose(Fact, kind="concurrent_daily_dose"):
    """What another order (order.concurrent) adds to this one's daily dose
    (rules/oral/concurrent.py): nothing when its route differs; its mg a day when known."""

    seq: int
    same_route: bool
    known: bool  # its daily dose could be read
    mg: float | None = None
    frequency_per_day: int | None = None
    status: Literal["active", "draft"]
    relation: Literal["linked", "unlinked"]
    since: str | None = None
    written: str | None = None  # its dose as written ("20 mg 3 times a day")
    suspect: str | None = None  # why its dose reads as a unit slip (then not known)


class RegimenTotal(Fact, kind="regimen_total"):
    """The running sum over this order and the other orders of its route, up to the other
    order `upto` (rules/oral/concurrent.py): the daily dose after this order (`mg`) and
    before it (`before_mg`: the regimen it replaces and the active orders beside it)."""

    upto: int
    mg: float
    orders: int  # orders summed into `mg` (this one, unless it is a stop)
    doses_per_day: int
    concurrent_mg: float
    concurrent_unknown: int
    before_mg: float
    before_orders: int
    before_known: bool
    since: str | None = None  # the last change of the regimen before this order


class WeightBasedDose(Fact, kind="weight_based_dose"):
    mg_per_kg_day: float
    mg: float
    weight_kg: float
    route: str | None = None


class RenalFunction(Fact, kind="renal_function"):
    ml_min: float
    measure: str
    unit: str  # of ml_min as measured: mL/min (CrCl) or mL/min/1.73 m² (eGFR)


class Finding(Fact, kind="finding"):
    """Something the record says about the patient: a condition, a co-medication, a flag, or
    an entry that could not be screened."""

    finding: str
    entry_kind: str | None = None
    reason: str | None = None
    drug_class: str | None = None
    basis: str | None = None
    label: str
    problem: str | None = None
    screened_by_text: bool | None = None


# -- derived: oral dosing (rules/oral/) ------------------------------------------------------


class DailyCeiling(Fact, kind="daily_ceiling"):
    """The most a patient's oral daily dose may be: the age maximum (000, 001) and, for a
    child of known weight, 2 mg/kg/day when that is lower (rules/oral/caps.py)."""

    mg_day: int | float
    age_max_mg_day: int
    weight_lower: bool  # 2 mg/kg/day is below the age maximum
    age_lower: bool  # the age maximum is below 2 mg/kg/day
    mg_per_kg_day: float | None = None
    weight_kg: float | None = None
    weight_mg_day: float | None = None  # 2 mg/kg/day as mg/day


class ChildStart(Fact, kind="child_start"):
    """A child's recommended start: about 0.3 mg/kg/day, never above the adult 15 mg/day
    (rules/oral/starting_dose.py)."""

    mg_day: int | float
    by_weight_mg_day: float
    weight_kg: float
    limited_by_adult_start: bool


class TitrationNext(Fact, kind="titration_next"):
    """What the next oral step may be (rules/oral/titration.py)."""

    too_large: bool
    too_soon: bool
    max_to_mg: float | None = None
    due: str | None = None


class OralAvoided(Fact, kind="oral_avoided"):
    """Oral baclofen is to be avoided (CrCl/eGFR 15 to < 30 mL/min, or CKD stage 4 with no
    value: rules/renal.py) or contraindicated (terminal renal failure:
    rules/contraindications.py): the oral dose advice beside it names no oral target."""

    reason: str  # what puts the patient there, as the advice quotes it
    contraindicated: bool


class CutFloor(Fact, kind="cut_floor"):
    """The least an oral daily dose may be cut to in one step (rules/oral/discontinuation.py)."""

    min_mg_day: float


class RegimenLimit(Fact, kind="regimen_limit"):
    """A limit an alert set on the ordered oral regimen, for the one suggested regimen of the
    check (rules/oral/regimen.py): a daily ceiling, a limit that gives no number (then no
    regimen is suggested), or the oral solution instead of tablets."""

    code: str
    limit: Literal["daily_ceiling", "no_number", "oral_solution"]
    max_mg_day: int | float | None = None
    paediatric: bool | None = None


class SuggestedRegimen(Fact, kind="suggested_regimen", result=True):
    """The one corrected oral regimen a check suggests, under every limit that fired: what the
    alerts quote and what CDS Hooks offers as the corrected order."""

    per_dose_mg: float
    doses_per_day: int
    daily_mg: float
    form: str | None = None
    oral_solution: bool
    rounding_mg: float
    per_dose_tablets: float | None = None
    max_mg_day: float | None = None
    concurrent_mg: float | None = None  # the other orders of the route, kept as they are
    total_mg_day: float | None = None  # with them
    answers: list[str]  # the alert codes whose limits it applies


class OrderRemoval(Fact, kind="order_removal", result=True):
    """The order should not be given at all: the alert code that says why."""

    code: str


# -- derived: route and units (rules/route_and_units.py) -------------------------------------


class DoseRatio(Fact, kind="dose_ratio"):
    """An intrathecal test bolus as a multiple of the largest test dose."""

    times_max_test_dose: float


class SuspectDose(Fact, kind="suspect_dose"):
    """A dose recorded beside the order (the regimen it replaces, another order, an intrathecal
    history entry or test bolus) that reads as a unit slip (rules/unit_slips.py): the rules
    measure nothing against it."""

    field: str  # where it was written ("order.previous", "order.concurrent[0]", ...)
    label: str  # the same, as a clinician reads it ("The regimen this order replaces")
    written: str  # as written ("300 mg a day")
    mg: float  # its daily dose as written, mg
    ug: float
    route: str
    reason: str
    consequence: str  # what was not checked for want of it
    bolus: bool | None = None  # one dose (a test bolus), not a daily dose


# -- derived: intrathecal (rules/intrathecal/) -----------------------------------------------


class ItbStep(Fact, kind="itb_step"):
    """A regimen change: between two regimens of the history, or the one this order makes
    (`proposed`)."""

    seq: int
    proposed: bool
    restart: bool | None = None
    from_ug: float
    to_ug: float
    change_pct: float
    direction: Literal["increase", "decrease", "unchanged"]
    hours_since_last_change: float | None = None
    at: str | None = None
    effect_after: str | None = None
    from_ended_hours_ago: float | None = None


class ItbStepLimit(Fact, kind="itb_step_limit"):
    """The dose an intrathecal step may go to under a percentage limit: at most +limit_pct
    for an increase, at least -limit_pct for a reduction."""

    direction: Literal["increase", "decrease"]
    limit_pct: int
    to_ug: float


class ItbResumedInfusion(Fact, kind="itb_resumed_infusion"):
    """A restart (a start with history) against the initial dose: the first regimen."""

    ordered_ug: float
    initial_ug: float
    initial_since: str
    change_pct: float


class ItbResumedFrom(Fact, kind="itb_resumed_from"):
    """A restart against the regimen before the interruption: the last one."""

    last_ug: float
    versus_last: Literal["above", "same", "below"]


class ItbInfusionAge(Fact, kind="itb_infusion_age"):
    exact: bool
    hours: float
    basis: str


class ItbBolus(Fact, kind="itb_bolus"):
    seq: int
    time: str
    ug: float
    last: bool
    response: str | None = None
    effect_hours: float | None = None


class ItbTestStep(Fact, kind="itb_test_step"):
    from_ug: float
    to_ug: float
    increase_ug: float
    hours_since_previous: float | None = None


class ItbInitialInfusion(Fact, kind="itb_initial_infusion"):
    ordered_ug: float
    test_ug: float
    expected_ug: list[float]
    nearest_ug: float
    deviation_pct: float
    effect_known: bool
    effect_hours: float | None = None
    doubled_ug: float  # twice the bolus
    effect_prolonged: bool | None = None  # its effect lasted over 12 h


class ItbScreeningIssue(Fact, kind="itb_screening_issue"):
    issue: str
    from_ug: float | None = None
    to_ug: float
    increase_ug: float | None = None
    hours_since_previous: float | None = None
    effect_hours: float | None = None
    # Goal reached: the infusion the effective bolus calls for, and whether its effect lasted
    # over 12 h (then the bolus unchanged, else doubled).
    start_ug: float | None = None
    effect_prolonged: bool | None = None


class ItbEffect(Fact, kind="itb_effect"):
    """The clinical effect of one regimen (rules/intrathecal/response.py): as recorded, read
    from spasticity scores before and after the change, or unknown."""

    seq: int
    effect: Literal["none", "partial", "adequate", "unknown"]
    basis: Literal["recorded", "scores"] | None = None
    instruments: list[str] | None = None  # the scales compared (their names)
    before: float | None = None  # a score compared: the latest before the change ...
    after: float | None = None  # ... and the latest after it, on the same scale and site
    compared: int | None = None  # how many scale-and-site pairs were compared


class ItbNoEffectSince(Fact, kind="itb_no_effect_since"):
    seq: int
    since: str
    read_from: list[str] | None = None  # scales that showed no effect in the run


class ItbSignAge(Fact, kind="itb_sign_age"):
    """A withdrawal sign the record dates, and how long before the order it was observed."""

    sign: str
    time: str
    hours_ago: float


class ItbCumulativeRise(Fact, kind="itb_cumulative_rise"):
    from_ug: float
    to_ug: float
    change_pct: float
    hours_ago: float
    regimens_without_effect: int
    read_from: list[str] | None = None  # scales that showed no effect


class ItbRedFlag(Fact, kind="itb_red_flag"):
    from_step: bool
    pattern: str
    from_ug: float | None = None
    to_ug: float | None = None
    change_pct: float | None = None
    factor: float | None = None
    hours_ago: float | None = None
    regimens_without_effect: int | None = None
    increases: int | None = None
    doses_ug: list[float] | None = None
    sign: str | None = None
    effect_read_from: list[str] | None = None  # scales that showed the lack of effect
    over_days: float | None = None  # how long the regimens without effect lasted


KINDS: tuple[type[Fact], ...] = (
    PatientFact,
    OrderFact,
    ConcurrentOrderFact,
    ItbRegimen,
    ItbTestDose,
    ItbWithdrawalSign,
    ItbScores,
    ConditionEntry,
    MedicationEntry,
    Age,
    AgeBand,
    DailyDose,
    ConcurrentDailyDose,
    RegimenTotal,
    PreviousDailyDose,
    DoseStep,
    WeightBasedDose,
    RenalFunction,
    Finding,
    DailyCeiling,
    ChildStart,
    TitrationNext,
    OralAvoided,
    CutFloor,
    RegimenLimit,
    SuggestedRegimen,
    OrderRemoval,
    DoseRatio,
    SuspectDose,
    ItbStep,
    ItbStepLimit,
    ItbResumedInfusion,
    ItbResumedFrom,
    ItbInfusionAge,
    ItbBolus,
    ItbTestStep,
    ItbInitialInfusion,
    ItbScreeningIssue,
    ItbEffect,
    ItbNoEffectSince,
    ItbSignAge,
    ItbCumulativeRise,
    ItbRedFlag,
)
VOCABULARY = Vocabulary.of(KINDS)
