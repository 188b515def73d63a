"""The dispatcher's pure decisions: what to do with each approved item at `now`, how long to back off
after a transient failure, and the figures an item's deliveries make. No database, no network."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from content_calendar.models import Entry, Strategy
from content_calendar.rules import election_period, pre_election_policy
from pipeline.records import Delivery, MetricPoint, OutboxItem


@dataclass(frozen=True)
class Decision:
    item: OutboxItem
    action: str  # send | missed | frozen | changed | pre_election | wait
    reason: str = ""


def decide(
    items: list[OutboxItem], now: datetime, frozen: bool, strategy: Strategy, entries: dict[str, Entry]
) -> list[Decision]:
    """What to do with each approved item at `now`. Pure."""
    out = []
    for item in items:
        if item.status != "approved" or item.due_at > now:
            continue
        if now > item.due_at + timedelta(hours=item.missed_after_hours):
            out.append(Decision(item, "missed", f"not sent within {item.missed_after_hours} h of its time"))
            continue
        if frozen:
            out.append(Decision(item, "frozen", "sending is paused"))
            continue
        if not item.approval_current:
            out.append(Decision(item, "changed", "refused: its content is not what was approved; approve it again"))
            continue
        period = election_period(item.due_at.date(), strategy.pre_election)
        entry, channel = entries.get(item.entry_id), strategy.channel(item.channel)
        if period is not None and entry is not None and pre_election_policy(entry, channel) != "keep":
            out.append(Decision(item, "pre_election", f"held in the pre-election period {period.name}".strip()))
            continue
        out.append(Decision(item, "send"))
    return out


def backoff(attempts: int, retry_after: float | None, rng: random.Random) -> timedelta:
    """Exponential backoff with jitter (1, 2, 4 ... minutes, capped at an hour), never sooner than
    the channel's Retry-After."""
    base = min(60.0 * 2 ** max(attempts - 1, 0), 3600.0) * rng.uniform(0.8, 1.2)
    return timedelta(seconds=max(base, retry_after or 0.0))


def delivery_metrics(item: OutboxItem, deliveries: list[Delivery]) -> list[MetricPoint]:
    """The pipeline's own figures for one item: sent and bounced, per audience and objective."""
    points = []
    by_audience: dict[tuple[str, str], int] = {}
    for d in deliveries:
        metric = {"sent": "sent", "failed": "bounced"}.get(d.status)
        if metric:
            by_audience[(d.audience, metric)] = by_audience.get((d.audience, metric), 0) + 1
    for (audience, metric), value in sorted(by_audience.items()):
        for objective in item.objectives or ("",):
            points.append(
                MetricPoint(
                    day=item.due_at.date(),
                    metric=metric,
                    value=float(value),
                    source="pipeline",
                    channel=item.channel,
                    audience=audience,
                    objective=objective,
                    item_ref=f"outbox:{item.id}",
                    import_key=f"pipeline:{item.id}:{audience}:{objective}:{metric}",
                )
            )
    return points
