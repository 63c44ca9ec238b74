"""The forward-chaining trace of one check drawn as a graph, server-side, as inline SVG.

Nodes are facts and alerts: the input facts the rules matched (the patient, the order, each
condition or medication read), then every derived fact (an age band, the daily dose, mg/kg/
day, the step of a titration and the hours since the last change...), then the alerts. An
edge goes from each fact a firing matched to each fact or alert it produced. Layers are
longest paths from the input (a fact sits one layer right of the latest fact it was derived
from), alerts in the last layer; the order within a layer is improved by a few barycentre
sweeps (the Sugiyama heuristic) so that edges cross less. Every derived fact and alert links
to the rule that produced it; an input fact to the rules that read its kind.

Rendering only: which facts exist and what they hold is the engine's trace (rules decide).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from engine import Alert, TraceEntry

NODE_W, NODE_H = 196, 46
COL_GAP, ROW_GAP, MARGIN = 64, 14, 12
MAX_PER_LAYER = 40
SWEEPS = 4
MAX_TEXT = 30

# Titles and the fields worth a glance, for the kinds a reviewer meets most. Any other kind
# shows its first scalar fields.
_GLANCE: dict[str, tuple[str, ...]] = {
    "patient": ("weight_kg", "birth_date", "age_years"),
    "order": ("action", "route", "form", "dose_value", "dose_unit", "frequency_per_day"),
    "age": ("years", "basis"),
    "age_band": ("band", "years"),
    "daily_dose": ("mg", "written", "route"),
    "previous_daily_dose": ("mg", "route"),
    "dose_step": ("from_mg", "to_mg", "days_since_change"),
    "weight_based_dose": ("mg_per_kg_day", "weight_kg"),
    "daily_ceiling": ("mg_day", "age_max_mg_day", "weight_mg_day"),
    "suggested_regimen": ("per_dose_mg", "doses_per_day", "daily_mg"),
    "step": ("from_ug", "to_ug", "change_pct", "hours_since_last_change"),
    "intrathecal_step": ("from_ug", "to_ug", "change_pct", "hours_since_last_change"),
    "red_flag": ("pattern",),
    "finding": ("finding", "basis"),
    "condition": ("finding", "code", "display"),
    "medication": ("drug_class", "code", "display"),
}
_UNITS = {
    "mg": "mg/day",
    "mg_day": "mg/day",
    "max_mg_day": "mg/day",
    "age_max_mg_day": "mg/day (age)",
    "weight_mg_day": "mg/day (weight)",
    "daily_mg": "mg/day",
    "per_dose_mg": "mg a dose",
    "mg_per_kg_day": "mg/kg/day",
    "weight_kg": "kg",
    "years": "y",
    "age_years": "y",
    "from_mg": "mg/day from",
    "to_mg": "mg/day to",
    "from_ug": "µg/day from",
    "to_ug": "µg/day to",
    "change_pct": "% step",
    "hours_since_last_change": "h since last change",
    "days_since_change": "days since change",
    "doses_per_day": "doses a day",
    "frequency_per_day": "a day",
}


@dataclass
class Node:
    id: str
    kind: str  # "input", "derived" or "alert"
    title: str
    detail: str
    href: str
    tip: str
    severity: str | None = None
    status: str | None = None  # an alert that was not reported: why
    layer: int = 0
    pos: float = 0.0
    preds: list[str] = field(default_factory=list)
    succs: list[str] = field(default_factory=list)


@dataclass
class Graph:
    nodes: dict[str, Node]
    edges: list[tuple[str, str]]
    hidden: int  # nodes left out of layers that were too long

    def layers(self) -> list[list[Node]]:
        out: dict[int, list[Node]] = {}
        for node in self.nodes.values():
            out.setdefault(node.layer, []).append(node)
        return [sorted(out[k], key=lambda n: n.pos) for k in sorted(out)]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _short(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def glance(fact: Mapping[str, Any]) -> str:
    kind = str(fact.get("kind", ""))
    names = _GLANCE.get(kind) or tuple(
        k
        for k, v in fact.items()
        if k not in ("id", "kind") and isinstance(v, int | float | str) and not isinstance(v, bool)
    )
    parts = []
    for name in names:
        value = fact.get(name)
        if value is None or value == "" or isinstance(value, list | dict):
            continue
        unit = _UNITS.get(name)
        parts.append(f"{_fmt(value)} {unit}" if unit else _fmt(value))
        if len(parts) == 3:
            break
    return " · ".join(parts)


def _tip(fact: Mapping[str, Any]) -> str:
    return "; ".join(
        f"{k} {_fmt(v)}" for k, v in fact.items() if k != "id" and v not in (None, "", [], {})
    )


def build(
    inputs: Sequence[Mapping[str, Any]],
    trace: Sequence[TraceEntry],
    alerts: Sequence[Alert],
    severities: Mapping[str, str],
    base: str = "/console",
) -> Graph:
    """`inputs`: the check's input facts (rules.facts.case_facts); `severities`: each alert
    rule's severity (for alerts that were not reported)."""
    nodes: dict[str, Node] = {}
    edges: list[tuple[str, str]] = []
    known = {str(f.get("id")): f for f in inputs}
    used_inputs: list[str] = []
    reported = {a.rule_id: a for a in alerts}

    def add_edge(src: str, dst: str) -> None:
        if src in nodes and dst in nodes and (src, dst) not in edges:
            edges.append((src, dst))
            nodes[src].succs.append(dst)
            nodes[dst].preds.append(src)

    for entry in trace:
        for fact_id in entry.matched.values():
            if fact_id in known and fact_id not in nodes:
                fact = known[fact_id]
                kind = str(fact.get("kind", "fact"))
                nodes[fact_id] = Node(
                    id=fact_id,
                    kind="input",
                    title=kind.replace("_", " "),
                    detail=glance(fact),
                    href=f"{base}/?q={quote(kind)}",
                    tip=_tip(fact),
                )
                used_inputs.append(fact_id)
        produced: list[str] = []
        for fact in entry.derived:
            fact_id = str(fact.get("id"))
            kind = str(fact.get("kind", "fact"))
            nodes[fact_id] = Node(
                id=fact_id,
                kind="derived",
                title=kind.replace("_", " "),
                detail=glance(fact),
                href=f"{base}/rules/{quote(entry.rule_id)}",
                tip=f"{_tip(fact)} (rule {entry.rule_id})",
            )
            produced.append(fact_id)
        if entry.alert_code:
            alert_id = f"alert-{entry.step}"
            alert = reported.get(entry.rule_id)
            status = (
                f"suppressed by {entry.suppressed_by}"
                if entry.suppressed_by
                else f"merged into {entry.merged_into}"
                if entry.merged_into
                else None
            )
            severity = alert.severity.value if alert else severities.get(entry.rule_id)
            nodes[alert_id] = Node(
                id=alert_id,
                kind="alert",
                title=entry.alert_code,
                detail=(severity or "") + (f" · {status}" if status else ""),
                href=f"{base}/rules/{quote(entry.rule_id)}",
                tip=(alert.message if alert else f"{entry.alert_code}: {status}")
                + f" (rule {entry.rule_id})",
                severity=severity,
                status=status,
            )
            produced.append(alert_id)
        for fact_id in entry.matched.values():
            for target in produced:
                add_edge(fact_id, target)
    _layer(nodes)
    hidden = _order(nodes)
    kept = {k: v for k, v in nodes.items() if v.pos >= 0}
    return Graph(
        nodes=kept, edges=[(a, b) for a, b in edges if a in kept and b in kept], hidden=hidden
    )


def _layer(nodes: dict[str, Node]) -> None:
    """Longest path from the inputs; alerts all in the last layer."""
    depth: dict[str, int] = {}

    def of(node_id: str, seen: frozenset[str] = frozenset()) -> int:
        if node_id in depth:
            return depth[node_id]
        node = nodes[node_id]
        preds = [p for p in node.preds if p not in seen]
        d = (
            0
            if node.kind == "input" or not preds
            else 1 + max(of(p, seen | {node_id}) for p in preds)
        )
        depth[node_id] = d
        return d

    for node_id in nodes:
        nodes[node_id].layer = of(node_id)
    last = max((n.layer for n in nodes.values() if n.kind != "alert"), default=0) + 1
    for node in nodes.values():
        if node.kind == "alert":
            node.layer = last


def _order(nodes: dict[str, Node]) -> int:
    """Barycentre sweeps; returns how many nodes were left out (pos -1) of long layers."""
    layers: dict[int, list[Node]] = {}
    for n, node in enumerate(nodes.values()):
        node.pos = float(n)
        layers.setdefault(node.layer, []).append(node)
    keys = sorted(layers)
    for layer in layers.values():
        for i, node in enumerate(layer):
            node.pos = float(i)
    for sweep in range(SWEEPS):
        order = keys[1:] if sweep % 2 == 0 else list(reversed(keys[:-1]))
        for key in order:
            layer = layers[key]
            bary: dict[str, float] = {}
            for node in layer:
                near = node.preds if sweep % 2 == 0 else node.succs
                positions = [nodes[x].pos for x in near if x in nodes]
                bary[node.id] = sum(positions) / len(positions) if positions else node.pos
            layer.sort(key=lambda n: bary[n.id])
            for i, node in enumerate(layer):
                node.pos = float(i)
    hidden = 0
    for layer in layers.values():
        for node in layer[MAX_PER_LAYER:]:
            node.pos = -1
            hidden += 1
    return hidden


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def svg(graph: Graph, label: str, prefix: str = "g") -> str:
    """The graph as an inline SVG document fragment: every node a link (keyboard-focusable,
    with an accessible name), edges as curves with arrowheads."""
    layers = graph.layers()
    if not layers:
        return ""
    tallest = max(len(layer) for layer in layers)
    width = MARGIN * 2 + len(layers) * NODE_W + (len(layers) - 1) * COL_GAP
    height = MARGIN * 2 + tallest * NODE_H + (tallest - 1) * ROW_GAP
    where: dict[str, tuple[float, float]] = {}
    for col, layer in enumerate(layers):
        x: float = MARGIN + col * (NODE_W + COL_GAP)
        offset = (tallest - len(layer)) * (NODE_H + ROW_GAP) / 2
        for row, node in enumerate(layer):
            where[node.id] = (x, MARGIN + offset + row * (NODE_H + ROW_GAP))
    marker = f"{prefix}-arrow"
    out = [
        f'<svg class="trace-graph" xmlns="http://www.w3.org/2000/svg" role="group" '
        f'aria-label="{_esc(label)}" width="{width}" height="{height:.0f}" '
        f'viewBox="0 0 {width} {height:.0f}">',
        f'<defs><marker id="{marker}" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M 0 0 L 10 5 L 0 10 z" fill="#4a5563"/></marker></defs>',
        '<g class="edges">',
    ]
    for src, dst in graph.edges:
        x1, y1 = where[src]
        x2, y2 = where[dst]
        x1, y1, x2, y2 = x1 + NODE_W, y1 + NODE_H / 2, x2, y2 + NODE_H / 2
        mid = (x1 + x2) / 2
        out.append(
            f'<path d="M {x1:.0f} {y1:.0f} C {mid:.0f} {y1:.0f}, {mid:.0f} {y2:.0f}, '
            f'{x2 - 2:.0f} {y2:.0f}" fill="none" stroke="#4a5563" stroke-width="1.3" '
            f'marker-end="url(#{marker})" data-from="{_esc(src)}" data-to="{_esc(dst)}"/>'
        )
    out.append("</g>")
    for layer in layers:
        for node in layer:
            x, y = where[node.id]
            classes = f"node node-{node.kind}" + (f" sev-{node.severity}" if node.severity else "")
            if node.status:
                classes += " not-reported"
            name = f"{node.title}: {node.detail}" if node.detail else node.title
            target = "rule" if node.kind != "input" else "rules reading"
            out.append(
                f'<a class="{classes}" href="{_esc(node.href)}" data-node="{_esc(node.id)}" '
                f'aria-label="{_esc(name)} (open the {target})">'
                f"<title>{_esc(node.tip)}</title>"
                f'<rect x="{x:.0f}" y="{y:.0f}" width="{NODE_W}" height="{NODE_H}" rx="6"/>'
                f'<text x="{x + 8:.0f}" y="{y + 18:.0f}" class="t1">'
                f"{_esc(_short(node.title))}</text>"
                f'<text x="{x + 8:.0f}" y="{y + 36:.0f}" class="t2">'
                f"{_esc(_short(node.detail))}</text>"
                "</a>"
            )
    out.append("</svg>")
    return "".join(out)
