"""strategy.yaml: objectives with their metrics and targets, nested audiences, channels, terms and
pre-election periods."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from content_calendar.errors import CalendarError, Problem
from content_calendar.files import CellError, load_yaml, parse_date, read_text
from content_calendar.models import CHANNEL_KINDS, FACINGS, Audience, Channel, DateRange, Objective, Strategy


class _Collector:
    """Gathers problems for one file so that every problem is reported, not just the first."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self.problems: list[Problem] = []

    def add(self, line: int, field: str, message: str) -> None:
        self.problems.append(Problem(self.path, line, field, message))


def _objectives(items: list[dict[str, Any]], c: _Collector) -> list[Objective]:
    out = []
    for item in items or []:
        line = item.get("__line__", 0)
        code, title = str(item.get("code", "")).strip(), str(item.get("title", "")).strip()
        if not code or not title:
            c.add(line, "objectives", "each objective needs a code and a title")
            continue
        targets = []
        for metric, target in (item.get("targets") or {}).items():
            if metric == "__line__":
                continue
            if not isinstance(target, int | float) or target < 0:
                c.add(line, f"objectives.{code}.targets.{metric}", f"target must be a number >= 0, not {target!r}")
                continue
            targets.append((str(metric), float(target)))
        out.append(Objective(code, title, str(item.get("outcome", "")), tuple(targets)))
    return out


def _audiences(items: list[dict[str, Any]], c: _Collector, parent: str | None = None) -> list[Audience]:
    out = []
    for item in items or []:
        code = str(item.get("code", "")).strip()
        if not code:
            c.add(item.get("__line__", 0), "audiences", "each audience needs a code")
            continue
        out.append(Audience(code, str(item.get("name", code)), parent))
        out.extend(_audiences(item.get("children") or [], c, parent=code))
    return out


def _channels(items: list[dict[str, Any]], c: _Collector) -> list[Channel]:
    out = []
    for item in items or []:
        line, code = item.get("__line__", 0), str(item.get("code", "")).strip()
        facing = str(item.get("facing", "residents"))
        if not code or not item.get("kind"):
            c.add(line, "channels", "each channel needs a code and a kind (email, file, mastodon, ...)")
            continue
        if str(item["kind"]) not in CHANNEL_KINDS:
            c.add(
                line,
                f"channels.{code}.kind",
                f"must be one of {', '.join(sorted(CHANNEL_KINDS))}, not {item['kind']!r}",
            )
            continue
        if facing not in FACINGS:
            c.add(line, f"channels.{code}.facing", f"must be one of {', '.join(FACINGS)}, not {facing!r}")
            continue
        out.append(
            Channel(
                code,
                str(item.get("name", code)),
                str(item["kind"]),
                facing,  # type: ignore[arg-type]
                item.get("template"),
                int(item.get("lead_days", 2)),
            )
        )
    return out


def _ranges(items: list[dict[str, Any]], field: str, c: _Collector) -> list[DateRange]:
    out = []
    for item in items or []:
        line = item.get("__line__", 0)
        try:
            rng = DateRange(parse_date(item["start"]), parse_date(item["end"]), str(item.get("name", "")))
        except (KeyError, CellError) as exc:
            c.add(line, field, f"needs a start and an end date ({exc})")
            continue
        if rng.end < rng.start:
            c.add(line, field, f"ends ({rng.end}) before it starts ({rng.start})")
            continue
        out.append(rng)
    return out


def _duplicates(codes: list[str], field: str, c: _Collector) -> None:
    seen = set()
    for code in codes:
        if code in seen:
            c.add(0, field, f"code {code!r} is used twice")
        seen.add(code)


def load_strategy(path: Path) -> Strategy:
    """Read and check strategy.yaml. Raises CalendarError listing every problem."""
    c = _Collector(path)
    try:
        data: dict[str, Any] = load_yaml(read_text(path)[0]) or {}
    except (OSError, CellError) as exc:
        raise CalendarError([Problem(str(path), 0, "file", str(exc))]) from None
    except yaml.YAMLError as exc:  # carries its own line
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        raise CalendarError([Problem(str(path), line, "yaml", str(getattr(exc, "problem", exc)))]) from None
    strategy = Strategy(
        name=str(data.get("name", path.parent.name)),
        objectives=tuple(_objectives(data.get("objectives") or [], c)),
        audiences=tuple(_audiences(data.get("audiences") or [], c)),
        channels=tuple(_channels(data.get("channels") or [], c)),
        terms=tuple(_ranges(data.get("terms") or [], "terms", c)),
        pre_election=tuple(_ranges(data.get("pre_election") or [], "pre_election", c)),
        timezone=str(data.get("timezone", "Europe/London")),
    )
    for field, items in (
        ("objectives", strategy.objectives),
        ("audiences", strategy.audiences),
        ("channels", strategy.channels),
    ):
        _duplicates([i.code for i in items], field, c)
    if not strategy.objectives:
        c.add(0, "objectives", "the strategy has no objectives")
    if c.problems:
        raise CalendarError(c.problems)
    return strategy
