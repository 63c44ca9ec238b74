"""Write the review sheet (Markdown, HTML and the catalogue with its pins as JSON) from the rule
catalogue and the scenario rows that pin each rule: `make review-sheet`.

    python -m tests.review_sheet [DIRECTORY]      # default var/review-sheet
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from rules.catalog import all_rules, document
from rules.checker import Checker
from rules.review_sheet import Pins, Row, html_sheet, markdown, pin, with_pins
from tests.scenarios import all_tables, load, validated

ROOT = Path(__file__).resolve().parents[1]


def _summary(row: dict[str, Any]) -> str:
    parts = [row["archetype"]] + [
        f"{part} {json.dumps(row[part], ensure_ascii=False, separators=(', ', ': '))}"
        for part in ("patient", "order")
        if row.get(part)
    ]
    if row.get("via"):
        parts.append(f"via {row['via']}")
    return "; ".join(parts)


def fired_by_row(checker: Checker | None = None) -> dict[Row, set[str]]:
    """Every scenario row and the rules that fired in it."""
    checker = checker or Checker()
    out: dict[Row, set[str]] = {}
    for table in all_tables():
        for row in load(table):
            result = checker.run(validated(row))
            key = Row(
                table=table.removesuffix(".yaml"),
                id=row["id"],
                archetype=row["archetype"],
                summary=_summary(row),
                expect=tuple(sorted(row["expect"])),
            )
            out[key] = {t.rule_id for t in result.trace}
    return out


def pins(checker: Checker | None = None) -> dict[str, Pins]:
    return pin([r.id for r in all_rules()], fired_by_row(checker))


def write(directory: Path) -> list[Path]:
    doc = document()
    found = pins()
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "review-sheet.md": markdown(doc, found),
        "review-sheet.html": html_sheet(doc, found),
        "catalogue.json": json.dumps(
            with_pins(doc, found), indent=1, ensure_ascii=False, default=str
        )
        + "\n",
    }
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    return [directory / name for name in files]


def main(argv: list[str]) -> int:
    logging.disable(logging.INFO)
    directory = Path(argv[0]) if argv else ROOT / "var" / "review-sheet"
    for path in write(directory):
        sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
