"""A month's metric totals, kept by the database, and where the figures came from, kept per process until
the figures change: a change made by another process (another store on the same database) shows at the
next read, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

from pipeline.records import MetricPoint
from pipeline.storage.metrics_store import MetricsStore
from pipeline.storage.store import Repositories

FIRST, LAST = date(2026, 10, 1), date(2026, 10, 31)
AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _total(store: MetricsStore | object, metric: str = "referrals") -> float:
    assert isinstance(store, MetricsStore)
    return sum(p.value for p in store.totals(FIRST, LAST) if p.metric == metric)


def test_every_kind_of_change_shows_in_the_next_totals(store: Repositories) -> None:
    reader = store.metrics
    writer = MetricsStore(store.engine)  # another process's store: its own cache, the same database
    assert _total(reader) == 0
    writer.add([MetricPoint(date(2026, 10, 5), "referrals", 2, "import:a.csv", objective="6", import_key="a")])
    assert _total(reader) == 2, "added"
    change = writer.put(
        MetricPoint(date(2026, 10, 31), "referrals", 3, "by hand", objective="6"), key="k", add=False, at=AT, by="x"
    )
    assert _total(reader) == 5, "entered by hand"
    writer.correct(change.figure.id, 7, at=AT, by="x")
    assert _total(reader) == 9, "corrected"
    writer.remove(change.figure.id)
    assert _total(reader) == 2, "removed"
    points = [MetricPoint(date(2026, 10, 9), "referrals", 4, "import:f.csv", objective="6", import_key="r1")]
    writer.replace_import(name="f.csv", content_hash="h1", options="", points=points, at=AT, by="x")
    assert _total(reader) == 6, "imported"
    writer.replace_import(name="f.csv", content_hash="h1", options="", points=[], at=AT, by="x")
    assert _total(reader) == 2, "the same file again, read as holding nothing: its figures go"


def test_measured_figures_and_counted_clicks_show_in_the_next_totals(store: Repositories) -> None:
    from pipeline.records import MEASURED
    from pipeline.storage.measure_store import MeasureStore

    reader = store.metrics
    measures = MeasureStore(store.engine)
    assert _total(reader, "impressions") == 0
    point = MetricPoint(
        date(2026, 10, 6), "impressions", 40, MEASURED, channel="facebook", objective="1", item_ref="p1",
        import_key="measured:facebook:p1:impressions",
    )  # fmt: skip
    measures.store_measured([point], at=AT)
    assert _total(reader, "impressions") == 40, "measured"
    measures.store_measured([MetricPoint(**{**point.__dict__, "value": 55})], at=AT)
    assert _total(reader, "impressions") == 55, "measured again"
    click = MetricPoint(date(2026, 10, 7), "link_clicks", 1, "pipeline", objective="1", import_key="clicks:x")
    measures.count([click], at=AT)
    measures.count([click], at=AT)
    assert _total(reader, "link_clicks") == 2, "clicks counted"


def _summed_from_rows(store: Repositories, first: date, last: date) -> dict[tuple[str, ...], tuple[float, int]]:
    from sqlalchemy import text

    q = text(
        "SELECT channel, audience, objective, metric, SUM(value), COUNT(*) FROM metrics "
        "WHERE day >= :first AND day <= :last GROUP BY channel, audience, objective, metric"
    )
    with store.engine.connect() as conn:
        return {tuple(r[:4]): (float(r[4]), int(r[5])) for r in conn.execute(q, {"first": first, "last": last})}


def _kept(store: Repositories, first: date, last: date) -> dict[tuple[str, ...], tuple[float, int]]:
    points = store.metrics.totals(first, last)
    return {(p.channel, p.audience, p.objective, p.metric): (p.value, p.count) for p in points}


def test_the_months_kept_totals_follow_every_write_and_agree_with_the_rows(store: Repositories) -> None:
    """The totals the database keeps by trigger (migration 0015) are what summing the rows gives, after
    inserts, corrections (updates), removals, a re-import and a pulled figure replaced, month by month and
    for a quarter."""
    from pipeline.records import MEASURED
    from pipeline.storage.measure_store import MeasureStore

    metrics, measures = store.metrics, MeasureStore(store.engine)
    metrics.add([
        MetricPoint(date(2026, 10, d), m, d * 1.5, "import:a.csv", channel=c, objective="6", import_key=f"a{d}{m}{c}")
        for d in (1, 15, 31) for m in ("referrals", "page_views") for c in ("", "website")
    ])  # fmt: skip
    metrics.add([MetricPoint(date(2026, 11, 1), "referrals", 9, "import:a.csv", objective="6", import_key="nov")])
    change = metrics.put(
        MetricPoint(date(2026, 10, 31), "referrals", 3, "by hand", objective="6"), key="k", add=False, at=AT, by="x"
    )
    metrics.correct(change.figure.id, 7, at=AT, by="x")
    other = metrics.put(
        MetricPoint(date(2026, 10, 2), "events", 4, "by hand", objective="2"), key="e", add=False, at=AT, by="x"
    )
    metrics.remove(other.figure.id)
    points = [MetricPoint(date(2026, 10, 9), "referrals", 4, "import:f.csv", objective="6", import_key="r1")]
    metrics.replace_import(name="f.csv", content_hash="h1", options="", points=points, at=AT, by="x")
    points = [MetricPoint(date(2026, 10, 9), "referrals", 5, "import:f.csv", objective="6", import_key="r2")]
    metrics.replace_import(name="f.csv", content_hash="h2", options="", points=points, at=AT, by="x")
    pulled = MetricPoint(
        date(2026, 10, 6), "impressions", 40, MEASURED, channel="facebook", objective="1", item_ref="p1",
        import_key="measured:facebook:p1:impressions",
    )  # fmt: skip
    measures.store_measured([pulled], at=AT)
    measures.store_measured([MetricPoint(**{**pulled.__dict__, "value": 55})], at=AT)
    for first, last in ((FIRST, LAST), (date(2026, 11, 1), date(2026, 11, 30)), (FIRST, date(2026, 12, 31))):
        kept, summed = _kept(store, first, last), _summed_from_rows(store, first, last)
        assert kept == summed, (first, last)
    assert _kept(store, FIRST, LAST)[("", "", "6", "referrals")][0] == 1.5 + 22.5 + 46.5 + 7 + 5
    assert ("", "", "2", "events") not in _kept(store, FIRST, LAST), "a removed figure's group is gone"
    with store.engine.connect() as conn:  # and the report's months are read from the kept totals themselves
        from sqlalchemy import text

        conn.execute(text("UPDATE metric_month_totals SET total = total + 1000 WHERE metric = 'referrals'"))
        conn.commit()
    assert _kept(store, FIRST, LAST)[("", "", "6", "referrals")][0] == 1000 + 1.5 + 22.5 + 46.5 + 7 + 5


def test_where_figures_came_from_follows_a_write_by_another_process(store: Repositories) -> None:
    """The report's provenance is kept per process like the totals, and read again after any change."""
    from pipeline.records import MEASURED
    from pipeline.storage.measure_store import MeasureStore

    reader, writer = store.measures, MeasureStore(store.engine)
    assert reader.provenance(FIRST, LAST) == []
    point = MetricPoint(
        date(2026, 10, 6), "impressions", 40, MEASURED, channel="facebook", objective="1", item_ref="p1",
        import_key="measured:facebook:p1:impressions",
    )  # fmt: skip
    writer.store_measured([point], at=AT)
    (seen,) = reader.provenance(FIRST, LAST)
    assert (seen.channel, seen.metric, seen.gone) == ("facebook", "impressions", 0)
    writer.mark_gone("facebook", ["p1"], at=AT)
    (seen,) = reader.provenance(FIRST, LAST)
    assert seen.gone == 1, "a post found deleted shows at the next read"
    MetricsStore(store.engine).add([MetricPoint(date(2026, 10, 8), "referrals", 2, "import:a.csv", import_key="z")])
    assert len(reader.provenance(FIRST, LAST)) == 2, "an imported figure too"
