"""The intrathecal scenario tables over CDS Hooks: every row with a FHIR form (see
tests/cds_hooks/intrathecal_fhir.py) is sent as an EHR would send it (order-sign, the record in
the prefetch) and must answer with the same codes as the native API, and the same numbers in
the cards."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.cds_hooks.ehr import call, topic_codes
from tests.cds_hooks.intrathecal_fhir import fhir_form
from tests.scenarios import all_tables, load, validated

TABLES = [t for t in all_tables() if t.startswith("intrathecal_")] + ["route_units.yaml"]
ROWS = [
    (table, row)
    for table in TABLES
    for row in load(table)
    if validated(row).order.route == "intrathecal"
]
FORMS = {(t, r["id"]): fhir_form(validated(r)) for t, r in ROWS}
WITH_FORM = [(t, r) for t, r in ROWS if FORMS[(t, r["id"])][0] is not None]


def _plain(markdown: str) -> str:
    """A card's text without Markdown escapes, and without what only a dated record adds: a
    sign the record dates says when it was recorded (the native rows give signs as current)."""
    return re.sub(r" \(recorded [^)]*\)", "", re.sub(r"\\(.)", r"\1", markdown))


@pytest.mark.parametrize(
    ("table", "row"), WITH_FORM, ids=[f"{t.removesuffix('.yaml')}:{r['id']}" for t, r in WITH_FORM]
)
def test_row_over_cds_hooks(cds: TestClient, table: str, row: dict[str, Any]) -> None:
    request, _ = FORMS[(table, row["id"])]
    response = call(cds, request)
    assert response.status_code == 200, response.text
    body = response.json()
    details = [_plain(c["detail"]) for c in body["cards"]]
    assert topic_codes(body) == sorted(row["expect"]), details
    for fragment in row.get("message_contains", []):
        assert any(_plain(fragment) in d for d in details), (fragment, details)
    if not row["expect"]:
        assert body == {"cards": []}


def test_the_issue_s_checks_run_over_cds_hooks() -> None:
    """Increments too large or too soon, the doubling within 7 days, the no-effect streak, an
    abrupt stop, over 1,000 ug/day and unit slips: each is answered over CDS Hooks by rows
    that expect it, beside rows of the same kind that expect nothing."""
    ids = {r["id"] for _, r in WITH_FORM}
    for wanted in (
        "spinal-plus-31",  # increment too large
        "cerebral-titration-plus-16",
        "programmable-23h-after-last-change",  # too soon
        "non-programmable-47h-after-last-change",
        "doubled-within-7-days",
        "titration-doubled-through-increases-without-effect",
        "third-increase-over-three-regimens-without-effect",  # the no-effect streak
        "fourth-increase-after-three-without-effect",
        "stop-without-taper",  # abrupt stop
        "maintenance-at-1001-ug",
        "step-to-300-mg-is-a-unit-slip-not-a-pump-red-flag",
        "intrathecal-200-mg-meant-200-ug",
        "kinked-3-third-without-effect-then-a-doubling",
        "third-increase-without-effect-read-from-modified-ashworth",
        "fever-recorded-20-hours-before-the-order",
        "device-constant-flow-is-non-programmable",
        # ... and their neighbours that expect nothing
        "spinal-plus-30-exactly",
        "programmable-24h-after-last-change",
        "just-under-double-within-7-days",
        "third-increase-after-two-without-effect",
        "maintenance-at-1000-ug",
    ):
        assert wanted in ids, wanted
    codes = {c for _, r in WITH_FORM for c in r["expect"]}
    assert {
        "INTRATHECAL_INCREMENT_TOO_LARGE",
        "INTRATHECAL_INCREMENT_TOO_SOON",
        "PUMP_MALFUNCTION_SUSPECTED",
        "INTRATHECAL_ABRUPT_DISCONTINUATION",
        "INTRATHECAL_DOSE_ABOVE_1000_UG",
        "DOSE_UNIT_SUSPECT",
        "INTRATHECAL_INCREASE_IN_FIRST_24H",
        "INTRATHECAL_INITIAL_INFUSION_DOSE",
        "INTRATHECAL_SCREENING_DOSE",
    } <= codes
    assert len(WITH_FORM) >= 150, len(WITH_FORM)


def test_rows_without_a_fhir_form_say_why() -> None:
    reasons = {
        (t, r["id"]): FORMS[(t, r["id"])][1] for t, r in ROWS if FORMS[(t, r["id"])][0] is None
    }
    assert all(isinstance(why, str) and why for why in reasons.values())
