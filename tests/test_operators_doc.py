"""docs/operators.md lists every setting the service reads, with its default: the table is
checked against the two settings models, so a new variable cannot go undocumented."""

from __future__ import annotations

import re
from pathlib import Path

from api.cds_hooks.settings import CdsSettings
from api.settings import ServingSettings

DOC = (Path(__file__).resolve().parents[1] / "docs" / "operators.md").read_text()
ROWS = dict(re.findall(r"(?m)^\| `([A-Z_]+)` \| ([^|]+) \|", DOC))


def test_every_serving_setting_is_in_the_table() -> None:
    missing = [name.upper() for name in ServingSettings.model_fields if name.upper() not in ROWS]
    assert not missing


def test_every_cds_setting_is_in_the_table_with_a_default() -> None:
    names = [
        f"CDS_{name.upper()}"
        for name in CdsSettings.model_fields
        if name not in ("transport", "bind_host")
    ]  # a test hook; HOST is a serving one
    missing = [name for name in names if name not in ROWS]
    assert not missing
    assert all(ROWS[name].strip() for name in names)


def test_no_replaced_variable_is_documented_as_a_setting() -> None:
    from api.cds_hooks.settings import REPLACED

    assert not set(REPLACED) & set(ROWS)
