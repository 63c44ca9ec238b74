"""The clinical input contract: one patient and one baclofen order.

Every validation happens here, at the boundary, so that nothing a user sends can surface as a
500 later. Plausibility limits are deliberately generous: they reject typing errors and
garbage, never a real patient. Units are normalised to mg, g or ug.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

MAX_LIST = 1000  # a problem or medication list longer than this is not a real record
MAX_TEXT = 500

_UNITS = {"mg": "mg", "g": "g", "ug": "ug", "mcg": "ug", "µg": "ug", "μg": "ug",
          "microgram": "ug", "micrograms": "ug", "milligram": "mg", "milligrams": "mg"}


def normalise_unit(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("unit must be a string: mg, g or ug (also mcg, µg)")
    unit = _UNITS.get(value.strip().lower().replace("μ", "µ"))
    if unit is None:
        raise ValueError(f"unknown unit {value!r}: use mg, g or ug (also mcg, µg)")
    return unit


def _iso_date(value: Any) -> Any:
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError("expected an ISO date string, YYYY-MM-DD")
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{value!r} is not a valid date (YYYY-MM-DD)") from None


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
DoseUnit = Annotated[str, BeforeValidator(normalise_unit)]
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


class Quantity(_Model):
    value: Annotated[float, Field(gt=0, le=1e6, description="Dose amount; > 0"),
                     AfterValidator(_finite)]
    unit: DoseUnit = Field(description="mg, g or ug (mcg, µg accepted)")


class Patient(_Model):
    birth_date: IsoDate | None = None
    age_years: Annotated[float, Field(ge=0, le=130)] | None = None
    weight_kg: Annotated[float, Field(gt=0, le=350, description="Body weight, kg")] | None = None
    conditions: Annotated[list[Coding], Field(max_length=MAX_LIST)] = []
    creatinine_clearance_ml_min: Annotated[float, Field(ge=0, le=300)] | None = None
    egfr_ml_min_1_73m2: Annotated[float, Field(ge=0, le=300)] | None = None
    on_dialysis: bool = False
    pregnant: bool = False
    hospital_supervised: bool = False
    alcohol_use: bool = False
    medications: Annotated[list[Coding], Field(max_length=MAX_LIST)] = []


class PreviousRegimen(_Model):
    dose: Quantity | None = None
    frequency_per_day: Annotated[int, Field(ge=1, le=24)] | None = None
    since: IsoDate | None = None


Route = Literal["oral", "intrathecal"]
Form = Literal["tablet", "oral_solution", "granules", "intrathecal"]
ORAL_FORMS = ("tablet", "oral_solution", "granules")


class Order(_Model):
    date: IsoDate = Field(default_factory=date.today,
                          description="Order date (default today); ages are taken on it")
    action: Literal["start", "change", "continue", "stop"]
    route: Route | None = Field(default=None, description="Required by the native API")
    form: Form | None = None
    dose: Quantity | None = None
    frequency_per_day: Annotated[int, Field(ge=1, le=24)] | None = None
    previous: PreviousRegimen | None = None
    taper: bool = Field(
        default=False,
        description="For a stop: the stop ends a taper (or a taper is ordered with it).",
    )

    @model_validator(mode="after")
    def _form_fits_route(self) -> Order:
        if self.form is not None:
            if self.route == "oral" and self.form not in ORAL_FORMS:
                raise ValueError(f"form: {self.form!r} is not an oral form")
            if self.route == "intrathecal" and self.form != "intrathecal":
                raise ValueError(f"form: {self.form!r} does not fit the intrathecal route")
        if self.previous and self.previous.since and self.previous.since > self.date:
            raise ValueError("previous.since: is after the order date")
        return self


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
                raise ValueError("patient.birth_date: is after the order date (in the future)")
            if (self.order.date - born).days > 130 * 366:
                raise ValueError("patient.birth_date: gives an age above 130 years")
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
