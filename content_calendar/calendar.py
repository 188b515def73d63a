"""Calendar files (CSV or YAML): read every entry, check it against the strategy, report every problem.

Loading is all or nothing: `load_calendar` returns entries only when every file is clean. Every field's
type is checked (YAML can put a list or a mapping anywhere), every number has bounds, and an entry that
never happens, or a set of files with no entries at all, is a problem rather than an empty plan.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import time
from pathlib import Path
from typing import Any

import yaml

from content_calendar.errors import CalendarError, Problem
from content_calendar.files import (
    CellError,
    csv_rows,
    describe,
    is_scalar,
    load_yaml,
    parse_plan_date,
    parse_time,
    read_text,
    split_list,
    yaml_problem,
)
from content_calendar.models import ON_COLLISION, POLICIES, Channel, Entry, Strategy
from content_calendar.repeat import RepeatError, happens, to_rrule

REQUIRED = ("id", "title", "channel", "objectives", "start_date", "time")
LIST_FIELDS = ("audiences", "objectives", "key_messages", "pin")
BANNED_HOUR = 1  # 01:00-01:59 local happens twice or not at all on the clock-change days
MISSED_AFTER_HOURS = (1, 744)  # an hour to 31 days
WINDOW_DAYS = (1, 366)  # how far back an edition's national messages may go
EDITION_KINDS = frozenset({"email", "notify"})  # channels whose occurrences are editions (pins apply)
PIN = re.compile(r"https?://\S+|[A-Za-z0-9][A-Za-z0-9._-]{0,119}")  # a link, or a story's file name without .md


class _Row:
    """One row being checked: reads fields and records a problem for each bad one."""

    def __init__(self, file: str, line: int, data: dict[str, Any], problems: list[Problem]) -> None:
        self.file, self.line, self.data, self.problems = file, line, data, problems

    def bad(self, field: str, message: str) -> None:
        self.problems.append(Problem(self.file, self.line, field, message))

    def text(self, field: str) -> str:
        value = self.data.get(field)
        return "" if value is None or not is_scalar(value) else str(value).strip()

    def given(self, field: str) -> bool:
        value = self.data.get(field)
        return bool(split_list(value)) if isinstance(value, list) else bool(self.text(field))

    def check_types(self) -> None:
        """A problem for each field holding what no cell could: a list or mapping where text belongs."""
        for field, value in self.data.items():
            if value is None or is_scalar(value) or field == "__line__":
                continue
            if field in LIST_FIELDS and isinstance(value, list) and all(is_scalar(v) for v in value):
                continue
            wanted = "text or a list of text" if field in LIST_FIELDS else "text"
            self.bad(str(field), f"must be {wanted}, not {describe(value)}")

    def choice(self, field: str, allowed: Iterable[str], default: str | None) -> str | None:
        value = self.text(field).lower().removeprefix("approval ")
        if not value:
            return default
        if value not in allowed:
            self.bad(field, f"must be one of {', '.join(allowed)}, not {value!r}")
        return value


def _codes(row: _Row, field: str, known: set[str], what: str) -> tuple[str, ...]:
    codes = split_list(row.data.get(field))
    for code in codes:
        if code not in known:
            row.bad(field, f"unknown {what} {code!r} (the strategy has: {', '.join(sorted(known))})")
    return codes


def _when(row: _Row) -> tuple[Any, time | None, Any]:
    start = until = at = None
    try:
        start = parse_plan_date(row.data.get("start_date") or row.data.get("date") or row.data.get("start"))
    except CellError as exc:
        row.bad("start_date", str(exc))
    try:
        at = parse_time(row.data.get("time"))
        if at.hour == BANNED_HOUR:
            row.bad("time", f"{at:%H:%M} is in 01:00-02:00, which the clock changes skip or repeat; pick another time")
    except CellError as exc:
        row.bad("time", str(exc))
    if row.text("until"):
        try:
            until = parse_plan_date(row.data["until"])
            if start and until < start:
                row.bad("until", f"{until} is before the start date {start}")
        except CellError as exc:
            row.bad("until", str(exc))
    return start, at, until


def _missed_after(row: _Row) -> int:
    text, (low, high) = row.text("missed_after_hours"), MISSED_AFTER_HOURS
    try:
        hours = int(text or 24)
    except ValueError:
        hours = low - 1
    if not low <= hours <= high:
        row.bad("missed_after_hours", f"must be a whole number of hours from {low} to {high}, not {text!r}")
        return 24
    return hours


def _window_days(row: _Row) -> int | None:
    text, (low, high) = row.text("window_days"), WINDOW_DAYS
    if not text:
        return None
    if not text.isdigit() or not low <= int(text) <= high:
        row.bad("window_days", f"must be a whole number of days from {low} to {high}, not {text!r}")
        return None
    return int(text)


def _pins(row: _Row, channel: Channel | None) -> tuple[str, ...]:
    """What an entry's editions may repeat: stories by file name (without .md) and links."""
    value = row.data.get("pin")
    if isinstance(value, dict) or (isinstance(value, list) and not all(is_scalar(v) for v in value)):
        return ()  # check_types said so
    pins = split_list(value, r"[;\n]")
    for pin in pins:
        if not PIN.fullmatch(pin):
            row.bad("pin", f"{pin[:60]!r} is neither a story's file name (without .md) nor an http(s) link")
    if pins and channel is not None and channel.kind not in EDITION_KINDS:
        row.bad("pin", f"only editions repeat what was sent before, and {channel.code} is a {channel.kind} channel")
    return pins


def _never_happens(entry: Entry, strategy: Strategy) -> str | None:
    """Why an entry has no occurrence from its start to its until, or None."""
    if happens(entry.repeat, entry.start, entry.at, entry.until, strategy.terms):
        return None
    if entry.repeat and to_rrule(entry.repeat) is None:
        return "no school term in strategy.yaml starts or ends between the start date and until"
    return f"{entry.repeat} never happens between {entry.start} and {entry.until or 'the end of 2099'}"


def _entry(row: _Row, strategy: Strategy) -> Entry | None:
    before = len(row.problems)
    row.check_types()
    for field in REQUIRED:
        if not row.given(field) and not (field == "start_date" and (row.given("date") or row.given("start"))):
            row.bad(field, "is required")
    channel = strategy.channel(row.text("channel"))
    if row.text("channel") and channel is None:
        row.bad(
            "channel",
            f"unknown channel {row.text('channel')!r} (the strategy has: "
            f"{', '.join(c.code for c in strategy.channels)})",
        )
    objectives = _codes(row, "objectives", {o.code for o in strategy.objectives}, "objective")
    audiences = _codes(row, "audiences", {a.code for a in strategy.audiences}, "audience")
    start, at, until = _when(row)
    repeat = row.text("repeat") or None
    if repeat:
        try:
            to_rrule(repeat)
        except RepeatError as exc:
            row.bad("repeat", str(exc))
    approval = row.choice("approval", ("required", "auto"), "required")
    policies = {f: row.choice(f, POLICIES, None) for f in ("on_bank_holiday", "on_school_holiday", "on_pre_election")}
    missed_after = _missed_after(row)
    pins, window_days = _pins(row, channel), _window_days(row)
    on_collision = row.choice("on_collision", ON_COLLISION, None)
    if len(row.problems) > before or start is None or at is None:
        return None
    entry = Entry(
        id=row.text("id"),
        title=row.text("title"),
        channel=row.text("channel"),
        audiences=audiences,
        objectives=objectives,
        template=row.text("template") or (channel and channel.template) or "post",
        start=start,
        at=at,
        key_messages=split_list(row.data.get("key_messages"), r"\||\n"),
        owner=row.text("owner"),
        repeat=repeat,
        until=until,
        approval=approval,  # type: ignore[arg-type]
        on_bank_holiday=policies["on_bank_holiday"] or "move",  # type: ignore[arg-type]
        on_school_holiday=policies["on_school_holiday"] or "keep",  # type: ignore[arg-type]
        on_pre_election=policies["on_pre_election"],  # type: ignore[arg-type]
        missed_after_hours=missed_after,
        pin=pins,
        window_days=window_days,
        on_collision=on_collision,  # type: ignore[arg-type]
        source=row.file,
        line=row.line,
    )
    if reason := _never_happens(entry, strategy):
        row.bad("repeat" if entry.repeat else "until", reason)
        return None
    return entry


def _raw_rows(path: Path, problems: list[Problem]) -> list[tuple[int, dict[str, Any]]]:
    try:
        text, _note = read_text(path)
    except (OSError, CellError) as exc:
        problems.append(Problem(str(path), 0, "file", str(exc)))
        return []
    if path.suffix.lower() in (".yaml", ".yml"):
        return _yaml_rows(path, text, problems)
    try:
        header, rows = csv_rows(text)
    except CellError as exc:
        problems.append(Problem(str(path), exc.line, "file", str(exc)))
        return []
    missing = [f for f in REQUIRED if f not in header and not (f == "start_date" and {"date", "start"} & set(header))]
    if missing:
        problems.append(Problem(str(path), 1, "header", f"missing column(s): {', '.join(missing)}"))
        return []
    return rows


def _yaml_rows(path: Path, text: str, problems: list[Problem]) -> list[tuple[int, dict[str, Any]]]:
    """A YAML calendar is a list of entries, or a mapping whose `entries` is one; each entry a mapping."""
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        line, message = yaml_problem(exc)
        problems.append(Problem(str(path), line, "yaml", message))
        return []
    line = data.get("__line__", 1) if isinstance(data, dict) else 1
    items = data.get("entries") if isinstance(data, dict) else data
    if items is None:
        return []
    if not isinstance(items, list):
        problems.append(Problem(str(path), line, "entries", f"must be a list of entries, not {describe(items)}"))
        return []
    rows = []
    for item in items:
        if isinstance(item, dict):
            rows.append((item.pop("__line__", 0), item))
        else:
            problems.append(Problem(str(path), line, "entries", f"each entry must be a mapping, not {describe(item)}"))
    return rows


def check_calendar(paths: list[Path], strategy: Strategy) -> tuple[list[Entry], list[Problem]]:
    """Every entry that is clean, and every problem found, across all the files."""
    entries: list[Entry] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for path in paths:
        for line, data in _raw_rows(path, problems):
            row = _Row(str(path), line, data, problems)
            entry = _entry(row, strategy)
            entry_id = row.text("id")
            if entry_id and entry_id in seen:
                row.bad("id", f"duplicate id {entry_id!r} (first used at {seen[entry_id]})")
                continue
            if entry_id:
                seen[entry_id] = f"{path}:{line}"
            if entry is not None:
                entries.append(entry)
    if paths and not entries and not problems:
        problems.append(
            Problem(str(paths[0]), 1, "entries", "no entries in the calendar files: nothing would be planned")
        )
    return entries, sorted(problems)


def load_calendar(paths: list[Path], strategy: Strategy) -> list[Entry]:
    """All entries from all files, or CalendarError listing every problem: nothing partly loaded."""
    entries, problems = check_calendar(paths, strategy)
    if problems:
        raise CalendarError(problems)
    return entries
