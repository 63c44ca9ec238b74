"""What an EHR holds can be implausible: a weight of 500 kg, a birth date after the order, an
intrathecal dose of 0.05 µg. Each value read is held against the Case's own limits before it
goes into the Case, and one that fails is set aside with a gap naming it and why; the rest is
checked. The limits live in rules/case.py only: this module asks the Case, with the value and
the order it belongs to, and repeats none of them.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from api.cds_hooks.fhir.reading import Read, gap
from api.errors import validation_items
from rules.case import Case, Order, Patient

T = TypeVar("T")

HUMAN = {
    "patient.birth_date": "the birth date",
    "patient.weight_kg": "the body weight",
    "patient.creatinine_clearance_ml_min": "the creatinine clearance",
    "patient.egfr_ml_min_1_73m2": "the eGFR",
    "patient.conditions": "a problem-list entry",
    "patient.medications": "a medication entry",
    "order.dose": "the dose",
    "order.frequency_per_day": "the number of doses a day",
    "order.time": "the order time",
    "order.date": "the order date",
    "order.previous": "the current regimen",
    "order.concurrent": "another baclofen order",
    "order.form": "the dose form",
    "order.strength": "the product strength",
    "order.intrathecal": "the intrathecal record (dose history, scores, devices, signs)",
}


@cache
def _field(path: str) -> TypeAdapter[Any]:
    top, name = path.split(".", 1)
    model: type[BaseModel] = Patient if top == "patient" else Order
    info = model.model_fields[name]
    return TypeAdapter(Annotated[info.annotation, info])  # type: ignore[arg-type]


def held(path: str, value: T | None, order: dict[str, Any] | None = None) -> Read[T]:
    """`value` for the Case field `path` ("patient.weight_kg", "order.dose"), or a gap when
    the Case refuses it: by the field's own limits, or with `order` (the order's action, route
    and date, each already plausible) by the Case's checks of the value beside the order too
    (a birth date after the order date, an intrathecal dose below 0.1 µg)."""
    if value is None:
        return Read()
    try:
        if order is None:
            _field(path).validate_python(value)
        else:
            top, name = path.split(".", 1)
            data: dict[str, Any] = {"patient": {}, "order": dict(order)}
            data[top][name] = value
            Case.model_validate(data)
    except ValidationError as exc:
        problem = validation_items(exc.errors())[0]["problem"]
        return Read(None, (gap(f"Not used: {HUMAN.get(path, path)} ({problem}).", path),))
    return Read(value)


def case_of(data: dict[str, Any]) -> Read[Case]:
    """The Case of values each already held: a refusal now is a fault of the translation, and
    the order is reported as not checked rather than checked without them."""
    try:
        return Read(Case.model_validate(data))
    except ValidationError as exc:
        return Read(
            None,
            (
                gap(
                    "The order could not be read into a check: "
                    + "; ".join(i["problem"] for i in validation_items(exc.errors()))
                ),
            ),
        )
