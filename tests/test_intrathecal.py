"""Intrathecal checks beyond the scenario tables: timelines are real timelines, the trace shows
how the derived facts (percentage change, hours since the last change, escalation pattern) led
to each alert, the catalogue keeps the public codes, and the API's 422s name the field."""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from typing import Any

import pytest
from fastapi.testclient import TestClient

from engine import TraceEntry
from rules.case import SafetyCheckRequest
from rules.catalog import catalogue
from rules.checker import Checker, CheckResult
from rules.facts import case_facts
from tests.archetypes import build, merge
from tests.scenarios import case_of, load

TIMELINES = load("intrathecal_timelines.yaml")
INTRATHECAL_TABLES = (
    "intrathecal_screening.yaml",
    "intrathecal_titration.yaml",
    "intrathecal_timelines.yaml",
    "intrathecal_red_flags.yaml",
    "route_units.yaml",
)


def _ug(q: dict[str, Any]) -> float:
    return q["value"] * {"ug": 1, "mcg": 1, "mg": 1000, "g": 1e6}[q["unit"]]


def _run(checker: Checker, case: dict[str, Any]) -> CheckResult:
    return checker.run(SafetyCheckRequest.model_validate(case))


def _row(table: list[dict[str, Any]], row_id: str) -> dict[str, Any]:
    return next(r for r in table if r["id"] == row_id)


# --- timelines ------------------------------------------------------------------------------
def _timelines() -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in TIMELINES:
        grouped[row["timeline"]].append(row)
    return {name: sorted(rows, key=lambda r: r["step"]) for name, rows in grouped.items()}


def test_the_issue_timelines_are_present() -> None:
    timelines = _timelines()
    assert {"normal-titration", "kinked-catheter", "taper-then-stop", "abrupt-stop"} <= set(
        timelines
    )
    normal = timelines["normal-titration"]
    first = case_of(normal[0])["order"]["time"]
    last = case_of(normal[-1])["order"]["time"]
    assert first[:10] == "2026-11-03" and last[:10] == "2026-11-17"  # two weeks
    assert all(not r["expect"] for r in normal)
    assert timelines["kinked-catheter"][-1]["expect"] == ["PUMP_MALFUNCTION_SUSPECTED"]
    # Two weeks of the label's largest steps: +30 % a day in titration with partial effect
    # doubles the dose every three days and is still titration, not escalation.
    daily = timelines["daily-30-percent"]
    orders = [case_of(r)["order"] for r in daily]
    assert orders[0]["time"][:10] == "2026-11-01" and orders[-1]["time"][:10] == "2026-11-15"
    assert all(not r["expect"] for r in daily)
    titration = [o for o in orders[1:] if o["intrathecal"]["phase"] == "titration"]
    assert len(titration) >= 10
    assert all(o["intrathecal"]["history"][-1]["clinical_effect"] == "partial" for o in titration)
    assert all(
        _ug(o["dose"]) >= 1.29 * _ug(o["intrathecal"]["history"][-1]["daily_dose"])
        for o in titration
    )


@pytest.mark.parametrize("name", sorted(_timelines()))
def test_each_timeline_row_continues_the_previous_one(name: str) -> None:
    """Each row's history is the previous row's history plus the previous row's order."""
    rows = [case_of(r)["order"] for r in _timelines()[name]]
    for before, after in itertools.pairwise(rows):
        history_before = before.get("intrathecal", {}).get("history", [])
        history_after = after["intrathecal"]["history"]
        assert [(h["time"], _ug(h["daily_dose"])) for h in history_after[:-1]] == [
            (h["time"], _ug(h["daily_dose"])) for h in history_before
        ]
        assert history_after[-1]["time"] == before["time"]
        assert _ug(history_after[-1]["daily_dose"]) == _ug(before["dose"])
        assert after["time"] > before["time"]


# --- the trace explains each alert ----------------------------------------------------------
def _producers(result: CheckResult) -> dict[str, tuple[TraceEntry, dict[str, Any]]]:
    return {fact["id"]: (entry, fact) for entry in result.trace for fact in entry.derived}


def _alert_entries(result: CheckResult, code: str) -> list[TraceEntry]:
    return [t for t in result.trace if t.alert_code == code]


def _source(
    result: CheckResult, entry: TraceEntry, alias: str
) -> tuple[TraceEntry, dict[str, Any]]:
    """The rule firing that derived the fact `entry` matched as `alias`, and that fact."""
    producer, fact = _producers(result)[entry.matched[alias]]
    assert producer.step < entry.step, "a derived fact must exist before a rule matches it"
    return producer, fact


def test_trace_kinked_catheter_red_flag(checker: Checker) -> None:
    row = _row(TIMELINES, "kinked-3-third-without-effect-then-a-doubling")
    result = _run(checker, case_of(row))
    flags: dict[str, list[tuple[TraceEntry, dict[str, Any]]]] = defaultdict(list)
    for entry in _alert_entries(result, "PUMP_MALFUNCTION_SUSPECTED"):
        producer, flag = _source(result, entry, "f")
        assert producer.rule_id.startswith("intrathecal.red_flag_")
        flags[flag["pattern"]].append((producer, flag))
    assert set(flags) == {
        "single_step",
        "doubled_within_7_days",
        "no_effect_streak",
        "raised_without_effect_within_7_days",
    }

    # The single step came from the proposed step: +100 % after 48 h.
    ((producer, _),) = flags["single_step"]
    step_rule, step = _source(result, producer, "p")
    assert step_rule.rule_id == "intrathecal.proposed_step"
    assert (
        step["from_ug"],
        step["to_ug"],
        step["change_pct"],
        step["hours_since_last_change"],
    ) == (305.0, 610.0, 100.0, 48.0)

    # The doubling: each regimen of the last 7 days that 610 at least doubles; the 200 ug/day
    # one ended 144 h before the order. The 150 ug/day one ended in September: outside.
    doublings = []
    for producer, flag in flags["doubled_within_7_days"]:
        earlier_rule, earlier = _source(result, producer, "s")
        assert earlier_rule.rule_id == "intrathecal.history_step"
        doublings.append((earlier["from_ug"], earlier["from_ended_hours_ago"], flag["factor"]))
    assert sorted(doublings) == [(200.0, 144.0, 3.05), (230.0, 96.0, 2.65), (265.0, 48.0, 2.3)]
    assert "3.05 times the 200 ug/day" in result.alerts[0].message

    # The streak: the last three regimens had no effect (230, 265, 305: the run counts from
    # the first of them), the last two reached by increases, and this order increases again.
    ((producer, flag),) = flags["no_effect_streak"]
    steps = [_source(result, producer, alias)[1] for alias in ("s2", "s3")]
    assert [(s["to_ug"], s["change_pct"], s["effect_after"]) for s in steps] == [
        (265.0, 15.2, "none"),
        (305.0, 15.1, "none"),
    ]
    run_rule, run = _source(result, producer, "r")
    assert run_rule.rule_id == "intrathecal.no_effect_since_earlier"
    assert run["since"].startswith("2026-11-10")  # the 230 ug/day regimen
    assert flag["doses_ug"] == [230.0, 265.0, 305.0, 610.0]

    # The rise without effect is traced too, but the doubling says it already: the alert
    # lists single step, doubling and streak only.
    assert "over the 200 ug/day" not in result.alerts[0].message

    # The increment alert for the same step is kept in the trace, marked as superseded.
    too_large = _alert_entries(result, "INTRATHECAL_INCREMENT_TOO_LARGE")
    assert [t.suppressed_by for t in too_large] == ["intrathecal.pump_malfunction_suspected"]
    assert [a.code for a in result.alerts] == ["PUMP_MALFUNCTION_SUSPECTED"]


def test_trace_titration_doubling_rests_on_the_run_without_effect(checker: Checker) -> None:
    """In titration the doubling is a red flag only through regimens without effect: the trace
    shows the run of itb_no_effect_since facts back to the regimen after the doubled dose."""
    row = _row(
        load("intrathecal_titration.yaml"), "titration-doubled-through-increases-without-effect"
    )
    result = _run(checker, case_of(row))
    (entry,) = _alert_entries(result, "PUMP_MALFUNCTION_SUSPECTED")
    producer, flag = _source(result, entry, "f")
    assert producer.rule_id == "intrathecal.red_flag_doubling_without_effect"
    assert (flag["pattern"], flag["from_ug"], flag["to_ug"]) == (
        "doubled_within_7_days",
        100.0,
        200.0,
    )
    run_rule, run = _source(result, producer, "r")
    assert run_rule.rule_id == "intrathecal.no_effect_since_earlier"
    assert run["seq"] == 1
    last_rule, last = _source(result, run_rule, "r")
    assert last_rule.rule_id == "intrathecal.no_effect_since_last"
    assert last["seq"] == 2


SCREENING = load("intrathecal_screening.yaml")
UNIT_SLIPS = [r for r in SCREENING if "DOSE_UNIT_SUSPECT" in r["expect"]]


@pytest.mark.parametrize("row", UNIT_SLIPS, ids=[r["id"] for r in UNIT_SLIPS])
def test_a_test_bolus_unit_slip_states_ug_and_mg_and_offers_no_corrected_dose(
    checker: Checker, row: dict[str, Any]
) -> None:
    """Which dose was meant cannot be known: no number in the suggestion, only the numbers as
    written (in ug and in mg) in the message."""
    (alert,) = [a for a in _run(checker, case_of(row)).alerts if a.code == "DOSE_UNIT_SUSPECT"]
    assert alert.severity == "critical"
    ug = _ug(case_of(row)["order"]["dose"])
    assert f"{ug:g} ug" in alert.message and " mg" in alert.message
    assert not any(ch.isdigit() for ch in alert.suggestion), alert.suggestion


TRACED = [
    # (table, row, code, alias in the alert rule, producing rule, fields of the derived fact)
    (
        "intrathecal_titration.yaml",
        "spinal-plus-31",
        "INTRATHECAL_INCREMENT_TOO_LARGE",
        "p",
        "intrathecal.proposed_step",
        {"change_pct": 31.0, "from_ug": 100.0, "to_ug": 131.0},
    ),
    (
        "intrathecal_titration.yaml",
        "restart-21-percent-above-the-last-dose",
        "INTRATHECAL_INCREMENT_TOO_LARGE",
        "p",
        "intrathecal.restart_step",
        {"change_pct": 21.0, "from_ug": 300.0, "to_ug": 363.0, "direction": "increase"},
    ),
    (
        "intrathecal_titration.yaml",
        "restart-above-the-initial-dose-23h-after-the-last-change",
        "INTRATHECAL_INCREMENT_TOO_SOON",
        "p",
        "intrathecal.restart_step",
        {"hours_since_last_change": 23.0, "from_ug": 110.0},
    ),
    (
        "intrathecal_titration.yaml",
        "increase-23h-after-the-last-change-despite-a-refill",
        "INTRATHECAL_INCREMENT_TOO_SOON",
        "p",
        "intrathecal.proposed_step",
        {"hours_since_last_change": 23.0, "from_ug": 120.0, "seq": 2},
    ),
    (
        "intrathecal_titration.yaml",
        "cerebral-titration-plus-16",
        "INTRATHECAL_INCREMENT_TOO_LARGE",
        "p",
        "intrathecal.proposed_step",
        {"change_pct": 16.0},
    ),
    (
        "intrathecal_titration.yaml",
        "programmable-23h-after-last-change",
        "INTRATHECAL_INCREMENT_TOO_SOON",
        "p",
        "intrathecal.proposed_step",
        {"hours_since_last_change": 23.0, "direction": "increase"},
    ),
    (
        "intrathecal_titration.yaml",
        "non-programmable-47h-after-last-change",
        "INTRATHECAL_INCREMENT_TOO_SOON",
        "p",
        "intrathecal.proposed_step",
        {"hours_since_last_change": 47.0},
    ),
    (
        "intrathecal_titration.yaml",
        "increase-23h-after-infusion-start",
        "INTRATHECAL_INCREASE_IN_FIRST_24H",
        "age",
        "intrathecal.infusion_age",
        {"hours": 23.0, "exact": True},
    ),
    (
        "intrathecal_titration.yaml",
        "cut-by-21-percent",
        "INTRATHECAL_ABRUPT_DISCONTINUATION",
        "p",
        "intrathecal.proposed_step",
        {"change_pct": -21.0, "direction": "decrease"},
    ),
    (
        "intrathecal_titration.yaml",
        "maintenance-at-1001-ug",
        "INTRATHECAL_DOSE_ABOVE_1000_UG",
        "dose",
        "derive.daily_dose",
        {"ug": 1001.0},
    ),
    (
        "intrathecal_screening.yaml",
        "step-23h-after-previous",
        "INTRATHECAL_SCREENING_DOSE",
        "f",
        "intrathecal.screening_too_soon",
        {"hours_since_previous": 23.0},
    ),
    (
        "intrathecal_screening.yaml",
        "start-106-ug-beyond-5-percent",
        "INTRATHECAL_INITIAL_INFUSION_DOSE",
        "i",
        "intrathecal.initial_infusion",
        {"nearest_ug": 100.0, "deviation_pct": 6.0},
    ),
    (
        "intrathecal_screening.yaml",
        "infusion-after-no-response-at-100",
        "INTRATHECAL_NON_RESPONDER",
        "f",
        "intrathecal.test_dose_ug",
        {"ug": 100.0, "response": "none"},
    ),
]


@pytest.mark.parametrize(
    ("table", "row_id", "code", "alias", "rule_id", "fields"), TRACED, ids=[t[1] for t in TRACED]
)
def test_trace_shows_the_derived_fact_behind_the_alert(
    checker: Checker,
    table: str,
    row_id: str,
    code: str,
    alias: str,
    rule_id: str,
    fields: dict[str, Any],
) -> None:
    result = _run(checker, case_of(_row(load(table), row_id)))
    (entry,) = _alert_entries(result, code)
    producer, fact = _source(result, entry, alias)
    assert producer.rule_id == rule_id
    assert {k: fact[k] for k in fields} == fields


ALL_ROWS = [(t, r) for t in INTRATHECAL_TABLES for r in load(t)]


@pytest.mark.parametrize(
    ("table", "row"), ALL_ROWS, ids=[f"{t.removesuffix('.yaml')}:{r['id']}" for t, r in ALL_ROWS]
)
def test_every_alert_rests_on_facts_that_exist_before_it(
    checker: Checker, table: str, row: dict[str, Any]
) -> None:
    """Every fact an alert or derivation matched is an input fact or was derived earlier."""
    case = case_of(row)
    result = _run(checker, case)
    inputs = {f["id"] for f in case_facts(SafetyCheckRequest.model_validate(case))}
    derived_at = {f["id"]: t.step for t in result.trace for f in t.derived}
    for entry in result.trace:
        for fact_id in entry.matched.values():
            assert fact_id in inputs or derived_at[fact_id] < entry.step, (entry, fact_id)


def test_input_facts_are_raw_the_engine_derives_the_rest(checker: Checker) -> None:
    """Steps, intervals and red flags are derived by rules, never precomputed into the input."""
    case = SafetyCheckRequest.model_validate(
        case_of(_row(TIMELINES, "kinked-3-third-without-effect-then-a-doubling"))
    )
    facts = case_facts(case)
    # The spasticity scores are one fact of parallel lists (empty here): still the raw data.
    assert {f["kind"] for f in facts} == {"patient", "order", "itb_history", "itb_scores"}
    derived_keys = {"change_pct", "hours_since_last_change", "ug", "pattern", "from_ug", "effect"}
    assert not any(derived_keys & set(f) for f in facts if f["kind"] != "itb_history")
    kinds = {f["kind"] for t in checker.run(case).trace for f in t.derived}
    assert {"itb_step", "itb_red_flag", "itb_infusion_age", "daily_dose", "itb_effect"} <= kinds


# --- catalogue ------------------------------------------------------------------------------
ISSUE_CODES = {
    "INTRATHECAL_AGE_UNDER_4": "warning",
    "INTRATHECAL_SCREENING_DOSE": "warning",
    "INTRATHECAL_NON_RESPONDER": "critical",
    "INTRATHECAL_INITIAL_INFUSION_DOSE": "warning",
    "INTRATHECAL_INCREASE_IN_FIRST_24H": "warning",
    "INTRATHECAL_INCREMENT_TOO_LARGE": "warning",
    "INTRATHECAL_INCREMENT_TOO_SOON": "warning",
    "INTRATHECAL_DOSE_ABOVE_1000_UG": "warning",
    "PUMP_MALFUNCTION_SUSPECTED": "critical",
    "INTRATHECAL_ABRUPT_DISCONTINUATION": "critical",
    "ROUTE_NOT_PERMITTED": "critical",
    "DOSE_UNIT_SUSPECT": "critical",
}


def test_catalogue_has_the_intrathecal_codes_at_their_severities() -> None:
    by_code = {e["code"]: e["severity"].value for e in catalogue()}
    assert {code: by_code.get(code) for code in ISSUE_CODES} == ISSUE_CODES


def test_abrupt_discontinuation_is_critical_for_a_stop_and_a_warning_for_a_cut() -> None:
    (entry,) = [e for e in catalogue() if e["code"] == "INTRATHECAL_ABRUPT_DISCONTINUATION"]
    assert {r["id"]: r["severity"].value for r in entry["rules"]} == {
        "intrathecal.abrupt_stop": "critical",
        "intrathecal.large_reduction": "warning",
    }


# --- API ------------------------------------------------------------------------------------
BASE = build("adult_itb_titration")


def _post(client: TestClient, body: Any, query: str = "") -> Any:
    return client.post(
        f"/v1/safety-checks{query}",
        content=json.dumps(body),
        headers={"content-type": "application/json"},
    )


def _with(order: dict[str, Any]) -> dict[str, Any]:
    return {"patient": BASE["patient"], "order": merge(BASE["order"], order)}


_H0 = {"time": "2026-11-18T09:00:00Z", "daily_dose": {"value": 100, "unit": "ug"}}

INVALID = [
    (
        "datetime-not-iso",
        {"intrathecal": {"infusion_started": "yesterday 9am"}},
        "order.intrathecal.infusion_started",
    ),
    (
        "datetime-impossible",
        {"intrathecal": {"infusion_started": "2026-02-30T09:00:00Z"}},
        "order.intrathecal.infusion_started",
    ),
    ("datetime-without-offset", {"time": "2026-11-20T09:00:00"}, "order.time"),
    ("datetime-a-number", {"time": 1795683600}, "order.time"),
    (
        "datetime-year-9999",
        {"intrathecal": {"infusion_started": "9999-01-01T00:00:00Z"}},
        "order.intrathecal.infusion_started",
    ),
    (
        "history-time-malformed",
        {"intrathecal": {"history": [{**_H0, "time": "18/11/2026"}]}},
        "order.intrathecal.history[0].time",
    ),
    (
        "history-dose-negative",
        {"intrathecal": {"history": [{**_H0, "daily_dose": {"value": -100, "unit": "ug"}}]}},
        "order.intrathecal.history[0].daily_dose.value",
    ),
    (
        "history-dose-tiny",
        {"intrathecal": {"history": [{**_H0, "daily_dose": {"value": 0.00005, "unit": "mg"}}]}},
        "order.intrathecal.history[0].daily_dose",
    ),
    (
        "history-unit-unknown",
        {"intrathecal": {"history": [{**_H0, "daily_dose": {"value": 100, "unit": "ml"}}]}},
        "order.intrathecal.history[0].daily_dose.unit",
    ),
    (
        "history-effect-unknown",
        {"intrathecal": {"history": [{**_H0, "clinical_effect": "meh"}]}},
        "order.intrathecal.history[0].clinical_effect",
    ),
    (
        "history-newest-first",
        {"intrathecal": {"history": [{**_H0, "time": "2026-11-19T09:00:00Z"}, _H0]}},
        "order.intrathecal.history",
    ),
    (
        "history-after-the-order",
        {"intrathecal": {"history": [{**_H0, "time": "2026-11-21T09:00:00Z"}]}},
        "order.intrathecal.history",
    ),
    ("history-too-long", {"intrathecal": {"history": [_H0] * 101}}, "order.intrathecal.history"),
    (
        "infusion-started-after-the-order",
        {"intrathecal": {"infusion_started": "2026-11-21T09:00:00Z"}},
        "order.intrathecal.infusion_started",
    ),
    ("dose-negative", {"dose": {"value": -120, "unit": "ug"}}, "order.dose.value"),
    ("dose-below-0.1-ug", {"dose": {"value": 0.05, "unit": "ug"}}, "order.dose"),
    ("phase-unknown", {"intrathecal": {"phase": "induction"}}, "order.intrathecal.phase"),
    (
        "origin-unknown",
        {"intrathecal": {"spasticity_origin": "peripheral"}},
        "order.intrathecal.spasticity_origin",
    ),
    ("pump-unknown", {"intrathecal": {"pump": "elastomeric"}}, "order.intrathecal.pump"),
    (
        "withdrawal-sign-unknown",
        {"intrathecal": {"withdrawal_signs": ["headache"]}},
        "order.intrathecal.withdrawal_signs[0]",
    ),
    (
        "screening-effect-hours-negative",
        {
            "intrathecal": {
                "screening_doses": [
                    {
                        "time": "2026-11-16T10:00:00Z",
                        "dose": {"value": 50, "unit": "ug"},
                        "effect_hours": -1,
                    }
                ]
            }
        },
        "order.intrathecal.screening_doses[0].effect_hours",
    ),
    (
        "screening-response-unknown",
        {
            "intrathecal": {
                "screening_doses": [
                    {
                        "time": "2026-11-16T10:00:00Z",
                        "dose": {"value": 50, "unit": "ug"},
                        "response": "great",
                    }
                ]
            }
        },
        "order.intrathecal.screening_doses[0].response",
    ),
    (
        "unknown-intrathecal-field",
        {"intrathecal": {"catheter_tip": "T10"}},
        "order.intrathecal.catheter_tip",
    ),
    (
        "spasticity-score-after-the-order",
        {
            "intrathecal": {
                "spasticity_scores": [
                    {"time": "2026-11-21T09:00:00Z", "instrument": "modified_ashworth", "value": 2}
                ]
            }
        },
        "order.intrathecal.spasticity_scores",
    ),
    (
        "spasticity-score-above-4",
        {
            "intrathecal": {
                "spasticity_scores": [
                    {"time": "2026-11-19T09:00:00Z", "instrument": "modified_ashworth", "value": 5}
                ]
            }
        },
        "order.intrathecal.spasticity_scores[0].value",
    ),
    (
        "spasticity-scale-unknown",
        {
            "intrathecal": {
                "spasticity_scores": [
                    {"time": "2026-11-19T09:00:00Z", "instrument": "tardieu", "value": 2}
                ]
            }
        },
        "order.intrathecal.spasticity_scores[0].instrument",
    ),
    (
        "dated-withdrawal-sign-without-a-zone",
        {
            "intrathecal": {
                "dated_withdrawal_signs": [{"sign": "fever", "time": "2026-11-19T09:00"}]
            }
        },
        "order.intrathecal.dated_withdrawal_signs[0].time",
    ),
    ("delivery-unknown", {"intrathecal": {"delivery": "drip"}}, "order.intrathecal.delivery"),
    ("frequency-3-intrathecally", {"frequency_per_day": 3}, "order.frequency_per_day"),
    ("time-and-date-disagree", {"date": "2026-11-19"}, "order.time"),
    (
        "intrathecal-details-on-an-oral-order",
        {"route": "oral", "form": "tablet"},
        "order.intrathecal",
    ),
]


@pytest.mark.parametrize(("order", "field"), [r[1:] for r in INVALID], ids=[r[0] for r in INVALID])
def test_invalid_intrathecal_input_is_a_422_naming_the_field(
    client: TestClient, order: dict[str, Any], field: str
) -> None:
    r = _post(client, _with(order))
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "invalid_request"
    assert field in [e["field"] for e in body["errors"]], body


def test_the_valid_base_is_a_200(client: TestClient) -> None:
    """The 422 cases above differ from this body in one field only."""
    r = _post(client, _with({}))
    assert r.status_code == 200 and r.json()["outcome"] == "no_alerts"


def test_withdrawal_sign_spellings_are_accepted(client: TestClient) -> None:
    r = _post(
        client,
        _with(
            {
                "intrathecal": {
                    "withdrawal_signs": [
                        "Paresthesia",
                        "altered mental status",
                        "Rebound-Spasticity",
                        "fever",
                    ]
                }
            }
        ),
    )
    assert r.status_code == 200, r.text
    (alert,) = r.json()["alerts"]
    assert alert["code"] == "PUMP_MALFUNCTION_SUSPECTED"
    assert [f["sign"] for f in alert["evidence"]["findings"]] == [
        "paraesthesia",
        "altered_mental_status",
        "rebound_spasticity",
        "fever",
    ]


@pytest.mark.parametrize("route", ["intravenous", "intramuscular", "subcutaneous", "epidural"])
def test_a_route_not_permitted_is_a_200_with_the_alert(client: TestClient, route: str) -> None:
    body = build("adult_oral", order={"route": route, "form": None})
    r = _post(client, body)
    assert r.status_code == 200, r.text
    payload = r.json()
    assert payload["outcome"] == "critical"
    assert [a["code"] for a in payload["alerts"]] == ["ROUTE_NOT_PERMITTED"]
    assert route in payload["alerts"][0]["message"]


def test_explain_shows_the_intrathecal_chain(client: TestClient) -> None:
    row = _row(TIMELINES, "kinked-3-third-without-effect-then-a-doubling")
    payload = _post(client, case_of(row), "?explain=true").json()
    by_id = {f["id"]: t for t in payload["trace"] for f in t["derived"]}
    (pump, *_) = [
        t for t in payload["trace"] if t.get("alert_code") == "PUMP_MALFUNCTION_SUSPECTED"
    ]
    flag_rule = by_id[pump["matched"]["f"]]
    assert flag_rule["rule_id"].startswith("intrathecal.red_flag_")
    step_rule = by_id[flag_rule["matched"]["p"]]
    assert step_rule["rule_id"] == "intrathecal.proposed_step"
    assert step_rule["derived"][0]["change_pct"] == 100.0
