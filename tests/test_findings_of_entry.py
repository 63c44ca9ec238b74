"""rules.derive.findings_of_entry, which CDS Hooks uses to cut a list longer than a check takes,
must say exactly what the engine derives from each entry: an entry it would drop as "nothing
to say" must really raise nothing."""

from __future__ import annotations

from typing import Any

import pytest

from rules.case import SafetyCheckRequest
from rules.checker import Checker
from rules.derive import findings_of_entry
from tests.archetypes import build
from tests.scenarios import all_tables, load

# Every condition and medication entry of every scenario table, each once.
ENTRIES = list(
    {
        (kind, tuple(sorted(e.items()))): (kind, e)
        for table in all_tables()
        for row in load(table)
        for kind, key in (("condition", "conditions"), ("medication", "medications"))
        for e in (row.get("patient") or {}).get(key) or []
    }.values()
)


def test_the_tables_hold_entries_of_every_kind() -> None:
    findings = {f["finding"] for kind, e in ENTRIES for f in findings_of_entry(kind, e)}
    assert {
        "seizure_disorder",
        "end_stage_renal",
        "pregnancy",
        "cns_depressant",
        "unscreened_entry",
    } <= findings
    assert any(not findings_of_entry(kind, e) for kind, e in ENTRIES)


@pytest.mark.parametrize(
    ("kind", "entry"),
    ENTRIES,
    ids=[f"{k}:{e.get('code') or e.get('display')}"[:60] for k, e in ENTRIES],
)
def test_findings_of_entry_are_the_engines(
    checker: Checker, kind: str, entry: dict[str, Any]
) -> None:
    case = SafetyCheckRequest.model_validate(build("adult_oral", patient={f"{kind}s": [entry]}))
    trace = checker.run(case).trace
    derived = [
        {k: v for k, v in d.items() if k != "id"}
        for t in trace
        if t.rule_id == f"derive.{kind}_findings"
        for d in t.derived
    ]
    # The entry as the model reads it (statuses lower-cased, text trimmed), as the facts hold it.
    read = getattr(case.patient, f"{kind}s")[0].model_dump(exclude_none=True)
    assert derived == findings_of_entry(kind, read)
