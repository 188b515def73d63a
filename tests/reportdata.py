"""A fixed November 2026 of the Thurrock example, for the report's tests, its golden file and its
browser test: the real strategy, calendar and metric files, read by the real code, with an outbox whose
every state is known (sent, partly delivered, failed, missed, awaiting approval, cancelled, and a report
emailed outside the plan)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from content_calendar.calendar import load_calendar
from content_calendar.plan import plan
from content_calendar.strategy import load_strategy
from pipeline.jobs.decide import delivery_metrics
from pipeline.records import Delivery, MetricPoint, OutboxItem
from pipeline.reporting.imports import BUILT_IN, read_feedback, read_import
from pipeline.reporting.report import MonthData
from tests.conftest import EXAMPLE

LONDON = ZoneInfo("Europe/London")
MONTH = "2026-11"
AFTER = datetime(2026, 12, 1, 9, 0, tzinfo=LONDON)  # the report produced once the month has ended
DURING = datetime(2026, 11, 22, 12, 0, tzinfo=LONDON)  # ... and part-way through it

# occurrence key -> (item status, {audience: recipients}, failed recipients with their error)
OUTCOMES: dict[str, tuple[str, dict[str, tuple[str, ...]], dict[str, str]]] = {
    "termly-risk-briefing@2026-11-02": ("sent", {"headteachers": ("h1", "h2", "h3")}, {}),
    "intranet-champions@2026-11-02": ("sent", {"team-thurrock": ("-",)}, {}),
    "resident-newsletter@2026-11-03": (
        "sent",
        {"residents": ("r1", "r2", "r3", "r4"), "parents": ("p1", "p2")},
        {"r4": "550 mailbox unavailable"},
    ),
    "headteacher-bulletin@2026-11-05": ("sent", {"headteachers": ("h1", "h2", "h3"), "governors": ("g1", "p1")}, {}),
    "facebook-fortnightly@2026-11-05": ("sent", {"residents": ("-",)}, {}),
    "interfaith-week@2026-11-09": ("failed", {}, {}),
    "member-briefing@2026-11-10": ("sent", {"elected-members": ("m1", "m2", "m3", "m4")}, {}),
    "x-fortnightly@2026-11-10": ("missed", {}, {}),
    "parents-online-safety@2026-11-17": ("sent", {"parents": ("-",)}, {}),
    "stronger-together@2026-11-18": (
        "sent",
        {"voluntary-sector": ("v1", "v2"), "faith-leaders": ("f1",), "community-leaders": ("c1",)},
        {},
    ),
    "facebook-fortnightly@2026-11-19": ("awaiting_approval", {}, {}),
    "x-fortnightly@2026-11-24": ("cancelled", {}, {}),
}
REASONS = {
    "failed": "Facebook refused the post: (#200) the Page token lacks pages_manage_posts",
    "missed": "the clock was not running when this was due",
    "cancelled": "rejected by the approver: the link was out of date",
}


def _address(name: str) -> str:
    return name if name == "-" else f"{name}@example.org"


def _item(i: int, key: str, channel: str, kind: str, title: str, due: datetime, objectives: tuple[str, ...],
          audiences: tuple[str, ...], status: str) -> OutboxItem:  # fmt: skip
    return OutboxItem(
        id=i,
        occurrence_key=key,
        entry_id=key.split("@")[0],
        channel=channel,
        kind=kind,
        title=title,
        subject=title,
        body="",
        html="",
        link=None,
        audiences=audiences,
        objectives=objectives,
        due_at=due.astimezone(UTC),
        missed_after_hours=24,
        status=status,
        approval="required",
        approved_by="ana@thurrock.gov.uk" if status == "sent" else None,
        approved_at=due.astimezone(UTC) - timedelta(hours=2) if status == "sent" else None,
        reason=REASONS.get(status),
    )  # fmt: skip


def november() -> MonthData:
    strategy = load_strategy(EXAMPLE / "strategy.yaml")
    entries = load_calendar(sorted((EXAMPLE / "calendar").glob("*")), strategy)
    planned = tuple(plan(strategy, entries, date(2026, 11, 1), date(2026, 11, 30)))
    items: list[OutboxItem] = []
    deliveries: dict[int, tuple[Delivery, ...]] = {}
    figures: list[MetricPoint] = []
    next_delivery = 1
    for i, occ in enumerate(planned, start=1):
        status, recipients, failed = OUTCOMES[occ.key]
        kind = "email" if strategy.channel(occ.channel).kind == "email" else "post"  # type: ignore[union-attr]
        item = _item(i, occ.key, occ.channel, kind, occ.title, occ.start, occ.objectives, occ.audiences, status)
        items.append(item)
        got = []
        for audience, names in recipients.items():
            for name in names:
                bad = failed.get(name)
                got.append(Delivery(next_delivery, i, _address(name), audience, "failed" if bad else "sent", 1,
                                    None, None, bad, None if bad else item.due_at))  # fmt: skip
                next_delivery += 1
        deliveries[i] = tuple(got)
        if status == "sent":
            figures += delivery_metrics(item, list(got))
    report = _item(100, "report:2026-10:elected-members", "member-briefing", "email", "Reach report 2026-10",
                   datetime(2026, 11, 2, 9, 15, tzinfo=LONDON), (), ("elected-members",), "sent")  # fmt: skip
    items.append(report)
    deliveries[100] = tuple(
        Delivery(500 + n, 100, _address(m), "elected-members", "sent", 1, None, None, None, report.due_at)
        for n, m in enumerate(("m1", "m2", "m3", "m4"))
    )
    metrics = EXAMPLE / "metrics"
    figures += read_import(metrics / "2026-11-facebook-export.csv", BUILT_IN["facebook"], objective="1",
                           audience="residents", month=MONTH)  # fmt: skip
    figures += read_import(metrics / "2026-11-by-hand.csv", BUILT_IN["generic"], month=MONTH)
    figures += read_feedback(metrics / "2026-11-faith-forum-feedback.csv", objective="1", month=MONTH)
    figures += [
        MetricPoint(date(2026, 9, 30), "impressions", 4100, "by hand", channel="facebook", objective="1"),
        MetricPoint(date(2026, 10, 31), "impressions", 5200, "by hand", channel="facebook", objective="1"),
        MetricPoint(date(2026, 10, 31), "community_tension_returns", 2, "by hand", objective="2"),
        MetricPoint(date(2026, 10, 31), "page_views", 350, "by hand", channel="website", objective="4"),
        MetricPoint(date(2026, 10, 31), "referrals", 1, "by hand", objective="6"),
    ]
    return MonthData(
        strategy=strategy,
        month=MONTH,
        months=("2026-09", "2026-10", MONTH),
        planned=planned,
        items=tuple(items),
        deliveries=deliveries,
        metrics=tuple(figures),
    )
