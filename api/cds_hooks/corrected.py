"""The corrected order of a card's suggestion: the draft MedicationRequest rewritten to the one
regimen the rules suggest (rules/oral/regimen.py), as a valid R4 resource a clinician can accept.

Every representation of the dose says the same thing afterwards: each dose entry of the
instruction that was read is rewritten (Epic's "ordered", "calculated" and "admin-amount": mg in
its unit, tablets or mL through the strength the dose was read with; an entry per kg of body
weight, or one that cannot be written exactly, in mg), an entry that was not read is dropped, the
timing is rewritten when the doses a day change, the free text states the new regimen, and the
maxima the order stated (which allowed more than the regimen) are dropped. Elements that are not
R4 (the CDS Hooks sandbox sends `category` as an object; STU3 writes the dose on the dosage) are
not echoed back: the dose moves into R4's doseAndRate, the rest is left out. Which dose, and when
the oral solution replaces tablets, are the rules' conclusions; this module only writes them.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from api.cds_hooks import terminology as t
from api.cds_hooks.order_check import MG_PER, DoseSite, OrderCheck, as_list
from rules.vocabulary import SuggestedRegimen

ORAL_SOLUTION = {
    "coding": [{"system": t.RXNORM, "code": t.BACLOFEN_INGREDIENT, "display": "baclofen"}],
    "text": "Baclofen oral solution",
}

# R4 MedicationRequest, Dosage and Dosage.doseAndRate: each element, and whether it repeats.
_REQUEST = {
    **dict.fromkeys(
        (
            "resourceType",
            "id",
            "meta",
            "implicitRules",
            "language",
            "text",
            "status",
            "statusReason",
            "intent",
            "priority",
            "doNotPerform",
            "reportedBoolean",
            "reportedReference",
            "medicationCodeableConcept",
            "medicationReference",
            "subject",
            "encounter",
            "authoredOn",
            "requester",
            "performer",
            "performerType",
            "recorder",
            "groupIdentifier",
            "courseOfTherapyType",
            "dispenseRequest",
            "substitution",
            "priorPrescription",
        ),
        False,
    ),
    **dict.fromkeys(
        (
            "contained",
            "extension",
            "modifierExtension",
            "identifier",
            "category",
            "supportingInformation",
            "reasonCode",
            "reasonReference",
            "instantiatesCanonical",
            "instantiatesUri",
            "basedOn",
            "insurance",
            "note",
            "dosageInstruction",
            "detectedIssue",
            "eventHistory",
        ),
        True,
    ),
}
_DOSAGE = {
    **dict.fromkeys(
        (
            "id",
            "sequence",
            "text",
            "patientInstruction",
            "timing",
            "asNeededBoolean",
            "asNeededCodeableConcept",
            "site",
            "route",
            "method",
            "maxDosePerPeriod",
            "maxDosePerAdministration",
            "maxDosePerLifetime",
        ),
        False,
    ),
    **dict.fromkeys(
        ("extension", "modifierExtension", "additionalInstruction", "doseAndRate"), True
    ),
}
_DOSE_AND_RATE = {
    **dict.fromkeys(
        ("id", "type", "doseRange", "doseQuantity", "rateRatio", "rateRange", "rateQuantity"),
        False,
    ),
    "extension": True,
}
_STU3_DOSE = ("doseQuantity", "doseRange", "rateQuantity", "rateRatio", "rateRange")
# What the corrected regimen makes untrue: a range of doses a day, times and events that count
# the old number of doses, a timing code that names it.
_OLD_SCHEDULE = ("frequencyMax", "periodMax", "timeOfDay", "when", "count", "countMax")


def _fits(elements: dict[str, bool], data: dict[str, Any]) -> dict[str, Any]:
    """The elements R4 has, each with its cardinality (a list where it repeats, not where it
    does not); the others are not echoed."""
    return {
        k: v
        for k, v in data.items()
        if k in elements and isinstance(v, list) == elements[k] and v is not None
    }


def r4(resource: dict[str, Any]) -> dict[str, Any]:
    """The MedicationRequest as R4 has it: elements R4 does not have, or with the wrong
    cardinality, left out; the STU3 dose on a dosage moved into its doseAndRate."""
    out = _fits(_REQUEST, resource)
    dosages = []
    for dosage in out.get("dosageInstruction", []):
        if not isinstance(dosage, dict):
            continue
        fitted = _fits(_DOSAGE, dosage)
        stu3 = {k: dosage[k] for k in _STU3_DOSE if k in dosage}
        if stu3 and "doseAndRate" not in fitted:
            fitted["doseAndRate"] = [stu3]
        fitted["doseAndRate"] = [
            _fits(_DOSE_AND_RATE, d) for d in fitted.get("doseAndRate", []) if isinstance(d, dict)
        ]
        dosages.append(fitted)
    if "dosageInstruction" in out:
        out["dosageInstruction"] = dosages
    return out


def _n(value: float) -> float | int:
    """7.5 stays 7.5; 25.0 is written 25."""
    value = round(value, 6)
    return int(value) if value == int(value) else value


def _mg(mg: float) -> dict[str, Any]:
    return {"value": _n(mg), "unit": "mg", "system": t.UCUM, "code": "mg"}


def _quantity(site: DoseSite, original: dict[str, Any], mg: float, as_mass: bool) -> dict[str, Any]:
    """The new dose in the unit of the entry where it is exact, else in mg."""
    if not as_mass and site.kind == "mass":
        unit = site.unit
        return {"value": _n(mg / MG_PER[unit]), "unit": unit, "system": t.UCUM, "code": unit}
    if not as_mass and site.strength is not None:
        if site.kind == "count":
            count = mg / site.strength.mg
            if abs(count * 2 - round(count * 2)) < 1e-9:  # whole or half tablets
                return {**original, "value": _n(count)}
        if site.kind == "volume":
            ml = math.floor(mg / site.strength.mg * 100) / 100  # measured out, never above
            if ml > 0:
                return {**original, "value": _n(ml)}
    return _mg(mg)


def _num(value: float) -> str:
    return f"{value:g}"


def regimen_text(rx: SuggestedRegimen, quantity: dict[str, Any]) -> str:
    freq = rx.doses_per_day
    times = "once a day" if freq == 1 else f"{freq} times a day"
    dose = f"{_num(rx.per_dose_mg)} mg"
    if quantity.get("code") != "mg":  # say it as it will be measured out too
        unit = str(quantity.get("unit") or quantity.get("code") or "").strip("{}")
        dose += f" ({_num(quantity['value'])} {unit})"
    return f"{dose} {times} ({_num(rx.daily_mg)} mg/day)"


def _rewrite_doses(
    dosage: dict[str, Any], check: OrderCheck, rx: SuggestedRegimen
) -> dict[str, Any] | None:
    """Every dose entry of the instruction at the new dose; the quantity of the entry the
    dose was read from, for the text. None when that entry is not there."""
    site = check.dose_site
    assert site is not None
    entries = check.dose_entries or (site,)
    if site.dose_and_rate is None:  # STU3: the dose on the dosage itself
        dosage["doseQuantity"] = _quantity(
            site, dosage.get("doseQuantity") or {}, rx.per_dose_mg, rx.oral_solution
        )
        return dict(dosage["doseQuantity"])
    by_index = {e.dose_and_rate: e for e in entries if e.instruction == site.instruction}
    kept, main = [], None
    for n, entry in enumerate(as_list(dosage.get("doseAndRate"))):
        read = by_index.get(n)
        if read is None or not isinstance(entry, dict):
            continue  # not read as this dose: it would contradict the new one
        if rx.oral_solution and read.kind == "count" and n != site.dose_and_rate:
            continue  # tablets to give do not exist for a solution
        as_mass = rx.oral_solution or read.kind == "per_kg"
        quantity = _quantity(read, entry.get("doseQuantity") or {}, rx.per_dose_mg, as_mass)
        kept.append(
            {**{k: v for k, v in entry.items() if k != "doseRange"}, "doseQuantity": quantity}
        )
        if n == site.dose_and_rate:
            main = quantity
    dosage["doseAndRate"] = kept
    return dict(main) if main is not None else (dict(kept[0]["doseQuantity"]) if kept else None)


def _rewrite_timing(dosage: dict[str, Any], rx: SuggestedRegimen) -> None:
    """The new number of doses a day, keeping the bounds of the old timing."""
    found = dosage.get("timing")
    timing: dict[str, Any] = found if isinstance(found, dict) else {}
    found = timing.get("repeat")
    repeat: dict[str, Any] = found if isinstance(found, dict) else {}
    kept = {k: v for k, v in repeat.items() if k not in _OLD_SCHEDULE}
    kept.update(frequency=rx.doses_per_day, period=1, periodUnit="d")
    dosage["timing"] = {
        **{k: v for k, v in timing.items() if k not in ("repeat", "code", "event")},
        "repeat": kept,
    }


def corrected_order(
    check: OrderCheck, rx: SuggestedRegimen
) -> tuple[dict[str, Any], str, str] | None:
    """(resource, label, description): the draft order rewritten to the suggested regimen, or
    None when its dose cannot be rewritten exactly (it was not one plain dose)."""
    site, case = check.dose_site, check.case
    if site is None or case is None or case.order.dose is None:
        return None
    resource = copy.deepcopy(check.resource)
    dosages = as_list(resource.get("dosageInstruction"))
    if site.instruction >= len(dosages) or not isinstance(dosages[site.instruction], dict):
        return None
    dosage = dosages[site.instruction]
    quantity = _rewrite_doses(dosage, check, rx)
    if quantity is None:
        return None
    if rx.doses_per_day != case.order.frequency_per_day:
        _rewrite_timing(dosage, rx)
    dropped = [k for k in ("maxDosePerAdministration", "maxDosePerPeriod") if k in dosage]
    for key in dropped:
        del dosage[key]  # it allowed more than the corrected regimen
    regimen = regimen_text(rx, quantity)
    # Free text that still states the old dose would contradict the corrected order.
    for key in ("text", "patientInstruction"):
        if key in dosage:
            dosage[key] = f"Baclofen {regimen}" + (" as oral solution" if rx.oral_solution else "")
    resource["dosageInstruction"] = dosages
    also = " (its stated maximum removed: it allowed more)" if dropped else ""
    if rx.oral_solution:
        # A dispense quantity counted in tablets does not fit a solution: the pharmacy sets it.
        dispense = resource.get("dispenseRequest")
        if isinstance(dispense, dict):
            dispense.pop("quantity", None)
        reference = resource.pop("medicationReference", None)
        ref = str(reference.get("reference") or "") if isinstance(reference, dict) else ""
        if ref.startswith("#"):
            resource["contained"] = [
                c
                for c in as_list(resource.get("contained"))
                if not (isinstance(c, dict) and c.get("id") == ref[1:])
            ]
        resource["medicationCodeableConcept"] = copy.deepcopy(ORAL_SOLUTION)
        return (
            r4(resource),
            f"Oral solution, {regimen}",
            f"Replace the tablets with baclofen oral solution, {regimen}{also}.",
        )
    return r4(resource), f"Reduce to {regimen}", f"Change the dose to {regimen}{also}."
