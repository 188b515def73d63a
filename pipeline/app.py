"""`make_pipeline(settings)` wires storage, renderer, fetcher, channels and the clock-free jobs.
The command line, the scheduler and the demo all go through the `Pipeline` facade."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from channels.base import ChannelError
from content_calendar.calendar import load_calendar
from content_calendar.plan import month_bounds, plan
from content_calendar.strategy import load_strategy
from pipeline.context import AdapterLookup, AppContext, open_context
from pipeline.jobs import tasks
from pipeline.jobs.compose import Composer
from pipeline.jobs.dispatch import Dispatcher, unexpected
from pipeline.records import Outcome
from pipeline.reporting.files import render_report_html
from pipeline.reporting.quarterly import build_quarterly, quarter_months
from pipeline.reporting.report import MonthData, build_report
from pipeline.settings import Settings
from pipeline.storage.store import Repositories
from pipeline.workspace import read_subscribers

log = logging.getLogger(__name__)


def previous_months(month: str, count: int) -> tuple[str, ...]:
    """The `count` months ending with `month`, oldest first."""
    first, _ = month_bounds(month)
    out = []
    year, mon = first.year, first.month
    for _ in range(count):
        out.append(f"{year:04d}-{mon:02d}")
        year, mon = (year - 1, 12) if mon == 1 else (year, mon - 1)
    return tuple(reversed(out))


@dataclass(frozen=True)
class ChannelCheck:
    code: str
    kind: str
    ok: bool
    detail: str


class Pipeline(AppContext):
    """A thin facade over the context: each method delegates to a use case or a job."""

    # set-up ---------------------------------------------------------------------------------
    def import_plan(self, calendar_paths: list[Path] | None = None, now: datetime | None = None) -> tuple[int, int]:
        """Load strategy.yaml and the calendar files; replace the stored plan only if all are valid."""
        strategy = load_strategy(self.workspace.strategy_path)
        entries = load_calendar(calendar_paths or self.workspace.calendar_paths, strategy)
        self.repos.calendar.import_plan(strategy, entries, now or _utcnow())
        return len(strategy.objectives), len(entries)

    def import_feeds(self) -> int:
        return self.repos.feeds.upsert(spec for spec, _copy in self.workspace.feeds())

    def import_subscribers(self, path: Path | None = None) -> tuple[int, int]:
        return self.repos.subscribers.upsert(read_subscribers(path or self.workspace.root / "subscribers.csv"))

    # the jobs (pipeline.jobs.tasks) -------------------------------------------------------------
    def collect(self, now: datetime, force: bool = False) -> Outcome:
        return tasks.collect(self, now, force=force)

    def check_channels(self, only: str | None = None) -> list[ChannelCheck]:
        """Each channel in strategy.yaml asked to prove its settings work (`ChannelAdapter.check`),
        one at a time; one failing never stops the others. Nothing is posted."""
        strategy = load_strategy(self.workspace.strategy_path)
        out = []
        for channel in strategy.channels:
            if only and channel.code != only:
                continue
            try:
                adapter = self.adapter_for(channel.code, channel.kind)
                route = "" if getattr(adapter, "kind", channel.kind) == channel.kind else f" (routed to {adapter.kind})"
                out.append(ChannelCheck(channel.code, channel.kind, True, adapter.check() + route))
            except ChannelError as exc:
                out.append(ChannelCheck(channel.code, channel.kind, False, str(exc)))
            except Exception as exc:  # an adapter's bug or a surprising answer
                out.append(ChannelCheck(channel.code, channel.kind, False, str(unexpected(channel.code, exc))))
        if only and not out:
            raise LookupError(f"no channel {only!r} in {self.workspace.strategy_path}")
        return out

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
        strategy = self.repos.calendar.strategy()
        if strategy is None:
            raise LookupError("no plan imported yet: run `comms calendar import` first")
        months = previous_months(month, 3)
        first, last = month_bounds(month)
        tz = self.settings.tz
        start = datetime.combine(first, datetime.min.time(), tzinfo=tz)
        end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=tz)
        items = self.repos.outbox.items(due_from=start, due_to=end)
        failures = tuple(
            f"{e.occurrence_key}: {'; '.join(e.problems)}"
            for e in self.repos.outbox.editions(500)
            if e.status == "failed" and first <= _occurrence_day(e.occurrence_key) <= last
        )
        return MonthData(
            strategy=strategy,
            month=month,
            months=months,
            planned=tuple(plan(strategy, self.repos.calendar.entries(), first, last)),
            items=tuple(items),
            deliveries={i.id: tuple(self.repos.outbox.deliveries(i.id)) for i in items},
            metrics=tuple(p for m in months for p in self.repos.metrics.totals(*month_bounds(m))),
            edition_failures=failures,
        )

    def report(self, month: str) -> dict[str, Any]:
        return build_report(self.month_data(month))

    def queue_report(self, month: str, audience: str, channel: str, now: datetime) -> int:
        """Queue the monthly report as an email to an audience (the board, members), for approval like
        any other item. Returns the outbox item id."""
        strategy = self.repos.calendar.strategy()
        found = strategy.channel(channel) if strategy else None
        if found is None or found.kind != "email" or strategy is None or strategy.audience(audience) is None:
            raise LookupError(f"send the report through an email channel to a known audience ({channel}, {audience})")
        report = self.report(month)
        html = render_report_html(self.renderer, report, now.astimezone(self.settings.tz))
        lines = [
            f"{report['strategy']}: reach report for {month}",
            "",
            f"{report['summary']['delivered']} of {report['summary']['planned']} planned activities delivered.",
            "",
        ]
        lines += [f"Objective {o['code']} ({o['status'].upper()}): {o['title']}" for o in report["objectives"]]
        lines += ["", "The full report is in the HTML part of this email."]
        item = self.repos.outbox.add_item(
            now,
            occurrence_key=f"report:{month}:{audience}",
            entry_id="report",
            channel=channel,
            kind="email",
            title=f"Reach report {month}",
            subject=f"Prevent communications: reach report for {month}",
            body="\n".join(lines),
            html=html,
            audiences=[audience],
            objectives=[],
            due_at=now,
            approval="required",
            status="awaiting_approval",
            missed_after_hours=24 * 7,
        )
        return item.id

    def quarterly(self, quarter: str) -> dict[str, Any]:
        """Three monthly reports rolled up, with unique reach over the whole quarter."""
        data = [self.month_data(m) for m in quarter_months(quarter)]
        people: dict[str, set[str]] = {}
        for month in data:
            for item in month.items:
                for d in month.deliveries.get(item.id, ()):
                    if d.status == "sent" and d.recipient != "-":
                        people.setdefault(d.audience, set()).add(d.recipient)
        reach = {a: len(p) for a, p in people.items()}
        everyone = len(set().union(*people.values())) if people else 0
        return build_quarterly(quarter, [build_report(m) for m in data], reach, everyone)


def _occurrence_day(key: str) -> date:
    return date.fromisoformat(key.rsplit("@", 1)[1])


def _utcnow() -> datetime:
    return datetime.now(UTC)


def make_pipeline(
    settings: Settings, repos: Repositories | None = None, adapter_for: AdapterLookup | None = None
) -> Pipeline:
    """The facade over a freshly opened context (see `pipeline.context.open_context`)."""
    ctx = open_context(settings, repos, adapter_for)
    return Pipeline(ctx.settings, ctx.repos, ctx.workspace, ctx.renderer, ctx.adapter_for)
