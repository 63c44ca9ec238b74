"""Spasticity scores and withdrawal signs as the record holds them, for the intrathecal
reading: each score with its scale, site, time and grade; each sign with the time it was
observed. Codes and words: intrathecal_terminology.py. What they mean (an effect, a recent
sign) is the rules' reading (rules/intrathecal/response.py, red_flags.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import Field

from api.cds_hooks import intrathecal_terminology as it
from api.cds_hooks import terminology as t
from api.cds_hooks.fhir.elements import CodeableConcept, Element, Many, Number, Opt, Quantity, Text
from api.cds_hooks.fhir.medication import clip
from api.cds_hooks.fhir.moments import Moment, moment
from api.cds_hooks.fhir.reading import Read, gap
from api.cds_hooks.fhir.resources import Condition, Observation, entries
from api.cds_hooks.order_check import Gap

MAS_NOT_ASSESSED = 5.0  # Epic's Modified Ashworth flowsheet value for "not assessed" (CPRN)


class _Valued(Element):
    valueQuantity: Opt[Quantity] = None
    valueInteger: Number = None
    valueString: Text = None
    valueCodeableConcept: Opt[CodeableConcept] = None

    def grade(self) -> float | None:
        """The grade as a number: a quantity or integer, or text such as "1+" or "2 - ..." (a
        string value, or a coded answer's code, display or text)."""
        if self.valueQuantity is not None and self.valueQuantity.value is not None:
            return float(self.valueQuantity.value)
        if self.valueInteger is not None:
            return float(self.valueInteger)
        texts = [self.valueString] if self.valueString else []
        if self.valueCodeableConcept is not None:
            texts += self.valueCodeableConcept.codes() + self.valueCodeableConcept.texts()
        for text in texts:
            match = it.GRADE_TEXT.match(text)
            if match:
                return float(match[1]) + (0.5 if match[2] else 0.0)
        return None


class Component(_Valued):
    code: Opt[CodeableConcept] = None


class ScoreObservation(Observation, _Valued):
    bodySite: Opt[CodeableConcept] = None
    component: Many[Component] = Field(default_factory=list)


class SignCondition(Condition):
    onsetDateTime: Text = None
    recordedDate: Text = None


R = TypeVar("R", "ScoreObservation", "SignCondition")


def _read(model: type[R], kind: str, value: Any) -> list[R]:
    """The resources of one type in a key (a subclass reads more of them than resources.py)."""
    return [model.model_validate(r) for r in entries(value) if r.get("resourceType") == kind]


def instrument(code: CodeableConcept | None) -> str | None:
    """The scale an Observation's code names: by code, else by its words."""
    if code is None:
        return None
    for coding in code.coding:
        found = it.SPASTICITY_SCORE_CODES.get((coding.system or "", (coding.code or "").strip()))
        if found:
            return found
    for text in code.texts():
        for pattern, name in it.SPASTICITY_SCORE_WORDS:
            if pattern.search(text):
                return name
    return None


def _site(concept: CodeableConcept | None) -> str | None:
    if concept is None:
        return None
    texts = concept.texts() + concept.codes()
    return clip(texts[0]) if texts else None


def _when(obs: Observation) -> Moment | None:
    return moment(
        obs.effectiveDateTime
        or (obs.effectivePeriod.start if obs.effectivePeriod else None)
        or obs.effectiveInstant
        or obs.issued
    )


@dataclass(frozen=True)
class Score:
    time: datetime
    instrument: str
    value: float
    site: str | None

    def entry(self) -> dict[str, Any]:
        out = {"time": self.time.isoformat(), "instrument": self.instrument, "value": self.value}
        return {**out, "site": self.site} if self.site else out


def scores(value: Any) -> Read[list[Score]]:
    """Every score of a scale we read: the Observation's own grade, or one per component
    (a muscle group each). A score without a time of day, or whose grade is not 0-4, is not
    used and said in a gap (Epic's "not assessed", 5, quietly)."""
    out: list[Score] = []
    undated = ungraded = 0
    for obs in _read(ScoreObservation, "Observation", value):
        if obs.status in t.OBSERVATION_EXCLUDED:
            continue
        scale = instrument(obs.code)
        if scale is None:
            continue
        when = _when(obs)
        parts: list[tuple[str | None, float | None]] = [(_site(obs.bodySite), obs.grade())]
        parts += [(_site(c.code), c.grade()) for c in obs.component]
        for site, grade in parts:
            if grade is None or grade == MAS_NOT_ASSESSED:
                continue
            if not 0 <= grade <= 4:
                ungraded += 1
            elif when is None or when.instant is None:
                undated += 1
            else:
                out.append(Score(when.instant, scale, grade, site))
    gaps: list[Gap] = []
    if undated:
        gaps.append(
            gap(
                f"{undated} spasticity score(s) have no time of day: they were not compared "
                "with the regimen changes."
            )
        )
    if ungraded:
        gaps.append(gap(f"{ungraded} spasticity score(s) are not a 0-4 grade: not used."))
    return Read(sorted(out, key=lambda s: s.time), tuple(gaps))


@dataclass(frozen=True)
class Sign:
    sign: str
    when: Moment
    ref: str


def _sign_of(concept: CodeableConcept | None) -> str | None:
    if concept is None:
        return None
    for coding in concept.coding:
        if coding.system == t.SNOMED and (coding.code or "").strip() in it.WITHDRAWAL_SIGN_CODES:
            return it.WITHDRAWAL_SIGN_CODES[(coding.code or "").strip()]
    for text in concept.texts():
        found = it.SIGN_WORDS.get(" ".join(text.lower().replace("-", " ").split()))
        if found:
            return found
    return None


def _is_symptom(concept: CodeableConcept | None) -> bool:
    return concept is not None and any(
        (c.system, (c.code or "").strip()) == it.SYMPTOM for c in concept.coding
    )


def signs(conditions: Any, observations: Any) -> list[Sign]:
    """Withdrawal signs the record dates: Conditions (problem-list or encounter entries, by
    onset, else when recorded) and Observations (the finding as the code, or a symptom
    Observation's value). Refuted or mistaken entries are left out."""
    out: list[Sign] = []
    for cond in _read(SignCondition, "Condition", conditions):
        status = cond.verificationStatus
        codes = [status] if isinstance(status, str) else status.codes() if status else []
        if {c.strip().lower() for c in codes} & {"refuted", "entered-in-error"}:
            continue
        sign = _sign_of(cond.code)
        when = moment(cond.onsetDateTime) or moment(cond.recordedDate)
        if sign and when:
            out.append(Sign(sign, when, cond.ref))
    for obs in _read(ScoreObservation, "Observation", observations):
        if obs.status in t.OBSERVATION_EXCLUDED:
            continue
        sign = _sign_of(obs.valueCodeableConcept) if _is_symptom(obs.code) else None
        sign = sign or _sign_of(obs.code)
        when = _when(obs)
        if sign and when:
            out.append(Sign(sign, when, obs.ref))
    return out


def dated(found: Iterable[Sign], at: datetime | None) -> Read[list[dict[str, Any]]]:
    """The signs as the Case's dated_withdrawal_signs. A sign dated by its day only counts as
    observed at the order's time when that day is within the last three days (it may be
    recent: missing data is never read as safe), and a gap says so."""
    out: list[dict[str, Any]] = []
    gaps: list[Gap] = []
    for s in found:
        if s.when.instant is not None:
            out.append({"sign": s.sign, "time": s.when.instant.isoformat()})
        elif at is not None and s.when.day is not None and (at.date() - s.when.day).days <= 3:
            out.append({"sign": s.sign, "time": at.isoformat()})
            gaps.append(
                gap(
                    f"{s.ref} records {s.sign.replace('_', ' ')} on {s.when.day} without a "
                    "time of day: it was counted as within the last 72 hours."
                )
            )
    return Read(out, tuple(gaps))
