"""The console over HTTP (the browser tests in tests/test_console_browser.py drive the same
pages in Chromium): the catalogue holds every code and rule with its passage and pins, the
search finds codes, words and thresholds, the try-out runs the APIs' own paths and stores
nothing, and the console sits behind the APIs' credentials when CDS_AUTH=required."""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.auth import new_system_key
from api.cds_hooks.settings import CdsSettings, SystemKey, problems
from api.console.catalogue import catalogue, matches, search
from api.main import create_app
from rules.catalog import all_rules, document
from rules.checker import Checker
from tests.cds_hooks.conftest import settings

ROOT = Path(__file__).resolve().parents[1]
KEY = new_system_key()
KEY_ENTRY = SystemKey.parse(f"pharmacy:{hashlib.sha256(KEY.encode()).hexdigest()}")
SECRET = "s" * 40


@pytest.fixture(scope="module")
def console(checker: Checker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app = create_app(checker, cds_settings=settings(tmp_path_factory.mktemp("console")))
    with TestClient(app) as client:
        yield client


def test_the_catalogue_lists_every_code_and_rule_with_its_passage(console: TestClient) -> None:
    page = console.get("/console/")
    assert page.status_code == 200
    doc = document()
    for code in doc["codes"]:
        assert f'href="/console/codes/{code["code"]}"' in page.text
    for rule in all_rules():
        assert f'id="{rule.id}"' in page.text
    assert doc["fingerprint"] in page.text and doc["ruleset_version"] in page.text
    assert "Baclofen tablets are not suitable for use in children below 33 kg body weight." in (
        page.text
    )
    assert "Reviewed by:" in page.text  # the printed sheet's signature line


def test_every_rule_and_code_has_its_stable_page(console: TestClient) -> None:
    for rule in all_rules():
        assert console.get(f"/console/rules/{rule.id}").status_code == 200, rule.id
    page = console.get("/console/codes/TABLET_BELOW_33_KG")
    assert page.status_code == 200
    assert "oral_dose.tablet_below_33_kg" in page.text
    rule = console.get("/console/rules/oral_dose.tablet_below_33_kg").text
    assert "TABLET_MIN_WEIGHT_KG" in rule and "33 kg" in rule
    assert "tablet:child-32.9-kg-tablet" in rule  # a pinning row
    assert "/console/try?row=tablet%3Achild-32.9-kg-tablet" in rule
    assert console.get("/console/rules/no.such.rule").status_code == 404
    assert console.get("/console/codes/NO_SUCH_CODE").status_code == 404


@pytest.mark.parametrize(
    ("query", "found", "not_found"),
    [
        ("TABLET_BELOW_33_KG", "oral_dose.tablet_below_33_kg", "oral_dose.max_under_8"),
        ("taper", "oral_dose.abrupt_stop", "oral_dose.tablet_below_33_kg"),
        ("33 kg", "oral_dose.tablet_below_33_kg", "oral_dose.max_under_8"),
        ("40 mg/day", "oral_dose.max_under_8", "oral_dose.tablet_below_33_kg"),
    ],
)
def test_search_by_code_word_or_threshold(query: str, found: str, not_found: str) -> None:
    ids = {view.id for view in search(catalogue(), query)}
    assert found in ids and not_found not in ids


def test_a_number_matches_as_a_number() -> None:
    assert matches("limit 33 kg", "33") and matches("limit 33.0 kg", "33")
    assert not matches("limit 330 kg", "33") and not matches("limit 1.33 kg", "33")


def test_the_server_side_search_hides_what_does_not_match(console: TestClient) -> None:
    page = console.get("/console/", params={"q": "TABLET_BELOW_33_KG"}).text
    shown = re.findall(r'<article class="rule" id="([^"]+)" data-search="[^"]*">', page)
    assert "oral_dose.tablet_below_33_kg" in shown
    assert "oral_dose.max_under_8" not in shown


def _form(**values: str) -> dict[str, str]:
    base = {"mode": "form", "action": "continue", "route": "oral", "dose_unit": "mg"}
    return {**base, **values}


def test_try_a_child_on_tablets_through_the_form(console: TestClient) -> None:
    page = console.post(
        "/console/try",
        data=_form(
            age_years="7", weight_kg="20", form="tablet", dose_value="10", frequency_per_day="3"
        ),
    )
    assert page.status_code == 200
    assert "TABLET_BELOW_33_KG" in page.text and "Outcome: <strong>critical" in page.text
    assert '<svg class="trace-graph"' in page.text
    assert 'href="/console/rules/oral_dose.tablet_below_33_kg"' in page.text  # a graph node
    assert "no-store" in page.headers["cache-control"]


def test_the_form_reads_intrathecal_history_and_signs(console: TestClient) -> None:
    page = console.post(
        "/console/try",
        data=_form(
            age_years="40",
            weight_kg="70",
            route="intrathecal",
            form="intrathecal",
            action="change",
            date="2026-11-22",
            time="2026-11-22T10:00:00+00:00",
            dose_value="480",
            dose_unit="ug",
            phase="maintenance",
            spasticity_origin="spinal",
            pump="programmable",
            history="2026-11-21T10:00:00+00:00; 300 ug; none",
        )
        | {"withdrawal_signs": "pruritus"},
    )
    assert page.status_code == 200, page.text[-2000:]
    assert "PUMP_MALFUNCTION_SUSPECTED" in page.text


@pytest.mark.parametrize(
    ("mode", "text", "problem"),
    [
        ("native", "[" * 5000 + "]" * 5000, "nested deeper than 64 levels"),
        ("cds-hooks", '{"a":' * 5000 + "1" + "}" * 5000, "nested deeper than 64 levels"),
        ("native", "[]" * 100_001, "more than 100,000 arrays and objects"),
    ],
    ids=["native-deep", "cds-hooks-deep", "native-many"],
)
def test_pasted_json_past_the_body_limits_is_a_422_naming_it(
    console: TestClient, mode: str, text: str, problem: str
) -> None:
    """The form arrives URL-encoded, so the bodies' limits never saw its brackets: JSON
    nested past the parser's recursion gave a 500."""
    field = "native_json" if mode == "native" else "cds_json"
    page = console.post("/console/try", data={"mode": mode, field: text})
    assert page.status_code == 422
    assert "<code>json</code>" in page.text and problem in page.text


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("to=9999-12-31", "to: '9999-12-31' is outside"),
        ("from=0001-01-01&to=9999-12-31", "from: '0001-01-01' is outside"),
        ("to=0001-01-10", "to: '0001-01-10' is outside"),
        ("from=yesterday", "from: 'yesterday' is not a date"),
    ],
)
def test_analytics_dates_that_cannot_be_used_are_a_422_naming_them(
    console: TestClient, query: str, named: str
) -> None:
    """A date at the calendar's edge overflowed the range arithmetic (a 500)."""
    page = console.get(f"/console/analytics?{query}")
    assert page.status_code == 422 and named in html.unescape(page.text)
    csv = console.get(f"/console/analytics.csv?{query}")
    assert csv.status_code == 422 and named in csv.text


def test_a_pasted_native_request_is_refused_as_the_api_refuses_it(console: TestClient) -> None:
    bad = {
        "patient": {"age_years": 7, "weight_kg": -1},
        "order": {"action": "start", "route": "oral"},
    }
    page = console.post("/console/try", data={"mode": "native", "native_json": json.dumps(bad)})
    api = console.post("/v1/safety-checks", json=bad)
    assert page.status_code == 422 and api.status_code == 422
    for error in api.json()["errors"]:
        assert f"<code>{error['field']}</code>" in page.text
    dup = console.post("/console/try", data={"mode": "native", "native_json": '{"a": 1, "a": 2}'})
    assert dup.status_code == 422 and "repeated" in dup.text


def test_a_pasted_cds_hooks_request_shows_the_cards_the_service_returns(
    console: TestClient,
) -> None:
    request = json.loads((ROOT / "tests/golden/child-tablet-below-33-kg.request.json").read_text())
    page = console.post("/console/try", data={"mode": "cds-hooks", "cds_json": json.dumps(request)})
    assert page.status_code == 200
    service = console.post("/cds-services/baclofen-order-sign", json=request).json()
    for card in service["cards"]:
        assert card["summary"] in page.text
        assert f'data-code="{card["source"]["topic"]["code"]}"' in page.text
        for suggestion in card.get("suggestions", []):
            assert suggestion["label"] in page.text
    assert "fhirServer left out" in page.text  # never fetched from
    assert '<svg class="trace-graph"' in page.text


def test_a_cross_site_form_post_is_refused(console: TestClient) -> None:
    page = console.post(
        "/console/try", data=_form(age_years="7"), headers={"sec-fetch-site": "cross-site"}
    )
    assert page.status_code == 403
    page = console.post(
        "/console/try", data=_form(age_years="7"), headers={"origin": "https://evil.example"}
    )
    assert page.status_code == 403


def test_pages_forbid_outside_assets_and_framing(console: TestClient) -> None:
    page = console.get("/console/try")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert not re.search(r'(src|href)="(https?:)?//', page.text)  # nothing from elsewhere


def test_the_console_secret_is_checked_and_never_echoed() -> None:
    with pytest.raises(ValueError) as caught:
        CdsSettings(console_secret="short-secret-value")
    assert all("short-secret-value" not in line for line in problems(caught.value))  # type: ignore[arg-type]


@pytest.fixture
def secured(checker: Checker, tmp_path: Path) -> Iterator[TestClient]:
    values: dict[str, Any] = {
        "auth": "required",
        "system_keys": (KEY_ENTRY,),
        "console_secret": SECRET,
    }
    app = create_app(checker, cds_settings=settings(tmp_path, **values))
    with TestClient(app, base_url="https://testserver") as client:
        yield client


def test_with_auth_required_the_console_asks_for_a_sign_in(secured: TestClient) -> None:
    for path in (
        "/console/",
        "/console/rules/oral_dose.max_under_8",
        "/console/try",
        "/console/analytics",
        "/console/analytics.csv",
    ):
        answer = secured.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/console/login?next=")
    assert secured.get("/console/static/console.css").status_code == 200
    bad = secured.post("/console/login", data={"credential": new_system_key(), "next": "/console/"})
    assert bad.status_code == 401 and "bcds_console" not in bad.headers.get("set-cookie", "")


def test_a_system_key_signs_a_browser_in_with_a_strict_cookie(secured: TestClient) -> None:
    answer = secured.post(
        "/console/login",
        data={"credential": KEY, "next": "/console/analytics"},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/console/analytics"
    cookie = answer.headers["set-cookie"].lower()
    for flag in ("httponly", "samesite=strict", "secure", "path=/console"):
        assert flag in cookie
    assert KEY.lower() not in cookie
    page = secured.get("/console/analytics")
    assert page.status_code == 200 and "Signed in as system-key:pharmacy" in page.text
    form = {"content-type": "application/x-www-form-urlencoded"}  # as a browser's empty form
    assert secured.post("/console/logout", headers=form, follow_redirects=False).status_code == 303
    assert secured.get("/console/", follow_redirects=False).status_code == 303
    # Never an open redirect after signing in.
    elsewhere = secured.post(
        "/console/login",
        data={"credential": KEY, "next": "https://evil.example/"},
        follow_redirects=False,
    )
    assert elsewhere.headers["location"] == "/console/"


def test_a_bearer_credential_opens_a_page_without_a_session(secured: TestClient) -> None:
    csv = secured.get("/console/analytics.csv", headers={"authorization": f"Bearer {KEY}"})
    assert csv.status_code == 200 and csv.text.startswith("code,severity,shown")


def test_without_a_secret_there_is_no_sign_in(checker: Checker, tmp_path: Path) -> None:
    values: dict[str, Any] = {"auth": "required", "system_keys": (KEY_ENTRY,)}
    app = create_app(checker, cds_settings=settings(tmp_path, **values))
    with TestClient(app) as client:
        assert "CDS_CONSOLE_SECRET" in client.get("/console/login").text
        refused = client.post("/console/login", data={"credential": KEY})
        assert refused.status_code == 503
