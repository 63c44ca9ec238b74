"""Renal impairment on oral baclofen (and an order whose route is not yet known).

004 (consumer guide, tertiary): "CrCl 30–50 mL/min: Reduce to 5 mg/day; increase cautiously."
"CrCl <30 mL/min: Avoid oral use; use intrathecal with extreme caution."

When CrCl/eGFR (the lower of the two) is 30 to 50 mL/min and an active oral order gives more
than 5 mg/day, Then RENAL_IMPAIRMENT (warning): about 5 mg/day, titrated cautiously; at or below
5 mg/day the order already follows the advice. With the dose not (yet) known, the same warning
without the dose. On a new course the renal start (about 5 mg/day) is the start advice: it
supersedes STARTING_DOSE_ABOVE_RECOMMENDED and no corrected regimen is suggested.
When CrCl/eGFR is 15 to < 30 mL/min on an active oral order, or, with no CrCl/eGFR given, CKD
stage 4 or severe renal impairment is on the problem list (a GFR of 15–29 mL/min by
definition), Then RENAL_IMPAIRMENT (warning): avoid oral baclofen; no oral regimen is
suggested and the starting-dose advice is superseded. On an established course: do not stop
abruptly. The elderly dose advice (rules/oral/elderly.py) is superseded too: on a start no oral
start is advised; on an established course ELDERLY_DOSE_ABOVE_RECOMMENDED is raised by its
variant, which names no oral target. In either band (and in terminal renal failure) the derived
fact oral_avoided tells the oral dose advice (titration, the elderly range) to name no oral
target beside it.
When, with no CrCl/eGFR given, other renal impairment is on the problem list (CKD stage 3 or
unstaged, acute kidney injury, renal failure or insufficiency that is not end-stage), Then
MISSING_DATA: the dose could not be checked against these limits.
Below 15 mL/min the contraindication applies (rules/contraindications.py), which supersedes
these alerts; the intrathecal caution is rules/intrathecal/renal.py. Code sets:
rules/code_sets.py.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from engine import AlertRule, Derivation, Severity, c, m
from rules.derive import END_STAGE_ML_MIN
from rules.sources import CONSUMER_GUIDE, Passage
from rules.vocabulary import Finding, OralAvoided, OrderFact, RenalFunction

# Policy: exactly 50 is inside "30–50" (the warning fires at 50 mL/min, not at 50.1); exactly
# 30 belongs to it too (< 30 is "avoid oral").
RENAL_IMPAIRMENT_UP_TO_ML_MIN = 50
AVOID_ORAL_BELOW_ML_MIN = 30
RENAL_START_MG_DAY = 5
# CKD stage 4 (KDIGO G4): a GFR of 15-29 mL/min, inside 004's "CrCl <30 mL/min" band.
CKD_STAGE_4_GFR_ML_MIN = (15, 29)

AVOID_ORAL_EXCERPT = "CrCl <30 mL/min: Avoid oral use; use intrathecal with extreme caution."
# The oral dose advice that names an oral target (the elderly 20-30 mg/day, the elderly start):
# beside "avoid oral" (and the end-stage contraindication) it is superseded; on an established
# course its variant joined to oral_avoided says it without the target (rules/oral/elderly.py).
ELDERLY_ADVICE_RULES = ("oral_dose.elderly_above_30", "oral_dose.elderly_start_above_10")

_RENAL_NOTE = (
    "Only 004 (tertiary) gives numbers; 002 (secondary) asks for a more cautious "
    "approach in renal impairment; the primary texts are silent. The lower of CrCl "
    "and eGFR is used. Policy: exactly 50 mL/min is inside 004's '30–50' (warning); "
    "50.1 is not."
)
_AVOID_NOTE = (
    " Policy: beside 'avoid oral' no oral regimen is suggested (the corrected order a dose "
    "limit would offer is withheld) and the starting-dose advice (001: 5 mg three times "
    "daily) is superseded, as is the elderly advice (004: 'Elderly: Start with 5 mg once or "
    "twice daily; increase slowly to 20–30 mg/day maximum'): on a start no oral start is "
    "advised, so neither start applies; on an established course ELDERLY_DOSE_ABOVE_RECOMMENDED "
    "keeps its message (the dose above the elderly range) and its variant's suggestion names no "
    "oral target. A titration step that was too fast keeps TITRATION_TOO_FAST, whose variant "
    "advises no further step. On an established course the suggestion adds that it must not be "
    "stopped abruptly: 001 (primary) 'the treatment with baclofen should always be gradually "
    "discontinued by successively reducing the dosage. Baclofen should not be discontinued "
    "suddenly', 004 'taper over 1–2 weeks'."
)
AVOID_ORAL_ADVICE_NOTE = (
    "Policy: where oral baclofen is to be avoided (004, tertiary: 'CrCl <30 mL/min: Avoid oral "
    "use', read for CrCl/eGFR 15 to < 30 mL/min and, with no value, CKD stage 4 on the problem "
    "list) or contraindicated (terminal renal failure, CrCl/eGFR < 15 mL/min or dialysis: 002 "
    "'Terminal renal insufficiency also precludes its use'), the oral dose advice beside "
    "RENAL_IMPAIRMENT or END_STAGE_RENAL_CONTRAINDICATION names no oral dose to reach: 'Avoid "
    "oral baclofen' beside 'then increase by 15 mg/day' or 'at most 20–30 mg/day' is no "
    "advice. The alert keeps its message, which states a fact about the order. "
)
RENAL_SOURCE = Passage(
    CONSUMER_GUIDE,
    "CrCl 30–50 mL/min: Reduce to 5 mg/day; increase cautiously.",
    note=_RENAL_NOTE,
)
RENAL_START_SOURCE = Passage(
    CONSUMER_GUIDE,
    "CrCl 30–50 mL/min: Reduce to 5 mg/day; increase cautiously.",
    note=_RENAL_NOTE
    + " Policy: on a new course the renal start, about 5 mg/day, is the start advice and "
    "replaces the usual one (001: 5 mg three times daily, 15 mg/day; 000: about 0.3 "
    "mg/kg/day): STARTING_DOSE_ABOVE_RECOMMENDED is superseded, so that the answer gives one "
    "start, and no corrected regimen is offered, since about 5 mg/day does not divide into "
    "001's three doses of a tablet and is titrated from there individually. 001 (primary) "
    "starts every adult at 15 mg/day and says nothing of renal function, so it does not "
    "contradict 004 here; the lower renal start is the 'more cautious approach' 002 asks for. "
    "From 65 years it replaces the elderly start too (004: 'Start with 5 mg once or twice "
    "daily'), the higher of the two.",
)
RENAL_SEVERE_SOURCE = Passage(
    CONSUMER_GUIDE,
    AVOID_ORAL_EXCERPT,
    note=_RENAL_NOTE + _AVOID_NOTE,
)
RENAL_SEVERE_DIAGNOSIS_SOURCE = Passage(
    CONSUMER_GUIDE,
    AVOID_ORAL_EXCERPT,
    note="Policy: with no CrCl/eGFR given, CKD stage 4 on the problem list (ICD-10 N18.4, "
    "SNOMED CT 431857002, or in words: 'CKD stage 4', 'severe renal impairment') is read as "
    "004's CrCl < 30 band, since stage 4 is a GFR of 15–29 mL/min by definition; with a "
    "value the value decides. 004 (tertiary) gives the number, 002 (secondary) asks for 'a "
    "more cautious approach' in renal impairment; the primary texts are silent." + _AVOID_NOTE,
)
RENAL_UNKNOWN_SOURCE = Passage(
    CONSUMER_GUIDE,
    "CrCl 30–50 mL/min: Reduce to 5 mg/day; increase cautiously.",
    note="Policy: renal impairment on the problem list whose clearance is not known (CKD "
    "stage 3 N18.3 or SNOMED CT 433144002, CKD unstaged N18.9, acute kidney injury N17, "
    "kidney failure N19, 'renal impairment', 'renal insufficiency', 'renal failure' that is "
    "not end-stage) and no CrCl/eGFR value: 004's limits (30–50 mL/min: about 5 mg/day; < 30: "
    "avoid oral) could not be applied, which is never a pass. A patient with no renal "
    "diagnosis and no value raises nothing (docs/pharmacists.md, Limits). 002 (secondary) "
    "asks for 'a more cautious approach' in renal impairment; the primary texts are silent.",
)

_oral_active = (m.kind == "order") & (m.action != "stop") & (m.route == "oral")
_moderate = (
    (m.kind == "renal_function")
    & (m.ml_min >= AVOID_ORAL_BELOW_ML_MIN)
    & (m.ml_min <= RENAL_IMPAIRMENT_UP_TO_ML_MIN)
)
# A diagnosis stands for the clearance only when none is given: a value decides otherwise.
NO_RENAL_VALUE = (m.kind == "patient") & -m.crcl_ml_min & -m.egfr_ml_min
# Oral baclofen to be avoided or contraindicated (derived here and in rules/contraindications.py):
# the oral dose advice joins it in the variants that name no oral target.
ORAL_AVOIDED = m.kind == "oral_avoided"
_avoid_oral_band = (
    (m.kind == "renal_function")
    & (m.ml_min >= END_STAGE_ML_MIN)
    & (m.ml_min < AVOID_ORAL_BELOW_ML_MIN)
)
SEVERE_DIAGNOSIS = (m.kind == "finding") & (m.finding == "severe_renal_impairment")
UNKNOWN_CLEARANCE_DIAGNOSIS = (m.kind == "finding") & (m.finding == "renal_impairment")
MISSING_RENAL_FUNCTION = ["patient.creatinine_clearance_ml_min", "patient.egfr_ml_min_1_73m2"]

_AVOID = (
    "Avoid oral baclofen; if there is no alternative, specialist review and intrathecal use "
    "with extreme caution."
)
_NOT_ABRUPTLY = " If already established, do not stop abruptly: reduce gradually."


def diagnoses(f: Sequence[Finding]) -> str:
    """Each entry as the record names it, with its code when it was read by one."""
    out = []
    for x in f:
        basis = str(x.basis or "")
        out.append(
            x.label if basis.startswith("text ") or basis in x.label else f"{x.label} ({basis})"
        )
    return "; ".join(dict.fromkeys(out))


def severe_diagnosis_message(f: Sequence[Finding]) -> str:
    low, high = CKD_STAGE_4_GFR_ML_MIN
    return (
        f"CKD stage 4 on the problem list ({diagnoses(f)}) and no creatinine clearance or "
        f"eGFR given: stage 4 is a GFR of {low}–{high} mL/min, below "
        f"{AVOID_ORAL_BELOW_ML_MIN} mL/min: oral baclofen should be avoided."
    )


def severe_diagnosis_suggestion(order: Sequence[OrderFact]) -> str:
    established = order[0].action != "start"
    return (
        _AVOID
        + (_NOT_ABRUPTLY if established else "")
        + " Record a current creatinine clearance or eGFR."
    )


def oral_avoided(renal: RenalFunction) -> Iterator[OralAvoided]:
    yield OralAvoided(
        reason=f"{renal.measure} {renal.ml_min:g} {renal.unit} (below "
        f"{AVOID_ORAL_BELOW_ML_MIN} mL/min)",
        contraindicated=False,
    )


def oral_avoided_by_diagnosis() -> Iterator[OralAvoided]:
    low, high = CKD_STAGE_4_GFR_ML_MIN
    yield OralAvoided(
        reason=f"CKD stage 4 on the problem list (a GFR of {low}–{high} mL/min; no CrCl/eGFR "
        "given)",
        contraindicated=False,
    )


def unknown_clearance_message(f: Sequence[Finding]) -> str:
    return (
        f"Renal impairment on the problem list ({diagnoses(f)}) and no creatinine clearance "
        "or eGFR given: the dose could not be checked against the renal limits (30–"
        f"{RENAL_IMPAIRMENT_UP_TO_ML_MIN} mL/min: about {RENAL_START_MG_DAY} mg/day; below "
        f"{AVOID_ORAL_BELOW_ML_MIN} mL/min: avoid oral)."
    )


def unknown_clearance_evidence(f: Sequence[Finding]) -> dict[str, object]:
    return {
        "missing": MISSING_RENAL_FUNCTION,
        "diagnoses": [x.label for x in f],
        "bases": [x.basis for x in f],
    }


_MODERATE_MESSAGE = (
    "{renal.measure} {renal.ml_min:g} {renal.unit} (30–{limit} mL/min) and {dose.mg:g} "
    "mg/day (advised: about {start} mg/day): baclofen accumulates."
)
# A new course at 30-50 above the renal start: the renal start is its start advice.
_MODERATE_START = (
    c.renal << _moderate,
    c.order << (_oral_active & (m.action == "start")),
    c.dose << ((m.kind == "daily_dose") & (m.mg > RENAL_START_MG_DAY)),
)
_STARTING_DOSE = "STARTING_DOSE_ABOVE_RECOMMENDED"
_MISSING_RULE = "missing.renal_function"

RULES = [
    Derivation(
        id="renal.oral_avoided",
        when=(c.renal << _avoid_oral_band, c.order << _oral_active),
        derive=oral_avoided,
        doc="CrCl/eGFR 15 to < 30 mL/min on an oral order: oral baclofen is to be avoided, "
        "which the oral dose advice beside it must not contradict.",
    ),
    Derivation(
        id="renal.oral_avoided_by_diagnosis",
        when=(c.f << SEVERE_DIAGNOSIS, c.order << _oral_active, c.patient << NO_RENAL_VALUE),
        derive=oral_avoided_by_diagnosis,
        doc="No CrCl/eGFR given and CKD stage 4 on the problem list, on an oral order: the "
        "same, read from the diagnosis.",
    ),
    AlertRule(
        id="renal.impairment_moderate",
        code="RENAL_IMPAIRMENT",
        severity=Severity.WARNING,
        when=(
            c.renal << _moderate,
            c.order << (_oral_active & (m.action != "start")),
            c.dose << ((m.kind == "daily_dose") & (m.mg > RENAL_START_MG_DAY)),
        ),
        message=_MODERATE_MESSAGE,
        suggestion="Check that {dose.mg:g} mg/day was reached by cautious titration at this "
        "renal function; reduce toward {start} mg/day if sedation, confusion or weakness "
        "appear.",
        params={"limit": RENAL_IMPAIRMENT_UP_TO_ML_MIN, "start": RENAL_START_MG_DAY},
        evidence=("renal.measure", "renal.ml_min", "daily_mg=dose.mg", "advised_mg_day=start"),
        source=RENAL_SOURCE,
        description="CrCl/eGFR 30 to 50 mL/min and above 5 mg/day on a course already given: "
        "low dose, cautious titration. At or below 5 mg/day the order already follows the "
        "advice: no alert.",
    ),
    AlertRule(
        id="renal.impairment_moderate_start",
        code="RENAL_IMPAIRMENT",
        severity=Severity.WARNING,
        when=_MODERATE_START,
        message=_MODERATE_MESSAGE,
        suggestion="Start at about {start} mg/day, in place of the usual start (for a small "
        "child less: about 0.3 mg/kg/day), and increase cautiously, watching for sedation, "
        "confusion and weakness.",
        params={"limit": RENAL_IMPAIRMENT_UP_TO_ML_MIN, "start": RENAL_START_MG_DAY},
        evidence=("renal.measure", "renal.ml_min", "daily_mg=dose.mg", "advised_mg_day=start"),
        supersedes=(_STARTING_DOSE,),
        withholds=("suggested_regimen",),
        source=RENAL_START_SOURCE,
        description="CrCl/eGFR 30 to 50 mL/min and a new course above 5 mg/day: start at about "
        "5 mg/day (the starting-dose advice is superseded; no corrected regimen). A child, or "
        "an age not known, is also given the child's start (about 0.3 mg/kg/day).",
    ),
    AlertRule(
        id="renal.impairment_moderate_start_adult",
        code="RENAL_IMPAIRMENT",
        severity=Severity.WARNING,
        when=(*_MODERATE_START, c.band << ((m.kind == "age_band") & (m.band == "adult"))),
        message=_MODERATE_MESSAGE,
        suggestion="Start at about {start} mg/day, in place of the usual start, and increase "
        "cautiously, watching for sedation, confusion and weakness.",
        params={"limit": RENAL_IMPAIRMENT_UP_TO_ML_MIN, "start": RENAL_START_MG_DAY},
        evidence=("renal.measure", "renal.ml_min", "daily_mg=dose.mg", "advised_mg_day=start"),
        supersedes=(_STARTING_DOSE,),
        # The same advice without the child's dose, which an adult's answer had quoted too;
        # and the one start on the answer: from 65 years the elderly start (5 mg once or
        # twice daily) came beside it.
        supersedes_rules=("renal.impairment_moderate_start", "oral_dose.elderly_start_above_10"),
        withholds=("suggested_regimen",),
        source=RENAL_START_SOURCE,
        description="The same for an adult (18 years or more): the advice without a child's dose.",
    ),
    AlertRule(
        id="renal.impairment_moderate_dose_unknown",
        code="RENAL_IMPAIRMENT",
        severity=Severity.WARNING,
        when=(
            c.renal << _moderate,
            c.order << (_oral_active & (-m.dose_value | -m.frequency_per_day)),
        ),
        message="{renal.measure} {renal.ml_min:g} {renal.unit} is within 30–{limit} mL/min: "
        "baclofen is renally excreted and accumulates.",
        suggestion="Keep the daily dose at about {start} mg/day and titrate cautiously.",
        params={"limit": RENAL_IMPAIRMENT_UP_TO_ML_MIN, "start": RENAL_START_MG_DAY},
        evidence=("renal.measure", "renal.ml_min", "advised_mg_day=start"),
        source=RENAL_SOURCE,
        description="CrCl/eGFR 30 to 50 mL/min on an order whose dose is not (yet) known.",
    ),
    AlertRule(
        id="renal.impairment_severe",
        code="RENAL_IMPAIRMENT",
        severity=Severity.WARNING,
        when=(c.renal << _avoid_oral_band, c.order << _oral_active),
        message="{renal.measure} {renal.ml_min:g} {renal.unit} is below {limit} mL/min: oral "
        "baclofen should be avoided.",
        suggestion=_AVOID + "{if order.action != start}" + _NOT_ABRUPTLY + "{end}",
        params={"limit": AVOID_ORAL_BELOW_ML_MIN},
        evidence=("renal.measure", "renal.ml_min"),
        supersedes=(_STARTING_DOSE,),
        supersedes_rules=ELDERLY_ADVICE_RULES,
        withholds=("suggested_regimen",),
        source=RENAL_SEVERE_SOURCE,
        description="CrCl/eGFR 15 to < 30 mL/min: avoid oral baclofen (no oral regimen suggested).",
    ),
    AlertRule(
        id="renal.impairment_severe_by_diagnosis",
        code="RENAL_IMPAIRMENT",
        severity=Severity.WARNING,
        when=(
            c.f << SEVERE_DIAGNOSIS,
            c.order << _oral_active,
            c.patient << NO_RENAL_VALUE,
        ),
        message=severe_diagnosis_message,
        suggestion=severe_diagnosis_suggestion,
        evidence=("findings=f[].*", "below_ml_min=limit"),
        params={"limit": AVOID_ORAL_BELOW_ML_MIN},
        aggregate=True,
        supersedes=(_STARTING_DOSE,),
        supersedes_rules=(_MISSING_RULE, *ELDERLY_ADVICE_RULES),
        withholds=("suggested_regimen",),
        source=RENAL_SEVERE_DIAGNOSIS_SOURCE,
        description="No CrCl/eGFR given and CKD stage 4 (N18.4, SNOMED CT 431857002) or severe "
        "renal impairment on the problem list: a GFR of 15–29 mL/min, avoid oral baclofen.",
    ),
    AlertRule(
        id=_MISSING_RULE,
        code="MISSING_DATA",
        severity=Severity.WARNING,
        when=(
            c.f << UNKNOWN_CLEARANCE_DIAGNOSIS,
            c.order << _oral_active,
            c.patient << NO_RENAL_VALUE,
        ),
        message=unknown_clearance_message,
        suggestion="Record a current creatinine clearance (patient.creatinine_clearance_ml_min) "
        "or eGFR (patient.egfr_ml_min_1_73m2), and meanwhile keep the dose low and titrate "
        "cautiously.",
        evidence=unknown_clearance_evidence,
        aggregate=True,
        source=RENAL_UNKNOWN_SOURCE,
        description="No CrCl/eGFR given and renal impairment of unknown clearance on the "
        "problem list (CKD stage 3 or unstaged, acute kidney injury, renal failure or "
        "insufficiency not end-stage): the renal limits could not be checked.",
    ),
]
