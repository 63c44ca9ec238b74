"""Write the review sheet (Markdown, HTML and the catalogue with its pins as JSON) from the rule
catalogue and the scenario rows that pin each rule: `make review-sheet`. And the pins the
console ships in the package (api/console/pins.json: the scenario tables live with the tests,
which an installed service does not have): `make pins`, checked by tests/test_console_pins.py.

    python -m tests.review_sheet [DIRECTORY]      # default var/review-sheet
    python -m tests.review_sheet --pins [FILE]    # default api/console/pins.json
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from rules.catalog import all_rules, document
from rules.checker import Checker
from rules.release import RULESET_VERSION, fingerprint
from rules.review_sheet import Pins, Row, html_sheet, markdown, pin, with_pins
from tests.archetypes import ARCHETYPES
from tests.scenarios import all_tables, load, validated

ROOT = Path(__file__).resolve().parents[1]
PINS = ROOT / "api" / "console" / "pins.json"
CONSOLE_PINS = 24  # rows listed per rule (a derivation fires in hundreds); the count is kept


def _summary(row: dict[str, Any]) -> str:
    parts = [row["archetype"]] + [
        f"{part} {json.dumps(row[part], ensure_ascii=False, separators=(', ', ': '))}"
        for part in ("patient", "order")
        if row.get(part)
    ]
    if row.get("via"):
        parts.append(f"via {row['via']}")
    return "; ".join(parts)


def fired_by_row(
    checker: Checker | None = None, raw: dict[str, dict[str, Any]] | None = None
) -> dict[Row, set[str]]:
    """Every scenario row and the rules that fired in it (and, into `raw`, each row as its
    table writes it, by key)."""
    checker = checker or Checker()
    out: dict[Row, set[str]] = {}
    for table in all_tables():
        for row in load(table):
            if raw is not None:
                raw[f"{table.removesuffix('.yaml')}:{row['id']}"] = row
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


def console_pins(checker: Checker | None = None) -> dict[str, Any]:
    """What the console shows of the scenario rows: the archetypes, each row that pins a
    rule (or is its neighbour) as its table writes it (archetype, overrides, expected codes),
    and for each rule the rows in which it fires (the first CONSOLE_PINS, and how many in
    all) and a neighbour in which it does not.
    Stamped with the ruleset it was computed for."""
    raw: dict[str, dict[str, Any]] = {}
    fired = fired_by_row(checker, raw)
    found = pin([r.id for r in all_rules()], fired)
    shown = {rule_id: p.fired[:CONSOLE_PINS] for rule_id, p in found.items()}
    used = sorted(
        {r.key for rows in shown.values() for r in rows}
        | {p.neighbour.key for p in found.values() if p.neighbour}
    )
    fields = ("archetype", "patient", "order", "via")
    return {
        "ruleset_version": RULESET_VERSION,
        "fingerprint": fingerprint(),
        "archetypes": ARCHETYPES,
        "rows": {
            key: {
                **{f: raw[key][f] for f in fields if raw[key].get(f) is not None},
                "expect": sorted(raw[key]["expect"]),
            }
            for key in used
        },
        "rules": {
            rule_id: {
                "fired": [r.key for r in shown[rule_id]],
                "count": len(p.fired),
                "neighbour": p.neighbour.key if p.neighbour else None,
            }
            for rule_id, p in found.items()
        },
    }


def pins_text(checker: Checker | None = None) -> str:
    """One line per row and rule, so that a change reads as a diff of the rows it touches."""
    data = console_pins(checker)
    lines = ["{"]
    for n, (name, value) in enumerate(data.items()):
        tail = "," if n < len(data) - 1 else ""
        if isinstance(value, dict) and name in ("archetypes", "rows", "rules"):
            lines.append(f"{json.dumps(name)}: {{")
            items = list(value.items())
            for m, (key, item) in enumerate(items):
                comma = "," if m < len(items) - 1 else ""
                text = json.dumps(item, ensure_ascii=False, sort_keys=True)
                lines.append(f" {json.dumps(key, ensure_ascii=False)}: {text}{comma}")
            lines.append("}" + tail)
        else:
            lines.append(f"{json.dumps(name)}: {json.dumps(value)}{tail}")
    lines.append("}")
    return "\n".join(lines) + "\n"


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
    if argv[:1] == ["--pins"]:
        target = Path(argv[1]) if len(argv) > 1 else PINS
        target.write_text(pins_text(), encoding="utf-8")
        sys.stdout.write(f"{target}\n")
        return 0
    directory = Path(argv[0]) if argv else ROOT / "var" / "review-sheet"
    for path in write(directory):
        sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
