"""The review sheet: the rule catalogue as one document a pharmacy and therapeutics committee
can print, sign and file with the version it reviewed.

For every recommendation module: its passage and When/Then, its thresholds with units; for
every rule: the plain-language When/Then, its conditions as the engine tests them, the texts
it shows, the source document with its verbatim passage and the reviewer's note, and the
scenario rows that pin it (input summary and expected outcome) with a neighbouring row where it
does not fire. Built from `rules.catalog.document()` and the pins computed from the scenario
tables (tests/review_sheet.py writes it: `make review-sheet`).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MAX_PINS_SHOWN = 6


@dataclass(frozen=True)
class Row:
    """One scenario row, as the sheet shows it."""

    table: str
    id: str
    archetype: str
    summary: str  # the row's input: archetype and overrides
    expect: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.table}:{self.id}"


@dataclass(frozen=True)
class Pins:
    fired: tuple[Row, ...]  # rows in which the rule fires
    neighbour: Row | None  # a row of the same archetype (same table first) where it does not


def pin(rule_ids: Iterable[str], fired: Mapping[Row, set[str]]) -> dict[str, Pins]:
    """For each rule, the rows in which it fired and a neighbouring row in which it did not."""
    out: dict[str, Pins] = {}
    rows = list(fired)
    for rule_id in rule_ids:
        hits = tuple(r for r in rows if rule_id in fired[r])
        archetypes = {r.archetype for r in hits}
        tables = {r.table for r in hits}
        quiet = [r for r in rows if rule_id not in fired[r] and r.archetype in archetypes]
        quiet.sort(key=lambda r: r.table not in tables)  # the same table first
        out[rule_id] = Pins(fired=hits, neighbour=quiet[0] if quiet else None)
    return out


def _expected(row: Row) -> str:
    return ", ".join(row.expect) if row.expect else "no alerts"


def _pins_md(pins: Pins | None) -> list[str]:
    if pins is None or not pins.fired:
        return ["- **Pinned by:** no scenario row (a gap)"]
    lines = [f"- **Pinned by** {len(pins.fired)} row(s):"]
    for row in pins.fired[:MAX_PINS_SHOWN]:
        lines.append(f"  - `{row.key}`: {row.summary} → {_expected(row)}")
    if len(pins.fired) > MAX_PINS_SHOWN:
        lines.append(f"  - … and {len(pins.fired) - MAX_PINS_SHOWN} more")
    if pins.neighbour:
        n = pins.neighbour
        lines.append(f"- **Does not fire in** `{n.key}`: {n.summary} → {_expected(n)}")
    return lines


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value


def markdown(doc: Mapping[str, Any], pins: Mapping[str, Pins]) -> str:
    rules = {r["id"]: r for r in doc["rules"]}
    out = [
        f"# Baclofen safety checks: rule catalogue {doc['version']}",
        "",
        f"- Ruleset version: `{doc['ruleset_version']}`",
        f"- Fingerprint: `{doc['fingerprint']}`"
        + ("" if doc["released"] else " (**not a recorded release**)"),
        f"- Rules: {len(doc['rules'])}; alert codes: {len(doc['codes'])}",
        "",
        "Reviewed by: ______________________  Date: ____________  Signature: "
        "______________________",
        "",
    ]
    for module in doc["modules"]:
        out += ["", f"## {module['module']}", "", module["doc"], ""]
        if module["thresholds"]:
            out += ["| Threshold | Value | Unit |", "|---|---|---|"]
            out += [
                f"| `{t['name']}` | {_value(t['value'])} | {t['unit']} |"
                for t in module["thresholds"]
            ]
            out.append("")
        for rule_id in module["rules"]:
            out += _rule_md(rules[rule_id], pins.get(rule_id))
    if doc["readings"]:
        out += ["", "## Readings of the input (before the rules)", ""]
        for reading in doc["readings"]:
            out += [
                f"### {reading['id']}",
                "",
                f"- **When:** {reading['when']}",
                f"- **Then:** {reading['then']}",
                f"- **Applied by:** `{reading['where']}`",
                f"- **Source:** {reading['source']['document']}: > {reading['source']['excerpt']}",
                "",
            ]
    return "\n".join(out) + "\n"


def _rule_md(rule: Mapping[str, Any], pins: Pins | None) -> list[str]:
    title = f"### `{rule['id']}`"
    if rule["type"] == "alert":
        title += f" — {rule['code']} ({rule['severity']})"
    else:
        title += f" — {rule['type']}"
    lines = [
        "",
        title,
        "",
        f"- **When:** {rule['when'] or '(see the module)'}",
        f"- **Then:** {rule['then']}",
    ]
    lines += [
        f"  - `{c['alias']}`: {c['kind']}" + (f" where {c['test']}" if c["test"] else "")
        for c in rule["conditions"]
    ]
    if rule["params"]:
        lines.append(
            "- **Values:** " + "; ".join(f"{k} = {_value(v)}" for k, v in rule["params"].items())
        )
    if rule["type"] == "alert":
        lines += [
            f"- **Message:** {rule['message']}",
            f"- **Suggestion:** {rule['suggestion']}",
            f"- **Evidence:** {_value(rule['evidence'])}",
        ]
        source = rule["source"]
        lines.append(
            f"- **Source:** {source['document']} ({source['precedence']}): “{source['excerpt']}”"
        )
        if source["note"]:
            lines.append(f"  - Reviewer's note: {source['note']}")
    return lines + _pins_md(pins)


def _esc(value: Any) -> str:
    return html.escape(_value(value))


def html_sheet(doc: Mapping[str, Any], pins: Mapping[str, Pins]) -> str:
    rules = {r["id"]: r for r in doc["rules"]}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Baclofen rule catalogue {_esc(doc['version'])}</title>",
        "<style>body{font-family:sans-serif;max-width:60rem;margin:auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #999;padding:2px 6px}"
        "section.rule{border-top:1px solid #ccc;page-break-inside:avoid}"
        "blockquote{background:#f4f4f4;margin:0;padding:4px 8px}</style></head><body>",
        f"<h1>Baclofen safety checks: rule catalogue {_esc(doc['version'])}</h1>",
        f"<p>Ruleset version <code>{_esc(doc['ruleset_version'])}</code>; fingerprint "
        f"<code>{_esc(doc['fingerprint'])}</code>"
        + ("" if doc["released"] else " (<strong>not a recorded release</strong>)")
        + f"; {len(doc['rules'])} rules, {len(doc['codes'])} alert codes.</p>",
        "<p>Reviewed by: __________________ Date: __________ Signature: __________________</p>",
    ]
    for module in doc["modules"]:
        parts += [
            f'<h2 id="{_esc(module["module"])}">{_esc(module["module"])}</h2>',
            f"<pre>{_esc(module['doc'])}</pre>",
        ]
        if module["thresholds"]:
            parts.append(
                "<table><tr><th>Threshold</th><th>Value</th><th>Unit</th></tr>"
                + "".join(
                    f"<tr><td><code>{_esc(t['name'])}</code></td>"
                    f"<td>{_esc(t['value'])}</td><td>{_esc(t['unit'])}</td></tr>"
                    for t in module["thresholds"]
                )
                + "</table>"
            )
        for rule_id in module["rules"]:
            parts.append(_rule_html(rules[rule_id], pins.get(rule_id)))
    for reading in doc["readings"]:
        parts.append(
            f'<section class="rule"><h3>{_esc(reading["id"])} (reading of the '
            f"input)</h3><p><b>When:</b> {_esc(reading['when'])}</p><p><b>Then:</b> "
            f"{_esc(reading['then'])}</p><blockquote>{_esc(reading['source']['excerpt'])}"
            "</blockquote></section>"
        )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _rule_html(rule: Mapping[str, Any], pins: Pins | None) -> str:
    head = f"<code>{_esc(rule['id'])}</code>" + (
        f" — {_esc(rule['code'])} ({_esc(rule['severity'])})"
        if rule["type"] == "alert"
        else f" — {_esc(rule['type'])}"
    )
    body = [
        f'<section class="rule" id="{_esc(rule["id"])}"><h3>{head}</h3>',
        f"<p><b>When:</b> {_esc(rule['when'] or '(see the module)')}</p>",
        f"<p><b>Then:</b> {_esc(rule['then'])}</p><ul>",
    ]
    body += [
        f"<li><code>{_esc(c['alias'])}</code>: {_esc(c['kind'])}"
        + (f" where {_esc(c['test'])}" if c["test"] else "")
        + "</li>"
        for c in rule["conditions"]
    ]
    body.append("</ul>")
    if rule["params"]:
        body.append(
            "<p><b>Values:</b> "
            + "; ".join(f"{_esc(k)} = {_esc(v)}" for k, v in rule["params"].items())
            + "</p>"
        )
    if rule["type"] == "alert":
        source = rule["source"]
        body += [
            f"<p><b>Message:</b> {_esc(rule['message'])}</p>",
            f"<p><b>Suggestion:</b> {_esc(rule['suggestion'])}</p>",
            f"<p><b>Evidence:</b> {_esc(rule['evidence'])}</p>",
            f"<p><b>Source:</b> {_esc(source['document'])} ({_esc(source['precedence'])})"
            f"</p><blockquote>{_esc(source['excerpt'])}</blockquote>",
        ]
        if source["note"]:
            body.append(f"<p><i>Reviewer's note:</i> {_esc(source['note'])}</p>")
    body.append(_pins_html(pins) + "</section>")
    return "\n".join(body)


def _pins_html(pins: Pins | None) -> str:
    if pins is None or not pins.fired:
        return "<p><b>Pinned by:</b> no scenario row (a gap)</p>"
    items = "".join(
        f"<li><code>{_esc(r.key)}</code>: {_esc(r.summary)} → {_esc(_expected(r))}</li>"
        for r in pins.fired[:MAX_PINS_SHOWN]
    )
    if len(pins.fired) > MAX_PINS_SHOWN:
        items += f"<li>… and {len(pins.fired) - MAX_PINS_SHOWN} more</li>"
    text = f"<p><b>Pinned by</b> {len(pins.fired)} row(s):</p><ul>{items}</ul>"
    if pins.neighbour:
        n = pins.neighbour
        text += (
            f"<p><b>Does not fire in</b> <code>{_esc(n.key)}</code>: {_esc(n.summary)} → "
            f"{_esc(_expected(n))}</p>"
        )
    return text


def with_pins(doc: Mapping[str, Any], pins: Mapping[str, Pins]) -> dict[str, Any]:
    """The catalogue document with each rule's pinning rows, as JSON for a console page."""

    def row(r: Row) -> dict[str, Any]:
        return {"row": r.key, "input": r.summary, "expect": list(r.expect)}

    rules: Sequence[Mapping[str, Any]] = doc["rules"]
    return {
        **doc,
        "rules": [
            {
                **r,
                "pinned_by": [row(x) for x in pins[r["id"]].fired] if r["id"] in pins else [],
                "does_not_fire_in": (
                    row(pins[r["id"]].neighbour)  # type: ignore[arg-type]
                    if r["id"] in pins and pins[r["id"]].neighbour
                    else None
                ),
            }
            for r in rules
        ],
    }
