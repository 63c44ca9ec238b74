"""How many doses a day a dosage instruction gives: from Timing.repeat (frequency per period,
times of day, events), else from the timing code (HL7 GTS abbreviations: BID, Q6H, ...).
"""

from __future__ import annotations

import math

from api.cds_hooks import terminology as t
from api.cds_hooks.fhir.elements import Dosage, TimingRepeat
from api.cds_hooks.fhir.reading import Read, gap


def _given(repeat: TimingRepeat, first: str, then: str, default: float) -> float | None:
    """The first of two elements that was sent (the default when neither was); None when the
    one sent cannot be read: a number we cannot read is not taken for the default."""
    for name in (first, then):
        if name in repeat.model_fields_set:
            value = getattr(repeat, name)
            return None if value is None else float(value)
    return default


def per_day(dosage: Dosage) -> Read[int]:
    timing = dosage.timing
    if timing is None:
        return Read()
    repeat = timing.repeat
    count: float | None = None
    if repeat is not None and (repeat.period is not None or repeat.periodUnit is not None
                               or "period" in repeat.model_fields_set):
        hours = t.PERIOD_HOURS.get((repeat.periodUnit or "").lower())
        frequency = _given(repeat, "frequencyMax", "frequency", 1)
        period = _given(repeat, "periodMax", "period", 1)
        if hours is not None and frequency is not None and period is not None and period != 0:
            count = frequency * 24 / (period * hours)
    elif repeat is not None and (repeat.timeOfDay or repeat.when):
        count = len(repeat.timeOfDay or repeat.when)
    if count is None:
        code = timing.code
        for coding in code.coding if code else ():
            key = (coding.code or "").upper()
            if key in t.TIMING_CODES_PER_DAY:
                return Read(t.TIMING_CODES_PER_DAY[key])
        text = next(iter(code.texts()), "").strip().upper() if code else ""
        if text in t.TIMING_CODES_PER_DAY:
            return Read(t.TIMING_CODES_PER_DAY[text])
        if (repeat is not None and repeat.given()) or (code is not None and code.given()):
            return Read(None, (gap("The dosing schedule could not be read as doses per day: "
                                   "the daily-dose checks could not run.",
                                   "order.frequency_per_day"),))
        return Read()
    if not math.isfinite(count) or abs(count - round(count)) > 1e-6 or not (
            1 <= round(count) <= 24):
        return Read(None, (gap(f"The schedule gives {count:.3g} doses a day, not a whole "
                               "number from 1 to 24: the daily-dose checks could not run.",
                               "order.frequency_per_day"),))
    return Read(round(count))
