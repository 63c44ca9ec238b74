"""Inputs that once ended in a silent pass on CDS Hooks (issue 12), one table per path,
boundaries in pairs: duplicate JSON keys, stop orders written with a zero dose or rate, and
long medication and problem lists."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.cds_hooks.fhir import patient
from tests.cds_hooks.fhir import (
    INTRATHECAL,
    TABLET_20,
    crcl,
    full_prefetch,
    hook_request,
    med_request,
    quantity,
    weight,
)
from tests.cds_hooks.golden_cases import (
    ACTIVE_SINCE,
    ADULT,
    adult_epilepsy,
    child_tablet_below_33_kg,
)

SIGN = "/cds-services/baclofen-order-sign"
FEEDBACK = "/cds-services/baclofen-order-sign/feedback"
JSON = {"content-type": "application/json"}


def codes(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return sorted(c["source"]["topic"]["code"] for c in response.json()["cards"])


# ---- duplicate keys: 400 naming the key path, never "last wins" ------------------------------


def dumps_repeating(
    value: Any, path: tuple[Any, ...], first: Any, here: tuple[Any, ...] = ()
) -> str:
    """JSON text of `value` in which the key at `path` is written twice: first with `first`,
    then with its own value (the one a "last wins" parser would keep)."""
    if isinstance(value, dict):
        items = []
        for key, item in value.items():
            if (*here, key) == path:
                items.append(f"{json.dumps(key)}: {json.dumps(first)}")
            items.append(f"{json.dumps(key)}: {dumps_repeating(item, path, first, (*here, key))}")
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list):
        return (
            "["
            + ", ".join(dumps_repeating(v, path, first, (*here, n)) for n, v in enumerate(value))
            + "]"
        )
    return json.dumps(value)


DRAFT = ("context", "draftOrders", "entry", 0, "resource")
DOSE = (*DRAFT, "dosageInstruction", 0, "doseAndRate", 0, "doseQuantity")
# The child of 20 kg on Lioresal 10 mg tablets (golden: TABLET_BELOW_33_KG).
CHILD = child_tablet_below_33_kg()
WEIGHT = ("prefetch", "weight", "entry", 0, "resource", "valueQuantity", "value")

DUPLICATES = [
    (
        "dose-value",
        (*DOSE, "value"),
        0.1,
        "context.draftOrders.entry[0].resource.dosageInstruction[0].doseAndRate[0]"
        ".doseQuantity.value",
    ),
    ("weight-value", WEIGHT, 40, "prefetch.weight.entry[0].resource.valueQuantity.value"),
    (
        "medication-code",
        (*DRAFT, "medicationCodeableConcept", "coding", 0, "code"),
        "1292",
        "context.draftOrders.entry[0].resource.medicationCodeableConcept.coding[0].code",
    ),
    ("draft-status", (*DRAFT, "status"), "stopped", "context.draftOrders.entry[0].resource.status"),
    ("hook", ("hook",), "order-sign", "hook"),
]


@pytest.mark.parametrize(
    ("path", "first", "expression"), [d[1:] for d in DUPLICATES], ids=[d[0] for d in DUPLICATES]
)
def test_a_repeated_key_is_a_400_naming_its_path(
    cds: TestClient, path: tuple[Any, ...], first: Any, expression: str
) -> None:
    response = cds.post(SIGN, content=dumps_repeating(CHILD, path, first), headers=JSON)
    assert response.status_code == 400, response.text
    (issue,) = response.json()["issue"]
    assert issue["code"] == "structure" and issue["expression"] == [expression]
    assert f"{expression} appears 2 times" in issue["diagnostics"]


def test_the_same_request_without_the_repeat_is_answered(cds: TestClient) -> None:
    """The pair of the rows above: the body written once each is the golden case."""
    assert codes(cds.post(SIGN, content=json.dumps(CHILD), headers=JSON)) == ["TABLET_BELOW_33_KG"]


def test_the_same_key_in_two_objects_is_no_repeat(cds: TestClient) -> None:
    """`value` in the dose and in the weight, `code` in every coding: no object repeats one."""
    text = json.dumps(CHILD)
    assert text.count('"value"') > 2 and text.count('"code"') > 2
    assert codes(cds.post(SIGN, content=text, headers=JSON)) == ["TABLET_BELOW_33_KG"]


def test_every_repeated_key_is_named(cds: TestClient) -> None:
    text = dumps_repeating(adult_epilepsy(), ("hookInstance",), "x")
    text = text.replace('"patientId": ', '"patientId": "pat-2", "patientId": ', 1)
    (issue,) = cds.post(SIGN, content=text, headers=JSON).json()["issue"]
    assert issue["expression"] == ["hookInstance", "context.patientId"]


@pytest.mark.parametrize(
    ("text", "status"),
    [
        (
            '{"feedback": [{"card": "4e0a3a1e-3283-4575-ab82-028d55fe2719", "outcome": "accepted", '
            '"outcome": "overridden", "outcomeTimestamp": "2021-12-11T10:05:31Z"}]}',
            400,
        ),
        (
            '{"feedback": [{"card": "4e0a3a1e-3283-4575-ab82-028d55fe2719", '
            '"outcome": "overridden", "outcomeTimestamp": "2021-12-11T10:05:31Z"}]}',
            200,
        ),
    ],
    ids=["outcome-twice", "outcome-once"],
)
def test_feedback_with_a_repeated_key_is_refused(cds: TestClient, text: str, status: int) -> None:
    response = cds.post(FEEDBACK, content=text, headers=JSON)
    assert response.status_code == status, response.text
    if status == 400:
        assert response.json()["issue"][0]["expression"] == ["feedback[0].outcome"]


# ---- stop orders written with a zero dose or rate: the taper check, and no "dose unreadable" --
# A stopped MedicationRequest is how FHIR writes an EHR's discontinue order (v2 order status
# DC). Its dose or rate of 0 says "no more": nothing to read, so no note that it could not be.
ORAL_ACTIVE = med_request(
    "rx-old", TABLET_20, quantity(20, "mg"), per_day=3, status="active", authored=ACTIVE_SINCE
)
ITB_ACTIVE = med_request(
    "rx-old",
    INTRATHECAL,
    quantity(400, "ug"),
    per_day=1,
    route="intrathecal",
    status="active",
    authored=ACTIVE_SINCE,
)


def _oral(dose: float, status: str = "stopped") -> dict[str, Any]:
    return med_request(
        "rx-1", TABLET_20, quantity(dose, "mg"), per_day=3, status=status, prior="rx-old"
    )


def _itb(
    status: str = "stopped", dose: dict[str, Any] | None = None, rate: dict[str, Any] | None = None
) -> dict[str, Any]:
    return med_request(
        "rx-1",
        INTRATHECAL,
        dose,
        per_day=1 if dose else None,
        route="intrathecal",
        status=status,
        rate=rate,
    )


def _ratio(numerator: float) -> dict[str, Any]:
    draft = _itb()
    draft["dosageInstruction"][0]["doseAndRate"] = [
        {
            "rateRatio": {
                "numerator": {"value": numerator, "unit": "ug", "code": "ug"},
                "denominator": {"value": 1, "unit": "h", "code": "h"},
            }
        }
    ]
    return draft


STOPS = [
    ("oral-stopped-dose-0", _oral(0), ORAL_ACTIVE, ["ABRUPT_DISCONTINUATION"]),
    ("oral-stopped-dose-5-mg", _oral(5), ORAL_ACTIVE, ["ABRUPT_DISCONTINUATION"]),
    ("oral-stopped-dose-0-no-active-order", _oral(0), None, ["ABRUPT_DISCONTINUATION"]),
    ("oral-draft-dose-0-is-no-stop", _oral(0, "draft"), ORAL_ACTIVE, ["MISSING_DATA"]),
    (
        "oral-stopped-dose-minus-5",
        _oral(-5),
        ORAL_ACTIVE,
        ["ABRUPT_DISCONTINUATION", "MISSING_DATA"],
    ),
    (
        "itb-stopped-dose-0-ug",
        _itb(dose=quantity(0, "ug")),
        ITB_ACTIVE,
        ["INTRATHECAL_ABRUPT_DISCONTINUATION"],
    ),
    (
        "itb-stopped-dose-400-ug",
        _itb(dose=quantity(400, "ug")),
        ITB_ACTIVE,
        ["INTRATHECAL_ABRUPT_DISCONTINUATION"],
    ),
    (
        "itb-stopped-rate-0-ug-per-h",
        _itb(rate=quantity(0, "ug/h")),
        ITB_ACTIVE,
        ["INTRATHECAL_ABRUPT_DISCONTINUATION"],
    ),
    (
        "itb-stopped-rate-0-ml-per-h",
        _itb(rate=quantity(0, "mL/h")),
        ITB_ACTIVE,
        ["INTRATHECAL_ABRUPT_DISCONTINUATION"],
    ),
    ("itb-stopped-rate-ratio-0", _ratio(0), ITB_ACTIVE, ["INTRATHECAL_ABRUPT_DISCONTINUATION"]),
    ("itb-stopped-rate-ratio-16", _ratio(16), ITB_ACTIVE, ["INTRATHECAL_ABRUPT_DISCONTINUATION"]),
    (
        "itb-draft-rate-0-is-no-stop",
        _itb("draft", rate=quantity(0, "ug/h")),
        ITB_ACTIVE,
        ["MISSING_DATA"],
    ),
]


@pytest.mark.parametrize(
    ("draft", "active", "expected"), [s[1:] for s in STOPS], ids=[s[0] for s in STOPS]
)
def test_a_stop_with_a_zero_dose_or_rate_gets_the_taper_check(
    cds: TestClient, draft: dict[str, Any], active: dict[str, Any] | None, expected: list[str]
) -> None:
    request = hook_request(
        "order-sign",
        [draft],
        full_prefetch(
            ADULT, medications=[active] if active else [], weights=[weight(80)], crcls=[crcl(95)]
        ),
    )
    response = cds.post(SIGN, json=request)
    assert codes(response) == expected
    for card in response.json()["cards"]:
        if card["source"]["topic"]["code"] == "INTRATHECAL_ABRUPT_DISCONTINUATION":
            assert card["indicator"] == "critical"
        if card["source"]["topic"]["code"] == "MISSING_DATA" and "stopped" in draft["status"]:
            assert "0 is not a positive number" not in card["detail"]


# ---- long lists: every entry scanned; a cut keeps what the rules read, and says so ----------
# A check takes 1,000 entries per list (rules.case.MAX_LIST). The active medication list and
# the problem list used to be cut at 1,000 before the rules saw them: an opioid at 1,001 raised
# nothing. Now a longer list keeps every entry the rules read (a finding, or not readable);
# only when those alone exceed the cap are some not screened, and a card says how many. The
# rows at the real cap keep few entries; the rows about what a cut keeps use a cap of 10, so
# that no row sends 1,000 findings to the engine (~200 ms of its 250 ms budget).


def _med(i: int, text: str | None = None, code: str | None = None) -> dict[str, Any]:
    concept: dict[str, Any] = {"text": text} if text else {}
    if code:
        concept["coding"] = [{"system": "urn:oid:1.2.3.4.5", "code": code}]
    return {
        "resourceType": "MedicationRequest",
        "id": f"m{i}",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": concept,
        "subject": {"reference": "Patient/pat-1"},
    }


def _cond(i: int, text: str, icd: str | None = None, note: str = "") -> dict[str, Any]:
    """A Condition; with `note` its text differs from the coding's display, so that it
    gives two entries (the coding, and the text)."""
    code: dict[str, Any] = {"text": text + note}
    if icd:
        code["coding"] = [
            {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": icd, "display": text}
        ]
    return {
        "resourceType": "Condition",
        "id": f"c{i}",
        "code": code,
        "subject": {"reference": "Patient/pat-1"},
    }


def _others(n: int) -> list[dict[str, Any]]:
    return [_med(i, f"Paracetamol {i} mg tablet") for i in range(n)]


def _opioids(n: int) -> list[dict[str, Any]]:
    return [_med(1000 + i, f"Oxycodone {i} mg tablet") for i in range(n)]


def _fractures(n: int) -> list[dict[str, Any]]:
    return [_cond(i, f"Healed fracture {i}") for i in range(n)]


OXYCODONE = _med(9999, "Oxycodone 5 MG Oral Tablet")
EPILEPSY = _cond(9999, "Epilepsy", "G40.909")
LIST_DRAFT = med_request("rx-1", TABLET_20, quantity(20, "mg"), per_day=3, prior="rx-old")
LIST_ACTIVE = med_request(
    "rx-old", TABLET_20, quantity(20, "mg"), per_day=3, status="active", authored=ACTIVE_SINCE
)


def _lists(
    cds: TestClient,
    medications: list[dict[str, Any]],
    conditions: list[dict[str, Any]] | None = None,
    drafts: list[dict[str, Any]] | None = None,
) -> Any:
    request = hook_request(
        "order-sign",
        [LIST_DRAFT, *(drafts or [])],
        full_prefetch(
            ADULT,
            conditions=conditions,
            medications=[LIST_ACTIVE, *medications],
            weights=[weight(80)],
            crcls=[crcl(95)],
        ),
    )
    return cds.post(SIGN, json=request)


def _not_screened(response: Any) -> int:
    """How many entries the card says were not screened (0: no such card)."""
    details = " ".join(c.get("detail", "") for c in response.json()["cards"])
    found = re.search(r"so ([\d,]+) were not screened", details)
    return int(found[1].replace(",", "")) if found else 0


# (id, active medications besides baclofen, problem list, card codes)
AT_THE_CAP = [
    ("opioid-at-1001-screened", [*_others(1000), OXYCODONE], [], ["CNS_DEPRESSANT_COMEDICATION"]),
    ("opioid-at-2000-screened", [*_others(1999), OXYCODONE], [], ["CNS_DEPRESSANT_COMEDICATION"]),
    ("1001-medications-nothing-to-say", _others(1001), [], []),
    (
        "1001-identical-opioids-are-one",
        [_med(i, "Oxycodone 5 MG Oral Tablet") for i in range(1001)],
        [],
        ["CNS_DEPRESSANT_COMEDICATION"],
    ),
    (
        "unreadable-medication-at-1001-reported",
        [*_others(1000), _med(5000, code="X-1")],
        [],
        ["MISSING_DATA"],
    ),
    (
        "epilepsy-at-1001-screened",
        [],
        [*_fractures(1000), EPILEPSY],
        ["SEIZURE_DISORDER_CONTRAINDICATION"],
    ),
    # Coded and named differently: two entries per condition, 1,002 from 501 conditions.
    (
        "epilepsy-in-the-501st-condition-screened",
        [],
        [
            *[_cond(i, f"Healed fracture {i}", "T14.8", " (2019)") for i in range(500)],
            _cond(9999, "Epilepsy", "G40.909", " (since childhood)"),
        ],
        ["SEIZURE_DISORDER_CONTRAINDICATION"],
    ),
    ("1001-conditions-nothing-to-say", [], _fractures(1001), []),
]


@pytest.mark.parametrize(
    ("medications", "conditions", "expected"),
    [r[1:] for r in AT_THE_CAP],
    ids=[r[0] for r in AT_THE_CAP],
)
def test_a_list_over_1000_is_screened_whole(
    cds: TestClient,
    medications: list[dict[str, Any]],
    conditions: list[dict[str, Any]],
    expected: list[str],
) -> None:
    response = _lists(cds, medications, conditions)
    assert codes(response) == expected
    assert _not_screened(response) == 0


def test_another_draft_order_counts_beyond_1000(cds: TestClient) -> None:
    """The co-medications are the active list plus the other draft orders: an opioid ordered
    beside baclofen counts when the list is already long."""
    opioid_draft = med_request(
        "rx-2", {"text": "Oxycodone 5 MG Oral Tablet"}, quantity(5, "mg"), per_day=4
    )
    assert codes(_lists(cds, _others(1000), drafts=[opioid_draft])) == [
        "CNS_DEPRESSANT_COMEDICATION"
    ]


# (id, active medications besides baclofen, problem list, card codes, entries not screened),
# with a cap of 10 entries per list.
SMALL_CAP = 10
UNDER_A_SMALL_CAP = [
    ("opioid-10th-fits", [*_others(8), OXYCODONE], [], ["CNS_DEPRESSANT_COMEDICATION"], 0),
    ("opioid-11th-screened", [*_others(10), OXYCODONE], [], ["CNS_DEPRESSANT_COMEDICATION"], 0),
    (
        "9-opioids-and-others-all-screened",
        [*_others(5), *_opioids(9), *_others(5)],
        [],
        ["CNS_DEPRESSANT_COMEDICATION"],
        0,
    ),
    ("10-opioids-fit", _opioids(10), [], ["CNS_DEPRESSANT_COMEDICATION"], 0),
    (
        "11-opioids-1-not-screened",
        _opioids(11),
        [],
        ["CNS_DEPRESSANT_COMEDICATION", "MISSING_DATA"],
        1,
    ),
    (
        "opioid-after-11-unreadable-kept-first",
        [*[_med(i, code=f"X-{i}") for i in range(11)], OXYCODONE],
        [],
        ["CNS_DEPRESSANT_COMEDICATION", "MISSING_DATA"],
        2,
    ),
    (
        "10-seizure-entries-fit",
        [],
        [_cond(i, f"Epilepsy type {i}") for i in range(10)],
        ["SEIZURE_DISORDER_CONTRAINDICATION"],
        0,
    ),
    (
        "11-seizure-entries-1-not-screened",
        [],
        [_cond(i, f"Epilepsy type {i}") for i in range(11)],
        ["MISSING_DATA", "SEIZURE_DISORDER_CONTRAINDICATION"],
        1,
    ),
]


@pytest.mark.parametrize(
    ("medications", "conditions", "expected", "not_screened"),
    [r[1:] for r in UNDER_A_SMALL_CAP],
    ids=[r[0] for r in UNDER_A_SMALL_CAP],
)
def test_a_cut_keeps_what_the_rules_read_and_says_what_it_drops(
    cds: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    medications: list[dict[str, Any]],
    conditions: list[dict[str, Any]],
    expected: list[str],
    not_screened: int,
) -> None:
    monkeypatch.setattr(patient, "MAX_LIST", SMALL_CAP)
    response = _lists(cds, medications, conditions)
    assert codes(response) == expected
    assert _not_screened(response) == not_screened


def test_the_cut_says_how_many_were_not_screened(
    cds: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(patient, "MAX_LIST", SMALL_CAP)
    (gap,) = [
        c
        for c in _lists(cds, [*_opioids(13), *_others(7)]).json()["cards"]
        if c["source"]["topic"]["code"] == "MISSING_DATA"
    ]
    # 20: the baclofen order on the list is the regimen being changed, not a co-medication.
    assert (
        "The active medication list has 20 entries, 13 of them for the CNS-depressant "
        "checks (or not readable); a check takes 10, so 3 were not screened."
    ) in (gap["detail"])
