"""Every scenario table, run through the real engine: the exact set of alert codes must match."""

from __future__ import annotations

from typing import Any

import pytest

from rules.catalog import catalogue
from rules.checker import Checker
from tests.scenarios import all_tables, load, validated

ROWS = [(table, row) for table in all_tables() for row in load(table)]


@pytest.mark.parametrize(
    ("table", "row"), ROWS, ids=[f"{t.removesuffix('.yaml')}:{r['id']}" for t, r in ROWS]
)
def test_scenario(checker: Checker, table: str, row: dict[str, Any]) -> None:
    result = checker.run(validated(row))
    codes = sorted(a.code for a in result.alerts)
    assert codes == sorted(row["expect"]), [a.message for a in result.alerts]
    expected_outcome = row.get("outcome")
    if expected_outcome:
        assert result.outcome == expected_outcome
    # A bare string would be iterated as characters and pass vacuously.
    assert all(
        isinstance(row.get(k, []), list)
        for k in ("message_contains", "suggestion_contains", "suggestion_lacks")
    )
    for fragment in row.get("message_contains", []):
        assert any(fragment in a.message for a in result.alerts), fragment
    for fragment in row.get("suggestion_contains", []):
        assert any(fragment in a.suggestion for a in result.alerts), fragment
    for fragment in row.get("suggestion_lacks", []):
        assert all(fragment not in a.suggestion for a in result.alerts), fragment
    if not row["expect"]:
        assert result.outcome == "no_alerts"


def test_every_code_is_expected_by_some_row() -> None:
    expected = {code for _, row in ROWS for code in row["expect"]}
    missing = {e["code"] for e in catalogue()} - expected
    assert not missing, f"codes no scenario expects: {sorted(missing)}"


def test_every_code_has_a_negative_row() -> None:
    """A table that only ever expects an alert cannot tell a rule that always fires."""
    negatives = [row for _, row in ROWS if not row["expect"]]
    assert len(negatives) >= 10
