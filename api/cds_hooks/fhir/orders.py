"""Hook request + prefetch -> one `rules.case.Case` per baclofen draft order.

Translation only: it reads what the FHIR data say (medication, route, form, dose, timing, age,
conditions, co-medications, weight, renal function) and never fills a gap with a default that
would hide it. What it cannot read becomes a gap, shown to the prescriber as a card; what the
rules need and the Case lacks, the rules answer with MISSING_DATA themselves.

One `Translator` per hook call: its draft orders are read once, the patient once the data are
in, and every order is checked against that one patient.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from api.cds_hooks.fhir import intrathecal, plausible
from api.cds_hooks.fhir.dose import Dose
from api.cds_hooks.fhir.medication import (
    Product,
    fetched,
    index,
    missing_references,
    product_of,
)
from api.cds_hooks.fhir.patient import CurrentOrder, PatientContext, read_patient, screened
from api.cds_hooks.fhir.reading import Read, gap, read_as
from api.cds_hooks.fhir.regimen import Regimen, regimen_of
from api.cds_hooks.fhir.resources import Medication, MedicationRequest, entries
from api.cds_hooks.fhir.route import form_of, route_of
from api.cds_hooks.models import OrderContext, OrderSelectContext
from api.cds_hooks.order_check import DoseSite, Gap, OrderCheck, Translation
from api.cds_hooks.prefetch import INTRATHECAL_KEYS, TEMPLATES, Prefetched
from api.cds_hooks.subjects import patient_named
from rules.case import MAX_DAYS_AHEAD, Case


class SelectionError(ValueError):
    """`selections` names an order that is not in draftOrders."""


def ref_of(resource: dict[str, Any]) -> str:
    rid = resource.get("id")
    return f"{resource.get('resourceType')}/{rid}" if rid else str(resource.get("resourceType"))


def selections(ctx: OrderContext) -> set[str] | None:
    """The order-select `selections`, each of which must name a draft order."""
    if not isinstance(ctx, OrderSelectContext):
        return None
    refs = {ref_of(r) for r in ctx.resources()} | {str(r.get("id")) for r in ctx.resources()}
    for n, sel in enumerate(ctx.selections):
        if sel not in refs:
            raise SelectionError(
                f"context.selections[{n}] {sel!r} is not an order in context.draftOrders"
            )
    return set(ctx.selections)


@dataclass(frozen=True)
class Draft:
    """A draft MedicationRequest: as sent (a corrected order is a copy of it) and as read."""

    raw: dict[str, Any]
    request: MedicationRequest
    selected: bool


@dataclass(frozen=True)
class Signed:
    """A baclofen draft of the call, beside which every other one is checked."""

    draft: Draft
    product: Product
    route: str | None


class Translator:
    def __init__(self, ctx: OrderContext, selected: set[str] | None) -> None:
        self.ctx, self.selected = ctx, selected
        read = [
            Draft(
                raw,
                MedicationRequest.model_validate(raw),
                selected is None or ref_of(raw) in selected or str(raw.get("id")) in selected,
            )
            for raw in ctx.resources()
            if raw.get("resourceType") == "MedicationRequest"
            and raw.get("status") not in ("entered-in-error", "cancelled")
        ]
        # A draft that says doNotPerform forbids its medication: no dose to check, no
        # co-medication, no other baclofen order beside the rest. A baclofen one is named.
        self.drafts = [d for d in read if d.request.gives]
        self.forbidding = [d for d in read if not d.request.gives and d.selected]

    def _known(self, listed: Any, found: Mapping[str, dict[str, Any]]) -> dict[str, Medication]:
        """Medication resources by reference: in the draft orders' Bundle, in the medication
        list's Bundle, and fetched."""
        return {**index(self.ctx.resources() + entries(listed)), **fetched(found)}

    def triage(
        self, supplied: dict[str, Any] | None, found: dict[str, dict[str, Any]]
    ) -> tuple[bool, list[str]]:
        """(is any order to check baclofen, the Medication references still to fetch), before
        any patient data is gathered: a call without baclofen costs no FHIR request."""
        known = self._known((supplied or {}).get("medications"), found)
        # A baclofen order that says doNotPerform is a stop when the patient takes baclofen,
        # which only the medication list tells: it needs the patient's data too.
        drafts = [d for d in self.drafts + self.forbidding if d.selected]
        products = [product_of(d.request, known) for d in drafts]
        if any(p is not None and p.is_baclofen() for p in products):
            return True, []
        return False, missing_references(
            [d.request for d, p in zip(drafts, products, strict=True) if p is None], known
        )

    def for_another_patient(
        self, supplied: dict[str, Any] | None, found: dict[str, dict[str, Any]], pid: str | None
    ) -> list[str]:
        """Where a baclofen order to check names another patient than the call's: the
        field, as `context.draftOrders.entry.<n>.resource.<subject|patient>`. Such an order
        would be checked against someone else's age, weight and conditions. Orders that are
        not checked (not baclofen, not selected) do not matter."""
        if pid is None:
            return []
        known = self._known((supplied or {}).get("medications"), found)
        positions = {id(raw): n for n, raw in enumerate(self.ctx.resources())}
        fields = []
        for d in self.drafts:
            named = patient_named(d.raw)
            if not d.selected or named is None or named == pid:
                continue
            product = product_of(d.request, known)
            if product is not None and product.is_baclofen():
                key = "subject" if isinstance(d.raw.get("subject"), dict) else "patient"
                fields.append(f"context.draftOrders.entry.{positions[id(d.raw)]}.resource.{key}")
        return fields

    def keys(self, supplied: dict[str, Any] | None, found: dict[str, dict[str, Any]]) -> set[str]:
        """The prefetch keys the orders need: the intrathecal record only for an intrathecal
        baclofen order."""
        known = self._known((supplied or {}).get("medications"), found)
        for d in self.drafts + self.forbidding:
            product = product_of(d.request, known) if d.selected else None
            if product is not None and product.is_baclofen():
                if route_of(d.request, product).value == "intrathecal":
                    return set(TEMPLATES)
        return set(TEMPLATES) - INTRATHECAL_KEYS

    def wanted_references(self, prefetched: Prefetched) -> list[str]:
        """Medication references in the active medication list that no one sent."""
        listed = prefetched.data.get("medications")
        known = self._known(listed, prefetched.resources)
        requests = [MedicationRequest.model_validate(r) for r in entries(listed)]
        return missing_references(requests, known)

    def translate(self, prefetched: Prefetched) -> Translation:
        """One OrderCheck per baclofen MedicationRequest (the selected ones for order-select);
        every other draft order is context: a co-medication, never a card."""
        known = self._known(prefetched.data.get("medications"), prefetched.resources)
        patient = read_patient(prefetched, known)
        products = [product_of(d.request, known) for d in self.drafts]
        pending = [p.entry() for p in products if p is not None and not p.is_baclofen()]
        medications = screened("medication", patient.co_medications + pending)
        record = intrathecal.lazily(lambda: intrathecal.read_record(prefetched, known))
        baclofen = [
            Signed(d, p, route_of(d.request, p).value)
            for d, p in zip(self.drafts, products, strict=True)
            if p is not None and p.is_baclofen()
        ]
        checks, unidentified = [], []
        for draft, product in zip(self.drafts, products, strict=True):
            if not draft.selected:
                continue
            if product is None:
                unidentified.append(ref_of(draft.raw))
            elif product.is_baclofen():
                checks.append(_check(draft, product, patient, medications, record, baclofen))
        forbidden = []
        for d in self.forbidding:
            product = product_of(d.request, known)
            if product is None or not product.is_baclofen():
                continue
            if _stops_current(d.request, product, patient):
                check = _check(_as_stop(d), product, patient, medications, record, baclofen)
                check.resource = d.raw  # the order as sent
                check.notes.append(
                    read_as(
                        "This order says doNotPerform (do not give baclofen) while the patient "
                        "takes baclofen by the same route: it was checked as a stop of it.",
                        "order.action",
                    )
                )
                checks.append(check)
            else:
                forbidden.append((ref_of(d.raw), product.label()))
        return Translation(checks, unidentified, forbidden)


def _stops_current(request: MedicationRequest, product: Product, patient: PatientContext) -> bool:
    """Whether a baclofen order that says doNotPerform forbids what the patient takes: a
    current baclofen order by its route, or the one it names as its prior prescription. FHIR
    reads doNotPerform as "do not give": for a patient on baclofen, a stop with no taper."""
    if not patient.medications_known:
        return False
    route = route_of(request, product).value
    return any(
        c.route == route or c.request.named_by(request.priorPrescription)
        for c in patient.current
        if c.request.id != request.id
    )


def _as_stop(draft: Draft) -> Draft:
    """The order as the stop it is: status stopped, read as a discontinuation order is."""
    raw = {k: v for k, v in draft.raw.items() if k != "doNotPerform"}
    raw["status"] = "stopped"
    return Draft(raw, MedicationRequest.model_validate(raw), draft.selected)


def translate(ctx: OrderContext, prefetched: Prefetched, selected: set[str] | None) -> Translation:
    return Translator(ctx, selected).translate(prefetched)


def authored(request: MedicationRequest) -> tuple[date | None, datetime | None]:
    """The order's date and, with a time zone, its moment; None for what is absent,
    unreadable or more than a year ahead (`authored_gaps` names the latter two)."""
    value = request.authoredOn
    if value is None:
        return None, None
    try:
        if "T" in value:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            on, at = moment.date(), moment if moment.tzinfo else None
        else:
            on, at = date.fromisoformat(value), None
    except ValueError:
        return None, None
    if (on - date.today()).days > MAX_DAYS_AHEAD:
        return None, None
    return on, at


def authored_gaps(request: MedicationRequest, when: date | None) -> tuple[Gap, ...]:
    """An `authoredOn` that was written but not taken (unreadable, or more than a year ahead):
    the check then takes today's date, which the card must say, for the age on the order's
    date (8 years, the 18th birthday) and every interval since an earlier dose are counted
    from it."""
    if request.authoredOn is None or when is not None:
        return ()
    today = date.today().isoformat()
    return (
        gap(
            f"The order's date (authoredOn {request.authoredOn!r}) could not be read, or is "
            f"more than a year after today: the check took today's date ({today}) instead.",
            "order.date",
        ),
    )


def _daily(dose: Dose | None, freq: int | None) -> float | None:
    return Regimen(dose, freq).daily_mg()


def _check(
    draft: Draft,
    product: Product,
    patient: PatientContext,
    medications: Read[list[dict[str, Any]]],
    record: Callable[[], intrathecal.Record],
    signed: list[Signed],
) -> OrderCheck:
    request = draft.request
    label = product.label()
    route = route_of(request, product)
    reading = regimen_of(request, product, route.value, label)
    regimen = reading.value or Regimen(None, None)
    site = regimen.dose.site if regimen.dose else None
    form = form_of(route.value, product, site, label)
    notes: list[Gap] = [*patient.notes, *route.gaps, *reading.gaps, *form.gaps]
    when, moment = authored(request)
    notes += authored_gaps(request, when)
    order: dict[str, Any] = {"route": route.value, "form": form.value}
    if when:
        order["date"] = when.isoformat()
    if moment:
        order["time"] = moment.isoformat()
    dose, freq = regimen.dose, regimen.per_day
    if route.value == "intrathecal":
        # An intrathecal dose is the daily total (or one test bolus): never divided.
        if dose is not None:
            dose = Dose(round(dose.value * (freq or 1), 6), dose.unit, dose.site)
        freq = 1
    if dose is not None:
        order["dose"] = {"value": dose.value, "unit": dose.unit}
    order["frequency_per_day"] = freq
    order["strength"] = _strength(product, site, form.value, route.value)
    action = (
        _oral_action(request, dose, freq, patient, signed)
        if route.value == "oral"
        else _action(request, route.value, dose, freq, patient)
    )
    notes += action.gaps
    order.update(action.value or {})
    if order.get("concurrent"):
        order["concurrent"] = [_plausible_other(o, order, notes) for o in order["concurrent"]]
    if route.value == "intrathecal":
        # What the record holds for it; what it lacks is named in the gaps.
        details = intrathecal.details(
            request, record(), moment, when or date.today(), order["action"] == "stop"
        )
        notes += details.gaps
        order["intrathecal"] = details.value
    notes += medications.gaps
    case = _case(patient, medications.value or [], order, notes)
    # A corrected order is offered only for one plain dose the card can rewrite exactly.
    plain = regimen.dose is not None and not reading.gaps
    site = regimen.dose.site if regimen.dose and plain else None
    entries = regimen.dose.entries if regimen.dose and plain else ()
    return OrderCheck(ref_of(draft.raw), label, draft.raw, case, notes, site, entries)


def _case(
    patient: PatientContext,
    medications: list[dict[str, Any]],
    order: dict[str, Any],
    notes: list[Gap],
) -> Case | None:
    """The Case of every value the Case accepts; each it refuses is named in a gap. Each
    field's own limits come first, then what the Case checks between the patient and the
    order (a birth date after the order date): the order pydantic reports them in."""
    base = {
        k: order[k] for k in ("action", "route", "date", "concurrent") if order.get(k) is not None
    }
    held = ("time", "dose", "strength", "previous", "intrathecal")
    data: dict[str, Any] = {
        "patient": {"conditions": patient.conditions, "medications": medications},
        "order": {k: v for k, v in order.items() if v is not None and k not in held},
    }
    values = {
        "patient.birth_date": patient.birth_date,
        "patient.weight_kg": patient.weight_kg,
        "patient.creatinine_clearance_ml_min": patient.creatinine_clearance_ml_min,
        "patient.egfr_ml_min_1_73m2": patient.egfr_ml_min_1_73m2,
        **{f"order.{k}": order.get(k) for k in held},
    }
    # The intrathecal details are held beside the order's time: their times must precede it.
    timed = {**base, **({"time": order["time"]} if order.get("time") else {})}
    first = {
        path: plausible.held(
            path,
            value,
            (timed if path == "order.intrathecal" else base) if path.startswith("order.") else None,
        )
        for path, value in values.items()
    }
    born = first["patient.birth_date"]
    beside_order = plausible.held("patient.birth_date", born.value, base)
    first["patient.birth_date"] = Read(beside_order.value, born.gaps)
    for path, reading in first.items():
        notes += reading.gaps
        if reading.value is not None:
            top, name = path.split(".")
            data[top][name] = reading.value
    notes += beside_order.gaps
    case = plausible.case_of(data)
    notes += case.gaps
    return case.value


def _plausible_other(
    other: dict[str, Any], order: dict[str, Any], notes: list[Gap]
) -> dict[str, Any]:
    """Another order as the Case takes it: a dose the Case refuses is left out (the rules then
    say its dose is unknown), with a gap naming why."""
    held = plausible.held("order.concurrent", [other])
    if held.value is not None and (other.get("since") or "") <= str(order.get("date") or "~"):
        return other
    notes += held.gaps
    return {k: v for k, v in other.items() if k not in ("dose", "since")}


_MAX_OTHERS = 20  # rules.case.MAX_CONCURRENT


def _others(
    request: MedicationRequest,
    patient: PatientContext,
    signed: list[Signed],
    replaced: set[str],
) -> Read[list[dict[str, Any]]]:
    """The other baclofen orders in effect beside this draft: the current orders no draft of
    the call replaces, and the other drafts of the call (not those that stop an order), each
    linked to this one when they are one prescription (the same groupIdentifier)."""
    group = request.group()
    out: list[dict[str, Any]] = []
    seen = {request.id}
    for other in signed:
        req = other.draft.request
        if req.id in seen or req.status == "stopped":
            continue
        seen.add(req.id)
        regimen = regimen_of(req, other.product, other.route, other.product.label()).value
        out.append(_other(req, other.route, regimen, "draft", group, None))
    when, _ = authored(request)
    for current in patient.current:
        req = current.request
        if req.id in seen or req.ref in replaced:
            continue
        if when is not None and current.until is not None and current.until < when.isoformat():
            continue  # it ended before this order: not beside it
        seen.add(req.id)
        status = "draft" if req.status == "draft" else "active"
        out.append(_other(req, current.route, current.regimen, status, group, current.since))
    if len(out) <= _MAX_OTHERS:
        return Read(out)
    return Read(
        out[:_MAX_OTHERS],
        (
            gap(
                f"The patient has {len(out)} other baclofen orders; the first {_MAX_OTHERS} "
                "were added to this one: check the total daily dose by hand."
            ),
        ),
    )


def _other(
    request: MedicationRequest,
    route: str | None,
    regimen: Regimen | None,
    status: str,
    group: tuple[str | None, str] | None,
    since: str | None,
) -> dict[str, Any]:
    dose = regimen.dose if regimen else None
    entry: dict[str, Any] = {
        "route": route,
        "status": status,
        "relation": "linked" if group is not None and request.group() == group else "unlinked",
        "dose": {"value": dose.value, "unit": dose.unit} if dose else None,
        "frequency_per_day": regimen.per_day if regimen else None,
        "since": since,
    }
    return {k: v for k, v in entry.items() if v is not None}


def _replaced(request: MedicationRequest, patient: PatientContext) -> list[CurrentOrder]:
    """The current orders this draft replaces: the one its priorPrescription names, and an
    active order with its own id (an edit of that order)."""
    found = []
    for current in patient.current:
        req = current.request
        if req.named_by(request.priorPrescription) or (
            req.id is not None and req.id == request.id and req.status != "draft"
        ):
            found.append(current)
    return found


def _oral_action(
    request: MedicationRequest,
    dose: Dose | None,
    freq: int | None,
    patient: PatientContext,
    signed: list[Signed],
) -> Read[dict[str, Any]]:
    """An oral order beside the patient's other baclofen orders: the one it replaces (its
    priorPrescription, or the active order of the same id) is the previous regimen; the others
    in effect, current and drafted, go to the Case as order.concurrent, where the rules add
    them up and judge a duplicate. A stop that names no order stops the latest oral one (as an
    EHR's discontinue order is written); an order that replaces none beside current oral orders
    is added to them."""
    stop = request.status == "stopped"
    unknown = (
        ()
        if patient.medications_known
        else (
            gap(
                "Without the active medication list this order was checked as a new course (start)."
            ),
        )
    )
    replaced = set()
    for other in signed:
        replaced |= {c.request.ref for c in _replaced(other.draft.request, patient)}
    mine = _replaced(request, patient)
    if not mine and stop:
        oral = sorted(
            (c for c in patient.current if c.route == "oral" and c.request.id != request.id),
            key=lambda c: c.since or "",
        )
        mine = oral[-1:]
        replaced |= {c.request.ref for c in mine}
    others = _others(request, patient, signed, replaced | {c.request.ref for c in mine})
    out: dict[str, Any] = {"concurrent": others.value or None}
    if mine:
        current = max(mine, key=lambda c: c.since or "")
        prev_dose, prev_freq = current.regimen.dose, current.regimen.per_day
        previous = {
            "dose": {"value": prev_dose.value, "unit": prev_dose.unit} if prev_dose else None,
            "frequency_per_day": prev_freq,
            "since": current.since,
        }
        out["previous"] = {k: v for k, v in previous.items() if v is not None}
        if stop:
            out["action"] = "stop"
        else:
            now, before = _daily(dose, freq), _daily(prev_dose, prev_freq)
            same_per_kg = (
                dose is not None
                and prev_dose is not None
                and dose.per_kg
                and prev_dose.per_kg
                and dose.value == prev_dose.value
            )
            same = (same_per_kg or (now is not None and now == before)) and freq == prev_freq
            out["action"] = "continue" if same else "change"
        return Read(out, others.gaps)
    active = any(
        o.get("status") == "active" and o.get("route") == "oral" for o in others.value or []
    )
    out["action"] = "stop" if stop else ("add" if active else "start")
    return Read(out, (*unknown, *others.gaps))


def _strength(
    product: Product, site: DoseSite | None, form: str | None, route: str | None
) -> dict[str, Any] | None:
    """The product's strength as the Case takes it: the one the dose was converted with, else
    the product's only strength per tablet (tablets) or per mL (solutions)."""
    strength = site.strength if site is not None else None
    if strength is None:
        per = {"tablet": "unit", "oral_solution": "mL", "intrathecal": "mL"}.get(form or "")
        fitting = {s for s in product.strengths() if per is None or s.per == per}
        strength = fitting.pop() if len(fitting) == 1 else None
    if strength is None:
        return None
    value, unit = (strength.mg * 1000, "ug") if route == "intrathecal" else (strength.mg, "mg")
    return {
        "value": round(value, 6),
        "unit": unit,
        "per": "tablet" if strength.per == "unit" else "mL",
    }


def _action(
    request: MedicationRequest,
    route: str | None,
    dose: Dose | None,
    freq: int | None,
    patient: PatientContext,
) -> Read[dict[str, Any]]:
    """start, change or continue, from the current baclofen orders of the same route."""
    action = "stop" if request.status == "stopped" else "start"
    if not patient.medications_known:
        return Read(
            {"action": action},
            (
                gap(
                    "Without the active medication list this order was checked as a new course "
                    "(start)."
                ),
            ),
        )
    same_route = []
    for current in patient.current:
        if current.request.id == request.id:
            continue
        is_prior = current.request.named_by(request.priorPrescription)
        if current.route == route or is_prior:
            same_route.append((is_prior, current.since or "", current))
    if not same_route:
        return Read({"action": action})
    same_route.sort(key=lambda x: (x[0], x[1]))
    _, since, current = same_route[-1]
    prev_dose, prev_freq = current.regimen.dose, current.regimen.per_day
    if route == "intrathecal" and prev_dose is not None:
        prev_dose = Dose(prev_dose.value * (prev_freq or 1), prev_dose.unit, None)
        prev_freq = 1
    previous = {
        "dose": {"value": prev_dose.value, "unit": prev_dose.unit} if prev_dose else None,
        "frequency_per_day": prev_freq,
        "since": since or None,
    }
    previous = {k: v for k, v in previous.items() if v is not None}
    if action == "stop":
        return Read({"action": "stop", "previous": previous})
    now, before = _daily(dose, freq), _daily(prev_dose, prev_freq)
    if now is not None and now == before and freq == prev_freq:
        return Read({"action": "continue"})
    return Read({"action": "change", "previous": previous})
