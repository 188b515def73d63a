"""Entries and strategies to and from plain dicts (JSON-safe), for storage and for editions' inputs."""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import date, time
from typing import Any

from content_calendar.models import Audience, Channel, DateRange, Entry, Objective, Strategy


def entry_to_dict(entry: Entry) -> dict[str, Any]:
    data = asdict(entry)
    data["start"] = entry.start.isoformat()
    data["at"] = entry.at.isoformat(timespec="minutes")
    data["until"] = entry.until.isoformat() if entry.until else None
    return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}


def entry_from_dict(data: dict[str, Any]) -> Entry:
    known = {f.name for f in fields(Entry)}
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known}
    values["start"] = date.fromisoformat(data["start"])
    values["at"] = time.fromisoformat(data["at"])
    values["until"] = date.fromisoformat(data["until"]) if data.get("until") else None
    return Entry(**values)


def _range(data: dict[str, Any]) -> DateRange:
    return DateRange(date.fromisoformat(data["start"]), date.fromisoformat(data["end"]), data.get("name", ""))


def ranges_to_list(ranges: tuple[DateRange, ...]) -> list[dict[str, str]]:
    return [{"start": r.start.isoformat(), "end": r.end.isoformat(), "name": r.name} for r in ranges]


def strategy_from_parts(
    meta: dict[str, Any], objectives: list[Objective], audiences: list[Audience], channels: list[Channel]
) -> Strategy:
    return Strategy(
        name=meta.get("name", ""),
        objectives=tuple(objectives),
        audiences=tuple(audiences),
        channels=tuple(channels),
        terms=tuple(_range(r) for r in meta.get("terms", [])),
        pre_election=tuple(_range(r) for r in meta.get("pre_election", [])),
        timezone=meta.get("timezone", "Europe/London"),
    )
