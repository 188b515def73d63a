"""Clicks on the links in editions, counted per edition, link and audience, never per person.

`follow(token, now, count=...)` checks the signed token (`pipeline.links`) and returns where the link
goes; when the click counts, one is added to the figure "clicks" (source `link clicks`) of the
edition's outbox item, link, audience and each objective the item serves, dated the day the item was
due. Nothing about the reader is stored: the token names an audience, not a person, and no address,
IP address or cookie value is kept. With `COMMS_LINK_COUNTING=false` a link still goes where it should
but nothing is counted. What counts as one click is the web face's to say (`pipeline.web.redirect`).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from pipeline.context import AppContext
from pipeline.links import link_key, verify_link
from pipeline.ports import MeasureRepository, OutboxRepository
from pipeline.records import LINK_CLICKS, MetricPoint
from pipeline.settings import Settings


class LinkService:
    def __init__(self, settings: Settings, outbox: OutboxRepository, measures: MeasureRepository) -> None:
        self.settings, self.outbox, self.measures = settings, outbox, measures

    @classmethod
    def of(cls, ctx: AppContext) -> LinkService:
        return cls(ctx.settings, ctx.repos.outbox, ctx.repos.measures)

    def follow(self, token: str, now: datetime, *, count: bool) -> str:
        """Where a counted link goes (LinkError if the token is not ours); one click added if `count`."""
        item_id, audience, url = verify_link(link_key(self.settings.secret_key), token)
        if count and self.settings.link_counting:
            self.measures.count(self.clicks(item_id, audience, url), at=now)
        return url

    def clicks(self, item_id: int, audience: str, url: str) -> list[MetricPoint]:
        """One click, as a point per objective of the item (none if the item is gone)."""
        item = self.outbox.item(item_id)
        if item is None:
            return []
        link = hashlib.sha256(url.encode()).hexdigest()[:16]
        return [
            MetricPoint(
                item.due_at.date(),
                "clicks",
                1.0,
                LINK_CLICKS,
                channel=item.channel,
                audience=audience,
                objective=objective,
                item_ref=f"outbox:{item.id} {url}"[:1000],
                import_key=f"clicks:{item.id}:{audience}:{objective}:{link}",
            )
            for objective in item.objectives or ("",)
        ]
