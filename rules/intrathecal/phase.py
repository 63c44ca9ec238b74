"""The intrathecal phase, read from the record when the order does not state it (001, Adult
Screening Phase, Dose-Titration Phase, Adult Maintenance Therapy).

001: "Prior to initiation of a chronic infusion, the patient's response to intrathecal bolus
doses administered via a catheter or lumbar puncture must be assessed." "Once the patient's
responsiveness to baclofen has been established, an intrathecal infusion may be introduced."
"The clinical goal is to maintain as normal a muscle tone as possible" (maintenance).

When the order states no phase and asks for it to be derived (`derive_phase`, as the CDS Hooks
service does, since no FHIR element carries it), Then:
- screening: the order is one bolus and no continuous infusion is recorded (no regimen, no
  infusion start);
- titration: the order starts the first infusion, or no regimen of the infusion has yet been
  in effect for 7 days or more;
- maintenance: a regimen has been in effect, unchanged, for 7 days or more (the dose has been
  stable: titration is over).
An order that states its phase keeps it. What fits none of these (a bolus on a running pump, a
dose whose delivery is unknown with no infusion recorded) stays unknown: MISSING_DATA names
the phase.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from rules.case import Intrathecal, IntrathecalHistoryEntry
from rules.readings import Reading
from rules.sources import ADULT_SMPC, Passage

STABLE_DAYS = 7  # a regimen unchanged for 7 days or more ends titration

Phase = Literal["screening", "titration", "maintenance"]

PHASE_SOURCE = Passage(
    ADULT_SMPC,
    "Once the patient's responsiveness to baclofen has been established, an intrathecal "
    "infusion may be introduced.",
    note="001 names the phases (screening by bolus test doses, titration from the first "
    "infusion, maintenance) but gives no rule for telling them apart in a record. Read here: "
    "a bolus with no infusion recorded is screening; an infusion is in titration until a "
    "regimen has stayed unchanged for 7 days or more (001 titrates in steps of 24-48 h, so a "
    "week without a change means the dose has been found), then in maintenance. Same-dose "
    "entries (refills) continue a regimen (intrathecal.regimens). An order that states its "
    "phase keeps it.",
)

PHASE = Reading(
    id="intrathecal.phase",
    when="order.intrathecal.phase is not given and order.intrathecal.derive_phase is true",
    then="Screening when the order is one bolus (delivery: bolus) and no infusion is recorded; "
    "titration when the order starts the first infusion, or when no regimen of the history "
    f"has been in effect for {STABLE_DAYS} days or more by the order's time; maintenance "
    "when one has. Otherwise the phase stays unknown (MISSING_DATA).",
    source=PHASE_SOURCE,
    where="rules.intrathecal.phase.phase_of",
)


def _stable(regimens: list[IntrathecalHistoryEntry], at: datetime | None) -> bool:
    """Whether some regimen stayed unchanged for STABLE_DAYS or more: up to the next regimen,
    or for the current one up to the order's time."""
    ends = [r.time for r in regimens[1:]] + [at]
    return any(
        end is not None and end - r.time >= timedelta(days=STABLE_DAYS)
        for r, end in zip(regimens, ends, strict=True)
    )


def phase_of(
    it: Intrathecal, regimens: list[IntrathecalHistoryEntry], at: datetime | None
) -> Phase | None:
    """The phase the record shows (the reading PHASE), for an order that states none.
    `regimens` is the history with same-dose entries folded (steps.regimens)."""
    if not regimens:
        if it.infusion_started is not None:
            return None if it.delivery == "bolus" else "titration"
        return {"bolus": "screening", "infusion": "titration", None: None}[it.delivery]
    if it.delivery == "bolus":
        return None  # a bolus on a running pump is no phase of its own
    return "maintenance" if _stable(regimens, at) else "titration"
