"""The monthly reach report against the strategy's objectives.

`build_report()` is a pure function of the month's plan, outbox, deliveries and metrics, and of the
moment it is produced (`as_of`); it returns a JSON-safe dict. The same dict is written as HTML
(self-contained, A4), CSV and JSON, so every figure and every sentence of the report comes from it.

- The period covered is stated everywhere. A month that has not ended at `as_of` is reported "to date":
  activities are counted against those due by `as_of`, and a monthly target of a count against the
  share of the month's days gone (a share, such as an uplift, keeps its target).
- Each planned activity due in the period has one state (`STATES`); the headline counts the same
  activities the tables list, so "not delivered in full" is exactly the rows of that table.
- An outcome metric with no figure recorded is "no data", a state of its own, never red.
- An objective is rated by its outcome metrics that have data (the worst of them); with none, it has
  "no data". An objective without targets is rated by its delivery.
"""

from __future__ import annotations

import calendar
import csv
import io
import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from content_calendar.models import Occurrence, Strategy
from content_calendar.plan import month_bounds
from pipeline.errors import Invalid
from pipeline.records import Delivery, MetricPoint, OutboxItem, Provenance
from pipeline.reporting.provenance import sources

ENGAGEMENT = ("opens", "clicks", "engagements", "reactions", "comments", "shares")
MEAN_METRICS = frozenset({"knowledge_uplift", "opinion_uplift", "feedback_uplift"})
GREEN, AMBER = 1.0, 0.75  # a share of the target (or of the activities due) at least this is green, amber

# Ratings: three of them rate; "nodata" and "none" are states of their own.
RATED = ("green", "amber", "red")
RATING_NAMES = {"green": "Green", "amber": "Amber", "red": "Red", "nodata": "No data yet", "none": "Not rated"}
# Delivery bands, for the chart: the share of the activities due that were sent.
BANDS = {"all": "All sent", "most": "Most sent", "few": "Under three quarters sent", "nothing-due": "Nothing due"}

# The state of one planned activity due in the period; the first two were sent.
STATES = {
    "delivered": "delivered",
    "partly delivered": "sent, but not to every recipient",
    "failed": "the channel refused it or an error stopped it",
    "missed": "not sent in time",
    "cancelled": "cancelled or rejected before it was sent",
    "not sent": "due, but not sent",
    "not composed": "due, but never composed",
}
SENT_STATES = ("delivered", "partly delivered")


@dataclass(frozen=True)
class MonthData:
    """Everything the report needs, gathered by the caller from storage."""

    strategy: Strategy
    month: str
    months: tuple[str, ...]  # the month and the two before it, oldest first
    planned: tuple[Occurrence, ...]
    items: tuple[OutboxItem, ...]
    deliveries: dict[int, tuple[Delivery, ...]]
    metrics: tuple[MetricPoint, ...]  # all three months
    edition_failures: dict[str, str] = field(default_factory=dict)  # occurrence key -> what went wrong
    provenance: tuple[Provenance, ...] = ()  # where the month's figures came from, and when recorded


ADDRESS = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")


def _aggregate(text: str) -> str:
    """A reason as the report may print it: the report is aggregate, so no recipient's address."""
    return ADDRESS.sub("[an address]", text)


# the period ---------------------------------------------------------------------------------------
def day_label(day: date) -> str:
    return f"{day.day} {calendar.month_name[day.month]} {day.year}"


def month_label(month: str) -> str:
    first, _ = month_bounds(month)
    return f"{calendar.month_name[first.month]} {first.year}"


def span_label(first: date, last: date) -> str:
    """'1 to 30 November 2026', '1 October to 22 November 2026', '1 December 2026 to 2 January 2027'."""
    if first == last:
        return day_label(first)
    if first.year != last.year:
        return f"{day_label(first)} to {day_label(last)}"
    if first.month != last.month:
        return f"{first.day} {calendar.month_name[first.month]} to {day_label(last)}"
    return f"{first.day} to {day_label(last)}"


@dataclass(frozen=True)
class Period:
    """The days a report covers: a whole month, or the month to date when it has not ended."""

    month: str
    first: date
    last: date  # the month's last day
    through: date  # the last day covered
    as_of: datetime  # local time
    to_date: bool

    @classmethod
    def of(cls, month: str, as_of: datetime, tz: ZoneInfo) -> Period:
        first, last = month_bounds(month)
        local = as_of.astimezone(tz)
        if local.date() < first:
            raise Invalid(f"{month_label(month)} has not started on {day_label(local.date())}: nothing to report yet")
        to_date = local.date() <= last
        return cls(month, first, last, local.date() if to_date else last, local, to_date)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def elapsed(self) -> int:
        return (self.through - self.first).days + 1

    @property
    def end(self) -> datetime:
        """The moment the period ends: `as_of` for a month to date, else midnight after its last day."""
        if self.to_date:
            return self.as_of
        return datetime.combine(self.last + timedelta(days=1), datetime.min.time(), tzinfo=self.as_of.tzinfo)

    @property
    def label(self) -> str:
        return span_label(self.first, self.through) + (" (to date)" if self.to_date else "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "month_name": month_label(self.month),
            "first": self.first.isoformat(),
            "last": self.last.isoformat(),
            "through": self.through.isoformat(),
            "as_of": self.as_of.isoformat(timespec="minutes"),
            "to_date": self.to_date,
            "days": self.days,
            "elapsed": self.elapsed,
            "label": self.label,
            "through_label": day_label(self.through),
            "last_label": day_label(self.last),
        }


# ratings ------------------------------------------------------------------------------------------
def rag(actual: float | None, target: float | None) -> str:
    """green, amber or red against a target; "nodata" with no figure; "none" with no target."""
    if target is None or target == 0:
        return "none"
    if actual is None:
        return "nodata"
    ratio = actual / target
    return "green" if ratio >= GREEN else "amber" if ratio >= AMBER else "red"


def worst(statuses: list[str]) -> str:
    rated = [s for s in statuses if s in RATED]
    return max(rated, key=RATED.index) if rated else "nodata"


def band(sent: int, due: int) -> str:
    """The chart's colour for an objective: by the share of its activities due that were sent."""
    if not due:
        return "nothing-due"
    share = sent / due
    return "all" if share >= GREEN else "most" if share >= AMBER else "few"


def percent(part: float, whole: float) -> int | None:
    """A whole percent, rounded down: 299 of 300 is 99%, never a 100% that is not all."""
    return math.floor(100 * part / whole + 1e-9) if whole else None


def target_to_date(metric: str, target: float, period: Period) -> float:
    """A monthly target of a count, scaled to the days covered; a share keeps its target."""
    if metric in MEAN_METRICS or not period.to_date:
        return target
    return round(target * period.elapsed / period.days, 1)


# figures ------------------------------------------------------------------------------------------
def _metric_value(points: list[MetricPoint], metric: str) -> float | None:
    chosen = [p for p in points if p.metric == metric]
    if not chosen:
        return None
    total = sum(p.value for p in chosen)
    return round(total / sum(p.count for p in chosen), 3) if metric in MEAN_METRICS else total


def _engagement(points: list[MetricPoint]) -> float | None:
    values = [v for v in (_metric_value(points, m) for m in ENGAGEMENT) if v is not None]
    return sum(values) if values else None


def _month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"  # not strftime: this runs for every metric row of the months


def _reach(items: list[OutboxItem], deliveries: dict[int, tuple[Delivery, ...]]) -> dict[str, set[str]]:
    """Unique recipients per audience who were sent an item, across every channel: one person counted once."""
    reach: dict[str, set[str]] = defaultdict(set)
    for item in items:
        for d in deliveries.get(item.id, ()):
            if d.status == "sent" and d.recipient != "-":
                reach[d.audience].add(d.recipient)
    return reach


def _people(reach: dict[str, set[str]]) -> int:
    return len(set().union(*reach.values())) if reach else 0


# activities ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Activity:
    """A planned occurrence due in the period (or a send outside the plan), with what became of it."""

    key: str
    title: str
    channel: str
    due: datetime
    objectives: tuple[str, ...]
    audiences: tuple[str, ...]
    state: str
    reason: str
    item: OutboxItem | None
    planned: bool = True

    @property
    def sent(self) -> bool:
        return self.state in SENT_STATES


def _state(item: OutboxItem | None, got: tuple[Delivery, ...], edition_failure: str | None) -> tuple[str, str]:
    if item is None:
        return "not composed", edition_failure or "no item was composed for it"
    bad = [d for d in got if d.status in ("failed", "skipped")]
    if item.status == "sent":
        if not bad:
            return "delivered", ""
        why = "; ".join(sorted({_aggregate(d.last_error or d.status) for d in bad}))
        return "partly delivered", f"{len(bad)} of {len(got)} recipients not delivered: {why}"
    if item.status in ("failed", "missed", "cancelled"):
        return item.status, _aggregate(item.reason or item.last_error or STATES[item.status])
    waiting = item.status.replace("_", " ")
    return "not sent", f"{waiting} when the report was produced"


def activities(data: MonthData, period: Period) -> tuple[list[Activity], list[Occurrence], list[Occurrence]]:
    """(the activities due in the period, those still to come this month, those the calendar rules skipped)."""
    by_key = {i.occurrence_key: i for i in data.items}
    due, to_come, skipped = [], [], []
    for occ in data.planned:
        if occ.status == "skipped":
            skipped.append(occ)
            continue
        if occ.start > period.end:
            to_come.append(occ)
            continue
        item = by_key.pop(occ.key, None)
        got = data.deliveries.get(item.id, ()) if item else ()
        state, reason = _state(item, got, data.edition_failures.get(occ.key))
        due.append(
            Activity(occ.key, occ.title, occ.channel, occ.start, occ.objectives, occ.audiences, state, reason, item)
        )
    for item in by_key.values():  # sends outside the plan, once settled: a queued report, say
        if item.due_at > period.end or item.status not in ("sent", "failed", "missed", "cancelled"):
            continue
        state, reason = _state(item, data.deliveries.get(item.id, ()), None)
        due.append(
            Activity(
                item.occurrence_key,
                item.title,
                item.channel,
                item.due_at,
                item.objectives,
                item.audiences,
                state,
                reason,
                item,
                planned=False,
            )
        )
    due.sort(key=lambda a: (a.due, a.key))
    return due, to_come, skipped


def _counts(acts: list[Activity]) -> dict[str, int]:
    return {"due": len(acts), "sent": sum(a.sent for a in acts)} | {s: sum(a.state == s for a in acts) for s in STATES}


# sections -----------------------------------------------------------------------------------------
def _objective_section(
    data: MonthData, period: Period, code: str, acts: list[Activity], to_come: list[Occurrence]
) -> dict[str, Any]:
    objective = data.strategy.objective(code)
    assert objective is not None
    mine = [a for a in acts if a.planned and code in a.objectives]
    counts = _counts(mine)
    items = [a.item for a in acts if a.item is not None and code in a.objectives]
    reach = _reach(items, data.deliveries)
    by_month: dict[str, list[MetricPoint]] = defaultdict(list)
    for p in data.metrics:
        if p.objective == code:
            by_month[_month_of(p.day)].append(p)
    this_month = by_month.get(data.month, [])
    outcomes: list[dict[str, Any]] = []
    for metric, target in objective.targets:
        trend = [_metric_value(by_month.get(m, []), metric) for m in data.months]
        actual, previous = trend[-1], trend[-2] if len(trend) > 1 else None
        change = None if actual is None or previous is None else round(actual - previous, 3)
        due_target = target_to_date(metric, target, period)
        outcomes.append(
            {
                "metric": metric,
                "name": metric.replace("_", " "),
                "actual": actual,
                "target": target,
                "target_to_date": due_target,
                "status": rag(actual, due_target),
                "change": change,
                "trend": trend,
                "share": metric in MEAN_METRICS,
                "sources": sources(data.provenance, code, metric, period.as_of, _channel_names(data.strategy)),
            }
        )
    if outcomes:
        status, basis = worst([o["status"] for o in outcomes]), "outcomes"
    else:
        status, basis = (rag(counts["sent"], counts["due"]) if counts["due"] else "nodata"), "delivery"
    return {
        "code": code,
        "title": objective.title,
        "outcome": objective.outcome,
        **counts,
        "to_come": sum(1 for o in to_come if code in o.objectives),
        "share_sent": percent(counts["sent"], counts["due"]),
        "band": band(counts["sent"], counts["due"]),
        "reach": {a: len(r) for a, r in sorted(reach.items())},
        "unique_reach": _people(reach),
        "impressions": _metric_value(this_month, "impressions"),
        "engagement": _engagement(this_month),
        "outcomes": outcomes,
        "status": status,
        "rated_by": basis,
    }


def _by_channel(data: MonthData, acts: list[Activity], month_points: list[MetricPoint]) -> list[dict[str, Any]]:
    rows = []
    for channel in data.strategy.channels:
        mine = [a for a in acts if a.channel == channel.code]
        planned = [a for a in mine if a.planned]
        reach = _reach([a.item for a in mine if a.item is not None], data.deliveries)
        points = [p for p in month_points if p.channel == channel.code]
        rows.append(
            {
                "channel": channel.code,
                "name": channel.name,
                "due": len(planned),
                "sent": sum(a.sent for a in planned),
                "outside_plan": sum(a.sent for a in mine if not a.planned),
                "unique_reach": _people(reach),
                "impressions": _metric_value(points, "impressions"),
                "engagement": _engagement(points),
            }
        )
    return rows


def _by_audience(data: MonthData, acts: list[Activity], month_points: list[MetricPoint]) -> list[dict[str, Any]]:
    reach = _reach([a.item for a in acts if a.item is not None], data.deliveries)
    rows = []
    for audience in data.strategy.audiences:
        scope = data.strategy.audience_with_children(audience.code)
        people = set().union(*(reach.get(a, set()) for a in scope))
        chosen = [p for p in month_points if p.audience in scope and p.metric == "impressions"]
        rows.append(
            {
                "audience": audience.code,
                "name": audience.name,
                "parent": audience.parent,
                "due": sum(1 for a in acts if a.planned and scope & set(a.audiences)),
                "unique_reach": len(people),
                "impressions": sum(p.value for p in chosen) if chosen else None,
            }
        )
    return rows


def _channel_names(strategy: Strategy) -> dict[str, str]:
    return {c.code: c.name for c in strategy.channels}


def build_report(data: MonthData, as_of: datetime) -> dict[str, Any]:
    """The report of `data.month` as produced at `as_of` (aware; read in the strategy's timezone)."""
    period = Period.of(data.month, as_of, ZoneInfo(data.strategy.timezone))
    acts, to_come, skipped = activities(data, period)
    planned = [a for a in acts if a.planned]
    month_points = [p for p in data.metrics if _month_of(p.day) == data.month]
    objectives = [_objective_section(data, period, o.code, acts, to_come) for o in data.strategy.objectives]
    audiences = _by_audience(data, acts, month_points)
    names = _channel_names(data.strategy)
    failures = [
        {
            "item": a.item.id if a.item else None,
            "key": a.key,
            "title": a.title,
            "channel": a.channel,
            "channel_name": names.get(a.channel, a.channel),
            "status": a.state,
            "due": a.due.astimezone(period.as_of.tzinfo).strftime("%Y-%m-%d %H:%M"),
            "reason": a.reason,
            "planned": a.planned,
        }
        for a in acts
        if a.state not in ("delivered",)
    ]
    counts = _counts(planned)
    outside = [a for a in acts if not a.planned]
    everyone = _reach([a.item for a in acts if a.item is not None], data.deliveries)
    return {
        "strategy": data.strategy.name,
        "month": data.month,
        "months": list(data.months),
        "month_names": [month_label(m) for m in data.months],
        "period": period.as_dict(),
        "summary": {
            **counts,
            "planned": counts["due"],  # the same as `due`, for readers written before 0007 (pipeline/demo.py)
            "share_sent": percent(counts["sent"], counts["due"]),
            "not_delivered": counts["due"] - counts["delivered"] - counts["partly delivered"],
            "to_come": len(to_come),
            "skipped": len(skipped),
            "outside_plan": len(outside),
            "outside_plan_sent": sum(a.sent for a in outside),
            "not_delivered_in_full": len(failures),
            "unique_reach": _people(everyone),
            "impressions": _metric_value(month_points, "impressions"),
        },
        "objectives": objectives,
        "channels": _by_channel(data, acts, month_points),
        "audiences": audiences,
        "gaps": {
            "objectives_without_activity": [o["code"] for o in objectives if o["sent"] == 0],
            "audiences_not_reached": [
                a["audience"] for a in audiences if not a["unique_reach"] and not a["impressions"]
            ],
        },
        "failures": failures,
        "outside_plan": [{"title": a.title, "channel": a.channel, "status": a.state} for a in outside],
        "thresholds": {"green": round(100 * GREEN), "amber": round(100 * AMBER)},
    }


# other formats ------------------------------------------------------------------------------------
def report_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False)


CSV_COLUMNS = (
    "month",
    "objective",
    "title",
    "due",
    "sent",
    "partly_delivered",
    "unique_reach",
    "impressions",
    "engagement",
    "metric",
    "actual",
    "target",
    "target_to_date",
    "status",
    "change",
    "trend",
    "period_first",
    "period_through",
    "to_date",
    "sources",
)


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def report_csv(report: dict[str, Any]) -> str:
    """One row per objective and outcome metric: what a spreadsheet or a dashboard wants. An empty
    `actual` is no data; `status` is green, amber, red, nodata (no figure recorded) or none (no target)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    p = report["period"]
    for o in report["objectives"]:
        base = [
            report["month"],
            o["code"],
            o["title"],
            o["due"],
            o["sent"],
            o["partly delivered"],
            o["unique_reach"],
            _cell(o["impressions"]),
            _cell(o["engagement"]),
        ]
        for m in o["outcomes"] or [
            {"metric": "", "actual": None, "target": None, "target_to_date": None, "status": o["status"],
             "change": None, "trend": [], "sources": []}
        ]:  # fmt: skip
            trend = " / ".join(_cell(v) for v in m["trend"])
            writer.writerow(
                [
                    *base,
                    m["metric"],
                    _cell(m["actual"]),
                    _cell(m["target"]),
                    _cell(m["target_to_date"]),
                    m["status"],
                    _cell(m["change"]),
                    trend,
                    p["first"],
                    p["through"],
                    "yes" if p["to_date"] else "no",
                    "; ".join(src["text"] for src in m["sources"]),
                ]
            )
    return out.getvalue()
