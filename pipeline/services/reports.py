"""The month's data, the monthly report against the objectives, the quarterly committee summary, and
the report queued as an email for approval like any other item."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from content_calendar.plan import month_bounds, plan
from pipeline.context import AppContext
from pipeline.errors import Invalid, NotFound
from pipeline.ports import (
    CalendarRepository,
    LedgerRepository,
    MeasureRepository,
    MetricsRepository,
    OutboxRepository,
)
from pipeline.records import DeliveryStatus, ItemStatus, MetricPoint, OutboxItem
from pipeline.rendering.render import Renderer
from pipeline.reporting.files import render_quarterly_html, render_report_html
from pipeline.reporting.quarterly import QuarterMonth, build_quarterly, quarter_months
from pipeline.reporting.report import RATING_NAMES, MonthData, build_report, report_csv, report_json
from pipeline.services.actor import Actor
from pipeline.services.permissions import Permission, require

MONTHLY_FORMATS = ("html", "csv", "json")
QUARTERLY_FORMATS = ("html", "json")
REPORT_DAYS_TO_SEND = 7  # a queued report not approved and sent within a week is missed


def previous_months(month: str, count: int) -> tuple[str, ...]:
    """The `count` months ending with `month`, oldest first."""
    first, _ = month_bounds(month)
    out = []
    year, mon = first.year, first.month
    for _ in range(count):
        out.append(f"{year:04d}-{mon:02d}")
        year, mon = (year - 1, 12) if mon == 1 else (year, mon - 1)
    return tuple(reversed(out))


def report_text(report: dict[str, Any], month: str) -> str:
    """The plain-text part of the report email: the period, the headline, and each objective's rating."""
    s, period = report["summary"], report["period"]
    lines = [
        f"{report['strategy']}: reach report for {period['label']}",
        "",
        f"{s['sent']} of the {s['due']} planned activities due were sent; "
        f"{s['not_delivered_in_full']} not delivered in full.",
        "",
    ]
    lines += [
        f"Objective {o['code']} ({RATING_NAMES[o['status']]}): {o['title']}: {o['sent']} of {o['due']} due sent"
        for o in report["objectives"]
    ]
    lines += ["", "The full report is in the HTML part of this email."]
    return "\n".join(lines)


@dataclass(frozen=True)
class QueuedReport:
    item: OutboxItem


class ReportService:
    def __init__(
        self,
        tz: ZoneInfo,
        renderer: Renderer,
        calendar: CalendarRepository,
        outbox: OutboxRepository,
        metrics: MetricsRepository,
        ledger: LedgerRepository | None = None,
        measures: MeasureRepository | None = None,
    ) -> None:
        self.tz, self.renderer = tz, renderer
        self.calendar, self.outbox, self.metrics, self.ledger = calendar, outbox, metrics, ledger
        self.measures = measures  # where each figure came from and when (the report's sources)
        # A service lives for one request or command: a month read or reported twice in it (the page's
        # monthly report and the quarter it falls in) is read and built once.
        self._data: dict[str, MonthData] = {}
        self._reports: dict[tuple[str, datetime], dict[str, Any]] = {}
        self._totals: dict[str, list[MetricPoint]] = {}

    @classmethod
    def of(cls, ctx: AppContext) -> ReportService:
        repos = ctx.repos
        return cls(
            ctx.settings.tz, ctx.renderer, repos.calendar, repos.outbox, repos.metrics, repos.ledger, repos.measures
        )

    def month_data(self, month: str) -> MonthData:
        if month not in self._data:
            self._data[month] = self._month_data(month)
        return self._data[month]

    def _month_totals(self, month: str) -> list[MetricPoint]:
        if month not in self._totals:
            self._totals[month] = self.metrics.totals(*month_bounds(month))
        return self._totals[month]

    def _report(self, month: str, now: datetime) -> dict[str, Any]:
        if (month, now) not in self._reports:
            self._reports[(month, now)] = build_report(self.month_data(month), now)
        return self._reports[(month, now)]

    def _month_data(self, month: str) -> MonthData:
        strategy = self.calendar.strategy()
        if strategy is None:
            raise NotFound("no plan imported yet: run `comms calendar import` first")
        months = previous_months(month, 3)
        first, last = month_bounds(month)
        start = datetime.combine(first, datetime.min.time(), tzinfo=self.tz)
        end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=self.tz)
        items = self.outbox.items(due_from=start, due_to=end)
        failures = {
            e.occurrence_key: "composing failed: " + "; ".join(e.problems)
            for e in self.outbox.editions(500)
            if e.status == "failed" and first <= _occurrence_day(e.occurrence_key) <= last
        }
        return MonthData(
            strategy=strategy,
            month=month,
            months=months,
            planned=tuple(plan(strategy, self.calendar.entries(), first, last, self.calendar.overrides())),
            items=tuple(items),
            deliveries={i.id: tuple(self.outbox.deliveries(i.id)) for i in items},
            metrics=tuple(p for m in months for p in self._month_totals(m)),
            edition_failures=failures,
            provenance=tuple(self.measures.provenance(first, last)) if self.measures is not None else (),
        )

    def monthly(self, actor: Actor, month: str, now: datetime) -> dict[str, Any]:
        """The monthly report against the objectives as produced at `now`, as a dict (see
        `pipeline.reporting.report`): a month not ended yet is reported to date."""
        require(actor, Permission.VIEW)
        return self._report(month, now)

    def monthly_file(self, actor: Actor, month: str, fmt: str, produced: datetime) -> str:
        """The monthly report as html (for A4), csv or json."""
        if fmt not in MONTHLY_FORMATS:
            raise Invalid(f"the monthly report is written as {', '.join(MONTHLY_FORMATS)}")
        report = self.monthly(actor, month, produced)
        if fmt == "json":
            return report_json(report)
        if fmt == "csv":
            return report_csv(report)
        return render_report_html(self.renderer, report, produced.astimezone(self.tz))

    def quarterly(self, actor: Actor, quarter: str, now: datetime) -> dict[str, Any]:
        """The quarter's months rolled up as produced at `now`, with unique reach over the months covered.
        A month not started yet is counted only as activities still to come."""
        require(actor, Permission.VIEW)
        local = now.astimezone(self.tz)
        months: list[QuarterMonth] = []
        people: dict[str, set[str]] = {}
        strategy = self.calendar.strategy()
        if strategy is None:
            raise NotFound("no plan imported yet: run `comms calendar import` first")
        sent_reports = self._sent_reports(quarter_months(quarter)[0])
        for month in quarter_months(quarter):
            first, last = month_bounds(month)
            written = self.ledger.state(f"report:{month}") == "done" if self.ledger else False
            if local.date() < first:
                overrides = self.calendar.overrides()
                planned = [
                    o for o in plan(strategy, self.calendar.entries(), first, last, overrides) if o.status != "skipped"
                ]
                by_objective: dict[str, int] = {}
                for occ in planned:
                    for code in occ.objectives:
                        by_objective[code] = by_objective.get(code, 0) + 1
                months.append(QuarterMonth(month, None, len(planned), by_objective, written))
                continue
            data = self.month_data(month)
            report = self._report(month, now)
            end = datetime.fromisoformat(report["period"]["as_of"]) if report["period"]["to_date"] else None
            for item in data.items:
                if end is not None and item.due_at > end:
                    continue
                for d in data.deliveries.get(item.id, ()):
                    if d.status == DeliveryStatus.SENT and d.recipient != "-":
                        people.setdefault(d.audience, set()).add(d.recipient)
            months.append(
                QuarterMonth(month, report, report_written=written, report_sent_to=sent_reports.get(month, ()))
            )
        reach = {a: len(p) for a, p in people.items()}
        everyone = len(set().union(*people.values())) if people else 0
        try:
            return build_quarterly(quarter, months, reach, everyone, local)
        except ValueError as exc:
            raise Invalid(str(exc)) from None

    def _sent_reports(self, first_month: str) -> dict[str, tuple[str, ...]]:
        """Audiences each month's report was emailed to (items queued by `queue`, then sent)."""
        first, _ = month_bounds(first_month)
        start = datetime.combine(first, datetime.min.time(), tzinfo=self.tz)
        out: dict[str, set[str]] = {}
        for item in self.outbox.items(status=ItemStatus.SENT, due_from=start):
            if item.entry_id == "report" and item.occurrence_key.startswith("report:"):
                _, month, audience = item.occurrence_key.split(":", 2)
                out.setdefault(month, set()).add(audience)
        return {m: tuple(sorted(a)) for m, a in out.items()}

    def quarterly_file(self, actor: Actor, quarter: str, fmt: str, produced: datetime) -> str:
        if fmt not in QUARTERLY_FORMATS:
            raise Invalid("the quarterly summary is written as html or json")
        summary = self.quarterly(actor, quarter, produced)
        if fmt == "json":
            return json.dumps(summary, indent=2, ensure_ascii=False)
        return render_quarterly_html(self.renderer, summary, produced.astimezone(self.tz))

    def queue(self, actor: Actor, month: str, audience: str, channel: str, now: datetime) -> QueuedReport:
        """Queue the monthly report as an email to an audience (the board, members), awaiting approval
        like any other item, with the actor recorded as who queued it. A person with a role needs to be
        able to draft (a viewer reads the report, but cannot put an email in the queue)."""
        if actor.role is not None:
            require(actor, Permission.DRAFT)
        strategy = self.calendar.strategy()
        found = strategy.channel(channel) if strategy else None
        if found is None or found.kind != "email" or strategy is None or strategy.audience(audience) is None:
            raise NotFound(f"send the report through an email channel to a known audience ({channel}, {audience})")
        report = self.monthly(actor, month, now)
        item = self.outbox.add_item(
            now,
            occurrence_key=f"report:{month}:{audience}",
            entry_id="report",
            channel=channel,
            kind="email",
            title=f"Reach report for {report['period']['label']}",
            subject=f"Prevent communications: reach report for {report['period']['label']}",
            body=report_text(report, month),
            html=render_report_html(self.renderer, report, now.astimezone(self.tz)),
            audiences=[audience],
            objectives=[],
            due_at=now,
            approval="required",
            status=ItemStatus.AWAITING_APPROVAL,
            missed_after_hours=24 * REPORT_DAYS_TO_SEND,
            created_by=actor.name,
        )
        return QueuedReport(item)


def current_month(now: datetime, tz: ZoneInfo) -> str:
    return f"{now.astimezone(tz):%Y-%m}"


def current_quarter(now: datetime, tz: ZoneInfo) -> str:
    local = now.astimezone(tz)
    return f"{local.year}Q{(local.month - 1) // 3 + 1}"


def _occurrence_day(key: str) -> date:
    return date.fromisoformat(key.rsplit("@", 1)[1])
