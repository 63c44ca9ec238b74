"""Alert -> card: summaries that name the order, Markdown that cannot be hijacked by EHR text,
and corrected orders that a prescriber can give and that no other card on the order flags."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from api.cds_hooks import cards, fhir
from api.cds_hooks.models import OrderContext
from api.cds_hooks.prefetch import TEMPLATES, Prefetched
from rules.checker import Checker
from tests.cds_hooks.fhir import (
    SOLUTION_5_PER_5,
    TABLET_10,
    TABLET_20,
    condition,
    med_request,
    patient,
    quantity,
    searchset,
    weight,
)

ADULT = patient(birth="1981-06-15")
CHILD_7Y = patient(birth="2019-05-01")


def cards_of(checker: Checker, draft: dict[str, Any], **data: Any) -> list[dict[str, Any]]:
    ctx = OrderContext.model_validate(
        {
            "patientId": "pat-1",
            "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": draft}]},
        }
    )
    prefetched = Prefetched(data={**dict.fromkeys(TEMPLATES), **data})
    (check,) = fhir.translate(ctx, prefetched, None).checks
    assert check.case is not None
    result = checker.run(check.case)
    return [c.model_dump(exclude_none=True) for c in cards.cards_for(check, result)]


def fix_of(card: dict[str, Any]) -> dict[str, Any]:
    (suggestion,) = card["suggestions"]
    (action,) = suggestion["actions"]
    assert action["type"] == "update"
    return action["resource"]


def dose_of(resource: dict[str, Any]) -> dict[str, Any]:
    dosage = resource["dosageInstruction"][0]
    holder = dosage["doseAndRate"][0] if "doseAndRate" in dosage else dosage
    return holder["doseQuantity"]


def _continuing(draft: dict[str, Any]) -> dict[str, Any]:
    active = copy.deepcopy(draft)
    active.update(id="rx-old", status="active", authoredOn="2026-10-01T08:00:00Z")
    draft["priorPrescription"] = {"reference": "MedicationRequest/rx-old"}  # a renewal
    return {"medications": searchset(active)}


@pytest.mark.parametrize(
    ("draft", "dose"),
    [
        (
            med_request("rx", TABLET_20, quantity(40, "mg"), per_day=4),
            {"value": 20, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"},
        ),
        (
            med_request("rx", TABLET_20, quantity(40000, "ug"), per_day=4),
            {"value": 20000, "unit": "ug", "system": "http://unitsofmeasure.org", "code": "ug"},
        ),
        (
            med_request("rx", TABLET_20, quantity(2, "tablet", "{tbl}"), per_day=4),
            {"value": 1, "unit": "tablet", "system": "http://unitsofmeasure.org", "code": "{tbl}"},
        ),
        (
            med_request("rx", SOLUTION_5_PER_5, quantity(30, "mL"), per_day=4),
            {"value": 25, "unit": "mL", "system": "http://unitsofmeasure.org", "code": "mL"},
        ),
        (
            med_request(
                "rx", {"text": "Baclofen 5 MG/5ML Oral Solution"}, quantity(40, "mg"), per_day=3
            ),
            {"value": 33, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"},
        ),
    ],
    ids=["mg-tablets-half-rounded", "ug", "tablet-count", "ml", "mg-solution"],
)
def test_capped_dose_in_the_prescribers_unit(
    checker: Checker, draft: dict[str, Any], dose: dict[str, Any]
) -> None:
    (card,) = cards_of(checker, draft, patient=ADULT, **_continuing(draft))
    assert card["source"]["topic"]["code"] == "DAILY_DOSE_ABOVE_MAXIMUM"
    resource = fix_of(card)
    assert dose_of(resource) == dose
    untouched = {k: v for k, v in draft.items() if k != "dosageInstruction"}
    assert {k: resource[k] for k in untouched} == untouched


def test_tablets_for_a_small_child_become_the_solution_and_keep_every_other_limit(
    checker: Checker,
) -> None:
    draft = med_request(
        "rx",
        TABLET_10,
        quantity(2, "tablet", "{tbl}"),
        per_day=3,
        text="2 tablets three times a day",
    )
    draft["dispenseRequest"] = {
        "quantity": {"value": 180, "unit": "tablet"},
        "expectedSupplyDuration": {"value": 30, "unit": "days"},
    }
    got = cards_of(
        checker, draft, patient=CHILD_7Y, weight=searchset(weight(14)), **_continuing(draft)
    )
    # 60 mg/day for 14 kg at 7: tablets, above 40 mg/day, above 2 mg/kg/day (28 mg/day).
    assert [c["source"]["topic"]["code"] for c in got] == [
        "TABLET_BELOW_33_KG",
        "DAILY_DOSE_ABOVE_MAXIMUM",
        "WEIGHT_BASED_DOSE_ABOVE_RANGE",
    ]
    fixes = [fix_of(c) for c in got]
    assert all(f == fixes[0] for f in fixes), "one corrected order, whichever card is used"
    fix = fixes[0]
    assert fix["medicationCodeableConcept"]["text"] == "Baclofen oral solution"
    assert dose_of(fix)["value"] == 9 and dose_of(fix)["code"] == "mg"  # 27 <= 28 mg/day
    assert fix["dosageInstruction"][0]["text"] == (
        "Baclofen 9 mg 3 times a day (27 mg/day) as oral solution"
    )
    assert fix["dispenseRequest"] == {"expectedSupplyDuration": {"value": 30, "unit": "days"}}


def test_contained_medication_is_replaced_with_the_solution(checker: Checker) -> None:
    draft = med_request("rx", TABLET_10, quantity(1, "tablet", "{tbl}"), per_day=3)
    draft.pop("medicationCodeableConcept")
    draft["contained"] = [
        {"resourceType": "Medication", "id": "m", "code": {"text": "Baclofen 10 MG Oral Tablet"}}
    ]
    draft["medicationReference"] = {"reference": "#m"}
    (card,) = cards_of(
        checker, draft, patient=CHILD_7Y, weight=searchset(weight(20)), **_continuing(draft)
    )
    fix = fix_of(card)
    assert "medicationReference" not in fix and "contained" not in fix


def test_child_start_offers_the_recommended_start_as_the_solution(checker: Checker) -> None:
    """30 mg/day of tablets started for a 20 kg child: tablets below 33 kg and 1.5 mg/kg/day.
    Both cards offer the same order: the solution at the recommended 0.3 mg/kg/day."""
    draft = med_request("rx", TABLET_10, quantity(1, "tablet", "{tbl}"), per_day=3)
    got = cards_of(
        checker, draft, patient=CHILD_7Y, weight=searchset(weight(20)), medications=searchset()
    )
    assert [c["source"]["topic"]["code"] for c in got] == [
        "TABLET_BELOW_33_KG",
        "STARTING_DOSE_ABOVE_RECOMMENDED",
    ]
    fixes = [fix_of(c) for c in got]
    assert fixes[0] == fixes[1]
    assert fixes[0]["medicationCodeableConcept"]["text"] == "Baclofen oral solution"
    assert dose_of(fixes[0])["value"] == 2 and dose_of(fixes[0])["code"] == "mg"  # 6 mg/day


def test_no_corrected_order_when_a_limit_gives_no_number(checker: Checker) -> None:
    """A child of unknown weight started above the adult start: there is a ceiling but no
    recommended dose (it depends on the weight), so no dose is offered."""
    draft = med_request("rx", SOLUTION_5_PER_5, quantity(5, "mL"), per_day=4)
    got = cards_of(checker, draft, patient=CHILD_7Y, weight=searchset(), medications=searchset())
    assert [c["source"]["topic"]["code"] for c in got] == [
        "STARTING_DOSE_ABOVE_RECOMMENDED",
        "MISSING_DATA",
    ]
    assert all("suggestions" not in c for c in got)


@pytest.mark.parametrize(("action", "deletable"), [("start", True), ("continue", False)])
def test_contraindication_offers_removal_only_for_a_new_course(
    checker: Checker, action: str, deletable: bool
) -> None:
    draft = med_request("rx", TABLET_10, quantity(5, "mg"), per_day=3)
    data = _continuing(draft) if action == "continue" else {"medications": searchset()}
    (card,) = cards_of(
        checker,
        draft,
        patient=ADULT,
        conditions=searchset(condition("G40.909", "Epilepsy")),
        **data,
    )
    if deletable:
        (suggestion,) = card["suggestions"]
        assert suggestion["actions"] == [
            {
                "type": "delete",
                "resourceId": "MedicationRequest/rx",
                "description": "Remove the draft order Baclofen 10 MG Oral Tablet.",
            }
        ]
    else:
        assert "suggestions" not in card


def test_ehr_text_cannot_inject_markdown(checker: Checker) -> None:
    draft = med_request("rx", TABLET_10, quantity(5, "mg"), per_day=3)
    evil = condition("G40.909", "Epilepsy [click](javascript:alert(1)) <img src=x>")
    (card,) = cards_of(
        checker, draft, patient=ADULT, conditions=searchset(evil), medications=searchset()
    )
    assert "[click](javascript" not in card["detail"]
    assert not re.search(r"(?<!\\)<img", card["detail"])
    assert r"\[click\]" in card["detail"] and r"\<img" in card["detail"]


def test_ehr_white_space_does_not_reach_the_summary(checker: Checker) -> None:
    """A product name written "Baclofen\n20 MG\tOral Tablet" put a raw newline and tab in
    the summary, a one-line banner; so did a schedule text quoted on the missing-data card."""
    named = med_request("rx", {"text": "Baclofen\n20 MG\tOral   Tablet"}, quantity(40, "mg"), 4)
    (card,) = cards_of(checker, named, patient=ADULT, **_continuing(named))
    assert card["summary"].startswith("Baclofen 20 MG Oral Tablet: 160 mg/day exceeds")
    timed = med_request(
        "rx", {"text": "Baclofen 20 MG\r\nOral Tablet"}, quantity(20, "mg"), timing_code="?"
    )
    (gap,) = cards_of(checker, timed, patient=ADULT, medications=searchset())
    assert gap["summary"] == (
        "Baclofen 20 MG Oral Tablet: The dosing schedule could not be read as doses per day: the "
        "daily-dose checks could not run."
    )
    for shown in (card, gap):
        assert not re.search(r"[\n\r\t]|  ", shown["summary"]), shown["summary"]


def test_ehr_invisible_characters_do_not_reach_a_card(checker: Checker) -> None:
    """A NUL, a zero-width space and a right-to-left override in a product name reached the
    summary and the detail: an EHR honouring the override shows the rest of the line,
    numbers included, reversed."""
    name = "Baclofen\x00 20\u200b MG \u202eOral Tablet\x1b"
    named = med_request("rx", {"text": name}, quantity(40, "mg"), 4)
    (card,) = cards_of(checker, named, patient=ADULT, **_continuing(named))
    assert card["summary"].startswith("Baclofen 20 MG Oral Tablet: 160 mg/day exceeds")
    for text in (card["summary"], card["detail"]):
        assert not any(ch in text for ch in "\x00\u200b\u202e\x1b"), ascii(text)
    assert "\n" in card["detail"]  # the Markdown's own lines stay


@pytest.mark.parametrize("label", ["Baclofen 10 MG Oral Tablet", "B" * 200])
def test_summary_is_under_140_and_names_the_order(label: str) -> None:
    text = cards.summary(label, "x" * 300, "DAILY_DOSE_ABOVE_MAXIMUM")
    assert len(text) < 140
    assert text.startswith(label[:10])
    assert text.endswith(cards.HEADLINES["DAILY_DOSE_ABOVE_MAXIMUM"])


def test_every_alert_code_has_a_headline() -> None:
    from rules.catalog import catalogue

    assert {e["code"] for e in catalogue()} == set(cards.HEADLINES)


def test_no_capped_dose_when_the_unit_itself_is_suspect(checker: Checker) -> None:
    draft = med_request("rx", TABLET_20, quantity(20, "g"), per_day=3)
    got = cards_of(checker, draft, patient=ADULT, **_continuing(draft))
    assert sorted(c["source"]["topic"]["code"] for c in got) == [
        "DAILY_DOSE_ABOVE_MAXIMUM",
        "DOSE_UNIT_SUSPECT",
    ]
    assert all("suggestions" not in c for c in got)


@pytest.mark.parametrize(("hook", "dose_card"), [("order-select", False), ("order-sign", True)])
def test_an_order_without_any_dose_yet_is_only_flagged_at_signing(
    cds: Any, hook: str, dose_card: bool
) -> None:
    """At order-select the clinician has just picked baclofen and written no dose: a "no dose"
    card there is noise; at order-sign the same order must say the dose was not checked."""
    from tests.cds_hooks.ehr import call
    from tests.cds_hooks.fhir import full_prefetch, hook_request

    draft = med_request("rx-1", TABLET_10)  # no dose, no timing
    body = call(cds, hook_request(hook, [draft], full_prefetch(ADULT, weights=[weight(80)]))).json()
    gap_text = " ".join(
        c.get("detail", "") for c in body["cards"] if c["source"]["topic"]["code"] == "MISSING_DATA"
    )
    assert ("No dose or frequency" in gap_text) is dose_card, body


def test_an_unreadable_dose_is_flagged_even_at_order_select(cds: Any) -> None:
    from tests.cds_hooks.ehr import call
    from tests.cds_hooks.fhir import full_prefetch, hook_request

    draft = med_request("rx-1", TABLET_10, quantity(10, "furlongs"), per_day=3)
    body = call(
        cds, hook_request("order-select", [draft], full_prefetch(ADULT, weights=[weight(80)]))
    ).json()
    assert [c["source"]["topic"]["code"] for c in body["cards"]] == ["MISSING_DATA"], body


LOCAL = {"system": "urn:oid:1.2.840.114350.1.13.0.1.7.2.696871", "code": "EPI-7"}


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        # A local coding beside a standard one adds nothing to report.
        ({"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "I10"}, LOCAL]}, []),
        # Nothing but a local code and no text: the problem list entry could not be screened.
        ({"coding": [LOCAL]}, ["MISSING_DATA"]),
        # The text alone is enough to screen it.
        ({"coding": [LOCAL], "text": "Epilepsy"}, ["SEIZURE_DISORDER_CONTRAINDICATION"]),
    ],
    ids=["local-beside-icd10", "local-only", "local-with-text"],
)
def test_a_condition_coded_only_locally_is_reported_unscreened(
    cds: Any, code: dict[str, Any], expected: list[str]
) -> None:
    from tests.cds_hooks.ehr import call, topic_codes
    from tests.cds_hooks.fhir import full_prefetch, hook_request

    cond = {**condition("I10", "Hypertension"), "code": code}
    active = med_request(
        "rx-0",
        TABLET_10,
        quantity(10, "mg"),
        per_day=3,
        status="active",
        authored="2026-10-01T10:00:00+01:00",
    )
    draft = med_request("rx-1", TABLET_10, quantity(10, "mg"), per_day=3, prior="rx-0")
    body = call(
        cds,
        hook_request(
            "order-sign",
            [draft],
            full_prefetch(ADULT, conditions=[cond], medications=[active], weights=[weight(80)]),
        ),
    ).json()
    assert topic_codes(body) == expected, body


CHILD_10Y = patient(birth="2016-05-01")


def test_the_text_and_the_corrected_order_give_the_same_regimen(checker: Checker) -> None:
    """A child of 10 on 80 mg of oral solution once a day: above 60 mg/day, and not divided.
    The alert's text and the one-click fix used to disagree ("e.g. 15 mg 4 times a day" in the
    text, "60 mg once a day" offered); both now give the one regimen the rules suggest."""
    draft = med_request(
        "rx", SOLUTION_5_PER_5, quantity(80, "mg"), per_day=1, text="80 mg once a day"
    )
    got = cards_of(
        checker, draft, patient=CHILD_10Y, weight=searchset(weight(45)), **_continuing(draft)
    )
    assert [c["source"]["topic"]["code"] for c in got] == [
        "DAILY_DOSE_ABOVE_MAXIMUM",
        "DOSING_FREQUENCY_OUTSIDE_RANGE",
    ]
    maximum, frequency = got
    assert "e.g. 15 mg 4 times a day (60 mg/day)" in maximum["detail"]
    fix = fix_of(maximum)
    assert dose_of(fix) == {
        "value": 15,
        "unit": "mg",
        "system": "http://unitsofmeasure.org",
        "code": "mg",
    }
    assert fix["dosageInstruction"][0]["timing"] == {
        "repeat": {"frequency": 4, "period": 1, "periodUnit": "d"}
    }
    assert fix["dosageInstruction"][0]["text"] == "Baclofen 15 mg 4 times a day (60 mg/day)"
    assert "suggestions" not in frequency  # the regimen answers the dose limit it applies


@pytest.mark.parametrize(
    "name", ["adult-daily-dose-above-maximum", "child-under-8-above-maximum-and-range"]
)
def test_every_dose_card_quotes_the_regimen_its_fix_gives(name: str) -> None:
    """Whatever the card offers in one click, its text says: the per-dose mg and the doses a
    day of the suggestion label are the example regimen of the alert's suggestion."""
    import json
    from pathlib import Path

    golden = Path(__file__).resolve().parents[1] / "golden" / f"{name}.cards.json"
    compared = 0
    for card in json.loads(golden.read_text(encoding="utf-8")):
        for suggestion in card.get("suggestions", []):
            if suggestion["actions"][0]["type"] != "update":
                continue
            found = re.search(
                r"(\d+(?:\.\d+)?) mg(?: \([^)]*\))? (\d+) times a day", suggestion["label"]
            )
            assert found, suggestion["label"]
            said = re.search(r"e\.g\. (\d+(?:\.\d+)?) mg (\d+) times a day", card["detail"])
            if said:
                assert said.groups() == found.groups(), (card["detail"], suggestion["label"])
                compared += 1
    assert compared


# ---- sources a person can read and follow ----------------------------------------------------


def test_a_card_names_its_source_and_links_the_rule_on_the_configured_address(
    make_client: Any,
) -> None:
    """source.label is the document's name (rules/sources.py); source.url the page of the rule
    (or of MISSING_DATA) in the published catalogue, on CDS_PUBLIC_BASE_URL whatever Host the
    request names; no reviewer's note on the card."""
    from rules.catalog import catalogue
    from rules.sources import LABELS
    from tests.cds_hooks.ehr import call
    from tests.cds_hooks.golden_cases import CASES

    rules_of = {e["code"]: {r["id"] for r in e["rules"]} for e in catalogue()}
    client = make_client(public_base_url="https://cds.example.org/")
    seen = set()
    for build, _ in CASES.values():
        response = client.post(
            f"/cds-services/baclofen-{build()['hook']}",
            json=build(),
            headers={"Host": "attacker.example"},
        )
        for card in response.json()["cards"]:
            code, source = card["source"]["topic"]["code"], card["source"]
            assert "Reviewer's note" not in card["detail"]
            if code == "MISSING_DATA":
                assert source == {**source, "label": "Data available to the check"}
                assert source["url"] == "https://cds.example.org/console/codes/MISSING_DATA"
                continue
            assert source["label"] in LABELS.values()
            prefix = "https://cds.example.org/console/rules/"
            assert source["url"].startswith(prefix)
            assert source["url"].removeprefix(prefix) in rules_of[code]
            seen.add(code)
    assert len(seen) > 10
    unconfigured = call(make_client(), CASES["adult-epilepsy"][0]()).json()
    assert all("url" not in c["source"] for c in unconfigured["cards"])


def test_how_the_dose_was_read_is_said_on_the_alert_cards_not_as_missing_data(cds: Any) -> None:
    """A dose range read at its top: the alert card says so; within the limits, no card."""
    from tests.cds_hooks.ehr import call
    from tests.cds_hooks.ehr_shapes import continuing, mg, order, repeat, typed

    def ranged(high: float) -> dict[str, Any]:
        entry = typed("calculated", dose_range={"low": mg(10), "high": mg(high)})
        return continuing(order("rx-1", TABLET_10, [entry], repeat(4)))

    (card,) = call(cds, ranged(30)).json()["cards"]
    assert card["source"]["topic"]["code"] == "DAILY_DOSE_ABOVE_MAXIMUM"
    assert (
        "**How the order was read:** The dose is a range; its upper value was checked."
        in (card["detail"])
    )
    assert "suggestions" not in card  # a range is not one dose to rewrite
    assert call(cds, ranged(25)).json()["cards"] == []


@pytest.mark.parametrize(
    ("when", "said"),
    [
        ("2019-06-01T09:00:00+01:00", "Weight 20 kg, recorded 2019-06-01 (the latest)."),
        ("2026-11-20", "Weight 20 kg, recorded 2026-11-20 (the latest)."),
        (None, "Weight 20 kg, the latest, recorded with no date."),
    ],
    ids=["years-old", "a-date", "no-date"],
)
def test_cards_that_check_the_weight_say_which_and_when(
    cds: Any, when: str | None, said: str
) -> None:
    """How old the weight is, is the prescriber's judgement: the cards that check it give its
    date; the others do not mention it."""
    from tests.cds_hooks.ehr import call
    from tests.cds_hooks.golden_cases import child_tablet_below_33_kg

    request = child_tablet_below_33_kg()
    (entry,) = request["prefetch"]["weight"]["entry"]
    entry["resource"].pop("effectiveDateTime")
    if when is not None:
        entry["resource"]["effectiveDateTime"] = when
    request["prefetch"]["conditions"] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": condition("G40.909", "Epilepsy", pid="pat-2")}],
    }
    cards_by_code = {c["source"]["topic"]["code"]: c for c in call(cds, request).json()["cards"]}
    assert f"**From the record:** {said}" in cards_by_code["TABLET_BELOW_33_KG"]["detail"]
    assert "From the record" not in cards_by_code["SEIZURE_DISORDER_CONTRAINDICATION"]["detail"]
