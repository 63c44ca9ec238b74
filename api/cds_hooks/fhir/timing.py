"""How many doses a day a dosage instruction gives, at most: from Timing.repeat (frequency
per period, times of day, events), else from the timing code (HL7 GTS abbreviations such as
BID or Q6H, and the text EHRs write: "Nightly", "At Bedtime", "every 12 (twelve) hours",
"q4hr"). A range ("every 4 to 6 hours", frequencyMax, periodMax) is read at its most frequent
end: the daily dose checked is the most the order allows.
"""

from __future__ import annotations

import math
import re

from api.cds_hooks import terminology as t
from api.cds_hooks.fhir.elements import CodeableConcept, Dosage, TimingRepeat
from api.cds_hooks.fhir.reading import Read, gap, read_as
from api.cds_hooks.order_check import Gap


def _whole(count: float, written: str) -> Read[int]:
    if (
        not math.isfinite(count)
        or abs(count - round(count)) > 1e-6
        or not (1 <= round(count) <= 24)
    ):
        return Read(
            None,
            (
                gap(
                    f"The schedule{written} gives {count:.3g} doses a day, not a "
                    "whole number from 1 to 24: the daily-dose checks could not "
                    "run.",
                    "order.frequency_per_day",
                ),
            ),
        )
    return Read(round(count))


def _every(hours: float, written: str) -> Read[int]:
    """One dose every `hours`: the most doses that fall in 24 hours. Every 5 h is 4.8 doses a
    day on average and 5 in a day that starts with a dose, as the daily-dose checks take it,
    said. Only from 2 doses a day: every 16 h read as 2 would pass a division check (2-4
    doses a day) that its 1.5 fails, so it stays unread."""
    count = 24 / hours if hours > 0 else math.inf
    if not math.isfinite(count) or abs(count - round(count)) <= 1e-6 or not 2 <= count <= 24:
        return _whole(count, written)
    most = math.ceil(count)
    return Read(
        most,
        (
            read_as(
                f"The schedule{written} gives {count:.3g} doses a day on average: the "
                f"daily-dose checks were run on {most}, the most that fall in 24 hours."
            ),
        ),
    )


def _ranged(most: Read[int], least: float, written: str, top: float) -> Read[int]:
    """The most frequent end of a range (`top` doses a day, read as `most`), said in a gap
    when the range is one."""
    if most.value is None or abs(least - top) < 1e-6:
        return most
    return Read(
        most.value,
        (
            *most.gaps,
            read_as(
                f"The schedule is a range ({written}): the daily-dose checks were run on its most "
                f"frequent end, {most.value} doses a day."
            ),
        ),
    )


_NUMBERS = ("frequency", "frequencyMax", "period", "periodMax")


def _of_repeat(repeat: TimingRepeat) -> Read[int] | None:
    """Doses a day from frequency per period; None when the repeat gives no period. A number
    sent but not readable is not taken for the default: the schedule is then not read."""
    if (
        repeat.period is None
        and repeat.periodUnit is None
        and ("period" not in repeat.model_fields_set)
    ):
        return None
    hours = t.PERIOD_HOURS.get((repeat.periodUnit or "").lower())
    sent = {n: getattr(repeat, n) for n in _NUMBERS if n in repeat.model_fields_set}
    if hours is None or None in sent.values():
        return Read()
    frequencies = [float(sent[n]) for n in ("frequency", "frequencyMax") if n in sent] or [1.0]
    periods = [float(sent[n]) for n in ("period", "periodMax") if n in sent] or [1.0]
    low, high, short, long = min(frequencies), max(frequencies), min(periods), max(periods)
    if not short or not long:
        return Read()
    most = high * 24 / (short * hours)
    least = low * 24 / (long * hours)
    written = _written(low, high, short, long, repeat.periodUnit or "")
    # One dose at a fixed interval of hours or minutes ("every 5 h"): the doses that fall in
    # 24 hours. Several per period, or a period of days, say nothing of how they are spaced.
    interval = high == 1 and hours < 24
    shortest = _written(1, 1, short, short, repeat.periodUnit or "")
    reading = _every(short * hours, f" ({shortest})") if interval else _whole(most, "")
    return _ranged(reading, least, written, most)


def _written(low: float, high: float, short: float, long: float, unit: str) -> str:
    """ "every 4-6 h", "2-3 times a day": a range as the prescriber wrote it."""
    times = (
        ""
        if high == low == 1
        else (f"{low:g}-{high:g} times " if high != low else f"{low:g} times ")
    )
    if short == long == 1 and unit in _PER_ONE:
        return times + _PER_ONE[unit]
    return times + (
        f"every {short:g}-{long:g} {unit}" if long != short else f"every {short:g} {unit}"
    )


_PER_ONE = {"d": "a day", "h": "an hour", "wk": "a week"}


def _plain(text: str) -> str:
    """Timing text as matched: upper case, no dots, no number words in brackets ("every 12
    (twelve) hours"), no "PRN" or "as needed" (as_needed() reads that)."""
    text = re.sub(r"\([A-Z ]+\)", " ", text.upper().replace(".", ""))
    return " ".join(t.AS_NEEDED_TEXT.sub("", text).split())


def _of_text(text: str) -> Read[int] | None:
    plain = _plain(text)
    if plain in t.TIMING_CODES_PER_DAY:
        return Read(t.TIMING_CODES_PER_DAY[plain])
    times = t.TIMES_A_DAY.match(plain)
    if times:
        return _whole(float(times["n"]), f" {text.strip()!r}")
    every = t.EVERY_HOURS.match(plain)
    if every:
        short = float(every["h"])
        long = float(every["h_max"] or short)
        if not short or not long:
            return None
        return _ranged(_every(short, f" {text.strip()!r}"), 24 / long, text.strip(), 24 / short)
    return None


def _of_code(code: CodeableConcept) -> Read[int] | None:
    """Doses a day from a timing code: its codings, else its texts. When they disagree
    (`BID` coded, "QID" written), the most any of them gives, said."""
    readings: list[tuple[Read[int], str]] = []
    for coding in code.coding:
        key = (coding.code or "").upper()
        if key in t.TIMING_CODES_PER_DAY:
            readings.append((Read(t.TIMING_CODES_PER_DAY[key]), f"the timing code {key!r}"))
    for text in code.texts():
        read = _of_text(text)
        if read is not None and read.value is not None:
            readings.append((read, f"its text {text!r}"))
        elif read is not None and not readings:
            return read  # written but unreadable, and nothing coded: said by its gaps
    return _most(readings) if readings else None


def as_needed(dosage: Dosage) -> bool:
    """Taken as needed: asNeededBoolean, a reason to take it (asNeededCodeableConcept), or
    "PRN" in the timing's text."""
    if dosage.asNeededBoolean is True or dosage.asNeededCodeableConcept is not None:
        return True
    code = dosage.timing.code if dosage.timing else None
    return code is not None and any(t.AS_NEEDED_TEXT.search(x.upper()) for x in code.texts())


# Timing.when events that happen once a day (HL7 v3 TimingEvent, FHIR event-timing): one
# dose each. The generic meal events (C, AC, PC) are not among them.
_DAILY_EVENTS = frozenset(
    {
        "MORN", "MORN.early", "MORN.late", "NOON", "AFT", "AFT.early", "AFT.late", "EVE",
        "EVE.early", "EVE.late", "NIGHT", "PHS", "HS", "WAKE", "CM", "CD", "CV", "ACM",
        "ACD", "ACV", "PCM", "PCD", "PCV",
    }
)  # fmt: skip


# The generic meal events, when nothing else says how many doses a day: one dose a meal, three
# meals a day (the daily-dose checks take the most the order may mean). With a frequency they
# only say when the doses fall ("once a day before a meal").
_MEALS = {"C": "with meals", "AC": "before meals", "PC": "after meals"}
MEALS_PER_DAY = 3


def _by_events(events: list[str]) -> Read[int]:
    """Doses a day from Timing.when alone: one per event, three for a meal event."""
    meals = [w for w in events if w in _MEALS]
    count = sum(MEALS_PER_DAY if w in _MEALS else 1 for w in events)
    if not meals:
        return Read(count)
    named = ", ".join(f"{w!r} ({_MEALS[w]})" for w in dict.fromkeys(meals))
    return Read(
        count,
        (
            read_as(
                f"The schedule gives no number of doses a day; {named} was read as one dose at "
                f"each of {MEALS_PER_DAY} meals: the daily-dose checks were run on {count} "
                "doses a day."
            ),
        ),
    )


def _most(readings: list[tuple[Read[int], str]]) -> Read[int]:
    """The most doses a day any part of the schedule gives; when the parts disagree (a
    frequency of 3 a day beside four times of day, QID beside a frequency of 3), that they
    do is said: the daily dose checked is the most the order allows."""
    values = {r.value for r, _ in readings}
    best = max(readings, key=lambda rl: rl[0].value or 0)[0]
    gaps = tuple(g for r, _ in readings for g in r.gaps)
    if len(values) == 1:
        return Read(best.value, gaps)
    parts = ", ".join(f"{label} {r.value}" for r, label in readings)
    return Read(
        best.value,
        (
            *gaps,
            read_as(
                f"The schedule's parts disagree on the doses a day ({parts}): the daily-dose "
                f"checks were run on the most, {best.value} doses a day."
            ),
        ),
    )


def _code_label(code: CodeableConcept) -> str:
    words = [c.code for c in code.coding if c.code] + list(code.texts())
    return f"the timing code {words[0]!r}" if words else "the timing code"


def per_day(dosage: Dosage) -> Read[int]:
    timing = dosage.timing
    if timing is None:
        return Read()
    repeat, code = timing.repeat, timing.code
    by_repeat = _of_repeat(repeat) if repeat is not None else None
    if by_repeat is not None and by_repeat.value is None and by_repeat.gaps:
        return by_repeat  # numbers sent but not readable: said, never replaced by the rest
    times = (repeat.timeOfDay or repeat.when) if repeat is not None else []
    by_times = Read(len(times)) if times else None
    # Clock times and once-a-day events count doses; a meal event ("C", "AC") may be three.
    counted = bool(repeat and repeat.timeOfDay) or all(w in _DAILY_EVENTS for w in times)
    by_code = _of_code(code) if code is not None else None
    readings = [
        (reading, label)
        for reading, label in (
            (by_repeat, "its frequency per period"),
            (by_times if counted else None, "its times of day"),
            (by_code, _code_label(code) if code is not None else ""),
        )
        if reading is not None and reading.value is not None
    ]
    if readings:
        return _most(readings)
    if by_times is not None:
        return _by_events([w for w in times if w])
    if by_code is not None:
        return by_code
    only_prn = (
        code is not None
        and not any(_plain(x) for x in code.texts())
        and any(t.AS_NEEDED_TEXT.search(x.upper()) for x in code.texts())
    )
    schedules = repeat is not None and bool(
        repeat.model_fields_set - {"boundsPeriod"} or repeat.model_extra
    )
    if only_prn and not schedules:
        return Read()  # "PRN" and nothing else: as_needed() says what that means
    if (repeat is not None and repeat.given()) or (code is not None and code.given()):
        return Read(None, (_UNREADABLE,))
    return Read()


_UNREADABLE: Gap = gap(
    "The dosing schedule could not be read as doses per day: the daily-dose checks could not run.",
    "order.frequency_per_day",
)
