"""Writing the report as one self-contained HTML file (inline CSS and SVG, A4 print styles)."""

from __future__ import annotations

import calendar
from datetime import datetime
from pathlib import Path
from typing import Any

from pipeline.rendering.render import Renderer
from pipeline.reporting.charts import bars, sparkline


def render_report_html(renderer: Renderer, report: dict[str, Any], produced: datetime) -> str:
    year, month = (int(p) for p in report["month"].split("-"))
    rows = [
        (f"{o['code']}. {o['title']}", float(o["delivered"]), float(o["planned"]) or None, o["status"])
        for o in report["objectives"]
    ]
    return renderer.markup_page(
        "report/monthly.html.j2",
        {
            "r": report,
            "month_name": f"{calendar.month_name[month]} {year}",
            "produced": f"{produced:%d %B %Y %H:%M}",
            "objective_chart": bars(rows, title="Activities delivered against planned, by objective"),
            "spark": sparkline,
            "audience_names": {a["audience"]: a["name"] for a in report["audiences"]},
        },
    )


def write_report_html(renderer: Renderer, report: dict[str, Any], path: Path, produced: datetime) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report_html(renderer, report, produced), encoding="utf-8")
    return path
