"""Approval binds to the exact version a person saw: a stale approval is refused and the change shown,
a channel may need two people, an email edit re-renders every part, and the dispatcher refuses to send
content whose hash is not the approved one. On a real database and the bundled example."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline.app import Pipeline
from pipeline.errors import Conflict, Invalid, NotAllowed
from pipeline.jobs.decide import decide
from pipeline.records import ItemStatus, OutboxItem
from pipeline.services.actor import Actor, Role
from pipeline.services.audit import AuditService
from pipeline.services.outbox import OutboxService
from pipeline.storage.store import Repositories

NOW = datetime(2026, 11, 5, 8, 0, tzinfo=UTC)
AUTHOR, ANN, BOB = (
    Actor.person("alex@thurrock.gov.uk", Role.AUTHOR),
    Actor.person("ann@thurrock.gov.uk", Role.APPROVER),
    Actor.person("bob@thurrock.gov.uk", Role.APPROVER),
)


def _post(store: Repositories, approvals: int = 1, created_by: str = "clock") -> OutboxItem:
    return store.outbox.add_item(
        NOW,
        occurrence_key=f"e@2026-11-05-{approvals}-{created_by}",
        entry_id="e",
        channel="facebook",
        kind="post",
        title="Prevent awareness",
        body="Worried about someone? Talk to us.",
        audiences=["residents"],
        objectives=["1"],
        due_at=NOW + timedelta(hours=3),
        approval="required",
        approvals_required=approvals,
        created_by=created_by,
        status=ItemStatus.AWAITING_APPROVAL,
    )


def test_a_stale_approval_is_refused_and_the_change_is_shown(store: Repositories) -> None:
    outbox = OutboxService(store.outbox)
    item = _post(store)
    seen = item.content_hash
    outbox.edit(AUTHOR, item.id, NOW, body="Worried about someone? Call 0800 789 321.")
    with pytest.raises(Conflict, match="changed after you opened it"):
        outbox.approve(ANN, item.id, NOW, seen_hash=seen)
    assert outbox.get(ANN, item.id).status == ItemStatus.AWAITING_APPROVAL
    diff = outbox.changes_since(ANN, item.id, seen)
    assert "-Worried about someone? Talk to us." in diff and "+Worried about someone? Call 0800 789 321." in diff
    current = outbox.get(ANN, item.id)
    done = outbox.approve(ANN, item.id, NOW, seen_hash=current.content_hash)
    assert done.complete and done.item.approved_hash == current.content_hash and done.item.approval_current
    versions = outbox.history(ANN, item.id).versions
    assert [v.by for v in versions] == ["clock", AUTHOR.name] and versions[0].content_hash == seen
    actions = [e.action for e in AuditService(store.audit).search(ANN).entries]
    assert actions == ["item.approved", "item.edited"], "each move audited in its own transaction"


def test_two_approvals_by_two_people_of_the_same_version(store: Repositories) -> None:
    outbox = OutboxService(store.outbox)
    item = _post(store, approvals=2)
    first = outbox.approve(ANN, item.id, NOW)
    assert not first.complete and (first.given, first.needed) == (1, 2)
    assert first.item.status == ItemStatus.AWAITING_APPROVAL and first.item.approved_hash is None
    with pytest.raises(NotAllowed, match="already approved"):
        outbox.approve(Actor.cli("ANN@thurrock.gov.uk", Role.ADMIN), item.id, NOW)
    second = outbox.approve(BOB, item.id, NOW)
    assert second.complete and second.item.approved_by == f"{ANN.name}, {BOB.name}"
    assert [a.by for a in outbox.history(BOB, item.id).approvals] == [ANN.name, BOB.name]


def test_an_edit_between_two_approvals_starts_the_count_again(store: Repositories) -> None:
    outbox = OutboxService(store.outbox)
    item = _post(store, approvals=2)
    outbox.approve(ANN, item.id, NOW)
    outbox.edit(AUTHOR, item.id, NOW, body="A new text")
    assert not outbox.approve(BOB, item.id, NOW).complete, "Ann approved the old version, not this one"


def test_the_creator_of_an_item_cannot_approve_it(store: Repositories) -> None:
    outbox = OutboxService(store.outbox)
    item = _post(store, created_by=ANN.name)
    with pytest.raises(NotAllowed, match=f"four eyes: {ANN.name} created #{item.id}"):
        outbox.approve(ANN, item.id, NOW)
    assert outbox.approve(BOB, item.id, NOW).complete


def test_roles_are_checked_on_every_move(store: Repositories) -> None:
    outbox = OutboxService(store.outbox)
    item = _post(store)
    viewer = Actor.person("v@thurrock.gov.uk", Role.VIEWER)
    for move in (
        lambda: outbox.approve(AUTHOR, item.id, NOW),
        lambda: outbox.reject(AUTHOR, item.id, "no", NOW),
        lambda: outbox.cancel(AUTHOR, item.id, NOW),
        lambda: outbox.edit(viewer, item.id, NOW, body="x"),
        lambda: outbox.comment(viewer, item.id, "x", NOW),
    ):
        with pytest.raises(NotAllowed):
            move()
    assert outbox.get(viewer, item.id).status == ItemStatus.AWAITING_APPROVAL
    assert store.outbox.status_counts() == {"awaiting_approval": 1}, "nothing moved"


def test_comments_are_kept_with_their_version(store: Repositories) -> None:
    outbox = OutboxService(store.outbox)
    item = _post(store)
    outbox.comment(ANN, item.id, "Please add the helpline number", NOW)
    edited = outbox.edit(AUTHOR, item.id, NOW, body="Call 0800 789 321")
    outbox.comment(AUTHOR, item.id, "Added", NOW)
    old, new = outbox.history(ANN, item.id).comments
    assert old.content_hash == item.content_hash != new.content_hash == edited.content_hash
    with pytest.raises(Invalid):
        outbox.comment(ANN, item.id, "   ", NOW)


def test_the_dispatcher_refuses_content_that_is_not_what_was_approved(store: Repositories) -> None:
    outbox = OutboxService(store.outbox)
    item = _post(store)
    approved = outbox.approve(ANN, item.id, NOW).item
    # Changed behind the life cycle's back (a hand edit in the database, say): still marked approved.
    tampered = store.outbox.edit_item(
        item.id, NOW, {"body": "Something else"}, by="db", status=ItemStatus.APPROVED, allowed_from=("approved",)
    )
    assert tampered.status == ItemStatus.APPROVED and tampered.approved_hash == approved.content_hash
    assert not tampered.approval_current
    from content_calendar.models import Strategy

    (decision,) = decide([tampered], NOW + timedelta(hours=3), False, Strategy("s", (), (), ()), {})
    assert decision.action == "changed" and "not what was approved" in decision.reason
    (fine,) = decide([approved], NOW + timedelta(hours=3), False, Strategy("s", (), (), ()), {})
    assert fine.action == "send"


def test_an_email_edit_re_renders_every_part(pipeline: Pipeline) -> None:
    pipeline.import_plan(now=NOW)
    pipeline.compose(datetime(2026, 11, 3, 23, 0, tzinfo=UTC), entry="headteacher-bulletin")
    (item,) = [i for i in pipeline.repos.outbox.items() if i.entry_id == "headteacher-bulletin"]
    outbox = OutboxService.of(pipeline)
    blocks = outbox.edition_blocks(ANN, item.id)
    assert set(blocks) >= {"subject", "intro", "key_messages"}
    with pytest.raises(Invalid, match="edited by its blocks"):
        outbox.edit(AUTHOR, item.id, NOW, body="just the text part")
    intro = "This month: the new referral pathway for schools."
    edited = outbox.edit(AUTHOR, item.id, NOW, blocks={"intro": intro}, subject="Prevent bulletin: new pathway")
    assert intro in edited.body and intro in edited.html, "the HTML changes with the text"
    assert edited.subject == "Prevent bulletin: new pathway" and edited.status == ItemStatus.AWAITING_APPROVAL
    assert edited.content_hash != item.content_hash and edited.edited_by == AUTHOR.name
    assert pipeline.repos.outbox.edition_inputs(item.edition_id or 0)["intro"] == intro
    rerendered = pipeline.composer().rerender(item.edition_id or 0)
    assert rerendered == (edited.html, edited.body), "the edition renders again to exactly what will be sent"
    with pytest.raises(Invalid, match="not an editable block"):
        outbox.edit(AUTHOR, item.id, NOW, blocks={"national": []})
    with pytest.raises(Invalid, match="subject cannot be empty"):
        outbox.edit(AUTHOR, item.id, NOW, subject="  ")
