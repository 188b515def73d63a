"""What a staff notification says and how it goes: the notices, one email per person and topic, its
wording (templates `staff/notice.txt.j2` and `staff/notice.html.j2`, which a team may override in its
workspace's templates folder) and the SMTP adapter it is sent through.

Staff mail goes as channel `staff`: the shared SMTP settings, or its own (`COMMS_CHANNEL__STAFF__SMTP_HOST`
and the rest), from `COMMS_STAFF_MAIL_FROM` (else `COMMS_MAIL_FROM`); `COMMS_FILE_CHANNELS=staff` writes
it to the outbox folder instead, for a dry run.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from channels import registry
from channels.base import ChannelError, Post
from pipeline.ports import ChannelAdapter
from pipeline.records import JobRun, OutboxItem
from pipeline.redact import Redactor
from pipeline.rendering.render import Renderer
from pipeline.settings import Settings

STAFF_CHANNEL = "staff"
ADDRESS = re.compile(r"[^\s<>@]+@[^\s<>@]+\.[^\s<>@]+")
HEADERS = (("Auto-Submitted", "auto-generated"),)  # RFC 3834: no out-of-office replies to the pipeline


class Topic(StrEnum):
    AWAITING = "awaiting"  # the approvers' digest
    LAPSE = "lapse"  # the reminder before an item would be missed
    FAILED = "failed"  # the admins' alert: items failed or missed
    CLOCK = "clock"  # the admins' alert: the clock has stopped waking


@dataclass(frozen=True)
class Notice:
    """One thing to tell one person, once: its ledger key records that they were told."""

    topic: Topic
    to: str  # a staff address
    key: str
    item: OutboxItem | None = None
    wake: JobRun | None = None  # for a clock alert: the last wake-up
    silent_minutes: int = 0  # for a clock alert: waking time since then


@dataclass(frozen=True)
class Mail:
    """One email: one person's notices on one topic."""

    topic: Topic
    to: str
    notices: tuple[Notice, ...]

    @property
    def keys(self) -> list[str]:
        return [n.key for n in self.notices]

    @property
    def count(self) -> int:
        """The items it tells of (a clock alert tells of none)."""
        return sum(1 for n in self.notices if n.item is not None)

    @property
    def message_key(self) -> str:
        """The same notices always give the same Message-ID: a resend after a crash is recognisable."""
        digest = hashlib.sha256("|".join(sorted(self.keys)).encode()).hexdigest()[:32]
        return f"notify-{self.topic.value}-{digest}"


@dataclass(frozen=True)
class MailView:
    """What the wording needs besides the notices."""

    now: datetime
    tz: ZoneInfo
    base_url: str
    channels: Mapping[str, str]  # channel code -> its name in strategy.yaml
    hide: Redactor  # the settings' secrets, out of any failure reason quoted

    def when(self, moment: datetime) -> str:
        local = moment.astimezone(self.tz)
        return f"{local:%a} {local.day} {local:%b %Y}, {local:%H:%M}"

    def soon(self, moment: datetime) -> str:
        """HH:MM when it is today, else the day too."""
        local = moment.astimezone(self.tz)
        return f"{local:%H:%M}" if local.date() == self.now.astimezone(self.tz).date() else self.when(moment)

    def link(self, item: OutboxItem) -> str:
        return f"{self.base_url.rstrip('/')}/items/{item.id}"


def staff_adapter(settings: Settings) -> ChannelAdapter:
    """The adapter staff mail goes through: channel `staff`, an email channel, from the staff sender."""
    sender = settings.staff_mail_from or settings.mail_from
    return registry.build(STAFF_CHANNEL, "email", settings.model_copy(update={"mail_from": sender}))


def send_mail(adapter: ChannelAdapter, mail: Mail, renderer: Renderer, view: MailView) -> None:
    """Render and send one mail. Raises ChannelError (a refusal too), or TemplateError from a template."""
    subject, text, html = render(mail, renderer, view)
    post = Post(
        channel=STAFF_CHANNEL,
        kind="email",
        text=text,
        subject=subject,
        html=html,
        recipient=mail.to,
        due_at=view.now,
        headers=HEADERS,
    )
    problems = adapter.validate(post)
    if problems:
        raise ChannelError(STAFF_CHANNEL, "; ".join(problems), transient=False, recipient_rejected=True)
    adapter.send(post, mail.message_key)


def render(mail: Mail, renderer: Renderer, view: MailView) -> tuple[str, str, str]:
    """(subject, plain text, HTML)."""
    subject, intro, items, closing = WORDING[mail.topic](mail, view)
    context: dict[str, Any] = {
        "subject": subject,
        "intro": intro,
        "items": items,
        "closing": closing,
        "workspace": view.base_url.rstrip("/") + "/",
        "reason_for_mail": REASON[mail.topic],
    }
    text = renderer.text_page("staff/notice.txt.j2", context)
    html = renderer.markup_page("staff/notice.html.j2", context)
    return subject, text, html


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _line(item: OutboxItem, view: MailView, note: str = "") -> dict[str, str]:
    return {
        "title": item.title,
        "channel": view.channels.get(item.channel, item.channel),
        "due": view.when(item.due_at),
        "link": view.link(item),
        "note": note,
    }


def _items(mail: Mail) -> list[OutboxItem]:
    return [n.item for n in mail.notices if n.item is not None]


Wording = tuple[str, str, list[dict[str, str]], str]


def _awaiting(mail: Mail, view: MailView) -> Wording:
    items = _items(mail)
    waiting = _plural(len(items), "item awaits approval", "items await approval")
    yours = (
        "You may approve it: you did not create it or edit it last."
        if len(items) == 1
        else ("You may approve each: you did not create or last edit any of them.")
    )
    intro = f"{waiting}. {yours}"
    closing = "Nothing goes out until it is approved. You will not be told about these again unless they change."
    return waiting, intro, [_line(i, view) for i in items], closing


def lapses_at(item: OutboxItem) -> datetime:
    """When an item not yet approved can no longer go out: its send time plus its send window."""
    return item.due_at + timedelta(hours=item.missed_after_hours)


def lapse_note(item: OutboxItem, view: MailView) -> str:
    """Approved after its send time an item still goes out, late, until it lapses."""
    missed = f"It will be missed at {view.soon(lapses_at(item))} unless approved."
    if view.now < item.due_at:
        return f"Due to go out at {view.soon(item.due_at)}; approved after that it goes out late. {missed}"
    return f"Its send time has passed: approved now it goes out late. {missed}"


def _lapse(mail: Mail, view: MailView) -> Wording:
    items = _items(mail)
    if len(items) == 1:
        subject = f"“{items[0].title}” will be missed at {view.soon(lapses_at(items[0]))} unless approved"
    else:
        subject = f"{len(items)} items will be missed unless approved"
    intro = f"{_plural(len(items), 'item is', 'items are')} still awaiting approval and due soon."
    lines = [_line(i, view, lapse_note(i, view)) for i in items]
    return subject, intro, lines, "A missed item is not sent at all; it can then only be retried by hand."


def failure_reason(item: OutboxItem, view: MailView) -> str:
    """Why the item did not go out, with secrets and any address taken out."""
    if item.status == "awaiting_approval":
        return f"missed: nobody approved it by {view.when(lapses_at(item))}"
    reason = ADDRESS.sub("[an address]", view.hide(item.reason or item.last_error or "no reason recorded"))
    return f"{item.status}: {reason[:300]}"


def _failed(mail: Mail, view: MailView) -> Wording:
    items = _items(mail)
    subject = _plural(len(items), "item was not sent", "items were not sent")
    intro = f"{subject}: {'it' if len(items) == 1 else 'each'} failed or was missed."
    lines = [_line(i, view, failure_reason(i, view)) for i in items]
    closing = "An item can be retried from its page (or `comms queue retry ID`) once the cause is fixed."
    return subject, intro, lines, closing


def _clock(mail: Mail, view: MailView) -> Wording:
    notice = mail.notices[0]
    assert notice.wake is not None
    wake = notice.wake
    subject = f"The clock has not woken since {view.when(wake.started_at)}"
    finished = "it has not finished" if wake.finished_at is None else f"it finished at {view.when(wake.finished_at)}"
    quiet = silence(notice.silent_minutes)
    intro = (
        f"The pipeline's clock last woke at {view.when(wake.started_at)} ({finished}): {quiet} "
        "without a wake-up, not counting 01:00-02:00, when it never wakes. It normally wakes every 5 minutes. "
        "Until it does, nothing is collected, composed or sent on time."
    )
    closing = (
        "Check that the clock process (`comms run`) is running and look at its log; `comms status` shows "
        "the last run of each job. A wake-up that has not finished may still be sending a large mailing."
    )
    return subject, intro, [], closing


def silence(minutes: int) -> str:
    if minutes >= 24 * 60:
        return "more than a day"
    if minutes >= 120:
        return f"{minutes // 60} hours {minutes % 60} minutes"
    return f"{minutes} minutes"


WORDING = {Topic.AWAITING: _awaiting, Topic.LAPSE: _lapse, Topic.FAILED: _failed, Topic.CLOCK: _clock}
REASON = {
    Topic.AWAITING: "you can approve items in the comms workspace",
    Topic.LAPSE: "you can approve items in the comms workspace",
    Topic.FAILED: "you are an admin of the comms workspace",
    Topic.CLOCK: "you are an admin of the comms workspace",
}
