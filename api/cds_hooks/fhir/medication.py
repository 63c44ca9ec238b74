"""What an order's medication is: baclofen or not, its name on the card, its strength, and the
entry it makes on the co-medication list. The medication may be a CodeableConcept, a contained,
bundled, prefetched or fetched Medication, or only a reference's display.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from api.cds_hooks import terminology as t
from api.cds_hooks.fhir.elements import CodeableConcept, Coding, Ratio
from api.cds_hooks.fhir.findings import entry_findings
from api.cds_hooks.fhir.resources import Medication, MedicationRequest
from api.cds_hooks.order_check import MG_PER, Strength
from rules import code_sets
from rules.case import MAX_TEXT, normalise_unit
from rules.code_validation import clean


def clip(text: str | None) -> str | None:
    """Text as the Case takes it: trimmed, at most MAX_TEXT characters, None when blank."""
    if text is None or not text.strip():
        return None
    return text.strip()[:MAX_TEXT]


@dataclass(frozen=True)
class Product:
    """The medication of an order: its concept, and the Medication resource when there was
    one (its form and ingredients say more)."""

    concept: CodeableConcept
    resource: Medication | None = None

    def texts(self) -> list[str]:
        out = self.concept.texts()
        for coding in self.concept.coding:
            if coding.system == t.RXNORM and coding.code in t.BACLOFEN_PRODUCTS:
                out.append(t.BACLOFEN_PRODUCTS[coding.code])
        if self.resource is not None and self.resource.form is not None:
            out += self.resource.form.texts()
        return out

    def codings(self) -> list[Coding]:
        out = list(self.concept.coding)
        for ingredient in self.resource.ingredient if self.resource else ():
            if ingredient.itemCodeableConcept is not None:
                out += ingredient.itemCodeableConcept.coding
        return out

    def is_baclofen(self) -> bool:
        codings = self.codings()
        for coding in codings:
            code = clean(coding.code or "")  # NFKC: a full-width code is the code
            system = code_sets.code_system(coding.system)
            if system in ("rxnorm", None) and (
                code == t.BACLOFEN_INGREDIENT or code in t.BACLOFEN_PRODUCTS
            ):
                return True
            if system == "atc" and code.upper() == t.BACLOFEN_ATC:
                return True
        return any(
            t.BACLOFEN_WORDS.search(text)
            for text in self.texts() + [c.display or "" for c in codings]
        )

    def label(self) -> str:
        texts = [x for x in self.texts() if t.BACLOFEN_WORDS.search(x)] or self.texts()
        return texts[0].strip() if texts else "Baclofen"

    def strengths(self) -> set[Strength]:
        """Every strength the product states: its ingredients' ratios and the strengths in its
        names ("10 MG Oral Tablet", "5 MG/5ML")."""
        found = set()
        for ingredient in self.resource.ingredient if self.resource else ():
            s = _strength_of_ratio(ingredient.strength)
            if s:
                found.add(s)
        for text in self.texts():
            s = _strength_of_text(text)
            if s:
                found.add(s)
        return {Strength(round(s.mg, 6), s.per) for s in found}

    def entry(self) -> dict[str, Any]:
        """Its entry on the co-medication list, one per drug so that one drug is one finding:
        the first of its codings (the concept's, then its ingredients'; RxNorm, then ATC, then
        the others) or of its names in which the rules find a CNS depressant. A product code
        the rules do not list (an RxNorm clinical drug) beside a coded ingredient, or beside a
        display in another system, is then read by what names the drug. Else, as before, its
        RxNorm coding (or first coding), named by that coding's display or the text."""
        codings = self.codings()
        ranked = sorted(
            codings,
            key=lambda c: {"rxnorm": 0, "atc": 1}.get(code_sets.code_system(c.system) or "", 2),
        )
        text = clip(self.concept.text)
        candidates: list[dict[str, str | None]] = [
            {"system": clip(c.system), "code": clip(c.code), "display": clip(c.display) or text}
            for c in ranked
        ] + [{"display": name} for name in dict.fromkeys(clip(x) for x in self.texts()) if name]
        for candidate in candidates:
            found = {k: v for k, v in candidate.items() if v}
            if found and "cns_depressant" in entry_findings(
                "medication", tuple(sorted(found.items()))
            ):
                return dict(found)
        first = ranked[0] if ranked else Coding()
        coding = first if code_sets.code_system(first.system) in ("rxnorm", "atc") else None
        coding = coding or (codings[0] if codings else Coding())
        entry = {
            "system": clip(coding.system),
            "code": clip(coding.code),
            "display": clip(coding.display) or text,
        }
        if not (entry["code"] or entry["display"]):
            entry["display"] = "unnamed medication"
        return {k: v for k, v in entry.items() if v}


def _strength_of_ratio(ratio: Ratio | None) -> Strength | None:
    if ratio is None or ratio.numerator is None:
        return None
    num, den = ratio.numerator, ratio.denominator
    try:
        unit = normalise_unit(num.code or num.unit)
    except ValueError:
        return None
    if num.value is None:
        return None
    mg = float(num.value) * MG_PER[unit]
    per_value = float(den.value) if den is not None and den.value is not None else 1.0
    den_unit = ((den.code or den.unit or "") if den is not None else "").strip().lower()
    if mg <= 0 or per_value <= 0:
        return None
    if den_unit in t.VOLUME_UNITS_ML:
        return Strength(mg / (per_value * t.VOLUME_UNITS_ML[den_unit]), "mL")
    if den_unit in t.COUNT_UNITS or den_unit in ("", "1", "{unit}"):
        return Strength(mg / per_value, "unit")
    return None


def _strength_of_text(text: str) -> Strength | None:
    match = t.STRENGTH.search(text)
    if not match:
        return None
    unit = normalise_unit(match["unit"].lower().replace("mcg", "ug").replace("µg", "ug"))
    mg = float(match["value"]) * MG_PER[unit]
    if match["per_unit"]:
        per = float(match["per"] or 1) * t.VOLUME_UNITS_ML[match["per_unit"].lower()]
        return Strength(mg / per, "mL") if per > 0 and mg > 0 else None
    return Strength(mg, "unit") if mg > 0 else None


# ---- where the medication is ------------------------------------------------------------------


def relative(reference: str) -> str:
    """'https://ehr/fhir/Medication/1' and 'Medication/1' name the same resource."""
    parts = reference.rstrip("/").split("/")
    return "/".join(parts[-2:]) if len(parts) >= 2 else reference


def index(resources: Iterable[dict[str, Any]]) -> dict[str, Medication]:
    """The Medication resources among `resources`, by "Medication/id"."""
    return {
        f"Medication/{m.id}": m
        for m in (
            Medication.model_validate(r)
            for r in resources
            if r.get("resourceType") == "Medication" and r.get("id")
        )
    }


def fetched(resources: Mapping[str, dict[str, Any]]) -> dict[str, Medication]:
    """Medication resources fetched from the FHIR server, by the reference that named them."""
    return {ref: Medication.model_validate(r) for ref, r in resources.items()}


def product_of(request: MedicationRequest, known: Mapping[str, Medication]) -> Product | None:
    """The order's medication, or None when nothing names it."""
    concept = request.medicationCodeableConcept
    if concept is not None and (concept.coding or concept.text):
        return Product(concept)
    ref = request.medicationReference
    if ref is None:
        return None
    target = ref.reference or ""
    if target.startswith("#"):
        resource = request.contained_medication(target[1:])
    else:
        resource = known.get(relative(target))
    if resource is not None and resource.code is not None:
        return Product(resource.code, resource)
    if ref.display is not None and ref.display.strip():
        return Product(CodeableConcept(text=ref.display), resource)
    return None


def missing_references(
    requests: Iterable[MedicationRequest], known: Mapping[str, Any]
) -> list[str]:
    """The Medication resources the orders reference that no one sent."""
    wanted: list[str] = []
    for request in requests:
        target = request.medicationReference.reference or "" if request.medicationReference else ""
        rel = relative(target)
        if (
            target
            and not target.startswith("#")
            and rel.startswith("Medication/")
            and (rel not in known and rel not in wanted)
        ):
            wanted.append(rel)
    return wanted
