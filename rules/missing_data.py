"""MISSING_DATA: the checks that could not run, and which data they lacked.

Missing data is never safe: when a threshold rule cannot be evaluated, its sibling here says
so, naming the check and the field, instead of letting silence read as a pass.
"""

from __future__ import annotations

from engine import Alert, AlertRule, Bindings, Severity, c, m
from rules.contraindications import SEIZURE_SOURCE
from rules.oral_dose import (
    START_CHILD_SOURCE,
    TABLET_MIN_WEIGHT_KG,
    TABLET_SOURCE,
    TITRATION_ADULT_SOURCE,
    WEIGHT_RANGE_SOURCE,
)
from rules.sources import ADULT_SMPC, Passage

CODE = "MISSING_DATA"

AGE_SOURCE = Passage(
    ADULT_SMPC, "Population group: only adults (18 years old or older)",
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
        evidence={"missing": missing,
                  "checks": [{"message": a.message, **a.evidence} for a in distinct]},
        source=first.source,
        rule_id=first.rule_id,
    )


def _entries(items: list[Bindings], **match: object) -> list[Bindings]:
    out: dict[str, Bindings] = {}
    for b in items:
        if all(b.f.get(k) == v for k, v in match.items()):
            out.setdefault(str(b.f.label), b)
    return list(out.values())


def _listed(items: list[Bindings], with_problem: bool) -> str:
    labels = [f"{b.f.label}: {b.f.problem}" if with_problem else str(b.f.label)
              for b in items[:5]]
    return "; ".join(labels) + ("; …" if len(items) > 5 else "")


def _n(items: list[Bindings], one: str, many: str) -> str:
    return f"{len(items)} {one if len(items) == 1 else many}"


def _unscreened_message(items: list[Bindings]) -> str:
    """Entries nothing could be read from (a system we do not read, or a malformed code, and
    no text), then malformed codes whose entries were read by their text alone."""
    not_read = _entries(items, reason="system_not_read")
    malformed_blind = _entries(items, reason="malformed_code", screened_by_text=False)
    malformed_text = _entries(items, reason="malformed_code", screened_by_text=True)
    sentences = []
    blind = not_read + malformed_blind
    if blind:
        kinds = {str(b.f.entry_kind) for b in blind}
        screens = []
        if "condition" in kinds:
            screens.append("seizure disorder, end-stage renal disease and pregnancy")
        if "medication" in kinds:
            screens.append("CNS-depressant co-medication")
        parts = []
        if not_read:
            parts.append(f"{_n(not_read, 'entry is', 'entries are')} coded in a system we do "
                         f"not read and carr{'ies' if len(not_read) == 1 else 'y'} no text "
                         f"({_listed(not_read, False)})")
        if malformed_blind:
            parts.append(f"{_n(malformed_blind, 'entry has', 'entries have')} a code we "
                         f"cannot read and no text ({_listed(malformed_blind, True)})")
        sentences.append(f"{' and '.join(parts)}: the {' and the '.join(screens)} checks "
                         f"could not look at {'it' if len(blind) == 1 else 'them'}.")
    if malformed_text:
        sentences.append(
            f"{_n(malformed_text, 'code', 'codes')} could not be read "
            f"({_listed(malformed_text, True)}): "
            f"{'its entry was' if len(malformed_text) == 1 else 'their entries were'} "
            "screened by the display text alone, and the code may say more.")
    return " ".join(sentences)


def _unscreened_evidence(items: list[Bindings]) -> dict[str, object]:
    entries = _entries(items)
    evidence: dict[str, object] = {
        "missing": ["display or a valid code in ICD-10, SNOMED CT, RxNorm or ATC"],
        "entries": [str(b.f.label) for b in entries]}
    malformed = [{"entry": str(b.f.label), "problem": str(b.f.problem),
                  "screened_by_text": bool(b.f.screened_by_text)}
                 for b in entries if b.f.reason == "malformed_code"]
    if malformed:
        evidence["unreadable_codes"] = malformed
    return evidence


def _weight_checks(b: Bindings) -> str:
    checks = ["the mg/kg/day range", "the starting dose"]
    if b.order.get("form") in ("tablet", None):
        checks.append(f"the {TABLET_MIN_WEIGHT_KG} kg tablet limit")
    return ", ".join(checks[:-1]) + " and " + checks[-1]


def _previous_missing(b: Bindings) -> list[str]:
    o = b.order
    if not o.get("has_previous"):
        return ["order.previous"]
    return [f"order.previous.{name}" for key, name in
            (("prev_dose_value", "dose"), ("prev_frequency_per_day", "frequency_per_day"))
            if key not in o]


_order_active = (m.kind == "order") & (m.action != "stop")
# Oral (or route unknown): intrathecal orders have their own MISSING_DATA rules in
# rules/intrathecal.py, and a non-permitted route is answered by ROUTE_NOT_PERMITTED alone.
_oral_or_unknown = (m.route == "oral") | -m.route

RULES = [
    AlertRule(
        id="missing.weight_child",
        code=CODE,
        severity=Severity.WARNING,
        when=(
            c.band << ((m.kind == "age_band") & (m.paediatric == True)),  # noqa: E712
            c.patient << ((m.kind == "patient") & -m.weight_kg),
            c.order << (_order_active & (m.route == "oral")),
        ),
        message=lambda b: (f"No body weight for a child aged {b.band.years}: {_weight_checks(b)} "
                           "could not be checked."),
        suggestion="Record the child's current weight (patient.weight_kg) and re-run the check.",
        evidence=lambda b: {"missing": ["patient.weight_kg"], "age_years": b.band.years},
        source=WEIGHT_RANGE_SOURCE,
        description="No weight for a child: weight-based checks could not run.",
    ),
    AlertRule(
        id="missing.form_child_under_33_kg",
        code=CODE,
        severity=Severity.WARNING,
        when=(
            c.band << ((m.kind == "age_band") & (m.paediatric == True)),  # noqa: E712
            c.patient << ((m.kind == "patient") & (m.weight_kg < TABLET_MIN_WEIGHT_KG)),
            c.order << (_order_active & (m.route == "oral") & -m.form),
        ),
        message="No dosage form for a child of {patient.weight_kg:g} kg: the {limit} kg tablet "
        "limit could not be checked.",
        suggestion="State the form (order.form); below {limit} kg use the oral solution.",
        params={"limit": TABLET_MIN_WEIGHT_KG},
        evidence=lambda b: {"missing": ["order.form"], "weight_kg": b.patient.weight_kg},
        source=TABLET_SOURCE,
        description="No dosage form for a child under 33 kg.",
    ),
    AlertRule(
        id="missing.dose",
        code=CODE,
        severity=Severity.WARNING,
        when=(c.order << (_order_active & _oral_or_unknown
                          & (-m.dose_value | -m.frequency_per_day)),),
        message=lambda b: ("No "
                           + " or ".join(f for f, k in (("dose", "dose_value"),
                                                          ("frequency", "frequency_per_day"))
                                         if k not in b.order)
                           + " on the order: the daily-dose checks (maximum, mg/kg/day, "
                           "starting dose, titration) could not run."),
        suggestion="Give order.dose and order.frequency_per_day.",
        evidence=lambda b: {"missing": [f"order.{k}" for k in ("dose", "frequency_per_day")
                                        if (k if k != "dose" else "dose_value") not in b.order]},
        source=START_CHILD_SOURCE,
        description="No dose or frequency: daily-dose checks could not run.",
    ),
    AlertRule(
        id="missing.age",
        code=CODE,
        severity=Severity.WARNING,
        when=(c.patient << ((m.kind == "patient") & -m.birth_date & -m.age_years),),
        message="No birth date or age: the age-based maximum, the tablet weight limit and the "
        "paediatric checks could not run.",
        suggestion="Record the patient's birth date (patient.birth_date).",
        evidence=lambda b: {"missing": ["patient.birth_date"]},
        source=AGE_SOURCE,
        description="No age: age-dependent checks could not run.",
    ),
    AlertRule(
        id="missing.previous_regimen",
        code=CODE,
        severity=Severity.WARNING,
        when=(c.order << ((m.kind == "order") & (m.action == "change") & _oral_or_unknown
                          & ((m.has_previous == False)  # noqa: E712
                             | -m.prev_dose_value | -m.prev_frequency_per_day)),),
        message=lambda b: (f"Dose change without {', '.join(_previous_missing(b))}: the titration "
                           "step could not be checked."),
        suggestion="Give the regimen being changed: order.previous.dose, frequency_per_day and "
        "since.",
        evidence=lambda b: {"missing": _previous_missing(b)},
        source=TITRATION_ADULT_SOURCE,
        description="Dose change without the previous regimen: titration could not be checked.",
    ),
    AlertRule(
        id="missing.previous_since",
        code=CODE,
        severity=Severity.WARNING,
        when=(c.order << ((m.kind == "order") & (m.action == "change") & _oral_or_unknown
                          & (m.has_previous == True) & -m.prev_since),),  # noqa: E712
        message="Dose change without the date of the last change: the titration interval could "
        "not be checked.",
        suggestion="Give order.previous.since (the date the current regimen started).",
        evidence=lambda b: {"missing": ["order.previous.since"]},
        source=TITRATION_ADULT_SOURCE,
        description="Dose change without previous.since: interval not checked.",
    ),
    AlertRule(
        id="missing.unscreened_entries",
        code=CODE,
        severity=Severity.WARNING,
        when=(c.f << ((m.kind == "finding") & (m.finding == "unscreened_entry")),),
        message=_unscreened_message,
        suggestion=lambda items: "Correct these entries or send them with their display text "
        "(conditions coded in ICD-10 or SNOMED CT, medications in RxNorm or ATC), or review "
        "them yourself for epilepsy, end-stage renal disease, pregnancy and CNS depressants.",
        evidence=_unscreened_evidence,
        aggregate=True,
        source=SEIZURE_SOURCE,  # the most serious of the screens it could not run
        description="Problem-list or medication entries whose code cannot be read: not "
        "screened, or screened by their text alone.",
    ),
    AlertRule(
        id="missing.route",
        code=CODE,
        severity=Severity.WARNING,
        when=(c.order << ((m.kind == "order") & -m.route),),
        message="No route on the order: the route-specific checks (oral maxima, tablet limit, "
        "intrathecal titration) could not run.",
        suggestion="State the route (oral or intrathecal).",
        evidence=lambda b: {"missing": ["order.route"]},
        source=AGE_SOURCE,
        description="No route: route-specific checks could not run.",
    ),
]
