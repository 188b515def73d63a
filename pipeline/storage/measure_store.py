"""Figures measured at the source: what each channel's own API reports for the posts the pipeline
published (`comms metrics pull`), the clicks counted by the web workspace's `/r/` redirect, and the last
pull of each channel.

A measured figure is a row of `metrics` (source `api` or `link clicks`) keyed by its import_key, which
names the channel, the post, the objective and the metric: a later pull sets the same row to the new
lifetime value, so a count is never added up twice, and its `recorded_at` says when it was fetched. A
post deleted at the source keeps its last figures, marked `gone_at`. A click adds one to the row of its
(edition, link, audience, objective): no person is ever named.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, update
from sqlalchemy import select as core_select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from pipeline.records import MEASURED, MetricPoint, Provenance, PublishedPost, PullState
from pipeline.storage.base import StoreBase
from pipeline.storage.metrics_store import bump_version, figures_version
from pipeline.storage.tables import DeliveryRow, MeasurePullRow, MetricRow, OutboxRow

MEASURER = "measure"  # recorded_by of a figure a channel's API reported
CHUNK = 500


def _state(r: MeasurePullRow) -> PullState:
    return PullState(r.channel, r.account, r.last_attempt_at, r.last_success_at, r.last_error, r.posts, r.figures)


class MeasureStore(StoreBase):
    """Implements `ports.MeasureRepository`."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._provenance: dict[tuple[date, date], tuple[int, list[Provenance]]] = {}

    # what to measure ------------------------------------------------------------------------
    def published(self, *, since: date | None = None, channels: Sequence[str] | None = None) -> list[PublishedPost]:
        """Posts the pipeline published (a delivery sent, with the destination's id), oldest first."""
        q = (
            core_select(
                col(OutboxRow.id),
                col(OutboxRow.channel),
                col(DeliveryRow.external_id),
                col(DeliveryRow.sent_at),
                col(OutboxRow.due_at),
                col(DeliveryRow.audience),
                col(OutboxRow.objectives),
            )
            .join(DeliveryRow, col(DeliveryRow.outbox_id) == col(OutboxRow.id))
            .where(
                col(OutboxRow.kind) == "post",
                col(DeliveryRow.status) == "sent",
                col(DeliveryRow.external_id).is_not(None),
                col(DeliveryRow.sent_at).is_not(None),
            )
            .order_by(col(DeliveryRow.sent_at), col(OutboxRow.id))
        )
        if since is not None:
            q = q.where(col(OutboxRow.due_at) >= datetime.combine(since, datetime.min.time(), tzinfo=UTC))
        if channels is not None:
            q = q.where(col(OutboxRow.channel).in_(list(channels)))
        with self.engine.connect() as conn:
            rows: list[Any] = list(conn.execute(q))
        return [
            PublishedPost(item, channel, str(ext), _aware(sent) or sent, due.date(), audience or "", tuple(objs or ()))
            for item, channel, ext, sent, due, audience, objs in rows
        ]

    # figures --------------------------------------------------------------------------------
    def store_measured(self, points: Sequence[MetricPoint], *, at: datetime) -> tuple[int, int]:
        """Each point (with its import_key) stored as the one figure of that key: a new row, or the
        existing row set to the new value and fetch time (and no longer marked gone). Returns (added,
        replaced). One transaction, in statements of many rows (a year of posts is thousands)."""
        keyed = {p.import_key: p for p in points if p.import_key}
        table, keys = MetricRow.__table__, list(keyed)  # type: ignore[attr-defined]
        with self.engine.begin() as conn:
            existing: dict[str, int] = {}
            for i in range(0, len(keys), CHUNK):
                q = core_select(col(MetricRow.import_key), col(MetricRow.id)).where(
                    col(MetricRow.import_key).in_(keys[i : i + CHUNK])
                )
                existing.update({str(key): int(row_id or 0) for key, row_id in conn.execute(q)})
            fresh = [_values(p, at) for key, p in keyed.items() if key not in existing]
            if fresh:
                conn.execute(insert(table), fresh)
            again = [
                {"row_id": existing[key], "value": p.value, "at": at, "day": p.day}
                for key, p in keyed.items()
                if key in existing
            ]
            if again:
                conn.execute(
                    update(table)
                    .where(table.c.id == bindparam("row_id"))
                    .values(value=bindparam("value"), recorded_at=bindparam("at"), gone_at=None, day=bindparam("day")),
                    again,
                )
            if fresh or again:
                with self.session(conn) as s:
                    bump_version(s)
        return len(fresh), len(again)

    def mark_gone(self, channel: str, item_refs: Iterable[str], *, at: datetime) -> int:
        """Mark the measured figures of these posts as deleted at the source (their values are kept)."""
        refs = list(item_refs)
        done = 0
        with self.session() as s:
            for i in range(0, len(refs), CHUNK):
                result = s.connection().execute(
                    update(MetricRow)
                    .where(
                        and_(
                            col(MetricRow.source) == MEASURED,
                            col(MetricRow.channel) == channel,
                            col(MetricRow.item_ref).in_(refs[i : i + CHUNK]),
                            col(MetricRow.gone_at).is_(None),
                        )
                    )
                    .values(gone_at=at)
                )
                done += result.rowcount or 0
            if done:
                bump_version(s)
        return done

    def count(self, points: Sequence[MetricPoint], *, at: datetime) -> None:
        """Add each point's value to the figure of its import_key (made at zero if new), atomically:
        two clicks at once both count."""
        for p in points:
            assert p.import_key
            for _attempt in range(3):
                try:
                    if self._increment(p, at):
                        break
                except IntegrityError:  # another process made the row first: add to it
                    continue

    def _increment(self, p: MetricPoint, at: datetime) -> bool:
        with self.session() as s:
            result = s.connection().execute(
                update(MetricRow)
                .where(col(MetricRow.import_key) == p.import_key)
                .values(value=MetricRow.value + p.value, recorded_at=at)
            )
            bump_version(s)
            if result.rowcount:
                return True
            s.add(_row(p, at, by=""))
        return True

    def provenance(self, first: date, last: date) -> list[Provenance]:
        """Per (objective, metric, source, channel, account): how many figures, recorded when, how many gone.
        Kept per process until the figures change (their version, `bump_version`)."""
        version = figures_version(self.engine)
        cached = self._provenance.get((first, last))
        if cached is not None and cached[0] == version:
            return list(cached[1])
        found = self._read_provenance(first, last)
        if len(self._provenance) > 64:
            self._provenance.clear()
        self._provenance[(first, last)] = (version, found)
        return list(found)

    def _read_provenance(self, first: date, last: date) -> list[Provenance]:
        keys = (
            col(MetricRow.objective),
            col(MetricRow.metric),
            col(MetricRow.source),
            col(MetricRow.channel),
            col(MetricRow.account),
        )
        q = (
            core_select(
                *keys,
                func.count(),
                func.max(col(MetricRow.recorded_at)),
                func.min(col(MetricRow.recorded_at)),
                func.count(col(MetricRow.gone_at)),
            )
            .where(col(MetricRow.day) >= first, col(MetricRow.day) <= last)
            .group_by(*keys)
            .order_by(*keys)
        )
        with self.session() as s:
            rows: list[Any] = list(s.connection().execute(q))
        return [
            Provenance(o, m, src, ch, acc, int(n), _aware(newest), _aware(oldest), int(gone))
            for o, m, src, ch, acc, n, newest, oldest, gone in rows
        ]

    # the last pull of each channel ------------------------------------------------------------
    def pull_states(self) -> list[PullState]:
        with self.session() as s:
            return [_state(r) for r in s.exec(select(MeasurePullRow).order_by(col(MeasurePullRow.channel)))]

    def record_pull(
        self, channel: str, account: str, *, at: datetime, ok: bool, error: str = "", posts: int = 0, figures: int = 0
    ) -> None:
        """A pull of `channel` at `at`: a success (`ok`, possibly with problems in `error`) moves its
        last success; a failure keeps the last success and says why."""
        with self.session() as s:
            row = s.get(MeasurePullRow, channel, with_for_update=True) or MeasurePullRow(channel=channel)
            row.account, row.last_attempt_at, row.last_error = account, at, error[:2000]
            if ok:
                row.last_success_at, row.posts, row.figures = at, posts, figures
            s.add(row)


def _values(p: MetricPoint, at: datetime, by: str = MEASURER) -> dict[str, Any]:
    return {
        "day": p.day,
        "channel": p.channel,
        "audience": p.audience,
        "objective": p.objective,
        "item_ref": p.item_ref,
        "metric": p.metric,
        "value": p.value,
        "source": p.source,
        "import_key": p.import_key,
        "import_id": None,
        "recorded_by": by,
        "recorded_at": at,
        "account": p.account,
        "gone_at": None,
    }


def _row(p: MetricPoint, at: datetime, by: str = MEASURER) -> MetricRow:
    return MetricRow(**_values(p, at, by))


def _aware(value: datetime | None) -> datetime | None:
    """A time read by an aggregate (SQLite returns MAX() of a column as text or naive), as aware UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
