"""Reach metrics: one row per (day, channel, audience, objective, item, metric), and the imports that
added them.

A figure entered by hand is one row per (month, objective, metric, channel, audience), keyed so that a
second entry replaces it (or adds to it, when asked). An import of a file is recorded in
`metric_imports`; a later import of the same file replaces its figures. Every change a person makes is
written to the audit log in the same transaction as the change.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime

from sqlalchemy import delete, or_, text
from sqlalchemy import select as core_select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from content_calendar.plan import month_bounds
from pipeline.errors import Conflict, NotFound
from pipeline.records import Audited, Figure, FigureChange, ImportReplaced, MetricImport, MetricPoint
from pipeline.storage.base import StoreBase
from pipeline.storage.events import EventBus, ItemSettled
from pipeline.storage.tables import MetaRow, MetricImportRow, MetricMonthTotalRow, MetricRow, table

VERSION_KEY = "metrics.version"  # meta row bumped by every change to the figures, in the change's transaction
PG_IMPORT_LOCK = 7_220_485_307  # one import of figures at a time, so two never both replace the same one
AuditFor = Callable[[FigureChange], Audited]


def _figure(r: MetricRow) -> Figure:
    assert r.id is not None
    return Figure(
        r.id,
        r.day,
        r.metric,
        r.value,
        r.source,
        r.channel,
        r.audience,
        r.objective,
        r.item_ref,
        r.import_id,
        r.recorded_by,
        r.recorded_at,
        r.account,
        r.gone_at,
    )


def _import(r: MetricImportRow) -> MetricImport:
    assert r.id is not None
    months = tuple(m for m in r.months.split(",") if m)
    return MetricImport(r.id, r.name, r.content_hash, r.options, months, r.rows, r.imported_at, r.imported_by)


def _signature(rows: list[MetricRow] | list[MetricPoint]) -> Counter[tuple[object, ...]]:
    return Counter((r.day, r.metric, r.channel, r.audience, r.objective, r.item_ref, r.value) for r in rows)


def bump_version(s: Session) -> None:
    """The figures changed: bump their version, in the caller's transaction. Every write to the metrics
    table calls it (here and in `measure_store`), so a process's cached reads of them (where the report's
    figures came from, `MeasureStore.provenance`) are never stale."""
    row = s.get(MetaRow, VERSION_KEY, with_for_update=True) or MetaRow(key=VERSION_KEY, value=0)
    row.value = int(row.value or 0) + 1
    s.add(row)


def figures_version(engine: Engine) -> int:
    """The figures' version (see `bump_version`): what a process's cached reads of them were read at."""
    meta = table(MetaRow)
    with engine.connect() as conn:
        value = conn.execute(core_select(meta.c.value).where(meta.c.key == VERSION_KEY)).scalar_one_or_none()
    return int(value or 0)


class MetricsStore(StoreBase):
    """Implements `ports.MetricsRepository`; writes audit records through `events`."""

    def __init__(self, engine: Engine, events: EventBus | None = None) -> None:
        super().__init__(engine)
        self.events = events or EventBus()

    @staticmethod
    def _changed(s: Session) -> None:
        bump_version(s)

    def on_item_settled(self, conn: Connection, event: ItemSettled) -> None:
        self.add(list(event.figures), conn=conn)

    def add(self, points: list[MetricPoint], *, conn: Connection | None = None) -> int:
        """Add points in one transaction. Points whose import_key is already stored are skipped, so
        the pipeline's own counts of a settled item are added once. Returns how many were added."""
        with self.session(conn) as s:
            return self._add(s, points)

    def _add(
        self,
        s: Session,
        points: list[MetricPoint],
        import_id: int | None = None,
        recorded_by: str = "",
        recorded_at: datetime | None = None,
    ) -> int:
        keys = [p.import_key for p in points if p.import_key]
        known = set()
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            known |= set(s.exec(select(MetricRow.import_key).where(col(MetricRow.import_key).in_(chunk))))
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
                    import_id=import_id,
                    recorded_by=recorded_by,
                    recorded_at=recorded_at,
                )
            )
            if p.import_key:
                known.add(p.import_key)
            added += 1
        if added:
            self._changed(s)
        return added

    def totals(self, first: date, last: date) -> list[MetricPoint]:
        """Totals for the period per (channel, audience, objective, metric): one point per group, dated
        `first`, with `count` the rows summed (for means such as uplift). Whole months are read from the
        totals the database keeps (`metric_month_totals`, kept by triggers on every write, so never
        stale); any other period is summed from the rows."""
        if first.day == 1 and month_bounds(f"{last:%Y-%m}")[1] == last:
            t = MetricMonthTotalRow
            keys = (col(t.channel), col(t.audience), col(t.objective), col(t.metric))
            q = (
                core_select(*keys, func.sum(t.total), func.sum(t.rows))
                .where(col(t.month) >= first, col(t.month) <= last, col(t.rows) > 0)
                .group_by(*keys)
            )
        else:
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

    # figures, one by one --------------------------------------------------------------------
    def figures(
        self,
        *,
        first: date | None = None,
        last: date | None = None,
        objective: str | None = None,
        metric: str | None = None,
        source: str | None = None,
        limit: int | None = None,
    ) -> list[Figure]:
        """Stored figures, by day then id (the first `limit`). `source` matches a source exactly, or the
        file an import read ("export.csv" matches "import:export.csv" and "feedback:export.csv")."""
        q = select(MetricRow).order_by(col(MetricRow.day), col(MetricRow.id))
        if first is not None:
            q = q.where(col(MetricRow.day) >= first)
        if last is not None:
            q = q.where(col(MetricRow.day) <= last)
        if objective is not None:
            q = q.where(MetricRow.objective == objective)
        if metric is not None:
            q = q.where(MetricRow.metric == metric)
        if source is not None:
            q = q.where(col(MetricRow.source).in_([source, f"import:{source}", f"feedback:{source}"]))
        if limit is not None:
            q = q.limit(limit)
        with self.session() as s:
            return [_figure(r) for r in s.exec(q)]

    def figure(self, figure_id: int) -> Figure | None:
        with self.session() as s:
            row = s.get(MetricRow, figure_id)
            return _figure(row) if row else None

    def put(
        self, point: MetricPoint, *, key: str, add: bool, at: datetime, by: str, audit: AuditFor | None = None
    ) -> FigureChange:
        """The one figure of `point`'s month with the same source, objective, metric, channel and
        audience, set to `point.value` (or increased by it, with `add`). Rows of that figure stored
        twice before it was keyed are folded into one. `key` is the figure's import_key, unique."""
        first, last = month_bounds(f"{point.day:%Y-%m}")
        try:
            with self.session() as s:
                rows = list(
                    s.exec(
                        select(MetricRow)
                        .where(
                            MetricRow.source == point.source,
                            MetricRow.objective == point.objective,
                            MetricRow.metric == point.metric,
                            MetricRow.channel == point.channel,
                            MetricRow.audience == point.audience,
                            col(MetricRow.day) >= first,
                            col(MetricRow.day) <= last,
                        )
                        .order_by(col(MetricRow.id))
                    )
                )
                previous = sum(r.value for r in rows) if rows else None
                if rows:
                    row = rows[0]
                    for extra in rows[1:]:
                        s.delete(extra)
                    s.flush()
                else:
                    row = MetricRow(
                        day=point.day,
                        metric=point.metric,
                        value=0.0,
                        source=point.source,
                        channel=point.channel,
                        audience=point.audience,
                        objective=point.objective,
                    )
                row.value = (previous or 0.0) + point.value if add else point.value
                row.day, row.import_key, row.recorded_by, row.recorded_at = point.day, key, by, at
                s.add(row)
                s.flush()
                change = FigureChange(_figure(row), previous, merged=max(0, len(rows) - 1))
                self._changed(s)
                self._audit(s, audit, change)
        except IntegrityError:
            raise Conflict("someone else recorded this figure at the same moment: run the command again") from None
        return change

    def correct(
        self, figure_id: int, value: float, *, at: datetime, by: str, audit: AuditFor | None = None
    ) -> FigureChange:
        with self.session() as s:
            row = s.get(MetricRow, figure_id, with_for_update=True)
            if row is None:
                raise NotFound(f"no figure #{figure_id}: `comms metrics list` shows their ids")
            previous = row.value
            row.value, row.recorded_by, row.recorded_at = value, by, at
            s.add(row)
            s.flush()
            change = FigureChange(_figure(row), previous)
            self._changed(s)
            self._audit(s, audit, change)
        return change

    def remove(self, figure_id: int, *, audit: AuditFor | None = None) -> FigureChange:
        with self.session() as s:
            row = s.get(MetricRow, figure_id, with_for_update=True)
            if row is None:
                raise NotFound(f"no figure #{figure_id}: `comms metrics list` shows their ids")
            change = FigureChange(_figure(row), row.value)
            s.delete(row)
            s.flush()
            self._changed(s)
            self._audit(s, audit, change)
        return change

    # imports --------------------------------------------------------------------------------
    def imports(self, name: str | None = None) -> list[MetricImport]:
        """The imports whose figures are stored (not those a later import of the same file replaced)."""
        q = select(MetricImportRow).where(col(MetricImportRow.replaced_by).is_(None)).order_by(col(MetricImportRow.id))
        if name is not None:
            q = q.where(MetricImportRow.name == name)
        with self.session() as s:
            return [_import(r) for r in s.exec(q)]

    def replace_import(
        self,
        *,
        name: str,
        content_hash: str,
        options: str,
        points: list[MetricPoint],
        at: datetime,
        by: str,
        audit: Callable[[ImportReplaced], Audited] | None = None,
    ) -> ImportReplaced:
        """Store a file's figures as one import, first removing what earlier imports of the same file
        added, all in one transaction. The same file is: an import with the same content, or one of
        the same name whose figures fall in any of the same months (a monthly export saved under one
        name each month is a new file each month). Figures from before imports were recorded (no
        import, source naming the file) in those months are removed too."""
        months = sorted({f"{p.day:%Y-%m}" for p in points})
        sources = [f"import:{name}", f"feedback:{name}"]
        with self.session() as s:
            if self.is_postgres:
                s.connection().execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": PG_IMPORT_LOCK})
            earlier = [
                r
                for r in s.exec(
                    select(MetricImportRow)
                    .where(or_(col(MetricImportRow.content_hash) == content_hash, col(MetricImportRow.name) == name))
                    .where(col(MetricImportRow.replaced_by).is_(None))
                    .order_by(col(MetricImportRow.id))
                )
                if r.content_hash == content_hash or set(months) & set(r.months.split(","))
            ]
            earlier_ids = [r.id for r in earlier]
            old = list(s.exec(select(MetricRow).where(col(MetricRow.import_id).in_(earlier_ids))))
            for month in months:
                first, last = month_bounds(month)
                old += s.exec(
                    select(MetricRow).where(
                        col(MetricRow.import_id).is_(None),
                        col(MetricRow.source).in_(sources),
                        col(MetricRow.day) >= first,
                        col(MetricRow.day) <= last,
                    )
                )
            same = bool(old) and _signature(old) == _signature(points)
            if old:
                s.execute(delete(MetricRow).where(col(MetricRow.id).in_([r.id for r in old])))
                self._changed(s)
            replaced = tuple(_import(r) for r in earlier)
            done = MetricImportRow(
                name=name,
                content_hash=content_hash,
                options=options,
                months=",".join(months),
                rows=len(points),
                imported_at=at,
                imported_by=by,
            )
            s.add(done)
            s.flush()
            assert done.id is not None
            for r in earlier:  # kept, with no figures left, as the history of the file's imports
                r.replaced_by = done.id
                s.add(r)
            keyed = [replace(p, import_key=f"import#{done.id}:{p.import_key or i}") for i, p in enumerate(points)]
            self._add(s, keyed, import_id=done.id, recorded_by=by, recorded_at=at)
            result = ImportReplaced(_import(done), replaced, len(old), same)
            if audit is not None:
                self.events.publish(s.connection(), [audit(result)])
        return result

    def _audit(self, s: Session, audit: AuditFor | None, change: FigureChange) -> None:
        if audit is not None:
            self.events.publish(s.connection(), [audit(change)])
