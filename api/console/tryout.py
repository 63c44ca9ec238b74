"""Try a case: the native request from the console's form (or pasted as JSON), or a pasted
CDS Hooks request, run through the real code paths: the native API's model and
rules/checker.py, and the CDS Hooks service's `answer` (translator, checker, cards). Nothing
is stored and nothing is logged: these are not checks of the service (the check log and its
log line count only the APIs), and the console never fetches from a FHIR server (the pasted
request's fhirServer and fhirAuthorization are dropped: its prefetch must carry the data).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError

from api import strict_json
from api.cds_hooks import routes as cds_routes
from api.cds_hooks.order_check import OrderCheck
from api.cds_hooks.settings import CdsSettings
from api.console import graph
from api.console.catalogue import catalogue
from api.errors import validation_items
from api.limits import shape_problem
from api.models import SafetyCheckResponse
from engine import EngineError
from rules.case import WITHDRAWAL_SIGNS, SafetyCheckRequest
from rules.checker import Checker, CheckResult
from rules.facts import case_facts

HOOKS = {"order-sign": "baclofen-order-sign", "order-select": "baclofen-order-select"}
DROPPED = ("fhirServer", "fhirAuthorization")
FLAGS = ("on_dialysis", "pregnant", "hospital_supervised", "alcohol_use")
_CODE_LIKE = re.compile(r"^[A-Za-z]?\d[\w.]*$")


class FormProblem(ValueError):
    """A form field that cannot be read (before the request is validated)."""

    def __init__(self, field_name: str, problem: str) -> None:
        super().__init__(f"{field_name}: {problem}")
        self.field = field_name
        self.problem = problem


@dataclass
class Trace:
    label: str
    svg: str
    steps: list[dict[str, Any]]
    hidden: int


@dataclass
class Outcome:
    """What the page shows for one try."""

    mode: str
    errors: list[dict[str, str]] = field(default_factory=list)
    request_json: str = ""  # the native request the form made, or the text pasted
    native: SafetyCheckResponse | None = None
    cards: list[dict[str, Any]] = field(default_factory=list)
    traces: list[Trace] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# ---- the form -> the native request ------------------------------------------------------------


def _number(form: Mapping[str, str], name: str) -> float | None:
    text = (form.get(name) or "").strip().replace(",", ".")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise FormProblem(name, f"{text!r} is not a number") from None


def _int(form: Mapping[str, str], name: str) -> int | None:
    value = _number(form, name)
    if value is None:
        return None
    if not value.is_integer():
        raise FormProblem(name, "must be a whole number")
    return int(value)


def _text(form: Mapping[str, str], name: str) -> str | None:
    text = (form.get(name) or "").strip()
    return text or None


def _entries(text: str) -> list[dict[str, str]]:
    """One condition or medication a line: `system | code | display`, `code display` (the
    first word is a code when it holds a digit), or text alone."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if "|" in line:
            parts = [p.strip() for p in line.split("|")]
            parts = ([""] * (3 - len(parts)) + parts)[-3:]
            entry = dict(zip(("system", "code", "display"), parts, strict=True))
        else:
            first, _, rest = line.partition(" ")
            entry = (
                {"code": first, "display": rest.strip()}
                if _CODE_LIKE.match(first)
                else {"display": line}
            )
        out.append({k: v for k, v in entry.items() if v})
    return out


def _quantity(form: Mapping[str, str], value: str, unit: str) -> dict[str, Any] | None:
    amount = _number(form, value)
    return None if amount is None else {"value": amount, "unit": form.get(unit) or "mg"}


def _lines(form: Mapping[str, str], name: str, columns: int) -> list[list[str]]:
    rows = []
    for n, line in enumerate((form.get(name) or "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(";")]
        if len(parts) < 2 or len(parts) > columns:
            raise FormProblem(name, f"line {n}: give {columns} values separated by ';'")
        rows.append(parts + [""] * (columns - len(parts)))
    return rows


def _dose(text: str, name: str) -> dict[str, Any]:
    match = re.fullmatch(r"\s*([0-9]+(?:[.,][0-9]+)?)\s*([A-Za-zµ]+)\s*", text)
    if not match:
        raise FormProblem(name, f"{text!r} is not a dose such as '300 ug'")
    return {"value": float(match[1].replace(",", ".")), "unit": match[2]}


def request_from_form(form: Mapping[str, str], signs: list[str]) -> dict[str, Any]:
    """The native request the form describes. Empty fields are left out (the API's defaults
    and its MISSING_DATA alerts apply, as for any caller)."""
    patient: dict[str, Any] = {}
    if _text(form, "birth_date"):
        patient["birth_date"] = _text(form, "birth_date")
    age = _number(form, "age_years")
    if age is not None:
        patient["age_years"] = age
    for name in ("weight_kg", "creatinine_clearance_ml_min", "egfr_ml_min_1_73m2"):
        value = _number(form, name)
        if value is not None:
            patient[name] = value
    for flag in FLAGS:
        if form.get(flag):
            patient[flag] = True
    conditions = _entries(form.get("conditions") or "")
    if conditions:
        patient["conditions"] = conditions
    medications = _entries(form.get("medications") or "")
    if medications:
        patient["medications"] = medications
    order: dict[str, Any] = {"action": form.get("action") or "start"}
    for name in ("date", "time", "route", "form"):
        if _text(form, name):
            order[name] = _text(form, name)
    dose = _quantity(form, "dose_value", "dose_unit")
    if dose:
        order["dose"] = dose
    frequency = _int(form, "frequency_per_day")
    if frequency is not None:
        order["frequency_per_day"] = frequency
    strength = _number(form, "strength_value")
    if strength is not None:
        order["strength"] = {
            "value": strength,
            "unit": form.get("strength_unit") or "mg",
            "per": form.get("strength_per") or "tablet",
        }
    if form.get("taper"):
        order["taper"] = True
    previous: dict[str, Any] = {}
    prev_dose = _quantity(form, "prev_dose_value", "prev_dose_unit")
    if prev_dose:
        previous["dose"] = prev_dose
    prev_frequency = _int(form, "prev_frequency_per_day")
    if prev_frequency is not None:
        previous["frequency_per_day"] = prev_frequency
    if _text(form, "prev_since"):
        previous["since"] = _text(form, "prev_since")
    if previous:
        order["previous"] = previous
    intrathecal: dict[str, Any] = {}
    for name in ("phase", "spasticity_origin", "pump", "infusion_started"):
        if _text(form, name):
            intrathecal[name] = _text(form, name)
    history = [
        {
            "time": time,
            "daily_dose": _dose(dose_text, "history"),
            **({"clinical_effect": effect} if effect else {}),
        }
        for time, dose_text, effect in _lines(form, "history", 3)
    ]
    if history:
        intrathecal["history"] = history
    screening = []
    for time, dose_text, response, hours in _lines(form, "screening_doses", 4):
        dose_entry: dict[str, Any] = {"time": time, "dose": _dose(dose_text, "screening_doses")}
        if response:
            dose_entry["response"] = response
        if hours:
            try:
                dose_entry["effect_hours"] = float(hours.replace(",", "."))
            except ValueError:
                raise FormProblem(
                    "screening_doses", f"{hours!r} is not a number of hours"
                ) from None
        screening.append(dose_entry)
    if screening:
        intrathecal["screening_doses"] = screening
    chosen = [s for s in signs if s in WITHDRAWAL_SIGNS]
    if chosen:
        intrathecal["withdrawal_signs"] = chosen
    if intrathecal or order.get("route") == "intrathecal":
        if intrathecal:
            order["intrathecal"] = intrathecal
    return {"patient": patient, "order": order}


# ---- running it ---------------------------------------------------------------------------------


def _severities() -> dict[str, str]:
    return {r["id"]: r["severity"] for r in catalogue().doc["rules"] if r.get("type") == "alert"}


def trace_of(label: str, case: Any, result: CheckResult, prefix: str) -> Trace:
    g = graph.build(case_facts(case), result.trace, result.alerts, _severities())
    return Trace(
        label=label,
        svg=graph.svg(g, f"Trace of {label}: input facts, derived facts, alerts", prefix),
        steps=[t.model_dump(exclude_none=True) for t in result.trace],
        hidden=g.hidden,
    )


def loads(text: str) -> Any:
    """The pasted JSON, under the limits of the APIs' bodies (api/limits.py): the form
    arrives URL-encoded, so those limits never saw its brackets, and nesting deep enough
    to exhaust the parser's recursion gave a 500."""
    raw = text.encode("utf-8", "surrogatepass")
    problem = shape_problem(raw)
    if problem:
        raise FormProblem("json", problem)
    try:
        return strict_json.loads(raw)
    except strict_json.DuplicateKeys as exc:
        raise FormProblem(
            "json", f"a key is repeated in the same object ({exc}); send each key once"
        ) from None
    except ValueError as exc:
        raise FormProblem("json", f"not valid JSON: {exc}") from None
    except RecursionError:
        raise FormProblem("json", "JSON nested too deeply") from None


def run_native(checker: Checker, data: Any, outcome: Outcome) -> Outcome:
    """The native API's path: SafetyCheckRequest, Checker.run, SafetyCheckResponse."""
    try:
        case = SafetyCheckRequest.model_validate(data)
    except ValidationError as exc:
        outcome.errors = validation_items([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()])
        return outcome
    try:
        result = checker.run(case, check_id="console")
    except EngineError as exc:
        outcome.errors = [
            {"field": "check", "problem": f"the check could not be completed ({exc})"}
        ]
        return outcome
    outcome.native = SafetyCheckResponse.from_result(result, explain=True)
    outcome.traces.append(trace_of("this check", case, result, "native"))
    return outcome


async def run_cds_hooks(
    checker: Checker | None, settings: CdsSettings, data: Any, outcome: Outcome
) -> Outcome:
    """The CDS Hooks service's path (routes.answer) for a pasted request."""
    if not isinstance(data, dict):
        outcome.errors = [{"field": "body", "problem": "a CDS Hooks request is a JSON object"}]
        return outcome
    dropped = [k for k in DROPPED if k in data]
    if dropped:
        data = {k: v for k, v in data.items() if k not in DROPPED}
        outcome.notes.append(
            f"{' and '.join(dropped)} left out: the console never fetches from a FHIR "
            "server; what the prefetch does not carry is reported as missing."
        )
    service_id = HOOKS.get(str(data.get("hook")))
    if service_id is None:
        outcome.errors = [
            {"field": "hook", "problem": "must be order-sign or order-select (the services)"}
        ]
        return outcome
    explained: list[tuple[OrderCheck, CheckResult]] = []
    try:
        response = await cds_routes.answer(
            checker, cds_routes.SERVICES[service_id], data, settings, None, explained
        )
    except cds_routes.CdsHooksError as exc:
        outcome.errors = [
            {
                "field": ", ".join(issue.expression or []) or "request",
                "problem": issue.diagnostics or issue.code,
            }
            for issue in exc.outcome.issue
        ]
        return outcome
    outcome.cards = [c.model_dump(exclude_none=True) for c in response.cards]
    for n, (check, result) in enumerate(explained):
        if check.case is not None:
            outcome.traces.append(trace_of(check.label, check.case, result, f"order{n}"))
    return outcome


def example_hook() -> Any:
    """A CDS Hooks order-sign request shipped with the console (a child of 20 kg on
    tablets), to paste from."""
    from importlib import resources

    text = resources.files("api.console").joinpath("static/order-sign-example.json").read_text()
    return json.loads(text)


def pretty(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


def today() -> str:
    """The default order date of the try-out: the service's own (TZ), as for an undated check."""
    return date.today().isoformat()
