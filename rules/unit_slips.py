"""When a written dose is more likely a unit slip than a dose: the thresholds and their test.

One place for every dose the rules read: the order (rules/route_and_units.py), and the doses
recorded beside it that the rules measure the order against (the regimen it replaces, the other
orders it adds up with, the intrathecal history and test boluses). A slipped dose there is as
dangerous as on the order: a step, a taper target or a total computed from 300 mg meant as 300
ug is off by a factor of a thousand, and a suggestion printed from it can be lethal.

Expected daily doses. Intrathecal: the maintenance range reported in 001 (12-2003 ug/day spinal,
22-1400 cerebral; test boluses 25-100 ug fall inside it). Oral: from about 1 mg/day (0.3
mg/kg/day in the smallest child, 000) to 200 mg/day (twice the 100 mg/day adult maximum of 001,
allowed in hospital). A dose outside its range that falls inside it once divided or multiplied
by 1000 is a unit error until proved otherwise.
"""

from __future__ import annotations

from rules.case import UG_PER_UNIT

UNIT_FACTOR = 1000
IT_EXPECTED_UG_DAY = (12, 2003)
ORAL_EXPECTED_MG_DAY = (1, 200)
# An intrathecal dose written in mg (or g) that comes to 2 mg/day or more sits at the very top of
# 001's reported range: far more often micrograms typed with the wrong unit than a real dose.
IT_MG_WRITTEN_SUSPECT_FROM_UG = 2000
# An oral dose written in micrograms that comes to under 1 mg per dose (no tablet or solution
# dose is that small): the prescriber almost certainly meant mg.
ORAL_UG_WRITTEN_SUSPECT_BELOW_MG = 1


def slip(
    route: str | None, unit: str, dose_mg: float, daily_mg: float, recorded: bool = False
) -> str | None:
    """Why a dose written in `unit` (one dose `dose_mg`, `daily_mg` a day) by `route` looks like
    a unit slip, or None. The same tests as the order's own DOSE_UNIT_SUSPECT rules (a test
    bolus aside, which has rules of its own). A `recorded` dose (one the order is measured
    against) is held to its expected range instead of the order's policies: an oral regimen
    above 200 mg/day is no regimen to measure a step or a total from (a previous 300 mg three
    times a day suggested "no less than 450 mg/day"), and an intrathecal regimen is a slip only
    when it falls in 001's reported 12-2003 ug/day once corrected a thousandfold (300 mg meant
    as 300 ug), whatever its unit: 2 or 2.1 mg/day is believed, as 2 ug would not be."""
    if route == "intrathecal":
        ug = daily_mg * UNIT_FACTOR
        low, high = IT_EXPECTED_UG_DAY
        if recorded:
            if ug > high and ug >= low * UNIT_FACTOR:
                return (
                    f"above the usual {low}-{high} ug/day by a thousandfold: were micrograms meant?"
                )
            if ug < low and ug <= high / UNIT_FACTOR:
                return f"below the usual {low}-{high} ug/day by a thousandfold: were mg meant?"
            return None
        if unit in ("mg", "g") and ug >= IT_MG_WRITTEN_SUSPECT_FROM_UG:
            return (
                "written in milligrams, at or beyond the top of any reported intrathecal "
                "dose: were micrograms meant?"
            )
        if ug < low and ug <= high / UNIT_FACTOR:
            return f"below the usual {low}-{high} ug/day by a thousandfold: were mg meant?"
        if unit == "ug" and ug > high and ug >= low * UNIT_FACTOR:
            return (
                f"above the usual {low}-{high} ug/day by a thousandfold: was a unit "
                "converted twice?"
            )
        return None
    if route == "oral":
        low, high = ORAL_EXPECTED_MG_DAY
        if unit == "ug" and dose_mg < ORAL_UG_WRITTEN_SUSPECT_BELOW_MG:
            return "written in micrograms, under 1 mg a dose: were mg meant?"
        if daily_mg > high and daily_mg >= low * UNIT_FACTOR:
            return f"above the usual {low}-{high} mg/day by a thousandfold: was the unit mixed up?"
        if unit != "ug" and daily_mg < low and daily_mg <= high / UNIT_FACTOR:
            return f"below the usual {low}-{high} mg/day by a thousandfold: were micrograms meant?"
        if recorded and daily_mg > high:
            return (
                f"above the usual {low}-{high} mg/day (001's maximum is 100 mg/day, more only "
                "in hospital): a unit or entry slip?"
            )
    return None


def intrathecal_daily_bounds(unit: str) -> tuple[float, float]:
    """For an intrathecal daily dose written in `unit`: a value at or below which, and one at
    or above which, `slip` may call it a unit slip (as an order's dose; a recorded regimen
    written in mg is held to the narrower range). Lets a rule's condition pick out the
    regimens of a history that may be slips, so that the others fire nothing."""
    low, high = IT_EXPECTED_UG_DAY
    at_most_ug = high / UNIT_FACTOR  # below `low` too, since high / 1000 < low
    at_least_ug = IT_MG_WRITTEN_SUSPECT_FROM_UG if unit in ("mg", "g") else low * UNIT_FACTOR
    per = UG_PER_UNIT[unit]
    return at_most_ug / per, at_least_ug / per


def recorded_bolus_slip(ug: float) -> str | None:
    """Why an intrathecal test bolus recorded beside the order reads as a unit or entry slip,
    or None. No bolus is larger than the largest daily dose 001 reports (2003 ug), and none is
    a thousandth of its smallest: the infusion start is measured from the effective bolus
    (twice it), so 50 mg recorded for 50 ug suggested "Start at 100000 ug/day"."""
    low, high = IT_EXPECTED_UG_DAY
    if ug > high:
        return (
            f"more than any intrathecal dose reported in a whole day ({low}-{high} ug/day): "
            "were micrograms meant?"
        )
    if ug <= high / UNIT_FACTOR:
        return f"below the usual {low}-{high} ug by a thousandfold: were mg meant?"
    return None
