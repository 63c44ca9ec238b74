"""The clinical effect of each regimen of an intrathecal infusion (001, Adult Screening Phase,
Dose-Titration Phase), which the pump red flags read (rules/intrathecal/red_flags.py).

001: "In order to be considered a responder the patient must demonstrate a significant decrease
in muscle tone and/or frequency and/or severity of muscle spasms." "If the dose has been
significantly increased without apparent clinical effect pump function and catheter patency
should be investigated."

When a regimen's clinical effect is recorded (none, partial or adequate), Then that is its
effect.
When it is not, Then it is read from the spasticity scores (Modified Ashworth, Ashworth, Penn
Spasm Frequency: 0-4, lower is better), scale by scale and site by site: the latest score at or
before the change that started the regimen against the latest score after it, before the next
change (for the current regimen, up to the order's time). No effect when, for every scale and
site scored on both sides, the score after is no better (not lower) than before; partial when
one is lower.
When no scale and site is scored on both sides, Then the effect is unknown: never "no effect"
and never a pass. The red flags that need it say which data are missing (MISSING_DATA).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache

from engine import Derivation, c, m
from rules.intrathecal.steps import itb_order
from rules.sources import ADULT_SMPC, Passage
from rules.vocabulary import ItbEffect, ItbRegimen, ItbScores, OrderFact

# The scales read, by the names the Case gives them (rules/case.py SpasticityInstrument).
SCALE_NAMES = {
    "modified_ashworth": "Modified Ashworth Scale",
    "ashworth": "Ashworth Scale",
    "penn_spasm_frequency": "Penn Spasm Frequency Scale",
}

RESPONSE_SOURCE = Passage(
    ADULT_SMPC,
    "In order to be considered a responder the patient must demonstrate a significant decrease "
    "in muscle tone and/or frequency and/or severity of muscle spasms.",
    note="001 defines a response as a decrease in muscle tone (the Ashworth and Modified "
    "Ashworth Scales grade it) or in spasm frequency (the Penn Spasm Frequency Scale). A "
    "regimen without a recorded effect is read as 'no effect' only when a score after its "
    "change is no better than the one before it, on the same scale and site, for every pair "
    "the record has; any lower score is an effect (partial). A score exactly at the time of "
    "a change counts as before it. Without a pair of scores the effect is unknown, which is "
    "neither 'no effect' nor an effect.",
)


Series = tuple[tuple[str, tuple[datetime, ...], tuple[float, ...]], ...]


@lru_cache(maxsize=64)
def _parsed(
    times: tuple[str, ...],
    instruments: tuple[str, ...],
    sites: tuple[str, ...],
    values: tuple[float, ...],
) -> Series:
    """The scores by scale and site (times, then grades), oldest first: parsed once per check,
    not once per regimen (a pure function of the scores)."""
    out: dict[tuple[str, str], list[tuple[datetime, float]]] = {}
    for time, instrument, site, value in zip(times, instruments, sites, values, strict=True):
        out.setdefault((instrument, site), []).append((datetime.fromisoformat(time), value))
    return tuple(
        (key[0], tuple(t for t, _ in sorted(scores)), tuple(v for _, v in sorted(scores)))
        for key, scores in out.items()
    )


def _series(s: ItbScores) -> Series:
    return _parsed(tuple(s.times), tuple(s.instruments), tuple(s.sites), tuple(s.values))


def compare(seq: int, start: str, end: str | None, closed: bool, s: ItbScores) -> ItbEffect:
    """The regimen from `start` to `end` (the next change, or the order's time when `closed`)
    read from the scores: per scale and site, the latest score at or before `start` and the
    latest after it, before `end` (or at it when `closed`)."""
    begin = datetime.fromisoformat(start)
    until = datetime.fromisoformat(end) if end else None
    pairs: list[tuple[str, float, float]] = []
    for instrument, times, grades in _series(s):
        before = bisect_right(times, begin)  # scores at or before the change
        if until is None:
            last = len(times)
        else:
            last = bisect_right(times, until) if closed else bisect_left(times, until)
        if before and last > before:
            pairs.append((instrument, grades[before - 1], grades[last - 1]))
    if not pairs:
        return ItbEffect(seq=seq, effect="unknown")
    better = [p for p in pairs if p[2] < p[1]]
    shown = (better or pairs)[0]
    return ItbEffect(
        seq=seq,
        effect="partial" if better else "none",
        basis="scores",
        instruments=list(dict.fromkeys(SCALE_NAMES[p[0]] for p in (better or pairs))),
        before=shown[1],
        after=shown[2],
        compared=len(pairs),
    )


def recorded(h: ItbRegimen) -> Iterator[ItbEffect]:
    effect = h.effect if h.effect in ("none", "partial", "adequate") else "unknown"
    yield ItbEffect(seq=h.seq, effect=effect, basis="recorded")


def current_from_scores(order: OrderFact, h: ItbRegimen, s: ItbScores) -> Iterator[ItbEffect]:
    yield compare(h.seq, h.time, order.time, True, s)


def earlier_from_scores(h: ItbRegimen, nxt: ItbRegimen, s: ItbScores) -> Iterator[ItbEffect]:
    yield compare(h.seq, h.time, nxt.time, False, s)


_UNRECORDED = (m.kind == "itb_history") & -m.effect
_SCORES = c.s << (m.kind == "itb_scores")

RULES = [
    Derivation(
        id="intrathecal.effect_recorded",
        when=(c.h << ((m.kind == "itb_history") & +m.effect),),
        derive=recorded,
        doc="A regimen whose clinical effect is recorded: that effect.",
    ),
    Derivation(
        id="intrathecal.effect_of_current_regimen_from_scores",
        when=(c.order << itb_order(), c.h << (_UNRECORDED & (m.last == True)), _SCORES),
        derive=current_from_scores,
        doc="The current regimen without a recorded effect: the latest spasticity score "
        "before its change against the latest since (up to the order's time), per scale and "
        "site; unknown without such a pair.",
    ),
    Derivation(
        id="intrathecal.effect_of_earlier_regimen_from_scores",
        when=(
            c.h << (_UNRECORDED & (m.last == False)),
            c.nxt << ((m.kind == "itb_history") & (m.seq == c.h.seq + 1)),
            _SCORES,
        ),
        derive=earlier_from_scores,
        doc="An earlier regimen without a recorded effect: the latest spasticity score before "
        "its change against the latest before the next change, per scale and site; unknown "
        "without such a pair.",
    ),
]
