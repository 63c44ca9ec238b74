"""The one oral regimen a check suggests, under every limit that fired.

When an oral dose limit fired (the daily maximum, 2 mg/kg/day, the recommended start) or tablets
were ordered for a child below 33 kg, Then the check suggests one corrected regimen, which every
such alert quotes and which CDS Hooks offers as the corrected order:
- the daily dose is the lowest ceiling that fired (never more than ordered);
- the doses a day are the ordered number when it is a usual one (2-4), else 4 for a child and 3
  for an adult (more than 4: 4), as rules/oral/frequency.py asks of a child's dose;
- each dose is rounded down to what can be given: half a tablet of the product when the order
  is for tablets of known strength, else 0.5 mg (of a solution);
- tablets below 33 kg become the oral solution.
Beside other orders by mouth (rules/oral/concurrent.py) the limits apply to the total and only
this order is corrected: the other orders are kept as they are, this order keeps its doses a day
and gets what is left under the lowest ceiling; when nothing is left, or the dose of another
order is unknown, no regimen is suggested.
When a limit fired that gives no number (a child's start with no weight, or within
0.5 mg/kg/day), Then no regimen is suggested: none would respect it. A suspect dose unit
withholds the regimen too (rules/route_and_units.py): which dose was meant is unknown.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

from engine import Derivation, c, m
from rules.oral.frequency import DIVIDED_DOSES_CHILD, PREFERRED_DOSES_CHILD, USUAL_DOSES_ADULT
from rules.vocabulary import DailyDose, OrderFact, RegimenLimit, SuggestedRegimen

SOLUTION_STEP_MG = 0.5  # an oral solution measures 0.5 mg steps (1 mg/mL: 0.5 mL)
TABLET_FRACTION = 0.5  # tablets are given whole or halved


def usual_doses(ordered: int, paediatric: bool) -> int:
    """The ordered number of doses a day when it is a usual one, else the usual one: a
    suggestion must never carry an odd regimen (once daily, 24 times a day) forward."""
    low, high = DIVIDED_DOSES_CHILD
    if low <= ordered <= high:
        return ordered
    if ordered > high:
        return high
    return PREFERRED_DOSES_CHILD if paediatric else USUAL_DOSES_ADULT


def suggested_regimen(
    limit: Sequence[RegimenLimit], order: Sequence[OrderFact], dose: Sequence[DailyDose]
) -> Iterator[SuggestedRegimen]:
    o, d = order[0], dose[0]
    if any(x.limit == "no_number" for x in limit) or d.concurrent_unknown:
        return
    others = d.concurrent_mg or 0.0
    beside_others = (d.orders or 1) > 1
    ceilings = [x.max_mg_day for x in limit if x.max_mg_day is not None]
    solution = any(x.limit == "oral_solution" for x in limit) and o.form == "tablet"
    doses = (
        d.frequency_per_day
        if beside_others
        else usual_doses(d.frequency_per_day, any(x.paediatric for x in limit))
    )
    form = "oral_solution" if solution else o.form
    tablet_mg = o.strength_mg if form == "tablet" and o.strength_per == "tablet" else None
    step = tablet_mg * TABLET_FRACTION if tablet_mg else SOLUTION_STEP_MG
    if ceilings or doses != d.frequency_per_day:
        room = min([*ceilings, d.mg]) - others  # what this order may give beside the others
        per_dose = math.floor(room / doses / step + 1e-9) * step
    else:
        per_dose = d.dose_mg
    if per_dose <= 0 or (per_dose == d.dose_mg and doses == d.frequency_per_day and not solution):
        return
    daily = round(per_dose * doses, 6)
    yield SuggestedRegimen(
        per_dose_mg=round(per_dose, 6),
        doses_per_day=doses,
        daily_mg=daily,
        form=form,
        oral_solution=solution,
        rounding_mg=step,
        per_dose_tablets=round(per_dose / tablet_mg, 6) if tablet_mg else None,
        max_mg_day=min(ceilings) if ceilings else None,
        concurrent_mg=others if beside_others else None,
        total_mg_day=round(daily + others, 6) if beside_others else None,
        answers=list(dict.fromkeys(x.code for x in limit)),
    )


RULES = [
    Derivation(
        id="oral_dose.suggested_regimen",
        when=(
            c.limit << (m.kind == "regimen_limit"),
            c.order << ((m.kind == "order") & (m.route == "oral") & (m.action != "stop")),
            c.dose << ((m.kind == "daily_dose") & (m.route == "oral")),
        ),
        derive=suggested_regimen,
        fold=True,
        doc="One regimen under every limit that fired, rounded to what can be given.",
    ),
]
