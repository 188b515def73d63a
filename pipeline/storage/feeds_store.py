"""Feeds, their health, and the national messages collected from them, deduplicated."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from pipeline.records import FeedSpec, FeedState, MessageOrigin, NationalMessage
from pipeline.storage.base import StoreBase
from pipeline.storage.events import ItemSettled
from pipeline.storage.tables import FeedRow, MessageRow, MessageSourceRow


def _state(row: FeedRow) -> FeedState:
    assert row.id is not None
    spec = FeedSpec(
        row.url,
        row.name,
        row.interval_minutes,
        tuple(row.objectives),
        tuple(row.audiences),
        tuple(row.include),
        tuple(row.exclude),
        row.internal,
    )
    return FeedState(
        row.id,
        spec,
        row.etag,
        row.last_modified,
        row.final_url,
        row.last_polled_at,
        row.last_success_at,
        row.last_error,
        row.consecutive_failures,
        row.retired,
        row.next_poll_at,
        row.items_seen,
        bool(row.paused),
    )


def _message(row: MessageRow) -> NationalMessage:
    return NationalMessage(
        row.guid,
        row.link,
        row.title,
        row.summary_html,
        row.published_at,
        row.content_hash,
        tuple(row.objectives),
        tuple(row.audiences),
        row.id,
        row.changed_after_sent,
    )


class FeedStore(StoreBase):
    def upsert(self, specs: Iterable[FeedSpec], *, revive: bool = False) -> int:
        """Add or update feeds by URL; their fetch state (ETag, health) is kept. With `revive`, a removed
        (retired) feed of the same URL is polled again."""
        count = 0
        with self.session() as s:
            for spec in specs:
                row = s.exec(select(FeedRow).where(FeedRow.url == spec.url)).first() or FeedRow(url=spec.url, name="")
                row.name, row.interval_minutes = spec.name, spec.interval_minutes
                row.objectives, row.audiences = list(spec.objectives), list(spec.audiences)
                row.include, row.exclude = list(spec.include), list(spec.exclude)
                row.internal = spec.internal
                if revive and row.retired:
                    row.retired, row.consecutive_failures, row.next_poll_at = False, 0, None
                s.add(row)
                count += 1
        return count

    def remove(self, url: str) -> bool:
        with self.session() as s:
            row = s.exec(select(FeedRow).where(FeedRow.url == url)).first()
            if row is None:
                return False
            row.retired = True  # messages keep their provenance; the feed is no longer polled
            s.add(row)
            return True

    def set_paused(self, url: str, paused: bool) -> bool:
        with self.session() as s:
            row = s.exec(select(FeedRow).where(FeedRow.url == url)).first()
            if row is None or row.retired:
                return False
            row.paused = paused
            s.add(row)
            return True

    def all(self) -> list[FeedState]:
        with self.session() as s:
            return [_state(r) for r in s.exec(select(FeedRow).order_by(FeedRow.name))]

    def due(self, now: datetime) -> list[FeedState]:
        return [
            f
            for f in self.all()
            if not f.retired and not f.paused and (f.next_poll_at is None or f.next_poll_at <= now)
        ]

    def record_fetch(
        self,
        feed_id: int,
        now: datetime,
        *,
        ok: bool,
        error: str | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        final_url: str | None = None,
        retired: bool = False,
        retry_after: float | None = None,
    ) -> None:
        """Health after a poll. Failures back off exponentially (capped at a day)."""
        with self.session() as s:
            row = s.get(FeedRow, feed_id)
            assert row is not None
            row.last_polled_at = now
            interval = timedelta(minutes=row.interval_minutes)
            if ok:
                row.last_success_at, row.last_error, row.consecutive_failures = now, None, 0
                row.etag, row.last_modified = etag or row.etag, last_modified or row.last_modified
                row.final_url = final_url or row.final_url
                row.next_poll_at = now + interval
            else:
                row.last_error, row.consecutive_failures = error, row.consecutive_failures + 1
                row.retired = row.retired or retired
                backoff = min(interval * 2 ** min(row.consecutive_failures, 10), timedelta(days=1))
                row.next_poll_at = now + max(backoff, timedelta(seconds=retry_after or 0))
            s.add(row)

    def record_not_modified(self, feed_ids: list[int], now: datetime) -> None:
        """Health after a 304 for many feeds, in one transaction."""
        if not feed_ids:
            return
        with self.session() as s:
            for row in s.exec(select(FeedRow).where(col(FeedRow.id).in_(feed_ids))):
                row.last_polled_at = row.last_success_at = now
                row.last_error, row.consecutive_failures = None, 0
                row.next_poll_at = now + timedelta(minutes=row.interval_minutes)
                s.add(row)

    def save_messages(
        self, feed_id: int, messages: list[tuple[str, NationalMessage]], now: datetime
    ) -> tuple[int, int]:
        """Store a feed's messages, each with its per-feed dedupe key. Returns (new, changed).

        Dedupe: per feed by key (guid, else link, else hash); across feeds by link, so the same link
        from two feeds is one message with two sources. A message already used in a sent edition that
        changes at the source is flagged `changed_after_sent`.
        """
        new = changed = 0
        with self.session() as s:
            for key, msg in messages:
                source = s.exec(
                    select(MessageSourceRow).where(MessageSourceRow.feed_id == feed_id, MessageSourceRow.key == key)
                ).first()
                row = s.get(MessageRow, source.message_id) if source else self._by_link(s, msg.link)
                if row is None:
                    row = MessageRow(
                        guid=msg.guid,
                        link=msg.link,
                        title=msg.title,
                        summary_html=msg.summary_html,
                        published_at=msg.published_at,
                        content_hash=msg.content_hash,
                        first_seen_at=now,
                        updated_at=now,
                        objectives=list(msg.objectives),
                        audiences=list(msg.audiences),
                    )
                    s.add(row)
                    s.flush()
                    new += 1
                elif row.content_hash != msg.content_hash:
                    row.title, row.summary_html, row.content_hash = msg.title, msg.summary_html, msg.content_hash
                    row.updated_at = now
                    row.changed_after_sent = row.changed_after_sent or row.used_in_sent
                    changed += 1
                row.objectives = sorted(set(row.objectives) | set(msg.objectives))
                row.audiences = sorted(set(row.audiences) | set(msg.audiences))
                s.add(row)
                if source is None:
                    assert row.id is not None
                    s.add(MessageSourceRow(message_id=row.id, feed_id=feed_id, key=key))
            feed = s.get(FeedRow, feed_id)
            if feed is not None:
                feed.items_seen += new
                s.add(feed)
        return new, changed

    @staticmethod
    def _by_link(s: Session, link: str) -> MessageRow | None:
        if not link:
            return None
        return s.exec(select(MessageRow).where(MessageRow.link == link)).first()

    def messages_for(
        self, audiences: set[str], objectives: set[str], since: datetime | None, limit: int = 6
    ) -> list[NationalMessage]:
        """Newest messages first seen after `since` that share an audience or an objective."""
        with self.session() as s:
            query = select(MessageRow).order_by(col(MessageRow.published_at).desc(), col(MessageRow.id).desc())
            if since is not None:
                query = query.where(MessageRow.first_seen_at > since)
            picked = []
            for row in s.exec(query.limit(500)):
                if audiences & set(row.audiences) or objectives & set(row.objectives):
                    picked.append(_message(row))
                    if len(picked) == limit:
                        break
            return picked

    def messages_by_link(self, links: Iterable[str]) -> list[NationalMessage]:
        """The stored messages with these links (what an entry pins), whatever their age."""
        wanted = sorted(set(links))
        if not wanted:
            return []
        with self.session() as s:
            return [_message(r) for r in s.exec(select(MessageRow).where(col(MessageRow.link).in_(wanted)))]

    def on_item_settled(self, conn: Connection, event: ItemSettled) -> None:
        if event.status == "sent":  # so a later change at the source is flagged
            self.mark_messages_used(event.used_messages, conn=conn)

    def mark_messages_used(self, ids: Iterable[int], *, conn: Connection | None = None) -> None:
        with self.session(conn) as s:
            for row in s.exec(select(MessageRow).where(col(MessageRow.id).in_(list(ids)))):
                row.used_in_sent = True
                s.add(row)

    def messages(self, limit: int = 50) -> list[NationalMessage]:
        with self.session() as s:
            rows = s.exec(select(MessageRow).order_by(col(MessageRow.first_seen_at).desc()).limit(limit))
            return [_message(r) for r in rows]

    def origins(self, ids: Iterable[int]) -> dict[int, MessageOrigin]:
        wanted = sorted({int(i) for i in ids})
        if not wanted:
            return {}
        with self.session() as s:
            rows = s.exec(select(MessageRow).where(col(MessageRow.id).in_(wanted))).all()
            names: dict[int, list[str]] = {}
            sources = s.exec(
                select(MessageSourceRow.message_id, FeedRow.name)
                .join(FeedRow, col(FeedRow.id) == col(MessageSourceRow.feed_id))
                .where(col(MessageSourceRow.message_id).in_(wanted))
                .order_by(FeedRow.name)
            )
            for message_id, name in sources:
                names.setdefault(message_id, []).append(name)
            return {
                row.id: MessageOrigin(_message(row), tuple(names.get(row.id, ())), row.first_seen_at, row.updated_at)
                for row in rows
                if row.id is not None
            }
