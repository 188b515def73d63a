"""The monthly report's figures against totals computed by hand for a small month."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import html5lib

from content_calendar.models import Occurrence
from pipeline.records import Delivery, MetricPoint, OutboxItem
from pipeline.rendering.render import Renderer
from pipeline.reporting.files import render_report_html
from pipeline.reporting.imports import read_feedback
from pipeline.reporting.report import MonthData, build_report, rag, report_csv

DUE = datetime(2026, 11, 5, 8, tzinfo=UTC)


def item(i: int, channel: str, objectives: tuple[str, ...], status: str = "sent") -> OutboxItem:
    return OutboxItem(
        i,
        f"e{i}@2026-11-05",
        f"e{i}",
        channel,
        "email",
        f"Item {i}",
        "s",
        "b",
        "",
        None,
        ("residents",),
        objectives,
        DUE,
        24,
        status,
        "required",
        "x",
        DUE,
    )


def delivery(i: int, item_id: int, rcpt: str, audience: str, status: str = "sent") -> Delivery:
    return Delivery(i, item_id, rcpt, audience, status, 1, None, None, None, DUE)


def occ(
    entry: str, channel: str, objectives: tuple[str, ...], audiences: tuple[str, ...] = ("residents",)
) -> Occurrence:
    return Occurrence(entry, entry, DUE, channel, audiences, objectives, "t")


def month(strategy) -> MonthData:  # type: ignore[no-untyped-def]
    items = (
        item(1, "resident-newsletter", ("1", "3")),
        item(2, "headteacher-bulletin", ("6",)),
        item(3, "facebook", ("1",), status="failed"),
    )
    deliveries = {
        1: (
            delivery(1, 1, "a@x.org", "residents"),
            delivery(2, 1, "b@x.org", "parents"),
            delivery(3, 1, "bad@x", "residents", status="skipped"),
        ),
        # a parent who is also a governor is counted once across channels
        2: (delivery(4, 2, "b@x.org", "governors"), delivery(5, 2, "h@x.org", "headteachers")),
        3: (),
    }
    metrics = (
        MetricPoint(date(2026, 11, 9), "impressions", 2000, "import", channel="facebook", objective="1"),
        MetricPoint(date(2026, 11, 17), "impressions", 4400, "import", channel="facebook", objective="1"),
        MetricPoint(date(2026, 10, 10), "impressions", 5000, "import", channel="facebook", objective="1"),
        MetricPoint(date(2026, 11, 30), "community_tension_returns", 3, "hand", objective="2"),
        MetricPoint(date(2026, 11, 6), "knowledge_uplift", 0.5, "feedback", objective="1"),
        MetricPoint(date(2026, 11, 20), "knowledge_uplift", 1.0, "feedback", objective="1"),
    )
    planned = (
        occ("e1", "resident-newsletter", ("1", "3")),
        occ("e2", "headteacher-bulletin", ("6",)),
        occ("e3", "facebook", ("1",)),
        occ("e4", "intranet", ("2",), ("team-thurrock",)),
    )
    return MonthData(strategy, "2026-11", ("2026-09", "2026-10", "2026-11"), planned, items, deliveries, metrics)


AFTER = datetime(2026, 12, 1, 9, tzinfo=UTC)


def test_figures_match_hand_computed_totals(strategy) -> None:  # type: ignore[no-untyped-def]
    report = build_report(month(strategy), AFTER)
    o = {x["code"]: x for x in report["objectives"]}
    assert (o["1"]["due"], o["1"]["sent"]) == (2, 1)  # e1 and e3 planned; item 3 failed
    assert o["1"]["reach"] == {"parents": 1, "residents": 1} and o["1"]["unique_reach"] == 2
    assert o["1"]["impressions"] == 6400  # October's 5,000 is not November's
    outcomes = {m["metric"]: m for m in o["1"]["outcomes"]}
    assert outcomes["impressions"]["actual"] == 6400 and outcomes["impressions"]["status"] == "green"
    assert outcomes["impressions"]["change"] == 1400 and outcomes["impressions"]["trend"] == [None, 5000, 6400]
    assert outcomes["knowledge_uplift"]["actual"] == 0.75  # a mean, not a sum
    assert outcomes["knowledge_uplift"]["status"] == "green"  # 0.75 against a target of 0.6
    two = {m["metric"]: m for m in o["2"]["outcomes"]}
    assert two["community_tension_returns"]["status"] == "amber"  # 3 of 4
    assert report["summary"]["unique_reach"] == 3  # a, b (twice) and h
    assert report["summary"]["sent"] == 2 and report["summary"]["due"] == 4
    assert "4" in report["gaps"]["objectives_without_activity"]
    assert "faith-leaders" in report["gaps"]["audiences_not_reached"]
    # the partly delivered newsletter, the failed post, and e4 (due, never composed), in due order
    assert [(f["item"], f["status"]) for f in report["failures"]] == [
        (1, "partly delivered"),
        (3, "failed"),
        (None, "not composed"),
    ]


def test_rag_thresholds() -> None:
    assert [rag(10, 10), rag(7.5, 10), rag(7.4, 10), rag(None, 10), rag(5, None)] == [
        "green",
        "amber",
        "red",
        "nodata",
        "none",
    ]


def test_html_shows_every_objective_and_csv_has_a_row_per_metric(strategy) -> None:  # type: ignore[no-untyped-def]
    report = build_report(month(strategy), AFTER)
    html = render_report_html(Renderer(), report, datetime.combine(date(2026, 12, 1), time(8), tzinfo=UTC))
    doc = html5lib.parse(html, namespaceHTMLElements=False)
    titles = [h.text for h in doc.iter("h3")]
    assert len([t for t in titles if t and t.startswith("Objective ")]) == 6
    rows = report_csv(report).splitlines()
    assert rows[0].startswith("month,objective") and len(rows) == 1 + sum(
        max(1, len(x["outcomes"])) for x in report["objectives"]
    )


def test_uplift_from_feedback_forms_excludes_dont_know(tmp_path: Path) -> None:
    forms = tmp_path / "forms.csv"
    forms.write_text(
        "event,date,knowledge_before,knowledge_after,opinion_before,opinion_after\n"
        "Forum,2026-11-06,Poor,Good,Neutral,Positive\n"  # k up, o up
        "Forum,2026-11-06,Good,Good,Positive,Negative\n"  # k same, o down
        "Forum,2026-11-06,Don't know,Good,Don't know,Don't know\n"  # excluded from both
        "Forum,2026-11-06,Very poor,Poor,Negative,Neutral\n"
    )  # k up, o up
    points = {p.metric: p.value for p in read_feedback(forms, month="2026-11")}
    assert points == {"event_attendance": 4, "knowledge_uplift": round(2 / 3, 3), "opinion_uplift": round(2 / 3, 3)}


def test_quarterly_rolls_up_months_and_sets_out_benchmark_evidence(strategy) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from pipeline.reporting.quarterly import build_quarterly, quarter_months

    assert quarter_months("2026Q3") == ("2026-07", "2026-08", "2026-09")
    with pytest.raises(ValueError, match="2026Q3"):
        quarter_months("2026-Q5")
    from pipeline.reporting.quarterly import QuarterMonth

    november = build_report(month(strategy), AFTER)
    months = [QuarterMonth(m, november) for m in quarter_months("2026Q4")]
    summary = build_quarterly("2026Q4", months, {"residents": 1, "parents": 1}, 2, AFTER)
    one = {o["code"]: o for o in summary["objectives"]}["1"]
    impressions = {m["metric"]: m for m in one["outcomes"]}["impressions"]
    assert impressions["actual"] == 3 * 6400 and impressions["target"] == 3 * 6000
    uplift = {m["metric"]: m for m in one["outcomes"]}["knowledge_uplift"]
    assert uplift["actual"] == 0.75 and uplift["target"] == 0.6, "a mean stays a mean over the quarter"
    assert summary["summary"]["due"] == 12 and summary["summary"]["unique_reach"] == 2
    assert set(summary["evidence"]) == {"10.1", "10.2"}
    assert any("community tension returns recorded for objective 2: 9 " in line for line in summary["evidence"]["10.1"])


def test_a_job_that_did_nothing_but_fail_says_failed() -> None:
    from pipeline.records import Outcome

    assert Outcome({"sent": 0, "failed": 1, "missed": 0, "held": 0}, ("item 1: 401",)).status == "failed"
    assert Outcome({"sent": 3, "failed": 1}, ("item 1 to a@b.org: 550",)).status == "partial"
    assert Outcome({"feeds": 4, "new": 0, "not_modified": 0, "failed": 4}, ("a", "b", "c", "d")).status == "failed"
    assert Outcome({"sent": 0}).status == "ok"
