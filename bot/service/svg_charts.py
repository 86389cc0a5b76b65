"""Charts as inline SVG, rendered on the server: no chart library, no script, works under a
strict CSP. Every label is escaped (intent names and roles come from the database).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from markupsafe import Markup

# Outcome colours, readable on white and by the colour-blind (blue / orange / red-purple).
COLOURS = {"answer": "#2b6cb0", "route": "#dd8a1e", "emergency": "#b0245c"}
LABELS = {"answer": "answered", "route": "routed", "emergency": "emergency"}
SERIES = ("answer", "route", "emergency")


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _open(width: int, height: float, title: str, ident: str) -> str:
    return (
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height:.0f}" '
        f'role="img" aria-labelledby="{ident}"><title id="{ident}">{_e(title)}</title>'
    )


def _text(x: float, y: float, body: str, size: int = 12, anchor: str = "start") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}">{body}</text>'


def stacked_bars(
    days: Sequence[tuple[str, dict[str, int]]],
    title: str,
    series: Sequence[str] = SERIES,
    width: int = 560,
    height: int = 240,
    colours: Mapping[str, str] = COLOURS,
    labels: Mapping[str, str] = LABELS,
) -> Markup:
    """One bar per day, stacked by outcome. `days` is [(label, {series: count})]."""
    left, right, top, bottom = 30, 6, 16, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    base = top + plot_h
    peak = max([sum(c.get(s, 0) for s in series) for _, c in days] + [1])
    step = plot_w / max(len(days), 1)
    bar_w = max(step * 0.7, 1.0)
    parts = [
        _open(width, height, title, "chart-stacked"),
        f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" stroke="#888"/>',
        _text(left - 4, top + 4, str(peak), anchor="end"),
        _text(left - 4, base, "0", anchor="end"),
    ]
    label_every = max(1, -(-len(days) // 6))  # at most about six date labels
    for i, (label, counts) in enumerate(days):
        x = left + i * step + (step - bar_w) / 2
        y = float(base)
        for s in series:
            n = counts.get(s, 0)
            if not n:
                continue
            h = plot_h * n / peak
            y -= h
            parts.append(
                f'<rect class="bar-{_e(s)}" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}" fill="{colours.get(s, "#666")}">'
                f"<title>{_e(label)}: {n} {_e(labels.get(s, s))}</title></rect>"
            )
        if i % label_every == 0:
            parts.append(_text(x + bar_w / 2, base + 16, _e(label), anchor="middle"))
    lx = float(left)
    for s in series:
        colour = colours.get(s, "#666")
        parts.append(f'<rect x="{lx:.0f}" y="{height - 14}" width="12" height="12" fill="{colour}"/>')
        parts.append(_text(lx + 16, height - 4, _e(labels.get(s, s)), size=13))
        lx += 110
    parts.append("</svg>")
    return Markup("".join(parts))


def horizontal_bars(
    rows: Sequence[tuple[str, float]],
    title: str,
    width: int = 420,
    bar_h: int = 20,
    value_format: str = "{:g}",
) -> Markup:
    """One labelled bar per row, in the order given: [(label, value)]."""
    label_w, gap, top = 196, 6, 4
    height = top + max(len(rows), 1) * (bar_h + gap) + 2
    peak = max([v for _, v in rows] + [1e-9])
    plot_w = width - label_w - 50
    parts = [_open(width, height, title, "chart-hbar-" + str(abs(hash(title)) % 10_000))]
    if not rows:
        parts.append(_text(4, top + bar_h - 5, "no data yet", size=13))
    for i, (label, value) in enumerate(rows):
        y = top + i * (bar_h + gap)
        w = plot_w * value / peak
        shown = label if len(label) <= 24 else label[:23] + "…"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + bar_h - 6}" text-anchor="end" font-size="13">'
            f"{_e(shown)}<title>{_e(label)}</title></text>"
        )
        parts.append(
            f'<rect class="hbar" x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="#2b6cb0"/>'
        )
        parts.append(_text(label_w + w + 4, y + bar_h - 6, _e(value_format.format(value)), 13))
    parts.append("</svg>")
    return Markup("".join(parts))


def sparkline(counts: Sequence[int], title: str, width: int = 96, height: int = 22) -> Markup:
    """A row of small bars (one per period, oldest first), for "how often, lately" in a list."""
    peak = max([*counts, 1])
    step = width / max(len(counts), 1)
    parts = [
        f'<svg class="spark" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img"><title>{_e(title)}</title>'
    ]
    for i, n in enumerate(counts):
        h = max((height - 2) * n / peak, 1.0 if n else 0.0)
        parts.append(
            f'<rect x="{i * step + 1:.1f}" y="{height - h:.1f}" width="{max(step - 2, 1):.1f}" '
            f'height="{h:.1f}" fill="#2b6cb0"/>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
