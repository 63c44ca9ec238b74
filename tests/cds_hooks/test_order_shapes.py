"""Baclofen orders as EHRs send them (issue 13), through the CDS Hooks endpoint, one row per
shape, boundaries in pairs: the same shape once within the limit and once above it, so that a
row can only pass when the dose was read, and read as the most the order allows.

The patient is an adult of 45 years and 80 kg with a creatinine clearance of 95 mL/min who
renews the order (the same order is active: no start or titration check applies) unless the
row says otherwise. The adult maximum is 100 mg/day (DAILY_DOSE_ABOVE_MAXIMUM), the
intrathecal one 1,000 µg/day. A reading that stands for a range or a stated maximum is said
on the missing-data card (MISSING_DATA), as is a dose that cannot be read.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.cds_hooks.ehr import call, example, topic_codes
from tests.cds_hooks.ehr_shapes import (
    EPIC_UNIT,
    INTRATHECAL_ROUTE,
    ORACLE,
    TABLET_10,
    TABLET_20,
    contained_medication,
    continuing,
    epic,
    gts_timing,
    mg,
    ml,
    oracle_timing,
    order,
    ratio,
    repeat,
    starting,
    tablets,
    typed,
)
from tests.cds_hooks.fhir import (
    INTRATHECAL,
    UCUM,
    crcl,
    full_prefetch,
    hook_request,
    patient,
    weight,
)

MAX = "DAILY_DOSE_ABOVE_MAXIMUM"
GAP = "MISSING_DATA"
IT_MAX = "INTRATHECAL_DOSE_ABOVE_1000_UG"
BY_WEIGHT = "WEIGHT_BASED_DOSE_ABOVE_RANGE"
START = "STARTING_DOSE_ABOVE_RECOMMENDED"
DUPLICATE = "DUPLICATE_BACLOFEN_ORDER"
TITRATION = "TITRATION_TOO_FAST"
ABRUPT = "ABRUPT_DISCONTINUATION"
QID, TID = repeat(4), repeat(3)

OZOBAX = contained_medication(
    "baclofen 5 MG per 5 ML Oral Solution [Ozobax]", mg(5), ml(5), "Oral Solution"
)
GABLOFEN = contained_medication(
    "baclofen 2 MG/ML Injectable Solution [Gablofen]",
    {"value": 2000, "unit": "mcg", "system": UCUM, "code": "ug"},
    ml(1),
    "Injectable Solution",
)
CHILD_35_KG = patient("pat-9", "2016-02-02", "male")  # 10 years old


def _epic_per_kg(per_kg: float, calculated: float | None, kg: float | None = 35) -> dict[str, Any]:
    """A child's order written in mg/kg: Epic's ordered entry, and the mg it calculated (or
    none: the rules multiply the mg/kg by the weight)."""
    entries = [
        typed(
            "ordered",
            {"value": per_kg, "unit": "mg/kg", "system": UCUM, "code": "mg/kg"},
            system="http://epic.com/CodeSystem/dose-rate-type",
        )
    ]
    if calculated is not None:
        entries.insert(
            0,
            typed("calculated", mg(calculated), system="http://epic.com/CodeSystem/dose-rate-type"),
        )
    request = continuing(order("rx-1", TABLET_10, entries, TID), CHILD_35_KG, kg=kg or 35)
    if kg is None:
        request["prefetch"]["weight"] = None  # no weight on record
    return request


def _local_unit(value: float) -> dict[str, Any]:
    return {"value": value, "unit": "mg", "system": EPIC_UNIT, "code": "3"}


def _prn(dose: float, timing: dict[str, Any] | None, **dosage: Any) -> dict[str, Any]:
    return order("rx-1", TABLET_20, [typed(None, mg(dose))], timing, asNeededBoolean=True, **dosage)


def _intrathecal(
    rate: dict[str, Any], medication: dict[str, Any] = GABLOFEN, as_ratio: bool = False
) -> dict[str, Any]:
    entry = {"rateRatio": rate} if as_ratio else typed("ordered", rate=rate)
    return starting(order("rx-1", medication, [entry], None, route=INTRATHECAL_ROUTE))


def _sandbox(pills: float, per_day: int) -> dict[str, Any]:
    """The CDS Hooks sandbox's order-sign (Bundle without type, `category` an object, `{pill}`
    with no unit text, only the patient prefetched) for a 45-year-old: a new course, and the
    missing data said."""
    request = example("sandbox/SYNTHESIZED-sandbox-shaped-order-sign-baclofen.json")
    draft = request["context"]["draftOrders"]["entry"][0]["resource"]
    draft["dosageInstruction"][0]["timing"]["repeat"]["frequency"] = per_day
    draft["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] = pills
    request["prefetch"]["patient"]["birthDate"] = "1981-06-15"
    return request


def _with_unscheduled(scheduled: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """A four-times-a-day instruction, and a second one of 1 tablet of 20 mg with no timing
    (as needed, or a free text): valid R4, and how an "extra dose if needed" is written."""
    draft = order("rx-1", TABLET_20, scheduled, QID)
    draft["dosageInstruction"].append({"doseAndRate": [typed("ordered", tablets(1))], **extra})
    return draft


def _beside_steps(unsequenced_mg: float) -> dict[str, Any]:
    """10 mg once a day as step 1, then as step 2, and an instruction with no sequence of
    `unsequenced_mg` four times a day."""
    draft = order("rx-1", TABLET_20, [typed(None, mg(10))], repeat(1))
    first = draft["dosageInstruction"][0]
    second = {**copy.deepcopy(first), "sequence": 2}
    other = copy.deepcopy(first)
    other["doseAndRate"] = [typed(None, mg(unsequenced_mg))]
    other["timing"] = copy.deepcopy(QID)
    draft["dosageInstruction"] = [{**first, "sequence": 1}, second, other]
    return draft


GROUP = {"system": "urn:oid:1.2.840.114350.1.13.0.1.7.2.798268", "value": "RX-20261122-1"}
BEDTIME = oracle_timing("696576", "At Bedtime")


def _active(
    rid: str,
    mg_: float,
    timing: dict[str, Any],
    group: dict[str, Any] | None = GROUP,
    dose: dict[str, Any] | None = None,
    ended: str | None = None,
) -> dict[str, Any]:
    """An active order of the medication list (since 2026-10-01), of a prescription, ending
    on `ended` when given."""
    res = order(
        rid,
        TABLET_10,
        [typed(None, dose or mg(mg_))],
        timing,
        status="active",
        authored="2026-10-01T10:00:00+01:00",
    )
    if group:
        res["groupIdentifier"] = group
    res["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"]["start"] = "2026-10-01"
    if ended:
        res["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"]["end"] = ended
    return res


def _draft(
    rid: str,
    mg_: float,
    timing: dict[str, Any],
    group: dict[str, Any] | None = GROUP,
    prior: str | None = None,
    status: str = "draft",
) -> dict[str, Any]:
    res = order(rid, TABLET_10, [typed(None, mg(mg_))], timing, status=status)
    if group:
        res["groupIdentifier"] = group
    if prior:
        res["priorPrescription"] = {"reference": f"MedicationRequest/{prior}"}
    return res


def _not_given(res: dict[str, Any]) -> dict[str, Any]:
    """The order as a "do not give" order (doNotPerform)."""
    return {**res, "doNotPerform": True}


def _pump() -> dict[str, Any]:
    return order(
        "rx-pump",
        GABLOFEN,
        [typed("ordered", rate=_per(0.2, "mL/d"))],
        None,
        status="active",
        authored="2026-10-01T10:00:00+01:00",
        route=INTRATHECAL_ROUTE,
    )


def _beside(active: list[dict[str, Any]], drafts: list[dict[str, Any]]) -> dict[str, Any]:
    """The drafts signed together beside the active orders of a 45-year-old of 80 kg."""
    return hook_request(
        "order-sign",
        drafts,
        full_prefetch(
            patient("pat-1", "1981-06-15"),
            medications=active,
            weights=[weight(80)],
            crcls=[crcl(95)],
        ),
    )


def _per(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def _four_times_of_day(timing: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(timing)
    out["repeat"]["timeOfDay"] = ["08:00:00", "12:00:00", "16:00:00", "20:00:00"]
    return out


ROWS: list[tuple[str, Callable[[], dict[str, Any]], list[str]]] = [
    # ---- Epic: the dose three ways; the entry in mg is the dose ----------------------------
    (
        "epic-calculated-admin-amount-ordered-80-mg",
        lambda: continuing(order("rx-1", TABLET_10, epic(20, 2), QID)),
        [],
    ),
    (
        "epic-calculated-admin-amount-ordered-120-mg",
        lambda: continuing(order("rx-1", TABLET_10, epic(30, 3), QID)),
        [MAX],
    ),
    (
        "admin-amount-tablets-beside-calculated-mg-80",
        lambda: continuing(
            order(
                "rx-1",
                TABLET_20,
                [
                    typed(
                        "admin-amount",
                        tablets(1),
                        system="http://epic.com/CodeSystem/dose-rate-type",
                    ),
                    typed("calculated", mg(20)),
                ],
                QID,
            )
        ),
        [],
    ),
    (
        "admin-amount-tablets-beside-calculated-mg-160",
        lambda: continuing(
            order(
                "rx-1",
                TABLET_20,
                [
                    typed(
                        "admin-amount",
                        tablets(2),
                        system="http://epic.com/CodeSystem/dose-rate-type",
                    ),
                    typed("calculated", mg(40)),
                ],
                QID,
            )
        ),
        [MAX],
    ),
    (
        "administered-amount-as-text-beside-calculated",
        lambda: continuing(
            order(
                "rx-1",
                TABLET_20,
                [
                    typed("calculated", mg(40)),
                    typed("Administered Amount", tablets(2), text_only=True),
                ],
                QID,
            )
        ),
        [MAX],
    ),
    (
        "ordered-mg-per-kg-beside-calculated-mg-1.5-mg-per-kg-day",
        lambda: _epic_per_kg(0.5, 17.5),
        [],
    ),
    (
        "ordered-mg-per-kg-beside-calculated-mg-2.1-mg-per-kg-day",
        lambda: _epic_per_kg(0.7, 24.5),
        [MAX, BY_WEIGHT],
    ),
    # ---- a dose only in mg/kg: the rules multiply it by the weight ---------------------------
    ("ordered-mg-per-kg-only-0.5-mg-per-kg-52.5-mg", lambda: _epic_per_kg(0.5, None), []),
    (
        "ordered-mg-per-kg-only-0.7-mg-per-kg-73.5-mg",
        lambda: _epic_per_kg(0.7, None),
        [MAX, BY_WEIGHT],
    ),
    ("ordered-mg-per-kg-only-without-weight", lambda: _epic_per_kg(0.5, None, kg=None), [GAP]),
    (
        "entries-disagree-the-largest-is-checked",
        lambda: continuing(
            order(
                "rx-1",
                TABLET_10,
                [typed("calculated", mg(10)), typed("admin-amount", tablets(3))],
                QID,
            )
        ),
        [MAX],
    ),
    # ---- dose quantities ---------------------------------------------------------------------
    (
        "local-unit-code-unit-mg-80",
        lambda: continuing(order("rx-1", TABLET_20, [typed("ordered", _local_unit(20))], QID)),
        [],
    ),
    (
        "local-unit-code-unit-mg-160",
        lambda: continuing(order("rx-1", TABLET_20, [typed("ordered", _local_unit(40))], QID)),
        [MAX],
    ),
    (
        "ucum-1-unit-tablet-80",
        lambda: continuing(order("rx-1", TABLET_20, [typed("ordered", tablets(1, code="1"))], QID)),
        [],
    ),
    (
        "ucum-1-unit-tablet-160",
        lambda: continuing(order("rx-1", TABLET_20, [typed("ordered", tablets(2, code="1"))], QID)),
        [MAX],
    ),
    (
        "tbl-unit-tablet-160",
        lambda: continuing(order("rx-1", TABLET_20, [typed(None, tablets(2, code="{tbl}"))], QID)),
        [MAX],
    ),
    (
        "pill-unit-tablet-160",
        lambda: continuing(order("rx-1", TABLET_20, [typed(None, tablets(2, code="{pill}"))], QID)),
        [MAX],
    ),
    (
        "oracle-tab-unit-text-160",
        lambda: continuing(
            order("rx-1", TABLET_20, [{"doseQuantity": {"value": 2, "unit": "tab"}}], QID)
        ),
        [MAX],
    ),
    # a unit text and a UCUM code of different kinds: which one the prescriber saw is unknown
    (
        "unit-tablet-code-mg-not-read",
        lambda: continuing(order("rx-1", TABLET_20, [typed(None, tablets(2, code="mg"))], QID)),
        [GAP],
    ),
    (
        "unit-mg-code-tbl-not-read",
        lambda: continuing(
            order("rx-1", TABLET_20, [typed(None, {**mg(40), "code": "{tbl}"})], QID)
        ),
        [GAP],
    ),
    (
        "oral-solution-ml-through-5-mg-per-5-ml-100",
        lambda: continuing(order("rx-1", OZOBAX, [typed("ordered", ml(25))], QID)),
        [],
    ),
    (
        "oral-solution-ml-through-5-mg-per-5-ml-120",
        lambda: continuing(order("rx-1", OZOBAX, [typed("ordered", ml(30))], QID)),
        [MAX],
    ),
    (
        "oral-solution-admin-amount-ml-beside-calculated-mg",
        lambda: continuing(
            order("rx-1", OZOBAX, [typed("calculated", mg(30)), typed("admin-amount", ml(30))], QID)
        ),
        [MAX],
    ),
    (
        "dose-range-high-100",
        lambda: continuing(
            order(
                "rx-1",
                TABLET_10,
                [typed("calculated", dose_range={"low": mg(10), "high": mg(25)})],
                QID,
            )
        ),
        [],
    ),
    (
        "dose-range-high-120",
        lambda: continuing(
            order(
                "rx-1",
                TABLET_10,
                [typed("calculated", dose_range={"low": mg(10), "high": mg(30)})],
                QID,
            )
        ),
        [MAX],
    ),
    # ---- intrathecal rates: mL per day or hour through the concentration, to µg/day -------
    (
        "intrathecal-0.5-ml-per-day-of-2000-ug-per-ml-1000-ug",
        lambda: _intrathecal(_per(0.5, "mL/d")),
        [GAP],
    ),
    (
        "intrathecal-0.6-ml-per-day-of-2000-ug-per-ml-1200-ug",
        lambda: _intrathecal(_per(0.6, "mL/d")),
        [GAP, IT_MAX],
    ),
    ("intrathecal-0.02-ml-per-hour-960-ug", lambda: _intrathecal(_per(0.02, "mL/h")), [GAP]),
    (
        "intrathecal-0.025-ml-per-hour-1200-ug",
        lambda: _intrathecal(_per(0.025, "mL/h")),
        [GAP, IT_MAX],
    ),
    ("intrathecal-ml-per-24-h-ucum", lambda: _intrathecal(_per(0.6, "mL/(24.h)")), [GAP, IT_MAX]),
    (
        "intrathecal-rate-ratio-ml-per-hour",
        lambda: _intrathecal(ratio(ml(0.025), 1, "h"), as_ratio=True),
        [GAP, IT_MAX],
    ),
    (
        "intrathecal-ml-rate-of-rxnorm-named-product",
        lambda: _intrathecal(_per(0.6, "mL/d"), INTRATHECAL),
        [GAP, IT_MAX],
    ),
    # ---- schedules: ranges at their most frequent end ---------------------------------------
    (
        "every-4-to-6-hours-15-mg-90",
        lambda: continuing(order("rx-1", TABLET_10, epic(15), repeat(1, 4, "h", period_max=6))),
        [],
    ),
    (
        "every-4-to-6-hours-20-mg-120",
        lambda: continuing(order("rx-1", TABLET_20, epic(20), repeat(1, 4, "h", period_max=6))),
        [MAX],
    ),
    (
        "every-5-hours-20-mg-100",
        lambda: continuing(order("rx-1", TABLET_10, epic(20), repeat(1, 5, "h"))),
        [],
    ),
    (
        "every-5-hours-20.5-mg-is-5-doses-102.5",
        lambda: continuing(order("rx-1", TABLET_10, epic(20.5), repeat(1, 5, "h"))),
        [MAX],
    ),
    (
        "2-to-4-times-a-day-25-mg-100",
        lambda: continuing(order("rx-1", TABLET_10, epic(25), repeat(2, 1, "d", frequency_max=4))),
        [],
    ),
    (
        "2-to-4-times-a-day-30-mg-120",
        lambda: continuing(order("rx-1", TABLET_10, epic(30), repeat(2, 1, "d", frequency_max=4))),
        [MAX],
    ),
    (
        "text-q4-6h-20-mg",
        lambda: continuing(
            order("rx-1", TABLET_20, [typed(None, mg(20))], {"code": {"text": "q4-6h"}})
        ),
        [MAX],
    ),
    # ---- schedules whose parts disagree: the most doses a day any part gives -----------------
    (
        "three-a-day-at-four-times-of-day-25-mg-100",
        lambda: continuing(order("rx-1", TABLET_10, epic(25), _four_times_of_day(TID))),
        [],
    ),
    (
        "three-a-day-at-four-times-of-day-30-mg-120",
        lambda: continuing(order("rx-1", TABLET_10, epic(30), _four_times_of_day(TID))),
        [MAX],
    ),
    (
        "qid-beside-three-a-day-25-mg-100",
        lambda: continuing(order("rx-1", TABLET_10, epic(25), {**TID, **gts_timing("QID")})),
        [],
    ),
    (
        "qid-beside-three-a-day-30-mg-120",
        lambda: continuing(order("rx-1", TABLET_10, epic(30), {**TID, **gts_timing("QID")})),
        [MAX],
    ),
    # ---- timing codes and text ---------------------------------------------------------------
    (
        "oracle-daily-100-mg",
        lambda: continuing(
            order("rx-1", TABLET_20, [typed(None, mg(100))], oracle_timing("696530", "Daily"))
        ),
        [],
    ),
    (
        "oracle-daily-120-mg",
        lambda: continuing(
            order("rx-1", TABLET_20, [typed(None, mg(120))], oracle_timing("696530", "Daily"))
        ),
        [MAX],
    ),
    (
        "oracle-at-bedtime-120-mg",
        lambda: continuing(
            order("rx-1", TABLET_20, [typed(None, mg(120))], oracle_timing("696576", "At Bedtime"))
        ),
        [MAX],
    ),
    (
        "oracle-q4hr-20-mg",
        lambda: continuing(
            order("rx-1", TABLET_20, [typed(None, mg(20))], oracle_timing("696542", "q4hr"))
        ),
        [MAX],
    ),
    (
        "oracle-q6hr-20-mg",
        lambda: continuing(
            order("rx-1", TABLET_20, [typed(None, mg(20))], oracle_timing("696544", "q6hr"))
        ),
        [],
    ),
    (
        "epic-text-once-daily-120-mg",
        lambda: continuing(
            order("rx-1", TABLET_20, [typed(None, mg(120))], {"code": {"text": "Once daily"}})
        ),
        [MAX],
    ),
    (
        "epic-text-nightly-120-mg",
        lambda: continuing(
            order("rx-1", TABLET_20, [typed(None, mg(120))], {"code": {"text": "nightly"}})
        ),
        [MAX],
    ),
    (
        "epic-text-every-12-twelve-hours-60-mg",
        lambda: continuing(
            order(
                "rx-1",
                TABLET_20,
                [typed(None, mg(60))],
                {"code": {"text": "every 12 (twelve) hours"}},
            )
        ),
        [MAX],
    ),
    (
        "epic-text-2-times-daily-50-mg",
        lambda: continuing(
            order("rx-1", TABLET_20, [typed(None, mg(50))], {"code": {"text": "2 times daily"}})
        ),
        [],
    ),
    (
        "gts-qhs-120-mg",
        lambda: continuing(order("rx-1", TABLET_20, [typed(None, mg(120))], gts_timing("QHS"))),
        [MAX],
    ),
    (
        "gts-q4h-20-mg",
        lambda: continuing(order("rx-1", TABLET_20, [typed(None, mg(20))], gts_timing("Q4H"))),
        [MAX],
    ),
    (
        "gts-q6h-20-mg",
        lambda: continuing(order("rx-1", TABLET_20, [typed(None, mg(20))], gts_timing("Q6H"))),
        [],
    ),
    (
        "unreadable-schedule-text",
        lambda: continuing(
            order("rx-1", TABLET_20, [typed(None, mg(20))], {"code": {"text": "with breakfast"}})
        ),
        [GAP],
    ),
    # ---- as needed -----------------------------------------------------------------------------
    ("prn-every-6-hours-20-mg-no-maximum", lambda: continuing(_prn(20, repeat(1, 6, "h"))), []),
    ("prn-every-4-hours-20-mg-no-maximum", lambda: continuing(_prn(20, repeat(1, 4, "h"))), [MAX]),
    (
        "prn-text-every-4-hours-prn",
        lambda: continuing(
            order("rx-1", TABLET_20, [typed(None, mg(20))], {"code": {"text": "every 4 hours PRN"}})
        ),
        [MAX],
    ),
    ("prn-without-schedule-or-maximum", lambda: continuing(_prn(20, None)), [GAP]),
    (
        "prn-reason-without-schedule-or-maximum",
        lambda: continuing(
            order(
                "rx-1",
                TABLET_20,
                [typed(None, mg(20))],
                None,
                asNeededCodeableConcept={
                    "coding": [
                        {"system": f"{ORACLE}/4005", "code": "614500", "display": "muscle spasms"}
                    ],
                    "text": "muscle spasms",
                },
            )
        ),
        [GAP],
    ),
    (
        "oracle-prn-code-only",
        lambda: continuing(
            order(
                "rx-1",
                TABLET_20,
                [typed(None, mg(20))],
                oracle_timing("696561", "PRN"),
                asNeededBoolean=True,
            )
        ),
        [GAP],
    ),
    (
        "prn-maximum-80-mg-a-day",
        lambda: continuing(_prn(20, None, maxDosePerPeriod=ratio(mg(80), 1, "d"))),
        [],
    ),
    (
        "prn-maximum-120-mg-a-day",
        lambda: continuing(_prn(20, None, maxDosePerPeriod=ratio(mg(120), 1, "d"))),
        [MAX],
    ),
    (
        "prn-maximum-30-mg-per-6-hours-is-120-a-day",
        lambda: continuing(_prn(10, repeat(1, 4, "h"), maxDosePerPeriod=ratio(mg(30), 6, "h"))),
        [MAX],
    ),
    (
        "prn-maximum-in-tablets-per-day",
        lambda: continuing(_prn(20, None, maxDosePerPeriod=ratio(tablets(6), 1, "d"))),
        [MAX],
    ),
    # ---- an instruction with no schedule beside a scheduled one: the scheduled one counts -----
    (
        "four-a-day-80-plus-a-dose-as-needed-without-schedule",
        lambda: continuing(_with_unscheduled(epic(20), asNeededBoolean=True)),
        [GAP],
    ),
    (
        "four-a-day-160-plus-a-dose-as-needed-without-schedule",
        lambda: continuing(_with_unscheduled(epic(40), asNeededBoolean=True)),
        [GAP, MAX],
    ),
    (
        "four-a-day-160-plus-a-dose-in-free-text",
        lambda: continuing(_with_unscheduled(epic(40), text="plus 1 tablet extra if needed")),
        [GAP, MAX],
    ),
    # ---- sequential steps: the first is checked; an instruction without a sequence counts ----
    (
        "an-instruction-without-sequence-beside-steps-90-mg",
        lambda: continuing(_beside_steps(20)),
        [GAP],
    ),
    (
        "an-instruction-without-sequence-beside-steps-170-mg",
        lambda: continuing(_beside_steps(40)),
        [GAP, MAX],
    ),
    # ---- a stated maximum above the limit is checked too -------------------------------------
    (
        "scheduled-60-mg-maximum-90-mg-a-day",
        lambda: continuing(
            order("rx-1", TABLET_20, epic(20, 1), TID, maxDosePerPeriod=ratio(mg(90), 1, "d"))
        ),
        [],
    ),
    (
        "scheduled-60-mg-maximum-120-mg-a-day",
        lambda: continuing(
            order("rx-1", TABLET_20, epic(20, 1), TID, maxDosePerPeriod=ratio(mg(120), 1, "d"))
        ),
        [MAX],
    ),
    (
        "scheduled-60-mg-maximum-40-mg-a-day-the-schedule-counts",
        lambda: continuing(
            order("rx-1", TABLET_20, epic(20, 1), TID, maxDosePerPeriod=ratio(mg(40), 1, "d"))
        ),
        [],
    ),
    (
        "maximum-25-mg-per-dose-4-a-day",
        lambda: continuing(
            order("rx-1", TABLET_20, epic(20, 1), QID, maxDosePerAdministration=mg(25))
        ),
        [],
    ),
    (
        "maximum-30-mg-per-dose-4-a-day",
        lambda: continuing(
            order("rx-1", TABLET_20, epic(20, 1), QID, maxDosePerAdministration=mg(30))
        ),
        [MAX],
    ),
    # ---- several orders at once: one daily dose, duplicates ----------------------------------
    (
        "bedtime-dose-added-to-three-a-day-one-prescription-70-mg",
        lambda: _beside([_active("rx-old", 20, TID)], [_draft("rx-1", 10, BEDTIME)]),
        [],
    ),
    (
        "bedtime-dose-added-is-not-a-cut",
        lambda: _beside([_active("rx-old", 20, TID)], [_draft("rx-1", 5, BEDTIME)]),
        [],
    ),
    (
        "bedtime-dose-added-to-three-a-day-one-prescription-105-mg",
        lambda: _beside([_active("rx-old", 30, TID)], [_draft("rx-1", 15, BEDTIME)]),
        [MAX],
    ),
    (
        "bedtime-dose-added-unlinked-is-a-duplicate",
        lambda: _beside([_active("rx-old", 20, TID, group=None)], [_draft("rx-1", 10, BEDTIME)]),
        [DUPLICATE],
    ),
    (
        "the-same-order-again-unlinked-doubles-the-dose",
        lambda: _beside([_active("rx-old", 20, TID, group=None)], [_draft("rx-1", 20, TID)]),
        [DUPLICATE, MAX, TITRATION],
    ),
    (
        "an-edit-of-the-active-order-keeps-its-id",
        lambda: _beside(
            [_active("rx-old", 20, TID, group=None)], [_draft("rx-old", 25, TID, group=None)]
        ),
        [],
    ),
    (
        "a-renewal-names-its-prior-prescription",
        lambda: _beside(
            [_active("rx-old", 30, TID, group=None)],
            [_draft("rx-1", 30, TID, group=None, prior="rx-old")],
        ),
        [],
    ),
    (
        "replacing-one-of-two-orders-adds-the-other",
        lambda: _beside(
            [_active("rx-a", 30, TID), _active("rx-b", 20, BEDTIME)],
            [_draft("rx-1", 30, TID, prior="rx-a")],
        ),
        [MAX],
    ),
    (
        "stopping-the-bedtime-dose-is-a-cut-of-the-total",
        lambda: _beside(
            [_active("rx-a", 20, TID), _active("rx-b", 10, BEDTIME)],
            [_draft("rx-b", 10, BEDTIME, status="stopped")],
        ),
        [],
    ),
    (
        "stopping-the-larger-order-cuts-most-of-the-total",
        lambda: _beside(
            [_active("rx-a", 20, TID), _active("rx-b", 5, BEDTIME)],
            [_draft("rx-a", 20, TID, status="stopped")],
        ),
        [ABRUPT],
    ),
    (
        "two-drafts-of-one-prescription-start-20-mg-a-day",
        lambda: _beside([], [_draft("rx-1", 5, TID), _draft("rx-2", 5, BEDTIME)]),
        [START, START],
    ),
    (
        "two-unlinked-drafts-are-duplicates",
        lambda: _beside(
            [], [_draft("rx-1", 5, repeat(2), group=None), _draft("rx-2", 5, BEDTIME, group=None)]
        ),
        [DUPLICATE, DUPLICATE],
    ),
    (
        "the-other-order-dose-unreadable",
        lambda: _beside(
            [_active("rx-old", 20, TID, dose={"value": 1, "unit": "puff"})],
            [_draft("rx-1", 10, BEDTIME)],
        ),
        [GAP],
    ),
    (
        "an-order-that-ended-is-not-beside-the-new-one",
        lambda: _beside(
            [_active("rx-old", 20, TID, group=None, ended="2026-11-15")], [_draft("rx-1", 5, TID)]
        ),
        [],
    ),
    (
        "an-order-ending-after-the-new-one-starts-is-beside-it",
        lambda: _beside(
            [_active("rx-old", 20, TID, group=None, ended="2026-12-15")], [_draft("rx-1", 5, TID)]
        ),
        [DUPLICATE],
    ),
    (
        "an-intrathecal-pump-beside-is-not-added-a-new-oral-course",
        lambda: _beside([_pump()], [_draft("rx-1", 5, TID)]),
        [],
    ),
    # ---- doNotPerform: an order that forbids baclofen gives no dose --------------------------
    (
        "a-do-not-perform-draft-is-not-a-dose-to-give",
        lambda: _beside([], [_not_given(_draft("rx-1", 40, QID))]),
        [GAP],
    ),
    (
        "a-do-not-perform-draft-is-not-beside-another",
        lambda: _beside([], [_draft("rx-1", 5, TID), _not_given(_draft("rx-2", 40, QID))]),
        [GAP],
    ),
    # FHIR reads doNotPerform as "do not give": for a patient on baclofen by the same route,
    # a stop with no taper, checked as a stop is (it had drawn only the "not checked" card).
    (
        "a-do-not-perform-draft-beside-an-active-order-is-a-stop",
        lambda: _beside(
            [_active("rx-old", 20, TID, group=None)], [_not_given(_draft("rx-1", 20, TID))]
        ),
        [ABRUPT],
    ),
    (
        "a-do-not-perform-draft-beside-a-pump-is-not-an-oral-stop",
        lambda: _beside([_pump()], [_not_given(_draft("rx-1", 20, TID))]),
        [GAP],
    ),
    (
        "a-do-not-perform-active-order-is-not-current-baclofen",
        lambda: _beside(
            [_not_given(_active("rx-old", 20, TID, group=None))], [_draft("rx-1", 5, TID)]
        ),
        [],
    ),
    # ---- the CDS Hooks sandbox -----------------------------------------------------------------
    ("sandbox-2-pills-of-10-mg-4-a-day-80", lambda: _sandbox(2, 4), [GAP, START]),
    ("sandbox-3-pills-of-10-mg-4-a-day-120", lambda: _sandbox(3, 4), [GAP, MAX, START]),
]


@pytest.mark.parametrize(
    ("build", "expected"), [(b, e) for _, b, e in ROWS], ids=[r[0] for r in ROWS]
)
def test_order_shape(
    cds: TestClient, build: Callable[[], dict[str, Any]], expected: list[str]
) -> None:
    response = call(cds, build())
    assert response.status_code == 200, response.text
    body = response.json()
    assert topic_codes(body) == sorted(expected), [c["summary"] for c in body["cards"]]


def test_a_do_not_perform_order_is_said_not_checked(cds: TestClient) -> None:
    """A baclofen order that says doNotPerform was checked as a dose to give: a critical
    daily-maximum card offered to reduce the dose of an order that forbids baclofen."""
    body = call(cds, _beside([], [_not_given(_draft("rx-1", 40, QID))])).json()
    (card,) = body["cards"]
    assert card["indicator"] == "info"
    assert card["summary"] == (
        "Baclofen 10 MG Oral Tablet: not checked: a do-not-perform order (doNotPerform)"
    )
    assert (
        "MedicationRequest/rx-1 says doNotPerform: none of the dose checks ran on it."
        in card["detail"]
    )
    assert "suggestions" not in card
