"""Problem-list entries: each Condition with its statuses, and the pregnancy status
observation, as the Case's `patient.conditions` entries. What a past, refuted or unconfirmed
entry means for each finding is the rules' call (rules/code_sets.py), not this module's.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from api.cds_hooks import terminology as t
from api.cds_hooks.fhir.elements import CodeableConcept, Coding
from api.cds_hooks.fhir.labs import latest
from api.cds_hooks.fhir.medication import clip
from api.cds_hooks.fhir.reading import Read, gap
from api.cds_hooks.fhir.resources import Condition, Observation
from api.cds_hooks.order_check import Gap
from rules import code_sets


def _status(element: CodeableConcept | str | None, known: frozenset[str]) -> str | None:
    """A Condition status as a code we know: R4 CodeableConcept or STU3 code."""
    if element is None:
        return None
    codes = [element] if isinstance(element, str) else element.codes()
    return next((c.strip().lower() for c in codes if c.strip().lower() in known), None)


def _abated(res: Condition) -> bool:
    """Whether the Condition says it has abated (any abatement[x]; STU3 abatementBoolean). A
    date still ahead (an expected end) is not an abatement yet."""
    if res.abatementBoolean is True:
        return True
    period = res.abatementPeriod
    for value, when in (
        (res.abatementDateTime, res.abatementDateTime),
        (period, (period.start or period.end) if period else None),
        (res.abatementAge, None),
        (res.abatementRange, None),
        (res.abatementString, None),
    ):
        if value is None or value == "" or (not isinstance(value, str) and not value.given()):
            continue
        if isinstance(when, str) and when[:10] > date.today().isoformat():
            return False
        return True
    return False


def condition_entries(conditions: Iterable[Condition]) -> list[dict[str, Any]]:
    """Every Condition with its statuses, once. An abatement stands for a past clinical status when
    the resource gives none (FHIR con-4 makes an abated condition inactive, resolved or in
    remission); beside an explicit active, recurrence or relapse status it does not silence
    the entry."""
    out: list[dict[str, Any]] = []
    seen: set[tuple[Any, ...]] = set()  # a problem recorded again adds nothing
    for res in conditions:
        if res.code is None:
            continue
        clinical = _status(res.clinicalStatus, t.CONDITION_CLINICAL)
        if clinical is None and _abated(res):
            clinical = "resolved"
        verification = _status(res.verificationStatus, t.CONDITION_VERIFICATION)
        key = (res.code.key(), clinical, verification)
        if key in seen:
            continue
        seen.add(key)
        statuses = {
            k: v
            for k, v in (("clinical_status", clinical), ("verification_status", verification))
            if v
        }
        out += [{**entry, **statuses} for entry in coding_entries(res.code)]
    return out


def pregnancy_status(observations: Iterable[Observation]) -> Read[list[dict[str, Any]]]:
    """The latest pregnancy status answer as problem-list entries: the rules' code sets decide
    what it means ("Pregnant" vs "Not pregnant"). Its LOINC answers and a valueBoolean are
    sent as the SNOMED CT concepts they stand for; a status that says nothing we can read
    (no value, "Unknown") is said, for only the problem list was then screened."""
    status = latest(observations, [t.PREGNANCY_STATUS])
    if status is None:
        return Read([])
    value = status.valueCodeableConcept
    if value is not None:
        # "Unknown" beside another coding of the same value ("Pregnant" in SNOMED CT) says
        # nothing the other does not: the other is read, the stricter answer.
        known = [c for c in value.coding if _loinc_answer(c) != t.PREGNANCY_UNKNOWN]
        if len(known) < len(value.coding):
            if not known:
                return Read([], (_unread(status, "is recorded as unknown (LOINC LA4489-6)"),))
            value = CodeableConcept(coding=known, text=value.text)
        answers = [a for a in map(_loinc_answer, value.coding) if a in t.PREGNANCY_ANSWERS]
        extra = [Coding(system=t.SNOMED, code=t.PREGNANCY_ANSWERS[a][0]) for a in answers]
        texts = [t.PREGNANCY_ANSWERS[a][1] for a in answers if not value.texts()]
        concept = CodeableConcept(
            coding=[*value.coding, *extra], text=value.text or "; ".join(texts) or None
        )
        entries = coding_entries(concept)
        if entries:
            return Read(entries)
    if status.valueBoolean is not None:
        code, display = t.PREGNANCY_ANSWERS["LA15173-0" if status.valueBoolean else "LA26683-5"]
        return Read([{"system": t.SNOMED, "code": code, "display": display}])
    written = clip(status.valueString)
    if written:
        return Read([{"display": written}])
    return Read([], (_unread(status, "has no value that could be read"),))


def _loinc_answer(coding: Coding) -> str | None:
    """A LOINC answer code (LA…): with the LOINC system, or with none."""
    system = (coding.system or "").rstrip("/")
    code = (coding.code or "").strip()
    return code if system in ("", t.LOINC) and code.startswith("LA") else None


def _unread(status: Observation, why: str) -> Gap:
    return gap(
        f"The latest pregnancy status ({status.ref}, LOINC {t.PREGNANCY_STATUS}) {why}: only "
        "the problem list was screened for a pregnancy."
    )


def coding_entries(
    concept: CodeableConcept | None, kind: str = "condition"
) -> list[dict[str, Any]]:
    """One entry per coding with a code, each carrying all the concept's text (its codings'
    displays and its text): a code the rules cannot place (a SNOMED CT concept outside their
    lists, an unspecific ICD-10 code) leaves the decision to the text, which must then be the
    concept's whole text. Codings in a system the rules do not read, or with a malformed code,
    are dropped when another coding of the concept has a code they read: they add nothing;
    when none has, they are kept and reported (MISSING_DATA)."""
    if concept is None:
        return []
    texts: list[str] = []
    for text in [*(c.display for c in concept.coding), concept.text]:
        clipped = clip(text)
        if clipped and not any(clipped.lower() in kept.lower() for kept in texts):
            texts = [kept for kept in texts if kept.lower() not in clipped.lower()] + [clipped]
    display = clip("; ".join(texts))
    entries = []
    for coding in concept.coding:
        code = clip(coding.code)
        if code:
            entries.append(
                {
                    k: v
                    for k, v in (
                        ("system", clip(coding.system)),
                        ("code", code),
                        ("display", display),
                    )
                    if v
                }
            )
    coded = [
        e for e in entries if code_sets.read_entry(kind, e.get("system"), e.get("code"), None).coded
    ]
    if coded or entries:
        return coded or entries
    return [{"display": display}] if display else []
