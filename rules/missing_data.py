"""MISSING_DATA: the checks that could not run for want of the age, the dose, or a readable
problem-list or medication entry, and how every MISSING_DATA alert of a check becomes one.

Missing data is never safe: when a threshold rule cannot be evaluated, its sibling says so,
naming the check and the field, instead of letting silence read as a pass. The siblings of
one recommendation sit in its module (the weight of a child in rules/oral/weight_based.py, the
previous regimen in rules/oral/titration.py, the intrathecal details in rules/intrathecal/);
these are the checks every family needs.

When there is no birth date and no age, Then the age-based maximum, the tablet weight limit and
the paediatric checks could not run.
When an active oral order (or one of unknown route) has no dose or no frequency, Then the
daily-dose checks could not run; so when its dose is written per kg of body weight and no weight
is recorded.
When a problem-list or medication entry has a code we cannot read and no text, or a malformed
code, Then the screens for epilepsy, end-stage renal disease, pregnancy and CNS depressants
could not look at it (or read its text only).
"""

from __future__ import annotations

from collections.abc import Sequence

from engine import Alert, AlertRule, Severity, c, m
from rules.contraindications import SEIZURE_SOURCE
from rules.oral.starting_dose import START_CHILD_SOURCE
from rules.sources import ADULT_SMPC, Passage
from rules.vocabulary import Finding

CODE = "MISSING_DATA"

AGE_SOURCE = Passage(
    ADULT_SMPC,
    "Population group: only adults (18 years old or older)",
    note="Every dose limit depends on the age band (000 for 0-<18 years, 001 for adults).",
)


def merge(alerts: list[Alert]) -> Alert:
    """Every MISSING_DATA alert of one check as one alert (the engine reports one per code):
    the message lists each check that could not run, in the order they were found, and
    `evidence.missing` is the union of the data they lacked. `evidence.checks` keeps each
    check's own message and evidence, so that a reader (the CDS Hooks gap card) can still
    list or set aside the checks one by one."""
    distinct: list[Alert] = []
    for alert in alerts:  # the first of identical messages (the engine traces the others)
        if all(alert.message != d.message for d in distinct):
            distinct.append(alert)
    if len(distinct) == 1:
        return distinct[0]
    first = distinct[0]
    missing = list(dict.fromkeys(str(f) for a in distinct for f in a.evidence.get("missing", [])))
    return Alert(
        code=CODE,
        severity=max((a.severity for a in distinct), key=lambda s: s.rank),
        message=f"{len(distinct)} checks could not run: "
        + " ".join(f"({n}) {a.message}" for n, a in enumerate(distinct, start=1)),
        suggestion=" ".join(dict.fromkeys(a.suggestion for a in distinct)),
        evidence={
            "missing": missing,
            "checks": [{"message": a.message, **a.evidence} for a in distinct],
        },
        source=first.source,
        rule_id=first.rule_id,
    )


# -- entries that could not be screened --------------------------------------------------------
def _entries(
    f: Sequence[Finding], reason: str | None = None, screened_by_text: bool | None = None
) -> list[Finding]:
    out: dict[str, Finding] = {}
    for x in f:
        if (reason is None or x.reason == reason) and (
            screened_by_text is None or x.screened_by_text == screened_by_text
        ):
            out.setdefault(x.label, x)
    return list(out.values())


def _listed(items: list[Finding], with_problem: bool) -> str:
    labels = [f"{x.label}: {x.problem}" if with_problem else x.label for x in items[:5]]
    return "; ".join(labels) + ("; …" if len(items) > 5 else "")


def _n(items: list[Finding], one: str, many: str) -> str:
    return f"{len(items)} {one if len(items) == 1 else many}"


def unscreened_message(f: Sequence[Finding]) -> str:
    """Entries nothing could be read from (a system we do not read, or a malformed code, and
    no text), then malformed codes whose entries were read by their text alone."""
    not_read = _entries(f, reason="system_not_read")
    malformed_blind = _entries(f, reason="malformed_code", screened_by_text=False)
    malformed_text = _entries(f, reason="malformed_code", screened_by_text=True)
    sentences = []
    blind = not_read + malformed_blind
    if blind:
        kinds = {x.entry_kind for x in blind}
        screens = []
        if "condition" in kinds:
            screens.append("seizure disorder, renal impairment and pregnancy")
        if "medication" in kinds:
            screens.append("CNS-depressant co-medication")
        parts = []
        if not_read:
            parts.append(
                f"{_n(not_read, 'entry is', 'entries are')} coded in a system we do "
                f"not read and carr{'ies' if len(not_read) == 1 else 'y'} no text "
                f"({_listed(not_read, False)})"
            )
        if malformed_blind:
            parts.append(
                f"{_n(malformed_blind, 'entry has', 'entries have')} a code we "
                f"cannot read and no text ({_listed(malformed_blind, True)})"
            )
        sentences.append(
            f"{' and '.join(parts)}: the {' and the '.join(screens)} checks "
            f"could not look at {'it' if len(blind) == 1 else 'them'}."
        )
    if malformed_text:
        sentences.append(
            f"{_n(malformed_text, 'code', 'codes')} could not be read "
            f"({_listed(malformed_text, True)}): "
            f"{'its entry was' if len(malformed_text) == 1 else 'their entries were'} "
            "screened by the display text alone, and the code may say more."
        )
    return " ".join(sentences)


def unscreened_evidence(f: Sequence[Finding]) -> dict[str, object]:
    entries = _entries(f)
    evidence: dict[str, object] = {
        "missing": ["display or a valid code in ICD-10, SNOMED CT, RxNorm or ATC"],
        "entries": [x.label for x in entries],
    }
    malformed = [
        {"entry": x.label, "problem": str(x.problem), "screened_by_text": bool(x.screened_by_text)}
        for x in entries
        if x.reason == "malformed_code"
    ]
    if malformed:
        evidence["unreadable_codes"] = malformed
    return evidence


_order_active = (m.kind == "order") & (m.action != "stop")
# Oral (or route unknown): intrathecal orders have their own MISSING_DATA rules in
# rules/intrathecal/, and a non-permitted route is answered by ROUTE_NOT_PERMITTED alone.
_oral_or_unknown = (m.route == "oral") | -m.route
_DAILY_DOSE_CHECKS = (
    "the daily-dose checks (maximum, mg/kg/day, starting dose, titration) could not run."
)

RULES = [
    AlertRule(
        id="missing.dose",
        code=CODE,
        severity=Severity.WARNING,
        when=(
            c.order << (_order_active & _oral_or_unknown & -m.dose_value & +m.frequency_per_day),
        ),
        message="No dose on the order: " + _DAILY_DOSE_CHECKS,
        suggestion="Give order.dose and order.frequency_per_day.",
        params={"missing": ["order.dose"]},
        evidence=("missing",),
        source=START_CHILD_SOURCE,
        description="No dose: daily-dose checks could not run.",
    ),
    AlertRule(
        id="missing.frequency",
        code=CODE,
        severity=Severity.WARNING,
        when=(
            c.order << (_order_active & _oral_or_unknown & +m.dose_value & -m.frequency_per_day),
        ),
        message="No frequency on the order: " + _DAILY_DOSE_CHECKS,
        suggestion="Give order.dose and order.frequency_per_day.",
        params={"missing": ["order.frequency_per_day"]},
        evidence=("missing",),
        source=START_CHILD_SOURCE,
        description="No frequency: daily-dose checks could not run.",
    ),
    AlertRule(
        id="missing.dose_and_frequency",
        code=CODE,
        severity=Severity.WARNING,
        when=(
            c.order << (_order_active & _oral_or_unknown & -m.dose_value & -m.frequency_per_day),
        ),
        message="No dose or frequency on the order: " + _DAILY_DOSE_CHECKS,
        suggestion="Give order.dose and order.frequency_per_day.",
        params={"missing": ["order.dose", "order.frequency_per_day"]},
        evidence=("missing",),
        source=START_CHILD_SOURCE,
        description="No dose and no frequency: daily-dose checks could not run.",
    ),
    AlertRule(
        id="missing.weight_for_dose_per_kg",
        code=CODE,
        severity=Severity.WARNING,
        when=(
            c.order << (_order_active & _oral_or_unknown & (m.dose_unit == "mg/kg")),
            c.patient << ((m.kind == "patient") & -m.weight_kg),
        ),
        message="The dose is written per kg of body weight ({order.dose_value:g} mg/kg) and no "
        "weight is recorded: the dose in mg is unknown, so " + _DAILY_DOSE_CHECKS,
        suggestion="Record the patient's current weight (patient.weight_kg), or order the "
        "dose in mg.",
        params={"missing": ["patient.weight_kg"]},
        evidence=("missing", "dose_mg_per_kg=order.dose_value"),
        source=START_CHILD_SOURCE,
        description="Dose written in mg/kg without a weight: daily-dose checks could not run.",
    ),
    AlertRule(
        id="missing.weight_for_previous_dose_per_kg",
        code=CODE,
        severity=Severity.WARNING,
        when=(
            c.order
            << (
                (m.kind == "order")
                & ((m.action == "change") | (m.action == "continue") | (m.action == "stop"))
                & (m.prev_dose_unit == "mg/kg")
            ),
            c.patient << ((m.kind == "patient") & -m.weight_kg),
        ),
        message="The current regimen is written per kg of body weight ({order.prev_dose_value:g} "
        "mg/kg) and no weight is recorded: the step from it (titration, taper) could not be "
        "checked.",
        suggestion="Record the patient's current weight (patient.weight_kg).",
        params={"missing": ["patient.weight_kg"]},
        evidence=("missing",),
        source=START_CHILD_SOURCE,
        description="Previous regimen in mg/kg without a weight: the step could not be checked.",
    ),
    AlertRule(
        id="missing.age",
        code=CODE,
        severity=Severity.WARNING,
        when=(c.patient << ((m.kind == "patient") & -m.birth_date & -m.age_years),),
        message="No birth date or age: the age-based maximum, the tablet weight limit and the "
        "paediatric checks could not run.",
        suggestion="Record the patient's birth date (patient.birth_date).",
        params={"missing": ["patient.birth_date"]},
        evidence=("missing",),
        source=AGE_SOURCE,
        description="No age: age-dependent checks could not run.",
    ),
    AlertRule(
        id="missing.unscreened_entries",
        code=CODE,
        severity=Severity.WARNING,
        when=(c.f << ((m.kind == "finding") & (m.finding == "unscreened_entry")),),
        message=unscreened_message,
        suggestion="Correct these entries or send them with their display text (conditions "
        "coded in ICD-10 or SNOMED CT, medications in RxNorm or ATC), or review them yourself "
        "for epilepsy, end-stage renal disease, pregnancy and CNS depressants.",
        evidence=unscreened_evidence,
        aggregate=True,
        source=SEIZURE_SOURCE,  # the most serious of the screens it could not run
        description="Problem-list or medication entries whose code cannot be read: not "
        "screened, or screened by their text alone.",
    ),
]
