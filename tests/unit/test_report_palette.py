"""Every colour pair the reports use meets WCAG 2.2 AA: 4.5:1 for text, 3:1 for a bar or outline that
carries meaning. The ratio is computed here, from the WCAG definition, not read from the palette."""

from __future__ import annotations

import re

import pytest

from pipeline.rendering.render import Renderer
from pipeline.reporting import palette
from pipeline.reporting.files import render_quarterly_html, render_report_html
from pipeline.reporting.report import build_report
from tests.reportdata import AFTER, november


def luminance(colour: str) -> float:
    """WCAG 2.2 relative luminance of an sRGB colour '#rrggbb'."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_formula_agrees_with_known_ratios() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#ffffff", "#ffffff") == pytest.approx(1.0)
    assert round(contrast("#ffffff", "#b36b00"), 2) == 4.18, "the old amber badge: under 4.5"
    assert round(contrast("#767676", "#ffffff"), 2) == 4.54


@pytest.mark.parametrize(("name", "fg", "bg"), palette.TEXT_PAIRS, ids=[p[0] for p in palette.TEXT_PAIRS])
def test_text_is_at_least_4_5_to_1(name: str, fg: str, bg: str) -> None:
    assert contrast(fg, bg) >= 4.5, f"{name}: {fg} on {bg} is {contrast(fg, bg):.2f}:1"


@pytest.mark.parametrize(("name", "fg", "bg"), palette.GRAPHIC_PAIRS, ids=[p[0] for p in palette.GRAPHIC_PAIRS])
def test_bars_and_outlines_are_at_least_3_to_1(name: str, fg: str, bg: str) -> None:
    assert contrast(fg, bg) >= 3.0, f"{name}: {fg} on {bg} is {contrast(fg, bg):.2f}:1"


def test_the_rendered_reports_use_no_colour_outside_the_palette() -> None:
    from tests.reportdata import DURING
    from tests.unit.test_report_trust import _quarter

    monthly = render_report_html(Renderer(), build_report(november(), AFTER), AFTER)
    quarterly = render_quarterly_html(Renderer(), _quarter(DURING, written=True), DURING)
    for html in (monthly, quarterly):
        styled = re.findall(r"<style>(.*?)</style>", html, re.S) + re.findall(
            r'(?:style|stroke|fill|color)="([^"]*)"', html
        )
        found = {c.lower() for css in styled for c in re.findall(r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b", css)}
        assert found and found <= palette.used(), found - palette.used()
        assert not re.search(r"\b(rgb|hsl)a?\(", html) and "color: white" not in html
