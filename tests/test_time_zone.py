"""The date of an order sent without one is today in the zone the service runs in (TZ): near
midnight, the UTC date is another day for most of the world, and a child's 8th or 18th
birthday decides which caps apply. An unknown zone refuses to start, because the C library
would otherwise take it silently for UTC."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api.settings import ServingSettings, problems

# UTC+14 and UTC-12: at any moment their dates differ by one or two days.
EARLIEST, LATEST = "Pacific/Kiritimati", "Etc/GMT+12"


@pytest.fixture
def zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Set TZ with monkeypatch.setenv; the C library's zone is restored afterwards."""
    yield monkeypatch
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("Europe/Paris", True),
        (":America/Chicago", True),
        ("UTC", True),
        ("", True),
        ("Mars/Olympus_Mons", False),
        ("Europe/paris", False),
        ("../../etc/passwd", False),
        ("CET-1CEST", False),
    ],
)
def test_tz_names_a_zone_of_the_tz_database_or_refuses(
    zone: pytest.MonkeyPatch, value: str, accepted: bool
) -> None:
    zone.setenv("TZ", value)
    if accepted:
        assert ServingSettings().tz == (value or None)
        return
    with pytest.raises(ValidationError) as caught:
        ServingSettings()
    assert any(line.startswith(f"TZ={value!r}") for line in problems(caught.value))


def _age_on_an_undated_order(client: TestClient, birth: dt.date) -> int:
    body = {
        "patient": {"birth_date": birth.isoformat(), "weight_kg": 25},
        "order": {
            "action": "start",
            "route": "oral",
            "form": "tablet",
            "dose": {"value": 2.5, "unit": "mg"},
            "frequency_per_day": 3,
        },
    }
    response = client.post("/v1/safety-checks", json=body)
    assert response.status_code == 200, response.text
    (tablet,) = [a for a in response.json()["alerts"] if a["code"] == "TABLET_BELOW_33_KG"]
    return int(tablet["evidence"]["age_years"])


def test_an_undated_order_is_dated_today_where_the_service_runs(
    zone: pytest.MonkeyPatch, client: TestClient
) -> None:
    zone.setenv("TZ", EARLIEST)
    time.tzset()
    today = dt.date.today()
    # Eight years old today at UTC+14; still seven at UTC-12, where today is a day or two
    # earlier.
    eighth_birthday = today.replace(year=today.year - 8)
    assert _age_on_an_undated_order(client, eighth_birthday) == 8
    zone.setenv("TZ", LATEST)
    time.tzset()
    assert dt.date.today() < today
    assert _age_on_an_undated_order(client, eighth_birthday) == 7
