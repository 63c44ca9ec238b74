"""The FHIR datatypes the translation reads, as small lenient pydantic models (R4, and the
STU3 shapes EHRs still send).

Lenient, because a check must never fail on what an EHR put in a field: an element that is not
what FHIR says (a number where text belongs is read as its text; an object, list or boolean
where a number or text belongs is read as absent), a single object where a list belongs is a
list of one, and fields we do not read are kept (extra="allow"). Validation never raises:
pydantic tries the FHIR type first, in Rust, and only a value that does not fit reaches the
Python fallback that reads it as absent.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
)

T = TypeVar("T")
_FIRST_FIT = Field(union_mode="left_to_right")


def _absent(_: object) -> None:
    return None


def _empty(_: object) -> dict[str, Any]:
    return {}


def _listed(value: object) -> list[Any]:
    return [value] if isinstance(value, dict) else []


def _texts(value: object) -> list[Any]:
    return [value] if isinstance(value, str) else []


# "Or absent": null, and any value that fits no FHIR type, reads as None. Only such values
# run Python code.
Absent = Annotated[None, BeforeValidator(_absent)]
Text = Annotated[str | Absent, _FIRST_FIT]
# A boolean is no number: pydantic would read `true` as 1 (a dose of 1 mg). Numbers written as
# JSON numbers are taken first (int stays int and 10.0 stays 10.0, so that a message can quote
# the value as written); a number written as text ("20") is read as its number.
_NoNumber = Annotated[bool, Field(strict=True), AfterValidator(_absent)]
Number = Annotated[
    Annotated[StrictInt | StrictFloat, Field(union_mode="smart")] | _NoNumber | float | Absent,
    _FIRST_FIT,
]
Whole = Annotated[StrictInt | _NoNumber | int | Absent, _FIRST_FIT]
Flag = Annotated[bool | Absent, _FIRST_FIT]
Opt = Annotated[T | Absent, _FIRST_FIT]
# In a list, an element that is not an object is an empty one: the list keeps its length.
_Item = Annotated[T | Annotated[T, BeforeValidator(_empty)], _FIRST_FIT]
Many = Annotated[list[_Item[T]] | Annotated[list[_Item[T]], BeforeValidator(_listed)], _FIRST_FIT]
Texts = Annotated[list[Text] | Annotated[list[Text], BeforeValidator(_texts)], _FIRST_FIT]


class Element(BaseModel):
    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True, frozen=True)

    def given(self) -> bool:
        """Whether the element carries anything at all (`{}` does not)."""
        return bool(self.model_fields_set or self.model_extra)


class Coding(Element):
    system: Text = None
    code: Text = None
    display: Text = None


class CodeableConcept(Element):
    coding: Many[Coding] = Field(default_factory=list)
    text: Text = None

    def texts(self) -> list[str]:
        """Its text, then each coding's display: what a person reads."""
        out = [self.text] if self.text is not None else []
        return out + [c.display for c in self.coding if c.display is not None]

    def codes(self) -> list[str]:
        return [c.code for c in self.coding if c.code is not None]

    def key(self) -> tuple[Any, ...]:
        """What the concept says, as a dictionary key: the same concept recorded again (a
        problem at every encounter, a prescription renewed) is read once per call."""
        return (self.text, *((c.system, c.code, c.display) for c in self.coding))


class Quantity(Element):
    value: Number = None
    comparator: Text = None
    unit: Text = None
    system: Text = None
    code: Text = None


class Ratio(Element):
    numerator: Opt[Quantity] = None
    denominator: Opt[Quantity] = None


class Range(Element):
    low: Opt[Quantity] = None
    high: Opt[Quantity] = None


class Period(Element):
    start: Text = None
    end: Text = None


class Identifier(Element):
    system: Text = None
    value: Text = None


class Reference(Element):
    reference: Text = None
    display: Text = None
    # A logical reference (R4): the business identifier of what it names, without a URL.
    identifier: Opt[Identifier] = None


class TimingRepeat(Element):
    boundsPeriod: Opt[Period] = None
    frequency: Number = None
    frequencyMax: Number = None
    period: Number = None
    periodMax: Number = None
    periodUnit: Text = None
    timeOfDay: Texts = Field(default_factory=list)
    when: Texts = Field(default_factory=list)


class Timing(Element):
    repeat: Opt[TimingRepeat] = None
    code: Opt[CodeableConcept] = None


class DoseAndRate(Element):
    """R4 Dosage.doseAndRate; STU3 writes the same elements on the Dosage itself."""

    type: Opt[CodeableConcept] = None
    doseQuantity: Opt[Quantity] = None
    doseRange: Opt[Range] = None
    rateQuantity: Opt[Quantity] = None
    rateRatio: Opt[Ratio] = None
    rateRange: Opt[Range] = None


class Dosage(DoseAndRate):
    sequence: Whole = None
    text: Text = None
    timing: Opt[Timing] = None
    asNeededBoolean: Flag = None
    asNeededCodeableConcept: Opt[CodeableConcept] = None
    route: Opt[CodeableConcept] = None
    doseAndRate: Many[DoseAndRate] = Field(default_factory=list)
    maxDosePerPeriod: Opt[Ratio] = None
    maxDosePerAdministration: Opt[Quantity] = None
