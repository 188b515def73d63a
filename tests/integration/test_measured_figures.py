"""Figures measured at the source can be trusted: each is kept once per (channel, post, objective,
metric), a later pull replaces it (a lifetime count is never added twice), a deleted post keeps its
last figures and says so, and the report says where each figure came from and how fresh it is. On
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from alembic import command

from content_calendar.calendar import load_calendar
from pipeline.records import LINK_CLICKS, MEASURED, MetricPoint
from pipeline.reporting.report import report_csv
from pipeline.services.actor import Actor
from pipeline.services.reports import ReportService
from pipeline.storage.db import alembic_config, current_revision
from pipeline.storage.store import Repositories
from tests.conftest import EXAMPLE

PULLED = datetime(2026, 11, 20, 6, 15, tzinfo=UTC)
NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))


def pulled(value: float, post: str = "123_456", metric: str = "impressions", objective: str = "2") -> MetricPoint:
    return MetricPoint(
        date(2026, 11, 5),
        metric,
        value,
        MEASURED,
        channel="facebook",
        objective=objective,
        item_ref=f"outbox:7 {post}",
        import_key=f"api:facebook:{post}:{objective}:{metric}",
        account="Page 1234",
    )


def test_a_later_pull_replaces_the_earlier_figure(store: Repositories) -> None:
    assert store.measures.store_measured([pulled(100), pulled(7, metric="clicks")], at=PULLED) == (2, 0)
    later = PULLED + timedelta(days=1)
    assert store.measures.store_measured([pulled(150), pulled(9, metric="clicks")], at=later) == (0, 2)
    figures = store.metrics.figures(source=MEASURED)
    assert sorted((f.metric, f.value) for f in figures) == [("clicks", 9), ("impressions", 150)]
    assert {f.recorded_at for f in figures} == {later}
    assert {f.account for f in figures} == {"Page 1234"}
    totals = {p.metric: p.value for p in store.metrics.totals(*NOVEMBER)}
    assert totals == {"impressions": 150, "clicks": 9}


def test_a_deleted_post_keeps_its_last_figures_and_says_so(store: Repositories) -> None:
    store.measures.store_measured([pulled(100), pulled(40, post="999")], at=PULLED)
    gone_at = PULLED + timedelta(days=2)
    assert store.measures.mark_gone("facebook", ["outbox:7 123_456"], at=gone_at) == 1
    assert store.measures.mark_gone("facebook", ["outbox:7 123_456"], at=gone_at) == 0  # already marked
    by_post = {f.item_ref: f for f in store.metrics.figures(source=MEASURED)}
    assert by_post["outbox:7 123_456"].value == 100 and by_post["outbox:7 123_456"].gone_at == gone_at
    assert by_post["outbox:7 999"].gone_at is None
    [prov] = store.measures.provenance(*NOVEMBER)
    assert (prov.figures, prov.gone, prov.newest) == (2, 1, PULLED)


def test_clicks_are_counted_one_by_one_without_a_person(store: Repositories) -> None:
    click = MetricPoint(
        date(2026, 11, 5),
        "clicks",
        1,
        LINK_CLICKS,
        channel="newsletter",
        audience="residents",
        objective="1",
        item_ref="outbox:3 https://www.gov.uk/prevent",
        import_key="clicks:3:residents:1:abc",
    )
    for minute in range(3):
        store.measures.count([click], at=PULLED + timedelta(minutes=minute))
    [figure] = store.metrics.figures(source=LINK_CLICKS)
    assert figure.value == 3 and figure.recorded_at == PULLED + timedelta(minutes=2)


def test_the_last_pull_of_each_channel_is_kept(store: Repositories) -> None:
    store.measures.record_pull("facebook", "Page 1234", at=PULLED, ok=True, posts=4, figures=16)
    store.measures.record_pull("facebook", "Page 1234", at=PULLED + timedelta(days=1), ok=False, error="HTTP 401")
    [state] = store.measures.pull_states()
    assert state.last_success_at == PULLED and state.posts == 4 and state.figures == 16
    assert state.last_attempt_at == PULLED + timedelta(days=1) and state.last_error == "HTTP 401"


def test_the_report_says_where_each_figure_came_from_and_how_fresh_it_is(store: Repositories, strategy) -> None:  # type: ignore[no-untyped-def]
    store.calendar.import_plan(strategy, load_calendar(sorted((EXAMPLE / "calendar").glob("*")), strategy), PULLED)
    objective = next(o for o in strategy.objectives if any(m == "impressions" for m, _ in o.targets))
    store.measures.store_measured([pulled(100, objective=objective.code)], at=PULLED)
    from pipeline.rendering.render import Renderer

    service = ReportService(
        UTC, Renderer(()), store.calendar, store.outbox, store.metrics, store.ledger, store.measures
    )
    report = service.monthly(Actor.clock(), "2026-11", datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    section = next(o for o in report["objectives"] if o["code"] == objective.code)
    outcome = next(m for m in section["outcomes"] if m["metric"] == "impressions")
    [source] = outcome["sources"]
    assert "'s own figures (Page 1234), fetched" in source["text"]
    assert "fetched 20 November 2026 06:15 (3 days old)" in source["text"]
    assert "(Page 1234)" in report_csv(report)
    from pipeline.reporting.files import render_report_html

    html = render_report_html(Renderer(()), report, datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    assert "Where from: " in html and "own figures (Page 1234), fetched 20 November 2026 06:15 (3 days old)" in html
    # an objective whose figures are missing is "no data yet", not red
    empty = [o for o in report["objectives"] if o["outcomes"] and all(m["actual"] is None for m in o["outcomes"])]
    assert empty and all(o["status"] == "nodata" for o in empty)


def test_the_migration_goes_down_and_up_again(store: Repositories) -> None:
    store.measures.store_measured([pulled(100)], at=PULLED)
    cfg = alembic_config(store.engine)
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0012")
        assert current_revision(conn) == "0012"
        command.upgrade(cfg, "head")
    [figure] = store.metrics.figures(source=MEASURED)
    assert figure.value == 100 and figure.account == ""


def test_a_measured_figure_cannot_be_changed_by_hand(store: Repositories, strategy) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from pipeline.errors import Invalid
    from pipeline.services.actor import Role
    from pipeline.services.metrics import MetricsService

    store.calendar.import_plan(strategy, [], PULLED)
    store.measures.store_measured([pulled(100)], at=PULLED)
    [figure] = store.metrics.figures(source=MEASURED)
    service = MetricsService(store.metrics, store.calendar)
    author = Actor.cli("sam@thurrock.gov.uk", Role.AUTHOR)
    with pytest.raises(Invalid, match="the next pull or click would put it back"):
        service.correct(author, figure.id, 5, PULLED)
    with pytest.raises(Invalid, match="own count"):
        service.remove(author, figure.id, PULLED)


def test_the_posts_to_measure_are_those_sent_with_the_destinations_id(store: Repositories) -> None:
    from pipeline.storage.tables import DeliveryRow, OutboxRow

    def post(n: int, channel: str, status: str, external: str | None, kind: str = "post") -> None:
        due = datetime(2026, 11, n, 12, 0, tzinfo=UTC)
        with store.engine.begin() as conn:
            item = conn.execute(
                OutboxRow.__table__.insert().values(  # type: ignore[attr-defined]
                    occurrence_key=f"e{n}@2026-11-{n:02d}",
                    entry_id=f"e{n}",
                    channel=channel,
                    kind=kind,
                    title="t",
                    body="",
                    html="",
                    audiences=["residents"],
                    objectives=["1", "3"],
                    due_at=due,
                    status="sent",
                    content_hash="h",
                    created_at=due,
                    updated_at=due,
                )
            ).inserted_primary_key[0]
            conn.execute(
                DeliveryRow.__table__.insert().values(  # type: ignore[attr-defined]
                    outbox_id=item, recipient="-", audience="residents", status=status, external_id=external,
                    sent_at=due if status == "sent" else None,
                )
            )  # fmt: skip

    post(2, "facebook", "sent", "p_2")
    post(3, "facebook", "failed", None)
    post(4, "x", "sent", "186")
    post(5, "newsletter", "sent", "<m@x>", kind="email")
    post(9, "facebook", "sent", "p_9")
    found = store.measures.published(since=date(2026, 11, 3))
    assert [(p.channel, p.external_id, p.day.day, p.objectives, p.audience) for p in found] == [
        ("x", "186", 4, ("1", "3"), "residents"),
        ("facebook", "p_9", 9, ("1", "3"), "residents"),
    ]
    assert [p.external_id for p in store.measures.published(channels=["facebook"])] == ["p_2", "p_9"]
    assert all(p.sent_at.tzinfo is not None for p in found)
