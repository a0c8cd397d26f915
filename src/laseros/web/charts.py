"""Charts drawn on the server as SVG: no JavaScript, the same picture on screen and on paper.

Each chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` naming what it shows;
the page puts a table of the same figures beside it for screen readers (``templates/reports``).
Colours come from classes in ``static/css/app.css`` (the CSP allows no inline styles), and every
bar carries its value as text, so colour is never the only signal.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 16, 56


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[Decimal | int]
    css: str  # e.g. "bar-actual", "bar-estimate", "bar-green"


def _nice_top(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 2.5 or 5 × a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= value)


def _fmt(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    labels: Sequence[str],
    series: Sequence[Series],
    unit: str = "",
    bar_css: Sequence[str] | None = None,
) -> Markup:
    """Grouped vertical bars: one group per label, one bar per series (``bar_css`` colours single-series bars)."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    peak = max((float(v) for s in series for v in s.values), default=0.0)
    top = _nice_top(peak)
    groups = max(1, len(labels))
    slot = plot_w / groups
    bar_w = max(1.0, slot * 0.8 / max(1, len(series)))
    every = max(1, -(-groups // 16))  # at most ~16 axis labels
    parts = [
        f'<svg class="chart" id="{escape(chart_id)}" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" preserveAspectRatio="xMidYMid meet" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(description)}</desc>',
    ]
    for tick in range(5):
        value = top * tick / 4
        y = TOP + plot_h - plot_h * tick / 4
        parts.append(f'<line class="chart-grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="chart-axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(_fmt(value))}</text>'
        )
    if unit:
        parts.append(f'<text class="chart-axis" x="4" y="{TOP - 4}">{escape(unit)}</text>')
    show_values = groups * len(series) <= 24
    for index, label in enumerate(labels):
        x0 = LEFT + slot * index + slot * 0.1
        for number, line in enumerate(series):
            value = float(line.values[index]) if index < len(line.values) else 0.0
            height = plot_h * value / top if top else 0
            x = x0 + bar_w * number
            y = TOP + plot_h - height
            css = bar_css[index] if bar_css and len(series) == 1 else line.css
            parts.append(
                f'<rect class="{escape(css)}" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{height:.1f}">'
                f"<title>{escape(label)}: {escape(line.name)} {escape(_fmt(value))}{escape(' ' + unit if unit else '')}"
                "</title></rect>"
            )
            if show_values and value:
                parts.append(
                    f'<text class="chart-value" x="{x + bar_w / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle">'
                    f"{escape(_fmt(value))}</text>"
                )
        if index % every == 0:
            cx = LEFT + slot * index + slot / 2
            parts.append(
                f'<text class="chart-label" x="{cx:.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    parts.append(
        f'<line class="chart-baseline" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}"/>'
    )
    if len(series) > 1:  # a legend, in words as well as colours
        x = LEFT
        for line in series:
            parts.append(f'<rect class="{escape(line.css)}" x="{x}" y="{HEIGHT - 18}" width="12" height="12"/>')
            parts.append(f'<text class="chart-label" x="{x + 16}" y="{HEIGHT - 8}">{escape(line.name)}</text>')
            x += 24 + 8 * len(line.name)
    parts.append("</svg>")
    return Markup("".join(parts))  # every text piece above is escaped
