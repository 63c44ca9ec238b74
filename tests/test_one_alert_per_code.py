"""One alert per code per check, over every scenario row: a prescriber never sees the same code
twice in one answer (two routes to one finding are said once; the checks that could not run
are listed in one MISSING_DATA alert), and no alert disappears without the trace saying why.
"""

from __future__ import annotations

from typing import Any

import pytest

from rules.checker import Checker
from tests.scenarios import all_tables, load, validated

ROWS = [(table, row) for table in all_tables() for row in load(table)]


@pytest.mark.parametrize(
    ("table", "row"), ROWS, ids=[f"{t.removesuffix('.yaml')}:{r['id']}" for t, r in ROWS]
)
def test_no_code_twice_and_every_unreported_alert_is_explained(
    checker: Checker, table: str, row: dict[str, Any]
) -> None:
    result = checker.run(validated(row))
    codes = [a.code for a in result.alerts]
    assert len(codes) == len(set(codes)), codes
    reported = {a.rule_id for a in result.alerts}
    for entry in result.trace:
        if entry.alert_code is None:
            continue
        assert entry.rule_id in reported or entry.suppressed_by or entry.merged_into, (
            f"{entry.rule_id} fired and its alert vanished without a reason"
        )
        assert entry.alert_code in codes or entry.suppressed_by, entry


def test_no_scenario_row_expects_a_code_twice() -> None:
    """A row expecting a code twice would describe an answer the engine can no longer give."""
    for table, row in ROWS:
        assert len(row["expect"]) == len(set(row["expect"])), f"{table}:{row['id']}"
