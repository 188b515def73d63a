"""Reading the team's files: text decoding, CSV dialects, YAML with line numbers, cell values.

Spreadsheets save CSV in many ways: a UTF-8 BOM, Windows-1252, semicolons, CR-only line endings,
dates as serial numbers or as 03/11/2026. Each is read correctly or gets one clear problem naming the
file and line. YAML is read with limits on nesting and on what aliases expand to, so a hostile file is
refused quickly instead of exhausting memory or the stack.
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
MAX_FILE_BYTES = 20_000_000  # a 10,000-entry calendar is about 3 MB
MAX_YAML_DEPTH = 40  # strategy.yaml nests about 6 deep
MAX_YAML_NODES = 1_000_000  # values in a YAML file once every alias is expanded
PLAN_YEARS = (2000, 2099)  # dates a plan may name; keeps every offset inside what a date can hold


class CellError(ValueError):
    """A cell value that cannot be read; the message says what was expected."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.line = line


def read_text(path: Path) -> tuple[str, str | None]:
    """The file's text and a note when it was not UTF-8 (it was then read as Windows-1252)."""
    if path.stat().st_size > MAX_FILE_BYTES:
        raise CellError(f"the file is larger than {MAX_FILE_BYTES // 1_000_000} MB; split it")
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        if b"\x00" in raw:
            raise CellError(f"the file is not text (byte {exc.start} is not UTF-8); save it as CSV UTF-8") from None
        return raw.decode("cp1252", errors="replace"), "not UTF-8: read as Windows-1252"


def _unguard(cell: str) -> str:
    """Drop the apostrophe a spreadsheet-safe export puts before a cell starting = + - or @."""
    return cell[1:] if cell[:1] == "'" and cell[1:2] in ("=", "+", "-", "@") else cell


def csv_rows(text: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header and (line number, row) pairs. The delimiter is sniffed from the header line.

    Lines may end in LF, CRLF or CR alone (old Excel for Mac). A cell the csv module cannot read (one
    longer than its field limit, say) raises CellError carrying the line it starts on.
    """
    first = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]
    delimiter = max([",", ";", "\t"], key=first.count)
    # newline="" hands the csv module the raw line endings, which it reads in all three forms.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, dict[str, str]]] = []
    line = 0
    try:
        header = [h.strip().lower().replace(" ", "_") for h in next(reader, [])]
        line = reader.line_num
        for cells in reader:
            start, line = line + 1, reader.line_num
            if not any(c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
                continue
            cells = [_unguard(c.strip()) for c in cells]
            rows.append((start, {h: (cells[i] if i < len(cells) else "") for i, h in enumerate(header)}))
    except csv.Error as exc:
        limit = csv.field_size_limit()
        reason = f"a cell is longer than {limit:,} characters" if "field limit" in str(exc) else str(exc)
        raise CellError(f"cannot read the CSV: {reason}", line + 1) from None
    return header, rows


class _LineLoader(yaml.SafeLoader):
    """A SafeLoader that records each mapping's line as the key `__line__`, and refuses a document
    nested deeper than MAX_YAML_DEPTH, an alias to a node that contains it, and aliases that expand
    to more than MAX_YAML_NODES values ("billion laughs"). Every refusal is a MarkedYAMLError."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._open: set[str] = set()  # anchors of the collections being composed
        self._sizes: dict[int, int] = {}  # id of a composed node -> values it holds, aliases expanded
        self._total = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            node = super().compose_node(parent, index)
            if event.anchor in self._open:
                raise _refusal(f"the alias *{event.anchor} refers to a value that contains it", event.start_mark)
            self._count(self._sizes.get(id(node), 1), event.start_mark)
            return node
        event = self.peek_event()
        if self._depth >= MAX_YAML_DEPTH:
            raise _refusal(f"nested more than {MAX_YAML_DEPTH} levels deep", event.start_mark)
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        return node

    def compose_sequence_node(self, anchor: Any) -> yaml.SequenceNode:  # the stubs say dict; it is str | None
        return self._collection(super().compose_sequence_node, anchor)  # type: ignore[return-value]

    def compose_mapping_node(self, anchor: Any) -> yaml.MappingNode:
        return self._collection(super().compose_mapping_node, anchor)  # type: ignore[return-value]

    def compose_scalar_node(self, anchor: Any) -> yaml.ScalarNode:
        node = super().compose_scalar_node(anchor)
        self._sizes[id(node)] = 1
        self._count(1, node.start_mark)
        return node

    def _collection(self, compose: Any, anchor: str | None) -> yaml.Node:
        mark = self.peek_event().start_mark
        before = self._total
        if anchor is not None:
            self._open.add(anchor)
        node: yaml.Node = compose(anchor)
        self._open.discard(anchor or "")
        self._sizes[id(node)] = self._total - before + 1
        self._count(1, mark)
        return node

    def _count(self, values: int, mark: yaml.Mark) -> None:
        self._total += values
        if self._total > MAX_YAML_NODES:
            raise _refusal(f"aliases expand to more than {MAX_YAML_NODES:,} values", mark)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, OverflowError) as exc:  # 2026-02-30 matches the date pattern
            what = repr(node.value)[:40] if isinstance(node, yaml.ScalarNode) else node.tag
            raise yaml.constructor.ConstructorError(None, None, f"cannot read {what}: {exc}", node.start_mark) from None


def _refusal(problem: str, mark: yaml.Mark) -> yaml.composer.ComposerError:
    return yaml.composer.ComposerError(None, None, problem, mark)


def _mapping_with_line(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = {str(k): v for k, v in loader.construct_mapping(node, deep=True).items()}
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


def load_yaml(text: str) -> Any:
    """The document, or yaml.YAMLError (a MarkedYAMLError with the line, for every refusal of ours)."""
    return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass


def yaml_problem(exc: yaml.YAMLError) -> tuple[int, str]:
    """The line (0 when unknown) and a one-line message for a YAML error."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return (mark.line + 1 if mark else 0), str(problem)


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
        return time(minutes // 60, minutes % 60) if minutes < 1440 else _bad_time(text)
    m = re.fullmatch(r"(\d{1,2})[:.](\d{2})(?::(\d{2}))?", text)
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        return _bad_time(text)
    return time(int(m.group(1)), int(m.group(2)))


def parse_plan_date(value: object) -> date:
    """parse_date, for a date a plan can name: in the years PLAN_YEARS."""
    if isinstance(value, list | tuple | dict | set | bool):
        raise CellError(f"must be a date, not {describe(value)}")
    day = parse_date(value)
    if not PLAN_YEARS[0] <= day.year <= PLAN_YEARS[1]:
        raise CellError(f"{day.isoformat()} is not between {PLAN_YEARS[0]} and {PLAN_YEARS[1]}")
    return day


def describe(value: object) -> str:
    """What a YAML value is, as a person would say it: 'a list', 'a mapping', 'the number 3'."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple | set):
        return "a list"
    if isinstance(value, bool):
        return f"{str(value).lower()} (quote it if you mean the text)"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, bytes):
        return "binary data"
    if value is None:
        return "nothing"
    return f"{str(value)[:40]!r}"


def is_scalar(value: object) -> bool:
    """Text, a number or a date: something one cell can hold."""
    return isinstance(value, str | int | float | date | time) and not isinstance(value, bool)


def _bad_time(value: object) -> time:
    raise CellError(f"{value!r} is not a time (use 24-hour HH:MM, e.g. 09:30)")


def split_list(value: object, separators: str = r"[;,|\n]") -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return tuple(str(v).strip() for v in value if str(v).strip())
    return tuple(part.strip() for part in re.split(separators, str(value)) if part.strip())
