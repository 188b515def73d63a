"""Reading the stored plan a month at a time, as the web calendar and the exports show it: each
occurrence with the team's skips and moves applied, the item composed for it (if any), and the
month's coverage gaps."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from content_calendar.export import IcsItem, to_csv, to_ics
from content_calendar.gaps import gaps_from, gaps_window
from content_calendar.models import Entry, Occurrence, Override, Strategy
from content_calendar.plan import month_bounds, plan
from pipeline.context import AppContext
from pipeline.errors import NotFound
from pipeline.ports import CalendarRepository, OutboxRepository
from pipeline.services.actor import Actor
from pipeline.services.month_cache import MonthCache
from pipeline.services.overrides import OverrideService
from pipeline.services.permissions import Permission, require
from pipeline.services.plan import MonthGaps, MonthPlan, code_names


@dataclass(frozen=True)
class CalendarMonth:
    plan: MonthPlan
    gaps: MonthGaps
    items: dict[str, IcsItem]  # by occurrence key: the item composed for it
    item_ids: dict[str, int]
    overrides: dict[str, Override]

    @property
    def strategy(self) -> Strategy:
        return self.plan.strategy

    @property
    def occurrences(self) -> tuple[Occurrence, ...]:
        return self.plan.occurrences


@dataclass(frozen=True)
class OccurrenceView:
    strategy: Strategy
    entry: Entry
    occurrence: Occurrence
    override: Override | None
    item: tuple[int, str] | None  # its item's id and status, once composed


class CalendarService:
    def __init__(
        self,
        calendar: CalendarRepository,
        outbox: OutboxRepository,
        base_url: str,
        months: MonthCache[Any] | None = None,
    ) -> None:
        self.calendar, self.outbox, self.base_url = calendar, outbox, base_url.rstrip("/")
        self.months: MonthCache[Any] = months or MonthCache(1)

    @classmethod
    def of(cls, ctx: AppContext) -> CalendarService:
        return cls(ctx.repos.calendar, ctx.repos.outbox, ctx.settings.public_base_url, ctx.months)

    def overrides(self) -> dict[str, Override]:
        """The team's skips and moves (none is secret; the command line reads them to show the files' plan)."""
        return self.calendar.overrides()

    def links(self, keys: Collection[str]) -> dict[str, IcsItem]:
        """Where each occurrence's item is read in the web workspace, for those composed."""
        found = self.outbox.items_for_occurrences(keys)
        return {key: IcsItem(f"{self.base_url}/items/{item_id}", status) for key, (item_id, status) in found.items()}

    def strategy(self) -> Strategy | None:
        return self.calendar.strategy()

    def csv(self, actor: Actor) -> bytes:
        """The stored plan as one CSV file for Excel, which uploads again unchanged."""
        require(actor, Permission.VIEW)
        return to_csv(self.stored()[1])

    def occurrence(self, actor: Actor, entry_id: str, day: date) -> OccurrenceView:
        """One occurrence with its entry, the team's change to it and its item, if any."""
        require(actor, Permission.VIEW)
        strategy, entry, occ = OverrideService(self.calendar, None).find(entry_id, day)
        item = self.outbox.items_for_occurrences([occ.key]).get(occ.key)
        return OccurrenceView(strategy, entry, occ, self.calendar.overrides().get(occ.key), item)

    def stored(self) -> tuple[Strategy, list[Entry]]:
        strategy = self.calendar.strategy()
        if strategy is None:
            raise NotFound("no plan imported yet: run `comms calendar import` or upload a calendar")
        return strategy, self.calendar.entries()

    def month(self, actor: Actor, month: str) -> CalendarMonth:
        """The stored plan's month, as the team changed it, with its items and coverage gaps."""
        require(actor, Permission.VIEW)
        overrides = self.calendar.overrides()
        key = (self.calendar.version(), month, tuple(sorted(overrides.items())))
        month_plan, gaps = self.months.get(key, lambda: self._planned(month, overrides))
        found = self.outbox.items_for_occurrences([o.key for o in month_plan.occurrences])
        items = {key: IcsItem(f"{self.base_url}/items/{item_id}", status) for key, (item_id, status) in found.items()}
        ids = {key: item_id for key, (item_id, _) in found.items()}
        return CalendarMonth(month_plan, gaps, items, ids, overrides)

    def _planned(self, month: str, overrides: dict[str, Override]) -> tuple[MonthPlan, MonthGaps]:
        strategy, entries = self.stored()
        start, last = gaps_window(month)
        planned = plan(strategy, entries, start, last, overrides)  # once, for the month and its gaps
        first = month_bounds(month)[0]
        month_plan = MonthPlan(
            strategy, tuple(entries), first, last, tuple(o for o in planned if o.start.date() >= first)
        )
        return month_plan, MonthGaps(month, gaps_from(strategy, month, planned), code_names(strategy))

    def ics(self, actor: Actor, month: str, now: datetime) -> bytes:
        shown = self.month(actor, month)
        return ics_of(shown.strategy, list(shown.occurrences), now, shown.items, month)


def ics_of(
    strategy: Strategy, occurrences: list[Occurrence], now: datetime, items: Mapping[str, IcsItem], month: str
) -> bytes:
    return to_ics(strategy, occurrences, now, items, name=f"{strategy.name or 'Content calendar'} {month}")
