"""The clinical input contract: one patient and one baclofen order.

Every validation happens here, at the boundary, so that nothing a user sends can surface as a
500 later. Plausibility limits are deliberately generous: they reject typing errors and
garbage, never a real patient. Units are normalised to mg, g or ug.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

MAX_LIST = 1000  # a problem or medication list longer than this is not a real record
MIN_YEAR, MAX_YEAR = 1900, 2200  # date-times outside are typing errors (and overflow arithmetic)
MAX_DAYS_AHEAD = 366  # an order dated further ahead than a year is a typing error
MIN_DOSE_MG = 1e-6  # a nanogram: below it no dose (Quantity._a_dose)
MAX_TEXT = 500

_UNITS = {
    "mg": "mg",
    "g": "g",
    "ug": "ug",
    "mcg": "ug",
    "µg": "ug",
    "μg": "ug",
    "microgram": "ug",
    "micrograms": "ug",
    "milligram": "mg",
    "milligrams": "mg",
}


def normalise_unit(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("unit must be a string: mg, g or ug (also mcg, µg)")
    unit = _UNITS.get(value.strip().lower().replace("μ", "µ"))
    if unit is None:
        raise ValueError(f"unknown unit {value!r}: use mg, g or ug (also mcg, µg)")
    return unit


# A dose written per kg of body weight, as EHRs write a child's order ("0.5 mg/kg" a dose): the
# rules derive the mg from the patient's weight (rules/derive.py).
PER_KG = "mg/kg"
_PER_KG_SPELLINGS = ("mg/kg", "mg/kg/dose", "mg/kg/dos", "milligram per kilogram")


def normalise_dose_unit(value: Any) -> str:
    """An order's dose unit: mg, g or ug, or mg/kg (per kg of body weight, per dose)."""
    if isinstance(value, str) and "".join(value.lower().split()) in (
        "".join(s.split()) for s in _PER_KG_SPELLINGS
    ):
        return PER_KG
    try:
        return normalise_unit(value)
    except ValueError:
        raise ValueError(
            f"unknown unit {value!r}: use mg, g or ug (also mcg, µg), or mg/kg"
        ) from None


def _iso_date(value: Any) -> Any:
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError("expected an ISO date string, YYYY-MM-DD")
    # Python also reads 20160101 and week dates (2016-W01-1): not what the contract says, and
    # a sender writing them has a mapping to check.
    if not _YYYY_MM_DD.fullmatch(value.strip()):
        raise ValueError(f"{value!r} is not a date written YYYY-MM-DD")
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{value!r} is not a valid date (YYYY-MM-DD)") from None


_YYYY_MM_DD = re.compile(r"\d{4}-\d{2}-\d{2}")


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def _iso_datetime(value: Any) -> Any:
    # Intervals of 24 and 48 hours decide alerts: a time without an offset would be read in
    # whatever zone the server runs in, so it is rejected rather than guessed.
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(
                f"{value!r} is not a valid ISO date-time (e.g. 2026-11-18T09:00:00Z)"
            ) from None
    else:
        raise ValueError("expected an ISO date-time string, e.g. 2026-11-18T09:00:00Z")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(f"{value!r} has no time zone: add Z or an offset such as +01:00")
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise ValueError(f"{value!r} is outside the years {MIN_YEAR}-{MAX_YEAR}")
    return parsed


def _json_number(value: Any) -> Any:
    # pydantic's lax mode reads "70" as 70 and true as 1: a sender that puts a string or a
    # boolean where a number belongs has a mapping bug we should show, not guess around.
    if isinstance(value, bool) or not isinstance(value, int | float):
        kind = {
            bool: "a boolean",
            str: "a string",
            type(None): "null",
            list: "a list",
            dict: "an object",
        }.get(type(value), type(value).__name__)
        raise ValueError(f"must be a JSON number, not {kind}")
    return value


def _json_bool(value: Any) -> Any:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


Number = Annotated[float, BeforeValidator(_json_number)]
Count = Annotated[int, BeforeValidator(_json_number)]
Flag = Annotated[bool, BeforeValidator(_json_bool)]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_datetime)]
DoseUnit = Annotated[str, BeforeValidator(normalise_unit)]
OrderDoseUnit = Annotated[str, BeforeValidator(normalise_dose_unit)]
Text = Annotated[str, Field(max_length=MAX_TEXT)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=True)


class Coding(_Model):
    """A coded or free-text entry (condition or medication). Either code or display is needed."""

    system: Text | None = None
    code: Text | None = None
    display: Text | None = None

    @model_validator(mode="after")
    def _something(self) -> Coding:
        if not (self.code or self.display):
            raise ValueError("code: needs a code or a display text")
        return self


def _status(value: Any) -> Any:
    """FHIR status codes as written ("Resolved", "entered_in_error"): case and separator."""
    return value.strip().lower().replace("_", "-") if isinstance(value, str) else value


ClinicalStatus = Annotated[
    Literal["active", "recurrence", "relapse", "inactive", "remission", "resolved"],
    BeforeValidator(_status),
]
VerificationStatus = Annotated[
    Literal[
        "unconfirmed", "provisional", "differential", "confirmed", "refuted", "entered-in-error"
    ],
    BeforeValidator(_status),
]


class Condition(Coding):
    """A problem-list entry, with its FHIR Condition statuses when known (absent: current and
    confirmed). What a past or unconfirmed entry means for each finding is decided in
    rules/code_sets.py."""

    clinical_status: ClinicalStatus | None = Field(
        default=None,
        description="FHIR Condition.clinicalStatus: active, recurrence, relapse, "
        "inactive, remission or resolved",
    )
    verification_status: VerificationStatus | None = Field(
        default=None,
        description="FHIR Condition.verificationStatus: unconfirmed, provisional, "
        "differential, confirmed, refuted or entered-in-error",
    )


class Quantity(_Model):
    value: Annotated[
        Number, Field(gt=0, le=1e6, description="Dose amount; > 0"), AfterValidator(_finite)
    ]
    unit: DoseUnit = Field(description="mg, g or ug (mcg, µg accepted)")


class OrderDose(Quantity):
    """The order's dose. Zero is accepted on a stop only: EHRs write a discontinuation as a
    dose (or rate) of 0, and refusing it kept the taper checks from running. A dose written per
    kg of body weight (`mg/kg`, one dose) is multiplied by the patient's weight by the rules."""

    value: Annotated[
        Number,
        Field(ge=0, le=1e6, description="Dose amount; > 0 (0 accepted on a stop)"),
        AfterValidator(_finite),
    ]
    unit: OrderDoseUnit = Field(
        description="mg, g or ug (mcg, µg accepted), or mg/kg: per kg of body weight (oral)"
    )


class ConcurrentDose(Quantity):
    """Another order's dose: mg, g or ug, or mg/kg (oral)."""

    unit: OrderDoseUnit = Field(
        description="mg, g or ug (mcg, µg accepted), or mg/kg: per kg of body weight (oral)"
    )

    @model_validator(mode="after")
    def _a_dose(self) -> ConcurrentDose:
        # Below a nanogram (per kg: for the lightest patient accepted) an amount is no dose,
        # and the steps and reductions computed from it divide by what rounds to zero. The
        # order's own dose may be that small: DOSE_UNIT_SUSPECT says what it is.
        if self.value * _MG_PER_UNIT_AT_LEAST[str(self.unit)] < MIN_DOSE_MG:
            raise ValueError(f"value: {self.value:g} {self.unit} is too small to be a dose")
        return self


# The least mg a unit can stand for (mg/kg: times the lightest weight accepted, 0.2 kg).
_MG_PER_UNIT_AT_LEAST = {"mg": 1.0, "g": 1000.0, "ug": 0.001, PER_KG: 0.2}


def completed_years(born: date, on: date) -> int:
    """Age in completed years; a 29 February birthday falls on 1 March in common years."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


class Patient(_Model):
    birth_date: IsoDate | None = None
    age_years: Annotated[Number, Field(ge=0, le=130)] | None = None
    # 0.2 kg is below any live-born infant: smaller values are typing errors (g for kg).
    weight_kg: (
        Annotated[Number, Field(ge=0.2, le=350, description="Body weight, kg (0.2–350)")] | None
    ) = None
    conditions: Annotated[list[Condition], Field(max_length=MAX_LIST)] = []
    creatinine_clearance_ml_min: Annotated[Number, Field(ge=0, le=300)] | None = None
    egfr_ml_min_1_73m2: Annotated[Number, Field(ge=0, le=300)] | None = None
    on_dialysis: Flag = False
    pregnant: Flag = False
    hospital_supervised: Flag = False
    alcohol_use: Flag = False
    medications: Annotated[list[Coding], Field(max_length=MAX_LIST)] = []


class PreviousRegimen(_Model):
    dose: ConcurrentDose | None = None
    frequency_per_day: Annotated[Count, Field(ge=1, le=24)] | None = None
    since: IsoDate | None = None


# Baclofen is authorised orally and intrathecally only. The other parenteral routes are
# accepted so that such an order is answered with ROUTE_NOT_PERMITTED instead of a 422.
NOT_PERMITTED_ROUTES = ("intravenous", "intramuscular", "subcutaneous", "epidural")
Route = Literal["oral", "intrathecal", "intravenous", "intramuscular", "subcutaneous", "epidural"]
Form = Literal["tablet", "oral_solution", "granules", "intrathecal"]
ORAL_FORMS = ("tablet", "oral_solution", "granules")


MAX_CONCURRENT = 20  # other baclofen orders of one patient at once: a few in any real record


class ConcurrentOrder(_Model):
    """Another baclofen order in effect beside this one (one this order does not replace): an
    active order, or another draft signed with it. The rules add the orders of the same route
    up to one daily dose and report unlinked ones as a duplicate order (rules/oral/concurrent.py).
    Its dose and frequency may be unknown: the rules then say the total could not be checked."""

    dose: ConcurrentDose | None = None
    frequency_per_day: Annotated[Count, Field(ge=1, le=24)] | None = None
    route: Route | None = None
    status: Literal["active", "draft"] = Field(
        description="active: in effect before this order; draft: ordered with it"
    )
    relation: Literal["linked", "unlinked"] = Field(
        description="linked: written with this order as one regimen (the same prescription, "
        "e.g. a bedtime dose beside a daytime one); unlinked: nothing ties the two orders"
    )
    since: IsoDate | None = Field(default=None, description="When an active order started")


MAX_HISTORY = 100  # regimen changes: years of refills and adjustments fit comfortably
MAX_SCREENING_DOSES = 20  # screening is a handful of boluses (25 ug steps up to 100 ug)

ClinicalEffect = Literal["none", "partial", "adequate"]
ScreeningResponse = Literal["none", "partial", "significant"]
WITHDRAWAL_SIGNS = (
    "pruritus",
    "hypotension",
    "paraesthesia",
    "fever",
    "hyperthermia",
    "altered_mental_status",
    "rebound_spasticity",
    "muscle_rigidity",
    "seizures",
)
_SIGN_SPELLINGS = {
    "paresthesia": "paraesthesia",
    "paresthesias": "paraesthesia",
    "paraesthesias": "paraesthesia",
    "seizure": "seizures",
    "rebound_spasticity_increase": "rebound_spasticity",
    "fever/hyperthermia": "fever",
    "itching": "pruritus",
    "rigidity": "muscle_rigidity",
    "confusion": "altered_mental_status",
}


def _sign(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    key = "_".join(value.strip().lower().replace("-", " ").split())
    return _SIGN_SPELLINGS.get(key, key)


WithdrawalSign = Annotated[
    Literal[
        "pruritus",
        "hypotension",
        "paraesthesia",
        "fever",
        "hyperthermia",
        "altered_mental_status",
        "rebound_spasticity",
        "muscle_rigidity",
        "seizures",
    ],
    BeforeValidator(_sign),
]


class DatedWithdrawalSign(_Model):
    """A withdrawal sign as a record holds it: the sign and when it was observed. The rules
    count it only when it is recent and an infusion is running (rules/intrathecal/red_flags.py);
    a sign in `withdrawal_signs` (no time) is taken as current."""

    sign: WithdrawalSign
    time: IsoDateTime = Field(description="When the sign was observed (ISO date-time, offset)")


MAX_DATED_SIGNS = 100  # a record can hold each sign many times over three days
MAX_SCORES = 500  # spasticity scores: several muscle groups, several times a week
MAX_DEVICES = 20

# Spasticity scores the rules compare (rules/intrathecal/response.py). Each grades 0 (no
# increase in tone, no spasms) to 4 (rigid limb; spasms more than ten times an hour): a lower
# score is an improvement. The Modified Ashworth grade 1+ is 1.5.
SpasticityInstrument = Literal["modified_ashworth", "ashworth", "penn_spasm_frequency"]


class SpasticityScore(_Model):
    """One spasticity score as recorded: the instrument, the muscle group or site it grades
    (scores are compared site by site), when, and the grade."""

    time: IsoDateTime = Field(description="When it was assessed (ISO date-time, offset)")
    instrument: SpasticityInstrument
    value: Annotated[
        Number,
        Field(ge=0, le=4, description="0-4; Modified Ashworth 1+ is 1.5"),
        AfterValidator(_finite),
    ]
    site: Text | None = Field(
        default=None, description="The muscle group or body site graded, when the record says"
    )


# Below 0.1 ug no intrathecal dose exists (the smallest reported is 12 ug/day); smaller values
# are unit slips, and values that small would also reach the rule engine in exponent notation,
# which durable-rules cannot parse.
MIN_INTRATHECAL_UG = 0.1
UG_PER_UNIT = {"ug": 1.0, "mg": 1000.0, "g": 1e6}


def _intrathecal_quantity(name: str, dose: Quantity | None) -> None:
    if dose is not None and dose.value * UG_PER_UNIT[dose.unit] < MIN_INTRATHECAL_UG:
        raise ValueError(
            f"{name}: below {MIN_INTRATHECAL_UG} ug is not an intrathecal dose; check the unit"
        )


class IntrathecalHistoryEntry(_Model):
    """One regimen of the infusion: from `time` the pump delivered `daily_dose`."""

    time: IsoDateTime = Field(description="When this regimen started (ISO date-time, offset)")
    daily_dose: Quantity = Field(description="Daily infusion dose (ug, mcg or mg)")
    clinical_effect: ClinicalEffect | None = Field(
        default=None, description="Effect observed on this regimen: none, partial or adequate"
    )

    @model_validator(mode="after")
    def _plausible(self) -> IntrathecalHistoryEntry:
        _intrathecal_quantity("daily_dose", self.daily_dose)
        return self


class ScreeningDose(_Model):
    """One intrathecal test bolus of the screening phase and the response it gave."""

    time: IsoDateTime
    dose: Quantity = Field(description="Test bolus (ug, mcg or mg)")
    response: ScreeningResponse | None = Field(
        default=None, description="none, partial or significant (a responder)"
    )
    effect_hours: (
        Annotated[
            Number,
            Field(ge=0, le=72, description="How long the effect lasted"),
            AfterValidator(_finite),
        ]
        | None
    ) = None

    @model_validator(mode="after")
    def _plausible(self) -> ScreeningDose:
        _intrathecal_quantity("dose", self.dose)
        return self


class Intrathecal(_Model):
    """Everything is optional: a check that needs a missing field answers MISSING_DATA."""

    phase: Literal["screening", "titration", "maintenance"] | None = Field(
        default=None,
        description="screening: the order is a test bolus; titration or "
        "maintenance: the order is the new daily infusion dose",
    )
    spasticity_origin: Literal["spinal", "cerebral"] | None = None
    pump: Literal["programmable", "non_programmable"] | None = None
    infusion_started: IsoDateTime | None = None
    history: Annotated[list[IntrathecalHistoryEntry], Field(max_length=MAX_HISTORY)] = Field(
        default=[], description="Regimen changes so far, oldest first"
    )
    screening_doses: Annotated[list[ScreeningDose], Field(max_length=MAX_SCREENING_DOSES)] = Field(
        default=[], description="Test boluses so far, oldest first"
    )
    withdrawal_signs: Annotated[
        list[WithdrawalSign], Field(max_length=len(WITHDRAWAL_SIGNS) * 2)
    ] = []
    dated_withdrawal_signs: Annotated[
        list[DatedWithdrawalSign], Field(max_length=MAX_DATED_SIGNS)
    ] = Field(
        default=[],
        description="Withdrawal signs with the time a record observed them: counted when "
        "within 72 h of the order on a running infusion",
    )
    # What a record says, for the rules to read (rules/intrathecal/phase.py, pump.py,
    # response.py): how the ordered dose is given, the implanted devices, the scores.
    derive_phase: Flag = Field(
        default=False,
        description="Without a phase: derive it from the dose history, the screening doses "
        "and `delivery` (the CDS Hooks service does); otherwise a missing phase is reported",
    )
    delivery: Literal["bolus", "infusion"] | None = Field(
        default=None,
        description="How the ordered dose is given: one bolus (a test dose) or a continuous "
        "infusion (its daily dose)",
    )
    devices: Annotated[list[Coding], Field(max_length=MAX_DEVICES)] = Field(
        default=[],
        description="Devices recorded for the patient (an implanted pump): code and names; "
        "the pump type is read from them when `pump` is not given",
    )
    spasticity_scores: Annotated[list[SpasticityScore], Field(max_length=MAX_SCORES)] = Field(
        default=[],
        description="Spasticity scores: a regimen's effect is read from them when "
        "its clinical_effect is not given",
    )

    @model_validator(mode="after")
    def _oldest_first(self) -> Intrathecal:
        for name, items in (("history", self.history), ("screening_doses", self.screening_doses)):
            for n in range(1, len(items)):
                if items[n].time < items[n - 1].time:
                    raise ValueError(
                        f"{name}: entry {n} is earlier than entry {n - 1}; "
                        "give the entries oldest first"
                    )
        return self


class Strength(_Model):
    """The product's strength: mg (or g, ug) per tablet or per mL. With it a suggested dose is
    rounded to what can be given: half a tablet, or 0.5 mg of a solution."""

    value: Annotated[
        Number, Field(gt=0, le=1e6, description="Amount of baclofen; > 0"), AfterValidator(_finite)
    ]
    unit: DoseUnit = Field(description="mg, g or ug (mcg, µg accepted)")
    per: Literal["tablet", "mL"] = Field(description="per tablet, or per mL of a solution")


def _not_far_ahead(on: date) -> date:
    # An order is checked on the day it takes effect; one dated years ahead is a typing
    # error, and ages taken on it would put a child among the elderly.
    today = date.today()
    if (on - today).days > MAX_DAYS_AHEAD:
        raise ValueError(
            f"{on} is more than a year after today ({today}): give the date the order takes effect"
        )
    return on


class Order(_Model):
    date: Annotated[IsoDate, AfterValidator(_not_far_ahead)] = Field(
        default_factory=date.today, description="Order date (default today); ages are taken on it"
    )
    time: IsoDateTime | None = Field(
        default=None,
        description="When the order takes effect (ISO date-time with offset). "
        "Default now when order.date is today or absent; intrathecal interval checks need it.",
    )
    action: Literal["start", "change", "continue", "stop", "add"] = Field(
        description="start a new course, change or continue the regimen in `previous`, stop "
        "it, or add to the current orders in `concurrent` (status active, same route) "
        "without replacing any"
    )
    route: Route | None = Field(default=None, description="Required by the native API")
    form: Form | None = None
    dose: OrderDose | None = None
    frequency_per_day: Annotated[Count, Field(ge=1, le=24)] | None = None
    strength: Strength | None = Field(
        default=None,
        description="The product's strength, e.g. 10 mg per tablet or 1 mg per "
        "mL: suggested doses are then whole or half tablets",
    )
    previous: PreviousRegimen | None = None
    concurrent: Annotated[list[ConcurrentOrder], Field(max_length=MAX_CONCURRENT)] = Field(
        default=[],
        description="Other baclofen orders in effect beside this one (active, or other "
        "drafts signed with it), not the one it replaces (`previous`)",
    )
    taper: Flag = Field(
        default=False,
        description="For a stop: the stop ends a taper (or a taper is ordered with it).",
    )
    intrathecal: Intrathecal | None = Field(
        default=None, description="Intrathecal phase, pump, dose history and screening"
    )

    @field_validator("dose")
    @classmethod
    def _zero_only_on_a_stop(cls, dose: OrderDose | None, info: ValidationInfo) -> OrderDose | None:
        if dose is not None and dose.value == 0 and info.data.get("action") != "stop":
            raise ValueError(
                "value: Input should be greater than 0 (a zero dose is accepted on a stop only)"
            )
        return dose

    def has_dose(self) -> bool:
        """A dose that is an amount: the zero of a stop says "no more", not "0 mg"."""
        return self.dose is not None and self.dose.value > 0

    @model_validator(mode="after")
    def _form_fits_route(self) -> Order:
        if self.form is not None:
            if self.route == "oral" and self.form not in ORAL_FORMS:
                raise ValueError(f"form: {self.form!r} is not an oral form")
            if self.route == "intrathecal" and self.form != "intrathecal":
                raise ValueError(f"form: {self.form!r} does not fit the intrathecal route")
        if self.previous and self.previous.since and self.previous.since > self.date:
            raise ValueError("previous.since: is after the order date")
        self._concurrent_consistent()
        self._settle_time()
        if self.route == "intrathecal":
            # An intrathecal dose is a daily total (or one test bolus): never divided.
            if self.frequency_per_day not in (None, 1):
                raise ValueError(
                    "frequency_per_day: an intrathecal dose is the daily total "
                    "(or one test bolus); use 1"
                )
            self.frequency_per_day = 1
            if self.has_dose():
                _intrathecal_quantity("dose", self.dose)
        if self.intrathecal is not None:
            if self.route not in (None, "intrathecal"):
                raise ValueError(f"intrathecal: given for the {self.route} route")
            self._intrathecal_times_before_order()
        return self

    def _concurrent_consistent(self) -> None:
        """What the order says of the orders beside it must hold together: an add-on adds to
        current orders of its route and replaces none; a dose per kg and concurrent orders
        are read for oral orders only (one intrathecal pump delivers one regimen)."""
        if self.concurrent and (self.route == "intrathecal" or self.intrathecal is not None):
            raise ValueError(
                "concurrent: an intrathecal pump delivers one regimen; give the "
                "regimens before this order in intrathecal.history"
            )
        if self.concurrent and self.route != "oral":
            raise ValueError("concurrent: other orders are added up for oral orders only")
        for n, other in enumerate(self.concurrent):
            if other.since is not None and other.since > self.date:
                raise ValueError(f"concurrent: order {n} started (since) after the order date")
            if (
                other.dose is not None
                and other.dose.unit == PER_KG
                and other.route not in (None, "oral")
            ):
                raise ValueError(f"concurrent: order {n}, mg/kg is read for oral orders only")
        if self.dose is not None and self.dose.unit == PER_KG and self.route not in (None, "oral"):
            raise ValueError("dose: mg/kg is read for oral orders only")
        previous = self.previous.dose if self.previous else None
        if previous is not None and previous.unit == PER_KG and self.route not in (None, "oral"):
            raise ValueError("previous: mg/kg is read for oral orders only")
        if self.action == "add" and self.route != "oral":
            raise ValueError("action: add is read for oral orders only")
        if self.action == "add":
            if self.previous is not None:
                raise ValueError(
                    "previous: an added order replaces none; use action change for the "
                    "order it replaces"
                )
            if not any(
                o.status == "active" and o.route == self.route and self.route is not None
                for o in self.concurrent
            ):
                raise ValueError(
                    "action: add needs the current orders it adds to in order.concurrent "
                    "(status active, the same route)"
                )

    def _settle_time(self) -> None:
        explicit_date = "date" in self.model_fields_set
        if self.time is None:
            # "Now" only when the order is for today; for another day the time is unknown and
            # the interval checks say so (MISSING_DATA) rather than measuring from now.
            if not explicit_date or self.date == date.today():
                self.time = datetime.now(UTC)
            return
        if not explicit_date:
            self.date = self.time.date()
        elif self.date not in (self.time.date(), self.time.astimezone(UTC).date()):
            raise ValueError(f"time: falls on {self.time.date()}, not on order.date {self.date}")

    def _intrathecal_times_before_order(self) -> None:
        it = self.intrathecal
        if it is None or self.time is None:
            return
        if it.infusion_started is not None and it.infusion_started > self.time:
            raise ValueError("intrathecal.infusion_started: is after order.time")
        if any(s.time > self.time for s in it.spasticity_scores):
            raise ValueError(
                "intrathecal.spasticity_scores: has a score after order.time (when this order "
                "takes effect; default now)"
            )
        for name, items in (("history", it.history), ("screening_doses", it.screening_doses)):
            if items and items[-1].time > self.time:
                raise ValueError(
                    f"intrathecal.{name}: has an entry after order.time (when "
                    "this order takes effect; default now)"
                )


class Case(_Model):
    """What the rules evaluate. Lenient about data an EHR may not have (age, route): the rules
    answer those gaps with MISSING_DATA. The native API is stricter (SafetyCheckRequest)."""

    patient: Patient
    order: Order

    @model_validator(mode="after")
    def _dates_consistent(self) -> Case:
        born = self.patient.birth_date
        if born is not None:
            if born > self.order.date:
                raise ValueError(
                    f"patient.birth_date: {born} is after the order date {self.order.date} "
                    "(one of the two is wrong)"
                )
            if (self.order.date - born).days > 130 * 366:
                raise ValueError(
                    f"patient.birth_date: {born} gives an age above 130 years on the order "
                    f"date {self.order.date}"
                )
            stated = self.patient.age_years
            if stated is not None and math.floor(stated) != completed_years(born, self.order.date):
                # Which one is right decides the age band (8 years, the 18th birthday): refused
                # like a repeated key, never resolved silently.
                raise ValueError(
                    f"patient.age_years: {stated:g} disagrees with patient.birth_date {born}, "
                    f"which gives {completed_years(born, self.order.date)} on the order date "
                    f"{self.order.date}: send one of them, or both in agreement"
                )
        return self


class SafetyCheckRequest(Case):
    """The native API's request: a prescribing system always knows the age and the route."""

    @model_validator(mode="after")
    def _required_for_native(self) -> SafetyCheckRequest:
        if self.patient.birth_date is None and self.patient.age_years is None:
            raise ValueError("patient.birth_date: birth_date or age_years is required")
        if self.order.route is None:
            raise ValueError("order.route: Field required (oral or intrathecal)")
        return self
