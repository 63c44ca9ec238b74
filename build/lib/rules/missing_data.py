"""MISSING_DATA: the checks that could not run, and which data they lacked.

Missing data is never safe: when a threshold rule cannot be evaluated, its sibling here says
so, naming the check and the field, instead of letting silence read as a pass.
"""

from __future__ import annotations

from engine import AlertRule, Bindings, Severity, c, m
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


def _unscreened_message(items: list[Bindings]) -> str:
    labels = list(dict.fromkeys(str(b.f.label) for b in items))
    kinds = {str(b.f.entry_kind) for b in items}
    screens = []
    if "condition" in kinds:
        screens.append("seizure disorder, end-stage renal disease and pregnancy")
    if "medication" in kinds:
        screens.append("CNS-depressant co-medication")
    return (f"{len(labels)} entr{'y is' if len(labels) == 1 else 'ies are'} coded in a system "
            f"we do not read and carr{'ies' if len(labels) == 1 else 'y'} no text "
            f"({', '.join(labels[:5])}{', …' if len(labels) > 5 else ''}): the "
            f"{' and the '.join(screens)} checks could not look at "
            f"{'it' if len(labels) == 1 else 'them'}.")


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
        suggestion=lambda items: "Send these entries with an ICD-10, SNOMED CT or RxNorm code or "
        "their display text, or review them yourself for epilepsy, end-stage renal disease, "
        "pregnancy and CNS depressants.",
        evidence=lambda items: {"missing": ["display or a code in ICD-10, SNOMED CT, RxNorm"],
                                "entries": list(dict.fromkeys(str(b.f.label) for b in items))},
        aggregate=True,
        source=SEIZURE_SOURCE,  # the most serious of the screens it could not run
        description="Problem-list or medication entries that cannot be read: not screened.",
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
