"""FHIR -> Case, one element at a time: medication, strength, dose, timing, route, form, age,
weight, renal function, conditions, action. Whatever cannot be read is a note naming it and
the Case field it leaves empty, never a default."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest

from api.cds_hooks import fhir
from api.cds_hooks.models import OrderContext
from api.cds_hooks.order_check import OrderCheck, ReadAs, Translation
from api.cds_hooks.prefetch import TEMPLATES, Prefetched
from tests.cds_hooks.fhir import (
    INTRATHECAL,
    LIORESAL_10,
    RXNORM,
    SOLUTION_5_PER_5,
    TABLET_10,
    TABLET_20,
    concept,
    condition,
    crcl,
    egfr,
    med_request,
    observation,
    patient,
    quantity,
    searchset,
    weight,
)

NOTHING = dict.fromkeys(TEMPLATES)  # every key sent, none with data


def translate(
    *drafts: dict[str, Any], data: dict[str, Any] | None = None, gaps: dict[str, str] | None = None
) -> Translation:
    ctx = OrderContext.model_validate(
        {
            "patientId": "pat-1",
            "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": d} for d in drafts]},
        }
    )
    return fhir.translate(ctx, Prefetched(data={**NOTHING, **(data or {})}, gaps=gaps or {}), None)


def one(*drafts: dict[str, Any], **kw: Any) -> OrderCheck:
    (check,) = translate(*drafts, **kw).checks
    return check


def order_of(check: OrderCheck) -> dict[str, Any]:
    assert check.case is not None, check.notes
    return check.case.order.model_dump(
        mode="json", exclude_none=True, exclude={"date", "time", "taper"}
    )


def stu3(draft: dict[str, Any]) -> dict[str, Any]:
    """The same order the way STU3 (and the hooks library's mislabelled example) writes it."""
    out = copy.deepcopy(draft)
    for dosage in out["dosageInstruction"]:
        (dar,) = dosage.pop("doseAndRate")
        dosage["doseQuantity"] = dar["doseQuantity"]
    return out


def as_object(draft: dict[str, Any]) -> dict[str, Any]:
    """doseAndRate sent as a single object (the Inferno CRD fixtures do)."""
    out = copy.deepcopy(draft)
    out["dosageInstruction"][0]["doseAndRate"] = out["dosageInstruction"][0]["doseAndRate"][0]
    return out


MG = "http://unitsofmeasure.org"
R4_10MG_TID = med_request("rx", TABLET_10, quantity(10, "mg"), per_day=3)

DOSES = [
    ("r4-mg", R4_10MG_TID, {"value": 10, "unit": "mg"}, 3, "tablet"),
    ("stu3-dose-quantity", stu3(R4_10MG_TID), {"value": 10, "unit": "mg"}, 3, "tablet"),
    ("dose-and-rate-object", as_object(R4_10MG_TID), {"value": 10, "unit": "mg"}, 3, "tablet"),
    (
        "mcg",
        med_request("rx", TABLET_10, quantity(500, "mcg"), per_day=2),
        {"value": 500, "unit": "ug"},
        2,
        "tablet",
    ),
    (
        "pill-of-rxnorm-product",
        med_request(
            "rx",
            {
                "coding": [
                    {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "202109"}
                ]
            },
            quantity(1, "{pill}"),
            per_day=3,
        ),
        {"value": 10, "unit": "mg"},
        3,
        "tablet",
    ),
    (
        "tbl-of-text",
        med_request(
            "rx",
            {"text": "Baclofen 20 MG Oral Tablet"},
            quantity(1.5, "tablet", "{tbl}"),
            per_day=2,
        ),
        {"value": 30, "unit": "mg"},
        2,
        "tablet",
    ),
    (
        "tablet-unit-only",
        med_request("rx", TABLET_20, {"value": 2, "unit": "tablets"}, per_day=3),
        {"value": 40, "unit": "mg"},
        3,
        "tablet",
    ),
    (
        "ml-of-5mg-per-5ml",
        med_request("rx", SOLUTION_5_PER_5, quantity(7.5, "mL"), per_day=4),
        {"value": 7.5, "unit": "mg"},
        4,
        "oral_solution",
    ),
    (
        "ml-of-1mg-per-ml",
        med_request(
            "rx", {"text": "baclofen 1 MG/ML Oral Suspension"}, quantity(10, "mL"), per_day=3
        ),
        {"value": 10, "unit": "mg"},
        3,
        "oral_solution",
    ),
    (
        "timing-code-qid",
        med_request("rx", TABLET_10, quantity(5, "mg"), timing_code="QID"),
        {"value": 5, "unit": "mg"},
        4,
        "tablet",
    ),
    (
        "intrathecal-ml",
        med_request("rx", INTRATHECAL, quantity(0.2, "mL"), per_day=1, route="intrathecal"),
        {"value": 400, "unit": "ug"},
        1,
        "intrathecal",
    ),
    (
        "intrathecal-rate-per-hour",
        med_request(
            "rx",
            INTRATHECAL,
            route="intrathecal",
            rate={"value": 20, "unit": "mcg/hr", "system": MG, "code": "ug/h"},
        ),
        {"value": 480, "unit": "ug"},
        1,
        "intrathecal",
    ),
    (
        "intrathecal-bolus-twice",
        med_request("rx", INTRATHECAL, quantity(50, "ug"), per_day=2, route="intrathecal"),
        {"value": 100, "unit": "ug"},
        1,
        "intrathecal",
    ),
]


@pytest.mark.parametrize(
    ("draft", "dose", "per_day", "form"), [d[1:] for d in DOSES], ids=[d[0] for d in DOSES]
)
def test_dose_timing_and_form(
    draft: dict[str, Any], dose: dict[str, Any], per_day: int, form: str
) -> None:
    check = one(draft)
    order = order_of(check)
    assert order["dose"] == dose
    assert order["frequency_per_day"] == per_day
    assert order["form"] == form
    assert [n for n in check.notes if n.field in ("order.dose", "order.frequency_per_day")] == []


def _timing(repeat: dict[str, Any] | None = None, code: str | None = None) -> dict[str, Any]:
    draft = med_request("rx", TABLET_10, quantity(10, "mg"))
    draft["dosageInstruction"][0]["timing"] = (
        {"repeat": repeat} if repeat else {"code": {"text": code}}
    )
    return draft


@pytest.mark.parametrize(
    ("draft", "per_day"),
    [
        (_timing({"frequency": 1, "period": 8, "periodUnit": "h"}), 3),
        (_timing({"frequency": 2, "frequencyMax": 3, "period": 1, "periodUnit": "d"}), 3),
        (_timing({"timeOfDay": ["08:00:00", "20:00:00"]}), 2),
        (_timing({"when": ["MORN", "AFT", "EVE"]}), 3),
        (_timing(code="BID"), 2),
        (_timing({"frequency": 1, "period": 16, "periodUnit": "h"}), None),
        (_timing(code="QOD"), None),
        (_timing({"frequency": 1, "period": 1, "periodUnit": "wk"}), None),
        (_timing({"frequency": 1, "period": 5, "periodUnit": "h"}), 5),
        (_timing({"frequency": 1, "period": 7, "periodUnit": "h"}), 4),
        (_timing({"frequency": 1, "period": 100, "periodUnit": "min"}), 15),
        (_timing(code="every 5 hours"), 5),
        (_timing({"frequency": 2, "period": 5, "periodUnit": "h"}), None),
        (_timing({"frequency": 1, "period": 13, "periodUnit": "h"}), None),
    ],
    ids=[
        "q8h",
        "frequency-max",
        "time-of-day",
        "when",
        "bid-text",
        "q16h",
        "qod",
        "weekly",
        "q5h",
        "q7h",
        "q100min",
        "every-5-hours-text",
        "twice-every-5-hours",
        "q13h",
    ],
)
def test_doses_per_day(draft: dict[str, Any], per_day: int | None) -> None:
    check = one(draft)
    assert order_of(check).get("frequency_per_day") == per_day
    unread = [n for n in check.notes if getattr(n, "field", None) == "order.frequency_per_day"]
    assert len(unread) == (per_day is None)


@pytest.mark.parametrize(
    ("timing", "said"),
    [
        (
            {"repeat": {"frequency": 1, "period": 5, "periodUnit": "h"}},
            "The schedule (every 5 h) gives 4.8 doses a day on average: the daily-dose checks "
            "were run on 5, the most that fall in 24 hours.",
        ),
        (
            {"code": {"text": "q5h"}},
            "The schedule 'q5h' gives 4.8 doses a day on average: the daily-dose checks were "
            "run on 5, the most that fall in 24 hours.",
        ),
    ],
    ids=["repeat", "text"],
)
def test_a_dose_every_few_hours_is_read_at_the_doses_that_fall_in_a_day(
    timing: dict[str, Any], said: str
) -> None:
    """Every 5 hours was "not a whole number" of doses a day, and no daily-maximum check ran:
    5 doses fall in a day that starts with one."""
    draft = med_request("rx", TABLET_10, quantity(40, "mg"))
    draft["dosageInstruction"][0]["timing"] = timing
    check = one(draft)
    assert order_of(check)["frequency_per_day"] == 5
    assert [str(r) for r in check.readings] == [said]
    assert check.gaps == []


def _schedule(timing: dict[str, Any]) -> dict[str, Any]:
    draft = med_request("rx", TABLET_10, quantity(10, "mg"))
    draft["dosageInstruction"][0]["timing"] = timing
    return draft


_PER_DAY = {"period": 1, "periodUnit": "d"}
_GTS = "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation"


@pytest.mark.parametrize(
    ("timing", "per_day", "parts"),
    [
        (
            {
                "repeat": {
                    "frequency": 3,
                    **_PER_DAY,
                    "timeOfDay": ["08:00", "12:00", "16:00", "20:00"],
                }
            },
            4,
            "its frequency per period 3, its times of day 4",
        ),
        (
            {"repeat": {"frequency": 3, **_PER_DAY, "when": ["MORN", "NOON", "EVE", "HS"]}},
            4,
            "its frequency per period 3, its times of day 4",
        ),
        (
            {
                "repeat": {"frequency": 3, **_PER_DAY},
                "code": {"coding": [{"system": _GTS, "code": "QID"}]},
            },
            4,
            "its frequency per period 3, the timing code 'QID' 4",
        ),
        (
            {
                "repeat": {"frequency": 4, **_PER_DAY},
                "code": {"coding": [{"system": _GTS, "code": "TID"}]},
            },
            4,
            "its frequency per period 4, the timing code 'TID' 3",
        ),
        (
            {"repeat": {"timeOfDay": ["08:00", "20:00"]}, "code": {"text": "three times daily"}},
            3,
            "its times of day 2, the timing code 'three times daily' 3",
        ),
        (
            {"code": {"coding": [{"system": _GTS, "code": "BID"}], "text": "QID"}},
            4,
            "the timing code 'BID' 2, its text 'QID' 4",
        ),
        (
            {"code": {"coding": [{"system": _GTS, "code": "TID"}], "text": "three times a day"}},
            3,
            None,
        ),
        ({"repeat": {"frequency": 2, **_PER_DAY, "timeOfDay": ["08:00", "20:00"]}}, 2, None),
        ({"repeat": {"frequency": 3, **_PER_DAY, "when": ["C"]}}, 3, None),
        (
            {
                "repeat": {"frequency": 4, **_PER_DAY},
                "code": {"coding": [{"system": _GTS, "code": "QID"}]},
            },
            4,
            None,
        ),
    ],
    ids=[
        "frequency-3-four-times-of-day",
        "frequency-3-four-events",
        "frequency-3-qid",
        "frequency-4-tid",
        "two-times-of-day-three-times-daily",
        "bid-coded-qid-written",
        "tid-coded-and-written",
        "frequency-2-two-times-of-day",
        "frequency-3-with-meals",
        "frequency-4-qid",
    ],
)
def test_a_schedule_whose_parts_disagree_is_read_at_the_most_and_said(
    timing: dict[str, Any], per_day: int, parts: str | None
) -> None:
    """The daily dose checked is the most the order allows: a frequency of 3 a day beside four
    times of day is 4 doses a day, said on the alert cards, never the lesser silently."""
    check = one(_schedule(timing))
    assert order_of(check)["frequency_per_day"] == per_day
    said = [str(n) for n in check.notes if isinstance(n, ReadAs) and "disagree" in n]
    if parts is None:
        assert said == [], check.notes
    else:
        assert said == [
            f"The schedule's parts disagree on the doses a day ({parts}): the daily-dose checks "
            f"were run on the most, {per_day} doses a day."
        ]


@pytest.mark.parametrize(
    ("when", "per_day", "meals"),
    [
        (["AC"], 3, "'AC' (before meals)"),
        (["C"], 3, "'C' (with meals)"),
        (["PC", "HS"], 4, "'PC' (after meals)"),
        (["AC", "PC"], 6, "'AC' (before meals), 'PC' (after meals)"),
        (["MORN", "HS"], 2, None),
        (["ACM", "ACV"], 2, None),
    ],
)
def test_meal_events_alone_are_a_dose_at_each_of_three_meals(
    when: list[str], per_day: int, meals: str | None
) -> None:
    """`when: ["AC"]` and nothing else was read as one dose a day: 40 mg before each meal
    passed as 40 mg/day. A meal event with a frequency only says when the doses fall."""
    check = one(_schedule({"repeat": {"when": when}}))
    assert order_of(check)["frequency_per_day"] == per_day
    said = [str(n) for n in check.notes if isinstance(n, ReadAs) and "meals" in n]
    if meals is None:
        assert said == []
    else:
        assert said == [
            f"The schedule gives no number of doses a day; {meals} was read as one dose at each "
            f"of 3 meals: the daily-dose checks were run on {per_day} doses a day."
        ]
    once = one(_schedule({"repeat": {"frequency": 1, **_PER_DAY, "when": when}}))
    assert order_of(once)["frequency_per_day"] == 1 or not meals


@pytest.mark.parametrize(
    ("medication", "dose", "expected_note"),
    [
        (concept("1155671", "Baclofen Pill"), quantity(1, "{pill}"), "could not be determined"),
        (TABLET_10, quantity(5, "mL"), "is given per tablet, not per mL"),
        (
            {
                "coding": [
                    {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "197392"}
                ],
                "text": "Baclofen 10 MG Oral Tablet",
            },
            quantity(1, "{tbl}"),
            "is ambiguous",
        ),
        (TABLET_10, quantity(2, "puff"), "not one we can convert"),
        (TABLET_10, {"unit": "mg"}, "has no number"),
        (TABLET_10, {"value": True, "unit": "mg"}, "has no number"),  # not 1 mg
        (
            TABLET_10,
            {"value": 10, "unit": "ug", "system": MG, "code": "mg"},
            "written 10 'ug' with the unit code 'mg': the two disagree",
        ),
        (
            TABLET_10,
            {"value": 10, "unit": "mg", "system": MG, "code": "ug"},
            "written 10 'mg' with the unit code 'ug': the two disagree",
        ),
        (
            TABLET_20,
            {"value": 2, "unit": "tablet", "system": MG, "code": "mg"},
            "written 2 'tablet' with the unit code 'mg': the two disagree",
        ),
        (
            TABLET_20,
            {"value": 40, "unit": "mg", "system": MG, "code": "{tbl}"},
            "written 40 'mg' with the unit code '{tbl}': the two disagree",
        ),
        (
            SOLUTION_5_PER_5,
            {"value": 10, "unit": "mL", "system": MG, "code": "mg"},
            "written 10 'mL' with the unit code 'mg': the two disagree",
        ),
        (
            SOLUTION_5_PER_5,
            {"value": 10, "unit": "L", "system": MG, "code": "mL"},
            "written 10 'L' with the unit code 'mL': the two disagree",
        ),
    ],
    ids=[
        "no-strength",
        "volume-of-tablets",
        "conflicting-strengths",
        "unknown-unit",
        "no-value",
        "boolean-value",
        "text-ug-code-mg",
        "text-mg-code-ug",
        "text-tablet-code-mg",
        "text-mg-code-tbl",
        "text-ml-code-mg",
        "text-l-code-ml",
    ],
)
def test_a_dose_that_cannot_be_read_is_said_never_guessed(
    medication: dict[str, Any], dose: dict[str, Any], expected_note: str
) -> None:
    check = one(med_request("rx", medication, dose, per_day=3))
    assert "dose" not in order_of(check)
    assert order_of(check)["frequency_per_day"] == 3, "the schedule is still used"
    (note,) = [n for n in check.notes if n.field == "order.dose"]
    assert expected_note in note
    assert check.dose_site is None


def test_concurrent_dosage_instructions_are_summed() -> None:
    draft = med_request("rx", TABLET_10, quantity(10, "mg"), timing_code="AM")
    night = copy.deepcopy(draft["dosageInstruction"][0])
    night["timing"]["code"]["text"] = "BED"
    night["timing"]["code"]["coding"][0]["code"] = "BED"
    night["doseAndRate"][0]["doseQuantity"] = quantity(20, "mg")
    draft["dosageInstruction"].append(night)
    check = one(draft)
    assert order_of(check)["dose"] == {"value": 15, "unit": "mg"}  # 30 mg/day in 2 doses
    assert order_of(check)["frequency_per_day"] == 2
    assert check.dose_site is None, "no corrected order for a split regimen"


def _steps(*doses: tuple[int | None, dict[str, Any], int]) -> dict[str, Any]:
    """An order of dosage instructions (sequence, dose, doses a day); sequence None: none."""
    draft = med_request("rx", TABLET_10, quantity(5, "mg"), per_day=3)
    template = draft["dosageInstruction"][0]
    template.pop("sequence")
    draft["dosageInstruction"] = []
    for sequence, dose, per_day in doses:
        step = copy.deepcopy(template)
        step["doseAndRate"][0]["doseQuantity"] = dose
        step["timing"]["repeat"]["frequency"] = per_day
        if sequence is not None:
            step["sequence"] = sequence
        draft["dosageInstruction"].append(step)
    return draft


def test_sequential_steps_check_the_first_and_name_the_others() -> None:
    """The first step is the start and the step from the current dose; a later one was said
    to exist, but not what it gives: 40 mg four times a day from day 8 read as "the later
    steps". It is named as written: what it comes to a day is the rules' to say."""
    check = one(
        _steps((1, quantity(5, "mg"), 3), (2, quantity(40, "mg"), 4), (3, {"unit": "mg"}, 4))
    )
    assert order_of(check)["dose"] == {"value": 5, "unit": "mg"}
    assert [str(g) for g in check.gaps] == [
        "The order has 3 sequential dosage steps; only the first (sequence 1) was checked. Not "
        "checked: step 2 (40 mg 4 times a day), step 3 (dose or doses a day not read). Check "
        "the later steps "
        "against the maxima by hand."
    ]


def test_an_instruction_without_a_sequence_beside_steps_is_counted_and_said() -> None:
    """It was dropped without a word: 2 tablets four times a day beside two sequential steps
    of 10 mg once a day was not counted anywhere."""
    check = one(
        _steps(
            (1, quantity(10, "mg"), 1), (2, quantity(10, "mg"), 1), (None, quantity(40, "mg"), 4)
        )
    )
    assert order_of(check)["dose"] == {"value": 34, "unit": "mg"}  # 170 mg/day in 5 doses
    assert order_of(check)["frequency_per_day"] == 5
    assert (
        "Dosage instruction 3 of 3 has no sequence beside sequential steps: it was counted with "
        "the first step, the one checked." in [str(g) for g in check.gaps]
    )


CONTAINED_20 = {
    "resourceType": "Medication",
    "id": "m",
    "code": {"text": "Baclofen tablet"},
    "ingredient": [
        {
            "strength": {
                "numerator": quantity(20, "mg"),
                "denominator": {"value": 1, "unit": "tablet"},
            }
        }
    ],
}


def _contained(draft: dict[str, Any], medication: dict[str, Any]) -> dict[str, Any]:
    draft = copy.deepcopy(draft)
    draft.pop("medicationCodeableConcept")
    draft["contained"] = [medication]
    draft["medicationReference"] = {"reference": "#m"}
    return draft


@pytest.mark.parametrize(
    ("draft", "strength"),
    [
        (R4_10MG_TID, {"value": 10, "unit": "mg", "per": "tablet"}),
        (
            med_request("rx", LIORESAL_10, quantity(1, "{pill}"), per_day=3),
            {"value": 10, "unit": "mg", "per": "tablet"},
        ),
        (
            med_request("rx", SOLUTION_5_PER_5, quantity(5, "mg"), per_day=3),
            {"value": 1, "unit": "mg", "per": "mL"},
        ),
        (
            med_request("rx", INTRATHECAL, quantity(300, "ug"), per_day=1, route="intrathecal"),
            {"value": 2000, "unit": "ug", "per": "mL"},
        ),
        (
            _contained(
                med_request("rx", TABLET_10, quantity(2, "tablet", "{tbl}"), per_day=3),
                CONTAINED_20,
            ),
            {"value": 20, "unit": "mg", "per": "tablet"},
        ),
        (
            med_request(
                "rx",
                {
                    "coding": [{"system": RXNORM, "code": "197392"}],
                    "text": "Baclofen 10 MG Oral Tablet",
                },
                quantity(10, "mg"),
                per_day=3,
            ),
            None,
        ),
        (
            med_request("rx", concept("1155671", "Baclofen Pill"), quantity(10, "mg"), per_day=3),
            None,
        ),
    ],
    ids=[
        "tablet-name",
        "rxnorm-product-code",
        "oral-solution",
        "intrathecal-in-ug",
        "ingredient-strength",
        "two-strengths",
        "no-strength",
    ],
)
def test_the_product_strength_goes_to_the_case(
    draft: dict[str, Any], strength: dict[str, Any] | None
) -> None:
    assert order_of(one(draft)).get("strength") == strength


def test_dose_range_checks_its_upper_value() -> None:
    draft = med_request("rx", TABLET_10, None, per_day=3)
    draft["dosageInstruction"][0]["doseAndRate"] = [
        {"doseRange": {"low": quantity(5, "mg"), "high": quantity(10, "mg")}}
    ]
    check = one(draft)
    assert order_of(check)["dose"] == {"value": 10, "unit": "mg"}
    assert any("range" in n for n in check.notes)


# ---- which orders are baclofen ------------------------------------------------------------

CONTAINED = {
    **med_request("rx", TABLET_10, quantity(2, "tablet", "{tbl}"), per_day=3),
    "contained": [
        {
            "resourceType": "Medication",
            "id": "med1",
            "code": {"coding": [{"system": RXNORM, "code": "1292", "display": "baclofen"}]},
            "form": {"text": "Tablet"},
            "ingredient": [
                {
                    "itemCodeableConcept": {"text": "baclofen"},
                    "strength": {
                        "numerator": quantity(10, "mg"),
                        "denominator": {"value": 1, "unit": "tablet"},
                    },
                }
            ],
        }
    ],
}
CONTAINED.pop("medicationCodeableConcept")
CONTAINED["medicationReference"] = {"reference": "#med1"}


@pytest.mark.parametrize(
    ("draft", "label", "dose_mg"),
    [
        (
            med_request(
                "rx", {"coding": [{"system": RXNORM, "code": "1292"}]}, quantity(5, "mg"), per_day=3
            ),
            "Baclofen",
            5,
        ),
        (
            med_request(
                "rx",
                {"coding": [{"system": RXNORM, "code": "617299"}]},
                quantity(1, "{pill}"),
                per_day=3,
            ),
            "Baclofen 10 MG Disintegrating Oral Tablet",
            10,
        ),
        (
            med_request("rx", {"text": "Lioresal 10 mg tablets"}, quantity(1, "tablet"), per_day=3),
            "Lioresal 10 mg tablets",
            10,
        ),
        (CONTAINED, "baclofen", 20),
    ],
    ids=["ingredient-code", "product-code-only", "brand-text", "contained-medication"],
)
def test_baclofen_is_recognised(draft: dict[str, Any], label: str, dose_mg: float) -> None:
    check = one(draft)
    assert check.label == label
    assert order_of(check)["dose"] == {"value": dose_mg, "unit": "mg"}


def test_referenced_medication_in_the_bundle() -> None:
    draft = med_request("rx", TABLET_10, quantity(1, "{pill}"), per_day=3)
    draft.pop("medicationCodeableConcept")
    draft["medicationReference"] = {"reference": "Medication/m1"}
    medication = {
        "resourceType": "Medication",
        "id": "m1",
        "code": concept("197392", "Baclofen 20 MG Oral Tablet"),
    }
    check = one(draft, medication)
    assert order_of(check)["dose"] == {"value": 20, "unit": "mg"}


def test_other_orders_are_context_and_unknown_ones_are_named() -> None:
    amoxicillin = med_request(
        "rx-a",
        concept("617993", "Amoxicillin 120 MG/ML Oral Suspension"),
        quantity(5, "mL"),
        per_day=2,
    )
    unknown = med_request("rx-u", TABLET_10, quantity(1, "mg"), per_day=1)
    unknown.pop("medicationCodeableConcept")
    unknown["medicationReference"] = {"reference": "Medication/elsewhere"}
    withdrawn = med_request(
        "rx-w", TABLET_10, quantity(10, "mg"), per_day=3, status="entered-in-error"
    )
    result = translate(amoxicillin, unknown, withdrawn)
    assert result.checks == []
    assert result.unidentified == ["MedicationRequest/rx-u"]


# ---- route ------------------------------------------------------------------------------------


def _routed(route: dict[str, Any] | None, medication: dict[str, Any] = TABLET_10) -> dict[str, Any]:
    draft = med_request("rx", medication, quantity(10, "mg"), per_day=3, route=None)
    if route is not None:
        draft["dosageInstruction"][0]["route"] = route
    return draft


@pytest.mark.parametrize(
    ("draft", "route"),
    [
        (
            _routed({"coding": [{"system": "http://snomed.info/sct", "code": "47625008"}]}),
            "intravenous",
        ),
        (_routed({"text": "PO"}), "oral"),
        (_routed({"coding": [{"display": "Intrathecal"}]}, INTRATHECAL), "intrathecal"),
        (_routed(None), "oral"),  # "Oral Tablet" in the product name
        (_routed(None, {"text": "Baclofen 0.5 MG/ML Injectable Solution"}), None),
        (_routed({"text": "per G-tube"}), None),
    ],
    ids=["snomed-iv", "po", "display", "from-product", "injectable-without-route", "unknown"],
)
def test_route(draft: dict[str, Any], route: str | None) -> None:
    check = one(draft)
    assert order_of(check).get("route") == route


def test_an_unrecognised_route_is_named() -> None:
    check = one(_routed({"text": "per G-tube"}))
    (note,) = [n for n in check.notes if n.field == "order.route"]
    assert "'per G-tube'" in note


# ---- the patient -----------------------------------------------------------------------------


def _patient_of(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    check = one(R4_10MG_TID, data=data)
    assert check.case is not None
    return check.case.patient.model_dump(mode="json", exclude_defaults=True), check.notes


def test_partial_birth_date_takes_the_youngest_age_and_says_so() -> None:
    got, notes = _patient_of({"patient": patient(birth="2018")})
    assert got["birth_date"] == "2018-12-31"
    assert any("given only as 2018" in n for n in notes)


@pytest.mark.parametrize(
    ("obs", "kg"),
    [
        (observation("29463-7", "Body weight", 44, "lb", "[lb_av]"), 19.958),
        (observation("29463-7", "Body weight", 21500, "g", "g"), 21.5),
    ],
    ids=["pounds", "grams"],
)
def test_weight_units(obs: dict[str, Any], kg: float) -> None:
    got, _ = _patient_of({"weight": searchset(obs)})
    assert got["weight_kg"] == kg


def _snomed_unit(obs: dict[str, Any]) -> dict[str, Any]:
    obs["valueQuantity"].update(system="http://snomed.info/sct", code="258683005")
    return obs


@pytest.mark.parametrize(
    ("obs", "written"),
    [
        (observation("29463-7", "Body weight", 44, "lb", "kg"), "44 'lb' with the unit code 'kg'"),
        (
            observation("29463-7", "Body weight", 20, "kg", "[lb_av]"),
            "20 'kg' with the unit code '[lb_av]'",
        ),
        (observation("29463-7", "Body weight", 20, "g", "kg"), "20 'g' with the unit code 'kg'"),
        # spelled out, as EHRs show the unit
        (
            observation("29463-7", "Body weight", 44, "pounds", "kg"),
            "44 'pounds' with the unit code 'kg'",
        ),
        (
            observation("29463-7", "Body weight", 44, "Pound", "kg"),
            "44 'Pound' with the unit code 'kg'",
        ),
    ],
    ids=["lb-coded-kg", "kg-coded-lb", "g-coded-kg", "pounds-coded-kg", "pound-coded-kg"],
)
def test_a_weight_whose_unit_text_and_code_disagree_is_not_used(
    obs: dict[str, Any], written: str
) -> None:
    """44 "lb" coded kg was read as 44 kg without a word: a child of 20 kg passed the
    33 kg tablet limit. Which one was recorded is unknown, as for a dose."""
    got, notes = _patient_of({"weight": searchset(obs)})
    assert "weight_kg" not in got
    assert (
        f"The latest body weight is written {written}: the two disagree, and which one was "
        "recorded is unknown, so the weight was not used." in notes
    )


@pytest.mark.parametrize(
    ("obs", "kg"),
    [
        (observation("29463-7", "Body weight", 44, "lbs", "[lb_av]"), 19.958),
        (observation("29463-7", "Body weight", 20, "kilograms", "kg"), 20),
        (observation("29463-7", "Body weight", 20, "kilos", "kg"), 20),
        (_snomed_unit(observation("29463-7", "Body weight", 35, "kg", "kg")), 35),
        (_snomed_unit(observation("29463-7", "Body weight", 44, "pounds", "kg")), 19.958),
    ],
    ids=[
        "lbs-coded-lb",
        "kilograms-coded-kg",
        "unit-text-unknown",
        "snomed-code-kg-text",
        "snomed-code-pounds-text",
    ],
)
def test_a_weight_unit_written_two_ways_that_agree_is_read(obs: dict[str, Any], kg: float) -> None:
    """A text we do not know beside a UCUM code is the code; an EHR's own unit code (SNOMED
    CT's kilogram) beside "kg" is the text, as for a dose."""
    got, _ = _patient_of({"weight": searchset(obs)})
    assert got["weight_kg"] == kg


def test_latest_weight_wins_and_unknown_units_are_named() -> None:
    old, new = weight(30, when="2025-01-01", oid="w1"), weight(35, when="2026-11-01", oid="w2")
    assert _patient_of({"weight": searchset(old, new)})[0]["weight_kg"] == 35
    stone = observation("29463-7", "Body weight", 5, "stone", "[stone_av]")
    got, notes = _patient_of({"weight": searchset(stone)})
    assert "weight_kg" not in got
    assert any("'[stone_av]'" in n for n in notes)


def test_renal_function() -> None:
    below = egfr(15, comparator="<")
    per_second = observation("2164-2", "Creatinine clearance", 0.5, "mL/s", "mL/s")
    got, _ = _patient_of({"egfr": searchset(below), "crcl": searchset(per_second)})
    assert got["egfr_ml_min_1_73m2"] == 14.99  # "<15" lies under 15
    assert got["creatinine_clearance_ml_min"] == 30


def test_conditions_carry_their_statuses() -> None:
    """Statuses are passed on as read; what a past or refuted entry means is the rules' call
    (tests/cds_hooks/test_condition_reading.py checks the answers). Only the entries the rules
    read reach the Case: a resolved end-stage renal disease and a refuted pregnancy say
    nothing to them."""
    conditions = searchset(
        condition("G40.909", "Epilepsy", "84757009", cid="c1"),
        condition("N18.6", "End stage renal disease", clinical="relapse", cid="c2"),
        condition("G40.909", "Epilepsy", clinical="resolved", verification="provisional", cid="c3"),
        condition("N18.6", "End stage renal disease", clinical="resolved", cid="c4"),
        condition("O09.90", "High-risk pregnancy", verification="refuted", cid="c5"),
        condition("I10", "Essential hypertension", cid="c6"),
    )
    got, _ = _patient_of({"conditions": conditions})
    assert [
        (c.get("code"), c.get("clinical_status"), c.get("verification_status"))
        for c in got["conditions"]
    ] == [
        ("G40.909", "active", "confirmed"),
        ("84757009", "active", "confirmed"),
        ("N18.6", "relapse", "confirmed"),
        ("G40.909", "resolved", "provisional"),
    ]


def test_implausible_values_are_set_aside_and_named() -> None:
    got, notes = _patient_of(
        {"weight": searchset(weight(500)), "patient": patient(birth="2027-01-01")}
    )
    assert "weight_kg" not in got and "birth_date" not in got
    assert any(n.startswith("Not used: the body weight") for n in notes)
    assert any(n.startswith("Not used: the birth date") for n in notes)


# ---- start, change, continue, stop -----------------------------------------------------------

ACTIVE_5_TID = med_request(
    "rx-old",
    TABLET_10,
    quantity(5, "mg"),
    per_day=3,
    status="active",
    authored="2026-11-01T08:00:00Z",
)


@pytest.mark.parametrize(
    ("draft", "medications", "expected"),
    [
        (R4_10MG_TID, [], {"action": "start"}),
        (
            med_request("rx", TABLET_10, quantity(5, "mg"), per_day=3, prior="rx-old"),
            [ACTIVE_5_TID],
            {
                "action": "continue",
                "previous": {
                    "dose": {"value": 5, "unit": "mg"},
                    "frequency_per_day": 3,
                    "since": "2026-11-01",
                },
            },
        ),
        (
            med_request("rx-old", TABLET_10, quantity(5, "mg"), per_day=3),
            [ACTIVE_5_TID],
            {
                "action": "continue",
                "previous": {
                    "dose": {"value": 5, "unit": "mg"},
                    "frequency_per_day": 3,
                    "since": "2026-11-01",
                },
            },
        ),
        (
            {**R4_10MG_TID, "priorPrescription": {"reference": "MedicationRequest/rx-old"}},
            [ACTIVE_5_TID],
            {
                "action": "change",
                "previous": {
                    "dose": {"value": 5, "unit": "mg"},
                    "frequency_per_day": 3,
                    "since": "2026-11-01",
                },
            },
        ),
        (
            med_request("rx", TABLET_10, quantity(5, "mg"), per_day=3, status="stopped"),
            [ACTIVE_5_TID],
            {
                "action": "stop",
                "previous": {
                    "dose": {"value": 5, "unit": "mg"},
                    "frequency_per_day": 3,
                    "since": "2026-11-01",
                },
            },
        ),
        (
            R4_10MG_TID,
            [
                med_request(
                    "rx-it",
                    INTRATHECAL,
                    quantity(300, "ug"),
                    per_day=1,
                    route="intrathecal",
                    status="active",
                )
            ],
            {"action": "start"},
        ),
        (
            R4_10MG_TID,
            [
                med_request(
                    "rx-old", LIORESAL_10, quantity(1, "{pill}"), per_day=3, status="completed"
                )
            ],
            {"action": "start"},
        ),
    ],
    ids=[
        "no-baclofen",
        "same-regimen",
        "same-id-is-an-edit",
        "new-regimen",
        "stop",
        "other-route",
        "completed",
    ],
)
def test_action_from_the_active_medications(
    draft: dict[str, Any], medications: list[dict[str, Any]], expected: dict[str, Any]
) -> None:
    order = order_of(one(draft, data={"medications": searchset(*medications)}))
    assert {k: order[k] for k in expected} == expected
    assert ("previous" in order) == ("previous" in expected)


GROUP = {"system": "urn:oid:1.2.3.4.5.6", "value": "rx-group-7"}


@pytest.mark.parametrize(
    ("draft", "drafts", "expected"),
    [
        (
            med_request("rx", TABLET_10, quantity(10, "mg"), per_day=1),
            [],
            {
                "action": "add",
                "concurrent": [
                    {
                        "route": "oral",
                        "status": "active",
                        "relation": "unlinked",
                        "dose": {"value": 5, "unit": "mg"},
                        "frequency_per_day": 3,
                        "since": "2026-11-01",
                    }
                ],
            },
        ),
        (
            {
                **med_request("rx", TABLET_10, quantity(10, "mg"), per_day=1),
                "groupIdentifier": GROUP,
            },
            [],
            {"action": "add"},
        ),
        (
            med_request("rx", TABLET_10, quantity(10, "mg"), per_day=1),
            [med_request("rx-2", TABLET_10, quantity(5, "mg"), per_day=2)],
            {"action": "add"},
        ),
    ],
    ids=["added-unlinked", "added-in-the-same-prescription", "beside-another-draft"],
)
def test_orders_beside_each_other_go_to_the_case(
    draft: dict[str, Any], drafts: list[dict[str, Any]], expected: dict[str, Any]
) -> None:
    """An oral draft that replaces no order beside the active one is added to it: the active
    order (and every other draft) goes to the Case as order.concurrent, linked when the two
    share a prescription (groupIdentifier)."""
    active = {**ACTIVE_5_TID, "groupIdentifier": GROUP}
    ctx = OrderContext.model_validate(
        {
            "patientId": "pat-1",
            "draftOrders": {
                "resourceType": "Bundle",
                "entry": [{"resource": d} for d in [draft, *drafts]],
            },
        }
    )
    data = {**dict.fromkeys(TEMPLATES), "medications": searchset(active)}
    check = fhir.translate(ctx, Prefetched(data=data), {"MedicationRequest/rx"}).checks[0]
    assert check.case is not None
    order = check.case.order.model_dump(mode="json", exclude_none=True)
    assert {k: order[k] for k in expected} == expected
    relations = [o["relation"] for o in order["concurrent"]]
    linked = "groupIdentifier" in draft
    assert relations[-1] == ("linked" if linked else "unlinked")
    assert len(relations) == 1 + len(drafts)


def test_without_the_medication_list_the_order_is_a_start_and_says_so() -> None:
    check = one(R4_10MG_TID, gaps={"medications": "not in the prefetch"})
    assert order_of(check)["action"] == "start"
    assert any("checked as a new course" in n for n in check.notes)
    assert any(n.startswith("Not available: the active medications") for n in check.notes)


def test_co_medications_come_from_active_orders_and_other_drafts() -> None:
    lorazepam = med_request(
        "rx-l", concept("6470", "lorazepam"), quantity(1, "mg"), per_day=1, status="active"
    )
    stopped = med_request(
        "rx-s", {"text": "Diazepam 5 mg tablet"}, quantity(5, "mg"), per_day=1, status="stopped"
    )
    oxycodone = med_request(
        "rx-o", {"text": "Oxycodone 5 MG Oral Tablet"}, quantity(5, "mg"), per_day=4
    )
    check = one(
        R4_10MG_TID,
        oxycodone,
        data={"medications": searchset(lorazepam, stopped), "crcl": searchset(crcl(90))},
    )
    assert check.case is not None
    assert [m.display for m in check.case.patient.medications] == [
        "lorazepam",
        "Oxycodone 5 MG Oral Tablet",
    ]


def test_an_intrathecal_order_without_a_readable_dose_keeps_its_schedule_quiet() -> None:
    check = one(med_request("rx", INTRATHECAL, quantity(2, "puff"), per_day=2, route="intrathecal"))
    assert order_of(check)["frequency_per_day"] == 1
    # The intrathecal record is read from the prefetch (here: every key sent, none with
    # data), so nothing about order.intrathecal is left unsaid: only the dose is.
    assert [n.field for n in check.notes] == ["order.dose"]


@pytest.mark.parametrize(
    ("authored", "date", "noted"),
    [
        ("2026-11-22T09:30:00+01:00", "2026-11-22", False),
        ("2026-11-22", "2026-11-22", False),
        ("22/11/2026", None, True),
        ("2026-11-31", None, True),
        ("", None, True),
        ("2100-01-01T09:30:00+01:00", None, True),
        (None, None, False),
    ],
    ids=["instant", "date", "day-first", "no-such-day", "empty", "in-2100", "absent"],
)
def test_an_order_date_that_cannot_be_read_is_said(
    authored: str | None, date: str | None, noted: bool
) -> None:
    """Today's date stands in for an order date the EHR did not send (the draft is being
    signed now), but one it sent and we could not read is named on the card: the age on the
    order's date and every interval since an earlier dose are counted from it."""
    draft = med_request("rx", TABLET_10, quantity(10, "mg"), per_day=3)
    if authored is None:
        del draft["authoredOn"]
    else:
        draft["authoredOn"] = authored
    check = one(draft)
    assert check.case is not None
    written = check.case.order.model_dump(mode="json")["date"]
    assert written == (date or dt.date.today().isoformat())
    said = [n for n in check.notes if "authoredOn" in n]
    assert bool(said) == noted, check.notes
    if noted:
        assert said == [
            f"The order's date (authoredOn {authored!r}) could not be read, or is more than a "
            f"year after today: the check took today's date ({dt.date.today().isoformat()}) "
            "instead."
        ]


@pytest.mark.parametrize(
    ("later", "earlier"),
    [
        # 23:30 at UTC-5 is 04:30 UTC the next day: after 01:00 at UTC+1 (00:00 UTC).
        ("2026-11-20T23:30:00-05:00", "2026-11-21T01:00:00+01:00"),
        ("2026-11-21", "2026-11-20T23:00:00Z"),
        ("2026-11-20", "not a date"),
        ({"start": "2026-11-22T08:00:00Z"}, "2026-11-21T08:00:00Z"),
    ],
)
def test_the_latest_weight_is_the_latest_instant(later: Any, earlier: Any) -> None:
    from api.cds_hooks.fhir.labs import weight_kg
    from api.cds_hooks.fhir.resources import Observation

    def obs(kg: float, when: Any) -> Observation:
        res = weight(kg)
        res.pop("effectiveDateTime")
        res["effectivePeriod" if isinstance(when, dict) else "effectiveDateTime"] = when
        return Observation.model_validate(res)

    both = [obs(20, later), obs(30, earlier)]
    assert weight_kg(both).value == 20
    assert weight_kg(list(reversed(both))).value == 20


@pytest.mark.parametrize(
    "extra",
    [
        {"timing": {"code": {"text": "At Bedtime"}}},
        {"text": "plus 40 mg at night"},
    ],
    ids=["timing-alone", "text-alone"],
)
def test_an_instruction_without_a_dose_beside_others_is_said(extra: dict[str, Any]) -> None:
    """It was left out of the daily dose without a word: 20 mg three times a day plus a
    bedtime dose written as text alone was checked as 60 mg/day."""
    draft = med_request("rx", TABLET_10, quantity(20, "mg"), per_day=3)
    draft["dosageInstruction"].append(extra)
    check = one(draft)
    assert order_of(check)["dose"] == {"value": 20, "unit": "mg"}
    assert (
        "Dosage instruction 2 of 2 has no dose that could be read: the daily dose was checked "
        "without it, as the least the order gives." in [str(g) for g in check.gaps]
    )


@pytest.mark.parametrize(
    ("extra", "written"),
    [
        ({"asNeededBoolean": True}, "(20 mg as needed)"),
        ({"text": "plus 20 mg extra if needed"}, "(20 mg)"),
        ({"timing": {"code": {"text": "with breakfast"}}}, "(20 mg)"),
    ],
    ids=["as-needed-no-timing", "text-no-timing", "unreadable-timing"],
)
def test_an_instruction_without_a_schedule_beside_others_is_said(
    extra: dict[str, Any], written: str
) -> None:
    """One instruction without a number of doses a day made the whole regimen unknown: 40 mg
    four times a day plus 20 mg "if needed" got no daily-maximum card, and the missing-data
    card said the order had no dose or frequency."""
    draft = med_request("rx", TABLET_20, quantity(40, "mg"), per_day=4)
    draft["dosageInstruction"].append(
        {"doseAndRate": [{"doseQuantity": quantity(20, "mg")}], **extra}
    )
    check = one(draft)
    assert order_of(check)["dose"] == {"value": 40, "unit": "mg"}
    assert order_of(check)["frequency_per_day"] == 4
    assert [str(g) for g in check.gaps] == [
        f"Dosage instruction 2 of 2 {written} has no number of doses a day that could be read "
        "(no readable schedule, no maximum per day): the daily dose was checked without it, as "
        "the least the order gives. State its schedule or a maximum per day."
    ]
    assert check.dose_site is None, "no corrected order for a regimen read in part"
