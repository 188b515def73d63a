"""Small inline SVG charts for the report: no scripts, no external files, print-friendly."""

from __future__ import annotations

from html import escape

from markupsafe import Markup

COLOURS = {"green": "#1b7a3a", "amber": "#b36b00", "red": "#b3261e", "none": "#1d4f91"}


def bars(
    rows: list[tuple[str, float, float | None, str]], width: int = 640, label_width: int = 190, title: str = ""
) -> Markup:
    """Horizontal bars: (label, value, target or None, status). A target is drawn as a dark tick."""
    height = 26 * len(rows) + 8
    top = max([max(v, t or 0) for _, v, t, _ in rows] + [1.0])
    span = width - label_width - 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><title>{escape(title)}</title>'
    ]
    for i, (label, value, target, status) in enumerate(rows):
        y = 4 + i * 26
        w = span * value / top
        parts.append(f'<text x="0" y="{y + 15}" font-size="12" fill="#1f2933">{escape(label[:30])}</text>')
        parts.append(
            f'<rect x="{label_width}" y="{y + 3}" width="{w:.1f}" height="16" '
            f'fill="{COLOURS.get(status, COLOURS["none"])}"/>'
        )
        if target:
            tx = label_width + span * target / top
            parts.append(f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{y}" y2="{y + 22}" stroke="#111" stroke-width="2"/>')
        parts.append(
            f'<text x="{label_width + w + 4:.1f}" y="{y + 15}" font-size="12" fill="#1f2933">'
            f"{value:g}{f' / {target:g}' if target else ''}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text part is escaped above


def sparkline(values: list[float | None], width: int = 90, height: int = 22) -> Markup:
    points = [v for v in values if v is not None]
    if len(points) < 2:
        return Markup("")
    top, low = max(points), min(points)
    spread = (top - low) or 1.0
    step = width / (len(values) - 1)
    coords = " ".join(
        f"{i * step:.1f},{height - 3 - (v - low) / spread * (height - 6):.1f}"
        for i, v in enumerate(values)
        if v is not None
    )
    return Markup(  # noqa: S704 - numbers only
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" aria-hidden="true">'
        f'<polyline points="{coords}" fill="none" stroke="#1d4f91" stroke-width="2"/></svg>'
    )
