"""Loading scenario tables (tests/scenarios/*.yaml): one row per case, exact expected codes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from rules.case import Case, SafetyCheckRequest
from tests.archetypes import build

DIR = Path(__file__).parent / "scenarios"


def load(name: str) -> list[dict[str, Any]]:
    rows = yaml.safe_load((DIR / name).read_text(encoding="utf-8"))
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)), f"duplicate scenario ids in {name}"
    return rows


def case_of(row: dict[str, Any]) -> dict[str, Any]:
    return build(row["archetype"], row.get("patient"), row.get("order"))


def validated(row: dict[str, Any]) -> Case:
    """The row's case as its API reads it: the native request by default; `via: cds_hooks`
    for what only an EHR order can lack (the age, the route), read as CDS Hooks reads it."""
    via = row.get("via", "native")
    assert via in ("native", "cds_hooks"), f"{row['id']}: via {via!r}"
    model = Case if via == "cds_hooks" else SafetyCheckRequest
    return model.model_validate(case_of(row))


def all_tables() -> list[str]:
    return sorted(p.name for p in DIR.glob("*.yaml"))
