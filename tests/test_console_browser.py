"""The console in a real browser (Chromium through Playwright, tests/console/browser.py) against
the real server as `make run` starts it: find TABLET_BELOW_33_KG and its passage in the
catalogue; try a 7-year-old of 20 kg on tablets and follow a node of the trace graph to its
rule, with the keyboard; paste a CDS Hooks request and see its cards; answer cards with
feedback and find the counts and the override rate on the analytics page and in its CSV.
Every page is checked by axe-core (bundled in axe-playwright-python: nothing is fetched) and
photographed into a temporary folder (CONSOLE_SCREENSHOTS names another, as `make
screenshots` does for docs/)."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.server import Server, running
from tests.console.browser import browser_context

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(1, log_dir=tmp_path_factory.mktemp("console-server"), log_level="WARNING") as s:
        yield s


@pytest.fixture(scope="module")
def context() -> Iterator[Any]:
    with browser_context() as ctx:
        yield ctx


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    named = os.environ.get("CONSOLE_SCREENSHOTS")
    folder = Path(named) if named else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def accessible(page: Any) -> None:
    """No axe-core violation (WCAG 2.x A and AA rules, and axe's best practices)."""
    from axe_playwright_python.sync_playwright import Axe

    result = Axe().run(page)
    violations = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in result.response["violations"]
    ]
    assert not violations, "\n".join(violations)


def shoot(page: Any, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"))


def test_the_catalogue_finds_the_tablet_rule_and_its_passage(
    server: Server, context: Any, shots: Path
) -> None:
    page = context.new_page()
    page.goto(f"{server.url}/console/")
    accessible(page)
    page.get_by_label("Search rules by code, word or threshold").fill("TABLET_BELOW_33_KG")
    rule = page.locator("article#oral_dose\\.tablet_below_33_kg")
    rule.wait_for(state="visible")
    page.wait_for_function(
        "() => document.querySelector('article[id=\"oral_dose.max_under_8\"]').hidden"
    )
    assert "not suitable for use in children below 33 kg body weight" in rule.inner_text()
    assert "rules match" in page.locator("#search-count").inner_text()
    shoot(page, shots, "console-catalogue")
    # The printed page is the review sheet: every rule, the version and the fingerprint.
    page.emulate_media(media="print")
    assert page.locator("article.rule:not([hidden]), article.rule[hidden]").count() > 100
    assert page.locator(".print-only").first.is_visible()
    page.emulate_media(media="screen")
    page.close()


def test_try_a_child_on_tablets_and_follow_the_trace_to_its_rule(
    server: Server, context: Any, shots: Path
) -> None:
    page = context.new_page()
    page.goto(f"{server.url}/console/try")
    accessible(page)
    page.get_by_label("Age (years)").fill("7")
    page.get_by_label("Weight (kg)").fill("20")
    page.get_by_label("Action").select_option("continue")
    page.get_by_label("Route").select_option("oral")
    page.get_by_label("Dosage form").select_option("tablet")
    page.get_by_label("Dose", exact=True).fill("10")
    page.get_by_label("Doses a day", exact=True).fill("3")
    page.get_by_role("button", name="Check this case").click()
    page.wait_for_selector("#result-h")
    alert = page.locator("li.alert.sev-box-critical", has_text="TABLET_BELOW_33_KG")
    assert alert.count() == 1
    graph = page.locator("svg.trace-graph")
    assert graph.count() == 1
    assert graph.locator("a.node-input").count() >= 2
    assert graph.locator("a.node-derived").count() >= 3
    node = graph.locator("a.node-alert", has_text="TABLET_BELOW_33_KG")
    accessible(page)
    # The alert and, below it, the graph: what the README shows of this page.
    page.set_viewport_size({"width": 1280, "height": 1400})
    page.evaluate("document.querySelector('#result-h').scrollIntoView()")
    shoot(page, shots, "console-try")
    node.focus()  # by keyboard: the node is a focusable link
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/rules/oral_dose.tablet_below_33_kg")
    assert "Baclofen tablets are not suitable" in page.inner_text("main")
    accessible(page)
    page.close()


def test_paste_a_cds_hooks_request_and_see_the_cards(
    server: Server, context: Any, shots: Path
) -> None:
    request = (ROOT / "tests/golden/child-under-8-above-maximum-and-range.request.json").read_text()
    expected = json.loads(
        (ROOT / "tests/golden/child-under-8-above-maximum-and-range.cards.json").read_text()
    )
    page = context.new_page()
    page.goto(f"{server.url}/console/try")
    page.get_by_role("tab", name="CDS Hooks request").click()
    page.get_by_label("CDS Hooks request JSON").fill(request)
    page.get_by_role("button", name="Show the cards").click()
    page.wait_for_selector("#result-h")
    cards = page.locator("ol.cards > li.card")
    assert cards.count() == len(expected)
    for card in expected:
        shown = page.locator(f'li.card[data-code="{card["source"]["topic"]["code"]}"]')
        assert shown.count() == 1
        assert card["summary"] in shown.inner_text()
        for suggestion in card.get("suggestions", []):
            assert suggestion["label"] in shown.inner_text()
    accessible(page)
    page.evaluate("document.querySelector('ol.cards').scrollIntoView()")
    page.evaluate("window.scrollBy(0, -90)")
    shoot(page, shots, "console-cds-hooks")
    page.close()


def _sign(server: Server, request: dict[str, Any]) -> list[dict[str, Any]]:
    answer = httpx.post(f"{server.url}/cds-services/baclofen-order-sign", json=request, timeout=10)
    answer.raise_for_status()
    return list(answer.json()["cards"])


def test_feedback_shows_in_the_analytics_and_its_csv(
    server: Server, context: Any, shots: Path
) -> None:
    request = json.loads((ROOT / "tests/golden/child-tablet-below-33-kg.request.json").read_text())
    request.pop("fhirServer")
    cards = [card for _ in range(4) for card in _sign(server, request)]
    assert [c["source"]["topic"]["code"] for c in cards] == ["TABLET_BELOW_33_KG"] * 4
    reason = cards[0]["overrideReasons"][0]
    items = [
        {
            "card": card["uuid"],
            "outcome": "overridden",
            "overrideReason": {"reason": {k: reason[k] for k in ("system", "code", "display")}},
            "outcomeTimestamp": f"2026-11-22T09:3{n}:00Z",
        }
        for n, card in enumerate(cards[:3])
    ] + [
        {
            "card": cards[3]["uuid"],
            "outcome": "accepted",
            "acceptedSuggestions": [{"id": cards[3]["suggestions"][0]["uuid"]}],
            "outcomeTimestamp": "2026-11-22T09:40:00Z",
        }
    ]
    stored = httpx.post(
        f"{server.url}/cds-services/baclofen-order-sign/feedback", json={"feedback": items}
    )
    assert stored.json() == {"stored": 4, "duplicates": 0}
    page = context.new_page()
    row = page.locator('#per-code tr[data-code="TABLET_BELOW_33_KG"]')
    for _ in range(50):  # the check log is written a moment after the checks
        page.goto(f"{server.url}/console/analytics")
        if row.count() and row.locator("td").nth(1).inner_text() == "4":
            break
        page.wait_for_timeout(200)
    cells = [c.inner_text() for c in row.locator("td").all()]
    assert cells[1:] == ["4", "4", "1", "3", "0", "75.0 %"]
    assert page.locator("#reasons tbody tr").first.locator("td").nth(1).inner_text() == "3"
    assert page.locator("svg.chart").count() == 3
    accessible(page)
    shoot(page, shots, "console-analytics")
    with page.expect_download() as download:
        page.get_by_role("link", name="per alert code").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    by_code = {r["code"]: r for r in csv.DictReader(io.StringIO(text))}
    line = by_code["TABLET_BELOW_33_KG"]
    assert (line["severity"], line["shown"], line["cds_hooks_cards"]) == ("critical", "4", "4")
    assert (line["accepted"], line["overridden"], line["override_rate"]) == ("1", "3", "0.7500")
    page.close()
