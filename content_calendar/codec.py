"""Entries and strategies to and from plain dicts (JSON-safe), for storage and for editions' inputs."""

from __future__ import annotations

import hashlib
import json
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


def plan_digest(entries: list[Entry] | tuple[Entry, ...]) -> str:
    """A fingerprint of a plan's entries (where they were read from aside): a difference shown
    against it is applied only while the stored plan still has it."""
    rows = sorted(
        ({k: v for k, v in entry_to_dict(e).items() if k not in ("source", "line")} for e in entries),
        key=lambda d: str(d["id"]),
    )
    return hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()[:32]
