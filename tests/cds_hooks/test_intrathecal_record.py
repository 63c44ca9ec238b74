"""Intrathecal timelines over CDS Hooks, with the record in the prefetch as an EHR sends it:
the dose history as MedicationRequests (rates in ug/day and mL/day at the product's
concentration) and pump programming as MedicationAdministrations, the implanted pump as a
Device, Modified Ashworth scores per muscle group, symptoms and problem-list entries. Each
step of a timeline is the order of that moment with the record as it stood."""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.cds_hooks.conftest import AppFactory
from tests.cds_hooks.ehr import call, topic_codes
from tests.cds_hooks.fhir import FHIR_SERVER, UCUM, condition, full_prefetch, hook_request, patient
from tests.cds_hooks.intrathecal_fhir import (
    PID,
    bolus_given,
    itb_request,
    pump_device,
    pump_programmed,
    score,
    symptom,
)
from tests.cds_hooks.test_prefetch import AUTH, StubFhir

SPINAL = "Spasticity of spinal origin (spinal cord injury)"
SYNCHROMED = {
    "resourceType": "Device",
    "id": "pump-synchromed",
    "status": "active",
    "type": {"text": "Implantable drug infusion pump"},
    "deviceName": [{"name": "SynchroMed II", "type": "manufacturer-name"}],
    "manufacturer": "Medtronic",
    "modelNumber": "8637-20",
    "patient": {"reference": f"Patient/{PID}"},
}


def _rate(ug_day: float) -> dict[str, Any]:
    return {"value": ug_day, "unit": "mcg/day", "system": UCUM, "code": "ug/d"}


def _ml_day(ml: float) -> dict[str, Any]:
    return {"value": ml, "unit": "mL/day", "system": UCUM, "code": "mL/d"}


def _order(
    rid: str, rate: dict[str, Any], when: str, prior: str | None, **kw: Any
) -> dict[str, Any]:
    """An order of a daily rate, as the pump clinic writes it."""
    res = itb_request(rid, None, when, kw.pop("status", "draft"), prior=prior, **kw)
    res["dosageInstruction"][0]["doseAndRate"] = [{"rateQuantity": rate}]
    return res


def _plain(body: dict[str, Any]) -> list[str]:
    return [re.sub(r"\\(.)", r"\1", c["detail"]) for c in body["cards"]]


def _sign(cds: TestClient, draft: dict[str, Any], **prefetch: Any) -> dict[str, Any]:
    request = hook_request(
        "order-sign", [draft], full_prefetch(patient(PID, "1979-04-02"), **prefetch), pid=PID
    )
    response = call(cds, request)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# --- a kinked catheter: increases without effect, then a doubling -----------------------------
# The standing order of 200 ug/day since September, then three increases programmed at the
# pump (MedicationAdministrations, mL/day of 2 mg/mL), the Modified Ashworth grade of the hip
# adductors and hamstrings unchanged after each.
STABLE = _order("itb-sep", _rate(200), "2026-09-01T09:00:00Z", None, status="active")
KINK = [("2026-11-10T09:00:00Z", 230), ("2026-11-12T09:00:00Z", 265), ("2026-11-14T09:00:00Z", 305)]


def _kink_record(steps: int) -> dict[str, Any]:
    programming = [
        pump_programmed(f"prog-{n}", _ml_day(ug / 2000), when)
        for n, (when, ug) in enumerate(KINK[:steps])
    ]
    # The September dose helped (grade 4 before it, 2 at the October clinic), ...
    scores = [
        score(f"mas-sep-{site[:3]}-{n}", when, grade, site=site)
        for site in ("hip adductors", "hamstrings")
        for n, (when, grade) in enumerate(
            (("2026-08-25T10:00:00Z", 4), ("2026-10-15T10:00:00Z", 2))
        )
    ]
    # ... the grade before each increase was 3 again, and stayed 3 after it.
    for n, (when, _) in enumerate(KINK[:steps]):
        day = when[:10]
        for site in ("hip adductors", "hamstrings"):
            scores.append(score(f"mas-{n}-{site[:3]}-before", f"{day}T08:30:00Z", 3, site=site))
            scores.append(score(f"mas-{n}-{site[:3]}-after", f"{day}T20:00:00Z", 3, site=site))
    return {
        "medications": [STABLE],
        "history": [STABLE],
        "programming": programming,
        "devices": [SYNCHROMED],
        "scores": scores,
    }


def test_a_kinked_catheter_is_seen_over_the_record(cds: TestClient) -> None:
    steps = [
        ("2026-11-10T09:00:00Z", 230, []),
        ("2026-11-12T09:00:00Z", 265, []),
        ("2026-11-14T09:00:00Z", 305, ["PUMP_MALFUNCTION_SUSPECTED"]),
        ("2026-11-16T09:00:00Z", 610, ["PUMP_MALFUNCTION_SUSPECTED"]),
    ]
    bodies = []
    for n, (when, ug, expected) in enumerate(steps):
        body = _sign(cds, _order(f"rx-{n}", _rate(ug), when, None), **_kink_record(n))
        assert topic_codes(body) == expected, (when, _plain(body))
        bodies.append(body)
    (rise,) = _plain(bodies[2])
    assert (
        "305 ug/day is +52.5 % over the 200 ug/day in effect within the last 7 days, and the 2 "
        "regimens raised to since showed no clinical effect (threshold +40 %), no improvement "
        "in the Modified Ashworth Scale" in rise
    )
    (kink,) = _plain(bodies[3])
    # The card names the history it read.
    assert (
        "the third increase in a row without clinical effect (230 -> 265 -> 305 -> 610 ug/day; "
        "no effect at 230, 265, 305 ug/day): 230 -> 265 -> 305 ug/day over 6 days, no "
        "improvement in the Modified Ashworth Scale" in kink
    )
    assert "610 ug/day is 3.05 times the 200 ug/day in effect within the last 7 days" in kink
    assert bodies[3]["cards"][0]["indicator"] == "critical"


def test_without_scores_the_effect_is_unknown_and_the_card_names_the_data(cds: TestClient) -> None:
    record = _kink_record(3)
    record["scores"] = []
    body = _sign(cds, _order("rx", _rate(350), "2026-11-16T09:00:00Z", None), **record)
    assert topic_codes(body) == ["MISSING_DATA"]
    (gap,) = _plain(body)
    assert "no spasticity score (Modified Ashworth, Ashworth or Penn Spasm Frequency Scale)" in gap


# --- a normal two-week titration with partial effect: no card at any step ---------------------
TESTS = [
    bolus_given("test-25", 25, "2026-11-01T10:00:00Z"),
    bolus_given("test-50", 50, "2026-11-02T10:00:00Z"),
]
TITRATION = [
    ("2026-11-03T09:00:00Z", 100),
    ("2026-11-04T10:00:00Z", 120),
    ("2026-11-06T10:00:00Z", 140),
    ("2026-11-08T10:00:00Z", 165),
    ("2026-11-10T10:00:00Z", 190),
    ("2026-11-13T10:00:00Z", 220),
    ("2026-11-16T10:00:00Z", 250),
]


def test_a_normal_two_week_titration_with_partial_effect_gets_no_card(cds: TestClient) -> None:
    """Each increase within the spinal 30 % and 24 h after the last; Modified Ashworth 3 at
    each change and 2 on the regimen after it (a partial effect): titration, not escalation."""
    for n in range(1, len(TITRATION) + 1):
        when, ug = TITRATION[n] if n < len(TITRATION) else ("2026-11-17T10:00:00Z", 250)
        history = [
            _order(
                f"itb-{k}",
                _rate(dose),
                start,
                f"itb-{k - 1}" if k else None,
                status="active" if k == n - 1 else "completed",
                reason=SPINAL,
            )
            for k, (start, dose) in enumerate(TITRATION[:n])
        ]
        scores = [
            s
            for k, (start, _) in enumerate(TITRATION[:n])
            for s in (
                score(f"mas-{k}-before", start, 3),
                score(f"mas-{k}-after", f"{start[:10]}T20:00:00Z", 2),
            )
        ]
        draft = _order("rx", _rate(ug), when, f"itb-{n - 1}", reason=SPINAL)
        body = _sign(
            cds,
            draft,
            medications=[history[-1]],
            history=history,
            programming=TESTS,
            devices=[SYNCHROMED],
            scores=scores,
        )
        assert body == {"cards": []}, (when, _plain(body))


# --- a refill at the same dose: no card -------------------------------------------------------
def test_a_refill_at_the_same_dose_gets_no_card(cds: TestClient) -> None:
    current = _order("itb-oct", _rate(300), "2026-10-20T09:00:00Z", "itb-sep", status="active")
    earlier = _order("itb-sep", _rate(300), "2026-09-01T09:00:00Z", None, status="completed")
    refill = pump_programmed("refill-nov", _ml_day(0.15), "2026-11-10T09:00:00Z")
    draft = _order("rx", _rate(300), "2026-11-20T09:00:00Z", "itb-oct")
    body = _sign(
        cds,
        draft,
        medications=[current],
        history=[earlier, current],
        programming=[refill],
        devices=[SYNCHROMED],
    )
    assert body == {"cards": []}


# --- a stop of a running infusion: critical ---------------------------------------------------
def test_stopping_a_running_infusion_is_critical_and_nothing_else_is_asked(cds: TestClient) -> None:
    current = _order("itb-oct", _rate(300), "2026-10-20T09:00:00Z", None, status="active")
    draft = _order("rx", _rate(300), "2026-11-20T09:00:00Z", "itb-oct", status="stopped")
    body = _sign(cds, draft, medications=[current], history=[current])
    assert topic_codes(body) == ["INTRATHECAL_ABRUPT_DISCONTINUATION"]
    assert body["cards"][0]["indicator"] == "critical"
    # Without the intrathecal record: a stop is checked for its taper only, so only the
    # problem list and renal function (the general checks) are named as missing.
    prefetch = {
        "patient": patient(PID, "1979-04-02"),
        "medications": full_prefetch(patient(PID), medications=[current])["medications"],
    }
    body = call(cds, hook_request("order-sign", [draft], prefetch, pid=PID)).json()
    assert topic_codes(body) == ["INTRATHECAL_ABRUPT_DISCONTINUATION", "MISSING_DATA"]
    assert not any("intrathecal" in d or "pump" in d for d in _plain(body)[1:])


# --- withdrawal signs, the pump's type --------------------------------------------------------
def _maintenance(**prefetch: Any) -> dict[str, Any]:
    current = _order("itb-sep", _rate(300), "2026-09-01T09:00:00Z", None, status="active")
    draft = _order("rx", _rate(300), "2026-11-20T09:00:00Z", "itb-sep")
    return {"draft": draft, "medications": [current], "history": [current], **prefetch}


def _run(cds: TestClient, record: dict[str, Any]) -> dict[str, Any]:
    return _sign(cds, record.pop("draft"), **record)


def test_withdrawal_signs_recorded_in_the_last_72_hours(cds: TestClient) -> None:
    fever = symptom("sx-1", "fever", "2026-11-19T21:00:00Z")
    body = _run(cds, _maintenance(signs=[fever]))
    assert topic_codes(body) == ["PUMP_MALFUNCTION_SUSPECTED"]
    assert "withdrawal sign: fever (recorded 12 h before the order)" in _plain(body)[0]
    old = symptom("sx-2", "fever", "2026-11-16T21:00:00Z")
    assert _run(cds, _maintenance(signs=[old])) == {"cards": []}
    # A problem-list entry counts by its onset; a refuted one does not.
    itch = condition("L29.9", "Pruritus, unspecified", "418290006", pid=PID, cid="c-itch")
    itch["onsetDateTime"] = "2026-11-19T08:00:00Z"
    assert topic_codes(_run(cds, _maintenance(conditions=[itch]))) == ["PUMP_MALFUNCTION_SUSPECTED"]
    refuted = condition(
        "L29.9", "Pruritus, unspecified", "418290006", pid=PID, cid="c-no", verification="refuted"
    )
    refuted["onsetDateTime"] = "2026-11-19T08:00:00Z"
    assert _run(cds, _maintenance(conditions=[refuted])) == {"cards": []}
    # Recorded with a date only, within three days: counted, and the card says so.
    dated = symptom("sx-3", "altered_mental_status", "2026-11-19")
    body = _run(cds, _maintenance(signs=[dated]))
    assert topic_codes(body) == ["MISSING_DATA", "PUMP_MALFUNCTION_SUSPECTED"]
    assert any(
        "without a time of day: it was counted as within the last 72 hours" in d
        for d in _plain(body)
    )


def test_the_pump_type_comes_from_the_device(cds: TestClient) -> None:
    """An increase 31 h after the last change: fine with a programmable pump, too soon with
    a constant-flow one, and unknown without a device that says."""
    current = _order(
        "itb-1", _rate(110), "2026-11-19T09:00:00Z", "itb-0", status="active", reason=SPINAL
    )
    earlier = _order(
        "itb-0", _rate(100), "2026-11-10T09:00:00Z", None, status="completed", reason=SPINAL
    )
    draft = _order("rx", _rate(120), "2026-11-20T16:00:00Z", "itb-1", reason=SPINAL)
    record = {"medications": [current], "history": [earlier, current]}
    assert _sign(cds, draft, devices=[SYNCHROMED], **record) == {"cards": []}
    codman = pump_device("CODMAN 3000 Constant Flow Pump")
    assert topic_codes(_sign(cds, draft, devices=[codman], **record)) == [
        "INTRATHECAL_INCREMENT_TOO_SOON"
    ]
    body = _sign(cds, draft, devices=[pump_device("Implantable infusion pump")], **record)
    assert topic_codes(body) == ["MISSING_DATA"]
    assert "No pump type" in _plain(body)[0]


# --- what is missing is named ----------------------------------------------------------------
def test_an_intrathecal_order_names_the_record_it_could_not_read(cds: TestClient) -> None:
    current = _order("itb-sep", _rate(300), "2026-09-01T09:00:00Z", None, status="active")
    draft = _order("rx", _rate(330), "2026-11-20T09:00:00Z", "itb-sep")
    prefetch = full_prefetch(patient(PID, "1979-04-02"), medications=[current])
    for key in (
        "intrathecal_history",
        "pump_programming",
        "devices",
        "spasticity_scores",
        "withdrawal_signs",
    ):
        del prefetch[key]
    body = call(cds, hook_request("order-sign", [draft], prefetch, pid=PID)).json()
    assert topic_codes(body) == ["MISSING_DATA"]
    (gap,) = _plain(body)
    for said in (
        "Not available: the intrathecal dose history (MedicationRequests of every status)",
        "Not available: pump programming (MedicationAdministrations)",
        "Not available: the implanted pump (Device): the pump type, and so the 24 h or 48 h "
        "interval between increases, could not be read from it",
        "Not available: spasticity scores",
        "Not available: recent withdrawal signs recorded as Observations",
    ):
        assert said in gap, said
    assert "does not carry the intrathecal phase" not in gap


def test_the_record_is_fetched_for_an_intrathecal_order(make_client: AppFactory) -> None:
    current = _order("itb-sep", _rate(300), "2026-09-01T09:00:00Z", None, status="active")
    stub = StubFhir(
        {
            f"Patient/{PID}": patient(PID, "1979-04-02"),
            "Condition": full_prefetch(patient(PID))["conditions"],
            "MedicationRequest": full_prefetch(patient(PID), medications=[current])["medications"],
            "MedicationAdministration": full_prefetch(patient(PID))["pump_programming"],
            "Device": full_prefetch(patient(PID), devices=[SYNCHROMED])["devices"],
            "Observation": full_prefetch(patient(PID))["weight"],
        }
    )
    client = make_client(transport=httpx.MockTransport(stub), fhir_server_allowlist=(FHIR_SERVER,))
    draft = _order("rx", _rate(300), "2026-11-20T09:00:00Z", "itb-sep")
    request = hook_request("order-sign", [draft], None, pid=PID)
    request["fhirAuthorization"] = AUTH
    assert call(client, request).json() == {"cards": []}
    paths = stub.paths()
    assert paths.count("MedicationRequest") == 2 and "MedicationAdministration" in paths
    assert "Device" in paths and paths.count("Observation") == 6
    history = [r for r in stub.requests if r.url.path.endswith("MedicationRequest")]
    assert {r.url.params.get("status") for r in history} == {"active", "active,completed,stopped"}
