"""strategy.yaml: objectives with their metrics and targets, nested audiences, channels, terms and
pre-election periods.

Every field's type is checked (a list where a mapping belongs is a problem, not a traceback), every
number has bounds, and the time zone must be one the zone database knows.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from content_calendar.errors import CalendarError, Problem
from content_calendar.files import CellError, describe, is_scalar, load_yaml, parse_plan_date, read_text, yaml_problem
from content_calendar.models import CHANNEL_KINDS, FACINGS, Audience, Channel, DateRange, Objective, Strategy

MAX_LEAD_DAYS = 60  # compose at most two months before the send
MAX_TARGET = 1e12


class _Collector:
    """Gathers problems for one file so that every problem is reported, not just the first."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self.problems: list[Problem] = []

    def add(self, line: int, field: str, message: str) -> None:
        self.problems.append(Problem(self.path, line, field, message))

    def items(self, value: object, field: str, line: int) -> list[dict[str, Any]]:
        """The mappings of a list field; a problem for a field that is not a list, or an item not a mapping."""
        if value is None:
            return []
        if not isinstance(value, list):
            self.add(line, field, f"must be a list, not {describe(value)}")
            return []
        out = []
        for item in value:
            if isinstance(item, dict):
                out.append(item)
            else:
                self.add(line, field, f"each item must be a mapping (code: ..., ...), not {describe(item)}")
        return out

    def text(self, item: dict[str, Any], key: str, field: str, default: str = "") -> str:
        """A text value; a problem (and the default) for a list, a mapping or true/false."""
        value = item.get(key)
        if value is None:
            return default
        if not is_scalar(value):
            self.add(item.get("__line__", 0), field, f"must be text, not {describe(value)}")
            return default
        return str(value).strip()


def _objectives(items: list[dict[str, Any]], c: _Collector) -> list[Objective]:
    out = []
    for item in items:
        line = item.get("__line__", 0)
        code, title = c.text(item, "code", "objectives.code"), c.text(item, "title", "objectives.title")
        if not code or not title:
            c.add(line, "objectives", "each objective needs a code and a title")
            continue
        targets = []
        raw = item.get("targets") or {}
        if not isinstance(raw, dict):
            c.add(line, f"objectives.{code}.targets", f"must be a mapping of metric: target, not {describe(raw)}")
            raw = {}
        for metric, target in raw.items():
            if metric == "__line__":
                continue
            if not _number_in(target, 0, MAX_TARGET):
                c.add(line, f"objectives.{code}.targets.{metric}", f"target must be a number >= 0, not {target!r}")
                continue
            targets.append((str(metric), float(target)))
        outcome = c.text(item, "outcome", f"objectives.{code}.outcome")
        out.append(Objective(code, title, outcome, tuple(targets)))
    return out


def _number_in(value: object, low: float, high: float) -> bool:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    return math.isfinite(value) and low <= value <= high


def _audiences(items: list[dict[str, Any]], c: _Collector, parent: str | None = None) -> list[Audience]:
    out = []
    for item in items:
        code = c.text(item, "code", "audiences.code")
        if not code:
            c.add(item.get("__line__", 0), "audiences", "each audience needs a code")
            continue
        out.append(Audience(code, c.text(item, "name", f"audiences.{code}.name", code), parent))
        children = c.items(item.get("children"), f"audiences.{code}.children", item.get("__line__", 0))
        out.extend(_audiences(children, c, parent=code))
    return out


def _channel(item: dict[str, Any], c: _Collector) -> Channel | None:
    line, code = item.get("__line__", 0), c.text(item, "code", "channels.code")
    kind = c.text(item, "kind", f"channels.{code}.kind")
    facing = c.text(item, "facing", f"channels.{code}.facing", "residents")
    if not code or not kind:
        c.add(line, "channels", "each channel needs a code and a kind (email, file, mastodon, ...)")
        return None
    if kind not in CHANNEL_KINDS:
        c.add(line, f"channels.{code}.kind", f"must be one of {', '.join(sorted(CHANNEL_KINDS))}, not {kind!r}")
        return None
    if facing not in FACINGS:
        c.add(line, f"channels.{code}.facing", f"must be one of {', '.join(FACINGS)}, not {facing!r}")
        return None
    lead_days = item.get("lead_days", 2)
    if not isinstance(lead_days, int) or isinstance(lead_days, bool) or not 0 <= lead_days <= MAX_LEAD_DAYS:
        c.add(
            line,
            f"channels.{code}.lead_days",
            f"must be a whole number of days from 0 to {MAX_LEAD_DAYS}, not {lead_days!r}",
        )
        return None
    approvals = item.get("approvals", 1)
    if approvals not in (1, 2) or isinstance(approvals, bool):
        c.add(line, f"channels.{code}.approvals", f"must be 1 or 2 (people who approve each item), not {approvals!r}")
        return None
    template = c.text(item, "template", f"channels.{code}.template") or None
    name = c.text(item, "name", f"channels.{code}.name", code)
    return Channel(code, name, kind, facing, template, lead_days, approvals)  # type: ignore[arg-type]


def _ranges(items: list[dict[str, Any]], field: str, c: _Collector) -> list[DateRange]:
    out = []
    for item in items:
        line = item.get("__line__", 0)
        try:
            rng = DateRange(parse_plan_date(item["start"]), parse_plan_date(item["end"]), c.text(item, "name", field))
        except (KeyError, CellError) as exc:
            c.add(line, field, f"needs a start and an end date ({exc})")
            continue
        if rng.end < rng.start:
            c.add(line, field, f"ends ({rng.end}) before it starts ({rng.start})")
            continue
        out.append(rng)
    return out


def _timezone(data: dict[str, Any], c: _Collector) -> str:
    name = c.text(data, "timezone", "timezone", "Europe/London")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        c.add(data.get("__line__", 0), "timezone", f"unknown time zone {name!r} (use e.g. Europe/London)")
        return "Europe/London"
    return name


def _duplicates(codes: list[str], field: str, c: _Collector) -> None:
    seen = set()
    for code in codes:
        if code in seen:
            c.add(0, field, f"code {code!r} is used twice")
        seen.add(code)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = load_yaml(read_text(path)[0])
    except (OSError, CellError) as exc:
        raise CalendarError([Problem(str(path), 0, "file", str(exc))]) from None
    except yaml.YAMLError as exc:
        line, message = yaml_problem(exc)
        raise CalendarError([Problem(str(path), line, "yaml", message)]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise CalendarError(
            [Problem(str(path), 1, "strategy", f"must be a mapping (name: ..., objectives: ...), not {describe(data)}")]
        )
    return data


def load_strategy(path: Path) -> Strategy:
    """Read and check strategy.yaml. Raises CalendarError listing every problem."""
    c = _Collector(path)
    data = _read(path)
    line = data.get("__line__", 0)
    strategy = Strategy(
        name=c.text(data, "name", "name", path.parent.name),
        objectives=tuple(_objectives(c.items(data.get("objectives"), "objectives", line), c)),
        audiences=tuple(_audiences(c.items(data.get("audiences"), "audiences", line), c)),
        channels=tuple(ch for i in c.items(data.get("channels"), "channels", line) if (ch := _channel(i, c))),
        terms=tuple(_ranges(c.items(data.get("terms"), "terms", line), "terms", c)),
        pre_election=tuple(_ranges(c.items(data.get("pre_election"), "pre_election", line), "pre_election", c)),
        timezone=_timezone(data, c),
    )
    for field, items in (
        ("objectives", strategy.objectives),
        ("audiences", strategy.audiences),
        ("channels", strategy.channels),
    ):
        _duplicates([i.code for i in items], field, c)
    if not strategy.objectives:
        c.add(line, "objectives", "the strategy has no objectives")
    if c.problems:
        raise CalendarError(c.problems)
    return strategy
