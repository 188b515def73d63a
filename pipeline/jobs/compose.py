"""Composing: each occurrence that is due for composing becomes an edition (email) or a post, then an
outbox item. Deciding what is due is pure (`due_for_composing`); `Composer` performs the effects.

An edition is rendered from a JSON-safe `inputs` dict that is stored with it, so it can be rendered
again exactly (`Composer.rerender`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Required, TypedDict
from zoneinfo import ZoneInfo

from channels.limits import check_length
from content_calendar.models import Channel, Occurrence, Strategy
from content_calendar.plan import plan
from pipeline.errors import TemplateError
from pipeline.jobs.freshness import Fresh, choose, edition_window, sent_before
from pipeline.progress import SILENT, Progress
from pipeline.records import Edition, ItemStatus, NationalMessage, Outcome
from pipeline.rendering.edition import render_inputs
from pipeline.rendering.personalise import new_nonce
from pipeline.rendering.render import Renderer
from pipeline.rendering.sanitise import html_to_text
from pipeline.storage.store import Repositories
from pipeline.workspace import Story, Workspace

log = logging.getLogger(__name__)
LOOKBACK = timedelta(days=14)  # how far back a wake-up looks for occurrences it has not handled
EMAIL_KINDS = frozenset({"email", "notify"})
CANDIDATES = 100  # national messages read per edition before the freshness rules choose from them
HISTORY = timedelta(days=400)  # how far back a list's earlier editions are read


class ItemBase(TypedDict):
    """What every outbox item of an occurrence is queued with, whatever it becomes."""

    occurrence_key: str
    entry_id: str
    channel: str
    title: str
    audiences: list[str]
    objectives: list[str]
    due_at: datetime
    approval: str
    approvals_required: int
    created_by: str


@dataclass(frozen=True)
class Due:
    occurrence: Occurrence
    channel: Channel
    missed: bool  # its send window passed before it was ever composed
    missed_after_hours: int = 24


def due_for_composing(
    strategy: Strategy, occurrences: list[Occurrence], now: datetime, missed_after: dict[str, int]
) -> list[Due]:
    """Occurrences whose compose time (start minus the channel's lead days) has come. Pure."""
    out = []
    for occ in occurrences:
        channel = strategy.channel(occ.channel)
        if occ.status == "skipped" or channel is None:
            continue
        if occ.start - timedelta(days=channel.lead_days) > now:
            continue
        hours = missed_after.get(occ.entry_id, 24)
        out.append(Due(occ, channel, now > occ.start + timedelta(hours=hours), hours))
    return out


def _audience_scope(strategy: Strategy, codes: tuple[str, ...]) -> set[str]:
    """An entry's audiences, everything nested under them, and their parents (a message tagged
    'educators' suits a bulletin for 'headteachers')."""
    scope: set[str] = set()
    for code in codes:
        scope |= strategy.audience_with_children(code)
        parent = strategy.audience(code)
        while parent is not None and parent.parent:
            scope.add(parent.parent)
            parent = strategy.audience(parent.parent)
    return scope


def _story_input(story: Story) -> dict[str, Any]:
    return {
        "title": story.title,
        "markdown": story.body_markdown,
        "link": story.link,
        "image": story.image,
        "image_alt": story.image_alt,
        "day": story.day.isoformat(),
        "slug": story.slug,  # so the list's next edition knows it had this story
    }


def _message_input(msg: NationalMessage, sources: dict[str, str]) -> dict[str, Any]:
    host = msg.link.split("/")[2] if msg.link.count("/") >= 2 else ""
    return {
        "id": msg.id,
        "title": msg.title,
        "link": msg.link,
        "summary": html_to_text(msg.summary_html, 280),
        "published": msg.published_at.date().isoformat() if msg.published_at else None,
        "source": sources.get(host, host),
        "hash": msg.content_hash,  # to flag a source that changed after it was used
    }


class Queued(TypedDict, total=False):
    status: Required[str]
    approved_by: str


def queued(approval: str, problems: bool) -> Queued:
    """How a composed item enters the outbox. Invariant 1: nothing public goes out without approval
    unless its entry is marked `auto`; and a post with problems stays a draft, auto or not."""
    if problems:
        return {"status": ItemStatus.DRAFT}
    if approval == "auto":
        return {"status": ItemStatus.APPROVED, "approved_by": "auto"}
    return {"status": ItemStatus.AWAITING_APPROVAL}


class Composer:
    def __init__(
        self, repos: Repositories, workspace: Workspace, renderer: Renderer, progress: Progress = SILENT
    ) -> None:
        self.repos, self.workspace, self.renderer = repos, workspace, renderer
        self.progress = progress

    def run(self, now: datetime, only_entry: str | None = None, only_day: date | None = None) -> Outcome:
        """Compose everything due at `now` that the ledger lacks (or only one entry's occurrences, or
        only its occurrence on `only_day`)."""
        strategy = self.repos.calendar.strategy()
        if strategy is None:
            return Outcome(failures=("no plan imported yet: run `comms calendar import`",))
        counts = {"editions": 0, "posts": 0, "missed": 0, "failed": 0}
        failures: list[str] = []
        due_now = self.due(strategy, now, only_entry)
        if only_day is not None:
            due_now = [d for d in due_now if d.occurrence.key == f"{only_entry}@{only_day.isoformat()}"]
        done = self.repos.ledger.states_for([f"compose:{d.occurrence.key}" for d in due_now])
        for step, due in enumerate(due_now):
            self.progress("composing", step, len(due_now))
            key = f"compose:{due.occurrence.key}"
            if done.get(key) == "done" or not self.repos.ledger.claim(key, "compose", now, retry_failed=True).go:
                continue  # done, or being composed right now by another process
            try:
                kind = self.compose(strategy, due, now)
            except BaseException as exc:
                if not isinstance(exc, TemplateError):
                    self.repos.ledger.release([key])  # a crash: the next wake-up tries again
                    raise
                counts["failed"] += 1
                failures.append(f"{due.occurrence.key}: {exc}")
                self.repos.ledger.finish(key, now, ok=False, detail=str(exc))
                continue
            counts[kind] += 1
            self.repos.ledger.finish(key, now, detail=kind)
        self.progress("composing", len(due_now), len(due_now))
        return Outcome(counts, tuple(failures))

    def due(self, strategy: Strategy, now: datetime, only_entry: str | None = None) -> list[Due]:
        """The occurrences whose compose time has come at `now` (composed or not: the ledger says)."""
        entries = [e for e in self.repos.calendar.entries() if only_entry in (None, e.id)]
        max_lead = max((c.lead_days for c in strategy.channels), default=0)
        local = now.astimezone(ZoneInfo(strategy.timezone))
        first, last = (local - LOOKBACK).date(), (local + timedelta(days=max_lead)).date()
        occurrences = plan(strategy, entries, first, last, self.repos.calendar.overrides())
        return due_for_composing(strategy, occurrences, now, {e.id: e.missed_after_hours for e in entries})

    def compose(self, strategy: Strategy, due: Due, now: datetime) -> str:
        occ, channel = due.occurrence, due.channel
        base: ItemBase = {
            "occurrence_key": occ.key,
            "entry_id": occ.entry_id,
            "channel": occ.channel,
            "title": occ.title,
            "audiences": list(occ.audiences),
            "objectives": list(occ.objectives),
            "due_at": occ.start.astimezone(UTC),
            "approval": occ.approval,
            "approvals_required": channel.approvals,
            "created_by": "clock",
        }
        missed_after = due.missed_after_hours
        if due.missed:
            self.repos.outbox.add_item(
                now,
                **base,
                kind="post",
                body="",
                status="missed",
                missed_after_hours=missed_after,
                reason="the clock was not running when this was due",
            )
            return "missed"
        if channel.kind in EMAIL_KINDS:
            inputs = self.email_inputs(strategy, occ, now)
            nothing_new = inputs["freshness"]["new"] == 0  # a person decides whether to send it anyway
            edition = self.render_edition(occ, channel, inputs, now)
            if edition.status != "composed":
                raise TemplateError(edition.template, None, "; ".join(edition.problems))
            self.repos.outbox.add_item(
                now,
                **base,
                kind="email",
                subject=edition.subject,
                body=edition.text,
                html=edition.html,
                edition_id=edition.id,
                missed_after_hours=missed_after,
                **queued("required" if nothing_new else occ.approval, problems=False),
            )
            return "editions"
        text, problems = self.post_text(strategy, occ, channel, now)
        self.repos.outbox.add_item(
            now,
            **base,
            kind="post",
            body=text,
            link=self._link(),
            **queued(occ.approval, problems=bool(problems)),
            missed_after_hours=missed_after,
            reason="; ".join(problems) or None,
        )
        return "posts"

    def _link(self) -> str | None:
        return self.workspace.organisation.get("prevent_page") or self.workspace.organisation.get("website")

    # email editions -------------------------------------------------------------------------
    def email_inputs(self, strategy: Strategy, occ: Occurrence, now: datetime) -> dict[str, Any]:
        org = self.workspace.organisation
        fresh = self.fresh_content(strategy, occ)
        issue = occ.start.date()
        subject = f"{occ.title}: {issue:%B %Y}"
        lists = org.get("lists", {})
        return {
            "template": occ.template,
            "title": occ.title,
            "subject": subject,
            "preheader": (occ.key_messages[0] if occ.key_messages else occ.title)[:140],
            "issue_date": issue.isoformat(),
            "intro": lists.get(occ.channel, {}).get("intro", ""),
            "list_name": lists.get(occ.channel, {}).get("name", occ.title),
            "key_messages": list(occ.key_messages),
            "stories": [_story_input(s) for s in fresh.stories],
            "national": [_message_input(m, org.get("sources", {})) for m in fresh.messages],
            "freshness": fresh.summary(),
            "resources": org.get("resources", []),
            "org": {k: v for k, v in org.items() if isinstance(v, str)},
            "cta": org.get("cta"),
            "nonce": new_nonce(),
        }

    def fresh_content(self, strategy: Strategy, occ: Occurrence) -> Fresh:
        """The national messages and local stories new to the occurrence's list (`jobs.freshness`)."""
        entry = next((e for e in self.repos.calendar.entries() if e.id == occ.entry_id), None)
        tz, issue = ZoneInfo(strategy.timezone), occ.start.date()
        previous = self.repos.outbox.last_edition(occ.entry_id, before=occ.key)
        last_day = previous.composed_at.astimezone(tz).date() if previous else None
        window = edition_window(issue, last_day, entry.window_days if entry else None)
        since = datetime.combine(window.start, time(0), tzinfo=tz)
        scope, objectives = _audience_scope(strategy, occ.audiences), set(occ.objectives)
        pins = entry.pin if entry else ()
        messages = self.repos.feeds.messages_for(scope, objectives, since, limit=CANDIDATES)
        messages += [m for m in self.repos.feeds.messages_by_link(pins) if m not in messages]
        stories = [
            s
            for s in self.workspace.stories()
            if s.slug in pins or scope & set(s.audiences) or objectives & set(s.objectives)
        ]
        sent = sent_before(self.repos.outbox.list_history(occ.channel, occ.key, occ.start - HISTORY))
        return choose(messages, stories, sent, window, pins, issue)

    def render_edition(self, occ: Occurrence, channel: Channel, inputs: dict[str, Any], now: datetime) -> Edition:
        template = inputs["template"]
        try:
            html, text, problems = render_inputs(self.renderer, inputs)
        except TemplateError as exc:
            html = text = ""
            problems = [str(exc)]
        status = "failed" if problems else "composed"
        if problems:
            log.warning("edition failed", extra={"occurrence": occ.key, "problems": problems})
        return self.repos.outbox.save_edition(
            occurrence_key=occ.key,
            entry_id=occ.entry_id,
            channel=channel.code,
            template=template,
            status=status,
            subject=inputs["subject"],
            preheader=inputs["preheader"],
            html=html,
            text=text,
            inputs=inputs,
            problems=problems,
            composed_at=now,
        )

    def rerender(self, edition_id: int) -> tuple[str, str]:
        """The edition's HTML and text rendered again from its stored inputs."""
        html, text, _problems = render_inputs(self.renderer, self.repos.outbox.edition_inputs(edition_id))
        return html, text

    # posts ----------------------------------------------------------------------------------
    def post_text(self, strategy: Strategy, occ: Occurrence, channel: Channel, now: datetime) -> tuple[str, list[str]]:
        org = self.workspace.organisation
        name = f"posts/{occ.template}.txt.j2"
        if not self.renderer.exists(name):
            name = (
                f"posts/{channel.kind}.txt.j2"
                if self.renderer.exists(f"posts/{channel.kind}.txt.j2")
                else "posts/default.txt.j2"
            )
        scope = _audience_scope(strategy, occ.audiences)
        national = [
            _message_input(m, org.get("sources", {}))
            for m in self.repos.feeds.messages_for(scope, set(occ.objectives), now - timedelta(days=31), limit=3)
        ]
        context = {
            "title": occ.title,
            "key_messages": list(occ.key_messages),
            "link": self._link(),
            "hashtags": org.get("hashtags", []),
            "org": org,
            "national": national,
        }
        text = self.renderer.text_page(name, context).strip()
        return text, check_length(channel.kind, text)
