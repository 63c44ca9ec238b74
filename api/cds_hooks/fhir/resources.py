"""The FHIR resources the translation reads, each parsed once into a lenient model
(elements.py): the orders, the medications they name, the patient, the problem list and the
observations. Only the elements the checks use are declared; everything else is kept as sent.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Any, TypeVar

from pydantic import Field, TypeAdapter

from api.cds_hooks.fhir.elements import (
    CodeableConcept,
    Dosage,
    Element,
    Flag,
    Identifier,
    Many,
    Opt,
    Period,
    Quantity,
    Range,
    Ratio,
    Reference,
    Text,
)

_DOSAGES: TypeAdapter[list[Dosage]] = TypeAdapter(Many[Dosage])


class Resource(Element):
    resourceType: Text = None
    id: Text = None

    @property
    def ref(self) -> str:
        """ "MedicationRequest/rx-1", or the bare type when the resource has no id."""
        return f"{self.resourceType}/{self.id}" if self.id else str(self.resourceType)


_VERSION = re.compile(r"/_history/[^/]*$")


def same_resource(reference: str, ref: str) -> bool:
    """A reference (`MedicationRequest/rx-1`, `https://ehr/fhir/MedicationRequest/rx-1`,
    either with `/_history/2`) names the resource `ref` (`MedicationRequest/rx-1`)."""
    path = _VERSION.sub("", reference.strip())
    return path == ref or path.endswith("/" + ref)


class Ingredient(Element):
    itemCodeableConcept: Opt[CodeableConcept] = None
    strength: Opt[Ratio] = None


class Medication(Resource):
    code: Opt[CodeableConcept] = None
    form: Opt[CodeableConcept] = None
    ingredient: Many[Ingredient] = Field(default_factory=list)


class MedicationRequest(Resource):
    status: Text = None
    medicationCodeableConcept: Opt[CodeableConcept] = None
    medicationReference: Opt[Reference] = None
    contained: Many[Medication] = Field(default_factory=list)
    authoredOn: Text = None
    dosageInstruction: Any = None  # as sent: read through `dosages`
    priorPrescription: Opt[Reference] = None
    # The prescription it was written in (orders signed together as one regimen share it).
    groupIdentifier: Opt[Identifier] = None
    identifier: Many[Identifier] = Field(default_factory=list)
    # "Do not give": an order that forbids the medication, not one that gives it.
    doNotPerform: Flag = None

    @property
    def gives(self) -> bool:
        """Whether the order gives its medication: not one that says doNotPerform."""
        return self.doNotPerform is not True

    def named_by(self, reference: Reference | None) -> bool:
        """Whether the Reference names this resource: by its literal reference (relative,
        absolute or versioned) or by a business identifier the resource carries. A
        renewal's `priorPrescription` written `MedicationRequest/rx-1/_history/2` is the
        renewal of rx-1, not a second order beside it."""
        if reference is None:
            return False
        if reference.reference and self.id and same_resource(reference.reference, self.ref):
            return True
        wanted = reference.identifier
        return bool(
            wanted is not None
            and wanted.value
            and any(i.value == wanted.value and i.system == wanted.system for i in self.identifier)
        )

    def group(self) -> tuple[str | None, str] | None:
        """The prescription this order belongs to, as a key; None when not stated."""
        gid = self.groupIdentifier
        if gid is None or not gid.value:
            return None
        return (gid.system, gid.value)

    @cached_property
    def dosages(self) -> list[Dosage]:
        """The dosage instructions, parsed when first read: the other orders of a long
        medication list are never read that far."""
        return _DOSAGES.validate_python(self.dosageInstruction)

    def contained_medication(self, local_id: str) -> Medication | None:
        """The contained resource a `#id` reference names (the last one, should two share it)."""
        found = None
        for res in self.contained:
            if res.id == local_id:
                found = res
        return found


class Observation(Resource):
    status: Text = None
    code: Opt[CodeableConcept] = None
    effectiveDateTime: Text = None
    effectivePeriod: Opt[Period] = None
    effectiveInstant: Text = None
    issued: Text = None
    valueQuantity: Opt[Quantity] = None
    valueCodeableConcept: Opt[CodeableConcept] = None
    valueBoolean: Flag = None
    valueString: Text = None

    def when(self) -> str:
        """When it was observed, as written: the time, else the end of the period it took,
        else its start, else when it was issued (`labs.latest` compares them as instants)."""
        return (
            self.effectiveDateTime
            or (
                self.effectivePeriod.end or self.effectivePeriod.start
                if self.effectivePeriod
                else None
            )
            or self.effectiveInstant
            or self.issued
            or ""
        )


class Condition(Resource):
    # R4 writes the statuses as CodeableConcepts, STU3 as codes.
    clinicalStatus: Opt[CodeableConcept | str] = None
    verificationStatus: Opt[CodeableConcept | str] = None
    code: Opt[CodeableConcept] = None
    abatementDateTime: Text = None
    abatementAge: Opt[Quantity] = None
    abatementPeriod: Opt[Period] = None
    abatementRange: Opt[Range] = None
    abatementString: Text = None
    abatementBoolean: Flag = None  # STU3


class Patient(Resource):
    birthDate: Text = None
    gender: Text = None


R = TypeVar("R", bound=Resource)


def entries(value: Any) -> list[dict[str, Any]]:
    """The resources of a Bundle's entries (a Bundle without `type` too), or the resource
    itself when the value is one resource."""
    if not isinstance(value, dict):
        return []
    if value.get("resourceType") != "Bundle":
        return [value]
    found = value.get("entry")
    return [
        e["resource"]
        for e in (found if isinstance(found, list) else [found])
        if isinstance(e, dict) and isinstance(e.get("resource"), dict)
    ]


def read_all(model: type[R], resources: list[dict[str, Any]]) -> list[R]:
    """Each resource of the model's type, parsed."""
    kind = model.__name__
    return [model.model_validate(r) for r in resources if r.get("resourceType") == kind]
