"""Renal impairment on intrathecal baclofen (004, tertiary; the primary texts are silent).

004: "CrCl <30 mL/min: Avoid oral use; use intrathecal with extreme caution."

When an intrathecal order (not a stop) is for a patient with CrCl/eGFR below 30 mL/min, with
no CrCl/eGFR given CKD stage 4 on the problem list (a GFR of 15-29 mL/min: rules/renal.py), or
terminal renal failure, Then RENAL_IMPAIRMENT (warning), one alert for every reading.
When, with no CrCl/eGFR given, other renal impairment is on the problem list (CKD stage 3 or
unstaged, acute kidney injury, renal failure not end-stage), Then MISSING_DATA: whether the
caution below 30 mL/min applies could not be checked. Terminal
renal failure on an intrathecal start or screening bolus is the contraindication instead
(rules/contraindications.py), which supersedes this warning.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from engine import AlertRule, Derivation, Severity, c, m
from rules.intrathecal.steps import NOT_STOP, itb_order
from rules.renal import (
    CKD_STAGE_4_GFR_ML_MIN,
    NO_RENAL_VALUE,
    SEVERE_DIAGNOSIS,
    UNKNOWN_CLEARANCE_DIAGNOSIS,
    diagnoses,
    unknown_clearance_evidence,
)
from rules.sources import CONSUMER_GUIDE, Passage
from rules.vocabulary import Finding, RenalFunction

RENAL_CAUTION_BELOW_ML_MIN = 30  # 004: CrCl < 30 "use intrathecal with extreme caution"

RENAL_SOURCE = Passage(
    CONSUMER_GUIDE,
    "CrCl <30 mL/min: Avoid oral use; use intrathecal with extreme caution.",
    note="An intrathecal infusion already running (change, continue) with CrCl/eGFR < 30 "
    "mL/min or terminal renal failure gets this warning, not the contraindication: stopping "
    "it abruptly is the greater danger (001: 'Baclofen should not be discontinued "
    "suddenly'). Policy: terminal renal failure on an intrathecal start or screening bolus is "
    "END_STAGE_RENAL_CONTRAINDICATION (critical; rules/contraindications.py), which "
    "supersedes this warning: the design card makes terminal renal failure a "
    "contraindication with no route exception, 002 (secondary) says 'Terminal renal "
    "insufficiency also precludes its use', and 004 also says 'avoid in end-stage renal "
    "disease'. A CrCl of 15 to < 30 mL/min stays this warning on any intrathecal order, as "
    "004 says. The primary texts (000/001) are silent on renal function. Policy: with no "
    "CrCl/eGFR given, CKD stage 4 on the problem list (ICD-10 N18.4, SNOMED CT 431857002, "
    "'CKD stage 4', 'severe renal impairment') is read as this band, stage 4 being a GFR of "
    "15–29 mL/min by definition; with a value the value decides.",
)
RENAL_UNKNOWN_SOURCE = Passage(
    CONSUMER_GUIDE,
    "CrCl <30 mL/min: Avoid oral use; use intrathecal with extreme caution.",
    note="Policy: renal impairment on the problem list whose clearance is not known (CKD "
    "stage 3 or unstaged, acute kidney injury, kidney failure N19, 'renal impairment' or "
    "'renal failure' that is not end-stage) and no CrCl/eGFR value: whether 004's intrathecal "
    "caution below 30 mL/min applies could not be checked, which is never a pass. A patient "
    "with no renal diagnosis and no value raises nothing. The primary texts are silent.",
)


def renal_below_30(renal: RenalFunction) -> Iterator[Finding]:
    reading = f"{renal.measure} {renal.ml_min:g} {renal.unit}"
    yield Finding(finding="renal_below_30", basis=reading, label=reading)


def renal_below_30_by_diagnosis(f: Finding) -> Iterator[Finding]:
    """CKD stage 4 on the problem list, no CrCl/eGFR given: the band below 30 mL/min."""
    named = diagnoses([f])
    yield Finding(finding="renal_below_30", reason="diagnosis", basis=named, label=named)


def renal_message(f: Sequence[Finding]) -> str:
    end_stage = [str(x.basis) for x in f if x.finding == "end_stage_renal"]
    below_30 = [x for x in f if x.finding == "renal_below_30"]
    readings = [str(x.basis) for x in below_30 if x.reason != "diagnosis"]
    diagnosed = [str(x.basis) for x in below_30 if x.reason == "diagnosis"]
    if end_stage:
        basis = "; ".join(sorted(set(end_stage + readings)))
        return (
            f"Terminal renal failure ({basis}): intrathecal baclofen only with extreme "
            "caution; it is renally excreted and accumulates."
        )
    if readings:
        return (
            f"{readings[0]} is below {RENAL_CAUTION_BELOW_ML_MIN} mL/min: intrathecal "
            "baclofen only with extreme caution."
        )
    low, high = CKD_STAGE_4_GFR_ML_MIN
    return (
        f"CKD stage 4 on the problem list ({'; '.join(dict.fromkeys(diagnosed))}) and no "
        f"creatinine clearance or eGFR given: a GFR of {low}–{high} mL/min, below "
        f"{RENAL_CAUTION_BELOW_ML_MIN} mL/min: intrathecal baclofen only with extreme caution."
    )


def unknown_clearance_message(f: Sequence[Finding]) -> str:
    return (
        f"Renal impairment on the problem list ({diagnoses(f)}) and no creatinine clearance "
        "or eGFR given: whether the intrathecal caution below "
        f"{RENAL_CAUTION_BELOW_ML_MIN} mL/min applies could not be checked."
    )


RULES = [
    Derivation(
        id="intrathecal.renal_below_30",
        when=(
            c.order << itb_order(),
            c.renal << ((m.kind == "renal_function") & (m.ml_min < RENAL_CAUTION_BELOW_ML_MIN)),
        ),
        derive=renal_below_30,
        doc="004's intrathecal caution threshold, as a finding beside end-stage renal failure.",
    ),
    Derivation(
        id="intrathecal.renal_below_30_by_diagnosis",
        when=(
            c.order << itb_order(),
            c.f << SEVERE_DIAGNOSIS,
            c.patient << NO_RENAL_VALUE,
        ),
        derive=renal_below_30_by_diagnosis,
        doc="No CrCl/eGFR given and CKD stage 4 on the problem list (a GFR of 15-29 mL/min): "
        "the same finding as a reading below 30 mL/min.",
    ),
    AlertRule(
        id="renal.intrathecal",
        code="RENAL_IMPAIRMENT",
        severity=Severity.WARNING,
        # One aggregate over both kinds of evidence, so that dialysis with a CrCl of 20 mL/min
        # is one warning, not an end-stage one and a severe one.
        when=(
            c.f
            << (
                (m.kind == "finding")
                & ((m.finding == "end_stage_renal") | (m.finding == "renal_below_30"))
            ),
            c.order << itb_order(NOT_STOP),
        ),
        message=renal_message,
        suggestion="Use the lowest effective intrathecal dose under specialist care, titrate "
        "cautiously and monitor for drowsiness and respiratory depression.",
        evidence=("findings=f[].*",),
        aggregate=True,
        supersedes_rules=("missing.intrathecal_renal_function",),
        source=RENAL_SOURCE,
        description="Intrathecal order with CrCl/eGFR < 30 mL/min (or, with no value, CKD stage "
        "4 on the problem list) or terminal renal failure (warning, not the oral "
        "contraindication).",
    ),
    AlertRule(
        id="missing.intrathecal_renal_function",
        code="MISSING_DATA",
        severity=Severity.WARNING,
        when=(
            c.f << UNKNOWN_CLEARANCE_DIAGNOSIS,
            c.order << itb_order(NOT_STOP),
            c.patient << NO_RENAL_VALUE,
        ),
        message=unknown_clearance_message,
        suggestion="Record a current creatinine clearance (patient.creatinine_clearance_ml_min) "
        "or eGFR (patient.egfr_ml_min_1_73m2).",
        evidence=unknown_clearance_evidence,
        aggregate=True,
        source=RENAL_UNKNOWN_SOURCE,
        description="Intrathecal order, no CrCl/eGFR given and renal impairment of unknown "
        "clearance on the problem list: the caution below 30 mL/min could not be checked.",
    ),
]
