"""The golden CDS Hooks cases: one realistic FHIR R4 request per alert code the CDS Hooks path
can raise, with the exact card codes expected. tests/golden/<case>.request.json is written
from here; <case>.cards.json holds the cards it must return (compared without uuid).
Regenerate both with `UPDATE_GOLDEN=1 .venv/bin/pytest tests/cds_hooks/test_golden.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.cds_hooks.fhir import (
    INTRATHECAL,
    LIORESAL_10,
    SOLUTION_5_PER_5,
    TABLET_10,
    TABLET_20,
    concept,
    condition,
    crcl,
    egfr,
    full_prefetch,
    hook_request,
    med_request,
    patient,
    pregnancy_status,
    quantity,
    weight,
)
from tests.cds_hooks.intrathecal_fhir import (
    PID,
    bolus_given,
    itb_request,
    pump_device,
    score,
)

ADULT = patient("pat-1", "1981-06-15")
ACTIVE_SINCE = "2026-10-01T10:00:00+01:00"


def _mg(value: float) -> dict[str, Any]:
    return quantity(value, "mg")


def adult_start_above_recommended() -> dict[str, Any]:
    draft = med_request(
        "rx-1",
        TABLET_10,
        quantity(1, "tablet", "{tbl}"),
        per_day=3,
        text="1 tablet by mouth three times a day",
    )
    return hook_request(
        "order-sign", [draft], full_prefetch(ADULT, weights=[weight(80)], crcls=[crcl(95)])
    )


def adult_daily_dose_above_maximum() -> dict[str, Any]:
    active = med_request(
        "rx-old", TABLET_20, _mg(40), per_day=4, status="active", authored=ACTIVE_SINCE
    )
    draft = med_request(
        "rx-2",
        TABLET_20,
        quantity(2, "tablet", "{tbl}"),
        per_day=4,
        text="2 tablets by mouth four times a day",
        prior="rx-old",
    )
    return hook_request(
        "order-sign",
        [draft],
        full_prefetch(ADULT, medications=[active], weights=[weight(80)], crcls=[crcl(95)]),
    )


def child_tablet_below_33_kg() -> dict[str, Any]:
    child = patient("pat-2", "2019-05-01", "male")
    active = med_request(
        "rx-old",
        LIORESAL_10,
        quantity(1, "{pill}"),
        per_day=3,
        status="active",
        authored=ACTIVE_SINCE,
        pid="pat-2",
    )
    draft = med_request(
        "rx-3", LIORESAL_10, quantity(1, "{pill}"), per_day=3, pid="pat-2", prior="rx-old"
    )
    return hook_request(
        "order-sign",
        [draft],
        full_prefetch(child, medications=[active], weights=[weight(20, pid="pat-2")]),
        pid="pat-2",
    )


def child_under_8_above_maximum_and_range() -> dict[str, Any]:
    child = patient("pat-3", "2020-08-01", "female")
    active = med_request(
        "rx-old",
        SOLUTION_5_PER_5,
        quantity(15, "mL"),
        per_day=3,
        status="active",
        authored=ACTIVE_SINCE,
        pid="pat-3",
    )
    draft = med_request(
        "rx-4", SOLUTION_5_PER_5, quantity(15, "mL"), per_day=3, pid="pat-3", prior="rx-old"
    )
    return hook_request(
        "order-select",
        [draft],
        full_prefetch(child, medications=[active], weights=[weight(18, pid="pat-3")]),
        pid="pat-3",
    )


def adult_titration_too_fast() -> dict[str, Any]:
    active = med_request(
        "rx-old",
        TABLET_10,
        _mg(5),
        per_day=3,
        status="active",
        authored="2026-11-21T10:00:00+01:00",
    )
    draft = med_request("rx-5", TABLET_10, _mg(15), per_day=3, prior="rx-old")
    return hook_request(
        "order-sign",
        [draft],
        full_prefetch(ADULT, medications=[active], weights=[weight(80)], crcls=[crcl(95)]),
    )


def child_dosing_frequency() -> dict[str, Any]:
    child = patient("pat-4", "2016-02-02", "female")
    active = med_request(
        "rx-old",
        TABLET_20,
        _mg(20),
        timing_code="QD",
        status="active",
        authored=ACTIVE_SINCE,
        pid="pat-4",
    )
    draft = med_request("rx-6", TABLET_20, _mg(20), timing_code="QD", pid="pat-4", prior="rx-old")
    return hook_request(
        "order-sign",
        [draft],
        full_prefetch(child, medications=[active], weights=[weight(40, pid="pat-4")]),
        pid="pat-4",
    )


def adult_abrupt_stop() -> dict[str, Any]:
    active = med_request(
        "rx-old", TABLET_20, _mg(20), per_day=3, status="active", authored=ACTIVE_SINCE
    )
    draft = med_request("rx-7", TABLET_20, _mg(20), per_day=3, status="stopped")
    return hook_request(
        "order-sign",
        [draft],
        full_prefetch(ADULT, medications=[active], weights=[weight(80)], crcls=[crcl(95)]),
    )


def _adult_start(**prefetch: Any) -> dict[str, Any]:
    draft = med_request("rx-8", TABLET_10, _mg(5), per_day=3)
    return hook_request("order-sign", [draft], full_prefetch(ADULT, **prefetch))


def adult_epilepsy() -> dict[str, Any]:
    return _adult_start(
        conditions=[condition("G40.909", "Epilepsy, unspecified", "84757009")],
        weights=[weight(70)],
        crcls=[crcl(95)],
    )


def adult_end_stage_renal() -> dict[str, Any]:
    return _adult_start(weights=[weight(70)], egfrs=[egfr(12)])


def adult_renal_impairment() -> dict[str, Any]:
    return _adult_start(weights=[weight(70)], crcls=[crcl(40)])


def adult_pregnant() -> dict[str, Any]:
    return _adult_start(weights=[weight(70)], crcls=[crcl(110)], pregnancy=[pregnancy_status()])


def adult_cns_depressants() -> dict[str, Any]:
    lorazepam = med_request(
        "rx-lzp",
        concept("6470", "lorazepam", text="Lorazepam 1 mg tablet at night"),
        _mg(1),
        per_day=1,
        status="active",
        authored=ACTIVE_SINCE,
    )
    draft = med_request("rx-9", TABLET_10, _mg(5), per_day=3)
    oxycodone = med_request(
        "rx-oxy", {"text": "Oxycodone hydrochloride 5 MG Oral Tablet"}, _mg(5), per_day=4
    )
    return hook_request(
        "order-sign",
        [draft, oxycodone],
        full_prefetch(ADULT, medications=[lorazepam], weights=[weight(70)], crcls=[crcl(95)]),
    )


def child_weight_not_recorded() -> dict[str, Any]:
    child = patient("pat-5", "2016-02-02", "male")
    active = med_request(
        "rx-old", TABLET_10, _mg(10), per_day=3, status="active", authored=ACTIVE_SINCE, pid="pat-5"
    )
    draft = med_request("rx-10", TABLET_10, _mg(10), per_day=3, pid="pat-5", prior="rx-old")
    request = hook_request(
        "order-sign", [draft], full_prefetch(child, medications=[active]), pid="pat-5"
    )
    request["prefetch"]["weight"] = None  # the EHR has no weight for this child
    return request


def strength_unknown() -> dict[str, Any]:
    draft = med_request(
        "rx-11", concept("1155671", "Baclofen Pill"), quantity(1, "{pill}"), per_day=3
    )
    return hook_request(
        "order-sign", [draft], full_prefetch(ADULT, weights=[weight(80)], crcls=[crcl(95)])
    )


def intravenous_route() -> dict[str, Any]:
    draft = med_request("rx-12", INTRATHECAL, quantity(50, "ug"), per_day=1, route="intravenous")
    return hook_request(
        "order-sign", [draft], full_prefetch(ADULT, weights=[weight(80)], crcls=[crcl(95)])
    )


def intrathecal_mg_written() -> dict[str, Any]:
    draft = med_request(
        "rx-13",
        INTRATHECAL,
        _mg(300),
        per_day=1,
        route="intrathecal",
        text="300 mg/day by intrathecal pump",
    )
    return hook_request(
        "order-sign", [draft], full_prefetch(ADULT, weights=[weight(80)], crcls=[crcl(95)])
    )


def intrathecal_above_1000_ug() -> dict[str, Any]:
    draft = med_request(
        "rx-14",
        INTRATHECAL,
        route="intrathecal",
        rate={"value": 50, "unit": "ug/h", "system": "http://unitsofmeasure.org", "code": "ug/h"},
    )
    return hook_request(
        "order-sign", [draft], full_prefetch(ADULT, weights=[weight(80)], crcls=[crcl(95)])
    )


def intrathecal_child_under_4() -> dict[str, Any]:
    toddler = patient("pat-6", "2023-06-01", "male")
    draft = med_request(
        "rx-15", INTRATHECAL, quantity(100, "ug"), per_day=1, route="intrathecal", pid="pat-6"
    )
    return hook_request(
        "order-sign",
        [draft],
        full_prefetch(toddler, weights=[weight(14, pid="pat-6")]),
        pid="pat-6",
    )


def intrathecal_abrupt_stop() -> dict[str, Any]:
    active = med_request(
        "rx-old",
        INTRATHECAL,
        quantity(400, "ug"),
        per_day=1,
        route="intrathecal",
        status="active",
        authored=ACTIVE_SINCE,
    )
    draft = med_request(
        "rx-16", INTRATHECAL, quantity(400, "ug"), per_day=1, route="intrathecal", status="stopped"
    )
    return hook_request(
        "order-sign",
        [draft],
        full_prefetch(ADULT, medications=[active], weights=[weight(80)], crcls=[crcl(95)]),
    )


# ---- intrathecal orders with the record in the prefetch (fhir/intrathecal.py) ---------------
ITB_PATIENT = patient(PID, "1979-04-02")
SPINAL = "Spasticity of spinal origin (spinal cord injury)"
PUMP = pump_device("Programmable implantable infusion pump (SynchroMed II)")


def _ug_day(value: float) -> dict[str, Any]:
    return quantity(value, "mcg", "ug")


def _itb(
    draft: dict[str, Any],
    history: list[dict[str, Any]],
    *,
    active: bool = True,
    **record: Any,
) -> dict[str, Any]:
    """The order and the record: its current regimen on the active list when one runs."""
    current = [history[-1]] if active and history else []
    prefetch = full_prefetch(
        ITB_PATIENT,
        medications=current,
        weights=[weight(72, pid=PID)],
        crcls=[crcl(95, pid=PID)],
        history=history,
        **record,
    )
    return hook_request("order-sign", [draft], prefetch, pid=PID)


def _regimens(*doses: tuple[str, float], reason: str | None = SPINAL) -> list[dict[str, Any]]:
    out = []
    for n, (start, ug) in enumerate(doses):
        last = n == len(doses) - 1
        out.append(
            itb_request(
                f"itb-{n}",
                _ug_day(ug),
                start,
                "active" if last else "completed",
                prior=f"itb-{n - 1}" if n else None,
                reason=reason,
            )
        )
    return out


def intrathecal_pump_malfunction() -> dict[str, Any]:
    """Three increases without effect on the Modified Ashworth Scale, then a fourth."""
    history = _regimens(
        ("2026-11-11T09:00:00Z", 300), ("2026-11-14T09:00:00Z", 330), ("2026-11-17T09:00:00Z", 360)
    )
    scores = [
        score(f"mas-{n}", when, 3)
        for n, when in enumerate(
            (
                "2026-11-11T08:00:00Z",
                "2026-11-12T09:00:00Z",
                "2026-11-14T09:00:00Z",
                "2026-11-15T09:00:00Z",
                "2026-11-17T09:00:00Z",
                "2026-11-19T09:00:00Z",
            )
        )
    ]
    draft = itb_request(
        "rx-20", _ug_day(390), "2026-11-20T09:00:00Z", "draft", prior="itb-2", reason=SPINAL
    )
    return _itb(draft, history, devices=[PUMP], scores=scores)


def intrathecal_increment_too_large() -> dict[str, Any]:
    history = _regimens(("2026-11-10T09:00:00Z", 100))
    draft = itb_request(
        "rx-21", _ug_day(140), "2026-11-20T09:00:00Z", "draft", prior="itb-0", reason=SPINAL
    )
    return _itb(draft, history, devices=[PUMP])


def intrathecal_increment_too_soon() -> dict[str, Any]:
    history = _regimens(("2026-11-10T09:00:00Z", 100), ("2026-11-19T13:00:00Z", 110))
    draft = itb_request(
        "rx-22", _ug_day(120), "2026-11-20T09:00:00Z", "draft", prior="itb-1", reason=SPINAL
    )
    return _itb(draft, history, devices=[PUMP])


def intrathecal_increase_in_first_24h() -> dict[str, Any]:
    """Test doses before the first infusion date the infusion's start: 20 h before this."""
    history = _regimens(("2026-11-19T13:00:00Z", 100))
    tests = [
        bolus_given("test-25", 25, "2026-11-17T10:00:00Z"),
        bolus_given("test-50", 50, "2026-11-18T10:00:00Z"),
    ]
    draft = itb_request(
        "rx-23", _ug_day(120), "2026-11-20T09:00:00Z", "draft", prior="itb-0", reason=SPINAL
    )
    return _itb(draft, history, devices=[PUMP], programming=tests)


def intrathecal_restart_above_initial_dose() -> dict[str, Any]:
    """The infusion was stopped in October; it is restarted at the last dose, not the first."""
    history = _regimens(("2026-03-02T09:00:00Z", 100), ("2026-06-01T09:00:00Z", 400))
    history[-1]["status"] = "stopped"
    draft = itb_request("rx-24", _ug_day(400), "2026-11-20T09:00:00Z", "draft", reason=SPINAL)
    return _itb(draft, history, active=False, devices=[PUMP])


def intrathecal_screening_dose() -> dict[str, Any]:
    """A first test dose of 75 ug by lumbar puncture (one bolus, its text says test dose)."""
    draft = itb_request(
        "rx-25",
        quantity(75, "mcg", "ug"),
        "2026-11-20T10:00:00Z",
        "draft",
        bolus=True,
        text="Test dose by lumbar puncture",
    )
    return _itb(draft, [])


def elderly_above_recommended() -> dict[str, Any]:
    """A 72-year-old continuing 20 mg three times a day: within 001's adult limits, above the
    20-30 mg/day 004 advises from 65 (info)."""
    older = patient("pat-7", "1954-03-10", "female")
    active = med_request(
        "rx-old", TABLET_20, _mg(20), per_day=3, status="active", authored=ACTIVE_SINCE, pid="pat-7"
    )
    draft = med_request("rx-18", TABLET_20, _mg(20), per_day=3, pid="pat-7", prior="rx-old")
    return hook_request(
        "order-sign",
        [draft],
        full_prefetch(
            older,
            medications=[active],
            weights=[weight(68, pid="pat-7")],
            crcls=[crcl(70, pid="pat-7")],
        ),
        pid="pat-7",
    )


def adult_nothing_wrong() -> dict[str, Any]:
    active = med_request(
        "rx-old", TABLET_20, _mg(20), per_day=3, status="active", authored=ACTIVE_SINCE
    )
    draft = med_request("rx-17", TABLET_20, _mg(20), per_day=3, prior="rx-old")
    return hook_request(
        "order-sign",
        [draft],
        full_prefetch(ADULT, medications=[active], weights=[weight(80)], crcls=[crcl(95)]),
    )


def adult_duplicate_order() -> dict[str, Any]:
    """A bedtime dose ordered beside the active three-times-a-day order, with nothing linking
    the two: their 70 mg/day is within the limits, and the duplicate is said."""
    active = med_request(
        "rx-old", TABLET_20, _mg(20), per_day=3, status="active", authored=ACTIVE_SINCE
    )
    draft = med_request(
        "rx-19", TABLET_10, _mg(10), timing_code="QHS", text="10 mg by mouth at bedtime"
    )
    return hook_request(
        "order-sign",
        [draft],
        full_prefetch(ADULT, medications=[active], weights=[weight(80)], crcls=[crcl(95)]),
    )


def child_dose_per_kg() -> dict[str, Any]:
    """A 10-year-old of 35 kg renewed on 0.7 mg/kg of oral solution three times a day, written
    in mg/kg only: 73.5 mg/day, above 60 mg/day and 2 mg/kg/day."""
    child = patient("pat-8", "2016-02-02", "female")
    per_kg = quantity(0.7, "mg/kg")
    active = med_request(
        "rx-old",
        SOLUTION_5_PER_5,
        per_kg,
        per_day=3,
        status="active",
        authored=ACTIVE_SINCE,
        pid="pat-8",
    )
    draft = med_request("rx-20", SOLUTION_5_PER_5, per_kg, per_day=3, pid="pat-8", prior="rx-old")
    return hook_request(
        "order-sign",
        [draft],
        full_prefetch(child, medications=[active], weights=[weight(35, pid="pat-8")]),
        pid="pat-8",
    )


CASES: dict[str, tuple[Callable[[], dict[str, Any]], list[str]]] = {
    "adult-start-above-recommended": (
        adult_start_above_recommended,
        ["STARTING_DOSE_ABOVE_RECOMMENDED"],
    ),
    "adult-daily-dose-above-maximum": (
        adult_daily_dose_above_maximum,
        ["DAILY_DOSE_ABOVE_MAXIMUM"],
    ),
    "child-tablet-below-33-kg": (child_tablet_below_33_kg, ["TABLET_BELOW_33_KG"]),
    "child-under-8-above-maximum-and-range": (
        child_under_8_above_maximum_and_range,
        ["DAILY_DOSE_ABOVE_MAXIMUM", "WEIGHT_BASED_DOSE_ABOVE_RANGE"],
    ),
    "adult-titration-too-fast": (adult_titration_too_fast, ["TITRATION_TOO_FAST"]),
    "child-dosing-frequency": (child_dosing_frequency, ["DOSING_FREQUENCY_OUTSIDE_RANGE"]),
    "adult-abrupt-stop": (adult_abrupt_stop, ["ABRUPT_DISCONTINUATION"]),
    "adult-epilepsy": (adult_epilepsy, ["SEIZURE_DISORDER_CONTRAINDICATION"]),
    "adult-end-stage-renal": (adult_end_stage_renal, ["END_STAGE_RENAL_CONTRAINDICATION"]),
    "adult-renal-impairment": (adult_renal_impairment, ["RENAL_IMPAIRMENT"]),
    "adult-pregnant": (adult_pregnant, ["PREGNANCY"]),
    "adult-cns-depressants": (adult_cns_depressants, ["CNS_DEPRESSANT_COMEDICATION"]),
    "child-weight-not-recorded": (child_weight_not_recorded, ["MISSING_DATA"]),
    "strength-unknown": (strength_unknown, ["MISSING_DATA"]),
    "intravenous-route": (intravenous_route, ["ROUTE_NOT_PERMITTED"]),
    "intrathecal-mg-written": (intrathecal_mg_written, ["DOSE_UNIT_SUSPECT", "MISSING_DATA"]),
    "intrathecal-above-1000-ug": (
        intrathecal_above_1000_ug,
        ["INTRATHECAL_DOSE_ABOVE_1000_UG", "MISSING_DATA"],
    ),
    "intrathecal-child-under-4": (
        intrathecal_child_under_4,
        ["INTRATHECAL_AGE_UNDER_4", "MISSING_DATA"],
    ),
    "intrathecal-abrupt-stop": (intrathecal_abrupt_stop, ["INTRATHECAL_ABRUPT_DISCONTINUATION"]),
    "intrathecal-pump-malfunction": (intrathecal_pump_malfunction, ["PUMP_MALFUNCTION_SUSPECTED"]),
    "intrathecal-increment-too-large": (
        intrathecal_increment_too_large,
        ["INTRATHECAL_INCREMENT_TOO_LARGE"],
    ),
    "intrathecal-increment-too-soon": (
        intrathecal_increment_too_soon,
        ["INTRATHECAL_INCREMENT_TOO_SOON"],
    ),
    "intrathecal-increase-in-first-24h": (
        intrathecal_increase_in_first_24h,
        ["INTRATHECAL_INCREASE_IN_FIRST_24H"],
    ),
    "intrathecal-restart-above-initial-dose": (
        intrathecal_restart_above_initial_dose,
        ["INTRATHECAL_INITIAL_INFUSION_DOSE"],
    ),
    "intrathecal-screening-dose": (intrathecal_screening_dose, ["INTRATHECAL_SCREENING_DOSE"]),
    "elderly-above-recommended": (elderly_above_recommended, ["ELDERLY_DOSE_ABOVE_RECOMMENDED"]),
    "adult-nothing-wrong": (adult_nothing_wrong, []),
    "adult-duplicate-order": (adult_duplicate_order, ["DUPLICATE_BACLOFEN_ORDER"]),
    "child-dose-per-kg": (
        child_dose_per_kg,
        ["DAILY_DOSE_ABOVE_MAXIMUM", "WEIGHT_BASED_DOSE_ABOVE_RANGE"],
    ),
}

# Codes the CDS Hooks path cannot raise: the response to a test dose, which no FHIR element
# carries (a non-responder at 100 ug). Over CDS Hooks the screening checks that need it answer
# MISSING_DATA.
NEEDS_INTRATHECAL_DETAILS = {"INTRATHECAL_NON_RESPONDER"}
