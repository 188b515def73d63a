"""A small inline SVG trend line for the report: no scripts, no external files, print-friendly. It is
decoration beside the figures it draws, which the report prints as text."""

from __future__ import annotations

from markupsafe import Markup

from pipeline.reporting.palette import RULE


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
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" aria-hidden="true" '
        f'focusable="false"><polyline points="{coords}" fill="none" stroke="{RULE}" stroke-width="2"/></svg>'
    )
