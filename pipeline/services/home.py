"""Today at a glance, for the workspace's home page: the freeze, what awaits approval, what goes out
next, what failed, the feeds' health and the month's delivery against the plan. Every figure is read
from the same services the other pages use, so the home page never says what they do not."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.context import AppContext
from pipeline.errors import NotFound
from pipeline.records import Freeze, ItemLine, ItemStatus
from pipeline.services.actor import Actor
from pipeline.services.control import ControlService, DueNext
from pipeline.services.feeds import FeedHealth, FeedService
from pipeline.services.permissions import Permission, require
from pipeline.services.reports import ReportService

SHOWN = 5  # rows of each list shown on the home page; each links to its full page


@dataclass(frozen=True)
class Today:
    freeze: Freeze
    awaiting: tuple[ItemLine, ...]  # the first `SHOWN`, soonest due first
    awaiting_total: int
    next_due: tuple[DueNext, ...]
    failed: tuple[ItemLine, ...]  # failed or missed, the latest first
    failed_total: int
    feeds: tuple[FeedHealth, ...]  # every feed that is not ok (failing, paused or retired)
    feeds_ok: int
    month: dict[str, Any] | None  # the month's report summary and period; None before a plan is imported

    @property
    def feeds_total(self) -> int:
        return self.feeds_ok + len(self.feeds)


class HomeService:
    def __init__(self, ctx: AppContext) -> None:
        self.control, self.feeds, self.reports = ControlService.of(ctx), FeedService.of(ctx), ReportService.of(ctx)
        self.outbox, self.tz = ctx.repos.outbox, ctx.settings.tz

    @classmethod
    def of(cls, ctx: AppContext) -> HomeService:
        return cls(ctx)

    def today(self, actor: Actor, now: datetime) -> Today:
        require(actor, Permission.VIEW)
        counts = self.outbox.status_counts()
        health = self.feeds.health(actor)
        return Today(
            freeze=self.control.freeze(),
            awaiting=tuple(self.outbox.lines(ItemStatus.AWAITING_APPROVAL, limit=SHOWN)),
            awaiting_total=counts.get(ItemStatus.AWAITING_APPROVAL, 0),
            next_due=tuple(self.control.next_due(now, SHOWN)),
            failed=tuple(self.outbox.lines((ItemStatus.FAILED, ItemStatus.MISSED), latest_first=True, limit=SHOWN)),
            failed_total=counts.get(ItemStatus.FAILED, 0) + counts.get(ItemStatus.MISSED, 0),
            feeds=tuple(h for h in health if h.state != "ok"),
            feeds_ok=sum(1 for h in health if h.state == "ok"),
            month=self._month(actor, now),
        )

    def _month(self, actor: Actor, now: datetime) -> dict[str, Any] | None:
        month = f"{now.astimezone(self.tz):%Y-%m}"
        try:
            report = self.reports.monthly(actor, month, now)
        except NotFound:
            return None
        return {"period": report["period"], "summary": report["summary"], "objectives": report["objectives"]}
