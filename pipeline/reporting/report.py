"""The monthly reach report against the strategy's objectives.

`build_report()` is a pure function of the month's plan, outbox, deliveries and metrics; it returns a
JSON-safe dict. The same dict is written as HTML (self-contained, inline SVG, A4), CSV and JSON.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from content_calendar.models import Occurrence, Strategy
from pipeline.records import Delivery, MetricPoint, OutboxItem

ENGAGEMENT = ("opens", "clicks", "engagements", "shares")
MEAN_METRICS = frozenset({"knowledge_uplift", "opinion_uplift", "feedback_uplift"})
GREEN, AMBER = 1.0, 0.75


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
    edition_failures: tuple[str, ...] = ()


def rag(actual: float | None, target: float | None) -> str:
    if target is None or target == 0:
        return "none"
    if actual is None:
        return "red"
    ratio = actual / target
    return "green" if ratio >= GREEN else "amber" if ratio >= AMBER else "red"


def _metric_value(points: list[MetricPoint], metric: str) -> float | None:
    chosen = [p for p in points if p.metric == metric]
    if not chosen:
        return None
    total = sum(p.value for p in chosen)
    return round(total / sum(p.count for p in chosen), 3) if metric in MEAN_METRICS else total


def _month_of(day: date) -> str:
    return f"{day:%Y-%m}"


def _reach(items: list[OutboxItem], deliveries: dict[int, tuple[Delivery, ...]]) -> dict[str, set[str]]:
    """Unique recipients per audience, across every channel: one person counted once."""
    reach: dict[str, set[str]] = defaultdict(set)
    for item in items:
        for d in deliveries.get(item.id, ()):
            if d.status == "sent" and d.recipient != "-":
                reach[d.audience].add(d.recipient)
    return reach


def _objective_section(data: MonthData, code: str) -> dict[str, Any]:
    objective = data.strategy.objective(code)
    assert objective is not None
    planned = [o for o in data.planned if code in o.objectives and o.status != "skipped"]
    items = [i for i in data.items if code in i.objectives]
    delivered = [i for i in items if i.status == "sent"]
    reach = _reach(delivered, data.deliveries)
    points = [p for p in data.metrics if p.objective == code]
    this_month = [p for p in points if _month_of(p.day) == data.month]
    outcomes: list[dict[str, Any]] = []
    for metric, target in objective.targets:
        trend = [_metric_value([p for p in points if _month_of(p.day) == m], metric) for m in data.months]
        actual, previous = trend[-1], trend[-2] if len(trend) > 1 else None
        change = None if actual is None or previous is None else round(actual - previous, 3)
        outcomes.append(
            {
                "metric": metric,
                "actual": actual,
                "target": target,
                "status": rag(actual, target),
                "change": change,
                "trend": trend,
            }
        )
    return {
        "code": code,
        "title": objective.title,
        "outcome": objective.outcome,
        "planned": len(planned),
        "delivered": len(delivered),
        "reach": {a: len(r) for a, r in sorted(reach.items())},
        "unique_reach": len(set().union(*reach.values())) if reach else 0,
        "impressions": _metric_value(this_month, "impressions") or 0,
        "engagement": sum(_metric_value(this_month, m) or 0 for m in ENGAGEMENT),
        "outcomes": outcomes,
        "status": _overall([o["status"] for o in outcomes], len(planned), len(delivered)),
    }


def _overall(statuses: list[str], planned: int, delivered: int) -> str:
    if not planned and not delivered:
        return "red"
    rated = [s for s in statuses if s != "none"]
    if not rated:
        return "green" if delivered >= planned else "amber"
    return "red" if "red" in rated else "amber" if "amber" in rated else "green"


def _by_channel(data: MonthData, month_points: list[MetricPoint]) -> list[dict[str, Any]]:
    rows = []
    for channel in data.strategy.channels:
        items = [i for i in data.items if i.channel == channel.code]
        reach = _reach([i for i in items if i.status == "sent"], data.deliveries)
        points = [p for p in month_points if p.channel == channel.code]
        rows.append(
            {
                "channel": channel.code,
                "name": channel.name,
                "planned": sum(1 for o in data.planned if o.channel == channel.code and o.status != "skipped"),
                "delivered": sum(1 for i in items if i.status == "sent"),
                "unique_reach": len(set().union(*reach.values())) if reach else 0,
                "impressions": _metric_value(points, "impressions") or 0,
                "engagement": sum(_metric_value(points, m) or 0 for m in ENGAGEMENT),
            }
        )
    return rows


def _by_audience(data: MonthData, month_points: list[MetricPoint]) -> list[dict[str, Any]]:
    reach = _reach([i for i in data.items if i.status == "sent"], data.deliveries)
    rows = []
    for audience in data.strategy.audiences:
        scope = data.strategy.audience_with_children(audience.code)
        people = set().union(*(reach.get(a, set()) for a in scope))
        rows.append(
            {
                "audience": audience.code,
                "name": audience.name,
                "parent": audience.parent,
                "planned": sum(1 for o in data.planned if scope & set(o.audiences) and o.status != "skipped"),
                "unique_reach": len(people),
                "impressions": sum(p.value for p in month_points if p.audience in scope and p.metric == "impressions"),
            }
        )
    return rows


def build_report(data: MonthData) -> dict[str, Any]:
    month_points = [p for p in data.metrics if _month_of(p.day) == data.month]
    objectives = [_objective_section(data, o.code) for o in data.strategy.objectives]
    audiences = _by_audience(data, month_points)
    failures = [
        {
            "item": i.id,
            "title": i.title,
            "channel": i.channel,
            "status": i.status,
            "due_at": i.due_at.isoformat(),
            "reason": i.reason or i.last_error or "",
        }
        for i in data.items
        if i.status in ("failed", "missed")
    ]
    failures += [
        {"item": None, "title": f, "channel": "", "status": "edition failed", "due_at": "", "reason": f}
        for f in data.edition_failures
    ]
    partial = []
    for i in data.items:
        got = data.deliveries.get(i.id, ())
        bad = [d for d in got if d.status in ("failed", "skipped")]
        if i.status == "sent" and bad:
            why = "; ".join(sorted({d.last_error or d.status for d in bad}))
            partial.append(
                {
                    "item": i.id,
                    "title": i.title,
                    "channel": i.channel,
                    "status": "partly delivered",
                    "due_at": i.due_at.isoformat(),
                    "reason": f"{len(bad)} of {len(got)} not delivered: {why}",
                }
            )
    return {
        "strategy": data.strategy.name,
        "month": data.month,
        "months": list(data.months),
        "summary": {
            "planned": sum(1 for o in data.planned if o.status != "skipped"),
            "delivered": sum(1 for i in data.items if i.status == "sent"),
            "awaiting": sum(1 for i in data.items if i.status in ("draft", "awaiting_approval", "approved")),
            "failed_or_missed": len(failures),
            "unique_reach": len(set().union(*_reach(list(data.items), data.deliveries).values()) or set()),
            "impressions": _metric_value(month_points, "impressions") or 0,
        },
        "objectives": objectives,
        "channels": _by_channel(data, month_points),
        "audiences": audiences,
        "gaps": {
            "objectives_without_activity": [o["code"] for o in objectives if o["delivered"] == 0],
            "audiences_not_reached": [
                a["audience"] for a in audiences if not a["unique_reach"] and not a["impressions"]
            ],
        },
        "failures": failures + partial,
    }


def report_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False)


def report_csv(report: dict[str, Any]) -> str:
    """One row per objective and outcome metric: what a spreadsheet or a dashboard wants."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "month",
            "objective",
            "title",
            "planned",
            "delivered",
            "unique_reach",
            "impressions",
            "engagement",
            "metric",
            "actual",
            "target",
            "status",
            "change",
            "trend",
        ]
    )
    for o in report["objectives"]:
        base = [
            report["month"],
            o["code"],
            o["title"],
            o["planned"],
            o["delivered"],
            o["unique_reach"],
            o["impressions"],
            o["engagement"],
        ]
        for m in o["outcomes"] or [
            {"metric": "", "actual": "", "target": "", "status": o["status"], "change": "", "trend": []}
        ]:
            trend = " / ".join("" if v is None else f"{v:g}" for v in m["trend"])
            writer.writerow([*base, m["metric"], m["actual"], m["target"], m["status"], m["change"], trend])
    return out.getvalue()
