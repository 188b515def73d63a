"""Writing the reports as self-contained HTML files: inline CSS, no scripts, nothing fetched; A4 print
styles with page numbers and table headers repeated on each page; a chart of HTML bars that wraps its
labels and fits a phone's width. Every colour comes from `pipeline.reporting.palette`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from pipeline.rendering.render import Renderer
from pipeline.reporting.charts import sparkline
from pipeline.reporting.palette import colours
from pipeline.reporting.report import AMBER, BANDS, GREEN, RATING_NAMES, STATES, day_label


def number(value: float | None, share: bool = False) -> str:
    """A figure as the report prints it: 'No data yet' when none was recorded; a share as a share."""
    if value is None:
        return "No data yet"
    if share:
        return f"{value:g}"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def signed(value: float | None, share: bool = False) -> str:
    """A change on last month: '+3,970', '-12', '+0.071'; '—' when either month has no data."""
    if value is None:
        return "—"
    if share or not float(value).is_integer():
        return f"{value:+g}"
    return f"{value:+,.0f}"


def plural(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def produced_label(moment: datetime) -> str:
    return f"{day_label(moment.date())} at {moment:%H:%M}"


def _helpers(produced: datetime) -> dict[str, Any]:
    return {
        "c": colours(),
        "produced": produced_label(produced),
        "rating_names": RATING_NAMES,
        "bands": BANDS,
        "states": STATES,
        "num": number,
        "signed": signed,
        "plural": plural,
        "spark": sparkline,
        "green_percent": round(100 * GREEN),
        "amber_percent": round(100 * AMBER),
    }


def render_report_html(renderer: Renderer, report: dict[str, Any], produced: datetime) -> str:
    return renderer.markup_page(
        "report/monthly.html.j2",
        {
            "r": report,
            "audience_names": {a["audience"]: a["name"] for a in report["audiences"]},
            **_helpers(produced),
        },
    )


def render_quarterly_html(renderer: Renderer, summary: dict[str, Any], produced: datetime) -> str:
    names = {o["audience"]: o["name"] for o in summary.get("audiences", [])}
    return renderer.markup_page(
        "report/quarterly.html.j2", {"q": summary, "audience_names": names, **_helpers(produced)}
    )


def write_report_html(renderer: Renderer, report: dict[str, Any], path: Path, produced: datetime) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report_html(renderer, report, produced), encoding="utf-8")
    return path
