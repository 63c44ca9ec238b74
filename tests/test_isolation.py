"""One check never sees another's facts: thousands of distinct checks in one process, and many
threads at once, each answered with exactly its own patient's alerts."""

from __future__ import annotations

import threading
from typing import Any

from rules.case import SafetyCheckRequest
from rules.checker import Checker
from tests.archetypes import build


def distinct_case(i: int) -> tuple[dict[str, Any], set[str], float]:
    """Case i has its own daily dose (so messages are unique) and its own alert set."""
    daily = 101 + i / 100  # always above the adult maximum, never the same twice
    patient: dict[str, Any] = {"weight_kg": 50 + i % 40}
    expected = {"DAILY_DOSE_ABOVE_MAXIMUM"}
    if i % 2:
        patient["pregnant"] = True
        expected.add("PREGNANCY")
    if i % 3 == 0:
        patient["medications"] = [{"display": "morphine"}]
        expected.add("CNS_DEPRESSANT_COMEDICATION")
    if i % 5 == 0:
        patient["conditions"] = [{"system": "http://snomed.info/sct", "code": "84757009"}]
        expected.add("SEIZURE_DISORDER_CONTRAINDICATION")
    case = build(
        "adult_oral",
        patient=patient,
        order={"dose": {"value": daily, "unit": "mg"}, "frequency_per_day": 1},
    )
    return case, expected, daily


def _check_one(checker: Checker, i: int) -> None:
    case, expected, daily = distinct_case(i)
    result = checker.run(SafetyCheckRequest.model_validate(case))
    assert {a.code for a in result.alerts} == expected, i
    maximum = next(a for a in result.alerts if a.code == "DAILY_DOSE_ABOVE_MAXIMUM")
    assert maximum.evidence["daily_mg"] == round(daily, 6), i
    assert f"{daily:g} mg/day" in maximum.message, i


def test_2000_distinct_checks_in_one_process(checker: Checker) -> None:
    for i in range(2000):
        _check_one(checker, i)


def test_concurrent_threads_see_only_their_own_patient(checker: Checker) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(12)

    def worker(t: int) -> None:
        start.wait()
        try:
            for k in range(150):
                _check_one(checker, t * 1000 + k)
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(12)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors[:3]


def test_no_answer_depends_on_the_checks_before_it(checker: Checker) -> None:
    """Completed checks reuse the engine's session (engine/runtime.py). Every scenario row,
    run forwards and then backwards through the same engine, gets the same alerts, messages,
    evidence and trace each time: nothing of one check shapes the next."""
    from api.models import SafetyCheckResponse
    from rules.case import Case
    from tests.scenarios import all_tables, load, validated

    cases = [validated(r) for t in all_tables() for r in load(t)]

    def answer(case: Case) -> str:
        result = checker.run(case, check_id="-")
        return SafetyCheckResponse.from_result(result, explain=True).model_dump_json()

    forwards = [answer(case) for case in cases]
    backwards = [answer(case) for case in reversed(cases)][::-1]
    assert len(cases) > 400
    differing = [i for i, (a, b) in enumerate(zip(forwards, backwards, strict=True)) if a != b]
    assert differing == []
