"""Calendar files (CSV or YAML): read every entry, check it against the strategy, report every problem.

Loading is all or nothing: `load_calendar` returns entries only when every file is clean.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import time
from pathlib import Path
from typing import Any

import yaml

from content_calendar.errors import CalendarError, Problem
from content_calendar.files import CellError, csv_rows, load_yaml, parse_date, parse_time, read_text, split_list
from content_calendar.models import POLICIES, Entry, Strategy
from content_calendar.repeat import RepeatError, to_rrule

REQUIRED = ("id", "title", "channel", "objectives", "start_date", "time")
BANNED_HOUR = 1  # 01:00-01:59 local happens twice or not at all on the clock-change days


class _Row:
    """One row being checked: reads fields and records a problem for each bad one."""

    def __init__(self, file: str, line: int, data: dict[str, Any], problems: list[Problem]) -> None:
        self.file, self.line, self.data, self.problems = file, line, data, problems

    def bad(self, field: str, message: str) -> None:
        self.problems.append(Problem(self.file, self.line, field, message))

    def text(self, field: str) -> str:
        value = self.data.get(field)
        return "" if value is None else str(value).strip()

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
        start = parse_date(row.data.get("start_date") or row.data.get("date") or row.data.get("start"))
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
            until = parse_date(row.data["until"])
            if start and until < start:
                row.bad("until", f"{until} is before the start date {start}")
        except CellError as exc:
            row.bad("until", str(exc))
    return start, at, until


def _entry(row: _Row, strategy: Strategy) -> Entry | None:
    before = len(row.problems)
    for field in REQUIRED:
        if not row.text(field) and not (field == "start_date" and (row.text("date") or row.text("start"))):
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
    try:
        missed_after = int(row.text("missed_after_hours") or 24)
    except ValueError:
        row.bad("missed_after_hours", "must be a whole number of hours")
        missed_after = 24
    if len(row.problems) > before or start is None or at is None:
        return None
    return Entry(
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
        source=row.file,
        line=row.line,
    )


def _raw_rows(path: Path, problems: list[Problem]) -> list[tuple[int, dict[str, Any]]]:
    try:
        text, _note = read_text(path)
    except (OSError, CellError) as exc:
        problems.append(Problem(str(path), 0, "file", str(exc)))
        return []
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            data = load_yaml(text) or []
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            problems.append(Problem(str(path), mark.line + 1 if mark else 0, "yaml", str(exc).splitlines()[0]))
            return []
        items = data.get("entries", []) if isinstance(data, dict) else data
        return [(item.pop("__line__", 0), item) for item in items if isinstance(item, dict)]
    header, rows = csv_rows(text)
    missing = [f for f in REQUIRED if f not in header and not (f == "start_date" and {"date", "start"} & set(header))]
    if missing:
        problems.append(Problem(str(path), 1, "header", f"missing column(s): {', '.join(missing)}"))
        return []
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
    return entries, sorted(problems)


def load_calendar(paths: list[Path], strategy: Strategy) -> list[Entry]:
    """All entries from all files, or CalendarError listing every problem: nothing partly loaded."""
    entries, problems = check_calendar(paths, strategy)
    if problems:
        raise CalendarError(problems)
    return entries
