"""`make_pipeline(settings)` wires storage, renderer, fetcher, channels and the clock-free jobs.
The command line, the scheduler and the demo all go through the `Pipeline` facade."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.context import AdapterLookup, AppContext, open_context
from pipeline.jobs import tasks
from pipeline.jobs.compose import Composer
from pipeline.jobs.dispatch import Dispatcher
from pipeline.records import Outcome
from pipeline.reporting.report import MonthData
from pipeline.services.actor import Actor
from pipeline.services.channels import ChannelCheck, ChannelService
from pipeline.services.feeds import FeedService
from pipeline.services.plan import PlanService
from pipeline.services.reports import ReportService
from pipeline.services.subscribers import SubscriberService
from pipeline.settings import Settings
from pipeline.storage.store import Repositories

log = logging.getLogger(__name__)
SYSTEM = Actor.system()  # the facade's callers (the demo, the scheduled jobs, tests) act as the pipeline

__all__ = ["ChannelCheck", "Pipeline", "make_pipeline"]


class Pipeline(AppContext):
    """A thin facade over the context: each method delegates to a use case or a job."""

    # set-up ---------------------------------------------------------------------------------
    def import_plan(self, calendar_paths: list[Path] | None = None, now: datetime | None = None) -> tuple[int, int]:
        done = PlanService.of(self).import_plan(SYSTEM, now or datetime.now(UTC), calendar_paths)
        return done.objectives, done.entries

    def import_feeds(self) -> int:
        return FeedService.of(self).import_workspace(SYSTEM)

    def import_subscribers(self, path: Path | None = None) -> tuple[int, int]:
        done = SubscriberService.of(self).import_file(SYSTEM, path)
        return done.added, done.updated

    # the jobs (pipeline.jobs.tasks) -------------------------------------------------------------
    def collect(self, now: datetime, force: bool = False) -> Outcome:
        return tasks.collect(self, now, force=force)

    def check_channels(self, only: str | None = None) -> list[ChannelCheck]:
        return list(ChannelService.of(self).check(SYSTEM, only))

    def composer(self) -> Composer:
        return tasks.composer(self)

    def compose(self, now: datetime, entry: str | None = None) -> Outcome:
        return tasks.compose(self, now, entry)

    def dispatcher(self) -> Dispatcher:
        return tasks.dispatcher(self)

    def dispatch(self, now: datetime, dispatcher: Dispatcher | None = None) -> Outcome:
        return (dispatcher or self.dispatcher()).run(now)

    def wake(self, now: datetime, dispatcher: Dispatcher | None = None) -> dict[str, Outcome]:
        """One wake-up: collect, compose and send what is due (the clock's wake-up adds the report)."""
        return tasks.wake(self, now, dispatcher.stop if dispatcher else None, report=False)

    def run_job(self, name: str, now: datetime, job: Callable[[], Outcome]) -> Outcome:
        return tasks.run_job(self, name, now, job)

    # the report -----------------------------------------------------------------------------
    def month_data(self, month: str) -> MonthData:
        return ReportService.of(self).month_data(month)

    def report(self, month: str, now: datetime | None = None) -> dict[str, Any]:
        """The month's report as produced at `now` (by default this moment): a month not ended yet is
        reported to date."""
        return ReportService.of(self).monthly(SYSTEM, month, now or datetime.now(UTC))

    def queue_report(self, month: str, audience: str, channel: str, now: datetime, actor: Actor = SYSTEM) -> int:
        """Queue the monthly report as an email for approval; returns the outbox item id."""
        return ReportService.of(self).queue(actor, month, audience, channel, now).item.id

    def quarterly(self, quarter: str, now: datetime | None = None) -> dict[str, Any]:
        return ReportService.of(self).quarterly(SYSTEM, quarter, now or datetime.now(UTC))


def make_pipeline(
    settings: Settings, repos: Repositories | None = None, adapter_for: AdapterLookup | None = None
) -> Pipeline:
    """The facade over a freshly opened context (see `pipeline.context.open_context`)."""
    ctx = open_context(settings, repos, adapter_for)
    return Pipeline(ctx.settings, ctx.repos, ctx.workspace, ctx.renderer, ctx.adapter_for)
