"""Reach metrics: one row per (day, channel, audience, objective, item, metric)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select as core_select
from sqlalchemy.engine import Connection
from sqlmodel import col, func, select

from pipeline.records import MetricPoint
from pipeline.storage.base import StoreBase
from pipeline.storage.events import ItemSettled
from pipeline.storage.tables import MetricRow


class MetricsStore(StoreBase):
    def on_item_settled(self, conn: Connection, event: ItemSettled) -> None:
        self.add(list(event.figures), conn=conn)

    def add(self, points: list[MetricPoint], *, conn: Connection | None = None) -> int:
        """Add points in one transaction. Points whose import_key is already stored are skipped, so
        importing the same file twice changes nothing. Returns how many were added."""
        keys = [p.import_key for p in points if p.import_key]
        with self.session(conn) as s:
            known = set()
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                known |= set(s.exec(select(MetricRow.import_key).where(MetricRow.import_key.in_(chunk))))  # type: ignore[union-attr]
            added = 0
            for p in points:
                if p.import_key and p.import_key in known:
                    continue
                s.add(
                    MetricRow(
                        day=p.day,
                        channel=p.channel,
                        audience=p.audience,
                        objective=p.objective,
                        item_ref=p.item_ref,
                        metric=p.metric,
                        value=p.value,
                        source=p.source,
                        import_key=p.import_key,
                    )
                )
                if p.import_key:
                    known.add(p.import_key)
                added += 1
        return added

    def totals(self, first: date, last: date) -> list[MetricPoint]:
        """Totals for the period, summed in SQL per (channel, audience, objective, metric): one point
        per group, dated `first`, with `count` the rows summed (for means such as uplift)."""
        keys = (col(MetricRow.channel), col(MetricRow.audience), col(MetricRow.objective), col(MetricRow.metric))
        q = (
            core_select(*keys, func.sum(MetricRow.value), func.count())
            .where(col(MetricRow.day) >= first, col(MetricRow.day) <= last)
            .group_by(*keys)
        )
        with self.engine.connect() as conn:
            return [
                MetricPoint(first, metric, float(total), "total", channel, audience, objective, count=int(n))
                for channel, audience, objective, metric, total, n in conn.execute(q)
            ]

    def between(self, first: date, last: date) -> list[MetricPoint]:
        with self.session() as s:
            q = select(MetricRow).where(MetricRow.day >= first, MetricRow.day <= last)
            return [
                MetricPoint(
                    r.day, r.metric, r.value, r.source, r.channel, r.audience, r.objective, r.item_ref, r.import_key
                )
                for r in s.exec(q)
            ]
