"""Dispatch: send approved items whose time has come, exactly once per (channel, item, recipient).

`decide()` (`pipeline.jobs.decide`) is pure: given the items, the freeze and the strategy at `now`, it
says what to do with each. `Dispatcher` performs it; the queue's jobs call it batch by batch
(`pipeline.jobs.batch_jobs`). Each send is claimed in the ledger before the attempt and finished
after it; a claim found `started` (a crash between send and record) is sent again with the same
key, and the channel's own idempotency (Message-ID, Idempotency-Key, a file named by the key)
makes the second attempt harmless.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from channels.base import ChannelError, Post
from content_calendar.models import Strategy
from pipeline.errors import Conflict
from pipeline.jobs.decide import Decision, backoff, decide, delivery_metrics
from pipeline.jobs.prepared import Kept, Personalisers, Prepared
from pipeline.links import counted
from pipeline.ports import AdapterLookup, ChannelAdapter
from pipeline.progress import SILENT, Progress
from pipeline.records import (
    Audited,
    Claim,
    Delivery,
    ItemSettled,
    ItemStatus,
    OutboxItem,
    Outcome,
    RecipientRefused,
    Subscriber,
)
from pipeline.redact import redactor
from pipeline.rendering.personalise import ItemPersonaliser, Reader
from pipeline.settings import Settings
from pipeline.storage.store import Repositories
from pipeline.tokens import TokenError, unsubscribe_url

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 100  # a safety net: the item's send window is what ends the retries of a transient failure
RECHECK_SECONDS = 2.0  # how often a batch under way looks again at the freeze and the item's status
GONE = "no longer subscribed"
BATCH = 500  # recipients claimed together; a restart resumes from the unsent ones
PUBLIC = "public"


class Dispatcher:
    def __init__(
        self,
        repos: Repositories,
        settings: Settings,
        adapter_for: AdapterLookup,
        seed: int | None = None,
        personalisers: Personalisers | None = None,
    ) -> None:
        self.repos, self.settings, self.adapter_for = repos, settings, adapter_for
        self.rng = random.Random(seed)
        self.redact = redactor(settings)  # every error text stored or shown passes through it
        self.stop = threading.Event()  # set by SIGTERM: the current send finishes, nothing new starts
        self.batch = BATCH
        self.recheck_seconds = RECHECK_SECONDS
        self.progress: Progress = SILENT  # how many of an item's recipients are done, for a terminal
        self._pool: ThreadPoolExecutor | None = None
        self.personalisers = personalisers or Personalisers()

    def pool(self) -> ThreadPoolExecutor:
        """The threads that send email over the SMTP pool's connections, one set for the whole run."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.settings.smtp_pool_size, thread_name_prefix="send")
        return self._pool

    def run(self, now: datetime, only_item: int | None = None) -> Outcome:
        """Send what is due at `now` (or only item `only_item`). The sending threads, and the database
        connections they kept, are closed when the run ends."""
        try:
            return self._run(now, only_item)
        finally:
            self.close()

    def _run(self, now: datetime, only_item: int | None) -> Outcome:
        strategy = self.repos.calendar.strategy()
        if strategy is None:
            return Outcome(failures=("no plan imported yet",))
        counts: dict[str, int] = {"sent": 0, "failed": 0, "missed": 0, "held": 0}
        failures: list[str] = []
        for decision in self._decisions(strategy, now, only_item):
            if self.stop.is_set():
                break
            if self._act(decision, now, counts, failures):
                sent, failed = self.send_item(decision.item, strategy, now, failures)
                counts["sent"] += sent
                counts["failed"] += failed
        return Outcome(counts, tuple(failures))

    def _decisions(self, strategy: Strategy, now: datetime, only_item: int | None) -> list[Decision]:
        entries = {e.id: e for e in self.repos.calendar.entries()}
        if only_item is not None:
            one = self.repos.outbox.item(only_item)
            items = [one] if one is not None and one.status == "approved" else []
        else:
            items = self.repos.outbox.items(status="approved")
        return decide(items, now, self.repos.control.freeze().paused, strategy, entries)

    def _act(self, decision: Decision, now: datetime, counts: dict[str, int], failures: list[str]) -> bool:
        """Carry out a decision other than `send` (missed, refused, held); True for one to send."""
        item = decision.item
        if decision.action == "missed":
            counts["missed"] += self._window_closed(item, now, decision.reason)
        elif decision.action == "changed":
            self._unapproved(item, now, decision.reason)
            failures.append(f"item {item.id}: {decision.reason}")
        elif decision.action != "send":
            counts["held"] += 1
        return decision.action == "send"

    def send_item(self, item: OutboxItem, strategy: Strategy, now: datetime, failures: list[str]) -> tuple[int, int]:
        """Send one item to every recipient still pending, batch after batch (`Batch`). A recipient whose
        claim another live process holds is left to it; the item settles once nothing is pending."""
        prepared = self.prepare(item, strategy, failures, now)
        if prepared is None:
            return 0, 0
        results = {"sent": 0, "failed": 0}
        stage, total = f"sending {item.title}", len(prepared.deliveries)
        self.progress(stage, total - sum(d.status == "pending" for d in prepared.deliveries), total)
        for number in prepared.batches(self.batch, now):
            if self.stop.is_set() or not self._still_to_send(item):
                break
            for outcome, count in self.send_slice(prepared, number, now, failures).items():
                results[outcome] = results.get(outcome, 0) + count
            self.progress(stage, min(total, (number + 1) * self.batch), total)
        self.finish_item(item, now)
        return results["sent"], results["failed"]

    def prepare(
        self, item: OutboxItem, strategy: Strategy, failures: list[str], now: datetime, ensure: bool = True
    ) -> Prepared | None:
        """The item's adapter, recipients and delivery rows (made once, in a stable order, unless `ensure`
        is False: the item was planned, rows and all), or None when it cannot be sent at all (no
        adapter, no recipients: the item fails, saying why)."""
        adapter = self._adapter(item, strategy, failures, now)
        if adapter is None:
            return None
        try:
            recipients = self._recipients(item, strategy)
        except TokenError as exc:
            self._cannot_send(item, self.redact(str(exc)), failures, now)
            return None
        if not recipients:
            why = f"no recipients: no active subscriber is in the audiences {', '.join(item.audiences)}"
            self._cannot_send(item, why, failures, now, short="no recipients")
            return None
        if ensure:
            self.repos.outbox.ensure_deliveries(item.id, [(email, audience) for email, audience, _sub in recipients])
        active = {email: sub for email, _audience, sub in recipients}
        prefix = f"send:{item.channel}:{item.id}:"
        deliveries = self.repos.outbox.deliveries(item.id)
        audiences = {email: audience for email, audience, _sub in recipients}
        return Prepared(item, adapter, active, self._renderer(item, active, audiences), prefix, deliveries)

    def prepare_slice(
        self, item: OutboxItem, strategy: Strategy, failures: list[str], now: datetime, ids: tuple[int, int]
    ) -> Prepared | None:
        """One batch of a planned item, read alone: its delivery rows with ids `first..last` (a slice of
        the stable order) and, of the subscribers, only those rows' recipients. The result holds just
        that slice, so it is its own batch 0."""
        adapter = self._adapter(item, strategy, failures, now)
        if adapter is None:
            return None
        deliveries = self.repos.outbox.deliveries(item.id, ids=ids)
        found: list[tuple[str, str, Subscriber | None]]
        try:
            if item.kind == "email":
                emails = [d.recipient for d in deliveries]
                scope = self._scope(item, strategy)
                found = list(self.repos.subscribers.recipients_among(scope, emails, item.channel))
            else:
                found = self._recipients(item, strategy)
        except TokenError as exc:
            self._cannot_send(item, self.redact(str(exc)), failures, now)
            return None
        active = {email: sub for email, _audience, sub in found}
        audiences = {email: audience for email, audience, _sub in found}
        prefix = f"send:{item.channel}:{item.id}:"
        return Prepared(item, adapter, active, self._renderer(item, active, audiences), prefix, deliveries)

    def _adapter(
        self, item: OutboxItem, strategy: Strategy, failures: list[str], now: datetime
    ) -> ChannelAdapter | None:
        channel = strategy.channel(item.channel)
        try:
            return self.adapter_for(item.channel, channel.kind if channel else "unknown")
        except ChannelError as exc:
            self._cannot_send(item, self.redact(str(exc)), failures, now)
            return None

    def _cannot_send(self, item: OutboxItem, why: str, failures: list[str], now: datetime, short: str = "") -> None:
        self.repos.outbox.settle(item.id, "failed", now, reason=why)
        failures.append(f"item {item.id}: {short or why}")

    def send_slice(self, prepared: Prepared, number: int, now: datetime, failures: list[str]) -> dict[str, int]:
        """Send batch `number` of the item's deliveries (a slice of `self.batch` in their stable order):
        those still pending and due; a recipient who has unsubscribed since is skipped, saying why."""
        pending = prepared.pending_in(number, self.batch, now)
        gone = [d for d in pending if d.recipient not in prepared.active]  # unsubscribed or bounced since queued
        self._record_unsent(prepared.prefix, gone, now, "skipped", GONE)
        pending = [d for d in pending if d.recipient in prepared.active]
        if not pending:
            return {}
        item = prepared.item
        return Batch(self, item, prepared.adapter, prepared.render, now, failures, prepared.prefix, pending).send()

    def finish_item(self, item: OutboxItem, now: datetime, recipients: list[str] | None = None) -> None:
        """Bring the delivery rows up to the ledger (only these `recipients`', a batch's, if given), and
        settle the item once nothing is pending."""
        self.repos.outbox.sync_sent(item.id, f"send:{item.channel}:{item.id}:", now, recipients)
        self._settle(item, now)

    def close(self) -> None:
        """Stop the sending threads, and close the database connections they kept."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        self.repos.ledger.close()

    def _unapproved(self, item: OutboxItem, now: datetime, reason: str) -> None:
        """An approved item whose content hash is not the approved one (changed outside the life cycle):
        never sent; back to awaiting approval, and said so in the audit log."""
        log.warning("refused an item changed after approval", extra={"item": item.id})
        with contextlib.suppress(Conflict):  # moved meanwhile by a person: theirs stands
            self.repos.outbox.transition(
                item.id,
                ItemStatus.AWAITING_APPROVAL,
                now,
                by="dispatch",
                reason=reason,
                allowed_from=(ItemStatus.APPROVED,),
                audit=Audited(now, "dispatch", "system", "item.refused", f"item:{item.id}", reason),
            )

    def _still_to_send(self, item: OutboxItem) -> bool:
        """Checked before each batch: a person may have paused sending, or cancelled or edited the item,
        since this send began; what is not yet sent then waits."""
        current = self.repos.outbox.item(item.id)
        return (
            current is not None
            and current.status == "approved"
            and current.approval_current
            and not self.repos.control.freeze().paused
        )

    def _window_closed(self, item: OutboxItem, now: datetime, reason: str) -> bool:
        """An approved item past its send window. Never started: it is missed. Started (some went, the
        rest are waiting on a retry): what is still pending fails, saying so, and the item settles on
        what did go, with its figures, rather than being marked missed as if nobody had it."""
        deliveries = self.repos.outbox.deliveries(item.id)
        if not deliveries:
            return self.repos.outbox.settle(item.id, "missed", now, reason=reason)
        prefix = f"send:{item.channel}:{item.id}:"
        pending = [d for d in deliveries if d.status == "pending"]
        self._record_unsent(prefix, pending, now, "failed", f"not sent: {reason}")
        self.repos.outbox.sync_sent(item.id, prefix, now)
        self._settle(item, now)
        return False

    def _record_unsent(self, prefix: str, deliveries: list[Delivery], now: datetime, status: str, why: str) -> None:
        """Settle these deliveries as never sent (`skipped` or `failed`, saying why), each once its claim
        is held; one another process is sending right now is left to it."""
        states = self.repos.ledger.claim_many([prefix + d.recipient for d in deliveries], "send", now)
        for d in deliveries:
            if states[prefix + d.recipient].go:
                self.repos.outbox.record_attempt(prefix + d.recipient, d.id, status, now, ledger="failed", error=why)

    def _recipients(self, item: OutboxItem, strategy: Strategy) -> list[tuple[str, str, Subscriber | None]]:
        """(address, audience matched, subscriber) for email; one pseudo-recipient "-" for a post."""
        if item.kind != "email":
            return [("-", item.audiences[0] if item.audiences else PUBLIC, None)]
        return list(self.repos.subscribers.recipients(self._scope(item, strategy), item.channel))

    def _scope(self, item: OutboxItem, strategy: Strategy) -> set[str]:
        """The audiences an email goes to, with their children (it needs the key that signs links)."""
        if not self.settings.secret_key:
            raise TokenError("COMMS_SECRET_KEY is not set; unsubscribe links cannot be signed (set it in .env)")
        scope: set[str] = set()
        for code in item.audiences:
            scope |= strategy.audience_with_children(code)
        return scope

    def _renderer(
        self, item: OutboxItem, subscribers: dict[str, Subscriber | None], audiences: dict[str, str] | None = None
    ) -> Callable[[str, str], tuple[str, str]]:
        """Per-recipient (html, text) given the recipient and their unsubscribe URL, from MJML
        compiled once for the edition (`ItemPersonaliser`, which the item page's preview uses too), and
        kept per process for the item's next batches (`Personalisers`). With link counting, an email's
        HTML links go through /r/, one form per audience (`counted`)."""
        key = (item.id, item.edition_id, item.content_hash)
        personalise, per_audience = self.personalisers.get(key, lambda: self._personalisers(item))
        per_audience = per_audience if audiences else None

        def render(recipient: str, url: str) -> tuple[str, str]:
            sub = subscribers.get(recipient)
            reader = Reader(sub.name if sub else "", sub.organisation if sub else "", recipient, url)
            chosen = per_audience(audiences.get(recipient, "")) if per_audience and audiences else personalise
            return chosen.render(reader)

        return render

    def _personalisers(self, item: OutboxItem) -> Kept:
        personalise = ItemPersonaliser(item.html, item.body, self.nonce(item))
        return personalise, counted(self.settings, item, personalise)

    def nonce(self, item: OutboxItem) -> str | None:
        """The edition's personalisation nonce: None for a post or an email queued without an edition."""
        if item.kind != "email" or item.edition_id is None:
            return None
        return str(self.repos.outbox.edition_inputs(item.edition_id)["nonce"])

    def unsubscribe_url(self, recipient: str, list_code: str) -> str:
        """The footer's and List-Unsubscribe's link: leaves the list (the channel) this email came from."""
        return unsubscribe_url(self.settings.public_base_url, self.settings.secret_key, recipient, list_code)

    def deliver(
        self,
        adapter: ChannelAdapter,
        item: OutboxItem,
        delivery: Delivery,
        render: Callable[[str, str], tuple[str, str]],
        now: datetime,
        failures: list[str],
        maybe_sent: bool = False,
    ) -> str:
        """One send, its key already claimed (`maybe_sent`: by an earlier attempt with no outcome).
        A success is recorded in the ledger only; the delivery rows catch up in one query when the
        item's loop ends (`sync_sent`)."""
        key = f"send:{item.channel}:{item.id}:{delivery.recipient}"
        unsubscribe = self.unsubscribe_url(delivery.recipient, item.channel) if item.kind == "email" else None
        html, text = render(delivery.recipient, unsubscribe or "")
        post = Post(
            channel=item.channel,
            kind=adapter.kind,
            text=text,
            subject=item.subject or item.title,
            html=html,
            link=item.link,
            recipient=delivery.recipient,
            due_at=item.due_at,
            unsubscribe_url=unsubscribe,
            maybe_sent=maybe_sent,
        )
        try:
            problems = adapter.validate(post)
        except Exception as exc:  # an adapter's bug or a surprising answer: this item only, retried
            return self._failed(unexpected(item.channel, exc), key, item, delivery, now, failures)
        if problems:
            why = "; ".join(problems)
            status = "skipped" if item.kind == "email" else "failed"
            self.repos.outbox.record_attempt(key, delivery.id, status, now, ledger="failed", detail=why, error=why)
            failures.append(f"item {item.id} to {delivery.recipient}: {'; '.join(problems)}")
            return "failed"
        try:
            receipt = adapter.send(post, key)
        except ChannelError as exc:
            return self._failed(exc, key, item, delivery, now, failures)
        except Exception as exc:  # retried with the same key, so a post that did land is found, not repeated
            return self._failed(unexpected(item.channel, exc), key, item, delivery, now, failures)
        if item.kind == "email":  # the hot path: one statement; the delivery row is synced after the loop
            self.repos.ledger.finish_fast(key, now, detail=receipt.external_id)
        else:
            self.repos.outbox.record_attempt(
                key,
                delivery.id,
                "sent",
                now,
                ledger="done",
                detail=receipt.external_id,
                external_id=receipt.external_id,
                url=receipt.url,
            )
        return "sent"

    def _failed(
        self, exc: ChannelError, key: str, item: OutboxItem, delivery: Delivery, now: datetime, failures: list[str]
    ) -> str:
        exc = exc.redacted(self.redact)
        wait = backoff(delivery.attempts + 1, exc.retry_after, self.rng)
        window_closes = item.due_at + timedelta(hours=item.missed_after_hours)
        if exc.transient and now + wait <= window_closes and delivery.attempts + 1 < MAX_ATTEMPTS:
            # A relay or API that is down is retried, backing off, for as long as the item's send window
            # allows. The claim stays `started` but is released: the retry (by any process) reuses the
            # key and is told the earlier attempt may have landed, so a send that did land is not repeated.
            self.repos.outbox.record_attempt(
                key, delivery.id, "pending", now, ledger=None, error=str(exc), next_attempt_at=now + wait
            )
            log.info("send deferred", extra={"item": item.id, "error": str(exc), "retry_in": wait.total_seconds()})
            return "deferred"
        if exc.transient:  # the window closes before another try: fail once, saying why
            exc = ChannelError(
                exc.channel,
                f"gave up after {delivery.attempts + 1} attempts: the send window closed at "
                f"{window_closes.astimezone(self.settings.tz):%a %d %b %H:%M}; last error: {exc}",
                transient=False,
            )
            log.error("send failed for good", extra={"item": item.id, "error": str(exc)})
        refused = (RecipientRefused(delivery.recipient, now, str(exc)),) if exc.recipient_rejected else ()
        self.repos.outbox.record_attempt(
            key, delivery.id, "failed", now, ledger="failed", detail=str(exc), error=str(exc), also=refused
        )
        failures.append(f"item {item.id} to {delivery.recipient}: {exc}")
        return "failed"

    def _settle(self, item: OutboxItem, now: datetime) -> None:
        """Once no delivery is pending, the item is sent (if anything went) or failed, with its figures
        and the national messages it used, in one transaction and by one process only."""
        if self.repos.outbox.has_pending(item.id):  # one row read, not the item's whole list
            return
        deliveries = self.repos.outbox.deliveries(item.id)
        if any(d.status == "pending" for d in deliveries):
            return
        sent = [d for d in deliveries if d.status == "sent"]
        bad = [d for d in deliveries if d.status in ("failed", "skipped")]
        note = f"{len(bad)} of {len(deliveries)} not delivered" if bad else None
        status = "sent" if sent else "failed"
        used: tuple[int, ...] = ()
        if item.edition_id is not None:
            inputs = self.repos.outbox.edition_inputs(item.edition_id)
            used = tuple(int(m["id"]) for m in inputs.get("national", []) if m.get("id"))
        event = ItemSettled(item.id, status, now, tuple(delivery_metrics(item, deliveries)), used)
        self.repos.outbox.settle(item.id, status, now, reason=note, event=event)


class Batch:
    """One batch of an item's recipients: claimed together under a lease, sent (over the SMTP pool for
    email), and every claim left unattempted released at the end. The lease is renewed while the batch
    runs; a recipient whose claim was lost meanwhile (this process stalled past its lease and another
    took over) is not sent."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        item: OutboxItem,
        adapter: ChannelAdapter,
        render: Callable[[str, str], tuple[str, str]],
        now: datetime,
        failures: list[str],
        prefix: str,
        deliveries: list[Delivery],
    ) -> None:
        self.d, self.item, self.adapter, self.render, self.now = dispatcher, item, adapter, render, now
        self.failures, self.prefix, self.deliveries = failures, prefix, deliveries
        self.ledger = dispatcher.repos.ledger
        self.lock = threading.Lock()
        self.attempted: set[str] = set()
        self.closed = False
        self.recheck_at = time.monotonic() + dispatcher.recheck_seconds
        self.results: dict[str, int] = {"sent": 0, "failed": 0, "busy": 0}

    def send(self) -> dict[str, int]:
        states = self.ledger.claim_many([self.prefix + d.recipient for d in self.deliveries], "send", self.now)
        self.held = {k for k, s in states.items() if s.go}
        self._read_again()
        self.renew_at = self.ledger.clock() + self.ledger.lease / 3
        todo = []
        for d in self.deliveries:
            state = states[self.prefix + d.recipient]
            if state == Claim.DONE:
                self.results["sent"] += 1  # sent by an earlier run; the delivery row catches up below
            elif state == Claim.BUSY:
                self.results["busy"] += 1
            elif self.prefix + d.recipient in self.held:
                todo.append((d, state == Claim.RECOVERED))
        try:
            workers = self.d.settings.smtp_pool_size if self.item.kind == "email" else 1
            if workers > 1 and len(todo) > 1:
                list(self.d.pool().map(self.one, todo))
            else:
                for pair in todo:
                    self.one(pair)
        finally:
            with self.lock:  # a send not yet begun stays unbegun once its claim is given back
                self.closed = True
                unattempted = self.held - self.attempted
            self.ledger.release(unattempted)
        return self.results

    def _read_again(self) -> None:
        """The batch's rows as they are now that its claims are held: the list was read when the item
        started, and meanwhile another process may have sent, skipped or deferred some of them."""
        claimed = [d.recipient for d in self.deliveries if self.prefix + d.recipient in self.held]
        now_rows = {d.recipient: d for d in self.d.repos.outbox.deliveries(self.item.id, recipients=claimed)}
        fresh, settled = [], set()
        for d in self.deliveries:
            row = now_rows.get(d.recipient, d)
            key = self.prefix + d.recipient
            if key in self.held and (
                row.status != "pending" or (row.next_attempt_at is not None and row.next_attempt_at > self.now)
            ):
                settled.add(key)
            fresh.append(row)
        self.held -= settled
        self.ledger.release(settled)
        self.deliveries = fresh

    def one(self, pair: tuple[Delivery, bool]) -> None:
        delivery, maybe_sent = pair
        key = self.prefix + delivery.recipient
        with self.lock:
            if self.closed or self.d.stop.is_set() or self._halted() or not self._still_held(key):
                return
            self.attempted.add(key)
        outcome = self.d.deliver(
            self.adapter, self.item, delivery, self.render, self.now, self.failures, maybe_sent=maybe_sent
        )
        with self.lock:
            self.results[outcome] = self.results.get(outcome, 0) + 1

    def _halted(self) -> bool:
        """A pause for an incident, or a cancel or edit, holds within seconds even mid-batch: every
        `recheck_seconds` the batch looks again (called under the lock; what is left is released)."""
        if time.monotonic() >= self.recheck_at:
            self.recheck_at = time.monotonic() + self.d.recheck_seconds
            if not self.d._still_to_send(self.item):
                self.closed = True
        return self.closed

    def _still_held(self, key: str) -> bool:
        """Renew the batch's leases when a third of the lease has passed (called under the lock)."""
        if self.ledger.clock() >= self.renew_at:
            self.held = self.ledger.renew(self.held - self.attempted) | (self.held & self.attempted)
            self.renew_at = self.ledger.clock() + self.ledger.lease / 3
        return key in self.held


def unexpected(channel: str, exc: Exception) -> ChannelError:
    """An adapter's own bug or a surprising answer, logged with its traceback, as a transient error."""
    log.exception("adapter failed unexpectedly", extra={"channel": channel, "error": type(exc).__name__})
    return ChannelError(channel, f"unexpected error: {type(exc).__name__}: {exc}"[:300], transient=True)
