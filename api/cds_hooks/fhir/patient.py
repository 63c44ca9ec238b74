"""The patient every order of a call is checked against, read once per call from the
prefetch: age, weight, renal function, problem list, and the medication list (the current
baclofen orders with their regimens, and the co-medications).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from api.cds_hooks import terminology as t
from api.cds_hooks.fhir.conditions import condition_entries, pregnancy_status
from api.cds_hooks.fhir.findings import entry_findings
from api.cds_hooks.fhir.labs import renal, weight_kg
from api.cds_hooks.fhir.medication import Product, product_of
from api.cds_hooks.fhir.reading import Read, gap
from api.cds_hooks.fhir.regimen import Regimen, regimen_of
from api.cds_hooks.fhir.resources import (
    Condition,
    Medication,
    MedicationRequest,
    Observation,
    Patient,
    entries,
    read_all,
)
from api.cds_hooks.fhir.route import route_of
from api.cds_hooks.order_check import Gap
from api.cds_hooks.prefetch import Prefetched
from rules.case import MAX_LIST


@dataclass(frozen=True)
class CurrentOrder:
    """A current baclofen order of the medication list, read once per call."""

    request: MedicationRequest
    route: str | None
    regimen: Regimen
    since: str | None
    until: str | None = None  # the end of its dosage's bounds, when it states one


@dataclass(frozen=True)
class PatientContext:
    notes: tuple[Gap, ...]  # what the prefetch and the patient's data leave unread
    birth_date: str | None
    weight_kg: float | None
    creatinine_clearance_ml_min: float | None
    egfr_ml_min_1_73m2: float | None
    conditions: list[dict[str, Any]]
    current: list[CurrentOrder]  # current baclofen orders
    co_medications: list[dict[str, Any]]  # the other current orders, as Case entries
    medications_known: bool


def read_patient(prefetched: Prefetched, known: Mapping[str, Medication]) -> PatientContext:
    data = prefetched.data
    patient = next(iter(read_all(Patient, entries(data.get("patient")))), None)
    observations = read_all(
        Observation, [r for key in ("weight", "crcl", "egfr") for r in entries(data.get(key))]
    )
    birth = birth_date(patient)
    weight = weight_kg(observations)
    crcl = renal(observations, t.CREATININE_CLEARANCE, "creatinine clearance")
    egfr = renal(observations, t.EGFR, "eGFR")
    pregnancy = pregnancy_status(read_all(Observation, entries(data.get("pregnancy"))))
    conditions = screened(
        "condition",
        condition_entries(read_all(Condition, entries(data.get("conditions"))))
        + (pregnancy.value or []),
    )
    current, others, unidentified = [], [], []
    read: dict[tuple[Any, ...], dict[str, Any] | None] = {}  # a co-medication's entry, by drug
    for request in read_all(MedicationRequest, entries(data.get("medications"))):
        if not _current(request):
            continue
        product = product_of(request, known)
        if product is None:
            unidentified.append(request.ref)
            continue
        key = (product.concept.key(), id(product.resource))
        if key not in read:
            read[key] = None if product.is_baclofen() else product.entry()
        entry = read[key]
        if entry is None:
            current.append(_current_order(request, product))
        else:
            others.append(entry)
    notes = (
        *(gap(n) for n in prefetched.gap_notes()),
        *_pregnancy_gap(prefetched, patient),
        *pregnancy.gaps,
        *_unidentified_gap(unidentified),
        *birth.gaps,
        *weight.gaps,
        *crcl.gaps,
        *egfr.gaps,
        *conditions.gaps,
    )
    # A partial list that already shows baclofen still tells start from change.
    medications_known = "medications" in data and (
        "medications" not in prefetched.gaps or bool(current)
    )
    return PatientContext(
        notes,
        birth.value,
        weight.value,
        crcl.value,
        egfr.value,
        conditions.value or [],
        current,
        others,
        medications_known,
    )


def _pregnancy_gap(prefetched: Prefetched, patient: Patient | None) -> tuple[Gap, ...]:
    """The pregnancy status asked for and not had (not sent and not fetched, an error, a
    page missing): said unless the record says the patient is male. The problem list is still
    screened for a pregnancy."""
    why = prefetched.gaps.get("pregnancy")
    if why is None or (patient is not None and patient.gender == "male"):
        return ()
    return (
        gap(
            f"Not available: the pregnancy status (Observation, LOINC {t.PREGNANCY_STATUS}), so "
            f"only the problem list was screened for a pregnancy; {why}."
        ),
    )


def _unidentified_gap(refs: list[str]) -> tuple[Gap, ...]:
    """Current orders of the medication list whose drug could not be identified (no code,
    text or display we read; a Medication not sent and not fetched): not screened as
    co-medications, and not counted as baclofen."""
    if not refs:
        return ()
    many = len(refs) > 1
    return (
        gap(
            f"Not identified: {len(refs)} active medication{'s' if many else ''} "
            f"({', '.join(refs[:5])}{', ...' if len(refs) > 5 else ''}) whose drug could not be "
            f"read, so {'they were' if many else 'it was'} not screened for CNS depressants "
            "or baclofen."
        ),
    )


def _current(request: MedicationRequest) -> bool:
    """An order the patient is on: active (or with no status), and not one that forbids the
    medication (doNotPerform), which is neither current baclofen nor a co-medication."""
    status = request.status if "status" in request.model_fields_set else "active"
    return status in t.MEDICATION_REQUEST_CURRENT and request.gives


def _current_order(request: MedicationRequest, product: Product) -> CurrentOrder:
    route = route_of(request, product).value
    regimen = regimen_of(request, product, route, product.label()).value
    return CurrentOrder(
        request, route, regimen or Regimen(None, None), since(request), until(request)
    )


def since(request: MedicationRequest) -> str | None:
    starts = [
        d.timing.repeat.boundsPeriod.start
        for d in request.dosages
        if d.timing and d.timing.repeat and d.timing.repeat.boundsPeriod
    ]
    for value in [*starts, request.authoredOn]:
        if isinstance(value, str) and re.match(r"\d{4}-\d{2}-\d{2}", value):
            return value[:10]
    return None


def until(request: MedicationRequest) -> str | None:
    """The last day of the order, when every dosage bounds it (the latest end)."""
    ends = [
        d.timing.repeat.boundsPeriod.end
        for d in request.dosages
        if d.timing and d.timing.repeat and d.timing.repeat.boundsPeriod
    ]
    if not ends or any(
        not (isinstance(e, str) and re.match(r"\d{4}-\d{2}-\d{2}", e)) for e in ends
    ):
        return None
    return max(str(e)[:10] for e in ends)


def birth_date(patient: Patient | None) -> Read[str]:
    value = patient.birthDate if patient else None
    if value is None:
        return Read()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return Read(value)
    partial = re.fullmatch(r"(\d{4})(?:-(\d{2}))?", value)
    if not partial:
        return Read(
            None, (gap(f"The birth date {value!r} could not be read.", "patient.birth_date"),)
        )
    year, month = int(partial[1]), int(partial[2] or 12)
    if not 1 <= month <= 12:
        return Read()
    # The youngest the patient can be: the stricter paediatric limits apply near a boundary.
    day = calendar.monthrange(year, month)[1]
    return Read(
        f"{year}-{month:02d}-{day:02d}",
        (
            gap(
                f"The birth date is given only as {value}: the age was taken as the youngest it "
                f"can be (born {year}-{month:02d}-{day:02d})."
            ),
        ),
    )


_LISTS = {
    "condition": ("problem list", "seizure-disorder, renal, pregnancy and alcohol"),
    "medication": ("active medication list", "CNS-depressant"),
}


def screened(
    kind: Literal["condition", "medication"], found: list[dict[str, Any]]
) -> Read[list[dict[str, Any]]]:
    """The entries of a list the rules read, by the rules' own derivations
    (rules.derive.findings_of_entry): each with a finding (one that cannot be screened is a
    finding too), once, in the list's order. The others would reach the engine only to be
    read and found to say nothing: a long record costs the check nothing.

    A check takes at most MAX_LIST entries: beyond that, each with a finding is kept before
    each that cannot be screened, and a gap says how many were not screened: never a silent
    cut."""
    distinct = {tuple(sorted(e.items())): e for e in found}
    read = [(e, entry_findings(kind, key)) for key, e in distinct.items()]
    kept = [e for e, findings in read if findings]
    if len(kept) <= MAX_LIST:
        return Read(kept)
    kept = [e for e, findings in read if findings - {"unscreened_entry"}]
    kept += [e for e, findings in read if findings == {"unscreened_entry"}]
    if len(kept) > MAX_LIST:
        name, checks = _LISTS[kind]
        return Read(
            kept[:MAX_LIST],
            (
                gap(
                    f"The {name} has {len(found):,} entries, {len(kept):,} of them for the "
                    f"{checks} checks (or not readable); a check takes {MAX_LIST:,}, so "
                    f"{len(kept) - MAX_LIST:,} were not screened. Review them by hand."
                ),
            ),
        )
    return Read(kept)
