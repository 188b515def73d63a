"""Coverage: what the month's plan leaves out, in the strategies' own terms (parents, faith groups,
private landlords were the gaps Thurrock's 2024-27 strategy named)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from content_calendar.models import Entry, Occurrence, Override, Strategy
from content_calendar.plan import month_bounds, plan


@dataclass(frozen=True)
class Gaps:
    month: str
    objectives_without_activity: tuple[str, ...]
    audiences_not_reached: tuple[str, ...]  # in the three months ending with `month`
    channels_without_plans: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not (self.objectives_without_activity or self.audiences_not_reached or self.channels_without_plans)


def _three_months_back(first: date) -> date:
    year, month = first.year, first.month - 2
    if month < 1:
        year, month = year - 1, month + 12
    return date(year, month, 1)


def gaps_window(month: str) -> tuple[date, date]:
    """The period whose plan `gaps_from` reads: the three months ending with `month`."""
    first, last = month_bounds(month)
    return _three_months_back(first), last


def find_gaps(
    strategy: Strategy, entries: list[Entry], month: str, overrides: Mapping[str, Override] | None = None
) -> Gaps:
    return gaps_from(strategy, month, plan(strategy, entries, *gaps_window(month), overrides))


def gaps_from(strategy: Strategy, month: str, planned: list[Occurrence]) -> Gaps:
    """The gaps, given the plan of `gaps_window(month)` (so a caller that shows the month plans once)."""
    first, _ = month_bounds(month)
    recent = [o for o in planned if o.status != "skipped"]
    live = [o for o in recent if o.start.date() >= first]
    reached: set[str] = set()
    for occ in recent:
        for code in occ.audiences:
            reached |= strategy.audience_with_children(code)
    active_objectives = {code for o in live for code in o.objectives}
    active_channels = {o.channel for o in live}
    return Gaps(
        month=month,
        objectives_without_activity=tuple(o.code for o in strategy.objectives if o.code not in active_objectives),
        audiences_not_reached=tuple(a.code for a in strategy.audiences if a.code not in reached),
        channels_without_plans=tuple(c.code for c in strategy.channels if c.code not in active_channels),
    )
