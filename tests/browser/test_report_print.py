"""The monthly report in a real browser (Debian's chromium through Playwright): printed to A4 PDF it has
numbered pages, no page left largely blank, and a table split across pages repeats its header; on a
360px phone nothing is cut or wider than the screen; and it passes axe-core (WCAG 2.2 A and AA)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline.records import OutboxItem
from pipeline.rendering.render import Renderer
from pipeline.reporting.files import render_report_html
from pipeline.reporting.report import build_report
from tests.browser.conftest import axe_violations
from tests.reportdata import AFTER, november

pytestmark = pytest.mark.browser
pypdf = pytest.importorskip("pypdf", reason="pypdf is not installed (pip install -e '.[test]')")

A4_HEIGHT = 842  # points
FOOTER = 60  # the page number's band at the foot of the page, in points
FAILURES_HEADER = "Activity Channel Due What happened Why"


def _write(tmp_path: Path, report: dict[str, Any], name: str = "report.html") -> str:
    path = tmp_path / name
    path.write_text(render_report_html(Renderer(), report, AFTER), encoding="utf-8")
    return path.as_uri()


def _pdf(browser: Any, url: str, tmp_path: Path) -> Any:
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.goto(url)
    out = tmp_path / "report.pdf"
    page.pdf(path=str(out), format="A4")
    context.close()
    return pypdf.PdfReader(str(out))


def _lowest_text(page: Any) -> float:
    """The lowest y (points from the foot of the page) of any body text, the page number left out."""
    ys: list[float] = []

    def visit(text: str, cm: list[float], tm: list[float], _font: Any, _size: Any) -> None:
        if text.strip():
            ys.append(tm[5] * cm[3] + cm[5])

    page.extract_text(visitor_text=visit)
    return min(y for y in ys if y > FOOTER)


def _lines(page: Any) -> list[str]:
    return [" ".join(line.split()) for line in page.extract_text().splitlines() if line.strip()]


def test_printed_on_a4_it_has_numbered_pages_and_no_page_left_largely_blank(browser: Any, tmp_path: Path) -> None:
    pdf = _pdf(browser, _write(tmp_path, build_report(november(), AFTER)), tmp_path)
    pages = len(pdf.pages)
    assert 2 <= pages <= 3, f"the report prints on {pages} A4 pages"
    for number, page in enumerate(pdf.pages, start=1):
        assert f"Page {number} of {pages}" in _lines(page), f"page {number} is numbered"
        assert abs(float(page.mediabox.height) - A4_HEIGHT) < 2, "A4: 297 mm"
        if number < pages:
            blank = _lowest_text(page) - FOOTER
            assert blank < A4_HEIGHT / 6, f"page {number} ends with {blank / 72 * 25.4:.0f} mm blank"


def test_a_table_split_across_pages_repeats_its_header(browser: Any, tmp_path: Path) -> None:
    data = november()
    template = next(i for i in data.items if i.status == "failed")
    failed: list[OutboxItem] = [
        replace(template, id=1000 + n, occurrence_key=f"extra-{n}@2026-11-20", title=f"Extra post {n}",
                due_at=template.due_at + timedelta(minutes=n))
        for n in range(70)
    ]  # fmt: skip
    report = build_report(replace(data, items=data.items + tuple(failed)), AFTER)
    assert len(report["failures"]) == 75 and report["summary"]["not_delivered_in_full"] == 75
    pdf = _pdf(browser, _write(tmp_path, report), tmp_path)
    with_rows = [p for p in pdf.pages if any(line.startswith("Extra post") for line in _lines(p))]
    assert len(with_rows) >= 2, "the failures table runs over more than one page"
    for page in with_rows:
        lines = _lines(page)
        first_row = next(i for i, line in enumerate(lines) if line.startswith(("Extra post", "Keeping Thurrock")))
        assert FAILURES_HEADER in " ".join(lines[:first_row]), "each page of the table starts with its header row"


def test_on_a_360px_phone_nothing_is_cut_or_wider_than_the_screen(browser: Any, tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="en-GB", device_scale_factor=2)
    page = context.new_page()
    page.goto(_write(tmp_path, build_report(november(), AFTER)))
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    chart = page.locator("figure.chart")
    assert chart.evaluate("e => e.scrollWidth <= e.clientWidth")
    box = chart.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360
    labels = page.locator(".bar-label")
    assert labels.count() == 6
    for i in range(6):
        label = labels.nth(i)
        assert label.evaluate("e => e.scrollWidth <= e.clientWidth && e.scrollHeight <= e.clientHeight + 1")
        assert label.evaluate("e => getComputedStyle(e).textOverflow") != "ellipsis"
    assert labels.nth(1).inner_text() == "2. Identify reactive opportunities and flag for support"
    context.close()


def test_the_report_passes_axe(page: Any, tmp_path: Path) -> None:
    page.goto(_write(tmp_path, build_report(november(), AFTER)))
    assert axe_violations(page) == []
    page.set_viewport_size({"width": 360, "height": 740})
    assert axe_violations(page) == [], "at phone width"


def test_the_quarterly_summary_prints_numbered_and_passes_axe(page: Any, browser: Any, tmp_path: Path) -> None:
    from pipeline.reporting.files import render_quarterly_html
    from tests.reportdata import DURING
    from tests.unit.test_report_trust import _quarter

    path = tmp_path / "quarter.html"
    path.write_text(render_quarterly_html(Renderer(), _quarter(DURING, written=True), DURING), encoding="utf-8")
    page.goto(path.as_uri())
    assert axe_violations(page) == []
    pdf = _pdf(browser, path.as_uri(), tmp_path)
    pages = len(pdf.pages)
    assert all(f"Page {n} of {pages}" in _lines(p) for n, p in enumerate(pdf.pages, start=1))
