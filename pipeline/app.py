"""`make_pipeline(settings)` wires storage, renderer, fetcher, channels and the clock-free jobs.
The command line, the scheduler and the demo all go through the `Pipeline` facade."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.context import AdapterLookup, AppContext, open_context
from pipeline.jobs.collect import Collector, HttpFeedFetcher
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

    # the jobs -------------------------------------------------------------------------------
    def collect(self, now: datetime, force: bool = False) -> Outcome:
        fetcher = HttpFeedFetcher(
            timeout=self.settings.feed_timeout_seconds,
            max_bytes=self.settings.feed_max_bytes,
            rewrites=self.feed_rewrites,
        )
        try:
            return Collector(self.repos, fetcher, self.settings.feed_workers).run(now, force=force)
        finally:
            fetcher.close()

    def check_channels(self, only: str | None = None) -> list[ChannelCheck]:
        return list(ChannelService.of(self).check(SYSTEM, only))

    def composer(self) -> Composer:
        return Composer(self.repos, self.workspace, self.renderer)

    def compose(self, now: datetime, entry: str | None = None) -> Outcome:
        return self.composer().run(now, only_entry=entry)

    def dispatcher(self) -> Dispatcher:
        return Dispatcher(self.repos, self.settings, self.adapter_for)

    def dispatch(self, now: datetime, dispatcher: Dispatcher | None = None) -> Outcome:
        return (dispatcher or self.dispatcher()).run(now)

    def wake(self, now: datetime, dispatcher: Dispatcher | None = None) -> dict[str, Outcome]:
        """One wake-up: collect what is due, compose what is due, send what is due. Each job is
        recorded; one failing job does not stop the next."""
        results = {}
        for name, job in (
            ("collect", lambda: self.collect(now)),
            ("compose", lambda: self.compose(now)),
            ("dispatch", lambda: self.dispatch(now, dispatcher)),
        ):
            results[name] = self.run_job(name, now, job)
        return results

    def run_job(self, name: str, now: datetime, job: Callable[[], Outcome]) -> Outcome:
        run_id = self.repos.control.start_job(name, now)
        started = time.monotonic()
        try:
            outcome = job()
        except Exception as exc:
            log.exception("job crashed", extra={"job": name})
            outcome = Outcome(failures=(f"{type(exc).__name__}: {exc}",))
        seconds = time.monotonic() - started
        self.repos.control.finish_job(
            run_id, now, outcome.status, outcome.summary() + "\n" + "\n".join(outcome.failures)
        )
        log.info(
            "job run",
            extra={"job": name, "seconds": round(seconds, 3), "outcome": outcome.status, "summary": outcome.summary()},
        )
        return outcome

    # the report -----------------------------------------------------------------------------
    def month_data(self, month: str) -> MonthData:
        return ReportService.of(self).month_data(month)

    def report(self, month: str) -> dict[str, Any]:
        return ReportService.of(self).monthly(SYSTEM, month)

    def queue_report(self, month: str, audience: str, channel: str, now: datetime, actor: Actor = SYSTEM) -> int:
        """Queue the monthly report as an email for approval; returns the outbox item id."""
        return ReportService.of(self).queue(actor, month, audience, channel, now).item.id

    def quarterly(self, quarter: str) -> dict[str, Any]:
        return ReportService.of(self).quarterly(SYSTEM, quarter)


def make_pipeline(
    settings: Settings, repos: Repositories | None = None, adapter_for: AdapterLookup | None = None
) -> Pipeline:
    """The facade over a freshly opened context (see `pipeline.context.open_context`)."""
    ctx = open_context(settings, repos, adapter_for)
    return Pipeline(ctx.settings, ctx.repos, ctx.workspace, ctx.renderer, ctx.adapter_for)
