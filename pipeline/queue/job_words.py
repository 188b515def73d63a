"""A queue job in plain words, for `comms jobs` and the workspace's jobs page: what the task does, its
status and history as a person would say them, and its arguments made safe to show.

A job's arguments are ids by design (`pipeline.queue.tasks`: a feed, an occurrence, an item and its batch,
a month, a day), never an address or a secret. What is shown is held to that anyway: only the argument
names our tasks take, and only values that are numbers or short codes; anything else (a job deferred by
an older or other version, say) is shown as withheld, so an email address or a token cannot reach a page.

An attempt's detail (from the job-run log, redacted when written) is shown by its first lines, each line
cut short, redacted again with the settings' secrets (a row may predate them), and with every email
address withheld.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Any

# The status of a job, as the pages say it (`stalled`: running on a worker that has gone silent).
STATUS_WORDS = {
    "todo": "waiting",
    "doing": "running",
    "stalled": "stalled",
    "failed": "failed",
    "succeeded": "done",
    "cancelled": "cancelled",
    "aborted": "stopped",
    "aborting": "stopping",
}
EVENT_WORDS = {
    "deferred": "queued",
    "scheduled": "scheduled to run",
    "started": "started on a worker",
    "deferred_for_retry": "failed, to be tried again",
    "failed": "failed",
    "succeeded": "done",
    "cancelled": "cancelled",
    "abort_requested": "asked to stop",
    "aborted": "stopped",
    "retried": "put back in the queue by hand",
}
SHOWN_ARGS = frozenset({"feed_id", "entry", "day", "item_id", "batch", "first_id", "last_id", "month", "channel"})
_SAFE_TEXT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}")
WITHHELD = "(not shown)"
_ADDRESS = re.compile(r"[^@\s<>()\[\]\"',;:/]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
ADDRESS_WITHHELD = "(an address)"
DETAIL_LINES, DETAIL_WIDTH = 4, 300


def status_words(status: str) -> str:
    return STATUS_WORDS.get(status, status)


def event_words(kind: str) -> str:
    return EVENT_WORDS.get(kind, kind.replace("_", " "))


def duration_words(length: timedelta) -> str:
    """How long, roughly, in the largest unit that fits: 45 seconds, 4 minutes, 2 hours, 3 days."""
    seconds = max(0, int(length.total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def shown_args(args: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The arguments as (name, value) to show, sorted by name: a name our tasks do not take, or a value
    that is not a number or a short code (letters, digits, `-_.:`, no `@`), is withheld."""
    return tuple((str(name), _shown(str(name), value)) for name, value in sorted(args.items()))


def _shown(name: str, value: Any) -> str:
    if name not in SHOWN_ARGS:
        return WITHHELD
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and _SAFE_TEXT.fullmatch(value):
        return value
    return WITHHELD


def shown_detail(detail: str, hide: Callable[[str], str], lines: int = DETAIL_LINES) -> tuple[str, ...]:
    """An attempt's detail as lines to show: its first non-empty `lines`, each at most `DETAIL_WIDTH`
    characters, with `hide` (the settings' redactor) applied and every email address withheld."""
    kept = [line.strip() for line in detail.splitlines() if line.strip()][:lines]
    return tuple(_ADDRESS.sub(ADDRESS_WITHHELD, hide(line))[:DETAIL_WIDTH] for line in kept)


def describe(task: str, args: Mapping[str, Any], feed_names: Mapping[int, str] | None = None) -> str:
    """What a job does, in a sentence (`task` without its `comms:` namespace)."""
    safe = dict(shown_args(args))
    item = f"item #{safe.get('item_id', '?')}"
    if task == "collect_feed":
        feed = safe.get("feed_id", "?")
        name = (feed_names or {}).get(int(feed)) if feed.isdigit() else None
        return f"Collect national messages from the feed “{name}”" if name else f"Collect the feed #{feed}"
    if task == "compose_occurrence":
        return f"Compose {safe.get('entry', '?')} for {_day(safe.get('day', '?'))}"
    if task == "dispatch_item":
        return f"Start sending {item}: split its recipients into batches"
    if task == "dispatch_batch":
        batch = safe.get("batch", "?")
        number = str(int(batch) + 1) if batch.isdigit() else batch
        return f"Send {item} to its recipients, batch {number}"
    if task == "notify_staff":
        return "Email the staff: the approvers' digest, reminders and alerts"
    if task == "report_month":
        return f"Write the monthly report for {_month(safe.get('month', '?'))}"
    if task == "measure":
        return f"Pull each channel's own figures ({_day(safe.get('day', '?'))})"
    if task == "measure_channel":
        return f"Pull the figures of the channel {safe.get('channel', '?')} ({_day(safe.get('day', '?'))})"
    return f"{task} (a task this version of comms does not know)"


def _day(text: str) -> str:
    try:
        return f"{date.fromisoformat(text):%-d %B %Y}"
    except ValueError:
        return text


def _month(text: str) -> str:
    try:
        return f"{date.fromisoformat(text + '-01'):%B %Y}"
    except ValueError:
        return text
