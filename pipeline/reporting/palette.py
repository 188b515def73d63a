"""The reports' colours, in one place: the templates take every colour from here, and
`tests/unit/test_report_palette.py` computes the WCAG contrast of every pair used, so a colour that
falls under 4.5:1 for text (3:1 for a bar or a border that carries meaning) fails a test.

The rating tags are dark text on a pale tint (the GOV.UK tag colours), so each reads at well over
4.5:1, on screen and printed, and each says its rating in words: colour is never the only cue.
"""

from __future__ import annotations

PAGE = "#ffffff"
TEXT = "#1f2933"
MUTED = "#3e4c59"  # secondary text: dates, notes, captions
HEAD = "#eef1f4"  # table header cells
NOTE = "#f5f7fa"  # a notice's background
RULE = "#1d4f91"  # headings' rule and the sparkline
BORDER = "#9aa5b1"  # table cell borders: decorative (each cell's text stands alone)
TRACK = "#616e7c"  # the outline of a bar's track: shows where 100% is

# rating -> (text, background, border)
TAGS: dict[str, tuple[str, str, str]] = {
    "green": ("#005a30", "#cce2d8", "#cce2d8"),
    "amber": ("#594d00", "#fff7bf", "#fff7bf"),
    "red": ("#942514", "#f6d7d2", "#f6d7d2"),
    "nodata": ("#383f43", "#ffffff", "#616e7c"),  # outlined, unfilled: no data is not a rating
    "none": ("#383f43", "#f3f2f1", "#f3f2f1"),
    "notstarted": ("#383f43", "#f3f2f1", "#f3f2f1"),
}

# delivery band -> the bar's fill (against the page)
BARS: dict[str, str] = {
    "all": "#00703c",
    "most": "#a15c00",
    "few": "#b3261e",
    "nothing-due": "#ffffff",
}

TEXT_PAIRS: tuple[tuple[str, str, str], ...] = (
    ("text on the page", TEXT, PAGE),
    ("text in a table header", TEXT, HEAD),
    ("text in a notice", TEXT, NOTE),
    ("secondary text on the page", MUTED, PAGE),
    ("secondary text in a table header", MUTED, HEAD),
    ("secondary text in a notice", MUTED, NOTE),
    ("a heading's rule colour as text", RULE, PAGE),
    *((f"the {name} tag", fg, bg) for name, (fg, bg, _border) in TAGS.items()),
)

GRAPHIC_PAIRS: tuple[tuple[str, str, str], ...] = (
    *((f"the {name} bar", fill, PAGE) for name, fill in BARS.items() if name != "nothing-due"),
    ("a bar's track outline", TRACK, PAGE),
    ("the no-data tag's outline", TAGS["nodata"][2], PAGE),
    ("the sparkline", RULE, PAGE),
)


def colours() -> dict[str, object]:
    """The palette as the templates read it."""
    return {
        "page": PAGE,
        "text": TEXT,
        "muted": MUTED,
        "head": HEAD,
        "note": NOTE,
        "rule": RULE,
        "border": BORDER,
        "track": TRACK,
        "tags": TAGS,
        "bars": BARS,
    }


def used() -> set[str]:
    """Every colour the palette holds."""
    return {PAGE, TEXT, MUTED, HEAD, NOTE, RULE, BORDER, TRACK, *BARS.values()} | {
        c for pair in TAGS.values() for c in pair
    }
