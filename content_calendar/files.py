"""Reading the team's files: text decoding, CSV dialects, YAML with line numbers, cell values.

Spreadsheets save CSV in many ways: a UTF-8 BOM, Windows-1252, semicolons, dates as serial numbers
or as 03/11/2026. Each is read correctly or gets one clear problem naming the file and line.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml

EXCEL_EPOCH = date(1899, 12, 30)


class CellError(ValueError):
    """A cell value that cannot be read; the message says what was expected."""


def read_text(path: Path) -> tuple[str, str | None]:
    """The file's text and a note when it was not UTF-8 (it was then read as Windows-1252)."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        if b"\x00" in raw:
            raise CellError(f"the file is not text (byte {exc.start} is not UTF-8); save it as CSV UTF-8") from None
        return raw.decode("cp1252", errors="replace"), "not UTF-8: read as Windows-1252"


def csv_rows(text: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header and (line number, row) pairs. The delimiter is sniffed from the header line."""
    first = text.split("\n", 1)[0]
    delimiter = max([",", ";", "\t"], key=first.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().lower().replace(" ", "_") for h in next(reader, [])]
    rows: list[tuple[int, dict[str, str]]] = []
    line = reader.line_num
    for cells in reader:
        start, line = line + 1, reader.line_num
        if not any(c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
            continue
        rows.append((start, {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header)}))
    return header, rows


class _LineLoader(yaml.SafeLoader):
    """A SafeLoader that records each mapping's line as the key `__line__`."""


def _mapping_with_line(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = {str(k): v for k, v in loader.construct_mapping(node, deep=True).items()}
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass


def parse_date(value: object) -> date:
    """ISO 8601, UK day-first (03/11/2026) or an Excel serial number (46329)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if re.fullmatch(r"\d{4,5}(\.0+)?", text):
        return EXCEL_EPOCH + timedelta(days=int(float(text)))
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y", "%d.%m.%Y", "%d %B %Y", "%d %b %Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise CellError(f"{text!r} is not a date (use 2026-11-03 or 03/11/2026)")


def parse_time(value: object) -> time:
    """09:00, 9:00, 09:00:00, or an Excel fraction of a day (0.375)."""
    if isinstance(value, time):
        return value
    if isinstance(value, int) and not isinstance(value, bool):  # YAML reads 09:00 as sexagesimal
        return time(value // 60, value % 60) if 0 <= value < 1440 else _bad_time(value)
    text = str(value).strip()
    if re.fullmatch(r"0?\.\d+", text):
        minutes = round(float(text) * 24 * 60)
        return time(minutes // 60, minutes % 60)
    m = re.fullmatch(r"(\d{1,2})[:.](\d{2})(?::(\d{2}))?", text)
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        return _bad_time(text)
    return time(int(m.group(1)), int(m.group(2)))


def _bad_time(value: object) -> time:
    raise CellError(f"{value!r} is not a time (use 24-hour HH:MM, e.g. 09:30)")


def split_list(value: object, separators: str = r"[;,|\n]") -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return tuple(str(v).strip() for v in value if str(v).strip())
    return tuple(part.strip() for part in re.split(separators, str(value)) if part.strip())
