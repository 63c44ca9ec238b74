"""Contraindications: a seizure disorder, terminal renal failure (any route).

002 (review, secondary): "Baclofen should not be administered to individuals with epilepsy or
other seizure disorders"; "Terminal renal insufficiency also precludes its use."

When the problem list holds a seizure disorder (also a past one) and baclofen is ordered (not
stopped), Then SEIZURE_DISORDER_CONTRAINDICATION (critical).
When the patient has terminal renal failure (N18.5/N18.6, SNOMED CT 46177005/433146000,
dialysis, or CrCl/eGFR < 15 mL/min) and oral baclofen (or another route) is ordered, or an
intrathecal infusion or screening bolus is started, Then END_STAGE_RENAL_CONTRAINDICATION
(critical); it supersedes RENAL_IMPAIRMENT. An intrathecal infusion already running gets the
RENAL_IMPAIRMENT warning instead (rules/intrathecal/renal.py).
When either is raised on a new course (start), Then the order is better removed (a result the
CDS Hooks card offers as "Remove this baclofen order"), and no corrected oral regimen is
offered beside it. On an established course (continue, change, add) the suggestion says not
to stop abruptly (001).
Terminal renal failure on an oral order also supersedes the starting-dose advice, the elderly
dose advice (as "avoid oral" does: rules/renal.py), the renal MISSING_DATA of a renal
diagnosis, and the corrected oral regimen (none is offered beside it); it derives oral_avoided,
so that the titration and elderly advice beside it name no oral target.
Code sets: rules/code_sets.py. Findings: rules/derive.py.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from engine import AlertRule, Derivation, Severity, c, m
from rules.renal import ELDERLY_ADVICE_RULES
from rules.sources import REVIEW, Passage
from rules.vocabulary import Finding, OralAvoided, OrderFact, OrderRemoval

SEIZURE_SOURCE = Passage(
    REVIEW,
    "Baclofen should not be administered to individuals with epilepsy or other seizure disorders",
    note="Contraindication per the design card and 002 (secondary) and 004 (tertiary). The "
    "primary text (001) does not list epilepsy as a contraindication; it treats seizure risk as "
    "a precaution (withdrawal seizures). We keep the stricter reading and make the alert "
    "critical; a prescriber may override with a documented reason. A past seizure disorder "
    "(resolved, inactive, in remission, 'history of') counts too: 004 contraindicates it in "
    "'Patients with a history of epilepsy or seizure disorders, due to lowered seizure "
    "threshold during withdrawal.' Febrile convulsions (ICD-10 R56.0) are not a seizure "
    "disorder. Policy: on a new course no oral regimen is suggested (the corrected order a "
    "dose limit would offer is withheld, as for terminal renal failure) and the starting-dose "
    "advice is superseded. On an established course (continue, change, add) the suggestion "
    "says not to stop abruptly: 001 (primary) 'Baclofen should not be discontinued "
    "suddenly', 004 (tertiary) 'taper over 1–2 weeks'.",
)
ESRD_SOURCE = Passage(
    REVIEW,
    "Terminal renal insufficiency also precludes its use.",
    note="Terminal renal failure = ICD-10 N18.6/N18.5, SNOMED CT 46177005/433146000, dialysis, "
    "or CrCl/eGFR < 15 mL/min (CKD stage 5). Not in the primary texts (000/001); 002 and 004 "
    "('avoid in end-stage renal disease') agree. Policy: no oral regimen is suggested beside "
    "it (the corrected order a dose limit would offer is withheld), and the starting-dose "
    "advice, the elderly dose advice and the renal warnings are superseded (the titration and "
    "elderly advice beside it name no oral target, as beside 'avoid oral': rules/renal.py). "
    "On an established course (continue, change, add) the suggestion adds not to stop "
    "abruptly, as for a seizure disorder: 001 "
    "(primary) 'Except in overdose-related emergencies, the treatment with baclofen should "
    "always be gradually discontinued by successively reducing the dosage. Baclofen should "
    "not be discontinued suddenly'; 004 (tertiary) 'taper over 1–2 weeks'. Toxicity from "
    "accumulation is the emergency that may call for a faster withdrawal, under the "
    "specialist or renal team.",
)
ESRD_INTRATHECAL_SOURCE = Passage(
    REVIEW,
    "Terminal renal insufficiency also precludes its use.",
    note="Policy: terminal renal failure on an intrathecal start or a screening bolus is a "
    "contraindication too. The design card makes terminal renal failure a contraindication "
    "with no route exception, 002 (secondary) says it precludes baclofen's use without naming "
    "a route, and 004 (tertiary) says 'avoid in end-stage renal disease'; the primary texts "
    "(000/001) are silent. 004's 'use intrathecal with extreme caution' is its line for CrCl "
    "< 30 mL/min, not for end-stage disease. An infusion already running (change, continue) "
    "gets the RENAL_IMPAIRMENT warning instead (rules/intrathecal/renal.py): stopping it "
    "abruptly is the greater danger (001: 'Baclofen should not be discontinued suddenly').",
)

# A stop order ends the exposure these alerts warn about: it gets ABRUPT_DISCONTINUATION (or
# nothing, when it ends a taper), not the reasons to stop.
ACTIVE_ORDER = (m.kind == "order") & (m.action != "stop")
_oral_or_other = ACTIVE_ORDER & (m.route != "intrathecal")
# An intrathecal order that starts an exposure: a new or resumed infusion, or a test bolus.
_intrathecal_start = (
    ACTIVE_ORDER
    & (m.route == "intrathecal")
    & ((m.action == "start") | (m.it_phase == "screening"))
)
_seizure = (m.kind == "finding") & (m.finding == "seizure_disorder")
_end_stage = (m.kind == "finding") & (m.finding == "end_stage_renal")


def _labels(f: Sequence[Finding]) -> str:
    return ", ".join(dict.fromkeys(x.label for x in f))


def _bases(f: Sequence[Finding]) -> str:
    return "; ".join(sorted({str(x.basis) for x in f}))


SEIZURE_START_ADVICE = (
    "Do not start baclofen; choose another antispastic treatment, or document the "
    "specialist's override reason."
)
SEIZURE_ESTABLISHED_ADVICE = (
    "Choose another antispastic treatment, or document the specialist's override reason. "
    "Already established: do not stop abruptly (withdrawal itself can cause seizures); "
    "reduce gradually, over 1–2 weeks."
)


def seizure_message(f: Sequence[Finding]) -> str:
    return (
        f"Seizure disorder on the problem list ({_labels(f)}): baclofen is "
        "contraindicated in epilepsy and other seizure disorders."
    )


def end_stage_message(f: Sequence[Finding]) -> str:
    return (
        f"Terminal renal failure ({_bases(f)}): oral baclofen is contraindicated; it is "
        "excreted unchanged by the kidneys and accumulates to toxic levels."
    )


def end_stage_intrathecal_message(f: Sequence[Finding], order: Sequence[OrderFact]) -> str:
    what = (
        "an intrathecal screening bolus"
        if order[0].it_phase == "screening"
        else "a new intrathecal infusion"
    )
    return (
        f"Terminal renal failure ({_bases(f)}): baclofen is contraindicated, and {what} "
        "starts a new exposure; it is excreted unchanged by the kidneys and accumulates "
        "to toxic levels."
    )


def end_stage_suggestion(order: Sequence[OrderFact]) -> str:
    advice = (
        "Do not use oral baclofen (nor start intrathecal baclofen); choose another "
        "antispastic treatment, or document the specialist's override reason."
    )
    if order[0].action == "start":
        return advice
    return (
        advice + " If already established, do not stop abruptly: reduce gradually (over 1–2 "
        "weeks) unless toxicity requires urgent withdrawal (specialist or renal team)."
    )


def oral_contraindicated(f: Finding) -> Iterator[OralAvoided]:
    yield OralAvoided(reason=f"terminal renal failure ({f.basis})", contraindicated=True)


def removal(code: str) -> Iterator[OrderRemoval]:
    yield OrderRemoval(code=code)


RULES = [
    Derivation(
        id="contraindication.oral_avoided_end_stage_renal",
        when=(c.f << _end_stage, c.order << _oral_or_other),
        derive=oral_contraindicated,
        doc="Terminal renal failure on an oral (or other non-intrathecal) order: oral baclofen "
        "is contraindicated, which the oral dose advice beside it must not contradict.",
    ),
    Derivation(
        id="contraindication.remove_on_start_seizure_disorder",
        when=(c.f << _seizure, c.order << (ACTIVE_ORDER & (m.action == "start"))),
        derive=removal,
        params={"code": "SEIZURE_DISORDER_CONTRAINDICATION"},
        doc="A new course in a seizure disorder: remove the order rather than give it.",
    ),
    Derivation(
        id="contraindication.remove_on_start_end_stage_renal",
        when=(c.f << _end_stage, c.order << (_oral_or_other & (m.action == "start"))),
        derive=removal,
        params={"code": "END_STAGE_RENAL_CONTRAINDICATION"},
        doc="A new oral course in terminal renal failure: remove the order.",
    ),
    Derivation(
        id="contraindication.remove_intrathecal_start_end_stage_renal",
        when=(c.f << _end_stage, c.order << (_intrathecal_start & (m.action == "start"))),
        derive=removal,
        params={"code": "END_STAGE_RENAL_CONTRAINDICATION"},
        doc="A new intrathecal course in terminal renal failure: remove the order.",
    ),
    AlertRule(
        id="contraindication.seizure_disorder_start",
        code="SEIZURE_DISORDER_CONTRAINDICATION",
        severity=Severity.CRITICAL,
        when=(c.f << _seizure, c.order << (ACTIVE_ORDER & (m.action == "start"))),
        message=seizure_message,
        suggestion=SEIZURE_START_ADVICE,
        evidence=("findings=f[].*",),
        aggregate=True,
        # "Do not start" beside "Start with 5 mg three times daily" is no advice, nor beside a
        # corrected regimen a dose limit would offer: the start's dose is the overriding
        # specialist's, as for terminal renal failure.
        supersedes=("STARTING_DOSE_ABOVE_RECOMMENDED",),
        withholds=("suggested_regimen",),
        source=SEIZURE_SOURCE,
        description="Epilepsy or another seizure disorder on the problem list, on a new course "
        "(no oral regimen suggested).",
    ),
    AlertRule(
        id="contraindication.seizure_disorder",
        code="SEIZURE_DISORDER_CONTRAINDICATION",
        severity=Severity.CRITICAL,
        when=(c.f << _seizure, c.order << (ACTIVE_ORDER & (m.action != "start"))),
        message=seizure_message,
        suggestion=SEIZURE_ESTABLISHED_ADVICE,
        evidence=("findings=f[].*",),
        aggregate=True,
        supersedes=("STARTING_DOSE_ABOVE_RECOMMENDED",),
        source=SEIZURE_SOURCE,
        description="Epilepsy or another seizure disorder on the problem list, on a course "
        "already given (continue, change, add): do not stop abruptly.",
    ),
    AlertRule(
        id="contraindication.end_stage_renal",
        code="END_STAGE_RENAL_CONTRAINDICATION",
        severity=Severity.CRITICAL,
        when=(c.f << _end_stage, c.order << _oral_or_other),
        message=end_stage_message,
        suggestion=end_stage_suggestion,
        evidence=("findings=f[].*",),
        aggregate=True,
        supersedes=("RENAL_IMPAIRMENT", "STARTING_DOSE_ABOVE_RECOMMENDED"),
        supersedes_rules=("missing.renal_function", *ELDERLY_ADVICE_RULES),
        withholds=("suggested_regimen",),
        source=ESRD_SOURCE,
        description="Terminal renal failure: N18.6, SNOMED CT 46177005/433146000, dialysis, or "
        "CrCl/eGFR < 15 mL/min.",
    ),
    AlertRule(
        id="contraindication.end_stage_renal_intrathecal_start",
        code="END_STAGE_RENAL_CONTRAINDICATION",
        severity=Severity.CRITICAL,
        when=(c.f << _end_stage, c.order << _intrathecal_start),
        message=end_stage_intrathecal_message,
        suggestion="Do not start intrathecal baclofen (screening or infusion); choose another "
        "antispastic treatment, or document the specialist's override reason.",
        evidence=("findings=f[].*",),
        aggregate=True,
        supersedes=("RENAL_IMPAIRMENT",),
        supersedes_rules=("missing.intrathecal_renal_function",),
        source=ESRD_INTRATHECAL_SOURCE,
        description="Terminal renal failure on an intrathecal start or screening bolus (a "
        "running infusion gets RENAL_IMPAIRMENT instead).",
    ),
]
