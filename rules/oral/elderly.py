"""Oral baclofen from 65 years (004, tertiary; no primary text gives numbers).

004: "Elderly: Start with 5 mg once or twice daily; increase slowly to 20–30 mg/day maximum."

When a patient aged 65 or over (from the 65th birthday) is ordered more than 30 mg/day (not a
stop), Then ELDERLY_DOSE_ABOVE_RECOMMENDED (info); exactly 30 is the top of 20–30.
When such a patient's new course starts above 10 mg/day (5 mg twice daily) and at most 30,
Then the same info. It never changes a suggested dose: 001's adult limits stay the warnings.
Where oral baclofen is to be avoided (CrCl/eGFR 15 to < 30 mL/min, CKD stage 4 with no value) or
contraindicated (terminal renal failure), the renal alert supersedes both rules
(rules/renal.py, rules/contraindications.py): on a start no oral start is advised, so no elderly
start either. On an established course above 30 mg/day, Then the same info and message, but the
suggestion names no oral target: review the dose with the specialist, raise it no further and
reduce it gradually.
"""

from __future__ import annotations

from engine import AlertRule, Severity, c, m
from rules.renal import AVOID_ORAL_ADVICE_NOTE, AVOID_ORAL_EXCERPT, ORAL_AVOIDED
from rules.sources import CONSUMER_GUIDE, Passage

ELDERLY_FROM_YEARS = 65
ELDERLY_MAX_MG_DAY = 30  # above 30 mg/day: info (exactly 30 is the top of 20–30)
ELDERLY_START_MAX_MG_DAY = 10  # a start above 10 mg/day (5 mg twice daily): info

ELDERLY_SOURCE = Passage(
    CONSUMER_GUIDE,
    "Elderly: Start with 5 mg once or twice daily; increase slowly to 20–30 mg/day maximum.",
    note="Policy: patients aged 65 and over (from the 65th birthday) get an info alert, never "
    "a warning: above 30 mg/day (exactly 30 is the top of 20–30), or a new course above 10 "
    "mg/day (5 mg twice daily). Only 004 (tertiary) gives numbers; 002 (secondary) agrees "
    "that 'For elderly patients ... a more cautious approach is advised', and 004 adds "
    "'Increased risk of sedation and falls; start with low doses'; the primary texts (000/001) "
    "are silent, so 001's adult limits (15 mg/day start, 100 mg/day maximum) stay the "
    "warnings and criticals. The info is shown beside them (a 70-year-old on 120 mg/day gets "
    "the critical maximum and this): it says what they do not, that for this patient even "
    "100 mg/day is far above the advised range. It never changes a corrected dose and is not "
    "raised on a stop order.",
)

ELDERLY_AVOID_ORAL_SOURCE = Passage(
    CONSUMER_GUIDE,
    AVOID_ORAL_EXCERPT,
    note=AVOID_ORAL_ADVICE_NOTE
    + "Policy: on a start the renal alert supersedes the elderly info (rules/renal.py), as it "
    "supersedes STARTING_DOSE_ABOVE_RECOMMENDED: 'Start with 5 mg once or twice daily' beside "
    "'Avoid oral baclofen' would advise the start it advises against, and with no oral start "
    "the elderly start has nothing to correct. On a course already given above 30 mg/day the "
    "info stays (a pharmacist wants to know that the dose is above 004's elderly 20–30 "
    "mg/day, the more so as baclofen accumulates), but 20–30 mg/day is not offered as a "
    "target: the suggestion asks for specialist review, no further increase and a gradual "
    "reduction, never an abrupt stop (001, primary: 'Baclofen should not be discontinued "
    "suddenly'; 004 'taper over 1–2 weeks'). 004 is the only text with elderly or renal "
    "numbers; the primary texts (000/001) are silent on both, so nothing here contradicts them.",
)
_ABOVE_30_MESSAGE = (
    "{dose.mg:g} mg/day at age {band.years}: above the 20–{limit} mg/day advised from {elderly} "
    "years (sedation, falls)."
)

_oral_order = (m.kind == "order") & (m.route == "oral")
_elderly = (m.kind == "age_band") & (m.band == "adult") & (m.years >= ELDERLY_FROM_YEARS)
_oral_dose = (m.kind == "daily_dose") & (m.route == "oral")

RULES = [
    AlertRule(
        id="oral_dose.elderly_above_30",
        code="ELDERLY_DOSE_ABOVE_RECOMMENDED",
        severity=Severity.INFO,
        when=(
            c.order << (_oral_order & (m.action != "stop")),
            c.band << _elderly,
            c.dose << (_oral_dose & (m.mg > ELDERLY_MAX_MG_DAY)),
        ),
        message=_ABOVE_30_MESSAGE,
        suggestion="{if order.action == start}Start with 5 mg once or twice daily and increase "
        "slowly to at most 20–{limit} mg/day{else}Review whether {dose.mg:g} mg/day is needed: "
        "from {elderly} years at most 20–{limit} mg/day, reached slowly, is advised{end}; watch "
        "for sedation, confusion and falls.",
        params={"limit": ELDERLY_MAX_MG_DAY, "elderly": ELDERLY_FROM_YEARS},
        evidence=("daily_mg=dose.mg", "age_years=band.years", "advised_max_mg_day=limit"),
        source=ELDERLY_SOURCE,
        description="Aged 65 or over and above 30 mg/day (info).",
    ),
    AlertRule(
        id="oral_dose.elderly_above_30_avoid_oral",
        code="ELDERLY_DOSE_ABOVE_RECOMMENDED",
        severity=Severity.INFO,
        when=(
            c.order << (_oral_order & (m.action != "stop") & (m.action != "start")),
            c.band << _elderly,
            c.dose << (_oral_dose & (m.mg > ELDERLY_MAX_MG_DAY)),
            c.avoid << ORAL_AVOIDED,
        ),
        message=_ABOVE_30_MESSAGE,
        suggestion="Review {dose.mg:g} mg/day with the specialist: with {avoid.reason} oral "
        "baclofen is {if avoid.contraindicated}contraindicated{else}to be avoided{end} (see the "
        "renal alert), so the 20–{limit} mg/day advised from {elderly} years is no target. Do "
        "not raise it; reduce it gradually, never abruptly, and watch for sedation, confusion "
        "and falls.",
        params={"limit": ELDERLY_MAX_MG_DAY, "elderly": ELDERLY_FROM_YEARS},
        evidence=(
            "daily_mg=dose.mg",
            "age_years=band.years",
            "advised_max_mg_day=limit",
            "oral_avoided=avoid.reason",
        ),
        supersedes_rules=("oral_dose.elderly_above_30",),
        source=ELDERLY_AVOID_ORAL_SOURCE,
        description="Aged 65 or over and above 30 mg/day on a course already given, where oral "
        "baclofen is to be avoided (CrCl/eGFR < 30 mL/min, CKD stage 4) or contraindicated "
        "(info, no oral target).",
    ),
    AlertRule(
        id="oral_dose.elderly_start_above_10",
        code="ELDERLY_DOSE_ABOVE_RECOMMENDED",
        severity=Severity.INFO,
        when=(
            c.order << (_oral_order & (m.action == "start")),
            c.band << _elderly,
            # Above 30 mg/day the rule above says it (one alert per code).
            c.dose
            << (_oral_dose & (m.mg > ELDERLY_START_MAX_MG_DAY) & (m.mg <= ELDERLY_MAX_MG_DAY)),
        ),
        message="Starting dose {dose.mg:g} mg/day at age {band.years}: above the {limit} "
        "mg/day (5 mg once or twice daily) advised as a start from {elderly} years.",
        suggestion="Start with 5 mg once or twice daily and increase slowly to at most "
        "20–30 mg/day; watch for sedation, confusion and falls.",
        params={"limit": ELDERLY_START_MAX_MG_DAY, "elderly": ELDERLY_FROM_YEARS},
        evidence=("daily_mg=dose.mg", "age_years=band.years", "advised_start_max_mg_day=limit"),
        source=ELDERLY_SOURCE,
        description="Aged 65 or over and a new course above 10 mg/day (info).",
    ),
]
