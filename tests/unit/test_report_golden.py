"""The monthly report of the Thurrock example's November 2026, rendered for fixed data and a fixed
moment, against the files under tests/golden/. A change to the report shows as a diff here.

To accept a change on purpose, regenerate the files and review the diff before committing:

    COMMS_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_report_golden.py
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest

from pipeline.rendering.render import Renderer
from pipeline.reporting.files import render_report_html
from pipeline.reporting.report import build_report, report_csv
from tests.reportdata import AFTER, DURING, november

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
CASES = {
    "report-2026-11.html": (AFTER, "html"),
    "report-2026-11-to-date.html": (DURING, "html"),
    "report-2026-11-to-date.csv": (DURING, "csv"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_report_matches_its_golden_file(name: str) -> None:
    as_of, fmt = CASES[name]
    report = build_report(november(), as_of)
    got = render_report_html(Renderer(), report, as_of) if fmt == "html" else report_csv(report)
    path = GOLDEN / name
    if os.environ.get("COMMS_UPDATE_GOLDEN") == "1":
        path.write_text(got, encoding="utf-8", newline="")
        pytest.skip(f"wrote {path.name}: review the diff before committing it")
    assert path.is_file(), f"{path} is missing: run with COMMS_UPDATE_GOLDEN=1 to write it"
    want = path.read_bytes().decode("utf-8")  # as written: the CSV keeps its CRLF line ends
    assert got == want, f"{name} differs from its golden file (COMMS_UPDATE_GOLDEN=1 rewrites it)"


def test_the_golden_moments_are_fixed() -> None:
    assert datetime.fromisoformat("2026-12-01T09:00:00+00:00") == AFTER
    assert datetime.fromisoformat("2026-11-22T12:00:00+00:00") == DURING
