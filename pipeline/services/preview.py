"""Exactly what an outbox item will be: the item page's and `comms queue show`'s use case.

- `preview`: the subject, the sender and both parts personalised for a sample reader the way the
  dispatcher personalises them for each subscriber (`rendering.personalise.ItemPersonaliser`, which
  the dispatcher uses too), so no personalisation placeholder is ever shown.
- `recipients_by_audience`: who an email would go to, counted per audience with the dispatcher's scope
  rule (the item's audiences and everything under them); once sending began, the deliveries by status.
- `checks`: the accessibility check of an email; a post's length against its destination's limit and
  every problem the channel's adapter finds.
- `provenance`: each national message an edition used, flagged when it changed at the source.
- `freshness`: the notice that an edition has nothing new since the list's last edition.
- `send_test`: the email, personalised, to the signed-in person's own address only; never a delivery.
"""

from __future__ import annotations

import logging
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from channels.addresses import valid_address
from channels.base import ChannelError, Post
from channels.limits import LIMITS, check_length, length
from content_calendar.models import Strategy
from pipeline.context import AppContext
from pipeline.errors import Invalid, NotFound
from pipeline.jobs.freshness import notice
from pipeline.ports import (
    AdapterLookup,
    AuditRepository,
    CalendarRepository,
    ChannelAdapter,
    ControlRepository,
    FeedRepository,
    OutboxRepository,
    SubscriberRepository,
)
from pipeline.records import OutboxItem
from pipeline.redact import Redactor, redactor
from pipeline.rendering.accessibility import check_edition
from pipeline.rendering.personalise import (
    LEFTOVER,
    SAMPLE_EMAIL,
    SAMPLE_NAME,
    SAMPLE_ORGANISATION,
    ItemPersonaliser,
    Reader,
)
from pipeline.services.actor import Actor
from pipeline.services.audit import audited
from pipeline.services.permissions import Permission, require
from pipeline.settings import Settings
from pipeline.tokens import unsubscribe_url

log = logging.getLogger(__name__)
EMAIL_KINDS = frozenset({"email", "notify"})
TEST_PREFIX = "[TEST] "


@dataclass(frozen=True)
class Preview:
    """What a reader gets. For a post, `text` is the post and `html` is empty."""

    item: OutboxItem
    subject: str
    sender: str
    html: str
    text: str
    reader: Reader


@dataclass(frozen=True)
class AudienceCount:
    code: str
    name: str
    count: int


@dataclass(frozen=True)
class Recipients:
    """An email's recipients per audience (would go to, or went to once sending began), or a post's
    destination."""

    kind: str  # email | post
    total: int
    by_audience: tuple[AudienceCount, ...] = ()
    by_status: tuple[tuple[str, int], ...] = ()  # from the deliveries, once there are any
    destination: str = ""

    @property
    def started(self) -> bool:
        return bool(self.by_status)

    def summary(self) -> str:
        """ "12 (headteachers: 9, governors: 3)", as the command line prints it."""
        if self.kind != "email":
            return f"the {self.destination} channel"
        parts = ", ".join(f"{a.code}: {a.count}" for a in self.by_audience)
        return f"{self.total} ({parts})" if parts else str(self.total)


@dataclass(frozen=True)
class LengthCheck:
    used: int
    limit: int
    counted: str  # characters, graphemes, weighted characters

    @property
    def over(self) -> bool:
        return self.used > self.limit


@dataclass(frozen=True)
class Checks:
    kind: str
    problems: tuple[str, ...]
    length: LengthCheck | None = None
    destination: str = ""  # a post's channel name, and the adapter kind it goes through

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Source:
    """One national message an edition used, as recorded at compose time and as stored now."""

    title: str
    link: str
    source: str
    published: date | None
    feeds: tuple[str, ...]
    fetched_at: datetime | None
    changed: bool  # its content at the source is not what was used (or it changed after a send)
    stored: bool  # still in the database
    title_now: str = ""


@dataclass(frozen=True)
class TestSent:
    to: str
    paused: bool  # sending is paused: the test went (it is staff email), the item will not


class ItemPreviewService:
    def __init__(
        self,
        outbox: OutboxRepository,
        subscribers: SubscriberRepository,
        calendar: CalendarRepository,
        feeds: FeedRepository,
        audit: AuditRepository,
        control: ControlRepository,
        adapter_for: AdapterLookup,
        settings: Settings,
    ) -> None:
        self.outbox, self.subscribers, self.calendar, self.feeds = outbox, subscribers, calendar, feeds
        self.audit, self.control, self.adapter_for, self.settings = audit, control, adapter_for, settings
        self.redact: Redactor = redactor(settings)
        self._plan: tuple[Strategy | None] | None = None  # read once per service (one page, one command)
        self._inputs: dict[int, dict[str, Any]] = {}
        self._shown: dict[tuple[int, str], Preview] = {}

    @classmethod
    def of(cls, ctx: AppContext) -> ItemPreviewService:
        r = ctx.repos
        return cls(r.outbox, r.subscribers, r.calendar, r.feeds, r.audit, r.control, ctx.adapter_for, ctx.settings)

    # what a reader gets ---------------------------------------------------------------------
    def preview(self, actor: Actor, item_id: int) -> Preview:
        return self._preview(self._item(actor, item_id))

    def _preview(self, item: OutboxItem) -> Preview:
        key = (item.id, item.content_hash)
        if key not in self._shown:
            self._shown[key] = self._render(item)
        return self._shown[key]

    def _render(self, item: OutboxItem) -> Preview:
        reader = self.sample_reader(item.channel)
        if item.kind != "email":
            return Preview(item, item.subject or item.title, self._channel_name(item), "", item.body, reader)
        html, text = ItemPersonaliser(item.html, item.body, self._nonce(item)).render(reader)
        sender = self.settings.for_channel(item.channel).mail_from
        return Preview(item, item.subject or item.title, sender, str(html), str(text), reader)

    def sample_reader(self, list_code: str | None = None) -> Reader:
        """A made-up reader; the unsubscribe link is shaped like a real one, on the public address."""
        base = self.settings.public_base_url
        url = (
            unsubscribe_url(base, self.settings.secret_key, SAMPLE_EMAIL, list_code)
            if self.settings.secret_key
            else f"{base.rstrip('/')}/unsubscribe"
        )
        return Reader(SAMPLE_NAME, SAMPLE_ORGANISATION, SAMPLE_EMAIL, url)

    def recipients_by_audience(self, actor: Actor, item_id: int) -> Recipients:
        item = self._item(actor, item_id)
        strategy = self._strategy()
        deliveries = self.outbox.deliveries(item.id)
        by_status = tuple(sorted(Counter(d.status for d in deliveries).items()))
        if item.kind != "email":
            return Recipients("post", 1, by_status=by_status, destination=self._channel_name(item, strategy))
        if deliveries:
            counted = Counter(d.audience for d in deliveries)
            return Recipients("email", len(deliveries), self._audiences(counted, strategy), by_status)
        scope = self.scope(item, strategy)
        matched = Counter(self.subscribers.audience_counts(scope, item.channel))
        ordered = [c for c in self._scope_order(item, strategy) if c in scope]
        return Recipients("email", sum(matched.values()), self._audiences(matched, strategy, ordered))

    @staticmethod
    def scope(item: OutboxItem, strategy: Strategy | None) -> set[str]:
        """The dispatcher's rule: the item's audiences and everything nested under them."""
        scope: set[str] = set()
        for code in item.audiences:
            scope |= strategy.audience_with_children(code) if strategy else {code}
        return scope

    # checks ---------------------------------------------------------------------------------
    def checks(self, actor: Actor, item_id: int) -> Checks:
        item = self._item(actor, item_id)
        if item.kind == "email":
            return Checks("email", tuple(self._email_problems(item)))
        strategy = self._strategy()
        channel = strategy.channel(item.channel) if strategy else None
        if channel is None:
            return Checks("post", (f"the channel {item.channel!r} is not in the strategy any more",))
        problems = check_length(channel.kind, item.body)
        adapter_kind, adapter_problems = self._validate(item, channel.kind)
        problems += [p for p in adapter_problems if p not in problems]
        found = None
        if channel.kind in LIMITS:
            limit, counted, _link = LIMITS[channel.kind]
            found = LengthCheck(length(channel.kind, item.body), limit, counted)
        routed = f" (through the {adapter_kind} adapter)" if adapter_kind and adapter_kind != channel.kind else ""
        return Checks("post", tuple(problems), found, f"{channel.name}{routed}")

    def _email_problems(self, item: OutboxItem) -> list[str]:
        problems = check_edition(item.subject, item.html, item.body)
        preview = self._preview(item)
        for part, text in (("HTML", preview.html), ("plain text", preview.text)):
            stray = LEFTOVER.search(text)
            if stray:
                problems.append(
                    f"the {part} contains {stray.group(0)!r}, which looks like a personalisation placeholder "
                    "(from a feed's text?); readers would see it as it is"
                )
        if not self.settings.secret_key:
            problems.append("COMMS_SECRET_KEY is not set: unsubscribe links cannot be signed, so nothing can be sent")
        return problems

    def _validate(self, item: OutboxItem, kind: str) -> tuple[str, list[str]]:
        """The adapter's kind and the problems it finds with the post; one it cannot build is a problem."""
        try:
            adapter = self.adapter_for(item.channel, kind)
        except ChannelError as exc:
            return "", [f"the {kind} channel cannot be set up: {self.redact(str(exc))}"]
        except Exception as exc:  # an adapter's bug: a problem line, never a crash
            log.exception("adapter could not be built", extra={"channel": item.channel})
            return "", [f"the {kind} channel cannot be set up: unexpected {type(exc).__name__}"]
        try:
            return adapter.kind, list(adapter.validate(self._post(item, adapter)))
        except Exception as exc:
            log.exception("adapter check failed", extra={"channel": item.channel})
            return adapter.kind, [f"the {kind} channel could not check the post: unexpected {type(exc).__name__}"]

    @staticmethod
    def _post(item: OutboxItem, adapter: ChannelAdapter) -> Post:
        """The post as the dispatcher hands it to the adapter."""
        return Post(
            channel=item.channel,
            kind=adapter.kind,
            text=item.body,
            subject=item.subject or item.title,
            html=item.html,
            link=item.link,
            recipient="-",
            due_at=item.due_at,
        )

    # where the content came from ------------------------------------------------------------
    def provenance(self, actor: Actor, item_id: int) -> tuple[Source, ...]:
        item = self._item(actor, item_id)
        if item.edition_id is None:
            return ()
        used: list[dict[str, Any]] = list(self._edition_inputs(item.edition_id).get("national", []))
        origins = self.feeds.origins(int(m["id"]) for m in used if m.get("id"))
        out = []
        for m in used:
            origin = origins.get(int(m["id"])) if m.get("id") else None
            now = origin.message if origin else None
            changed = now is not None and (now.content_hash != m.get("hash") or now.changed_after_sent)
            out.append(
                Source(
                    title=str(m.get("title", "")),
                    link=str(m.get("link", "")),
                    source=str(m.get("source", "")),
                    published=date.fromisoformat(m["published"]) if m.get("published") else None,
                    feeds=origin.feeds if origin else (),
                    fetched_at=origin.first_seen_at if origin else None,
                    changed=changed,
                    stored=origin is not None,
                    title_now=now.title if now is not None and now.title != m.get("title") else "",
                )
            )
        return tuple(out)

    def freshness(self, actor: Actor, item_id: int) -> str | None:
        """The approver's notice when an edition has nothing new since the list's last edition, or None."""
        item = self._item(actor, item_id)
        if item.edition_id is None:
            return None
        return notice(self._edition_inputs(item.edition_id).get("freshness"))

    # a test to oneself ----------------------------------------------------------------------
    def send_test(self, actor: Actor, item_id: int, now: datetime) -> TestSent:
        """The email as the sample reader gets it, to `actor`'s own address only, subject prefixed
        "[TEST] ". Never a delivery, never in the figures; audited. Sent while sending is paused too
        (it is staff email), saying so."""
        require(actor, Permission.DRAFT)
        item = self._item(actor, item_id)
        if item.kind != "email":
            raise Invalid(f"#{item.id} is a post: a test can be sent only of an email")
        if not valid_address(actor.name):
            raise Invalid(f"a test goes to your own email address, and {actor.name!r} is not one")
        adapter = self._test_adapter(item)
        shown = self._preview(item)
        post = Post(
            channel=item.channel,
            kind=adapter.kind,
            text=shown.text,
            subject=TEST_PREFIX + shown.subject,
            html=shown.html,
            link=item.link,
            recipient=actor.name,
            due_at=now,
        )
        problems = adapter.validate(post)
        if problems:
            raise Invalid("the test was not sent: " + "; ".join(problems))
        try:
            adapter.send(post, f"test:{item.channel}:{item.id}:{secrets.token_hex(8)}")
        except ChannelError as exc:
            raise exc.redacted(self.redact) from None
        paused = self.control.freeze().paused
        detail = f"to {actor.name}; version {item.content_hash[:12]}" + ("; sending is paused" if paused else "")
        self.audit.record(audited(actor, "item.test_sent", now, f"item:{item.id}", detail))
        return TestSent(actor.name, paused)

    def _test_adapter(self, item: OutboxItem) -> ChannelAdapter:
        strategy = self._strategy()
        channel = strategy.channel(item.channel) if strategy else None
        kind = channel.kind if channel else "email"
        try:
            adapter = self.adapter_for(item.channel, kind)
        except ChannelError as exc:
            raise exc.redacted(self.redact) from None
        if adapter.kind not in EMAIL_KINDS:
            raise Invalid(
                f"{item.channel} is routed to the {adapter.kind} adapter (COMMS_FILE_CHANNELS), not to email, "
                "so a test cannot reach your inbox"
            )
        return adapter

    # helpers --------------------------------------------------------------------------------
    def _item(self, actor: Actor, item_id: int) -> OutboxItem:
        require(actor, Permission.VIEW)
        item = self.outbox.item(item_id)
        if item is None:
            raise NotFound(f"no outbox item {item_id}")
        return item

    def _nonce(self, item: OutboxItem) -> str | None:
        if item.edition_id is None:
            return None
        nonce = self._edition_inputs(item.edition_id).get("nonce")
        return str(nonce) if nonce else None

    def _strategy(self) -> Strategy | None:
        if self._plan is None:
            self._plan = (self.calendar.strategy(),)
        return self._plan[0]

    def _edition_inputs(self, edition_id: int) -> dict[str, Any]:
        if edition_id not in self._inputs:
            self._inputs[edition_id] = self.outbox.edition_inputs(edition_id)
        return self._inputs[edition_id]

    def channel_name(self, item: OutboxItem) -> str:
        """The channel's name in the strategy (its code if it is no longer there)."""
        return self._channel_name(item)

    def _channel_name(self, item: OutboxItem, strategy: Strategy | None = None) -> str:
        strategy = strategy or self._strategy()
        channel = strategy.channel(item.channel) if strategy else None
        return channel.name if channel else item.channel

    @staticmethod
    def _scope_order(item: OutboxItem, strategy: Strategy | None) -> list[str]:
        """The item's audiences, each followed by those nested under it, as the strategy lists them."""
        order: list[str] = []
        for code in item.audiences:
            nested = strategy.audience_with_children(code) if strategy else {code}
            listed = [a.code for a in strategy.audiences if a.code in nested] if strategy else []
            for found in (code, *listed):
                if found not in order:
                    order.append(found)
        return order

    @staticmethod
    def _audiences(
        counts: Counter[str], strategy: Strategy | None, order: list[str] | None = None
    ) -> tuple[AudienceCount, ...]:
        codes = order + [c for c in counts if c not in order] if order is not None else sorted(counts)
        out = []
        for code in codes:
            audience = strategy.audience(code) if strategy else None
            out.append(AudienceCount(code, audience.name if audience else code, counts.get(code, 0)))
        return tuple(out)
