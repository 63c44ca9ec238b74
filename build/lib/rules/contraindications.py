"""Contraindications, renal function, pregnancy and CNS-depressant co-medication (any route).

Sources: 002 (review: contraindications, interactions, pregnancy), 004 (renal thresholds),
001 (primary: epilepsy and CNS depressants appear there only as monitoring precautions).
Intrathecal variants of the renal rules live in rules/intrathecal.py.
"""

from __future__ import annotations

from engine import AlertRule, Bindings, Severity, c, m
from rules.sources import CONSUMER_GUIDE, REVIEW, Passage

RENAL_IMPAIRMENT_BELOW_ML_MIN = 50  # 004: CrCl 30–50 reduce to ~5 mg/day
AVOID_ORAL_BELOW_ML_MIN = 30  # 004: CrCl < 30 avoid oral use
RENAL_START_MG_DAY = 5

SEIZURE_SOURCE = Passage(
    REVIEW,
    "Baclofen should not be administered to individuals with epilepsy or other seizure "
    "disorders",
    note="Contraindication per the design card and 002 (secondary) and 004 (tertiary). The "
    "primary text (001) does not list epilepsy as a contraindication; it treats seizure risk as "
    "a precaution (withdrawal seizures). We keep the stricter reading and make the alert "
    "critical; a prescriber may override with a documented reason.",
)
ESRD_SOURCE = Passage(
    REVIEW,
    "Terminal renal insufficiency also precludes its use.",
    note="Terminal renal failure = ICD-10 N18.6/N18.5, SNOMED CT 46177005/433146000, dialysis, "
    "or CrCl/eGFR < 15 mL/min (CKD stage 5). Not in the primary texts (000/001); 002 and 004 "
    "agree. For intrathecal orders 004 allows use with extreme caution (warning).",
)
_RENAL_NOTE = ("Only 004 (tertiary) gives numbers; 002 (secondary) asks for a more cautious "
               "approach in renal impairment; the primary texts are silent. The lower of CrCl "
               "and eGFR is used.")
RENAL_SOURCE = Passage(
    CONSUMER_GUIDE, "CrCl 30–50 mL/min: Reduce to 5 mg/day; increase cautiously.",
    note=_RENAL_NOTE,
)
RENAL_SEVERE_SOURCE = Passage(
    CONSUMER_GUIDE, "CrCl <30 mL/min: Avoid oral use; use intrathecal with extreme caution.",
    note=_RENAL_NOTE,
)
PREGNANCY_SOURCE = Passage(
    REVIEW,
    "Baclofen is not a first-line medication during pregnancy and should be reserved for "
    "exceptional cases.",
    note="002 (secondary, citing Embryotox); 004 (tertiary) agrees: use only if benefits "
    "outweigh risks. The primary texts are silent on pregnancy.",
)
CNS_SOURCE = Passage(
    REVIEW,
    "Concurrent use of Baclofen with other muscle relaxants or central nervous system "
    "depressants can lead to enhanced effects. Its interaction with alcohol remains "
    "unpredictable",
    note="004 adds: opioids, increased respiratory depression risk; 001 (primary) asks for "
    "respiratory monitoring with benzodiazepines or opiates during intrathecal screening.",
)


def _labels(items: list[Bindings]) -> list[str]:
    out: list[str] = []
    for b in items:
        label = str(b.f.label)
        if label not in out:
            out.append(label)
    return out


def _bases(items: list[Bindings]) -> list[str]:
    return sorted({str(b.f.basis) for b in items})


def _seizure_message(items: list[Bindings]) -> str:
    return (f"Seizure disorder on the problem list ({', '.join(_labels(items))}): baclofen is "
            "contraindicated in epilepsy and other seizure disorders.")


def _esrd_message(items: list[Bindings]) -> str:
    return (f"Terminal renal failure ({'; '.join(_bases(items))}): oral baclofen is "
            "contraindicated; it is excreted unchanged by the kidneys and accumulates to toxic "
            "levels.")


def _cns_message(items: list[Bindings]) -> str:
    parts = []
    for b in items:
        part = f"{b.f.label} ({b.f.drug_class})"
        if part not in parts:
            parts.append(part)
    return (f"Active CNS depressant{'s' if len(parts) > 1 else ''}: {', '.join(parts)}. "
            "Additive sedation and respiratory depression with baclofen.")


def _evidence(items: list[Bindings]) -> dict[str, object]:
    return {"findings": [{k: v for k, v in b.f.items() if k not in ("id", "kind")}
                         for b in items]}


# A stop order ends the exposure these alerts warn about: it gets ABRUPT_DISCONTINUATION (or
# nothing, when it ends a taper), not the reasons to stop.
_active_order = (m.kind == "order") & (m.action != "stop")
_oral_or_other = _active_order & (m.route != "intrathecal")
_oral_active = _active_order & (m.route == "oral")

_moderate_renal = ((m.kind == "renal_function") & (m.ml_min >= AVOID_ORAL_BELOW_ML_MIN)
                   & (m.ml_min < RENAL_IMPAIRMENT_BELOW_ML_MIN))


def _moderate_renal_suggestion(b: Bindings) -> str:
    if b.order.action == "start":
        return (f"Start at about {RENAL_START_MG_DAY} mg/day and increase cautiously, watching "
                "for sedation, confusion and weakness.")
    return (f"Check that {b.dose.mg:g} mg/day was reached by cautious titration at this renal "
            f"function; reduce toward {RENAL_START_MG_DAY} mg/day if sedation, confusion or "
            "weakness appear.")


RULES = [
    AlertRule(
        id="contraindication.seizure_disorder",
        code="SEIZURE_DISORDER_CONTRAINDICATION",
        severity=Severity.CRITICAL,
        when=(c.f << ((m.kind == "finding") & (m.finding == "seizure_disorder")),
              c.order << _active_order),
        message=_seizure_message,
        suggestion=lambda items: ("Do not start baclofen; choose another antispastic "
                                  "treatment, or document the specialist's override reason. "
                                  "If already established, do not stop abruptly."),
        evidence=_evidence,
        aggregate=True,
        source=SEIZURE_SOURCE,
        description="Epilepsy or another seizure disorder on the problem list.",
    ),
    AlertRule(
        id="contraindication.end_stage_renal",
        code="END_STAGE_RENAL_CONTRAINDICATION",
        severity=Severity.CRITICAL,
        when=(c.f << ((m.kind == "finding") & (m.finding == "end_stage_renal")),
              c.order << _oral_or_other),
        message=_esrd_message,
        suggestion=lambda items: ("Do not use oral baclofen; choose another antispastic "
                                  "treatment, or consider intrathecal baclofen with extreme "
                                  "caution under specialist care."),
        evidence=_evidence,
        aggregate=True,
        supersedes=("RENAL_IMPAIRMENT",),
        source=ESRD_SOURCE,
        description="Terminal renal failure: N18.6, SNOMED CT 46177005/433146000, dialysis, or "
        "CrCl/eGFR < 15 mL/min.",
    ),
    AlertRule(
        id="renal.impairment_moderate",
        code="RENAL_IMPAIRMENT",
        severity=Severity.WARNING,
        when=(
            c.renal << _moderate_renal,
            c.order << _oral_active,
            c.dose << ((m.kind == "daily_dose") & (m.mg > RENAL_START_MG_DAY)),
        ),
        message="{renal.measure} {renal.ml_min:g} mL/min (below {limit}) and {dose.mg:g} mg/day "
        "(advised: about {start} mg/day): baclofen accumulates.",
        suggestion=_moderate_renal_suggestion,
        params={"limit": RENAL_IMPAIRMENT_BELOW_ML_MIN, "start": RENAL_START_MG_DAY},
        evidence=lambda b: {"measure": b.renal.measure, "ml_min": b.renal.ml_min,
                            "daily_mg": b.dose.mg, "advised_mg_day": b.start},
        source=RENAL_SOURCE,
        description="CrCl/eGFR 30 to < 50 mL/min and above 5 mg/day: low dose, cautious "
        "titration. At or below 5 mg/day the order already follows the advice: no alert.",
    ),
    AlertRule(
        id="renal.impairment_moderate_dose_unknown",
        code="RENAL_IMPAIRMENT",
        severity=Severity.WARNING,
        when=(
            c.renal << _moderate_renal,
            c.order << (_oral_active & (-m.dose_value | -m.frequency_per_day)),
        ),
        message="{renal.measure} {renal.ml_min:g} mL/min is below {limit} mL/min: baclofen is "
        "renally excreted and accumulates.",
        suggestion="Keep the daily dose at about {start} mg/day and titrate cautiously.",
        params={"limit": RENAL_IMPAIRMENT_BELOW_ML_MIN, "start": RENAL_START_MG_DAY},
        evidence=lambda b: {"measure": b.renal.measure, "ml_min": b.renal.ml_min,
                            "advised_mg_day": b.start},
        source=RENAL_SOURCE,
        description="CrCl/eGFR 30 to < 50 mL/min on an order whose dose is not (yet) known.",
    ),
    AlertRule(
        id="renal.impairment_severe",
        code="RENAL_IMPAIRMENT",
        severity=Severity.WARNING,
        when=(
            c.renal << ((m.kind == "renal_function") & (m.ml_min >= 15)
                        & (m.ml_min < AVOID_ORAL_BELOW_ML_MIN)),
            c.order << _oral_active,
        ),
        message="{renal.measure} {renal.ml_min:g} mL/min is below {limit} mL/min: oral baclofen "
        "should be avoided.",
        suggestion="Avoid oral baclofen; if there is no alternative, specialist review and "
        "intrathecal use with extreme caution.",
        params={"limit": AVOID_ORAL_BELOW_ML_MIN},
        evidence=lambda b: {"measure": b.renal.measure, "ml_min": b.renal.ml_min},
        source=RENAL_SEVERE_SOURCE,
        description="CrCl/eGFR 15 to < 30 mL/min: avoid oral baclofen.",
    ),
    AlertRule(
        id="pregnancy.not_first_line",
        code="PREGNANCY",
        severity=Severity.WARNING,
        when=(c.f << ((m.kind == "finding") & (m.finding == "pregnancy")),
              c.order << _active_order),
        message=lambda items: f"The patient is pregnant ({'; '.join(_bases(items))}): baclofen "
        "is not a first-line medication in pregnancy.",
        suggestion=lambda items: "Reserve for exceptional cases after specialist review; "
        "prefer non-drug management. If already established, do not stop abruptly.",
        evidence=_evidence,
        aggregate=True,
        source=PREGNANCY_SOURCE,
        description="Pregnancy: not first line.",
    ),
    AlertRule(
        id="interaction.cns_depressants",
        code="CNS_DEPRESSANT_COMEDICATION",
        severity=Severity.WARNING,
        when=(c.f << ((m.kind == "finding") & (m.finding == "cns_depressant")),
              c.order << _active_order),
        message=_cns_message,
        suggestion=lambda items: "Review the need for each depressant, use the lowest doses, "
        "and monitor sedation and breathing; advise against alcohol.",
        evidence=_evidence,
        aggregate=True,
        source=CNS_SOURCE,
        description="Opioid, benzodiazepine or other CNS depressant, or alcohol use, active.",
    ),
]

