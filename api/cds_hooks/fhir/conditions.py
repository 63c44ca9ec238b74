"""Problem-list entries: each Condition with its statuses, and the pregnancy status
observation, as the Case's `patient.conditions` entries. What a past, refuted or unconfirmed
entry means for each finding is the rules' call (rules/code_sets.py), not this module's.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from api.cds_hooks import terminology as t
from api.cds_hooks.fhir.elements import CodeableConcept
from api.cds_hooks.fhir.labs import latest
from api.cds_hooks.fhir.medication import clip
from api.cds_hooks.fhir.resources import Condition, Observation
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


def condition_entries(
    conditions: Iterable[Condition], pregnancy: Iterable[Observation]
) -> list[dict[str, Any]]:
    """Every Condition with its statuses, once. An abatement stands for a past clinical status when
    the resource gives none (FHIR con-4 makes an abated condition inactive, resolved or in
    remission); beside an explicit active, recurrence or relapse status it does not silence
    the entry. The latest pregnancy status answer is an entry too: the rules' code sets
    decide what it means ("Pregnant" vs "Not pregnant")."""
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
    status = latest(pregnancy, [t.PREGNANCY_STATUS])
    if status is not None:
        out += coding_entries(status.valueCodeableConcept)
    return out


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
