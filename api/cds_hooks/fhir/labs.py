"""Observations: the latest body weight, creatinine clearance and eGFR, and the pregnancy
status, each from its LOINC codes (terminology.py): a result under any code of a set counts,
whichever prefetch key or query brought it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, time

from api.cds_hooks import terminology as t
from api.cds_hooks.fhir.moments import moment
from api.cds_hooks.fhir.reading import Read, gap, read_as
from api.cds_hooks.fhir.resources import Observation


def latest(observations: Iterable[Observation], codes: Iterable[str]) -> Observation | None:
    """The latest result under the codes, by the instant it was taken (offsets compared: 23:30
    at UTC-5 is after 01:00 the same night at UTC+1); a date alone counts from its midnight
    UTC; one without a readable time sorts first."""
    wanted = set(codes)
    best, best_key = None, _NEVER
    for obs in observations:
        if obs.status in t.OBSERVATION_EXCLUDED or obs.code is None:
            continue
        if not any(c.code in wanted for c in obs.code.coding):
            continue
        key = _when(obs.when())
        if best is None or key > best_key:
            best, best_key = obs, key
    return best


_NEVER = (datetime.min.replace(tzinfo=UTC), "")


def _when(text: str) -> tuple[datetime, str]:
    read = moment(text)
    if read is None:
        return (_NEVER[0], text)
    if read.instant is not None:
        return (read.instant, text)
    assert read.day is not None
    return (datetime.combine(read.day, time(), UTC), text)


def weight_kg(observations: Iterable[Observation]) -> Read[float]:
    obs = latest(observations, [t.BODY_WEIGHT])
    if obs is None:
        return Read()
    q = obs.valueQuantity
    if q is None or q.value is None:
        return Read(
            None,
            (
                gap(
                    "The latest body weight has no value: the weight was not used.",
                    "patient.weight_kg",
                ),
            ),
        )
    code, text = (q.code or "").strip(), (q.unit or "").strip()
    ucum = bool(code) and (q.system is None or q.system.rstrip("/") == t.UCUM)
    by_code, by_text = _to_kg(code) if ucum else None, _to_kg(text)
    if by_code is not None and by_text is not None and by_code != by_text:
        # 44 "lb" coded kg: 20 kg or 44 kg, and the tablet limit of 33 kg lies between.
        return Read(
            None,
            (
                gap(
                    f"The latest body weight is written {float(q.value):g} {text!r} with the "
                    f"unit code {code!r}: the two disagree, and which one was recorded is "
                    "unknown, so the weight was not used.",
                    "patient.weight_kg",
                ),
            ),
        )
    # The UCUM code (or one with no system), else the unit text: an EHR's own unit code
    # (SNOMED CT's 258683005 beside "kg") says no more than the text it is shown as.
    unit = code if ucum else (text or code)
    factor = _to_kg(unit)
    if factor is None:
        return Read(
            None,
            (
                gap(
                    f"The body weight unit {unit!r} is not one we read: the weight was not used.",
                    "patient.weight_kg",
                ),
            ),
        )
    kg = round(float(q.value) * factor, 3)
    # Which weight, and how old: the cards that check it say so, for the prescriber to judge
    # whether it is still the child's.
    on = obs.when()[:10]
    told = f"recorded {on} (the latest)" if on else "the latest, recorded with no date"
    return Read(kg, (read_as(f"Weight {kg:g} kg, {told}.", "patient.weight_kg"),))


def _to_kg(unit: str) -> float | None:
    return t.WEIGHT_TO_KG.get(unit) or t.WEIGHT_TO_KG.get(unit.lower())


def renal(observations: Iterable[Observation], codes: Iterable[str], label: str) -> Read[float]:
    obs = latest(observations, codes)
    if obs is None:
        return Read()
    q = obs.valueQuantity
    if q is None or q.value is None:
        return Read(None, (gap(f"The latest {label} has no numeric value: it was not used."),))
    unit = (q.code or q.unit or "").strip()
    key = unit.replace(" ", "").lower()
    factor = next((f for start, f in t.RENAL_UNITS_ML_MIN if key.startswith(start)), None)
    if factor is None:
        return Read(None, (gap(f"The {label} unit {unit!r} is not one we read: it was not used."),))
    ml_min = float(q.value) * factor
    if q.comparator == "<":
        ml_min -= 0.01  # "<15" is below 15: read at the bound it lies under, not on it
    return Read(round(ml_min, 3))
