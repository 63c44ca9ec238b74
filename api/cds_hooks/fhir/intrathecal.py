"""An intrathecal order's `order.intrathecal`, from what the FHIR record holds: the dose history
(MedicationRequests of every status, and MedicationAdministrations where the EHR records pump
programming that way), the test boluses before the first infusion, the implanted pump
(Device), spasticity scores and recent withdrawal signs, and what the order itself says (a
phase or a bolus in its text, the origin in its reason).

Translation only. Every regimen goes in as the record has it (its start and its daily dose);
the rules decide what they mean: the phase, whether a regimen had an effect, which pump, which
signs count (rules/intrathecal/). What cannot be read is a gap naming it, never a default.

- A regimen starts at `dosageInstruction.timing.repeat.boundsPeriod.start`, else at
  `authoredOn` (a MedicationAdministration: `effectiveDateTime` or `effectivePeriod.start`);
  its daily dose is read as the order's (a rate per hour or day, a dose per day, mL at the
  product's concentration). `priorPrescription` orders regimens that start together.
- The history is the last 30 days or the last 10 regimens, whichever reaches further back.
- The infusion's start is known when test boluses precede the first infusion in the record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import Field

from api.cds_hooks import intrathecal_terminology as it
from api.cds_hooks.fhir.devices import devices
from api.cds_hooks.fhir.dose import Dose, dose_and_rates
from api.cds_hooks.fhir.elements import (
    CodeableConcept,
    Element,
    Many,
    Opt,
    Period,
    Quantity,
    Ratio,
    Reference,
    Text,
)
from api.cds_hooks.fhir.medication import Product, product_of
from api.cds_hooks.fhir.moments import moment
from api.cds_hooks.fhir.reading import Read, gap
from api.cds_hooks.fhir.regimen import Regimen, regimen_of
from api.cds_hooks.fhir.resources import (
    Medication,
    MedicationRequest,
    Resource,
    entries,
    read_all,
    same_resource,
)
from api.cds_hooks.fhir.route import route_of
from api.cds_hooks.fhir.scores import dated, scores, signs
from api.cds_hooks.order_check import MG_PER, Gap
from api.cds_hooks.prefetch import Prefetched
from rules.case import MAX_HISTORY, MAX_SCREENING_DOSES

WINDOW_DAYS = 30  # the history reaches back 30 days ...
WINDOW_REGIMENS = 10  # ... or 10 regimens, whichever is further

# What each prefetch key feeds, for the gap an intrathecal order gets when it is missing.
FEEDS = {
    "intrathecal_history": "the intrathecal dose history (MedicationRequests of every status): "
    "step sizes, intervals and the pump red flags were checked against the active "
    "medication list only",
    "pump_programming": "pump programming (MedicationAdministrations): regimens recorded only "
    "that way are not in the dose history",
    "devices": "the implanted pump (Device): the pump type, and so the 24 h or 48 h interval "
    "between increases, could not be read from it",
    "spasticity_scores": "spasticity scores (Modified Ashworth, Ashworth, Penn Spasm "
    "Frequency): the effect of earlier regimens could not be read from them",
    "withdrawal_signs": "recent withdrawal signs recorded as Observations",
}


class AdministrationDosage(Element):
    text: Text = None
    route: Opt[CodeableConcept] = None
    dose: Opt[Quantity] = None
    rateQuantity: Opt[Quantity] = None
    rateRatio: Opt[Ratio] = None


class MedicationAdministration(Resource):
    status: Text = None
    medicationCodeableConcept: Opt[CodeableConcept] = None
    medicationReference: Opt[Reference] = None
    contained: Many[Medication] = Field(default_factory=list)
    effectiveDateTime: Text = None
    effectivePeriod: Opt[Period] = None
    dosage: Opt[AdministrationDosage] = None

    def as_request(self) -> MedicationRequest:
        """The administration as an order of what was given, so that its medication, route
        and amount are read as an order's: an amount given is a bolus, a rate a programmed
        infusion."""
        dosage = self.dosage or AdministrationDosage()
        amount: dict[str, Any] = {}
        for name in ("rateQuantity", "rateRatio"):
            if getattr(dosage, name) is not None:
                amount[name] = getattr(dosage, name).model_dump(exclude_none=True)
        if not amount and dosage.dose is not None:
            amount["doseQuantity"] = dosage.dose.model_dump(exclude_none=True)
        instruction: dict[str, Any] = {"doseAndRate": [amount]} if amount else {}
        if dosage.route is not None:
            instruction["route"] = dosage.route.model_dump(exclude_none=True)
        if "doseQuantity" in amount:
            instruction["timing"] = {"code": {"text": "ONCE"}}
        return MedicationRequest.model_validate(
            {
                "resourceType": "MedicationAdministration",
                "id": self.id,
                "status": "completed",
                "medicationCodeableConcept": self.model_dump(exclude_none=True).get(
                    "medicationCodeableConcept"
                ),
                "medicationReference": self.model_dump(exclude_none=True).get(
                    "medicationReference"
                ),
                "contained": [c.model_dump(exclude_none=True) for c in self.contained],
                "dosageInstruction": [instruction],
            }
        )

    def start(self) -> str | None:
        return self.effectiveDateTime or (
            self.effectivePeriod.start if self.effectivePeriod else None
        )


def _texts(request: MedicationRequest) -> list[str]:
    """What the order says in words: its dosage texts and instructions, and its notes."""
    out: list[str] = []
    for dosage in request.dosages:
        out += [
            x
            for x in (dosage.text, (dosage.model_extra or {}).get("patientInstruction"))
            if isinstance(x, str)
        ]
    notes = (request.model_extra or {}).get("note")
    for note in notes if isinstance(notes, list) else [notes]:
        if isinstance(note, dict) and isinstance(note.get("text"), str):
            out.append(note["text"])
    return out


def delivery(request: MedicationRequest) -> str | None:
    """ "bolus" (one administration: a count of 1, a ONCE or STAT timing, "bolus" or "test
    dose" in its text), "infusion" (a rate, or a dose per day), or None when it does not say."""
    dosages = request.dosages
    if any(d.rateQuantity or d.rateRatio for dosage in dosages for _, d in dose_and_rates(dosage)):
        return "infusion"
    for dosage in dosages:
        timing = dosage.timing
        repeat = timing.repeat if timing else None
        count = (repeat.model_extra or {}).get("count") if repeat else None
        code = timing.code if timing else None
        words = {x.strip().upper() for x in (code.codes() + code.texts() if code else [])}
        if count == 1 or words & it.BOLUS_TIMING_CODES:
            return "bolus"
    if any(it.BOLUS_WORDS.search(text) for text in _texts(request)):
        return "bolus"
    if any(d.timing and d.timing.repeat and d.timing.repeat.periodUnit for d in dosages):
        return "infusion"
    return None


def stated_phase(request: MedicationRequest) -> str | None:
    """A phase the order states in words ("titration", "maintenance", "test dose"): only
    when it states one."""
    found = {
        phase
        for text in _texts(request)
        for pattern, phase in it.PHASE_WORDS
        if pattern.search(text)
    }
    return found.pop() if len(found) == 1 else None


def stated_origin(request: MedicationRequest) -> str | None:
    """The origin the order's reason says in words ("spasticity of spinal origin")."""
    reasons = (request.model_extra or {}).get("reasonCode")
    texts: list[str] = []
    for reason in reasons if isinstance(reasons, list) else [reasons]:
        if isinstance(reason, dict):
            texts += CodeableConcept.model_validate(reason).texts()
    found = {
        origin for text in texts for pattern, origin in it.ORIGIN_WORDS if pattern.search(text)
    }
    return found.pop() if len(found) == 1 else None


@dataclass(frozen=True)
class Entry:
    """One regimen (or test bolus) of the record."""

    time: datetime
    dose: Dose  # the daily dose of an infusion, or the bolus
    bolus: bool
    ref: str
    replaces: str | None  # the order it replaced (priorPrescription)


@dataclass(frozen=True)
class Unread:
    """A regimen of the record whose start or dose could not be read."""

    time: datetime | None
    text: str


def _daily(regimen: Regimen) -> Dose | None:
    if regimen.dose is None:
        return None
    value = regimen.dose.value * (regimen.per_day or 1)
    if regimen.dose.unit != "ug":
        value = value * MG_PER[regimen.dose.unit] * 1000
    return Dose(round(value, 3), "ug", None)


def _entry(
    request: MedicationRequest, known: Mapping[str, Medication], start: str | None, ref: str
) -> Entry | Unread | None:
    product: Product | None = product_of(request, known)
    if product is None or not product.is_baclofen():
        return None
    if route_of(request, product).value != "intrathecal":
        return None
    when = moment(start)
    if when is None or when.instant is None:
        day = f" of {when.day}" if when and when.day else ""
        return Unread(None, f"{ref}{day} has no start time (boundsPeriod.start or authoredOn)")
    read = regimen_of(request, product, "intrathecal", product.label())
    dose = _daily(read.value) if read.value else None
    if dose is None:
        if request.status == "stopped":
            return None  # a stop written as a dose of 0: no regimen
        return Unread(
            when.instant,
            f"the dose of {ref} (from {when.instant:%Y-%m-%d %H:%M}) could not be read",
        )
    prior = request.priorPrescription.reference if request.priorPrescription else None
    return Entry(when.instant, dose, delivery(request) == "bolus", ref, prior)


@dataclass(frozen=True)
class Record:
    """The intrathecal record of the patient, read once per call."""

    entries: list[Entry]
    unread: list[Unread]
    devices: list[dict[str, Any]]
    scores: list[Any]
    signs: list[Any]
    gaps: tuple[Gap, ...]
    complete: bool  # the dose history was had whole


def read_record(prefetched: Prefetched, known: Mapping[str, Medication]) -> Record:
    data = prefetched.data
    found: dict[str, Entry | Unread] = {}
    for key in ("intrathecal_history", "medications"):
        for request in read_all(MedicationRequest, entries(data.get(key))):
            if (
                request.status not in it.HISTORY_STATUSES
                or request.ref in found
                or not request.gives
            ):
                continue
            starts = [
                d.timing.repeat.boundsPeriod.start
                for d in request.dosages
                if d.timing and d.timing.repeat and d.timing.repeat.boundsPeriod
            ]
            start = next((s for s in starts if s), None) or request.authoredOn
            entry = _entry(request, known, start, request.ref)
            if entry is not None:
                found[request.ref] = entry
    for admin in read_all(MedicationAdministration, entries(data.get("pump_programming"))):
        if admin.status in it.ADMINISTRATION_EXCLUDED or admin.ref in found:
            continue
        entry = _entry(admin.as_request(), known, admin.start(), admin.ref)
        if entry is not None:
            found[admin.ref] = entry
    device = devices(data.get("devices"))
    score = scores(data.get("spasticity_scores"))
    missing = [
        gap(f"Not available: {FEEDS[key]}; {prefetched.gaps[key]}.")
        for key in FEEDS
        if key in prefetched.gaps
    ]
    return Record(
        [e for e in found.values() if isinstance(e, Entry)],
        [e for e in found.values() if isinstance(e, Unread)],
        device.value or [],
        score.value or [],
        signs(data.get("conditions"), data.get("withdrawal_signs")),
        (*missing, *device.gaps, *score.gaps),
        not any(k in prefetched.gaps for k in ("intrathecal_history", "pump_programming")),
    )


def _ordered(items: list[Entry]) -> list[Entry]:
    """By start; regimens that start together in the order they replaced one another."""
    rank: dict[str, int] = {}
    for e in items:
        rank[e.ref] = rank.get(e.ref, 0)
        if e.replaces:
            replaced = next((x.ref for x in items if same_resource(e.replaces, x.ref)), None)
            if replaced:
                rank[e.ref] = max(rank[e.ref], rank.get(replaced, 0) + 1)
    return sorted(items, key=lambda e: (e.time, rank[e.ref]))


def _window(regimens: list[Entry], at: datetime | None) -> list[Entry]:
    """The last 30 days or the last 10 regimens, whichever reaches further back."""
    if at is None or len(regimens) <= WINDOW_REGIMENS:
        return regimens[-MAX_HISTORY:]
    first = next(
        (n for n, r in enumerate(regimens) if r.time >= at - timedelta(days=WINDOW_DAYS)),
        len(regimens),
    )
    return regimens[min(first, len(regimens) - WINDOW_REGIMENS) :][-MAX_HISTORY:]


def _quantity(dose: Dose) -> dict[str, Any]:
    return {"value": dose.value, "unit": dose.unit}


def details(
    request: MedicationRequest,
    record: Record,
    at: datetime | None,
    day: date,
    stopping: bool,
) -> Read[dict[str, Any]]:
    """The order's `order.intrathecal` from the record; `at` is when the order takes effect
    (None when only its day is known: then what the record holds up to that day, and for
    today up to now, the time the Case then takes for the order)."""
    bound = at or (datetime.now(UTC) if day == date.today() else None)

    def before(time: datetime) -> bool:
        return time <= bound if bound is not None else time.date() <= day

    own = request.ref
    items = _ordered([e for e in record.entries if e.ref != own and before(e.time)])
    infusions = [e for e in items if not e.bolus]
    first_infusion = infusions[0].time if infusions else None
    boluses = [e for e in items if e.bolus and (first_infusion is None or e.time < first_infusion)]
    gaps: list[Gap] = []
    unread = [u for u in record.unread if u.time is None or before(u.time)]
    if unread:
        last = max((u.time for u in unread if u.time), default=None)
        if last is not None:
            infusions = [e for e in infusions if e.time > last]
        gaps += [
            gap(
                f"In the dose history, {u.text}: "
                + (
                    "only the regimens after it were checked."
                    if u.time
                    else "it was left out; the steps around it may be missing."
                )
            )
            for u in unread
        ]
    history = _window(infusions, at)
    out: dict[str, Any] = {
        "derive_phase": True,
        "phase": stated_phase(request),
        "spasticity_origin": stated_origin(request),
        "delivery": delivery(request),
        "history": [{"time": e.time.isoformat(), "daily_dose": _quantity(e.dose)} for e in history],
        "screening_doses": [
            {"time": e.time.isoformat(), "dose": _quantity(e.dose)}
            for e in boluses[-MAX_SCREENING_DOSES:]
        ],
        "devices": record.devices,
        "spasticity_scores": [s.entry() for s in record.scores if before(s.time)],
    }
    if boluses and first_infusion is not None and record.complete:
        out["infusion_started"] = first_infusion.isoformat()
    sign = dated(record.signs, at)
    out["dated_withdrawal_signs"] = sign.value or []
    if not stopping:  # a stop is checked for its taper only: nothing else is missing for it
        gaps = [*record.gaps, *gaps, *sign.gaps]
    return Read({k: v for k, v in out.items() if v not in (None, [])}, tuple(gaps))


def lazily(read: Callable[[], Record]) -> Callable[[], Record]:
    """The record read on first use: calls without an intrathecal order never read it."""
    cache: list[Record] = []

    def get() -> Record:
        if not cache:
            cache.append(read())
        return cache[0]

    return get
