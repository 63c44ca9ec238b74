"""The analytics plots as inline SVG, drawn here (no chart library, nothing fetched): alerts
shown per week by severity, the override rate per week, and the override rate per alert
code. Each is an image with a title and description; the tables beside them hold the same
numbers for screen readers and for copying."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

from api.console.analytics import CodeRow, Week

W, H = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 48
# Colours with at least 3:1 contrast against white (WCAG 1.4.11), told apart by the legend's
# text as well.
SEVERITY_COLOURS = (("critical", "#b3261e"), ("warning", "#8a5a00"), ("info", "#1d5fa8"))
LINE = "#3b3b98"
GRID = "#c8ccd2"


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _nice_max(value: float) -> float:
    """A round top for the axis whose quarters are round too (counts: 4, 8, 20, 40...)."""
    if value <= 4:
        return 4.0
    if value <= 8:
        return 8.0
    exponent = 10.0 ** math.floor(math.log10(value))
    for step in (1, 2, 4, 10):
        if value <= step * exponent:
            return step * exponent
    return 10 * exponent


def _frame(title: str, desc: str, body: list[str], width: int = W, height: int = H) -> str:
    return (
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-label="{_esc(title)}"><title>{_esc(title)}</title><desc>{_esc(desc)}</desc>'
        + "".join(body)
        + "</svg>"
    )


def _axis(top: float, ticks: Sequence[tuple[float, str]]) -> list[str]:
    out = []
    for value, label in ticks:
        y = TOP + (H - TOP - BOTTOM) * (1 - value / top)
        out.append(
            f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">'
            f"{_esc(label)}</text>"
        )
    return out


def _week_labels(weeks: Sequence[Week], slot: float) -> list[str]:
    every = max(1, math.ceil(len(weeks) / 12))
    out = []
    for n, week in enumerate(weeks):
        if n % every:
            continue
        x = LEFT + slot * (n + 0.5)
        out.append(
            f'<text x="{x:.1f}" y="{H - BOTTOM + 16}" text-anchor="middle" class="tick">'
            f"{week.start.strftime('%d %b')}</text>"
        )
    return out


def shown_per_week(weeks: Sequence[Week]) -> str:
    top = _nice_max(max((w.shown for w in weeks), default=0))
    slot = (W - LEFT - RIGHT) / max(len(weeks), 1)
    body = _axis(top, [(top * k / 4, f"{top * k / 4:g}") for k in range(5)])
    for n, week in enumerate(weeks):
        x = LEFT + slot * n + slot * 0.15
        y = float(H - BOTTOM)
        for severity, colour in SEVERITY_COLOURS:
            count = week.by_severity.get(severity, 0)
            if not count:
                continue
            height = (H - TOP - BOTTOM) * count / top
            y -= height
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{height:.1f}" '
                f'fill="{colour}"><title>Week of {week.start.isoformat()}: {count} {severity}'
                "</title></rect>"
            )
    body += _week_labels(weeks, slot)
    legend_x = LEFT
    for severity, colour in SEVERITY_COLOURS:
        body.append(
            f'<rect x="{legend_x}" y="{H - 18}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{legend_x + 16}" y="{H - 8}" class="legend">{severity}</text>'
        )
        legend_x += 90
    total = sum(w.shown for w in weeks)
    return _frame(
        "Alerts and cards shown per week, by severity",
        f"{len(weeks)} weeks, {total} shown in all; the weekly table below has the numbers.",
        body,
    )


def override_rate_per_week(weeks: Sequence[Week]) -> str:
    slot = (W - LEFT - RIGHT) / max(len(weeks), 1)
    body = _axis(1.0, [(k / 4, f"{k * 25} %") for k in range(5)])
    points = []
    for n, week in enumerate(weeks):
        rate = week.override_rate
        if rate is None:
            continue
        x = LEFT + slot * (n + 0.5)
        y = TOP + (H - TOP - BOTTOM) * (1 - rate)
        points.append((x, y))
        body.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{LINE}"><title>Week of '
            f"{week.start.isoformat()}: {rate * 100:.1f} % of {week.with_feedback} cards with "
            "feedback overridden</title></circle>"
        )
    if len(points) > 1:
        path = " ".join(
            f"{'M' if i == 0 else 'L'} {x:.1f} {y:.1f}" for i, (x, y) in enumerate(points)
        )
        body.insert(5, f'<path d="{path}" fill="none" stroke="{LINE}" stroke-width="2"/>')
    body += _week_labels(weeks, slot)
    return _frame(
        "Override rate per week",
        "Overridden cards as a share of the cards with feedback, per week; weeks without "
        "feedback have no point.",
        body,
    )


def override_rate_per_code(rows: Sequence[CodeRow]) -> str:
    rated = [r for r in rows if r.override_rate is not None][:15]
    bar_h, gap, label_w = 18, 8, 300
    height = TOP + len(rated) * (bar_h + gap) + 24
    width = W
    span = width - label_w - 80
    body = []
    for n, row in enumerate(rated):
        rate = row.override_rate or 0.0
        y = TOP + n * (bar_h + gap)
        body.append(
            f'<text x="{label_w - 8}" y="{y + 13}" text-anchor="end" class="tick">'
            f"{_esc(row.code)} ({_esc(row.severity)})</text>"
            f'<rect x="{label_w}" y="{y}" width="{span * rate:.1f}" height="{bar_h}" '
            f'fill="{dict(SEVERITY_COLOURS).get(row.severity, LINE)}"/>'
            f'<text x="{label_w + span * rate + 6:.1f}" y="{y + 13}" class="tick">'
            f"{rate * 100:.1f} % of {row.with_feedback}</text>"
        )
    if not rated:
        body.append(
            f'<text x="{LEFT}" y="{TOP + 14}" class="tick">No feedback in this range.</text>'
        )
    return _frame(
        "Override rate per alert code",
        "For each code with feedback: overridden cards as a share of its cards with feedback.",
        body,
        width,
        max(height, 60),
    )
