"""Hook request + prefetch -> one `rules.case.Case` per baclofen draft order.

Translation only: it reads what the FHIR data say (medication, route, form, dose, timing, age,
conditions, co-medications, weight, renal function) and never fills a gap with a default that
would hide it. What it cannot read becomes a plain-language note, shown to the prescriber as a
card; what the rules need and the Case lacks, the rules answer with MISSING_DATA themselves.
Lenient by design: FHIR R4 and STU3 dose shapes, single objects where lists belong, Bundles
without `type`, `category` as an object, unknown fields and extensions.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from pydantic import ValidationError

from api.cds_hooks import terminology as t
from api.cds_hooks.models import OrderContext, OrderSelectContext
from api.cds_hooks.prefetch import Prefetched
from api.errors import validation_items
from rules import code_sets
from rules.case import MAX_LIST, MAX_TEXT, Case, normalise_unit
from rules.code_validation import clean
from rules.derive import findings_of_entry

MG_PER = {"mg": 1.0, "ug": 0.001, "g": 1000.0}


class Note(str):
    """A plain-language gap for the card, and the Case field it explains (if any): a rule's
    MISSING_DATA about that field is then already said, and better, by the note."""

    field: str | None

    def __new__(cls, text: str, field: str | None = None) -> Note:
        note = super().__new__(cls, text)
        note.field = field
        return note


class SelectionError(ValueError):
    """`selections` names an order that is not in draftOrders."""


def as_list(value: Any) -> list[Any]:
    """FHIR repeats are lists; some EHRs send a single object (e.g. doseAndRate)."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def dig(value: Any, *keys: str) -> Any:
    """value[k1][k2]..., or None where the path is missing or not an object."""
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _texts(concept: Any) -> Iterator[str]:
    if not isinstance(concept, dict):
        return
    if isinstance(concept.get("text"), str):
        yield concept["text"]
    for coding in as_list(concept.get("coding")):
        if isinstance(coding, dict) and isinstance(coding.get("display"), str):
            yield coding["display"]


def _codings(concept: Any) -> Iterator[dict[str, Any]]:
    if isinstance(concept, dict):
        for coding in as_list(concept.get("coding")):
            if isinstance(coding, dict):
                yield coding


def _clip(text: Any) -> str | None:
    if not isinstance(text, str) or not text.strip():
        return None
    return text.strip()[:MAX_TEXT]


def ref_of(resource: dict[str, Any]) -> str:
    rid = resource.get("id")
    return f"{resource.get('resourceType')}/{rid}" if rid else str(resource.get("resourceType"))


# ---- medication -----------------------------------------------------------------------------

@dataclass
class Medication:
    """The medication of an order, wherever it was: CodeableConcept, contained, bundled,
    prefetched or fetched Medication, or only the reference's display."""

    concept: dict[str, Any]
    resource: dict[str, Any] | None = None  # a Medication resource when there was one

    def texts(self) -> list[str]:
        out = list(_texts(self.concept))
        for coding in _codings(self.concept):
            if coding.get("system") == t.RXNORM and str(coding.get("code")) in t.BACLOFEN_PRODUCTS:
                out.append(t.BACLOFEN_PRODUCTS[str(coding["code"])])
        if self.resource is not None:
            out += list(_texts(self.resource.get("form")))
        return out

    def codings(self) -> list[dict[str, Any]]:
        out = list(_codings(self.concept))
        for ingredient in as_list((self.resource or {}).get("ingredient")):
            if isinstance(ingredient, dict):
                out += list(_codings(ingredient.get("itemCodeableConcept")))
        return out

    def is_baclofen(self) -> bool:
        for coding in self.codings():
            code = clean(str(coding.get("code", "")))  # NFKC: a full-width code is the code
            system = code_sets.code_system(coding.get("system"))
            if system in ("rxnorm", None) and (
                    code == t.BACLOFEN_INGREDIENT or code in t.BACLOFEN_PRODUCTS):
                return True
            if system == "atc" and code.upper() == t.BACLOFEN_ATC:
                return True
        return any(t.BACLOFEN_WORDS.search(text) for text in self.texts()
                   + [str(c.get("display", "")) for c in self.codings()])

    def label(self) -> str:
        texts = [x for x in self.texts() if t.BACLOFEN_WORDS.search(x)] or self.texts()
        return texts[0].strip() if texts else "Baclofen"


def _index(resources: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out = {}
    for res in resources:
        if isinstance(res, dict) and res.get("resourceType") == "Medication" and res.get("id"):
            out[f"Medication/{res['id']}"] = res
    return out


def _bundle_resources(bundle: Any) -> list[dict[str, Any]]:
    if not isinstance(bundle, dict):
        return []
    if bundle.get("resourceType") != "Bundle":
        return [bundle]
    return [e["resource"] for e in as_list(bundle.get("entry"))
            if isinstance(e, dict) and isinstance(e.get("resource"), dict)]


def medication_of(request: dict[str, Any], known: dict[str, dict[str, Any]]
                  ) -> Medication | None:
    concept = request.get("medicationCodeableConcept")
    if isinstance(concept, dict) and (concept.get("coding") or concept.get("text")):
        return Medication(concept)
    ref = request.get("medicationReference")
    if not isinstance(ref, dict):
        return None
    target = str(ref.get("reference") or "")
    resource = None
    if target.startswith("#"):
        for contained in as_list(request.get("contained")):
            if isinstance(contained, dict) and contained.get("id") == target[1:]:
                resource = contained
    else:
        resource = known.get(_relative(target))
    if resource is not None and isinstance(resource.get("code"), dict):
        return Medication(resource["code"], resource)
    if isinstance(ref.get("display"), str) and ref["display"].strip():
        return Medication({"text": ref["display"]}, resource)
    return None


def _relative(reference: str) -> str:
    """'https://ehr/fhir/Medication/1' and 'Medication/1' name the same resource."""
    parts = reference.rstrip("/").split("/")
    return "/".join(parts[-2:]) if len(parts) >= 2 else reference


def _references_missing(resources: Iterable[dict[str, Any]], known: dict[str, Any]
                        ) -> list[str]:
    wanted: list[str] = []
    for res in resources:
        ref = res.get("medicationReference")
        target = str(ref.get("reference") or "") if isinstance(ref, dict) else ""
        rel = _relative(target)
        if target and not target.startswith("#") and rel.startswith("Medication/") and (
                rel not in known and rel not in wanted):
            wanted.append(rel)
    return wanted


def wanted_references(ctx: OrderContext, prefetched: Prefetched) -> list[str]:
    """Medication references in the active medication list that no one sent."""
    actives = _bundle_resources(prefetched.data.get("medications"))
    known = {**_index(ctx.resources() + actives), **prefetched.resources}
    return _references_missing(actives, known)


def triage(ctx: OrderContext, supplied: dict[str, Any] | None, selected: set[str] | None,
           fetched: dict[str, dict[str, Any]]) -> tuple[bool, list[str]]:
    """(is any order to check baclofen, the Medication references still to fetch), before
    any patient data is gathered: a call without baclofen costs no FHIR request."""
    extra = _bundle_resources((supplied or {}).get("medications"))
    known = {**_index(ctx.resources() + extra), **fetched}
    drafts = [r for r in _drafts(ctx) if selected is None or _is_selected(r, selected)]
    meds = [medication_of(r, known) for r in drafts]
    if any(m is not None and m.is_baclofen() for m in meds):
        return True, []
    return False, _references_missing([r for r, m in zip(drafts, meds, strict=True)
                                       if m is None], known)


# ---- strength, route, form -------------------------------------------------------------------

@dataclass(frozen=True)
class Strength:
    mg: float
    per: Literal["unit", "mL"]  # per tablet (or other unit) or per mL

    def describe(self) -> str:
        return f"{self.mg:g} mg per {'tablet' if self.per == 'unit' else 'mL'}"


def _strength_from_ratio(ratio: Any) -> Strength | None:
    if not isinstance(ratio, dict):
        return None
    num, den = ratio.get("numerator"), ratio.get("denominator") or {}
    if not isinstance(num, dict) or not isinstance(den, dict):
        return None
    try:
        unit = normalise_unit(num.get("code") or num.get("unit"))
        mg = float(num["value"]) * MG_PER[unit]
        per_value = float(den.get("value", 1))
    except (KeyError, TypeError, ValueError):
        return None
    den_unit = str(den.get("code") or den.get("unit") or "").strip().lower()
    if mg <= 0 or per_value <= 0:
        return None
    if den_unit in t.VOLUME_UNITS_ML:
        return Strength(mg / (per_value * t.VOLUME_UNITS_ML[den_unit]), "mL")
    if den_unit in t.COUNT_UNITS or den_unit in ("", "1", "{unit}"):
        return Strength(mg / per_value, "unit")
    return None


def _strength_from_text(text: str) -> Strength | None:
    match = t.STRENGTH.search(text)
    if not match:
        return None
    unit = normalise_unit(match["unit"].lower().replace("mcg", "ug").replace("µg", "ug"))
    mg = float(match["value"]) * MG_PER[unit]
    if match["per_unit"]:
        per = float(match["per"] or 1) * t.VOLUME_UNITS_ML[match["per_unit"].lower()]
        return Strength(mg / per, "mL") if per > 0 and mg > 0 else None
    return Strength(mg, "unit") if mg > 0 else None


def strengths(med: Medication) -> set[Strength]:
    found = set()
    for ingredient in as_list((med.resource or {}).get("ingredient")):
        if isinstance(ingredient, dict):
            s = _strength_from_ratio(ingredient.get("strength"))
            if s:
                found.add(s)
    for text in med.texts():
        s = _strength_from_text(text)
        if s:
            found.add(s)
    return {Strength(round(s.mg, 6), s.per) for s in found}


def _route_of_text(text: str) -> str | None:
    whole = text.strip().lower()
    if whole in t.ROUTE_ABBREVIATIONS:
        return t.ROUTE_ABBREVIATIONS[whole]
    hits = {route for pattern, route in t.ROUTE_WORDS if pattern.search(text)}
    return hits.pop() if len(hits) == 1 else None


def route_of_concept(concept: Any) -> tuple[str | None, str | None]:
    """(route, the text we could not interpret)."""
    for coding in _codings(concept):
        if str(coding.get("code", "")).strip() in t.ROUTE_CODES and coding.get("system") in (
                t.SNOMED, None):
            return t.ROUTE_CODES[str(coding["code"]).strip()], None
    texts = list(_texts(concept))
    for text in texts:
        route = _route_of_text(text)
        if route:
            return route, None
    return None, (texts[0] if texts else None)


def form_of_texts(texts: Iterable[str]) -> str | None:
    for text in texts:
        for pattern, form in t.FORM_WORDS:
            if pattern.search(text):
                return form
    return None


# ---- dose and timing -------------------------------------------------------------------------

@dataclass
class DoseSite:
    """Where the dose sits in the draft order and how it was written, so that a card can
    return the corrected order in the prescriber's own unit."""

    instruction: int
    dose_and_rate: int | None  # None: STU3 `dosageInstruction.doseQuantity`
    kind: Literal["mass", "count", "volume"]
    unit: str  # mass: mg, ug or g; count: tablets; volume: mL
    strength: Strength | None  # count, volume; for mass, the tablet strength when known


@dataclass
class Dose:
    value: float  # per administration, in `unit`
    unit: str  # mg, ug or g
    site: DoseSite | None


def _quantity_dose(q: Any, strength: set[Strength], route: str | None, instruction: int,
                   dar: int | None, notes: list[str], label: str) -> Dose | None:
    if not isinstance(q, dict):
        return None
    try:
        value = float(q["value"])
    except (KeyError, TypeError, ValueError):
        notes.append(Note("The dose has no number: the dose checks could not run.", "order.dose"))
        return None
    if not math.isfinite(value) or value <= 0:
        notes.append(Note(f"The dose value {q.get('value')!r} is not a positive number: the dose "
                          "checks could not run.", "order.dose"))
        return None
    raw_unit = str(q.get("code") or q.get("unit") or "").strip()
    unit_key = raw_unit.lower()
    try:
        mass = normalise_unit(raw_unit)
        per_tablet = {x for x in strength if x.per == "unit"}
        return Dose(value, mass, DoseSite(instruction, dar, "mass", mass,
                                          per_tablet.pop() if len(per_tablet) == 1 else None))
    except ValueError:
        pass
    if unit_key in t.COUNT_UNITS or unit_key in t.VOLUME_UNITS_ML:
        per: Literal["unit", "mL"] = "unit" if unit_key in t.COUNT_UNITS else "mL"
        kind: Literal["count", "volume"] = "count" if per == "unit" else "volume"
        factor = 1.0 if per == "unit" else t.VOLUME_UNITS_ML[unit_key]
        fitting = {s for s in strength if s.per == per}
        written = f"{value:g} {raw_unit}"
        if len(fitting) != 1:
            if fitting:
                why = "is ambiguous (" + ", ".join(sorted(x.describe() for x in fitting)) + ")"
            elif strength:
                why = "is given per " + ("mL" if per == "unit" else "tablet") + ", not per " + (
                    "tablet" if per == "unit" else "mL")
            else:
                why = "could not be determined"
            notes.append(Note(
                f"The dose is written as {written}, and the strength of '{label}' {why}: the "
                "dose in mg is unknown, so the dose checks could not run. Order the dose in mg, "
                "or a product with its strength.", "order.dose"))
            return None
        s = fitting.pop()
        mg = round(value * factor * s.mg, 6)
        site = DoseSite(instruction, dar, kind, "mL" if per == "mL" else raw_unit, s)
        # Intrathecal doses are micrograms: converting a volume to mg would read as "written
        # in mg" to the unit checks.
        if route == "intrathecal":
            return Dose(round(mg * 1000, 3), "ug", site)
        return Dose(mg, "mg", site)
    notes.append(Note(f"The dose unit {raw_unit or '(none)'!r} is not one we can convert to mg: "
                      "the dose checks could not run.", "order.dose"))
    return None


def _rate_dose(dar: dict[str, Any], notes: list[str]) -> tuple[Dose, int] | None:
    """An infusion rate (intrathecal pumps): the daily amount, given once a day."""
    rate = dar.get("rateQuantity")
    if isinstance(rate, dict):
        unit = str(rate.get("code") or rate.get("unit") or "")
        mass, _, per = unit.partition("/")
        hours = t.PERIOD_HOURS.get(per.strip().lower().replace("day", "d").replace("hr", "h"))
        try:
            value = float(rate["value"])
            mass_unit = normalise_unit(mass)
        except (KeyError, TypeError, ValueError):
            mass_unit, value = "", 0.0
        if mass_unit and hours and value > 0:
            return Dose(round(value * 24 / hours, 6), mass_unit, None), 1
    ratio = dar.get("rateRatio")
    if isinstance(ratio, dict) and isinstance(ratio.get("denominator"), dict):
        den = ratio["denominator"]
        hours = t.PERIOD_HOURS.get(str(den.get("code") or den.get("unit") or "").lower())
        try:
            num = ratio["numerator"]
            value = float(num["value"]) / float(den.get("value", 1))
            mass_unit = normalise_unit(num.get("code") or num.get("unit"))
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            hours = None
        if hours and value > 0:
            return Dose(round(value * 24 / hours, 6), mass_unit, None), 1
    if rate is not None or ratio is not None:
        notes.append(Note("The infusion rate could not be converted to a daily amount: the dose "
                          "checks could not run.", "order.dose"))
    return None


def per_day(dosage: dict[str, Any], notes: list[str]) -> int | None:
    timing = dosage.get("timing")
    if not isinstance(timing, dict):
        return None
    repeat = timing.get("repeat") if isinstance(timing.get("repeat"), dict) else {}
    count: float | None = None
    frequency = repeat.get("frequencyMax", repeat.get("frequency"))
    if repeat.get("period") is not None or repeat.get("periodUnit") is not None:
        hours = t.PERIOD_HOURS.get(str(repeat.get("periodUnit", "")).lower())
        try:
            period = float(repeat.get("periodMax", repeat.get("period", 1)))
            count = float(frequency if frequency is not None else 1) * 24 / (period * hours)
        except (TypeError, ValueError, ZeroDivisionError):
            count = None
        if hours is None:
            count = None
    elif as_list(repeat.get("timeOfDay")) or as_list(repeat.get("when")):
        count = len(as_list(repeat.get("timeOfDay")) or as_list(repeat.get("when")))
    if count is None:
        for coding in _codings(timing.get("code")):
            code = str(coding.get("code", "")).upper()
            if code in t.TIMING_CODES_PER_DAY:
                return t.TIMING_CODES_PER_DAY[code]
        text = next(iter(_texts(timing.get("code"))), "").strip().upper()
        if text in t.TIMING_CODES_PER_DAY:
            return t.TIMING_CODES_PER_DAY[text]
        if repeat or timing.get("code"):
            notes.append(Note("The dosing schedule could not be read as doses per day: the "
                              "daily-dose checks could not run.", "order.frequency_per_day"))
        return None
    if not math.isfinite(count) or abs(count - round(count)) > 1e-6 or not (
            1 <= round(count) <= 24):
        notes.append(Note(f"The schedule gives {count:.3g} doses a day, not a whole number "
                          "from 1 to 24: the daily-dose checks could not run.",
                          "order.frequency_per_day"))
        return None
    return round(count)


@dataclass
class Regimen:
    dose: Dose | None
    per_day: int | None
    notes: list[str]


def _dose_and_rates(dosage: dict[str, Any]) -> list[tuple[int | None, dict[str, Any]]]:
    dars = [d for d in as_list(dosage.get("doseAndRate")) if isinstance(d, dict)]
    if not dars:
        return [(None, dosage)]  # STU3: doseQuantity/doseRange/rate[x] on the dosage itself
    ordered = [(n, d) for n, d in enumerate(dars)
               if any(c.get("code") == "ordered" for c in _codings(d.get("type")))]
    return ordered or list(enumerate(dars))


def _zero_amount(dar: dict[str, Any]) -> bool:
    """A dose or infusion rate of 0: how EHRs write a discontinuation."""
    ratio = dar.get("rateRatio")
    for q in (dar.get("doseQuantity"), dar.get("rateQuantity"),
              ratio.get("numerator") if isinstance(ratio, dict) else None):
        if isinstance(q, dict) and "value" in q:
            try:
                return float(q["value"]) == 0
            except (TypeError, ValueError):
                return False
    return False


def regimen(request: dict[str, Any], med: Medication, route: str | None, label: str
            ) -> Regimen:
    notes: list[str] = []
    # A stopped (discontinued: v2 order status DC) order written with a dose or rate of 0
    # says "no more", not "0 mg": no dose to read, and no note that it could not be read.
    stopping = request.get("status") == "stopped"
    strength = strengths(med)
    dosages = [(n, d) for n, d in enumerate(as_list(request.get("dosageInstruction")))
               if isinstance(d, dict)]
    sequences = sorted({d["sequence"] for _, d in dosages if isinstance(d.get("sequence"), int)})
    if len(sequences) > 1:
        first = sequences[0]
        notes.append(f"The order has {len(sequences)} sequential dosage steps; only the first "
                     "was checked. Check the later steps against the maxima.")
        dosages = [(n, d) for n, d in dosages if d.get("sequence") == first]
    parts: list[tuple[Dose, int | None]] = []
    for n, dosage in dosages:
        for dar_index, dar in _dose_and_rates(dosage):
            if stopping and _zero_amount(dar):
                break
            if isinstance(dar.get("doseQuantity"), dict):
                dose = _quantity_dose(dar["doseQuantity"], strength, route, n, dar_index, notes,
                                      label)
            elif isinstance(dar.get("doseRange"), dict) and dar["doseRange"].get("high"):
                dose = _quantity_dose(dar["doseRange"]["high"], strength, route, n, None, notes,
                                      label)
                if dose is not None:
                    dose.site = None  # a corrected order would have to rewrite the range
                    notes.append("The dose is a range; its upper value was checked.")
            else:
                rated = _rate_dose(dar, notes)
                if rated is None:
                    continue
                parts.append(rated)
                break
            if dose is not None:
                parts.append((dose, per_day(dosage, notes)))
            break
    if not parts:
        # The schedule is still worth knowing (division checks) when the amount is not.
        freq = per_day(dosages[0][1], []) if len(dosages) == 1 else None
        return Regimen(None, freq, notes)
    if len(parts) == 1:
        dose, freq = parts[0]
        return Regimen(dose, freq, notes)
    # Concurrent instructions (e.g. 10 mg morning, 20 mg night): one regimen of their sum.
    if any(f is None for _, f in parts):
        return Regimen(None, None, notes)
    total_mg = sum(d.value * MG_PER[d.unit] * (f or 1) for d, f in parts)
    count = sum(f or 1 for _, f in parts)
    if count > 24:
        notes.append(Note("The dosage instructions add up to more than 24 doses a day: the "
                          "daily-dose checks could not run.", "order.dose"))
        return Regimen(None, None, notes)
    return Regimen(Dose(round(total_mg / count, 6), "mg", None), count, notes)


# ---- the order -------------------------------------------------------------------------------

@dataclass
class OrderCheck:
    """One baclofen draft order, translated."""

    ref: str
    label: str
    resource: dict[str, Any]
    case: Case | None
    notes: list[str] = field(default_factory=list)
    dose_site: DoseSite | None = None


@dataclass
class Translation:
    checks: list[OrderCheck]
    unidentified: list[str]  # medication orders whose drug could not be identified


def _authored(request: dict[str, Any]) -> tuple[date | None, datetime | None]:
    value = request.get("authoredOn")
    if not isinstance(value, str):
        return None, None
    try:
        if "T" in value:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return moment.date(), moment if moment.tzinfo else None
        return date.fromisoformat(value), None
    except ValueError:
        return None, None


def _birth_date(patient: dict[str, Any] | None, notes: list[str]) -> str | None:
    value = (patient or {}).get("birthDate")
    if not isinstance(value, str):
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return value
    partial = re.fullmatch(r"(\d{4})(?:-(\d{2}))?", value)
    if not partial:
        notes.append(Note(f"The birth date {value!r} could not be read.", "patient.birth_date"))
        return None
    year, month = int(partial[1]), int(partial[2] or 12)
    if not 1 <= month <= 12:
        return None
    # The youngest the patient can be: the stricter paediatric limits apply near a boundary.
    day = calendar.monthrange(year, month)[1]
    notes.append(f"The birth date is given only as {value}: the age was taken as the youngest "
                 f"it can be (born {year}-{month:02d}-{day:02d}).")
    return f"{year}-{month:02d}-{day:02d}"


def _latest(resources: Iterable[dict[str, Any]], codes: Iterable[str]) -> dict[str, Any] | None:
    wanted = set(codes)
    best, best_key = None, ""
    for res in resources:
        if res.get("resourceType") != "Observation" or res.get("status") in (
                t.OBSERVATION_EXCLUDED):
            continue
        if not any(c.get("code") in wanted for c in _codings(res.get("code"))):
            continue
        when = (res.get("effectiveDateTime") or dig(res, "effectivePeriod", "end")
                or res.get("effectiveInstant") or res.get("issued") or "")
        if best is None or str(when) > best_key:
            best, best_key = res, str(when)
    return best


def _quantity_value(obs: dict[str, Any]) -> tuple[float, str, str] | None:
    q = obs.get("valueQuantity")
    if not isinstance(q, dict):
        return None
    try:
        value = float(q["value"])
    except (KeyError, TypeError, ValueError):
        return None
    unit = str(q.get("code") or q.get("unit") or "").strip()
    return value, unit, str(q.get("comparator") or "")


def _weight_kg(resources: list[dict[str, Any]], notes: list[str]) -> float | None:
    obs = _latest(resources, [t.BODY_WEIGHT])
    if obs is None:
        return None
    read = _quantity_value(obs)
    if read is None:
        notes.append(Note("The latest body weight has no value: the weight was not used.",
                          "patient.weight_kg"))
        return None
    value, unit, _ = read
    factor = t.WEIGHT_TO_KG.get(unit) or t.WEIGHT_TO_KG.get(unit.lower())
    if factor is None:
        notes.append(Note(f"The body weight unit {unit!r} is not one we read: the weight was not "
                          "used.", "patient.weight_kg"))
        return None
    return round(value * factor, 3)


def _renal(resources: list[dict[str, Any]], codes: Iterable[str], label: str,
           notes: list[str]) -> float | None:
    obs = _latest(resources, codes)
    if obs is None:
        return None
    read = _quantity_value(obs)
    if read is None:
        notes.append(f"The latest {label} has no numeric value: it was not used.")
        return None
    value, unit, comparator = read
    key = unit.replace(" ", "").lower()
    if key.startswith("ml/min"):
        ml_min = value
    elif key.startswith("ml/s"):
        ml_min = value * 60
    else:
        notes.append(f"The {label} unit {unit!r} is not one we read: it was not used.")
        return None
    if comparator == "<":
        ml_min -= 0.01  # "<15" is below 15: read at the bound it lies under, not on it
    return round(ml_min, 3)


def _status(element: Any, known: frozenset[str]) -> str | None:
    """A Condition status as a code we know: R4 CodeableConcept or STU3 code."""
    codes = [element] if isinstance(element, str) else [c.get("code") for c in _codings(element)]
    return next((str(c).strip().lower() for c in codes
                 if isinstance(c, str) and c.strip().lower() in known), None)


def _abated(res: dict[str, Any]) -> bool:
    """Whether the Condition says it has abated (any abatement[x]; STU3 abatementBoolean). A
    date still ahead (an expected end) is not an abatement yet."""
    if res.get("abatementBoolean") is True:
        return True
    for key in ("abatementDateTime", "abatementPeriod", "abatementAge", "abatementRange",
                "abatementString"):
        value = res.get(key)
        if value in (None, "", {}):
            continue
        when = value if key == "abatementDateTime" else (
            dig(value, "start") or dig(value, "end") if key == "abatementPeriod" else None)
        if isinstance(when, str) and when[:10] > date.today().isoformat():
            return False
        return True
    return False


def _conditions(prefetched: Prefetched) -> list[dict[str, Any]]:
    """Every Condition with its statuses: what a past, refuted or unconfirmed entry means for
    each finding is the rules' call (rules/code_sets.py). An abatement stands for a past
    clinical status when the resource gives none (FHIR con-4 makes an abated condition
    inactive, resolved or in remission); beside an explicit active, recurrence or relapse
    status it does not silence the entry."""
    out: list[dict[str, Any]] = []
    for res in _bundle_resources(prefetched.data.get("conditions")):
        if res.get("resourceType") != "Condition":
            continue
        clinical = _status(res.get("clinicalStatus"), t.CONDITION_CLINICAL)
        if clinical is None and _abated(res):
            clinical = "resolved"
        verification = _status(res.get("verificationStatus"), t.CONDITION_VERIFICATION)
        statuses = {k: v for k, v in (("clinical_status", clinical),
                                      ("verification_status", verification)) if v}
        out += [{**entry, **statuses} for entry in _coding_entries(res.get("code"))]
    pregnancy = _latest(_bundle_resources(prefetched.data.get("pregnancy")),
                        [t.PREGNANCY_STATUS])
    if pregnancy is not None:
        # The rules' code sets decide what the answer means ("Pregnant" vs "Not pregnant").
        out += _coding_entries(pregnancy.get("valueCodeableConcept"))
    return out  # every entry: _within_cap decides what a long list can spare


def _coding_entries(concept: Any, kind: str = "condition") -> list[dict[str, Any]]:
    """One entry per coding with a code, each carrying all the concept's text (its codings'
    displays and its text): a code the rules cannot place (a SNOMED CT concept outside their
    lists, an unspecific ICD-10 code) leaves the decision to the text, which must then be the
    concept's whole text. Codings in a system the rules do not read, or with a malformed code,
    are dropped when another coding of the concept has a code they read: they add nothing;
    when none has, they are kept and reported (MISSING_DATA)."""
    texts: list[str] = []
    for text in [*(c.get("display") for c in _codings(concept)),
                 concept.get("text") if isinstance(concept, dict) else None]:
        clipped = _clip(text)
        if clipped and not any(clipped.lower() in kept.lower() for kept in texts):
            texts = [kept for kept in texts if kept.lower() not in clipped.lower()] + [clipped]
    display = _clip("; ".join(texts))
    entries = []
    for coding in _codings(concept):
        code = _clip(str(coding.get("code", "")))
        if code:
            entries.append({k: v for k, v in (("system", _clip(coding.get("system"))),
                                              ("code", code), ("display", display)) if v})
    coded = [e for e in entries if code_sets.read_entry(
        kind, e.get("system"), e.get("code"), None).coded]
    if coded or entries:
        return coded or entries
    return [{"display": display}] if display else []


def _medication_entry(med: Medication) -> dict[str, Any]:
    """One entry per medication: its RxNorm coding (or first coding) named by the coding's
    display or the text, so one drug is one finding."""
    codings = med.codings()
    coding = next((c for system in ("rxnorm", "atc") for c in codings
                   if code_sets.code_system(c.get("system")) == system),
                  codings[0] if codings else {})
    text = _clip(med.concept.get("text"))
    entry = {"system": _clip(coding.get("system")), "code": _clip(str(coding.get("code", ""))),
             "display": _clip(coding.get("display")) or text}
    if not (entry["code"] or entry["display"]):
        entry["display"] = "unnamed medication"
    return {k: v for k, v in entry.items() if v}


_LISTS = {"condition": ("problem list", "seizure-disorder, renal, pregnancy and alcohol"),
          "medication": ("active medication list", "CNS-depressant")}


def _within_cap(kind: Literal["condition", "medication"], entries: list[dict[str, Any]],
                notes: list[str]) -> list[dict[str, Any]]:
    """A list the Case takes (at most MAX_LIST entries). A longer one is scanned whole and
    cut to the entries the rules read, by the rules' own derivations
    (rules.derive.findings_of_entry): each with a finding, then each that cannot be screened.
    If even those are too many, a note says how many were not screened: never a silent cut."""
    if len(entries) <= MAX_LIST:
        return entries
    distinct = list({tuple(sorted(e.items())): e for e in entries}.values())
    read = [(e, {f["finding"] for f in findings_of_entry(kind, e)}) for e in distinct]
    kept = [e for e, found in read if found - {"unscreened_entry"}]
    kept += [e for e, found in read if found == {"unscreened_entry"}]
    if len(kept) > MAX_LIST:
        name, checks = _LISTS[kind]
        notes.append(f"The {name} has {len(entries):,} entries, {len(kept):,} of them for the "
                     f"{checks} checks (or not readable); a check takes {MAX_LIST:,}, so "
                     f"{len(kept) - MAX_LIST:,} were not screened. Review them by hand.")
    return kept[:MAX_LIST]


def _current(res: dict[str, Any]) -> bool:
    return res.get("resourceType") == "MedicationRequest" and str(
        res.get("status", "active")) in t.MEDICATION_REQUEST_CURRENT


@dataclass
class _Scene:
    """Everything about the patient the orders are checked against."""

    patient: dict[str, Any]
    notes: list[str]
    actives: list[tuple[dict[str, Any], Medication]]  # current baclofen orders
    others: list[dict[str, Any]]  # co-medication entries (Case.Coding shape)
    medications_known: bool


def _scene(ctx: OrderContext, prefetched: Prefetched, known: dict[str, dict[str, Any]]
           ) -> _Scene:
    notes = prefetched.gap_notes()
    patient_res = next((r for r in _bundle_resources(prefetched.data.get("patient"))
                        if r.get("resourceType") == "Patient"), None)
    observations = [r for key in ("weight", "crcl", "egfr")
                    for r in _bundle_resources(prefetched.data.get(key))]
    patient = {
        "birth_date": _birth_date(patient_res, notes),
        "weight_kg": _weight_kg(observations, notes),
        "creatinine_clearance_ml_min": _renal(observations, [t.CREATININE_CLEARANCE],
                                              "creatinine clearance", notes),
        "egfr_ml_min_1_73m2": _renal(observations, t.EGFR, "eGFR", notes),
        "conditions": _within_cap("condition", _conditions(prefetched), notes),
    }
    actives, others = [], []
    for res in _bundle_resources(prefetched.data.get("medications")):
        if not _current(res):
            continue
        med = medication_of(res, known)
        if med is None:
            continue
        if med.is_baclofen():
            actives.append((res, med))
        else:
            others.append(_medication_entry(med))
    # A partial list that already shows baclofen still tells start from change.
    known = "medications" in prefetched.data and (
        "medications" not in prefetched.gaps or bool(actives))
    return _Scene({k: v for k, v in patient.items() if v is not None}, notes, actives, others,
                  medications_known=known)


def _daily_mg(dose: Dose | None, freq: int | None) -> float | None:
    if dose is None or freq is None:
        return None
    return round(dose.value * MG_PER[dose.unit] * freq, 6)


def _since(res: dict[str, Any]) -> str | None:
    starts = [dig(d, "timing", "repeat", "boundsPeriod", "start")
              for d in as_list(res.get("dosageInstruction"))]
    for value in [*starts, res.get("authoredOn")]:
        if isinstance(value, str) and re.match(r"\d{4}-\d{2}-\d{2}", value):
            return value[:10]
    return None


def _route(request: dict[str, Any], med: Medication, notes: list[str]) -> str | None:
    routes, unread = set(), []
    for dosage in as_list(request.get("dosageInstruction")):
        if isinstance(dosage, dict) and dosage.get("route") is not None:
            route, text = route_of_concept(dosage["route"])
            if route:
                routes.add(route)
            elif text:
                unread.append(text)
    if len(routes) > 1:
        notes.append(Note("The dosage instructions give different routes ("
                          + ", ".join(sorted(routes)) + "): the route-specific checks could not "
                          "run.", "order.route"))
        return None
    if routes:
        return routes.pop()
    if unread:
        notes.append(Note(f"The route {unread[0]!r} is not one we recognise (oral, intrathecal, "
                          "intravenous, intramuscular, subcutaneous, epidural).", "order.route"))
        return None
    texts = med.texts()
    product_route = {r for x in texts for r in [_route_of_text(x)] if r in ("oral", "intrathecal")}
    if len(product_route) == 1:
        return product_route.pop()
    if form_of_texts(texts) in ("tablet", "oral_solution", "granules"):
        return "oral"  # a tablet, oral solution or granules product is taken by mouth
    return None


def _form(route: str | None, med: Medication, site: DoseSite | None, notes: list[str],
          label: str) -> str | None:
    if route == "intrathecal":
        return "intrathecal"
    form = form_of_texts(med.texts())
    if form is None and site is not None:
        form = {"count": "tablet", "volume": "oral_solution" if route == "oral" else None}.get(
            site.kind)
    if route == "oral" and form == "intrathecal":
        notes.append(f"'{label}' is an intrathecal product but the route is oral: check the "
                     "product and the route.")
        return None
    if route == "oral" and form is None and t.PARENTERAL_PRODUCT.search(" ".join(med.texts())):
        return None
    return form


def translate(ctx: OrderContext, prefetched: Prefetched, selected: set[str] | None
              ) -> Translation:
    """One OrderCheck per baclofen MedicationRequest (the selected ones for order-select);
    every other draft order is context: a co-medication, never a card."""
    extra = _bundle_resources(prefetched.data.get("medications"))
    known = {**_index(ctx.resources() + extra), **prefetched.resources}
    scene = _scene(ctx, prefetched, known)
    drafts = _drafts(ctx)
    meds = {id(r): medication_of(r, known) for r in drafts}
    pending = [_medication_entry(m) for r in drafts for m in [meds[id(r)]]
               if m is not None and not m.is_baclofen()]
    checks, unidentified = [], []
    for request in drafts:
        ref = ref_of(request)
        if selected is not None and not _is_selected(request, selected):
            continue
        med = meds[id(request)]
        if med is None:
            unidentified.append(ref)
            continue
        if med.is_baclofen():
            checks.append(_check(request, med, scene, pending))
    return Translation(checks, unidentified)


def _drafts(ctx: OrderContext) -> list[dict[str, Any]]:
    return [r for r in ctx.resources() if r.get("resourceType") == "MedicationRequest"
            and r.get("status") not in ("entered-in-error", "cancelled")]


def _is_selected(resource: dict[str, Any], selected: set[str]) -> bool:
    return ref_of(resource) in selected or str(resource.get("id")) in selected


def selections(ctx: OrderContext) -> set[str] | None:
    """The order-select `selections`, each of which must name a draft order."""
    if not isinstance(ctx, OrderSelectContext):
        return None
    refs = {ref_of(r) for r in ctx.resources()} | {str(r.get("id")) for r in ctx.resources()}
    for n, sel in enumerate(ctx.selections):
        if sel not in refs:
            raise SelectionError(f"context.selections[{n}] {sel!r} is not an order in "
                                 "context.draftOrders")
    return set(ctx.selections)


def _check(request: dict[str, Any], med: Medication, scene: _Scene,
           pending: list[dict[str, Any]]) -> OrderCheck:
    label = med.label()
    notes = list(scene.notes)
    route = _route(request, med, notes)
    reg = regimen(request, med, route, label)
    notes += reg.notes
    form = _form(route, med, reg.dose.site if reg.dose else None, notes, label)
    authored_date, authored_time = _authored(request)
    order: dict[str, Any] = {"route": route, "form": form}
    if authored_date:
        order["date"] = authored_date.isoformat()
    if authored_time:
        order["time"] = authored_time.isoformat()
    dose, freq = reg.dose, reg.per_day
    if route == "intrathecal":
        # An intrathecal dose is the daily total (or one test bolus): never divided.
        if dose is not None:
            dose = Dose(round(dose.value * (freq or 1), 6), dose.unit, dose.site)
        freq = 1
    if dose is not None:
        order["dose"] = {"value": dose.value, "unit": dose.unit}
    strength = reg.dose.site.strength if reg.dose and reg.dose.site else None
    if strength is not None:  # the product's strength: suggested doses in half tablets
        order["strength"] = {"value": strength.mg, "unit": "mg",
                             "per": "tablet" if strength.per == "unit" else "mL"}
    order["frequency_per_day"] = freq
    order.update(_action(request, route, dose, freq, scene, notes))
    if route == "intrathecal" and order["action"] != "stop":
        notes.append(Note("An order does not carry the intrathecal phase, pump, screening doses "
                          "or dose history: the screening, first-infusion, titration and "
                          "pump-malfunction checks could not run. Check them against the pump "
                          "record.", "order.intrathecal"))
    medications = _within_cap("medication", scene.others + pending, notes)
    data = {"patient": {**scene.patient, "medications": medications},
            "order": {k: v for k, v in order.items() if v is not None}}
    case = _validated(data, notes)
    # A corrected order is offered only for one plain dose the card can rewrite exactly.
    site = reg.dose.site if reg.dose and not reg.notes else None
    return OrderCheck(ref_of(request), label, request, case, notes, site)


def _action(request: dict[str, Any], route: str | None, dose: Dose | None, freq: int | None,
            scene: _Scene, notes: list[str]) -> dict[str, Any]:
    """start, change or continue, from the current baclofen orders of the same route."""
    if request.get("status") == "stopped":
        action = "stop"
    else:
        action = "start"
    if not scene.medications_known:
        notes.append("Without the active medication list this order was checked as a new "
                     "course (start).")
        return {"action": action}
    prior = str(dig(request, "priorPrescription", "reference") or "")
    same_route = []
    for res, med in scene.actives:
        if res.get("id") == request.get("id"):
            continue
        label = med.label()
        their_route = _route(res, med, [])
        reg = regimen(res, med, their_route, label)
        if their_route == route or prior.endswith(ref_of(res)):
            same_route.append((prior.endswith(ref_of(res)), _since(res) or "", res, reg))
    if not same_route:
        return {"action": action}
    same_route.sort(key=lambda x: (x[0], x[1]))
    _, since, _, reg = same_route[-1]
    prev_dose, prev_freq = reg.dose, reg.per_day
    if route == "intrathecal" and prev_dose is not None:
        prev_dose = Dose(prev_dose.value * (prev_freq or 1), prev_dose.unit, None)
        prev_freq = 1
    previous = {"dose": {"value": prev_dose.value, "unit": prev_dose.unit} if prev_dose else None,
                "frequency_per_day": prev_freq, "since": since or None}
    previous = {k: v for k, v in previous.items() if v is not None}
    if action == "stop":
        return {"action": "stop", "previous": previous}
    now, before = _daily_mg(dose, freq), _daily_mg(prev_dose, prev_freq)
    if now is not None and now == before and freq == prev_freq:
        return {"action": "continue"}
    return {"action": "change", "previous": previous}


_HUMAN = {
    "patient.birth_date": "the birth date", "patient.weight_kg": "the body weight",
    "patient.creatinine_clearance_ml_min": "the creatinine clearance",
    "patient.egfr_ml_min_1_73m2": "the eGFR", "patient.conditions": "a problem-list entry",
    "patient.medications": "a medication entry", "order.dose": "the dose",
    "order.frequency_per_day": "the number of doses a day", "order.time": "the order time",
    "order.date": "the order date", "order.previous": "the current regimen",
    "order.form": "the dose form",
}


def _drop(data: dict[str, Any], path: str) -> str | None:
    """Remove the smallest meaningful piece of data a validation error blames."""
    parts = re.findall(r"[a-z_0-9]+", path)
    if len(parts) < 2 or parts[0] not in ("patient", "order"):
        return None
    top, key = data[parts[0]], parts[1]
    if key in ("conditions", "medications") and len(parts) > 2 and parts[2].isdigit():
        items = top.get(key, [])
        if int(parts[2]) < len(items):
            items.pop(int(parts[2]))
            return f"{parts[0]}.{key}"
        return None
    if key in top and key not in ("action", "route"):
        del top[key]
        return f"{parts[0]}.{key}"
    return None


def _validated(data: dict[str, Any], notes: list[str]) -> Case | None:
    """Data an EHR holds can be implausible (a weight of 500 kg, a birth date after the order):
    such a value is set aside, named in a note, and the rest is checked."""
    for _ in range(10):
        try:
            return Case.model_validate(data)
        except ValidationError as exc:
            dropped = False
            for item in validation_items(exc.errors()):
                piece = _drop(data, item["field"])
                if piece:
                    notes.append(Note(f"Not used: {_HUMAN.get(piece, piece)} "
                                      f"({item['problem']}).", piece))
                    dropped = True
            if not dropped:
                notes.append("The order could not be read into a check: "
                             + "; ".join(i["problem"] for i in validation_items(exc.errors())))
                return None
    return None
