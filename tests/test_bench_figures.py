"""The figure beside a benchmark verdict never reads as the other verdict."""

from __future__ import annotations

import os

import pytest

from bench.figures import beside
from bench.loadgen import Result
from bench.run import http_verdicts

# (value, target, at_most, places, scale, unit, printed)
CASES = [
    (1999.6, 2000.0, False, 0, 1.0, "", "1,999.6"),  # bench.feedback 03:58: "NOT MET (2,000)"
    (1999.96, 2000.0, False, 0, 1.0, "", "1,999.96"),
    (2000.0, 2000.0, False, 0, 1.0, "", "2,000"),  # exactly the target meets it
    (2000.4, 2000.0, False, 0, 1.0, "", "2,000"),
    (1436.2, 1000.0, False, 0, 1.0, "", "1,436"),  # far from it: as the tables print it
    (50.04, 50.0, True, 1, 1.0, "", "50.04"),  # a p99 just over 50 ms
    (49.96, 50.0, True, 1, 1.0, "", "50.0"),  # just under: met, and 50.0 is met too
    (50.0, 50.0, True, 1, 1.0, "", "50.0"),
    (0.4996, 0.5, True, 3, 1.0, "", "0.500"),
    (0.50004, 0.5, True, 3, 1.0, "", "0.50004"),
    (0.24996, 0.25, False, 1, 100.0, "%", "24.996%"),
    (0.2496, 0.25, False, 1, 100.0, "%", "24.96%"),
    (0.24935, 0.25, False, 1, 100.0, "%", "24.9%"),
    (0.25, 0.25, False, 1, 100.0, "%", "25.0%"),
    (1999.99999, 2000.0, False, 0, 1.0, "", "2,000.000"),  # past three more places: as it is
]


@pytest.mark.parametrize(
    ("value", "target", "at_most", "places", "scale", "unit", "printed"), CASES
)
def test_the_printed_figure_falls_on_the_verdicts_side(
    value: float,
    target: float,
    at_most: bool,
    places: int,
    scale: float,
    unit: str,
    printed: str,
) -> None:
    assert beside(value, target, at_most=at_most, places=places, scale=scale, unit=unit) == printed


def _result(rate: float, p99_ms: float, offered: float | None = None) -> Result:
    result = Result(clients=64, requests=int(rate * 5), seconds=5.0, offered=offered)
    result.latencies = [p99_ms / 1000] * 100
    return result


def test_a_verdict_just_short_of_its_target_prints_the_figure_that_misses_it() -> None:
    rows = [
        {
            "clients": 64,
            "check": Result(clients=64, requests=4998, seconds=5.0, latencies=[0.05004] * 100),
            "healthz": _result(4000.4, 1.0),
            "check at rate": _result(1000, 50.0, offered=1000),
        }
    ]
    texts = dict(http_verdicts("gunicorn", rows, 0))
    assert texts == {
        "gunicorn: ≥ 1,000 checks/s at 64 clients (999.6)": False,
        "gunicorn: check p99 ≤ 50 ms at 64 clients, each sending its next request as soon as "
        "it has an answer (50.04)": False,
        "gunicorn: check p99 ≤ 50 ms with 1,000 checks/s due from 64 clients (50.0)": True,
        "gunicorn: check ≥ 25% of healthz at 64 clients (24.99%)": False,
        "gunicorn: every response right (0 wrong)": True,
    }


def test_a_machine_without_nginx_says_so_instead_of_failing_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`make bench` on a fresh machine without Debian's nginx measures everything else and
    names what it could not measure (it ended in a traceback halfway through)."""
    from bench import proxy, run

    monkeypatch.setattr(proxy.shutil, "which", lambda _: None)
    monkeypatch.setattr(proxy.os, "access", lambda *_: False)
    assert run.proxy_missing() == "nginx is not installed: `apt-get install nginx` (.ci/run does)"
    monkeypatch.undo()
    if proxy.shutil.which("nginx") or os.access("/usr/sbin/nginx", os.X_OK):
        assert run.proxy_missing() is None
