"""The outbox life cycle: list, show, approve, reject, cancel, retry, edit and comment on an item.

The rules are here and nowhere else:
- which status allows which move (`MOVES`, `EDITABLE`), and which role each needs (`permissions`);
- an edit sends the item back to awaiting approval and records who edited it; an edit of an email
  changes its editable blocks and re-renders every part (HTML and plain text) from them;
- four eyes: whoever created or last edited an item may not approve it; a channel may require two
  approvals, by two different people, of the same version;
- an approval binds to a version: the content hash the approver saw. If the item changed since, the
  approval is refused (Conflict) and the change can be shown; a send of content whose hash is not the
  approved one is refused by the dispatcher.

The repository only reads and writes rows; each write is made conditional on the status read here,
so a decision taken on a status that another process changed meanwhile raises Conflict. Each move is
written to the audit log in the same transaction as the move.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.context import AppContext
from pipeline.errors import Conflict, Invalid, NotAllowed, NotFound, TemplateError
from pipeline.ports import OutboxRepository
from pipeline.records import Approval, Comment, Delivery, ItemLine, ItemStatus, ItemVersion, OutboxItem
from pipeline.rendering.edition import EDITABLE_BLOCKS, render_inputs
from pipeline.services.actor import Actor
from pipeline.services.audit import audited
from pipeline.services.permissions import Permission, require

S = ItemStatus
MAX_COMMENT = 4000
MAX_TEXT = 100_000


@dataclass(frozen=True)
class Move:
    verb: str  # as a person would say it: "approved", "rejected"
    to: ItemStatus
    allowed_from: frozenset[ItemStatus]
    permission: Permission


APPROVE = Move("approved", S.APPROVED, frozenset({S.DRAFT, S.AWAITING_APPROVAL}), Permission.APPROVE)
REJECT = Move("rejected", S.DRAFT, frozenset({S.AWAITING_APPROVAL, S.APPROVED}), Permission.APPROVE)
CANCEL = Move(
    "cancelled",
    S.CANCELLED,
    frozenset({S.DRAFT, S.AWAITING_APPROVAL, S.APPROVED, S.FAILED, S.MISSED}),
    Permission.APPROVE,
)
RETRY = Move("retried", S.AWAITING_APPROVAL, frozenset({S.FAILED, S.MISSED}), Permission.DRAFT)
MOVES = {m.verb: m for m in (APPROVE, REJECT, CANCEL, RETRY)}
EDITABLE = frozenset(S) - {S.SENT, S.CANCELLED}

RenderEdition = Callable[[dict[str, Any]], tuple[str, str, list[str]]]
"""An edition's inputs to its HTML, plain text and accessibility problems (`rendering.edition`)."""


@dataclass(frozen=True)
class ItemView:
    """One item with each recipient's delivery, as `comms queue show` and the web workspace show it."""

    item: OutboxItem
    deliveries: tuple[Delivery, ...]


@dataclass(frozen=True)
class History:
    """An item's versions (oldest first), the approvals of its current version, and its comments."""

    versions: tuple[ItemVersion, ...]
    approvals: tuple[Approval, ...]
    comments: tuple[Comment, ...]


@dataclass(frozen=True)
class Approved:
    """The outcome of one approval: the item, and how many of the approvals it needs it now has."""

    item: OutboxItem
    given: int
    needed: int

    @property
    def complete(self) -> bool:
        return self.item.status == S.APPROVED


@dataclass(frozen=True)
class Retried:
    item: OutboxItem
    deliveries_reset: int


class OutboxService:
    def __init__(self, outbox: OutboxRepository, render_edition: RenderEdition | None = None) -> None:
        self.outbox, self.render_edition = outbox, render_edition

    @classmethod
    def of(cls, ctx: AppContext) -> OutboxService:
        return cls(ctx.repos.outbox, lambda inputs: render_inputs(ctx.renderer, inputs))

    # reading --------------------------------------------------------------------------------
    def list_items(
        self, actor: Actor, *, status: ItemStatus | None = None, channel: str | None = None
    ) -> tuple[OutboxItem, ...]:
        require(actor, Permission.VIEW)
        return tuple(self.outbox.items(status=status, channel=channel))

    def get(self, actor: Actor, item_id: int) -> OutboxItem:
        require(actor, Permission.VIEW)
        item = self.outbox.item(item_id)
        if item is None:
            raise NotFound(f"no outbox item {item_id}")
        return item

    def show(self, actor: Actor, item_id: int) -> ItemView:
        item = self.get(actor, item_id)
        return ItemView(item, tuple(self.outbox.deliveries(item.id)))

    def history(self, actor: Actor, item_id: int) -> History:
        item = self.get(actor, item_id)
        return History(self.outbox.versions(item.id), self.outbox.approvals(item.id), self.outbox.comments(item.id))

    def edition_blocks(self, actor: Actor, item_id: int) -> dict[str, Any]:
        """The editable blocks of an email item's edition (empty for a post)."""
        item = self.get(actor, item_id)
        if item.edition_id is None:
            return {}
        inputs = self.outbox.edition_inputs(item.edition_id)
        return {k: inputs.get(k) for k in EDITABLE_BLOCKS if k in inputs}

    def changes_since(self, actor: Actor, item_id: int, seen_hash: str) -> str:
        """What changed between the version `seen_hash` and the current one, as a unified diff of the
        subject and the plain text (what a person reads); empty when nothing changed."""
        item = self.get(actor, item_id)
        if seen_hash == item.content_hash:
            return ""
        seen = next((v for v in self.outbox.versions(item.id) if v.content_hash == seen_hash), None)
        before = f"Subject: {seen.subject}\n\n{seen.body}" if seen else ""
        after = f"Subject: {item.subject}\n\n{item.body}"
        lines = difflib.unified_diff(
            before.splitlines(), after.splitlines(), "the version you opened", "the version now", lineterm="", n=2
        )
        return "\n".join(lines) or "The HTML changed; the subject and plain text did not."

    # the life cycle -------------------------------------------------------------------------
    def approve(self, actor: Actor, item_id: int, now: datetime, seen_hash: str | None = None) -> Approved:
        """Approve the version `seen_hash` (the one the approver looked at; the current one if None).
        Refused to whoever created or last edited it, and when the item changed since it was opened."""
        item = self._check(actor, item_id, APPROVE)
        seen = seen_hash or item.content_hash
        prior = self.outbox.approvals(item.id, item.content_hash)
        refusal = approval_refusal(actor, item, prior, four_eyes_only=True)
        if refusal:
            raise NotAllowed(refusal)
        if seen != item.content_hash:
            raise Conflict(f"item {item.id} changed after you opened it; read the change, then approve again")
        refusal = approval_refusal(actor, item, prior)
        if refusal:
            raise NotAllowed(refusal)
        done = len(prior) + 1 >= item.approvals_required
        note = f"version {seen[:12]}" + ("" if done else f"; {len(prior) + 1} of {item.approvals_required} approvals")
        updated, given = self.outbox.approve(
            item.id,
            seen,
            actor.name,
            now,
            allowed_from=(item.status,),
            audit=audited(actor, "item.approved", now, f"item:{item.id}", note),
        )
        return Approved(updated, len(given), item.approvals_required)

    def reject(self, actor: Actor, item_id: int, reason: str, now: datetime) -> OutboxItem:
        if not reason.strip():
            raise Invalid("a rejection needs a reason, so the author knows what to change")
        item = self._check(actor, item_id, REJECT)
        return self._move(actor, item, REJECT, now, reason=reason.strip()[:MAX_COMMENT])

    def cancel(self, actor: Actor, item_id: int, now: datetime) -> OutboxItem:
        item = self._check(actor, item_id, CANCEL)
        return self._move(actor, item, CANCEL, now)

    def retry(self, actor: Actor, item_id: int, now: datetime) -> Retried:
        """A failed or missed item goes back for approval with its failed deliveries pending again."""
        item = self._check(actor, item_id, RETRY)
        reset = self.outbox.reset_failed_deliveries(item.id)
        reason = f"retry requested; {reset} delivery(ies) to try again"
        return Retried(self._move(actor, item, RETRY, now, reason=reason), reset)

    def edit(
        self,
        actor: Actor,
        item_id: int,
        now: datetime,
        *,
        body: str | None = None,
        subject: str | None = None,
        html: str | None = None,
        blocks: dict[str, Any] | None = None,
        seen_hash: str | None = None,
    ) -> OutboxItem:
        """Change an item's content. A post's text is changed as given; an email's editable blocks
        (`blocks`: subject, preheader, intro, key_messages) are changed and every part rendered again.
        A changed item needs approving again, by someone other than `actor`. With `seen_hash`, an item
        that changed since it was opened is not overwritten (Conflict)."""
        require(actor, Permission.DRAFT)
        item = self.get(actor, item_id)
        if item.status not in EDITABLE:
            raise Conflict(f"item {item.id} is {item.status}; only an item not yet sent or cancelled can be edited")
        if seen_hash and seen_hash != item.content_hash:
            raise Conflict(f"item {item.id} changed after you opened it; your edit was not saved")
        if item.edition_id is not None:
            if body is not None or html is not None:
                raise Invalid(
                    "an email is edited by its blocks (subject, preheader, intro, key messages), then "
                    "rendered again whole, so its HTML and plain text always match"
                )
            if subject is not None:
                blocks = dict(blocks or {}, subject=subject)
            return self._edit_edition(actor, item, now, blocks or {})
        if blocks:
            raise Invalid(f"#{item.id} is a post: change its text")
        asked = {"body": body, "subject": subject, "html": html}
        changes = {k: v for k, v in asked.items() if v is not None and v != getattr(item, k)}
        if any(len(v) > MAX_TEXT for v in changes.values()):
            raise Invalid(f"the text is too long (at most {MAX_TEXT:,} characters)")
        if "body" in changes and not changes["body"].strip():
            raise Invalid("the text cannot be empty")
        if not changes:
            return item  # the same text: nothing to approve again
        return self.outbox.edit_item(
            item.id,
            now,
            changes,
            by=actor.name,
            status=S.AWAITING_APPROVAL,
            allowed_from=(item.status,),
            audit=audited(actor, "item.edited", now, f"item:{item.id}", ", ".join(sorted(changes))),
        )

    def _edit_edition(self, actor: Actor, item: OutboxItem, now: datetime, blocks: dict[str, Any]) -> OutboxItem:
        assert item.edition_id is not None
        if self.render_edition is None:
            raise Invalid("this face cannot render editions")
        unknown = set(blocks) - set(EDITABLE_BLOCKS)
        if unknown:
            raise Invalid(f"not an editable block: {', '.join(sorted(unknown))}")
        inputs = self.outbox.edition_inputs(item.edition_id)
        new = dict(inputs, **_checked_blocks(blocks))
        if new == inputs:
            return item
        try:
            html, text, problems = self.render_edition(new)
        except TemplateError as exc:
            raise Invalid(f"the edited edition does not render: {exc}") from None
        if problems:
            raise Invalid("the edited edition fails the accessibility check: " + "; ".join(problems))
        changed = sorted(k for k in blocks if new.get(k) != inputs.get(k))
        return self.outbox.edit_item(
            item.id,
            now,
            {"subject": new["subject"], "body": text, "html": html},
            by=actor.name,
            status=S.AWAITING_APPROVAL,
            allowed_from=(item.status,),
            edition=(item.edition_id, new),
            audit=audited(actor, "item.edited", now, f"item:{item.id}", ", ".join(changed)),
        )

    def comment(self, actor: Actor, item_id: int, text: str, now: datetime) -> Comment:
        """A comment on the item's current version."""
        require(actor, Permission.DRAFT)
        text = text.strip()
        if not text:
            raise Invalid("write a comment")
        if len(text) > MAX_COMMENT:
            raise Invalid(f"a comment can have at most {MAX_COMMENT:,} characters")
        item = self.get(actor, item_id)
        return self.outbox.add_comment(item.id, item.content_hash, actor.name, text, now)

    # helpers --------------------------------------------------------------------------------
    def _check(self, actor: Actor, item_id: int, move: Move) -> OutboxItem:
        require(actor, move.permission)
        item = self.get(actor, item_id)
        if item.status not in move.allowed_from:
            allowed = ", ".join(s.value for s in S if s in move.allowed_from)
            raise Conflict(f"item {item.id} is {item.status}; it can be {move.verb} only when {allowed}")
        return item

    def _move(
        self, actor: Actor, item: OutboxItem, move: Move, now: datetime, *, reason: str | None = None
    ) -> OutboxItem:
        return self.outbox.transition(
            item.id,
            move.to,
            now,
            by=actor.name,
            reason=reason,
            allowed_from=(item.status,),
            audit=audited(actor, f"item.{move.verb}", now, f"item:{item.id}", reason or ""),
        )


def approval_refusal(
    actor: Actor, item: OutboxItem | ItemLine, approvals: Iterable[Approval], *, four_eyes_only: bool = False
) -> str | None:
    """Why `actor` may not approve the current version of `item` (four eyes: they created or last
    edited it; or they approved this version already), or None when they may. Their role and the
    item's status are checked apart (`Permission.APPROVE`, `APPROVE.allowed_from`)."""
    for who, did in ((item.edited_by, "edited"), (item.created_by, "created")):
        if actor.same_person(who):
            return f"four eyes: {who} {did} #{item.id}, so someone else must approve it"
    if not four_eyes_only and any(actor.same_person(a.by) for a in approvals):
        return f"you have already approved #{item.id}; it needs another person's approval"
    return None


def _checked_blocks(blocks: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in blocks.items():
        if key == "key_messages":
            values = [str(v).strip() for v in (value if isinstance(value, list | tuple) else [value]) if str(v).strip()]
            if any(len(v) > 500 for v in values) or len(values) > 10:
                raise Invalid("key messages: at most 10, each at most 500 characters")
            out[key] = values
            continue
        text = str(value or "").strip()
        limit = {"subject": 150, "preheader": 140}.get(key, 2000)
        if key == "subject" and not text:
            raise Invalid("the subject cannot be empty")
        if len(text) > limit:
            raise Invalid(f"{key}: at most {limit} characters")
        out[key] = text
    return out
